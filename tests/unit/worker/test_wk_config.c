/* Unit tests for worker/wk_config.c: defaults, every flag, and the errors that make wsworker exit
 * 100 before it binds anything. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "wk_config.h"

Suite *wk_config_suite(void);

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

/* Parses a NULL-terminated argument list into a fresh config. */
static int parse(wk_config *cfg, char **argv, int argc)
{
    wk_config_init(cfg);
    return wk_config_parse(cfg, argc, argv);
}

/* parse() with the usage error it prints on refusal sent to /dev/null. */
static int parse_quiet(wk_config *cfg, char **argv, int argc)
{
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    int rc = parse(cfg, argv, argc);
    fclose(stderr);
    stderr = saved;
    return rc;
}

START_TEST(defaults)
{
    char *argv[] = {"wsworker", NULL};
    wk_config cfg;
    ck_assert_int_eq(parse(&cfg, argv, ARGC(argv)), 0);
    ck_assert_uint_eq(cfg.nlisten, 1);
    ck_assert_str_eq(cfg.listen[0], "127.0.0.1:8080");
    ck_assert_uint_eq(cfg.max_message, 1048576);
    ck_assert_uint_eq(cfg.max_backlog, 4194304);
    ck_assert_uint_eq(cfg.max_connections, 10000);
    ck_assert_uint_eq(cfg.handshake_ms, 10000);
    ck_assert_uint_eq(cfg.ping_ms, 25000);
    ck_assert_uint_eq(cfg.idle_ms, 60000);
    ck_assert_uint_eq(cfg.grace_ms, 10000);
    ck_assert_int_eq(cfg.log_level, WSF_LOG_INFO);
}
END_TEST

START_TEST(every_flag)
{
    char *argv[] = {"wsworker",    "--listen",
                    "127.0.0.1:0", "--listen",
                    "[::1]:9000",  "--max-message",
                    "4096",        "--max-backlog",
                    "65536",       "--max-connections",
                    "2",           "--retry-after",
                    "7",           "--handshake-timeout",
                    "0.5",         "--ping-interval",
                    "1.25",        "--idle-timeout",
                    "3",           "--close-timeout",
                    "0.001",       "--grace",
                    "2",           "--log-level",
                    "debug",       NULL};
    wk_config cfg;
    ck_assert_int_eq(parse(&cfg, argv, ARGC(argv)), 0);
    ck_assert_uint_eq(cfg.nlisten, 2);
    ck_assert_str_eq(cfg.listen[0], "127.0.0.1:0");
    ck_assert_str_eq(cfg.listen[1], "[::1]:9000");
    ck_assert_uint_eq(cfg.max_message, 4096);
    ck_assert_uint_eq(cfg.max_backlog, 65536);
    ck_assert_uint_eq(cfg.max_connections, 2);
    ck_assert_uint_eq(cfg.retry_after, 7);
    ck_assert_uint_eq(cfg.handshake_ms, 500);
    ck_assert_uint_eq(cfg.ping_ms, 1250);
    ck_assert_uint_eq(cfg.idle_ms, 3000);
    ck_assert_uint_eq(cfg.close_ms, 1);
    ck_assert_uint_eq(cfg.grace_ms, 2000);
    ck_assert_int_eq(cfg.log_level, WSF_LOG_DEBUG);
}
END_TEST

/* Each of these must be refused (wsworker exits 100). */
static const char *const bad_args[][2] = {
    {"--max-message", "0"},
    {"--max-message", "-1"},
    {"--max-message", "12k"},
    {"--max-message", ""},
    {"--max-connections", "0"},
    {"--max-backlog", "x"},
    {"--handshake-timeout", "0"},
    {"--ping-interval", "-2"},
    {"--idle-timeout", "nan"},
    {"--idle-timeout", "inf"},
    {"--grace", "1e9"},
    {"--close-timeout", "1s"},
    {"--log-level", "verbose"},
    {"--retry-after", "99999999"},
    {"--bogus", "1"},
};

START_TEST(bad_values_refused)
{
    char *argv[] = {"wsworker", (char *)bad_args[_i][0], (char *)bad_args[_i][1], NULL};
    wk_config cfg;
    int rc = parse_quiet(&cfg, argv, ARGC(argv));
    ck_assert_msg(rc == -1, "%s %s: got %d", bad_args[_i][0], bad_args[_i][1], rc);
}
END_TEST

START_TEST(stray_argument_refused)
{
    char *argv[] = {"wsworker", "--listen", "127.0.0.1:1", "extra", NULL};
    wk_config cfg;
    int rc = parse_quiet(&cfg, argv, ARGC(argv));
    ck_assert_int_eq(rc, -1);
}
END_TEST

START_TEST(too_many_listeners_refused)
{
    char *argv[2 + 2 * (WK_MAX_LISTEN + 1)];
    int argc = 0;
    argv[argc++] = "wsworker";
    for (int i = 0; i <= WK_MAX_LISTEN; i++) {
        argv[argc++] = "--listen";
        argv[argc++] = "127.0.0.1:0";
    }
    argv[argc] = NULL;
    wk_config cfg;
    int rc = parse_quiet(&cfg, argv, argc);
    ck_assert_int_eq(rc, -1);
}
END_TEST

START_TEST(help_and_version)
{
    char *help[] = {"wsworker", "--help", NULL};
    char *version[] = {"wsworker", "--version", NULL};
    wk_config cfg;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int rc_help = parse(&cfg, help, ARGC(help));
    int rc_version = parse(&cfg, version, ARGC(version));
    fclose(stdout);
    stdout = saved;
    ck_assert_int_eq(rc_help, 1);
    ck_assert_int_eq(rc_version, 1);
}
END_TEST

Suite *wk_config_suite(void)
{
    Suite *s = suite_create("wk_config");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_flag);
    tcase_add_loop_test(tc, bad_values_refused, 0, (int)(sizeof bad_args / sizeof bad_args[0]));
    tcase_add_test(tc, stray_argument_refused);
    tcase_add_test(tc, too_many_listeners_refused);
    tcase_add_test(tc, help_and_version);
    suite_add_tcase(s, tc);
    return s;
}
