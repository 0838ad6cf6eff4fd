/* Unit tests for the word-at-a-time paths of common/ws_frame.c (ws_mask) and common/ws_utf8.c,
 * against byte-at-a-time references written here: every start alignment, every mask offset, every
 * tail length 0-15, valid and invalid UTF-8 with ASCII runs on both sides, split between chunks
 * and between a message's fragments at every point, as the parser meets them. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "ws_frame.h"
#include "ws_parser.h"
#include "ws_utf8.h"

Suite *ws_wordwise_suite(void);

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define GUARD 16
#define MAX_LEN 160

static const uint8_t test_mask[4] = {0x37, 0xFA, 0x21, 0x3D};

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 3));
}

/* ------------------------------------------------------------------------------------------- */
/* ws_mask */

static void ref_mask(uint8_t *p, size_t n, const uint8_t mask[4], unsigned offset)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= mask[(offset + i) % 4];
}

/* Every alignment 0-7, mask offset 0-3 and length 0-143 (tails 0-15 after 0, 1 and 2 words, after
 * the 32-byte blocks, and after an aligning head on the runs long enough for one); the bytes
 * around the range stay untouched. */
START_TEST(mask_matches_bytewise)
{
    _Alignas(16) uint8_t got[GUARD + MAX_LEN + GUARD];
    _Alignas(16) uint8_t want[GUARD + MAX_LEN + GUARD];
    for (unsigned align = 0; align < 8; align++) {
        for (unsigned off = 0; off < 4; off++) {
            for (size_t len = 0; len < 144; len++) {
                fill_pattern(got, sizeof got, (unsigned)len + off);
                memcpy(want, got, sizeof got);
                ref_mask(want + GUARD + align, len, test_mask, off);
                unsigned next = ws_mask(got + GUARD + align, len, test_mask, off);
                ck_assert_msg(memcmp(got, want, sizeof got) == 0, "align %u off %u len %zu", align,
                              off, len);
                ck_assert_uint_eq(next, (off + len) % 4);
            }
        }
    }
}
END_TEST

/* A payload masked in two calls, the second picking up the offset the first returned, equals one
 * call, wherever the split falls and whatever the alignment of each part. */
START_TEST(mask_split_anywhere)
{
    _Alignas(16) uint8_t got[GUARD + MAX_LEN];
    _Alignas(16) uint8_t want[GUARD + MAX_LEN];
    for (unsigned align = 0; align < 8; align++) {
        for (size_t len = 0; len <= 48; len++) {
            for (size_t cut = 0; cut <= len; cut++) {
                fill_pattern(got, sizeof got, (unsigned)(len * 3 + cut));
                memcpy(want, got, sizeof got);
                ref_mask(want + align, len, test_mask, 0);
                unsigned off = ws_mask(got + align, cut, test_mask, 0);
                off = ws_mask(got + align + cut, len - cut, test_mask, off);
                ck_assert_msg(memcmp(got, want, sizeof got) == 0, "align %u len %zu cut %zu",
                              align, len, cut);
                ck_assert_uint_eq(off, len % 4);
            }
        }
    }
}
END_TEST

/* Masking twice restores the data (the writer's client role and the parser share ws_mask). */
START_TEST(mask_is_involution)
{
    _Alignas(16) uint8_t buf[GUARD + 4096];
    _Alignas(16) uint8_t orig[GUARD + 4096];
    fill_pattern(orig, sizeof orig, 5);
    memcpy(buf, orig, sizeof buf);
    for (unsigned align = 0; align < 8; align++) {
        unsigned off = ws_mask(buf + align, 4000 + align, test_mask, align % 4);
        ck_assert_uint_eq(off, (align % 4 + 4000 + align) % 4);
        ws_mask(buf + align, 4000 + align, test_mask, align % 4);
        ck_assert(memcmp(buf, orig, sizeof buf) == 0);
    }
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* UTF-8 */

/* The reference: the well-formed byte sequences of Unicode 15 table 3-7, one byte at a time. */
typedef struct ref_row {
    uint8_t lead_lo, lead_hi;
    uint8_t n;         /* continuation bytes */
    uint8_t lo[3], hi[3];
} ref_row;

static const ref_row ref_rows[] = {
    {0xC2, 0xDF, 1, {0x80, 0, 0}, {0xBF, 0, 0}},
    {0xE0, 0xE0, 2, {0xA0, 0x80, 0}, {0xBF, 0xBF, 0}},
    {0xE1, 0xEC, 2, {0x80, 0x80, 0}, {0xBF, 0xBF, 0}},
    {0xED, 0xED, 2, {0x80, 0x80, 0}, {0x9F, 0xBF, 0}},
    {0xEE, 0xEF, 2, {0x80, 0x80, 0}, {0xBF, 0xBF, 0}},
    {0xF0, 0xF0, 3, {0x90, 0x80, 0x80}, {0xBF, 0xBF, 0xBF}},
    {0xF1, 0xF3, 3, {0x80, 0x80, 0x80}, {0xBF, 0xBF, 0xBF}},
    {0xF4, 0xF4, 3, {0x80, 0x80, 0x80}, {0x8F, 0xBF, 0xBF}},
};

/* Returns the index of the first byte that no well-formed text can continue with, or n when every
 * byte is fine; *complete tells whether the input ends on a character boundary. */
static size_t ref_utf8(const uint8_t *p, size_t n, bool *complete)
{
    const ref_row *row = NULL;
    unsigned k = 0; /* continuation bytes of row seen */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (row != NULL) {
            if (c < row->lo[k] || c > row->hi[k])
                return i;
            if (++k == row->n)
                row = NULL;
            continue;
        }
        if (c <= 0x7F)
            continue;
        for (size_t r = 0; r < NCASES(ref_rows); r++) {
            if (c >= ref_rows[r].lead_lo && c <= ref_rows[r].lead_hi)
                row = &ref_rows[r];
        }
        if (row == NULL)
            return i;
        k = 0;
    }
    *complete = row == NULL;
    return n;
}

