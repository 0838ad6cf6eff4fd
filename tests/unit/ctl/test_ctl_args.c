/* Unit tests for ctl/ctl_args.c: every command, every usage error, the socket path rule. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "ctl_args.h"
#include "test_argv.h"

Suite *ctl_args_suite(void);

#define MAX_ARGV 16

/* Parses the NULL-terminated argument list after "wsctl"; err gets the usage line. */
static int parse(ctl_args *out, char *err, size_t errcap, ...)
{
    char *argv[MAX_ARGV + 1];
    va_list ap;

    va_start(ap, errcap);
    int argc = test_argv(argv, MAX_ARGV + 1, "wsctl", ap);
    va_end(ap);
    return ctl_args_parse(out, argc, argv, err, errcap);
}

/* Parses and expects success. */
#define PARSE_OK(a, ...)                                                                           \
    do {                                                                                           \
        char err_[256];                                                                            \
        int rc_ = parse((a), err_, sizeof err_, __VA_ARGS__, (const char *)NULL);                  \
        ck_assert_msg(rc_ == CTL_PARSE_RUN, "parse failed: %s", err_);                             \
    } while (0)

/* Parses, expects a usage error, and checks that the line contains want. */
#define PARSE_USAGE(want, ...)                                                                     \
    do {                                                                                           \
        ctl_args a_;                                                                               \
        char err_[256];                                                                            \
        int rc_ = parse(&a_, err_, sizeof err_, __VA_ARGS__, (const char *)NULL);                  \
        ck_assert_int_eq(rc_, CTL_PARSE_USAGE);                                                    \
        ck_assert_msg(strstr(err_, (want)) != NULL, "error '%s' lacks '%s'", err_, (want));        \
        ck_assert_ptr_null(strchr(err_, '\n'));                                                    \
    } while (0)

START_TEST(status_defaults)
{
    ctl_args a;
    PARSE_OK(&a, "status");
    ck_assert_int_eq(a.req.command, WSF_CTL_STATUS);
    ck_assert_int_eq(a.req.slot, -1);
    ck_assert_uint_eq(a.req.count, 0);
    ck_assert(!a.req.rolling);
    ck_assert_uint_eq(a.req.drain_s, 0);
    ck_assert(!a.json);
    ck_assert_int_eq(a.timeout_ms, CTL_DEFAULT_TIMEOUT_MS);
    ck_assert_int_eq(a.timeout_ms, 2000);
    ck_assert_ptr_null(a.socket);
    ck_assert_ptr_null(a.run_dir);
}
END_TEST

START_TEST(commands_without_arguments)
{
    static const struct {
        const char *name;
        enum wsf_ctl_command cmd;
    } cases[] = {
        {"status", WSF_CTL_STATUS},     {"workers", WSF_CTL_WORKERS}, {"reload", WSF_CTL_RELOAD},
        {"shutdown", WSF_CTL_SHUTDOWN}, {"version", WSF_CTL_VERSION},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ctl_args a;
        PARSE_OK(&a, cases[i].name);
        ck_assert_int_eq(a.req.command, cases[i].cmd);
        ck_assert_str_eq(ctl_command_name(cases[i].cmd), cases[i].name);
    }
}
END_TEST

START_TEST(scale)
{
    ctl_args a;
    PARSE_OK(&a, "scale", "6");
    ck_assert_int_eq(a.req.command, WSF_CTL_SCALE);
    ck_assert_uint_eq(a.req.count, 6);
    PARSE_OK(&a, "scale", "0");
    ck_assert_uint_eq(a.req.count, 0);
    PARSE_OK(&a, "scale", "4294967295");
    ck_assert_uint_eq(a.req.count, UINT32_MAX);
}
END_TEST

START_TEST(restart)
{
    ctl_args a;
    PARSE_OK(&a, "restart", "3");
    ck_assert_int_eq(a.req.command, WSF_CTL_RESTART);
    ck_assert_int_eq(a.req.slot, 3);
    ck_assert(!a.req.rolling);

    PARSE_OK(&a, "restart", "all");
    ck_assert_int_eq(a.req.slot, -1);
    ck_assert(!a.req.rolling);

    PARSE_OK(&a, "restart", "all", "--rolling");
    ck_assert_int_eq(a.req.slot, -1);
    ck_assert(a.req.rolling);

    PARSE_OK(&a, "--rolling", "restart", "0");
    ck_assert_int_eq(a.req.slot, 0);
    ck_assert(a.req.rolling);

    PARSE_OK(&a, "restart", "2147483647");
    ck_assert_int_eq(a.req.slot, INT32_MAX);
}
END_TEST

