/* Unit tests for supervisor/sup_history.c: per-second points per slot and for the fleet from
 * synthetic observations on a fake clock, worker changes, the ring's span and the quantiles. */
#include <check.h>
#include <string.h>

#include "sup_history.h"

Suite *sup_history_suite(void);

START_TEST(quantiles_of_buckets)
{
    uint64_t c[SUP_HISTORY_LAT_BUCKETS] = {0};
    ck_assert_uint_eq(sup_history_quantile(c, 0.5), 0);
    c[3] = 90;  /* <= 8 us */
    c[10] = 10; /* <= 1024 us */
    ck_assert_uint_eq(sup_history_quantile(c, 0.5), 8);
    ck_assert_uint_eq(sup_history_quantile(c, 0.9), 8);
    ck_assert_uint_eq(sup_history_quantile(c, 0.99), 1024);
    memset(c, 0, sizeof c);
    c[SUP_HISTORY_LAT_BUCKETS - 1] = 1;
    ck_assert_uint_eq(sup_history_quantile(c, 0.99), 1u << WSF_HIST_BUCKETS);
}
END_TEST

static sup_history_obs obs[2];

static void grow(sup_history_obs *o, uint64_t in, uint64_t out, uint64_t err, int bucket,
                 uint64_t samples)
{
    o->messages_in += in;
    o->messages_out += out;
    o->errors += err;
    o->latency[bucket] += samples;
}

START_TEST(rates_per_slot_and_fleet)
{
    sup_history h;
    sup_history_init(&h, 2);
    memset(obs, 0, sizeof obs);
    obs[0] = (sup_history_obs){.live = true, .pid = 10, .generation = 1, .connections = 5};
    obs[1] = (sup_history_obs){.live = true, .pid = 11, .generation = 1, .connections = 7};
    sup_history_record(&h, obs, 1000, 5000000);
    grow(&obs[0], 200, 100, 4, 2, 100);
    grow(&obs[1], 400, 400, 0, 12, 100);
    sup_history_record(&h, obs, 3000, 5002000); /* two seconds later */
    const sup_history_point *p = sup_history_at(sup_history_ring_of(&h, 0), 1);
    ck_assert_uint_eq(p->t_ms, 5002000);
    ck_assert_uint_eq(p->connections, 5);
    ck_assert_double_eq_tol(p->msgs_in, 100.0, 1e-9);
    ck_assert_double_eq_tol(p->msgs_out, 50.0, 1e-9);
    ck_assert_double_eq_tol(p->errors, 2.0, 1e-9);
    ck_assert_uint_eq(p->p50_us, 4);
    const sup_history_point *f = sup_history_at(sup_history_ring_of(&h, -1), 1);
    ck_assert_uint_eq(f->workers, 2);
    ck_assert_uint_eq(f->connections, 12);
    ck_assert_double_eq_tol(f->msgs_in, 300.0, 1e-9);
    ck_assert_double_eq_tol(f->msgs_out, 250.0, 1e-9);
    ck_assert_uint_eq(f->p50_us, 4);    /* half the samples are <= 4 us */
    ck_assert_uint_eq(f->p99_us, 4096); /* the slow slot's */
    ck_assert_ptr_null(sup_history_ring_of(&h, 2));
    ck_assert_ptr_null(sup_history_ring_of(&h, -2));
    sup_history_fini(&h);
}
END_TEST

START_TEST(a_new_worker_counts_from_zero)
{
    sup_history h;
    sup_history_init(&h, 1);
    memset(obs, 0, sizeof obs);
    obs[0] = (sup_history_obs){.live = true, .pid = 10, .generation = 1};
    grow(&obs[0], 5000, 0, 0, 0, 0);
    sup_history_record(&h, obs, 1000, 1000);
    obs[0] = (sup_history_obs){.live = true, .pid = 12, .generation = 2};
    grow(&obs[0], 30, 0, 0, 0, 0);
    sup_history_record(&h, obs, 2000, 2000);
    ck_assert_double_eq_tol(sup_history_at(sup_history_ring_of(&h, 0), 1)->msgs_in, 30.0, 1e-9);
    /* Counters that go back (a worker that restarted its counting) too. */
    obs[0].messages_in = 10;
    sup_history_record(&h, obs, 3000, 3000);
    ck_assert_double_eq_tol(sup_history_at(sup_history_ring_of(&h, 0), 2)->msgs_in, 10.0, 1e-9);
    /* No worker: a point of zeros. */
    obs[0].live = false;
    sup_history_record(&h, obs, 4000, 4000);
    const sup_history_point *p = sup_history_at(sup_history_ring_of(&h, 0), 3);
    ck_assert_uint_eq(p->workers, 0);
    ck_assert_double_eq(p->msgs_in, 0.0);
    sup_history_fini(&h);
}
END_TEST

START_TEST(five_minutes_kept)
{
    sup_history h;
    sup_history_init(&h, 1);
    memset(obs, 0, sizeof obs);
    obs[0] = (sup_history_obs){.live = true, .pid = 1, .generation = 1};
    for (uint64_t s = 1; s <= SUP_HISTORY_POINTS + 50; s++) {
        obs[0].connections = (uint32_t)s;
        sup_history_record(&h, obs, s * 1000, s * 1000);
    }
    const sup_history_ring *r = sup_history_ring_of(&h, -1);
    ck_assert_uint_eq(r->n, SUP_HISTORY_POINTS);
    ck_assert_uint_eq(sup_history_at(r, 0)->connections, 51);
    ck_assert_uint_eq(sup_history_at(r, SUP_HISTORY_POINTS - 1)->connections,
                      SUP_HISTORY_POINTS + 50);
    ck_assert_ptr_null(sup_history_at(r, SUP_HISTORY_POINTS));
    sup_history_fini(&h);
}
END_TEST

Suite *sup_history_suite(void)
{
    Suite *s = suite_create("sup_history");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, quantiles_of_buckets);
    tcase_add_test(tc, rates_per_slot_and_fleet);
    tcase_add_test(tc, a_new_worker_counts_from_zero);
    tcase_add_test(tc, five_minutes_kept);
    suite_add_tcase(s, tc);
    return s;
}
