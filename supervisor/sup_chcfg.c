/* The [nats] values and the effective channel settings the workers read. */
#include "sup_chcfg.h"

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

int sup_chcfg_add_urls(char *list, const char *value, char *why, size_t whylen)
{
    size_t have = sup_chcfg_count(list);
    const char *p = value;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0) {
            snprintf(why, whylen, "'%s': empty URL", value);
            return -1;
        }
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)p[i];
            if (ch <= ' ' || ch == 0x7f) {
                snprintf(why, whylen, "'%s': spaces and control characters are not allowed", value);
                return -1;
            }
        }
        if (++have > WSF_NATS_MAX_URLS) {
            snprintf(why, whylen, "more than %d URLs", WSF_NATS_MAX_URLS);
            return -1;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    size_t used = strlen(list);
    int n = snprintf(list + used, SUP_NATS_URLS_MAX - used, "%s%s", used ? "," : "", value);
    if (n < 0 || (size_t)n >= SUP_NATS_URLS_MAX - used) {
        list[used] = '\0';
        snprintf(why, whylen, "the URL list is longer than %d characters", SUP_NATS_URLS_MAX - 1);
        return -1;
    }
    return 0;
}

int sup_chcfg_check_stream(const char *name, char *why, size_t whylen)
{
    size_t len = strlen(name);
    if (len == 0 || len >= SUP_NATS_STREAM_MAX) {
        snprintf(why, whylen, "'%s' must be 1..%d characters", name, SUP_NATS_STREAM_MAX - 1);
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