START_TEST(drain)
{
    ctl_args a;
    PARSE_OK(&a, "drain", "5");
    ck_assert_int_eq(a.req.command, WSF_CTL_DRAIN);
    ck_assert_int_eq(a.req.slot, 5);
}
END_TEST

START_TEST(shutdown_drain)
{
    ctl_args a;
    PARSE_OK(&a, "shutdown", "--drain", "30");
    ck_assert_int_eq(a.req.command, WSF_CTL_SHUTDOWN);
    ck_assert_uint_eq(a.req.drain_s, 30);
    PARSE_OK(&a, "shutdown", "--drain=7");
    ck_assert_uint_eq(a.req.drain_s, 7);
    PARSE_OK(&a, "--drain", "86400", "shutdown");
    ck_assert_uint_eq(a.req.drain_s, 86400);
}
END_TEST

START_TEST(breaker)
{
    ctl_args a;
    PARSE_OK(&a, "breaker");
    ck_assert_int_eq(a.req.command, WSF_CTL_BREAKER_LIST);
    ck_assert_int_eq(a.req.slot, -1);
    PARSE_OK(&a, "breaker", "list");
    ck_assert_int_eq(a.req.command, WSF_CTL_BREAKER_LIST);
    PARSE_OK(&a, "--json", "breaker", "list");
    ck_assert_int_eq(a.req.command, WSF_CTL_BREAKER_LIST);
    ck_assert(a.json);
    PARSE_OK(&a, "breaker", "--json");
    ck_assert_int_eq(a.req.command, WSF_CTL_BREAKER_LIST);
    ck_assert(a.json);

    PARSE_OK(&a, "breaker", "trip", "3");
    ck_assert_int_eq(a.req.command, WSF_CTL_BREAKER_TRIP);
    ck_assert_int_eq(a.req.slot, 3);
    PARSE_OK(&a, "breaker", "reset", "0");
    ck_assert_int_eq(a.req.command, WSF_CTL_BREAKER_RESET);
    ck_assert_int_eq(a.req.slot, 0);
    PARSE_OK(&a, "-s", "/s", "breaker", "reset", "2147483647", "--json");
    ck_assert_int_eq(a.req.command, WSF_CTL_BREAKER_RESET);
    ck_assert_int_eq(a.req.slot, INT32_MAX);
    ck_assert(a.json);
    ck_assert_str_eq(a.socket, "/s");
}
END_TEST

START_TEST(autoscale)
{
    ctl_args a;
    PARSE_OK(&a, "autoscale", "on");
    ck_assert_int_eq(a.req.command, WSF_CTL_AUTOSCALE);
    ck_assert(a.req.autoscale_on);
    ck_assert_uint_eq(a.req.min, 0); /* unchanged */
    ck_assert_uint_eq(a.req.max, 0);

    PARSE_OK(&a, "autoscale", "off");
    ck_assert_int_eq(a.req.command, WSF_CTL_AUTOSCALE);
    ck_assert(!a.req.autoscale_on);
    ck_assert_uint_eq(a.req.min, 0);
    ck_assert_uint_eq(a.req.max, 0);

    PARSE_OK(&a, "autoscale", "on", "--min", "2", "--max", "8");
    ck_assert(a.req.autoscale_on);
    ck_assert_uint_eq(a.req.min, 2);
    ck_assert_uint_eq(a.req.max, 8);

    PARSE_OK(&a, "--min=1", "--max=256", "autoscale", "off");
    ck_assert(!a.req.autoscale_on);
    ck_assert_uint_eq(a.req.min, 1);
    ck_assert_uint_eq(a.req.max, 256);

    PARSE_OK(&a, "autoscale", "on", "--max", "3");
    ck_assert_uint_eq(a.req.min, 0);
    ck_assert_uint_eq(a.req.max, 3);

    PARSE_OK(&a, "autoscale", "on", "--min", "200");
    ck_assert_uint_eq(a.req.min, 200);
    ck_assert_uint_eq(a.req.max, 0);

    PARSE_OK(&a, "autoscale", "on", "--min", "4", "--max", "4");
    ck_assert_uint_eq(a.req.min, 4);
    ck_assert_uint_eq(a.req.max, 4);

    /* the last of a repeated option wins, as for the others */
    PARSE_OK(&a, "autoscale", "on", "--max", "9", "--max", "5");
    ck_assert_uint_eq(a.req.max, 5);
}
END_TEST

