/* Unit tests for supervisor/sup_scaler.c: the autoscaler's rules, driven by a fake clock and a
 * simulated fleet (the rebalancer's are in test_sup_rebalance.c). */
#include <check.h>
#include <string.h>

#include "sup_scaler.h"

Suite *sup_scaler_suite(void);

#define T0 10000000u /* the fake clock starts here; workers started an hour before are warm */

/* A fleet the scaler drives: its decisions are applied at once. */
typedef struct fleet {
    sup_scaler st;
    sup_scaler_policy p;
    uint64_t now;
    uint32_t current;
    sup_scaler_worker w[SUP_SCALER_MAX_WORKERS];
    size_t n;
    uint32_t next_slot;
    unsigned ups;
    unsigned downs;
    sup_scaler_decision d; /* the last decision */
} fleet;

/* count warm workers with conns connections each; connections only, target 250. */
static void fleet_init(fleet *f, uint32_t count, uint32_t conns)
{
    memset(f, 0, sizeof *f);
    sup_scaler_policy_init(&f->p);
    f->p.target_connections = 250;
    f->p.target_busy = 0.0;
    f->p.max_workers = 64;
    sup_scaler_init(&f->st);
    f->now = T0;
    for (uint32_t i = 0; i < count; i++) {
        f->w[i].slot = i;
        f->w[i].connections = conns;
        f->w[i].has_report = true;
        f->w[i].started_ms = T0 - 3600000;
    }
    f->n = count;
    f->current = count;
    f->next_slot = count;
}

/* Spreads total connections evenly over the running workers (new ones included). */
static void fleet_spread(fleet *f, uint32_t total)
{
    for (size_t i = 0; i < f->n; i++)
        f->w[i].connections = (uint32_t)(total / f->n + (i < total % f->n ? 1 : 0));
}

/* One tick at the current time; spawns or removes workers as decided. */
static int fleet_tick(fleet *f)
{
    int a = sup_scaler_tick(&f->d, &f->st, &f->p, f->now, f->current, f->w, f->n);
    ck_assert_int_ge(a, 0);
    ck_assert_int_eq(a, f->d.action);
    if (a == SUP_SCALER_UP) {
        ck_assert_uint_gt(f->d.desired, f->current);
        for (uint32_t i = f->current; i < f->d.desired; i++) {
            sup_scaler_worker *nw = &f->w[f->n++];
            memset(nw, 0, sizeof *nw);
            nw->slot = f->next_slot++;
            nw->has_report = true;
            nw->started_ms = f->now;
        }
        f->ups++;
    } else if (a == SUP_SCALER_DOWN) {
        ck_assert_uint_eq(f->d.desired, f->current - 1);
        size_t i = 0;
        while (i < f->n && (int32_t)f->w[i].slot != f->d.drain_slot)
            i++;
        ck_assert_uint_lt(i, f->n);
        f->w[i] = f->w[--f->n];
        f->downs++;
    } else {
        ck_assert_uint_eq(f->d.desired, f->current);
    }
    f->current = f->d.desired;
    return a;
}

/* Ticks once a second for seconds, the load spread evenly; returns the number of actions. */
static unsigned fleet_run(fleet *f, uint32_t total, unsigned seconds)
{
    unsigned actions = 0;
    for (unsigned s = 0; s < seconds; s++) {
        fleet_spread(f, total);
        if (fleet_tick(f) != SUP_SCALER_HOLD)
            actions++;
        f->now += 1000;
    }
    return actions;
}

/* One tick that decides action and leaves desired workers. */
static void expect_tick(fleet *f, int action, uint32_t desired)
{
    ck_assert_int_eq(fleet_tick(f), action);
    ck_assert_uint_eq(f->d.desired, desired);
}

/* The last decision's load over target, missing Reports at 0 % (up) and at 100 % (down). */
static void expect_ratios(const fleet *f, double up, double down)
{
    ck_assert_double_eq_tol(f->d.ratio_up, up, 1e-9);
    ck_assert_double_eq_tol(f->d.ratio_down, down, 1e-9);
}

