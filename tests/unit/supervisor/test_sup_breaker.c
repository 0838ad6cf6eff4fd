/* Unit tests for supervisor/sup_breaker.c: detectors, open times, probes and the blast radius,
 * driven by a fake clock and synthetic Report deltas. */
#include <check.h>
#include <math.h>
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

/* A Report of slot i: events of volume, failures of them server-side, no handshakes. */
static void feed(fake_fleet *f, size_t i, uint64_t events, uint64_t failures)
{
    sup_breaker_sample s = {.events = events, .failures = failures};
    ck_assert_int_eq(sup_breaker_feed(&f->fed, &f->b[i], &f->p, &s, f->now, 0.5), 0);
}

/* A Report of slot i with only handshakes: ok succeeded, failed failed for a server cause. */
static void feed_hs(fake_fleet *f, size_t i, uint64_t ok, uint64_t failed)
{
    sup_breaker_sample s = {.events = ok + failed,
                            .failures = failed,
                            .handshakes_ok = ok,
                            .handshakes_failed_server = failed};
    ck_assert_int_eq(sup_breaker_feed(&f->fed, &f->b[i], &f->p, &s, f->now, 0.5), 0);
}

/* The fleet decision with every slot running and no jitter; returns slots with actions. */
static int eval(fake_fleet *f)
{
    return sup_breaker_evaluate(f->out, f->slots, f->n, f->n, &f->p, f->now, NULL);
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

START_TEST(defaults)
{
    sup_breaker_policy p;
    sup_breaker_policy_init(&p);
    ck_assert_uint_eq(p.bucket_ms, 1000);
    ck_assert_uint_eq(p.window_ms, 10000);
    ck_assert_uint_eq(p.min_events, 20);
    ck_assert_uint_eq(p.failure_pct, 50);
    ck_assert_uint_eq(p.consecutive, 5);
    ck_assert_uint_eq(p.relative_min_workers, 5);
    ck_assert_uint_eq(p.relative_min_events, 100);
    ck_assert_double_eq_tol(p.relative_sigma, 1.9, 1e-9);
    ck_assert_uint_eq(p.base_open_ms, 30000);
    ck_assert_uint_eq(p.max_open_ms, 300000);
    ck_assert_uint_eq(p.probes, 10);
    ck_assert_uint_eq(p.probe_failure_pct, 50);
    ck_assert_uint_eq(p.max_ejected_pct, 10);
    ck_assert_uint_eq(p.min_healthy_pct, 50);

    sup_breaker b;
    sup_breaker_init(&b);
    ck_assert_str_eq(sup_breaker_state_name(b.state), "closed");
    ck_assert_uint_eq(sup_breaker_times_opened(&b), 0);
    ck_assert_uint_eq(sup_breaker_opened_at(&b), 0);
    ck_assert_uint_eq(sup_breaker_weight(&b, &p), SUP_BREAKER_FULL_WEIGHT);
    ck_assert_double_eq(sup_breaker_failure_rate(&b, &p, T0), 0.0);
}
END_TEST

START_TEST(rate_needs_twenty_events)
{
    fake_fleet f;
    fleet_init(&f, 10);
    feed(&f, 0, 19, 19);
    ck_assert_int_eq(eval(&f), 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
    ck_assert_double_eq(sup_breaker_failure_rate(&f.b[0], &f.p, f.now), 1.0);

    f.now += 500;
    feed(&f, 0, 1, 1);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
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
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
    ck_assert_str_eq(f.out[0].reason, "rate 50% of 20 events in 10 s");
    ck_assert_int_eq(f.b[1].state, SUP_BREAKER_CLOSED);
    ck_assert_int_eq(f.b[2].state, SUP_BREAKER_CLOSED);
    ck_assert_double_eq_tol(sup_breaker_failure_rate(&f.b[1], &f.p, f.now), 0.49, 1e-9);

    /* One more failure (and event) makes 50 of 101: still below half. */
    feed(&f, 1, 1, 1);
    ck_assert_int_eq(eval(&f), 0);
    feed(&f, 1, 1, 1);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[1].state, SUP_BREAKER_OPEN);
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
    uint64_t w[2];
    sup_breaker_window(w, &f.b[0], &f.p, f.now);
    ck_assert_uint_eq(w[0], 1);
    ck_assert_uint_eq(w[1], 1);

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
    sup_breaker_window(w, &f.b[0], &f.p, f.now);
    ck_assert_uint_eq(w[0], 20);
    ck_assert_uint_eq(w[1], 5);
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
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
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
    ck_assert_int_eq(eval(&f), 1); /* slot 0 is out: the limit of one is used */
    ck_assert_int_eq(f.b[1].state, SUP_BREAKER_CLOSED);
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
    ck_assert_int_eq(eval(&f), 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);

    f.now = T0 + 30000;
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);
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
    sup_breaker_actions a;

    /* 4 of 10 failed: below half, closes. */
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[0], &f.p, f.now, 0.5), 0);
    ck_assert_int_eq(sup_breaker_tick(&a, &f.b[0], &f.p, f.now + 30000), 0);
    f.now += 30000;
    feed_hs(&f, 0, 6, 4);
    ck_assert_int_eq(f.fed.to, SUP_BREAKER_CLOSED);
    ck_assert_str_eq(f.fed.reason, "probes: 4 of 10 failed");

    /* 5 of 10: re-opens. */
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[1], &f.p, f.now, 0.5), 0);
    f.now += 30000;
    ck_assert_int_eq(sup_breaker_tick(&a, &f.b[1], &f.p, f.now), 0);
    feed_hs(&f, 1, 5, 5);
    ck_assert_int_eq(f.fed.to, SUP_BREAKER_OPEN);
    ck_assert_str_eq(f.fed.reason, "probes: 5 of 10 failed");

    /* Good handshakes but failing messages: the events re-open it. */
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[2], &f.p, f.now, 0.5), 0);
    f.now += 30000;
    ck_assert_int_eq(sup_breaker_tick(&a, &f.b[2], &f.p, f.now), 0);
    sup_breaker_sample s = {.events = 110, .failures = 66, .handshakes_ok = 10};
    ck_assert_int_eq(sup_breaker_feed(&a, &f.b[2], &f.p, &s, f.now, 0.5), 0);
    ck_assert_int_eq(a.to, SUP_BREAKER_OPEN);
    ck_assert_str_eq(a.reason, "probes: 0 of 10 failed, but 60% of 110 events");

    /* No probe connections, no verdict: it waits half-open. */
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[3], &f.p, f.now, 0.5), 0);
    f.now += 30000;
    ck_assert_int_eq(sup_breaker_tick(&a, &f.b[3], &f.p, f.now), 0);
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
    sup_breaker_actions a;
    for (uint64_t k = 1; k <= 12; k++) {
        ck_assert_int_eq(sup_breaker_trip(&a, &f.b[0], &f.p, f.now, 0.5), 0);
        uint64_t want = k < 10 ? 30000 * k : 300000;
        ck_assert_uint_eq(a.open_ms, want);
        ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), k);
        if (k < 10)
            ck_assert_uint_eq(a.acts, SUP_BREAKER_ACT_EJECT | SUP_BREAKER_ACT_LOG);
        else
            ck_assert_uint_eq(a.acts, SUP_BREAKER_ACT_EJECT | SUP_BREAKER_ACT_LOG |
                                          SUP_BREAKER_ACT_RECYCLE);
        f.now += a.open_ms;
        ck_assert_int_eq(sup_breaker_tick(&a, &f.b[0], &f.p, f.now), 0);
        ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);
    }
    ck_assert_uint_eq(f.b[0].opens_total, 12);
}
END_TEST

