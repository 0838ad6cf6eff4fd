/* Unit tests for common/wsf_ipc.c: every message and field survives pack and unpack, bad bytes
 * give -EPROTO, small buffers -ENOSPC, unknown fields are skipped; then real ZeroMQ sockets on
 * ipc:// endpoints in a temporary directory (worker DEALER to supervisor ROUTER, wsctl REQ to the
 * control REP in a forked server, and a control call with nobody listening). */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wsf_ipc.h"

Suite *wsf_ipc_suite(void);

#define BUF_CAP (256 * 1024)
#define WAIT_MS 3000       /* bound on any wait for a message that should arrive */
#define CTL_TIMEOUT_MS 300 /* wsf_ipc_ctl_call timeout in the unreachable case */

/* ---- helpers ------------------------------------------------------------------------------- */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* Polls wsf_ipc_has_input with short sleeps; true once a message is waiting. */
static bool wait_input(const wsf_ipc *ipc, long ms)
{
    long deadline = now_ms() + ms;
    while (!wsf_ipc_has_input(ipc)) {
        if (now_ms() >= deadline)
            return false;
        sleep_ms(2);
    }
    return true;
}

static void *xcalloc(size_t n)
{
    void *p = calloc(1, n);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* Hand-made protobuf bytes, built without protobuf-c so that the tests do not share its view of
 * the wire format. */
typedef struct pb_bytes {
    uint8_t b[2048];
    size_t len;
} pb_bytes;

static void pb_varint(pb_bytes *p, uint64_t v)
{
    do {
        ck_assert_uint_lt(p->len, sizeof p->b);
        uint8_t byte = v & 0x7f;
        v >>= 7;
        p->b[p->len++] = (uint8_t)(byte | (v != 0 ? 0x80 : 0));
    } while (v != 0);
}

static void pb_tag(pb_bytes *p, unsigned field, unsigned wire_type)
{
    pb_varint(p, ((uint64_t)field << 3) | wire_type);
}

static void pb_raw(pb_bytes *p, const void *data, size_t n)
{
    ck_assert_uint_le(n, sizeof p->b - p->len);
    memcpy(p->b + p->len, data, n);
    p->len += n;
}

/* field = length-delimited inner */
static void pb_sub(pb_bytes *p, unsigned field, const pb_bytes *inner)
{
    pb_tag(p, field, 2);
    pb_varint(p, inner->len);
    pb_raw(p, inner->b, inner->len);
}

/* Unknown field 99 three ways: varint, length-delimited and fixed64. */
static void pb_unknown_fields(pb_bytes *p)
{
    pb_tag(p, 99, 0);
    pb_varint(p, 123456789);
    pb_tag(p, 99, 2);
    pb_varint(p, 5);
    pb_raw(p, "extra", 5);
    pb_tag(p, 99, 1);
    pb_raw(p, "\1\2\3\4\5\6\7\10", 8);
}

/* ---- fixtures for the message contents ----------------------------------------------------- */

static void fill_report(wsf_report *r)
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
    r->connections_active = 15;
    r->loop_lag_us = 16;
    r->rss_bytes = 17ull << 32;
    r->cpu_time_us = 18;
    r->accepting = true;
    r->draining = true;
    for (unsigned i = 0; i <= WSF_HIST_BUCKETS; i++)
        r->latency[i] = 1000ull * (i + 1) + i;
}

static void assert_report_eq(const wsf_report *a, const wsf_report *b)
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

static void assert_command_eq(const wsf_command *a, const wsf_command *b)
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

static void fill_status(wsf_fleet_status *s)
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
}

static void fill_worker(wsf_worker_status *w, uint32_t i)
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
}

static void assert_status_eq(const wsf_fleet_status *a, const wsf_fleet_status *b)
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
}

static void assert_worker_eq(const wsf_worker_status *a, const wsf_worker_status *b)
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
}

static void assert_response_eq(const wsf_ctl_response *a, const wsf_ctl_response *b)
{
    ck_assert_int_eq(a->ok, b->ok);
    ck_assert_str_eq(a->error, b->error);
    ck_assert_str_eq(a->message, b->message);
    ck_assert_str_eq(a->server_version, b->server_version);
    ck_assert_int_eq(a->has_status, b->has_status);
    if (a->has_status)
        assert_status_eq(&a->status, &b->status);
    ck_assert_uint_eq(a->nworkers, b->nworkers);
    for (size_t i = 0; i < a->nworkers; i++)
        assert_worker_eq(&a->workers[i], &b->workers[i]);
}

/* A full response: status and all WSF_CTL_MAX_WORKERS workers. */
static wsf_ctl_response *full_response(void)
{
    wsf_ctl_response *res = xcalloc(sizeof *res);
    res->ok = true;
    snprintf(res->message, sizeof res->message, "all %d slots", WSF_CTL_MAX_WORKERS);
    snprintf(res->server_version, sizeof res->server_version, "1.2.3-test");
    res->has_status = true;
    fill_status(&res->status);
    res->nworkers = WSF_CTL_MAX_WORKERS;
    for (uint32_t i = 0; i < WSF_CTL_MAX_WORKERS; i++)
        fill_worker(&res->workers[i], i);
    return res;
}

/* ---- worker messages ----------------------------------------------------------------------- */

START_TEST(hello_round_trip)
{
    uint8_t buf[256];
    wsf_worker_msg in = {.kind = WSF_WMSG_HELLO}, out;
    in.hello.pid = 0x7fffffff;
    in.hello.slot = 255;
    in.hello.generation = UINT64_MAX;
    int n = wsf_ipc_pack_worker_msg(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    memset(&out, 0x5a, sizeof out);
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, buf, (size_t)n), 0);
    ck_assert_int_eq(out.kind, WSF_WMSG_HELLO);
    ck_assert_uint_eq(out.hello.pid, 0x7fffffff);
    ck_assert_uint_eq(out.hello.slot, 255);
    ck_assert_uint_eq(out.hello.generation, UINT64_MAX);
}
END_TEST

START_TEST(hello_zero_fields_round_trip)
{
    /* proto3 does not send zero values; they must still come back as zero, not as garbage */
    uint8_t buf[64];
    wsf_worker_msg in = {.kind = WSF_WMSG_HELLO}, out;
    int n = wsf_ipc_pack_worker_msg(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    memset(&out, 0x5a, sizeof out);
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, buf, (size_t)n), 0);
    ck_assert_int_eq(out.kind, WSF_WMSG_HELLO);
    ck_assert_uint_eq(out.hello.pid, 0);
    ck_assert_uint_eq(out.hello.slot, 0);
    ck_assert_uint_eq(out.hello.generation, 0);
}
END_TEST

START_TEST(report_round_trip)
{
    uint8_t buf[2048];
    wsf_worker_msg in = {.kind = WSF_WMSG_REPORT}, out;
    fill_report(&in.report);
    int n = wsf_ipc_pack_worker_msg(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    memset(&out, 0x5a, sizeof out);
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, buf, (size_t)n), 0);
    ck_assert_int_eq(out.kind, WSF_WMSG_REPORT);
    assert_report_eq(&out.report, &in.report);
}
END_TEST

