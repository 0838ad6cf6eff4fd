/* Helpers shared by the wsf_ipc suites: hand-made protobuf bytes, filled-in messages with their
 * field-by-field comparisons, bounded waits, and a temporary directory for ipc:// endpoints. */
#ifndef WSF_IPC_TEST_UTIL_H
#define WSF_IPC_TEST_UTIL_H

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_slow.h"
#include "wsf_ipc.h"

#define BUF_CAP (256 * 1024)
/* Bound on any wait for a message that should arrive: a liveness bound, longer under sanitizers. */
#define WAIT_MS ((int)test_ms(5000))

/* ---- time and memory ----------------------------------------------------------------------- */

static inline long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* Polls wsf_ipc_has_input with short sleeps; true once a message is waiting. */
static inline bool wait_input(const wsf_ipc *ipc, long ms)
{
    long deadline = now_ms() + ms;
    while (!wsf_ipc_has_input(ipc)) {
        if (now_ms() >= deadline)
            return false;
        sleep_ms(2);
    }
    return true;
}

static inline void *xcalloc(size_t n)
{
    void *p = calloc(1, n);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* ---- hand-made protobuf bytes -------------------------------------------------------------- */

/* Built without protobuf-c so that the tests do not share its view of the wire format. */
typedef struct pb_bytes {
    uint8_t b[2048];
    size_t len;
} pb_bytes;

static inline void pb_varint(pb_bytes *p, uint64_t v)
{
    do {
        ck_assert_uint_lt(p->len, sizeof p->b);
        uint8_t byte = v & 0x7f;
        v >>= 7;
        p->b[p->len++] = (uint8_t)(byte | (v != 0 ? 0x80 : 0));
    } while (v != 0);
}

static inline void pb_tag(pb_bytes *p, unsigned field, unsigned wire_type)
{
    pb_varint(p, ((uint64_t)field << 3) | wire_type);
}

static inline void pb_raw(pb_bytes *p, const void *data, size_t n)
{
    ck_assert_uint_le(n, sizeof p->b - p->len);
    memcpy(p->b + p->len, data, n);
    p->len += n;
}

/* field 1, the protocol version every message carries, set to ours */
static inline void pb_version(pb_bytes *p)
{
    pb_tag(p, 1, 0);
    pb_varint(p, WSF_PROTO_VERSION);
}

/* field = length-delimited inner */
static inline void pb_sub(pb_bytes *p, unsigned field, const pb_bytes *inner)
{
    pb_tag(p, field, 2);
    pb_varint(p, inner->len);
    pb_raw(p, inner->b, inner->len);
}

/* ---- worker reports and commands ----------------------------------------------------------- */

static inline void fill_report(wsf_report *r)
{
    memset(r, 0, sizeof *r);
    r->pid = 4242;
    r->slot = 63;
    r->generation = 0x100000001ull;
    r->seq = 987654321012ull;
    r->connections_opened = 1;
    r->connections_closed = 2;
    r->handshakes_ok = 3;
    r->handshakes_failed_client = 4;
    r->handshakes_failed_busy = 5;
    r->handshakes_failed_timeout = 6;
    r->handshakes_failed_server = 7;
    r->messages_in = 8000000000ull;
    r->messages_out = 9000000000ull;
    r->bytes_in = 10;
    r->bytes_out = 11;
    r->protocol_errors = 12;
    r->internal_errors = 13;
    r->failed_writes = 14;
    r->refused_bad_request = 101;
    r->refused_not_found = 102;
    r->refused_upgrade = 103;
    r->refused_origin = 104;
    r->refused_per_ip = 105;
    r->refused_rate_limited = 106;
    r->backend_requests = 150;
    r->backend_failures = 151;
    r->backend_timeouts = 152;
    r->backend_malformed = 153;
    r->backend_rejected = 154;
    r->backend_breaker_opened = 155;
    r->backend_pushes = 156;
    r->backend_breaker_state = 2;
    r->connections_active = 15;
    r->loop_lag_us = 16;
    r->rss_bytes = 17ull << 32;
    r->cpu_time_us = 18;
    r->accepting = true;
    r->draining = true;
    for (unsigned i = 0; i <= WSF_HIST_BUCKETS; i++)
        r->latency[i] = 1000ull * (i + 1) + i;
}

static inline void assert_report_eq(const wsf_report *a, const wsf_report *b)
{
#define EQ(f) ck_assert_msg(a->f == b->f, "report field " #f " differs")
    EQ(pid);
    EQ(slot);
    EQ(generation);
    EQ(seq);
    EQ(connections_opened);
    EQ(connections_closed);
    EQ(handshakes_ok);
    EQ(handshakes_failed_client);
    EQ(handshakes_failed_busy);
    EQ(handshakes_failed_timeout);
    EQ(handshakes_failed_server);
    EQ(messages_in);
    EQ(messages_out);
    EQ(bytes_in);
    EQ(bytes_out);
    EQ(protocol_errors);
    EQ(internal_errors);
    EQ(failed_writes);
    EQ(refused_bad_request);
    EQ(refused_not_found);
    EQ(refused_upgrade);
    EQ(refused_origin);
    EQ(refused_per_ip);
    EQ(refused_rate_limited);
    EQ(backend_requests);
    EQ(backend_failures);
    EQ(backend_timeouts);
    EQ(backend_malformed);
    EQ(backend_rejected);
    EQ(backend_breaker_opened);
    EQ(backend_pushes);
    EQ(backend_breaker_state);
    EQ(connections_active);
    EQ(loop_lag_us);
    EQ(rss_bytes);
    EQ(cpu_time_us);
    EQ(accepting);
    EQ(draining);
#undef EQ
    for (unsigned i = 0; i <= WSF_HIST_BUCKETS; i++)
        ck_assert_msg(a->latency[i] == b->latency[i], "latency[%u]: %llu != %llu", i,
                      (unsigned long long)a->latency[i], (unsigned long long)b->latency[i]);
}

static inline void assert_command_eq(const wsf_command *a, const wsf_command *b)
{
    ck_assert_uint_eq(a->id, b->id);
    ck_assert_int_eq(a->kind, b->kind);
    ck_assert_uint_eq(a->drain_ms, b->drain_ms);
    ck_assert_int_eq(a->accepting, b->accepting);
    ck_assert_uint_eq(a->shed_count, b->shed_count);
    ck_assert_str_eq(a->fault, b->fault);
    ck_assert(a->fault_value == b->fault_value);
    ck_assert_uint_eq(a->fault_ms, b->fault_ms);
    ck_assert_uint_eq(a->duration_ms, b->duration_ms);
}

/* ---- control responses --------------------------------------------------------------------- */

static inline void fill_status(wsf_fleet_status *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->state, sizeof s->state, "degraded");
    s->pid = 31337;
    s->workers_running = 62;
    s->workers_desired = 64;
    s->workers_min = 2;
    s->workers_max = 256;
    s->connections = 5000000000ull;
    s->msgs_in_per_s = 12345.625;
    s->errors_per_s = 0.5;
    s->uptime_s = 86400 * 400ull;
    snprintf(s->steering, sizeof s->steering, "cbpf");
    snprintf(s->listen, sizeof s->listen, "127.0.0.1:8080 [::1]:8080");
    s->autoscale = true;
    memset(s->last_scaling, 's', sizeof s->last_scaling - 1); /* the longest text that fits */
    s->last_scaling_age_s = UINT64_MAX - 1;
    s->workers_adopted = UINT32_MAX;
    s->backend_requests = UINT64_MAX;
    s->backend_failures = 41;
    s->backend_timeouts = 42;
    s->backend_breakers_open = UINT32_MAX;
}