START_TEST(no_overflow_at_the_cap)
{
    fake_fleet f;
    fleet_init(&f, 1);
    sup_breaker_actions a;
    f.b[0].state = SUP_BREAKER_HALF_OPEN;
    f.b[0].times_opened = UINT32_MAX - 1;
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[0], &f.p, f.now, 0.5), 0);
    ck_assert_uint_eq(a.open_ms, 300000);
    f.b[0].state = SUP_BREAKER_HALF_OPEN;
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[0], &f.p, f.now, 0.5), 0);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), UINT32_MAX);
    ck_assert_uint_eq(a.open_ms, 300000);
    ck_assert(a.acts & SUP_BREAKER_ACT_RECYCLE);
}
END_TEST

START_TEST(jitter_bounds)
{
    sup_breaker_policy p;
    sup_breaker_policy_init(&p);
    sup_breaker b;
    sup_breaker_actions a;
    const double rnds[] = {0.0, 0.999999, -2.0, 1.0, 7.5, NAN, 0.25};
    const uint64_t lo[] = {27000, 32999, 27000, 32999, 32999, 27000, 28499};
    const uint64_t hi[] = {27000, 33000, 27000, 33000, 33000, 27000, 28500};
    for (size_t i = 0; i < sizeof rnds / sizeof rnds[0]; i++) {
        sup_breaker_init(&b);
        ck_assert_int_eq(sup_breaker_trip(&a, &b, &p, T0, rnds[i]), 0);
        ck_assert_uint_ge(a.open_ms, lo[i]);
        ck_assert_uint_le(a.open_ms, hi[i]);
        ck_assert_uint_lt(a.open_ms, 33000);
        ck_assert_uint_eq(b.open_until_ms, T0 + a.open_ms);
    }
    /* At the cap the jitter spreads around 300 s. */
    sup_breaker_init(&b);
    b.times_opened = 20;
    ck_assert_int_eq(sup_breaker_trip(&a, &b, &p, T0, 0.0), 0);
    ck_assert_uint_eq(a.open_ms, 270000);
    /* Without jitter the time is exact. */
    p.jitter = 0.0;
    sup_breaker_init(&b);
    ck_assert_int_eq(sup_breaker_trip(&a, &b, &p, T0, 0.0), 0);
    ck_assert_uint_eq(a.open_ms, 30000);
}
END_TEST

