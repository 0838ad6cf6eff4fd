/* Unit tests for common/wsf_backoff.c: the jitter window, its growth and cap, the reset after a
 * stable connection, and which close codes reconnect. */
#include <check.h>

#include "wsf_backoff.h"

Suite *wsf_backoff_suite(void);

START_TEST(first_attempt_is_spread)
{
    wsf_backoff_policy p;
    wsf_backoff b;
    wsf_backoff_policy_init(&p);
    wsf_backoff_init(&b);
    ck_assert_uint_eq(wsf_backoff_next(&b, &p, 0.0), 500);
    wsf_backoff_init(&b);
    uint32_t hi = wsf_backoff_next(&b, &p, 0.999);
    ck_assert_uint_ge(hi, 990);
    ck_assert_uint_le(hi, 1000);
    /* Many clients with different draws land all over the window, not on one instant. */
    unsigned buckets[5] = {0};
    for (int i = 0; i < 1000; i++) {
        wsf_backoff_init(&b);
        uint32_t d = wsf_backoff_next(&b, &p, i / 1000.0);
        buckets[(d - 500) / 100]++;
    }
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(buckets[i], 200);
}
END_TEST

START_TEST(window_doubles_up_to_the_cap)
{
    wsf_backoff_policy p;
    wsf_backoff b;
    wsf_backoff_policy_init(&p);
    wsf_backoff_init(&b);
    const uint32_t tops[] = {1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000};
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++) {
        uint32_t d = wsf_backoff_next(&b, &p, 0.9999999);
        ck_assert_msg(d <= tops[i] && d + 2 >= tops[i], "attempt %zu: %u, want about %u", i, d,
                      tops[i]);
    }
    for (int i = 0; i < 100; i++) {
        uint32_t d = wsf_backoff_next(&b, &p, 0.5);
        ck_assert_uint_ge(d, 500);
        ck_assert_uint_le(d, 20000);
    }
    /* Out-of-range draws are clamped, not trusted. */
    ck_assert_uint_eq(wsf_backoff_next(&b, &p, -1.0), 500);
    ck_assert_uint_le(wsf_backoff_next(&b, &p, 7.0), 20000);
}
END_TEST

START_TEST(stable_connection_resets)
{
    wsf_backoff_policy p;
    wsf_backoff b;
    wsf_backoff_policy_init(&p);
    wsf_backoff_init(&b);
    for (int i = 0; i < 5; i++)
        wsf_backoff_next(&b, &p, 0.5);
    wsf_backoff_on_up(&b, &p, 9999); /* not yet stable */
    ck_assert_uint_gt(wsf_backoff_next(&b, &p, 0.9999), 1000);
    wsf_backoff_on_up(&b, &p, 10000);
    ck_assert_uint_le(wsf_backoff_next(&b, &p, 0.9999), 1000);
}
END_TEST

START_TEST(close_codes)
{
    static const unsigned again[] = {1001, 1005, 1006, 1011, 1012, 1013};
    static const unsigned stop[] = {1000, 1002, 1003, 1007, 1008, 1009, 1010, 3000, 4999};
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++)
        ck_assert_msg(wsf_backoff_should_reconnect(again[i]), "%u", again[i]);
    for (size_t i = 0; i < sizeof stop / sizeof stop[0]; i++)
        ck_assert_msg(!wsf_backoff_should_reconnect(stop[i]), "%u", stop[i]);
}
END_TEST

Suite *wsf_backoff_suite(void)
{
    Suite *s = suite_create("wsf_backoff");
    TCase *tc = tcase_create("backoff");
    tcase_add_test(tc, first_attempt_is_spread);
    tcase_add_test(tc, window_doubles_up_to_the_cap);
    tcase_add_test(tc, stable_connection_resets);
    tcase_add_test(tc, close_codes);
    suite_add_tcase(s, tc);
    return s;
}
