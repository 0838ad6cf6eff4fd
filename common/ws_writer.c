/* Frame writing for both roles (RFC 6455 §5.2). */
#include "ws_writer.h"

#include <string.h>

size_t ws_frame_header(uint8_t *out, bool fin, int opcode, uint64_t len, const uint8_t *mask)
{
    uint8_t mask_bit = mask ? 0x80 : 0;
    size_t n;

    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)(mask_bit | len);
        n = 2;
    } else if (len <= 0xFFFF) {
        out[1] = mask_bit | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        out[1] = mask_bit | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

size_t ws_frame_size(uint64_t len, bool masked)
{
    size_t header = len < 126 ? 2 : len <= 0xFFFF ? 4 : 10;
    return header + (masked ? 4 : 0) + (size_t)len;
}

size_t ws_frame_write(uint8_t *out, bool fin, int opcode, const uint8_t *payload, size_t len,
                      const uint8_t *mask)
{
    size_t n = ws_frame_header(out, fin, opcode, len, mask);
    if (len > 0)
        memcpy(out + n, payload, len);
    if (mask)
        ws_mask(out + n, len, mask, 0);
    return n + len;
}

size_t ws_close_payload(uint8_t *out, unsigned code, const char *reason)
{
    if (code == 0)
        return 0;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    size_t n = reason ? strlen(reason) : 0;
    if (n > WS_MAX_CONTROL_PAYLOAD - 2) {
        n = WS_MAX_CONTROL_PAYLOAD - 2;
        /* Cut at a character boundary so the reason stays valid UTF-8. */
        while (n > 0 && ((uint8_t)reason[n] & 0xC0) == 0x80)
            n--;
    }
    if (n > 0)
        memcpy(out + 2, reason, n);
    return 2 + n;
}