START_TEST(blast_radius_ten_workers_three_bad)
{
    fake_fleet f;
    fleet_init(&f, 10);
    feed(&f, 0, 100, 60);
    feed(&f, 1, 100, 80);
    feed(&f, 2, 100, 100);
    for (size_t i = 3; i < f.n; i++)
        feed(&f, i, 100, 0);
    ck_assert_int_eq(eval(&f), 3);
    /* The worst goes out; the others are held closed and logged. */
    ck_assert_int_eq(f.b[2].state, SUP_BREAKER_OPEN);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
    ck_assert_int_eq(f.b[1].state, SUP_BREAKER_CLOSED);
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
    sup_breaker_actions a;
    ck_assert_int_eq(sup_breaker_reset(&a, &f.b[2], &f.p, f.now), 0);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[1].state, SUP_BREAKER_OPEN);
    ck_assert_str_eq(f.out[1].reason, "rate 80% of 100 events in 10 s");
    ck_assert_uint_eq(f.out[0].acts, 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);

    /* Once slot 0's failures leave the window it is no longer deferred. */
    f.now += 10000;
    eval(&f);
    ck_assert(!f.b[0].deferred);
}
END_TEST

START_TEST(blast_radius_two_workers_one_bad)
{
    fake_fleet f;
    fleet_init(&f, 2);
    feed(&f, 0, 100, 0);
    feed(&f, 1, 100, 90);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
    ck_assert_int_eq(f.b[1].state, SUP_BREAKER_OPEN);
}
END_TEST

START_TEST(blast_radius_two_workers_both_bad)
{
    fake_fleet f;
    fleet_init(&f, 2);
    feed(&f, 0, 100, 70);
    feed(&f, 1, 100, 70);
    ck_assert_int_eq(eval(&f), 2);
    /* Equal rates: the lower slot goes first. */
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
    ck_assert_int_eq(f.b[1].state, SUP_BREAKER_CLOSED);
    ck_assert(starts_with(f.out[1].reason, "deferred, 1 of 2 running ejected"));
    /* Even when it half-opens, slot 0 still counts against the limit. */
    f.now += 30000;
    feed(&f, 1, 100, 70);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);
    ck_assert_int_eq(f.b[1].state, SUP_BREAKER_CLOSED);
}
END_TEST

