/* Unit tests for common/wsf_parse.c: numbers, durations and addresses as every executable reads
 * them from flags and configuration. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "wsf_parse.h"

START_TEST(switches)
{
    static const char *const yes[] = {"yes", "true", "on", "1", "YES", "On"};
    static const char *const no[] = {"no", "false", "off", "0", "No", "OFF"};
    static const char *const bad[] = {"", "y", "2", "yes ", " no", "enabled", "01"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        ck_assert_msg(wsf_parse_bool(yes[i]) == 1, "'%s' is not yes", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        ck_assert_msg(wsf_parse_bool(no[i]) == 0, "'%s' is not no", no[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(wsf_parse_bool(bad[i]) == WSF_PARSE_EFORM, "'%s' accepted", bad[i]);
}
END_TEST

Suite *wsf_parse_suite(void);

START_TEST(numbers)
{
    uint64_t v = 7;
    ck_assert_int_eq(wsf_parse_u64(&v, "0", 0, 10), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(wsf_parse_u64(&v, "18446744073709551615", 0, UINT64_MAX), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(wsf_parse_u64(&v, "10", 0, 10), 0);
    ck_assert_uint_eq(v, 10);
    v = 7;
    static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "1k", "0x10", "1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(wsf_parse_u64(&v, bad[i], 0, 10) == WSF_PARSE_EFORM, "'%s' accepted", bad[i]);
    static const char *const big[] = {"11", "18446744073709551616", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        ck_assert_msg(wsf_parse_u64(&v, big[i], 0, 10) == WSF_PARSE_ERANGE, "'%s'", big[i]);
    ck_assert_int_eq(wsf_parse_u64(&v, "4", 5, 10), WSF_PARSE_ERANGE);
    ck_assert_uint_eq(v, 7); /* untouched on failure */
}
END_TEST

START_TEST(durations)
{
    static const struct {
        const char *s;
        uint32_t ms;
    } good[] = {{"10", 10000},       {"0.5", 500},     {".25", 250},    {"0.001", 1},
                {"86400", 86400000}, {"1.0004", 1000}, {"1.0006", 1001}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint32_t ms = 0;
        ck_assert_msg(wsf_parse_ms(&ms, good[i].s) == 0, "'%s' refused", good[i].s);
        ck_assert_uint_eq(ms, good[i].ms);
    }
    static const char *const bad[] = {"", "-1", "+1", " 1", "1s", "inf", "nan", "1,5", "."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t ms = 42;
        ck_assert_msg(wsf_parse_ms(&ms, bad[i]) == WSF_PARSE_EFORM, "'%s' accepted", bad[i]);
        ck_assert_uint_eq(ms, 42);
    }
    static const char *const outside[] = {"0", "0.0004", "1e9", "86401", "86400.001"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        uint32_t ms = 42;
        ck_assert_msg(wsf_parse_ms(&ms, outside[i]) == WSF_PARSE_ERANGE, "'%s'", outside[i]);
        ck_assert_uint_eq(ms, 42);
    }
}
END_TEST

START_TEST(durations_in_bounds)
{
    uint64_t ms = 42;
    /* the bounds are inclusive, after rounding to the millisecond */
    ck_assert_int_eq(wsf_parse_ms_in(&ms, "0.25", 250, 250), 0);
    ck_assert_uint_eq(ms, 250);
    ck_assert_int_eq(wsf_parse_ms_in(&ms, "0.2504", 250, 250), 0);
    ck_assert_uint_eq(ms, 250);
    ck_assert_int_eq(wsf_parse_ms_in(&ms, "0", 0, 10), 0);
    ck_assert_uint_eq(ms, 0);
    ck_assert_int_eq(wsf_parse_ms_in(&ms, "172800", 1, UINT64_C(172800000)), 0);
    ck_assert_uint_eq(ms, UINT64_C(172800000));
    ms = 42;
    ck_assert_int_eq(wsf_parse_ms_in(&ms, "0.2506", 250, 250), WSF_PARSE_ERANGE);
    ck_assert_int_eq(wsf_parse_ms_in(&ms, "0.249", 250, 300), WSF_PARSE_ERANGE);
    ck_assert_int_eq(wsf_parse_ms_in(&ms, "1e300", 0, UINT64_MAX), WSF_PARSE_ERANGE);
    ck_assert_int_eq(wsf_parse_ms_in(&ms, "1e999", 0, UINT64_MAX), WSF_PARSE_EFORM); /* inf */
    ck_assert_int_eq(wsf_parse_ms_in(&ms, "5 s", 0, 10000), WSF_PARSE_EFORM);
    ck_assert_uint_eq(ms, 42);
}
END_TEST

START_TEST(addresses)
{
    char host[64], port[8];
    ck_assert_int_eq(wsf_addr_split(host, sizeof host, port, sizeof port, "127.0.0.1:8080"), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_str_eq(port, "8080");
    ck_assert_int_eq(wsf_addr_split(host, sizeof host, port, sizeof port, "[::1]:0"), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_str_eq(port, "0");
    ck_assert_int_eq(wsf_addr_split(host, sizeof host, port, sizeof port, "localhost:65535"), 0);
    ck_assert_str_eq(host, "localhost");
    static const char *const bad[] = {"",          "8080",   ":8080",    "[::1]8080",
                                      "[::1:8080", "[]:80",  "::1:8080", "::1:8080:99999",
                                      "[::1]",     "a:b]:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(wsf_addr_split(host, sizeof host, port, sizeof port, bad[i]) ==
                          WSF_PARSE_EFORM,
                      "'%s' not refused for its form", bad[i]);
    static const char *const bad_port[] = {"host:",    "host:65536", "host:-1",
                                           "host:80x", "[::1]:",     "[::1]:99999"};
    for (size_t i = 0; i < sizeof bad_port / sizeof bad_port[0]; i++)
        ck_assert_msg(wsf_addr_split(host, sizeof host, port, sizeof port, bad_port[i]) ==
                          WSF_PARSE_EPORT,
                      "'%s' not refused for its port", bad_port[i]);
    /* Parts that do not fit their buffers are refused, not truncated. */
    char tiny[4];
    ck_assert_int_eq(wsf_addr_split(tiny, sizeof tiny, port, sizeof port, "1234:80"),
                     WSF_PARSE_EFORM);
    ck_assert_int_eq(wsf_addr_split(host, sizeof host, tiny, sizeof tiny, "h:8080"),
                     WSF_PARSE_EFORM);
}
END_TEST

Suite *wsf_parse_suite(void)
{
    Suite *s = suite_create("wsf_parse");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, durations_in_bounds);
    tcase_add_test(tc, addresses);
    tcase_add_test(tc, switches);
    suite_add_tcase(s, tc);
    return s;
}
