/* Unit tests for common/ws_parser.c's framing against RFC 6455 §5.2-§5.5: lengths, masking, header
 * bits, control frames, fragmentation and max_message. Every input is also fed one byte at a time
 * and in odd-sized pieces, and must come out the same. UTF-8 in text messages and the bodies of
 * close frames have their own suite, test_ws_parser_utf8_close.c. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "ws_parser.h"
#include "ws_parser_test_util.h"

Suite *ws_parser_suite(void);

/* A payload of n bytes with a pattern that shows misplaced or unmasked bytes. */
static uint8_t *make_payload(size_t n)
{
    uint8_t *p = ws_test_realloc(NULL, n);
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 7 + (i >> 8));
    }
    return p;
}

/* --- frames and lengths ------------------------------------------------------------------- */

START_TEST(single_text_frame)
{
    ws_test_bytes in = {0};
    put_client(&in, FIN | WS_OP_TEXT, "Hello", 5);

    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 1);
    expect_data(&r, 0, WS_OP_TEXT, true, true, "Hello", 5);
    ck_assert_uint_eq(r.win.len, 0);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

/* RFC 6455 §5.7: the unmasked and masked "Hello" examples, byte for byte. */
START_TEST(rfc_examples)
{
    uint8_t unmasked[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    ws_parser p;
    ws_event ev;

    ws_parser_init(&p, WS_ROLE_CLIENT, 0);
    ck_assert_int_eq(ws_parser_next(&p, &ev, unmasked, sizeof(unmasked)), sizeof(unmasked));
    ck_assert_int_eq(ev.kind, WS_EV_DATA);
    ck_assert_int_eq(ev.opcode, WS_OP_TEXT);
    ck_assert(ev.first);
    ck_assert(ev.last);
    ck_assert_uint_eq(ev.len, 5);
    ck_assert_ptr_eq(ev.data, unmasked + 2);
    ck_assert_mem_eq(ev.data, "Hello", 5);

    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    ck_assert_int_eq(ws_parser_next(&p, &ev, masked, sizeof(masked)), sizeof(masked));
    ck_assert_int_eq(ev.kind, WS_EV_DATA);
    ck_assert(ev.first);
    ck_assert(ev.last);
    ck_assert_uint_eq(ev.len, 5);
    ck_assert_ptr_eq(ev.data, masked + 6);
    ck_assert_mem_eq(ev.data, "Hello", 5);
}
END_TEST

/* Payload lengths at the edges of the 7-, 16- and 64-bit encodings, both roles. */
START_TEST(length_encodings)
{
    static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70001};
    size_t n = lens[_i];
    uint8_t *payload = make_payload(n);

    for (int role = WS_ROLE_SERVER; role <= WS_ROLE_CLIENT; role++) {
        ws_test_bytes in = {0};
        ws_test_put_frame(&in, FIN | WS_OP_BINARY, role == WS_ROLE_SERVER ? test_mask : NULL,
                          payload, n);
        size_t header = (n <= 125 ? 2 : n <= 0xFFFF ? 4 : 10) + (role == WS_ROLE_SERVER ? 4 : 0);
        ck_assert_uint_eq(in.len, header + n);

        ws_test_run r;
        run_all_ways(&r, (enum ws_role)role, 0, &in);
        ck_assert_int_eq(r.result, 0);
        ck_assert_uint_eq(r.nrecs, 1);
        expect_data(&r, 0, WS_OP_BINARY, true, true, payload, n);
        ck_assert_uint_eq(r.win.len, 0);
        ws_test_run_fini(&r);
        ws_test_bytes_fini(&in);
    }
    free(payload);
}
END_TEST

START_TEST(length_64bit_top_bit_set)
{
    /* Masked binary frame claiming 2^63 + 5 bytes; the error is due at the header. */
    uint8_t hdr[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4};
    ws_test_bytes in = {0};
    ws_test_bytes_put(&in, hdr, sizeof(hdr));
    expect_server_error(&in, WS_CLOSE_PROTOCOL);

    in.p[2] = 0xFF;
    expect_server_error(&in, WS_CLOSE_PROTOCOL);
    ws_test_bytes_fini(&in);
}
END_TEST

