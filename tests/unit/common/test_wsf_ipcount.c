/* Unit tests for common/wsf_ipcount.c: counting up to the limit, release and reuse, IPv4 and
 * IPv6 keys (a mapped IPv6 address is the IPv4 one), many addresses in one table. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "wsf_ipcount.h"

Suite *wsf_ipcount_suite(void);

static void key4(uint8_t key[16], const char *ip)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    ck_assert_int_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
    ck_assert_int_eq(wsf_ipcount_key(key, (struct sockaddr *)&sin), 0);
}

static void key6(uint8_t key[16], const char *ip)
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
    ck_assert_int_eq(wsf_ipcount_key(key, (struct sockaddr *)&sin6), 0);
}

START_TEST(limit_per_address)
{
    wsf_ipcount t;
    wsf_ipcount_init(&t, 42);
    uint8_t a[16], b[16];
    key4(a, "10.0.0.1");
    key4(b, "10.0.0.2");
    wsf_ipcount_entry *e1 = wsf_ipcount_acquire(&t, a, 2);
    wsf_ipcount_entry *e2 = wsf_ipcount_acquire(&t, a, 2);
    ck_assert_ptr_nonnull(e1);
    ck_assert_ptr_eq(e1, e2);
    ck_assert_ptr_null(wsf_ipcount_acquire(&t, a, 2));
    ck_assert_uint_eq(wsf_ipcount_get(&t, a), 2);
    /* Another address has its own count. */
    wsf_ipcount_entry *f = wsf_ipcount_acquire(&t, b, 2);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(t.naddrs, 2);
    wsf_ipcount_release(&t, e1);
    ck_assert_uint_eq(wsf_ipcount_get(&t, a), 1);
    e1 = wsf_ipcount_acquire(&t, a, 2);
    ck_assert_ptr_nonnull(e1);
    wsf_ipcount_release(&t, e1);
    wsf_ipcount_release(&t, e2);
    ck_assert_uint_eq(wsf_ipcount_get(&t, a), 0);
    ck_assert_uint_eq(t.naddrs, 1); /* gone with its last connection */
    wsf_ipcount_release(&t, f);
    ck_assert_uint_eq(t.naddrs, 0);
    ck_assert_ptr_null(wsf_ipcount_acquire(&t, a, 0));
    wsf_ipcount_fini(&t);
}
END_TEST

START_TEST(ipv6_and_mapped_keys)
{
    uint8_t a[16], m[16], v6[16], other[16];
    key4(a, "192.0.2.7");
    key6(m, "::ffff:192.0.2.7");
    key6(v6, "2001:db8::7");
    key6(other, "2001:db8::8");
    ck_assert_mem_eq(a, m, 16);
    ck_assert(memcmp(v6, other, 16) != 0);
    wsf_ipcount t;
    wsf_ipcount_init(&t, 1);
    ck_assert_ptr_nonnull(wsf_ipcount_acquire(&t, a, 1));
    ck_assert_ptr_null(wsf_ipcount_acquire(&t, m, 1));
    ck_assert_ptr_nonnull(wsf_ipcount_acquire(&t, v6, 1));
    ck_assert_ptr_nonnull(wsf_ipcount_acquire(&t, other, 1));
    ck_assert_uint_eq(t.naddrs, 3);
    wsf_ipcount_fini(&t);

    struct sockaddr sa = {.sa_family = AF_UNIX};
    ck_assert_int_eq(wsf_ipcount_key(a, &sa), -EAFNOSUPPORT);
}
END_TEST

START_TEST(many_addresses)
{
    wsf_ipcount t;
    wsf_ipcount_init(&t, 7);
    static wsf_ipcount_entry *held[20000];
    for (uint32_t i = 0; i < 20000; i++) {
        uint8_t k[16] = {0};
        memcpy(k + 12, &i, 4);
        held[i] = wsf_ipcount_acquire(&t, k, 1);
        ck_assert_ptr_nonnull(held[i]);
        ck_assert_ptr_null(wsf_ipcount_acquire(&t, k, 1));
    }
    ck_assert_uint_eq(t.naddrs, 20000);
    for (uint32_t i = 0; i < 20000; i += 2)
        wsf_ipcount_release(&t, held[i]);
    ck_assert_uint_eq(t.naddrs, 10000);
    for (uint32_t i = 0; i < 20000; i++) {
        uint8_t k[16] = {0};
        memcpy(k + 12, &i, 4);
        ck_assert_uint_eq(wsf_ipcount_get(&t, k), i % 2);
    }
    wsf_ipcount_fini(&t); /* frees the rest */
}
END_TEST

Suite *wsf_ipcount_suite(void)
{
    Suite *s = suite_create("wsf_ipcount");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, limit_per_address);
    tcase_add_test(tc, ipv6_and_mapped_keys);
    tcase_add_test(tc, many_addresses);
    suite_add_tcase(s, tc);
    return s;
}
