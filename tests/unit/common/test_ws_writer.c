/* Unit tests for common/ws_writer.c: header encodings, whole frames parsed back by ws_parser in the
 * opposite role, and close payloads. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_parser.h"
#include "ws_utf8.h"
#include "ws_writer.h"
#include "ws_test_util.h"

Suite *ws_writer_suite(void);

static const uint8_t test_mask[4] = {0xA1, 0x00, 0x7F, 0xFE};

/* Expected header bytes for a length, built independently of the writer. */
static size_t expected_header(uint8_t *out, bool fin, int opcode, uint64_t len, const uint8_t *mask)
{
    size_t n = 0;
    uint8_t mask_bit = mask != NULL ? 0x80 : 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out[n++] = (uint8_t)(mask_bit | len);
    } else if (len < 65536) {
        out[n++] = (uint8_t)(mask_bit | 126);
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = (uint8_t)(mask_bit | 127);
        for (int i = 7; i >= 0; i--) {
            out[n++] = (uint8_t)(len >> (8 * i));
        }
    }
    if (mask != NULL) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

static const uint64_t header_lens[] = {0,     1,     125,        126,         127,
                                       65535, 65536, 0xFFFFFFFF, 0x100000000, INT64_MAX};

START_TEST(header_encodings)
{
    uint64_t len = header_lens[_i];
    static const int ops[] = {WS_OP_TEXT,  WS_OP_BINARY, WS_OP_CONT,
                              WS_OP_CLOSE, WS_OP_PING,   WS_OP_PONG};

    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
        for (int fin = 0; fin <= 1; fin++) {
            for (int masked = 0; masked <= 1; masked++) {
                const uint8_t *mask = masked ? test_mask : NULL;
                uint8_t got[WS_MAX_HEADER + 4];
                uint8_t want[WS_MAX_HEADER];
                memset(got, 0xEE, sizeof(got));
                size_t n = ws_frame_header(got, fin, ops[o], len, mask);
                size_t wn = expected_header(want, fin, ops[o], len, mask);
                ck_assert_msg(n == wn, "len %llu op %d fin %d masked %d: %zu bytes, want %zu",
                              (unsigned long long)len, ops[o], fin, masked, n, wn);
                ck_assert_mem_eq(got, want, wn);
                ck_assert_uint_le(n, WS_MAX_HEADER);
                /* Nothing written past the header. */
                for (size_t i = n; i < sizeof(got); i++) {
                    ck_assert_uint_eq(got[i], 0xEE);
                }
            }
        }
    }
}
END_TEST

START_TEST(header_sizes)
{
    uint8_t out[WS_MAX_HEADER];
    ck_assert_uint_eq(ws_frame_header(out, true, WS_OP_TEXT, 0, NULL), 2);
    ck_assert_uint_eq(ws_frame_header(out, true, WS_OP_TEXT, 0, test_mask), 6);
    ck_assert_uint_eq(ws_frame_header(out, true, WS_OP_TEXT, 125, NULL), 2);
    ck_assert_uint_eq(ws_frame_header(out, true, WS_OP_TEXT, 126, NULL), 4);
    ck_assert_uint_eq(ws_frame_header(out, true, WS_OP_TEXT, 65535, NULL), 4);
    ck_assert_uint_eq(ws_frame_header(out, true, WS_OP_TEXT, 65535, test_mask), 8);
    ck_assert_uint_eq(ws_frame_header(out, true, WS_OP_TEXT, 65536, NULL), 10);
    ck_assert_uint_eq(ws_frame_header(out, true, WS_OP_TEXT, 65536, test_mask), 14);

    /* Server frames carry no mask bit; client frames do. */
    ws_frame_header(out, true, WS_OP_BINARY, 5, NULL);
    ck_assert_uint_eq(out[0], 0x82);
    ck_assert_uint_eq(out[1], 0x05);
    ws_frame_header(out, false, WS_OP_BINARY, 5, test_mask);
    ck_assert_uint_eq(out[0], 0x02);
    ck_assert_uint_eq(out[1], 0x85);
    ck_assert_mem_eq(out + 2, test_mask, 4);
}
END_TEST

START_TEST(frame_size_matches_header)
{
    uint64_t len = header_lens[_i];
    uint8_t out[WS_MAX_HEADER];
    for (int masked = 0; masked <= 1; masked++) {
        size_t hdr = ws_frame_header(out, true, WS_OP_BINARY, len, masked ? test_mask : NULL);
        ck_assert_uint_eq(ws_frame_size(len, masked), hdr + len);
    }
}
END_TEST

static uint8_t *make_payload(size_t n, unsigned seed)
{
    uint8_t *p = ws_test_realloc(NULL, n);
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i * 13 + (i >> 9));
    }
    return p;
}

/* Writes one frame and parses it back in the opposite role: the payload must come out intact and
 * the input payload must not be touched. */
