/* Compact JSON objects scanned in place (see wsf_jscan.h). */
#include "wsf_jscan.h"

#include <string.h>

typedef struct wsf_jscan {
    const unsigned char *p, *end;
    unsigned depth, max_depth;
} wsf_jscan;

static bool wsf_jscan_value(wsf_jscan *s);

/* At '"': past the closing quote. */
static bool wsf_jscan_str(wsf_jscan *s)
{
    const unsigned char *p = s->p + 1;
    while (p < s->end) {
        unsigned c = *p;
        if (c == '"') {
            s->p = p + 1;
            return true;
        }
        if (c < 0x20 || c == '\\')
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        /* A multi-byte sequence: its lead byte gives the count of continuation bytes and the
         * smallest code point it may carry (no overlong forms). */
        size_t n;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return false;
        }
        if ((size_t)(s->end - p) <= n)
            return false;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += n + 1;
    }
    return false;
}

/* An integer: -?(0|[1-9][0-9]{0,17}), not "-0", not followed by a fraction, exponent or digit. */
static bool wsf_jscan_int(wsf_jscan *s)
{
    const unsigned char *p = s->p;
    bool neg = *p == '-';
    if (neg)
        p++;
    if (p == s->end)
        return false;
    if (*p == '0') {
        if (neg)
            return false;
        p++;
    } else if (*p >= '1' && *p <= '9') {
        const unsigned char *first = p;
        while (p < s->end && *p >= '0' && *p <= '9')
            p++;
        if (p - first > 18)
            return false;
    } else {
        return false;
    }
    if (p < s->end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')))
        return false;
    s->p = p;
    return true;
}

static bool wsf_jscan_word(wsf_jscan *s, const char *w, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
        return false;
    s->p += n;
    return true;
}

/* At '{' or '[': enters it. 1 when a member or element follows, 0 when it closed at once (past
 * the close), -1 when nested too deep. */
static int wsf_jscan_enter(wsf_jscan *s, unsigned char close)
{
    if (++s->depth > s->max_depth)
        return -1;
    s->p++;
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }
    return 1;
}

/* After a member or element: 1 past a ',', 0 past the close, -1 at anything else. */
static int wsf_jscan_after(wsf_jscan *s, unsigned char close)
{
    if (s->p == s->end)
        return -1;
    if (*s->p == ',') {
        s->p++;
        return 1;
    }
    if (*s->p != close)
        return -1;
    s->p++;
    s->depth--;
    return 0;
}

/* At '{': the members (into out[0..max) when out is set), past the closing brace. */
static bool wsf_jscan_obj(wsf_jscan *s, wsf_jmember *out, size_t max, size_t *count)
{
    const unsigned char *keys[WSF_JSCAN_MAX_KEYS];
    size_t lens[WSF_JSCAN_MAX_KEYS];
    size_t n = 0;
    int more = wsf_jscan_enter(s, '}');
    for (; more == 1; more = wsf_jscan_after(s, '}')) {
        if (s->p == s->end || *s->p != '"' || n == WSF_JSCAN_MAX_KEYS)
            return false;
        const unsigned char *key = s->p + 1;
        if (!wsf_jscan_str(s))
            return false;
        size_t key_len = (size_t)(s->p - 1 - key);
        for (size_t i = 0; i < n; i++) {
            if (lens[i] == key_len && memcmp(keys[i], key, key_len) == 0)
                return false; /* jansson is told to refuse a repeated key */
        }
        keys[n] = key;
        lens[n] = key_len;
        if (s->p == s->end || *s->p != ':')
            return false;
        s->p++;
        const unsigned char *val = s->p;
        if (!wsf_jscan_value(s))
            return false;
        if (out != NULL) {
            if (n == max)
                return false;
            out[n] = (wsf_jmember){(const char *)key, key_len, (const char *)val,
                                   (size_t)(s->p - val)};
        }
        n++;
    }
    *count = n;
    return more == 0;
}

static bool wsf_jscan_arr(wsf_jscan *s)
{
    int more = wsf_jscan_enter(s, ']');
    for (; more == 1; more = wsf_jscan_after(s, ']')) {
        if (!wsf_jscan_value(s))
            return false;
    }
    return more == 0;
}

static bool wsf_jscan_value(wsf_jscan *s)
{
    if (s->p == s->end)
        return false;
    size_t n;
    switch (*s->p) {
    case '"':
        return wsf_jscan_str(s);
    case '{':
        return wsf_jscan_obj(s, NULL, 0, &n);
    case '[':
        return wsf_jscan_arr(s);
    case 't':
        return wsf_jscan_word(s, "true", 4);
    case 'f':
        return wsf_jscan_word(s, "false", 5);
    case 'n':
        return wsf_jscan_word(s, "null", 4);
    default:
        return wsf_jscan_int(s);
    }
}

int wsf_jscan_object(wsf_jmember *out, size_t max, const char *buf, size_t len,
                     unsigned max_depth)
{
    wsf_jscan s = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0, max_depth};
    size_t n;
    if (len == 0 || buf[0] != '{' || !wsf_jscan_obj(&s, out, max, &n) || s.p != s.end)
        return -1;
    return (int)n;
}

bool wsf_jscan_key_is(const wsf_jmember *m, const char *key)
{
    size_t n = strlen(key);
    return m->key_len == n && memcmp(m->key, key, n) == 0;
}

const wsf_jmember *wsf_jscan_find(const wsf_jmember *m, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (wsf_jscan_key_is(&m[i], key))
            return &m[i];
    }
    return NULL;
}

bool wsf_jscan_uint(const wsf_jmember *m, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (m->val_len == 0 || m->val[0] < '0' || m->val[0] > '9')
        return false;
    for (size_t i = 0; i < m->val_len; i++)
        v = v * 10 + (uint64_t)(m->val[i] - '0'); /* at most 18 digits: no overflow */
    if (v > max)
        return false;
    *out = v;
    return true;
}

bool wsf_jscan_string(const wsf_jmember *m, const char **s, size_t *len)
{
    if (m->val_len < 2 || m->val[0] != '"')
        return false;
    *s = m->val + 1;
    *len = m->val_len - 2;
    return true;
}
