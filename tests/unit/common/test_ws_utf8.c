/* Unit tests for common/ws_utf8.c: whole and incremental validation, and where failure shows. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "ws_utf8.h"

Suite *ws_utf8_suite(void);

typedef struct utf8_case {
    const char *name;
    const char *bytes;
    size_t len;
} utf8_case;

#define UTF8_CASE(name, lit)                                                                       \
    {                                                                                              \
        name, lit, sizeof(lit) - 1                                                                 \
    }

static const utf8_case valid_cases[] = {
    UTF8_CASE("empty", ""),
    UTF8_CASE("ascii", "Hello, world"),
    UTF8_CASE("nul", "a\0b"),
    UTF8_CASE("U+007F", "\x7F"),
    UTF8_CASE("U+0080", "\xC2\x80"),
    UTF8_CASE("U+07FF", "\xDF\xBF"),
    UTF8_CASE("U+0800", "\xE0\xA0\x80"),
    UTF8_CASE("U+D7FF", "\xED\x9F\xBF"),
    UTF8_CASE("U+E000", "\xEE\x80\x80"),
    UTF8_CASE("U+FFFD", "\xEF\xBF\xBD"),
    UTF8_CASE("U+FFFF", "\xEF\xBF\xBF"),
    UTF8_CASE("U+10000", "\xF0\x90\x80\x80"),
    UTF8_CASE("U+10FFFF", "\xF4\x8F\xBF\xBF"),
    UTF8_CASE("kosme", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"),
    UTF8_CASE("mixed", "a\xC3\xA9"
                       "b\xE2\x82\xAC"
                       "c\xF0\x9F\x98\x80"
                       "d"),
    UTF8_CASE("emoji run", "\xF0\x9F\x98\x80\xF0\x9F\x98\x81\xF0\x9F\x98\x82\xF0\x9F\x98\x83"),
};

/* Invalid inputs and the index of the first byte that makes them invalid. */
typedef struct utf8_bad {
    const char *name;
    const char *bytes;
    size_t len;
    size_t bad; /* index of the offending byte */
} utf8_bad;

#define UTF8_BAD(name, lit, bad)                                                                   \
    {                                                                                              \
        name, lit, sizeof(lit) - 1, bad                                                            \
    }