/* Worker i holds conns connections and was started at started_ms. */
static void set_worker(fleet *f, size_t i, uint32_t conns, uint64_t started_ms)
{
    f->w[i].connections = conns;
    f->w[i].started_ms = started_ms;
}

/* count warm workers with conns connections and busy busyness each; both signals on, targets
 * 1000 connections and 0.7 busy. */
static void fleet_init_busy(fleet *f, uint32_t count, uint32_t conns, double busy)
{
    fleet_init(f, count, conns);
    f->p.target_connections = 1000;
    f->p.target_busy = 0.7;
    for (size_t i = 0; i < f->n; i++)
        f->w[i].busy = busy;
}

START_TEST(defaults)
{
    sup_scaler_policy p;
    sup_scaler_policy_init(&p);
    ck_assert_uint_eq(p.target_connections, 1000);
    ck_assert_double_eq_tol(p.target_busy, 0.7, 1e-9);
    ck_assert_double_eq_tol(p.tolerance, 0.1, 1e-9);
    ck_assert_uint_eq(p.up_window_ms, 15000);
    ck_assert_double_eq_tol(p.up_factor, 2.0, 1e-9);
    ck_assert_uint_eq(p.up_step, 4);
    ck_assert_uint_eq(p.down_window_ms, 300000);
    ck_assert_uint_eq(p.down_interval_ms, 60000);
    ck_assert_uint_eq(p.warmup_ms, 30000);
    ck_assert_uint_eq(p.min_workers, 1);
    ck_assert_uint_eq(p.max_workers, SUP_SCALER_MAX_WORKERS);
    ck_assert_int_eq(sup_scaler_policy_check(&p), 0);

    sup_rebalance_policy r;
    sup_rebalance_policy_init(&r);
    ck_assert_double_eq_tol(r.above, 0.1, 1e-9);
    ck_assert_double_eq_tol(r.fraction, 0.1, 1e-9);
    ck_assert_uint_eq(r.interval_ms, 60000);

    sup_scaler st;
    sup_scaler_init(&st);
    ck_assert(st.enabled);
    ck_assert(!st.has_change);
    ck_assert_str_eq(sup_scaler_action_name(SUP_SCALER_HOLD), "hold");
    ck_assert_str_eq(sup_scaler_action_name(SUP_SCALER_UP), "up");
    ck_assert_str_eq(sup_scaler_action_name(SUP_SCALER_DOWN), "down");
    ck_assert_str_eq(sup_scaler_action_name(7), "?");
}
END_TEST

START_TEST(bad_policies_are_refused)
{
    fleet f;
    fleet_init(&f, 2, 250);
    sup_scaler_policy good = f.p;
    sup_scaler_policy bad[6];
    for (int i = 0; i < 6; i++)
        bad[i] = good;
    bad[0].min_workers = 0;
    bad[1].min_workers = 10;
    bad[1].max_workers = 9;
    bad[2].max_workers = SUP_SCALER_MAX_WORKERS + 1;
    bad[3].target_connections = 0;
    bad[3].target_busy = 0.0;
    bad[4].tolerance = 1.0;
    bad[5].up_factor = 0.5;
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(sup_scaler_policy_check(&bad[i]), SUP_SCALER_EPOLICY);
        sup_scaler_decision d;
        memset(&d, 0x5a, sizeof d);
        ck_assert_int_eq(sup_scaler_tick(&d, &f.st, &bad[i], f.now, 2, f.w, f.n),
                         SUP_SCALER_EPOLICY);
        ck_assert_uint_eq(d.desired, 0x5a5a5a5a); /* out untouched */
        ck_assert(!f.st.observing);               /* state untouched */
    }
}
END_TEST

