/* Unit tests for chaos/chaos_load.c: refused and timed-out attempts and their backoff, giving up
 * without reconnect, resizing and stopping a population, the open rate, sessions with a lifetime,
 * and the events of connections whose server died. The echo cases run against the real wsworker,
 * started here on a loopback port this test holds, and stopped by its pid in the same test. */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "chaos_load.h"
#include "test_slow.h"

Suite *chaos_load_suite(void);

#define MAX_EVENTS 64

/* What the hooks saw. */
typedef struct seen {
    chaos_event events[MAX_EVENTS];
    size_t nevents;
    size_t ups;
    size_t reconnects;
    bool done;
} seen;

static void on_event(const chaos_event *ev, void *arg)
{
    seen *s = arg;
    if (s->nevents < MAX_EVENTS) {
        s->events[s->nevents] = *ev;
    }
    s->nevents++;
}

static void on_up(size_t conn, bool reconnect, uint64_t down_ms, void *arg)
{
    seen *s = arg;
    (void)conn;
    (void)down_ms;
    s->ups++;
    s->reconnects += reconnect;
}

static void on_done(void *arg)
{
    ((seen *)arg)->done = true;
}

/* Grace for a population's stop: it waits only as long as echoes are outstanding, and nothing may
 * be lost or closed uncleanly, so give a slow run plenty. */
#define STOP_GRACE_MS ((uint32_t)test_ms(5000))

typedef bool (*pred_fn)(void *arg);

typedef struct waiter {
    struct event_base *base;
    pred_fn pred;
    void *arg;
    bool met;
} waiter;

static void waiter_check(evutil_socket_t fd, short what, void *arg)
{
    waiter *w = arg;
    (void)fd;
    (void)what;
    if (w->pred != NULL && w->pred(w->arg)) {
        w->met = true;
        event_base_loopbreak(w->base);
    }
}

/* Runs the loop until pred holds (checked every 2 ms) or ms pass (a liveness bound, stretched
 * under sanitizers; without pred, exactly ms). Returns whether it held. */
static bool run_until(struct event_base *base, pred_fn pred, void *arg, unsigned ms)
{
    waiter w = {base, pred, arg, false};
    if (pred != NULL)
        ms = (unsigned)test_ms((long)ms);
    struct event *tick = event_new(base, -1, EV_PERSIST, waiter_check, &w);
    struct timeval every = {0, 2000};
    struct timeval limit = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    event_add(tick, &every);
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    event_free(tick);
    return w.met;
}

static void target(chaos_load_opts *o, unsigned port)
{
    char hp[32];
    snprintf(hp, sizeof(hp), "127.0.0.1:%u", port);
    ck_assert_int_eq(chaos_load_opts_target(o, hp), 0);
}

static const char *worker_path(void)
{
    const char *p = getenv("WSWORKER");
    return p != NULL && *p != '\0' ? p : WSWORKER_PATH;
}

/* Starts wsworker on a loopback port (held by the test: see test_port_hold) and waits until it
 * accepts. */
static pid_t start_worker_on(unsigned port)
{
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        execl(worker_path(), "wsworker", "--listen", listen, "--log-level", "error", (char *)NULL);
        _exit(127);
    }
    for (long waited = 0; waited < test_ms(10000); waited += 10) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
        close(fd);
        if (rc == 0) {
            return pid;
        }
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_abort_msg("wsworker did not start listening on %u", port);
    return -1;
}

