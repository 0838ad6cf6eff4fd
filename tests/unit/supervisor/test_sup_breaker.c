/* Unit tests for supervisor/sup_breaker.c over a fleet: detectors, open times, probes and the
 * blast radius, driven by a fake clock and synthetic Report deltas (one breaker alone, one call at
 * a time, is in test_sup_breaker_step.c). */
#include <check.h>
#include <string.h>

#include "sup_breaker.h"

Suite *sup_breaker_suite(void);

#define FLEET_MAX 16
#define T0 1000000 /* a whole second, so bucket boundaries are easy to hit */

/* A fleet of breakers and its fake clock. */
typedef struct fake_fleet {
    sup_breaker_policy p;
    sup_breaker b[FLEET_MAX];
    sup_breaker *slots[FLEET_MAX];
    sup_breaker_actions out[FLEET_MAX];
    sup_breaker_actions fed; /* actions of the last feed */
    sup_breaker_actions op;  /* actions of the last trip, reset, tick or recycle */
    size_t n;
    uint64_t now;
} fake_fleet;

static void fleet_init(fake_fleet *f, size_t n)
{
    memset(f, 0, sizeof *f);
    sup_breaker_policy_init(&f->p);
    f->n = n;
    f->now = T0;
    for (size_t i = 0; i < n; i++) {
        sup_breaker_init(&f->b[i]);
        f->slots[i] = &f->b[i];
    }
}

/* A Report of slot i: events of volume, failures of them server-side; ok handshakes of them
 * succeeded and failed failed for a server cause. */
static void feed_sample(fake_fleet *f, size_t i, uint64_t events, uint64_t failures, uint64_t ok,
                        uint64_t failed)
{
    sup_breaker_sample s = {.events = events,
                            .failures = failures,
                            .handshakes_ok = ok,
                            .handshakes_failed_server = failed};
    ck_assert_int_eq(sup_breaker_feed(&f->fed, &f->b[i], &f->p, &s, f->now, 0.5), 0);
}

/* A Report of slot i without handshakes. */
static void feed(fake_fleet *f, size_t i, uint64_t events, uint64_t failures)
{
    feed_sample(f, i, events, failures, 0, 0);
}

/* A Report of slot i with only handshakes. */
static void feed_hs(fake_fleet *f, size_t i, uint64_t ok, uint64_t failed)
{
    feed_sample(f, i, ok + failed, failed, ok, failed);
}

/* A fleet of n slots where slot i reports events of volume, failures[i] of them failed. */
static void fleet_fed(fake_fleet *f, size_t n, uint64_t events, const uint64_t *failures)
{
    fleet_init(f, n);
    for (size_t i = 0; i < n; i++)
        feed(f, i, events, failures[i]);
}

/* The fleet decision with every slot running and no jitter; returns slots with actions. */
static int eval(fake_fleet *f)
{
    return sup_breaker_evaluate(f->out, f->slots, f->n, f->n, &f->p, f->now, NULL);
}

/* Slot i's state is want[i] for each letter of want: C closed, O open, H half-open, . any. */
static void expect_states(const fake_fleet *f, const char *want)
{
    for (size_t i = 0; want[i] != '\0'; i++) {
        if (want[i] == '.')
            continue;
        static const char letters[] = "COH"; /* indexed by enum sup_breaker_state */
        const char *at = strchr(letters, want[i]);
        ck_assert_ptr_nonnull(at);
        enum sup_breaker_state st = (enum sup_breaker_state)(at - letters);
        ck_assert_msg(f->b[i].state == st, "slot %zu is %s, want %s", i,
                      sup_breaker_state_name(f->b[i].state), sup_breaker_state_name(st));
    }
}

