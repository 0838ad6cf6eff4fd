/* Unit tests for worker/wk_config.c: defaults, every flag, and the errors that make wsworker exit
 * 100 before it binds anything. */
#include <check.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "wk_config.h"

Suite *wk_config_suite(void);

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

/* A fake environment: arg is a NULL-terminated list of name/value pairs. */
static const char *fake_getenv(const char *name, void *arg)
{
    const char *const *env = arg;
    for (size_t i = 0; env && env[i]; i += 2) {
        if (strcmp(env[i], name) == 0)
            return env[i + 1];
    }
    return NULL;
}

/* Parses a NULL-terminated argument list, then the environment env, into a fresh config, as
 * wsworker's main does. */
static int parse_env(wk_config *cfg, char **argv, int argc, const char *const *env)
{
    wk_config_init(cfg);
    int rc = wk_config_parse(cfg, argc, argv);
    if (rc != 0)
        return rc;
    return wk_config_from_env(cfg, fake_getenv, (void *)env);
}

static int parse(wk_config *cfg, char **argv, int argc)
{
    return parse_env(cfg, argv, argc, NULL);
}

/* parse() with the usage error it prints on refusal sent to /dev/null. */
static int parse_quiet_env(wk_config *cfg, char **argv, int argc, const char *const *env)
{
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    int rc = parse_env(cfg, argv, argc, env);
    fclose(stderr);
    stderr = saved;
    return rc;
}

static int parse_quiet(wk_config *cfg, char **argv, int argc)
{
    return parse_quiet_env(cfg, argv, argc, NULL);
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
    ck_assert_uint_eq(cfg.drills_max_memory, 0); /* faults refused */
}
END_TEST

