/* Masking and close-code rules shared by the parser and the writer. */
#include "ws_frame.h"

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__

#define WS_MASK_ALIGN_MIN 64

/* The mask as a 64-bit word whose lowest byte applies to the next payload byte: the 4-byte mask
 * loaded at once and rotated by the offset, then doubled. */
static inline uint64_t ws_mask_word(const uint8_t mask[4], unsigned offset)
{
    uint32_t m;
    memcpy(&m, mask, sizeof m);
    unsigned r = (offset & 3) * 8;
    m = r == 0 ? m : (m >> r) | (m << (32 - r));
    return (uint64_t)m | (uint64_t)m << 32;
}

/* m moved on n bytes (the mask repeats every 4). */
static inline uint64_t ws_mask_advance(uint64_t m, size_t n)
{
    unsigned r = (unsigned)(n & 3) * 8;
    return r == 0 ? m : (m >> r) | (m << (64 - r));
}

/* XORs a piece of 1, 2 or 4 bytes at p with the low bytes of m; returns m moved on past them.
 * Pieces of 1, 2, 4 reach an 8-byte boundary from any address; 4, 2, 1 finish a tail. */
static inline uint64_t ws_mask_piece(uint8_t *p, unsigned width, uint64_t m)
{
    if (width == 1) {
        *p ^= (uint8_t)m;
    } else if (width == 2) {
        uint16_t v;
        memcpy(&v, p, sizeof v);
        v ^= (uint16_t)m;
        memcpy(p, &v, sizeof v);
    } else {
        uint32_t v;
        memcpy(&v, p, sizeof v);
        v ^= (uint32_t)m;
        memcpy(p, &v, sizeof v);
    }
    return m >> (width * 8);
}

unsigned ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], unsigned offset)
{
    unsigned end_off = (unsigned)((offset + len) & 3);
    uint64_t m = ws_mask_word(mask, offset);
    uint8_t *p = data;

    /* Head: up to 7 bytes, to the first 8-byte boundary, when enough words follow for aligned
     * access to pay (unaligned words cost the same on short runs). */
    size_t head = len >= WS_MASK_ALIGN_MIN ? (size_t)(-(uintptr_t)p & 7) : 0;
    if (head != 0) {
        uint64_t h = m;
        if (head & 1)
            h = ws_mask_piece(p, 1, h), p += 1;
        if (head & 2)
            h = ws_mask_piece(p, 2, h), p += 2;
        if (head & 4)
            h = ws_mask_piece(p, 4, h), p += 4;
        m = ws_mask_advance(m, head);
        len -= head;
    }

    /* Middle: aligned words, four at a time while there are. */
    for (; len >= 32; len -= 32, p += 32) {
        uint64_t w[4];
        memcpy(w, p, sizeof w);
        w[0] ^= m;
        w[1] ^= m;
        w[2] ^= m;
        w[3] ^= m;
        memcpy(p, w, sizeof w);
    }
    for (; len >= 8; len -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, sizeof w);
        w ^= m;
        memcpy(p, &w, sizeof w);
    }

    /* Tail: 0 to 7 bytes, from an 8-byte boundary. */
    if (len & 4)
        m = ws_mask_piece(p, 4, m), p += 4;
    if (len & 2)
        m = ws_mask_piece(p, 2, m), p += 2;
    if (len & 1)
        ws_mask_piece(p, 1, m);
    return end_off;
}

#else

unsigned ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], unsigned offset)
{
    for (size_t i = 0; i < len; i++)
        data[i] ^= mask[(offset + i) & 3];
    return (unsigned)((offset + len) & 3);
}

#endif

bool ws_close_code_is_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}