START_TEST(blast_radius_single_worker_stays)
{
    fake_fleet f;
    fleet_init(&f, 1);
    feed(&f, 0, 100, 100);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
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
    eval(&f);
    size_t open = 0;
    for (size_t i = 0; i < f.n; i++)
        open += f.b[i].state != SUP_BREAKER_CLOSED;
    ck_assert_uint_eq(open, 1);

    f.p.max_ejected_pct = 25;
    eval(&f);
    open = 0;
    for (size_t i = 0; i < f.n; i++)
        open += f.b[i].state != SUP_BREAKER_CLOSED;
    ck_assert_uint_eq(open, 4);

    f.p.max_ejected_pct = 100;
    eval(&f);
    open = 0;
    for (size_t i = 0; i < f.n; i++)
        open += f.b[i].state != SUP_BREAKER_CLOSED;
    ck_assert_uint_eq(open, 8);
}
END_TEST

START_TEST(operator_trip_counts_against_the_limit)
{
    fake_fleet f;
    fleet_init(&f, 10);
    sup_breaker_actions a;
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[3], &f.p, f.now, 0.5), 0);
    feed(&f, 0, 100, 100);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
    ck_assert(starts_with(f.out[0].reason, "deferred"));
    /* The operator is not limited. */
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[5], &f.p, f.now, 0.5), 0);
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
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
    ck_assert_str_eq(f.out[0].reason, "success 80.0% < mean 95.9% - 1.9 sigma (8.0%)");
    for (size_t i = 1; i < f.n; i++)
        ck_assert_int_eq(f.b[i].state, SUP_BREAKER_CLOSED);

    /* One outlier among equals is always sqrt(n - 1) sigma out, 2 for five workers: a single
     * error among flawless workers is left alone by the failure floor, unless it is 0. */
    fleet_init(&f, 5);
    feed(&f, 0, 1000, 1);
    for (size_t i = 1; i < f.n; i++)
        feed(&f, i, 1000, 0);
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
    ck_assert_int_eq(eval(&f), 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
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
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);

    /* Equal workers have no outlier. */
    fleet_init(&f, 6);
    for (size_t i = 0; i < f.n; i++)
        feed(&f, i, 1000, 30);
    ck_assert_int_eq(eval(&f), 0);

    /* An ejected worker is left out of the statistics (it would hide the next outlier). */
    relative_fleet(&f, 6, 800);
    f.p.max_ejected_pct = 50;
    sup_breaker_actions a;
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[5], &f.p, f.now, 0.5), 0);
    feed(&f, 5, 1000, 1000);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
}
END_TEST

START_TEST(operator_trip_and_reset)
{
    fake_fleet f;
    fleet_init(&f, 1);
    sup_breaker_actions a;
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[0], &f.p, f.now, 0.5), 0);
    ck_assert_uint_eq(a.acts, SUP_BREAKER_ACT_EJECT | SUP_BREAKER_ACT_LOG);
    ck_assert_str_eq(a.reason, "operator trip");
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
    ck_assert_uint_eq(a.open_ms, 30000);

    sup_breaker_actions untouched = {.acts = 0x55};
    ck_assert_int_eq(sup_breaker_trip(&untouched, &f.b[0], &f.p, f.now, 0.5), SUP_BREAKER_EALREADY);
    ck_assert_uint_eq(untouched.acts, 0x55);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 1);

    feed(&f, 0, 50, 50);
    ck_assert_int_eq(sup_breaker_reset(&a, &f.b[0], &f.p, f.now + 1), 0);
    ck_assert_uint_eq(a.acts, SUP_BREAKER_ACT_CLOSE | SUP_BREAKER_ACT_LOG);
    ck_assert_str_eq(a.reason, "operator reset");
    ck_assert_int_eq(a.from, SUP_BREAKER_OPEN);
    ck_assert_int_eq(a.to, SUP_BREAKER_CLOSED);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 0);
    ck_assert_double_eq(sup_breaker_failure_rate(&f.b[0], &f.p, f.now + 1), 0.0);

    /* Reset of a closed breaker is harmless; trip from half-open opens again. */
    ck_assert_int_eq(sup_breaker_reset(&a, &f.b[0], &f.p, f.now + 2), 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_CLOSED);
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[0], &f.p, f.now, 0.5), 0);
    ck_assert_int_eq(sup_breaker_tick(&a, &f.b[0], &f.p, f.now + 30000), 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);
    ck_assert_int_eq(sup_breaker_trip(&a, &f.b[0], &f.p, f.now + 30000, 0.5), 0);
    ck_assert_int_eq(a.from, SUP_BREAKER_HALF_OPEN);
    ck_assert_uint_eq(a.open_ms, 60000);
}
END_TEST

