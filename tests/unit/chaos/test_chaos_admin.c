/* Unit tests for chaos/chaos_admin.c: the --admin URL, the token file, the admin URL in a
 * wsfleetd log, and posting to a server that is not there (counted as failed, never blocking). */
#include <check.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos_admin.h"

Suite *chaos_admin_suite(void);

START_TEST(urls)
{
    char host[64];
    uint16_t port = 0;
    ck_assert_int_eq(chaos_admin_parse_url("http://127.0.0.1:8001", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_uint_eq(port, 8001);
    ck_assert_int_eq(chaos_admin_parse_url("http://localhost:9/", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "localhost");
    ck_assert_uint_eq(port, 9);
    ck_assert_int_eq(chaos_admin_parse_url("http://[::1]:65535", host, sizeof host, &port), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_uint_eq(port, 65535);
    static const char *const bad[] = {
        "",
        "127.0.0.1:8001",
        "https://127.0.0.1:8001",
        "http://127.0.0.1",
        "http://:80",
        "http://127.0.0.1:0",
        "http://127.0.0.1:65536",
        "http://127.0.0.1:80/x",
        "http://[::1]",
        "http://[::1:80",
        "http://127.0.0.1:8a",
        "http://127.0.0.1:",
        "http://1]:80/",
        "http://a b:80",
        "http://[x::1]:80",
        "http://u@h:80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(chaos_admin_parse_url(bad[i], host, sizeof host, &port) == -1,
                      "'%s' accepted", bad[i]);
    char tiny[4];
    ck_assert_int_eq(chaos_admin_parse_url("http://127.0.0.1:80", tiny, sizeof tiny, &port), -1);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(token_and_log)
{
    char dir[] = "/tmp/chaos-admin-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128], token[CHAOS_ADMIN_TOKEN_MAX], err[256], url[128];
    snprintf(path, sizeof path, "%s/admin.token", dir);
    write_file(path, "abc123\n");
    ck_assert_int_eq(chaos_admin_read_token(path, token, sizeof token, err, sizeof err), 0);
    ck_assert_str_eq(token, "abc123");
    write_file(path, "\n");
    ck_assert_int_eq(chaos_admin_read_token(path, token, sizeof token, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no admin token"));
    unlink(path);
    ck_assert_int_eq(chaos_admin_read_token(path, token, sizeof token, err, sizeof err), -1);

    snprintf(path, sizeof path, "%s/wsfleetd.log", dir);
    write_file(path, "x info: ready\n");
    ck_assert_int_eq(chaos_admin_find_url(path, url, sizeof url), -1);
    write_file(path, "a info: admin listening on http://127.0.0.1:4001\n"
                     "b info: admin listening on https://127.0.0.1:4002\n"
                     "c info: admin listening on http://127.0.0.1:4003\n"
                     "d info: fleet stopped\n");
    ck_assert_int_eq(chaos_admin_find_url(path, url, sizeof url), 0);
    ck_assert_str_eq(url, "http://127.0.0.1:4003");
    unlink(path);
    ck_assert_int_eq(chaos_admin_find_url(path, url, sizeof url), -1);
    rmdir(dir);
}
END_TEST

/* A closed port: each event fails once the connection is refused; the loop never blocks. */
START_TEST(nobody_listening)
{
    struct event_base *base = event_base_new();
    char err[256];
    ck_assert_ptr_null(chaos_admin_new(base, "ftp://x", "t", err, sizeof err));
    chaos_admin *a = chaos_admin_new(base, "http://127.0.0.1:1", "t", err, sizeof err);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(chaos_admin_url(a), "http://127.0.0.1:1");
    ck_assert(chaos_admin_idle(a));
    chaos_admin_post(a, -1, "one");
    chaos_admin_post(a, 2, "two");
    ck_assert(!chaos_admin_idle(a));
    for (int i = 0; i < 200 && !chaos_admin_idle(a); i++)
        event_base_loop(base, EVLOOP_ONCE);
    ck_assert(chaos_admin_idle(a));
    ck_assert_uint_eq(chaos_admin_posted(a), 0);
    ck_assert_uint_eq(chaos_admin_failed(a), 2);
    chaos_admin_free(a);
    event_base_free(base);
}
END_TEST

Suite *chaos_admin_suite(void)
{
    Suite *s = suite_create("chaos_admin");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, urls);
    tcase_add_test(tc, token_and_log);
    tcase_add_test(tc, nobody_listening);
    suite_add_tcase(s, tc);
    return s;
}