START_TEST(report_extremes_round_trip)
{
    uint8_t buf[2048];
    wsf_worker_msg in = {.kind = WSF_WMSG_REPORT}, out;
    wsf_report *r = &in.report;
    r->pid = UINT32_MAX;
    r->slot = UINT32_MAX;
    r->generation = r->seq = r->connections_opened = r->messages_in = r->bytes_out = UINT64_MAX;
    r->connections_active = r->loop_lag_us = UINT32_MAX;
    r->rss_bytes = r->cpu_time_us = UINT64_MAX;
    r->latency[0] = UINT64_MAX;
    r->latency[WSF_HIST_BUCKETS] = UINT64_MAX - 1;
    int n = wsf_ipc_pack_worker_msg(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, buf, (size_t)n), 0);
    assert_report_eq(&out.report, &in.report);
    ck_assert(!out.report.accepting);
    ck_assert(!out.report.draining);
}
END_TEST

START_TEST(report_histogram_each_bucket)
{
    /* one event in one bucket at a time: a shifted or dropped bucket shows up */
    uint8_t buf[2048];
    for (unsigned b = 0; b <= WSF_HIST_BUCKETS; b++) {
        wsf_worker_msg in = {.kind = WSF_WMSG_REPORT}, out;
        in.report.latency[b] = 7;
        int n = wsf_ipc_pack_worker_msg(buf, sizeof buf, &in);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, buf, (size_t)n), 0);
        for (unsigned i = 0; i <= WSF_HIST_BUCKETS; i++)
            ck_assert_msg(out.report.latency[i] == (i == b ? 7u : 0u), "bucket %u, slot %u", b, i);
    }
}
END_TEST

/* A Report whose Histogram carries ncounts counts 1, 2, 3 ... */
static void craft_report_with_counts(pb_bytes *msg, unsigned ncounts)
{
    pb_bytes hist = {0}, rep = {0};
    for (unsigned i = 0; i < ncounts; i++) {
        pb_tag(&hist, 2, 0); /* unpacked repeated encoding; parsers must accept both */
        pb_varint(&hist, i + 1);
    }
    pb_tag(&rep, 1, 0);
    pb_varint(&rep, WSF_PROTO_VERSION);
    pb_tag(&rep, 5, 0);
    pb_varint(&rep, 77); /* seq */
    pb_sub(&rep, 26, &hist);
    memset(msg, 0, sizeof *msg);
    pb_sub(msg, 2, &rep);
}

START_TEST(report_histogram_other_lengths)
{
    wsf_worker_msg out;
    pb_bytes msg;

    craft_report_with_counts(&msg, 3); /* fewer counts: the rest stay zero */
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, msg.b, msg.len), 0);
    ck_assert_int_eq(out.kind, WSF_WMSG_REPORT);
    ck_assert_uint_eq(out.report.seq, 77);
    for (unsigned i = 0; i <= WSF_HIST_BUCKETS; i++)
        ck_assert_uint_eq(out.report.latency[i], i < 3 ? i + 1 : 0);

    craft_report_with_counts(&msg, WSF_HIST_BUCKETS + 10); /* more: the surplus is dropped */
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, msg.b, msg.len), 0);
    for (unsigned i = 0; i <= WSF_HIST_BUCKETS; i++)
        ck_assert_uint_eq(out.report.latency[i], i + 1);
}
END_TEST

START_TEST(ack_round_trip)
{
    uint8_t buf[512];
    wsf_worker_msg in = {.kind = WSF_WMSG_ACK}, out;
    in.ack.id = UINT64_MAX - 5;
    in.ack.ok = false;
    memset(in.ack.error, 'e', sizeof in.ack.error - 1); /* the longest error that fits */
    int n = wsf_ipc_pack_worker_msg(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    memset(&out, 0x5a, sizeof out);
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, buf, (size_t)n), 0);
    ck_assert_int_eq(out.kind, WSF_WMSG_ACK);
    ck_assert_uint_eq(out.ack.id, in.ack.id);
    ck_assert(!out.ack.ok);
    ck_assert_str_eq(out.ack.error, in.ack.error);

    in.ack.ok = true;
    in.ack.error[0] = '\0';
    n = wsf_ipc_pack_worker_msg(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, buf, (size_t)n), 0);
    ck_assert(out.ack.ok);
    ck_assert_str_eq(out.ack.error, "");
}
END_TEST

START_TEST(ack_long_error_is_truncated)
{
    /* a peer may send a longer string than our struct holds: cut, still terminated */
    char text[300];
    pb_bytes ack = {0}, msg = {0};
    memset(text, 'x', sizeof text);
    pb_tag(&ack, 2, 0);
    pb_varint(&ack, 9);
    pb_tag(&ack, 4, 2);
    pb_varint(&ack, sizeof text);
    pb_raw(&ack, text, sizeof text);
    pb_sub(&msg, 3, &ack);
    wsf_worker_msg out;
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, msg.b, msg.len), 0);
    ck_assert_int_eq(out.kind, WSF_WMSG_ACK);
    ck_assert_uint_eq(out.ack.id, 9);
    ck_assert_uint_eq(strlen(out.ack.error), sizeof out.ack.error - 1);
}
END_TEST

START_TEST(worker_msg_without_kind_is_refused)
{
    uint8_t buf[64];
    wsf_worker_msg in = {.kind = WSF_WMSG_NONE};
    ck_assert_int_eq(wsf_ipc_pack_worker_msg(buf, sizeof buf, &in), -EINVAL);
    /* an empty WorkerMessage decodes as protobuf but has no body */
    wsf_worker_msg out;
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, buf, 0), -EPROTO);
}
END_TEST

/* ---- commands ------------------------------------------------------------------------------ */

START_TEST(command_every_kind_round_trip)
{
    static const enum wsf_command_kind kinds[] = {
        WSF_CMD_PING,     WSF_CMD_DRAIN,  WSF_CMD_SET_ACCEPTING, WSF_CMD_SHED,
        WSF_CMD_SHUTDOWN, WSF_CMD_RELOAD, WSF_CMD_FAULT,
    };
    uint8_t buf[512];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        wsf_command in, out;
        memset(&in, 0, sizeof in);
        in.id = 1000 + i;
        in.kind = kinds[i];
        in.drain_ms = kinds[i] == WSF_CMD_DRAIN ? 30000 : 0;
        in.accepting = kinds[i] == WSF_CMD_SET_ACCEPTING;
        in.shed_count = kinds[i] == WSF_CMD_SHED ? 250 : 0;
        if (kinds[i] == WSF_CMD_FAULT) {
            snprintf(in.fault, sizeof in.fault, "latency");
            in.fault_value = 0.125;
            in.fault_ms = 250;
            in.duration_ms = 30000;
        }
        int n = wsf_ipc_pack_command(buf, sizeof buf, &in);
        ck_assert_int_gt(n, 0);
        memset(&out, 0x5a, sizeof out);
        ck_assert_int_eq(wsf_ipc_unpack_command(&out, buf, (size_t)n), 0);
        assert_command_eq(&out, &in);
    }
}
END_TEST