static void round_trip(size_t len, bool client, int opcode, bool fin)
{
    uint8_t *payload = make_payload(len, (unsigned)len);
    uint8_t *orig = make_payload(len, (unsigned)len);
    const uint8_t *mask = client ? test_mask : NULL;
    size_t size = ws_frame_size(len, client);
    uint8_t *frame = ws_test_realloc(NULL, size + 1);
    frame[size] = 0xEE;

    size_t n = ws_frame_write(frame, fin, opcode, payload, len, mask);
    ck_assert_uint_eq(n, size);
    ck_assert_uint_eq(frame[size], 0xEE);
    if (len > 0) {
        ck_assert_mem_eq(payload, orig, len);
    }
    if (client && len >= 4) {
        /* Masked on the wire: with this mask the first bytes must differ from the payload. */
        ck_assert(memcmp(frame + size - len, payload, 4) != 0);
    }

    ws_test_run r;
    ws_test_run_init(&r, client ? WS_ROLE_SERVER : WS_ROLE_CLIENT, 0, true);
    ws_test_run_feed(&r, frame, n, 0);
    ck_assert_ptr_null(r.broken);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 1);
    ck_assert_uint_eq(r.win.len, 0);
    const ws_test_rec *rec = ws_test_run_rec(&r, 0);
    if (opcode == WS_OP_PING || opcode == WS_OP_PONG) {
        ck_assert_int_eq(rec->kind, opcode == WS_OP_PING ? WS_EV_PING : WS_EV_PONG);
    } else {
        ck_assert_int_eq(rec->kind, WS_EV_DATA);
        ck_assert_int_eq(rec->opcode, opcode);
        ck_assert(rec->first);
        ck_assert_int_eq(rec->last, fin);
    }
    ck_assert_uint_eq(rec->len, len);
    if (len > 0) {
        ck_assert_mem_eq(ws_test_rec_data(&r, rec), orig, len);
    }
    ws_test_run_fini(&r);
    free(frame);
    free(orig);
    free(payload);
}

START_TEST(write_round_trip_binary)
{
    static const size_t lens[] = {0, 1, 3, 4, 5, 125, 126, 127, 1000, 65535, 65536, 100003};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        round_trip(lens[i], false, WS_OP_BINARY, true);
        round_trip(lens[i], true, WS_OP_BINARY, true);
        round_trip(lens[i], true, WS_OP_BINARY, false);
    }
}
END_TEST

START_TEST(write_round_trip_control)
{
    static const size_t lens[] = {0, 1, 4, 124, 125};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        round_trip(lens[i], false, WS_OP_PING, true);
        round_trip(lens[i], true, WS_OP_PING, true);
        round_trip(lens[i], false, WS_OP_PONG, true);
        round_trip(lens[i], true, WS_OP_PONG, true);
    }
}
END_TEST

START_TEST(write_round_trip_text)
{
    const char *text = "na\xC3\xAFve caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
    size_t len = strlen(text);
    for (int client = 0; client <= 1; client++) {
        uint8_t frame[64];
        size_t n = ws_frame_write(frame, true, WS_OP_TEXT, (const uint8_t *)text, len,
                                  client ? test_mask : NULL);
        ck_assert_uint_eq(n, ws_frame_size(len, client));
        ws_test_run r;
        ws_test_run_init(&r, client ? WS_ROLE_SERVER : WS_ROLE_CLIENT, 0, true);
        ws_test_run_feed(&r, frame, n, 1);
        ck_assert_ptr_null(r.broken);
        ck_assert_int_eq(r.result, 0);
        ck_assert_uint_eq(r.nrecs, 1);
        ck_assert_mem_eq(ws_test_rec_data(&r, &r.recs[0]), text, len);
        ws_test_run_fini(&r);
    }
}
END_TEST

/* A fragmented message written frame by frame and parsed back as one. */
START_TEST(write_fragments_round_trip)
{
    uint8_t *payload = make_payload(1000, 5);
    ws_test_bytes wire = {0};
    size_t cuts[] = {0, 1, 126, 127, 600, 1000};
    for (size_t i = 0; i + 1 < sizeof(cuts) / sizeof(cuts[0]); i++) {
        size_t len = cuts[i + 1] - cuts[i];
        uint8_t *dst = ws_test_bytes_room(&wire, ws_frame_size(len, true));
        bool fin = i + 2 == sizeof(cuts) / sizeof(cuts[0]);
        wire.len += ws_frame_write(dst, fin, i == 0 ? WS_OP_BINARY : WS_OP_CONT, payload + cuts[i],
                                   len, test_mask);
    }
    ws_test_run r;
    ws_test_run_init(&r, WS_ROLE_SERVER, 0, true);
    ws_test_run_feed(&r, wire.p, wire.len, 7);
    ck_assert_ptr_null(r.broken);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 1);
    ck_assert(r.recs[0].first);
    ck_assert(r.recs[0].last);
    ck_assert_uint_eq(r.recs[0].len, 1000);
    ck_assert_mem_eq(ws_test_rec_data(&r, &r.recs[0]), payload, 1000);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&wire);
    free(payload);
}
END_TEST

/* --- close payloads ------------------------------------------------------------------------ */