/* The fleet decision gives acted slots actions and leaves the slots in the states of want. */
static void expect_eval(fake_fleet *f, int acted, const char *want)
{
    ck_assert_int_eq(eval(f), acted);
    expect_states(f, want);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Opens slot i of the fleet through the rate detector (20 failed events). */
static void open_by_rate(fake_fleet *f, size_t i)
{
    feed(f, i, 20, 20);
    eval(f);
    ck_assert_int_eq(f->b[i].state, SUP_BREAKER_OPEN);
}

/* The operator trips slot i now. */
static void trip(fake_fleet *f, size_t i)
{
    ck_assert_int_eq(sup_breaker_trip(&f->op, &f->b[i], &f->p, f->now, 0.5), 0);
}

/* The clock alone reaches slot i at now_ms. */
static void tick(fake_fleet *f, size_t i, uint64_t now_ms)
{
    ck_assert_int_eq(sup_breaker_tick(&f->op, &f->b[i], &f->p, now_ms), 0);
}

/* The operator resets slot i at now_ms. */
static void reset(fake_fleet *f, size_t i, uint64_t now_ms)
{
    ck_assert_int_eq(sup_breaker_reset(&f->op, &f->b[i], &f->p, now_ms), 0);
}

/* A new worker runs in slot i now. */
static void recycled(fake_fleet *f, size_t i)
{
    ck_assert_int_eq(sup_breaker_on_recycled(&f->op, &f->b[i], &f->p, f->now), 0);
}

/* Trips slot i now and ticks it once its first open time (30 s) is over. */
static void trip_to_half_open(fake_fleet *f, size_t i)
{
    trip(f, i);
    f->now += 30000;
    tick(f, i, f->now);
}

/* Slots of the fleet that are not closed. */
static size_t count_ejected(const fake_fleet *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += f->b[i].state != SUP_BREAKER_CLOSED;
    return n;
}

START_TEST(rate_needs_twenty_events)
{
    fake_fleet f;
    fleet_init(&f, 10);
    feed(&f, 0, 19, 19);
    expect_eval(&f, 0, "C");
    ck_assert_double_eq(sup_breaker_failure_rate(&f.b[0], &f.p, f.now), 1.0);

    f.now += 500;
    feed(&f, 0, 1, 1);
    expect_eval(&f, 1, "O");
    ck_assert_uint_eq(f.out[0].acts, SUP_BREAKER_ACT_EJECT | SUP_BREAKER_ACT_LOG);
    ck_assert_int_eq(f.out[0].from, SUP_BREAKER_CLOSED);
    ck_assert_int_eq(f.out[0].to, SUP_BREAKER_OPEN);
    ck_assert_uint_eq(f.out[0].weight_permille, 0);
    ck_assert_uint_eq(f.out[0].open_ms, 30000);
    ck_assert_str_eq(f.out[0].reason, "rate 100% of 20 events in 10 s");
    ck_assert_str_eq(f.b[0].reason, f.out[0].reason);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 1);
    ck_assert_uint_eq(sup_breaker_opened_at(&f.b[0]), T0 + 500);
    ck_assert_str_eq(sup_breaker_state_name(f.b[0].state), "open");
    for (size_t i = 1; i < f.n; i++)
        ck_assert_uint_eq(f.out[i].acts, 0);
}
END_TEST

START_TEST(rate_threshold_is_fifty_percent)
{
    fake_fleet f;
    fleet_init(&f, 10);
    feed(&f, 0, 20, 10);
    feed(&f, 1, 100, 49);
    feed(&f, 2, 1000, 10);
    /* Room for one only: slot 1 must not be the one, whatever the order. */
    f.p.max_ejected_pct = 100;
    expect_eval(&f, 1, "OCC");
    ck_assert_str_eq(f.out[0].reason, "rate 50% of 20 events in 10 s");
    ck_assert_double_eq_tol(sup_breaker_failure_rate(&f.b[1], &f.p, f.now), 0.49, 1e-9);

    /* One more failure (and event) makes 50 of 101: still below half. */
    feed(&f, 1, 1, 1);
    ck_assert_int_eq(eval(&f), 0);
    feed(&f, 1, 1, 1);
    expect_eval(&f, 1, ".O");
    ck_assert_str_eq(f.out[1].reason, "rate 50% of 102 events in 10 s");
}
END_TEST

START_TEST(rate_sums_the_buckets)
{
    fake_fleet f;
    fleet_init(&f, 10);
    for (int i = 0; i < 10; i++) {
        feed(&f, 0, 2, 2);
        ck_assert_int_eq(eval(&f), i == 9 ? 1 : 0);
        f.now += 1000;
    }
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
}
END_TEST