static inline void fill_worker(wsf_worker_status *w, uint32_t i)
{
    static const char *const states[] = {"starting", "running", "draining", "ejected",
                                         "backoff",  "failed",  "stopped"};
    static const char *const breakers[] = {"closed", "open", "half_open"};
    memset(w, 0, sizeof *w);
    w->slot = i;
    w->pid = i == 0 ? 0 : 100000 + i;
    snprintf(w->state, sizeof w->state, "%s", states[i % 7]);
    w->connections = 1000ull * i;
    w->msgs_in_per_s = i * 1.5;
    w->msgs_out_per_s = i * 2.25;
    w->errors_per_s = i % 3 == 0 ? 0.0 : i / 8.0;
    w->restarts = i % 5;
    w->uptime_s = 10ull * i;
    w->generation = i + 1;
    w->accepting = i % 2 == 0;
    w->buckets = i % 17;
    w->rss_bytes = (uint64_t)i << 20;
    snprintf(w->breaker, sizeof w->breaker, "%s", breakers[i % 3]);
    w->failure_rate = i / 256.0;
    w->opened_at = i % 3 == 0 ? 0 : 1700000000ull + i;
    w->times_opened = i % 3 == 0 ? 0 : i;
    w->refused_bad_request = (uint64_t)i * 10 + 0;
    w->refused_not_found = (uint64_t)i * 10 + 1;
    w->refused_upgrade = (uint64_t)i * 10 + 2;
    w->refused_origin = (uint64_t)i * 10 + 3;
    w->refused_per_ip = (uint64_t)i * 10 + 4;
    w->refused_rate_limited = (uint64_t)i * 10 + 5;
    snprintf(w->backend_breaker, sizeof w->backend_breaker, "%s", i % 2 ? "half_open" : "open");
    w->backend_requests = (uint64_t)i * 10 + 6;
    w->backend_failures = (uint64_t)i * 10 + 7;
    w->backend_timeouts = (uint64_t)i * 10 + 8;
    w->backend_breaker_opened = (uint64_t)i * 10 + 9;
    w->backend_malformed = (uint64_t)i * 100 + 1;
    w->backend_rejected = (uint64_t)i * 100 + 2;
}

