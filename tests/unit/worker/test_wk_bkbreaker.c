/* Unit tests for worker/wk_bkbreaker.c, on a fake clock: opening on the failures-th failure in a
 * window, windows running out, fast failure while open, one probe in half open, and its outcome
 * closing or opening again. */
#include <check.h>

#include "wk_bkbreaker.h"

Suite *wk_bkbreaker_suite(void);

START_TEST(opens_on_failures_in_window)
{
    wk_bkbreaker b;
    wk_bkb_init(&b, 3, 1000, 500);
    ck_assert(wk_bkb_allow(&b, 0));
    wk_bkb_on_result(&b, false, 0);
    wk_bkb_on_result(&b, true, 10); /* successes do not reset the window */
    wk_bkb_on_result(&b, false, 20);
    ck_assert_int_eq(b.state, WK_BKB_CLOSED);
    wk_bkb_on_result(&b, false, 999);
    ck_assert_int_eq(b.state, WK_BKB_OPEN);
    ck_assert_uint_eq(b.opened, 1);
    ck_assert_str_eq(wk_bkb_state_name(b.state), "open");
}
END_TEST

START_TEST(window_runs_out)
{
    wk_bkbreaker b;
    wk_bkb_init(&b, 3, 1000, 500);
    wk_bkb_on_result(&b, false, 0);
    wk_bkb_on_result(&b, false, 500);
    wk_bkb_on_result(&b, false, 1000); /* a new window: 1 */
    ck_assert_int_eq(b.state, WK_BKB_CLOSED);
    wk_bkb_on_result(&b, false, 1500);
    ck_assert_int_eq(b.state, WK_BKB_CLOSED);
    wk_bkb_on_result(&b, false, 1999);
    ck_assert_int_eq(b.state, WK_BKB_OPEN);
}
END_TEST

START_TEST(open_then_probe)
{
    wk_bkbreaker b;
    wk_bkb_init(&b, 1, 1000, 500);
    wk_bkb_on_result(&b, false, 100);
    ck_assert_int_eq(b.state, WK_BKB_OPEN);
    ck_assert(!wk_bkb_allow(&b, 100));
    ck_assert(!wk_bkb_allow(&b, 599));
    wk_bkb_on_result(&b, true, 300); /* a late success while open changes nothing */
    ck_assert_int_eq(b.state, WK_BKB_OPEN);
    ck_assert(wk_bkb_allow(&b, 600)); /* the probe */
    ck_assert_int_eq(b.state, WK_BKB_HALF_OPEN);
    ck_assert_str_eq(wk_bkb_state_name(b.state), "half_open");
    ck_assert(!wk_bkb_allow(&b, 601)); /* only one */
    wk_bkb_on_result(&b, false, 700);  /* the probe failed: open again */
    ck_assert_int_eq(b.state, WK_BKB_OPEN);
    ck_assert_uint_eq(b.opened, 2);
    ck_assert(!wk_bkb_allow(&b, 1199));
    ck_assert(wk_bkb_allow(&b, 1200));
    wk_bkb_on_result(&b, true, 1250); /* the probe succeeded: closed */
    ck_assert_int_eq(b.state, WK_BKB_CLOSED);
    ck_assert(wk_bkb_allow(&b, 1251));
    ck_assert(wk_bkb_allow(&b, 1252));
    ck_assert_str_eq(wk_bkb_state_name(b.state), "closed");
    /* closed with a fresh window */
    wk_bkb_on_result(&b, false, 1300);
    ck_assert_int_eq(b.state, WK_BKB_OPEN);
}
END_TEST

Suite *wk_bkbreaker_suite(void)
{
    Suite *s = suite_create("wk_bkbreaker");
    TCase *tc = tcase_create("breaker");
    tcase_add_test(tc, opens_on_failures_in_window);
    tcase_add_test(tc, window_runs_out);
    tcase_add_test(tc, open_then_probe);
    suite_add_tcase(s, tc);
    return s;
}