typedef struct piece {
    const char *bytes;
    size_t len;
} piece;

#define PIECE(lit)                                                                                 \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }

/* Put between ASCII runs: valid characters at the range edges, invalid and truncated ones. */
static const piece pieces[] = {
    PIECE(""),
    PIECE("\xC2\x80"),
    PIECE("\xDF\xBF"),
    PIECE("\xE0\xA0\x80"),
    PIECE("\xED\x9F\xBF"),
    PIECE("\xEE\x80\x80"),
    PIECE("\xEF\xBF\xBF"),
    PIECE("\xF0\x90\x80\x80"),
    PIECE("\xF4\x8F\xBF\xBF"),
    PIECE("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"),
    PIECE("\xF0\x9F\x98\x80\xF0\x9F\x98\x81\xE2\x82\xAC\xC3\xA9"),
    PIECE("\x80"),
    PIECE("\xBF"),
    PIECE("\xC0\x80"),
    PIECE("\xC1\xBF"),
    PIECE("\xC2"),
    PIECE("\xC2\xC0"),
    PIECE("\xE0\x9F\xBF"),
    PIECE("\xE2\x82"),
    PIECE("\xED\xA0\x80"),
    PIECE("\xED\xBF\xBF"),
    PIECE("\xEF\xBF\x7F"),
    PIECE("\xF0\x8F\xBF\xBF"),
    PIECE("\xF0\x9F\x98"),
    PIECE("\xF4\x90\x80\x80"),
    PIECE("\xF5\x80\x80\x80"),
    PIECE("\xF8\x88\x80\x80\x80"),
    PIECE("\xFE"),
    PIECE("\xFF"),
    PIECE("\xE2\x82\xAC\x80"),
};

/* head ASCII bytes, the piece, tail ASCII bytes. Returns the length. */
static size_t build_text(uint8_t *dst, size_t head, const piece *pc, size_t tail)
{
    size_t n = 0;
    for (size_t i = 0; i < head; i++)
        dst[n++] = (uint8_t)('a' + i % 26);
    memcpy(dst + n, pc->bytes, pc->len);
    n += pc->len;
    for (size_t i = 0; i < tail; i++)
        dst[n++] = (uint8_t)('0' + i % 10);
    return n;
}

/* Whole buffers, at every alignment, with ASCII runs of 0-15 bytes on each side of each piece. */
START_TEST(utf8_whole_matches_reference)
{
    const piece *pc = &pieces[_i];
    _Alignas(16) uint8_t buf[GUARD + 64];
    for (unsigned align = 0; align < 8; align++) {
        for (size_t head = 0; head < 16; head++) {
            for (size_t tail = 0; tail < 16; tail++) {
                size_t n = build_text(buf + align, head, pc, tail);
                bool complete = false;
                bool want = ref_utf8(buf + align, n, &complete) == n && complete;
                ck_assert_msg(ws_utf8_is_valid(buf + align, n) == want,
                              "piece %d align %u head %zu tail %zu", _i, align, head, tail);
            }
        }
    }
}
END_TEST

/* Long ASCII runs, which go four words at a time once a word of them has been all ASCII: the
 * piece at every offset 0-100 (so at every place in and after a 32-byte block), at every
 * alignment, with tails around the block and word sizes. */