/* A large 64-bit length below 2^63 is fine as long as max_message allows it: the payload is
 * delivered as it arrives, never buffered. */
START_TEST(length_64bit_large_streams)
{
    uint8_t hdr[] = {0x02, 0xFF, 0x00, 0, 0, 1, 0, 0, 0, 0, 9, 9, 9, 9};
    uint8_t chunk[100];
    memset(chunk, 0, sizeof(chunk));

    ws_test_run r;
    ws_test_run_init(&r, WS_ROLE_SERVER, 0, true);
    ws_test_run_push(&r, hdr, sizeof(hdr));
    ws_test_run_push(&r, chunk, sizeof(chunk));
    ck_assert_ptr_null(r.broken);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 1);
    const ws_test_rec *rec = ws_test_run_rec(&r, 0);
    ck_assert_int_eq(rec->kind, WS_EV_DATA);
    ck_assert(rec->first);
    ck_assert(!rec->last);
    ck_assert_uint_eq(rec->len, sizeof(chunk));
    ws_test_run_fini(&r);
}
END_TEST

/* --- masking and role ---------------------------------------------------------------------- */

START_TEST(server_rejects_unmasked_frame)
{
    expect_frame_error(WS_ROLE_SERVER, 0, NULL, FIN | WS_OP_TEXT, "hi", 2, WS_CLOSE_PROTOCOL);
    expect_frame_error(WS_ROLE_SERVER, 0, NULL, FIN | WS_OP_PING, "", 0, WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(client_rejects_masked_frame)
{
    expect_frame_error(WS_ROLE_CLIENT, 0, test_mask, FIN | WS_OP_TEXT, "hi", 2, WS_CLOSE_PROTOCOL);
    expect_frame_error(WS_ROLE_CLIENT, 0, test_mask, FIN | WS_OP_CLOSE, "", 0, WS_CLOSE_PROTOCOL);
}
END_TEST

/* Data comes out unmasked in place, whatever the mask and wherever the payload starts. */
START_TEST(payload_unmasked_in_place)
{
    static const uint8_t masks[][4] = {{0, 0, 0, 0}, {0xFF, 0xFF, 0xFF, 0xFF}, {1, 2, 3, 4}};
    uint8_t *payload = make_payload(300);

    for (size_t m = 0; m < 3; m++) {
        for (size_t n = 0; n < 300; n += 37) {
            ws_test_bytes in = {0};
            ws_test_put_frame(&in, FIN | WS_OP_BINARY, masks[m], payload, n);
            ws_test_run r;
            run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
            ck_assert_int_eq(r.result, 0);
            expect_data(&r, 0, WS_OP_BINARY, true, true, payload, n);
            ws_test_run_fini(&r);
            ws_test_bytes_fini(&in);
        }
    }
    free(payload);
}
END_TEST

/* --- header bits and opcodes --------------------------------------------------------------- */

START_TEST(rsv_bits_rejected)
{
    static const unsigned rsv[] = {RSV1, RSV2, RSV3, RSV1 | RSV2 | RSV3};
    expect_client_error(FIN | rsv[_i] | WS_OP_TEXT, "x", 1, WS_CLOSE_PROTOCOL);
    expect_client_error(FIN | rsv[_i] | WS_OP_PING, "", 0, WS_CLOSE_PROTOCOL);

    /* On a continuation frame too. */
    ws_test_bytes in = {0};
    put_client(&in, WS_OP_BINARY, "a", 1);
    put_client(&in, FIN | rsv[_i] | WS_OP_CONT, "b", 1);
    expect_server_error(&in, WS_CLOSE_PROTOCOL);
    ws_test_bytes_fini(&in);
}
END_TEST

START_TEST(reserved_opcodes_rejected)
{
    static const unsigned ops[] = {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF};
    expect_client_error(FIN | ops[_i], "abc", 3, WS_CLOSE_PROTOCOL);

    /* Without FIN, and in the client role as well. */
    expect_client_error(ops[_i], "", 0, WS_CLOSE_PROTOCOL);
    expect_frame_error(WS_ROLE_CLIENT, 0, NULL, FIN | ops[_i], "abc", 3, WS_CLOSE_PROTOCOL);
}
END_TEST

/* --- control frames ------------------------------------------------------------------------ */

START_TEST(ping_and_pong)
{
    uint8_t *payload = make_payload(125);
    ws_test_bytes in = {0};
    put_client(&in, FIN | WS_OP_PING, "", 0);
    put_client(&in, FIN | WS_OP_PING, "are you there", 13);
    put_client(&in, FIN | WS_OP_PONG, payload, 125);
    put_client(&in, FIN | WS_OP_PONG, "", 0);

    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 4);
    expect_control(&r, 0, WS_EV_PING, "", 0);
    expect_control(&r, 1, WS_EV_PING, "are you there", 13);
    expect_control(&r, 2, WS_EV_PONG, payload, 125);
    expect_control(&r, 3, WS_EV_PONG, "", 0);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
    free(payload);
}
END_TEST

/* A control frame is only reported whole: a partial one consumes nothing. */
START_TEST(partial_control_frame_waits)
{
    uint8_t *payload = make_payload(125);
    ws_test_bytes in = {0};
    put_client(&in, FIN | WS_OP_PING, payload, 125);
    ck_assert_uint_eq(in.len, WS_MAX_CONTROL_FRAME);

    ws_parser p;
    ws_event ev;
    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    for (size_t n = 0; n < in.len; n++) {
        ck_assert_msg(ws_parser_next(&p, &ev, in.p, n) == 0, "%zu bytes", n);
    }
    ck_assert_int_eq(ws_parser_next(&p, &ev, in.p, in.len), (ssize_t)in.len);
    ck_assert_int_eq(ev.kind, WS_EV_PING);
    ck_assert_uint_eq(ev.len, 125);
    ck_assert_mem_eq(ev.data, payload, 125);
    ws_test_bytes_fini(&in);
    free(payload);
}
END_TEST

START_TEST(control_payload_too_long)
{
    static const unsigned ops[] = {WS_OP_PING, WS_OP_PONG, WS_OP_CLOSE};
    static const size_t lens[] = {126, 127, 1000, 70000};
    uint8_t *payload = make_payload(70000);
    payload[0] = 0x03; /* a valid close code, 1000 */
    payload[1] = 0xE8;
    memset(payload + 2, 'a', 70000 - 2);

    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
        ws_test_bytes in = {0};
        put_client(&in, FIN | ops[_i], payload, lens[l]);
        expect_server_error(&in, WS_CLOSE_PROTOCOL);

        /* Known from the header alone. */
        ws_parser p;
        ws_event ev;
        ws_parser_init(&p, WS_ROLE_SERVER, 0);
        size_t hdr = (lens[l] <= 0xFFFF ? 4 : 10) + 4;
        ck_assert_int_eq(ws_parser_next(&p, &ev, in.p, hdr), -WS_CLOSE_PROTOCOL);
        ws_test_bytes_fini(&in);
    }
    free(payload);
}
END_TEST

