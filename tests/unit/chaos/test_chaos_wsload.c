/* Unit tests for chaos/chaos_wsload.c: wsload's defaults, every option, usage errors that name the
 * offending option, conflicts, and the loopback-only target rule. */
#include <check.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chaos_wsload.h"
#include "test_argv.h"

Suite *chaos_wsload_suite(void);

#define MAX_ARGV 24

/* Parses the NULL-terminated arguments after "wsload"; stderr's text goes to err. */
static int parse(chaos_wsload_opts *out, char *err, size_t errcap, ...)
{
    char *argv[MAX_ARGV + 1];
    va_list ap;

    va_start(ap, errcap);
    int argc = test_argv(argv, MAX_ARGV + 1, "wsload", ap);
    va_end(ap);

    FILE *tmp = tmpfile();
    ck_assert_ptr_nonnull(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fileno(tmp), STDERR_FILENO), 0);
    int rc = chaos_wsload_parse(out, argc, argv);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(err, 1, errcap - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    return rc;
}

#define PARSE_OK(o, ...)                                                                           \
    do {                                                                                           \
        char err_[4096];                                                                           \
        int rc_ = parse((o), err_, sizeof err_, __VA_ARGS__, (const char *)NULL);                  \
        ck_assert_msg(rc_ == 0, "parse failed: %s", err_);                                         \
    } while (0)

/* Expects a usage error whose first line contains want. */
#define PARSE_BAD(want, ...)                                                                       \
    do {                                                                                           \
        chaos_wsload_opts o_;                                                                      \
        char err_[4096];                                                                           \
        int rc_ = parse(&o_, err_, sizeof err_, __VA_ARGS__, (const char *)NULL);                  \
        ck_assert_int_eq(rc_, -1);                                                                 \
        char *nl_ = strchr(err_, '\n');                                                            \
        if (nl_ != NULL)                                                                           \
            *nl_ = '\0';                                                                           \
        ck_assert_msg(strstr(err_, (want)) != NULL, "want '%s' in '%s'", (want), err_);            \
    } while (0)

START_TEST(defaults)
{
    chaos_wsload_opts o;
    PARSE_OK(&o, "--port", "9000");
    ck_assert_int_eq(o.mode, CHAOS_WSLOAD_ECHO);
    ck_assert_int_eq(o.load.kind, CHAOS_CLIENT_ECHO);
    ck_assert_uint_eq(o.load.connections, 100);
    ck_assert_uint_eq(o.load.inflight, 1);
    ck_assert(o.load.rate == 0);
    ck_assert_uint_eq(o.load.size, 20);
    ck_assert(!o.load.binary);
    ck_assert(o.duration == 5.0);
    ck_assert_uint_eq(o.messages, 0);
    ck_assert(o.load.reconnect);
    ck_assert_uint_le(o.load.sources, 1);
    ck_assert(o.load.open_rate == 0);
    ck_assert(!o.json);
    ck_assert_str_eq(o.records, "");
    ck_assert_str_eq(o.load.host, "127.0.0.1:9000");
    ck_assert_str_eq(o.load.path, "/echo");
    ck_assert_uint_eq(o.load.backoff.min_ms, 500);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&o.load.addr;
    ck_assert_int_eq(sin->sin_family, AF_INET);
    ck_assert_uint_eq(ntohs(sin->sin_port), 9000);
    ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001u);

    /* Idle mode holds connections: no traffic and no default duration. */
    PARSE_OK(&o, "--port", "9000", "--mode", "idle");
    ck_assert_int_eq(o.mode, CHAOS_WSLOAD_IDLE);
    ck_assert_uint_eq(o.load.inflight, 0);
    ck_assert(o.duration == 0);
    PARSE_OK(&o, "--port", "9000", "--mode", "connect");
    ck_assert(o.duration == 5.0);
}
END_TEST

