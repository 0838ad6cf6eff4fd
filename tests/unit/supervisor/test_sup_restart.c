/* Unit tests for supervisor/sup_restart.c: every rule of the restart policy, driven by a fake
 * clock. */
#include <check.h>

#include "sup_restart.h"

Suite *sup_restart_suite(void);

/* A slot and its fake clock: each run starts when the previous delay has elapsed. */
typedef struct fake_slot {
    sup_restart st;
    sup_restart_policy p;
    uint64_t now;
    uint64_t started;
} fake_slot;

static void fake_init(fake_slot *f)
{
    sup_restart_policy_init(&f->p);
    sup_restart_init(&f->st);
    f->now = 1000000;
    f->started = f->now;
}

/* The worker runs for up_ms, exits with code, and the replacement starts after the delay. */
static sup_restart_decision run_and_exit(fake_slot *f, uint64_t up_ms, int code, double rnd)
{
    f->now = f->started + up_ms;
    sup_restart_decision d = sup_restart_on_exit(&f->st, &f->p, f->now, f->started, code, rnd);
    f->now += d.delay_ms;
    f->started = f->now;
    return d;
}

START_TEST(defaults)
{
    sup_restart_policy p;
    sup_restart_policy_init(&p);
    ck_assert_uint_eq(p.base_delay_ms, 100);
    ck_assert_uint_eq(p.max_delay_ms, 15000);
    ck_assert_double_eq_tol(p.jitter, 0.2, 1e-9);
    ck_assert_uint_eq(p.reset_after_ms, 30000);
    ck_assert_uint_eq(p.unstable_ms, 1000);
    ck_assert_uint_eq(p.fail_count, 5);
    ck_assert_uint_eq(p.fail_window_ms, 30000);
    ck_assert_int_eq(p.cannot_boot_code, 100);
}
END_TEST

START_TEST(doubling_up_to_the_cap)
{
    /* Runs of 29 s: never long enough to reset, never 5 exits in 30 s. */
    fake_slot f;
    fake_init(&f);
    const uint64_t want[] = {100, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000, 15000};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        sup_restart_decision d = run_and_exit(&f, 29000, 1, 0.5);
        ck_assert_uint_eq(d.delay_ms, want[i]);
        ck_assert_uint_eq(d.streak, i + 1);
        ck_assert(!d.failed);
        ck_assert(!d.unstable);
    }
    ck_assert_uint_eq(f.st.restarts, sizeof want / sizeof want[0]);
}
END_TEST

START_TEST(no_overflow_on_a_long_streak)
{
    fake_slot f;
    fake_init(&f);
    sup_restart_decision d = {0};
    for (int i = 0; i < 1000; i++)
        d = run_and_exit(&f, 29000, -1, 0.5);
    ck_assert_uint_eq(d.delay_ms, 15000);
    ck_assert_uint_eq(d.streak, 1000);
}
END_TEST

START_TEST(jitter_bounds)
{
    fake_slot f;
    fake_init(&f);
    ck_assert_uint_eq(run_and_exit(&f, 29000, 1, 0.0).delay_ms, 80); /* 100 * 0.8 */
    uint64_t hi = run_and_exit(&f, 29000, 1, 0.999999).delay_ms;     /* 200 * ~1.2 */
    ck_assert_uint_ge(hi, 239);
    ck_assert_uint_lt(hi, 240);
    /* Out-of-range random values are clamped into [0, 1). */
    ck_assert_uint_eq(run_and_exit(&f, 29000, 1, -3.0).delay_ms, 320);
    uint64_t top = run_and_exit(&f, 29000, 1, 1.0).delay_ms;
    ck_assert_uint_ge(top, 959);
    ck_assert_uint_lt(top, 960);
}
END_TEST

START_TEST(jitter_at_the_cap)
{
    fake_slot f;
    fake_init(&f);
    for (int i = 0; i < 9; i++)
        run_and_exit(&f, 29000, 1, 0.5);
    ck_assert_uint_eq(run_and_exit(&f, 29000, 1, 0.0).delay_ms, 12000);
    uint64_t hi = run_and_exit(&f, 29000, 1, 0.9999999).delay_ms;
    ck_assert_uint_ge(hi, 17999);
    ck_assert_uint_lt(hi, 18000);
}
END_TEST

