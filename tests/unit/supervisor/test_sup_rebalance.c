/* Unit tests for the rebalancer of supervisor/sup_scaler.c: which overloaded workers shed how many
 * connections, driven by a fake clock and fixed loads. */
#include <check.h>
#include <string.h>

#include "sup_scaler.h"

Suite *sup_rebalance_suite(void);

#define T0 10000000u /* the fake clock starts here */
#define REBALANCE_MAX 8

/* A rebalancer, its policy, the workers it looks at and room for its actions. */
typedef struct rebalancer {
    sup_rebalance st;
    sup_rebalance_policy p;
    sup_scaler_worker w[REBALANCE_MAX];
    sup_rebalance_action a[REBALANCE_MAX];
    size_t n;
} rebalancer;

/* n workers with these connections, slots 0..n-1, all reporting. */
static void rebalancer_workers(rebalancer *r, const uint32_t *conns, size_t n)
{
    memset(r->w, 0, sizeof r->w);
    for (size_t i = 0; i < n; i++) {
        r->w[i].slot = (uint32_t)i;
        r->w[i].connections = conns[i];
        r->w[i].has_report = true;
    }
    r->n = n;
}

/* A fresh rebalancer with the default policy over these n workers. */
static void rebalancer_init(rebalancer *r, const uint32_t *conns, size_t n)
{
    memset(r, 0, sizeof *r);
    sup_rebalance_init(&r->st);
    sup_rebalance_policy_init(&r->p);
    rebalancer_workers(r, conns, n);
}

/* One decision at now_ms with room for cap actions; returns how many it wrote. */
static size_t rebalancer_tick(rebalancer *r, size_t cap, uint64_t now_ms)
{
    return sup_rebalance_tick(r->a, cap, &r->st, &r->p, now_ms, r->w, r->n);
}

START_TEST(rebalance_hot_worker)
{
    rebalancer r;
    /* Mean 1000, slot 0 at +30 %: sheds 10 % of its 1300. */
    rebalancer_init(&r, (const uint32_t[]){1300, 900, 900, 900}, 4);
    ck_assert_uint_eq(rebalancer_tick(&r, 4, T0), 1);
    ck_assert_uint_eq(r.a[0].slot, 0);
    ck_assert_uint_eq(r.a[0].count, 130);
    ck_assert_int_eq(SUP_REBALANCE_CLOSE_CODE, 1012);
    /* Still hot (its Report has not caught up): waits 60 s. */
    ck_assert_uint_eq(rebalancer_tick(&r, 4, T0 + 1000), 0);
    ck_assert_uint_eq(rebalancer_tick(&r, 4, T0 + 59999), 0);
    rebalancer_workers(&r, (const uint32_t[]){1170, 943, 943, 944}, 4);
    ck_assert_uint_eq(rebalancer_tick(&r, 4, T0 + 60000), 1);
    ck_assert_uint_eq(r.a[0].slot, 0);
    ck_assert_uint_eq(r.a[0].count, 117);
}
END_TEST

START_TEST(rebalance_within_band_sheds_nothing)
{
    rebalancer r;
    /* Mean 1000: 1090 is within 10 %. */
    rebalancer_init(&r, (const uint32_t[]){1090, 1000, 960, 950}, 4);
    ck_assert_uint_eq(rebalancer_tick(&r, 4, T0), 0);
    /* One worker alone, or none reporting: no mean to compare with. */
    ck_assert_uint_eq(sup_rebalance_tick(r.a, 4, &r.st, &r.p, T0, r.w, 1), 0);
    for (size_t i = 0; i < r.n; i++)
        r.w[i].has_report = false;
    ck_assert_uint_eq(rebalancer_tick(&r, 4, T0), 0);
    /* Too few connections for 10 % to be one. */
    rebalancer_workers(&r, (const uint32_t[]){9, 1, 1, 1}, 4);
    ck_assert_uint_eq(rebalancer_tick(&r, 4, T0), 0);
}
END_TEST

/* A few hundred connections hashed over three workers differ by more than 10 %: that alone
 * must not make anyone shed, unless min_excess is lowered. */
START_TEST(rebalance_ignores_hashing_noise)
{
    rebalancer r;
    /* Mean 133: 150 is 12 % (17) above. */
    rebalancer_init(&r, (const uint32_t[]){150, 120, 130}, 3);
    ck_assert_uint_eq(rebalancer_tick(&r, 3, T0), 0);
    r.p.min_excess = 0;
    ck_assert_uint_eq(rebalancer_tick(&r, 3, T0), 1);
    ck_assert_uint_eq(r.a[0].slot, r.w[0].slot);
}
END_TEST