START_TEST(fragmented_control_rejected)
{
    static const unsigned ops[] = {WS_OP_PING, WS_OP_PONG, WS_OP_CLOSE};
    expect_client_error(ops[_i], "", 0, WS_CLOSE_PROTOCOL);

    ws_test_bytes in = {0};
    uint8_t body[] = {0x03, 0xE8};
    put_client(&in, ops[_i], body, 2);
    put_client(&in, FIN | WS_OP_CONT, "", 0);
    expect_server_error(&in, WS_CLOSE_PROTOCOL);
    ws_test_bytes_fini(&in);
}
END_TEST

/* --- fragmentation ------------------------------------------------------------------------- */

START_TEST(fragments_with_ping_interleaved)
{
    ws_test_bytes in = {0};
    put_client(&in, WS_OP_TEXT, "Hel", 3);
    put_client(&in, FIN | WS_OP_PING, "p", 1);
    put_client(&in, WS_OP_CONT, "lo, ", 4);
    put_client(&in, FIN | WS_OP_PONG, "q", 1);
    put_client(&in, FIN | WS_OP_CONT, "world", 5);
    put_client(&in, FIN | WS_OP_BINARY, "\xFF", 1);

    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 6);
    expect_data(&r, 0, WS_OP_TEXT, true, false, "Hel", 3);
    expect_control(&r, 1, WS_EV_PING, "p", 1);
    expect_data(&r, 2, WS_OP_TEXT, false, false, "lo, ", 4);
    expect_control(&r, 3, WS_EV_PONG, "q", 1);
    expect_data(&r, 4, WS_OP_TEXT, false, true, "world", 5);
    expect_data(&r, 5, WS_OP_BINARY, true, true, "\xFF", 1);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

