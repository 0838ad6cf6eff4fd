/* Unit tests for common/ws_deflate.c (RFC 7692): offer negotiation (every parameter, the declines
 * of §5 and §7.1, several offers, the response header), the codec (the RFC's §7.2.3 examples, the
 * removed 0x00 0x00 0xff 0xff tail, round trips with and without context takeover, the inflated
 * size bound) and the parser's RSV1 rules of §6.1. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_deflate.h"
#include "ws_parser.h"

Suite *ws_deflate_suite(void);

static bool negotiate(ws_deflate_params *out, const char *offer, bool takeover)
{
    memset(out, 0xAB, sizeof *out); /* untouched on a decline: still the pattern */
    return ws_deflate_negotiate(out, offer, strlen(offer), takeover);
}

static bool declined(const char *offer)
{
    ws_deflate_params p;
    bool ok = negotiate(&p, offer, true);
    const uint8_t *b = (const uint8_t *)&p;
    for (size_t i = 0; i < sizeof p; i++)
        ck_assert_uint_eq(b[i], 0xAB);
    return !ok;
}

static const char *response(const ws_deflate_params *p)
{
    static char buf[WS_DEFLATE_MAX_RESPONSE];
    size_t n = ws_deflate_response(buf, sizeof buf, p);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_eq(n, strlen(buf));
    return buf;
}

/* --- negotiation -------------------------------------------------------------------------- */

START_TEST(plain_offer_without_takeover)
{
    ws_deflate_params p;
    ck_assert(negotiate(&p, "permessage-deflate", false));
    ck_assert(p.on);
    ck_assert(p.server_no_context_takeover);
    ck_assert(p.client_no_context_takeover);
    ck_assert_uint_eq(p.server_max_window_bits, 15);
    ck_assert(!p.server_max_window_bits_set);
    ck_assert_str_eq(response(&p), "Sec-WebSocket-Extensions: permessage-deflate; "
                                   "server_no_context_takeover; client_no_context_takeover\r\n");
}
END_TEST

START_TEST(plain_offer_with_takeover)
{
    ws_deflate_params p;
    ck_assert(negotiate(&p, "permessage-deflate", true));
    ck_assert(!p.server_no_context_takeover);
    ck_assert(!p.client_no_context_takeover);
    ck_assert_str_eq(response(&p), "Sec-WebSocket-Extensions: permessage-deflate\r\n");
}
END_TEST