/* Slot 0's window at the fake clock holds events and failures. */
static void expect_window(const fake_fleet *f, uint64_t events, uint64_t failures)
{
    uint64_t w[2];
    sup_breaker_window(w, &f->b[0], &f->p, f->now);
    ck_assert_uint_eq(w[0], events);
    ck_assert_uint_eq(w[1], failures);
}

START_TEST(window_expiry)
{
    /* 19 failures at T0, one more 9.999 s later: still inside the window, opens. */
    fake_fleet f;
    fleet_init(&f, 10);
    feed(&f, 0, 19, 19);
    f.now = T0 + 9999;
    feed(&f, 0, 1, 1);
    ck_assert_int_eq(eval(&f), 1);

    /* The same 10 s later: the first second has left the window. */
    fleet_init(&f, 10);
    feed(&f, 0, 19, 19);
    f.now = T0 + 10000;
    feed(&f, 0, 1, 1);
    ck_assert_int_eq(eval(&f), 0);
    expect_window(&f, 1, 1);

    /* Old failures drop out; the successes of the last 10 s decide alone. */
    fleet_init(&f, 10);
    feed(&f, 0, 100, 100);
    f.now = T0 + 10000;
    ck_assert_double_eq(sup_breaker_failure_rate(&f.b[0], &f.p, f.now), 0.0);
    feed(&f, 0, 100, 0);
    ck_assert_int_eq(eval(&f), 0);
    ck_assert_double_eq(sup_breaker_failure_rate(&f.b[0], &f.p, f.now), 0.0);

    /* A ring slot reused a minute later holds only the new second. */
    f.now = T0 + 60000;
    feed(&f, 0, 20, 5);
    expect_window(&f, 20, 5);
}
END_TEST

START_TEST(consecutive_handshake_failures)
{
    fake_fleet f;
    fleet_init(&f, 10);
    feed_hs(&f, 0, 0, 3);
    f.now += 1000;
    feed_hs(&f, 0, 0, 1);
    ck_assert_int_eq(eval(&f), 0);
    f.now += 1000;
    feed_hs(&f, 0, 0, 1);
    expect_eval(&f, 1, "O");
    ck_assert_str_eq(f.out[0].reason, "5 server-side handshake failures in a row");

    /* A success in between breaks the run (a Report does not say in which order they came). */
    feed_hs(&f, 1, 0, 4);
    feed_hs(&f, 1, 1, 1);
    feed_hs(&f, 1, 0, 4);
    ck_assert_int_eq(eval(&f), 0);
    ck_assert_uint_eq(f.b[1].hs_streak, 4);
    /* Failures other than handshakes do not extend the run. */
    feed(&f, 1, 3, 3);
    ck_assert_int_eq(eval(&f), 0);
    feed_hs(&f, 1, 0, 1);
    expect_eval(&f, 1, ".C"); /* slot 0 is out: the limit of one is used */
    ck_assert(f.b[1].deferred);
    ck_assert_str_eq(f.out[1].reason, "deferred, 1 of 10 running ejected (limit 1, 5 must stay "
                                      "closed): 5 server-side handshake failures in a row");
}
END_TEST

