/* libFuzzer target for the admin server's request handling (sup_admin_http): the input is parsed
 * as a request head; a complete head goes through the limits, keep-alive, the route table, the
 * query parameters, the Host, token and CORS checks, and is answered with a head and a JSON error
 * body naming its path, whose lengths must be what they say. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup_admin_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_sup_admin_http: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    ws_http_request req;
    ws_http_scan scan;
    ws_http_scan_init(&scan);
    ssize_t n = ws_http_parse_request(&req, &scan, buf, size);
    if (n > 0) {
        size_t body = 0;
        int st = sup_admin_request_check(&req, &body);
        if (st == 0 && body > SUP_ADMIN_MAX_BODY)
            fail("a body over the limit passed");
        if (st != 0 && st != 400 && st != 413 && st != 505)
            fail("an unexpected status from the limits");
        (void)sup_admin_keep_alive(&req);
        const ws_header *host = ws_http_find_header(&req, "Host");
        if (sup_admin_host_is_local(&req) && host != NULL && host->value.len > 0 &&
            memchr("0123456789[lL", host->value.p[0], 13) == NULL)
            fail("a Host that is neither a literal nor localhost passed");
        enum sup_admin_route route = SUP_ADMIN_R_NONE;
        int r = sup_admin_route_find(&route, req.method, req.path);
        if (r != 0 && r != 404 && r != 405)
            fail("an unexpected status from the router");
        if (r == 0 && route == SUP_ADMIN_R_NONE)
            fail("a route found without a route");
        char v[32];
        for (const char *name = "since\0slot\0seconds\0token\0"; *name; name += strlen(name) + 1) {
            int q = sup_admin_query(&req.target, name, v, sizeof v);
            if (q == 1 && strlen(v) >= sizeof v)
                fail("a query value overflowed");
        }
        if (sup_admin_token_ok(&req, "0123456789abcdef") &&
            ws_http_find_header(&req, "Authorization") == NULL)
            fail("a token accepted without Authorization");
        ws_str cors = sup_admin_cors_origin(&req, "https://a.example https://*.b.example");
        for (size_t i = 0; i < cors.len; i++) {
            if ((unsigned char)cors.p[i] <= ' ' || (unsigned char)cors.p[i] >= 0x7f)
                fail("a CORS origin with a character a header cannot hold");
        }
        char msg[256], out[2048];
        snprintf(msg, sizeof msg, "%.*s", (int)(req.path.len < 200 ? req.path.len : 200),
                 req.path.p);
        size_t bl = sup_admin_error_json(out, sizeof out, r ? r : 400, msg);
        if (bl != strlen(out) && bl != 0)
            fail("an error body of the wrong length");
        size_t hl = sup_admin_head(out, sizeof out, r ? r : 200, "application/json", bl,
                                   sup_admin_keep_alive(&req), cors, NULL);
        if (hl == 0 || hl != strlen(out) || memcmp(out + hl - 4, "\r\n\r\n", 4) != 0)
            fail("a response head of the wrong length");
    }
    free(buf);
    return 0;
}
