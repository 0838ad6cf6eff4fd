/* Unit tests for common/wsf_listen.c with real sockets on 127.0.0.1 and [::1]. The loopback
 * IPv6 address is a requirement of the test suite (the integration tests use it too): when
 * [::1] cannot be bound, the IPv6 tests fail rather than skip. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wsf_listen.h"

Suite *wsf_listen_suite(void);

static wsf_addr resolve(const char *spec)
{
    wsf_addr a;
    const char *why = NULL;
    int rc = wsf_listen_resolve(&a, spec, &why);
    ck_assert_msg(rc == 0, "%s: %s", spec, why ? why : "?");
    return a;
}

/* A connection to addr succeeds and is accepted on lfd. */
static void assert_accepts(int lfd, const wsf_addr *addr)
{
    int c = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ne(c, -1);
    ck_assert_int_eq(connect(c, (const struct sockaddr *)&addr->ss, addr->len), 0);
    int a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    ck_assert_int_ne(a, -1);
    close(a);
    close(c);
}

/* Binds spec with flags and returns the fd, its bound address in *bound. */
static int listen_on(wsf_addr *bound, const char *spec, unsigned flags)
{
    wsf_addr a = resolve(spec);
    int fd = wsf_listen_socket(&a, flags);
    ck_assert_msg(fd >= 0, "%s: %s", spec, strerror(-fd));
    ck_assert_int_eq(wsf_listen_bound(bound, fd), 0);
    ck_assert_uint_ne(wsf_addr_port(bound), 0);
    return fd;
}