START_TEST(half_open_probes_close)
{
    fake_fleet f;
    fleet_init(&f, 10);
    open_by_rate(&f, 0);
    f.now = T0 + 29999;
    expect_eval(&f, 0, "O");

    f.now = T0 + 30000;
    expect_eval(&f, 1, "H");
    ck_assert_uint_eq(f.out[0].acts, SUP_BREAKER_ACT_PROBE | SUP_BREAKER_ACT_LOG);
    ck_assert_uint_eq(f.out[0].probes, 10);
    ck_assert_uint_eq(f.out[0].weight_permille, 50);
    ck_assert_uint_eq(sup_breaker_weight(&f.b[0], &f.p), 50);
    ck_assert_str_eq(f.out[0].reason, "open for 30 s: probing with 10 connections");
    ck_assert_str_eq(sup_breaker_state_name(f.b[0].state), "half_open");

    /* Old sessions' messages alone decide nothing; the probes do. */
    feed(&f, 0, 50, 0);
    ck_assert_uint_eq(f.fed.acts, 0);
    feed_hs(&f, 0, 5, 0);
    ck_assert_uint_eq(f.fed.acts, 0);
    feed_hs(&f, 0, 4, 1);
    ck_assert_uint_eq(f.fed.acts, SUP_BREAKER_ACT_CLOSE | SUP_BREAKER_ACT_LOG);
    ck_assert_int_eq(f.fed.to, SUP_BREAKER_CLOSED);
    ck_assert_uint_eq(f.fed.weight_permille, SUP_BREAKER_FULL_WEIGHT);
    ck_assert_str_eq(f.fed.reason, "probes: 1 of 10 failed");
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 1);
    ck_assert_double_eq(sup_breaker_failure_rate(&f.b[0], &f.p, f.now), 0.0);
}
END_TEST

START_TEST(half_open_failure_reopens_doubled)
{
    fake_fleet f;
    fleet_init(&f, 10);
    open_by_rate(&f, 0);
    f.now = T0 + 30000;
    eval(&f);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);

    /* Five failures of ten planned: the verdict is certain before the other five come. */
    feed_hs(&f, 0, 0, 4);
    ck_assert_uint_eq(f.fed.acts, 0);
    feed_hs(&f, 0, 0, 1);
    ck_assert_uint_eq(f.fed.acts, SUP_BREAKER_ACT_EJECT | SUP_BREAKER_ACT_LOG);
    ck_assert_str_eq(f.fed.reason, "probes: 5 of 5 failed");
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
    ck_assert_uint_eq(f.fed.open_ms, 60000);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 2);
    ck_assert_uint_eq(sup_breaker_opened_at(&f.b[0]), T0 + 30000);

    f.now = T0 + 30000 + 59999;
    ck_assert_int_eq(eval(&f), 0);
    f.now = T0 + 30000 + 60000;
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_str_eq(f.out[0].reason, "open for 60 s: probing with 10 connections");

    /* Exactly half of the probes failing re-opens too; 90 s this time. */
    feed_hs(&f, 0, 5, 5);
    ck_assert_uint_eq(f.fed.acts, SUP_BREAKER_ACT_EJECT | SUP_BREAKER_ACT_LOG);
    ck_assert_str_eq(f.fed.reason, "probes: 5 of 10 failed");
    ck_assert_uint_eq(f.fed.open_ms, 90000);
}
END_TEST

START_TEST(half_open_probe_verdicts)
{
    fake_fleet f;
    fleet_init(&f, 10);
    /* Slot i, tripped and half-open, gets one Report of the probes. */
    const struct {
        uint64_t events, failures, ok, failed;
        enum sup_breaker_state to;
        const char *reason;
    } verdict[] = {
        /* 4 of 10 failed: below half, closes. */
        {10, 4, 6, 4, SUP_BREAKER_CLOSED, "probes: 4 of 10 failed"},
        /* 5 of 10: re-opens. */
        {10, 5, 5, 5, SUP_BREAKER_OPEN, "probes: 5 of 10 failed"},
        /* Good handshakes but failing messages: the events re-open it. */
        {110, 66, 10, 0, SUP_BREAKER_OPEN, "probes: 0 of 10 failed, but 60% of 110 events"},
    };
    for (size_t i = 0; i < sizeof verdict / sizeof verdict[0]; i++) {
        trip_to_half_open(&f, i);
        feed_sample(&f, i, verdict[i].events, verdict[i].failures, verdict[i].ok,
                    verdict[i].failed);
        ck_assert_int_eq(f.fed.to, verdict[i].to);
        ck_assert_str_eq(f.fed.reason, verdict[i].reason);
    }

    /* No probe connections, no verdict: it waits half-open. */
    trip_to_half_open(&f, 3);
    feed(&f, 3, 1000, 900);
    ck_assert_int_eq(f.b[3].state, SUP_BREAKER_HALF_OPEN);
    /* Detectors leave a half-open breaker to its probes. */
    eval(&f);
    ck_assert_uint_eq(f.out[3].acts, 0);
    ck_assert_int_eq(f.b[3].state, SUP_BREAKER_HALF_OPEN);
}
END_TEST

