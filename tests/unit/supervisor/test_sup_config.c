/* Unit tests for supervisor/sup_config.c: defaults, every key of the INI file, flags over the
 * file, and the one-line errors that make wsfleetd exit 2 before starting anything. */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sup_cfgargs.h"
#include "sup_config.h"

Suite *sup_config_suite(void);

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static char path[64];

/* Writes text to a fresh temporary file whose name is left in path. */
static const char *write_ini(const char *text)
{
    snprintf(path, sizeof path, "/tmp/test_sup_config_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void remove_ini(void)
{
    if (path[0] != '\0')
        unlink(path);
    path[0] = '\0';
}

static int parse(sup_config *cfg, char **argv, int argc, char *err)
{
    sup_config_init(cfg, 1000, 4);
    return sup_config_parse(cfg, argc, argv, err, SUP_CONFIG_ERR_MAX);
}

/* Parses text as the -c file plus extra flags; returns the result, err holds the message. */
static int parse_ini(sup_config *cfg, const char *text, const char *flag, const char *value,
                     char *err)
{
    char *argv[6] = {"wsfleetd", "-c", (char *)write_ini(text), (char *)flag, (char *)value, NULL};
    int argc = flag == NULL ? 3 : value == NULL ? 4 : 5;
    int rc = parse(cfg, argv, argc, err);
    remove_ini();
    return rc;
}

START_TEST(defaults)
{
    char *argv[] = {"wsfleetd", NULL}, err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    ck_assert_int_eq(parse(&cfg, argv, ARGC(argv), err), SUP_CONFIG_RUN);
    ck_assert_str_eq(err, "");
    ck_assert_uint_eq(cfg.nlisten, 1);
    ck_assert_str_eq(cfg.listen[0], "127.0.0.1:8080");
    ck_assert_str_eq(cfg.run_dir, "./run");
    ck_assert_str_eq(cfg.worker_bin, "");
    ck_assert_str_eq(cfg.config_file, "");
    ck_assert(!cfg.foreground);
    ck_assert_uint_eq(cfg.workers, 4);
    ck_assert_uint_eq(cfg.workers_min, 1);
    ck_assert_uint_eq(cfg.workers_max, 8);
    ck_assert_uint_eq(cfg.hang_timeout_ms, 10000);
    ck_assert_uint_eq(cfg.kill_grace_ms, 5000);
    ck_assert_uint_eq(cfg.drain_timeout_ms, 10000);
    ck_assert_uint_eq(cfg.orphan_grace_ms, 60000);
    ck_assert_uint_eq(cfg.report_interval_ms, 1000);
    ck_assert_uint_eq(cfg.restart.base_delay_ms, 100);
    ck_assert_uint_eq(cfg.restart.max_delay_ms, 15000);
    ck_assert_uint_eq(cfg.restart.reset_after_ms, 30000);
    ck_assert_uint_eq(cfg.restart.unstable_ms, 1000);
    ck_assert_uint_eq(cfg.restart.fail_count, 5);
    ck_assert_uint_eq(cfg.restart.fail_window_ms, 30000);
    ck_assert_uint_eq(cfg.worker.max_message, 0);
    ck_assert_uint_eq(cfg.worker.max_connections, 0);
    sup_worker_args wa;
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 0);
    ck_assert_ptr_null(wa.argv[0]);
}
END_TEST

START_TEST(defaults_from_euid_and_cpus)
{
    char *argv[] = {"wsfleetd", NULL}, err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    sup_config_init(&cfg, 0, 1);
    ck_assert_int_eq(sup_config_parse(&cfg, ARGC(argv), argv, err, sizeof err), SUP_CONFIG_RUN);
    ck_assert_str_eq(cfg.run_dir, "/run/wsfleet");
    ck_assert_uint_eq(cfg.workers, 2);
    ck_assert_uint_eq(cfg.workers_max, 8);
    sup_config_init(&cfg, 0, -1); /* sysconf failed */
    ck_assert_int_eq(sup_config_parse(&cfg, ARGC(argv), argv, err, sizeof err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.workers, 2);
    sup_config_init(&cfg, 1000, 64);
    ck_assert_int_eq(sup_config_parse(&cfg, ARGC(argv), argv, err, sizeof err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.workers, 64);
    ck_assert_uint_eq(cfg.workers_max, 128);
    sup_config_init(&cfg, 1000, 1000);
    ck_assert_int_eq(sup_config_parse(&cfg, ARGC(argv), argv, err, sizeof err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.workers, 256);
    ck_assert_uint_eq(cfg.workers_max, 256);
}
END_TEST

static const char every_key[] = "; a comment\n"
                                "# another\n"
                                "[fleet]\n"
                                "listen = 127.0.0.1:9001\n"
                                "listen = [::1]:9001 ; inline comment\n"
                                "run_dir = /tmp/wsf-run\n"
                                "worker_bin = /opt/wsworker\n"
                                "\n"
                                "[workers]\n"
                                "count = 3\n"
                                "min = 2\n"
                                "max = 12\n"
                                "hang_timeout = 2.5\n"
                                "kill_grace = 0.2\n"
                                "drain_timeout = 7\n"
                                "orphan_grace = 1.5\n"
                                "report_interval = 0.25\n"
                                "[restart]\n"
                                "base_delay = 0.05\n"
                                "max_delay = 2\n"
                                "reset_after = 10\n"
                                "unstable_after = 0.5\n"
                                "fail_count = 3\n"
                                "fail_window = 20\n"
                                "[worker]\n"
                                "max_message = 4096\n"
                                "max_connections = 50\n"
                                "max_backlog = 65536\n"
                                "handshake_timeout = 0.5\n"
                                "ping_interval = 1.25\n"
                                "idle_timeout = 3\n"
                                "close_timeout = 0.75\n";

START_TEST(every_key_of_the_file)
{
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    ck_assert_int_eq(parse_ini(&cfg, every_key, NULL, NULL, err), SUP_CONFIG_RUN);
    ck_assert_str_eq(err, "");
    ck_assert_uint_eq(cfg.nlisten, 2);
    ck_assert_str_eq(cfg.listen[0], "127.0.0.1:9001");
    ck_assert_str_eq(cfg.listen[1], "[::1]:9001");
    ck_assert_str_eq(cfg.run_dir, "/tmp/wsf-run");
    ck_assert_str_eq(cfg.worker_bin, "/opt/wsworker");
    ck_assert_uint_eq(cfg.workers, 3);
    ck_assert_uint_eq(cfg.workers_min, 2);
    ck_assert_uint_eq(cfg.workers_max, 12);
    ck_assert_uint_eq(cfg.hang_timeout_ms, 2500);
    ck_assert_uint_eq(cfg.kill_grace_ms, 200);
    ck_assert_uint_eq(cfg.drain_timeout_ms, 7000);
    ck_assert_uint_eq(cfg.orphan_grace_ms, 1500);
    ck_assert_uint_eq(cfg.report_interval_ms, 250);
    ck_assert_uint_eq(cfg.restart.base_delay_ms, 50);
    ck_assert_uint_eq(cfg.restart.max_delay_ms, 2000);
    ck_assert_uint_eq(cfg.restart.reset_after_ms, 10000);
    ck_assert_uint_eq(cfg.restart.unstable_ms, 500);
    ck_assert_uint_eq(cfg.restart.fail_count, 3);
    ck_assert_uint_eq(cfg.restart.fail_window_ms, 20000);
    ck_assert_uint_eq(cfg.worker.max_message, 4096);
    ck_assert_uint_eq(cfg.worker.max_connections, 50);
    ck_assert_uint_eq(cfg.worker.max_backlog, 65536);
    ck_assert_uint_eq(cfg.worker.handshake_ms, 500);
    ck_assert_uint_eq(cfg.worker.ping_ms, 1250);
    ck_assert_uint_eq(cfg.worker.idle_ms, 3000);
    ck_assert_uint_eq(cfg.worker.close_ms, 750);
    ck_assert_str_eq(cfg.config_file, path[0] ? path : cfg.config_file);

    /* Seven [worker] keys: more flags than the six the argument buffers once held. */
    sup_worker_args wa;
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 14);
    const char *want[] = {"--max-message",     "4096",  "--max-backlog",       "65536",
                          "--max-connections", "50",    "--handshake-timeout", "0.500",
                          "--ping-interval",   "1.250", "--idle-timeout",      "3.000",
                          "--close-timeout",   "0.750"};
    for (size_t i = 0; i < 14; i++)
        ck_assert_str_eq(wa.argv[i], want[i]);
    ck_assert_ptr_null(wa.argv[14]);
}
END_TEST

START_TEST(drills_are_off_unless_the_section_enables_them)
{
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    sup_worker_args wa;
    ck_assert_int_eq(parse_ini(&cfg, "[workers]\ncount = 2\n", NULL, NULL, err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.drills_enabled, 0);
    ck_assert_uint_eq(cfg.drills_max_memory, 268435456);
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 0); /* the worker refuses faults */

    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    char text[128];
    for (size_t i = 0; i < 4; i++) {
        snprintf(text, sizeof text, "[drills]\nenabled = %s\n", yes[i]);
        ck_assert_int_eq(parse_ini(&cfg, text, NULL, NULL, err), SUP_CONFIG_RUN);
        ck_assert_uint_eq(cfg.drills_enabled, 1);
        snprintf(text, sizeof text, "[drills]\nenabled = %s\n", no[i]);
        ck_assert_int_eq(parse_ini(&cfg, text, NULL, NULL, err), SUP_CONFIG_RUN);
        ck_assert_uint_eq(cfg.drills_enabled, 0);
    }

    /* Every [worker] flag and the drills one: the argument array holds them all. */
    snprintf(text, sizeof text, "%s", "[drills]\nenabled = yes\nmax_memory = 1048576\n");
    char both[sizeof every_key + 128];
    snprintf(both, sizeof both, "%s%s", every_key, text);
    ck_assert_int_eq(parse_ini(&cfg, both, NULL, NULL, err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.drills_max_memory, 1048576);
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 16);
    ck_assert_str_eq(wa.argv[11], "3.000");
    ck_assert_str_eq(wa.argv[13], "0.750");
    ck_assert_str_eq(wa.argv[14], "--drills-max-memory");
    ck_assert_str_eq(wa.argv[15], "1048576");
    ck_assert_ptr_null(wa.argv[16]);
}
END_TEST

START_TEST(deflate_keys_become_worker_flags)
{
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    sup_worker_args wa;
    ck_assert_int_eq(parse_ini(&cfg, "[worker]\ndeflate = off\ndeflate_context_takeover = no\n",
                               NULL, NULL, err),
                     SUP_CONFIG_RUN);
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 0); /* off: the worker's default */

    ck_assert_int_eq(parse_ini(&cfg,
                               "[worker]\ndeflate = on\ndeflate_context_takeover = yes\n"
                               "deflate_min_size = 256\n",
                               NULL, NULL, err),
                     SUP_CONFIG_RUN);
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 6);
    const char *want[] = {"--deflate",          "on", "--deflate-context-takeover", "on",
                          "--deflate-min-size", "256"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_str_eq(wa.argv[i], want[i]);
    ck_assert_ptr_null(wa.argv[6]);

    ck_assert_int_eq(parse_ini(&cfg, "[worker]\ndeflate = sometimes\n", NULL, NULL, err),
                     SUP_CONFIG_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "deflate"));
    ck_assert_int_eq(parse_ini(&cfg, "[worker]\ndeflate_min_size = 0\n", NULL, NULL, err),
                     SUP_CONFIG_ERROR);
}
END_TEST

/* [tls]: listen addresses after [fleet]'s, the files and settings as worker flags. */
START_TEST(tls_keys)
{
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    sup_worker_args wa;
    ck_assert_int_eq(parse_ini(&cfg, "[fleet]\nlisten = 127.0.0.1:1\n", NULL, NULL, err),
                     SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.tls.nlisten, 0);
    ck_assert_uint_eq(cfg.tls.ticket_rotation_ms, UINT64_C(12) * 3600 * 1000);
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 0);

    ck_assert_int_eq(parse_ini(&cfg,
                               "[fleet]\nlisten = 127.0.0.1:1\n"
                               "[tls]\nlisten = 127.0.0.1:2\nlisten = [::1]:3\n"
                               "cert = /c.pem\nkey = /k.pem\nprotocols = TLSv1.3\n"
                               "ticket_rotation = 60\n",
                               NULL, NULL, err),
                     SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.tls.nlisten, 2);
    ck_assert_str_eq(sup_config_listen_at(&cfg, 0), "127.0.0.1:1");
    ck_assert_str_eq(sup_config_listen_at(&cfg, 2), "[::1]:3");
    ck_assert_uint_eq(cfg.tls.ticket_rotation_ms, 60000);
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 6);
    const char *want[] = {"--cert", "/c.pem", "--key", "/k.pem", "--tls-protocols", "TLSv1.3"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_str_eq(wa.argv[i], want[i]);

    ck_assert_int_eq(
        parse_ini(&cfg, "[tls]\nlisten = 127.0.0.1:2\ncert = /c.pem\n", NULL, NULL, err),
        SUP_CONFIG_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "needs [tls] cert and key"));
    ck_assert_int_eq(parse_ini(&cfg, "[tls]\nprotocols = TLSv1.1\n", NULL, NULL, err),
                     SUP_CONFIG_ERROR);
    ck_assert_ptr_nonnull(strstr(err, "protocols"));
    ck_assert_int_eq(parse_ini(&cfg, "[tls]\nlisten = nowhere\n", NULL, NULL, err),
                     SUP_CONFIG_ERROR);
}
END_TEST

