/* Unit tests for supervisor/sup_alcfg.c: the [alerts] defaults and keys, read through wsfleetd's
 * INI parser (sup_config_parse) as at start, and the webhook URLs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sup_alcfg.h"
#include "sup_config.h"

Suite *sup_alcfg_suite(void);

/* Parses text as wsfleetd's -c file; err gets the message. */
static int parse_ini(sup_config *cfg, const char *text, char *err)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_sup_alcfg_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    char *argv[] = {"wsfleetd", "-c", path, NULL};
    sup_config_init(cfg, 1000, 4);
    int rc = sup_config_parse(cfg, 3, argv, err, SUP_CONFIG_ERR_MAX);
    unlink(path);
    return rc;
}

START_TEST(test_defaults)
{
    sup_config *cfg = malloc(sizeof *cfg);
    char err[SUP_CONFIG_ERR_MAX];
    ck_assert_int_eq(parse_ini(cfg, "[fleet]\n", err), SUP_CONFIG_RUN);
    const sup_alerts_cfg *a = &cfg->alerts;
    for (int r = 0; r < SUP_ALERT_NRULES; r++)
        ck_assert(a->rule[r].enabled);
    ck_assert_uint_eq(a->rule[SUP_ALERT_SLOT_FAILED].for_ms, 0);
    ck_assert_uint_eq(a->rule[SUP_ALERT_FLEET_DEGRADED].for_ms, 30000);
    ck_assert_uint_eq(a->rule[SUP_ALERT_BREAKER_OPEN].for_ms, 60000);
    ck_assert_uint_eq(a->rule[SUP_ALERT_ERROR_RATE].for_ms, 60000);
    ck_assert_uint_eq(a->rule[SUP_ALERT_P99_LATENCY].for_ms, 60000);
    ck_assert_uint_eq(a->rule[SUP_ALERT_SIDECAR_DOWN].for_ms, 30000);
    ck_assert(a->error_rate_above == 10.0);
    ck_assert_uint_eq(a->p99_above_us, 10000);
    ck_assert_uint_eq(a->resend_ms, 60000);
    ck_assert_uint_eq(a->timeout_ms, 5000);
    ck_assert_uint_eq(a->queue, 64);
    ck_assert_str_eq(a->fleet, "");
    ck_assert_uint_eq(a->nwebhooks, 0);
    ck_assert_str_eq(a->webhook_ca, "");
    free(cfg);
}
END_TEST