static void stop_worker(pid_t pid, int sig)
{
    int status = 0;
    kill(pid, sig);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

/* One test's population: its loop, options aimed at 127.0.0.1:port, what the hooks saw, the
 * wsworker it talks to (wk 0 when there is none), and the socket holding the port (-1 if none). */
typedef struct fx {
    struct event_base *base;
    chaos_load_opts o;
    seen s;
    chaos_load_hooks hooks;
    chaos_load *l;
    pid_t wk;
    unsigned port;
    int hold;
} fx;

static void fx_init(fx *x, unsigned port)
{
    memset(x, 0, sizeof(*x));
    x->base = event_base_new();
    x->port = port;
    x->hold = -1;
    chaos_load_opts_init(&x->o);
    target(&x->o, port);
    x->hooks = (chaos_load_hooks){.on_event = on_event, .on_up = on_up, .arg = &x->s};
}

/* A population aimed at a port of its own where nothing listens: attempts are refused. The port
 * stays held until fx_fini, so nothing else can start listening there meanwhile. */
static void fx_init_held(fx *x)
{
    unsigned port;
    int hold = test_port_hold(&port);
    fx_init(x, port);
    x->hold = hold;
}

/* A population aimed at a wsworker started for it on a held port (which a later
 * start_worker_on(x->port) can take again once that worker is gone). */
static void fx_init_worker(fx *x)
{
    fx_init_held(x);
    x->wk = start_worker_on(x->port);
}

/* The population of x->o, reporting to the hooks (not started). */
static chaos_load *fx_new(fx *x)
{
    x->l = chaos_load_new(x->base, &x->o, &x->hooks);
    return x->l;
}

/* Frees the population and the loop, then stops the wsworker, if any, with SIGTERM. */
static void fx_fini(fx *x)
{
    chaos_load_free(x->l);
    event_base_free(x->base);
    if (x->wk > 0) {
        stop_worker(x->wk, SIGTERM);
    }
    if (x->hold >= 0) {
        close(x->hold);
    }
}

static void fast_backoff(chaos_load_opts *o)
{
    o->backoff.min_ms = 50;
    o->backoff.max_ms = 200;
    o->backoff.stable_ms = 10000;
}

static bool attempts_at_least_6(void *arg)
{
    return chaos_load_get_totals(arg)->attempts >= 6;
}

START_TEST(refused_attempts_retry_with_backoff)
{
    fx x;
    fx_init_held(&x);
    x.o.connections = 2;
    x.o.seed = 42;
    fast_backoff(&x.o);
    chaos_load *l = fx_new(&x);
    chaos_load_start(l);
    ck_assert(run_until(x.base, attempts_at_least_6, l, 3000));
    const chaos_load_totals *t = chaos_load_get_totals(l);
    ck_assert_uint_ge(t->by_cause[CHAOS_CAUSE_REFUSED], 4);
    ck_assert_uint_eq(t->upgrades, 0);
    ck_assert_uint_eq(t->disconnects, 0);
    ck_assert_uint_eq(t->gave_up, 0);
    ck_assert_uint_ge(x.s.nevents, 4);
    for (size_t i = 0; i < x.s.nevents && i < MAX_EVENTS; i++) {
        const chaos_event *ev = &x.s.events[i];
        ck_assert_int_eq(ev->cause, CHAOS_CAUSE_REFUSED);
        ck_assert(!ev->was_up);
        ck_assert(ev->will_retry);
        ck_assert_uint_ge(ev->retry_ms, 50);
        ck_assert_uint_le(ev->retry_ms, 200);
    }
    /* The first retry of each connection is drawn from [min, 2 min]. */
    ck_assert_uint_le(x.s.events[0].retry_ms, 100);
    const chaos_conn_stats *st = chaos_load_conn(l, 0);
    ck_assert_uint_ge(st->attempts, 2);
    ck_assert_uint_eq(st->failed, st->attempts);
    ck_assert_int_eq(st->last_cause, CHAOS_CAUSE_REFUSED);
    ck_assert_ptr_null(chaos_load_conn(l, 2));
    chaos_load_stop(l, 100, on_done, &x.s);
    event_base_dispatch(x.base);
    ck_assert(x.s.done);
    fx_fini(&x);
}
END_TEST

static bool gave_up_1(void *arg)
{
    return chaos_load_get_totals(arg)->gave_up >= 1;
}

START_TEST(no_reconnect_gives_up)
{
    fx x;
    fx_init_held(&x);
    x.o.connections = 1;
    x.o.reconnect = false;
    chaos_load *l = fx_new(&x);
    chaos_load_start(l);
    ck_assert(run_until(x.base, gave_up_1, l, 2000));
    run_until(x.base, NULL, NULL, 100);
    ck_assert_uint_eq(x.s.nevents, 1);
    ck_assert(!x.s.events[0].will_retry);
    ck_assert(chaos_load_conn(l, 0)->gave_up);
    ck_assert_uint_eq(chaos_load_conn(l, 0)->attempts, 1);
    fx_fini(&x);
}
END_TEST

static bool one_event(void *arg)
{
    return ((seen *)arg)->nevents >= 1;
}

START_TEST(no_upgrade_in_time)
{
    /* A listener that never accepts: TCP connects, nobody answers the request. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(lfd, 8), 0);
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &len), 0);

    fx x;
    fx_init(&x, ntohs(a.sin_port));
    x.o.connections = 1;
    x.o.connect_timeout_ms = 150;
    x.o.reconnect = false;
    chaos_load *l = fx_new(&x);
    uint64_t t0 = chaos_load_now_ms();
    chaos_load_start(l);
    ck_assert(run_until(x.base, one_event, &x.s, 3000));
    ck_assert_uint_ge(chaos_load_now_ms() - t0, 140);
    const chaos_event *ev = &x.s.events[0];
    ck_assert_int_eq(ev->cause, CHAOS_CAUSE_CONNECT);
    ck_assert_int_eq(ev->sys_errno, ETIMEDOUT);
    ck_assert(!ev->was_up);
    /* The dead attempt's source address is in its event, though it has no socket any more. */
    const struct sockaddr_in *local = (const struct sockaddr_in *)&ev->local;
    ck_assert_int_eq(local->sin_family, AF_INET);
    ck_assert_uint_ne(ntohs(local->sin_port), 0);
    struct sockaddr_storage out;
    ck_assert_int_eq(chaos_load_local(l, 0, &out), -1);
    fx_fini(&x);
    close(lfd);
}
END_TEST

static bool all_up(void *arg)
{
    const chaos_load *l = arg;
    return chaos_load_get_totals(l)->up == chaos_load_size(l);
}

static bool echoed_some(void *arg)
{
    return chaos_load_get_totals(arg)->echoed >= 1000;
}

static bool is_done(void *arg)
{
    return ((seen *)arg)->done;
}

START_TEST(resize_and_stop)
{
    fx x;
    fx_init_worker(&x);
    x.o.connections = 4;
    x.o.inflight = 2;
    x.o.sources = 3;
    chaos_load *l = fx_new(&x);
    chaos_load_start(l);
    ck_assert(run_until(x.base, all_up, l, 5000));
    ck_assert(run_until(x.base, echoed_some, l, 5000));

    struct sockaddr_storage local;
    ck_assert_int_eq(chaos_load_local(l, 2, &local), 0);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&local;
    ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000003u);

    chaos_load_resize(l, 7);
    ck_assert_uint_eq(chaos_load_size(l), 7);
    ck_assert(run_until(x.base, all_up, l, 5000));
    chaos_load_resize(l, 2);
    ck_assert(run_until(x.base, all_up, l, 5000));
    run_until(x.base, NULL, NULL, 100);
    const chaos_load_totals *t = chaos_load_get_totals(l);
    ck_assert_uint_eq(t->up, 2);
    ck_assert_uint_eq(t->disconnects, 0);
    ck_assert_uint_eq(x.s.nevents, 0);
    ck_assert(!chaos_load_conn(l, 5)->up);
    ck_assert(!chaos_load_conn(l, 5)->gave_up);
    ck_assert_int_eq(chaos_load_local(l, 5, &local), -1);
    /* Back up again: the closed slots reopen. */
    chaos_load_resize(l, 5);
    ck_assert(run_until(x.base, all_up, l, 5000));
    ck_assert_uint_eq(chaos_load_conn(l, 4)->attempts, 2);

    chaos_load_stop(l, STOP_GRACE_MS, on_done, &x.s);
    ck_assert(run_until(x.base, is_done, &x.s, 5000));
    ck_assert_uint_eq(t->up, 0);
    ck_assert_uint_eq(t->disconnects, 0);
    ck_assert_uint_eq(t->lost, 0);
    ck_assert_uint_eq(t->unclean_closes, 0);
    ck_assert_uint_eq(t->echoed, t->sent);
    ck_assert_uint_eq(t->latency_us.count, t->echoed);
    ck_assert_uint_eq(x.s.ups, 10);
    ck_assert_uint_eq(x.s.reconnects, 0);
    fx_fini(&x);
}
END_TEST

