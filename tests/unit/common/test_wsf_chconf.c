/* Unit tests for common/wsf_chconf.c: defaults, every key's values and bounds, unknown keys and
 * sections, namespaces inheriting [channels] in any order, and channel name lookups. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "wsf_chconf.h"
#include "wsf_chproto.h"

Suite *wsf_chconf_suite(void);

static wsf_ch_settings look(const wsf_chconf *c, const char *channel)
{
    wsf_ch_settings s;
    memset(&s, 0xAA, sizeof s);
    ck_assert_msg(wsf_chconf_lookup(&s, c, channel, strlen(channel)) == 0, "%s", channel);
    return s;
}

START_TEST(defaults)
{
    wsf_chconf c;
    wsf_chconf_init(&c);
    wsf_ch_settings s = look(&c, "news");
    ck_assert_uint_eq(s.history_size, 100);
    ck_assert_uint_eq(s.history_ttl_s, 300);
    ck_assert_int_eq(s.publish, WSF_CH_PUBLISH_NONE);
    ck_assert_int_eq(s.subscribe, WSF_CH_SUBSCRIBE_ANY);
    ck_assert(!s.presence);
    ck_assert_str_eq(wsf_chconf_publish_name(s.publish), "none");
    ck_assert_str_eq(wsf_chconf_subscribe_name(WSF_CH_SUBSCRIBE_TOKEN), "token");
    ck_assert_ptr_null(wsf_chconf_publish_name((enum wsf_ch_publish)7));
    wsf_chconf_fini(&c);
}
END_TEST

typedef struct set_case {
    const char *key;
    const char *value;
    bool ok;
} set_case;

static const set_case set_cases[] = {
    {"history_size", "0", true},
    {"history_size", "1000000", true},
    {"history_size", "1000001", false},
    {"history_size", "-1", false},
    {"history_size", "10k", false},
    {"history_size", "", false},
    {"history_ttl", "1", true},
    {"history_ttl", "31536000", true},
    {"history_ttl", "0", false},
    {"history_ttl", "31536001", false},
    {"history_ttl", "1.5", false},
    {"publish", "none", true},
    {"publish", "client", true},
    {"publish", "backend", true},
    {"publish", "Client", false},
    {"publish", "any", false},
    {"subscribe", "any", true},
    {"subscribe", "user", true},
    {"subscribe", "token", true},
    {"subscribe", "backend", true},
    {"subscribe", "none", false},
    {"presence", "yes", true},
    {"presence", "No", true},
    {"presence", "on", true},
    {"presence", "0", true},
    {"presence", "maybe", false},
    {"presense", "yes", false},
    {"history", "1", false},
};

START_TEST(key_values)
{
    const set_case *k = &set_cases[_i];
    static const char *const sections[] = {"channels", "namespace chat"};
    for (size_t i = 0; i < 2; i++) {
        wsf_chconf c;
        wsf_chconf_init(&c);
        const char *why = wsf_chconf_set(&c, sections[i], k->key, k->value);
        ck_assert_msg((why == NULL) == k->ok, "[%s] %s = %s: %s", sections[i], k->key, k->value,
                      why == NULL ? "accepted" : why);
        /* A refused value leaves no namespace behind. */
        if (!k->ok)
            ck_assert_uint_eq(c.nns, 0);
        wsf_chconf_fini(&c);
    }
}
END_TEST

START_TEST(values_land)
{
    wsf_chconf c;
    wsf_chconf_init(&c);
    ck_assert_ptr_null(wsf_chconf_set(&c, "channels", "history_size", "7"));
    ck_assert_ptr_null(wsf_chconf_set(&c, "channels", "history_ttl", "60"));
    ck_assert_ptr_null(wsf_chconf_set(&c, "channels", "publish", "backend"));
    ck_assert_ptr_null(wsf_chconf_set(&c, "channels", "subscribe", "user"));
    ck_assert_ptr_null(wsf_chconf_set(&c, "channels", "presence", "true"));
    wsf_ch_settings s = look(&c, "news");
    ck_assert_uint_eq(s.history_size, 7);
    ck_assert_uint_eq(s.history_ttl_s, 60);
    ck_assert_int_eq(s.publish, WSF_CH_PUBLISH_BACKEND);
    ck_assert_int_eq(s.subscribe, WSF_CH_SUBSCRIBE_USER);
    ck_assert(s.presence);
    wsf_chconf_fini(&c);
}
END_TEST