START_TEST(no_context_takeover_parameters)
{
    ws_deflate_params p;
    ck_assert(negotiate(&p, "permessage-deflate; server_no_context_takeover", true));
    ck_assert(p.server_no_context_takeover);
    ck_assert(!p.client_no_context_takeover);
    ck_assert_str_eq(
        response(&p),
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n");
    ck_assert(negotiate(&p, "permessage-deflate;client_no_context_takeover", true));
    ck_assert(!p.server_no_context_takeover);
    ck_assert(p.client_no_context_takeover);
    ck_assert_str_eq(
        response(&p),
        "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n");
}
END_TEST

START_TEST(server_max_window_bits)
{
    ws_deflate_params p;
    ck_assert(negotiate(&p, "permessage-deflate; server_max_window_bits=10", true));
    ck_assert_uint_eq(p.server_max_window_bits, 10);
    ck_assert(p.server_max_window_bits_set);
    ck_assert_str_eq(response(&p),
                     "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n");
    ck_assert(negotiate(&p, "permessage-deflate; server_max_window_bits=\"12\"", true));
    ck_assert_uint_eq(p.server_max_window_bits, 12);
    ck_assert(negotiate(&p, "permessage-deflate; server_max_window_bits=9", true));
    ck_assert_uint_eq(p.server_max_window_bits, 9);
    ck_assert(negotiate(&p, "permessage-deflate; server_max_window_bits=15", true));
    ck_assert_uint_eq(p.server_max_window_bits, 15);
}
END_TEST

START_TEST(client_max_window_bits)
{
    ws_deflate_params p;
    ck_assert(negotiate(&p, "permessage-deflate; client_max_window_bits", true));
    ck_assert_str_eq(response(&p), "Sec-WebSocket-Extensions: permessage-deflate\r\n");
    ck_assert(negotiate(&p, "permessage-deflate; client_max_window_bits=8", true));
    ck_assert(negotiate(&p, "permessage-deflate; client_max_window_bits=\"15\"", true));
}
END_TEST

static const char *const bad_offers[] = {
    "permessage-deflate; server_max_window_bits=8", /* zlib cannot: declined (§7.1.2.1) */
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=010",
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; server_max_window_bits=",
    "permessage-deflate; server_max_window_bits=\"1x\"",
    "permessage-deflate; server_max_window_bits=\"10",
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=abc",
    "permessage-deflate; client_max_window_bits=\"\"",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; client_no_context_takeover=\"\"",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
    "permessage-deflate; unknown_parameter",
    "permessage-deflate; x=1",
    "permessage-deflate;",
    "permessage-deflate; ; server_no_context_takeover",
    "permessage-deflate server_no_context_takeover",
    "x-webkit-deflate-frame",
    "permessage-deflate-x",
    "",
    " , ,",
};

START_TEST(bad_offer_declined)
{
    ck_assert_msg(declined(bad_offers[_i]), "accepted: %s", bad_offers[_i]);
}
END_TEST

START_TEST(first_acceptable_offer_wins)
{
    ws_deflate_params p;
    ck_assert(negotiate(&p,
                        "permessage-deflate; server_max_window_bits=8, "
                        "permessage-deflate; server_max_window_bits=11, permessage-deflate",
                        true));
    ck_assert_uint_eq(p.server_max_window_bits, 11);
    ck_assert(negotiate(&p,
                        "x-webkit-deflate-frame; a=\"b,permessage-deflate\" , "
                        "PerMessage-Deflate ;\tclient_no_context_takeover",
                        true));
    ck_assert(p.client_no_context_takeover);
    ck_assert(!p.server_no_context_takeover);
    ck_assert(negotiate(&p, "permessage-deflate; bogus, permessage-deflate", true));
    ck_assert(!p.server_max_window_bits_set);
}
END_TEST

START_TEST(every_parameter_at_once)
{
    ws_deflate_params p;
    ck_assert(negotiate(&p,
                        "permessage-deflate; client_max_window_bits; server_max_window_bits=13; "
                        "client_no_context_takeover; server_no_context_takeover",
                        true));
    ck_assert_str_eq(response(&p),
                     "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                     "client_no_context_takeover; server_max_window_bits=13\r\n");
}
END_TEST

START_TEST(response_too_small)
{
    ws_deflate_params p;
    char buf[40];
    ck_assert(negotiate(&p, "permessage-deflate", false));
    ck_assert_uint_eq(ws_deflate_response(buf, sizeof buf, &p), 0);
}
END_TEST

/* --- codec -------------------------------------------------------------------------------- */

static const uint8_t hello_z[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}; /* §7.2.3.1 */
static const uint8_t hello_z2[] = {0xf2, 0x00, 0x11, 0x00, 0x00};            /* §7.2.3.2 */

static void assert_buf(const wsf_buf *b, const void *want, size_t n)
{
    ck_assert_uint_eq(wsf_buf_pending(b), n);
    ck_assert(memcmp(b->data + b->off, want, n) == 0);
}

START_TEST(rfc_hello_compressed)
{
    ws_zdeflate *z = ws_zdeflate_new(15);
    wsf_buf out = {0};
    ws_zdeflate_message(z, &out, (const uint8_t *)"Hello", 5, true);
    /* the RFC's bytes: the tail 00 00 ff ff of the sync flush is gone */
    assert_buf(&out, hello_z, sizeof hello_z);
    wsf_buf_fini(&out);
    ws_zdeflate_free(z);
}
END_TEST

START_TEST(rfc_hello_inflated)
{
    ws_zinflate *z = ws_zinflate_new();
    wsf_buf out = {0};
    ck_assert_int_eq(ws_zinflate_message(z, &out, hello_z, sizeof hello_z, 100, false), 0);
    assert_buf(&out, "Hello", 5);
    out.off = out.len = 0;
    /* §7.2.3.2: the second message refers back into the first one's window */
    ck_assert_int_eq(ws_zinflate_message(z, &out, hello_z2, sizeof hello_z2, 100, false), 0);
    assert_buf(&out, "Hello", 5);
    out.off = out.len = 0;
    /* §7.2.3.3: a stored block */
    static const uint8_t stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00};
    ck_assert_int_eq(ws_zinflate_message(z, &out, stored, sizeof stored, 100, true), 0);
    assert_buf(&out, "Hello", 5);
    wsf_buf_fini(&out);
    ws_zinflate_free(z);
}
END_TEST

START_TEST(no_takeover_forgets_the_window)
{
    ws_zinflate *z = ws_zinflate_new();
    wsf_buf out = {0};
    ck_assert_int_eq(ws_zinflate_message(z, &out, hello_z, sizeof hello_z, 100, true), 0);
    out.off = out.len = 0;
    ck_assert_int_eq(ws_zinflate_message(z, &out, hello_z2, sizeof hello_z2, 100, true),
                     -WS_CLOSE_INVALID_DATA);
    /* the stream is usable again after an error */
    out.off = out.len = 0;
    ck_assert_int_eq(ws_zinflate_message(z, &out, hello_z, sizeof hello_z, 100, true), 0);
    assert_buf(&out, "Hello", 5);
    wsf_buf_fini(&out);
    ws_zinflate_free(z);
}
END_TEST

START_TEST(empty_message)
{
    ws_zdeflate *d = ws_zdeflate_new(15);
    ws_zinflate *i = ws_zinflate_new();
    wsf_buf out = {0}, back = {0};
    ws_zdeflate_message(d, &out, NULL, 0, true);
    static const uint8_t zero = 0x00; /* §7.2.3.6 */
    assert_buf(&out, &zero, 1);
    ck_assert_int_eq(ws_zinflate_message(i, &back, out.data, out.len, 10, true), 0);
    ck_assert_uint_eq(wsf_buf_pending(&back), 0);
    ck_assert_int_eq(ws_zinflate_message(i, &back, NULL, 0, 10, true), 0); /* no payload at all */
    ck_assert_uint_eq(wsf_buf_pending(&back), 0);
    wsf_buf_fini(&out);
    wsf_buf_fini(&back);
    ws_zdeflate_free(d);
    ws_zinflate_free(i);
}
END_TEST

static uint8_t *make_text(size_t n, unsigned seed)
{
    static const char *const words[] = {"alpha ",       "beta ", "{\"id\":", "42,",
                                        "\"channel\":", "news ", "\n",       "omega "};
    uint8_t *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    size_t k = 0;
    uint32_t x = seed * 2654435761u + 1;
    while (k < n) {
        x = x * 1103515245u + 12345u;
        const char *w = words[(x >> 16) % 8];
        for (size_t j = 0; w[j] && k < n; j++)
            p[k++] = (uint8_t)w[j];
        if (k < n && (x & 0x100))
            p[k++] = (uint8_t)(x >> 24); /* some incompressible bytes */
    }
    return p;
}

/* Round trips a run of messages of many sizes through compressor and inflater, with the
 * contexts kept (_i = 1) or reset (_i = 0), at window bits 9 and 15. */
START_TEST(round_trips)
{
    bool takeover = _i & 1;
    int bits = _i & 2 ? 9 : 15;
    ws_zdeflate *d = ws_zdeflate_new(bits);
    ws_zinflate *in = ws_zinflate_new();
    static const size_t sizes[] = {1, 5, 64, 100, 1000, 16383, 16384, 16385, 70000, 1 << 20};
    size_t total_plain = 0, total_z = 0;
    for (size_t r = 0; r < 2; r++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            uint8_t *msg = make_text(sizes[s], (unsigned)(s + r * 100));
            wsf_buf z = {0}, back = {0};
            ws_zdeflate_message(d, &z, msg, sizes[s], !takeover);
            ck_assert_int_eq(ws_zinflate_message(in, &back, z.data, z.len, sizes[s], !takeover), 0);
            assert_buf(&back, msg, sizes[s]);
            total_plain += sizes[s];
            total_z += z.len;
            wsf_buf_fini(&z);
            wsf_buf_fini(&back);
            free(msg);
        }
    }
    ck_assert_uint_lt(total_z, total_plain / 2); /* it did compress */
    ws_zdeflate_free(d);
    ws_zinflate_free(in);
}
END_TEST

