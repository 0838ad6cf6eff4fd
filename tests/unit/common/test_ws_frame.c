/* Unit tests for common/ws_frame.c: masking and close code validity. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "ws_frame.h"

Suite *ws_frame_suite(void);

/* Fills a buffer with a pattern that differs at every position. */
static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i * 37u + (i >> 3));
    }
}

/* The obvious byte-at-a-time masking the word-at-a-time version must agree with. */
static unsigned mask_reference(uint8_t *p, size_t n, const uint8_t mask[4], unsigned offset)
{
    for (size_t i = 0; i < n; i++) {
        p[i] ^= mask[(offset + i) & 3];
    }
    return (unsigned)((offset + n) & 3);
}

/* Masks `len` bytes starting `align` bytes into a guarded buffer and compares with the reference,
 * including that the guard bytes on both sides are left alone. */
static void check_mask(size_t align, size_t len, unsigned offset)
{
    static const uint8_t mask[4] = {0x37, 0xFA, 0x21, 0x3D};
    uint8_t got[2048 + 32];
    uint8_t want[2048 + 32];

    ck_assert_uint_le(align + len + 16, sizeof(got));
    fill_pattern(got, sizeof(got), (unsigned)(len + align));
    memcpy(want, got, sizeof(got));
    unsigned next = ws_mask(got + align, len, mask, offset);
    unsigned want_next = mask_reference(want + align, len, mask, offset);
    ck_assert_msg(next == want_next, "align %zu len %zu offset %u: next offset %u, want %u", align,
                  len, offset, next, want_next);
    ck_assert_msg(memcmp(got, want, sizeof(got)) == 0, "align %zu len %zu offset %u: bytes differ",
                  align, len, offset);
}

START_TEST(mask_every_offset_and_length)
{
    for (unsigned offset = 0; offset < 4; offset++) {
        for (size_t len = 0; len <= 40; len++) {
            for (size_t align = 0; align < 8; align++) {
                check_mask(align, len, offset);
            }
        }
    }
}
END_TEST

START_TEST(mask_long_buffers)
{
    static const size_t lens[] = {63, 64, 65, 127, 128, 129, 255, 1000, 1023, 2048};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (unsigned offset = 0; offset < 4; offset++) {
            for (size_t align = 0; align < 8; align++) {
                check_mask(align, lens[i], offset);
            }
        }
    }
}
END_TEST

/* Masking a buffer in two pieces, carrying the returned offset, equals masking it whole. */
START_TEST(mask_in_pieces_equals_whole)
{
    static const uint8_t mask[4] = {0x01, 0x80, 0xFF, 0x5C};
    uint8_t whole[97];
    uint8_t pieces[97];

    for (size_t split = 0; split <= sizeof(whole); split++) {
        fill_pattern(whole, sizeof(whole), 7);
        memcpy(pieces, whole, sizeof(whole));
        ws_mask(whole, sizeof(whole), mask, 0);
        unsigned off = ws_mask(pieces, split, mask, 0);
        ck_assert_uint_eq(off, split & 3);
        ws_mask(pieces + split, sizeof(pieces) - split, mask, off);
        ck_assert_msg(memcmp(whole, pieces, sizeof(whole)) == 0, "split at %zu", split);
    }
}
END_TEST

/* Masking twice restores the data: XOR is its own inverse. */
START_TEST(mask_twice_is_identity)
{
    static const uint8_t mask[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    uint8_t orig[300];
    uint8_t buf[300];

    fill_pattern(orig, sizeof(orig), 3);
    memcpy(buf, orig, sizeof(buf));
    ws_mask(buf + 1, sizeof(buf) - 1, mask, 2);
    ck_assert(memcmp(buf, orig, sizeof(buf)) != 0);
    ws_mask(buf + 1, sizeof(buf) - 1, mask, 2);
    ck_assert_mem_eq(buf, orig, sizeof(buf));
}
END_TEST

START_TEST(mask_zero_mask_changes_nothing)
{
    static const uint8_t mask[4] = {0, 0, 0, 0};
    uint8_t orig[50];
    uint8_t buf[50];

    fill_pattern(orig, sizeof(orig), 11);
    memcpy(buf, orig, sizeof(buf));
    ck_assert_uint_eq(ws_mask(buf, sizeof(buf), mask, 1), (1 + sizeof(buf)) & 3);
    ck_assert_mem_eq(buf, orig, sizeof(buf));
}
END_TEST

START_TEST(close_code_validity_0_to_5000)
{
    for (unsigned code = 0; code <= 5000; code++) {
        bool want = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
                    (code >= 3000 && code <= 4999);
        ck_assert_msg(ws_close_code_is_valid(code) == want, "code %u: got %d, want %d", code,
                      (int)ws_close_code_is_valid(code), (int)want);
    }
}
END_TEST

START_TEST(close_code_validity_large_values)
{
    ck_assert(!ws_close_code_is_valid(65535));
    ck_assert(!ws_close_code_is_valid(65536 + 1000));
    ck_assert(!ws_close_code_is_valid(0x100000u + 3000));
    ck_assert(!ws_close_code_is_valid(~0u));
}
END_TEST

Suite *ws_frame_suite(void)
{
    Suite *s = suite_create("ws_frame");

    TCase *tc = tcase_create("mask");
    tcase_add_test(tc, mask_every_offset_and_length);
    tcase_add_test(tc, mask_long_buffers);
    tcase_add_test(tc, mask_in_pieces_equals_whole);
    tcase_add_test(tc, mask_twice_is_identity);
    tcase_add_test(tc, mask_zero_mask_changes_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("close_code");
    tcase_add_test(tc, close_code_validity_0_to_5000);
    tcase_add_test(tc, close_code_validity_large_values);
    suite_add_tcase(s, tc);
    return s;
}
