/* Unit tests for chaos/chaos_owner.c: real loopback connections made and accepted here, and in
 * forked children, then attributed to the process whose descriptor table holds the server side.
 * Every child blocks on a pipe only this process writes to, so it exits when the test does, and
 * each test stops its children by pid before it ends. */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos_owner.h"
#include "test_slow.h"

Suite *chaos_owner_suite(void);

#define N_CLIENTS 6
#define KID_ALARM_S 30 /* a child left behind by a crashed test still goes away */

/* A listener on 127.0.0.1:0. */
static int listen_loopback(uint16_t *out_port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 64), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *out_port = ntohs(a.sin_port);
    return fd;
}

/* A client connection to 127.0.0.1:port, from source address src (NULL: the kernel's choice). */
static int connect_from(const char *src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    if (src != NULL) {
        struct sockaddr_in s = {.sin_family = AF_INET};
        ck_assert_int_eq(inet_pton(AF_INET, src, &s.sin_addr), 1);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
    }
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* The key of a client: its own address as the server sees it. */
static uint64_t client_key(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    uint64_t key = chaos_peer_key(&ss);
    ck_assert_uint_ne(key, 0);
    return key;
}

static int accept_one(int lfd)
{
    int fd;
    while ((fd = accept(lfd, NULL, NULL)) == -1 && errno == EINTR) {
    }
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* Clients from 127.0.0.1, .2 and .3 in turn, accepted here unless accepted is NULL. */
static void connect_clients(int lfd, uint16_t port, int *clients, int *accepted, uint64_t *keys,
                            size_t n)
{
    static const char *const srcs[] = {NULL, "127.0.0.2", "127.0.0.3"};
    for (size_t i = 0; i < n; i++) {
        clients[i] = connect_from(srcs[i % 3], port);
        keys[i] = client_key(clients[i]);
        if (accepted != NULL) {
            accepted[i] = accept_one(lfd);
        }
    }
}

static void close_all(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

/* A listener on 127.0.0.1 and N_CLIENTS clients of it (from .1, .2 and .3), accepted here. */
typedef struct conns {
    uint16_t port;
    int lfd;
    int clients[N_CLIENTS];
    int accepted[N_CLIENTS];
    uint64_t keys[N_CLIENTS];
} conns;

static void conns_open(conns *c)
{
    c->port = 0;
    c->lfd = listen_loopback(&c->port);
    connect_clients(c->lfd, c->port, c->clients, c->accepted, c->keys, N_CLIENTS);
}

/* Closes what is still open: both ends of every connection, then the listener. */
static void conns_close(conns *c)
{
    close_all(c->clients, N_CLIENTS);
    close_all(c->accepted, N_CLIENTS);
    close(c->lfd);
}

static chaos_peers peers_of(uint16_t port, const pid_t *pids, size_t n_pids)
{
    chaos_peers p = {0};
    ck_assert_int_eq(chaos_peers_of(&p, port, pids, n_pids), 0);
    return p;
}

/* peers holds exactly keys[0..n), each once, in order. */
static void assert_exactly(const chaos_peers *p, const uint64_t *keys, size_t n)
{
    ck_assert_uint_eq(p->n, n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(chaos_peers_has(p, keys[i]), "client %zu (key %llx) missing", i,
                      (unsigned long long)keys[i]);
    }
    for (size_t i = 1; i < p->n; i++) {
        ck_assert_uint_lt(p->keys[i - 1], p->keys[i]);
    }
}

/* The peers of port among pids are exactly keys[0..n). */
static void assert_peers(uint16_t port, const pid_t *pids, size_t n_pids, const uint64_t *keys,
                         size_t n)
{
    chaos_peers p = peers_of(port, pids, n_pids);
    assert_exactly(&p, keys, n);
    chaos_peers_fini(&p);
}

/* Nothing among pids holds a connection to port. */
static void assert_no_peers(uint16_t port, const pid_t *pids, size_t n_pids)
{
    assert_peers(port, pids, n_pids, NULL, 0);
}

/* A forked child: keeps only the descriptor `keep` (may be -1) and its pipes, accepts n_accept
 * connections on keep, reports, then waits until ctl is closed. */
typedef struct kid {
    pid_t pid;
    int ctl;    /* write end; closing it lets the child exit */
    int report; /* read end; one byte once the child has accepted */
} kid;

static void kid_child(int keep, size_t n_accept, int ctl_r, int report_w)
{
    /* Check's handler would pass a SIGTERM on to the whole test's process group (these children
     * are only ever sent SIGKILL, but a stray SIGTERM must not end the test). */
    signal(SIGTERM, SIG_DFL);
    alarm(KID_ALARM_S);
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (max > 0 && max < 4096 ? max : 4096); fd++) {
        if (fd != keep && fd != ctl_r && fd != report_w) {
            close(fd);
        }
    }
    int accepted[N_CLIENTS];
    for (size_t i = 0; i < n_accept && i < N_CLIENTS; i++) {
        while ((accepted[i] = accept(keep, NULL, NULL)) == -1 && errno == EINTR) {
        }
        if (accepted[i] < 0) {
            _exit(3);
        }
    }
    char c = 'r';
    if (write(report_w, &c, 1) != 1) {
        _exit(4);
    }
    while (read(ctl_r, &c, 1) != 0) {
    }
    _exit(0);
}

static void kid_start(kid *k, int keep, size_t n_accept)
{
    int ctl[2];
    int report[2];
    ck_assert_int_eq(pipe(ctl), 0);
    ck_assert_int_eq(pipe(report), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        kid_child(keep, n_accept, ctl[0], report[1]);
    }
    close(ctl[0]);
    close(report[1]);
    k->pid = pid;
    k->ctl = ctl[1];
    k->report = report[0];
}

/* Waits (bounded) for the child's report. */
static void kid_wait_ready(const kid *k)
{
    struct pollfd p = {.fd = k->report, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, (int)test_ms(5000)), 1);
    char c = 0;
    ck_assert_int_eq(read(k->report, &c, 1), 1);
    ck_assert_int_eq(c, 'r');
}

/* Lets the child go, kills it if it has not, and reaps it; asserts it ran to its clean end. */
static void kid_stop(kid *k)
{
    close(k->ctl);
    close(k->report);
    int status = 0;
    pid_t r = 0;
    for (long waited = 0; waited < test_ms(5000) && (r = waitpid(k->pid, &status, WNOHANG)) == 0;
         waited += 10) {
        usleep(10000);
    }
    if (r == 0) {
        kill(k->pid, SIGKILL);
        r = waitpid(k->pid, &status, 0);
    }
    ck_assert_int_eq(r, k->pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    k->pid = 0;
}

START_TEST(peer_key_of_addresses)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(5000);
    ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.2", &sin->sin_addr), 1);
    ck_assert_uint_eq(chaos_peer_key(&ss), (uint64_t)0x7F000002 << 16 | 5000);
    ck_assert_int_eq(inet_pton(AF_INET, "10.1.2.3", &sin->sin_addr), 1);
    sin->sin_port = htons(65535);
    ck_assert_uint_eq(chaos_peer_key(&ss), (uint64_t)0x0A010203 << 16 | 65535);

    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(5000);
    sin6->sin6_addr = in6addr_loopback;
    ck_assert_uint_eq(chaos_peer_key(&ss), 0);

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    ck_assert_uint_eq(chaos_peer_key(&ss), 0);
}
END_TEST

START_TEST(empty_set_has_nothing)
{
    chaos_peers p = {0};
    ck_assert(!chaos_peers_has(&p, 0));
    ck_assert(!chaos_peers_has(&p, (uint64_t)0x7F000001 << 16 | 80));
    chaos_peers_fini(&p);
    chaos_peers_fini(&p);
    ck_assert_ptr_null(p.keys);
    ck_assert_uint_eq(p.n, 0);
}
END_TEST

/* Connections accepted here are this process's, keyed by the client's address and port; the
 * listening socket is not a connection, and another port's connections are not counted. */
START_TEST(own_connections_by_address_and_port)
{
    conns c;
    conns_open(&c);

    uint16_t other_port = 0;
    int other_lfd = listen_loopback(&other_port);
    int other_client = connect_from("127.0.0.2", other_port);
    int other_accepted = accept_one(other_lfd);
    uint64_t other_key = client_key(other_client);

    pid_t self = getpid();
    chaos_peers p = peers_of(c.port, &self, 1);
    assert_exactly(&p, c.keys, N_CLIENTS);
    ck_assert(!chaos_peers_has(&p, other_key));
    for (size_t i = 0; i < N_CLIENTS; i++) {
        ck_assert_uint_eq(c.keys[i] >> 16, 0x7F000001u + i % 3);
        /* The same port from another address is another client. */
        uint64_t moved = (c.keys[i] & 0xFFFF) | (uint64_t)0x7F000009 << 16;
        ck_assert(!chaos_peers_has(&p, moved));
    }
    chaos_peers_fini(&p);

    /* A port with no connection to it (its listener only) has no peers. */
    uint16_t idle_port = 0;
    int idle_lfd = listen_loopback(&idle_port);
    assert_no_peers(idle_port, &self, 1);

    assert_peers(other_port, &self, 1, &other_key, 1);

    close(idle_lfd);
    close(other_client);
    close(other_accepted);
    close(other_lfd);
    conns_close(&c);
}
END_TEST

/* Closed connections leave the set, and a refill replaces what the set held. */
START_TEST(closed_connections_disappear)
{
    conns c;
    conns_open(&c);
    pid_t self = getpid();

    chaos_peers p = {0};
    ck_assert_int_eq(chaos_peers_of(&p, c.port, &self, 1), 0);
    assert_exactly(&p, c.keys, N_CLIENTS);

    /* Close clients 0, 2 and 4 on both ends. */
    for (size_t i = 0; i < N_CLIENTS; i += 2) {
        close(c.clients[i]);
        close(c.accepted[i]);
        c.clients[i] = c.accepted[i] = -1;
    }
    ck_assert_int_eq(chaos_peers_of(&p, c.port, &self, 1), 0);
    uint64_t left[N_CLIENTS / 2] = {c.keys[1], c.keys[3], c.keys[5]};
    assert_exactly(&p, left, N_CLIENTS / 2);
    ck_assert(!chaos_peers_has(&p, c.keys[0]));
    ck_assert(!chaos_peers_has(&p, c.keys[2]));
    ck_assert(!chaos_peers_has(&p, c.keys[4]));

    close_all(c.accepted, N_CLIENTS);
    ck_assert_int_eq(chaos_peers_of(&p, c.port, &self, 1), 0);
    ck_assert_uint_eq(p.n, 0);
    chaos_peers_fini(&p);
    conns_close(&c);
}
END_TEST

/* A process without the sockets has none of the connections, whoever its parent is; a pid that
 * no longer exists adds nothing. */
START_TEST(pid_without_the_sockets_has_none)
{
    conns c;
    conns_open(&c);

    /* Forked after the accepts, then closed every inherited socket. */
    kid k;
    kid_start(&k, -1, 0);
    kid_wait_ready(&k);
    assert_no_peers(c.port, &k.pid, 1);

    pid_t both[2] = {k.pid, getpid()};
    assert_peers(c.port, both, 2, c.keys, N_CLIENTS);
    pid_t gone = k.pid;
    kid_stop(&k);

    assert_no_peers(c.port, &gone, 1);
    assert_no_peers(c.port, NULL, 0);

    conns_close(&c);
}
END_TEST

/* Sockets a child accepted are the child's, not its parent's; one accepted here afterwards is
 * ours. */
START_TEST(accepted_in_child_belong_to_child)
{
    uint16_t port = 0;
    int lfd = listen_loopback(&port);
    size_t in_child = N_CLIENTS - 1;
    kid k;
    kid_start(&k, lfd, in_child);

    int clients[N_CLIENTS];
    uint64_t keys[N_CLIENTS];
    connect_clients(lfd, port, clients, NULL, keys, in_child);
    kid_wait_ready(&k);
    /* The child has stopped accepting: the last connection is accepted here. */
    connect_clients(lfd, port, clients + in_child, NULL, keys + in_child, 1);
    int mine = accept_one(lfd);

    chaos_peers p = peers_of(port, &k.pid, 1);
    assert_exactly(&p, keys, in_child);
    ck_assert(!chaos_peers_has(&p, keys[in_child]));
    chaos_peers_fini(&p);

    pid_t self = getpid();
    assert_peers(port, &self, 1, keys + in_child, 1);

    /* Both processes hold the listener: it is still no peer, and each connection counts once. */
    pid_t both[2] = {self, k.pid};
    assert_peers(port, both, 2, keys, N_CLIENTS);

    /* Once the child has exited, its connections are nobody's. */
    kid_stop(&k);
    assert_peers(port, both, 2, keys + in_child, 1);

    close(mine);
    close_all(clients, N_CLIENTS);
    close(lfd);
}
END_TEST

/* A forked child that keeps the inherited sockets shares them: both pids own them, each counted
 * once. */
START_TEST(shared_sockets_count_once)
{
    conns c;
    conns_open(&c);

    kid k;
    kid_start(&k, c.accepted[1], 0); /* keeps client 1's server socket only */
    kid_wait_ready(&k);
    assert_peers(c.port, &k.pid, 1, &c.keys[1], 1);

    pid_t both[2] = {getpid(), k.pid};
    assert_peers(c.port, both, 2, c.keys, N_CLIENTS);
    kid_stop(&k);

    conns_close(&c);
}
END_TEST

Suite *chaos_owner_suite(void)
{
    Suite *s = suite_create("chaos_owner");
    TCase *tc = tcase_create("owner");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, peer_key_of_addresses);
    tcase_add_test(tc, empty_set_has_nothing);
    tcase_add_test(tc, own_connections_by_address_and_port);
    tcase_add_test(tc, closed_connections_disappear);
    tcase_add_test(tc, pid_without_the_sockets_has_none);
    tcase_add_test(tc, accepted_in_child_belong_to_child);
    tcase_add_test(tc, shared_sockets_count_once);
    suite_add_tcase(s, tc);
    return s;
}