START_TEST(command_all_fields_round_trip)
{
    uint8_t buf[512];
    wsf_command in, out;
    memset(&in, 0, sizeof in);
    in.id = UINT64_MAX;
    in.kind = WSF_CMD_FAULT;
    in.drain_ms = UINT32_MAX;
    in.accepting = true;
    in.shed_count = UINT32_MAX;
    memset(in.fault, 'f', sizeof in.fault - 1);
    in.fault_value = -1.0e300;
    int n = wsf_ipc_pack_command(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(wsf_ipc_unpack_command(&out, buf, (size_t)n), 0);
    assert_command_eq(&out, &in);
}
END_TEST

START_TEST(command_unknown_kind_is_none)
{
    /* a newer supervisor's command kind 42: decodes, kind none, the rest intact */
    pb_bytes cmd = {0}, msg = {0};
    pb_tag(&cmd, 1, 0);
    pb_varint(&cmd, WSF_PROTO_VERSION);
    pb_tag(&cmd, 2, 0);
    pb_varint(&cmd, 5);
    pb_tag(&cmd, 3, 0);
    pb_varint(&cmd, 42);
    pb_tag(&cmd, 4, 0);
    pb_varint(&cmd, 1500);
    pb_sub(&msg, 1, &cmd);
    wsf_command out;
    ck_assert_int_eq(wsf_ipc_unpack_command(&out, msg.b, msg.len), 0);
    ck_assert_uint_eq(out.id, 5);
    ck_assert_int_eq(out.kind, WSF_CMD_NONE);
    ck_assert_uint_eq(out.drain_ms, 1500);
}
END_TEST

START_TEST(command_without_body_is_eproto)
{
    wsf_command out;
    uint8_t empty[1] = {0};
    ck_assert_int_eq(wsf_ipc_unpack_command(&out, empty, 0), -EPROTO);
}
END_TEST

/* ---- control messages ---------------------------------------------------------------------- */

START_TEST(ctl_request_every_command_round_trip)
{
    uint8_t buf[256];
    for (int c = WSF_CTL_STATUS; c <= WSF_CTL_AUTOSCALE; c++) {
        wsf_ctl_request in = {
            .command = (enum wsf_ctl_command)c,
            .slot = c == WSF_CTL_RESTART ? -1 : c,
            .count = (uint32_t)c * 1000u,
            .rolling = c % 2 == 0,
            .drain_s = (uint32_t)c * 7u,
            .rate = c * 0.1,
            .fault_ms = (uint32_t)c * 11u,
            .duration_s = (uint32_t)c * 3u,
            .autoscale_on = c % 2 == 1,
            .min = (uint32_t)c,
            .max = (uint32_t)c * 20u,
        };
        snprintf(in.fault, sizeof in.fault, "kind%d", c);
        wsf_ctl_request out;
        int n = wsf_ipc_pack_ctl_request(buf, sizeof buf, &in);
        ck_assert_int_gt(n, 0);
        memset(&out, 0x5a, sizeof out);
        ck_assert_int_eq(wsf_ipc_unpack_ctl_request(&out, buf, (size_t)n), 0);
        ck_assert_int_eq(out.command, in.command);
        ck_assert_int_eq(out.slot, in.slot);
        ck_assert_uint_eq(out.count, in.count);
        ck_assert_int_eq(out.rolling, in.rolling);
        ck_assert_uint_eq(out.drain_s, in.drain_s);
        ck_assert_str_eq(out.fault, in.fault);
        ck_assert(out.rate == in.rate);
        ck_assert_uint_eq(out.fault_ms, in.fault_ms);
        ck_assert_uint_eq(out.duration_s, in.duration_s);
        ck_assert_int_eq(out.autoscale_on, in.autoscale_on);
        ck_assert_uint_eq(out.min, in.min);
        ck_assert_uint_eq(out.max, in.max);
    }
}
END_TEST

START_TEST(ctl_request_extremes_round_trip)
{
    uint8_t buf[256];
    wsf_ctl_request in = {
        .command = WSF_CTL_SCALE,
        .slot = INT32_MIN,
        .count = UINT32_MAX,
        .rolling = true,
        .drain_s = UINT32_MAX,
        .autoscale_on = true,
        .min = UINT32_MAX,
        .max = UINT32_MAX,
    };
    wsf_ctl_request out;
    int n = wsf_ipc_pack_ctl_request(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_request(&out, buf, (size_t)n), 0);
    ck_assert_int_eq(out.slot, INT32_MIN);
    ck_assert_uint_eq(out.count, UINT32_MAX);
    ck_assert_uint_eq(out.drain_s, UINT32_MAX);
    ck_assert(out.autoscale_on);
    ck_assert_uint_eq(out.min, UINT32_MAX);
    ck_assert_uint_eq(out.max, UINT32_MAX);
    in.slot = INT32_MAX;
    n = wsf_ipc_pack_ctl_request(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_request(&out, buf, (size_t)n), 0);
    ck_assert_int_eq(out.slot, INT32_MAX);
}
END_TEST

START_TEST(ctl_request_autoscale_defaults_round_trip)
{
    /* autoscale off with both bounds unchanged: every new field at its zero value */
    uint8_t buf[64];
    wsf_ctl_request in = {.command = WSF_CTL_AUTOSCALE, .slot = -1}, out;
    int n = wsf_ipc_pack_ctl_request(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    memset(&out, 0x5a, sizeof out);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_request(&out, buf, (size_t)n), 0);
    ck_assert_int_eq(out.command, WSF_CTL_AUTOSCALE);
    ck_assert(!out.autoscale_on);
    ck_assert_uint_eq(out.min, 0);
    ck_assert_uint_eq(out.max, 0);
}
END_TEST

START_TEST(ctl_request_unknown_command_is_none)
{
    pb_bytes req = {0};
    pb_tag(&req, 2, 0);
    pb_varint(&req, WSF_CTL_AUTOSCALE + 1); /* the first command this side does not know */
    pb_tag(&req, 4, 0);
    pb_varint(&req, 3);
    wsf_ctl_request out;
    ck_assert_int_eq(wsf_ipc_unpack_ctl_request(&out, req.b, req.len), 0);
    ck_assert_int_eq(out.command, WSF_CTL_NONE);
    ck_assert_uint_eq(out.count, 3);

    memset(&req, 0, sizeof req);
    pb_tag(&req, 2, 0);
    pb_varint(&req, 99);
    pb_tag(&req, 4, 0);
    pb_varint(&req, 3);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_request(&out, req.b, req.len), 0);
    ck_assert_int_eq(out.command, WSF_CTL_NONE);
    ck_assert_uint_eq(out.count, 3);
}
END_TEST

START_TEST(ctl_response_status_and_max_workers_round_trip)
{
    uint8_t *buf = xcalloc(BUF_CAP);
    wsf_ctl_response *in = full_response();
    wsf_ctl_response *out = xcalloc(sizeof *out);
    int n = wsf_ipc_pack_ctl_response(buf, BUF_CAP, in);
    ck_assert_int_gt(n, 0);
    memset(out, 0x5a, sizeof *out);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_response(out, buf, (size_t)n), 0);
    assert_response_eq(out, in);
    free(out);
    free(in);
    free(buf);
}
END_TEST

