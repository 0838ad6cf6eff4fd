/* Unit tests for common/wsf_bucket.c on a fake clock: the burst, the refill rate, the cap, a rate
 * of 0, a clock going backwards, and a long idle time without overflow. */
#include <check.h>

#include "wsf_bucket.h"

Suite *wsf_bucket_suite(void);

START_TEST(burst_then_refused)
{
    wsf_bucket b;
    wsf_bucket_init(&b, 200, 1000);
    for (int i = 0; i < 200; i++)
        ck_assert(wsf_bucket_take(&b, 100, 200, 1000));
    ck_assert(!wsf_bucket_take(&b, 100, 200, 1000));
    ck_assert(!wsf_bucket_take(&b, 100, 200, 1009)); /* 0.9 tokens */
    ck_assert(wsf_bucket_take(&b, 100, 200, 1010));  /* 1 token at 100/s */
    ck_assert(!wsf_bucket_take(&b, 100, 200, 1010));
}
END_TEST

START_TEST(steady_rate_is_sustained)
{
    wsf_bucket b;
    wsf_bucket_init(&b, 1, 0);
    /* 3 per second for 10 s, one every 334 ms: never refused. */
    unsigned ok = 0;
    for (uint64_t t = 0; t < 10000; t += 334)
        ok += wsf_bucket_take(&b, 3, 1, t);
    ck_assert_uint_eq(ok, 30);
    /* Faster than the rate: about the rate gets through. */
    wsf_bucket_init(&b, 1, 0);
    ok = 0;
    for (uint64_t t = 0; t < 1000; t += 10)
        ok += wsf_bucket_take(&b, 10, 1, t);
    ck_assert_uint_eq(ok, 10);
}
END_TEST

START_TEST(refill_caps_at_burst)
{
    wsf_bucket b;
    wsf_bucket_init(&b, 5, 0);
    for (int i = 0; i < 5; i++)
        ck_assert(wsf_bucket_take(&b, 100, 5, 0));
    /* An hour idle, then an absurd time at an absurd rate: still only 5, no overflow. */
    int n = 0;
    while (wsf_bucket_take(&b, 100, 5, 3600000))
        n++;
    ck_assert_int_eq(n, 5);
    n = 0;
    while (wsf_bucket_take(&b, 1000000, 5, UINT64_C(1) << 62))
        n++;
    ck_assert_int_eq(n, 5);
}
END_TEST

START_TEST(rate_zero_is_off)
{
    wsf_bucket b;
    wsf_bucket_init(&b, 1, 0);
    for (int i = 0; i < 100000; i++)
        ck_assert(wsf_bucket_take(&b, 0, 1, 0));
}
END_TEST

START_TEST(clock_backwards_refills_nothing)
{
    wsf_bucket b;
    wsf_bucket_init(&b, 1, 5000);
    ck_assert(wsf_bucket_take(&b, 10, 1, 5000));
    ck_assert(!wsf_bucket_take(&b, 10, 1, 1000));
    ck_assert(!wsf_bucket_take(&b, 10, 1, 5099));
    ck_assert(wsf_bucket_take(&b, 10, 1, 5100));
}
END_TEST

Suite *wsf_bucket_suite(void)
{
    Suite *s = suite_create("wsf_bucket");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, burst_then_refused);
    tcase_add_test(tc, steady_rate_is_sustained);
    tcase_add_test(tc, refill_caps_at_burst);
    tcase_add_test(tc, rate_zero_is_off);
    tcase_add_test(tc, clock_backwards_refills_nothing);
    suite_add_tcase(s, tc);
    return s;
}