START_TEST(streak_resets_after_30s_up)
{
    fake_slot f;
    fake_init(&f);
    run_and_exit(&f, 29000, 1, 0.5);
    run_and_exit(&f, 29000, 1, 0.5);
    ck_assert_uint_eq(run_and_exit(&f, 29999, 1, 0.5).delay_ms, 400);
    /* Exactly reset_after up: the streak starts over. */
    sup_restart_decision d = run_and_exit(&f, 30000, 1, 0.5);
    ck_assert_uint_eq(d.delay_ms, 100);
    ck_assert_uint_eq(d.streak, 1);
    ck_assert_uint_eq(f.st.restarts, 4);
}
END_TEST

START_TEST(unstable_exit)
{
    fake_slot f;
    fake_init(&f);
    ck_assert(run_and_exit(&f, 0, -1, 0.5).unstable);
    ck_assert(run_and_exit(&f, 999, -1, 0.5).unstable);
    ck_assert(!run_and_exit(&f, 1000, -1, 0.5).unstable);
    ck_assert(!run_and_exit(&f, 5000, 0, 0.5).unstable);
}
END_TEST

START_TEST(five_restarts_in_30s_fail_the_slot)
{
    fake_slot f;
    fake_init(&f);
    for (int i = 0; i < 4; i++) {
        sup_restart_decision d = run_and_exit(&f, 500, -1, 0.5);
        ck_assert(!d.failed);
        ck_assert(!d.newly_failed);
    }
    sup_restart_decision d = run_and_exit(&f, 500, -1, 0.5);
    ck_assert(d.failed);
    ck_assert(d.newly_failed);
    ck_assert_uint_eq(d.delay_ms, 15000);
    /* It keeps retrying at the maximum delay; only the transition is "new". */
    for (int i = 0; i < 3; i++) {
        d = run_and_exit(&f, 2000, 1, 0.5);
        ck_assert(d.failed);
        ck_assert(!d.newly_failed);
        ck_assert_uint_eq(d.delay_ms, 15000);
    }
    ck_assert(f.st.failed);
}
END_TEST

START_TEST(five_restarts_spread_over_more_than_30s)
{
    /* Exits at 0, 7.6, 15.2, 22.8, 30.4 s (plus the small delays): the window never holds 5. */
    fake_slot f;
    fake_init(&f);
    for (int i = 0; i < 12; i++) {
        sup_restart_decision d = run_and_exit(&f, 7600, 1, 0.5);
        ck_assert_msg(!d.failed, "exit %d failed the slot", i);
        f.started = f.now = f.now - d.delay_ms; /* restart at once for an exact spacing */
    }
}
END_TEST

START_TEST(cannot_boot_fails_at_once)
{
    fake_slot f;
    fake_init(&f);
    sup_restart_decision d = run_and_exit(&f, 50, SUP_RESTART_EXIT_CANNOT_BOOT, 0.5);
    ck_assert(d.cannot_boot);
    ck_assert(d.failed);
    ck_assert(d.newly_failed);
    ck_assert(d.unstable);
    ck_assert_uint_eq(d.delay_ms, 15000);
    ck_assert_uint_eq(run_and_exit(&f, 50, 100, 0.0).delay_ms, 12000);
}
END_TEST

START_TEST(signal_and_other_codes_are_crashes)
{
    fake_slot f;
    fake_init(&f);
    sup_restart_decision d = run_and_exit(&f, 2000, -1, 0.5);
    ck_assert(!d.cannot_boot);
    ck_assert(!d.failed);
    d = run_and_exit(&f, 2000, 111, 0.5);
    ck_assert(!d.cannot_boot);
    ck_assert_uint_eq(d.delay_ms, 200);
}
END_TEST