START_TEST(global_options_anywhere)
{
    ctl_args a;
    PARSE_OK(&a, "--json", "-s", "/tmp/x/ctl", "--timeout", "0.5", "workers");
    ck_assert(a.json);
    ck_assert_str_eq(a.socket, "/tmp/x/ctl");
    ck_assert_int_eq(a.timeout_ms, 500);
    ck_assert_int_eq(a.req.command, WSF_CTL_WORKERS);

    PARSE_OK(&a, "workers", "--json", "--socket=/s", "--timeout=3");
    ck_assert(a.json);
    ck_assert_str_eq(a.socket, "/s");
    ck_assert_int_eq(a.timeout_ms, 3000);

    PARSE_OK(&a, "-s/p", "status");
    ck_assert_str_eq(a.socket, "/p");

    PARSE_OK(&a, "--socket", "/q", "status");
    ck_assert_str_eq(a.socket, "/q");

    PARSE_OK(&a, "status", "--run-dir", "/var/run/fleet");
    ck_assert_str_eq(a.run_dir, "/var/run/fleet");
    ck_assert_ptr_null(a.socket);

    PARSE_OK(&a, "--run-dir=rd", "status");
    ck_assert_str_eq(a.run_dir, "rd");
}
END_TEST

START_TEST(double_dash_ends_options)
{
    ctl_args a;
    char err[256];
    PARSE_OK(&a, "--json", "--", "status");
    ck_assert(a.json);
    ck_assert_int_eq(a.req.command, WSF_CTL_STATUS);
    /* after "--", "--json" is an argument, and status takes none */
    ck_assert_int_eq(parse(&a, err, sizeof err, "--", "status", "--json", (const char *)NULL),
                     CTL_PARSE_USAGE);
    ck_assert_ptr_nonnull(strstr(err, "'--json'"));
}
END_TEST

