/* Unit tests for common/wsf_fault.c: fault names and the limits of their parameters. */
#include <check.h>

#include "wsf_fault.h"

Suite *wsf_fault_suite(void);

START_TEST(names)
{
    static const char *const kinds[] = {"off", "error", "latency", "hang", "crash", "memory"};
    for (int i = 0; i < 6; i++) {
        enum wsf_fault_kind k = WSF_FAULT_OFF;
        ck_assert_int_eq(wsf_fault_parse(&k, kinds[i]), 0);
        ck_assert_int_eq(k, i);
    }
    enum wsf_fault_kind k = WSF_FAULT_HANG;
    ck_assert_int_eq(wsf_fault_parse(&k, "Error"), -1);
    ck_assert_int_eq(wsf_fault_parse(&k, ""), -1);
    ck_assert_int_eq(k, WSF_FAULT_HANG);
}
END_TEST

START_TEST(limits)
{
    ck_assert_ptr_null(wsf_fault_check(WSF_FAULT_CRASH, 0, 0, 0));
    ck_assert_ptr_null(wsf_fault_check(WSF_FAULT_OFF, 0, 0, 0));
    ck_assert_ptr_null(wsf_fault_check(WSF_FAULT_ERROR, 0.6, 0, 1000));
    ck_assert_ptr_null(wsf_fault_check(WSF_FAULT_ERROR, 1.0, 0, 3600000));
    ck_assert_ptr_nonnull(wsf_fault_check(WSF_FAULT_ERROR, 0.0, 0, 1000));
    ck_assert_ptr_nonnull(wsf_fault_check(WSF_FAULT_ERROR, 1.01, 0, 1000));
    ck_assert_ptr_nonnull(wsf_fault_check(WSF_FAULT_ERROR, 0.5, 0, 0));
    ck_assert_ptr_nonnull(wsf_fault_check(WSF_FAULT_ERROR, 0.5, 0, 3600001));
    ck_assert_ptr_null(wsf_fault_check(WSF_FAULT_LATENCY, 0, 60000, 10));
    ck_assert_ptr_nonnull(wsf_fault_check(WSF_FAULT_LATENCY, 0, 0, 10));
    ck_assert_ptr_nonnull(wsf_fault_check(WSF_FAULT_LATENCY, 0, 60001, 10));
    ck_assert_ptr_null(wsf_fault_check(WSF_FAULT_HANG, 0, 0, 5000));
    ck_assert_ptr_nonnull(wsf_fault_check(WSF_FAULT_HANG, 0, 0, 0));
    ck_assert_ptr_null(wsf_fault_check(WSF_FAULT_MEMORY, 1024, 0, 10));
    ck_assert_ptr_nonnull(wsf_fault_check(WSF_FAULT_MEMORY, 1025, 0, 10));
    ck_assert_ptr_nonnull(wsf_fault_check(WSF_FAULT_MEMORY, 0.0 / 0.0, 0, 10));
}
END_TEST

START_TEST(memory_bytes)
{
    ck_assert_uint_eq(wsf_fault_memory_bytes(WSF_FAULT_MEMORY, 64, 2000), UINT64_C(128) << 20);
    ck_assert_uint_eq(wsf_fault_memory_bytes(WSF_FAULT_MEMORY, 0.5, 1000), UINT64_C(512) << 10);
    ck_assert_uint_eq(wsf_fault_memory_bytes(WSF_FAULT_MEMORY, 1024, 3600000),
                      UINT64_C(1024) * 3600 << 20);
    ck_assert_uint_eq(wsf_fault_memory_bytes(WSF_FAULT_ERROR, 0.5, 1000), 0);
    ck_assert_uint_eq(wsf_fault_memory_bytes(WSF_FAULT_MEMORY, 0.0 / 0.0, 1000), 0);
    ck_assert_uint_eq(wsf_fault_memory_bytes(WSF_FAULT_MEMORY, 1.0 / 0.0, 1000), UINT64_MAX);
}
END_TEST

Suite *wsf_fault_suite(void)
{
    Suite *s = suite_create("wsf_fault");
    TCase *tc = tcase_create("fault");
    tcase_add_test(tc, names);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, memory_bytes);
    suite_add_tcase(s, tc);
    return s;
}
