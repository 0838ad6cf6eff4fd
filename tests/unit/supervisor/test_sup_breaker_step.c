/* Unit tests for supervisor/sup_breaker.c, one breaker alone and one call at a time: the policy
 * defaults, the [state][event] table, the jitter of an open time and the samples of Reports. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "sup_breaker.h"

Suite *sup_breaker_step_suite(void);

#define T0 1000000 /* a whole second, as in the fleet tests */

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

Suite *sup_breaker_step_suite(void)
{
    Suite *s = suite_create("sup_breaker_step");
    TCase *tc = tcase_create("step");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, sample_from_reports);
    tcase_add_test(tc, jitter_bounds);
    tcase_add_test(tc, table_ignores_meaningless_events);
    suite_add_tcase(s, tc);
    return s;
}
