/* Unit tests for chaos/chaos_jsz.c: the leaders in a NATS node's /jsz answer, as nats-server 2.9
 * writes it, and the answers that name no usable leader. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "chaos_jsz.h"

Suite *chaos_jsz_suite(void);

#define HEAD "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"

/* The shape of nats-server 2.9.10's answer (trimmed), with an unsigned 64-bit limit. */
static const char jsz[] = HEAD
    "{\"server_id\":\"N\",\"meta_cluster\":{\"name\":\"wsf\",\"leader\":\"n2\",\"cluster_size\":3},"
    "\"account_details\":[{\"name\":\"$G\",\"reserved_memory\":18446744073709551615,"
    "\"stream_detail\":[{\"name\":\"WSF\",\"cluster\":{\"name\":\"wsf\",\"leader\":\"n3\","
    "\"replicas\":[{\"name\":\"n1\"},{\"name\":\"n2\"}]}},"
    "{\"name\":\"OTHER\",\"cluster\":{\"leader\":\"n2\"}}]}]}";

static int leaders(const char *text, unsigned *mask, int *leader)
{
    return chaos_jsz_leaders(text, strlen(text), "WSF", mask, leader);
}

START_TEST(leaders_named)
{
    unsigned mask = 0;
    int leader = 0;
    ck_assert_int_eq(leaders(jsz, &mask, &leader), 0);
    ck_assert_int_eq(leader, 3);
    ck_assert_uint_eq(mask, 0x6); /* n2 (meta, OTHER) and n3 (WSF): n1 leads nothing */
    ck_assert_int_eq(chaos_jsz_leaders(jsz, strlen(jsz), "OTHER", &mask, &leader), 0);
    ck_assert_int_eq(leader, 2);
    /* An HTTP/1.1 answer too. */
    char one[sizeof jsz];
    memcpy(one, jsz, sizeof jsz);
    one[7] = '1';
    ck_assert_int_eq(leaders(one, &mask, &leader), 0);
}
END_TEST

START_TEST(no_leader)
{
    unsigned mask = 99;
    int leader = 99;
    static const char *const bad[] = {
        "",
        "HTTP/1.0 503 Service Unavailable\r\n\r\n{}",
        "HTTP/1.0 200 OK\r\n\r\n",
        "HTTP/1.0 200 OK\r\n\r\n[1]",
        "HTTP/1.0 200 OK\r\n\r\n{\"meta_cluster\":{\"leader\":\"n1\"}}", /* no stream WSF */
        "HTTP/1.0 200 OK\r\n{\"meta_cluster\":{\"leader\":\"n1\"}}",     /* no blank line */
        /* an election going on: the stream's leader unknown */
        HEAD "{\"meta_cluster\":{\"leader\":\"n1\"},\"account_details\":[{\"stream_detail\":"
             "[{\"name\":\"WSF\",\"cluster\":{\"replicas\":[]}}]}]}",
        /* the meta leader unknown */
        HEAD "{\"meta_cluster\":{},\"account_details\":[{\"stream_detail\":"
             "[{\"name\":\"WSF\",\"cluster\":{\"leader\":\"n1\"}}]}]}",
        /* a node of another cluster's naming */
        HEAD "{\"meta_cluster\":{\"leader\":\"n4\"},\"account_details\":[{\"stream_detail\":"
             "[{\"name\":\"WSF\",\"cluster\":{\"leader\":\"n1\"}}]}]}",
        HEAD "{\"meta_cluster\":{\"leader\":\"n1\"},\"account_details\":[{\"stream_detail\":"
             "[{\"name\":\"WSF\",\"cluster\":{\"leader\":\"n10\"}}]}]}",
        /* another stream's leader unknown */
        HEAD "{\"meta_cluster\":{\"leader\":\"n1\"},\"account_details\":[{\"stream_detail\":"
             "[{\"name\":\"WSF\",\"cluster\":{\"leader\":\"n1\"}},{\"name\":\"X\"}]}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(leaders(bad[i], &mask, &leader) == -1, "case %zu accepted", i);
    }
    ck_assert_uint_eq(mask, 99);
    ck_assert_int_eq(leader, 99);
    /* A truncated answer. */
    ck_assert_int_eq(chaos_jsz_leaders(jsz, strlen(jsz) - 5, "WSF", &mask, &leader), -1);
}
END_TEST

Suite *chaos_jsz_suite(void)
{
    Suite *s = suite_create("chaos_jsz");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, leaders_named);
    tcase_add_test(tc, no_leader);
    suite_add_tcase(s, tc);
    return s;
}