/* The raw first/last flags, one event per whole frame when fed whole. */
START_TEST(first_and_last_flags)
{
    ws_test_bytes in = {0};
    put_client(&in, WS_OP_BINARY, "a", 1);
    put_client(&in, WS_OP_CONT, "b", 1);
    put_client(&in, FIN | WS_OP_CONT, "c", 1);
    put_client(&in, FIN | WS_OP_TEXT, "d", 1);

    ws_test_run r;
    ws_test_run_init(&r, WS_ROLE_SERVER, 0, false);
    ws_test_run_feed(&r, in.p, in.len, 0);
    ck_assert_ptr_null(r.broken);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 4);
    expect_data(&r, 0, WS_OP_BINARY, true, false, "a", 1);
    expect_data(&r, 1, WS_OP_BINARY, false, false, "b", 1);
    expect_data(&r, 2, WS_OP_BINARY, false, true, "c", 1);
    expect_data(&r, 3, WS_OP_TEXT, true, true, "d", 1);
    ws_test_run_fini(&r);

    /* Byte by byte: every chunk but the first has first == false, only the last has last. */
    ws_test_run_init(&r, WS_ROLE_SERVER, 0, false);
    ws_test_run_feed(&r, in.p, in.len, 1);
    ck_assert_ptr_null(r.broken);
    ck_assert_int_eq(r.result, 0);
    size_t firsts = 0;
    size_t lasts = 0;
    for (size_t i = 0; i < r.nrecs; i++) {
        firsts += r.recs[i].first;
        lasts += r.recs[i].last;
    }
    ck_assert_uint_eq(firsts, 2);
    ck_assert_uint_eq(lasts, 2);
    ck_assert(r.recs[0].first);
    ck_assert(r.recs[r.nrecs - 1].last);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

/* A data frame's payload comes out in chunks as it arrives, before the frame is complete. */
START_TEST(partial_payload_delivered_early)
{
    ws_test_bytes in = {0};
    put_client(&in, FIN | WS_OP_TEXT, "0123456789", 10);

    ws_test_run r;
    ws_test_run_init(&r, WS_ROLE_SERVER, 0, false);
    ws_test_run_push(&r, in.p, 6 + 4);
    ck_assert_ptr_null(r.broken);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 1);
    expect_data(&r, 0, WS_OP_TEXT, true, false, "0123", 4);
    ck_assert_uint_eq(r.win.len, 0);
    ws_test_run_push(&r, in.p + 10, in.len - 10);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 2);
    expect_data(&r, 1, WS_OP_TEXT, false, true, "456789", 6);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

START_TEST(continuation_without_start)
{
    expect_client_error(FIN | WS_OP_CONT, "x", 1, WS_CLOSE_PROTOCOL);
    expect_client_error(WS_OP_CONT, "", 0, WS_CLOSE_PROTOCOL);

    /* After a complete message, too. */
    ws_test_bytes in = {0};
    put_client(&in, FIN | WS_OP_TEXT, "done", 4);
    put_client(&in, FIN | WS_OP_CONT, "more", 4);
    expect_server_error(&in, WS_CLOSE_PROTOCOL);
    ws_test_bytes_fini(&in);
}
END_TEST

