/* libFuzzer target for ws_deflate's inflate path: the input (after a byte choosing the bound and
 * context takeover) is inflated as a received message, twice on the same stream; the result never
 * exceeds the bound, an error is only 1009 or 1007, and the input, compressed and inflated back,
 * comes back unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_deflate.h"
#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_ws_inflate: %s\n", what);
    abort();
}

static void inflate_once(ws_zinflate *z, const uint8_t *in, size_t len, uint64_t max, bool reset)
{
    wsf_buf out = {0};
    int r = ws_zinflate_message(z, &out, in, len, max, reset);
    if (r != 0 && r != -WS_CLOSE_TOO_BIG && r != -WS_CLOSE_INVALID_DATA)
        fail("unexpected return");
    if (r == 0 && wsf_buf_pending(&out) > max)
        fail("more than the bound accepted");
    if (wsf_buf_pending(&out) > max + 1)
        fail("output past the bound");
    wsf_buf_fini(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint64_t max = (uint64_t)1 << (8 + (data[0] & 15)); /* 256 B .. 8 MiB */
    bool reset = data[0] & 16;
    int bits = 9 + (data[0] >> 5); /* 9..16, clamped below */
    if (bits > 15)
        bits = 15;
    const uint8_t *in = data + 1;
    size_t len = size - 1;

    ws_zinflate *z = ws_zinflate_new();
    inflate_once(z, in, len, max, reset);
    inflate_once(z, in, len, max, reset);

    /* Round trip: compress the input, inflate it back, twice on kept or reset contexts (on a
     * fresh inflater: the one above may have been left inside a block by the raw input). */
    ws_zinflate_free(z);
    z = ws_zinflate_new();
    ws_zdeflate *d = ws_zdeflate_new(bits);
    for (int i = 0; i < 2; i++) {
        wsf_buf packed = {0}, back = {0};
        ws_zdeflate_message(d, &packed, in, len, reset);
        if (ws_zinflate_message(z, &back, packed.data + packed.off, wsf_buf_pending(&packed), len,
                                reset) != 0)
            fail("round trip failed");
        if (wsf_buf_pending(&back) != len ||
            (len > 0 && memcmp(back.data + back.off, in, len) != 0))
            fail("round trip differs");
        wsf_buf_fini(&packed);
        wsf_buf_fini(&back);
    }
    ws_zdeflate_free(d);
    ws_zinflate_free(z);
    return 0;
}