START_TEST(every_option)
{
    chaos_wsload_opts o;
    PARSE_OK(&o, "--url", "ws://127.0.0.2:8081/x/y", "--connections", "7", "--rate", "12.5",
             "--size", "0", "--binary", "--duration", "1.5", "--sources", "4", "--open-rate", "300",
             "--no-reconnect", "--server-pid", "1234", "--json", "--records", "/tmp/r");
    ck_assert_str_eq(o.load.host, "127.0.0.2:8081");
    ck_assert_str_eq(o.load.path, "/x/y");
    ck_assert_uint_eq(o.load.connections, 7);
    ck_assert(o.load.rate == 12.5);
    ck_assert_uint_eq(o.load.inflight, 0);
    ck_assert_uint_eq(o.load.size, 0);
    ck_assert(o.load.binary);
    ck_assert(o.duration == 1.5);
    ck_assert_uint_eq(o.load.sources, 4);
    ck_assert(o.load.open_rate == 300);
    ck_assert(!o.load.reconnect);
    ck_assert_int_eq(o.server_pid, 1234);
    ck_assert(o.json);
    ck_assert_str_eq(o.records, "/tmp/r");

    PARSE_OK(&o, "--port", "1", "--inflight", "16", "--messages", "1000", "--reconnect");
    ck_assert_uint_eq(o.load.inflight, 16);
    ck_assert_uint_eq(o.messages, 1000);
    ck_assert_uint_eq(o.load.max_messages, 1000);
    ck_assert(o.duration == 0);
    ck_assert(o.load.reconnect);

    PARSE_OK(&o, "--port", "1", "--rate", "2", "--lifetime", "2.5");
    ck_assert_uint_eq(o.load.lifetime_ms, 2500);
    PARSE_OK(&o, "--port", "1");
    ck_assert_uint_eq(o.load.lifetime_ms, 0);

    PARSE_OK(&o, "--port", "1", "--kind", "slow", "--size", "4096");
    ck_assert_int_eq(o.load.kind, CHAOS_CLIENT_SLOW);
    PARSE_OK(&o, "--port", "1", "--kind", "garbage");
    ck_assert_int_eq(o.load.kind, CHAOS_CLIENT_GARBAGE);
    ck_assert(o.load.garbage_rate == 100);
    PARSE_OK(&o, "--port", "1", "--kind", "garbage", "--garbage-rate", "7");
    ck_assert(o.load.garbage_rate == 7);
    PARSE_OK(&o, "--host", "localhost", "--port", "80", "--path", "/p");
    ck_assert_str_eq(o.load.host, "127.0.0.1:80");
    ck_assert_str_eq(o.load.path, "/p");
    PARSE_OK(&o, "--url", "ws://[::1]:443/");
    ck_assert_str_eq(o.load.host, "[::1]:443");
    ck_assert_int_eq(o.load.addr.ss_family, AF_INET6);
}
END_TEST

