/* Unit tests for the multi-host configuration: [nats] url lists, credentials and tls_* files,
 * [channels] replicas and [fleet] name, as wsfleetd reads them (sup_config + sup_natscfg). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sup_config.h"
#include "sup_natscfg.h"

Suite *sup_natscfg_suite(void);

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_sup_natscfg_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes text to dir/name with mode 0600; returns its path. */
static const char *put(const char *name, const char *text)
{
    static char paths[4][128];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(p, 0600), 0);
    return p;
}

/* put, then chmod to mode. */
static const char *put_mode(const char *name, const char *text, mode_t mode)
{
    const char *p = put(name, text);
    ck_assert_int_eq(chmod(p, mode), 0);
    return p;
}

/* Parses text as the -c file; err holds the message. */
static int parse_text(sup_config *cfg, const char *text, char *err)
{
    char *argv[] = {"wsfleetd", "-c", (char *)put("f.ini", text), NULL};
    sup_config_init(cfg, 1000, 4);
    return sup_config_parse(cfg, 3, argv, err, SUP_CONFIG_ERR_MAX);
}

static const char seed[] = "SUAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IC5CQ\n";

START_TEST(defaults)
{
    sup_config cfg;
    char err[SUP_CONFIG_ERR_MAX], host[256] = "";
    ck_assert_int_eq(parse_text(&cfg, "[fleet]\n", err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.channels_replicas, 1);
    ck_assert_str_eq(cfg.nats_credentials, "");
    ck_assert_str_eq(cfg.nats_tls_ca, "");
    gethostname(host, sizeof host - 1);
    *strchrnul(host, '.') = '\0';
    if (host[0] != '\0' && strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-") == strlen(host))
        ck_assert_str_eq(cfg.fleet_name, host);
    ck_assert_uint_gt(strlen(cfg.fleet_name), 0);
    ck_assert_uint_eq(strspn(cfg.fleet_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789_-"),
                      strlen(cfg.fleet_name));
}
END_TEST

START_TEST(cluster_keys)
{
    sup_config cfg;
    char err[SUP_CONFIG_ERR_MAX], text[1024];
    const char *creds = put("u.nk", seed);
    const char *ca = put("ca.pem", "-----BEGIN CERTIFICATE-----\n");
    snprintf(text, sizeof text,
             "[fleet]\nname = east-1\n[nats]\nurl = nats://a:4222, nats://b:4223 tls://[::1]:1\n"
             "url = c\ncredentials = %s\ntls_ca = %s\n[channels]\nreplicas = 3\n"
             "history_size = 7\n",
             creds, ca);
    ck_assert_int_eq(parse_text(&cfg, text, err), SUP_CONFIG_RUN);
    ck_assert_str_eq(cfg.fleet_name, "east-1");
    ck_assert_str_eq(cfg.nats_url, "nats://a:4222,nats://b:4223,tls://[::1]:1,c");
    ck_assert_str_eq(cfg.nats_credentials, creds);
    ck_assert_str_eq(cfg.nats_tls_ca, ca);
    /* Read-only for its owner is fine too; the other files may be readable by anyone. */
    ck_assert_int_eq(chmod(creds, 0400), 0);
    ck_assert_int_eq(chmod(ca, 0644), 0);
    ck_assert_int_eq(parse_text(&cfg, text, err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.channels_replicas, 3);
    ck_assert_uint_eq(cfg.channels_max_history, 7);
    /* replicas is not a channel setting: the workers' channels.ini does not carry it. */
    ck_assert_ptr_null(strstr(cfg.channels_ini, "replicas"));
}
END_TEST

START_TEST(cluster_errors)
{
    char missing[160], notcreds[160], damaged[160], group[160], others[160], wother[160];
    snprintf(missing, sizeof missing,
             "[nats]\nurl = nats://a\ncredentials = %s/none\n", dir);
    snprintf(notcreds, sizeof notcreds, "[nats]\nurl = nats://a\ncredentials = %s\n",
             put("x", "hello\n"));
    snprintf(damaged, sizeof damaged, "[nats]\nurl = nats://a\ncredentials = %s\n",
             put("d", "SUAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IC5CA\n"));
    snprintf(group, sizeof group, "[nats]\nurl = nats://a\ncredentials = %s\n",
             put_mode("g.nk", seed, 0640));
    snprintf(others, sizeof others, "[nats]\nurl = nats://a\ncredentials = %s\n",
             put_mode("o.nk", seed, 0604));
    snprintf(wother, sizeof wother, "[nats]\nurl = nats://a\ncredentials = %s\n",
             put_mode("w.nk", seed, 0602));
    const struct {
        const char *ini;
        const char *want;
    } cases[] = {
        {missing, "[nats] credentials /tmp/"},
        {group, "g.nk: mode 0640 lets group or others at the secret; chmod 600 it"},
        {others, "o.nk: mode 0604 lets group or others"},
        {wother, "w.nk: mode 0602 lets group or others"},
        {notcreds, "neither a .creds file nor a user nkey seed"},
        {damaged, "the user nkey seed is damaged"},
        {"[nats]\ncredentials = /etc/hostname\n", "[nats] credentials needs [nats] url"},
        {"[nats]\nurl = nats://a\ntls_cert = /etc/hostname\n", "tls_cert and tls_key go together"},
        {"[channels]\nreplicas = 3\n", "[channels] replicas = 3 needs a NATS cluster"},
        {"[channels]\nreplicas = 6\n", ":2: [channels] replicas:"},
        {"[fleet]\nname = a.b\n", ":2: [fleet] name: 'a.b' may hold only letters"},
        {"[fleet]\nname =\n", ":2: [fleet] name: '' must be 1..64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sup_config cfg;
        char err[SUP_CONFIG_ERR_MAX];
        ck_assert_int_eq(parse_text(&cfg, cases[i].ini, err), SUP_CONFIG_ERROR);
        ck_assert_msg(strstr(err, cases[i].want) != NULL, "case %zu: %s", i, err);
        ck_assert_ptr_null(strchr(err, '\n'));
    }
}
END_TEST

START_TEST(default_name_is_a_token)
{
    char out[8];
    sup_natscfg_default_name(out, sizeof out);
    ck_assert_uint_gt(strlen(out), 0);
    ck_assert_uint_le(strlen(out), 7);
    ck_assert_ptr_null(strchr(out, '.'));
}
END_TEST

Suite *sup_natscfg_suite(void)
{
    Suite *s = suite_create("sup_natscfg");
    TCase *tc = tcase_create("natscfg");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, cluster_keys);
    tcase_add_test(tc, cluster_errors);
    tcase_add_test(tc, default_name_is_a_token);
    suite_add_tcase(s, tc);
    return s;
}