START_TEST(ctl_response_refusal_round_trip)
{
    uint8_t buf[1024];
    wsf_ctl_response *in = xcalloc(sizeof *in);
    wsf_ctl_response *out = xcalloc(sizeof *out);
    in->ok = false;
    memset(in->error, 'r', sizeof in->error - 1);
    int n = wsf_ipc_pack_ctl_response(buf, sizeof buf, in);
    ck_assert_int_gt(n, 0);
    memset(out, 0x5a, sizeof *out);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_response(out, buf, (size_t)n), 0);
    assert_response_eq(out, in);
    ck_assert(!out->has_status);
    ck_assert_uint_eq(out->nworkers, 0);
    free(out);
    free(in);
}
END_TEST

START_TEST(ctl_response_too_many_workers_is_capped)
{
    /* 300 WorkerStatus entries on the wire: the first WSF_CTL_MAX_WORKERS are kept */
    size_t cap = 64 * 1024, len = 0;
    uint8_t *wire = xcalloc(cap);
    for (unsigned i = 0; i < 300; i++) {
        pb_bytes w = {0}, item = {0};
        pb_tag(&w, 1, 0);
        pb_varint(&w, i);
        pb_sub(&item, 6, &w);
        ck_assert_uint_le(item.len, cap - len);
        memcpy(wire + len, item.b, item.len);
        len += item.len;
    }
    wsf_ctl_response *out = xcalloc(sizeof *out);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_response(out, wire, len), 0);
    ck_assert_uint_eq(out->nworkers, WSF_CTL_MAX_WORKERS);
    ck_assert_uint_eq(out->workers[WSF_CTL_MAX_WORKERS - 1].slot, WSF_CTL_MAX_WORKERS - 1);
    free(out);
    free(wire);
}
END_TEST

START_TEST(ctl_response_long_breaker_texts_are_truncated)
{
    /* a supervisor may send longer strings than our structs hold: cut, still terminated */
    char text[300];
    pb_bytes st = {0}, w = {0}, msg = {0};
    memset(text, 'x', sizeof text);
    pb_tag(&st, 14, 2); /* FleetStatus.last_scaling */
    pb_varint(&st, sizeof text);
    pb_raw(&st, text, sizeof text);
    pb_tag(&st, 13, 0); /* FleetStatus.autoscale */
    pb_varint(&st, 1);
    pb_tag(&w, 1, 0); /* WorkerStatus.slot */
    pb_varint(&w, 4);
    pb_tag(&w, 14, 2); /* WorkerStatus.breaker */
    pb_varint(&w, 40);
    pb_raw(&w, text, 40);
    pb_tag(&w, 17, 0); /* WorkerStatus.times_opened */
    pb_varint(&w, 6);
    pb_tag(&msg, 2, 0);
    pb_varint(&msg, 1);
    pb_sub(&msg, 5, &st);
    pb_sub(&msg, 6, &w);
    wsf_ctl_response *out = xcalloc(sizeof *out);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_response(out, msg.b, msg.len), 0);
    ck_assert(out->has_status);
    ck_assert(out->status.autoscale);
    ck_assert_uint_eq(strlen(out->status.last_scaling), sizeof out->status.last_scaling - 1);
    ck_assert_uint_eq(out->nworkers, 1);
    ck_assert_uint_eq(out->workers[0].slot, 4);
    ck_assert_uint_eq(strlen(out->workers[0].breaker), sizeof out->workers[0].breaker - 1);
    ck_assert_uint_eq(out->workers[0].times_opened, 6);
    ck_assert(out->workers[0].failure_rate == 0.0);
    ck_assert_uint_eq(out->workers[0].opened_at, 0);
    free(out);
}
END_TEST

/* ---- bad input ----------------------------------------------------------------------------- */

/* Byte strings no protobuf parser accepts: truncated varints and lengths, a reserved wire type,
 * field number 0, a length running past the end. */
static const struct {
    const char *name;
    uint8_t b[12];
    size_t len;
} garbage[] = {
    {"truncated varint", {0x08, 0x80}, 2},
    {"length past end", {0x0a, 0x05, 0x01}, 3},
    {"wire type 7", {0x0f, 0x00}, 2},
    {"wire type 6", {0x0e, 0x00}, 2},
    {"field 0", {0x00, 0x01}, 2},
    {"ten-byte varint overflow",
     {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
     12},
    {"all ones", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 8},
    {"fixed64 cut short", {0x09, 0x01, 0x02}, 3},
};

START_TEST(undecodable_input_is_eproto)
{
    size_t i = (size_t)_i;
    wsf_worker_msg wm;
    wsf_command cmd;
    wsf_ctl_request req;
    wsf_ctl_response *res = xcalloc(sizeof *res);
    ck_assert_msg(wsf_ipc_unpack_worker_msg(&wm, garbage[i].b, garbage[i].len) == -EPROTO,
                  "worker msg: %s", garbage[i].name);
    ck_assert_msg(wsf_ipc_unpack_command(&cmd, garbage[i].b, garbage[i].len) == -EPROTO,
                  "command: %s", garbage[i].name);
    ck_assert_msg(wsf_ipc_unpack_ctl_request(&req, garbage[i].b, garbage[i].len) == -EPROTO,
                  "ctl request: %s", garbage[i].name);
    ck_assert_msg(wsf_ipc_unpack_ctl_response(res, garbage[i].b, garbage[i].len) == -EPROTO,
                  "ctl response: %s", garbage[i].name);
    free(res);
}
END_TEST

START_TEST(truncated_messages_are_eproto)
{
    /* every proper prefix of a packed Report that cuts a field short must fail, never crash */
    uint8_t buf[2048];
    wsf_worker_msg in = {.kind = WSF_WMSG_REPORT}, out;
    fill_report(&in.report);
    int n = wsf_ipc_pack_worker_msg(buf, sizeof buf, &in);
    ck_assert_int_gt(n, 0);
    /* the outer field is length-delimited, so every cut from 1 to n-1 bytes is short */
    for (int cut = 1; cut < n; cut++)
        ck_assert_msg(wsf_ipc_unpack_worker_msg(&out, buf, (size_t)cut) == -EPROTO, "cut at %d",
                      cut);
}
END_TEST

START_TEST(wrong_message_type_is_eproto)
{
    /* a CtlRequest given to the worker-message decoder: field 2 is a varint there but a
     * length-delimited Report in WorkerMessage */
    uint8_t buf[256];
    wsf_ctl_request req = {.command = WSF_CTL_WORKERS, .slot = 3};
    int n = wsf_ipc_pack_ctl_request(buf, sizeof buf, &req);
    ck_assert_int_gt(n, 0);
    wsf_worker_msg out;
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, buf, (size_t)n), -EPROTO);
}
END_TEST

/* ---- small buffers ------------------------------------------------------------------------- */