static inline void assert_status_eq(const wsf_fleet_status *a, const wsf_fleet_status *b)
{
    ck_assert_str_eq(a->state, b->state);
    ck_assert_uint_eq(a->pid, b->pid);
    ck_assert_uint_eq(a->workers_running, b->workers_running);
    ck_assert_uint_eq(a->workers_desired, b->workers_desired);
    ck_assert_uint_eq(a->workers_min, b->workers_min);
    ck_assert_uint_eq(a->workers_max, b->workers_max);
    ck_assert_uint_eq(a->connections, b->connections);
    ck_assert(a->msgs_in_per_s == b->msgs_in_per_s);
    ck_assert(a->errors_per_s == b->errors_per_s);
    ck_assert_uint_eq(a->uptime_s, b->uptime_s);
    ck_assert_str_eq(a->steering, b->steering);
    ck_assert_str_eq(a->listen, b->listen);
    ck_assert_int_eq(a->autoscale, b->autoscale);
    ck_assert_str_eq(a->last_scaling, b->last_scaling);
    ck_assert_uint_eq(a->last_scaling_age_s, b->last_scaling_age_s);
    ck_assert_uint_eq(a->workers_adopted, b->workers_adopted);
    ck_assert_uint_eq(a->backend_requests, b->backend_requests);
    ck_assert_uint_eq(a->backend_failures, b->backend_failures);
    ck_assert_uint_eq(a->backend_timeouts, b->backend_timeouts);
    ck_assert_uint_eq(a->backend_breakers_open, b->backend_breakers_open);
}

static inline void assert_worker_eq(const wsf_worker_status *a, const wsf_worker_status *b)
{
    ck_assert_uint_eq(a->slot, b->slot);
    ck_assert_uint_eq(a->pid, b->pid);
    ck_assert_str_eq(a->state, b->state);
    ck_assert_uint_eq(a->connections, b->connections);
    ck_assert(a->msgs_in_per_s == b->msgs_in_per_s);
    ck_assert(a->msgs_out_per_s == b->msgs_out_per_s);
    ck_assert(a->errors_per_s == b->errors_per_s);
    ck_assert_uint_eq(a->restarts, b->restarts);
    ck_assert_uint_eq(a->uptime_s, b->uptime_s);
    ck_assert_uint_eq(a->generation, b->generation);
    ck_assert_int_eq(a->accepting, b->accepting);
    ck_assert_uint_eq(a->buckets, b->buckets);
    ck_assert_uint_eq(a->rss_bytes, b->rss_bytes);
    ck_assert_str_eq(a->breaker, b->breaker);
    ck_assert(a->failure_rate == b->failure_rate);
    ck_assert_uint_eq(a->opened_at, b->opened_at);
    ck_assert_uint_eq(a->times_opened, b->times_opened);
    ck_assert_uint_eq(a->refused_bad_request, b->refused_bad_request);
    ck_assert_uint_eq(a->refused_not_found, b->refused_not_found);
    ck_assert_uint_eq(a->refused_upgrade, b->refused_upgrade);
    ck_assert_uint_eq(a->refused_origin, b->refused_origin);
    ck_assert_uint_eq(a->refused_per_ip, b->refused_per_ip);
    ck_assert_uint_eq(a->refused_rate_limited, b->refused_rate_limited);
    ck_assert_str_eq(a->backend_breaker, b->backend_breaker);
    ck_assert_uint_eq(a->backend_requests, b->backend_requests);
    ck_assert_uint_eq(a->backend_failures, b->backend_failures);
    ck_assert_uint_eq(a->backend_timeouts, b->backend_timeouts);
    ck_assert_uint_eq(a->backend_breaker_opened, b->backend_breaker_opened);
    ck_assert_uint_eq(a->backend_malformed, b->backend_malformed);
    ck_assert_uint_eq(a->backend_rejected, b->backend_rejected);
}