START_TEST(tolerance_band)
{
    fleet f;
    fleet_init(&f, 4, 1050);
    f.p.target_connections = 1000;
    /* 5 % over target: nothing to do. */
    expect_tick(&f, SUP_SCALER_HOLD, 4);
    ck_assert_str_eq(f.d.reason, "within 10 % of target: connections 1050/1000 per worker (105 %)");
    ck_assert_double_eq_tol(f.d.ratio_up, 1.05, 1e-9);
    /* 5 % under: nothing either. */
    fleet_spread(&f, 4 * 950);
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_HOLD);
    ck_assert_uint_eq(f.d.recommend, 4);
    /* 20 % over: up at once, to ceil(4 * 1.2) = 5. */
    fleet_spread(&f, 4 * 1200);
    expect_tick(&f, SUP_SCALER_UP, 5);
    ck_assert_uint_eq(f.d.current, 4);
    ck_assert_str_eq(f.d.reason, "connections 1200/1000 per worker (120 %) -> 5 workers");
    ck_assert(f.st.has_change);
    ck_assert_str_eq(f.st.last.reason, f.d.reason);
}
END_TEST

START_TEST(reason_names_the_signal)
{
    fleet f;
    fleet_init(&f, 3, 412);
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_UP);
    ck_assert_str_eq(f.d.reason, "connections 412/250 per worker (165 %) -> 5 workers");

    /* Busy wins when its ratio is larger, even while connections alone would scale down. */
    fleet_init_busy(&f, 4, 500, 0.91);
    expect_tick(&f, SUP_SCALER_UP, 6); /* ceil(4 * 1.3) */
    ck_assert_str_eq(f.d.reason, "busy 0.91/0.70 per worker (130 %) -> 6 workers");

    /* Connections win when theirs is larger. */
    fleet_init_busy(&f, 4, 1500, 0.8);
    expect_tick(&f, SUP_SCALER_UP, 6);
    ck_assert_str_eq(f.d.reason, "connections 1500/1000 per worker (150 %) -> 6 workers");

    /* Busy alone (connections off). */
    fleet_init_busy(&f, 2, 0, 1.0);
    f.p.target_connections = 0;
    f.p.target_busy = 0.5;
    expect_tick(&f, SUP_SCALER_UP, 4);
}
END_TEST

START_TEST(scale_up_limited_per_window)
{
    /* 2 workers holding 20 workers' worth: +4 beats x2, so 6 at once. */
    fleet f;
    fleet_init(&f, 2, 2500);
    expect_tick(&f, SUP_SCALER_UP, 6);
    ck_assert_uint_eq(f.d.recommend, 20);
    ck_assert_ptr_nonnull(strstr(f.d.reason, "-> 20 workers; limited to 6 in this 15 s"));
    /* The load stays on the first two (the new ones are warming up): still 20 wanted, but the
     * window allows no more. */
    for (int s = 1; s < 15; s++) {
        f.now += 1000;
        expect_tick(&f, SUP_SCALER_HOLD, 6);
        ck_assert_uint_eq(f.d.recommend, 20);
    }
    /* A new window: from 6, x2 = 12 beats +4. */
    f.now += 1000;
    expect_tick(&f, SUP_SCALER_UP, 12);
    f.now += 15000;
    expect_tick(&f, SUP_SCALER_UP, 20);
    ck_assert_str_eq(f.d.reason, "connections 417/250 per worker (167 %) -> 20 workers");

    /* From 10, x2 = 20 is the larger limit. */
    fleet_init(&f, 10, 750);
    expect_tick(&f, SUP_SCALER_UP, 20);
    ck_assert_uint_eq(f.d.recommend, 30);
}
END_TEST

START_TEST(scale_up_needs_no_history)
{
    /* Up at the very first tick, however short the history. */
    fleet f;
    fleet_init(&f, 1, 400);
    expect_tick(&f, SUP_SCALER_UP, 2);
}
END_TEST