START_TEST(takeover_shrinks_a_repeat)
{
    ws_zdeflate *keep = ws_zdeflate_new(15), *reset = ws_zdeflate_new(15);
    uint8_t *msg = make_text(2000, 7);
    wsf_buf a = {0}, b = {0};
    ws_zdeflate_message(keep, &a, msg, 2000, false);
    a.off = a.len = 0;
    ws_zdeflate_message(keep, &a, msg, 2000, false); /* the whole message is in the window */
    ws_zdeflate_message(reset, &b, msg, 2000, true);
    b.off = b.len = 0;
    ws_zdeflate_message(reset, &b, msg, 2000, true);
    ck_assert_uint_lt(a.len * 4, b.len);
    free(msg);
    wsf_buf_fini(&a);
    wsf_buf_fini(&b);
    ws_zdeflate_free(keep);
    ws_zdeflate_free(reset);
}
END_TEST

START_TEST(size_bound)
{
    size_t big = 64u << 20; /* 64 MiB of zeros: about 64 KiB compressed */
    uint8_t *zeros = calloc(1, big);
    ck_assert_ptr_nonnull(zeros);
    ws_zdeflate *d = ws_zdeflate_new(15);
    wsf_buf z = {0};
    ws_zdeflate_message(d, &z, zeros, big, true);
    free(zeros);
    ck_assert_uint_lt(z.len, 256 * 1024);

    ws_zinflate *in = ws_zinflate_new();
    wsf_buf out = {0};
    ck_assert_int_eq(ws_zinflate_message(in, &out, z.data, z.len, 1u << 20, true),
                     -WS_CLOSE_TOO_BIG);
    /* no more than the bound (plus one chunk, doubled by the buffer's growth) was allocated */
    ck_assert_uint_le(out.cap, 2 * ((1u << 20) + 16384));
    wsf_buf_fini(&out);

    /* exactly at the bound passes, one byte below fails */
    static const uint8_t five[] = "abcde";
    wsf_buf small = {0};
    ws_zdeflate_message(d, &small, five, 5, true);
    ck_assert_int_eq(ws_zinflate_message(in, &out, small.data, small.len, 5, true), 0);
    out.off = out.len = 0;
    ck_assert_int_eq(ws_zinflate_message(in, &out, small.data, small.len, 4, true),
                     -WS_CLOSE_TOO_BIG);
    wsf_buf_fini(&small);
    wsf_buf_fini(&out);
    wsf_buf_fini(&z);
    ws_zdeflate_free(d);
    ws_zinflate_free(in);
}
END_TEST