START_TEST(help)
{
    ctl_args a;
    char err[256];
    ck_assert_int_eq(parse(&a, err, sizeof err, "--help", (const char *)NULL), CTL_PARSE_HELP);
    ck_assert_int_eq(parse(&a, err, sizeof err, "status", "-h", (const char *)NULL),
                     CTL_PARSE_HELP);
    /* the usage text names every command and the exit codes */
    static const char *const words[] = {"status",
                                        "workers",
                                        "scale N",
                                        "restart SLOT|all",
                                        "--rolling",
                                        "drain SLOT",
                                        "reload",
                                        "shutdown",
                                        "--drain SECONDS",
                                        "version",
                                        "--json",
                                        "--run-dir",
                                        "--timeout",
                                        "exit:",
                                        "breaker [list]",
                                        "breaker trip SLOT",
                                        "breaker reset SLOT",
                                        "autoscale on|off",
                                        "--min N",
                                        "--max N"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        ck_assert_msg(strstr(ctl_usage, words[i]) != NULL, "usage lacks %s", words[i]);
    ck_assert_ptr_nonnull(strstr(ctl_usage_hint, "wsctl --help"));
}
END_TEST

START_TEST(usage_errors)
{
    PARSE_USAGE("missing command", "--json");
    PARSE_USAGE("unknown command 'frobnicate'", "frobnicate");
    PARSE_USAGE("unknown command 'STATUS'", "STATUS");
    PARSE_USAGE("unexpected argument 'now'", "status", "now");
    PARSE_USAGE("unexpected argument '1'", "workers", "1");
    PARSE_USAGE("unexpected argument '3'", "scale", "2", "3");
    PARSE_USAGE("unexpected argument", "restart", "1", "2", "3");
    PARSE_USAGE("unexpected argument 'x'", "reload", "x");
    PARSE_USAGE("unexpected argument 'x'", "version", "x");
    PARSE_USAGE("unexpected argument 'x'", "shutdown", "x");
    PARSE_USAGE("unknown option '--bogus'", "--bogus", "status");
    PARSE_USAGE("unknown option '-x'", "-x", "status");
    PARSE_USAGE("unknown option '--json=1'", "--json=1", "status");
    PARSE_USAGE("option -s needs a value", "status", "-s");
    PARSE_USAGE("option --socket needs a value", "status", "--socket");
    PARSE_USAGE("option --run-dir needs a value", "status", "--run-dir");
    PARSE_USAGE("option --timeout needs a value", "status", "--timeout");
    PARSE_USAGE("option --drain needs a value", "shutdown", "--drain");
    PARSE_USAGE("empty socket path", "--socket=", "status");
    PARSE_USAGE("empty directory", "--run-dir=", "status");
    PARSE_USAGE("not both", "-s", "/a", "--run-dir", "/b", "status");
}
END_TEST

START_TEST(bad_numbers)
{
    PARSE_USAGE("scale needs the number of workers", "scale");
    PARSE_USAGE("invalid number of workers 'x'", "scale", "x");
    PARSE_USAGE("invalid number of workers '-1'", "scale", "-1");
    PARSE_USAGE("invalid number of workers '+3'", "scale", "+3");
    PARSE_USAGE("invalid number of workers ' 3'", "scale", " 3");
    PARSE_USAGE("invalid number of workers '3x'", "scale", "3x");
    PARSE_USAGE("invalid number of workers '2.5'", "scale", "2.5");
    PARSE_USAGE("invalid number of workers ''", "scale", "");
    PARSE_USAGE("invalid number of workers '4294967296'", "scale", "4294967296");
    PARSE_USAGE("invalid number of workers", "scale", "99999999999999999999999");

    PARSE_USAGE("restart needs a SLOT or 'all'", "restart");
    PARSE_USAGE("invalid slot 'x'", "restart", "x");
    PARSE_USAGE("invalid slot '-1'", "restart", "-1");
    PARSE_USAGE("invalid slot 'ALL'", "restart", "ALL");
    PARSE_USAGE("invalid slot '2147483648'", "restart", "2147483648");

    PARSE_USAGE("drain needs a SLOT", "drain");
    PARSE_USAGE("invalid slot 'all'", "drain", "all");
    PARSE_USAGE("invalid slot '1a'", "drain", "1a");

    PARSE_USAGE("invalid value '0' for --timeout", "--timeout", "0", "status");
    PARSE_USAGE("invalid value '-1' for --timeout", "--timeout", "-1", "status");
    PARSE_USAGE("invalid value 'soon' for --timeout", "--timeout", "soon", "status");
    PARSE_USAGE("invalid value '2s' for --timeout", "--timeout=2s", "status");
    PARSE_USAGE("invalid value 'inf' for --timeout", "--timeout", "inf", "status");
    PARSE_USAGE("invalid value '1e9' for --timeout", "--timeout", "1e9", "status");

    PARSE_USAGE("invalid value '0' for --drain", "shutdown", "--drain", "0");
    PARSE_USAGE("invalid value '1.5' for --drain", "shutdown", "--drain", "1.5");
    PARSE_USAGE("invalid value '86401' for --drain", "shutdown", "--drain", "86401");
    PARSE_USAGE("invalid value 'x' for --drain", "shutdown", "--drain=x");
}
END_TEST

START_TEST(breaker_usage_errors)
{
    PARSE_USAGE("unknown breaker action 'open' (list, trip, reset)", "breaker", "open");
    PARSE_USAGE("unknown breaker action 'LIST'", "breaker", "LIST");
    PARSE_USAGE("unknown breaker action '7'", "breaker", "7");
    PARSE_USAGE("breaker trip needs a SLOT", "breaker", "trip");
    PARSE_USAGE("breaker reset needs a SLOT", "breaker", "reset");
    PARSE_USAGE("invalid slot 'all' (breaker trip takes one slot number)", "breaker", "trip",
                "all");
    PARSE_USAGE("invalid slot '-1'", "breaker", "reset", "-1");
    PARSE_USAGE("invalid slot 'x'", "breaker", "trip", "x");
    PARSE_USAGE("invalid slot '2147483648'", "breaker", "trip", "2147483648");
    PARSE_USAGE("unexpected argument 'x' after breaker list", "breaker", "list", "x");
    PARSE_USAGE("unexpected argument '2' after breaker trip", "breaker", "trip", "1", "2");
    PARSE_USAGE("unexpected argument", "breaker", "reset", "1", "2", "3");
    /* the action is its own argument: one word "breaker trip" is no command */
    PARSE_USAGE("unknown command 'breaker trip'", "breaker trip", "1");
    PARSE_USAGE("unknown command 'breaker list'", "breaker list");
    PARSE_USAGE("unknown command 'breakers'", "breakers");
    PARSE_USAGE("unknown command 'break'", "break");
    PARSE_USAGE("--rolling applies only to restart", "breaker", "trip", "1", "--rolling");
}
END_TEST

START_TEST(autoscale_usage_errors)
{
    PARSE_USAGE("autoscale needs 'on' or 'off'", "autoscale");
    PARSE_USAGE("autoscale needs 'on' or 'off'", "autoscale", "--min", "2");
    PARSE_USAGE("invalid autoscale mode 'ON' (on or off)", "autoscale", "ON");
    PARSE_USAGE("invalid autoscale mode 'yes'", "autoscale", "yes");
    PARSE_USAGE("invalid autoscale mode '1'", "autoscale", "1");
    PARSE_USAGE("unexpected argument '4' after autoscale", "autoscale", "on", "4");
    PARSE_USAGE("option --min needs a value", "autoscale", "on", "--min");
    PARSE_USAGE("option --max needs a value", "autoscale", "on", "--max");
    PARSE_USAGE("invalid value '0' for --min (1-256 workers)", "autoscale", "on", "--min", "0");
    PARSE_USAGE("invalid value '257' for --max (1-256 workers)", "autoscale", "on", "--max", "257");
    PARSE_USAGE("invalid value '-1' for --min", "autoscale", "on", "--min", "-1");
    PARSE_USAGE("invalid value 'x' for --max", "autoscale", "on", "--max=x");
    PARSE_USAGE("invalid value '2.5' for --min", "autoscale", "on", "--min=2.5");
    PARSE_USAGE("invalid value '' for --min", "autoscale", "on", "--min=");
    PARSE_USAGE("--min 5 is above --max 4", "autoscale", "on", "--min", "5", "--max", "4");
    PARSE_USAGE("--min 256 is above --max 1", "--max=1", "--min=256", "autoscale", "off");
    PARSE_USAGE("unknown option '--minimum'", "autoscale", "on", "--minimum", "2");
}
END_TEST

START_TEST(misplaced_command_options)
{
    PARSE_USAGE("--rolling applies only to restart", "status", "--rolling");
    PARSE_USAGE("--rolling applies only to restart", "drain", "1", "--rolling");
    PARSE_USAGE("--drain applies only to shutdown", "restart", "all", "--drain", "5");
    PARSE_USAGE("--drain applies only to shutdown", "--drain", "5", "reload");
    PARSE_USAGE("--min and --max apply only to autoscale", "status", "--min", "2");
    PARSE_USAGE("--min and --max apply only to autoscale", "scale", "3", "--max", "4");
    PARSE_USAGE("--min and --max apply only to autoscale", "--max", "4", "breaker");
    PARSE_USAGE("--min and --max apply only to autoscale", "breaker", "trip", "1", "--min=1");
    PARSE_USAGE("--drain applies only to shutdown", "autoscale", "on", "--drain", "5");
    PARSE_USAGE("--rate, --ms and --for apply only to fault", "autoscale", "on", "--for", "5");
}
END_TEST

START_TEST(out_untouched_on_error)
{
    ctl_args a;
    char err[256];
    memset(&a, 0xa5, sizeof a);
    ck_assert_int_eq(parse(&a, err, sizeof err, "--json", "scale", "x", (const char *)NULL),
                     CTL_PARSE_USAGE);
    const unsigned char *p = (const unsigned char *)&a;
    for (size_t i = 0; i < sizeof a; i++)
        ck_assert_uint_eq(p[i], 0xa5);
}
END_TEST

START_TEST(small_error_buffer)
{
    ctl_args a;
    char err[8];
    ck_assert_int_eq(parse(&a, err, sizeof err, "frobnicate", (const char *)NULL), CTL_PARSE_USAGE);
    ck_assert_uint_eq(strlen(err), sizeof err - 1);
    ck_assert_int_eq(parse(&a, NULL, 0, "frobnicate", (const char *)NULL), CTL_PARSE_USAGE);
}
END_TEST

START_TEST(socket_path_rule)
{
    ctl_args a;
    char path[64];

    PARSE_OK(&a, "status");
    ck_assert_int_eq(ctl_socket_path(path, sizeof path, &a, NULL, false), 0);
    ck_assert_str_eq(path, "./run/ctl");
    ck_assert_int_eq(ctl_socket_path(path, sizeof path, &a, NULL, true), 0);
    ck_assert_str_eq(path, "/run/wsfleet/ctl");
    ck_assert_int_eq(ctl_socket_path(path, sizeof path, &a, "", true), 0);
    ck_assert_str_eq(path, "/run/wsfleet/ctl");
    ck_assert_int_eq(ctl_socket_path(path, sizeof path, &a, "/srv/fleet/", true), 0);
    ck_assert_str_eq(path, "/srv/fleet/ctl");

    PARSE_OK(&a, "--run-dir", "/tmp/rd", "status");
    ck_assert_int_eq(ctl_socket_path(path, sizeof path, &a, "/srv/fleet", false), 0);
    ck_assert_str_eq(path, "/tmp/rd/ctl");

    PARSE_OK(&a, "--run-dir", "/", "status");
    ck_assert_int_eq(ctl_socket_path(path, sizeof path, &a, NULL, false), 0);
    ck_assert_str_eq(path, "/ctl");

    PARSE_OK(&a, "-s", "/tmp/other.sock", "status");
    ck_assert_int_eq(ctl_socket_path(path, sizeof path, &a, "/srv/fleet", true), 0);
    ck_assert_str_eq(path, "/tmp/other.sock");
}
END_TEST

START_TEST(socket_path_too_long)
{
    ctl_args a;
    char path[12];

    PARSE_OK(&a, "--run-dir", "/a/long/directory", "status");
    memset(path, 'x', sizeof path);
    ck_assert_int_eq(ctl_socket_path(path, sizeof path, &a, NULL, false), -ENAMETOOLONG);
    PARSE_OK(&a, "-s", "/exactly-11", "status");
    ck_assert_int_eq(ctl_socket_path(path, sizeof path, &a, NULL, false), 0);
    ck_assert_str_eq(path, "/exactly-11");
    PARSE_OK(&a, "-s", "/exactly-12!", "status");
    ck_assert_int_eq(ctl_socket_path(path, sizeof path, &a, NULL, false), -ENAMETOOLONG);
}
END_TEST

START_TEST(command_names)
{
    ck_assert_str_eq(ctl_command_name(WSF_CTL_SCALE), "scale");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_RESTART), "restart");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_DRAIN), "drain");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_BREAKER_LIST), "breaker list");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_BREAKER_TRIP), "breaker trip");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_BREAKER_RESET), "breaker reset");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_AUTOSCALE), "autoscale");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_NONE), "?");
    ck_assert_str_eq(ctl_command_name((enum wsf_ctl_command)99), "?");
}
END_TEST

