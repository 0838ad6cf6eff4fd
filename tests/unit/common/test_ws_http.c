/* Unit tests for common/ws_http.c: head parsing with limits, upgrade validation (RFC 6455 §4.2.1),
 * the accept key, responses, and the client-side round trip. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ws_http.h"
#include "ws_test_util.h"

Suite *ws_http_suite(void);

#define SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
/* RFC 6455 §1.3; checked independently: base64(SHA-1(key + GUID)). */
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static const char sample_request[] = "GET /chat?room=1 HTTP/1.1\r\n"
                                     "Host: server.example.com\r\n"
                                     "Upgrade: websocket\r\n"
                                     "Connection: Upgrade\r\n"
                                     "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
                                     "Origin: http://example.com\r\n"
                                     "Sec-WebSocket-Protocol: chat, superchat\r\n"
                                     "Sec-WebSocket-Version: 13\r\n"
                                     "\r\n";

static bool str_is(ws_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static bool name_is(ws_str s, const char *want)
{
    return s.len == strlen(want) && strncasecmp(s.p, want, s.len) == 0;
}

#define ck_assert_str_is(s, want)                                                                  \
    ck_assert_msg(str_is((s), (want)), "got \"%.*s\", want \"%s\"", (int)(s).len, (s).p, (want))

/* Parses a whole head with a fresh scan state. */
static ssize_t parse_request(ws_http_request *req, const char *buf, size_t len)
{
    ws_http_scan scan;
    ws_http_scan_init(&scan);
    return ws_http_parse_request(req, &scan, buf, len);
}

/* Parses a head offered one more byte at a time in the same buffer, as it would arrive; asserts
 * that every prefix before the end reports "need more" and returns the first non-zero result. */
static ssize_t parse_request_bytewise(ws_http_request *req, const char *buf, size_t len, size_t *at)
{
    ws_http_scan scan;
    ws_http_scan_init(&scan);
    for (size_t n = 1; n <= len; n++) {
        ssize_t r = ws_http_parse_request(req, &scan, buf, n);
        if (r != 0) {
            *at = n;
            return r;
        }
    }
    *at = len;
    return 0;
}

static ssize_t parse_response(ws_http_response *res, const char *buf, size_t len)
{
    ws_http_scan scan;
    ws_http_scan_init(&scan);
    return ws_http_parse_response(res, &scan, buf, len);
}

/* Parses and validates a request expected to parse. Returns the validation status. */
static int validate(ws_upgrade *up, const char *request)
{
    ws_http_request *req = ws_test_realloc(NULL, sizeof(*req));
    size_t len = strlen(request);
    ssize_t r = parse_request(req, request, len);
    ck_assert_msg(r == (ssize_t)len, "parse returned %zd for:\n%s", r, request);
    int status = ws_http_validate_upgrade(up, req);
    free(req);
    return status;
}

/* Builds a request from the sample by replacing the line that starts with `prefix` with
 * `replacement` (a whole line with CRLF, or "" to drop it). */
static char *sample_with(const char *prefix, const char *replacement)
{
    const char *at = strstr(sample_request, prefix);
    ck_assert_ptr_nonnull(at);
    const char *end = strstr(at, "\r\n") + 2;
    size_t head = (size_t)(at - sample_request);
    size_t rlen = strlen(replacement);
    size_t tail = strlen(end);
    char *out = ws_test_realloc(NULL, head + rlen + tail + 1);
    memcpy(out, sample_request, head);
    memcpy(out + head, replacement, rlen);
    memcpy(out + head + rlen, end, tail + 1);
    return out;
}

static int validate_sample_with(const char *prefix, const char *replacement)
{
    char *req = sample_with(prefix, replacement);
    ws_upgrade up;
    int status = validate(&up, req);
    free(req);
    return status;
}

/* --- request parsing ----------------------------------------------------------------------- */

static void check_sample_fields(const ws_http_request *req)
{
    ck_assert_str_is(req->method, "GET");
    ck_assert_str_is(req->target, "/chat?room=1");
    ck_assert_str_is(req->path, "/chat");
    ck_assert_int_eq(req->major, 1);
    ck_assert_int_eq(req->minor, 1);
    ck_assert_uint_eq(req->nheaders, 7);
    ck_assert_str_is(req->headers[0].name, "Host");
    ck_assert_str_is(req->headers[0].value, "server.example.com");
    ck_assert_str_is(req->headers[4].name, "Origin");
    ck_assert_str_is(req->headers[4].value, "http://example.com");
    ck_assert_str_is(req->headers[5].value, "chat, superchat");
    ck_assert_str_is(req->headers[6].name, "Sec-WebSocket-Version");
    ck_assert_str_is(req->headers[6].value, "13");
}

START_TEST(request_whole)
{
    ws_http_request req;
    size_t len = strlen(sample_request);
    ck_assert_int_eq(parse_request(&req, sample_request, len), (ssize_t)len);
    check_sample_fields(&req);
}
END_TEST

START_TEST(request_byte_at_a_time)
{
    ws_http_request req;
    size_t len = strlen(sample_request);
    size_t at = 0;
    ck_assert_int_eq(parse_request_bytewise(&req, sample_request, len, &at), (ssize_t)len);
    ck_assert_uint_eq(at, len);
    check_sample_fields(&req);
}
END_TEST

/* Bytes after the head (a client's first frame, sent eagerly) are not part of it. */
START_TEST(request_with_trailing_bytes)
{
    size_t len = strlen(sample_request);
    char buf[1024];
    memcpy(buf, sample_request, len);
    memcpy(buf + len, "\x81\x85\x00\x00\x00\x00hello", 11);

    ws_http_request req;
    ck_assert_int_eq(parse_request(&req, buf, len + 11), (ssize_t)len);
    check_sample_fields(&req);
    size_t at = 0;
    ck_assert_int_eq(parse_request_bytewise(&req, buf, len + 11, &at), (ssize_t)len);
    ck_assert_uint_eq(at, len);
}
END_TEST

START_TEST(request_whitespace_around_values)
{
    const char *text = "GET / HTTP/1.1\r\nHost:   a.example  \r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n";
    ws_http_request req;
    ck_assert_int_eq(parse_request(&req, text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_str_is(req.path, "/");
    ck_assert_str_is(req.target, "/");
    ck_assert_uint_eq(req.nheaders, 3);
    ck_assert_str_is(req.headers[0].value, "a.example");
    ck_assert_str_is(req.headers[1].name, "X-Empty");
    ck_assert_uint_eq(req.headers[1].value.len, 0);
    ck_assert_str_is(req.headers[2].value, "v");
}
END_TEST

START_TEST(request_http10_parses)
{
    const char *text = "GET / HTTP/1.0\r\nHost: a\r\n\r\n";
    ws_http_request req;
    ck_assert_int_eq(parse_request(&req, text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_int_eq(req.major, 1);
    ck_assert_int_eq(req.minor, 0);
}
END_TEST

START_TEST(find_header_case_insensitive)
{
    ws_http_request req;
    const char *text = "GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\nHOST: h\r\n\r\n";
    ck_assert_int_eq(parse_request(&req, text, strlen(text)), (ssize_t)strlen(text));
    const ws_header *h = ws_http_find_header(&req, "host");
    ck_assert_ptr_nonnull(h);
    ck_assert_str_is(h->value, "h");
    h = ws_http_find_header(&req, "X-a");
    ck_assert_ptr_eq(h, &req.headers[0]);
    ck_assert_ptr_null(ws_http_find_header(&req, "X"));
    ck_assert_ptr_null(ws_http_find_header(&req, "X-A-B"));
    ck_assert_ptr_null(ws_http_find_header(&req, "Origin"));
}
END_TEST

/* Builds "GET / HTTP/1.1\r\n" + n header lines + "\r\n". */
static char *request_with_headers(size_t n)
{
    ws_test_bytes v = {0};
    const char *line = "GET / HTTP/1.1\r\n";
    ws_test_bytes_put(&v, line, strlen(line));
    for (size_t i = 0; i < n; i++) {
        char h[32];
        int k = snprintf(h, sizeof(h), "X-H%zu: %zu\r\n", i, i);
        ws_test_bytes_put(&v, h, (size_t)k);
    }
    ws_test_bytes_put(&v, "\r\n", 3); /* with the NUL */
    return (char *)v.p;
}

START_TEST(request_64_headers_ok)
{
    char *text = request_with_headers(WS_HTTP_MAX_HEADERS);
    ws_http_request req;
    ck_assert_int_eq(parse_request(&req, text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_uint_eq(req.nheaders, WS_HTTP_MAX_HEADERS);
    ck_assert_str_is(req.headers[63].name, "X-H63");
    ck_assert_str_is(req.headers[63].value, "63");
    size_t at = 0;
    ck_assert_int_eq(parse_request_bytewise(&req, text, strlen(text), &at), (ssize_t)strlen(text));
    free(text);
}
END_TEST

START_TEST(request_65_headers_rejected)
{
    char *text = request_with_headers(WS_HTTP_MAX_HEADERS + 1);
    ws_http_request req;
    ck_assert_int_eq(parse_request(&req, text, strlen(text)), -431);
    size_t at = 0;
    ck_assert_int_eq(parse_request_bytewise(&req, text, strlen(text), &at), -431);
    free(text);
}
END_TEST

/* A head of exactly `total` bytes, terminator included, padded through one header value. */
static char *request_of_size(size_t total)
{
    const char *start = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
    const char *end = "\r\n\r\n";
    size_t fixed = strlen(start) + strlen(end);
    ck_assert_uint_ge(total, fixed);
    char *text = ws_test_realloc(NULL, total + 1);
    memcpy(text, start, strlen(start));
    memset(text + strlen(start), 'p', total - fixed);
    memcpy(text + total - strlen(end), end, strlen(end) + 1);
    return text;
}

START_TEST(request_head_limit)
{
    ws_http_request req;
    char *text = request_of_size(WS_HTTP_MAX_HEAD);
    ck_assert_int_eq(parse_request(&req, text, WS_HTTP_MAX_HEAD), WS_HTTP_MAX_HEAD);
    ck_assert_uint_eq(req.headers[1].value.len, WS_HTTP_MAX_HEAD - 36);
    size_t at = 0;
    ck_assert_int_eq(parse_request_bytewise(&req, text, WS_HTTP_MAX_HEAD, &at), WS_HTTP_MAX_HEAD);
    free(text);

    text = request_of_size(WS_HTTP_MAX_HEAD + 1);
    ck_assert_int_eq(parse_request(&req, text, WS_HTTP_MAX_HEAD + 1), -431);
    ck_assert_int_eq(parse_request_bytewise(&req, text, WS_HTTP_MAX_HEAD + 1, &at), -431);
    ck_assert_uint_le(at, WS_HTTP_MAX_HEAD + 1);
    free(text);
}
END_TEST

/* A head that never ends is refused as soon as it has passed the limit, not when it ends. */
START_TEST(request_head_limit_without_terminator)
{
    size_t len = 3 * WS_HTTP_MAX_HEAD;
    char *text = request_of_size(len);
    ws_http_request req;
    ck_assert_int_eq(parse_request(&req, text, WS_HTTP_MAX_HEAD + 1), -431);
    size_t at = 0;
    ck_assert_int_eq(parse_request_bytewise(&req, text, len, &at), -431);
    ck_assert_uint_le(at, WS_HTTP_MAX_HEAD + 1);
    free(text);
}
END_TEST

START_TEST(request_malformed)
{
    static const char *const cases[] = {
        "GET\r\n\r\n",
        "GET /\r\n\r\n",
        "GET / \r\n\r\n",
        " / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / FOO/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.x\r\nHost: a\r\n\r\n",
        "GET / HTTP/11\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\n: no-name\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n",
        "G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n",
    };
    static const size_t lens[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 29, 0};
    const char *text = cases[_i];
    size_t len = lens[_i] != 0 ? lens[_i] : strlen(text);

    ws_http_request req;
    ck_assert_msg(parse_request(&req, text, len) == -400, "case %d: %zd", _i,
                  parse_request(&req, text, len));
    size_t at = 0;
    ck_assert_msg(parse_request_bytewise(&req, text, len, &at) == -400, "case %d bytewise", _i);
}
END_TEST

START_TEST(request_incomplete_needs_more)
{
    size_t len = strlen(sample_request);
    ws_http_request req;
    for (size_t n = 0; n < len; n++) {
        ck_assert_msg(parse_request(&req, sample_request, n) == 0, "%zu bytes", n);
    }
}
END_TEST

/* --- upgrade validation -------------------------------------------------------------------- */

START_TEST(upgrade_valid_sample)
{
    ws_upgrade up;
    ck_assert_int_eq(validate(&up, sample_request), 0);
    ck_assert_str_eq(up.accept, SAMPLE_ACCEPT);
    ck_assert_str_is(up.host, "server.example.com");
    ck_assert_str_is(up.origin, "http://example.com");
    ck_assert_str_is(up.protocol, "chat, superchat");
}
END_TEST

START_TEST(upgrade_minimal_has_empty_optionals)
{
    const char *text = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
                       "Sec-WebSocket-Key: " SAMPLE_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    ws_upgrade up;
    ck_assert_int_eq(validate(&up, text), 0);
    ck_assert_str_is(up.host, "h");
    ck_assert_uint_eq(up.origin.len, 0);
    ck_assert_uint_eq(up.protocol.len, 0);
    ck_assert_str_eq(up.accept, SAMPLE_ACCEPT);
}
END_TEST

START_TEST(accept_key_rfc_sample)
{
    char out[WS_ACCEPT_LEN + 1];
    memset(out, 'x', sizeof(out));
    ws_http_accept_key(out, SAMPLE_KEY, strlen(SAMPLE_KEY));
    ck_assert_str_eq(out, SAMPLE_ACCEPT);
}
END_TEST

START_TEST(upgrade_wrong_method)
{
    char *req = sample_with("GET ", "POST /chat HTTP/1.1\r\n");
    ws_upgrade up;
    ck_assert_int_eq(validate(&up, req), 405);
    free(req);
    req = sample_with("GET ", "get /chat HTTP/1.1\r\n");
    ck_assert_int_eq(validate(&up, req), 405);
    free(req);
}
END_TEST

START_TEST(upgrade_wrong_version)
{
    ck_assert_int_eq(validate_sample_with("GET ", "GET /chat HTTP/1.0\r\n"), 505);
    ck_assert_int_eq(validate_sample_with("GET ", "GET /chat HTTP/1.2\r\n"), 505);
    ck_assert_int_eq(validate_sample_with("GET ", "GET /chat HTTP/2.0\r\n"), 505);
    ck_assert_int_eq(validate_sample_with("GET ", "GET /chat HTTP/0.9\r\n"), 505);
}
END_TEST

START_TEST(upgrade_host)
{
    ck_assert_int_eq(validate_sample_with("Host:", ""), 400);
    ck_assert_int_eq(validate_sample_with("Host:", "Host: a\r\nHost: a\r\n"), 400);
    ck_assert_int_eq(validate_sample_with("Host:", "Host: a\r\nhost: b\r\n"), 400);
    ck_assert_int_eq(validate_sample_with("Host:", "hOsT: a\r\n"), 0);
}
END_TEST

START_TEST(upgrade_upgrade_header)
{
    ck_assert_int_eq(validate_sample_with("Upgrade:", "Upgrade: WebSocket\r\n"), 0);
    ck_assert_int_eq(validate_sample_with("Upgrade:", "Upgrade: WEBSOCKET\r\n"), 0);
    ck_assert_int_eq(validate_sample_with("Upgrade:", "Upgrade: h2c\r\n"), 400);
    ck_assert_int_eq(validate_sample_with("Upgrade:", "Upgrade: websockets\r\n"), 400);
    ck_assert_int_eq(validate_sample_with("Upgrade:", ""), 400);
}
END_TEST

START_TEST(upgrade_connection_header)
{
    ck_assert_int_eq(validate_sample_with("Connection:", "Connection: keep-alive, Upgrade\r\n"), 0);
    ck_assert_int_eq(validate_sample_with("Connection:", "Connection: upgrade,keep-alive\r\n"), 0);
    ck_assert_int_eq(validate_sample_with("Connection:", "Connection: keep-alive\r\n"), 400);
    ck_assert_int_eq(validate_sample_with("Connection:", "Connection: upgraded\r\n"), 400);
    ck_assert_int_eq(validate_sample_with("Connection:", ""), 400);
}
END_TEST

START_TEST(upgrade_bad_keys)
{
    static const char *const keys[] = {
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n",   /* 23 characters */
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ===\r\n", /* 25 characters */
        "Sec-WebSocket-Key: \r\n",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j!Q==\r\n", /* not base64 */
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub2 5jZQ=\r\n", /* space inside */
        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n",     /* 15 bytes */
        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n", /* 17 bytes */
        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA\r\n", /* 18 bytes */
        "Sec-WebSocket-Key: ====AAAAAAAAAAAAAAAAAAAA\r\n", /* padding first */
        "",                                                /* missing */
    };
    ck_assert_msg(validate_sample_with("Sec-WebSocket-Key:", keys[_i]) == 400, "key %d: %s", _i,
                  keys[_i]);
}
END_TEST

START_TEST(upgrade_good_other_key)
{
    /* Any 16 bytes do; this is base64 of 16 zero bytes. */
    char *req =
        sample_with("Sec-WebSocket-Key:", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n");
    ws_upgrade up;
    ck_assert_int_eq(validate(&up, req), 0);
    char want[WS_ACCEPT_LEN + 1];
    ws_http_accept_key(want, "AAAAAAAAAAAAAAAAAAAAAA==", 24);
    ck_assert_str_eq(up.accept, want);
    ck_assert_str_ne(up.accept, SAMPLE_ACCEPT);
    free(req);
}
END_TEST

START_TEST(upgrade_version)
{
    ck_assert_int_eq(
        validate_sample_with("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 12\r\n"), 426);
    ck_assert_int_eq(validate_sample_with("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8\r\n"),
                     426);
    ck_assert_int_eq(
        validate_sample_with("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 130\r\n"), 426);
    ck_assert_int_eq(validate_sample_with("Sec-WebSocket-Version:", ""), 426);
}
END_TEST

/* --- responses ----------------------------------------------------------------------------- */

/* Parses an error response and checks its status line, Connection: close, and that a
 * Content-Length, when present, matches the body. Returns the parsed response on the heap. */
static ws_http_response *check_error_response(const char *out, size_t len, int status)
{
    ws_http_response *res = ws_test_realloc(NULL, sizeof(*res));
    ssize_t head = parse_response(res, out, len);
    ck_assert_msg(head > 0, "status %d: response does not parse (%zd):\n%.*s", status, head,
                  (int)len, out);
    ck_assert_int_eq(res->status, status);
    ck_assert_int_eq(res->minor, 1);

    char line[64];
    snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, ws_http_reason(status));
    ck_assert_msg(strncmp(out, line, strlen(line)) == 0, "status line of %d", status);

    bool closes = false;
    for (size_t i = 0; i < res->nheaders; i++) {
        const ws_header *h = &res->headers[i];
        if (name_is(h->name, "Connection")) {
            closes = ws_http_has_token(h->value, "close");
        }
        if (name_is(h->name, "Content-Length")) {
            char num[32];
            snprintf(num, sizeof(num), "%zu", len - (size_t)head);
            ck_assert_str_is(h->value, num);
        }
    }
    ck_assert_msg(closes, "status %d without Connection: close", status);
    return res;
}

START_TEST(error_responses)
{
    static const int statuses[] = {400, 403, 404, 405, 408, 426, 431, 503, 505};
    int status = statuses[_i];
    char out[1024];
    size_t len = ws_http_error(out, sizeof(out), status, 7);
    ck_assert_uint_gt(len, 0);
    ck_assert_uint_lt(len, sizeof(out));
    free(check_error_response(out, len, status));

    char *text = ws_test_realloc(NULL, len + 1);
    memcpy(text, out, len);
    text[len] = '\0';
    ck_assert_msg((strstr(text, "Sec-WebSocket-Version: 13\r\n") != NULL) == (status == 426),
                  "Sec-WebSocket-Version in %d", status);
    ck_assert_msg((strstr(text, "Retry-After:") != NULL) == (status == 503), "Retry-After in %d",
                  status);
    free(text);

    /* Too small a buffer gives 0, not a truncated response. */
    ck_assert_uint_eq(ws_http_error(out, len - 1, status, 7), 0);
    ck_assert_uint_eq(ws_http_error(out, 10, status, 7), 0);
}
END_TEST

START_TEST(error_503_retry_after)
{
    char out[1024];
    size_t len = ws_http_error(out, sizeof(out) - 1, 503, 42);
    ck_assert_uint_gt(len, 0);
    out[len] = '\0';
    ck_assert_ptr_nonnull(strstr(out, "\r\nRetry-After: 42\r\n"));

    len = ws_http_error(out, sizeof(out) - 1, 426, 0);
    ck_assert_uint_gt(len, 0);
    out[len] = '\0';
    ck_assert_ptr_nonnull(strstr(out, "HTTP/1.1 426 Upgrade Required\r\n"));
    ck_assert_ptr_nonnull(strstr(out, "\r\nSec-WebSocket-Version: 13\r\n"));
}
END_TEST

START_TEST(reason_phrases)
{
    ck_assert_str_eq(ws_http_reason(101), "Switching Protocols");
    ck_assert_str_eq(ws_http_reason(400), "Bad Request");
    ck_assert_str_eq(ws_http_reason(403), "Forbidden");
    ck_assert_str_eq(ws_http_reason(404), "Not Found");
    ck_assert_str_eq(ws_http_reason(405), "Method Not Allowed");
    ck_assert_str_eq(ws_http_reason(408), "Request Timeout");
    ck_assert_str_eq(ws_http_reason(426), "Upgrade Required");
    ck_assert_str_eq(ws_http_reason(431), "Request Header Fields Too Large");
    ck_assert_str_eq(ws_http_reason(503), "Service Unavailable");
    ck_assert_str_eq(ws_http_reason(505), "HTTP Version Not Supported");
}
END_TEST

START_TEST(response_parse)
{
    const char *text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n";
    size_t len = strlen(text);
    ws_http_response res;
    ck_assert_int_eq(parse_response(&res, text, len), (ssize_t)len);
    ck_assert_int_eq(res.status, 101);
    ck_assert_int_eq(res.minor, 1);
    ck_assert_uint_eq(res.nheaders, 3);
    ck_assert_str_is(res.headers[2].value, SAMPLE_ACCEPT);
    ck_assert_int_eq(ws_http_check_upgrade_response(&res, SAMPLE_KEY), 0);

    ws_http_scan scan;
    ws_http_scan_init(&scan);
    for (size_t n = 1; n < len; n++) {
        ck_assert_msg(ws_http_parse_response(&res, &scan, text, n) == 0, "%zu bytes", n);
    }
    ck_assert_int_eq(ws_http_parse_response(&res, &scan, text, len), (ssize_t)len);
    ck_assert_int_eq(res.status, 101);
}
END_TEST

START_TEST(response_malformed)
{
    static const char *const cases[] = {
        "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1\r\n\r\n",
        "HTTX/1.1 101 OK\r\n\r\n",
        "HTTP/1.1 101 OK\r\nNoColon\r\n\r\n",
    };
    ws_http_response res;
    ck_assert_int_eq(parse_response(&res, cases[_i], strlen(cases[_i])), -400);
}
END_TEST

START_TEST(response_limits)
{
    ws_test_bytes v = {0};
    const char *line = "HTTP/1.1 101 Switching Protocols\r\n";
    ws_test_bytes_put(&v, line, strlen(line));
    for (int i = 0; i <= WS_HTTP_MAX_HEADERS; i++) {
        char h[32];
        int k = snprintf(h, sizeof(h), "X-%d: v\r\n", i);
        ws_test_bytes_put(&v, h, (size_t)k);
    }
    ws_test_bytes_put(&v, "\r\n", 2);
    ws_http_response res;
    ck_assert_int_eq(parse_response(&res, (const char *)v.p, v.len), -431);
    ws_test_bytes_fini(&v);

    char *big = ws_test_realloc(NULL, WS_HTTP_MAX_HEAD + 100);
    memcpy(big, line, strlen(line));
    memset(big + strlen(line), 'x', WS_HTTP_MAX_HEAD + 100 - strlen(line));
    ck_assert_int_eq(parse_response(&res, big, WS_HTTP_MAX_HEAD + 100), -431);
    free(big);
}
END_TEST

/* Client request, server validation and 101, client check: the whole handshake in memory. */
START_TEST(handshake_round_trip)
{
    char key[WS_KEY_LEN + 1];
    ws_http_make_key(key);
    ck_assert_uint_eq(strlen(key), WS_KEY_LEN);

    char request[1024];
    size_t rlen =
        ws_http_write_request(request, sizeof(request), "ws.example:8080", "/feed?x=1", key);
    ck_assert_uint_gt(rlen, 0);
    ck_assert_uint_lt(rlen, sizeof(request));
    ck_assert_uint_eq(ws_http_write_request(request + 512, 20, "h", "/", key), 0);

    ws_http_request req;
    ck_assert_int_eq(parse_request(&req, request, rlen), (ssize_t)rlen);
    ck_assert_str_is(req.method, "GET");
    ck_assert_str_is(req.target, "/feed?x=1");
    ck_assert_str_is(req.path, "/feed");

    ws_upgrade up;
    ck_assert_int_eq(ws_http_validate_upgrade(&up, &req), 0);
    ck_assert_str_is(up.host, "ws.example:8080");
    char want[WS_ACCEPT_LEN + 1];
    ws_http_accept_key(want, key, WS_KEY_LEN);
    ck_assert_str_eq(up.accept, want);

    char response[1024];
    size_t slen = ws_http_write_upgrade(response, sizeof(response), &up);
    ck_assert_uint_gt(slen, 0);
    ck_assert_uint_lt(slen, sizeof(response));
    ck_assert_uint_eq(ws_http_write_upgrade(response + 512, 20, &up), 0);

    ws_http_response res;
    ck_assert_int_eq(parse_response(&res, response, slen), (ssize_t)slen);
    ck_assert_int_eq(res.status, 101);
    ck_assert_int_eq(ws_http_check_upgrade_response(&res, key), 0);

    /* The same response does not accept another key. */
    char other[WS_KEY_LEN + 1];
    ws_http_make_key(other);
    ck_assert_str_ne(other, key);
    ck_assert_int_eq(ws_http_check_upgrade_response(&res, other), -1);
}
END_TEST

START_TEST(make_key_is_base64_of_16_bytes)
{
    for (int i = 0; i < 50; i++) {
        char key[WS_KEY_LEN + 1];
        ws_http_make_key(key);
        ck_assert_uint_eq(strlen(key), WS_KEY_LEN);
        ck_assert_str_eq(key + 22, "==");
        for (int j = 0; j < 22; j++) {
            ck_assert_ptr_nonnull(
                strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", key[j]));
        }
    }
}
END_TEST

static int check_response_text(const char *text)
{
    ws_http_response res;
    ssize_t r = parse_response(&res, text, strlen(text));
    ck_assert_msg(r == (ssize_t)strlen(text), "parse %zd:\n%s", r, text);
    return ws_http_check_upgrade_response(&res, SAMPLE_KEY);
}

START_TEST(check_upgrade_response_failures)
{
    ck_assert_int_eq(
        check_response_text("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n"),
        0);
    /* Wrong accept. */
    ck_assert_int_eq(
        check_response_text("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOX=\r\n\r\n"),
        -1);
    /* Accept missing. */
    ck_assert_int_eq(
        check_response_text("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\n\r\n"),
        -1);
    /* Not 101. */
    ck_assert_int_eq(check_response_text("HTTP/1.1 200 OK\r\nUpgrade: websocket\r\n"
                                         "Connection: Upgrade\r\n"
                                         "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n"),
                     -1);
    /* Upgrade to something else. */
    ck_assert_int_eq(check_response_text("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
                                         "Connection: Upgrade\r\n"
                                         "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n"),
                     -1);
    /* Connection without upgrade. */
    ck_assert_int_eq(
        check_response_text("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: keep-alive\r\n"
                            "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n"),
        -1);
}
END_TEST

/* --- token lists --------------------------------------------------------------------------- */

static bool has(const char *list, const char *token)
{
    ws_str s = {list, strlen(list)};
    return ws_http_has_token(s, token);
}

START_TEST(has_token_edges)
{
    ck_assert(has("Upgrade", "upgrade"));
    ck_assert(has("upgrade", "Upgrade"));
    ck_assert(has("keep-alive, Upgrade", "upgrade"));
    ck_assert(has("Upgrade, keep-alive", "upgrade"));
    ck_assert(has("keep-alive,Upgrade", "upgrade"));
    ck_assert(has("keep-alive ,  upgrade  ", "upgrade"));
    ck_assert(has("\tupgrade\t", "upgrade"));
    ck_assert(has("a, b, upgrade, c", "upgrade"));
    ck_assert(has("upgrade,", "upgrade"));
    ck_assert(has(",,upgrade,,", "upgrade"));

    ck_assert(!has("", "upgrade"));
    ck_assert(!has(",", "upgrade"));
    ck_assert(!has("   ", "upgrade"));
    ck_assert(!has("keep-alive", "upgrade"));
    ck_assert(!has("upgraded", "upgrade"));
    ck_assert(!has("xupgrade", "upgrade"));
    ck_assert(!has("upgrad", "upgrade"));
    ck_assert(!has("up grade", "upgrade"));
    ck_assert(!has("keep-alive upgrade", "upgrade"));
    ck_assert(!has("upgrade-insecure", "upgrade"));

    /* The list ends at len, not at a NUL. */
    ws_str cut = {"upgradeX", 7};
    ck_assert(ws_http_has_token(cut, "upgrade"));
    ws_str shorter = {"keep-alive, upgrade", 14};
    ck_assert(!ws_http_has_token(shorter, "upgrade"));
    ws_str empty = {"upgrade", 0};
    ck_assert(!ws_http_has_token(empty, "upgrade"));
}
END_TEST

Suite *ws_http_suite(void)
{
    Suite *s = suite_create("ws_http");

    TCase *tc = tcase_create("request");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, request_whole);
    tcase_add_test(tc, request_byte_at_a_time);
    tcase_add_test(tc, request_with_trailing_bytes);
    tcase_add_test(tc, request_whitespace_around_values);
    tcase_add_test(tc, request_http10_parses);
    tcase_add_test(tc, find_header_case_insensitive);
    tcase_add_test(tc, request_64_headers_ok);
    tcase_add_test(tc, request_65_headers_rejected);
    tcase_add_test(tc, request_head_limit);
    tcase_add_test(tc, request_head_limit_without_terminator);
    tcase_add_loop_test(tc, request_malformed, 0, 14);
    tcase_add_test(tc, request_incomplete_needs_more);
    suite_add_tcase(s, tc);

    tc = tcase_create("upgrade");
    tcase_add_test(tc, upgrade_valid_sample);
    tcase_add_test(tc, upgrade_minimal_has_empty_optionals);
    tcase_add_test(tc, accept_key_rfc_sample);
    tcase_add_test(tc, upgrade_wrong_method);
    tcase_add_test(tc, upgrade_wrong_version);
    tcase_add_test(tc, upgrade_host);
    tcase_add_test(tc, upgrade_upgrade_header);
    tcase_add_test(tc, upgrade_connection_header);
    tcase_add_loop_test(tc, upgrade_bad_keys, 0, 10);
    tcase_add_test(tc, upgrade_good_other_key);
    tcase_add_test(tc, upgrade_version);
    suite_add_tcase(s, tc);

    tc = tcase_create("response");
    tcase_add_loop_test(tc, error_responses, 0, 9);
    tcase_add_test(tc, error_503_retry_after);
    tcase_add_test(tc, reason_phrases);
    tcase_add_test(tc, response_parse);
    tcase_add_loop_test(tc, response_malformed, 0, 4);
    tcase_add_test(tc, response_limits);
    tcase_add_test(tc, handshake_round_trip);
    tcase_add_test(tc, make_key_is_base64_of_16_bytes);
    tcase_add_test(tc, check_upgrade_response_failures);
    suite_add_tcase(s, tc);

    tc = tcase_create("tokens");
    tcase_add_test(tc, has_token_edges);
    suite_add_tcase(s, tc);
    return s;
}