START_TEST(small_buffer_is_enospc)
{
    uint8_t *buf = xcalloc(BUF_CAP);
    wsf_worker_msg hello = {.kind = WSF_WMSG_HELLO}, rep = {.kind = WSF_WMSG_REPORT};
    hello.hello.pid = 1;
    fill_report(&rep.report);
    wsf_command cmd = {.id = 1, .kind = WSF_CMD_DRAIN, .drain_ms = 5000};
    wsf_ctl_request req = {.command = WSF_CTL_STATUS};
    wsf_ctl_response *res = full_response();

    int n = wsf_ipc_pack_worker_msg(buf, BUF_CAP, &hello);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(wsf_ipc_pack_worker_msg(buf, (size_t)n - 1, &hello), -ENOSPC);
    ck_assert_int_eq(wsf_ipc_pack_worker_msg(buf, (size_t)n, &hello), n);
    ck_assert_int_eq(wsf_ipc_pack_worker_msg(buf, 0, &hello), -ENOSPC);

    n = wsf_ipc_pack_worker_msg(buf, BUF_CAP, &rep);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(wsf_ipc_pack_worker_msg(buf, (size_t)n - 1, &rep), -ENOSPC);
    ck_assert_int_eq(wsf_ipc_pack_worker_msg(buf, 16, &rep), -ENOSPC);

    n = wsf_ipc_pack_command(buf, BUF_CAP, &cmd);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(wsf_ipc_pack_command(buf, (size_t)n - 1, &cmd), -ENOSPC);

    n = wsf_ipc_pack_ctl_request(buf, BUF_CAP, &req);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(wsf_ipc_pack_ctl_request(buf, (size_t)n - 1, &req), -ENOSPC);

    n = wsf_ipc_pack_ctl_response(buf, BUF_CAP, res);
    ck_assert_int_gt(n, 1000);
    ck_assert_int_eq(wsf_ipc_pack_ctl_response(buf, (size_t)n - 1, res), -ENOSPC);
    ck_assert_int_eq(wsf_ipc_pack_ctl_response(buf, 64, res), -ENOSPC);
    ck_assert_int_eq(wsf_ipc_pack_ctl_response(buf, (size_t)n, res), n);
    free(res);
    free(buf);
}
END_TEST

START_TEST(small_buffer_is_not_written)
{
    /* -ENOSPC is decided before packing: not one byte past cap, indeed not one byte at all */
    uint8_t buf[64];
    memset(buf, 0xee, sizeof buf);
    wsf_worker_msg rep = {.kind = WSF_WMSG_REPORT};
    fill_report(&rep.report);
    ck_assert_int_eq(wsf_ipc_pack_worker_msg(buf, 32, &rep), -ENOSPC);
    for (size_t i = 0; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], 0xee);
}
END_TEST

/* ---- unknown fields ------------------------------------------------------------------------ */

START_TEST(unknown_fields_are_ignored)
{
    pb_bytes p = {0};
    int n;

    wsf_worker_msg hello = {.kind = WSF_WMSG_HELLO}, rep = {.kind = WSF_WMSG_REPORT}, out;
    hello.hello.pid = 11;
    hello.hello.slot = 2;
    hello.hello.generation = 3;
    n = wsf_ipc_pack_worker_msg(p.b, sizeof p.b, &hello);
    ck_assert_int_gt(n, 0);
    p.len = (size_t)n;
    pb_unknown_fields(&p);
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, p.b, p.len), 0);
    ck_assert_int_eq(out.kind, WSF_WMSG_HELLO);
    ck_assert_uint_eq(out.hello.pid, 11);
    ck_assert_uint_eq(out.hello.slot, 2);
    ck_assert_uint_eq(out.hello.generation, 3);

    fill_report(&rep.report);
    n = wsf_ipc_pack_worker_msg(p.b, sizeof p.b, &rep);
    ck_assert_int_gt(n, 0);
    p.len = (size_t)n;
    pb_unknown_fields(&p);
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, p.b, p.len), 0);
    assert_report_eq(&out.report, &rep.report);

    wsf_command cmd = {.id = 8, .kind = WSF_CMD_SHED, .shed_count = 12}, cout;
    n = wsf_ipc_pack_command(p.b, sizeof p.b, &cmd);
    ck_assert_int_gt(n, 0);
    p.len = (size_t)n;
    pb_unknown_fields(&p);
    ck_assert_int_eq(wsf_ipc_unpack_command(&cout, p.b, p.len), 0);
    assert_command_eq(&cout, &cmd);

    wsf_ctl_request req = {.command = WSF_CTL_DRAIN, .slot = 5}, rout;
    n = wsf_ipc_pack_ctl_request(p.b, sizeof p.b, &req);
    ck_assert_int_gt(n, 0);
    p.len = (size_t)n;
    pb_unknown_fields(&p);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_request(&rout, p.b, p.len), 0);
    ck_assert_int_eq(rout.command, WSF_CTL_DRAIN);
    ck_assert_int_eq(rout.slot, 5);

    wsf_ctl_response *res = xcalloc(sizeof *res), *resout = xcalloc(sizeof *resout);
    res->ok = true;
    snprintf(res->message, sizeof res->message, "fine");
    res->has_status = true;
    fill_status(&res->status);
    res->nworkers = 3;
    for (uint32_t i = 0; i < 3; i++)
        fill_worker(&res->workers[i], i);
    n = wsf_ipc_pack_ctl_response(p.b, sizeof p.b, res);
    ck_assert_int_gt(n, 0);
    p.len = (size_t)n;
    pb_unknown_fields(&p);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_response(resout, p.b, p.len), 0);
    assert_response_eq(resout, res);
    free(resout);
    free(res);
}
END_TEST

START_TEST(unknown_fields_inside_nested_messages_are_ignored)
{
    /* field 99 inside the Hello, inside the Command, and inside a WorkerStatus */
    pb_bytes inner = {0}, msg = {0};
    pb_tag(&inner, 2, 0);
    pb_varint(&inner, 321);
    pb_unknown_fields(&inner);
    pb_sub(&msg, 1, &inner);
    wsf_worker_msg out;
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, msg.b, msg.len), 0);
    ck_assert_int_eq(out.kind, WSF_WMSG_HELLO);
    ck_assert_uint_eq(out.hello.pid, 321);

    memset(&inner, 0, sizeof inner);
    memset(&msg, 0, sizeof msg);
    pb_unknown_fields(&inner);
    pb_tag(&inner, 3, 0);
    pb_varint(&inner, WSF_CMD_PING);
    pb_sub(&msg, 1, &inner);
    wsf_command cmd;
    ck_assert_int_eq(wsf_ipc_unpack_command(&cmd, msg.b, msg.len), 0);
    ck_assert_int_eq(cmd.kind, WSF_CMD_PING);

    memset(&inner, 0, sizeof inner);
    memset(&msg, 0, sizeof msg);
    pb_tag(&inner, 1, 0);
    pb_varint(&inner, 17);
    pb_unknown_fields(&inner);
    pb_sub(&msg, 6, &inner);
    pb_tag(&msg, 2, 0);
    pb_varint(&msg, 1);
    wsf_ctl_response *res = xcalloc(sizeof *res);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_response(res, msg.b, msg.len), 0);
    ck_assert(res->ok);
    ck_assert_uint_eq(res->nworkers, 1);
    ck_assert_uint_eq(res->workers[0].slot, 17);
    free(res);
}
END_TEST

/* ---- ZeroMQ: worker and supervisor --------------------------------------------------------- */

static char dir[64];
static char worker_ep[128];
static char ctl_ep[128];

static void ipc_setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/wsf_ipc.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(worker_ep, sizeof worker_ep, "ipc://%s/workers", dir);
    snprintf(ctl_ep, sizeof ctl_ep, "ipc://%s/ctl", dir);
}

