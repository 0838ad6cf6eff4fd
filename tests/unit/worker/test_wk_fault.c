/* Unit tests for worker/wk_fault.c: faults start, apply and revert on a fake clock. */
#include <check.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wk_fault.h"

Suite *wk_fault_suite(void);

START_TEST(error_rate_and_revert)
{
    wk_fault f = {0};
    ck_assert(!wk_fault_is_on(&f));
    ck_assert(!wk_fault_should_fail(&f));
    wk_fault_start(&f, WSF_FAULT_ERROR, 0.6, 0, 1000, 5000);
    ck_assert(wk_fault_is_on(&f));
    int failed = 0;
    for (int i = 0; i < 10000; i++)
        failed += wk_fault_should_fail(&f);
    ck_assert_int_ge(failed, 5700);
    ck_assert_int_le(failed, 6300);
    wk_fault_tick(&f, 5999);
    ck_assert(wk_fault_is_on(&f));
    wk_fault_tick(&f, 6000);
    ck_assert(!wk_fault_is_on(&f));
    ck_assert(!wk_fault_should_fail(&f));
    wk_fault_fini(&f);
}
END_TEST

START_TEST(certain_error)
{
    wk_fault f = {0};
    wk_fault_start(&f, WSF_FAULT_ERROR, 1.0, 0, 1000, 0);
    for (int i = 0; i < 1000; i++)
        ck_assert(wk_fault_should_fail(&f));
    wk_fault_fini(&f);
}
END_TEST

START_TEST(latency_never_fails)
{
    wk_fault f = {0};
    wk_fault_start(&f, WSF_FAULT_LATENCY, 0, 250, 1000, 0);
    ck_assert(wk_fault_is_on(&f));
    ck_assert_uint_eq(f.ms, 250);
    ck_assert(!wk_fault_should_fail(&f));
    wk_fault_fini(&f);
    ck_assert(!wk_fault_is_on(&f));
}
END_TEST

/* Resident pages of [p, p + len), through mincore. */
static size_t resident_pages(const void *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t n = (len + page - 1) / page;
    unsigned char *vec = calloc(n, 1);
    ck_assert_ptr_nonnull(vec);
    ck_assert_int_eq(mincore((void *)p, len, vec), 0);
    size_t in = 0;
    for (size_t i = 0; i < n; i++)
        in += vec[i] & 1;
    free(vec);
    return in;
}

START_TEST(memory_grows_then_is_unmapped)
{
    wk_fault f = {.max_memory = UINT64_C(256) << 20};
    wk_fault_start(&f, WSF_FAULT_MEMORY, 10.0, 0, 2000, 1000);
    ck_assert_uint_eq(f.mem_len, 20u << 20); /* 10 MiB/s for 2 s, mapped up front */
    wk_fault_tick(&f, 1050);                 /* under a growth step: nothing yet */
    ck_assert_uint_eq(f.grown, 0);
    wk_fault_tick(&f, 1500);
    ck_assert_uint_eq(f.grown, 5u << 20);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    ck_assert_uint_eq(resident_pages(f.mem, f.mem_len), (5u << 20) / page);
    wk_fault_tick(&f, 2000);
    ck_assert_uint_eq(f.grown, 10u << 20);
    unsigned char *mem = f.mem;
    wk_fault_tick(&f, 3000); /* time is up */
    ck_assert(!wk_fault_is_on(&f));
    ck_assert_uint_eq(f.grown, 0);
    ck_assert_uint_eq(f.mem_len, 0);
    ck_assert_ptr_null(f.mem);
    /* Unmapped: the pages went back to the kernel, not to an allocator. */
    ck_assert_int_eq(mincore(mem, page, (unsigned char[1]){0}), -1);
    ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

START_TEST(memory_stops_at_the_cap)
{
    wk_fault f = {.max_memory = 3u << 20};
    wk_fault_start(&f, WSF_FAULT_MEMORY, 100.0, 0, 5000, 0);
    ck_assert_uint_eq(f.mem_len, 3u << 20);
    for (uint64_t t = 100; t < 5000; t += 100)
        wk_fault_tick(&f, t);
    ck_assert(wk_fault_is_on(&f));
    ck_assert_uint_eq(f.grown, 3u << 20);
    wk_fault_fini(&f);
    ck_assert_ptr_null(f.mem);
}
END_TEST

START_TEST(memory_without_a_cap_grows_nothing)
{
    wk_fault f = {0};
    wk_fault_start(&f, WSF_FAULT_MEMORY, 100.0, 0, 5000, 0);
    wk_fault_tick(&f, 1000);
    ck_assert_uint_eq(f.grown, 0);
    ck_assert_ptr_null(f.mem);
    wk_fault_fini(&f);
}
END_TEST

Suite *wk_fault_suite(void)
{
    Suite *s = suite_create("wk_fault");
    TCase *tc = tcase_create("fault");
    tcase_add_test(tc, error_rate_and_revert);
    tcase_add_test(tc, certain_error);
    tcase_add_test(tc, latency_never_fails);
    tcase_add_test(tc, memory_grows_then_is_unmapped);
    tcase_add_test(tc, memory_stops_at_the_cap);
    tcase_add_test(tc, memory_without_a_cap_grows_nothing);
    suite_add_tcase(s, tc);
    return s;
}
