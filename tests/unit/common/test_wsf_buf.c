/* Unit tests for common/wsf_buf.c: the pending-bytes buffer and the aborting allocators. */
#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"

Suite *wsf_buf_suite(void);

/* Under AddressSanitizer, let an impossible allocation return NULL as libc's would, so the
 * failure tests below reach the library's own abort path rather than ASan's report. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* The pending bytes as a comparable pointer. */
static const uint8_t *pending(const wsf_buf *b)
{
    return b->data + b->off;
}

START_TEST(empty_buffer)
{
    wsf_buf b = {0};
    ck_assert_uint_eq(wsf_buf_pending(&b), 0);
    wsf_buf_fini(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.off, 0);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    wsf_buf_fini(&b); /* twice is fine */
}
END_TEST

START_TEST(append_and_consume)
{
    wsf_buf b = {0};
    wsf_buf_append(&b, "hello", 5);
    ck_assert_uint_eq(wsf_buf_pending(&b), 5);
    ck_assert_uint_ge(b.cap, 5);
    ck_assert_mem_eq(pending(&b), "hello", 5);

    wsf_buf_append(&b, ", world", 7);
    ck_assert_uint_eq(wsf_buf_pending(&b), 12);
    ck_assert_mem_eq(pending(&b), "hello, world", 12);

    wsf_buf_consume(&b, 7);
    ck_assert_uint_eq(wsf_buf_pending(&b), 5);
    ck_assert_mem_eq(pending(&b), "world", 5);

    wsf_buf_consume(&b, 5);
    ck_assert_uint_eq(wsf_buf_pending(&b), 0);
    ck_assert_uint_eq(b.off, 0);
    ck_assert_uint_eq(b.len, 0);

    wsf_buf_append(&b, "again", 5);
    ck_assert_mem_eq(pending(&b), "again", 5);
    wsf_buf_fini(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(wsf_buf_pending(&b), 0);
}
END_TEST

START_TEST(append_nothing)
{
    wsf_buf b = {0};
    wsf_buf_append(&b, "x", 0);
    ck_assert_uint_eq(wsf_buf_pending(&b), 0);
    wsf_buf_append(&b, "ab", 2);
    wsf_buf_consume(&b, 0);
    ck_assert_uint_eq(wsf_buf_pending(&b), 2);
    wsf_buf_fini(&b);
}
END_TEST

/* reserve hands out room after the pending bytes; the caller advances len itself. */
START_TEST(reserve_then_commit)
{
    wsf_buf b = {0};
    uint8_t *p = wsf_buf_reserve(&b, 100);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_eq(p, b.data + b.len);
    ck_assert_uint_ge(b.cap - b.len, 100);
    ck_assert_uint_eq(wsf_buf_pending(&b), 0);
    memset(p, 'r', 100);
    b.len += 100;
    ck_assert_uint_eq(wsf_buf_pending(&b), 100);

    p = wsf_buf_reserve(&b, 1);
    ck_assert_ptr_eq(p, b.data + b.len);
    ck_assert_uint_ge(b.cap - b.len, 1);
    ck_assert_uint_eq(wsf_buf_pending(&b), 100);
    wsf_buf_fini(&b);
}
END_TEST

/* Reserving when consumed bytes sit at the front keeps the pending bytes intact, whether the
 * buffer compacts or grows. */
START_TEST(reserve_keeps_pending_bytes)
{
    wsf_buf b = {0};
    uint8_t block[1000];
    for (size_t i = 0; i < sizeof(block); i++) {
        block[i] = (uint8_t)(i * 31);
    }
    wsf_buf_append(&b, block, sizeof(block));
    wsf_buf_consume(&b, 900);
    ck_assert_mem_eq(pending(&b), block + 900, 100);

    size_t want = b.cap; /* more than the free tail: forces compaction or growth */
    uint8_t *p = wsf_buf_reserve(&b, want);
    ck_assert_ptr_eq(p, b.data + b.len);
    ck_assert_uint_ge(b.cap - b.len, want);
    ck_assert_uint_eq(wsf_buf_pending(&b), 100);
    ck_assert_mem_eq(pending(&b), block + 900, 100);
    wsf_buf_fini(&b);
}
END_TEST

/* Steady streaming through a small window must not grow the buffer without bound. */
START_TEST(streaming_stays_bounded)
{
    wsf_buf b = {0};
    uint8_t chunk[512];
    uint64_t written = 0;
    uint64_t read = 0;
    for (int round = 0; round < 20000; round++) {
        for (size_t i = 0; i < sizeof(chunk); i++) {
            chunk[i] = (uint8_t)(written + i);
        }
        wsf_buf_append(&b, chunk, sizeof(chunk));
        written += sizeof(chunk);
        /* Consume a little less than was added half the time, so bytes stay pending. */
        size_t n = (round & 1) ? wsf_buf_pending(&b) : sizeof(chunk) - 100;
        bool in_order = true;
        for (size_t i = 0; i < n; i++) {
            in_order &= pending(&b)[i] == (uint8_t)(read + i);
        }
        ck_assert_msg(in_order, "round %d: pending bytes out of order", round);
        wsf_buf_consume(&b, n);
        read += n;
    }
    ck_assert_uint_eq(written, read);
    ck_assert_uint_le(b.cap, 64 * 1024);
    wsf_buf_fini(&b);
}
END_TEST

START_TEST(large_growth)
{
    wsf_buf b = {0};
    size_t total = 0;
    uint8_t chunk[4096];
    while (total < (size_t)8 << 20) {
        memset(chunk, (int)(total >> 12), sizeof(chunk));
        wsf_buf_append(&b, chunk, sizeof(chunk));
        total += sizeof(chunk);
    }
    ck_assert_uint_eq(wsf_buf_pending(&b), total);
    for (size_t off = 0; off < total; off += 4096) {
        ck_assert_uint_eq(b.data[off], (uint8_t)(off >> 12));
        ck_assert_uint_eq(b.data[off + 4095], (uint8_t)(off >> 12));
    }
    wsf_buf_fini(&b);
}
END_TEST

START_TEST(x_allocators)
{
    uint8_t *p = wsf_xmalloc(64);
    memset(p, 'm', 64);
    p = wsf_xrealloc(p, 4096);
    for (int i = 0; i < 64; i++) {
        ck_assert_uint_eq(p[i], 'm');
    }
    free(p);

    uint32_t *z = wsf_xcalloc(1000, sizeof(*z));
    for (int i = 0; i < 1000; i++) {
        ck_assert_uint_eq(z[i], 0);
    }
    free(z);

    p = wsf_xrealloc(NULL, 10);
    ck_assert_ptr_nonnull(p);
    free(p);
}
END_TEST

/* Allocation failure aborts instead of returning NULL. */
START_TEST(xmalloc_failure_aborts)
{
    void *p = wsf_xmalloc(SIZE_MAX - 4096);
    ck_abort_msg("returned %p", p);
}
END_TEST

START_TEST(xcalloc_overflow_aborts)
{
    void *p = wsf_xcalloc(SIZE_MAX / 2, 4);
    ck_abort_msg("returned %p", p);
}
END_TEST

START_TEST(xrealloc_failure_aborts)
{
    void *p = wsf_xmalloc(16);
    void *q = wsf_xrealloc(p, SIZE_MAX - 4096);
    ck_abort_msg("returned %p", q);
}
END_TEST

/* A size no buffer can hold is an allocation failure too: abort, never loop or wrap around. */
START_TEST(reserve_impossible_size_aborts)
{
    wsf_buf b = {0};
    wsf_buf_append(&b, "abc", 3);
    uint8_t *p = wsf_buf_reserve(&b, SIZE_MAX - 2);
    ck_abort_msg("wsf_buf_reserve(SIZE_MAX - 2) returned %p with cap %zu instead of aborting",
                 (void *)p, b.cap);
}
END_TEST

Suite *wsf_buf_suite(void)
{
    Suite *s = suite_create("wsf_buf");

    TCase *tc = tcase_create("buf");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, empty_buffer);
    tcase_add_test(tc, append_and_consume);
    tcase_add_test(tc, append_nothing);
    tcase_add_test(tc, reserve_then_commit);
    tcase_add_test(tc, reserve_keeps_pending_bytes);
    tcase_add_test(tc, streaming_stays_bounded);
    tcase_add_test(tc, large_growth);
    suite_add_tcase(s, tc);

    tc = tcase_create("alloc");
    tcase_add_test(tc, x_allocators);
    tcase_add_test_raise_signal(tc, xmalloc_failure_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, xcalloc_overflow_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, xrealloc_failure_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, reserve_impossible_size_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}