START_TEST(scale_down_waits_for_a_full_window)
{
    /* A fresh scaler does not know the last 300 s: no scale-down before it has seen them. */
    fleet f;
    fleet_init(&f, 4, 10);
    ck_assert_uint_eq(fleet_run(&f, 40, 300), 0);
    ck_assert_ptr_nonnull(strstr(f.d.reason, "held: less than 300 s of history"));
    expect_tick(&f, SUP_SCALER_DOWN, 3);
    ck_assert_uint_eq(f.d.recommend, 1);
}
END_TEST

START_TEST(scale_down_stabilization)
{
    fleet f;
    fleet_init(&f, 4, 250);
    /* At target for 400 s. */
    ck_assert_uint_eq(fleet_run(&f, 1000, 400), 0);
    /* A brief dip to 30 %: recommendations of 2, but 4 is still the highest of the window. */
    ck_assert_uint_eq(fleet_run(&f, 300, 20), 0);
    ck_assert_uint_eq(f.d.recommend, 2);
    ck_assert_str_eq(f.d.reason, "connections 75/250 per worker (30 %) -> 2 workers; held: "
                                 "highest recommendation of the last 300 s is 4");
    ck_assert_uint_eq(fleet_run(&f, 1000, 100), 0);
    /* A lasting dip from t: the last 4 was recommended at t - 1 s and leaves the window at
     * t + 299 s. */
    uint64_t t = f.now;
    unsigned downs_at = 0;
    uint64_t when[4];
    for (unsigned s = 0; s < 600; s++) {
        fleet_spread(&f, 300);
        if (fleet_tick(&f) == SUP_SCALER_DOWN) {
            ck_assert_uint_lt(downs_at, 4);
            when[downs_at++] = f.now - t;
        }
        f.now += 1000;
    }
    /* 4 -> 3, then one worker per 60 s: 3 -> 2, and no further (300 connections want 2). */
    ck_assert_uint_eq(downs_at, 2);
    ck_assert_uint_eq(when[0], 299000);
    ck_assert_uint_eq(when[1], 359000);
    ck_assert_uint_eq(f.current, 2);
    ck_assert_uint_eq(f.n, 2);
}
END_TEST

START_TEST(scale_down_one_worker_per_interval)
{
    fleet f;
    fleet_init(&f, 8, 250);
    f.p.down_window_ms = 10000;
    f.p.down_interval_ms = 5000;
    ck_assert_uint_eq(fleet_run(&f, 2000, 10), 0);
    /* Load gone: 8 -> 1, a step every 5 s once the 10 s window has forgotten the 8. */
    uint64_t t = f.now;
    uint64_t last = 0;
    unsigned downs = 0;
    for (unsigned s = 0; s < 60; s++) {
        fleet_spread(&f, 0);
        if (fleet_tick(&f) == SUP_SCALER_DOWN) {
            if (downs > 0)
                ck_assert_uint_eq(f.now - last, 5000);
            else
                ck_assert_uint_eq(f.now - t, 9000);
            last = f.now;
            downs++;
        } else if (downs > 0 && downs < 7) {
            ck_assert_ptr_nonnull(strstr(f.d.reason, "held: one worker per 5 s"));
        }
        f.now += 1000;
    }
    ck_assert_uint_eq(downs, 7);
    ck_assert_uint_eq(f.current, 1);
}
END_TEST

START_TEST(least_loaded_is_drained)
{
    fleet f;
    fleet_init(&f, 5, 0);
    f.p.down_window_ms = 1000;
    const uint32_t conns[] = {100, 30, 80, 50, 0};
    for (size_t i = 0; i < 5; i++)
        f.w[i].connections = conns[i];
    f.w[4].has_report = false; /* no Report: its 0 is unknown, not least */
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_HOLD);
    f.now += 1000;
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_DOWN);
    ck_assert_int_eq(f.d.drain_slot, 1);
    ck_assert_ptr_nonnull(strstr(f.d.reason, "down to 4, draining slot 1"));

    /* Ties go to the highest slot. */
    fleet_init(&f, 4, 20);
    f.p.down_window_ms = 1000;
    f.w[0].connections = 100;
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_HOLD);
    f.now += 1000;
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_DOWN);
    ck_assert_int_eq(f.d.drain_slot, 3);
}
END_TEST