START_TEST(open_rate_paces_opening)
{
    fx x;
    fx_init_worker(&x);
    x.o.connections = 12;
    x.o.inflight = 0;
    x.o.open_rate = 50;
    chaos_load *l = x.l = chaos_load_new(x.base, &x.o, NULL); /* no hooks */
    uint64_t t0 = chaos_load_now_ms();
    chaos_load_start(l);
    ck_assert(run_until(x.base, all_up, l, 5000));
    uint64_t took = chaos_load_now_ms() - t0;
    /* 12 at 50/s: the first at once, the last about 220 ms later. */
    ck_assert_msg(took >= 180, "opened in %llu ms", (unsigned long long)took);
    fx_fini(&x);
}
END_TEST

static bool ups_at_least_12(void *arg)
{
    return ((seen *)arg)->ups >= 12;
}

START_TEST(lifetime_renews_sessions)
{
    fx x;
    fx_init_worker(&x);
    x.o.connections = 3;
    x.o.inflight = 0;
    x.o.rate = 50;
    x.o.lifetime_ms = 200;
    chaos_load *l = fx_new(&x);
    uint64_t t0 = chaos_load_now_ms();
    chaos_load_start(l);
    /* Sessions of 100-300 ms: 12 upgrades take at least 300 ms, and come within a few seconds. */
    ck_assert(run_until(x.base, ups_at_least_12, &x.s, 5000));
    uint64_t took = chaos_load_now_ms() - t0;
    ck_assert_msg(took >= 300, "12 sessions in %llu ms", (unsigned long long)took);
    const chaos_load_totals *t = chaos_load_get_totals(l);
    /* Ending a session is the client's own close: no disconnect, no event, nothing lost. */
    ck_assert_uint_eq(t->disconnects, 0);
    ck_assert_uint_eq(x.s.nevents, 0);
    ck_assert_uint_eq(x.s.reconnects, 0);
    ck_assert_uint_eq(t->lost, 0);
    ck_assert_uint_eq(t->unclean_closes, 0);
    ck_assert_uint_ge(chaos_load_conn(l, 0)->attempts, 2);
    ck_assert_uint_ge(t->echoed, 12);
    chaos_load_stop(l, STOP_GRACE_MS, on_done, &x.s);
    ck_assert(run_until(x.base, is_done, &x.s, 5000));
    ck_assert_uint_eq(t->echoed, t->sent);
    fx_fini(&x);
}
END_TEST

