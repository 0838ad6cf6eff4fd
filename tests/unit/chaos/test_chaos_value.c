/* Unit tests for chaos/chaos_value.c: numbers, whole numbers and durations of drill files. */
#include <check.h>
#include <string.h>

#include "chaos_value.h"

Suite *chaos_value_suite(void);

START_TEST(numbers)
{
    double v = -1;
    ck_assert_int_eq(chaos_value_num(&v, "12.5"), 0);
    ck_assert(v == 12.5);
    ck_assert_int_eq(chaos_value_num(&v, "0"), 0);
    ck_assert(v == 0.0);
    static const char *const bad[] = {"", ".", "-1", "+1", "1e3", "1.2.3", "0x10", "5 ", "inf"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(chaos_value_num(&v, bad[i]) == -1, "'%s' accepted", bad[i]);
    }
}
END_TEST

START_TEST(durations)
{
    static const struct {
        const char *s;
        uint32_t ms;
    } good[] = {{"5s", 5000},   {"5", 5000},     {"250ms", 250}, {"0.5s", 500},
                {"2m", 120000}, {"1h", 3600000}, {"0", 0},       {"24h", CHAOS_DAY_MS}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint32_t ms = 1;
        ck_assert_msg(chaos_value_dur(&ms, good[i].s) == 0, "'%s' refused", good[i].s);
        ck_assert_uint_eq(ms, good[i].ms);
    }
    static const char *const bad[] = {"", "s", "5x", "1.5ms", "25h", "-1s", "5 s", "1e3s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t ms;
        ck_assert_msg(chaos_value_dur(&ms, bad[i]) == -1, "'%s' accepted", bad[i]);
    }
}
END_TEST

START_TEST(ranges_say_why)
{
    char why[128] = "";
    uint32_t ms;
    ck_assert_int_eq(chaos_value_dur_in(&ms, "2s", 1000, 3000, why, sizeof(why)), 0);
    ck_assert_uint_eq(ms, 2000);
    ck_assert_int_eq(chaos_value_dur_in(&ms, "5s", 1000, 3000, why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "out of range 1..3 s") != NULL, "why: %s", why);
    ck_assert_int_eq(chaos_value_dur_in(&ms, "soon", 1000, 3000, why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "not a duration") != NULL, "why: %s", why);

    uint64_t n;
    ck_assert_int_eq(chaos_value_count(&n, "7", 1, 10, why, sizeof(why)), 0);
    ck_assert_uint_eq(n, 7);
    ck_assert_int_eq(chaos_value_count(&n, "11", 1, 10, why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "whole number in 1..10") != NULL, "why: %s", why);

    double r;
    ck_assert_int_eq(chaos_value_real(&r, "0.6", 0, 1, true, why, sizeof(why)), 0);
    ck_assert(r == 0.6);
    ck_assert_int_eq(chaos_value_real(&r, "0", 0, 1, true, why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "above 0") != NULL, "why: %s", why);
    ck_assert_int_eq(chaos_value_real(&r, "0", 0, 1, false, why, sizeof(why)), 0);
    ck_assert_int_eq(chaos_value_real(&r, "x", 0, 1, false, why, sizeof(why)), -1);
    ck_assert_msg(strstr(why, "not a number") != NULL, "why: %s", why);

    ck_assert_int_eq(chaos_value_ms(&ms, "1500", why, sizeof(why)), 0);
    ck_assert_uint_eq(ms, 1500);
    ck_assert_int_eq(chaos_value_ms(&ms, "2s", why, sizeof(why)), 0);
    ck_assert_uint_eq(ms, 2000);
    ck_assert_int_eq(chaos_value_ms(&ms, "99999999999", why, sizeof(why)), -1);
}
END_TEST

Suite *chaos_value_suite(void)
{
    Suite *s = suite_create("chaos_value");
    TCase *tc = tcase_create("value");
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, ranges_say_why);
    suite_add_tcase(s, tc);
    return s;
}
