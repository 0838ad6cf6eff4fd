/* Unit tests for supervisor/sup_steer.c: weights, the bucket map's properties, and the BPF
 * program run by the real kernel on loopback SO_REUSEPORT groups (IPv4 and IPv6): one connection
 * from a chosen source port per bucket, each landing where the map says. */
#include <check.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sup_steer.h"
#include "test_slow.h"

Suite *sup_steer_suite(void);

#define NSOCK 4

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static int map_of(uint32_t *map, const uint32_t *w, size_t n)
{
    return sup_steer_map(map, w, n);
}

/* Longest run of equal consecutive entries, wrapping around. */
static unsigned longest_run(const uint32_t *map)
{
    unsigned best = 1, run = 1;
    for (size_t i = 1; i < 2 * SUP_STEER_BUCKETS; i++) {
        run = map[i % SUP_STEER_BUCKETS] == map[(i - 1) % SUP_STEER_BUCKETS] ? run + 1 : 1;
        if (run > best)
            best = run;
    }
    return best > SUP_STEER_BUCKETS ? SUP_STEER_BUCKETS : best;
}

/* The properties every map must have for weights w. */
static void check_map(const uint32_t *w, size_t n)
{
    uint32_t map[SUP_STEER_BUCKETS], again[SUP_STEER_BUCKETS];
    unsigned count[256], total = 0;
    size_t eligible = 0;
    for (size_t i = 0; i < n; i++)
        eligible += w[i] > 0;
    int want = eligible > 0 ? (int)eligible : SUP_STEER_ENONE;
    ck_assert_int_eq(map_of(map, w, n), want);
    if (eligible == 0)
        return;
    ck_assert_int_eq(map_of(again, w, n), want);
    ck_assert_mem_eq(map, again, sizeof map);
    sup_steer_count(count, n, map);
    for (size_t i = 0; i < n; i++) {
        total += count[i];
        if (w[i] == 0)
            ck_assert_uint_eq(count[i], 0);
        else
            ck_assert_uint_ge(count[i], 1);
        for (size_t j = 0; j < n; j++) {
            if (w[i] > w[j])
                ck_assert_msg(count[i] >= count[j], "weight %u got %u buckets, weight %u got %u",
                              w[i], count[i], w[j], count[j]);
            if (w[i] == w[j])
                ck_assert_uint_le(count[i] > count[j] ? count[i] - count[j] : count[j] - count[i],
                                  1);
        }
    }
    ck_assert_uint_eq(total, SUP_STEER_BUCKETS);
    /* Interleaved: a slot's run is no longer than its share over everyone else's, rounded up. */
    unsigned top = 0;
    for (size_t i = 0; i < n; i++)
        top = count[i] > top ? count[i] : top;
    if (top < SUP_STEER_BUCKETS) {
        unsigned rest = SUP_STEER_BUCKETS - top;
        ck_assert_uint_le(longest_run(map), (top + rest - 1) / rest + 1);
    }
}

START_TEST(weights_favour_fewer_connections)
{
    sup_steer_slot s[5] = {{true, 100}, {true, 0}, {false, 0}, {true, 100}, {true, 400}};
    uint32_t w[5];
    ck_assert_uint_eq(sup_steer_weights(w, s, 5), 4);
    ck_assert_uint_eq(w[2], 0);
    ck_assert_uint_eq(w[0], w[3]);
    ck_assert_uint_gt(w[1], w[0]);
    ck_assert_uint_gt(w[0], w[4]);
    ck_assert_uint_le(w[1], SUP_STEER_MAX_WEIGHT);
    /* A restarted worker (0 connections) beside busy ones gets the capped boost, no more. */
    sup_steer_slot r[4] = {{true, 250}, {true, 0}, {true, 250}, {true, 250}};
    sup_steer_weights(w, r, 4);
    ck_assert_uint_eq(w[1], SUP_STEER_MAX_WEIGHT);
    ck_assert_uint_lt(w[0], w[1]);
    /* mean = 150: a slot at the mean weighs one unit */
    sup_steer_slot m[2] = {{true, 150}, {true, 150}};
    sup_steer_weights(w, m, 2);
    ck_assert_uint_eq(w[0], SUP_STEER_WEIGHT_UNIT);
    ck_assert_uint_eq(w[1], SUP_STEER_WEIGHT_UNIT);
}
END_TEST