static bool events_4(void *arg)
{
    return ((seen *)arg)->nevents >= 4;
}

START_TEST(dead_server_events)
{
    fx x;
    fx_init_worker(&x);
    x.o.connections = 4;
    x.o.inflight = 3;
    fast_backoff(&x.o);
    chaos_load *l = fx_new(&x);
    chaos_load_start(l);
    ck_assert(run_until(x.base, all_up, l, 5000));
    struct sockaddr_storage before[4];
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(chaos_load_local(l, i, &before[i]), 0);
    }
    stop_worker(x.wk, SIGKILL);
    ck_assert(run_until(x.base, events_4, &x.s, 5000));
    const chaos_load_totals *t = chaos_load_get_totals(l);
    ck_assert_uint_eq(t->disconnects, 4);
    ck_assert_uint_le(t->lost, 12);
    for (size_t i = 0; i < 4; i++) {
        const chaos_event *ev = &x.s.events[i];
        ck_assert_int_eq(ev->cause, CHAOS_CAUSE_ABNORMAL);
        ck_assert(ev->was_up);
        ck_assert(ev->will_retry);
        ck_assert_uint_ge(ev->retry_ms, 50);
        ck_assert_uint_le(ev->retry_ms, 100);
        ck_assert_int_eq(memcmp(&ev->local, &before[ev->conn], sizeof(struct sockaddr_in)), 0);
    }
    /* The retries are refused now; a server on the same port brings everyone back. */
    x.wk = start_worker_on(x.port);
    ck_assert(run_until(x.base, all_up, l, 5000));
    ck_assert_uint_eq(t->reconnects, 4);
    ck_assert_uint_eq(x.s.reconnects, 4);
    ck_assert_uint_eq(t->reconnect_ms.count, 4);
    ck_assert_uint_ge(t->reconnect_ms.min, 50);
    for (size_t i = 0; i < 4; i++) {
        const chaos_conn_stats *st = chaos_load_conn(l, i);
        ck_assert_uint_eq(st->disconnects, 1);
        ck_assert_uint_eq(st->reconnects, 1);
        ck_assert_uint_ge(st->down_ms_max, 50);
        ck_assert_uint_eq(st->attempts, 2 + st->failed);
    }
    fx_fini(&x);
}
END_TEST

