/* libFuzzer target for ws_http: the input is parsed as a request head whole and as a buffer that
 * grows one byte at a time, the two must agree, and a complete head is validated as an upgrade
 * and answered; then the same input is parsed as a response head. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KEY "dGhlIHNhbXBsZSBub25jZQ=="

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_ws_http: %s\n", what);
    abort();
}

/* A non-empty string must lie inside the head. */
static void check_inside(ws_str s, const char *buf, size_t head)
{
    if (s.len > 0 && (s.p < buf || s.p + s.len > buf + head)) {
        fail("string outside the head");
    }
}

static bool str_eq(ws_str a, ws_str b)
{
    return a.p == b.p && a.len == b.len;
}

static bool headers_eq(const ws_header *a, const ws_header *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!str_eq(a[i].name, b[i].name) || !str_eq(a[i].value, b[i].value)) {
            return false;
        }
    }
    return true;
}

/* The server's answer to a valid upgrade must satisfy the client that sent the key. */
static void check_answer(const ws_http_request *req, const ws_upgrade *up)
{
    const ws_header *key = ws_http_find_header(req, "Sec-WebSocket-Key");
    if (key == NULL || key->value.len != WS_KEY_LEN) {
        fail("upgrade accepted without a 24-character key");
    }
    if (strlen(up->accept) != WS_ACCEPT_LEN) {
        fail("accept key of the wrong length");
    }
    char key_str[WS_KEY_LEN + 1];
    memcpy(key_str, key->value.p, WS_KEY_LEN);
    key_str[WS_KEY_LEN] = '\0';

    char out[1024];
    size_t n = ws_http_write_upgrade(out, sizeof(out), up);
    if (n == 0) {
        /* Only a huge echoed protocol list could make it not fit. */
        return;
    }
    ws_http_response res;
    ws_http_scan scan;
    ws_http_scan_init(&scan);
    if (ws_http_parse_response(&res, &scan, out, n) != (ssize_t)n) {
        fail("own 101 response does not parse");
    }
    if (res.status != 101 || ws_http_check_upgrade_response(&res, key_str) != 0) {
        fail("own 101 response rejected by the client check");
    }
}

static void fuzz_request(const char *buf, size_t size)
{
    ws_http_request whole;
    ws_http_request grown;
    ws_http_scan scan;

    ws_http_scan_init(&scan);
    ssize_t rw = ws_http_parse_request(&whole, &scan, buf, size);
    ws_http_scan_init(&scan);
    ssize_t rg = 0;
    for (size_t n = 1; n <= size && rg == 0; n++) {
        rg = ws_http_parse_request(&grown, &scan, buf, n);
    }
    if (rw != rg) {
        fail("request: whole and growing parses disagree");
    }
    if (rw < 0 && rw != -400 && rw != -431) {
        fail("request: unexpected error code");
    }
    if (rw <= 0) {
        return;
    }
    size_t head = (size_t)rw;
    if (head > size || head > WS_HTTP_MAX_HEAD || whole.nheaders > WS_HTTP_MAX_HEADERS) {
        fail("request: head beyond its limits");
    }
    if (!str_eq(whole.method, grown.method) || !str_eq(whole.target, grown.target) ||
        !str_eq(whole.path, grown.path) || whole.minor != grown.minor ||
        whole.nheaders != grown.nheaders ||
        !headers_eq(whole.headers, grown.headers, whole.nheaders)) {
        fail("request: whole and growing parses give different fields");
    }
    check_inside(whole.method, buf, head);
    check_inside(whole.target, buf, head);
    check_inside(whole.path, buf, head);
    for (size_t i = 0; i < whole.nheaders; i++) {
        check_inside(whole.headers[i].name, buf, head);
        check_inside(whole.headers[i].value, buf, head);
    }

    ws_upgrade up;
    int status = ws_http_validate_upgrade(&up, &whole);
    if (status == 0) {
        check_inside(up.host, buf, head);
        check_inside(up.origin, buf, head);
        check_inside(up.protocol, buf, head);
        check_answer(&whole, &up);
    } else if (status != 400 && status != 405 && status != 426 && status != 505) {
        fail("request: unexpected validation status");
    }
}

static void fuzz_response(const char *buf, size_t size)
{
    ws_http_response whole;
    ws_http_response grown;
    ws_http_scan scan;

    ws_http_scan_init(&scan);
    ssize_t rw = ws_http_parse_response(&whole, &scan, buf, size);
    ws_http_scan_init(&scan);
    ssize_t rg = 0;
    for (size_t n = 1; n <= size && rg == 0; n++) {
        rg = ws_http_parse_response(&grown, &scan, buf, n);
    }
    if (rw != rg) {
        fail("response: whole and growing parses disagree");
    }
    if (rw < 0 && rw != -400 && rw != -431) {
        fail("response: unexpected error code");
    }
    if (rw <= 0) {
        return;
    }
    size_t head = (size_t)rw;
    if (head > size || head > WS_HTTP_MAX_HEAD || whole.nheaders > WS_HTTP_MAX_HEADERS) {
        fail("response: head beyond its limits");
    }
    if (whole.status != grown.status || whole.minor != grown.minor ||
        whole.nheaders != grown.nheaders ||
        !headers_eq(whole.headers, grown.headers, whole.nheaders)) {
        fail("response: whole and growing parses give different fields");
    }
    for (size_t i = 0; i < whole.nheaders; i++) {
        check_inside(whole.headers[i].name, buf, head);
        check_inside(whole.headers[i].value, buf, head);
    }
    int ok = ws_http_check_upgrade_response(&whole, FUZZ_KEY);
    if (ok != 0 && ok != -1) {
        fail("response: check returned neither 0 nor -1");
    }
    if (ok == 0 && whole.status != 101) {
        fail("response: upgrade accepted without status 101");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so that ASan catches any read past the end. */
    char *buf = malloc(size == 0 ? 1 : size);
    if (buf == NULL) {
        abort();
    }
    if (size > 0) {
        memcpy(buf, data, size);
    }
    fuzz_request(buf, size);
    fuzz_response(buf, size);
    free(buf);
    return 0;
}
