/* Unit tests for common/wsf_natsd.c: the sidecar's config text, command line, ports file and URL.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "wsf_natsd.h"

Suite *wsf_natsd_suite(void);

static struct wsf_natsd_conf base_conf(void)
{
    struct wsf_natsd_conf c = {
        .port = 4222, .token = "0123abcd", .store_dir = "/run/wsf/nats", .ports_dir = NULL};
    return c;
}

START_TEST(config_has_every_setting)
{
    char buf[1024];
    struct wsf_natsd_conf c = base_conf();
    c.ports_dir = "/run/wsf";
    int n = wsf_natsd_config(buf, sizeof(buf), &c);
    ck_assert_int_eq(n, (int)strlen(buf));
    ck_assert_ptr_nonnull(strstr(buf, "host: \"127.0.0.1\"\n"));
    ck_assert_ptr_nonnull(strstr(buf, "port: 4222\n"));
    ck_assert_ptr_nonnull(strstr(buf, "jetstream { store_dir: \"/run/wsf/nats\" }\n"));
    ck_assert_ptr_nonnull(strstr(buf, "authorization { token: \"0123abcd\" }\n"));
    ck_assert_ptr_nonnull(strstr(buf, "ports_file_dir: \"/run/wsf\"\n"));
    ck_assert_ptr_nonnull(strstr(buf, "server_name: \"wsfleet\"\n"));
}
END_TEST

START_TEST(config_random_port_and_no_ports_dir)
{
    char buf[1024];
    struct wsf_natsd_conf c = base_conf();
    c.port = -1;
    c.host = "::1";
    ck_assert_int_gt(wsf_natsd_config(buf, sizeof(buf), &c), 0);
    ck_assert_ptr_nonnull(strstr(buf, "port: -1\n"));
    ck_assert_ptr_nonnull(strstr(buf, "host: \"::1\"\n"));
    ck_assert_ptr_null(strstr(buf, "ports_file_dir"));
}
END_TEST

START_TEST(config_rejects_bad_fields)
{
    char buf[1024];
    struct wsf_natsd_conf c = base_conf();
    c.token = "a\"b";
    ck_assert_int_eq(wsf_natsd_config(buf, sizeof(buf), &c), -EINVAL);
    c = base_conf();
    c.token = NULL;
    ck_assert_int_eq(wsf_natsd_config(buf, sizeof(buf), &c), -EINVAL);
    c = base_conf();
    c.store_dir = "/tmp/x\ny";
    ck_assert_int_eq(wsf_natsd_config(buf, sizeof(buf), &c), -EINVAL);
    c = base_conf();
    c.ports_dir = "c:\\x";
    ck_assert_int_eq(wsf_natsd_config(buf, sizeof(buf), &c), -EINVAL);
    c = base_conf();
    c.port = 0;
    ck_assert_int_eq(wsf_natsd_config(buf, sizeof(buf), &c), -EINVAL);
    c.port = 65536;
    ck_assert_int_eq(wsf_natsd_config(buf, sizeof(buf), &c), -EINVAL);
    c = base_conf();
    ck_assert_int_eq(wsf_natsd_config(buf, 40, &c), -ENOSPC);
}
END_TEST

START_TEST(argv_is_exe_dash_c_path)
{
    const char *argv[4];
    ck_assert_int_eq(wsf_natsd_argv(argv, 4, "/usr/sbin/nats-server", "/run/w/nats.conf"), 3);
    ck_assert_str_eq(argv[0], "/usr/sbin/nats-server");
    ck_assert_str_eq(argv[1], "-c");
    ck_assert_str_eq(argv[2], "/run/w/nats.conf");
    ck_assert_ptr_null(argv[3]);
    ck_assert_int_eq(wsf_natsd_argv(argv, 3, "x", "y"), -ENOSPC);
}
END_TEST

START_TEST(ports_file_gives_the_client_port)
{
    int port = 0;
    const char *t = "{\"nats\":[\"nats://127.0.0.1:36203\"],\"monitoring\":[\"http://x:8222\"]}";
    ck_assert_int_eq(wsf_natsd_parse_ports(&port, t, strlen(t)), 0);
    ck_assert_int_eq(port, 36203);
    const char *v6 = "{\"nats\":[\"nats://[::1]:4222\"]}";
    ck_assert_int_eq(wsf_natsd_parse_ports(&port, v6, strlen(v6)), 0);
    ck_assert_int_eq(port, 4222);
    port = 7;
    const char *bad[] = {"",
                         "{\"nats\":[]}",
                         "{\"nats\":[\"nats://127.0.0.1\"]}",
                         "{\"nats\":[\"nats://h:99999\"]}",
                         "{\"nats\":[\"nats://h:12a\"]}",
                         "{\"nats\":[\"nats://h:0\"]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(wsf_natsd_parse_ports(&port, bad[i], strlen(bad[i])), -EINVAL);
    }
    ck_assert_int_eq(port, 7);
    /* Only len bytes count. */
    ck_assert_int_eq(wsf_natsd_parse_ports(&port, t, 20), -EINVAL);
}
END_TEST

START_TEST(url_carries_the_token)
{
    char buf[128];
    ck_assert_int_eq(wsf_natsd_url(buf, sizeof(buf), "127.0.0.1", 4222, "t0k-EN"),
                     (int)strlen("nats://t0k-EN@127.0.0.1:4222"));
    ck_assert_str_eq(buf, "nats://t0k-EN@127.0.0.1:4222");
    ck_assert_int_eq(wsf_natsd_url(buf, sizeof(buf), "127.0.0.1", 4222, "a@b"), -EINVAL);
    ck_assert_int_eq(wsf_natsd_url(buf, sizeof(buf), "127.0.0.1", 0, "ab"), -EINVAL);
    ck_assert_int_eq(wsf_natsd_url(buf, 10, "127.0.0.1", 4222, "ab"), -ENOSPC);
}
END_TEST

Suite *wsf_natsd_suite(void)
{
    Suite *s = suite_create("wsf_natsd");
    TCase *tc = tcase_create("natsd");
    tcase_add_test(tc, config_has_every_setting);
    tcase_add_test(tc, config_random_port_and_no_ports_dir);
    tcase_add_test(tc, config_rejects_bad_fields);
    tcase_add_test(tc, argv_is_exe_dash_c_path);
    tcase_add_test(tc, ports_file_gives_the_client_port);
    tcase_add_test(tc, url_carries_the_token);
    suite_add_tcase(s, tc);
    return s;
}
