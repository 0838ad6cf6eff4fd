/* Unit tests for worker/wk_fault.c: faults start, apply and revert on a fake clock. */
#include <check.h>

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

START_TEST(memory_grows_then_is_released)
{
    wk_fault f = {0};
    wk_fault_start(&f, WSF_FAULT_MEMORY, 10.0, 0, 2000, 1000);
    wk_fault_tick(&f, 1050); /* under a growth step: nothing yet */
    ck_assert_uint_eq(f.ngrown, 0);
    wk_fault_tick(&f, 1500);
    ck_assert_uint_eq(f.ngrown, 1);
    wk_fault_tick(&f, 2000);
    ck_assert_uint_eq(f.ngrown, 2);
    wk_fault_tick(&f, 3000); /* time is up */
    ck_assert(!wk_fault_is_on(&f));
    ck_assert_uint_eq(f.ngrown, 0);
    ck_assert_ptr_null(f.grown);
}
END_TEST

Suite *wk_fault_suite(void)
{
    Suite *s = suite_create("wk_fault");
    TCase *tc = tcase_create("fault");
    tcase_add_test(tc, error_rate_and_revert);
    tcase_add_test(tc, certain_error);
    tcase_add_test(tc, latency_never_fails);
    tcase_add_test(tc, memory_grows_then_is_released);
    suite_add_tcase(s, tc);
    return s;
}