START_TEST(recycled_worker)
{
    fake_fleet f;
    fleet_init(&f, 10);
    open_by_rate(&f, 0);
    sup_breaker_actions a;
    ck_assert_int_eq(sup_breaker_on_recycled(&a, &f.b[0], &f.p, f.now), 0);
    ck_assert_uint_eq(a.acts, 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_OPEN);
    ck_assert_double_eq(sup_breaker_failure_rate(&f.b[0], &f.p, f.now), 0.0);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 1);

    /* Half-open: the old worker's probes are forgotten. */
    f.now += 30000;
    eval(&f);
    feed_hs(&f, 0, 0, 4);
    ck_assert_int_eq(sup_breaker_on_recycled(&a, &f.b[0], &f.p, f.now), 0);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);
    ck_assert_uint_eq(f.b[0].probes, 0);
    feed_hs(&f, 0, 0, 4);
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);

    /* Closed: the streak of the old worker does not carry over. */
    feed_hs(&f, 1, 0, 4);
    ck_assert_int_eq(sup_breaker_on_recycled(&a, &f.b[1], &f.p, f.now), 0);
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
    sup_breaker_actions a;
    ck_assert_int_eq(sup_breaker_tick(&a, &f.b[0], &f.p, closed_at + 599999), 0);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 1);
    ck_assert_int_eq(sup_breaker_tick(&a, &f.b[0], &f.p, closed_at + 600000), 0);
    ck_assert_uint_eq(a.acts, 0);
    ck_assert_uint_eq(sup_breaker_times_opened(&f.b[0]), 0);
    ck_assert_uint_eq(f.b[0].opens_total, 1);
}
END_TEST