static void ipc_teardown(void)
{
    static const char *const names[] = {"workers", "ctl"};
    char path[192];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path); /* ZeroMQ removes its own ipc files on close; this covers a failed test */
    }
    rmdir(dir);
}

/* Receives the next worker message within WAIT_MS; fails the test otherwise. */
static void recv_worker_msg(wsf_ipc *sup, wsf_ipc_peer *peer, wsf_worker_msg *out)
{
    ck_assert_msg(wait_input(sup, WAIT_MS), "no worker message within %d ms", WAIT_MS);
    ck_assert_int_eq(wsf_ipc_recv_worker_msg(sup, peer, out), 1);
}

START_TEST(hello_report_command_exchange)
{
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ipc *sup = NULL, *wk = NULL;
    ck_assert_int_eq(wsf_ipc_open(&sup, zctx, WSF_IPC_SUPERVISOR, worker_ep), 0);
    ck_assert_int_eq(wsf_ipc_open(&wk, zctx, WSF_IPC_WORKER, worker_ep), 0);
    ck_assert_int_ge(wsf_ipc_fd(sup), 0);
    ck_assert_int_ge(wsf_ipc_fd(wk), 0);

    wsf_ipc_peer peer, peer2;
    wsf_worker_msg msg, got;
    ck_assert_int_eq(wsf_ipc_recv_worker_msg(sup, &peer, &got), 0); /* nothing yet */

    memset(&msg, 0, sizeof msg);
    msg.kind = WSF_WMSG_HELLO;
    msg.hello.pid = (uint32_t)getpid();
    msg.hello.slot = 7;
    msg.hello.generation = 2;
    ck_assert_int_eq(wsf_ipc_send_worker_msg(wk, &msg), 0);
    recv_worker_msg(sup, &peer, &got);
    ck_assert_int_eq(got.kind, WSF_WMSG_HELLO);
    ck_assert_uint_eq(got.hello.pid, (uint32_t)getpid());
    ck_assert_uint_eq(got.hello.slot, 7);
    ck_assert_uint_eq(got.hello.generation, 2);
    ck_assert_uint_gt(peer.len, 0);
    ck_assert_uint_le(peer.len, sizeof peer.id);

    memset(&msg, 0, sizeof msg);
    msg.kind = WSF_WMSG_REPORT;
    fill_report(&msg.report);
    ck_assert_int_eq(wsf_ipc_send_worker_msg(wk, &msg), 0);
    recv_worker_msg(sup, &peer2, &got);
    ck_assert_int_eq(got.kind, WSF_WMSG_REPORT);
    assert_report_eq(&got.report, &msg.report);
    ck_assert_uint_eq(peer2.len, peer.len);
    ck_assert_mem_eq(peer2.id, peer.id, peer.len);

    wsf_command cmd = {.id = 77, .kind = WSF_CMD_SET_ACCEPTING, .accepting = true}, cout;
    ck_assert_int_eq(wsf_ipc_recv_command(wk, &cout), 0); /* nothing yet */
    ck_assert_int_eq(wsf_ipc_send_command(sup, &peer, &cmd), 0);
    ck_assert_msg(wait_input(wk, WAIT_MS), "no command within %d ms", WAIT_MS);
    ck_assert_int_eq(wsf_ipc_recv_command(wk, &cout), 1);
    assert_command_eq(&cout, &cmd);
    ck_assert_int_eq(wsf_ipc_recv_command(wk, &cout), 0);

    memset(&msg, 0, sizeof msg);
    msg.kind = WSF_WMSG_ACK;
    msg.ack.id = 77;
    msg.ack.ok = true;
    ck_assert_int_eq(wsf_ipc_send_worker_msg(wk, &msg), 0);
    recv_worker_msg(sup, &peer2, &got);
    ck_assert_int_eq(got.kind, WSF_WMSG_ACK);
    ck_assert_uint_eq(got.ack.id, 77);
    ck_assert(got.ack.ok);
    ck_assert_mem_eq(peer2.id, peer.id, peer.len);
    ck_assert_int_eq(wsf_ipc_recv_worker_msg(sup, &peer2, &got), 0);

    wsf_ipc_free(wk);
    wsf_ipc_free(sup);
    wsf_ipc_context_free(zctx);
}
END_TEST

START_TEST(two_workers_have_distinct_peers)
{
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ipc *sup = NULL, *wk[2] = {NULL, NULL};
    ck_assert_int_eq(wsf_ipc_open(&sup, zctx, WSF_IPC_SUPERVISOR, worker_ep), 0);
    wsf_ipc_peer peers[2];
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_int_eq(wsf_ipc_open(&wk[i], zctx, WSF_IPC_WORKER, worker_ep), 0);
        wsf_worker_msg msg = {.kind = WSF_WMSG_HELLO}, got;
        msg.hello.slot = i;
        ck_assert_int_eq(wsf_ipc_send_worker_msg(wk[i], &msg), 0);
        recv_worker_msg(sup, &peers[i], &got);
        ck_assert_uint_eq(got.hello.slot, i);
    }
    ck_assert(peers[0].len != peers[1].len || memcmp(peers[0].id, peers[1].id, peers[0].len) != 0);

    /* a command to worker 1 reaches worker 1 only */
    wsf_command cmd = {.id = 5, .kind = WSF_CMD_PING}, cout;
    ck_assert_int_eq(wsf_ipc_send_command(sup, &peers[1], &cmd), 0);
    ck_assert(wait_input(wk[1], WAIT_MS));
    ck_assert_int_eq(wsf_ipc_recv_command(wk[1], &cout), 1);
    ck_assert_uint_eq(cout.id, 5);
    sleep_ms(50);
    ck_assert_int_eq(wsf_ipc_recv_command(wk[0], &cout), 0);

    wsf_ipc_free(wk[0]);
    wsf_ipc_free(wk[1]);
    wsf_ipc_free(sup);
    wsf_ipc_context_free(zctx);
}
END_TEST

START_TEST(command_to_unknown_peer_is_ehostunreach)
{
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ipc *sup = NULL, *wk = NULL;
    ck_assert_int_eq(wsf_ipc_open(&sup, zctx, WSF_IPC_SUPERVISOR, worker_ep), 0);
    wsf_command cmd = {.id = 1, .kind = WSF_CMD_PING};
    wsf_ipc_peer nobody = {.id = "no such worker", .len = 14};
    ck_assert_int_eq(wsf_ipc_send_command(sup, &nobody, &cmd), -EHOSTUNREACH);

    /* a worker that was connected and went away becomes unreachable too */
    ck_assert_int_eq(wsf_ipc_open(&wk, zctx, WSF_IPC_WORKER, worker_ep), 0);
    wsf_worker_msg msg = {.kind = WSF_WMSG_HELLO}, got;
    wsf_ipc_peer peer;
    ck_assert_int_eq(wsf_ipc_send_worker_msg(wk, &msg), 0);
    recv_worker_msg(sup, &peer, &got);
    ck_assert_int_eq(wsf_ipc_send_command(sup, &peer, &cmd), 0);
    wsf_ipc_free(wk);
    int rc = 0;
    long deadline = now_ms() + WAIT_MS;
    while ((rc = wsf_ipc_send_command(sup, &peer, &cmd)) == 0 && now_ms() < deadline)
        sleep_ms(5);
    ck_assert_int_eq(rc, -EHOSTUNREACH);

    /* and the socket still works for a new worker after the failed sends */
    ck_assert_int_eq(wsf_ipc_open(&wk, zctx, WSF_IPC_WORKER, worker_ep), 0);
    ck_assert_int_eq(wsf_ipc_send_worker_msg(wk, &msg), 0);
    recv_worker_msg(sup, &peer, &got);
    ck_assert_int_eq(wsf_ipc_send_command(sup, &peer, &cmd), 0);
    ck_assert(wait_input(wk, WAIT_MS));
    wsf_command cout;
    ck_assert_int_eq(wsf_ipc_recv_command(wk, &cout), 1);
    ck_assert_int_eq(cout.kind, WSF_CMD_PING);

    wsf_ipc_free(wk);
    wsf_ipc_free(sup);
    wsf_ipc_context_free(zctx);
}
END_TEST

