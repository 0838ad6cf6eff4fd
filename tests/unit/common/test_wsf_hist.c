/* Unit tests for common/wsf_hist.c: exact small values, the 1/16 quantile bound against a sorted
 * copy of the samples, minimum, maximum and mean, merging, the empty histogram and values near
 * UINT64_MAX. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "wsf_hist.h"
#include "wsf_rand.h"

Suite *wsf_hist_suite(void);

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The rank-th smallest sample for quantile q, rank = ceil(q * n) and at least 1. */
static uint64_t true_quantile(const uint64_t *sorted, size_t n, double q)
{
    double r = q * (double)n;
    size_t rank = (size_t)r;
    if ((double)rank < r) {
        rank++;
    }
    if (rank == 0) {
        rank = 1;
    }
    return sorted[rank - 1];
}

START_TEST(empty_histogram)
{
    wsf_hist h;
    wsf_hist_init(&h);
    ck_assert_uint_eq(h.count, 0);
    ck_assert_uint_eq(h.min, UINT64_MAX);
    ck_assert_uint_eq(h.max, 0);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 0.5), 0);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 0.999), 0);
    ck_assert(wsf_hist_mean(&h) == 0.0);
}
END_TEST

START_TEST(small_values_are_exact)
{
    wsf_hist h;
    wsf_hist_init(&h);
    for (uint64_t v = 0; v < 16; v++) {
        wsf_hist_add(&h, v);
    }
    ck_assert_uint_eq(h.count, 16);
    ck_assert_uint_eq(h.min, 0);
    ck_assert_uint_eq(h.max, 15);
    ck_assert_uint_eq(h.sum, 120);
    ck_assert(wsf_hist_mean(&h) == 7.5);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 0.5), 7);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 1.0 / 16), 0);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 0.0), 0);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 1.0), 15);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 0.99), 15);

    /* One sample: every quantile is that sample, whatever its bucket's width. */
    wsf_hist_init(&h);
    wsf_hist_add(&h, 1000);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 0.0), 1000);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 0.5), 1000);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 0.999), 1000);
    ck_assert(wsf_hist_mean(&h) == 1000.0);
}
END_TEST

START_TEST(quantiles_within_a_sixteenth)
{
    static const double qs[] = {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0};
    const size_t n = 20000;
    uint64_t *v = malloc(n * sizeof(*v));
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    ck_assert_ptr_nonnull(v);
    /* Ranges from tiny to the whole 64 bits, spread log-uniformly inside each. */
    for (unsigned bits = 4; bits <= 64; bits += 12) {
        wsf_hist h;
        wsf_hist_init(&h);
        for (size_t i = 0; i < n; i++) {
            unsigned b = 1 + (unsigned)(wsf_rand_unit(&rng) * bits);
            uint64_t top = b >= 64 ? UINT64_MAX : (UINT64_C(1) << b) - 1;
            v[i] = (uint64_t)(wsf_rand_unit(&rng) * (double)top);
            wsf_hist_add(&h, v[i]);
        }
        qsort(v, n, sizeof(*v), cmp_u64);
        ck_assert_uint_eq(h.min, v[0]);
        ck_assert_uint_eq(h.max, v[n - 1]);
        for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
            uint64_t want = true_quantile(v, n, qs[i]);
            uint64_t got = wsf_hist_quantile(&h, qs[i]);
            ck_assert_msg(got >= want, "bits %u q %g: %llu below %llu", bits, qs[i],
                          (unsigned long long)got, (unsigned long long)want);
            ck_assert_msg(got - want <= want / 16, "bits %u q %g: %llu vs %llu", bits, qs[i],
                          (unsigned long long)got, (unsigned long long)want);
        }
    }
    free(v);
}
END_TEST

START_TEST(min_max_mean)
{
    wsf_hist h;
    wsf_hist_init(&h);
    wsf_hist_add(&h, 300);
    wsf_hist_add(&h, 100);
    wsf_hist_add(&h, 200);
    ck_assert_uint_eq(h.min, 100);
    ck_assert_uint_eq(h.max, 300);
    ck_assert(wsf_hist_mean(&h) == 200.0);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 0.0), 100);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 1.0), 300);
    uint64_t med = wsf_hist_quantile(&h, 0.5);
    ck_assert_uint_ge(med, 200);
    ck_assert_uint_le(med, 200 + 200 / 16);
}
END_TEST

START_TEST(merge)
{
    wsf_hist a;
    wsf_hist b;
    wsf_hist all;
    wsf_hist empty;
    wsf_hist_init(&a);
    wsf_hist_init(&b);
    wsf_hist_init(&all);
    wsf_hist_init(&empty);
    for (uint64_t i = 1; i <= 1000; i++) {
        wsf_hist_add(i % 2 ? &a : &b, i * 37);
        wsf_hist_add(&all, i * 37);
    }
    wsf_hist_merge(&a, &b);
    wsf_hist_merge(&a, &empty);
    ck_assert_uint_eq(a.count, 1000);
    ck_assert_uint_eq(a.sum, all.sum);
    ck_assert_uint_eq(a.min, 37);
    ck_assert_uint_eq(a.max, 37000);
    for (unsigned i = 0; i < WSF_HIST_SLOTS; i++) {
        ck_assert_uint_eq(a.slot[i], all.slot[i]);
    }
    ck_assert_uint_eq(wsf_hist_quantile(&a, 0.99), wsf_hist_quantile(&all, 0.99));
    /* Into an empty one: the same as a copy. */
    wsf_hist_merge(&empty, &all);
    ck_assert_uint_eq(empty.min, 37);
    ck_assert_uint_eq(wsf_hist_quantile(&empty, 0.5), wsf_hist_quantile(&all, 0.5));
}
END_TEST

START_TEST(huge_values)
{
    wsf_hist h;
    wsf_hist_init(&h);
    wsf_hist_add(&h, UINT64_MAX);
    wsf_hist_add(&h, UINT64_MAX - 1);
    wsf_hist_add(&h, UINT64_C(1) << 63);
    ck_assert_uint_eq(h.count, 3);
    ck_assert_uint_eq(h.max, UINT64_MAX);
    ck_assert_uint_eq(h.min, UINT64_C(1) << 63);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 1.0), UINT64_MAX);
    ck_assert_uint_eq(wsf_hist_quantile(&h, 0.0), UINT64_C(1) << 63);
    uint64_t p50 = wsf_hist_quantile(&h, 0.5);
    ck_assert_uint_ge(p50, UINT64_MAX - 1);
    /* The sum saturates instead of wrapping. */
    ck_assert_uint_eq(h.sum, UINT64_MAX);
    ck_assert(wsf_hist_mean(&h) > 1e18);
}
END_TEST

Suite *wsf_hist_suite(void)
{
    Suite *s = suite_create("wsf_hist");
    TCase *tc = tcase_create("hist");
    tcase_add_test(tc, empty_histogram);
    tcase_add_test(tc, small_values_are_exact);
    tcase_add_test(tc, quantiles_within_a_sixteenth);
    tcase_add_test(tc, min_max_mean);
    tcase_add_test(tc, merge);
    tcase_add_test(tc, huge_values);
    suite_add_tcase(s, tc);
    return s;
}