START_TEST(table_ignores_meaningless_events)
{
    sup_breaker_policy p;
    sup_breaker_policy_init(&p);
    sup_breaker b;
    sup_breaker_init(&b);
    sup_breaker_actions a;
    const enum sup_breaker_event idle[] = {SUP_BREAKER_EV_EXPIRE, SUP_BREAKER_EV_PROBES_OK,
                                           SUP_BREAKER_EV_PROBES_BAD};
    for (size_t i = 0; i < sizeof idle / sizeof idle[0]; i++) {
        ck_assert_int_eq(sup_breaker_step(&a, &b, &p, idle[i], T0, 0.5, "x"), 0);
        ck_assert_uint_eq(a.acts, 0);
        ck_assert_int_eq(b.state, SUP_BREAKER_CLOSED);
    }
    ck_assert_int_eq(sup_breaker_step(&a, &b, &p, SUP_BREAKER_EV_DETECT, T0, 0.5, NULL), 0);
    ck_assert_int_eq(b.state, SUP_BREAKER_OPEN);
    ck_assert_str_eq(a.reason, "");
    const enum sup_breaker_event open_idle[] = {SUP_BREAKER_EV_DETECT, SUP_BREAKER_EV_DEFER,
                                                SUP_BREAKER_EV_PROBES_OK, SUP_BREAKER_EV_TRIP};
    for (size_t i = 0; i < sizeof open_idle / sizeof open_idle[0]; i++) {
        ck_assert_int_eq(sup_breaker_step(&a, &b, &p, open_idle[i], T0, 0.5, "x"), 0);
        ck_assert_uint_eq(a.acts, 0);
        ck_assert_int_eq(b.state, SUP_BREAKER_OPEN);
        ck_assert_uint_eq(sup_breaker_times_opened(&b), 1);
    }
    a.acts = 0x77;
    ck_assert_int_eq(sup_breaker_step(&a, &b, &p, SUP_BREAKER_NEVENTS, T0, 0.5, "x"),
                     SUP_BREAKER_EINVAL);
    ck_assert_uint_eq(a.acts, 0x77);
    ck_assert_str_eq(sup_breaker_state_name(SUP_BREAKER_NSTATES), "unknown");
    /* An early tick does nothing. */
    ck_assert_int_eq(sup_breaker_tick(&a, &b, &p, T0 + 1), 0);
    ck_assert_uint_eq(a.acts, 0);
    ck_assert_uint_eq(sup_breaker_weight(&b, &p), 0);
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

START_TEST(sample_from_reports)
{
    wsf_report prev = {.pid = 7, .generation = 2};
    prev.handshakes_ok = 100;
    prev.handshakes_failed_server = 10;
    prev.handshakes_failed_client = 50;
    prev.messages_in = 1000;
    prev.internal_errors = 5;
    prev.failed_writes = 3;
    prev.protocol_errors = 40;
    wsf_report cur = prev;
    cur.handshakes_ok += 20;
    cur.handshakes_failed_server += 2;
    cur.handshakes_failed_client += 9;
    cur.messages_in += 300;
    cur.internal_errors += 4;
    cur.failed_writes += 1;
    cur.protocol_errors += 30;

    sup_breaker_sample s;
    sup_breaker_sample_from(&s, &prev, &cur);
    ck_assert_uint_eq(s.events, 322); /* client-side failures are not volume */
    ck_assert_uint_eq(s.failures, 7); /* protocol errors are the client's */
    ck_assert_uint_eq(s.handshakes_ok, 20);
    ck_assert_uint_eq(s.handshakes_failed_server, 2);

    /* The first Report, a new generation, or counters that went back: the totals. */
    sup_breaker_sample_from(&s, NULL, &cur);
    ck_assert_uint_eq(s.events, 120 + 12 + 1300);
    ck_assert_uint_eq(s.failures, 9 + 4 + 12);
    cur.generation = 3;
    sup_breaker_sample_from(&s, &prev, &cur);
    ck_assert_uint_eq(s.handshakes_ok, 120);
    cur.generation = 2;
    cur.failed_writes = 1;
    sup_breaker_sample_from(&s, &prev, &cur);
    ck_assert_uint_eq(s.handshakes_ok, 120);
    ck_assert_uint_eq(s.failures, 9 + 1 + 12);
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
    ck_assert_int_eq(eval(&f), 1); /* slot 0 half-opens; slot 1's old failures are gone */
    ck_assert_int_eq(f.b[0].state, SUP_BREAKER_HALF_OPEN);
    ck_assert_int_eq(f.b[1].state, SUP_BREAKER_CLOSED);

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
    sup_breaker_actions a;
    ck_assert_int_eq(sup_breaker_reset(&a, &f.b[1], &f.p, f.now), 0);
    ck_assert_int_eq(eval(&f), 1);
    ck_assert_str_eq(f.out[2].reason, "rate 100% of 10 events in 500 ms");
}
END_TEST

Suite *sup_breaker_suite(void)
{
    Suite *s = suite_create("sup_breaker");
    TCase *tc = tcase_create("detectors");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, rate_needs_twenty_events);
    tcase_add_test(tc, rate_threshold_is_fifty_percent);
    tcase_add_test(tc, rate_sums_the_buckets);
    tcase_add_test(tc, window_expiry);
    tcase_add_test(tc, consecutive_handshake_failures);
    tcase_add_test(tc, relative_detector_opens_the_outlier);
    tcase_add_test(tc, relative_detector_needs_five_workers);
    tcase_add_test(tc, relative_detector_needs_volume);
    tcase_add_test(tc, sample_from_reports);
    suite_add_tcase(s, tc);

    tc = tcase_create("open_and_probes");
    tcase_add_test(tc, half_open_probes_close);
    tcase_add_test(tc, half_open_failure_reopens_doubled);
    tcase_add_test(tc, half_open_probe_verdicts);
    tcase_add_test(tc, open_time_grows_to_the_cap_and_recycles);
    tcase_add_test(tc, no_overflow_at_the_cap);
    tcase_add_test(tc, jitter_bounds);
    tcase_add_test(tc, times_opened_forgiven);
    tcase_add_test(tc, recycled_worker);
    tcase_add_test(tc, operator_trip_and_reset);
    tcase_add_test(tc, table_ignores_meaningless_events);
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