/* The admission keys: msg_rate 0 (off) is passed, not taken for "unset"; the strings too. */
START_TEST(admission_keys)
{
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    sup_worker_args wa;
    ck_assert_int_eq(parse_ini(&cfg, "[worker]\nserver_header =\norigins =\n", NULL, NULL, err),
                     SUP_CONFIG_RUN);
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 0); /* empty: wsworker's defaults */

    static const char text[] = "[worker]\n"
                               "msg_rate = 0\n"
                               "msg_burst = 5\n"
                               "max_conns_per_ip = 3\n"
                               "origins = https://app.example.com, *.example.org\n"
                               "server_header = edge/1 (test)\n";
    ck_assert_int_eq(parse_ini(&cfg, text, NULL, NULL, err), SUP_CONFIG_RUN);
    ck_assert_str_eq(cfg.worker.origins, "https://app.example.com, *.example.org");
    ck_assert_str_eq(cfg.worker.server_header, "edge/1 (test)");
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 10);
    const char *want[] = {"--msg-rate",         "0",
                          "--msg-burst",        "5",
                          "--max-conns-per-ip", "3",
                          "--origins",          "https://app.example.com, *.example.org",
                          "--server-header",    "edge/1 (test)"};
    for (size_t i = 0; i < 10; i++)
        ck_assert_str_eq(wa.argv[i], want[i]);
    ck_assert_ptr_null(wa.argv[10]);

    ck_assert_int_eq(parse_ini(&cfg, "[worker]\nmsg_rate = 250\n", NULL, NULL, err),
                     SUP_CONFIG_RUN);
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 2);
    ck_assert_str_eq(wa.argv[1], "250");

    /* Every [worker] key and drills at once still fit the argument array. */
    char all[2048];
    snprintf(all, sizeof all, "%s%s[drills]\nenabled = yes\n", every_key, text + 9);
    ck_assert_int_eq(parse_ini(&cfg, all, NULL, NULL, err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 26);
    ck_assert_str_eq(wa.argv[24], "--drills-max-memory");
    ck_assert_ptr_null(wa.argv[26]);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[worker]\nmsg_rate = x\n", "msg_rate"},
        {"[worker]\nmsg_rate = 1000001\n", "msg_rate"},
        {"[worker]\nmsg_burst = 0\n", "msg_burst"},
        {"[worker]\nmax_conns_per_ip = -1\n", "max_conns_per_ip"},
        {"[worker]\norigins = https://app.*.com\n", "not a list of origins"},
        {"[worker]\norigins = ftp://x.test\n", "[worker] origins"},
        {"[worker]\nserver_header = a\tb\n", "printable ASCII"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(parse_ini(&cfg, bad[i].text, NULL, NULL, err), SUP_CONFIG_ERROR);
        ck_assert_msg(strstr(err, bad[i].want) != NULL, "'%s' lacks '%s'", err, bad[i].want);
        ck_assert_msg(strstr(err, ":2:") != NULL, "no line in '%s'", err);
    }
}
END_TEST

