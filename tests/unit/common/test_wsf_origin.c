/* Unit tests for common/wsf_origin.c: exact and wildcard entries, schemes and ports, hosts that
 * only look like a match, the empty list, and the syntax check. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "wsf_origin.h"

Suite *wsf_origin_suite(void);

static bool allowed(const char *list, const char *origin)
{
    return wsf_origin_allowed(list, origin, strlen(origin));
}

START_TEST(empty_list_allows_any)
{
    ck_assert(allowed(NULL, "https://evil.test"));
    ck_assert(allowed("", "https://evil.test"));
    ck_assert(allowed(" , ", "null"));
}
END_TEST

START_TEST(exact_entries)
{
    const char *list = "https://app.example.com, http://localhost:3000";
    ck_assert(allowed(list, "https://app.example.com"));
    ck_assert(allowed(list, "HTTPS://App.Example.COM"));
    ck_assert(allowed(list, "http://localhost:3000"));
    ck_assert(!allowed(list, "http://app.example.com"));       /* scheme */
    ck_assert(!allowed(list, "https://app.example.com:8443")); /* port */
    ck_assert(!allowed(list, "http://localhost"));
    ck_assert(!allowed(list, "http://localhost:30000"));
    ck_assert(!allowed(list, "https://app.example.com.evil.net"));
    ck_assert(!allowed(list, "https://evilapp.example.com"));
    ck_assert(!allowed(list, "null"));
    ck_assert(!allowed(list, "app.example.com"));
    ck_assert(!allowed(list, ""));
}
END_TEST

START_TEST(wildcard_entries)
{
    const char *list = "https://*.example.com";
    ck_assert(allowed(list, "https://app.example.com"));
    ck_assert(allowed(list, "https://a.b.example.com"));
    ck_assert(!allowed(list, "https://example.com")); /* the apex is not a subdomain */
    ck_assert(!allowed(list, "http://app.example.com"));
    ck_assert(!allowed(list, "https://app.example.com:444"));
    ck_assert(!allowed(list, "https://evilexample.com"));
    ck_assert(!allowed(list, "https://app.example.com.evil.net"));
    ck_assert(!allowed(list, "https://.example.com"));
    ck_assert(!allowed(list, "https://*.example.com"));
}
END_TEST

START_TEST(entries_without_scheme_mean_http_and_https)
{
    const char *list = "*.example.com example.com localhost:8080";
    ck_assert(allowed(list, "https://app.example.com"));
    ck_assert(allowed(list, "http://app.example.com"));
    ck_assert(allowed(list, "https://example.com"));
    ck_assert(allowed(list, "http://localhost:8080"));
    ck_assert(!allowed(list, "ftp://app.example.com"));
    ck_assert(!allowed(list, "wss://app.example.com"));
    ck_assert(!allowed(list, "http://localhost"));
}
END_TEST

START_TEST(ipv6_literals)
{
    const char *list = "http://[::1]:8080";
    ck_assert(allowed(list, "http://[::1]:8080"));
    ck_assert(!allowed(list, "http://[::1]"));
    ck_assert(!allowed(list, "http://[::2]:8080"));
}
END_TEST

START_TEST(list_syntax)
{
    ck_assert_int_eq(wsf_origin_list_check(""), 0);
    ck_assert_int_eq(wsf_origin_list_check("https://app.example.com,*.example.com"), 0);
    ck_assert_int_eq(wsf_origin_list_check("http://localhost:3000 wss://x.test"), 0);
    ck_assert_int_eq(wsf_origin_list_check("http://[::1]:80"), 0);
    ck_assert_int_eq(wsf_origin_list_check("https://"), -EINVAL);
    ck_assert_int_eq(wsf_origin_list_check("ftp://x.test"), -EINVAL);
    ck_assert_int_eq(wsf_origin_list_check("https://app.*.com"), -EINVAL);
    ck_assert_int_eq(wsf_origin_list_check("*"), -EINVAL);
    ck_assert_int_eq(wsf_origin_list_check("*."), -EINVAL);
    ck_assert_int_eq(wsf_origin_list_check("https://x.test/path"), -EINVAL);
    ck_assert_int_eq(wsf_origin_list_check("https://x.test:"), -EINVAL);
    ck_assert_int_eq(wsf_origin_list_check("https://x.test:80a"), -EINVAL);
    ck_assert_int_eq(wsf_origin_list_check("https://x.test:123456"), -EINVAL);
}
END_TEST

Suite *wsf_origin_suite(void)
{
    Suite *s = suite_create("wsf_origin");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, empty_list_allows_any);
    tcase_add_test(tc, exact_entries);
    tcase_add_test(tc, wildcard_entries);
    tcase_add_test(tc, entries_without_scheme_mean_http_and_https);
    tcase_add_test(tc, ipv6_literals);
    tcase_add_test(tc, list_syntax);
    suite_add_tcase(s, tc);
    return s;
}