START_TEST(drills_max_memory)
{
    char *argv[] = {"wsworker", "--drills-max-memory", "268435456", NULL};
    wk_config cfg;
    ck_assert_int_eq(parse(&cfg, argv, ARGC(argv)), 0);
    ck_assert_uint_eq(cfg.drills_max_memory, 268435456);
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
    {"--drills-max-memory", "0"},
    {"--drills-max-memory", "1G"},
    {"--nats-url", ""},
    {"--nats-url-file", ""},
    {"--channels-config", ""},
    {"--nats-stream", ""},
    {"--deflate", "maybe"},
    {"--deflate", ""},
    {"--deflate-context-takeover", "2"},
    {"--deflate-min-size", "-1"},
    {"--deflate-min-size", "4294967296"},
    {"--nats-stream", "a.b"},
    {"--nats-stream", "wsf>"},
    {"--origins", "https://app.*.com"},
    {"--origins", "ftp://x.test"},
    {"--msg-rate", "-1"},
    {"--msg-rate", "1000001"},
    {"--msg-burst", "0"},
    {"--max-conns-per-ip", "x"},
    {"--server-header", ""},
    {"--server-header", "a\r\nSet-Cookie: x"},
    {"--auth-hmac-secret-file", ""},
    {"--auth-public-key", ""},
    {"--auth-required", "maybe"},
    {"--auth-required", ""},
    {"--auth-audience", ""},
    {"--auth-issuer", ""},
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

START_TEST(deflate_flags)
{
    char *off[] = {"wsworker", NULL};
    wk_config cfg;
    ck_assert_int_eq(parse(&cfg, off, ARGC(off)), 0);
    ck_assert(!cfg.deflate);
    ck_assert(!cfg.deflate_context_takeover);
    ck_assert_uint_eq(cfg.deflate_min_size, 64);

    char *on[] = {"wsworker", "--deflate",          "on", "--deflate-context-takeover",
                  "on",       "--deflate-min-size", "0",  NULL};
    ck_assert_int_eq(parse(&cfg, on, ARGC(on)), 0);
    ck_assert(cfg.deflate);
    ck_assert(cfg.deflate_context_takeover);
    ck_assert_uint_eq(cfg.deflate_min_size, 0);

    char *words[] = {"wsworker", "--deflate", "yes", "--deflate-context-takeover", "off", NULL};
    ck_assert_int_eq(parse(&cfg, words, ARGC(words)), 0);
    ck_assert(cfg.deflate);
    ck_assert(!cfg.deflate_context_takeover);
}
END_TEST

START_TEST(tls_flags)
{
    wk_config cfg;
    char *none[] = {"wsworker", NULL};
    ck_assert_int_eq(parse(&cfg, none, ARGC(none)), 0);
    ck_assert_uint_eq(cfg.ntls_listen, 0);
    ck_assert_int_eq(cfg.tls_min, TLS1_2_VERSION);
    ck_assert_int_eq(cfg.tls_max, TLS1_3_VERSION);

    char *all[] = {"wsworker", "--tls-listen",  "127.0.0.1:0",  "--tls-listen",
                   "[::1]:0",  "--cert",        "c.pem",        "--key",
                   "k.pem",    "--ciphers",     "ECDHE+AESGCM", "--tls-protocols",
                   "TLSv1.3",  "--ticket-keys", "t.keys",       NULL};
    ck_assert_int_eq(parse(&cfg, all, ARGC(all)), 0);
    ck_assert_uint_eq(cfg.ntls_listen, 2);
    ck_assert_str_eq(cfg.tls_listen[1], "[::1]:0");
    ck_assert_uint_eq(cfg.nlisten, 0); /* no plain default beside TLS listeners */
    ck_assert_str_eq(cfg.cert, "c.pem");
    ck_assert_str_eq(cfg.key, "k.pem");
    ck_assert_str_eq(cfg.ciphers, "ECDHE+AESGCM");
    ck_assert_str_eq(cfg.ticket_keys, "t.keys");
    ck_assert_int_eq(cfg.tls_min, TLS1_3_VERSION);
    ck_assert_int_eq(cfg.tls_max, TLS1_3_VERSION);

    char *both[] = {"wsworker", "--tls-protocols", "1.3,1.2", NULL};
    ck_assert_int_eq(parse(&cfg, both, ARGC(both)), 0);
    ck_assert_int_eq(cfg.tls_min, TLS1_2_VERSION);
    ck_assert_int_eq(cfg.tls_max, TLS1_3_VERSION);

    char *old[] = {"wsworker", "--tls-protocols", "TLSv1.1", NULL};
    ck_assert_int_eq(parse_quiet(&cfg, old, ARGC(old)), -1);
    char *empty[] = {"wsworker", "--tls-protocols", ",", NULL};
    ck_assert_int_eq(parse_quiet(&cfg, empty, ARGC(empty)), -1);
    char *nocert[] = {"wsworker", "--tls-listen", "127.0.0.1:0", "--key", "k.pem", NULL};
    ck_assert_int_eq(parse_quiet(&cfg, nocert, ARGC(nocert)), -1);

    /* Fleet mode: the inherited TLS listeners are named apart, and need the files too. */
    char *files[] = {"wsworker", "--cert", "c.pem", "--key", "k.pem", NULL};
    const char *env[] = {"WSF_LISTEN_FDS", "3", "WSF_TLS_LISTEN_FDS", "4,5", NULL};
    ck_assert_int_eq(parse_env(&cfg, files, ARGC(files), env), 0);
    ck_assert_uint_eq(cfg.nlisten_fds, 1);
    ck_assert_uint_eq(cfg.ntls_listen_fds, 2);
    ck_assert_int_eq(cfg.tls_listen_fds[1], 5);
    ck_assert_int_eq(parse_quiet_env(&cfg, none, ARGC(none), env), -1);
    const char *bad[] = {"WSF_TLS_LISTEN_FDS", "4,x", NULL};
    ck_assert_int_eq(parse_quiet_env(&cfg, files, ARGC(files), bad), -1);
}
END_TEST

START_TEST(channels_flags)
{
    char *off[] = {"wsworker", NULL};
    wk_config cfg;
    ck_assert_int_eq(parse(&cfg, off, ARGC(off)), 0);
    ck_assert_ptr_null(cfg.nats_url);
    ck_assert_ptr_null(cfg.nats_url_file);
    ck_assert_ptr_null(cfg.channels_config);
    ck_assert_str_eq(cfg.nats_stream, "WSF");

    char *direct[] = {"wsworker",
                      "--nats-url",
                      "nats://t@127.0.0.1:1,nats://127.0.0.1:2",
                      "--channels-config",
                      "/x.ini",
                      "--nats-stream",
                      "APP_1",
                      NULL};
    ck_assert_int_eq(parse(&cfg, direct, ARGC(direct)), 0);
    ck_assert_str_eq(cfg.nats_url, "nats://t@127.0.0.1:1,nats://127.0.0.1:2");
    ck_assert_str_eq(cfg.channels_config, "/x.ini");
    ck_assert_str_eq(cfg.nats_stream, "APP_1");

    char *file[] = {"wsworker", "--nats-url-file", "/run/nats.url", NULL};
    ck_assert_int_eq(parse(&cfg, file, ARGC(file)), 0);
    ck_assert_str_eq(cfg.nats_url_file, "/run/nats.url");
    ck_assert_ptr_null(cfg.nats_url);

    /* One source of URLs: both at once is a mistake, not a precedence rule to remember. */
    char *both[] = {"wsworker", "--nats-url", "nats://a:1", "--nats-url-file", "/f", NULL};
    ck_assert_int_eq(parse_quiet(&cfg, both, ARGC(both)), -1);
}
END_TEST

START_TEST(admission_flags)
{
    char *off[] = {"wsworker", NULL};
    wk_config cfg;
    ck_assert_int_eq(parse(&cfg, off, ARGC(off)), 0);
    ck_assert_ptr_null(cfg.origins);
    ck_assert_uint_eq(cfg.msg_rate, 100);
    ck_assert_uint_eq(cfg.msg_burst, 200);
    ck_assert_uint_eq(cfg.max_conns_per_ip, 0); /* no limit */
    ck_assert_ptr_null(cfg.server_header);

    char *on[] = {"wsworker",
                  "--origins",
                  "https://app.example.com,*.example.org",
                  "--msg-rate",
                  "0",
                  "--msg-burst",
                  "5",
                  "--max-conns-per-ip",
                  "3",
                  "--server-header",
                  "edge/1",
                  NULL};
    ck_assert_int_eq(parse(&cfg, on, ARGC(on)), 0);
    ck_assert_str_eq(cfg.origins, "https://app.example.com,*.example.org");
    ck_assert_uint_eq(cfg.msg_rate, 0);
    ck_assert_uint_eq(cfg.msg_burst, 5);
    ck_assert_uint_eq(cfg.max_conns_per_ip, 3);
    ck_assert_str_eq(cfg.server_header, "edge/1");
}
END_TEST

START_TEST(auth_flags)
{
    char *off[] = {"wsworker", NULL};
    wk_config cfg;
    ck_assert_int_eq(parse(&cfg, off, ARGC(off)), 0);
    ck_assert_ptr_null(cfg.auth_secret_file);
    ck_assert_ptr_null(cfg.auth_public_key);
    ck_assert(!cfg.auth_required);
    char *on[] = {"wsworker", "--auth-hmac-secret-file", "/s",  "--auth-public-key",
                  "/k.pem",   "--auth-required",         "yes", "--auth-audience",
                  "aud",      "--auth-issuer",           "iss", NULL};
    ck_assert_int_eq(parse(&cfg, on, ARGC(on)), 0);
    ck_assert_str_eq(cfg.auth_secret_file, "/s");
    ck_assert_str_eq(cfg.auth_public_key, "/k.pem");
    ck_assert(cfg.auth_required);
    ck_assert_str_eq(cfg.auth_audience, "aud");
    ck_assert_str_eq(cfg.auth_issuer, "iss");
    char *no[] = {"wsworker", "--auth-required", "no", NULL};
    ck_assert_int_eq(parse(&cfg, no, ARGC(no)), 0);
    ck_assert(!cfg.auth_required);
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

START_TEST(fleet_environment)
{
    static const char *const env[] = {"WSF_LISTEN_FDS",
                                      "3,4,7",
                                      "WSF_SUPERVISOR",
                                      "ipc:///tmp/w",
                                      "WSF_SLOT",
                                      "5",
                                      "WSF_GENERATION",
                                      "42",
                                      "WSF_PARENT_FD",
                                      "9",
                                      NULL};
    char *argv[] = {"wsworker", "--orphan-grace", "0.5", NULL};
    wk_config cfg;
    int rc = parse_env(&cfg, argv, ARGC(argv), env);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(cfg.nlisten, 0); /* inherited sockets only: no default address */
    ck_assert_uint_eq(cfg.nlisten_fds, 3);
    ck_assert_int_eq(cfg.listen_fds[0], 3);
    ck_assert_int_eq(cfg.listen_fds[2], 7);
    ck_assert_str_eq(cfg.supervisor, "ipc:///tmp/w");
    ck_assert_uint_eq(cfg.slot, 5);
    ck_assert_uint_eq(cfg.generation, 42);
    ck_assert_int_eq(cfg.parent_fd, 9);
    ck_assert_uint_eq(cfg.orphan_grace_ms, 500);
}
END_TEST

/* Each environment must be refused. */
static const char *const bad_envs[][3] = {
    {"WSF_LISTEN_FDS", "3,,4", NULL},  {"WSF_LISTEN_FDS", "x", NULL},
    {"WSF_LISTEN_FDS", "70000", NULL}, {"WSF_SLOT", "-1", NULL},
    {"WSF_GENERATION", "g", NULL},     {"WSF_PARENT_FD", "", NULL},
};

START_TEST(bad_environment_refused)
{
    char *argv[] = {"wsworker", NULL};
    wk_config cfg;
    int rc = parse_quiet_env(&cfg, argv, ARGC(argv), bad_envs[_i]);
    ck_assert_msg(rc == -1, "%s=%s: got %d", bad_envs[_i][0], bad_envs[_i][1], rc);
}
END_TEST

Suite *wk_config_suite(void)
{
    Suite *s = suite_create("wk_config");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_flag);
    tcase_add_test(tc, drills_max_memory);
    tcase_add_loop_test(tc, bad_values_refused, 0, (int)(sizeof bad_args / sizeof bad_args[0]));
    tcase_add_test(tc, deflate_flags);
    tcase_add_test(tc, channels_flags);
    tcase_add_test(tc, admission_flags);
    tcase_add_test(tc, auth_flags);
    tcase_add_test(tc, stray_argument_refused);
    tcase_add_test(tc, too_many_listeners_refused);
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, fleet_environment);
    tcase_add_test(tc, tls_flags);
    tcase_add_loop_test(tc, bad_environment_refused, 0,
                        (int)(sizeof bad_envs / sizeof bad_envs[0]));
    suite_add_tcase(s, tc);
    return s;
}