START_TEST(open_time_grows_to_the_cap_and_recycles)
{
    fake_fleet f;
    fleet_init(&f, 1);
    const unsigned eject = SUP_BREAKER_ACT_EJECT | SUP_BREAKER_ACT_LOG;
    for (uint64_t k = 1; k <= 12; k++) {
        trip(&f, 0);
        ck_assert_uint_eq(f.op.open_ms, k < 10 ? 30000 * k : 300000);
        ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), k);
        ck_assert_uint_eq(f.op.acts, k < 10 ? eject : eject | SUP_BREAKER_ACT_RECYCLE);
        f.now += f.op.open_ms;
        tick(&f, 0, f.now);
        ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);
    }
    ck_assert_uint_eq(f.b[0].opens_total, 12);
}
END_TEST

START_TEST(no_overflow_at_the_cap)
{
    fake_fleet f;
    fleet_init(&f, 1);
    f.b[0].state = SUP_BREAKER_HALF_OPEN;
    f.b[0].times_opened = UINT32_MAX - 1;
    trip(&f, 0);
    ck_assert_uint_eq(f.op.open_ms, 300000);
    f.b[0].state = SUP_BREAKER_HALF_OPEN;
    trip(&f, 0);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), UINT32_MAX);
    ck_assert_uint_eq(f.op.open_ms, 300000);
    ck_assert(f.op.acts & SUP_BREAKER_ACT_RECYCLE);
}
END_TEST

START_TEST(blast_radius_ten_workers_three_bad)
{
    fake_fleet f;
    fleet_fed(&f, 10, 100, (const uint64_t[]){60, 80, 100, 0, 0, 0, 0, 0, 0, 0});
    /* The worst goes out; the others are held closed and logged. */
    expect_eval(&f, 3, "CCO");
    ck_assert_uint_eq(f.out[0].acts, SUP_BREAKER_ACT_LOG);
    ck_assert_uint_eq(f.out[1].acts, SUP_BREAKER_ACT_LOG);
    ck_assert_int_eq(f.out[1].to, SUP_BREAKER_CLOSED);
    ck_assert_uint_eq(f.out[1].weight_permille, SUP_BREAKER_FULL_WEIGHT);
    ck_assert_str_eq(f.out[1].reason, "deferred, 1 of 10 running ejected (limit 1, 5 must stay "
                                      "closed): rate 80% of 100 events in 10 s");
    ck_assert(f.b[0].deferred);

    /* Logged once: the next decision says nothing new. */
    f.now += 1000;
    ck_assert_int_eq(eval(&f), 0);

    /* The operator closes slot 2: the next worst goes out, slot 0 still waits. */
    reset(&f, 2, f.now);
    expect_eval(&f, 1, "CO");
    ck_assert_str_eq(f.out[1].reason, "rate 80% of 100 events in 10 s");
    ck_assert_uint_eq(f.out[0].acts, 0);

    /* Once slot 0's failures leave the window it is no longer deferred. */
    f.now += 10000;
    eval(&f);
    ck_assert(!f.b[0].deferred);
}
END_TEST

START_TEST(blast_radius_two_workers_one_bad)
{
    fake_fleet f;
    fleet_fed(&f, 2, 100, (const uint64_t[]){0, 90});
    expect_eval(&f, 1, "CO");
}
END_TEST

START_TEST(blast_radius_two_workers_both_bad)
{
    fake_fleet f;
    fleet_fed(&f, 2, 100, (const uint64_t[]){70, 70});
    /* Equal rates: the lower slot goes first. */
    expect_eval(&f, 2, "OC");
    ck_assert(starts_with(f.out[1].reason, "deferred, 1 of 2 running ejected"));
    /* Even when it half-opens, slot 0 still counts against the limit. */
    f.now += 30000;
    feed(&f, 1, 100, 70);
    expect_eval(&f, 1, "HC");
}
END_TEST