START_TEST(warmup_ignores_new_workers)
{
    fleet f;
    fleet_init(&f, 4, 250);
    set_worker(&f, 2, 2000, T0 - 10000);
    set_worker(&f, 3, 2000, T0 - 10000);
    /* The new ones' load is not believed yet: up 500/1000, down (500 + 2 * 250) / 1000. */
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_HOLD);
    expect_ratios(&f, 0.5, 1.0);
    f.now += 19999;
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_HOLD);
    /* 30 s after their start they count: 4500 connections want 18, +4 allows 8. */
    f.now += 1;
    expect_tick(&f, SUP_SCALER_UP, 8);
    ck_assert_uint_eq(f.d.recommend, 18);

    /* Warming workers with nothing on them count as at target, not as empty. */
    fleet_init(&f, 4, 50);
    set_worker(&f, 2, 0, T0);
    set_worker(&f, 3, 0, T0);
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_HOLD);
    ck_assert_uint_eq(f.d.recommend, 3); /* ceil((100 + 500) / 250), not ceil(100 / 250) */

    /* A shorter warmup. */
    fleet_init(&f, 2, 250);
    f.p.warmup_ms = 1000;
    set_worker(&f, 1, 1000, T0 - 1000);
    expect_tick(&f, SUP_SCALER_UP, 5);
}
END_TEST

START_TEST(missing_reports)
{
    /* Down: a worker without a Report counts as at target, which blocks this scale-down ... */
    fleet f;
    fleet_init(&f, 2, 100);
    f.p.down_window_ms = 1000;
    f.w[1].has_report = false;
    ck_assert_uint_eq(fleet_run(&f, 200, 5), 0);
    ck_assert_uint_eq(f.d.recommend, 2);
    ck_assert_double_eq_tol(f.d.ratio_down, 0.7, 1e-9);
    /* ... that the same load with both Reports makes. */
    f.w[1].has_report = true;
    expect_tick(&f, SUP_SCALER_DOWN, 1);

    /* Up: it counts as empty, so it causes no scale-up and dilutes the others' load. */
    fleet_init(&f, 2, 600);
    f.w[1].has_report = false;
    f.w[1].connections = 5000;         /* stale: not believed */
    expect_tick(&f, SUP_SCALER_UP, 3); /* not ceil(2 * 600 / 250) = 5 */
    ck_assert_double_eq_tol(f.d.ratio_up, 1.2, 1e-9);

    /* Nothing reported: neither way. */
    fleet_init(&f, 3, 5000);
    f.p.down_window_ms = 1000;
    for (size_t i = 0; i < f.n; i++)
        f.w[i].has_report = false;
    ck_assert_uint_eq(fleet_run(&f, 0, 5), 0);
    expect_ratios(&f, 0.0, 1.0);

    /* Slots of the fleet not among the running workers count the same way. */
    fleet_init(&f, 2, 250);
    f.p.down_window_ms = 1000;
    f.current = 4;
    ck_assert_uint_eq(fleet_run(&f, 500, 5), 0);
    expect_ratios(&f, 0.5, 1.0);
}
END_TEST

