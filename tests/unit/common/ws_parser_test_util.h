/* Check helpers shared by the ws_parser suites (test_ws_parser.c, test_ws_parser_utf8_close.c):
 * every input is run whole and in odd-sized pieces, and the runs must agree. */
#ifndef WS_PARSER_TEST_UTIL_H
#define WS_PARSER_TEST_UTIL_H

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "ws_parser.h"
#include "ws_test_util.h"

static const uint8_t test_mask[4] = {0x37, 0xFA, 0x21, 0x3D};

#define FIN 0x80u
#define RSV1 0x40u
#define RSV2 0x20u
#define RSV3 0x10u

/* Piece sizes every input is fed in besides whole: byte by byte, and sizes that straddle
 * header and payload boundaries differently. */
static const size_t piece_sizes[] = {1, 2, 3, 5, 7, 13, 131, 4096};

/* Runs input whole with coalescing into *out (the caller finishes it), then again in each piece
 * size, and asserts that every run agrees with the whole one and broke no contract. */
static inline void run_all_ways(ws_test_run *out, enum ws_role role, uint64_t max_message,
                                const ws_test_bytes *in)
{
    ws_test_run_init(out, role, max_message, true);
    ws_test_run_feed(out, in->p, in->len, 0);
    ck_assert_msg(out->broken == NULL, "whole: %s", out->broken);

    for (size_t i = 0; i < sizeof(piece_sizes) / sizeof(piece_sizes[0]); i++) {
        ws_test_run r;
        ws_test_run_init(&r, role, max_message, true);
        ws_test_run_feed(&r, in->p, in->len, piece_sizes[i]);
        ck_assert_msg(r.broken == NULL, "pieces of %zu: %s", piece_sizes[i], r.broken);
        ck_assert_msg(ws_test_run_agree(out, &r),
                      "pieces of %zu disagree with whole: result %zd vs %zd, %zu vs %zu records",
                      piece_sizes[i], r.result, out->result, r.nrecs, out->nrecs);
        ws_test_run_fini(&r);
    }
}

/* Runs input all ways and asserts it fails with exactly -code. */
static inline void expect_error(enum ws_role role, uint64_t max_message, const ws_test_bytes *in,
                                int code)
{
    ws_test_run r;
    run_all_ways(&r, role, max_message, in);
    ck_assert_int_eq(r.result, -code);
    ws_test_run_fini(&r);
}

static inline void expect_server_error(const ws_test_bytes *in, int code)
{
    expect_error(WS_ROLE_SERVER, 0, in, code);
}

/* Builds one frame (masked with mask, unless NULL) and asserts that it fails all ways with
 * exactly -code. */
static inline void expect_frame_error(enum ws_role role, uint64_t max_message, const uint8_t *mask,
                                      unsigned b0, const void *payload, size_t n, int code)
{
    ws_test_bytes in = {0};
    ws_test_put_frame(&in, b0, mask, payload, n);
    expect_error(role, max_message, &in, code);
    ws_test_bytes_fini(&in);
}

/* The same for one frame from a client (masked) to a server with no max_message. */
static inline void expect_client_error(unsigned b0, const void *payload, size_t n, int code)
{
    expect_frame_error(WS_ROLE_SERVER, 0, test_mask, b0, payload, n, code);
}

/* Asserts that record i is a whole-or-coalesced data record with these properties. */
static inline void expect_data(const ws_test_run *r, size_t i, int opcode, bool first, bool last,
                               const void *payload, size_t len)
{
    const ws_test_rec *rec = ws_test_run_rec(r, i);
    ck_assert_msg(rec != NULL, "record %zu missing (%zu records)", i, r->nrecs);
    ck_assert_int_eq(rec->kind, WS_EV_DATA);
    ck_assert_int_eq(rec->opcode, opcode);
    ck_assert_int_eq(rec->first, first);
    ck_assert_int_eq(rec->last, last);
    ck_assert_uint_eq(rec->len, len);
    if (len > 0) {
        ck_assert_mem_eq(ws_test_rec_data(r, rec), payload, len);
    }
}

static inline void expect_control(const ws_test_run *r, size_t i, int kind, const void *payload,
                                  size_t len)
{
    const ws_test_rec *rec = ws_test_run_rec(r, i);
    ck_assert_msg(rec != NULL, "record %zu missing (%zu records)", i, r->nrecs);
    ck_assert_int_eq(rec->kind, kind);
    ck_assert_uint_eq(rec->len, len);
    if (len > 0) {
        ck_assert_mem_eq(ws_test_rec_data(r, rec), payload, len);
    }
}

static inline void put_client(ws_test_bytes *v, unsigned b0, const void *payload, size_t n)
{
    ws_test_put_frame(v, b0, test_mask, payload, n);
}

static inline void put_close(ws_test_bytes *v, unsigned code, const char *reason, size_t reason_len)
{
    uint8_t body[2 + 200];
    body[0] = (uint8_t)(code >> 8);
    body[1] = (uint8_t)code;
    memcpy(body + 2, reason, reason_len);
    put_client(v, FIN | WS_OP_CLOSE, body, 2 + reason_len);
}

#endif
