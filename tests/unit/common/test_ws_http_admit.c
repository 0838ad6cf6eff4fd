/* Unit tests for common/ws_admit.c: the first-bytes check (TLS, binary, lowercase), bodies and
 * Transfer-Encoding, 404 before 426, and the error responses (reason body, Content-Length,
 * Connection: close, Upgrade on 426, Retry-After on 429, the Server header only when set). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_admit.h"

Suite *ws_http_admit_suite(void);

static int admit_prefix(const char *s)
{
    return ws_admit_prefix((const uint8_t *)s, strlen(s));
}

START_TEST(prefix_accepts_request_starts)
{
    ck_assert_int_eq(admit_prefix(""), 0);
    ck_assert_int_eq(admit_prefix("G"), 0);
    ck_assert_int_eq(admit_prefix("GET"), 0);
    ck_assert_int_eq(admit_prefix("GET /echo HTTP/1.1\r\n"), 0);
    ck_assert_int_eq(admit_prefix("OPTIONS * HTTP/1.1\r\n"), 0);
}
END_TEST

START_TEST(prefix_refuses_tls_and_binary)
{
    const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
    ck_assert_int_eq(ws_admit_prefix(hello, 1), 400);
    ck_assert_int_eq(ws_admit_prefix(hello, sizeof hello), 400);
    const uint8_t zero[] = {0};
    ck_assert_int_eq(ws_admit_prefix(zero, 1), 400);
    ck_assert_int_eq(admit_prefix("get / HTTP/1.1\r\n"), 400);
    ck_assert_int_eq(admit_prefix(" GET"), 400);
    ck_assert_int_eq(admit_prefix("GE\x01"), 400);
    ck_assert_int_eq(admit_prefix("HELLO\r\n\r\n"), 400);
    /* A method with no space in sight after 24 letters is not one. */
    ck_assert_int_eq(admit_prefix("AAAAAAAAAAAAAAAAAAAAAAAAA"), 400);
    ck_assert_int_eq(admit_prefix("AAAAAAAAAAAAAAAAAAAAAAAA"), 0);
    ck_assert_int_eq(admit_prefix("AAAAAAAAAAAAAAAAAAAAAAAA /"), 0);
}
END_TEST

/* Parses a request head written in the test. */
static ws_http_request parse(const char *text)
{
    ws_http_request req;
    ws_http_scan scan;
    ws_http_scan_init(&scan);
    ck_assert_int_eq(ws_http_parse_request(&req, &scan, text, strlen(text)), (ssize_t)strlen(text));
    return req;
}

#define UPGRADE_HEADERS                                                                            \
    "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"                                     \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