START_TEST(bad_deflate_data)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    ws_zinflate *in = ws_zinflate_new();
    wsf_buf out = {0};
    ck_assert_int_eq(ws_zinflate_message(in, &out, junk, sizeof junk, 100, true),
                     -WS_CLOSE_INVALID_DATA);
    /* a final block followed by more bytes */
    static const uint8_t final_then_more[] = {0x01, 0x00, 0x00, 0xff, 0xff, 0x42};
    ck_assert_int_eq(
        ws_zinflate_message(in, &out, final_then_more, sizeof final_then_more, 100, true),
        -WS_CLOSE_INVALID_DATA);
    wsf_buf_fini(&out);
    ws_zinflate_free(in);
}
END_TEST

/* --- RSV1 in the parser (§6.1) ------------------------------------------------------------ */

/* A client frame with a zero mask, so the payload stays as written. */
static size_t client_frame(uint8_t *out, uint8_t b0, const uint8_t *payload, size_t len)
{
    out[0] = b0;
    out[1] = (uint8_t)(0x80 | len);
    memset(out + 2, 0, 4);
    if (len > 0)
        memcpy(out + 6, payload, len);
    return 6 + len;
}

static ssize_t parse_one(bool rsv1_ok, uint8_t b0, const uint8_t *payload, size_t len, ws_event *ev)
{
    ws_parser p;
    uint8_t buf[200];
    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    p.rsv1_ok = rsv1_ok;
    size_t n = client_frame(buf, b0, payload, len);
    return ws_parser_next(&p, ev, buf, n);
}