START_TEST(resolve_forms)
{
    wsf_addr a = resolve("127.0.0.1:8080");
    ck_assert_int_eq(a.ss.ss_family, AF_INET);
    ck_assert_uint_eq(wsf_addr_port(&a), 8080);
    a = resolve("[::1]:65535");
    ck_assert_int_eq(a.ss.ss_family, AF_INET6);
    ck_assert_uint_eq(wsf_addr_port(&a), 65535);
    a = resolve("0.0.0.0:0");
    ck_assert_uint_eq(wsf_addr_port(&a), 0);
    wsf_addr_set_port(&a, 4242);
    ck_assert_uint_eq(wsf_addr_port(&a), 4242);
    char name[WSF_LISTEN_NAME_MAX];
    wsf_addr_name(name, sizeof name, &a);
    ck_assert_str_eq(name, "0.0.0.0:4242");
    a = resolve("[::]:7");
    wsf_addr_name(name, sizeof name, &a);
    ck_assert_str_eq(name, "[::]:7");

    static const char *const bad[] = {"127.0.0.1", ":80",     "127.0.0.1:",   "127.0.0.1:65536",
                                      "[::1:80",   "[::1]80", "127.0.0.1:-1", "127.0.0.1:0x50"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = NULL;
        ck_assert_msg(wsf_listen_resolve(&a, bad[i], &why) == -EINVAL, "'%s' accepted", bad[i]);
        ck_assert_ptr_nonnull(why);
    }
    const char *why = NULL;
    ck_assert_int_eq(wsf_listen_resolve(&a, "no-such-host.invalid:80", &why), -ENOENT);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(overlapping_addresses)
{
    static const struct {
        const char *a, *b;
        bool overlap;
    } cases[] = {
        {"127.0.0.1:80", "127.0.0.1:80", true},  {"127.0.0.1:80", "0.0.0.0:80", true},
        {"0.0.0.0:80", "127.0.0.2:80", true},    {"127.0.0.1:80", "127.0.0.2:80", false},
        {"127.0.0.1:80", "127.0.0.1:81", false}, {"[::1]:80", "[::]:80", true},
        {"[::1]:80", "[::1]:80", true},          {"[::]:80", "0.0.0.0:80", false},
        {"[::1]:80", "127.0.0.1:80", false},     {"127.0.0.1:0", "127.0.0.1:0", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wsf_addr a = resolve(cases[i].a), b = resolve(cases[i].b);
        ck_assert_msg(wsf_addr_overlaps(&a, &b) == cases[i].overlap, "%s vs %s", cases[i].a,
                      cases[i].b);
        ck_assert_msg(wsf_addr_overlaps(&b, &a) == cases[i].overlap, "%s vs %s", cases[i].b,
                      cases[i].a);
    }
}
END_TEST

START_TEST(v4_listens_and_accepts)
{
    wsf_addr bound;
    int fd = listen_on(&bound, "127.0.0.1:0", 0);
    char name[WSF_LISTEN_NAME_MAX];
    wsf_addr_name(name, sizeof name, &bound);
    ck_assert_msg(strncmp(name, "127.0.0.1:", 10) == 0, "%s", name);
    ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    assert_accepts(fd, &bound);
    close(fd);

    fd = listen_on(&bound, "127.0.0.1:0", WSF_LISTEN_NONBLOCK);
    ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_eq(accept(fd, NULL, NULL), -1); /* nothing queued: EAGAIN, not a block */
    ck_assert_int_eq(errno, EAGAIN);
    close(fd);
}
END_TEST

START_TEST(v6_listens_v6_only)
{
    wsf_addr bound;
    int fd = listen_on(&bound, "[::1]:0", 0);
    ck_assert_int_eq(bound.ss.ss_family, AF_INET6);
    char name[WSF_LISTEN_NAME_MAX];
    wsf_addr_name(name, sizeof name, &bound);
    ck_assert_msg(strncmp(name, "[::1]:", 6) == 0, "%s", name);
    int v6only = 0;
    socklen_t len = sizeof v6only;
    ck_assert_int_eq(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len), 0);
    ck_assert_int_eq(v6only, 1);
    assert_accepts(fd, &bound);
    close(fd);

    /* [::]:P and 0.0.0.0:P are separate addresses: both bind. Another process may hold P on
     * IPv4 already (an outgoing connection's local port, which [::]:P does not keep out): such a
     * port is passed over; a bind that refuses 0.0.0.0 beside [::] refuses it on every port. */
    int fd4 = -EADDRINUSE;
    for (int tries = 0; tries < 50 && fd4 == -EADDRINUSE; tries++) {
        fd = listen_on(&bound, "[::]:0", 0);
        wsf_addr v4 = resolve("0.0.0.0:0");
        wsf_addr_set_port(&v4, wsf_addr_port(&bound));
        fd4 = wsf_listen_socket(&v4, 0);
        close(fd);
    }
    ck_assert_msg(fd4 >= 0, "0.0.0.0 beside [::]: %s", strerror(-fd4));
    close(fd4);
}
END_TEST

START_TEST(reuseport_group_and_plain_conflict)
{
    wsf_addr bound;
    int a = listen_on(&bound, "127.0.0.1:0", WSF_LISTEN_REUSEPORT);
    int b = wsf_listen_socket(&bound, WSF_LISTEN_REUSEPORT);
    ck_assert_msg(b >= 0, "second group member: %s", strerror(-b));
    ck_assert_int_eq(wsf_listen_socket(&bound, 0), -EADDRINUSE);
    close(b);
    close(a);
}
END_TEST

/* The probe finds listeners whatever their options, on the same or an overlapping address. */
static void assert_probe_taken(const wsf_addr *holder, const char *probe_host)
{
    wsf_addr p = resolve(probe_host);
    wsf_addr_set_port(&p, wsf_addr_port(holder));
    int probe = -1;
    ck_assert_int_eq(wsf_listen_probe(&probe, &p), -EADDRINUSE);
    ck_assert_int_eq(probe, -1);
}

START_TEST(probe_sees_every_listener)
{
    static const unsigned flags[] = {0, WSF_LISTEN_REUSEPORT};
    for (size_t i = 0; i < 2; i++) {
        wsf_addr bound;
        int fd = listen_on(&bound, "127.0.0.1:0", flags[i]);
        assert_probe_taken(&bound, "127.0.0.1:0");
        assert_probe_taken(&bound, "0.0.0.0:0");
        close(fd);
        fd = listen_on(&bound, "0.0.0.0:0", flags[i]);
        assert_probe_taken(&bound, "127.0.0.1:0");
        close(fd);
        fd = listen_on(&bound, "[::1]:0", flags[i]);
        assert_probe_taken(&bound, "[::1]:0");
        assert_probe_taken(&bound, "[::]:0");
        close(fd);
    }
}
END_TEST

START_TEST(probe_free_address_then_group_binds)
{
    /* A port that was just free: a listener's, closed. SO_REUSEADDR lets the probe bind even
     * if a connection left it in TIME_WAIT. */
    wsf_addr bound;
    int probe = -1;
    int rc = -EADDRINUSE;
    /* Another process may take the port between the close and the probe (an outgoing
     * connection's local port): such a port is passed over. */
    for (int tries = 0; tries < 50 && rc == -EADDRINUSE; tries++) {
        int fd = listen_on(&bound, "127.0.0.1:0", 0);
        assert_accepts(fd, &bound);
        close(fd);
        rc = wsf_listen_probe(&probe, &bound);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_ge(probe, 0);
    /* The held probe lets the owner's group bind, and keeps out a plain listener. */
    int a = wsf_listen_socket(&bound, WSF_LISTEN_REUSEPORT);
    ck_assert_msg(a >= 0, "group beside the probe: %s", strerror(-a));
    int b = wsf_listen_socket(&bound, WSF_LISTEN_REUSEPORT);
    ck_assert_msg(b >= 0, "second member beside the probe: %s", strerror(-b));
    int plain = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(bind(plain, (struct sockaddr *)&bound.ss, bound.len), -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    close(plain);
    close(probe);
    /* Once the group listens, a new probe finds it. */
    probe = -1;
    ck_assert_int_eq(wsf_listen_probe(&probe, &bound), -EADDRINUSE);
    close(b); /* so that the connection below cannot land in b's queue */
    assert_accepts(a, &bound);
    close(a);

    wsf_addr zero = resolve("127.0.0.1:0");
    ck_assert_int_eq(wsf_listen_probe(&probe, &zero), -EINVAL);
}
END_TEST

/* A listener on host (port taken from at) with SO_REUSEPORT, as a same-uid stray would make. */
static int reuseport_on(const char *host, const wsf_addr *at)
{
    wsf_addr a = resolve(host);
    wsf_addr_set_port(&a, wsf_addr_port(at));
    int fd = wsf_listen_socket(&a, WSF_LISTEN_REUSEPORT);
    ck_assert_msg(fd >= 0, "%s: %s", host, strerror(-fd));
    return fd;
}

static void assert_foreign_counts(const char *mine, const char *same, const char *wildcard,
                                  const char *other)
{
    wsf_addr bound;
    int fds[2];
    fds[0] = listen_on(&bound, mine, WSF_LISTEN_REUSEPORT);
    fds[1] = wsf_listen_socket(&bound, WSF_LISTEN_REUSEPORT);
    ck_assert_int_ge(fds[1], 0);
    ck_assert_int_eq(wsf_listen_foreign(&bound, fds, 2), 0);
    /* Without fds[1] among ours, it is someone else's. */
    ck_assert_int_eq(wsf_listen_foreign(&bound, fds, 1), 1);
    int stray = reuseport_on(same, &bound);
    ck_assert_int_eq(wsf_listen_foreign(&bound, fds, 2), 1);
    int wild = reuseport_on(wildcard, &bound);
    ck_assert_int_eq(wsf_listen_foreign(&bound, fds, 2), 2);
    /* Another address on the same port does not overlap. */
    int elsewhere = other != NULL ? reuseport_on(other, &bound) : -1;
    ck_assert_int_eq(wsf_listen_foreign(&bound, fds, 2), 2);
    /* And seen from the wildcard, every address of the family overlaps. */
    wsf_addr wa = resolve(wildcard);
    wsf_addr_set_port(&wa, wsf_addr_port(&bound));
    ck_assert_int_eq(wsf_listen_foreign(&wa, &wild, 1), other != NULL ? 4 : 3);
    if (elsewhere != -1)
        close(elsewhere);
    close(wild);
    close(stray);
    close(fds[1]);
    close(fds[0]);
}

START_TEST(foreign_listeners_are_counted)
{
    assert_foreign_counts("127.0.0.1:0", "127.0.0.1:0", "0.0.0.0:0", "127.0.0.2:0");
    assert_foreign_counts("[::1]:0", "[::1]:0", "[::]:0", NULL);
}
END_TEST

Suite *wsf_listen_suite(void)
{
    Suite *s = suite_create("wsf_listen");
    TCase *tc = tcase_create("listen");
    /* Real sockets on a busy machine: 4 s of Check's default ran out once beside a CPU hog. */
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, resolve_forms);
    tcase_add_test(tc, overlapping_addresses);
    tcase_add_test(tc, v4_listens_and_accepts);
    tcase_add_test(tc, v6_listens_v6_only);
    tcase_add_test(tc, reuseport_group_and_plain_conflict);
    tcase_add_test(tc, probe_sees_every_listener);
    tcase_add_test(tc, probe_free_address_then_group_binds);
    tcase_add_test(tc, foreign_listeners_are_counted);
    suite_add_tcase(s, tc);
    return s;
}