START_TEST(flags_override_the_file)
{
    char err[SUP_CONFIG_ERR_MAX];
    const char *ini = "[fleet]\nlisten = 127.0.0.1:9001\nlisten = 127.0.0.1:9002\n"
                      "run_dir = /tmp/a\n[workers]\ncount = 5\n";
    char *argv[] = {"wsfleetd",       "--workers",    "3",         "-c",     (char *)write_ini(ini),
                    "--listen",       "[::1]:0",      "--run-dir", "/tmp/b", "--listen",
                    "127.0.0.1:7000", "--foreground", NULL};
    sup_config cfg;
    int rc = parse(&cfg, argv, ARGC(argv), err);
    remove_ini();
    ck_assert_msg(rc == SUP_CONFIG_RUN, "%s", err);
    ck_assert_uint_eq(cfg.workers, 3);
    ck_assert_uint_eq(cfg.nlisten, 2);
    ck_assert_str_eq(cfg.listen[0], "[::1]:0");
    ck_assert_str_eq(cfg.listen[1], "127.0.0.1:7000");
    ck_assert_str_eq(cfg.run_dir, "/tmp/b");
    ck_assert(cfg.foreground);
    /* argv is not permuted. */
    ck_assert_str_eq(argv[1], "--workers");
    ck_assert_str_eq(argv[11], "--foreground");
}
END_TEST