START_TEST(undecodable_wire_message_is_discarded)
{
    /* A REQ client talking to the ROUTER sends [empty delimiter][request]: not a WorkerMessage.
     * The supervisor sees -EPROTO once and then nothing. The call is made first and times out,
     * since this process cannot answer while it blocks. */
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ipc *sup = NULL;
    ck_assert_int_eq(wsf_ipc_open(&sup, zctx, WSF_IPC_SUPERVISOR, worker_ep), 0);
    wsf_ctl_request req = {.command = WSF_CTL_STATUS};
    wsf_ctl_response *res = xcalloc(sizeof *res);
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, worker_ep, &req, res, 200), -ETIMEDOUT);
    ck_assert(wait_input(sup, WAIT_MS));
    wsf_ipc_peer peer;
    wsf_worker_msg got;
    ck_assert_int_eq(wsf_ipc_recv_worker_msg(sup, &peer, &got), -EPROTO);
    ck_assert_int_eq(wsf_ipc_recv_worker_msg(sup, &peer, &got), 0);
    free(res);
    wsf_ipc_free(sup);
    wsf_ipc_context_free(zctx);
}
END_TEST

START_TEST(open_errors)
{
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ipc *a = NULL, *b = (wsf_ipc *)&b;
    ck_assert_int_eq(wsf_ipc_open(&a, zctx, WSF_IPC_SUPERVISOR, worker_ep), 0);
    /* (A second bind on the same ipc:// path is not refused: libzmq unlinks the file and takes
     * the path over, which is why wsfleetd probes the control socket before binding.) */
    char missing[192];
    snprintf(missing, sizeof missing, "ipc://%s/no/such/dir/sock", dir);
    ck_assert_int_lt(wsf_ipc_open(&b, zctx, WSF_IPC_SUPERVISOR, missing), 0);
    ck_assert_int_lt(wsf_ipc_open(&b, zctx, WSF_IPC_WORKER, "bogus://x"), 0);
    ck_assert_ptr_eq(b, (wsf_ipc *)&b); /* *out is left alone on failure */
    wsf_ipc_free(a);
    wsf_ipc_free(NULL);
    wsf_ipc_context_free(zctx);
    wsf_ipc_context_free(NULL);
}
END_TEST

/* ---- ZeroMQ: control server and client ----------------------------------------------------- */

/* The answer of the forked server: it echoes the request so the client can check both ways. */
static void server_answer(wsf_ctl_response *res, const wsf_ctl_request *req)
{
    memset(res, 0, sizeof *res);
    res->ok = req->command != WSF_CTL_SCALE || req->count <= 64;
    snprintf(res->server_version, sizeof res->server_version, "srv-%d", (int)getpid());
    if (!res->ok) {
        snprintf(res->error, sizeof res->error, "scale %u above 64", (unsigned)req->count);
        return;
    }
    if (req->command == WSF_CTL_AUTOSCALE)
        snprintf(res->message, sizeof res->message, "cmd=%d autoscale=%d min=%u max=%u",
                 (int)req->command, (int)req->autoscale_on, (unsigned)req->min, (unsigned)req->max);
    else
        snprintf(res->message, sizeof res->message, "cmd=%d slot=%d count=%u rolling=%d drain=%u",
                 (int)req->command, (int)req->slot, (unsigned)req->count, (int)req->rolling,
                 (unsigned)req->drain_s);
    if (req->command == WSF_CTL_STATUS) {
        res->has_status = true;
        fill_status(&res->status);
    } else if (req->command == WSF_CTL_WORKERS || req->command == WSF_CTL_BREAKER_LIST) {
        res->nworkers = WSF_CTL_MAX_WORKERS;
        for (uint32_t i = 0; i < WSF_CTL_MAX_WORKERS; i++)
            fill_worker(&res->workers[i], i);
    }
}

/* The control server process: answers `count` requests, then exits 0; 1 on any failure; gives
 * up after 10 s. Reports being bound on ready_fd. */
static _Noreturn void server_main(int ready_fd, int count)
{
    void *zctx = wsf_ipc_context_new();
    wsf_ipc *srv = NULL;
    wsf_ctl_response *res = calloc(1, sizeof *res);
    if (zctx == NULL || res == NULL || wsf_ipc_open(&srv, zctx, WSF_IPC_CTL_SERVER, ctl_ep) != 0)
        _exit(1);
    if (write(ready_fd, "r", 1) != 1)
        _exit(1);
    close(ready_fd);
    long deadline = now_ms() + 10000;
    while (count > 0 && now_ms() < deadline) {
        wsf_ctl_request req;
        int rc = wsf_ipc_recv_ctl_request(srv, &req);
        if (rc == 0) {
            sleep_ms(2);
            continue;
        }
        if (rc != 1)
            _exit(1);
        server_answer(res, &req);
        if (wsf_ipc_send_ctl_response(srv, res) != 0)
            _exit(1);
        count--;
    }
    /* the last reply must leave before the socket closes without lingering */
    sleep_ms(200);
    wsf_ipc_free(srv);
    wsf_ipc_context_free(zctx);
    free(res);
    _exit(count == 0 ? 0 : 1);
}

static pid_t start_server(int count)
{
    int ready[2];
    char c;
    pid_t parent = getpid();
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
            _exit(127);
        close(ready[0]);
        server_main(ready[1], count);
    }
    close(ready[1]);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return pid;
}

