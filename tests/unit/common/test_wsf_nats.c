/* Tests for common/wsf_nats.c and wsf_nats_js.c against a real nats-server (JetStream on, store in
 * a temporary directory, token auth, a random loopback port), started from wsf_natsd's config and
 * stopped by its pid: connect, channel offsets, history, trimming, epochs, live delivery on the
 * loop thread, and a broker killed and restarted. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "wsf_nats.h"
#include "wsf_nats_js.h"
#include "wsf_nats_priv.h"
#include "wsf_natsd.h"

Suite *wsf_nats_suite(void);

#define TOKEN "t0ken-for-tests"
/* Bounded waits: generous, as ASan and a loaded machine slow everything; never a timing check. */
#define WAIT_MS 20000

/* The broker of the running test. */
static struct {
    char dir[64];
    pid_t pid;
    int port;
} srv = {.pid = -1};

static const char *server_path(void)
{
    const char *p = getenv("NATS_SERVER");
    return p != NULL && *p != '\0' ? p : NATS_SERVER_PATH;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts nats-server on port (-1: a random one) with the store under srv.dir and waits for its
 * ports file, which the server writes once it listens. */
static void server_start(int port)
{
    char conf_path[128], store[96], text[1024];
    snprintf(conf_path, sizeof(conf_path), "%s/nats.conf", srv.dir);
    snprintf(store, sizeof(store), "%s/store", srv.dir);
    struct wsf_natsd_conf c = {
        .port = port, .token = TOKEN, .store_dir = store, .ports_dir = srv.dir};
    int len = wsf_natsd_config(text, sizeof(text), &c);
    ck_assert_int_gt(len, 0);
    FILE *f = fopen(conf_path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    const char *argv[4];
    ck_assert_int_eq(wsf_natsd_argv(argv, 4, server_path(), conf_path), 3);

    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* Dies with the test process even when an assertion ends it early. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char log[96];
        snprintf(log, sizeof(log), "%s/server.log", srv.dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    srv.pid = pid;
    char ports[128];
    snprintf(ports, sizeof(ports), "%s/nats-server_%d.ports", srv.dir, (int)pid);
    for (int i = 0; i < WAIT_MS / 10; i++) {
        f = fopen(ports, "r");
        if (f != NULL) {
            size_t n = fread(text, 1, sizeof(text) - 1, f);
            fclose(f);
            if (wsf_natsd_parse_ports(&srv.port, text, n) == 0) {
                ck_assert(port == -1 || srv.port == port);
                return;
            }
        }
        ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "nats-server exited (see %s)", srv.dir);
        sleep_ms(10);
    }
    ck_abort_msg("nats-server wrote no ports file in %s", srv.dir);
}

static void server_kill(void)
{
    if (srv.pid > 0) {
        kill(srv.pid, SIGKILL);
        waitpid(srv.pid, NULL, 0);
        srv.pid = -1;
    }
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void setup(void)
{
    snprintf(srv.dir, sizeof(srv.dir), "/tmp/wsf_nats_test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(srv.dir));
    srv.pid = -1;
    server_start(-1);
}

/* The "loop_io" case runs the same tests with the connection's I/O on the loop. */
static bool loop_io;

static void setup_loop_io(void)
{
    ck_assert_int_eq(wsf_nats_loop_init(), 0);
    loop_io = true;
    setup();
}

static void teardown(void)
{
    server_kill();
    nftw(srv.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* What the callbacks saw. */
struct seen {
    int events[WSF_NATS_EV_ERROR + 1];
    int stream_err, stream_done;
    char epoch[WSF_NATS_EPOCH_MAX];
    int acks, ack_err;
    uint64_t offsets[64];
    int hist_done, hist_err;
    uint64_t first, last;
    size_t count;
    uint64_t hoffsets[64];
    int64_t htime[64];
    char hdata[64][16];
    int msgs;
    uint64_t moffsets[64];
    uint64_t mprev[64];
    char mdata[64][16];
    char mlast[16]; /* the last message's data */
    bool on_loop_thread;
    bool numbered; /* messages carry their index: count those that do not */
    int out_of_order;
    pthread_t loop_thread;
    struct timespec ack_at, msg_at; /* when the last ack and message reached the loop */
};

static void on_event(enum wsf_nats_event ev, int err, void *arg)
{
    struct seen *s = arg;
    (void)err;
    s->events[ev]++;
}

static void on_stream(int err, const char *epoch, void *arg)
{
    struct seen *s = arg;
    s->stream_err = err;
    s->stream_done++;
    if (err == 0) {
        snprintf(s->epoch, sizeof(s->epoch), "%s", epoch);
    }
}

static void on_ack(int err, uint64_t offset, void *arg)
{
    struct seen *s = arg;
    clock_gettime(CLOCK_MONOTONIC, &s->ack_at);
    if (err != 0) {
        s->ack_err = err;
    } else if (s->acks < 64) {
        s->offsets[s->acks] = offset;
    }
    s->acks++;
}

static void on_history(int err, const struct wsf_nats_history *h, void *arg)
{
    struct seen *s = arg;
    s->hist_done++;
    s->hist_err = err;
    if (err != 0) {
        return;
    }
    snprintf(s->epoch, sizeof(s->epoch), "%s", h->epoch);
    s->first = h->first;
    s->last = h->last;
    s->count = h->count;
    for (size_t i = 0; i < h->count && i < 64; i++) {
        s->hoffsets[i] = h->pubs[i].offset;
        s->htime[i] = h->pubs[i].time_ms;
        snprintf(s->hdata[i], sizeof(s->hdata[i]), "%.*s", (int)h->pubs[i].len, h->pubs[i].data);
    }
}

static void on_msg(const struct wsf_nats_msg *m, void *arg)
{
    struct seen *s = arg;
    clock_gettime(CLOCK_MONOTONIC, &s->msg_at);
    s->on_loop_thread = pthread_equal(pthread_self(), s->loop_thread);
    if (s->numbered) {
        char want[16];
        int n = snprintf(want, sizeof(want), "%d", s->msgs);
        s->out_of_order += m->len != (size_t)n || memcmp(m->data, want, m->len) != 0;
    }
    if (s->msgs < 64) {
        s->moffsets[s->msgs] = m->offset;
        s->mprev[s->msgs] = m->prev_offset;
        snprintf(s->mdata[s->msgs], sizeof(s->mdata[0]), "%.*s", (int)m->len, m->data);
    }
    snprintf(s->mlast, sizeof(s->mlast), "%.*s", (int)m->len, m->data);
    s->msgs++;
}

/* Runs the loop until *counter reaches want (checked every 2 ms) or WAIT_MS pass. */
struct waiter {
    struct event_base *base;
    const int *counter;
    int want;
};

static void waiter_check(evutil_socket_t fd, short what, void *arg)
{
    struct waiter *w = arg;
    (void)fd;
    (void)what;
    if (*w->counter >= w->want) {
        event_base_loopbreak(w->base);
    }
}

static bool wait_for(struct event_base *base, const int *counter, int want)
{
    struct waiter w = {base, counter, want};
    struct event *tick = event_new(base, -1, EV_PERSIST, waiter_check, &w);
    struct timeval every = {0, 2000};
    struct timeval limit = {WAIT_MS / 1000, 0};
    event_add(tick, &every);
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    event_free(tick);
    return *counter >= want;
}

/* A test's loop, connection and records. */
struct fx {
    struct event_base *base;
    struct wsf_nats *n;
    struct seen s;
};

static void fx_connect(struct fx *f, int port)
{
    char url[64];
    snprintf(url, sizeof(url), "nats://127.0.0.1:%d", port);
    f->base = event_base_new();
    ck_assert_ptr_nonnull(f->base);
    memset(&f->s, 0, sizeof(f->s));
    f->s.loop_thread = pthread_self();
    struct wsf_nats_opts o = {.url = url,
                              .token = TOKEN,
                              .name = "test",
                              .reconnect_wait_ms = 50,
                              .timeout_ms = 5000,
                              .loop_io = loop_io};
    ck_assert_int_eq(wsf_nats_new(&f->n, f->base, &o, on_event, &f->s), 0);
}

static void fx_ensure(struct fx *f, int64_t max_per_subject)
{
    struct wsf_nats_stream_conf c = {.max_per_subject = max_per_subject, .max_age_ms = 300000};
    int want = f->s.stream_done + 1;
    ck_assert_int_eq(wsf_nats_stream_ensure(f->n, &c, on_stream, &f->s), 0);
    ck_assert(wait_for(f->base, &f->s.stream_done, want));
    ck_assert_int_eq(f->s.stream_err, 0);
}

static void fx_open(struct fx *f, int64_t max_per_subject)
{
    fx_connect(f, srv.port);
    ck_assert(wait_for(f->base, &f->s.events[WSF_NATS_EV_CONNECTED], 1));
    ck_assert(wsf_nats_is_connected(f->n));
    fx_ensure(f, max_per_subject);
    ck_assert_int_eq(strlen(f->s.epoch), 16);
}

static void fx_close(struct fx *f)
{
    wsf_nats_free(f->n);
    event_base_free(f->base);
    wsf_nats_library_fini();
}

static void publish(struct fx *f, const char *channel, const char *data)
{
    int want = f->s.acks + 1;
    ck_assert_int_eq(
        wsf_nats_ch_publish(f->n, channel, strlen(channel), data, strlen(data), on_ack, &f->s), 0);
    ck_assert(wait_for(f->base, &f->s.acks, want));
    ck_assert_int_eq(f->s.ack_err, 0);
}

static void history(struct fx *f, const char *channel, uint64_t after, size_t limit)
{
    int want = f->s.hist_done + 1;
    ck_assert_int_eq(
        wsf_nats_ch_history(f->n, channel, strlen(channel), after, limit, on_history, &f->s), 0);
    ck_assert(wait_for(f->base, &f->s.hist_done, want));
    ck_assert_int_eq(f->s.hist_err, 0);
}

START_TEST(offsets_increase_per_channel)
{
    struct fx f;
    fx_open(&f, 100);
    /* Two channels interleaved: each one's offsets increase, with the other's in between. */
    const char *chans[] = {"a", "b.c", "a", "b.c", "a"};
    for (int i = 0; i < 5; i++) {
        publish(&f, chans[i], "x");
    }
    ck_assert_uint_lt(f.s.offsets[0], f.s.offsets[2]);
    ck_assert_uint_lt(f.s.offsets[2], f.s.offsets[4]);
    ck_assert_uint_lt(f.s.offsets[1], f.s.offsets[3]);
    ck_assert_uint_gt(f.s.offsets[2], f.s.offsets[0] + 1);
    history(&f, "a", 0, 100);
    ck_assert_uint_eq(f.s.count, 3);
    ck_assert_uint_eq(f.s.hoffsets[0], f.s.offsets[0]);
    ck_assert_uint_eq(f.s.hoffsets[1], f.s.offsets[2]);
    ck_assert_uint_eq(f.s.hoffsets[2], f.s.offsets[4]);
    fx_close(&f);
}
END_TEST

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(history_gives_each_pub_its_stored_time)
{
    struct fx f;
    fx_open(&f, 100);
    /* The server stamps each stored message; callers cut a shorter history_ttl with it. The
     * server runs on this host, so its clock is ours (1 s of slack for rounding). */
    int64_t before = wall_ms();
    publish(&f, "ttl", "a");
    publish(&f, "ttl", "b");
    int64_t after = wall_ms();
    history(&f, "ttl", 0, 100);
    ck_assert_uint_eq(f.s.count, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_ge(f.s.htime[i], before - 1000);
        ck_assert_int_le(f.s.htime[i], after + 1000);
    }
    ck_assert_int_le(f.s.htime[0], f.s.htime[1]);
    fx_close(&f);
}
END_TEST

START_TEST(history_since_returns_later_pubs_in_order)
{
    struct fx f;
    fx_open(&f, 100);
    const char *data[] = {"p0", "p1", "p2", "p3", "p4"};
    for (int i = 0; i < 5; i++) {
        publish(&f, "news.sport", data[i]);
        publish(&f, "other", "noise");
    }
    uint64_t off[5];
    for (int i = 0; i < 5; i++) {
        off[i] = f.s.offsets[2 * i];
    }
    history(&f, "news.sport", off[1], 100);
    ck_assert_uint_eq(f.s.first, off[0]);
    ck_assert_uint_eq(f.s.last, off[4]);
    ck_assert_uint_eq(f.s.count, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(f.s.hoffsets[i], off[i + 2]);
        ck_assert_str_eq(f.s.hdata[i], data[i + 2]);
    }
    /* A limit cuts the tail off; the next fetch continues after the last one returned. */
    history(&f, "news.sport", off[1], 2);
    ck_assert_uint_eq(f.s.count, 2);
    ck_assert_uint_eq(f.s.hoffsets[1], off[3]);
    history(&f, "news.sport", f.s.hoffsets[1], 2);
    ck_assert_uint_eq(f.s.count, 1);
    ck_assert_uint_eq(f.s.hoffsets[0], off[4]);
    /* Up to date, and a channel never published to. */
    history(&f, "news.sport", off[4], 100);
    ck_assert_uint_eq(f.s.count, 0);
    ck_assert_uint_eq(f.s.last, off[4]);
    history(&f, "empty", 0, 100);
    ck_assert_uint_eq(f.s.count, 0);
    ck_assert_uint_eq(f.s.first, 0);
    ck_assert_uint_eq(f.s.last, 0);
    fx_close(&f);
}
END_TEST

START_TEST(history_beyond_limit_loses_earliest)
{
    struct fx f;
    fx_open(&f, 3);
    for (int i = 0; i < 5; i++) {
        publish(&f, "chat:lobby", "m");
    }
    history(&f, "chat:lobby", 0, 100);
    ck_assert_uint_eq(f.s.count, 3);
    ck_assert_uint_eq(f.s.first, f.s.offsets[2]);
    ck_assert_uint_eq(f.s.hoffsets[0], f.s.offsets[2]);
    ck_assert_uint_eq(f.s.last, f.s.offsets[4]);
    /* A subscriber at offsets[0] missed offsets[1], which is gone: first > offsets[0] + 1. */
    ck_assert_uint_gt(f.s.first, f.s.offsets[0] + 1);
    /* One at offsets[1] missed nothing that is gone. */
    ck_assert_uint_le(f.s.first, f.s.offsets[1] + 1);
    /* Consecutive offsets: the one right after `after` is included. */
    history(&f, "chat:lobby", f.s.offsets[2], 100);
    ck_assert_uint_eq(f.s.count, 2);
    ck_assert_uint_eq(f.s.hoffsets[0], f.s.offsets[3]);
    ck_assert_uint_eq(f.s.hoffsets[1], f.s.offsets[4]);
    /* Raising the limit updates the existing stream (same epoch); new pubs are all kept. */
    char epoch[WSF_NATS_EPOCH_MAX];
    memcpy(epoch, f.s.epoch, sizeof(epoch));
    fx_ensure(&f, 10);
    ck_assert_str_eq(f.s.epoch, epoch);
    for (int i = 0; i < 5; i++) {
        publish(&f, "chat:lobby", "m");
    }
    history(&f, "chat:lobby", 0, 100);
    ck_assert_uint_eq(f.s.count, 8);
    fx_close(&f);
}
END_TEST

START_TEST(epoch_changes_when_stream_recreated)
{
    struct fx f;
    fx_open(&f, 100);
    char epoch[WSF_NATS_EPOCH_MAX];
    memcpy(epoch, f.s.epoch, sizeof(epoch));
    publish(&f, "news", "before");
    publish(&f, "news", "before");
    int want = f.s.stream_done + 1;
    ck_assert_int_eq(wsf_nats_stream_delete(f.n, on_stream, &f.s), 0);
    ck_assert(wait_for(f.base, &f.s.stream_done, want));
    ck_assert_int_eq(f.s.stream_err, 0);
    /* Without the stream, history and publish fail instead of inventing an answer. */
    want = f.s.hist_done + 1;
    ck_assert_int_eq(wsf_nats_ch_history(f.n, "news", 4, 0, 10, on_history, &f.s), 0);
    ck_assert(wait_for(f.base, &f.s.hist_done, want));
    ck_assert_int_eq(f.s.hist_err, -ENOENT);
    want = f.s.acks + 1;
    ck_assert_int_eq(wsf_nats_ch_publish(f.n, "news", 4, "x", 1, on_ack, &f.s), 0);
    ck_assert(wait_for(f.base, &f.s.acks, want));
    ck_assert_int_ne(f.s.ack_err, 0);
    f.s.ack_err = 0;

    fx_ensure(&f, 100);
    ck_assert_str_ne(f.s.epoch, epoch);
    history(&f, "news", 0, 100);
    ck_assert_uint_eq(f.s.count, 0);
    ck_assert_str_ne(f.s.epoch, epoch);
    publish(&f, "news", "after");
    ck_assert_uint_eq(f.s.offsets[f.s.acks - 1], 1);
    fx_close(&f);
}
END_TEST

START_TEST(live_delivery_on_the_loop_thread)
{
    struct fx f;
    fx_open(&f, 100);
    struct wsf_nats_sub *sub = NULL;
    ck_assert_int_eq(wsf_nats_ch_sub_new(&sub, f.n, "room.1", 6, on_msg, &f.s), 0);
    /* The SUB goes out on the connection before the publication does: no warm-up needed. */
    struct timespec t0, t1;
    publish(&f, "room.1", "first");
    ck_assert(wait_for(f.base, &f.s.msgs, 1));
    ck_assert_uint_eq(f.s.moffsets[0], f.s.offsets[0]);
    ck_assert_uint_eq(f.s.mprev[0], 0);
    int base_msgs = f.s.msgs;
    int base_acks = f.s.acks;
    /* Informative only: the time from submitting a publication to its ack and to its live
     * delivery, as the loop sees them (no assertion on it). */
    const int rounds = 20;
    double ack_us = 0, msg_us = 0;
    for (int i = 0; i < rounds; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        publish(&f, "room.1", "live");
        ck_assert(wait_for(f.base, &f.s.msgs, base_msgs + i + 1));
        t1 = f.s.ack_at;
        ack_us += (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
        t1 = f.s.msg_at;
        msg_us += (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    }
    fprintf(stderr, "wsf_nats: publish -> ack on the loop %.0f us, -> live delivery %.0f us\n",
            ack_us / rounds, msg_us / rounds);
    /* Informative: fetching a full history of 64 publications. */
    for (int i = 0; i < 64; i++) {
        publish(&f, "bulk", "payload");
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    history(&f, "bulk", 0, 64);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_uint_eq(f.s.count, 64);
    fprintf(stderr, "wsf_nats: history of 64 publications %.0f us\n",
            (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
    ck_assert(f.s.on_loop_thread);
    for (int i = 0; i < rounds && base_msgs + i < 64; i++) {
        ck_assert_uint_eq(f.s.moffsets[base_msgs + i], f.s.offsets[base_acks + i]);
        ck_assert_str_eq(f.s.mdata[base_msgs + i], "live");
        /* Each names the channel's previous offset, so a gap shows. */
        ck_assert_uint_eq(f.s.mprev[base_msgs + i], f.s.moffsets[base_msgs + i - 1]);
    }
    /* After sub_free nothing more arrives, even what was already queued. */
    wsf_nats_sub_free(sub);
    int before = f.s.msgs;
    publish(&f, "room.1", "gone");
    history(&f, "room.1", 0, 1);
    ck_assert_int_eq(f.s.msgs, before);

    /* A plain core subscription and publication, offset 0. */
    f.s.on_loop_thread = false;
    ck_assert_int_eq(wsf_nats_sub_new(&sub, f.n, "wsf.test.core", on_msg, &f.s), 0);
    before = f.s.msgs;
    ck_assert_int_eq(wsf_nats_publish(f.n, "wsf.test.core", "hi", 2), 0);
    ck_assert(wait_for(f.base, &f.s.msgs, before + 1));
    ck_assert(f.s.on_loop_thread);
    ck_assert_uint_eq(f.s.moffsets[before], 0);
    ck_assert_str_eq(f.s.mdata[before], "hi");
    /* A burst larger than one dispatch batch arrives whole and in order. */
    f.s.msgs = 0;
    f.s.numbered = true;
    for (int i = 0; i < 1000; i++) {
        char d[16];
        int len = snprintf(d, sizeof(d), "%d", i);
        ck_assert_int_eq(wsf_nats_publish(f.n, "wsf.test.core", d, (size_t)len), 0);
    }
    ck_assert(wait_for(f.base, &f.s.msgs, 1000));
    ck_assert_int_eq(f.s.out_of_order, 0);
    ck_assert(f.s.on_loop_thread);
    f.s.numbered = false;
    f.s.msgs = 0;
    wsf_nats_sub_free(sub);

    /* Why the live feed is the republished subject: a core subscriber of the stored subject gets
     * the publication too, but without its sequence. */
    ck_assert_int_eq(wsf_nats_sub_new(&sub, f.n, "wsf.ch.room.1", on_msg, &f.s), 0);
    before = f.s.msgs;
    publish(&f, "room.1", "plain");
    ck_assert(wait_for(f.base, &f.s.msgs, before + 1));
    ck_assert_str_eq(f.s.mdata[before], "plain");
    ck_assert_uint_eq(f.s.moffsets[before], 0);
    fx_close(&f); /* frees the subscription still open */
}
END_TEST

/* A loop subscription that frees itself from its callback at the third message. */
struct self_freeing {
    struct wsf_nats_sub *sub;
    int seen;
};

static void on_msg_free_at_3(const struct wsf_nats_msg *m, void *arg)
{
    struct self_freeing *sf = arg;
    (void)m;
    if (++sf->seen == 3) {
        wsf_nats_sub_free(sf->sub);
    }
}

START_TEST(loop_subscription_delivers_in_order)
{
    struct fx f;
    fx_connect(&f, srv.port);
    ck_assert(wait_for(f.base, &f.s.events[WSF_NATS_EV_CONNECTED], 1));
    struct wsf_nats_sub *sub = NULL, *quiet = NULL;
    ck_assert_int_eq(wsf_nats_sub_new_on_loop(&sub, f.n, "wsf.test.loop.*", on_msg, &f.s), 0);
    /* One that never hears anything: looked at after every read all the same. */
    ck_assert_int_eq(wsf_nats_sub_new_on_loop(&quiet, f.n, "wsf.test.none", on_msg, NULL), 0);
    struct self_freeing sf = {0};
    ck_assert_int_eq(wsf_nats_sub_new_on_loop(&sf.sub, f.n, "wsf.test.self", on_msg_free_at_3, &sf),
                     0);
    /* A burst, as requests with a reply subject, arrives whole, in order, on the loop thread;
     * the self-freeing one's messages are interleaved with it. */
    f.s.numbered = true;
    for (int i = 0; i < 2000; i++) {
        char d[16];
        int len = snprintf(d, sizeof(d), "%d", i);
        ck_assert_int_eq(wsf_nats_publish_request(f.n, "wsf.test.loop.a", "wsf.test.r", d,
                                                  (size_t)len),
                         0);
        if (i % 100 == 0) {
            ck_assert_int_eq(wsf_nats_publish(f.n, "wsf.test.self", "x", 1), 0);
        }
    }
    ck_assert(wait_for(f.base, &f.s.msgs, 2000));
    ck_assert_int_eq(f.s.out_of_order, 0);
    ck_assert(f.s.on_loop_thread);
    ck_assert_int_eq(sf.seen, 3);
    /* A freed one hears nothing more, even what is on its way. */
    f.s.numbered = false;
    int before = f.s.msgs;
    ck_assert_int_eq(wsf_nats_publish(f.n, "wsf.test.loop.b", "last", 4), 0);
    wsf_nats_sub_free(sub);
    ck_assert_int_eq(wsf_nats_publish(f.n, "wsf.test.self", "x", 1), 0);
    /* A plain subscription's message after both proves they had their chance. */
    struct wsf_nats_sub *plain = NULL;
    ck_assert_int_eq(wsf_nats_sub_new(&plain, f.n, "wsf.test.plain", on_msg, &f.s), 0);
    ck_assert_int_eq(wsf_nats_publish(f.n, "wsf.test.plain", "p", 1), 0);
    ck_assert(wait_for(f.base, &f.s.msgs, before + 1));
    ck_assert_int_eq(f.s.msgs, before + 1);
    ck_assert_str_eq(f.s.mlast, "p");
    ck_assert_int_eq(sf.seen, 3);
    fx_close(&f); /* frees the two still open */
}
END_TEST

/* A request's reply inbox hears the server's "no responders" answer (with loop_io without its
 * subject, which libnats keeps), in order among the real replies. */
struct inbox_seen {
    int msgs, none, named;
    char order[8];
};

static void on_inbox(const struct wsf_nats_msg *m, void *arg)
{
    struct inbox_seen *in = arg;
    if (in->msgs < 7) {
        in->order[in->msgs] = m->no_responders ? 'n' : 'r';
    }
    in->msgs++;
    if (m->no_responders) {
        in->none++;
        in->named += m->subject != NULL && strncmp(m->subject, "wsf.test.inbox.", 15) == 0;
        ck_assert_uint_eq(m->len, 0);
    }
}

START_TEST(no_responders_reach_the_inbox)
{
    struct fx f;
    fx_connect(&f, srv.port);
    ck_assert(wait_for(f.base, &f.s.events[WSF_NATS_EV_CONNECTED], 1));
    struct inbox_seen in = {0};
    struct wsf_nats_sub *inbox = NULL;
    ck_assert_int_eq(wsf_nats_sub_new_on_loop(&inbox, f.n, "wsf.test.inbox.*", on_inbox, &in), 0);
    ck_assert_int_eq(wsf_nats_publish_request(f.n, "wsf.test.nobody", "wsf.test.inbox.1", "a", 1),
                     0);
    ck_assert_int_eq(wsf_nats_publish_request(f.n, "wsf.test.nobody", "wsf.test.inbox.2", "b", 1),
                     0);
    ck_assert(wait_for(f.base, &in.none, 2));
    /* A reply (any message to the inbox) between them keeps its place. */
    ck_assert_int_eq(wsf_nats_publish(f.n, "wsf.test.inbox.3", "r", 1), 0);
    ck_assert_int_eq(wsf_nats_publish_request(f.n, "wsf.test.nobody", "wsf.test.inbox.4", "c", 1),
                     0);
    ck_assert(wait_for(f.base, &in.msgs, 4));
    ck_assert_str_eq(in.order, "nnrn");
    ck_assert_int_eq(in.none, 3);
    /* Named only where libnats delivers it as a message (no loop_io). */
    ck_assert_int_eq(in.named, loop_io ? 0 : 3);
    fx_close(&f);
}
END_TEST

/* Every thread besides the loop's that wsf_nats brought (libnats', the JetStream helper) runs
 * SCHED_BATCH; the loop's thread keeps its policy. */
START_TEST(helper_threads_do_not_preempt_the_loop)
{
    struct fx f;
    fx_open(&f, 100);
    struct wsf_nats_sub *sub = NULL;
    ck_assert_int_eq(wsf_nats_ch_sub_new(&sub, f.n, "room.b", 6, on_msg, &f.s), 0);
    publish(&f, "room.b", "x");
    ck_assert(wait_for(f.base, &f.s.msgs, 1));
    ck_assert_int_eq(sched_getscheduler(0), SCHED_OTHER);
    DIR *d = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(d);
    pid_t self = (pid_t)syscall(SYS_gettid);
    int others = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == self) {
            continue;
        }
        int pol = sched_getscheduler(tid);
        if (pol == -1) {
            continue; /* gone meanwhile */
        }
        ck_assert_msg(pol == SCHED_BATCH, "thread %d runs policy %d", (int)tid, pol);
        others++;
    }
    closedir(d);
    /* libnats' collector and timers, a delivery thread, the JetStream helper. */
    ck_assert_int_ge(others, 3);
    fx_close(&f);
}
END_TEST

START_TEST(broker_killed_and_restarted)
{
    struct fx f;
    fx_open(&f, 100);
    struct wsf_nats_sub *sub = NULL;
    ck_assert_int_eq(wsf_nats_ch_sub_new(&sub, f.n, "keep", 4, on_msg, &f.s), 0);
    for (int i = 0; i < 3; i++) {
        publish(&f, "keep", "k");
    }
    char epoch[WSF_NATS_EPOCH_MAX];
    memcpy(epoch, f.s.epoch, sizeof(epoch));
    int port = srv.port;

    server_kill();
    ck_assert(wait_for(f.base, &f.s.events[WSF_NATS_EV_DISCONNECTED], 1));
    ck_assert(!wsf_nats_is_connected(f.n));
    /* While down, JetStream calls fail at once (the worker answers "not available"). */
    int want = f.s.acks + 1;
    ck_assert_int_eq(wsf_nats_ch_publish(f.n, "keep", 4, "x", 1, on_ack, &f.s), 0);
    ck_assert(wait_for(f.base, &f.s.acks, want));
    ck_assert_int_eq(f.s.ack_err, -ENOTCONN);
    f.s.ack_err = 0;

    server_start(port);
    ck_assert(wait_for(f.base, &f.s.events[WSF_NATS_EV_RECONNECTED], 1));
    ck_assert(wsf_nats_is_connected(f.n));
    history(&f, "keep", 0, 100);
    ck_assert_uint_eq(f.s.count, 3);
    ck_assert_uint_eq(f.s.hoffsets[0], f.s.offsets[0]);
    ck_assert_uint_eq(f.s.hoffsets[2], f.s.offsets[2]);
    ck_assert_str_eq(f.s.epoch, epoch);
    /* The live subscription was renewed by the reconnect. */
    int before = f.s.msgs;
    publish(&f, "keep", "again");
    ck_assert(wait_for(f.base, &f.s.msgs, before + 1));
    ck_assert_uint_eq(f.s.moffsets[f.s.msgs - 1], f.s.offsets[f.s.acks - 1]);
    ck_assert_uint_eq(f.s.mprev[f.s.msgs - 1], f.s.offsets[2]);
    fx_close(&f);
}
END_TEST

START_TEST(hung_broker_counts_as_disconnected)
{
    char url[64];
    snprintf(url, sizeof(url), "nats://127.0.0.1:%d", srv.port);
    struct fx f;
    f.base = event_base_new();
    memset(&f.s, 0, sizeof(f.s));
    struct wsf_nats_opts o = {.url = url,
                              .token = TOKEN,
                              .reconnect_wait_ms = 50,
                              .timeout_ms = 500,
                              .ping_interval_ms = 100,
                              .loop_io = loop_io};
    ck_assert_int_eq(wsf_nats_new(&f.n, f.base, &o, on_event, &f.s), 0);
    ck_assert(wait_for(f.base, &f.s.events[WSF_NATS_EV_CONNECTED], 1));
    fx_ensure(&f, 10);
    /* Stopped, the server keeps its socket open but answers no ping. */
    kill(srv.pid, SIGSTOP);
    bool down = wait_for(f.base, &f.s.events[WSF_NATS_EV_DISCONNECTED], 1);
    kill(srv.pid, SIGCONT);
    ck_assert(down);
    ck_assert(wait_for(f.base, &f.s.events[WSF_NATS_EV_RECONNECTED], 1));
    publish(&f, "after.hang", "x");
    fx_close(&f);
}
END_TEST

START_TEST(connects_when_the_broker_comes_later)
{
    int port = srv.port;
    server_kill();
    struct fx f;
    fx_connect(&f, port);
    ck_assert(!wsf_nats_is_connected(f.n));
    /* Refused now, and answered at once rather than after a timeout. */
    int want = f.s.stream_done + 1;
    struct wsf_nats_stream_conf c = {.max_per_subject = 10};
    ck_assert_int_eq(wsf_nats_stream_ensure(f.n, &c, on_stream, &f.s), 0);
    ck_assert(wait_for(f.base, &f.s.stream_done, want));
    ck_assert_int_eq(f.s.stream_err, -ENOTCONN);
    /* A subscription made before the first connection is sent once it comes. */
    struct wsf_nats_sub *sub = NULL;
    ck_assert_int_eq(wsf_nats_ch_sub_new(&sub, f.n, "early", 5, on_msg, &f.s), 0);
    server_start(port);
    ck_assert(wait_for(f.base, &f.s.events[WSF_NATS_EV_CONNECTED], 1));
    ck_assert(wsf_nats_is_connected(f.n));
    fx_ensure(&f, 10);
    publish(&f, "early", "hello");
    ck_assert(wait_for(f.base, &f.s.msgs, 1));
    ck_assert_str_eq(f.s.mdata[0], "hello");
    ck_assert_uint_eq(f.s.moffsets[0], f.s.offsets[f.s.acks - 1]);
    wsf_nats_sub_free(sub);
    fx_close(&f);
}
END_TEST

START_TEST(history_expires_with_age)
{
    struct fx f;
    fx_open(&f, 100);
    struct wsf_nats_stream_conf c = {.max_per_subject = 100, .max_age_ms = 300};
    int want = f.s.stream_done + 1;
    ck_assert_int_eq(wsf_nats_stream_ensure(f.n, &c, on_stream, &f.s), 0);
    ck_assert(wait_for(f.base, &f.s.stream_done, want));
    ck_assert_int_eq(f.s.stream_err, 0);
    publish(&f, "old", "a");
    publish(&f, "old", "b");
    history(&f, "old", 0, 100);
    /* Both stored, unless a slow machine let them expire already. */
    ck_assert(f.s.count == 2 || f.s.first == 0);
    /* Polled until the server expired them (bounded), then the channel holds nothing. */
    for (int i = 0; i < WAIT_MS / 50 && f.s.last != 0; i++) {
        sleep_ms(50);
        history(&f, "old", 0, 100);
    }
    ck_assert_uint_eq(f.s.last, 0);
    ck_assert_uint_eq(f.s.first, 0);
    ck_assert_uint_eq(f.s.count, 0);
    fx_close(&f);
}
END_TEST

START_TEST(url_list_skips_a_dead_server)
{
    char url[128];
    snprintf(url, sizeof(url), "nats://127.0.0.1:1,nats://127.0.0.1:%d", srv.port);
    struct fx f;
    f.base = event_base_new();
    memset(&f.s, 0, sizeof(f.s));
    struct wsf_nats_opts o = {.url = url, .token = TOKEN, .reconnect_wait_ms = 50};
    ck_assert_int_eq(wsf_nats_new(&f.n, f.base, &o, on_event, &f.s), 0);
    ck_assert(wait_for(f.base, &f.s.events[WSF_NATS_EV_CONNECTED], 1));
    fx_ensure(&f, 5);
    publish(&f, "x", "y");
    fx_close(&f);
}
END_TEST

START_TEST(wrong_token_never_connects)
{
    struct fx f;
    f.base = event_base_new();
    memset(&f.s, 0, sizeof(f.s));
    char url[64];
    snprintf(url, sizeof(url), "nats://127.0.0.1:%d", srv.port);
    struct wsf_nats_opts o = {.url = url, .token = "wrong", .reconnect_wait_ms = 50};
    ck_assert_int_eq(wsf_nats_new(&f.n, f.base, &o, on_event, &f.s), 0);
    /* An ensure answered while refused proves the loop ran; still no CONNECTED. */
    struct wsf_nats_stream_conf c = {.max_per_subject = 10};
    ck_assert_int_eq(wsf_nats_stream_ensure(f.n, &c, on_stream, &f.s), 0);
    ck_assert(wait_for(f.base, &f.s.stream_done, 1));
    ck_assert_int_eq(f.s.stream_err, -ENOTCONN);
    ck_assert_int_eq(f.s.events[WSF_NATS_EV_CONNECTED], 0);
    ck_assert(!wsf_nats_is_connected(f.n));
    fx_close(&f);
}
END_TEST

START_TEST(free_cancels_queued_requests)
{
    struct fx f;
    fx_open(&f, 100);
    /* Queued behind one another; free runs or cancels each, and every callback comes once. */
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(wsf_nats_ch_publish(f.n, "q", 1, "x", 1, on_ack, &f.s), 0);
    }
    wsf_nats_free(f.n);
    ck_assert_int_eq(f.s.acks, 20);
    event_base_free(f.base);
    wsf_nats_library_fini();
}
END_TEST

START_TEST(free_while_the_broker_is_down)
{
    struct fx f;
    fx_open(&f, 100);
    struct wsf_nats_sub *sub = NULL;
    ck_assert_int_eq(wsf_nats_ch_sub_new(&sub, f.n, "down", 4, on_msg, &f.s), 0);
    server_kill();
    ck_assert(wait_for(f.base, &f.s.events[WSF_NATS_EV_DISCONNECTED], 1));
    int before = f.s.stream_done;
    struct wsf_nats_stream_conf c = {.max_per_subject = 10};
    ck_assert_int_eq(wsf_nats_stream_ensure(f.n, &c, on_stream, &f.s), 0);
    /* Owed callbacks come (refused or cancelled), and libnats lets go while reconnecting. */
    wsf_nats_free(f.n);
    ck_assert_int_eq(f.s.stream_done, before + 1);
    ck_assert_int_ne(f.s.stream_err, 0);
    event_base_free(f.base);
    wsf_nats_library_fini();
}
END_TEST

START_TEST(rejects_bad_arguments)
{
    struct fx f;
    fx_open(&f, 100);
    struct wsf_nats_sub *sub = NULL;
    ck_assert_int_eq(wsf_nats_ch_sub_new(&sub, f.n, "a b", 3, on_msg, &f.s), -EINVAL);
    ck_assert_int_eq(wsf_nats_ch_publish(f.n, "", 0, "x", 1, on_ack, &f.s), -EINVAL);
    ck_assert_int_eq(wsf_nats_ch_history(f.n, "a", 1, 0, 0, on_history, &f.s), -EINVAL);
    struct wsf_nats_stream_conf c = {.max_per_subject = 0};
    ck_assert_int_eq(wsf_nats_stream_ensure(f.n, &c, on_stream, &f.s), -EINVAL);
    ck_assert_int_eq(f.s.acks + f.s.hist_done, 0);
    fx_close(&f);
}
END_TEST

/* The decoded Wsf-User of a message whose header is value, or NULL. */
static const char *user_of(const char *value, char buf[WSF_NATS_MAX_USER + 1])
{
    natsMsg *m = NULL;
    ck_assert_int_eq(natsMsg_Create(&m, "x", NULL, "", 0), NATS_OK);
    if (value != NULL)
        ck_assert_int_eq(natsMsgHeader_Set(m, WSF_NATS_USER_HEADER, value), NATS_OK);
    const char *u = wsf_nats_msg_user(m, buf);
    natsMsg_Destroy(m);
    return u;
}

START_TEST(user_header_round_trips_any_user)
{
    char enc[3 * WSF_NATS_MAX_USER + 1];
    char buf[WSF_NATS_MAX_USER + 1];
    char longest[WSF_NATS_MAX_USER + 2];
    ck_assert_int_eq(nats_Open(-1), NATS_OK); /* messages need the library's state */
    memset(longest, 0xff, sizeof longest);
    longest[WSF_NATS_MAX_USER] = '\0';
    const char *users[] = {"alice", "Zo\xc3\xab 100%", "a\r\nNats-Sequence: 9",
                           "%41",   "\x01\x7f~!",      longest};
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        ck_assert(wsf_nats_user_encode(enc, users[i]));
        for (const char *p = enc; *p; p++)
            ck_assert(*p > ' ' && *p < 0x7f); /* one header value, whatever the user */
        const char *u = user_of(enc, buf);
        ck_assert_ptr_nonnull(u);
        ck_assert_str_eq(u, users[i]);
    }
    ck_assert(!wsf_nats_user_encode(enc, ""));
    longest[WSF_NATS_MAX_USER] = 'x';
    longest[WSF_NATS_MAX_USER + 1] = '\0';
    ck_assert(!wsf_nats_user_encode(enc, longest));

    ck_assert_ptr_null(user_of(NULL, buf));
    ck_assert_ptr_null(user_of("", buf));
    ck_assert_ptr_null(user_of("a%", buf));
    ck_assert_ptr_null(user_of("a%4", buf));
    ck_assert_ptr_null(user_of("%zz", buf));
    ck_assert_ptr_null(user_of("%4a", buf)); /* upper-case hex only, as encoded */
    ck_assert_ptr_null(user_of("%00", buf)); /* no NUL inside a user */
    memset(longest, 'y', WSF_NATS_MAX_USER + 1);
    longest[WSF_NATS_MAX_USER + 1] = '\0';
    ck_assert_ptr_null(user_of(longest, buf));
    longest[WSF_NATS_MAX_USER] = '\0';
    ck_assert_str_eq(user_of(longest, buf), longest);
    wsf_nats_library_fini();
}
END_TEST

Suite *wsf_nats_suite(void)
{
    Suite *s = suite_create("wsf_nats");
    TCase *tc = tcase_create("broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, offsets_increase_per_channel);
    tcase_add_test(tc, history_since_returns_later_pubs_in_order);
    tcase_add_test(tc, history_gives_each_pub_its_stored_time);
    tcase_add_test(tc, history_beyond_limit_loses_earliest);
    tcase_add_test(tc, epoch_changes_when_stream_recreated);
    tcase_add_test(tc, live_delivery_on_the_loop_thread);
    tcase_add_test(tc, loop_subscription_delivers_in_order);
    tcase_add_test(tc, broker_killed_and_restarted);
    tcase_add_test(tc, hung_broker_counts_as_disconnected);
    tcase_add_test(tc, connects_when_the_broker_comes_later);
    tcase_add_test(tc, history_expires_with_age);
    tcase_add_test(tc, url_list_skips_a_dead_server);
    tcase_add_test(tc, wrong_token_never_connects);
    tcase_add_test(tc, free_cancels_queued_requests);
    tcase_add_test(tc, free_while_the_broker_is_down);
    tcase_add_test(tc, rejects_bad_arguments);
    tcase_add_test(tc, no_responders_reach_the_inbox);
    tcase_add_test(tc, helper_threads_do_not_preempt_the_loop);
    suite_add_tcase(s, tc);
    TCase *lio = tcase_create("loop_io");
    tcase_add_checked_fixture(lio, setup_loop_io, teardown);
    tcase_set_timeout(lio, 60);
    tcase_add_test(lio, live_delivery_on_the_loop_thread);
    tcase_add_test(lio, loop_subscription_delivers_in_order);
    tcase_add_test(lio, broker_killed_and_restarted);
    tcase_add_test(lio, no_responders_reach_the_inbox);
    tcase_add_test(lio, helper_threads_do_not_preempt_the_loop);
    tcase_add_test(lio, hung_broker_counts_as_disconnected);
    tcase_add_test(lio, connects_when_the_broker_comes_later);
    tcase_add_test(lio, free_cancels_queued_requests);
    tcase_add_test(lio, free_while_the_broker_is_down);
    suite_add_tcase(s, lio);
    TCase *pure = tcase_create("user header");
    tcase_add_test(pure, user_header_round_trips_any_user);
    suite_add_tcase(s, pure);
    return s;
}