START_TEST(request_checks)
{
    ws_http_request req = parse("GET /echo HTTP/1.1\r\n" UPGRADE_HEADERS "\r\n");
    ck_assert_int_eq(ws_admit_request(&req, true), 0);
    ck_assert_int_eq(ws_admit_request(&req, false), 404);

    req = parse("GET /foo HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, false), 404);
    req = parse("GET /echo HTTP/1.1\r\nHost: h\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, true), 426);
    req = parse("GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, true), 426);
    req = parse("GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: h2c, WebSocket\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, true), 0);
}
END_TEST

START_TEST(request_bodies_refused)
{
    ws_http_request req =
        parse("GET /echo HTTP/1.1\r\n" UPGRADE_HEADERS "Transfer-Encoding: chunked\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, true), 400);
    req = parse("GET /echo HTTP/1.1\r\n" UPGRADE_HEADERS
                "Content-Length: 5\r\ntransfer-encoding: chunked\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, true), 400);
    req = parse("GET /echo HTTP/1.1\r\n" UPGRADE_HEADERS "Content-Length: 5\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, true), 400);
    req = parse("GET /echo HTTP/1.1\r\n" UPGRADE_HEADERS "Content-Length: x\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, true), 400);
    /* A body is refused before the path is looked at. */
    req = parse("GET /nowhere HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, false), 400);
    req = parse("GET /echo HTTP/1.1\r\n" UPGRADE_HEADERS "Content-Length: 0\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, true), 0);
    req = parse("GET /echo HTTP/1.1\r\n" UPGRADE_HEADERS "Content-Length: 000\r\n\r\n");
    ck_assert_int_eq(ws_admit_request(&req, true), 0);
}
END_TEST

/* The Content-Length header's value in a response, or -1. */
static long content_length(const char *resp)
{
    const char *p = strstr(resp, "Content-Length: ");
    return p ? strtol(p + 16, NULL, 10) : -1;
}

static const char *body_of(const char *resp)
{
    const char *p = strstr(resp, "\r\n\r\n");
    return p ? p + 4 : NULL;
}

START_TEST(error_response_shape)
{
    char out[512];
    ws_admit_reply opt = {7, NULL, NULL};
    static const int statuses[] = {400, 403, 404, 405, 408, 426, 429, 431, 500, 503, 505};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        size_t n = ws_admit_error(out, sizeof out, statuses[i], &opt);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_eq(strlen(out), n);
        char line[64];
        snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", statuses[i],
                 ws_admit_reason(statuses[i]));
        ck_assert_int_eq(strncmp(out, line, strlen(line)), 0);
        ck_assert_ptr_nonnull(strstr(out, "\r\nConnection: close\r\n"));
        ck_assert_ptr_null(strstr(out, "Server:"));
        const char *body = body_of(out);
        ck_assert_ptr_nonnull(body);
        ck_assert_int_eq(content_length(out), (long)strlen(body));
        char want[64];
        snprintf(want, sizeof want, "%s\n", ws_admit_reason(statuses[i]));
        ck_assert_str_eq(body, want);
    }
}
END_TEST

START_TEST(error_response_extras)
{
    char out[512];
    ws_admit_reply opt = {7, NULL, NULL};
    ck_assert_uint_gt(ws_admit_error(out, sizeof out, 426, &opt), 0);
    ck_assert_ptr_nonnull(strstr(out, "\r\nUpgrade: websocket\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nSec-WebSocket-Version: 13\r\n"));
    ck_assert_uint_gt(ws_admit_error(out, sizeof out, 429, &opt), 0);
    ck_assert_ptr_nonnull(strstr(out, "HTTP/1.1 429 Too Many Requests\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nRetry-After: 7\r\n"));
    ck_assert_uint_gt(ws_admit_error(out, sizeof out, 503, &opt), 0);
    ck_assert_ptr_nonnull(strstr(out, "\r\nRetry-After: 7\r\n"));
    ck_assert_uint_gt(ws_admit_error(out, sizeof out, 404, &opt), 0);
    ck_assert_ptr_null(strstr(out, "Retry-After"));
    ck_assert_ptr_null(strstr(out, "Upgrade:"));

    opt.server = "";
    ck_assert_uint_gt(ws_admit_error(out, sizeof out, 404, &opt), 0);
    ck_assert_ptr_null(strstr(out, "Server:"));
    opt.server = "edge";
    opt.text = "no such route";
    ck_assert_uint_gt(ws_admit_error(out, sizeof out, 404, &opt), 0);
    ck_assert_ptr_nonnull(strstr(out, "\r\nServer: edge\r\n"));
    ck_assert_str_eq(body_of(out), "no such route\n");
    ck_assert_int_eq(content_length(out), 14);
    /* Too small a buffer writes nothing usable. */
    ck_assert_uint_eq(ws_admit_error(out, 40, 404, &opt), 0);
}
END_TEST

START_TEST(server_header_added_to_a_head)
{
    char out[128] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    size_t len = strlen(out);
    ck_assert_uint_eq(ws_admit_add_server(out, sizeof out, len, NULL), len);
    ck_assert_uint_eq(ws_admit_add_server(out, sizeof out, len, ""), len);
    size_t n = ws_admit_add_server(out, sizeof out, len, "wsfleet");
    ck_assert_uint_eq(n, len + strlen("Server: wsfleet\r\n"));
    ck_assert_str_eq(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Server: wsfleet\r\n\r\n");
    /* Does not fit: unchanged. */
    char small[64] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    len = strlen(small);
    ck_assert_uint_eq(ws_admit_add_server(small, sizeof small, len, "a-very-long-server-name-x"),
                      len);
    ck_assert_str_eq(small, "HTTP/1.1 101 Switching Protocols\r\n\r\n");
}
END_TEST

Suite *ws_http_admit_suite(void)
{
    Suite *s = suite_create("ws_http_admit");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, prefix_accepts_request_starts);
    tcase_add_test(tc, prefix_refuses_tls_and_binary);
    tcase_add_test(tc, request_checks);
    tcase_add_test(tc, request_bodies_refused);
    tcase_add_test(tc, error_response_shape);
    tcase_add_test(tc, error_response_extras);
    tcase_add_test(tc, server_header_added_to_a_head);
    suite_add_tcase(s, tc);
    return s;
}
