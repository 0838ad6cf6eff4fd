/* Test helper shared by the JWT suite and fuzz target: base64url without padding, the encoding of
 * every token segment, so tests can build tokens of their own. Free of Check. */
#ifndef JWT_TEST_UTIL_H
#define JWT_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Writes the base64url form of `len` bytes at `data` to `out` (room for len * 4 / 3 + 3 bytes),
 * without a terminating NUL; returns how many characters it wrote. */
static inline size_t b64url_encode(char *out, const void *data, size_t len)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const uint8_t *p = data;
    size_t n = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = a[(acc >> bits) & 63];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0)
        out[n++] = a[(acc << (6 - bits)) & 63];
    return n;
}

#endif