START_TEST(min_max_clamps)
{
    /* Below the minimum: up at once. */
    fleet f;
    fleet_init(&f, 1, 0);
    f.p.min_workers = 3;
    expect_tick(&f, SUP_SCALER_UP, 3);
    ck_assert_str_eq(f.d.reason, "below the minimum of 3 workers");

    /* Recommendations stop at the maximum. */
    fleet_init(&f, 4, 2500);
    f.p.max_workers = 6;
    expect_tick(&f, SUP_SCALER_UP, 6);
    ck_assert_uint_eq(f.d.recommend, 6);
    f.now += 20000;
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_HOLD);

    /* ... and at the minimum going down. */
    fleet_init(&f, 5, 0);
    f.p.min_workers = 3;
    f.p.down_window_ms = 1000;
    f.p.down_interval_ms = 1000;
    ck_assert_uint_eq(fleet_run(&f, 0, 30), 2);
    ck_assert_uint_eq(f.current, 3);
    ck_assert_uint_eq(f.d.recommend, 3);

    /* Above the maximum (lowered by `wsctl autoscale --max`): one worker less per tick. */
    fleet_init(&f, 8, 250);
    f.p.max_workers = 6;
    f.w[5].connections = 10;
    expect_tick(&f, SUP_SCALER_DOWN, 7);
    ck_assert_int_eq(f.d.drain_slot, 5);
    ck_assert_str_eq(f.d.reason, "above the maximum of 6 workers; draining slot 5");
    f.now += 1000;
    expect_tick(&f, SUP_SCALER_DOWN, 6);
    f.now += 1000;
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_HOLD);
}
END_TEST

START_TEST(disabled_does_nothing)
{
    fleet f;
    fleet_init(&f, 4, 2500);
    sup_scaler_set_enabled(&f.st, false, f.now);
    for (int i = 0; i < 400; i++) {
        ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_HOLD);
        ck_assert_str_eq(f.d.reason, "autoscaling off");
        f.now += 1000;
    }
    ck_assert_uint_eq(f.st.nhistory, 0);
    ck_assert(!f.st.has_change);

    /* On again: up at once, but down only after a full window seen since. */
    sup_scaler_set_enabled(&f.st, true, f.now);
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_UP);
    f.now += 1000;
    ck_assert_uint_eq(fleet_run(&f, 0, 299), 0);
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_DOWN);
}
END_TEST

START_TEST(manual_scale_switches_autoscaling_off)
{
    fleet f;
    fleet_init(&f, 4, 2500);
    sup_scaler_on_manual(&f.st, 4, 8, f.now);
    ck_assert(!f.st.enabled);
    ck_assert(f.st.has_change);
    ck_assert_uint_eq(f.st.last_ms, f.now);
    ck_assert_int_eq(f.st.last.action, SUP_SCALER_UP);
    ck_assert_uint_eq(f.st.last.desired, 8);
    ck_assert_str_eq(f.st.last.reason, "manual scale 4 -> 8 workers, autoscaling off");
    f.now += 1000;
    ck_assert_int_eq(fleet_tick(&f), SUP_SCALER_HOLD);
    ck_assert_str_eq(f.d.reason, "autoscaling off");
    /* The last change stays the manual one. */
    ck_assert_str_eq(f.st.last.reason, "manual scale 4 -> 8 workers, autoscaling off");

    sup_scaler_on_manual(&f.st, 8, 2, f.now);
    ck_assert_int_eq(f.st.last.action, SUP_SCALER_DOWN);
    sup_scaler_on_manual(&f.st, 2, 2, f.now);
    ck_assert_int_eq(f.st.last.action, SUP_SCALER_HOLD);
}
END_TEST

START_TEST(square_wave_does_not_flap)
{
    /* 2x and 0.3x of 4 workers' target, alternating every 20 s, for 30 minutes. */
    fleet f;
    fleet_init(&f, 4, 250);
    unsigned per_block[3] = {0};
    unsigned max_workers = 0;
    for (unsigned s = 0; s < 1800; s++) {
        bool high = (s / 20) % 2 == 0;
        fleet_spread(&f, high ? 2000 : 300);
        if (fleet_tick(&f) != SUP_SCALER_HOLD)
            per_block[s / 600]++;
        if (f.current > max_workers)
            max_workers = f.current;
        f.now += 1000;
    }
    /* Up to what the peaks need, once; never down while the peaks keep coming. */
    for (int b = 0; b < 3; b++)
        ck_assert_uint_le(per_block[b], 2);
    ck_assert_uint_le(per_block[0] + per_block[1] + per_block[2], 2);
    ck_assert_uint_eq(f.downs, 0);
    ck_assert_uint_eq(f.current, 8);
    ck_assert_uint_eq(max_workers, 8);
}
END_TEST