START_TEST(uptime_recovers_a_failed_slot)
{
    fake_slot f;
    fake_init(&f);
    run_and_exit(&f, 10, 100, 0.5);
    ck_assert(f.st.failed);
    ck_assert(!sup_restart_on_uptime(&f.st, &f.p, f.started + 29999, f.started));
    ck_assert(f.st.failed);
    ck_assert(sup_restart_on_uptime(&f.st, &f.p, f.started + 30000, f.started));
    ck_assert(!f.st.failed);
    ck_assert_uint_eq(f.st.streak, 0);
    /* Nothing left to change. */
    ck_assert(!sup_restart_on_uptime(&f.st, &f.p, f.started + 40000, f.started));
    /* The next crash is a fresh streak. */
    sup_restart_decision d = run_and_exit(&f, 45000, -1, 0.5);
    ck_assert(!d.failed);
    ck_assert_uint_eq(d.delay_ms, 100);
}
END_TEST

START_TEST(exit_after_long_run_recovers_too)
{
    /* Without the periodic call: the exit itself sees the 30 s of uptime. */
    fake_slot f;
    fake_init(&f);
    for (int i = 0; i < 5; i++)
        run_and_exit(&f, 100, -1, 0.5);
    ck_assert(f.st.failed);
    sup_restart_decision d = run_and_exit(&f, 31000, -1, 0.5);
    ck_assert(!d.failed);
    ck_assert_uint_eq(d.delay_ms, 100);
    ck_assert_uint_eq(d.streak, 1);
}
END_TEST

START_TEST(clock_before_start_counts_as_zero_uptime)
{
    sup_restart st;
    sup_restart_policy p;
    sup_restart_init(&st);
    sup_restart_policy_init(&p);
    sup_restart_decision d = sup_restart_on_exit(&st, &p, 500, 1000, -1, 0.5);
    ck_assert(d.unstable);
    ck_assert_uint_eq(d.delay_ms, 100);
    ck_assert(!sup_restart_on_uptime(&st, &p, 500, 1000));
}
END_TEST

START_TEST(custom_policy)
{
    fake_slot f;
    fake_init(&f);
    f.p.base_delay_ms = 1000;
    f.p.max_delay_ms = 4000;
    f.p.jitter = 0.0;
    f.p.fail_count = 3;
    f.p.fail_window_ms = 10000;
    f.p.reset_after_ms = 60000;
    f.p.unstable_ms = 200;
    ck_assert_uint_eq(run_and_exit(&f, 100, 1, 0.0).delay_ms, 1000);
    ck_assert(!run_and_exit(&f, 300, 1, 0.99).unstable);
    /* The third exit within 10 s: failed. */
    sup_restart_decision d = run_and_exit(&f, 300, 1, 0.3);
    ck_assert(d.newly_failed);
    ck_assert_uint_eq(d.delay_ms, 4000);
    ck_assert(!sup_restart_on_uptime(&f.st, &f.p, f.started + 59999, f.started));
    ck_assert(sup_restart_on_uptime(&f.st, &f.p, f.started + 60000, f.started));
}
END_TEST

Suite *sup_restart_suite(void)
{
    Suite *s = suite_create("sup_restart");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, doubling_up_to_the_cap);
    tcase_add_test(tc, no_overflow_on_a_long_streak);
    tcase_add_test(tc, jitter_bounds);
    tcase_add_test(tc, jitter_at_the_cap);
    tcase_add_test(tc, streak_resets_after_30s_up);
    tcase_add_test(tc, unstable_exit);
    tcase_add_test(tc, five_restarts_in_30s_fail_the_slot);
    tcase_add_test(tc, five_restarts_spread_over_more_than_30s);
    tcase_add_test(tc, cannot_boot_fails_at_once);
    tcase_add_test(tc, signal_and_other_codes_are_crashes);
    tcase_add_test(tc, uptime_recovers_a_failed_slot);
    tcase_add_test(tc, exit_after_long_run_recovers_too);
    tcase_add_test(tc, clock_before_start_counts_as_zero_uptime);
    tcase_add_test(tc, custom_policy);
    suite_add_tcase(s, tc);
    return s;
}
