/* Unit tests for common/wsf_nats_subj.c: channel names to subjects and back, one to one. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "wsf_nats_subj.h"

Suite *wsf_nats_subj_suite(void);

static const struct {
    const char *name;
    const char *subject;
} cases[] = {
    {"news", "wsf.ch.news"},
    {"chat:lobby", "wsf.ch.chat:lobby"},
    {"news.sport", "wsf.ch.news.sport"},
    {"user@host-1_x", "wsf.ch.user@host-1_x"},
    {".a", "wsf.ch.~.a"},
    {"a.", "wsf.ch.a.~"},
    {"a..b", "wsf.ch.a.~.b"},
    {".", "wsf.ch.~.~"},
    {"..", "wsf.ch.~.~.~"},
    {"ns:a.b..c.", "wsf.ch.ns:a.b.~.c.~"},
};

START_TEST(maps_both_ways)
{
    char subj[WSF_NATS_SUBJ_MAX];
    char name[WSF_NATS_CHANNEL_MAX + 1];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *c = cases[i].name;
        int n = wsf_nats_subj_from_channel(subj, sizeof(subj), WSF_NATS_SUBJ_STORE, c, strlen(c));
        ck_assert_int_eq(n, (int)strlen(cases[i].subject));
        ck_assert_str_eq(subj, cases[i].subject);
        n = wsf_nats_subj_to_channel(name, sizeof(name), WSF_NATS_SUBJ_STORE, subj);
        ck_assert_int_eq(n, (int)strlen(c));
        ck_assert_str_eq(name, c);
    }
}
END_TEST

START_TEST(live_prefix)
{
    char subj[WSF_NATS_SUBJ_MAX];
    ck_assert_int_gt(wsf_nats_subj_from_channel(subj, sizeof(subj), WSF_NATS_SUBJ_LIVE, "a.b", 3),
                     0);
    ck_assert_str_eq(subj, "wsf.live.a.b");
}
END_TEST

START_TEST(rejects_bad_names)
{
    char subj[WSF_NATS_SUBJ_MAX];
    const char *bad[] = {"", "a b", "a*", "a>", "a~b", "a/b", "é"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(wsf_nats_subj_from_channel(subj, sizeof(subj), WSF_NATS_SUBJ_STORE, bad[i],
                                                    strlen(bad[i])),
                         -EINVAL);
    }
    char long_name[WSF_NATS_CHANNEL_MAX + 1];
    memset(long_name, 'x', sizeof(long_name));
    ck_assert_int_eq(wsf_nats_subj_from_channel(subj, sizeof(subj), WSF_NATS_SUBJ_STORE, long_name,
                                                sizeof(long_name)),
                     -EINVAL);
    ck_assert_int_eq(wsf_nats_subj_from_channel(subj, sizeof(subj), WSF_NATS_SUBJ_STORE, long_name,
                                                WSF_NATS_CHANNEL_MAX),
                     (int)(strlen(WSF_NATS_SUBJ_STORE) + WSF_NATS_CHANNEL_MAX));
}
END_TEST

START_TEST(longest_name_fits_max)
{
    char dots[WSF_NATS_CHANNEL_MAX];
    memset(dots, '.', sizeof(dots));
    char subj[WSF_NATS_SUBJ_MAX];
    int n = wsf_nats_subj_from_channel(subj, sizeof(subj), WSF_NATS_SUBJ_LIVE, dots, sizeof(dots));
    ck_assert_int_eq(n, (int)(strlen(WSF_NATS_SUBJ_LIVE) + 2 * WSF_NATS_CHANNEL_MAX + 1));
    char name[WSF_NATS_CHANNEL_MAX + 1];
    ck_assert_int_eq(wsf_nats_subj_to_channel(name, sizeof(name), WSF_NATS_SUBJ_LIVE, subj),
                     WSF_NATS_CHANNEL_MAX);
    ck_assert_int_eq(wsf_nats_subj_from_channel(subj, 12, WSF_NATS_SUBJ_STORE, "abcdefgh", 8),
                     -ENOSPC);
}
END_TEST

START_TEST(inverse_rejects_non_images)
{
    char name[WSF_NATS_CHANNEL_MAX + 1];
    const char *bad[] = {"wsf.ch.",  "wsf.ch.~", "wsf.ch.a..b", "wsf.ch.a.~~.b", "wsf.ch.a~",
                         "wsf.ch.*", "wsf.ch.>", "wsf.live.a",  "wsf.ch.a.b.",   "wsf.ch..a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(wsf_nats_subj_to_channel(name, sizeof(name), WSF_NATS_SUBJ_STORE, bad[i]) ==
                          -EINVAL,
                      "%s", bad[i]);
    }
    ck_assert_int_eq(wsf_nats_subj_to_channel(name, 3, WSF_NATS_SUBJ_STORE, "wsf.ch.abcd"),
                     -ENOSPC);
}
END_TEST

START_TEST(validity)
{
    ck_assert(wsf_nats_channel_is_valid("a", 1));
    ck_assert(wsf_nats_channel_is_valid("A-z_0.9:@", 9));
    ck_assert(!wsf_nats_channel_is_valid("", 0));
    ck_assert(!wsf_nats_channel_is_valid("a\0b", 3));
}
END_TEST

Suite *wsf_nats_subj_suite(void)
{
    Suite *s = suite_create("wsf_nats_subj");
    TCase *tc = tcase_create("subj");
    tcase_add_test(tc, maps_both_ways);
    tcase_add_test(tc, live_prefix);
    tcase_add_test(tc, rejects_bad_names);
    tcase_add_test(tc, longest_name_fits_max);
    tcase_add_test(tc, inverse_rejects_non_images);
    tcase_add_test(tc, validity);
    suite_add_tcase(s, tc);
    return s;
}