START_TEST(test_every_key)
{
    sup_config *cfg = malloc(sizeof *cfg);
    char err[SUP_CONFIG_ERR_MAX];
    ck_assert_int_eq(parse_ini(cfg,
                               "[alerts]\n"
                               "slot_failed = no\nslot_failed_for = 2\n"
                               "fleet_degraded = off\nfleet_degraded_for = 0.5\n"
                               "breaker_open = yes\nbreaker_open_for = 120\n"
                               "error_rate = false\nerror_rate_above = 2.5\nerror_rate_for = 10\n"
                               "p99_latency = on\np99_latency_above = 0.25\np99_latency_for = 0\n"
                               "sidecar_down = 0\nsidecar_down_for = 7\n"
                               "resend_interval = 30\nwebhook_timeout = 0.5\nwebhook_queue = 3\n"
                               "fleet = edge-1\n"
                               "webhook = http://127.0.0.1:9093\n"
                               "webhook = http://am.example:80/custom/path\n",
                               err),
                     SUP_CONFIG_RUN);
    ck_assert_str_eq(err, "");
    const sup_alerts_cfg *a = &cfg->alerts;
    ck_assert(!a->rule[SUP_ALERT_SLOT_FAILED].enabled);
    ck_assert_uint_eq(a->rule[SUP_ALERT_SLOT_FAILED].for_ms, 2000);
    ck_assert(!a->rule[SUP_ALERT_FLEET_DEGRADED].enabled);
    ck_assert_uint_eq(a->rule[SUP_ALERT_FLEET_DEGRADED].for_ms, 500);
    ck_assert(a->rule[SUP_ALERT_BREAKER_OPEN].enabled);
    ck_assert_uint_eq(a->rule[SUP_ALERT_BREAKER_OPEN].for_ms, 120000);
    ck_assert(!a->rule[SUP_ALERT_ERROR_RATE].enabled);
    ck_assert(a->error_rate_above == 2.5);
    ck_assert_uint_eq(a->rule[SUP_ALERT_ERROR_RATE].for_ms, 10000);
    ck_assert(a->rule[SUP_ALERT_P99_LATENCY].enabled);
    ck_assert_uint_eq(a->p99_above_us, 250);
    ck_assert_uint_eq(a->rule[SUP_ALERT_P99_LATENCY].for_ms, 0);
    ck_assert(!a->rule[SUP_ALERT_SIDECAR_DOWN].enabled);
    ck_assert_uint_eq(a->rule[SUP_ALERT_SIDECAR_DOWN].for_ms, 7000);
    ck_assert_uint_eq(a->resend_ms, 30000);
    ck_assert_uint_eq(a->timeout_ms, 500);
    ck_assert_uint_eq(a->queue, 3);
    ck_assert_str_eq(a->fleet, "edge-1");
    ck_assert_uint_eq(a->nwebhooks, 2);
    ck_assert_str_eq(a->webhook[0], "http://127.0.0.1:9093");
    ck_assert_str_eq(a->webhook[1], "http://am.example:80/custom/path");
    free(cfg);
}
END_TEST