START_TEST(rebalance_never_below_the_mean)
{
    rebalancer r;
    rebalancer_init(&r, (const uint32_t[]){1200, 1000, 1000, 1000}, 4); /* mean 1050 */
    r.p.fraction = 0.5;
    ck_assert_uint_eq(rebalancer_tick(&r, 4, T0), 1);
    ck_assert_uint_eq(r.a[0].count, 150);
}
END_TEST

START_TEST(rebalance_several_and_cap)
{
    rebalancer r;
    /* After scale 4 -> 6: two new empty workers; mean 800, the four old ones all shed. */
    rebalancer_init(&r, (const uint32_t[]){1200, 1200, 1200, 1200, 0, 0}, 6);
    r.p.interval_ms = 5000;
    /* Room for two actions: the other two hot workers wait for the next tick. */
    ck_assert_uint_eq(rebalancer_tick(&r, 2, T0), 2);
    ck_assert_uint_eq(r.a[0].slot, 0);
    ck_assert_uint_eq(r.a[1].slot, 1);
    ck_assert_uint_eq(r.a[0].count, 120);
    ck_assert_uint_eq(rebalancer_tick(&r, 6, T0 + 1000), 2);
    ck_assert_uint_eq(r.a[0].slot, 2);
    ck_assert_uint_eq(r.a[1].slot, 3);
    ck_assert_uint_eq(rebalancer_tick(&r, 6, T0 + 4999), 0);
    ck_assert_uint_eq(rebalancer_tick(&r, 6, T0 + 5000), 2);
    /* A worker without a Report neither counts nor sheds; slots past the table never shed. */
    r.w[0].has_report = false;
    r.w[1].slot = SUP_SCALER_MAX_WORKERS;
    ck_assert_uint_eq(rebalancer_tick(&r, 6, T0 + 20000), 2);
    ck_assert_uint_eq(r.a[0].slot, 2);
    ck_assert_uint_eq(r.a[1].slot, 3);
    ck_assert_uint_eq(r.a[0].count, 120); /* mean of the five reporting: 720 */
}
END_TEST

START_TEST(rebalance_converges)
{
    /* Simulated: shed clients reconnect to the workers below the mean. 8 workers after
     * `scale 4` -> `scale 8` with 2000 connections: within 25 % of the mean in bounded time. */
    rebalancer r;
    rebalancer_init(&r, (const uint32_t[]){500, 500, 500, 500, 0, 0, 0, 0}, 8);
    r.p.interval_ms = 2000;
    sup_scaler_worker *w = r.w;
    uint64_t now = T0;
    int s;
    for (s = 0; s < 600; s++) {
        uint32_t lo = UINT32_MAX;
        uint32_t hi = 0;
        for (size_t i = 0; i < r.n; i++) {
            lo = w[i].connections < lo ? w[i].connections : lo;
            hi = w[i].connections > hi ? w[i].connections : hi;
        }
        if (lo >= 188 && hi <= 312) /* 250 +- 25 % */
            break;
        size_t k = rebalancer_tick(&r, 8, now);
        for (size_t j = 0; j < k; j++) {
            w[r.a[j].slot].connections -= r.a[j].count;
            /* The least-loaded worker takes each reconnecting client. */
            for (uint32_t c = 0; c < r.a[j].count; c++) {
                size_t m = 0;
                for (size_t i = 1; i < r.n; i++)
                    if (w[i].connections < w[m].connections)
                        m = i;
                w[m].connections++;
            }
        }
        now += 1000;
    }
    ck_assert_int_lt(s, 600);
    uint32_t total = 0;
    for (size_t i = 0; i < r.n; i++)
        total += w[i].connections;
    ck_assert_uint_eq(total, 2000);
}
END_TEST

Suite *sup_rebalance_suite(void)
{
    Suite *s = suite_create("sup_rebalance");
    TCase *rb = tcase_create("rebalance");
    tcase_add_test(rb, rebalance_hot_worker);
    tcase_add_test(rb, rebalance_within_band_sheds_nothing);
    tcase_add_test(rb, rebalance_ignores_hashing_noise);
    tcase_add_test(rb, rebalance_never_below_the_mean);
    tcase_add_test(rb, rebalance_several_and_cap);
    tcase_add_test(rb, rebalance_converges);
    suite_add_tcase(s, rb);
    return s;
}
