/* Unit tests for supervisor/sup_admin_http.c: the admin server's route table, request limits,
 * keep-alive, query strings, the bearer token, CORS and the response heads, on parsed requests
 * built from bytes with ws_http_parse_request. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "sup_admin_http.h"

Suite *sup_admin_http_suite(void);

static ws_str S(const char *s)
{
    return (ws_str){s, strlen(s)};
}

/* Parses a whole head; the buffer must outlive req. */
static void parse(ws_http_request *req, const char *head)
{
    ws_http_scan scan;
    ws_http_scan_init(&scan);
    ssize_t n = ws_http_parse_request(req, &scan, head, strlen(head));
    ck_assert_int_eq(n, (ssize_t)strlen(head));
}

static int route(enum sup_admin_route *r, const char *method, const char *path)
{
    *r = SUP_ADMIN_R_NONE;
    return sup_admin_route_find(r, S(method), S(path));
}

START_TEST(routes_of_the_api)
{
    static const struct {
        const char *method, *path;
        enum sup_admin_route want;
    } ok[] = {
        {"GET", "/api/status", SUP_ADMIN_R_STATUS},
        {"HEAD", "/api/status", SUP_ADMIN_R_STATUS},
        {"GET", "/api/workers", SUP_ADMIN_R_WORKERS},
        {"GET", "/api/breakers", SUP_ADMIN_R_BREAKERS},
        {"GET", "/api/events", SUP_ADMIN_R_EVENTS},
        {"POST", "/api/events", SUP_ADMIN_R_EVENT_ADD},
        {"GET", "/api/history", SUP_ADMIN_R_HISTORY},
        {"GET", "/metrics", SUP_ADMIN_R_METRICS},
        {"GET", "/healthz", SUP_ADMIN_R_HEALTHZ},
        {"GET", "/readyz", SUP_ADMIN_R_READYZ},
        {"GET", "/api/alerts", SUP_ADMIN_R_ALERTS},
        {"GET", "/ws", SUP_ADMIN_R_WS},
        {"POST", "/api/scale", SUP_ADMIN_R_SCALE},
        {"POST", "/api/restart", SUP_ADMIN_R_RESTART},
        {"POST", "/api/drain", SUP_ADMIN_R_DRAIN},
        {"POST", "/api/breaker", SUP_ADMIN_R_BREAKER},
        {"POST", "/api/autoscale", SUP_ADMIN_R_AUTOSCALE},
        {"POST", "/api/publish", SUP_ADMIN_R_PUBLISH},
        {"GET", "/", SUP_ADMIN_R_INDEX},
        {"GET", "/admin.js", SUP_ADMIN_R_INDEX},
        {"OPTIONS", "/api/scale", SUP_ADMIN_R_PREFLIGHT},
        {"OPTIONS", "/", SUP_ADMIN_R_PREFLIGHT},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        enum sup_admin_route r;
        ck_assert_msg(route(&r, ok[i].method, ok[i].path) == 0, "%s %s", ok[i].method, ok[i].path);
        ck_assert_msg(r == ok[i].want, "%s %s: %d", ok[i].method, ok[i].path, (int)r);
    }
}
END_TEST

START_TEST(unknown_paths_and_wrong_methods)
{
    enum sup_admin_route r;
    ck_assert_int_eq(route(&r, "GET", "/api/nope"), 404);
    ck_assert_int_eq(route(&r, "OPTIONS", "/api/nope"), 404);
    ck_assert_int_eq(route(&r, "GET", "/api/statusx"), 404);
    ck_assert_int_eq(route(&r, "GET", "/api/"), 404);
    ck_assert_int_eq(route(&r, "GET", "*"), 404);
    ck_assert_int_eq(route(&r, "DELETE", "/api/status"), 405);
    ck_assert_int_eq(route(&r, "POST", "/api/status"), 405);
    ck_assert_int_eq(route(&r, "GET", "/api/scale"), 405);
    ck_assert_int_eq(route(&r, "PUT", "/api/events"), 405);
    ck_assert_int_eq(route(&r, "POST", "/metrics"), 405);
    ck_assert_int_eq(route(&r, "POST", "/api/alerts"), 405);
    ck_assert_int_eq(route(&r, "POST", "/index.html"), 405);
    ck_assert_int_eq(route(&r, "get", "/healthz"), 405); /* methods are case-sensitive */
}
END_TEST

