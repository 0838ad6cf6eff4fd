/* libFuzzer target for ws_parser (server role): the input is fed whole, split in two at a point the
 * input chooses, and one byte at a time; the runs must keep the parser's contract and agree.
 * Input layout: byte 0 picks max_message (x16, 0 = no limit), byte 1 the split point, the rest
 * is the byte stream from the client. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_parser.h"
#include "ws_test_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_ws_parser: %s: %s\n", what, detail != NULL ? detail : "");
    abort();
}

/* Parses an exact-size copy of the input, so that ASan sees any read past its end, and returns
 * the final result: the error code, or 0. */
static ssize_t parse_exact(const uint8_t *in, size_t len, uint64_t max_message)
{
    uint8_t *buf = malloc(len == 0 ? 1 : len);
    if (buf == NULL) {
        abort();
    }
    if (len > 0) {
        memcpy(buf, in, len);
    }
    ws_parser p;
    ws_parser_init(&p, WS_ROLE_SERVER, max_message);
    ssize_t result = 0;
    size_t off = 0;
    while (off < len) {
        ws_event ev;
        ssize_t got = ws_parser_next(&p, &ev, buf + off, len - off);
        if (got <= 0) {
            result = got < 0 ? got : 0;
            break;
        }
        if ((size_t)got > len - off) {
            fail("exact", "consumed more bytes than given");
        }
        if (ev.kind != WS_EV_NONE && ev.len > 0 &&
            (ev.data < buf + off || ev.data + ev.len > buf + off + got)) {
            fail("exact", "event payload outside the consumed bytes");
        }
        off += (size_t)got;
        if (ev.kind == WS_EV_CLOSE) {
            break;
        }
    }
    free(buf);
    return result;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    uint64_t max_message = (uint64_t)data[0] * 16;
    const uint8_t *in = data + 2;
    size_t len = size - 2;
    size_t split = len * data[1] / 255;

    ws_test_run whole;
    ws_test_run halves;
    ws_test_run bytes;
    ws_test_run_init(&whole, WS_ROLE_SERVER, max_message, true);
    ws_test_run_init(&halves, WS_ROLE_SERVER, max_message, true);
    ws_test_run_init(&bytes, WS_ROLE_SERVER, max_message, true);

    ws_test_run_push(&whole, in, len);
    ws_test_run_push(&halves, in, split);
    ws_test_run_push(&halves, in + split, len - split);
    ws_test_run_feed(&bytes, in, len, 1);

    if (whole.broken != NULL) {
        fail("whole", whole.broken);
    }
    if (halves.broken != NULL) {
        fail("split", halves.broken);
    }
    if (bytes.broken != NULL) {
        fail("byte by byte", bytes.broken);
    }
    if (!ws_test_run_agree(&whole, &halves)) {
        fail("whole and split runs disagree", NULL);
    }
    if (!ws_test_run_agree(&whole, &bytes)) {
        fail("whole and byte-by-byte runs disagree", NULL);
    }
    if (parse_exact(in, len, max_message) != whole.result) {
        fail("exact-size run disagrees", NULL);
    }

    ws_test_run_fini(&whole);
    ws_test_run_fini(&halves);
    ws_test_run_fini(&bytes);
    return 0;
}
