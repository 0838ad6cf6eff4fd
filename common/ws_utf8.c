/* Incremental UTF-8 validation. Each lead byte fixes how many continuation bytes follow and the
 * range of the first of them, which is where overlong forms, surrogates and code points above
 * U+10FFFF are excluded (RFC 3629 §4); later continuation bytes are always 80..BF. Runs of ASCII
 * are skipped a machine word at a time (four words at a time once a run has begun), and a
 * character whose bytes are all in the chunk is checked whole; only one split between chunks goes
 * byte by byte. */
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

/* Bytes before the first one with its high bit set, given the word's high bits (not 0). */
static inline size_t ws_utf8_ascii_run(uint64_t high)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (size_t)__builtin_clzll(high) >> 3;
#else
    return (size_t)__builtin_ctzll(high) >> 3;
#endif
}

static inline uint64_t ws_utf8_word(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* True when the 32 bytes at p are all ASCII: four words tested at once. */
static inline bool ws_utf8_ascii32(const uint8_t *p)
{
    uint64_t any = ws_utf8_word(p) | ws_utf8_word(p + 8) | ws_utf8_word(p + 16) |
                   ws_utf8_word(p + 24);
    return (any & WS_UTF8_HIGH_BITS) == 0;
}

static inline bool ws_utf8_ascii4(const uint8_t *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return (w & 0x80808080u) == 0;
}

static inline bool ws_utf8_is_cont(uint8_t c)
{
    return (c & 0xC0) == 0x80;
}

static int ws_utf8_save(ws_utf8 *s, unsigned need, unsigned lo, unsigned hi)
{
    s->need = (uint8_t)need;
    s->lo = (uint8_t)lo;
    s->hi = (uint8_t)hi;
    return 0;
}

int ws_utf8_feed(ws_utf8 *s, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;

    /* A character split by the previous chunk is finished byte by byte. */
    if (s->need > 0) {
        unsigned need = s->need, lo = s->lo, hi = s->hi;
        for (; need > 0; need--, lo = 0x80, hi = 0xBF) {
            if (p == end)
                return ws_utf8_save(s, need, lo, hi);
            uint8_t c = *p++;
            if (c < lo || c > hi)
                return -1;
        }
    }

    while (p != end) {
        /* ASCII a word at a time; a word with a high bit skips to that byte. */
        if (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, sizeof w);
            uint64_t high = w & WS_UTF8_HIGH_BITS;
            if (high == 0) {
                /* A run of ASCII: the rest of it 32 bytes at a time. Only after an all-ASCII
                 * word, so that text of other scripts does not pay for a test that fails. */
                p += 8;
                while (end - p >= 32 && ws_utf8_ascii32(p))
                    p += 32;
                continue;
            }
            p += ws_utf8_ascii_run(high);
        } else if (end - p >= 4 && ws_utf8_ascii4(p)) {
            p += 4;
            continue;
        } else if (*p < 0x80) {
            p++;
            continue;
        }

        /* A lead byte and, when the chunk holds them, all its continuation bytes at once. */
        struct ws_utf8_lead lead = ws_utf8_lead_of(*p);
        if (lead.need == 0)
            return -1;
        if ((size_t)(end - p) > lead.need) {
            if (p[1] < lead.lo || p[1] > lead.hi)
                return -1;
            if (lead.need >= 2 && !ws_utf8_is_cont(p[2]))
                return -1;
            if (lead.need == 3 && !ws_utf8_is_cont(p[3]))
                return -1;
            p += lead.need + 1;
            continue;
        }

        /* The chunk ends inside this character: check what is here, keep the rest. */
        unsigned need = lead.need, lo = lead.lo, hi = lead.hi;
        for (p++; p != end; p++, need--, lo = 0x80, hi = 0xBF) {
            if (*p < lo || *p > hi)
                return -1;
        }
        return ws_utf8_save(s, need, lo, hi);
    }
    return ws_utf8_save(s, 0, 0x80, 0xBF);
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
