/* HTTP/1.1 heads for the WebSocket opening handshake (RFC 6455 §4, RFC 9112 §2-§5). A head is
 * first located by scanning for the empty line, resuming where the previous call stopped, and only
 * then parsed in one pass, so a head trickling in byte by byte costs linear time. Lines must end
 * in CRLF; obsolete line folding is rejected. */
#include "ws_http.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 §1.3 */

void ws_http_scan_init(ws_http_scan *s)
{
    s->scanned = 0;
    s->lines = 0;
}

static int ws_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool ws_str_ieq(ws_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (ws_lower((unsigned char)s.p[i]) != ws_lower((unsigned char)lit[i]))
            return false;
    }
    return true;
}

/* RFC 9110 §5.6.2 tchar. */
static bool ws_is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Finds the end of the head. Returns its length, 0 if not yet complete, -431 over the limits. */
static ssize_t ws_http_scan_head(ws_http_scan *scan, const char *buf, size_t len)
{
    size_t end = len < WS_HTTP_MAX_HEAD ? len : WS_HTTP_MAX_HEAD;
    for (size_t i = scan->scanned; i < end; i++) {
        if (buf[i] != '\n')
            continue;
        if (i >= 3 && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            scan->scanned = i + 1;
            return (ssize_t)(i + 1);
        }
        /* Every line break after the start line ends one header field. */
        if (++scan->lines > WS_HTTP_MAX_HEADERS + 1)
            return -431;
    }
    scan->scanned = end;
    if (len >= WS_HTTP_MAX_HEAD)
        return -431;
    return 0;
}

/* Parses "HTTP/d.d" at *p. Returns 0 and advances *p, or -1. */
static int ws_http_version(const char **p, const char *end, int *major, int *minor)
{
    const char *s = *p;
    if (end - s < 8 || memcmp(s, "HTTP/", 5) != 0)
        return -1;
    if (s[5] < '0' || s[5] > '9' || s[6] != '.' || s[7] < '0' || s[7] > '9')
        return -1;
    *major = s[5] - '0';
    *minor = s[7] - '0';
    *p = s + 8;
    return 0;
}

/* Parses the header fields between p and the head's end (just past the final CRLF CRLF).
 * Returns 0 or -400. */
static int ws_http_headers(ws_header *headers, size_t *count, const char *p, const char *end)
{
    size_t n = 0;
    for (;;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL || eol == p || eol[-1] != '\r')
            return -400;
        if (eol - 1 == p)
            break; /* the empty line */
        if (n == WS_HTTP_MAX_HEADERS)
            return -400; /* cannot happen after the scan's count; kept as a bound */
        const char *name = p;
        while (p < eol - 1 && ws_is_tchar((unsigned char)*p))
            p++;
        if (p == name || *p != ':')
            return -400; /* empty name, folding, or whitespace before the colon */
        const char *vs = p + 1;
        const char *ve = eol - 1;
        while (vs < ve && (*vs == ' ' || *vs == '\t'))
            vs++;
        while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (const char *c = vs; c < ve; c++) {
            unsigned char ch = (unsigned char)*c;
            if ((ch < 0x20 && ch != '\t') || ch == 0x7F)
                return -400;
        }
        headers[n].name = (ws_str){name, (size_t)(p - name)};
        headers[n].value = (ws_str){vs, (size_t)(ve - vs)};
        n++;
        p = eol + 1;
    }
    *count = n;
    return 0;
}

ssize_t ws_http_parse_request(ws_http_request *out, ws_http_scan *scan, const char *buf, size_t len)
{
    ssize_t head = ws_http_scan_head(scan, buf, len);
    if (head <= 0)
        return head;

    const char *p = buf, *end = buf + head;
    const char *m = p;
    while (p < end && ws_is_tchar((unsigned char)*p))
        p++;
    if (p == m || *p != ' ')
        return -400;
    out->method = (ws_str){m, (size_t)(p - m)};
    const char *t = ++p;
    while (p < end && (unsigned char)*p > ' ' && *p != 0x7F)
        p++;
    if (p == t || *p != ' ')
        return -400;
    out->target = (ws_str){t, (size_t)(p - t)};
    const char *q = memchr(t, '?', (size_t)(p - t));
    out->path = (ws_str){t, (size_t)((q ? q : p) - t)};
    p++;
    if (ws_http_version(&p, end, &out->major, &out->minor) != 0)
        return -400;
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
        return -400;
    if (ws_http_headers(out->headers, &out->nheaders, p + 2, end) != 0)
        return -400;
    return head;
}

ssize_t ws_http_parse_response(ws_http_response *out, ws_http_scan *scan, const char *buf,
                               size_t len)
{
    ssize_t head = ws_http_scan_head(scan, buf, len);
    if (head <= 0)
        return head;

    const char *p = buf, *end = buf + head;
    if (ws_http_version(&p, end, &out->major, &out->minor) != 0)
        return -400;
    if (end - p < 5 || p[0] != ' ' || p[1] < '1' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
        p[3] < '0' || p[3] > '9')
        return -400;
    out->status = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
    p += 4;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL || eol[-1] != '\r' || (eol - 1 > p && *p != ' '))
        return -400;
    if (ws_http_headers(out->headers, &out->nheaders, eol + 1, end) != 0)
        return -400;
    return head;
}

