/* Unit tests for common/wsf_limits.c: the soft open-file limit is raised to the hard one, and
 * whether a worker's max_connections fits a limit. */
#include <check.h>
#include <stdint.h>
#include <sys/resource.h>

#include "wsf_limits.h"

Suite *wsf_limits_suite(void);

START_TEST(raise_to_the_hard_limit)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    ck_assert_msg(rl.rlim_max != RLIM_INFINITY && rl.rlim_max > 64,
                  "this test needs a finite hard open-file limit above 64");
    /* Check runs each test in a child of its own: lowering here touches nobody else. */
    rl.rlim_cur = 64;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    uint64_t now = 0;
    ck_assert_int_eq(wsf_nofile_raise(&now), 0);
    ck_assert_uint_eq(now, (uint64_t)rl.rlim_max);
    struct rlimit after;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &after), 0);
    ck_assert_uint_eq((uint64_t)after.rlim_cur, (uint64_t)rl.rlim_max);
    ck_assert_uint_eq((uint64_t)after.rlim_max, (uint64_t)rl.rlim_max);
    /* Raising again changes nothing. */
    ck_assert_int_eq(wsf_nofile_raise(&now), 0);
    ck_assert_uint_eq(now, (uint64_t)rl.rlim_max);
}
END_TEST

START_TEST(what_fits)
{
    ck_assert(wsf_nofile_fits(10000 + WSF_NOFILE_RESERVE, 10000));
    ck_assert(!wsf_nofile_fits(10000 + WSF_NOFILE_RESERVE - 1, 10000));
    ck_assert(!wsf_nofile_fits(1024, WSF_WORKER_MAX_CONNECTIONS));
    ck_assert(!wsf_nofile_fits(100, 200)); /* no wrap-around below zero */
    ck_assert(wsf_nofile_fits(UINT64_MAX, UINT64_MAX - WSF_NOFILE_RESERVE));
}
END_TEST

Suite *wsf_limits_suite(void)
{
    Suite *s = suite_create("wsf_limits");
    TCase *tc = tcase_create("limits");
    tcase_add_test(tc, raise_to_the_hard_limit);
    tcase_add_test(tc, what_fits);
    suite_add_tcase(s, tc);
    return s;
}
