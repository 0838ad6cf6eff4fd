/* Routing, limits, tokens, CORS and response heads of the admin HTTP server. */
#include "sup_admin_http.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wsf_origin.h"

static bool sup_str_is(ws_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static const struct sup_admin_path {
    const char *path;
    const char *method;
    enum sup_admin_route route;
} sup_admin_paths[] = {
    {"/ws", "GET", SUP_ADMIN_R_WS},
    {"/api/status", "GET", SUP_ADMIN_R_STATUS},
    {"/api/workers", "GET", SUP_ADMIN_R_WORKERS},
    {"/api/breakers", "GET", SUP_ADMIN_R_BREAKERS},
    {"/api/events", "GET", SUP_ADMIN_R_EVENTS},
    {"/api/events", "POST", SUP_ADMIN_R_EVENT_ADD},
    {"/api/history", "GET", SUP_ADMIN_R_HISTORY},
    {"/api/cluster", "GET", SUP_ADMIN_R_CLUSTER},
    {"/metrics", "GET", SUP_ADMIN_R_METRICS},
    {"/healthz", "GET", SUP_ADMIN_R_HEALTHZ},
    {"/readyz", "GET", SUP_ADMIN_R_READYZ},
    {"/api/alerts", "GET", SUP_ADMIN_R_ALERTS},
    {"/api/scale", "POST", SUP_ADMIN_R_SCALE},
    {"/api/restart", "POST", SUP_ADMIN_R_RESTART},
    {"/api/drain", "POST", SUP_ADMIN_R_DRAIN},
    {"/api/breaker", "POST", SUP_ADMIN_R_BREAKER},
    {"/api/autoscale", "POST", SUP_ADMIN_R_AUTOSCALE},
    {"/api/publish", "POST", SUP_ADMIN_R_PUBLISH},
};

int sup_admin_route_find(enum sup_admin_route *out, ws_str method, ws_str path)
{
    bool known = false;
    bool get = sup_str_is(method, "GET") || sup_str_is(method, "HEAD");
    for (size_t i = 0; i < sizeof sup_admin_paths / sizeof sup_admin_paths[0]; i++) {
        const struct sup_admin_path *p = &sup_admin_paths[i];
        if (!sup_str_is(path, p->path))
            continue;
        known = true;
        if (sup_str_is(method, p->method) || (get && strcmp(p->method, "GET") == 0)) {
            *out = p->route;
            return 0;
        }
    }
    bool api = path.len >= 5 && memcmp(path.p, "/api/", 5) == 0;
    if (!known && api)
        return 404;
    if (sup_str_is(method, "OPTIONS")) {
        *out = SUP_ADMIN_R_PREFLIGHT;
        return 0;
    }
    if (known)
        return 405;
    if (path.len == 0 || path.p[0] != '/')
        return 404;
    if (!get)
        return 405;
    *out = SUP_ADMIN_R_INDEX;
    return 0;
}

bool sup_admin_route_is_post(enum sup_admin_route r)
{
    return r >= SUP_ADMIN_R_SCALE && r <= SUP_ADMIN_R_EVENT_ADD;
}

bool sup_admin_needs_token(enum sup_admin_route r, bool peer_is_loopback)
{
    if (sup_admin_route_is_post(r))
        return true;
    if (peer_is_loopback)
        return false;
    return r != SUP_ADMIN_R_HEALTHZ && r != SUP_ADMIN_R_READYZ && r != SUP_ADMIN_R_INDEX &&
           r != SUP_ADMIN_R_PREFLIGHT;
}

bool sup_admin_host_is_local(const ws_http_request *req)
{
    const ws_header *h = ws_http_find_header(req, "Host");
    if (h == NULL)
        return true;
    for (size_t i = 0; i < req->nheaders; i++) {
        const ws_header *o = &req->headers[i];
        if (o != h && o->name.len == 4 && strncasecmp(o->name.p, "host", 4) == 0)
            return false; /* two Hosts: which one a proxy or browser meant is unknown */
    }
    const char *p = h->value.p;
    size_t n = h->value.len;
    size_t host = n;
    if (n > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (close == NULL)
            return false;
        for (const char *q = p + 1; q < close; q++) {
            if (!(*q == ':' || *q == '.' || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  (*q >= 'A' && *q <= 'F')))
                return false;
        }
        host = (size_t)(close - p) + 1;
    } else {
        const char *colon = memchr(p, ':', n);
        host = colon ? (size_t)(colon - p) : n;
        bool literal = host > 0 && p[0] >= '0' && p[0] <= '9';
        for (size_t i = 0; i < host; i++)
            literal = literal && ((p[i] >= '0' && p[i] <= '9') || p[i] == '.');
        if (!literal && !(host == 9 && strncasecmp(p, "localhost", 9) == 0))
            return false;
    }
    if (host == n)
        return true;
    if (p[host] != ':' || host + 1 == n)
        return false;
    for (size_t i = host + 1; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
    }
    return true;
}

int sup_admin_request_check(const ws_http_request *req, size_t *body_len)
{
    if (req->major != 1 || (req->minor != 0 && req->minor != 1))
        return 505;
    size_t len = 0;
    bool seen = false;
    for (size_t i = 0; i < req->nheaders; i++) {
        const ws_header *h = &req->headers[i];
        if (h->name.len == 17 && strncasecmp(h->name.p, "transfer-encoding", 17) == 0)
            return 400;
        if (h->name.len != 14 || strncasecmp(h->name.p, "content-length", 14) != 0)
            continue;
        if (seen || h->value.len == 0 || h->value.len > 12)
            return 400;
        seen = true;
        uint64_t v = 0;
        for (size_t k = 0; k < h->value.len; k++) {
            char c = h->value.p[k];
            if (c < '0' || c > '9')
                return 400;
            v = v * 10 + (uint64_t)(c - '0');
        }
        if (v > SUP_ADMIN_MAX_BODY)
            return 413;
        len = (size_t)v;
    }
    *body_len = len;
    return 0;
}

bool sup_admin_keep_alive(const ws_http_request *req)
{
    const ws_header *c = ws_http_find_header(req, "Connection");
    if (req->minor == 0)
        return c != NULL && ws_http_has_token(c->value, "keep-alive");
    return c == NULL || !ws_http_has_token(c->value, "close");
}

int sup_admin_query(const ws_str *target, const char *name, char *out, size_t cap)
{
    const char *q = memchr(target->p, '?', target->len);
    if (q == NULL)
        return 0;
    const char *end = target->p + target->len;
    size_t nlen = strlen(name);
    for (const char *p = q + 1; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (eq != NULL && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
            size_t vlen = (size_t)(stop - eq - 1);
            if (vlen >= cap)
                return -1;
            for (size_t i = 0; i < vlen; i++) {
                char c = eq[1 + i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
                if (!ok)
                    return -1;
            }
            memcpy(out, eq + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
        p = stop + 1;
    }
    return 0;
}

bool sup_admin_token_ok(const ws_http_request *req, const char *token)
{
    static const char scheme[] = "Bearer ";
    if (token == NULL || token[0] == '\0')
        return false;
    const ws_header *h = ws_http_find_header(req, "Authorization");
    if (h == NULL || h->value.len < sizeof scheme - 1 ||
        strncasecmp(h->value.p, scheme, sizeof scheme - 1) != 0)
        return false;
    const char *given = h->value.p + sizeof scheme - 1;
    size_t glen = h->value.len - (sizeof scheme - 1);
    size_t tlen = strlen(token);
    if (glen != tlen)
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < tlen; i++)
        diff |= (unsigned char)(given[i] ^ token[i]);
    return diff == 0;
}

ws_str sup_admin_cors_origin(const ws_http_request *req, const char *allowlist)
{
    ws_str none = {"", 0};
    if (allowlist == NULL || allowlist[0] == '\0')
        return none;
    const ws_header *h = ws_http_find_header(req, "Origin");
    if (h == NULL || h->value.len == 0 || h->value.len > SUP_ADMIN_ORIGIN_MAX)
        return none;
    for (size_t i = 0; i < h->value.len; i++) {
        unsigned char c = (unsigned char)h->value.p[i];
        if (c <= ' ' || c >= 0x7f)
            return none; /* never echoed back into a header */
    }
    return wsf_origin_allowed(allowlist, h->value.p, h->value.len) ? h->value : none;
}

size_t sup_admin_error_json(char *out, size_t cap, int status, const char *message)
{
    size_t n = 0;
    int w = snprintf(out, cap, "{\"error\":{\"code\":%d,\"message\":\"", status);
    if (w < 0 || (size_t)w >= cap)
        return 0;
    n = (size_t)w;
    for (const char *p = message; *p; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[8];
        size_t elen;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            elen = 2;
        } else if (c < 0x20 || c == 0x7f) {
            elen = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
        } else {
            esc[0] = (char)c;
            elen = 1;
        }
        if (n + elen >= cap)
            return 0;
        memcpy(out + n, esc, elen);
        n += elen;
    }
    if (n + 4 >= cap)
        return 0;
    memcpy(out + n, "\"}}", 4);
    return n + 3;
}

size_t sup_admin_head(char *out, size_t cap, int status, const char *content_type,
                      size_t content_length, bool keep_alive, ws_str cors_origin, const char *extra)
{
    char cors[768] = ""; /* room for the longest origin sup_admin_cors_origin passes */
    if (cors_origin.len > 0) {
        int c = snprintf(cors, sizeof cors,
                         "Access-Control-Allow-Origin: %.*s\r\nVary: Origin\r\n"
                         "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
                         "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
                         "Access-Control-Max-Age: 600\r\n",
                         (int)cors_origin.len, cors_origin.p);
        if (c < 0 || (size_t)c >= sizeof cors)
            return 0;
    }
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                     "Connection: %s\r\n%s%s\r\n",
                     status, ws_http_reason(status), content_type, content_length,
                     keep_alive ? "keep-alive" : "close", cors, extra ? extra : "");
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