START_TEST(blast_radius_single_worker_stays)
{
    fake_fleet f;
    fleet_fed(&f, 1, 100, (const uint64_t[]){100});
    expect_eval(&f, 1, "C");
    ck_assert_uint_eq(f.out[0].acts, SUP_BREAKER_ACT_LOG);
    ck_assert(starts_with(f.out[0].reason, "deferred"));
}
END_TEST

START_TEST(blast_radius_large_fleet)
{
    /* 16 running with a tenth allowed out: 1; at 25 % allowed: 4, but 8 must stay closed. */
    fake_fleet f;
    fleet_init(&f, 16);
    for (size_t i = 0; i < f.n; i++)
        feed(&f, i, 100, 100);
    const unsigned max_ejected_pct[] = {10, 25, 100};
    const size_t ejected[] = {1, 4, 8};
    for (size_t k = 0; k < 3; k++) {
        f.p.max_ejected_pct = max_ejected_pct[k];
        eval(&f);
        ck_assert_uint_eq(count_ejected(&f), ejected[k]);
    }
}
END_TEST

START_TEST(operator_trip_counts_against_the_limit)
{
    fake_fleet f;
    fleet_init(&f, 10);
    trip(&f, 3);
    feed(&f, 0, 100, 100);
    expect_eval(&f, 1, "C");
    ck_assert(starts_with(f.out[0].reason, "deferred"));
    /* The operator is not limited. */
    trip(&f, 5);
    ck_assert_int_eq(f.b[5].state, SUP_BREAKER_OPEN);
}
END_TEST

/* Five-or-more-worker fleets for the relative detector: n slots of 1000 events, 1 failure each,
 * except slot 0 which succeeds at success_permille. */
static void relative_fleet(fake_fleet *f, size_t n, uint64_t success_permille)
{
    fleet_init(f, n);
    feed(f, 0, 1000, 1000 - success_permille);
    for (size_t i = 1; i < n; i++)
        feed(f, i, 1000, 1);
}

START_TEST(relative_detector_opens_the_outlier)
{
    fake_fleet f;
    relative_fleet(&f, 5, 800);
    expect_eval(&f, 1, "OCCCC");
    ck_assert_str_eq(f.out[0].reason, "success 80.0% < mean 95.9% - 1.9 sigma (8.0%)");

    /* One outlier among equals is always sqrt(n - 1) sigma out, 2 for five workers: a single
     * error among flawless workers is left alone by the failure floor, unless it is 0. */
    fleet_fed(&f, 5, 1000, (const uint64_t[]){1, 0, 0, 0, 0});
    ck_assert_int_eq(eval(&f), 0);
    f.p.relative_min_failure_pct = 0;
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_str_eq(f.out[0].reason, "success 99.9% < mean 100.0% - 1.9 sigma (0.0%)");
    /* With more workers the bar is tighter: 95 % among nine at 99.9 % is out. */
    relative_fleet(&f, 10, 950);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert(starts_with(f.out[0].reason, "success 95.0% < mean"));
}
END_TEST

START_TEST(relative_detector_needs_five_workers)
{
    fake_fleet f;
    relative_fleet(&f, 4, 800);
    expect_eval(&f, 0, "C");
}
END_TEST

START_TEST(relative_detector_needs_volume)
{
    /* One of the five has 99 events: only four qualify. */
    fake_fleet f;
    fleet_init(&f, 5);
    feed(&f, 0, 1000, 200);
    feed(&f, 1, 99, 0);
    for (size_t i = 2; i < f.n; i++)
        feed(&f, i, 1000, 1);
    ck_assert_int_eq(eval(&f), 0);
    feed(&f, 1, 1, 0);
    expect_eval(&f, 1, "O");

    /* Equal workers have no outlier. */
    fleet_fed(&f, 6, 1000, (const uint64_t[]){30, 30, 30, 30, 30, 30});
    ck_assert_int_eq(eval(&f), 0);

    /* An ejected worker is left out of the statistics (it would hide the next outlier). */
    relative_fleet(&f, 6, 800);
    f.p.max_ejected_pct = 50;
    trip(&f, 5);
    feed(&f, 5, 1000, 1000);
    expect_eval(&f, 1, "O");
}
END_TEST