START_TEST(data_frame_inside_fragmented_message)
{
    static const unsigned starts[] = {WS_OP_TEXT, WS_OP_BINARY};
    static const unsigned nexts[] = {WS_OP_TEXT, WS_OP_BINARY};
    for (size_t a = 0; a < 2; a++) {
        for (size_t b = 0; b < 2; b++) {
            for (unsigned fin = 0; fin <= FIN; fin += FIN) {
                ws_test_bytes in = {0};
                put_client(&in, starts[a], "a", 1);
                put_client(&in, fin | nexts[b], "b", 1);
                expect_server_error(&in, WS_CLOSE_PROTOCOL);
                ws_test_bytes_fini(&in);
            }
        }
    }
}
END_TEST

START_TEST(zero_length_messages)
{
    ws_test_bytes in = {0};
    put_client(&in, FIN | WS_OP_TEXT, "", 0);
    put_client(&in, FIN | WS_OP_BINARY, "", 0);
    put_client(&in, WS_OP_TEXT, "", 0);
    put_client(&in, WS_OP_CONT, "", 0);
    put_client(&in, FIN | WS_OP_CONT, "", 0);
    put_client(&in, WS_OP_BINARY, "", 0);
    put_client(&in, FIN | WS_OP_CONT, "z", 1);

    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 4);
    expect_data(&r, 0, WS_OP_TEXT, true, true, "", 0);
    expect_data(&r, 1, WS_OP_BINARY, true, true, "", 0);
    expect_data(&r, 2, WS_OP_TEXT, true, true, "", 0);
    expect_data(&r, 3, WS_OP_BINARY, true, true, "z", 1);
    ws_test_run_fini(&r);

    /* Unmasked zero-length frames in the client role: just the 2-byte header each. */
    ws_test_bytes_fini(&in);
    ws_test_put_frame(&in, FIN | WS_OP_TEXT, NULL, "", 0);
    ck_assert_uint_eq(in.len, 2);
    run_all_ways(&r, WS_ROLE_CLIENT, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 1);
    expect_data(&r, 0, WS_OP_TEXT, true, true, "", 0);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

/* --- max_message --------------------------------------------------------------------------- */

START_TEST(max_message_whole_frame)
{
    uint8_t *payload = make_payload(70000);
    ws_test_bytes in = {0};

    put_client(&in, FIN | WS_OP_BINARY, payload, 10);
    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 10, &in);
    ck_assert_int_eq(r.result, 0);
    expect_data(&r, 0, WS_OP_BINARY, true, true, payload, 10);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);

    expect_frame_error(WS_ROLE_SERVER, 10, test_mask, FIN | WS_OP_BINARY, payload, 11,
                       WS_CLOSE_TOO_BIG);
    expect_frame_error(WS_ROLE_SERVER, 10, test_mask, FIN | WS_OP_TEXT, "aaaaaaaaaaaaaaaaaaaa", 20,
                       WS_CLOSE_TOO_BIG);
    expect_frame_error(WS_ROLE_SERVER, 65536, test_mask, FIN | WS_OP_BINARY, payload, 70000,
                       WS_CLOSE_TOO_BIG);

    /* A second message gets the full allowance again. */
    put_client(&in, FIN | WS_OP_BINARY, payload, 10);
    put_client(&in, FIN | WS_OP_BINARY, payload, 10);
    run_all_ways(&r, WS_ROLE_SERVER, 10, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 2);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
    free(payload);
}
END_TEST

START_TEST(max_message_across_fragments)
{
    ws_test_bytes in = {0};

    put_client(&in, WS_OP_TEXT, "aaaaa", 5);
    put_client(&in, FIN | WS_OP_CONT, "bbbbb", 5);
    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 10, &in);
    ck_assert_int_eq(r.result, 0);
    expect_data(&r, 0, WS_OP_TEXT, true, true, "aaaaabbbbb", 10);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);

    put_client(&in, WS_OP_TEXT, "aaaaa", 5);
    put_client(&in, FIN | WS_OP_CONT, "bbbbbb", 6);
    expect_error(WS_ROLE_SERVER, 10, &in, WS_CLOSE_TOO_BIG);
    ws_test_bytes_fini(&in);

    /* Many small fragments, with control frames between them that do not count. */
    for (int i = 0; i < 11; i++) {
        put_client(&in, i == 0 ? WS_OP_BINARY : WS_OP_CONT, "x", 1);
        put_client(&in, FIN | WS_OP_PING, "0123456789", 10);
    }
    put_client(&in, FIN | WS_OP_CONT, "", 0);
    expect_error(WS_ROLE_SERVER, 10, &in, WS_CLOSE_TOO_BIG);
    ws_test_bytes_fini(&in);
}
END_TEST