START_TEST(bad_values_name_the_option)
{
    PARSE_BAD("--connections", "--port", "1", "--connections", "0");
    PARSE_BAD("--connections", "--port", "1", "--connections", "12x");
    PARSE_BAD("--inflight", "--port", "1", "--inflight", "0");
    PARSE_BAD("--rate", "--port", "1", "--rate", "0");
    PARSE_BAD("--rate", "--port", "1", "--rate", "-3");
    PARSE_BAD("--rate", "--port", "1", "--rate", "fast");
    PARSE_BAD("--rate", "--port", "1", "--rate", "inf");
    PARSE_BAD("--size", "--port", "1", "--size", "99999999999");
    PARSE_BAD("--duration", "--port", "1", "--duration", "0");
    PARSE_BAD("--duration", "--port", "1", "--duration", "1s");
    PARSE_BAD("--messages", "--port", "1", "--messages", "0");
    PARSE_BAD("--mode", "--port", "1", "--mode", "flood");
    PARSE_BAD("--kind", "--port", "1", "--kind", "nasty");
    PARSE_BAD("--sources", "--port", "1", "--sources", "0");
    PARSE_BAD("--sources", "--port", "1", "--sources", "255");
    PARSE_BAD("--open-rate", "--port", "1", "--open-rate", "0");
    PARSE_BAD("--garbage-rate", "--port", "1", "--kind", "garbage", "--garbage-rate", "x");
    PARSE_BAD("--server-pid", "--port", "1", "--server-pid", "0");
    PARSE_BAD("--lifetime", "--port", "1", "--lifetime", "0.05");
    PARSE_BAD("--lifetime", "--port", "1", "--lifetime", "2s");
    PARSE_BAD("--port", "--port", "65536");
    PARSE_BAD("--path", "--port", "1", "--path", "echo");
    PARSE_BAD("--url", "--url", "http://127.0.0.1:1/");
    PARSE_BAD("--url", "--url", "ws://127.0.0.1/");
    PARSE_BAD("argument", "--port", "1", "stray");
    PARSE_BAD("--url or --port", "--connections", "1");
}
END_TEST

START_TEST(conflicts)
{
    PARSE_BAD("--inflight or --rate", "--port", "1", "--inflight", "2", "--rate", "5");
    PARSE_BAD("--messages or --duration", "--port", "1", "--messages", "5", "--duration", "1");
    PARSE_BAD("--messages applies", "--port", "1", "--mode", "idle", "--messages", "5");
    PARSE_BAD("--messages applies", "--port", "1", "--kind", "slow", "--messages", "5");
    PARSE_BAD("--kind applies", "--port", "1", "--mode", "connect", "--kind", "slow");
    PARSE_BAD("apply to echo clients", "--port", "1", "--kind", "garbage", "--rate", "3");
    PARSE_BAD("apply to echo clients", "--port", "1", "--mode", "idle", "--inflight", "3");
    PARSE_BAD("--garbage-rate applies", "--port", "1", "--garbage-rate", "3");
    PARSE_BAD("--open-rate", "--port", "1", "--mode", "connect", "--open-rate", "3");
    PARSE_BAD("--lifetime applies", "--port", "1", "--kind", "slow", "--lifetime", "3");
    PARSE_BAD("--lifetime applies", "--port", "1", "--mode", "idle", "--lifetime", "3");
    PARSE_BAD("--sources needs an IPv4", "--url", "ws://[::1]:1/", "--sources", "2");
    PARSE_BAD("1 GiB", "--port", "1", "--inflight", "65536", "--size", "16777216");
}
END_TEST

START_TEST(loopback_only)
{
    chaos_wsload_opts o;
    PARSE_BAD("loopback only", "--host", "10.0.0.1", "--port", "1");
    PARSE_BAD("loopback only", "--host", "example.com", "--port", "1");
    PARSE_BAD("loopback only", "--url", "ws://192.168.1.1:80/echo");
    PARSE_BAD("loopback only", "--url", "ws://[2001:db8::1]:80/echo");
    PARSE_BAD("loopback only", "--host", "::1", "--port", "1");
    PARSE_BAD("loopback only", "--host", "0.0.0.0", "--port", "1");
    PARSE_OK(&o, "--host", "127.255.0.9", "--port", "1");
    ck_assert_str_eq(o.load.host, "127.255.0.9:1");
    PARSE_OK(&o, "--host", "[::1]", "--port", "2");
    ck_assert_str_eq(o.load.host, "[::1]:2");
}
END_TEST