START_TEST(operator_trip_and_reset)
{
    fake_fleet f;
    fleet_init(&f, 1);
    trip(&f, 0);
    ck_assert_uint_eq(f.op.acts, SUP_BREAKER_ACT_EJECT | SUP_BREAKER_ACT_LOG);
    ck_assert_str_eq(f.op.reason, "operator trip");
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
    ck_assert_uint_eq(f.op.open_ms, 30000);

    sup_breaker_actions untouched = {.acts = 0x55};
    ck_assert_int_eq(sup_breaker_trip(&untouched, &f.b[0], &f.p, f.now, 0.5), SUP_BREAKER_EALREADY);
    ck_assert_uint_eq(untouched.acts, 0x55);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 1);

    feed(&f, 0, 50, 50);
    reset(&f, 0, f.now + 1);
    ck_assert_uint_eq(f.op.acts, SUP_BREAKER_ACT_CLOSE | SUP_BREAKER_ACT_LOG);
    ck_assert_str_eq(f.op.reason, "operator reset");
    ck_assert_int_eq(f.op.from, SUP_BREAKER_OPEN);
    ck_assert_int_eq(f.op.to, SUP_BREAKER_CLOSED);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 0);
    ck_assert_double_eq(sup_breaker_failure_rate(&f.b[0], &f.p, f.now + 1), 0.0);

    /* Reset of a closed breaker is harmless; trip from half-open opens again. */
    reset(&f, 0, f.now + 2);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
    trip_to_half_open(&f, 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);
    trip(&f, 0);
    ck_assert_int_eq(f.op.from, SUP_BREAKER_HALF_OPEN);
    ck_assert_uint_eq(f.op.open_ms, 60000);
}
END_TEST

START_TEST(recycled_worker)
{
    fake_fleet f;
    fleet_init(&f, 10);
    open_by_rate(&f, 0);
    recycled(&f, 0);
    ck_assert_uint_eq(f.op.acts, 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
    ck_assert_double_eq(sup_breaker_failure_rate(&f.b[0], &f.p, f.now), 0.0);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 1);

    /* Half-open: the old worker's probes are forgotten. */
    f.now += 30000;
    eval(&f);
    feed_hs(&f, 0, 0, 4);
    recycled(&f, 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);
    ck_assert_uint_eq(f.b[0].probes, 0);
    feed_hs(&f, 0, 0, 4);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);

    /* Closed: the streak of the old worker does not carry over. */
    feed_hs(&f, 1, 0, 4);
    recycled(&f, 1);
    feed_hs(&f, 1, 0, 1);
    ck_assert_uint_eq(f.b[1].hs_streak, 1);
}
END_TEST

START_TEST(times_opened_forgiven)
{
    fake_fleet f;
    fleet_init(&f, 10);
    open_by_rate(&f, 0);
    f.now += 30000;
    eval(&f);
    feed_hs(&f, 0, 10, 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
    uint64_t closed_at = f.now;
    tick(&f, 0, closed_at + 599999);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 1);
    tick(&f, 0, closed_at + 600000);
    ck_assert_uint_eq(f.op.acts, 0);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 0);
    ck_assert_uint_eq(f.b[0].opens_total, 1);
}
END_TEST

START_TEST(evaluate_skips_empty_slots)
{
    fake_fleet f;
    fleet_init(&f, 4);
    feed(&f, 2, 100, 100);
    f.slots[1] = NULL;
    f.out[1].acts = 0x99;
    ck_assert_int_eq(sup_breaker_evaluate(f.out, f.slots, f.n, 3, &f.p, f.now, NULL), 1);
    ck_assert_uint_eq(f.out[1].acts, 0);
    ck_assert_int_eq(f.b[2].state, SUP_BREAKER_OPEN);

    /* The caller's random value sets each slot's jitter. */
    fleet_init(&f, 4);
    feed(&f, 3, 100, 100);
    const double rnd[4] = {0.5, 0.5, 0.5, 0.0};
    ck_assert_int_eq(sup_breaker_evaluate(f.out, f.slots, f.n, f.n, &f.p, f.now, rnd), 1);
    ck_assert_uint_eq(f.out[3].open_ms, 27000);
}
END_TEST