static inline void assert_response_eq(const wsf_ctl_response *a, const wsf_ctl_response *b)
{
    ck_assert_int_eq(a->ok, b->ok);
    ck_assert_str_eq(a->error, b->error);
    ck_assert_str_eq(a->message, b->message);
    ck_assert_str_eq(a->server_version, b->server_version);
    ck_assert_uint_eq(a->upgrades, b->upgrades);
    ck_assert_int_eq(a->has_status, b->has_status);
    if (a->has_status)
        assert_status_eq(&a->status, &b->status);
    ck_assert_uint_eq(a->nworkers, b->nworkers);
    for (size_t i = 0; i < a->nworkers; i++)
        assert_worker_eq(&a->workers[i], &b->workers[i]);
    ck_assert_int_eq(a->has_nats, b->has_nats);
    if (a->has_nats) {
        ck_assert_str_eq(a->nats.mode, b->nats.mode);
        ck_assert_str_eq(a->nats.state, b->nats.state);
        ck_assert_uint_eq(a->nats.pid, b->nats.pid);
        ck_assert_uint_eq(a->nats.port, b->nats.port);
        ck_assert_uint_eq(a->nats.restarts, b->nats.restarts);
        ck_assert_int_eq(a->nats.connected, b->nats.connected);
        ck_assert_str_eq(a->nats.stream, b->nats.stream);
    }
    ck_assert_uint_eq(a->offset, b->offset);
    ck_assert_str_eq(a->body, b->body);
}

/* A full response on the heap, the caller frees it: status and all WSF_CTL_MAX_WORKERS workers. */
static inline wsf_ctl_response *full_response(void)
{
    wsf_ctl_response *res = xcalloc(sizeof *res);
    res->ok = true;
    snprintf(res->message, sizeof res->message, "all %d slots", WSF_CTL_MAX_WORKERS);
    snprintf(res->server_version, sizeof res->server_version, "1.2.3-test");
    res->upgrades = UINT64_MAX - 1;
    res->has_status = true;
    fill_status(&res->status);
    res->nworkers = WSF_CTL_MAX_WORKERS;
    for (uint32_t i = 0; i < WSF_CTL_MAX_WORKERS; i++)
        fill_worker(&res->workers[i], i);
    res->has_nats = true;
    res->nats = (wsf_nats_status){.mode = "sidecar",
                                  .state = "running",
                                  .pid = 4242,
                                  .port = 65535,
                                  .restarts = 7,
                                  .connected = true,
                                  .stream = "WSF"};
    res->offset = UINT64_MAX;
    snprintf(res->body, sizeof res->body, "{\"channel\":\"news\",\"pubs\":[]}");
    return res;
}

/* ---- ipc:// endpoints ---------------------------------------------------------------------- */

/* A temporary directory holding one test's sockets. */
typedef struct ipc_dir {
    char path[64];
    char workers[128]; /* endpoint of the supervisor's worker socket */
    char ctl[128];     /* endpoint of the control socket */
} ipc_dir;

static inline void ipc_dir_make(ipc_dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/wsf_ipc.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->path));
    snprintf(d->workers, sizeof d->workers, "ipc://%s/workers", d->path);
    snprintf(d->ctl, sizeof d->ctl, "ipc://%s/ctl", d->path);
}

static inline void ipc_dir_remove(const ipc_dir *d)
{
    static const char *const names[] = {"workers", "ctl"};
    char path[192];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", d->path, names[i]);
        unlink(path); /* ZeroMQ removes its own ipc files on close; this covers a failed test */
    }
    rmdir(d->path);
}

#endif
