/* Masking and close-code rules shared by the parser and the writer. */
#include "ws_frame.h"

#include <string.h>

unsigned ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], unsigned offset)
{
    /* Eight mask bytes starting at the current offset: since 8 is a multiple of 4, the same word
     * lines up with every following 8-byte block. */
    uint8_t rot[8];
    for (unsigned k = 0; k < 8; k++)
        rot[k] = mask[(offset + k) & 3];
    uint64_t m;
    memcpy(&m, rot, sizeof m);

    size_t i = 0;
    for (; len - i >= 32; i += 32) {
        uint64_t w[4];
        memcpy(w, data + i, sizeof w);
        w[0] ^= m;
        w[1] ^= m;
        w[2] ^= m;
        w[3] ^= m;
        memcpy(data + i, w, sizeof w);
    }
    for (; len - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, sizeof w);
        w ^= m;
        memcpy(data + i, &w, sizeof w);
    }
    for (; i < len; i++)
        data[i] ^= rot[i & 7];
    return (unsigned)((offset + len) & 3);
}

bool ws_close_code_is_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}
