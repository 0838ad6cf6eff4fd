/* Deterministic message bodies for wsload: a tag spelled out at the front, then a slice of a fixed
 * pattern chosen by the tag. */
#include "chaos_payload.h"

#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"

void chaos_payload_init(chaos_payload *p, size_t size, bool binary)
{
    size_t n = size + CHAOS_PATTERN_SPAN;
    uint32_t x = 0x2545f491u;

    p->size = size;
    p->binary = binary;
    p->pattern = wsf_xmalloc(n);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        /* Text stays in printable ASCII so every message is valid UTF-8. */
        p->pattern[i] = binary ? (uint8_t)(x >> 24) : (uint8_t)(' ' + (x >> 24) % 95);
    }
}

void chaos_payload_fini(chaos_payload *p)
{
    free(p->pattern);
    p->pattern = NULL;
}

uint32_t chaos_payload_tag(size_t conn, uint64_t seq)
{
    return (uint32_t)(conn * 0x9e3779b1u + seq);
}

/* The first CHAOS_TAG_BYTES bytes of a message: the tag as hex digits (text) or little-endian bytes
 * repeated (binary). */
static void chaos_payload_head(const chaos_payload *p, uint8_t out[CHAOS_TAG_BYTES], uint32_t tag)
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < CHAOS_TAG_BYTES; i++) {
        if (p->binary) {
            out[i] = (uint8_t)(tag >> (8 * (i % 4)));
        } else {
            out[i] = (uint8_t)hex[(tag >> (28 - 4 * i)) & 0xf];
        }
    }
}

void chaos_payload_fill(const chaos_payload *p, uint8_t *out, uint32_t tag)
{
    uint8_t head[CHAOS_TAG_BYTES];
    size_t nhead = p->size < CHAOS_TAG_BYTES ? p->size : CHAOS_TAG_BYTES;

    chaos_payload_head(p, head, tag);
    memcpy(out, head, nhead);
    if (p->size > nhead) {
        memcpy(out + nhead, p->pattern + tag % CHAOS_PATTERN_SPAN + nhead, p->size - nhead);
    }
}

bool chaos_payload_matches(const chaos_payload *p, const uint8_t *data, size_t len, uint32_t tag,
                           size_t off)
{
    if (off > p->size || len > p->size - off) {
        return false;
    }
    if (off < CHAOS_TAG_BYTES) {
        uint8_t head[CHAOS_TAG_BYTES];
        chaos_payload_head(p, head, tag);
        size_t n = CHAOS_TAG_BYTES - off;
        if (n > len) {
            n = len;
        }
        if (memcmp(data, head + off, n) != 0) {
            return false;
        }
        data += n;
        len -= n;
        off += n;
    }
    return memcmp(data, p->pattern + tag % CHAOS_PATTERN_SPAN + off, len) == 0;
}