START_TEST(weights_edge_cases)
{
    uint32_t w[3] = {7, 7, 7};
    sup_steer_slot none[3] = {{false, 5}, {false, 0}, {false, 9}};
    ck_assert_uint_eq(sup_steer_weights(w, none, 3), 0);
    ck_assert_uint_eq(w[0] + w[1] + w[2], 0);
    /* An enormous load still leaves an eligible slot a non-zero weight. */
    sup_steer_slot big[3] = {{true, 0}, {true, 0}, {true, UINT32_MAX}};
    sup_steer_weights(w, big, 3);
    ck_assert_uint_ge(w[2], 1);
    ck_assert_uint_gt(w[0], w[2]);
    /* Idle fleet: everyone equal. */
    sup_steer_slot idle[3] = {{true, 0}, {true, 0}, {true, 0}};
    sup_steer_weights(w, idle, 3);
    ck_assert_uint_eq(w[0], w[1]);
    ck_assert_uint_eq(w[1], w[2]);
}
END_TEST

START_TEST(weights_monotone_random)
{
    uint32_t seed = 42;
    for (int round = 0; round < 200; round++) {
        sup_steer_slot s[16];
        uint32_t w[16];
        size_t n = 1 + lcg(&seed) % 16;
        for (size_t i = 0; i < n; i++) {
            s[i].eligible = lcg(&seed) % 4 != 0;
            s[i].connections = lcg(&seed) % (round % 2 ? 20 : 50000);
        }
        sup_steer_weights(w, s, n);
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < n; j++) {
                if (s[i].eligible && s[j].eligible && s[i].connections <= s[j].connections)
                    ck_assert_uint_ge(w[i], w[j]);
            }
        }
        check_map(w, n);
    }
}
END_TEST

START_TEST(map_one_one_zero_one)
{
    uint32_t w[NSOCK] = {1, 1, 0, 1}, map[SUP_STEER_BUCKETS];
    unsigned count[NSOCK];
    ck_assert_int_eq(map_of(map, w, NSOCK), 3);
    sup_steer_count(count, NSOCK, map);
    ck_assert_uint_eq(count[2], 0);
    ck_assert_uint_ge(count[0], SUP_STEER_BUCKETS / 3);
    ck_assert_uint_le(count[0], SUP_STEER_BUCKETS / 3 + 1);
    ck_assert_uint_ge(count[1], SUP_STEER_BUCKETS / 3);
    ck_assert_uint_ge(count[3], SUP_STEER_BUCKETS / 3);
    /* Equal shares interleave: no two neighbours alike, except where the bucket count does not
     * divide evenly and the map wraps around. */
    ck_assert_uint_le(longest_run(map), SUP_STEER_BUCKETS % 3 ? 2 : 1);
    check_map(w, NSOCK);
}
END_TEST

START_TEST(map_proportional)
{
    uint32_t w[3] = {6, 1, 1}, map[SUP_STEER_BUCKETS];
    unsigned count[3];
    map_of(map, w, 3);
    sup_steer_count(count, 3, map);
    ck_assert_uint_eq(count[0], SUP_STEER_BUCKETS * 6 / 8);
    ck_assert_uint_eq(count[1], SUP_STEER_BUCKETS / 8);
    ck_assert_uint_eq(count[2], SUP_STEER_BUCKETS / 8);
    check_map(w, 3);
    /* A tiny weight (half-open probe) still gets its one bucket. */
    uint32_t t[3] = {1000000, 1, 1000000};
    map_of(map, t, 3);
    sup_steer_count(count, 3, map);
    ck_assert_uint_eq(count[1], 1);
    ck_assert_uint_eq(count[0] + count[2], SUP_STEER_BUCKETS - 1);
    check_map(t, 3);
}
END_TEST