static const utf8_bad invalid_cases[] = {
    UTF8_BAD("overlong 2-byte C0 80", "\xC0\x80", 0),
    UTF8_BAD("overlong 2-byte C1 BF", "\xC1\xBF", 0),
    UTF8_BAD("overlong 3-byte E0 80 80", "\xE0\x80\x80", 1),
    UTF8_BAD("overlong 3-byte E0 9F BF", "\xE0\x9F\xBF", 1),
    UTF8_BAD("overlong 4-byte F0 80 80 80", "\xF0\x80\x80\x80", 1),
    UTF8_BAD("overlong 4-byte F0 8F BF BF", "\xF0\x8F\xBF\xBF", 1),
    UTF8_BAD("surrogate ED A0 80", "\xED\xA0\x80", 1),
    UTF8_BAD("surrogate ED BF BF", "\xED\xBF\xBF", 1),
    UTF8_BAD("surrogate pair", "\xED\xA0\x80\xED\xB0\x80", 1),
    UTF8_BAD("above U+10FFFF F4 90 80 80", "\xF4\x90\x80\x80", 1),
    UTF8_BAD("F5", "\xF5\x80\x80\x80", 0),
    UTF8_BAD("F7", "\xF7\xBF\xBF\xBF", 0),
    UTF8_BAD("F8", "\xF8\x88\x80\x80\x80", 0),
    UTF8_BAD("FC", "\xFC\x84\x80\x80\x80\x80", 0),
    UTF8_BAD("FE", "\xFE", 0),
    UTF8_BAD("FF", "\xFF", 0),
    UTF8_BAD("stray continuation 80", "\x80", 0),
    UTF8_BAD("stray continuation BF after ascii", "ab\xBF", 2),
    UTF8_BAD("extra continuation", "\xC3\xA9\xA9", 2),
    UTF8_BAD("lead then ascii",
             "\xC3"
             "a",
             1),
    UTF8_BAD("3-byte cut by ascii",
             "\xE2\x82"
             "a",
             2),
    UTF8_BAD("4-byte cut by lead", "\xF0\x9F\x98\xC3\xA9", 3),
    UTF8_BAD("valid then bad", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80", 12),
};

/* Valid prefixes that stop inside a character. */
static const utf8_case truncated_cases[] = {
    UTF8_CASE("2-byte lead", "\xC3"),
    UTF8_CASE("3-byte lead", "\xE2"),
    UTF8_CASE("3-byte, 2 of 3", "\xE2\x82"),
    UTF8_CASE("4-byte lead", "\xF0"),
    UTF8_CASE("4-byte, 3 of 4", "\xF0\x9F\x98"),
    UTF8_CASE("text then lead", "abc\xF4\x8F\xBF"),
};

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t *u8(const char *s)
{
    return (const uint8_t *)s;
}

START_TEST(valid_whole)
{
    const utf8_case *c = &valid_cases[_i];
    ck_assert_msg(ws_utf8_is_valid(u8(c->bytes), c->len), "%s", c->name);

    ws_utf8 s;
    ws_utf8_init(&s);
    ck_assert_msg(ws_utf8_feed(&s, u8(c->bytes), c->len) == 0, "%s", c->name);
    ck_assert_msg(ws_utf8_is_complete(&s), "%s", c->name);
}
END_TEST

/* Every split of a valid input into two pieces, and one byte at a time, stays valid. */
START_TEST(valid_split_everywhere)
{
    const utf8_case *c = &valid_cases[_i];
    for (size_t split = 0; split <= c->len; split++) {
        ws_utf8 s;
        ws_utf8_init(&s);
        ck_assert_msg(ws_utf8_feed(&s, u8(c->bytes), split) == 0, "%s split %zu", c->name, split);
        ck_assert_msg(ws_utf8_feed(&s, u8(c->bytes) + split, c->len - split) == 0, "%s split %zu",
                      c->name, split);
        ck_assert_msg(ws_utf8_is_complete(&s), "%s split %zu", c->name, split);
    }

    ws_utf8 s;
    ws_utf8_init(&s);
    for (size_t i = 0; i < c->len; i++) {
        ck_assert_msg(ws_utf8_feed(&s, u8(c->bytes) + i, 1) == 0, "%s byte %zu", c->name, i);
    }
    ck_assert_msg(ws_utf8_is_complete(&s), "%s", c->name);
}
END_TEST

START_TEST(zero_initialised_state_is_a_boundary)
{
    ws_utf8 s;
    memset(&s, 0, sizeof(s));
    ck_assert(ws_utf8_is_complete(&s));
    ck_assert_int_eq(ws_utf8_feed(&s, u8("\xE2\x82\xAC"), 3), 0);
    ck_assert(ws_utf8_is_complete(&s));
}
END_TEST

START_TEST(invalid_whole)
{
    const utf8_bad *c = &invalid_cases[_i];
    ck_assert_msg(!ws_utf8_is_valid(u8(c->bytes), c->len), "%s", c->name);

    ws_utf8 s;
    ws_utf8_init(&s);
    ck_assert_msg(ws_utf8_feed(&s, u8(c->bytes), c->len) == -1, "%s", c->name);
}
END_TEST

/* The prefix before the bad byte is a valid prefix; the prefix ending with it already fails. */
START_TEST(invalid_reported_at_first_bad_byte)
{
    const utf8_bad *c = &invalid_cases[_i];

    ws_utf8 s;
    ws_utf8_init(&s);
    ck_assert_msg(ws_utf8_feed(&s, u8(c->bytes), c->bad) == 0, "%s: prefix before bad byte",
                  c->name);
    ws_utf8_init(&s);
    ck_assert_msg(ws_utf8_feed(&s, u8(c->bytes), c->bad + 1) == -1,
                  "%s: prefix ending with bad byte", c->name);

    /* The same, one byte at a time. */
    ws_utf8_init(&s);
    for (size_t i = 0; i < c->bad; i++) {
        ck_assert_msg(ws_utf8_feed(&s, u8(c->bytes) + i, 1) == 0, "%s byte %zu", c->name, i);
    }
    ck_assert_msg(ws_utf8_feed(&s, u8(c->bytes) + c->bad, 1) == -1, "%s bad byte alone", c->name);
}
END_TEST

START_TEST(truncated_is_prefix_but_incomplete)
{
    const utf8_case *c = &truncated_cases[_i];
    ck_assert_msg(!ws_utf8_is_valid(u8(c->bytes), c->len), "%s", c->name);

    ws_utf8 s;
    ws_utf8_init(&s);
    ck_assert_msg(ws_utf8_feed(&s, u8(c->bytes), c->len) == 0, "%s", c->name);
    ck_assert_msg(!ws_utf8_is_complete(&s), "%s", c->name);
}
END_TEST

START_TEST(init_resets_after_truncation)
{
    ws_utf8 s;
    ws_utf8_init(&s);
    ck_assert_int_eq(ws_utf8_feed(&s, u8("\xF0\x9F"), 2), 0);
    ck_assert(!ws_utf8_is_complete(&s));
    ws_utf8_init(&s);
    ck_assert(ws_utf8_is_complete(&s));
    ck_assert_int_eq(ws_utf8_feed(&s, u8("ok"), 2), 0);
    ck_assert(ws_utf8_is_complete(&s));
}
END_TEST

START_TEST(init_resets_after_failure)
{
    ws_utf8 s;
    ws_utf8_init(&s);
    ck_assert_int_eq(ws_utf8_feed(&s, u8("\xE0\x80"), 2), -1);
    ws_utf8_init(&s);
    ck_assert_int_eq(ws_utf8_feed(&s, u8("\xE0\xA0\x80"), 3), 0);
    ck_assert(ws_utf8_is_complete(&s));
}
END_TEST

/* Every code point boundary at each byte length, exhaustively over the 2- and 3-byte forms. */
START_TEST(all_bmp_code_points)
{
    uint8_t b[3];
    for (unsigned cp = 0x80; cp <= 0xFFFF; cp++) {
        size_t n;
        if (cp < 0x800) {
            b[0] = (uint8_t)(0xC0 | (cp >> 6));
            b[1] = (uint8_t)(0x80 | (cp & 0x3F));
            n = 2;
        } else {
            b[0] = (uint8_t)(0xE0 | (cp >> 12));
            b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            b[2] = (uint8_t)(0x80 | (cp & 0x3F));
            n = 3;
        }
        bool want = cp < 0xD800 || cp > 0xDFFF;
        ck_assert_msg(ws_utf8_is_valid(b, n) == want, "U+%04X", cp);
    }
}
END_TEST

START_TEST(four_byte_range_edges)
{
    static const unsigned cps[] = {0x10000, 0x1FFFF,  0x20000,  0x3FFFF, 0x40000,
                                   0xFFFFF, 0x100000, 0x10FFFE, 0x10FFFF};
    for (size_t i = 0; i < NCASES(cps); i++) {
        unsigned cp = cps[i];
        uint8_t b[4] = {(uint8_t)(0xF0 | (cp >> 18)), (uint8_t)(0x80 | ((cp >> 12) & 0x3F)),
                        (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), (uint8_t)(0x80 | (cp & 0x3F))};
        ck_assert_msg(ws_utf8_is_valid(b, 4), "U+%X", cp);
    }
    /* The first code point past the end, encoded the same way. */
    unsigned cp = 0x110000;
    uint8_t b[4] = {(uint8_t)(0xF0 | (cp >> 18)), (uint8_t)(0x80 | ((cp >> 12) & 0x3F)),
                    (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), (uint8_t)(0x80 | (cp & 0x3F))};
    ck_assert(!ws_utf8_is_valid(b, 4));
}
END_TEST

/* Each possible second byte after each lead byte, against the RFC 3629 table. */
START_TEST(lead_and_second_byte_table)
{
    for (unsigned lead = 0xC0; lead <= 0xFF; lead++) {
        for (unsigned second = 0; second <= 0xFF; second++) {
            uint8_t b[2] = {(uint8_t)lead, (uint8_t)second};
            bool lead_ok = lead >= 0xC2 && lead <= 0xF4;
            unsigned lo = 0x80;
            unsigned hi = 0xBF;
            if (lead == 0xE0) {
                lo = 0xA0;
            } else if (lead == 0xED) {
                hi = 0x9F;
            } else if (lead == 0xF0) {
                lo = 0x90;
            } else if (lead == 0xF4) {
                hi = 0x8F;
            }
            int want = lead_ok && second >= lo && second <= hi ? 0 : -1;
            ws_utf8 s;
            ws_utf8_init(&s);
            ck_assert_msg(ws_utf8_feed(&s, b, 2) == want, "%02X %02X", lead, second);
            if (want == 0) {
                ck_assert_msg(ws_utf8_is_complete(&s) == (lead < 0xE0), "%02X %02X", lead, second);
            }
        }
    }
}
END_TEST

/* Long ASCII runs with one bad byte at every position and at every alignment, for word-at-a-time
 * fast paths: the bad byte must be found wherever it sits, and not before it. */
START_TEST(ascii_runs_with_bad_byte_everywhere)
{
    static const uint8_t bad_bytes[] = {0x80, 0xFF, 0xC0, 0xF5};
    uint8_t storage[300 + 8];

    for (size_t align = 0; align < 8; align++) {
        for (size_t len = 1; len <= 300; len += (len < 80 ? 1 : 23)) {
            uint8_t *buf = storage + align;
            for (size_t pos = 0; pos < len; pos++) {
                for (size_t k = 0; k < sizeof(bad_bytes); k++) {
                    for (size_t i = 0; i < len; i++) {
                        buf[i] = (uint8_t)('A' + (i % 26));
                    }
                    buf[pos] = bad_bytes[k];
                    ck_assert_msg(!ws_utf8_is_valid(buf, len), "align %zu len %zu pos %zu %02X",
                                  align, len, pos, bad_bytes[k]);
                    ws_utf8 s;
                    ws_utf8_init(&s);
                    ck_assert_msg(ws_utf8_feed(&s, buf, pos) == 0, "align %zu len %zu pos %zu",
                                  align, len, pos);
                    ws_utf8_init(&s);
                    ck_assert_msg(ws_utf8_feed(&s, buf, pos + 1) == -1,
                                  "align %zu len %zu pos %zu %02X", align, len, pos, bad_bytes[k]);
                }
            }
        }
    }
}
END_TEST

/* Long runs ending in a truncated or valid multi-byte character at every alignment, so a fast
 * path must hand the tail over to the byte-wise state correctly. */
START_TEST(ascii_runs_with_multibyte_tail)
{
    uint8_t storage[200 + 8];

    for (size_t align = 0; align < 8; align++) {
        for (size_t len = 0; len <= 190; len++) {
            uint8_t *buf = storage + align;
            memset(buf, 'x', len);
            memcpy(buf + len, "\xF0\x9F\x98\x80", 4);

            ck_assert_msg(ws_utf8_is_valid(buf, len + 4), "align %zu len %zu", align, len);
            ws_utf8 s;
            ws_utf8_init(&s);
            ck_assert_msg(ws_utf8_feed(&s, buf, len + 3) == 0, "align %zu len %zu", align, len);
            ck_assert_msg(!ws_utf8_is_complete(&s), "align %zu len %zu", align, len);
            ck_assert_msg(ws_utf8_feed(&s, buf + len + 3, 1) == 0, "align %zu len %zu", align, len);
            ck_assert_msg(ws_utf8_is_complete(&s), "align %zu len %zu", align, len);

            /* A surrogate in the same place. */
            memcpy(buf + len, "\xED\xB0\x80", 3);
            ck_assert_msg(!ws_utf8_is_valid(buf, len + 3), "align %zu len %zu", align, len);
        }
    }
}
END_TEST

/* A multi-byte character split across feeds, with a long ASCII run after it. */
START_TEST(state_carried_into_long_run)
{
    uint8_t buf[130];
    buf[0] = 0x82;
    buf[1] = 0xAC;
    memset(buf + 2, 'y', sizeof(buf) - 2);

    ws_utf8 s;
    ws_utf8_init(&s);
    ck_assert_int_eq(ws_utf8_feed(&s, u8("\xE2"), 1), 0);
    ck_assert_int_eq(ws_utf8_feed(&s, buf, sizeof(buf)), 0);
    ck_assert(ws_utf8_is_complete(&s));

    /* The continuation missing: the run's first byte is ASCII where one is due. */
    ws_utf8_init(&s);
    ck_assert_int_eq(ws_utf8_feed(&s, u8("\xE2"), 1), 0);
    ck_assert_int_eq(ws_utf8_feed(&s, buf + 2, sizeof(buf) - 2), -1);
}
END_TEST

Suite *ws_utf8_suite(void)
{
    Suite *s = suite_create("ws_utf8");

    TCase *tc = tcase_create("valid");
    tcase_add_loop_test(tc, valid_whole, 0, (int)NCASES(valid_cases));
    tcase_add_loop_test(tc, valid_split_everywhere, 0, (int)NCASES(valid_cases));
    tcase_add_test(tc, zero_initialised_state_is_a_boundary);
    tcase_add_test(tc, all_bmp_code_points);
    tcase_add_test(tc, four_byte_range_edges);
    suite_add_tcase(s, tc);

    tc = tcase_create("invalid");
    tcase_add_loop_test(tc, invalid_whole, 0, (int)NCASES(invalid_cases));
    tcase_add_loop_test(tc, invalid_reported_at_first_bad_byte, 0, (int)NCASES(invalid_cases));
    tcase_add_loop_test(tc, truncated_is_prefix_but_incomplete, 0, (int)NCASES(truncated_cases));
    tcase_add_test(tc, init_resets_after_truncation);
    tcase_add_test(tc, init_resets_after_failure);
    tcase_add_test(tc, lead_and_second_byte_table);
    suite_add_tcase(s, tc);

    tc = tcase_create("runs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ascii_runs_with_bad_byte_everywhere);
    tcase_add_test(tc, ascii_runs_with_multibyte_tail);
    tcase_add_test(tc, state_carried_into_long_run);
    suite_add_tcase(s, tc);
    return s;
}
