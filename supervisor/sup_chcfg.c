/* The [nats] values and the effective channel settings the workers read. */
#include "sup_chcfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "wsf_nats.h"

/* Counts the URLs of a comma list; 0 for an empty list. */
static size_t sup_chcfg_count(const char *list)
{
    size_t n = list[0] != '\0';
    for (const char *p = list; *p; p++)
        n += *p == ',';
    return n;
}

static bool sup_chcfg_is_sep(char ch)
{
    return ch == ',' || ch == ' ' || ch == '\t';
}

/* Checks one URL u[0..len): [nats://|tls://][userinfo@]host[:port], host a name, an IPv4 address
 * or a bracketed IPv6 address, port 1..65535. Returns NULL or what is wrong. */
static const char *sup_chcfg_check_url(const char *u, size_t len)
{
    const char *p = u, *end = u + len;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)u[i];
        if (ch < ' ' || ch >= 0x7f)
            return "control characters are not allowed";
    }
    const char *scheme = memmem(u, len, "://", 3);
    if (scheme != NULL) {
        size_t slen = (size_t)(scheme - u);
        if (!((slen == 4 && memcmp(u, "nats", 4) == 0) || (slen == 3 && memcmp(u, "tls", 3) == 0)))
            return "the scheme must be nats:// or tls://";
        p = scheme + 3;
    }
    for (const char *q = end; q > p; q--) {
        if (q[-1] == '@') {
            p = q;
            break;
        }
    }
    const char *host = p;
    if (p < end && *p == '[') {
        while (p < end && *p != ']') {
            if (!(isxdigit((unsigned char)*p) || *p == ':' || *p == '.' || *p == '['))
                return "bad IPv6 address";
            p++;
        }
        if (p == end)
            return "bad IPv6 address";
        p++;
    } else {
        while (p < end && (isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_'))
            p++;
    }
    if (p == host)
        return "no host";
    if (p < end && *p == ':') {
        unsigned long port = 0;
        const char *digits = ++p;
        while (p < end && isdigit((unsigned char)*p) && port <= 65535)
            port = port * 10 + (unsigned long)(*p++ - '0');
        if (p == digits || port == 0 || port > 65535)
            return "the port must be 1..65535";
    }
    if (p != end)
        return "not [nats://|tls://][user@]host[:port]";
    return NULL;
}

int sup_chcfg_add_urls(char *list, const char *value, char *why, size_t whylen)
{
    size_t have = sup_chcfg_count(list);
    size_t used = strlen(list), start = used;
    const char *p = value;
    while (sup_chcfg_is_sep(*p) && *p != ',')
        p++;
    if (*p == '\0') {
        snprintf(why, whylen, "'%s': empty URL", value);
        return -1;
    }
    for (;;) {
        size_t len = 0;
        while (p[len] != '\0' && !sup_chcfg_is_sep(p[len]))
            len++;
        const char *bad = len == 0 ? "empty URL" : sup_chcfg_check_url(p, len);
        if (bad != NULL) {
            list[start] = '\0';
            snprintf(why, whylen, "'%.*s': %s", (int)(len > 0 ? len : strlen(value)),
                     len > 0 ? p : value, bad);
            return -1;
        }
        if (++have > WSF_NATS_MAX_URLS) {
            list[start] = '\0';
            snprintf(why, whylen, "more than %d URLs", WSF_NATS_MAX_URLS);
            return -1;
        }
        int n = snprintf(list + used, SUP_NATS_URLS_MAX - used, "%s%.*s", used ? "," : "",
                         (int)len, p);
        if (n < 0 || (size_t)n >= SUP_NATS_URLS_MAX - used) {
            list[start] = '\0';
            snprintf(why, whylen, "the URL list is longer than %d characters",
                     SUP_NATS_URLS_MAX - 1);
            return -1;
        }
        used += (size_t)n;
        p += len;
        /* Separators: one comma and any blanks around it, or blanks alone. */
        bool comma = false;
        while (sup_chcfg_is_sep(*p)) {
            if (*p == ',') {
                if (comma) {
                    list[start] = '\0';
                    snprintf(why, whylen, "'%s': empty URL", value);
                    return -1;
                }
                comma = true;
            }
            p++;
        }
        if (*p == '\0') {
            if (comma) {
                list[start] = '\0';
                snprintf(why, whylen, "'%s': empty URL", value);
                return -1;
            }
            break;
        }
    }
    return 0;
}

int sup_chcfg_check_token(const char *name, size_t max, char *why, size_t whylen)
{
    size_t len = strlen(name);
    if (len == 0 || len > max) {
        snprintf(why, whylen, "'%s' must be 1..%zu characters", name, max);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok) {
            snprintf(why, whylen, "'%s' may hold only letters, digits, '_' and '-'", name);
            return -1;
        }
    }
    return 0;
}

int sup_chcfg_check_stream(const char *name, char *why, size_t whylen)
{
    return sup_chcfg_check_token(name, SUP_NATS_STREAM_MAX - 1, why, whylen);
}

typedef struct sup_chcfg_out {
    char *buf;
    size_t size, len;
    bool full;
} sup_chcfg_out;

__attribute__((format(printf, 2, 3))) static void sup_chcfg_put(sup_chcfg_out *o, const char *fmt,
                                                                ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->size - o->len) {
        o->full = true;
        return;
    }
    o->len += (size_t)n;
}

static void sup_chcfg_section(sup_chcfg_out *o, const char *header, const wsf_ch_settings *s,
                              uint32_t *max_size, uint32_t *max_ttl_s)
{
    sup_chcfg_put(o,
                  "[%s]\nhistory_size = %u\nhistory_ttl = %u\npublish = %s\nsubscribe = %s\n"
                  "presence = %s\n",
                  header, s->history_size, s->history_ttl_s, wsf_chconf_publish_name(s->publish),
                  wsf_chconf_subscribe_name(s->subscribe), s->presence ? "yes" : "no");
    if (s->history_size > *max_size)
        *max_size = s->history_size;
    if (s->history_ttl_s > *max_ttl_s)
        *max_ttl_s = s->history_ttl_s;
}

int sup_chcfg_render(char *out, size_t size, const wsf_chconf *c, uint32_t *max_size,
                     uint32_t *max_ttl_s)
{
    sup_chcfg_out o = {.buf = out, .size = size};
    char header[WSF_CHCONF_MAX_NAME + 16], probe[WSF_CHCONF_MAX_NAME + 3];
    if (size == 0)
        return -ENOSPC;
    out[0] = '\0';
    *max_size = 0;
    *max_ttl_s = 0;
    sup_chcfg_section(&o, "channels", &c->defaults, max_size, max_ttl_s);
    for (size_t i = 0; i < c->nns; i++) {
        wsf_ch_settings s;
        /* The lookup of a channel of the namespace gives its effective settings. */
        int n = snprintf(probe, sizeof probe, "%s:x", c->ns[i].name);
        if (wsf_chconf_lookup(&s, c, probe, (size_t)n) != 0)
            s = c->ns[i].s;
        snprintf(header, sizeof header, "namespace %s", c->ns[i].name);
        sup_chcfg_put(&o, "\n");
        sup_chcfg_section(&o, header, &s, max_size, max_ttl_s);
    }
    if (o.full) {
        out[0] = '\0';
        return -ENOSPC;
    }
    return (int)o.len;
}
