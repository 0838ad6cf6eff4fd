/* Unit tests for worker/wk_adopt.c: WSF_GROUP_FDS. */
#include <check.h>
#include <errno.h>

#include "wk_adopt.h"

Suite *wk_adopt_suite(void);

START_TEST(group_is_first_nlistens_nslots)
{
    int first = 0;
    unsigned nl = 0, ns = 0;
    ck_assert_int_eq(wk_adopt_parse_group(&first, &nl, &ns, "5,2,8"), 0);
    ck_assert_int_eq(first, 5);
    ck_assert_uint_eq(nl, 2);
    ck_assert_uint_eq(ns, 8);
}
END_TEST

static const char *const bad[] = {"",      "5",      "5,2",   "5,2,",   ",2,8",      "5,0,8",
                                  "5,2,0", "5,2,8,", "x,2,8", "5,2,8x", "70000,1,1", "3,256,257"};

START_TEST(bad_groups_are_refused_and_change_nothing)
{
    int first = -7;
    unsigned nl = 9, ns = 9;
    ck_assert_int_eq(wk_adopt_parse_group(&first, &nl, &ns, bad[_i]), -EINVAL);
    ck_assert_int_eq(first, -7);
    ck_assert_uint_eq(nl, 9);
    ck_assert_uint_eq(ns, 9);
}
END_TEST

Suite *wk_adopt_suite(void)
{
    Suite *s = suite_create("wk_adopt");
    TCase *tc = tcase_create("group");
    tcase_add_test(tc, group_is_first_nlistens_nslots);
    tcase_add_loop_test(tc, bad_groups_are_refused_and_change_nothing, 0,
                        (int)(sizeof bad / sizeof bad[0]));
    suite_add_tcase(s, tc);
    return s;
}