/* A file with text in it, removed by the caller. */
static void write_file(char *path, size_t len, const char *text)
{
    snprintf(path, len, "/tmp/test_sup_alcfg_ca_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

/* https webhooks with a private CA: the file is read at load time, and must hold a PEM
 * certificate (OpenSSL parses it when the webhooks are set up). */
START_TEST(test_https_and_ca)
{
    sup_config *cfg = malloc(sizeof *cfg);
    char err[SUP_CONFIG_ERR_MAX], ca[64], ini[512];
    write_file(ca, sizeof ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    snprintf(ini, sizeof ini,
             "[alerts]\nwebhook = http://127.0.0.1:9093\nwebhook_ca = %s\n"
             "webhook = https://am.example/hook\n",
             ca);
    ck_assert_int_eq(parse_ini(cfg, ini, err), SUP_CONFIG_RUN);
    ck_assert_str_eq(err, "");
    ck_assert_uint_eq(cfg->alerts.nwebhooks, 2);
    ck_assert_str_eq(cfg->alerts.webhook[1], "https://am.example/hook");
    ck_assert_str_eq(cfg->alerts.webhook_ca, ca);
    /* No CA file: the system's CAs alone. */
    ck_assert_int_eq(parse_ini(cfg, "[alerts]\nwebhook = https://am.example\n", err),
                     SUP_CONFIG_RUN);
    ck_assert_str_eq(cfg->alerts.webhook_ca, "");
    unlink(ca);

    /* A readable file without a certificate. */
    write_file(ca, sizeof ca, "just text\n");
    snprintf(ini, sizeof ini, "[alerts]\nwebhook = https://am\n\nwebhook_ca = %s\n", ca);
    ck_assert_int_eq(parse_ini(cfg, ini, err), SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, ":4: [alerts] webhook_ca: '") != NULL &&
                      strstr(err, "' holds no PEM certificate") != NULL,
                  "%s", err);
    /* One that cannot be read (root reads anything: only as another user). */
    if (geteuid() != 0) {
        ck_assert_int_eq(chmod(ca, 0), 0);
        ck_assert_int_eq(parse_ini(cfg, ini, err), SUP_CONFIG_ERROR);
        ck_assert_msg(strstr(err, "cannot read it: Permission denied") != NULL, "%s", err);
    }
    unlink(ca);
    free(cfg);
}
END_TEST

/* Bad values are refused at start with the file, line, section and key. */
static const struct {
    const char *text;
    const char *err;
} bad_inputs[] = {
    {"[alerts]\nslot_failed = maybe\n", ":2: [alerts] slot_failed: 'maybe' is not yes or no"},
    {"[alerts]\nbreaker_open_for = -1\n",
     ":2: [alerts] breaker_open_for: '-1' is not a duration in seconds"},
    {"[alerts]\nerror_rate_above = lots\n", ":2: [alerts] error_rate_above: 'lots' is not a"},
    {"[alerts]\nerror_rate_above = -3\n", ":2: [alerts] error_rate_above: '-3' is not a"},
    {"[alerts]\np99_latency_above = 20\n",
     ":2: [alerts] p99_latency_above: '20' is not milliseconds in 0.001..16.384"},
    {"[alerts]\np99_latency_above = 0\n", "'0' is not milliseconds"},
    {"[alerts]\nresend_interval = 0.5\n",
     ":2: [alerts] resend_interval: 0.5 is out of range 1..86400 seconds"},
    {"[alerts]\nwebhook_queue = 0\n", ":2: [alerts] webhook_queue: '0' is not a whole number"},
    {"[alerts]\nfleet = a b\n", "[alerts] fleet: 'a b': spaces"},
    {"[alerts]\nwebhook = ftp://am\n", "'ftp://am' is not an http:// or https:// URL"},
    {"[alerts]\nwebhook = https://:9093\n", "'https://:9093': no host"},
    {"[alerts]\nwebhook = https://am:0/\n", "bad port"},
    {"[alerts]\nwebhook_ca = \n", ":2: [alerts] webhook_ca: must be a file name of 1..255"},
    {"[alerts]\nwebhook = https://am\nwebhook_ca = /nonexistent/wsfleet-ca.pem\n",
     ":3: [alerts] webhook_ca: '/nonexistent/wsfleet-ca.pem': cannot read it: No such file"},
    {"[alerts]\nwebhook = https://am\nwebhook_ca = /\n",
     ":3: [alerts] webhook_ca: '/' is not a regular file"},
    {"[alerts]\nwebhook_ca = /dev/null\nwebhook = http://am\n",
     ":2: [alerts] webhook_ca is set but no [alerts] webhook is an https:// URL"},
    {"[alerts]\nwebhook_ca = /dev/null\n",
     ":2: [alerts] webhook_ca is set but no [alerts] webhook is an https:// URL"},
    {"[alerts]\nwebhook = https://am\nwebhook_ca = /dev/null\n",
     ":3: [alerts] webhook_ca: '/dev/null' is not a regular file"},
    {"[alerts]\nwebhook = http://:9093\n", "'http://:9093': no host"},
    {"[alerts]\nwebhook = http://am:99999\n", "bad port"},
    {"[alerts]\nwebhook = http://am/x?y=1\n", "no user, query or fragment"},
    {"[alerts]\nwebhook = http://u@am/\n", "no user, query or fragment"},
    {"[alerts]\nrule = yes\n", ":2: [alerts] rule: unknown key"},
    {"[alerts]\nslot_failed_after = 1\n", ":2: [alerts] slot_failed_after: unknown key"},
};

START_TEST(test_bad_input)
{
    sup_config *cfg = malloc(sizeof *cfg);
    char err[SUP_CONFIG_ERR_MAX];
    ck_assert_int_eq(parse_ini(cfg, bad_inputs[_i].text, err), SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, bad_inputs[_i].err) != NULL, "'%s' lacks '%s'", err,
                  bad_inputs[_i].err);
    free(cfg);
}
END_TEST

START_TEST(test_too_many_webhooks)
{
    sup_alerts_cfg c;
    char why[256];
    sup_alcfg_init(&c);
    for (int i = 0; i < SUP_ALERTS_MAX_WEBHOOKS; i++)
        ck_assert_int_eq(sup_alcfg_set(&c, "webhook", "http://127.0.0.1:1/", why, sizeof why), 0);
    ck_assert_int_eq(sup_alcfg_set(&c, "webhook", "http://127.0.0.1:1/", why, sizeof why), -1);
    ck_assert_str_eq(why, "more than 8 webhooks");
}
END_TEST

START_TEST(test_urls)
{
    sup_alert_url u;
    char why[256];
    ck_assert_int_eq(sup_alcfg_parse_url(&u, "http://127.0.0.1:9093", why, sizeof why), 0);
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_uint_eq(u.port, 9093);
    ck_assert_str_eq(u.path, "/api/v2/alerts");
    ck_assert_int_eq(sup_alcfg_parse_url(&u, "http://am.example/", why, sizeof why), 0);
    ck_assert_str_eq(u.host, "am.example");
    ck_assert_uint_eq(u.port, 80);
    ck_assert_str_eq(u.path, "/api/v2/alerts");
    ck_assert_int_eq(sup_alcfg_parse_url(&u, "http://[::1]:8080/hook/in", why, sizeof why), 0);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_uint_eq(u.port, 8080);
    ck_assert_str_eq(u.path, "/hook/in");
    ck_assert_int_eq(sup_alcfg_parse_url(&u, "http://[::1]/", why, sizeof why), 0);
    ck_assert_uint_eq(u.port, 80);
    ck_assert(!u.tls);
    ck_assert_int_eq(sup_alcfg_parse_url(&u, "https://am.example", why, sizeof why), 0);
    ck_assert(u.tls);
    ck_assert_str_eq(u.host, "am.example");
    ck_assert_uint_eq(u.port, 443);
    ck_assert_str_eq(u.path, "/api/v2/alerts");
    ck_assert_int_eq(sup_alcfg_parse_url(&u, "https://[::1]:8443/in", why, sizeof why), 0);
    ck_assert(u.tls);
    ck_assert_str_eq(u.host, "::1");
    ck_assert_uint_eq(u.port, 8443);
    ck_assert_str_eq(u.path, "/in");
    const char *bad[] = {
        "",           "http://",        "http://[::1",   "http://[]:80",  "http://[::1]x/",
        "http://a:/", "http://a:0/",    "http://a b/",   "HTTP://a/",     "http://a\t/",
        "http://[[]", "http://[::1]]/", "http://a%20b/", "http://[::g]/", "http://a[b]/",
        "https://",   "https:/a/",      "HTTPS://a/",    "https://u@a/",  "https://a/?x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(sup_alcfg_parse_url(&u, bad[i], why, sizeof why) == -1, "'%s'", bad[i]);
    char longurl[SUP_ALERTS_URL_MAX + 8];
    memset(longurl, 'a', sizeof longurl - 1);
    memcpy(longurl, "http://", 7);
    longurl[sizeof longurl - 1] = '\0';
    ck_assert_int_eq(sup_alcfg_parse_url(&u, longurl, why, sizeof why), -1);
    ck_assert_str_eq(why, "longer than 255 characters");
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(sup_alert_rule_key(SUP_ALERT_P99_LATENCY), "p99_latency");
    ck_assert_str_eq(sup_alert_rule_alertname(SUP_ALERT_SIDECAR_DOWN), "WsfleetSidecarDown");
    ck_assert_str_eq(sup_alert_rule_key(SUP_ALERT_NRULES), "?");
}
END_TEST

Suite *sup_alcfg_suite(void)
{
    Suite *s = suite_create("sup_alcfg");
    TCase *tc = tcase_create("alcfg");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_every_key);
    tcase_add_test(tc, test_https_and_ca);
    tcase_add_loop_test(tc, test_bad_input, 0, sizeof bad_inputs / sizeof bad_inputs[0]);
    tcase_add_test(tc, test_too_many_webhooks);
    tcase_add_test(tc, test_urls);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}