/* --- one long conversation ----------------------------------------------------------------- */

START_TEST(long_mixed_stream)
{
    uint8_t *payload = make_payload(70000);
    ws_test_bytes in = {0};
    put_client(&in, FIN | WS_OP_BINARY, payload, 70000);
    put_client(&in, FIN | WS_OP_PING, "1", 1);
    put_client(&in, WS_OP_BINARY, payload, 300);
    put_client(&in, WS_OP_CONT, payload + 300, 0);
    put_client(&in, FIN | WS_OP_PONG, "2", 1);
    put_client(&in, FIN | WS_OP_CONT, payload + 300, 65700);
    put_client(&in, FIN | WS_OP_TEXT, "\xF0\x9F\x98\x80", 4);
    put_close(&in, 1000, "done", 4);

    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 70000, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert(r.closed);
    ck_assert_uint_eq(r.nrecs, 7);
    expect_data(&r, 0, WS_OP_BINARY, true, true, payload, 70000);
    expect_control(&r, 1, WS_EV_PING, "1", 1);
    expect_data(&r, 2, WS_OP_BINARY, true, false, payload, 300);
    expect_control(&r, 3, WS_EV_PONG, "2", 1);
    expect_data(&r, 4, WS_OP_BINARY, false, true, payload + 300, 65700);
    expect_data(&r, 5, WS_OP_TEXT, true, true, "\xF0\x9F\x98\x80", 4);
    ck_assert_uint_eq(r.recs[6].code, 1000);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
    free(payload);
}
END_TEST

Suite *ws_parser_suite(void)
{
    Suite *s = suite_create("ws_parser");

    TCase *tc = tcase_create("frames");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, single_text_frame);
    tcase_add_test(tc, rfc_examples);
    tcase_add_loop_test(tc, length_encodings, 0, 8);
    tcase_add_test(tc, length_64bit_top_bit_set);
    tcase_add_test(tc, length_64bit_large_streams);
    tcase_add_test(tc, server_rejects_unmasked_frame);
    tcase_add_test(tc, client_rejects_masked_frame);
    tcase_add_test(tc, payload_unmasked_in_place);
    tcase_add_loop_test(tc, rsv_bits_rejected, 0, 4);
    tcase_add_loop_test(tc, reserved_opcodes_rejected, 0, 10);
    suite_add_tcase(s, tc);

    tc = tcase_create("control");
    tcase_add_test(tc, ping_and_pong);
    tcase_add_test(tc, partial_control_frame_waits);
    tcase_add_loop_test(tc, control_payload_too_long, 0, 3);
    tcase_add_loop_test(tc, fragmented_control_rejected, 0, 3);
    suite_add_tcase(s, tc);

    tc = tcase_create("fragments");
    tcase_add_test(tc, fragments_with_ping_interleaved);
    tcase_add_test(tc, first_and_last_flags);
    tcase_add_test(tc, partial_payload_delivered_early);
    tcase_add_test(tc, continuation_without_start);
    tcase_add_test(tc, data_frame_inside_fragmented_message);
    tcase_add_test(tc, zero_length_messages);
    suite_add_tcase(s, tc);

    tc = tcase_create("max_message");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, max_message_whole_frame);
    tcase_add_test(tc, max_message_across_fragments);
    suite_add_tcase(s, tc);

    tc = tcase_create("stream");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, long_mixed_stream);
    suite_add_tcase(s, tc);
    return s;
}