START_TEST(rsv1_needs_negotiation)
{
    ws_event ev;
    ck_assert_int_eq(parse_one(false, 0x80 | 0x40 | WS_OP_TEXT, hello_z, sizeof hello_z, &ev),
                     -WS_CLOSE_PROTOCOL);
    ck_assert_int_eq(parse_one(true, 0x80 | 0x40 | WS_OP_TEXT, hello_z, sizeof hello_z, &ev),
                     6 + (ssize_t)sizeof hello_z);
    ck_assert_int_eq(ev.kind, WS_EV_DATA);
    ck_assert(ev.compressed); /* and not UTF-8-checked: 0xf2 0x48 is not UTF-8 */
    ck_assert_int_eq(parse_one(true, 0x80 | WS_OP_BINARY, hello_z, 3, &ev), 9);
    ck_assert(!ev.compressed);
}
END_TEST

START_TEST(rsv1_never_on_control_frames)
{
    ws_event ev;
    static const uint8_t code[] = {0x03, 0xe8};
    ck_assert_int_eq(parse_one(true, 0x80 | 0x40 | WS_OP_PING, NULL, 0, &ev), -WS_CLOSE_PROTOCOL);
    ck_assert_int_eq(parse_one(true, 0x80 | 0x40 | WS_OP_PONG, NULL, 0, &ev), -WS_CLOSE_PROTOCOL);
    ck_assert_int_eq(parse_one(true, 0x80 | 0x40 | WS_OP_CLOSE, code, 2, &ev), -WS_CLOSE_PROTOCOL);
    ck_assert_int_eq(parse_one(true, 0x80 | 0x20 | WS_OP_TEXT, NULL, 0, &ev), -WS_CLOSE_PROTOCOL);
    ck_assert_int_eq(parse_one(true, 0x80 | 0x10 | WS_OP_TEXT, NULL, 0, &ev), -WS_CLOSE_PROTOCOL);
}
END_TEST

START_TEST(rsv1_never_on_continuations)
{
    ws_parser p;
    ws_event ev;
    uint8_t buf[64];
    ws_parser_init(&p, WS_ROLE_SERVER, 0);
    p.rsv1_ok = true;
    size_t n = client_frame(buf, 0x40 | WS_OP_TEXT, hello_z, 3);
    ck_assert_int_eq(ws_parser_next(&p, &ev, buf, n), (ssize_t)n);
    ck_assert(ev.compressed && ev.first && !ev.last);
    /* an unflagged continuation belongs to the compressed message */
    n = client_frame(buf, WS_OP_CONT, hello_z + 3, 2);
    ck_assert_int_eq(ws_parser_next(&p, &ev, buf, n), (ssize_t)n);
    ck_assert(ev.compressed && !ev.first && !ev.last);
    n = client_frame(buf, 0x80 | 0x40 | WS_OP_CONT, hello_z + 5, 2);
    ck_assert_int_eq(ws_parser_next(&p, &ev, buf, n), -WS_CLOSE_PROTOCOL);
}
END_TEST

Suite *ws_deflate_suite(void)
{
    Suite *s = suite_create("ws_deflate");
    TCase *tc = tcase_create("negotiation");
    tcase_add_test(tc, plain_offer_without_takeover);
    tcase_add_test(tc, plain_offer_with_takeover);
    tcase_add_test(tc, no_context_takeover_parameters);
    tcase_add_test(tc, server_max_window_bits);
    tcase_add_test(tc, client_max_window_bits);
    tcase_add_loop_test(tc, bad_offer_declined, 0, (int)(sizeof bad_offers / sizeof bad_offers[0]));
    tcase_add_test(tc, first_acceptable_offer_wins);
    tcase_add_test(tc, every_parameter_at_once);
    tcase_add_test(tc, response_too_small);
    suite_add_tcase(s, tc);

    tc = tcase_create("codec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, rfc_hello_compressed);
    tcase_add_test(tc, rfc_hello_inflated);
    tcase_add_test(tc, no_takeover_forgets_the_window);
    tcase_add_test(tc, empty_message);
    tcase_add_loop_test(tc, round_trips, 0, 4);
    tcase_add_test(tc, takeover_shrinks_a_repeat);
    tcase_add_test(tc, size_bound);
    tcase_add_test(tc, bad_deflate_data);
    suite_add_tcase(s, tc);

    tc = tcase_create("rsv1");
    tcase_add_test(tc, rsv1_needs_negotiation);
    tcase_add_test(tc, rsv1_never_on_control_frames);
    tcase_add_test(tc, rsv1_never_on_continuations);
    suite_add_tcase(s, tc);
    return s;
}