START_TEST(channels_mode)
{
    chaos_wsload_opts o;
    PARSE_OK(&o, "--port", "9000", "--mode", "channels");
    ck_assert_int_eq(o.mode, CHAOS_WSLOAD_CHANNELS);
    ck_assert_int_eq(o.load.kind, CHAOS_CLIENT_CHANNEL);
    ck_assert_str_eq(o.load.path, "/channels"); /* the route's, when no path is given */
    ck_assert_str_eq(o.load.protocol, "wsfleet.v1");
    ck_assert_uint_eq(o.channels, 20);
    ck_assert(o.publish_rate == 10);
    ck_assert_str_eq(o.channel_prefix, "load-");
    ck_assert(o.duration == 5.0);
    ck_assert(o.load.reconnect);
    ck_assert_str_eq(chaos_wsload_mode_name(o.mode), "channels");

    PARSE_OK(&o, "--url", "ws://127.0.0.1:9000/ch", "--mode", "channels", "--channels", "3",
             "--publish-rate", "2.5", "--channel-prefix", "drill:c", "--connections", "40",
             "--size", "0", "--duration", "2");
    ck_assert_str_eq(o.load.path, "/ch");
    ck_assert_uint_eq(o.channels, 3);
    ck_assert(o.publish_rate == 2.5);
    ck_assert_str_eq(o.channel_prefix, "drill:c");
    ck_assert_uint_eq(o.load.connections, 40);
    ck_assert_uint_eq(o.load.size, 0);
    PARSE_OK(&o, "--port", "9000", "--mode", "channels", "--publish-rate", "0");
    ck_assert(o.publish_rate == 0);
    /* Echo mode keeps no protocol. */
    PARSE_OK(&o, "--port", "9000");
    ck_assert_str_eq(o.load.protocol, "");

    PARSE_BAD("--channels", "--port", "1", "--mode", "channels", "--channels", "0");
    PARSE_BAD("--publish-rate", "--port", "1", "--mode", "channels", "--publish-rate", "-1");
    PARSE_BAD("--publish-rate", "--port", "1", "--mode", "channels", "--publish-rate", "20000");
    PARSE_BAD("--channel-prefix", "--port", "1", "--mode", "channels", "--channel-prefix", "a b");
    PARSE_BAD("--channel-prefix", "--port", "1", "--mode", "channels", "--channel-prefix", "");
    PARSE_BAD("channels mode only", "--port", "1", "--channels", "3");
    PARSE_BAD("channels mode only", "--port", "1", "--mode", "idle", "--publish-rate", "3");
    PARSE_BAD("do not apply to channels", "--port", "1", "--mode", "channels", "--binary");
    PARSE_BAD("do not apply to channels", "--port", "1", "--mode", "channels", "--records", "f");
    PARSE_BAD("do not apply to channels", "--port", "1", "--mode", "channels", "--server-pid", "1");
    PARSE_BAD("--kind applies", "--port", "1", "--mode", "channels", "--kind", "slow");
    PARSE_BAD("apply to echo clients", "--port", "1", "--mode", "channels", "--rate", "3");
    PARSE_BAD("--messages applies", "--port", "1", "--mode", "channels", "--messages", "3");
    PARSE_BAD("--mode", "--port", "1", "--mode", "channel");
}
END_TEST

START_TEST(help)
{
    chaos_wsload_opts o;
    char err[64];
    /* The usage goes to stdout: send it nowhere (Check runs each test in its own process). */
    fflush(stdout);
    FILE *null = fopen("/dev/null", "w");
    ck_assert_ptr_nonnull(null);
    ck_assert_int_ge(dup2(fileno(null), STDOUT_FILENO), 0);
    int rc = parse(&o, err, sizeof err, "--help", (const char *)NULL);
    fflush(stdout);
    fclose(null);
    ck_assert_int_eq(rc, 1);
}
END_TEST

Suite *chaos_wsload_suite(void)
{
    Suite *s = suite_create("chaos_wsload");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_option);
    tcase_add_test(tc, bad_values_name_the_option);
    tcase_add_test(tc, conflicts);
    tcase_add_test(tc, loopback_only);
    tcase_add_test(tc, channels_mode);
    tcase_add_test(tc, help);
    suite_add_tcase(s, tc);
    return s;
}