/* Waits for the server to exit on its own (bounded), killing it if it does not; its status. */
static int stop_server(pid_t pid)
{
    int status = 0;
    long deadline = now_ms() + WAIT_MS;
    pid_t got;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
        sleep_ms(10);
    if (got == 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
            ;
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(ctl_call_round_trip)
{
    pid_t srv = start_server(7);
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ctl_response *res = xcalloc(sizeof *res), *want = xcalloc(sizeof *want);

    wsf_ctl_request req = {.command = WSF_CTL_STATUS};
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, ctl_ep, &req, res, 2000), 0);
    ck_assert(res->ok);
    ck_assert(res->has_status);
    fill_status(&want->status);
    assert_status_eq(&res->status, &want->status);
    ck_assert_uint_eq(res->nworkers, 0);
    char version[32];
    snprintf(version, sizeof version, "srv-%d", (int)srv);
    ck_assert_str_eq(res->server_version, version);

    req = (wsf_ctl_request){.command = WSF_CTL_WORKERS};
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, ctl_ep, &req, res, 2000), 0);
    ck_assert(!res->has_status);
    ck_assert_uint_eq(res->nworkers, WSF_CTL_MAX_WORKERS);
    for (uint32_t i = 0; i < WSF_CTL_MAX_WORKERS; i++) {
        fill_worker(&want->workers[i], i);
        assert_worker_eq(&res->workers[i], &want->workers[i]);
    }

    req = (wsf_ctl_request){.command = WSF_CTL_RESTART, .slot = -1, .rolling = true};
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, ctl_ep, &req, res, 2000), 0);
    ck_assert(res->ok);
    ck_assert_str_eq(res->message, "cmd=4 slot=-1 count=0 rolling=1 drain=0");

    req = (wsf_ctl_request){.command = WSF_CTL_SCALE, .count = 65};
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, ctl_ep, &req, res, 2000), 0);
    ck_assert(!res->ok);
    ck_assert_str_eq(res->error, "scale 65 above 64");

    req = (wsf_ctl_request){.command = WSF_CTL_BREAKER_LIST, .slot = -1};
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, ctl_ep, &req, res, 2000), 0);
    ck_assert(res->ok);
    ck_assert_uint_eq(res->nworkers, WSF_CTL_MAX_WORKERS);
    for (uint32_t i = 0; i < WSF_CTL_MAX_WORKERS; i++)
        assert_worker_eq(&res->workers[i], &want->workers[i]);

    req = (wsf_ctl_request){.command = WSF_CTL_BREAKER_TRIP, .slot = 3};
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, ctl_ep, &req, res, 2000), 0);
    ck_assert(res->ok);
    ck_assert_str_eq(res->message, "cmd=11 slot=3 count=0 rolling=0 drain=0");

    req = (wsf_ctl_request){.command = WSF_CTL_AUTOSCALE, .autoscale_on = true, .min = 2, .max = 9};
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, ctl_ep, &req, res, 2000), 0);
    ck_assert(res->ok);
    ck_assert_str_eq(res->message, "cmd=13 autoscale=1 min=2 max=9");

    free(want);
    free(res);
    wsf_ipc_context_free(zctx);
    ck_assert_int_eq(stop_server(srv), 0);
}
END_TEST

START_TEST(ctl_call_nobody_listening_times_out)
{
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ctl_response *res = xcalloc(sizeof *res);
    wsf_ctl_request req = {.command = WSF_CTL_STATUS};
    long t0 = now_ms();
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, ctl_ep, &req, res, CTL_TIMEOUT_MS), -ETIMEDOUT);
    long elapsed = now_ms() - t0;
    ck_assert_int_ge(elapsed, CTL_TIMEOUT_MS - 50);
    ck_assert_int_lt(elapsed, 2000);
    /* the context can still be closed: nothing lingers on the failed call's socket */
    free(res);
    t0 = now_ms();
    wsf_ipc_context_free(zctx);
    ck_assert_int_lt(now_ms() - t0, 1000);
}
END_TEST

START_TEST(ctl_call_silent_server_times_out)
{
    /* bound but never answering: the whole call still ends within the timeout's reach */
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ipc *srv = NULL;
    ck_assert_int_eq(wsf_ipc_open(&srv, zctx, WSF_IPC_CTL_SERVER, ctl_ep), 0);
    wsf_ctl_response *res = xcalloc(sizeof *res);
    wsf_ctl_request req = {.command = WSF_CTL_VERSION};
    long t0 = now_ms();
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, ctl_ep, &req, res, CTL_TIMEOUT_MS), -ETIMEDOUT);
    long elapsed = now_ms() - t0;
    ck_assert_int_ge(elapsed, CTL_TIMEOUT_MS - 50);
    ck_assert_int_lt(elapsed, 2000);
    /* the request did arrive */
    ck_assert(wait_input(srv, WAIT_MS));
    wsf_ctl_request got;
    ck_assert_int_eq(wsf_ipc_recv_ctl_request(srv, &got), 1);
    ck_assert_int_eq(got.command, WSF_CTL_VERSION);
    free(res);
    wsf_ipc_free(srv);
    wsf_ipc_context_free(zctx);
}
END_TEST

Suite *wsf_ipc_suite(void)
{
    Suite *s = suite_create("wsf_ipc");

    TCase *tc = tcase_create("encoding");
    tcase_add_test(tc, hello_round_trip);
    tcase_add_test(tc, hello_zero_fields_round_trip);
    tcase_add_test(tc, report_round_trip);
    tcase_add_test(tc, report_extremes_round_trip);
    tcase_add_test(tc, report_histogram_each_bucket);
    tcase_add_test(tc, report_histogram_other_lengths);
    tcase_add_test(tc, ack_round_trip);
    tcase_add_test(tc, ack_long_error_is_truncated);
    tcase_add_test(tc, worker_msg_without_kind_is_refused);
    tcase_add_test(tc, command_every_kind_round_trip);
    tcase_add_test(tc, command_all_fields_round_trip);
    tcase_add_test(tc, command_unknown_kind_is_none);
    tcase_add_test(tc, command_without_body_is_eproto);
    tcase_add_test(tc, ctl_request_every_command_round_trip);
    tcase_add_test(tc, ctl_request_extremes_round_trip);
    tcase_add_test(tc, ctl_request_autoscale_defaults_round_trip);
    tcase_add_test(tc, ctl_request_unknown_command_is_none);
    tcase_add_test(tc, ctl_response_status_and_max_workers_round_trip);
    tcase_add_test(tc, ctl_response_refusal_round_trip);
    tcase_add_test(tc, ctl_response_too_many_workers_is_capped);
    tcase_add_test(tc, ctl_response_long_breaker_texts_are_truncated);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad input");
    tcase_add_loop_test(tc, undecodable_input_is_eproto, 0,
                        (int)(sizeof garbage / sizeof garbage[0]));
    tcase_add_test(tc, truncated_messages_are_eproto);
    tcase_add_test(tc, wrong_message_type_is_eproto);
    tcase_add_test(tc, small_buffer_is_enospc);
    tcase_add_test(tc, small_buffer_is_not_written);
    tcase_add_test(tc, unknown_fields_are_ignored);
    tcase_add_test(tc, unknown_fields_inside_nested_messages_are_ignored);
    suite_add_tcase(s, tc);

    tc = tcase_create("zeromq");
    tcase_add_checked_fixture(tc, ipc_setup, ipc_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, hello_report_command_exchange);
    tcase_add_test(tc, two_workers_have_distinct_peers);
    tcase_add_test(tc, command_to_unknown_peer_is_ehostunreach);
    tcase_add_test(tc, undecodable_wire_message_is_discarded);
    tcase_add_test(tc, open_errors);
    tcase_add_test(tc, ctl_call_round_trip);
    tcase_add_test(tc, ctl_call_nobody_listening_times_out);
    tcase_add_test(tc, ctl_call_silent_server_times_out);
    suite_add_tcase(s, tc);
    return s;
}