START_TEST(namespaces_inherit_channels)
{
    wsf_chconf c;
    wsf_chconf_init(&c);
    /* The namespace comes first in the file; [channels] still fills what it does not set. */
    ck_assert_ptr_null(wsf_chconf_set(&c, "namespace chat", "publish", "client"));
    ck_assert_ptr_null(wsf_chconf_set(&c, "namespace chat", "presence", "yes"));
    ck_assert_ptr_null(wsf_chconf_set(&c, "namespace feed", "history_size", "1000"));
    ck_assert_ptr_null(wsf_chconf_set(&c, "channels", "history_size", "50"));
    ck_assert_ptr_null(wsf_chconf_set(&c, "channels", "subscribe", "token"));
    ck_assert_ptr_null(wsf_chconf_set(&c, "namespace chat", "publish", "backend")); /* last wins */
    ck_assert_uint_eq(c.nns, 2);

    wsf_ch_settings s = look(&c, "chat:lobby");
    ck_assert_int_eq(s.publish, WSF_CH_PUBLISH_BACKEND);
    ck_assert(s.presence);
    ck_assert_uint_eq(s.history_size, 50);
    ck_assert_int_eq(s.subscribe, WSF_CH_SUBSCRIBE_TOKEN);
    ck_assert_uint_eq(s.history_ttl_s, 300);
    s = look(&c, "feed:a:b");
    ck_assert_uint_eq(s.history_size, 1000);
    ck_assert_int_eq(s.publish, WSF_CH_PUBLISH_NONE);
    s = look(&c, "lobby");
    ck_assert_uint_eq(s.history_size, 50);
    ck_assert(!s.presence);
    wsf_chconf_fini(&c);
}
END_TEST

START_TEST(lookup_refusals)
{
    wsf_chconf c;
    wsf_chconf_init(&c);
    ck_assert_ptr_null(wsf_chconf_add_namespace(&c, "empty"));
    ck_assert_ptr_null(wsf_chconf_add_namespace(&c, "empty")); /* again: the same one */
    ck_assert_uint_eq(c.nns, 1);
    wsf_ch_settings s = look(&c, "empty:x");
    ck_assert_uint_eq(s.history_size, 100);
    /* Undefined namespaces, an empty one, and bad names are 102. */
    static const char *const bad[] = {"chat:lobby", ":x", "emptyx:y", "empt:y", "a b", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(wsf_chconf_lookup(&s, &c, bad[i], strlen(bad[i])) == -WSF_CH_ERR_BAD_CHANNEL,
                      "%s", bad[i]);
    }
    /* The name is compared by length, not as a prefix. */
    ck_assert_int_eq(wsf_chconf_lookup(&s, &c, "empty:", 6), 0);
    wsf_chconf_fini(&c);
}
END_TEST

START_TEST(sections_and_names)
{
    wsf_chconf c;
    wsf_chconf_init(&c);
    ck_assert(wsf_chconf_owns_section("channels"));
    ck_assert(wsf_chconf_owns_section("namespace chat"));
    ck_assert(!wsf_chconf_owns_section("namespace"));
    ck_assert(!wsf_chconf_owns_section("worker"));
    ck_assert_ptr_nonnull(wsf_chconf_set(&c, "worker", "history_size", "1"));
    ck_assert_ptr_nonnull(wsf_chconf_set(&c, "namespace ", "history_size", "1"));
    ck_assert_ptr_nonnull(wsf_chconf_set(&c, "namespace a:b", "history_size", "1"));
    ck_assert_ptr_nonnull(wsf_chconf_set(&c, "namespace a b", "history_size", "1"));
    ck_assert_ptr_nonnull(wsf_chconf_add_namespace(&c, ""));
    char long_name[WSF_CHCONF_MAX_NAME + 2];
    memset(long_name, 'n', sizeof long_name);
    long_name[WSF_CHCONF_MAX_NAME] = '\0';
    ck_assert_ptr_null(wsf_chconf_add_namespace(&c, long_name));
    long_name[WSF_CHCONF_MAX_NAME] = 'n';
    long_name[WSF_CHCONF_MAX_NAME + 1] = '\0';
    ck_assert_ptr_nonnull(wsf_chconf_add_namespace(&c, long_name));
    ck_assert_ptr_null(wsf_chconf_set(&c, "namespace a-b_c.d@e", "presence", "1"));
    ck_assert(look(&c, "a-b_c.d@e:room").presence);
    /* Up to the cap of namespaces, and not one more. */
    char name[16];
    while (c.nns < WSF_CHCONF_MAX_NAMESPACES) {
        snprintf(name, sizeof name, "n%zu", c.nns);
        ck_assert_ptr_null(wsf_chconf_add_namespace(&c, name));
    }
    ck_assert_ptr_nonnull(wsf_chconf_add_namespace(&c, "onemore"));
    ck_assert_ptr_null(wsf_chconf_add_namespace(&c, "n5")); /* existing ones still resolve */
    wsf_chconf_fini(&c);
}
END_TEST

Suite *wsf_chconf_suite(void)
{
    Suite *s = suite_create("wsf_chconf");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults);
    tcase_add_loop_test(tc, key_values, 0, (int)(sizeof set_cases / sizeof set_cases[0]));
    tcase_add_test(tc, values_land);
    tcase_add_test(tc, namespaces_inherit_channels);
    tcase_add_test(tc, lookup_refusals);
    tcase_add_test(tc, sections_and_names);
    suite_add_tcase(s, tc);
    return s;
}