START_TEST(file_listen_replaces_the_default)
{
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    ck_assert_int_eq(parse_ini(&cfg, "[fleet]\nlisten = localhost:0\n", NULL, NULL, err),
                     SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.nlisten, 1);
    ck_assert_str_eq(cfg.listen[0], "localhost:0");
    /* A --listen without the key in the file also replaces the default. */
    char *argv[] = {"wsfleetd", "--listen=0.0.0.0:80", NULL};
    ck_assert_int_eq(parse(&cfg, argv, ARGC(argv), err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.nlisten, 1);
    ck_assert_str_eq(cfg.listen[0], "0.0.0.0:80");
}
END_TEST

START_TEST(count_default_follows_min_and_max)
{
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    /* 4 CPUs, but at most 3 workers: the default count gives way. */
    ck_assert_int_eq(parse_ini(&cfg, "[workers]\nmax = 3\n", NULL, NULL, err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.workers, 3);
    ck_assert_uint_eq(cfg.workers_max, 3);
    ck_assert_int_eq(parse_ini(&cfg, "[workers]\nmin = 6\n", NULL, NULL, err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.workers, 6);
    ck_assert_uint_ge(cfg.workers_max, 6);
    /* An explicit count moves the default max. */
    ck_assert_int_eq(parse_ini(&cfg, "[workers]\ncount = 100\n", NULL, NULL, err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.workers_max, 200);
    char *argv[] = {"wsfleetd", "--workers", "256", NULL};
    ck_assert_int_eq(parse(&cfg, argv, ARGC(argv), err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(cfg.workers_max, 256);
}
END_TEST

START_TEST(help_and_version)
{
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    char *h[] = {"wsfleetd", "--workers", "x", "--help", NULL};
    ck_assert_int_eq(parse(&cfg, h, ARGC(h), err), SUP_CONFIG_HELP);
    char *v[] = {"wsfleetd", "--version", NULL};
    ck_assert_int_eq(parse(&cfg, v, ARGC(v), err), SUP_CONFIG_VERSION);
    ck_assert_ptr_nonnull(strstr(sup_config_usage(), "--listen HOST:PORT"));
}
END_TEST

START_TEST(reparse_is_repeatable)
{
    char err[SUP_CONFIG_ERR_MAX];
    char *argv[] = {"wsfleetd", "--workers", "3", "--listen", "127.0.0.1:1", NULL};
    sup_config a, b;
    ck_assert_int_eq(parse(&a, argv, ARGC(argv), err), SUP_CONFIG_RUN);
    ck_assert_int_eq(parse(&b, argv, ARGC(argv), err), SUP_CONFIG_RUN);
    ck_assert_mem_eq(&a, &b, sizeof a);
}
END_TEST

/* A bad file and the pieces its message must contain. */
typedef struct bad_ini {
    const char *text;
    const char *want[3];
} bad_ini;

static const bad_ini bad_inis[] = {
    {"[workers]\ncount = many\n", {":2:", "[workers] count", "not a whole number"}},
    {"[workers]\n\ncount = 0\n", {":3:", "count", "out of range 1..256"}},
    {"[workers]\ncount = 300\n", {":2:", "count", "out of range"}},
    {"[workers]\ncount = -1\n", {":2:", "count", "not a whole number"}},
    {"[workers]\ncount = 3x\n", {":2:", "count", "not a whole number"}},
    {"[workers]\ncount =\n", {":2:", "count", "not a whole number"}},
    {"[fleat]\nlisten = 1.2.3.4:5\n", {":2:", "listen", "unknown section 'fleat'"}},
    {"[fleet]\nlisten = 1.2.3.4:5\nlisen = x\n", {":3:", "lisen", "unknown key"}},
    {"count = 3\n", {":1:", "count", "outside any section"}},
    {"[workers]\nhang_timeout = soon\n", {":2:", "hang_timeout", "not a duration"}},
    {"[workers]\nhang_timeout = 0\n", {":2:", "hang_timeout", "out of range"}},
    {"[workers]\nhang_timeout = 1e9\n", {":2:", "hang_timeout", "out of range"}},
    {"[workers]\nkill_grace = nan\n", {":2:", "kill_grace", "not a duration"}},
    {"[workers]\ndrain_timeout = 5s\n", {":2:", "drain_timeout", "not a duration"}},
    {"[workers]\norphan_grace = -1\n", {":2:", "orphan_grace", "not a duration"}},
    {"[workers]\nreport_interval = x\n", {"report_interval", "not a duration", ":2:"}},
    {"[workers]\nmin = 5\nmax = 4\n", {":3:", "min (5) must be at most [workers] max (4)", ""}},
    {"[workers]\nmax = 4\nmin = 5\n", {":3: [workers] min", "max (4)", ""}},
    {"[workers]\ncount = 9\nmax = 8\n", {":3:", "count (9) must be at most [workers] max (8)", ""}},
    {"[workers]\nmin = 3\ncount = 2\n", {":3:", "min (3) must be at most [workers] count (2)", ""}},
    {"[restart]\nbase_delay = 3\nmax_delay = 2\n", {":3:", "base_delay", "max_delay (2000 ms)"}},
    {"[restart]\nfail_count = 65\n", {":2:", "fail_count", "out of range 1..64"}},
    {"[restart]\nfail_window = y\n", {":2:", "fail_window", "not a duration"}},
    {"[restart]\nreset_after = y\n", {":2:", "reset_after", ""}},
    {"[restart]\nunstable_after = y\n", {":2:", "unstable_after", ""}},
    {"[workers]\nreport_interval = 10\n", {":2:", "report_interval", "less than [workers] hang"}},
    {"[worker]\nmax_message = 0\n", {":2:", "max_message", "out of range"}},
    {"[worker]\nmax_connections = lots\n", {":2:", "max_connections", ""}},
    {"[worker]\nmax_backlog = 1.5\n", {":2:", "max_backlog", "not a whole number"}},
    {"[worker]\nhandshake_timeout = x\n", {":2:", "handshake_timeout", ""}},
    {"[worker]\nping_interval = x\n", {":2:", "ping_interval", ""}},
    {"[worker]\nidle_timeout = x\n", {":2:", "idle_timeout", ""}},
    {"[fleet]\nlisten = 8080\n", {":2:", "listen", "not HOST:PORT"}},
    {"[fleet]\nlisten = ::1:8080\n", {":2:", "listen", "[V6HOST]:PORT"}},
    {"[fleet]\nlisten = [::1:8080\n", {":2:", "listen", "not [V6HOST]:PORT"}},
    {"[fleet]\nlisten = host:65536\n", {":2:", "listen", "out of range 0..65535"}},
    {"[fleet]\nlisten = host:\n", {":2:", "listen", "port"}},
    {"[fleet]\nrun_dir =\n", {":2:", "run_dir", "empty value"}},
    {"[drills]\nenabled = maybe\n", {":2:", "[drills] enabled", "'maybe' is not yes or no"}},
    {"[drills]\nenabled = yes!\n", {":2:", "enabled", "not yes or no"}},
    {"[drills]\nmax_memory = 1000\n", {":2:", "[drills] max_memory", "out of range 1048576.."}},
    {"[drills]\nmax_memory = 256M\n", {":2:", "max_memory", "not a whole number"}},
    {"[fleet]\nthis line has no equals sign\n", {":2:", "syntax error", ""}},
    {"[workers\ncount = 2\n", {":1:", "syntax error", ""}},
};

START_TEST(bad_file)
{
    const bad_ini *b = &bad_inis[_i];
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    ck_assert_int_eq(parse_ini(&cfg, b->text, NULL, NULL, err), SUP_CONFIG_ERROR);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_msg(strncmp(err, "/tmp/test_sup_config_", 21) == 0, "no file name: %s", err);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(strstr(err, b->want[i]) != NULL, "case %d: '%s' lacks '%s'", _i, err,
                      b->want[i]);
}
END_TEST

START_TEST(too_many_listens_and_long_lines)
{
    char err[SUP_CONFIG_ERR_MAX], text[4096] = "[fleet]\n";
    sup_config cfg;
    for (int i = 0; i <= SUP_CONFIG_MAX_LISTEN; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "listen = h:%d\n", i);
    ck_assert_int_eq(parse_ini(&cfg, text, NULL, NULL, err), SUP_CONFIG_ERROR);
    ck_assert_ptr_nonnull(strstr(err, ":18: [fleet] listen: more than 16"));

    char long_line[600] = "[fleet]\nrun_dir = ";
    memset(long_line + strlen(long_line), 'a', 400);
    strcat(long_line, "\n[workers]\ncount = 2\n");
    ck_assert_int_eq(parse_ini(&cfg, long_line, NULL, NULL, err), SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, ":2: line longer than") != NULL, "%s", err);
}
END_TEST

START_TEST(missing_file)
{
    char err[SUP_CONFIG_ERR_MAX];
    char *argv[] = {"wsfleetd", "-c", "/nonexistent/wsfleet.ini", NULL};
    sup_config cfg;
    ck_assert_int_eq(parse(&cfg, argv, ARGC(argv), err), SUP_CONFIG_ERROR);
    ck_assert_str_eq(err, "/nonexistent/wsfleet.ini: cannot open: No such file or directory");
}
END_TEST

/* Bad flags and the pieces their message must contain. */
typedef struct bad_flags {
    const char *argv[4];
    const char *want[2];
} bad_flags;

static const bad_flags bad_flag_cases[] = {
    {{"--workers", "x"}, {"--workers", "not a whole number"}},
    {{"--workers", "0"}, {"--workers", "out of range 1..256"}},
    {{"--workers", "257"}, {"--workers", "out of range"}},
    {{"--workers"}, {"--workers", "needs a value"}},
    {{"-c"}, {"-c", "needs a value"}},
    {{"--listen", "nope"}, {"--listen", "not HOST:PORT"}},
    {{"--run-dir", ""}, {"--run-dir", "empty value"}},
    {{"--frobnicate"}, {"--frobnicate", "unknown option"}},
    {{"-x"}, {"-x", "unknown option"}},
    {{"--foreground", "extra"}, {"extra", "unexpected argument"}},
    {{"--foreground=yes"}, {"--foreground", ""}},
};

START_TEST(bad_flag)
{
    const bad_flags *b = &bad_flag_cases[_i];
    char *argv[6] = {"wsfleetd"}, err[SUP_CONFIG_ERR_MAX];
    int argc = 1;
    for (int i = 0; i < 4 && b->argv[i] != NULL; i++)
        argv[argc++] = (char *)b->argv[i];
    sup_config cfg;
    ck_assert_int_eq(parse(&cfg, argv, argc, err), SUP_CONFIG_ERROR);
    for (int i = 0; i < 2; i++)
        ck_assert_msg(strstr(err, b->want[i]) != NULL, "case %d: '%s' lacks '%s'", _i, err,
                      b->want[i]);
}
END_TEST

START_TEST(flag_against_file)
{
    /* The message blames the flag that made min > count. */
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    ck_assert_int_eq(parse_ini(&cfg, "[workers]\nmin = 3\n", "--workers", "2", err),
                     SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, "--workers") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "min (3) must be at most [workers] count (2)") != NULL, "%s", err);
}
END_TEST

START_TEST(small_error_buffer)
{
    char err[8];
    char *argv[] = {"wsfleetd", "--workers", "x", NULL};
    sup_config cfg;
    sup_config_init(&cfg, 1000, 4);
    ck_assert_int_eq(sup_config_parse(&cfg, ARGC(argv), argv, err, sizeof err), SUP_CONFIG_ERROR);
    ck_assert_uint_eq(strlen(err), 7);
}
END_TEST

START_TEST(nats_and_channels_defaults)
{
    char *argv[] = {"wsfleetd", NULL}, err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    ck_assert_int_eq(parse(&cfg, argv, ARGC(argv), err), SUP_CONFIG_RUN);
    ck_assert_str_eq(cfg.nats_url, "");
    ck_assert_str_eq(cfg.nats_stream, "WSF");
    ck_assert_str_eq(cfg.nats_store_dir, "");
    ck_assert_str_eq(cfg.channels_ini,
                     "[channels]\nhistory_size = 100\nhistory_ttl = 300\n"
                     "publish = none\nsubscribe = any\npresence = no\n"
                     "\n[backend]\nconnect = no\nrpc = no\ntimeout = 1.000\nheaders = \n"
                     "max_pending = 16\nmax_pending_worker = 10000\nbreaker_failures = 20\n"
                     "breaker_window = 10.000\nopen_time = 1.000\n");
    ck_assert_uint_eq(cfg.channels_max_history, 100);
    ck_assert_uint_eq(cfg.channels_max_ttl_s, 300);
}
END_TEST

START_TEST(nats_keys)
{
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    ck_assert_int_eq(parse_ini(&cfg,
                               "[nats]\nurl = nats://a:1\nurl = nats://b:2,tls://c:3\n"
                               "stream = Chat_1-x\nstore_dir = /var/tmp/js\n",
                               NULL, NULL, err),
                     SUP_CONFIG_RUN);
    ck_assert_str_eq(cfg.nats_url, "nats://a:1,nats://b:2,tls://c:3");
    ck_assert_str_eq(cfg.nats_stream, "Chat_1-x");
    ck_assert_str_eq(cfg.nats_store_dir, "/var/tmp/js");
}
END_TEST

/* Each bad [nats] value is one line naming the file, line, section and key. */
START_TEST(nats_bad_values)
{
    static const struct {
        const char *ini;
        const char *want;
    } cases[] = {
        {"[nats]\nurl = nats://a:1,,nats://b:2\n",
         ":2: [nats] url: 'nats://a:1,,nats://b:2': empty URL"},
        {"[nats]\nurl = nats://a:1 ,, nats://b:2\n",
         ":2: [nats] url: 'nats://a:1 ,, nats://b:2': empty URL"},
        {"[nats]\nurl = http://a:1\n", ":2: [nats] url: 'http://a:1': the scheme must be"},
        {"[nats]\nurl = nats://a:0\n", ":2: [nats] url: 'nats://a:0': the port must be"},
        {"[nats]\nurl = nats://a:70000 nats://b\n", ":2: [nats] url: 'nats://a:70000': the port"},
        {"[nats]\nurl = nats://:4222\n", ":2: [nats] url: 'nats://:4222': no host"},
        {"[nats]\nurl = nats://a/b\n", ":2: [nats] url: 'nats://a/b': not [nats://"},
        {"[nats]\nurl=a,b,c,d,e,f,g,h\nurl=i,j,k,l,m,n,o,p\nurl=q\n",
         ":4: [nats] url: more than 16 URLs"},
        {"[nats]\nstream = a.b\n", ":2: [nats] stream: 'a.b' may hold only letters"},
        {"[nats]\nstream = 012345678901234567890123456789012\n", ":2: [nats] stream: '0123"},
        {"[nats]\nstore_dir =\n", ":2: [nats] store_dir: empty value"},
        {"[nats]\nport = 4222\n", ":2: [nats] port: unknown key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[SUP_CONFIG_ERR_MAX];
        sup_config cfg;
        ck_assert_int_eq(parse_ini(&cfg, cases[i].ini, NULL, NULL, err), SUP_CONFIG_ERROR);
        ck_assert_msg(strstr(err, cases[i].want) != NULL, "case %zu: %s", i, err);
        ck_assert_ptr_null(strchr(err, '\n'));
    }
}
END_TEST

/* [namespace] keys it does not set come from [channels], whatever the order; an empty section
 * still defines its namespace; the stream takes the largest limits. */
START_TEST(channels_namespaces_resolved)
{
    char err[SUP_CONFIG_ERR_MAX];
    sup_config cfg;
    ck_assert_int_eq(parse_ini(&cfg,
                               "[namespace chat]\nhistory_ttl = 600\npublish = client\n"
                               "[namespace quiet]\n"
                               "[channels]\nhistory_size = 10\npresence = yes\n"
                               "[namespace big]\nhistory_size = 5000\n",
                               NULL, NULL, err),
                     SUP_CONFIG_RUN);
    ck_assert_msg(strstr(cfg.channels_ini,
                         "[namespace chat]\nhistory_size = 10\nhistory_ttl = 600\n"
                         "publish = client\nsubscribe = any\npresence = yes\n") != NULL,
                  "%s", cfg.channels_ini);
    ck_assert_msg(strstr(cfg.channels_ini,
                         "[namespace quiet]\nhistory_size = 10\nhistory_ttl = 300\n") != NULL,
                  "%s", cfg.channels_ini);
    ck_assert(strstr(cfg.channels_ini, "[namespace big]\nhistory_size = 5000\n") != NULL);
    ck_assert(strncmp(cfg.channels_ini, "[channels]\nhistory_size = 10\n", 29) == 0);
    ck_assert_uint_eq(cfg.channels_max_history, 5000);
    ck_assert_uint_eq(cfg.channels_max_ttl_s, 600);
}
END_TEST

START_TEST(channels_bad_keys)
{
    static const struct {
        const char *ini;
        const char *want;
    } cases[] = {
        {"[namespace chat]\nbogus = 1\n", ":2: [namespace chat] bogus: "},
        {"[channels]\npublish = everyone\n", ":2: [channels] publish: "},
        {"[channels]\nhistory_size = -1\n", ":2: [channels] history_size: "},
        {"[workers]\ncount = 2\n[namespace b!d]\n", ":3: [namespace b!d]: "},
        {"[namespace b!d]\nhistory_size = 1\n", ":1: [namespace b!d]: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[SUP_CONFIG_ERR_MAX];
        sup_config cfg;
        ck_assert_int_eq(parse_ini(&cfg, cases[i].ini, NULL, NULL, err), SUP_CONFIG_ERROR);
        ck_assert_msg(strstr(err, cases[i].want) != NULL, "case %zu: %s", i, err);
        ck_assert_ptr_null(strchr(err, '\n'));
    }
}
END_TEST

/* A file of text with mode; returns its path in a static buffer of the caller. */
static void write_file(char *out, const char *text, mode_t mode)
{
    strcpy(out, "/tmp/test_sup_auth_XXXXXX");
    int fd = mkstemp(out);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert_int_eq(chmod(out, mode), 0);
}

static void write_ec_pub(char *out)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert_ptr_nonnull(k);
    BIO *b = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_PUBKEY(b, k), 1);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char text[1024];
    ck_assert_int_lt(n, (long)sizeof text);
    memcpy(text, p, (size_t)n);
    text[n] = '\0';
    write_file(out, text, 0644);
    BIO_free(b);
    EVP_PKEY_free(k);
}

START_TEST(auth_keys_become_worker_flags)
{
    char err[SUP_CONFIG_ERR_MAX], secret[64], pub[64], text[512];
    write_file(secret, "s3cret\n", 0600);
    write_ec_pub(pub);
    snprintf(text, sizeof text,
             "[auth]\nhmac_secret_file = %s\npublic_key = %s\nrequired = yes\n"
             "audience = wsfleet\nissuer = https://issuer.example\n",
             secret, pub);
    sup_config cfg;
    ck_assert_int_eq(parse_ini(&cfg, text, NULL, NULL, err), SUP_CONFIG_RUN);
    sup_worker_args wa;
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 10);
    const char *want[] = {"--auth-hmac-secret-file", secret,
                          "--auth-public-key",       pub,
                          "--auth-required",         "yes",
                          "--auth-audience",         "wsfleet",
                          "--auth-issuer",           "https://issuer.example"};
    for (size_t i = 0; i < 10; i++)
        ck_assert_str_eq(wa.argv[i], want[i]);
    ck_assert_ptr_null(wa.argv[10]);
    /* Not required: no flag for it. */
    snprintf(text, sizeof text, "[auth]\nhmac_secret_file = %s\nrequired = no\n", secret);
    ck_assert_int_eq(parse_ini(&cfg, text, NULL, NULL, err), SUP_CONFIG_RUN);
    ck_assert_uint_eq(sup_config_worker_args(&wa, &cfg), 2);
    unlink(secret);
    unlink(pub);
}
END_TEST

START_TEST(auth_bad_key_files)
{
    char err[SUP_CONFIG_ERR_MAX], secret[64], text[512];
    sup_config cfg;
    write_file(secret, "s3cret\n", 0640);
    snprintf(text, sizeof text, "[auth]\nhmac_secret_file = %s\n", secret);
    ck_assert_int_eq(parse_ini(&cfg, text, NULL, NULL, err), SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, "[auth] hmac_secret_file") && strstr(err, "chmod 0600"), "%s", err);
    /* The secret is no PEM key either. */
    ck_assert_int_eq(chmod(secret, 0600), 0);
    snprintf(text, sizeof text, "[auth]\npublic_key = %s\n", secret);
    ck_assert_int_eq(parse_ini(&cfg, text, NULL, NULL, err), SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, "not a PEM public key") != NULL, "%s", err);
    unlink(secret);
    ck_assert_int_eq(
        parse_ini(&cfg, "[auth]\npublic_key = /nonexistent/key.pem\n", NULL, NULL, err),
        SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, "/nonexistent/key.pem: cannot open") != NULL, "%s", err);
    ck_assert_int_eq(parse_ini(&cfg, "[auth]\nrequired = yes\n", NULL, NULL, err),
                     SUP_CONFIG_ERROR);
    ck_assert_msg(strstr(err, "required = yes needs") != NULL, "%s", err);
    ck_assert_int_eq(parse_ini(&cfg, "[auth]\nrequired = maybe\n", NULL, NULL, err),
                     SUP_CONFIG_ERROR);
    ck_assert_int_eq(parse_ini(&cfg, "[auth]\ntoken = x\n", NULL, NULL, err), SUP_CONFIG_ERROR);
}
END_TEST