START_TEST(utf8_long_runs_match_reference)
{
    static const size_t tails[] = {0, 1, 7, 8, 9, 15, 31, 32, 33, 39, 40, 64};
    const piece *pc = &pieces[_i];
    _Alignas(16) uint8_t buf[GUARD + 192];
    for (unsigned align = 0; align < 8; align++) {
        for (size_t head = 0; head <= 100; head++) {
            for (size_t t = 0; t < NCASES(tails); t++) {
                size_t n = build_text(buf + align, head, pc, tails[t]);
                bool complete = false;
                bool want = ref_utf8(buf + align, n, &complete) == n && complete;
                ck_assert_msg(ws_utf8_is_valid(buf + align, n) == want,
                              "piece %d align %u head %zu tail %zu", _i, align, head, tails[t]);
            }
        }
    }
}
END_TEST

/* Fed in two chunks split at every point: the failure shows in the chunk that holds the first bad
 * byte, and a valid input ends complete exactly when the reference says so. The start alignment
 * goes through 0-7 with the head and tail lengths (the whole-buffer test takes every one with
 * every length). */
START_TEST(utf8_split_matches_reference)
{
    const piece *pc = &pieces[_i];
    _Alignas(16) uint8_t buf[GUARD + 64];
    {
        for (size_t head = 0; head < 16; head++) {
            for (size_t tail = 0; tail < 16; tail++) {
                unsigned align = (unsigned)(head + 3 * tail) % 8;
                size_t n = build_text(buf + align, head, pc, tail);
                const uint8_t *p = buf + align;
                bool complete = false;
                size_t bad = ref_utf8(p, n, &complete);
                for (size_t cut = 0; cut <= n; cut++) {
                    ws_utf8 s;
                    ws_utf8_init(&s);
                    int r1 = ws_utf8_feed(&s, p, cut);
                    ck_assert_msg((r1 != 0) == (bad < cut), "piece %d head %zu tail %zu cut %zu",
                                  _i, head, tail, cut);
                    if (r1 != 0)
                        continue;
                    int r2 = ws_utf8_feed(&s, p + cut, n - cut);
                    ck_assert_msg((r2 != 0) == (bad < n), "piece %d head %zu tail %zu cut %zu",
                                  _i, head, tail, cut);
                    if (r2 == 0) {
                        ck_assert(ws_utf8_is_complete(&s) == complete);
                    }
                }
            }
        }
    }
}
END_TEST

/* Pseudo-random byte strings biased towards UTF-8 structure, fed one byte at a time and whole. */
START_TEST(utf8_random_matches_reference)
{
    static const uint8_t alphabet[] = {'a',  0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                       0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                       0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF, 'z'};
    uint32_t x = 0x9E3779B9u;
    _Alignas(16) uint8_t buf[GUARD + 40];
    for (int iter = 0; iter < 50000; iter++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        size_t n = x % 33;
        unsigned align = (x >> 8) & 7;
        uint8_t *p = buf + align;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            /* Mostly ASCII, so that words and tails of every length turn up. */
            p[i] = (x & 3) == 0 ? alphabet[(x >> 4) % sizeof alphabet] : (uint8_t)('A' + (x >> 4) % 26);
        }
        bool complete = false;
        size_t bad = ref_utf8(p, n, &complete);
        ck_assert(ws_utf8_is_valid(p, n) == (bad == n && complete));
        ws_utf8 s;
        ws_utf8_init(&s);
        size_t i = 0;
        while (i < n && ws_utf8_feed(&s, p + i, 1) == 0)
            i++;
        ck_assert_uint_eq(i, bad);
    }
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Through the parser: a text message in two fragments, fed in two reads. */

typedef struct wire {
    _Alignas(16) uint8_t buf[GUARD + 256];
    size_t len;
} wire;

static void wire_frame(wire *w, size_t base, unsigned b0, const uint8_t *payload, size_t n)
{
    uint8_t *p = w->buf + base + w->len;
    p[0] = (uint8_t)b0;
    p[1] = (uint8_t)(0x80u | n); /* n <= 125 here */
    memcpy(p + 2, test_mask, 4);
    for (size_t i = 0; i < n; i++)
        p[6 + i] = payload[i] ^ test_mask[i % 4];
    w->len += 6 + n;
}

/* Parses a copy of w (at base) as two reads split at cut, keeping unconsumed bytes in place as
 * the worker's read buffer does (the parser unmasks in place). Returns 0 with the delivered payload in out and out_len, or the negative close
 * code. */
