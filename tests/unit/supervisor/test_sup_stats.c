/* Unit tests for supervisor/sup_stats.c: the 5-minute history and its rates, fed synthetic
 * Reports on a fake clock, including lost Reports and restarted workers. */
#include <check.h>
#include <string.h>

#include "sup_stats.h"

Suite *sup_stats_suite(void);

/* A synthetic worker whose counters grow at fixed rates per Report. */
typedef struct fake_worker {
    wsf_report r;
    uint64_t now;
} fake_worker;

static void fake_init(fake_worker *w)
{
    memset(w, 0, sizeof *w);
    w->r.pid = 4242;
    w->r.slot = 1;
    w->r.generation = 7;
    w->now = 50000;
}

/* Advances the worker by dt_ms at 100 msg/s in, 50 out, 10 conn/s, 4 errors/s, half a core. */
static void fake_step(fake_worker *w, uint64_t dt_ms)
{
    w->now += dt_ms;
    w->r.seq++;
    w->r.messages_in += 100 * dt_ms / 1000;
    w->r.messages_out += 50 * dt_ms / 1000;
    w->r.bytes_in += 1000 * dt_ms / 1000;
    w->r.bytes_out += 500 * dt_ms / 1000;
    w->r.connections_opened += 10 * dt_ms / 1000;
    w->r.connections_closed += 8 * dt_ms / 1000;
    w->r.handshakes_ok += 9 * dt_ms / 1000;
    w->r.handshakes_failed_client += 1 * dt_ms / 1000;
    w->r.protocol_errors += 1 * dt_ms / 1000;
    w->r.internal_errors += 1 * dt_ms / 1000;
    w->r.failed_writes += 1 * dt_ms / 1000;
    w->r.handshakes_failed_server += 1 * dt_ms / 1000;
    w->r.cpu_time_us += 500 * dt_ms;
    w->r.connections_active = (uint32_t)(w->r.connections_opened - w->r.connections_closed);
}

static int fake_report(sup_stats *st, fake_worker *w, uint64_t dt_ms)
{
    fake_step(w, dt_ms);
    return sup_stats_add(st, &w->r, w->now);
}

START_TEST(empty)
{
    sup_stats st;
    sup_stats_rates r;
    sup_stats_init(&st);
    ck_assert_uint_eq(sup_stats_count(&st), 0);
    ck_assert_ptr_null(sup_stats_last(&st));
    ck_assert_ptr_null(sup_stats_at(&st, 0));
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 10000), -1);
    ck_assert_uint_eq(sup_stats_age(&st, 123), UINT64_MAX);
}
END_TEST

START_TEST(errors_sum)
{
    wsf_report r;
    memset(&r, 0, sizeof r);
    r.protocol_errors = 1;
    r.internal_errors = 20;
    r.failed_writes = 300;
    r.handshakes_failed_server = 4000;
    r.handshakes_failed_client = 50000; /* the client's fault: not ours */
    r.handshakes_failed_busy = 600000;
    ck_assert_uint_eq(sup_stats_errors(&r), 4321);
}
END_TEST

START_TEST(steady_rates)
{
    sup_stats st;
    fake_worker w;
    sup_stats_rates r;
    sup_stats_init(&st);
    fake_init(&w);
    ck_assert_int_eq(fake_report(&st, &w, 1000), SUP_STATS_APPENDED);
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 10000), -1);
    for (int i = 0; i < 30; i++)
        ck_assert_int_eq(fake_report(&st, &w, 1000), SUP_STATS_APPENDED);
    ck_assert_uint_eq(sup_stats_count(&st), 31);
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 10000), 0);
    ck_assert_double_eq_tol(r.window_s, 10.0, 1e-9);
    ck_assert_double_eq_tol(r.messages_in, 100.0, 1e-9);
    ck_assert_double_eq_tol(r.messages_out, 50.0, 1e-9);
    ck_assert_double_eq_tol(r.bytes_in, 1000.0, 1e-9);
    ck_assert_double_eq_tol(r.bytes_out, 500.0, 1e-9);
    ck_assert_double_eq_tol(r.connections_opened, 10.0, 1e-9);
    ck_assert_double_eq_tol(r.connections_closed, 8.0, 1e-9);
    ck_assert_double_eq_tol(r.handshakes_ok, 9.0, 1e-9);
    ck_assert_double_eq_tol(r.handshakes_failed, 2.0, 1e-9);
    ck_assert_double_eq_tol(r.errors, 4.0, 1e-9);
    ck_assert_double_eq_tol(r.cpu, 0.5, 1e-9);
    /* The gauges of the newest Report. */
    const sup_stats_sample *last = sup_stats_last(&st);
    ck_assert_uint_eq(last->connections_active, 62);
    ck_assert_uint_eq(last->seq, 31);
    ck_assert_uint_eq(last->t_ms, w.now);
    ck_assert_uint_eq(sup_stats_age(&st, w.now + 2500), 2500);
    ck_assert_uint_eq(sup_stats_age(&st, w.now - 1), 0);
}
END_TEST

