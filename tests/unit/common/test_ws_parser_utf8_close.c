/* Unit tests for common/ws_parser.c's payload checks: UTF-8 in text messages (RFC 6455 §8.1) and
 * the bodies of close frames (§5.5.1, §7.4). Like test_ws_parser.c, every input is also fed one
 * byte at a time and in odd-sized pieces, and must come out the same. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "ws_parser.h"
#include "ws_parser_test_util.h"

Suite *ws_parser_utf8_close_suite(void);

/* Asserts that a client's close frame with this code and reason fails all ways with -code. */
static void expect_close_error(unsigned close_code, const char *reason, size_t reason_len, int code)
{
    ws_test_bytes in = {0};
    put_close(&in, close_code, reason, reason_len);
    expect_server_error(&in, code);
    ws_test_bytes_fini(&in);
}

/* --- UTF-8 in text messages ---------------------------------------------------------------- */

START_TEST(invalid_utf8_single_frame)
{
    expect_client_error(FIN | WS_OP_TEXT, "ab\xC0\x80", 4, WS_CLOSE_INVALID_DATA);
    expect_client_error(FIN | WS_OP_TEXT, "\xED\xA0\x80", 3, WS_CLOSE_INVALID_DATA);

    /* Binary messages are not checked. */
    ws_test_bytes in = {0};
    put_client(&in, FIN | WS_OP_BINARY, "ab\xC0\x80", 4);
    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

/* The error comes as soon as the bad byte is seen: here the message never gets its final frame. */
START_TEST(invalid_utf8_in_first_fragment)
{
    expect_client_error(WS_OP_TEXT, "ok\xFFok", 5, WS_CLOSE_INVALID_DATA);

    /* A lead byte at the end of one fragment, a bad continuation at the start of the next. */
    ws_test_bytes in = {0};
    put_client(&in, WS_OP_TEXT, "ok\xE2", 3);
    put_client(&in, WS_OP_CONT, "(", 1);
    expect_server_error(&in, WS_CLOSE_INVALID_DATA);
    ws_test_bytes_fini(&in);
}
END_TEST

/* A single frame whose payload is still arriving: the bad byte fails it before the rest comes. */
START_TEST(invalid_utf8_partial_payload)
{
    uint8_t text[64];
    memset(text, 'a', sizeof(text));
    text[20] = 0xF8;
    ws_test_bytes in = {0};
    put_client(&in, FIN | WS_OP_TEXT, text, sizeof(text));

    size_t upto = 2 + 4 + 21; /* header, mask, payload through the bad byte */
    ws_test_run r;
    ws_test_run_init(&r, WS_ROLE_SERVER, 0, true);
    ws_test_run_feed(&r, in.p, upto, 0);
    ck_assert_int_eq(r.result, -WS_CLOSE_INVALID_DATA);
    ws_test_run_fini(&r);

    ws_test_run_init(&r, WS_ROLE_SERVER, 0, true);
    ws_test_run_feed(&r, in.p, upto, 1);
    ck_assert_int_eq(r.result, -WS_CLOSE_INVALID_DATA);
    ws_test_run_fini(&r);

    /* One byte short of the bad one: no error yet. */
    ws_test_run_init(&r, WS_ROLE_SERVER, 0, true);
    ws_test_run_feed(&r, in.p, upto - 1, 0);
    ck_assert_int_eq(r.result, 0);
    ck_assert_ptr_null(r.broken);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

START_TEST(utf8_split_across_fragments)
{
    ws_test_bytes in = {0};
    put_client(&in, WS_OP_TEXT, "\xE2", 1);
    put_client(&in, WS_OP_CONT, "\x82", 1);
    put_client(&in, FIN | WS_OP_CONT, "\xAC!", 2);
    put_client(&in, WS_OP_TEXT, "\xF0\x9F", 2);
    put_client(&in, FIN | WS_OP_PING, "\xFF\xFE", 2); /* control payloads are not text */
    put_client(&in, FIN | WS_OP_CONT, "\x98\x80", 2);

    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 4);
    expect_data(&r, 0, WS_OP_TEXT, true, true, "\xE2\x82\xAC!", 4);
    expect_data(&r, 1, WS_OP_TEXT, true, false, "\xF0\x9F", 2);
    expect_control(&r, 2, WS_EV_PING, "\xFF\xFE", 2);
    expect_data(&r, 3, WS_OP_TEXT, false, true, "\x98\x80", 2);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

START_TEST(utf8_truncated_at_message_end)
{
    expect_client_error(FIN | WS_OP_TEXT, "a\xE2\x82", 3, WS_CLOSE_INVALID_DATA);

    ws_test_bytes in = {0};
    put_client(&in, WS_OP_TEXT, "a\xF0", 2);
    put_client(&in, FIN | WS_OP_CONT, "", 0);
    expect_server_error(&in, WS_CLOSE_INVALID_DATA);
    ws_test_bytes_fini(&in);

    /* Binary payloads never reach the validator: a text message after a binary one that ends
     * inside a would-be character starts clean. */
    put_client(&in, FIN | WS_OP_BINARY, "a\xE2\x82", 3);
    put_client(&in, FIN | WS_OP_TEXT, "ok", 2);
    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert_uint_eq(r.nrecs, 2);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

/* --- close frames -------------------------------------------------------------------------- */

START_TEST(close_empty_is_no_status)
{
    ws_test_bytes in = {0};
    put_client(&in, FIN | WS_OP_CLOSE, "", 0);

    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert(r.closed);
    ck_assert_uint_eq(r.nrecs, 1);
    ck_assert_int_eq(r.recs[0].kind, WS_EV_CLOSE);
    ck_assert_uint_eq(r.recs[0].code, WS_CLOSE_NO_STATUS);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

START_TEST(close_one_byte_payload)
{
    expect_client_error(FIN | WS_OP_CLOSE, "\x03", 1, WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(close_invalid_codes)
{
    static const unsigned codes[] = {0, 999, 1004, 1005, 1006, 1012, 1015, 2999, 5000, 65535};
    expect_close_error(codes[_i], "", 0, WS_CLOSE_PROTOCOL);
    expect_close_error(codes[_i], "why", 3, WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(close_valid_codes)
{
    static const unsigned codes[] = {1000, 1001, 1003, 1007, 1011, 3000, 4999};
    ws_test_bytes in = {0};
    put_close(&in, codes[_i], "", 0);
    put_client(&in, FIN | WS_OP_TEXT, "ignored after close", 19);

    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert(r.closed);
    ck_assert_uint_eq(r.nrecs, 1);
    ck_assert_int_eq(r.recs[0].kind, WS_EV_CLOSE);
    ck_assert_uint_eq(r.recs[0].code, codes[_i]);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);

    /* With a reason, exactly filling the 125 bytes. */
    char reason[123];
    memset(reason, 'r', sizeof(reason));
    memcpy(reason, "caf\xC3\xA9", 5);
    put_close(&in, codes[_i], reason, sizeof(reason));
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert(r.closed);
    ck_assert_uint_eq(r.recs[0].code, codes[_i]);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

/* A server that closed with 1012 (a shed) accepts the client's close echoing 1012 (§5.5.1), and
 * still refuses the other codes outside ws_close_code_is_valid. */
START_TEST(close_echo_of_sent_code)
{
    ws_test_bytes in = {0};
    put_close(&in, 1012, "", 0);
    ws_parser p;
    ws_event ev;
    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    p.sent_close = 1012;
    ck_assert_int_eq(ws_parser_next(&p, &ev, in.p, in.len), (ssize_t)in.len);
    ck_assert_int_eq(ev.kind, WS_EV_CLOSE);
    ck_assert_uint_eq(ev.code, 1012);
    ws_test_bytes_fini(&in);

    put_close(&in, 1013, "", 0);
    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    p.sent_close = 1012;
    ck_assert_int_eq(ws_parser_next(&p, &ev, in.p, in.len), -WS_CLOSE_PROTOCOL);
    ws_test_bytes_fini(&in);

    /* Without a close of its own, 1012 from a client is a protocol error. */
    put_close(&in, 1012, "", 0);
    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    ck_assert_int_eq(ws_parser_next(&p, &ev, in.p, in.len), -WS_CLOSE_PROTOCOL);
    ws_test_bytes_fini(&in);
}
END_TEST

START_TEST(close_invalid_utf8_reason)
{
    expect_close_error(1000, "bad \xFF", 5, WS_CLOSE_INVALID_DATA);
    expect_close_error(1000, "cut \xE2\x82", 6, WS_CLOSE_INVALID_DATA);
}
END_TEST

/* A close arriving in the middle of a text message whose last fragment stopped inside a
 * character: the reason is validated on its own, not as part of the message. */
START_TEST(close_inside_fragmented_text)
{
    ws_test_bytes in = {0};
    put_client(&in, WS_OP_TEXT, "\xE2\x82", 2);
    put_close(&in, 1001, "bye", 3);

    ws_test_run r;
    run_all_ways(&r, WS_ROLE_SERVER, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert(r.closed);
    ck_assert_uint_eq(r.nrecs, 2);
    expect_data(&r, 0, WS_OP_TEXT, true, false, "\xE2\x82", 2);
    ck_assert_int_eq(r.recs[1].kind, WS_EV_CLOSE);
    ck_assert_uint_eq(r.recs[1].code, 1001);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

/* Close from the server side, unmasked, in the client role. */
START_TEST(close_in_client_role)
{
    ws_test_bytes in = {0};
    uint8_t body[] = {0x0B, 0xB8, 'o', 'k'}; /* 3000 */
    ws_test_put_frame(&in, FIN | WS_OP_CLOSE, NULL, body, sizeof(body));

    ws_test_run r;
    run_all_ways(&r, WS_ROLE_CLIENT, 0, &in);
    ck_assert_int_eq(r.result, 0);
    ck_assert(r.closed);
    ck_assert_uint_eq(r.recs[0].code, 3000);
    ws_test_run_fini(&r);
    ws_test_bytes_fini(&in);
}
END_TEST

Suite *ws_parser_utf8_close_suite(void)
{
    Suite *s = suite_create("ws_parser_utf8_close");

    TCase *tc = tcase_create("utf8");
    tcase_add_test(tc, invalid_utf8_single_frame);
    tcase_add_test(tc, invalid_utf8_in_first_fragment);
    tcase_add_test(tc, invalid_utf8_partial_payload);
    tcase_add_test(tc, utf8_split_across_fragments);
    tcase_add_test(tc, utf8_truncated_at_message_end);
    suite_add_tcase(s, tc);

    tc = tcase_create("close");
    tcase_add_test(tc, close_empty_is_no_status);
    tcase_add_test(tc, close_one_byte_payload);
    tcase_add_loop_test(tc, close_invalid_codes, 0, 10);
    tcase_add_loop_test(tc, close_valid_codes, 0, 7);
    tcase_add_test(tc, close_echo_of_sent_code);
    tcase_add_test(tc, close_invalid_utf8_reason);
    tcase_add_test(tc, close_inside_fragmented_text);
    tcase_add_test(tc, close_in_client_role);
    suite_add_tcase(s, tc);
    return s;
}