START_TEST(posts_and_tokens)
{
    for (int r = SUP_ADMIN_R_NONE; r <= SUP_ADMIN_R_PREFLIGHT; r++) {
        bool post = r >= SUP_ADMIN_R_SCALE && r <= SUP_ADMIN_R_EVENT_ADD;
        ck_assert_int_eq(sup_admin_route_is_post(r), post);
        ck_assert_int_eq(sup_admin_needs_token(r, true), post);
    }
    ck_assert(sup_admin_needs_token(SUP_ADMIN_R_STATUS, false));
    ck_assert(sup_admin_needs_token(SUP_ADMIN_R_METRICS, false));
    ck_assert(sup_admin_needs_token(SUP_ADMIN_R_WS, false));
    ck_assert(sup_admin_needs_token(SUP_ADMIN_R_ALERTS, false));
    ck_assert(!sup_admin_needs_token(SUP_ADMIN_R_HEALTHZ, false));
    ck_assert(!sup_admin_needs_token(SUP_ADMIN_R_READYZ, false));
    ck_assert(!sup_admin_needs_token(SUP_ADMIN_R_INDEX, false));
}
END_TEST

START_TEST(content_length_limits)
{
    ws_http_request req;
    size_t len = 99;
    parse(&req, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 0);
    ck_assert_uint_eq(len, 0);
    parse(&req, "POST /api/scale HTTP/1.1\r\nContent-Length: 12\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 0);
    ck_assert_uint_eq(len, 12);
    parse(&req, "POST /api/scale HTTP/1.1\r\nContent-Length: 65536\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 0);
    ck_assert_uint_eq(len, SUP_ADMIN_MAX_BODY);
    parse(&req, "POST /api/scale HTTP/1.1\r\nContent-Length: 65537\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 413);
    parse(&req, "POST /api/scale HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 413);
    parse(&req, "POST /api/scale HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 400);
    parse(&req, "POST /api/scale HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 400);
    parse(&req, "POST /api/scale HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 400);
    parse(&req, "POST /api/scale HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 400);
    parse(&req, "POST /api/scale HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 400);
    parse(&req, "GET / HTTP/1.0\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 0);
    parse(&req, "GET / HTTP/2.0\r\n\r\n");
    ck_assert_int_eq(sup_admin_request_check(&req, &len), 505);
}
END_TEST

START_TEST(keep_alive_rules)
{
    ws_http_request req;
    parse(&req, "GET / HTTP/1.1\r\n\r\n");
    ck_assert(sup_admin_keep_alive(&req));
    parse(&req, "GET / HTTP/1.1\r\nConnection: Close\r\n\r\n");
    ck_assert(!sup_admin_keep_alive(&req));
    parse(&req, "GET / HTTP/1.0\r\n\r\n");
    ck_assert(!sup_admin_keep_alive(&req));
    parse(&req, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ck_assert(sup_admin_keep_alive(&req));
}
END_TEST

START_TEST(query_parameters)
{
    char v[16];
    ws_str t = S("/api/history?slot=3&seconds=60");
    ck_assert_int_eq(sup_admin_query(&t, "slot", v, sizeof v), 1);
    ck_assert_str_eq(v, "3");
    ck_assert_int_eq(sup_admin_query(&t, "seconds", v, sizeof v), 1);
    ck_assert_str_eq(v, "60");
    ck_assert_int_eq(sup_admin_query(&t, "sec", v, sizeof v), 0);
    ck_assert_int_eq(sup_admin_query(&t, "slo", v, sizeof v), 0);
    t = S("/api/events");
    ck_assert_int_eq(sup_admin_query(&t, "since", v, sizeof v), 0);
    t = S("/api/events?since=");
    ck_assert_int_eq(sup_admin_query(&t, "since", v, sizeof v), 1);
    ck_assert_str_eq(v, "");
    t = S("/api/events?since=%31");
    ck_assert_int_eq(sup_admin_query(&t, "since", v, sizeof v), -1);
    t = S("/api/events?since=12345678901234567890");
    ck_assert_int_eq(sup_admin_query(&t, "since", v, sizeof v), -1);
    t = S("/api/events?x&&since=7&");
    ck_assert_int_eq(sup_admin_query(&t, "since", v, sizeof v), 1);
    ck_assert_str_eq(v, "7");
}
END_TEST

START_TEST(bearer_token)
{
    const char *tok = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char head[512];
    ws_http_request req;
    snprintf(head, sizeof head, "POST / HTTP/1.1\r\nAuthorization: Bearer %s\r\n\r\n", tok);
    parse(&req, head);
    ck_assert(sup_admin_token_ok(&req, tok));
    ck_assert(!sup_admin_token_ok(&req, ""));
    ck_assert(!sup_admin_token_ok(&req, NULL));
    ck_assert(!sup_admin_token_ok(&req, "00112233"));
    snprintf(head, sizeof head, "POST / HTTP/1.1\r\nAuthorization: bearer %s\r\n\r\n", tok);
    parse(&req, head);
    ck_assert(sup_admin_token_ok(&req, tok)); /* the scheme is case-insensitive */
    snprintf(head, sizeof head, "POST / HTTP/1.1\r\nAuthorization: Basic %s\r\n\r\n", tok);
    parse(&req, head);
    ck_assert(!sup_admin_token_ok(&req, tok));
    snprintf(head, sizeof head, "POST / HTTP/1.1\r\nAuthorization: Bearer %.63s0\r\n\r\n", tok);
    parse(&req, head);
    ck_assert(!sup_admin_token_ok(&req, tok));
    snprintf(head, sizeof head, "POST / HTTP/1.1\r\nAuthorization: Bearer %sx\r\n\r\n", tok);
    parse(&req, head);
    ck_assert(!sup_admin_token_ok(&req, tok));
    parse(&req, "POST / HTTP/1.1\r\n\r\n");
    ck_assert(!sup_admin_token_ok(&req, tok));
}
END_TEST

START_TEST(local_hosts)
{
    static const char *const ok[] = {"127.0.0.1", "127.0.0.1:8001", "localhost", "LocalHost:80",
                                     "[::1]",     "[::1]:8001",     "10.1.2.3:9"};
    static const char *const bad[] = {"evil.example",
                                      "evil.example:8001",
                                      "localhost.evil.example",
                                      "127.0.0.1.nip.io",
                                      "[::1",
                                      "[::1]x",
                                      "127.0.0.1:",
                                      "127.0.0.1:80a",
                                      "",
                                      "[fe80::1%eth0]"};
    char head[256];
    ws_http_request req;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(head, sizeof head, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", ok[i]);
        parse(&req, head);
        ck_assert_msg(sup_admin_host_is_local(&req), "%s", ok[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(head, sizeof head, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
        parse(&req, head);
        ck_assert_msg(!sup_admin_host_is_local(&req), "%s", bad[i]);
    }
    parse(&req, "GET / HTTP/1.0\r\n\r\n");
    ck_assert(sup_admin_host_is_local(&req));
    parse(&req, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n");
    ck_assert(!sup_admin_host_is_local(&req));
    parse(&req, "GET / HTTP/1.1\r\nHost: .1\r\n\r\n");
    ck_assert(!sup_admin_host_is_local(&req));
}
END_TEST

START_TEST(cors_allowlist)
{
    ws_http_request req;
    parse(&req, "GET / HTTP/1.1\r\nOrigin: https://ops.example.com\r\n\r\n");
    ck_assert_uint_eq(sup_admin_cors_origin(&req, "").len, 0);
    ck_assert_uint_eq(sup_admin_cors_origin(&req, NULL).len, 0);
    ws_str o = sup_admin_cors_origin(&req, "https://ops.example.com");
    ck_assert_uint_eq(o.len, strlen("https://ops.example.com"));
    ck_assert_uint_eq(sup_admin_cors_origin(&req, "https://other.example.com").len, 0);
    ck_assert_uint_gt(sup_admin_cors_origin(&req, "https://*.example.com").len, 0);
    parse(&req, "GET / HTTP/1.1\r\n\r\n");
    ck_assert_uint_eq(sup_admin_cors_origin(&req, "https://ops.example.com").len, 0);
}
END_TEST

START_TEST(error_bodies_are_escaped_json)
{
    char out[256];
    size_t n = sup_admin_error_json(out, sizeof out, 400, "bad \"x\"\\\n<img>");
    ck_assert_uint_eq(n, strlen(out));
    ck_assert_str_eq(out,
                     "{\"error\":{\"code\":400,\"message\":\"bad \\\"x\\\"\\\\\\u000a<img>\"}}");
    ck_assert_uint_eq(sup_admin_error_json(out, 20, 400, "too long for the buffer"), 0);
}
END_TEST

START_TEST(response_heads)
{
    char out[1024];
    size_t n = sup_admin_head(out, sizeof out, 200, "application/json", 17, true, S(""), NULL);
    ck_assert_uint_eq(n, strlen(out));
    ck_assert_str_eq(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "Content-Length: 17\r\nCache-Control: no-store\r\n"
                          "X-Content-Type-Options: nosniff\r\nConnection: keep-alive\r\n\r\n");
    n = sup_admin_head(out, sizeof out, 413, "application/json", 0, false, S("https://a.b"),
                       "Retry-After: 1\r\n");
    ck_assert(strstr(out, "HTTP/1.1 413 Content Too Large\r\n") == out);
    ck_assert(strstr(out, "Connection: close\r\n") != NULL);
    ck_assert(strstr(out, "Access-Control-Allow-Origin: https://a.b\r\nVary: Origin\r\n") != NULL);
    ck_assert(strstr(out, "Retry-After: 1\r\n\r\n") != NULL);
    ck_assert_uint_eq(sup_admin_head(out, 40, 200, "text/plain", 1, true, S(""), NULL), 0);
    /* The longest origin the CORS check passes (256 bytes) fits whole. */
    char origin[257];
    memset(origin, 'o', 256);
    origin[256] = '\0';
    n = sup_admin_head(out, sizeof out, 200, "text/plain", 0, true, S(origin), NULL);
    ck_assert_uint_eq(n, strlen(out));
    ck_assert(strstr(out, origin) != NULL);
    ck_assert(strcmp(out + n - 4, "\r\n\r\n") == 0);
}
END_TEST

Suite *sup_admin_http_suite(void)
{
    Suite *s = suite_create("sup_admin_http");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, routes_of_the_api);
    tcase_add_test(tc, unknown_paths_and_wrong_methods);
    tcase_add_test(tc, posts_and_tokens);
    tcase_add_test(tc, content_length_limits);
    tcase_add_test(tc, keep_alive_rules);
    tcase_add_test(tc, query_parameters);
    tcase_add_test(tc, bearer_token);
    tcase_add_test(tc, local_hosts);
    tcase_add_test(tc, cors_allowlist);
    tcase_add_test(tc, error_bodies_are_escaped_json);
    tcase_add_test(tc, response_heads);
    suite_add_tcase(s, tc);
    return s;
}