START_TEST(close_payload_code_and_reason)
{
    uint8_t out[WS_MAX_CONTROL_PAYLOAD];
    ck_assert_uint_eq(ws_close_payload(out, 1000, "bye"), 5);
    ck_assert_mem_eq(out,
                     "\x03\xE8"
                     "bye",
                     5);

    ck_assert_uint_eq(ws_close_payload(out, 4999, ""), 2);
    ck_assert_mem_eq(out, "\x13\x87", 2);

    ck_assert_uint_eq(ws_close_payload(out, 1009, "message too big"), 17);
    ck_assert_mem_eq(out,
                     "\x03\xF1"
                     "message too big",
                     17);
}
END_TEST

START_TEST(close_payload_code_zero_is_empty)
{
    uint8_t out[WS_MAX_CONTROL_PAYLOAD];
    ck_assert_uint_eq(ws_close_payload(out, 0, ""), 0);
    ck_assert_uint_eq(ws_close_payload(out, 0, "a reason nobody will see"), 0);
}
END_TEST

START_TEST(close_payload_truncated_to_125)
{
    char reason[301];
    for (size_t i = 0; i < 300; i++) {
        reason[i] = (char)('a' + i % 26);
    }
    reason[300] = '\0';

    uint8_t out[WS_MAX_CONTROL_PAYLOAD + 16];
    memset(out, 0xEE, sizeof(out));
    ck_assert_uint_eq(ws_close_payload(out, 1001, reason), WS_MAX_CONTROL_PAYLOAD);
    ck_assert_mem_eq(out, "\x03\xE9", 2);
    ck_assert_mem_eq(out + 2, reason, WS_MAX_CONTROL_PAYLOAD - 2);
    for (size_t i = WS_MAX_CONTROL_PAYLOAD; i < sizeof(out); i++) {
        ck_assert_uint_eq(out[i], 0xEE);
    }

    /* Exactly 123 bytes of reason fit without truncation; 124 lose one. */
    reason[123] = '\0';
    ck_assert_uint_eq(ws_close_payload(out, 1001, reason), 125);
    reason[123] = 'x';
    reason[124] = '\0';
    ck_assert_uint_eq(ws_close_payload(out, 1001, reason), 125);
    ck_assert_mem_eq(out + 2, reason, 123);
}
END_TEST

/* A reason cut at 123 bytes in the middle of a character would make the peer fail the connection
 * with 1007 (RFC 6455 §5.5.1, §8.1); the cut has to fall on a character boundary. */
START_TEST(close_payload_truncation_keeps_utf8_valid)
{
    for (size_t pad = 0; pad < 4; pad++) {
        char reason[200];
        memset(reason, 'p', pad);
        size_t n = pad;
        while (n + 4 < sizeof(reason)) {
            memcpy(reason + n, "\xF0\x9F\x98\x80", 4);
            n += 4;
        }
        reason[n] = '\0';
        uint8_t out[WS_MAX_CONTROL_PAYLOAD];
        size_t len = ws_close_payload(out, 1000, reason);
        ck_assert_uint_le(len, WS_MAX_CONTROL_PAYLOAD);
        ck_assert_uint_ge(len, WS_MAX_CONTROL_PAYLOAD - 3);
        ck_assert_msg(ws_utf8_is_valid(out + 2, len - 2), "pad %zu: reason cut inside a character",
                      pad);
    }
}
END_TEST

/* A close frame built from ws_close_payload parses back with its code. */
START_TEST(close_payload_round_trip)
{
    uint8_t body[WS_MAX_CONTROL_PAYLOAD];
    size_t blen = ws_close_payload(body, 3001, "going");
    uint8_t frame[WS_MAX_CONTROL_FRAME];
    size_t n = ws_frame_write(frame, true, WS_OP_CLOSE, body, blen, NULL);

    ws_parser p;
    ws_event ev;
    ws_parser_init(&p, WS_ROLE_CLIENT, 0);
    ck_assert_int_eq(ws_parser_next(&p, &ev, frame, n), (ssize_t)n);
    ck_assert_int_eq(ev.kind, WS_EV_CLOSE);
    ck_assert_uint_eq(ev.code, 3001);
}
END_TEST

Suite *ws_writer_suite(void)
{
    Suite *s = suite_create("ws_writer");

    TCase *tc = tcase_create("header");
    int nlens = (int)(sizeof(header_lens) / sizeof(header_lens[0]));
    tcase_add_loop_test(tc, header_encodings, 0, nlens);
    tcase_add_test(tc, header_sizes);
    tcase_add_loop_test(tc, frame_size_matches_header, 0, nlens);
    suite_add_tcase(s, tc);

    tc = tcase_create("write");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, write_round_trip_binary);
    tcase_add_test(tc, write_round_trip_control);
    tcase_add_test(tc, write_round_trip_text);
    tcase_add_test(tc, write_fragments_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("close");
    tcase_add_test(tc, close_payload_code_and_reason);
    tcase_add_test(tc, close_payload_code_zero_is_empty);
    tcase_add_test(tc, close_payload_truncated_to_125);
    tcase_add_test(tc, close_payload_truncation_keeps_utf8_valid);
    tcase_add_test(tc, close_payload_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