START_TEST(publish_compacts_the_json)
{
    static ctl_args a;
    PARSE_OK(&a, "publish", "chat:lobby", "{ \"text\" : [1, 2] }");
    ck_assert_int_eq(a.req.command, WSF_CTL_PUBLISH);
    ck_assert_str_eq(a.req.channel, "chat:lobby");
    ck_assert_str_eq(a.req.data, "{\"text\":[1,2]}");
    ck_assert(!a.data_stdin);
    PARSE_OK(&a, "--json", "publish", "news", "-3");
    ck_assert_str_eq(a.req.data, "-3");
    ck_assert(a.json);
}
END_TEST

START_TEST(publish_from_stdin)
{
    static ctl_args a;
    char err[256];
    PARSE_OK(&a, "publish", "news", "-");
    ck_assert(a.data_stdin);
    ck_assert_str_eq(a.req.data, "");
    ck_assert_int_eq(ctl_set_data(&a.req, "\n  \"hi\"\n", 8, err, sizeof err), 0);
    ck_assert_str_eq(a.req.data, "\"hi\"");
    ck_assert_int_eq(ctl_set_data(&a.req, "{\"a\":", 5, err, sizeof err), -EINVAL);
    ck_assert(strstr(err, "not one JSON value") != NULL);
}
END_TEST