START_TEST(window_longer_than_history)
{
    sup_stats st;
    fake_worker w;
    sup_stats_rates r;
    sup_stats_init(&st);
    fake_init(&w);
    for (int i = 0; i < 4; i++)
        fake_report(&st, &w, 1000);
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 60000), 0);
    ck_assert_double_eq_tol(r.window_s, 3.0, 1e-9);
    ck_assert_double_eq_tol(r.messages_in, 100.0, 1e-9);
    /* A window shorter than one step still uses the previous sample. */
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 10), 0);
    ck_assert_double_eq_tol(r.window_s, 1.0, 1e-9);
    ck_assert_double_eq_tol(r.messages_in, 100.0, 1e-9);
}
END_TEST

START_TEST(lost_reports_lose_nothing)
{
    sup_stats st;
    fake_worker w;
    sup_stats_rates r;
    sup_stats_init(&st);
    fake_init(&w);
    for (int i = 0; i < 5; i++)
        fake_report(&st, &w, 1000);
    /* Three Reports lost: the next arrives 4 s later with the counters of 4 s. */
    fake_step(&w, 1000);
    fake_step(&w, 1000);
    fake_step(&w, 1000);
    ck_assert_int_eq(fake_report(&st, &w, 1000), SUP_STATS_APPENDED);
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 10000), 0);
    ck_assert_double_eq_tol(r.window_s, 8.0, 1e-9);
    ck_assert_double_eq_tol(r.messages_in, 100.0, 1e-9);
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 2000), 0);
    ck_assert_double_eq_tol(r.window_s, 4.0, 1e-9); /* across the gap */
    ck_assert_double_eq_tol(r.errors, 4.0, 1e-9);
}
END_TEST

START_TEST(ring_keeps_five_minutes)
{
    sup_stats st;
    fake_worker w;
    sup_stats_rates r;
    sup_stats_init(&st);
    fake_init(&w);
    uint64_t t0 = w.now;
    for (int i = 1; i <= 400; i++)
        fake_report(&st, &w, 1000);
    ck_assert_uint_eq(sup_stats_count(&st), SUP_STATS_SAMPLES);
    ck_assert_uint_eq(sup_stats_at(&st, 0)->t_ms, t0 + 101 * 1000);
    ck_assert_uint_eq(sup_stats_at(&st, 299)->t_ms, t0 + 400 * 1000);
    ck_assert_ptr_null(sup_stats_at(&st, 300));
    for (size_t i = 1; i < SUP_STATS_SAMPLES; i++)
        ck_assert_uint_eq(sup_stats_at(&st, i)->seq, sup_stats_at(&st, i - 1)->seq + 1);
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 3600 * 1000), 0);
    ck_assert_double_eq_tol(r.window_s, 299.0, 1e-9);
    ck_assert_double_eq_tol(r.messages_in, 100.0, 1e-9);
}
END_TEST

START_TEST(fast_reports_keep_one_per_second)
{
    sup_stats st;
    fake_worker w;
    sup_stats_rates r;
    sup_stats_init(&st);
    fake_init(&w);
    int merged = 0;
    for (int i = 0; i < 100; i++) /* every 100 ms for 10 s */
        merged += fake_report(&st, &w, 100) == SUP_STATS_MERGED;
    ck_assert_int_gt(merged, 80);
    size_t n = sup_stats_count(&st);
    ck_assert_uint_ge(n, 10);
    ck_assert_uint_le(n, 14);
    for (size_t i = 1; i + 1 < n; i++)
        ck_assert_uint_ge(sup_stats_at(&st, i)->t_ms - sup_stats_at(&st, i - 1)->t_ms,
                          SUP_STATS_RESOLUTION_MS);
    ck_assert_uint_eq(sup_stats_last(&st)->t_ms, w.now); /* always the latest values */
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 5000), 0);
    ck_assert_double_eq_tol(r.messages_in, 100.0, 1e-6);
}
END_TEST

START_TEST(jittered_second_reports_are_all_kept)
{
    sup_stats st;
    fake_worker w;
    sup_stats_init(&st);
    fake_init(&w);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(fake_report(&st, &w, i % 2 ? 800 : 1200), SUP_STATS_APPENDED);
    ck_assert_uint_eq(sup_stats_count(&st), 20);
}
END_TEST

