/* Origin allowlist matching (RFC 6454 serialised origins: scheme "://" host [":" port]). Both
 * the entry and the origin are split into scheme, host and port, then compared part by part, so
 * "https://a.example.com.evil.net" can never match "*.example.com". */
#include "wsf_origin.h"

#include <errno.h>
#include <string.h>

typedef struct wsf_origin_parts {
    const char *scheme; /* NULL when absent (entries only) */
    size_t scheme_len;
    const char *host;
    size_t host_len;
    const char *port; /* NULL when absent */
    size_t port_len;
} wsf_origin_parts;

static int wsf_origin_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool wsf_origin_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        if (wsf_origin_lower((unsigned char)a[i]) != wsf_origin_lower((unsigned char)b[i]))
            return false;
    }
    return true;
}

static bool wsf_origin_host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '[' || c == ']' || c == ':';
}

/* Splits s[0..len) into parts. need_scheme: an origin (the scheme is mandatory). Returns 0 or
 * -EINVAL. A host may be a bracketed IPv6 literal. */
static int wsf_origin_split(wsf_origin_parts *out, const char *s, size_t len, bool need_scheme)
{
    memset(out, 0, sizeof *out);
    const char *end = s + len;
    const char *sep = NULL;
    for (const char *p = s; p + 3 <= end; p++) {
        if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
            sep = p;
            break;
        }
    }
    if (sep != NULL) {
        out->scheme = s;
        out->scheme_len = (size_t)(sep - s);
        s = sep + 3;
    } else if (need_scheme) {
        return -EINVAL;
    }
    const char *host_end;
    if (s < end && *s == '[') {
        const char *rb = memchr(s, ']', (size_t)(end - s));
        if (rb == NULL)
            return -EINVAL;
        host_end = rb + 1;
    } else {
        host_end = memchr(s, ':', (size_t)(end - s));
        if (host_end == NULL)
            host_end = end;
    }
    out->host = s;
    out->host_len = (size_t)(host_end - s);
    if (out->host_len == 0)
        return -EINVAL;
    for (const char *p = s; p < host_end; p++) {
        if (!wsf_origin_host_char((unsigned char)*p) && !(p == s && *p == '*'))
            return -EINVAL;
    }
    if (host_end < end) {
        if (*host_end != ':' || host_end + 1 == end || end - host_end - 1 > 5)
            return -EINVAL;
        out->port = host_end + 1;
        out->port_len = (size_t)(end - out->port);
        for (size_t i = 0; i < out->port_len; i++) {
            if (out->port[i] < '0' || out->port[i] > '9')
                return -EINVAL;
        }
    }
    return 0;
}

static bool wsf_origin_scheme_ok(const char *s, size_t n)
{
    return wsf_origin_ieq(s, n, "http", 4) || wsf_origin_ieq(s, n, "https", 5) ||
           wsf_origin_ieq(s, n, "ws", 2) || wsf_origin_ieq(s, n, "wss", 3);
}

static int wsf_origin_entry_check(const char *s, size_t len)
{
    wsf_origin_parts e;
    if (wsf_origin_split(&e, s, len, false) != 0)
        return -EINVAL;
    if (e.scheme != NULL && !wsf_origin_scheme_ok(e.scheme, e.scheme_len))
        return -EINVAL;
    const char *star = memchr(e.host, '*', e.host_len);
    if (star != NULL && (star != e.host || e.host_len < 3 || e.host[1] != '.'))
        return -EINVAL; /* only a leading "*." and a domain after it */
    return 0;
}

/* True if entry e admits origin o. */
static bool wsf_origin_entry_match(const wsf_origin_parts *e, const wsf_origin_parts *o)
{
    if (e->scheme != NULL) {
        if (!wsf_origin_ieq(e->scheme, e->scheme_len, o->scheme, o->scheme_len))
            return false;
    } else if (!wsf_origin_ieq(o->scheme, o->scheme_len, "http", 4) &&
               !wsf_origin_ieq(o->scheme, o->scheme_len, "https", 5)) {
        return false;
    }
    if ((e->port == NULL) != (o->port == NULL))
        return false;
    if (e->port != NULL && !wsf_origin_ieq(e->port, e->port_len, o->port, o->port_len))
        return false;
    if (e->host[0] != '*')
        return wsf_origin_ieq(e->host, e->host_len, o->host, o->host_len);
    /* "*.example.com": the origin's host ends in ".example.com" with at least one label before. */
    size_t suffix = e->host_len - 1; /* ".example.com" */
    if (o->host_len <= suffix)
        return false;
    const char *tail = o->host + (o->host_len - suffix);
    return wsf_origin_ieq(tail, suffix, e->host + 1, suffix) && o->host[0] != '.';
}

/* Calls fn on every entry of list; stops at the first nonzero result and returns it. */
static int wsf_origin_each(const char *list, int (*fn)(const char *s, size_t len, void *arg),
                           void *arg)
{
    const char *p = list;
    while (*p) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ", \t");
        if (n > 0) {
            int r = fn(p, n, arg);
            if (r != 0)
                return r;
        }
        p += n;
    }
    return 0;
}

static int wsf_origin_check_one(const char *s, size_t len, void *arg)
{
    (void)arg;
    return wsf_origin_entry_check(s, len);
}

int wsf_origin_list_check(const char *list)
{
    return wsf_origin_each(list, wsf_origin_check_one, NULL);
}

static int wsf_origin_match_one(const char *s, size_t len, void *arg)
{
    const wsf_origin_parts *o = arg;
    wsf_origin_parts e;
    if (wsf_origin_split(&e, s, len, false) != 0)
        return 0;
    return wsf_origin_entry_match(&e, o) ? 1 : 0;
}

bool wsf_origin_allowed(const char *list, const char *origin, size_t origin_len)
{
    if (list == NULL || list[strspn(list, ", \t")] == '\0')
        return true;
    wsf_origin_parts o;
    if (wsf_origin_split(&o, origin, origin_len, true) != 0 || o.host[0] == '*')
        return false; /* "null" (opaque origins) and anything malformed */
    return wsf_origin_each(list, wsf_origin_match_one, &o) == 1;
}