static const ws_header *ws_find(const ws_header *headers, size_t n, const char *name,
                                unsigned *count)
{
    const ws_header *first = NULL;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        if (ws_str_ieq(headers[i].name, name)) {
            if (first == NULL)
                first = &headers[i];
            (*count)++;
        }
    }
    return first;
}

const ws_header *ws_http_find_header(const ws_http_request *req, const char *name)
{
    unsigned count;
    return ws_find(req->headers, req->nheaders, name, &count);
}

bool ws_http_has_token(ws_str list, const char *token)
{
    const char *p = list.p, *end = list.p + list.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *s = p;
        while (p < end && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s && ws_str_ieq((ws_str){s, (size_t)(e - s)}, token))
            return true;
    }
    return false;
}

/* True if any of the fields called name lists token. */
static bool ws_any_has_token(const ws_header *headers, size_t n, const char *name,
                             const char *token)
{
    for (size_t i = 0; i < n; i++) {
        if (ws_str_ieq(headers[i].name, name) && ws_http_has_token(headers[i].value, token))
            return true;
    }
    return false;
}

/* RFC 6455 §4.1: the key is 16 random bytes in base64, which is always 22 characters + "==". */
static bool ws_key_is_valid(ws_str key)
{
    if (key.len != WS_KEY_LEN || key.p[22] != '=' || key.p[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++) {
        unsigned char c = (unsigned char)key.p[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/';
        if (!ok)
            return false;
    }
    return true;
}

void ws_http_accept_key(char *out, const char *key, size_t key_len)
{
    unsigned char digest[SHA_DIGEST_LENGTH];
    char joined[128];
    size_t guid_len = sizeof WS_GUID - 1;
    if (key_len > sizeof joined - guid_len)
        key_len = sizeof joined - guid_len;
    memcpy(joined, key, key_len);
    memcpy(joined + key_len, WS_GUID, guid_len);
    SHA1((const unsigned char *)joined, key_len + guid_len, digest);
    EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

int ws_http_validate_upgrade(ws_upgrade *out, const ws_http_request *req)
{
    const ws_header *h = req->headers;
    size_t n = req->nheaders;
    unsigned count;

    if (req->method.len != 3 || memcmp(req->method.p, "GET", 3) != 0)
        return 405; /* methods are case-sensitive (RFC 9110 §9.1) */
    if (req->major != 1 || req->minor != 1)
        return 505;
    const ws_header *host = ws_find(h, n, "Host", &count);
    if (count != 1 || host->value.len == 0)
        return 400;
    if (!ws_any_has_token(h, n, "Upgrade", "websocket"))
        return 400;
    if (!ws_any_has_token(h, n, "Connection", "Upgrade"))
        return 400;
    const ws_header *key = ws_find(h, n, "Sec-WebSocket-Key", &count);
    if (count != 1 || !ws_key_is_valid(key->value))
        return 400;
    const ws_header *version = ws_find(h, n, "Sec-WebSocket-Version", &count);
    if (count != 1 || version->value.len != 2 || memcmp(version->value.p, "13", 2) != 0)
        return 426;

    const ws_header *origin = ws_find(h, n, "Origin", &count);
    const ws_header *proto = ws_find(h, n, "Sec-WebSocket-Protocol", &count);
    out->host = host->value;
    out->origin = origin ? origin->value : (ws_str){"", 0};
    out->protocol = proto ? proto->value : (ws_str){"", 0};
    ws_http_accept_key(out->accept, key->value.p, key->value.len);
    return 0;
}

size_t ws_http_write_upgrade(char *out, size_t cap, const ws_upgrade *up)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "\r\n",
                     up->accept);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

const char *ws_http_reason(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

size_t ws_http_error(char *out, size_t cap, int status, unsigned retry_after)
{
    const char *reason = ws_http_reason(status);
    char extra[64] = "";
    if (status == 426)
        snprintf(extra, sizeof extra, "Sec-WebSocket-Version: 13\r\n");
    else if (status == 405)
        snprintf(extra, sizeof extra, "Allow: GET\r\n");
    else if (status == 503)
        snprintf(extra, sizeof extra, "Retry-After: %u\r\n", retry_after);
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Connection: close\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "\r\n"
                     "%s\n",
                     status, reason, strlen(reason) + 1, extra, reason);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t ws_http_write_request(char *out, size_t cap, const char *host, const char *path,
                             const char *key)
{
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "\r\n",
                     path, host, key);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

void ws_http_make_key(char *out)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1)
        abort(); /* OpenSSL's RNG does not fail once seeded; nothing sensible is left to do */
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
}

int ws_http_check_upgrade_response(const ws_http_response *res, const char *key)
{
    unsigned count;
    if (res->status != 101)
        return -1;
    if (!ws_any_has_token(res->headers, res->nheaders, "Upgrade", "websocket") ||
        !ws_any_has_token(res->headers, res->nheaders, "Connection", "Upgrade"))
        return -1;
    const ws_header *accept = ws_find(res->headers, res->nheaders, "Sec-WebSocket-Accept", &count);
    if (count != 1)
        return -1;
    char want[WS_ACCEPT_LEN + 1];
    ws_http_accept_key(want, key, strlen(key));
    if (accept->value.len != WS_ACCEPT_LEN || memcmp(accept->value.p, want, WS_ACCEPT_LEN) != 0)
        return -1;
    return 0;
}