START_TEST(map_all_to_one)
{
    uint32_t w[NSOCK] = {0, 0, 5, 0}, map[SUP_STEER_BUCKETS];
    ck_assert_int_eq(map_of(map, w, NSOCK), 1);
    for (size_t b = 0; b < SUP_STEER_BUCKETS; b++)
        ck_assert_uint_eq(map[b], 2);
}
END_TEST

START_TEST(map_errors)
{
    uint32_t w[SUP_STEER_BUCKETS + 1], map[SUP_STEER_BUCKETS], before[SUP_STEER_BUCKETS];
    memset(w, 0, sizeof w);
    memset(map, 0xab, sizeof map);
    memcpy(before, map, sizeof map);
    ck_assert_int_eq(map_of(map, w, NSOCK), SUP_STEER_ENONE);
    ck_assert_int_eq(map_of(map, w, 0), SUP_STEER_ENONE);
    ck_assert_mem_eq(map, before, sizeof map);
    for (size_t i = 0; i < SUP_STEER_BUCKETS + 1; i++)
        w[i] = 1;
    ck_assert_int_eq(map_of(map, w, SUP_STEER_BUCKETS + 1), SUP_STEER_ETOOMANY);
    /* Exactly as many slots as buckets: one each. */
    ck_assert_int_eq(map_of(map, w, SUP_STEER_BUCKETS), SUP_STEER_BUCKETS);
    check_map(w, SUP_STEER_BUCKETS);
}
END_TEST

START_TEST(map_random_properties)
{
    uint32_t seed = 7;
    for (int round = 0; round < 500; round++) {
        uint32_t w[64];
        size_t n = 1 + lcg(&seed) % 64;
        for (size_t i = 0; i < n; i++)
            w[i] = lcg(&seed) % 3 == 0 ? 0 : 1 + lcg(&seed) % (round % 3 ? 8 : 1000000);
        w[lcg(&seed) % n] = 1 + lcg(&seed) % 4; /* at least one eligible */
        check_map(w, n);
    }
}
END_TEST

START_TEST(hash_spreads_even_ports)
{
    /* The kernel picks even ephemeral ports for connect(): the hash must still use every bucket
     * roughly evenly. */
    unsigned hits[SUP_STEER_BUCKETS] = {0};
    for (uint32_t port = 1024; port < 1024 + 2 * SUP_STEER_BUCKETS * 64; port += 2)
        hits[sup_steer_bucket(0x7f000001u, (uint16_t)port)]++;
    for (size_t b = 0; b < SUP_STEER_BUCKETS; b++) {
        ck_assert_uint_ge(hits[b], 32);
        ck_assert_uint_le(hits[b], 96);
    }
    uint8_t lo6[16] = {0};
    lo6[15] = 1;
    ck_assert_uint_eq(sup_steer_fold6(lo6), 1);
    uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
    ck_assert_uint_eq(sup_steer_fold6(a6), 0x20010db8u ^ 0xdeadbeefu);
}
END_TEST

START_TEST(program_size)
{
    uint32_t map[SUP_STEER_BUCKETS] = {0};
    struct sock_filter prog[SUP_STEER_PROG_MAX];
    int n = sup_steer_program(prog, SUP_STEER_PROG_MAX, map);
    ck_assert_int_gt(n, 2 * SUP_STEER_BUCKETS);
    ck_assert_int_le(n, SUP_STEER_PROG_MAX);
    ck_assert_int_le(n, BPF_MAXINSNS);
    ck_assert_int_eq(sup_steer_program(prog, 10, map), -ENOSPC);
    ck_assert_int_eq(sup_steer_program(prog, (size_t)n - 1, map), -ENOSPC);
}
END_TEST

