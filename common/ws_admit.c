/* HTTP admission checks and error responses for the opening handshake (RFC 9110, RFC 9112,
 * RFC 6455 §4.2.2). The prefix check runs on every read of a head that is still incomplete, so it
 * looks at the method only: it costs at most the method's length each time. */
#include "ws_admit.h"

#include <stdio.h>
#include <string.h>

/* A method longer than this is not one a WebSocket server answers (the longest registered ones
 * are about 17 characters); refusing early keeps noise without a space from waiting. */
#define WS_ADMIT_MAX_METHOD 24

int ws_admit_prefix(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == ' ')
            return i > 0 ? 0 : 400;
        if (buf[i] < 'A' || buf[i] > 'Z' || i == WS_ADMIT_MAX_METHOD)
            return 400;
    }
    return 0;
}

static bool ws_admit_ieq(ws_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s.p[i], b = (unsigned char)lit[i];
        if (a >= 'A' && a <= 'Z')
            a = (unsigned char)(a + ('a' - 'A'));
        if (a != b)
            return false;
    }
    return true;
}

/* True when a Content-Length value announces a body: anything but digits that are all zero
 * (a malformed value is treated as a body, which is refused the same way). */
static bool ws_admit_has_body(ws_str v)
{
    if (v.len == 0)
        return true;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] != '0')
            return true;
    }
    return false;
}

int ws_admit_request(const ws_http_request *req, bool route_known)
{
    bool upgrade = false;
    for (size_t i = 0; i < req->nheaders; i++) {
        const ws_header *h = &req->headers[i];
        if (ws_admit_ieq(h->name, "transfer-encoding"))
            return 400;
        if (ws_admit_ieq(h->name, "content-length") && ws_admit_has_body(h->value))
            return 400;
        if (ws_admit_ieq(h->name, "upgrade") && ws_http_has_token(h->value, "websocket"))
            upgrade = true;
    }
    if (!route_known)
        return 404;
    if (!upgrade)
        return 426;
    return 0;
}

const char *ws_admit_reason(int status)
{
    return status == 429 ? "Too Many Requests" : ws_http_reason(status);
}

size_t ws_admit_error(char *out, size_t cap, int status, const ws_admit_reply *opt)
{
    const char *reason = ws_admit_reason(status);
    const char *text = opt->text != NULL ? opt->text : reason;
    char extra[128] = "";
    if (status == 426)
        snprintf(extra, sizeof extra, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    else if (status == 405)
        snprintf(extra, sizeof extra, "Allow: GET\r\n");
    else if (status == 429 || status == 503)
        snprintf(extra, sizeof extra, "Retry-After: %u\r\n", opt->retry_after);
    bool server = opt->server != NULL && opt->server[0] != '\0';
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Connection: close\r\n"
                     "%s%s%s"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "\r\n"
                     "%s\n",
                     status, reason, server ? "Server: " : "", server ? opt->server : "",
                     server ? "\r\n" : "", strlen(text) + 1, extra, text);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t ws_admit_add_server(char *out, size_t cap, size_t len, const char *server)
{
    if (server == NULL || server[0] == '\0' || len < 4 || memcmp(out + len - 4, "\r\n\r\n", 4) != 0)
        return len;
    size_t add = strlen("Server: ") + strlen(server) + 2;
    if (len + add >= cap)
        return len;
    snprintf(out + len - 2, cap - (len - 2), "Server: %s\r\n\r\n", server);
    return len + add;
}