static ssize_t parse_two_reads(const wire *orig, size_t base, size_t cut, uint8_t *out,
                               size_t *out_len)
{
    wire copy = *orig;
    wire *w = &copy;
    ws_parser ps;
    ws_parser_init(&ps, WS_ROLE_SERVER, 0);
    uint8_t *p = w->buf + base;
    size_t used = 0;
    bool done = false;
    *out_len = 0;
    for (int read = 0; read < 2 && !done; read++) {
        size_t avail = read == 0 ? cut : w->len;
        while (used < avail) {
            ws_event ev;
            ssize_t r = ws_parser_next(&ps, &ev, p + used, avail - used);
            if (r < 0)
                return r;
            if (r == 0)
                break;
            used += (size_t)r;
            if (ev.kind == WS_EV_DATA) {
                memcpy(out + *out_len, ev.data, ev.len);
                *out_len += ev.len;
                done = ev.last;
            }
        }
    }
    ck_assert_msg(done, "message not finished");
    return 0;
}

START_TEST(parser_text_matches_reference)
{
    const piece *pc = &pieces[_i];
    static const size_t heads[] = {0, 3, 8, 13};
    static const size_t tails[] = {0, 1, 7, 15};
    uint8_t text[64];
    uint8_t got[64];
    for (size_t h = 0; h < NCASES(heads); h++) {
        for (size_t t = 0; t < NCASES(tails); t++) {
            size_t n = build_text(text, heads[h], pc, tails[t]);
            bool complete = false;
            bool valid = ref_utf8(text, n, &complete) == n && complete;
            /* frag n + 1: one unfragmented frame (the parser's whole-frame path when the
             * first read holds it). */
            for (size_t frag = 0; frag <= n + 1; frag++) {
                wire w = {.len = 0};
                size_t base = (frag + h + t) % 8;
                if (frag > n) {
                    wire_frame(&w, base, 0x80u | WS_OP_TEXT, text, n);
                } else {
                    wire_frame(&w, base, WS_OP_TEXT, text, frag);
                    wire_frame(&w, base, 0x80u | WS_OP_CONT, text + frag, n - frag);
                }
                for (size_t cut = 0; cut <= w.len; cut++) {
                    size_t got_len = 0;
                    ssize_t r = parse_two_reads(&w, base, cut, got, &got_len);
                    if (!valid) {
                        ck_assert_msg(r == -(ssize_t)WS_CLOSE_INVALID_DATA,
                                      "piece %d head %zu tail %zu frag %zu cut %zu: %zd", _i,
                                      heads[h], tails[t], frag, cut, r);
                        continue;
                    }
                    ck_assert_msg(r == 0, "piece %d head %zu tail %zu frag %zu cut %zu: %zd", _i,
                                  heads[h], tails[t], frag, cut, r);
                    ck_assert_uint_eq(got_len, n);
                    ck_assert(memcmp(got, text, n) == 0);
                }
            }
        }
    }
}
END_TEST

/* Binary payloads of every length 0-125 are unmasked exactly, wherever the reads split them. */
START_TEST(parser_binary_unmasked_at_every_split)
{
    uint8_t data[125];
    uint8_t got[128];
    for (size_t n = 0; n <= 125; n++) {
        fill_pattern(data, n, (unsigned)n);
        for (size_t base = 0; base < 8; base++) {
            wire w = {.len = 0};
            wire_frame(&w, base, 0x80u | WS_OP_BINARY, data, n);
            for (size_t cut = 0; cut <= w.len; cut += 1 + (n > 40)) {
                size_t got_len = 0;
                ck_assert_int_eq(parse_two_reads(&w, base, cut, got, &got_len), 0);
                ck_assert_uint_eq(got_len, n);
                ck_assert(memcmp(got, data, n) == 0);
            }
        }
    }
}
END_TEST

Suite *ws_wordwise_suite(void)
{
    Suite *s = suite_create("ws_wordwise");
    TCase *tc = tcase_create("mask");
    tcase_add_test(tc, mask_matches_bytewise);
    tcase_add_test(tc, mask_split_anywhere);
    tcase_add_test(tc, mask_is_involution);
    suite_add_tcase(s, tc);

    tc = tcase_create("utf8");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, utf8_whole_matches_reference, 0, (int)NCASES(pieces));
    tcase_add_loop_test(tc, utf8_split_matches_reference, 0, (int)NCASES(pieces));
    tcase_add_loop_test(tc, utf8_long_runs_match_reference, 0, (int)NCASES(pieces));
    tcase_add_test(tc, utf8_random_matches_reference);
    suite_add_tcase(s, tc);

    tc = tcase_create("parser");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, parser_text_matches_reference, 0, (int)NCASES(pieces));
    tcase_add_test(tc, parser_binary_unmasked_at_every_split);
    suite_add_tcase(s, tc);
    return s;
}