/* A reuseport group of NSOCK listeners on one loopback port, listening in slot order. */
typedef struct group {
    int family;
    int fd[NSOCK];
    uint16_t port;
} group;

static socklen_t addr_of(struct sockaddr_storage *ss, int family, const char *ip, uint16_t port)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        ck_assert_int_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1);
        return sizeof *a;
    }
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    ck_assert_int_eq(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
    return sizeof *a;
}

/* Returns 0, or -errno of the first bind when the address is unavailable. */
static int group_open(group *g, int family)
{
    const char *ip = family == AF_INET ? "127.0.0.1" : "::1";
    g->family = family;
    g->port = 0;
    for (int i = 0; i < NSOCK; i++) {
        struct sockaddr_storage ss;
        socklen_t len = addr_of(&ss, family, ip, g->port);
        int one = 1;
        g->fd[i] = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(g->fd[i], 0);
        ck_assert_int_eq(setsockopt(g->fd[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
        if (bind(g->fd[i], (struct sockaddr *)&ss, len) == -1) {
            int err = errno;
            ck_assert_msg(i == 0, "bind of listener %d: %s", i, strerror(err));
            close(g->fd[0]);
            return -err;
        }
        if (i == 0) {
            len = sizeof ss;
            ck_assert_int_eq(getsockname(g->fd[0], (struct sockaddr *)&ss, &len), 0);
            g->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    for (int i = 0; i < NSOCK; i++)
        ck_assert_int_eq(listen(g->fd[i], 1024), 0);
    return 0;
}

static void group_close(group *g)
{
    for (int i = 0; i < NSOCK; i++)
        close(g->fd[i]);
}

static void attach_map(const group *g, int via, const uint32_t *map)
{
    struct sock_filter prog[SUP_STEER_PROG_MAX];
    int n = sup_steer_program(prog, SUP_STEER_PROG_MAX, map);
    ck_assert_int_gt(n, 0);
    int rc = sup_steer_attach(g->fd[via], prog, (size_t)n);
    ck_assert_msg(rc == 0, "attach: %s", strerror(-rc));
}

/* The source address a client uses for bucket b: IPv4 ones from 127.0.0.1..7, so the address
 * varies as well as the port. */
static const char *source_ip(int family, uint32_t b, char *buf, size_t cap)
{
    if (family == AF_INET6)
        return "::1";
    snprintf(buf, cap, "127.0.0.%u", 1 + b % 7);
    return buf;
}

/* The source address as the program hashes it (host order; IPv6 folded). */
static uint32_t bucket_src(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
    return sup_steer_fold6(((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr);
}

/* The bucket of a source address and port, as the program computes it. */
static uint32_t bucket_of(const struct sockaddr_storage *ss)
{
    uint16_t port = ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                             : ((const struct sockaddr_in6 *)ss)->sin6_port;
    return sup_steer_bucket(bucket_src(ss), ntohs(port));
}

/* Source ports are chosen, not left to the kernel, so that every bucket gets a connection. They
 * come from below the ephemeral range (which other sockets take from) and each is used once per
 * test; a port someone else holds is skipped. */
#define PORT_LO 10000u
#define PORT_HI 32767u

/* The next port at or after *cursor whose hash from src lands in bucket b. */
static uint16_t port_for(uint32_t src_fold, uint32_t b, unsigned *cursor)
{
    for (unsigned n = 0; n <= PORT_HI - PORT_LO; n++) {
        unsigned p = *cursor;
        *cursor = p == PORT_HI ? PORT_LO : p + 1;
        if (sup_steer_bucket(src_fold, (uint16_t)p) == b)
            return (uint16_t)p;
    }
    ck_abort_msg("no port hashes to bucket %u", b);
    return 0;
}

/* A client socket bound to a source in bucket b (port 0: wherever the kernel puts it), or -1
 * if that port was in use. */
static int client_for(const group *g, uint32_t b, uint16_t port)
{
    char buf[32];
    struct sockaddr_storage ss;
    socklen_t len = addr_of(&ss, g->family, source_ip(g->family, b, buf, sizeof buf), port);
    int fd = socket(g->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
        int err = errno;
        ck_assert_msg(err == EADDRINUSE && port != 0, "bind to port %u: %s", port, strerror(err));
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether two addresses have the same family, address and port. */
static bool same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* Connects fd to the group and accepts the connection: returns the index of the listener that
 * got it (the one whose peer is fd's own address). */
static int connect_one(const group *g, int fd)
{
    struct sockaddr_storage to, local, peer;
    socklen_t len = addr_of(&to, g->family, g->family == AF_INET ? "127.0.0.1" : "::1", g->port);
    ck_assert_msg(connect(fd, (struct sockaddr *)&to, len) == 0, "connect: %s", strerror(errno));
    len = sizeof local;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&local, &len), 0);
    /* The handshake is done when connect returns; give the accept queue a generous while. */
    for (int waited = 0; waited < (int)test_ms(10000); waited += 10) {
        struct pollfd pf[NSOCK];
        for (int j = 0; j < NSOCK; j++)
            pf[j] = (struct pollfd){.fd = g->fd[j], .events = POLLIN};
        poll(pf, NSOCK, 10);
        for (int j = 0; j < NSOCK; j++) {
            socklen_t plen = sizeof peer;
            int c = accept4(g->fd[j], (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
            if (c < 0)
                continue;
            close(c);
            /* Only this test's clients connect to the group's port, one at a time. */
            ck_assert_msg(same_source(&peer, &local), "accepted someone else's connection");
            return j;
        }
    }
    ck_abort_msg("connection never accepted");
    return -1;
}

/* Connects once from a source in every bucket (and NEPHEMERAL more times from ports the kernel
 * picks), checks each connection landed on map[its bucket], and checks that the connections per
 * listener are exactly the map's bucket counts. Fills count[NSOCK] with the per-bucket ones. */
#define NEPHEMERAL 16
static void connect_and_check(const group *g, const uint32_t *map, unsigned *count,
                              unsigned *cursor)
{
    unsigned want[NSOCK];
    sup_steer_count(want, NSOCK, map);
    memset(count, 0, NSOCK * sizeof *count);
    for (uint32_t b = 0; b < SUP_STEER_BUCKETS; b++) {
        char buf[32];
        struct sockaddr_storage src;
        addr_of(&src, g->family, source_ip(g->family, b, buf, sizeof buf), 0);
        uint32_t fold = bucket_src(&src);
        int fd = -1;
        for (int tries = 0; fd < 0; tries++) {
            ck_assert_msg(tries < 64, "every port for bucket %u is taken", b);
            fd = client_for(g, b, port_for(fold, b, &cursor[b]));
        }
        int j = connect_one(g, fd);
        close(fd);
        ck_assert_msg((uint32_t)j == map[b], "bucket %u landed on socket %d, map says %u", b, j,
                      map[b]);
        count[j]++;
    }
    for (int j = 0; j < NSOCK; j++)
        ck_assert_msg(count[j] == want[j], "socket %d: %u connections, %u buckets in the map", j,
                      count[j], want[j]);
    for (int i = 0; i < NEPHEMERAL; i++) {
        int fd = client_for(g, (uint32_t)i, 0);
        struct sockaddr_storage local;
        socklen_t len = sizeof local;
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&local, &len), 0);
        uint32_t b = bucket_of(&local);
        int j = connect_one(g, fd);
        close(fd);
        ck_assert_msg((uint32_t)j == map[b],
                      "kernel-picked port (bucket %u) landed on socket %d, "
                      "map says %u",
                      b, j, map[b]);
    }
}

static void kernel_steering(int family)
{
    group g;
    int rc = group_open(&g, family);
    if (rc != 0) {
        /* Only IPv6 may be missing (a host without ::1); IPv4 loopback always binds. */
        ck_assert_int_eq(family, AF_INET6);
        fprintf(stderr, "note: ::1 unavailable (%s), IPv6 steering test skipped\n", strerror(-rc));
        return;
    }
    unsigned cursor[SUP_STEER_BUCKETS];
    for (uint32_t b = 0; b < SUP_STEER_BUCKETS; b++)
        cursor[b] = PORT_LO + (unsigned)getpid() % (PORT_HI - PORT_LO);
    uint32_t w[NSOCK] = {1, 1, 0, 1}, map[SUP_STEER_BUCKETS];
    unsigned count[NSOCK];
    ck_assert_int_eq(sup_steer_map(map, w, NSOCK), 3);
    attach_map(&g, 0, map);
    connect_and_check(&g, map, count, cursor);
    ck_assert_uint_eq(count[2], 0);
    ck_assert_uint_ge(count[0], SUP_STEER_BUCKETS / 3);
    ck_assert_uint_ge(count[1], SUP_STEER_BUCKETS / 3);
    ck_assert_uint_ge(count[3], SUP_STEER_BUCKETS / 3);

    /* All to one slot, attached through another socket of the group: applies group-wide. */
    uint32_t one[NSOCK] = {0, 0, 0, 9};
    ck_assert_int_eq(sup_steer_map(map, one, NSOCK), 1);
    attach_map(&g, 1, map);
    connect_and_check(&g, map, count, cursor);
    ck_assert_uint_eq(count[3], SUP_STEER_BUCKETS);

    /* Weights from load: slot 1 idle gets the most. */
    sup_steer_slot s[NSOCK] = {{true, 300}, {true, 0}, {true, 300}, {false, 0}};
    sup_steer_weights(w, s, NSOCK);
    ck_assert_int_eq(sup_steer_map(map, w, NSOCK), 3);
    attach_map(&g, 2, map);
    connect_and_check(&g, map, count, cursor);
    ck_assert_uint_eq(count[3], 0);
    ck_assert_uint_gt(count[1], count[0]);

    ck_assert_int_eq(sup_steer_detach(g.fd[0]), 0);
    ck_assert_int_eq(sup_steer_detach(g.fd[0]), -ENOENT);
    group_close(&g);
}

START_TEST(kernel_ipv4)
{
    kernel_steering(AF_INET);
}
END_TEST

START_TEST(kernel_ipv6)
{
    kernel_steering(AF_INET6);
}
END_TEST

START_TEST(attach_errors)
{
    uint32_t map[SUP_STEER_BUCKETS] = {0};
    struct sock_filter prog[SUP_STEER_PROG_MAX];
    int n = sup_steer_program(prog, SUP_STEER_PROG_MAX, map);
    ck_assert_int_eq(sup_steer_attach(-1, prog, (size_t)n), -EBADF);
    ck_assert_int_eq(sup_steer_attach(0, prog, 0), -EINVAL);
}
END_TEST

Suite *sup_steer_suite(void)
{
    Suite *s = suite_create("sup_steer");
    TCase *tc = tcase_create("map");
    /* The randomised map checks take seconds under AddressSanitizer on a busy machine. */
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, weights_favour_fewer_connections);
    tcase_add_test(tc, weights_edge_cases);
    tcase_add_test(tc, weights_monotone_random);
    tcase_add_test(tc, map_one_one_zero_one);
    tcase_add_test(tc, map_proportional);
    tcase_add_test(tc, map_all_to_one);
    tcase_add_test(tc, map_errors);
    tcase_add_test(tc, map_random_properties);
    tcase_add_test(tc, hash_spreads_even_ports);
    tcase_add_test(tc, program_size);
    suite_add_tcase(s, tc);
    TCase *k = tcase_create("kernel");
    tcase_set_timeout(k, 30);
    tcase_add_test(k, kernel_ipv4);
    tcase_add_test(k, kernel_ipv6);
    tcase_add_test(k, attach_errors);
    suite_add_tcase(s, k);
    return s;
}