START_TEST(publish_usage_errors)
{
    PARSE_USAGE("publish needs a CHANNEL", "publish");
    PARSE_USAGE("publish needs the data", "publish", "news");
    PARSE_USAGE("invalid channel 'a b'", "publish", "a b", "1");
    PARSE_USAGE("invalid channel", "publish", "news!", "1");
    PARSE_USAGE("not one JSON value", "publish", "news", "{\"a\":1");
    PARSE_USAGE("not one JSON value", "publish", "news", "1 2");
    PARSE_USAGE("not one JSON value", "publish", "news", "hello");
    PARSE_USAGE("unexpected argument 'x' after publish", "publish", "news", "1", "x");
    PARSE_USAGE("--limit applies only to history", "publish", "news", "1", "--limit", "3");
}
END_TEST

START_TEST(history_and_channels)
{
    static ctl_args a;
    PARSE_OK(&a, "history", "news");
    ck_assert_int_eq(a.req.command, WSF_CTL_HISTORY);
    ck_assert_str_eq(a.req.channel, "news");
    ck_assert_uint_eq(a.req.limit, 0);
    PARSE_OK(&a, "history", "ns:x", "--limit", "1000");
    ck_assert_uint_eq(a.req.limit, 1000);
    PARSE_OK(&a, "history", "--limit=5", "ns:x");
    ck_assert_uint_eq(a.req.limit, 5);
    PARSE_OK(&a, "channels");
    ck_assert_int_eq(a.req.command, WSF_CTL_CHANNELS);
    PARSE_USAGE("history needs a CHANNEL", "history");
    PARSE_USAGE("invalid value '0' for --limit", "history", "news", "--limit", "0");
    PARSE_USAGE("invalid value '1001' for --limit", "history", "news", "--limit", "1001");
    PARSE_USAGE("unexpected argument 'x' after channels", "channels", "x");
    PARSE_USAGE("--limit applies only to history", "channels", "--limit", "2");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_PUBLISH), "publish");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_HISTORY), "history");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_CHANNELS), "channels");
    PARSE_OK(&a, "alerts");
    ck_assert_int_eq(a.req.command, WSF_CTL_ALERTS);
    PARSE_USAGE("unexpected argument 'x' after alerts", "alerts", "x");
    ck_assert_str_eq(ctl_command_name(WSF_CTL_ALERTS), "alerts");
    ck_assert(strstr(ctl_usage, "  alerts  ") != NULL);
    ck_assert(strstr(ctl_usage, "publish CHANNEL JSON|-") != NULL);
    ck_assert(strstr(ctl_usage, "history CHANNEL [--limit N]") != NULL);
}
END_TEST