START_TEST(square_wave_slow_is_bounded)
{
    /* 10 minutes at 3x, 10 minutes at 0.2x of 4 workers' target, for an hour: up at once in each
     * high phase, down only in the second half of each low phase, one worker a minute. */
    fleet f;
    fleet_init(&f, 4, 250);
    unsigned ups[6] = {0};
    unsigned downs[6] = {0};
    for (unsigned s = 0; s < 3600; s++) {
        bool high = (s / 600) % 2 == 0;
        fleet_spread(&f, high ? 3000 : 200);
        int a = fleet_tick(&f);
        if (a == SUP_SCALER_UP)
            ups[s / 600]++;
        if (a == SUP_SCALER_DOWN) {
            downs[s / 600]++;
            ck_assert_uint_ge(s % 600, 299);
        }
        f.now += 1000;
    }
    for (int b = 0; b < 6; b++) {
        bool high = b % 2 == 0;
        ck_assert_uint_eq(high ? downs[b] : ups[b], 0);
        ck_assert_uint_le(ups[b] + downs[b], 6);
    }
    ck_assert_uint_eq(ups[0], 2); /* 4 -> 8 -> 12 */
    ck_assert_uint_eq(downs[1], 6);
}
END_TEST

START_TEST(noise_within_tolerance)
{
    /* Load jittering +-8 % around the target for an hour: no action at all. */
    fleet f;
    fleet_init(&f, 6, 250);
    uint32_t x = 12345;
    unsigned actions = 0;
    for (unsigned s = 0; s < 3600; s++) {
        x = x * 1103515245u + 12345u;
        int jitter = (int)((x >> 16) % 241) - 120; /* +-120 of 1500 */
        fleet_spread(&f, (uint32_t)(1500 + jitter));
        if (fleet_tick(&f) != SUP_SCALER_HOLD)
            actions++;
        f.now += 1000;
    }
    ck_assert_uint_eq(actions, 0);
    ck_assert_uint_eq(f.current, 6);
}
END_TEST

START_TEST(history_stays_bounded)
{
    /* Every recommendation from 64 down to 1 and back: the history keeps only decreasing values. */
    fleet f;
    fleet_init(&f, 64, 0);
    for (int round = 0; round < 3; round++) {
        for (uint32_t k = 64; k >= 1; k--) {
            fleet_spread(&f, k * 250);
            sup_scaler_decision d;
            sup_scaler_tick(&d, &f.st, &f.p, f.now, 64, f.w, f.n);
            ck_assert_uint_le(f.st.nhistory, SUP_SCALER_HISTORY);
            f.now += 10;
        }
    }
    ck_assert_uint_le(f.st.nhistory, 64);
}
END_TEST

Suite *sup_scaler_suite(void)
{
    Suite *s = suite_create("sup_scaler");
    TCase *tc = tcase_create("scaler");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, bad_policies_are_refused);
    tcase_add_test(tc, tolerance_band);
    tcase_add_test(tc, reason_names_the_signal);
    tcase_add_test(tc, scale_up_limited_per_window);
    tcase_add_test(tc, scale_up_needs_no_history);
    tcase_add_test(tc, scale_down_waits_for_a_full_window);
    tcase_add_test(tc, scale_down_stabilization);
    tcase_add_test(tc, scale_down_one_worker_per_interval);
    tcase_add_test(tc, least_loaded_is_drained);
    tcase_add_test(tc, warmup_ignores_new_workers);
    tcase_add_test(tc, missing_reports);
    tcase_add_test(tc, min_max_clamps);
    tcase_add_test(tc, disabled_does_nothing);
    tcase_add_test(tc, manual_scale_switches_autoscaling_off);
    tcase_add_test(tc, square_wave_does_not_flap);
    tcase_add_test(tc, square_wave_slow_is_bounded);
    tcase_add_test(tc, noise_within_tolerance);
    tcase_add_test(tc, history_stays_bounded);
    suite_add_tcase(s, tc);
    return s;
}
