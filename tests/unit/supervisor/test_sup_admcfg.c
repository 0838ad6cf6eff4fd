/* Unit tests for supervisor/sup_admcfg.c: the [admin] keys, their checks, and the section read
 * through sup_config_parse from a real INI file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sup_admcfg.h"
#include "sup_config.h"

Suite *sup_admcfg_suite(void);

START_TEST(defaults)
{
    sup_admin_settings a;
    char why[256];
    sup_admcfg_init(&a);
    ck_assert_str_eq(a.listen, "127.0.0.1:8001");
    ck_assert_str_eq(a.tls_cert, "");
    ck_assert_str_eq(a.cors_origins, "");
    ck_assert_uint_eq(a.request_ms, 15000);
    ck_assert_int_eq(sup_admcfg_check(&a, why, sizeof why), 0);
}
END_TEST

START_TEST(keys)
{
    sup_admin_settings a;
    char why[256];
    sup_admcfg_init(&a);
    ck_assert_int_eq(sup_admcfg_set(&a, "listen", "off", why, sizeof why), 0);
    ck_assert_str_eq(a.listen, "");
    ck_assert_int_eq(sup_admcfg_set(&a, "listen", "[::1]:0", why, sizeof why), 0);
    ck_assert_str_eq(a.listen, "[::1]:0");
    ck_assert_int_eq(sup_admcfg_set(&a, "listen", "127.0.0.1", why, sizeof why), -1);
    ck_assert(strstr(why, "HOST:PORT") != NULL);
    ck_assert_int_eq(sup_admcfg_set(&a, "listen", "127.0.0.1:70000", why, sizeof why), -1);
    ck_assert_int_eq(sup_admcfg_set(&a, "tls_cert", "", why, sizeof why), -1);
    ck_assert_int_eq(sup_admcfg_set(&a, "tls_cert", "/x/cert.pem", why, sizeof why), 0);
    ck_assert_str_eq(a.tls_cert, "/x/cert.pem");
    ck_assert_int_eq(sup_admcfg_set(&a, "cors_origins", "https://a.example, https://*.b.example",
                                    why, sizeof why),
                     0);
    ck_assert_int_eq(sup_admcfg_set(&a, "cors_origins", "https://a.example/path", why, sizeof why),
                     -1);
    ck_assert_int_eq(sup_admcfg_set(&a, "request_timeout", "2.5", why, sizeof why), 0);
    ck_assert_uint_eq(a.request_ms, 2500);
    ck_assert_int_eq(sup_admcfg_set(&a, "request_timeout", "3600", why, sizeof why), 0);
    ck_assert_uint_eq(a.request_ms, 3600000);
    ck_assert_int_eq(sup_admcfg_set(&a, "request_timeout", "0", why, sizeof why), -1);
    ck_assert(strstr(why, "seconds") != NULL);
    ck_assert_int_eq(sup_admcfg_set(&a, "request_timeout", "3601", why, sizeof why), -1);
    ck_assert_int_eq(sup_admcfg_set(&a, "request_timeout", "10s", why, sizeof why), -1);
    ck_assert_uint_eq(a.request_ms, 3600000);
    ck_assert_int_eq(sup_admcfg_set(&a, "colour", "blue", why, sizeof why), -2);
    ck_assert_str_eq(why, "unknown key");
}
END_TEST

START_TEST(loopback)
{
    ck_assert(sup_admcfg_is_loopback("127.0.0.1:8001"));
    ck_assert(sup_admcfg_is_loopback("127.1.2.3:1"));
    ck_assert(sup_admcfg_is_loopback("[::1]:8001"));
    ck_assert(sup_admcfg_is_loopback("localhost:8001"));
    ck_assert(!sup_admcfg_is_loopback("0.0.0.0:8001"));
    ck_assert(!sup_admcfg_is_loopback("10.0.0.1:8001"));
    ck_assert(!sup_admcfg_is_loopback("[::]:8001"));
    ck_assert(!sup_admcfg_is_loopback("example.com:8001"));
}
END_TEST

START_TEST(non_loopback_needs_tls)
{
    sup_admin_settings a;
    char why[256];
    sup_admcfg_init(&a);
    ck_assert_int_eq(sup_admcfg_set(&a, "listen", "0.0.0.0:8001", why, sizeof why), 0);
    ck_assert_int_eq(sup_admcfg_check(&a, why, sizeof why), -1);
    ck_assert(strstr(why, "not a loopback address") != NULL);
    ck_assert_int_eq(sup_admcfg_set(&a, "tls_cert", "c.pem", why, sizeof why), 0);
    ck_assert_int_eq(sup_admcfg_check(&a, why, sizeof why), -1);
    ck_assert(strstr(why, "go together") != NULL);
    ck_assert_int_eq(sup_admcfg_set(&a, "tls_key", "k.pem", why, sizeof why), 0);
    ck_assert_int_eq(sup_admcfg_check(&a, why, sizeof why), 0);
    ck_assert_int_eq(sup_admcfg_set(&a, "listen", "off", why, sizeof why), 0);
    ck_assert_int_eq(sup_admcfg_check(&a, why, sizeof why), 0);
}
END_TEST

/* Parses an INI text through sup_config_parse; returns its result, the error in err. */
static int parse_ini(sup_config *cfg, const char *text, char *err, size_t errlen, const char *flag,
                     const char *value)
{
    char path[] = "/tmp/test_sup_admcfg_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *argv[] = {"wsfleetd", "-c", path, (char *)flag, (char *)value, NULL};
    sup_config_init(cfg, 1000, 4);
    int rc = sup_config_parse(cfg, flag ? 5 : 3, argv, err, errlen);
    unlink(path);
    return rc;
}

START_TEST(through_the_config_file)
{
    static sup_config cfg;
    char err[SUP_CONFIG_ERR_MAX];
    ck_assert_int_eq(parse_ini(&cfg,
                               "[admin]\nlisten = 127.0.0.1:9101\ncors_origins = "
                               "https://ops.example\n",
                               err, sizeof err, NULL, NULL),
                     SUP_CONFIG_RUN);
    ck_assert_str_eq(cfg.admin.listen, "127.0.0.1:9101");
    ck_assert_str_eq(cfg.admin.cors_origins, "https://ops.example");
    ck_assert_int_eq(parse_ini(&cfg, "[admin]\nlisten = 127.0.0.1:9101\n", err, sizeof err,
                               "--admin-listen", "off"),
                     SUP_CONFIG_RUN);
    ck_assert_str_eq(cfg.admin.listen, "");
    ck_assert_int_eq(parse_ini(&cfg, "[fleet]\n\n[admin]\nport = 1\n", err, sizeof err, NULL, NULL),
                     SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, ":4: [admin] port: unknown key") != NULL, "%s", err);
    ck_assert_int_eq(
        parse_ini(&cfg, "[admin]\nlisten = 0.0.0.0:8001\n", err, sizeof err, NULL, NULL),
        SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, "[admin] listen 0.0.0.0:8001 is not a loopback address") != NULL,
                  "%s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_int_eq(
        parse_ini(&cfg, "[workers]\ncount = 2\n", err, sizeof err, "--admin-listen", "nowhere"),
        SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, "--admin-listen: 'nowhere'") != NULL, "%s", err);
}
END_TEST

Suite *sup_admcfg_suite(void)
{
    Suite *s = suite_create("sup_admcfg");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, keys);
    tcase_add_test(tc, loopback);
    tcase_add_test(tc, non_loopback_needs_tls);
    tcase_add_test(tc, through_the_config_file);
    suite_add_tcase(s, tc);
    return s;
}