Suite *ctl_args_suite(void)
{
    Suite *s = suite_create("ctl_args");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, status_defaults);
    tcase_add_test(tc, commands_without_arguments);
    tcase_add_test(tc, scale);
    tcase_add_test(tc, restart);
    tcase_add_test(tc, drain);
    tcase_add_test(tc, shutdown_drain);
    tcase_add_test(tc, breaker);
    tcase_add_test(tc, autoscale);
    tcase_add_test(tc, global_options_anywhere);
    tcase_add_test(tc, double_dash_ends_options);
    tcase_add_test(tc, help);
    tcase_add_test(tc, usage_errors);
    tcase_add_test(tc, bad_numbers);
    tcase_add_test(tc, breaker_usage_errors);
    tcase_add_test(tc, autoscale_usage_errors);
    tcase_add_test(tc, misplaced_command_options);
    tcase_add_test(tc, out_untouched_on_error);
    tcase_add_test(tc, small_error_buffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("socket_path");
    tcase_add_test(tc, socket_path_rule);
    tcase_add_test(tc, socket_path_too_long);
    tcase_add_test(tc, command_names);
    tcase_add_test(tc, publish_compacts_the_json);
    tcase_add_test(tc, publish_from_stdin);
    tcase_add_test(tc, publish_usage_errors);
    tcase_add_test(tc, history_and_channels);
    suite_add_tcase(s, tc);
    return s;
}