START_TEST(shortened_policy)
{
    fake_fleet f;
    fleet_init(&f, 4);
    f.p.bucket_ms = 100;
    f.p.window_ms = 1000;
    f.p.min_events = 4;
    f.p.consecutive = 2;
    f.p.base_open_ms = 300;
    f.p.max_open_ms = 1000;
    f.p.jitter = 0.0;
    f.p.probes = 2;
    f.p.max_ejected_pct = 50;

    feed(&f, 0, 4, 2);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_str_eq(f.out[0].reason, "rate 50% of 4 events in 1 s");
    ck_assert_uint_eq(f.out[0].open_ms, 300);

    feed(&f, 1, 3, 3);
    f.now += 1000;
    feed(&f, 1, 1, 1);
    expect_eval(&f, 1, "HC"); /* slot 0 half-opens; slot 1's old failures are gone */

    feed_hs(&f, 1, 0, 2);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_str_eq(f.out[1].reason, "2 server-side handshake failures in a row");

    /* 300, 600, 900, then the cap of 1000 ms with a recycle. */
    const uint64_t want[] = {600, 900, 1000, 1000};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        feed_hs(&f, 0, 0, 1);
        ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
        ck_assert_uint_eq(f.fed.open_ms, want[k]);
        ck_assert_int_eq((f.fed.acts & SUP_BREAKER_ACT_RECYCLE) != 0, want[k] == 1000);
        f.now += f.fed.open_ms;
        eval(&f);
        ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);
    }
    uint64_t w[2];
    sup_breaker_window(w, &f.b[2], &f.p, f.now);
    ck_assert_uint_eq(w[0], 0);

    /* A window that is not whole seconds is shown in milliseconds. */
    f.p.window_ms = 500;
    feed(&f, 2, 10, 10);
    feed(&f, 3, 10, 0);
    reset(&f, 1, f.now);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_str_eq(f.out[2].reason, "rate 100% of 10 events in 500 ms");
}
END_TEST

Suite *sup_breaker_suite(void)
{
    Suite *s = suite_create("sup_breaker");
    TCase *tc = tcase_create("detectors");
    tcase_add_test(tc, rate_needs_twenty_events);
    tcase_add_test(tc, rate_threshold_is_fifty_percent);
    tcase_add_test(tc, rate_sums_the_buckets);
    tcase_add_test(tc, window_expiry);
    tcase_add_test(tc, consecutive_handshake_failures);
    tcase_add_test(tc, relative_detector_opens_the_outlier);
    tcase_add_test(tc, relative_detector_needs_five_workers);
    tcase_add_test(tc, relative_detector_needs_volume);
    suite_add_tcase(s, tc);

    tc = tcase_create("open_and_probes");
    tcase_add_test(tc, half_open_probes_close);
    tcase_add_test(tc, half_open_failure_reopens_doubled);
    tcase_add_test(tc, half_open_probe_verdicts);
    tcase_add_test(tc, open_time_grows_to_the_cap_and_recycles);
    tcase_add_test(tc, no_overflow_at_the_cap);
    tcase_add_test(tc, times_opened_forgiven);
    tcase_add_test(tc, recycled_worker);
    tcase_add_test(tc, operator_trip_and_reset);
    tcase_add_test(tc, shortened_policy);
    suite_add_tcase(s, tc);

    tc = tcase_create("blast_radius");
    tcase_add_test(tc, blast_radius_ten_workers_three_bad);
    tcase_add_test(tc, blast_radius_two_workers_one_bad);
    tcase_add_test(tc, blast_radius_two_workers_both_bad);
    tcase_add_test(tc, blast_radius_single_worker_stays);
    tcase_add_test(tc, blast_radius_large_fleet);
    tcase_add_test(tc, operator_trip_counts_against_the_limit);
    tcase_add_test(tc, evaluate_skips_empty_slots);
    suite_add_tcase(s, tc);
    return s;
}