Suite *sup_config_suite(void)
{
    Suite *s = suite_create("sup_config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, defaults_from_euid_and_cpus);
    tcase_add_test(tc, every_key_of_the_file);
    tcase_add_test(tc, drills_are_off_unless_the_section_enables_them);
    tcase_add_test(tc, deflate_keys_become_worker_flags);
    tcase_add_test(tc, admission_keys);
    tcase_add_test(tc, tls_keys);
    tcase_add_test(tc, flags_override_the_file);
    tcase_add_test(tc, file_listen_replaces_the_default);
    tcase_add_test(tc, count_default_follows_min_and_max);
    tcase_add_test(tc, help_and_version);
    tcase_add_test(tc, reparse_is_repeatable);
    tcase_add_loop_test(tc, bad_file, 0, (int)(sizeof bad_inis / sizeof bad_inis[0]));
    tcase_add_test(tc, too_many_listens_and_long_lines);
    tcase_add_test(tc, missing_file);
    tcase_add_loop_test(tc, bad_flag, 0, (int)(sizeof bad_flag_cases / sizeof bad_flag_cases[0]));
    tcase_add_test(tc, flag_against_file);
    tcase_add_test(tc, small_error_buffer);
    tcase_add_test(tc, nats_and_channels_defaults);
    tcase_add_test(tc, nats_keys);
    tcase_add_test(tc, nats_bad_values);
    tcase_add_test(tc, channels_namespaces_resolved);
    tcase_add_test(tc, channels_bad_keys);
    tcase_add_test(tc, auth_keys_become_worker_flags);
    tcase_add_test(tc, auth_bad_key_files);
    suite_add_tcase(s, tc);
    return s;
}