START_TEST(counters_going_back_reset)
{
    sup_stats st;
    fake_worker w;
    sup_stats_rates r;
    sup_stats_init(&st);
    fake_init(&w);
    for (int i = 0; i < 10; i++)
        fake_report(&st, &w, 1000);
    /* Same pid and generation, but a counter restarted from zero. */
    w.r.messages_in = 5;
    ck_assert_int_eq(fake_report(&st, &w, 1000), SUP_STATS_RESET);
    ck_assert_uint_eq(sup_stats_count(&st), 1);
    ck_assert_uint_eq(st.resets, 1);
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 10000), -1);
    ck_assert_int_eq(fake_report(&st, &w, 1000), SUP_STATS_APPENDED);
    ck_assert_int_eq(sup_stats_rates_over(&r, &st, 10000), 0);
    ck_assert_double_eq_tol(r.messages_in, 100.0, 1e-9); /* never negative */
}
END_TEST

START_TEST(new_worker_resets)
{
    sup_stats st;
    fake_worker w;
    sup_stats_init(&st);
    fake_init(&w);
    for (int i = 0; i < 10; i++)
        fake_report(&st, &w, 1000);
    fake_worker next;
    fake_init(&next);
    next.r.pid = 4343;
    next.r.generation = 8;
    next.now = w.now;
    ck_assert_int_eq(fake_report(&st, &next, 1000), SUP_STATS_RESET);
    ck_assert_uint_eq(st.pid, 4343);
    ck_assert_uint_eq(st.generation, 8);
    ck_assert_uint_eq(sup_stats_count(&st), 1);
    /* A late Report of the old worker is a change of worker too. */
    ck_assert_int_eq(fake_report(&st, &w, 1000), SUP_STATS_RESET);
    ck_assert_uint_eq(st.resets, 2);
}
END_TEST

START_TEST(duplicates_and_reordering_ignored)
{
    sup_stats st;
    fake_worker w;
    sup_stats_init(&st);
    fake_init(&w);
    for (int i = 0; i < 5; i++)
        fake_report(&st, &w, 1000);
    wsf_report old = w.r;
    ck_assert_int_eq(sup_stats_add(&st, &old, w.now + 10), SUP_STATS_IGNORED);
    old.seq--;
    ck_assert_int_eq(sup_stats_add(&st, &old, w.now + 20), SUP_STATS_IGNORED);
    fake_step(&w, 1000);
    ck_assert_int_eq(sup_stats_add(&st, &w.r, w.now - 5000), SUP_STATS_IGNORED);
    ck_assert_uint_eq(sup_stats_count(&st), 5);
}
END_TEST

START_TEST(single_rates_and_reset)
{
    sup_stats st;
    fake_worker w;
    sup_stats_init(&st);
    fake_init(&w);
    fake_report(&st, &w, 1000);
    ck_assert_double_eq(sup_stats_rate(&st, SUP_STAT_MESSAGES_IN, 10000), 0.0);
    for (int i = 0; i < 12; i++)
        fake_report(&st, &w, 1000);
    const double want[] = {10, 8, 9, 2, 100, 50, 1000, 500, 4, 0.5};
    for (int c = SUP_STAT_CONNECTIONS_OPENED; c <= SUP_STAT_CPU; c++)
        ck_assert_double_eq_tol(sup_stats_rate(&st, (enum sup_stat_counter)c, 10000), want[c],
                                1e-9);
    st.resets = 3;
    sup_stats_reset(&st);
    ck_assert_uint_eq(sup_stats_count(&st), 0);
    ck_assert_uint_eq(st.resets, 3);
    ck_assert_double_eq(sup_stats_rate(&st, SUP_STAT_ERRORS, 10000), 0.0);
    /* The same worker reporting again after a reset starts a fresh history. */
    ck_assert_int_eq(fake_report(&st, &w, 1000), SUP_STATS_APPENDED);
}
END_TEST

Suite *sup_stats_suite(void)
{
    Suite *s = suite_create("sup_stats");
    TCase *tc = tcase_create("stats");
    tcase_add_test(tc, empty);
    tcase_add_test(tc, errors_sum);
    tcase_add_test(tc, steady_rates);
    tcase_add_test(tc, window_longer_than_history);
    tcase_add_test(tc, lost_reports_lose_nothing);
    tcase_add_test(tc, ring_keeps_five_minutes);
    tcase_add_test(tc, fast_reports_keep_one_per_second);
    tcase_add_test(tc, jittered_second_reports_are_all_kept);
    tcase_add_test(tc, counters_going_back_reset);
    tcase_add_test(tc, new_worker_resets);
    tcase_add_test(tc, duplicates_and_reordering_ignored);
    tcase_add_test(tc, single_rates_and_reset);
    suite_add_tcase(s, tc);
    return s;
}