START_TEST(cause_names)
{
    ck_assert_str_eq(chaos_cause_name(CHAOS_CAUSE_CLOSE), "close");
    ck_assert_str_eq(chaos_cause_name(CHAOS_CAUSE_ABNORMAL), "abnormal");
    ck_assert_str_eq(chaos_cause_name(CHAOS_CAUSE_REFUSED), "refused");
    ck_assert_str_eq(chaos_cause_name(CHAOS_CAUSE_CONNECT), "connect");
    ck_assert_str_eq(chaos_cause_name(CHAOS_CAUSE_HANDSHAKE), "handshake");
    ck_assert_str_eq(chaos_cause_name(CHAOS_CAUSE_ECHO), "echo");
    ck_assert_str_eq(chaos_cause_name(CHAOS_CAUSE_PROTOCOL), "protocol");
    chaos_load_opts o;
    chaos_load_opts_init(&o);
    ck_assert_str_eq(o.host, "127.0.0.1:8080");
    ck_assert_uint_eq(o.connect_timeout_ms, 10000);
    ck_assert_int_eq(chaos_load_opts_target(&o, "10.1.1.1:80"), -1);
    ck_assert_int_eq(chaos_load_opts_target(&o, "[::1]:80"), 0);
    ck_assert_str_eq(o.host, "[::1]:80");
    ck_assert_int_eq(chaos_load_opts_target(&o, "localhost:81"), 0);
    ck_assert_str_eq(o.host, "127.0.0.1:81");
}
END_TEST

Suite *chaos_load_suite(void)
{
    Suite *s = suite_create("chaos_load");
    TCase *tc = tcase_create("population");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, cause_names);
    tcase_add_test(tc, refused_attempts_retry_with_backoff);
    tcase_add_test(tc, no_reconnect_gives_up);
    tcase_add_test(tc, no_upgrade_in_time);
    tcase_add_test(tc, resize_and_stop);
    tcase_add_test(tc, open_rate_paces_opening);
    tcase_add_test(tc, lifetime_renews_sessions);
    tcase_add_test(tc, dead_server_events);
    suite_add_tcase(s, tc);
    return s;
}
