/* Unit tests for common/wsf_bkconf.c: defaults, every key's values and bounds, the header list,
 * the rendered section read back to the same settings, and [backend] through wsf_chconf. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wsf_bkconf.h"
#include "wsf_chconf.h"

Suite *wsf_bkconf_suite(void);

START_TEST(defaults)
{
    wsf_bkconf c;
    wsf_bkconf_init(&c);
    ck_assert(!c.connect);
    ck_assert(!c.rpc);
    ck_assert_uint_eq(c.timeout_ms, 1000);
    ck_assert_uint_eq(c.max_pending, 16);
    ck_assert_uint_eq(c.max_pending_worker, 10000);
    ck_assert_uint_eq(c.breaker_failures, 20);
    ck_assert_uint_eq(c.breaker_window_ms, 10000);
    ck_assert_uint_eq(c.open_time_ms, 1000);
    ck_assert_uint_eq(c.nheaders, 0);
}
END_TEST

static const struct {
    const char *key, *value;
    bool ok;
} cases[] = {
    {"connect", "yes", true},
    {"connect", "off", true},
    {"connect", "maybe", false},
    {"rpc", "1", true},
    {"rpc", "", false},
    {"timeout", "0.01", true},
    {"timeout", "60", true},
    {"timeout", "0.009", false},
    {"timeout", "61", false},
    {"timeout", "-1", false},
    {"max_pending", "1", true},
    {"max_pending", "64", true},
    {"max_pending", "0", false},
    {"max_pending", "65", false},
    {"max_pending_worker", "1000000", true},
    {"max_pending_worker", "1000001", false},
    {"breaker_failures", "1", true},
    {"breaker_failures", "0", false},
    {"breaker_window", "0.1", true},
    {"breaker_window", "3601", false},
    {"open_time", "3600", true},
    {"open_time", "0.05", false},
    {"headers", "", true},
    {"headers", "X-A, x-b,X-C", true},
    {"headers", "bad header", false},
    {"headers", "a;b", false},
    {"bogus", "1", false},
};

START_TEST(key_values)
{
    wsf_bkconf c, before;
    wsf_bkconf_init(&c);
    before = c;
    const char *why = wsf_bkconf_set(&c, cases[_i].key, cases[_i].value);
    ck_assert_msg((why == NULL) == cases[_i].ok, "%s = %s: %s", cases[_i].key, cases[_i].value,
                  why ? why : "accepted");
    if (why != NULL)
        ck_assert(memcmp(&c, &before, sizeof c) == 0); /* a refused value changes nothing */
}
END_TEST

START_TEST(headers)
{
    wsf_bkconf c;
    wsf_bkconf_init(&c);
    ck_assert_ptr_null(wsf_bkconf_set(&c, "headers", "X-App-Id, Cookie"));
    ck_assert_uint_eq(c.nheaders, 2);
    ck_assert_str_eq(c.headers[0], "x-app-id");
    ck_assert(wsf_bkconf_has_header(&c, "X-APP-ID", 8));
    ck_assert(wsf_bkconf_has_header(&c, "cookie", 6));
    ck_assert(!wsf_bkconf_has_header(&c, "cook", 4));
    char many[1024] = "";
    for (int i = 0; i <= WSF_BKCONF_MAX_HEADERS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sh%d", i ? "," : "", i);
    ck_assert_ptr_nonnull(wsf_bkconf_set(&c, "headers", many));
    ck_assert_uint_eq(c.nheaders, 2);
    char longname[WSF_BKCONF_MAX_HEADER + 2];
    memset(longname, 'h', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ck_assert_ptr_nonnull(wsf_bkconf_set(&c, "headers", longname));
}
END_TEST

START_TEST(render_reads_back)
{
    wsf_chconf a, b;
    wsf_chconf_init(&a);
    wsf_chconf_init(&b);
    ck_assert_ptr_null(wsf_chconf_set(&a, "backend", "connect", "yes"));
    ck_assert_ptr_null(wsf_chconf_set(&a, "backend", "rpc", "yes"));
    ck_assert_ptr_null(wsf_chconf_set(&a, "backend", "timeout", "0.25"));
    ck_assert_ptr_null(wsf_chconf_set(&a, "backend", "headers", "x-a,x-b"));
    ck_assert_ptr_null(wsf_chconf_set(&a, "backend", "open_time", "2.5"));
    ck_assert_ptr_nonnull(wsf_chconf_set(&a, "backend", "history_size", "1"));
    ck_assert(wsf_chconf_owns_section("backend"));
    char text[1024];
    ck_assert_int_gt(wsf_bkconf_render(text, sizeof text, &a.backend), 0);
    ck_assert_ptr_nonnull(strstr(text, "[backend]\nconnect = yes\nrpc = yes\ntimeout = 0.250\n"
                                       "headers = x-a,x-b\n"));
    /* each "key = value" line fed back gives the same settings */
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strstr(line, " = ");
        if (eq == NULL)
            continue;
        *eq = '\0';
        ck_assert_ptr_null(wsf_chconf_set(&b, "backend", line, eq + 3));
    }
    ck_assert(memcmp(&a.backend, &b.backend, sizeof a.backend) == 0);
    ck_assert_int_eq(wsf_bkconf_render(text, 20, &a.backend), -ENOSPC);
    wsf_chconf_fini(&a);
    wsf_chconf_fini(&b);
}
END_TEST

Suite *wsf_bkconf_suite(void)
{
    Suite *s = suite_create("wsf_bkconf");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults);
    tcase_add_loop_test(tc, key_values, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, headers);
    tcase_add_test(tc, render_reads_back);
    suite_add_tcase(s, tc);
    return s;
}
