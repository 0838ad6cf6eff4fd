/* Incremental UTF-8 validation. Each lead byte fixes how many continuation bytes follow and the
 * range of the first of them, which is where overlong forms, surrogates and code points above
 * U+10FFFF are excluded (RFC 3629 §4); later continuation bytes are always 80..BF. Runs of ASCII
 * are skipped a machine word at a time. */
#include "ws_utf8.h"

#include <string.h>

#define WS_UTF8_HIGH_BITS 0x8080808080808080ull

/* Lead byte → {continuation bytes, lowest and highest allowed next byte}; need 0 = invalid. */
struct ws_utf8_lead {
    uint8_t need, lo, hi;
};

static struct ws_utf8_lead ws_utf8_lead_of(uint8_t c)
{
    if (c < 0xC2)
        return (struct ws_utf8_lead){0, 0, 0}; /* stray continuation or overlong 2-byte lead */
    if (c < 0xE0)
        return (struct ws_utf8_lead){1, 0x80, 0xBF};
    if (c == 0xE0)
        return (struct ws_utf8_lead){2, 0xA0, 0xBF}; /* excludes overlong 3-byte forms */
    if (c == 0xED)
        return (struct ws_utf8_lead){2, 0x80, 0x9F}; /* excludes surrogates D800..DFFF */
    if (c < 0xF0)
        return (struct ws_utf8_lead){2, 0x80, 0xBF};
    if (c == 0xF0)
        return (struct ws_utf8_lead){3, 0x90, 0xBF}; /* excludes overlong 4-byte forms */
    if (c < 0xF4)
        return (struct ws_utf8_lead){3, 0x80, 0xBF};
    if (c == 0xF4)
        return (struct ws_utf8_lead){3, 0x80, 0x8F}; /* stops at U+10FFFF */
    return (struct ws_utf8_lead){0, 0, 0};
}

void ws_utf8_init(ws_utf8 *s)
{
    s->need = 0;
    s->lo = 0x80;
    s->hi = 0xBF;
}

int ws_utf8_feed(ws_utf8 *s, const uint8_t *p, size_t len)
{
    size_t i = 0;
    unsigned need = s->need, lo = s->lo, hi = s->hi;

    while (i < len) {
        if (need == 0) {
            while (len - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, sizeof w);
                if (w & WS_UTF8_HIGH_BITS)
                    break;
                i += 8;
            }
            if (i == len)
                break;
            uint8_t c = p[i++];
            if (c < 0x80)
                continue;
            struct ws_utf8_lead lead = ws_utf8_lead_of(c);
            if (lead.need == 0)
                return -1;
            need = lead.need;
            lo = lead.lo;
            hi = lead.hi;
        } else {
            uint8_t c = p[i++];
            if (c < lo || c > hi)
                return -1;
            need--;
            lo = 0x80;
            hi = 0xBF;
        }
    }
    s->need = (uint8_t)need;
    s->lo = (uint8_t)lo;
    s->hi = (uint8_t)hi;
    return 0;
}

bool ws_utf8_is_complete(const ws_utf8 *s)
{
    return s->need == 0;
}

bool ws_utf8_is_valid(const uint8_t *p, size_t len)
{
    ws_utf8 s;
    ws_utf8_init(&s);
    return ws_utf8_feed(&s, p, len) == 0 && ws_utf8_is_complete(&s);
}
