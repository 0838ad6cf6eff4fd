/* Unit tests for common/wsf_ipc.c, the control channel: every CtlRequest and CtlResponse field
 * survives pack and unpack, long texts and surplus workers are cut; then wsf_ipc_ctl_call as wsctl
 * makes it, over ipc:// in a temporary directory, to a forked control server, to nobody, and to a
 * server that never answers. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wsf_ipc.h"
#include "wsf_ipc_test_util.h"

Suite *wsf_ipc_ctl_suite(void);

#define CTL_TIMEOUT_MS 300 /* wsf_ipc_ctl_call timeout in the unreachable case */

/* ---- control messages ---------------------------------------------------------------------- */

/* Packs `in` and unpacks it into `out`, which is first filled with junk so that a field the
 * decoder leaves unset shows up. */
static void ctl_request_round_trip(wsf_ctl_request *out, const wsf_ctl_request *in)
{
    static uint8_t buf[2 * WSF_CTL_DATA_MAX];
    int n = wsf_ipc_pack_ctl_request(buf, sizeof buf, in);
    ck_assert_int_gt(n, 0);
    memset(out, 0x5a, sizeof *out);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_request(out, buf, (size_t)n), 0);
}

/* The same for a response, which must come back equal to what went in; the caller frees it. */
static wsf_ctl_response *ctl_response_round_trip(const wsf_ctl_response *in)
{
    uint8_t *buf = xcalloc(BUF_CAP);
    wsf_ctl_response *out = xcalloc(sizeof *out);
    int n = wsf_ipc_pack_ctl_response(buf, BUF_CAP, in);
    ck_assert_int_gt(n, 0);
    memset(out, 0x5a, sizeof *out);
    ck_assert_int_eq(wsf_ipc_unpack_ctl_response(out, buf, (size_t)n), 0);
    assert_response_eq(out, in);
    free(buf);
    return out;
}

START_TEST(ctl_request_every_command_round_trip)
{
    for (int c = WSF_CTL_STATUS; c <= WSF_CTL_ALERTS; c++) {
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
        snprintf(in.channel, sizeof in.channel, "ns:chan%d", c);
        snprintf(in.data, sizeof in.data, "{\"n\":%d}", c);
        in.limit = (uint32_t)c * 5u;
        wsf_ctl_request out;
        ctl_request_round_trip(&out, &in);
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
        ck_assert_str_eq(out.channel, in.channel);
        ck_assert_str_eq(out.data, in.data);
        ck_assert_uint_eq(out.limit, in.limit);
    }
}
END_TEST

START_TEST(ctl_request_largest_publication_round_trip)
{
    static wsf_ctl_request in, out;
    in = (wsf_ctl_request){.command = WSF_CTL_PUBLISH};
    snprintf(in.channel, sizeof in.channel, "%s", "chat:lobby");
    /* a JSON string that fills the data field to its last byte */
    memset(in.data, 'x', sizeof in.data - 1);
    in.data[0] = '"';
    in.data[sizeof in.data - 2] = '"';
    in.data[sizeof in.data - 1] = '\0';
    ctl_request_round_trip(&out, &in);
    ck_assert_int_eq(out.command, WSF_CTL_PUBLISH);
    ck_assert_str_eq(out.channel, "chat:lobby");
    ck_assert_uint_eq(strlen(out.data), sizeof in.data - 1);
    ck_assert_int_eq(memcmp(out.data, in.data, sizeof in.data), 0);
}
END_TEST

START_TEST(ctl_request_extremes_round_trip)
{
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
    ctl_request_round_trip(&out, &in);
    ck_assert_int_eq(out.slot, INT32_MIN);
    ck_assert_uint_eq(out.count, UINT32_MAX);
    ck_assert_uint_eq(out.drain_s, UINT32_MAX);
    ck_assert(out.autoscale_on);
    ck_assert_uint_eq(out.min, UINT32_MAX);
    ck_assert_uint_eq(out.max, UINT32_MAX);
    in.slot = INT32_MAX;
    ctl_request_round_trip(&out, &in);
    ck_assert_int_eq(out.slot, INT32_MAX);
}
END_TEST

START_TEST(ctl_request_autoscale_defaults_round_trip)
{
    /* autoscale off with both bounds unchanged: every new field at its zero value */
    wsf_ctl_request in = {.command = WSF_CTL_AUTOSCALE, .slot = -1}, out;
    ctl_request_round_trip(&out, &in);
    ck_assert_int_eq(out.command, WSF_CTL_AUTOSCALE);
    ck_assert(!out.autoscale_on);
    ck_assert_uint_eq(out.min, 0);
    ck_assert_uint_eq(out.max, 0);
}
END_TEST

START_TEST(ctl_request_unknown_command_is_none)
{
    /* the first command this side does not know, and one far beyond it */
    static const uint64_t unknown[] = {WSF_CTL_CLUSTER + 1, 99};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        pb_bytes req = {0};
        pb_version(&req);
        pb_tag(&req, 2, 0);
        pb_varint(&req, unknown[i]);
        pb_tag(&req, 4, 0);
        pb_varint(&req, 3);
        wsf_ctl_request out;
        ck_assert_int_eq(wsf_ipc_unpack_ctl_request(&out, req.b, req.len), 0);
        ck_assert_int_eq(out.command, WSF_CTL_NONE);
        ck_assert_uint_eq(out.count, 3);
    }
}
END_TEST

START_TEST(ctl_response_status_and_max_workers_round_trip)
{
    wsf_ctl_response *in = full_response();
    free(ctl_response_round_trip(in));
    free(in);
}
END_TEST

START_TEST(ctl_response_refusal_round_trip)
{
    wsf_ctl_response *in = xcalloc(sizeof *in);
    in->ok = false;
    memset(in->error, 'r', sizeof in->error - 1);
    wsf_ctl_response *out = ctl_response_round_trip(in);
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
    pb_bytes version = {0};
    pb_version(&version);
    memcpy(wire, version.b, version.len);
    len = version.len;
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
    pb_version(&msg);
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

/* ---- ZeroMQ: control server and client ----------------------------------------------------- */

static ipc_dir dir;

static void ipc_setup(void)
{
    ipc_dir_make(&dir);
}

static void ipc_teardown(void)
{
    ipc_dir_remove(&dir);
}

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
    if (zctx == NULL || res == NULL || wsf_ipc_open(&srv, zctx, WSF_IPC_CTL_SERVER, dir.ctl) != 0)
        _exit(1);
    if (write(ready_fd, "r", 1) != 1)
        _exit(1);
    close(ready_fd);
    long deadline = now_ms() + test_ms(10000);
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

/* One call to the control socket that must get an answer, ok or not, into res. */
static void call_answered(void *zctx, wsf_ctl_request req, wsf_ctl_response *res)
{
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, dir.ctl, &req, res, 2000), 0);
}

/* One call to the control socket that must give -ETIMEDOUT: not before CTL_TIMEOUT_MS, and not
 * long after it either (a generous bound: the call must not wait on anything else). */
static void call_times_out(void *zctx, wsf_ctl_request req)
{
    wsf_ctl_response *res = xcalloc(sizeof *res);
    long t0 = now_ms();
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, dir.ctl, &req, res, CTL_TIMEOUT_MS), -ETIMEDOUT);
    long elapsed = now_ms() - t0;
    ck_assert_int_ge(elapsed, CTL_TIMEOUT_MS - 50);
    ck_assert_int_lt(elapsed, CTL_TIMEOUT_MS + test_ms(5000));
    free(res);
}

START_TEST(ctl_call_round_trip)
{
    pid_t srv = start_server(7);
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ctl_response *res = xcalloc(sizeof *res), *want = xcalloc(sizeof *want);

    call_answered(zctx, (wsf_ctl_request){.command = WSF_CTL_STATUS}, res);
    ck_assert(res->ok);
    ck_assert(res->has_status);
    fill_status(&want->status);
    assert_status_eq(&res->status, &want->status);
    ck_assert_uint_eq(res->nworkers, 0);
    char version[32];
    snprintf(version, sizeof version, "srv-%d", (int)srv);
    ck_assert_str_eq(res->server_version, version);

    call_answered(zctx, (wsf_ctl_request){.command = WSF_CTL_WORKERS}, res);
    ck_assert(!res->has_status);
    ck_assert_uint_eq(res->nworkers, WSF_CTL_MAX_WORKERS);
    for (uint32_t i = 0; i < WSF_CTL_MAX_WORKERS; i++) {
        fill_worker(&want->workers[i], i);
        assert_worker_eq(&res->workers[i], &want->workers[i]);
    }

    call_answered(zctx, (wsf_ctl_request){.command = WSF_CTL_RESTART, .slot = -1, .rolling = true},
                  res);
    ck_assert(res->ok);
    ck_assert_str_eq(res->message, "cmd=4 slot=-1 count=0 rolling=1 drain=0");

    call_answered(zctx, (wsf_ctl_request){.command = WSF_CTL_SCALE, .count = 65}, res);
    ck_assert(!res->ok);
    ck_assert_str_eq(res->error, "scale 65 above 64");

    call_answered(zctx, (wsf_ctl_request){.command = WSF_CTL_BREAKER_LIST, .slot = -1}, res);
    ck_assert(res->ok);
    ck_assert_uint_eq(res->nworkers, WSF_CTL_MAX_WORKERS);
    for (uint32_t i = 0; i < WSF_CTL_MAX_WORKERS; i++)
        assert_worker_eq(&res->workers[i], &want->workers[i]);

    call_answered(zctx, (wsf_ctl_request){.command = WSF_CTL_BREAKER_TRIP, .slot = 3}, res);
    ck_assert(res->ok);
    ck_assert_str_eq(res->message, "cmd=11 slot=3 count=0 rolling=0 drain=0");

    call_answered(
        zctx,
        (wsf_ctl_request){.command = WSF_CTL_AUTOSCALE, .autoscale_on = true, .min = 2, .max = 9},
        res);
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
    call_times_out(zctx, (wsf_ctl_request){.command = WSF_CTL_STATUS});
    /* the context can still be closed: nothing lingers on the failed call's socket (a linger
     * would block here for good) */
    long t0 = now_ms();
    wsf_ipc_context_free(zctx);
    ck_assert_int_lt(now_ms() - t0, test_ms(5000));
}
END_TEST

START_TEST(ctl_call_silent_server_times_out)
{
    /* bound but never answering: the whole call still ends within the timeout's reach */
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ipc *srv = NULL;
    ck_assert_int_eq(wsf_ipc_open(&srv, zctx, WSF_IPC_CTL_SERVER, dir.ctl), 0);
    call_times_out(zctx, (wsf_ctl_request){.command = WSF_CTL_VERSION});
    /* the request did arrive */
    ck_assert(wait_input(srv, WAIT_MS));
    wsf_ctl_request got;
    ck_assert_int_eq(wsf_ipc_recv_ctl_request(srv, &got), 1);
    ck_assert_int_eq(got.command, WSF_CTL_VERSION);
    wsf_ipc_free(srv);
    wsf_ipc_context_free(zctx);
}
END_TEST

Suite *wsf_ipc_ctl_suite(void)
{
    Suite *s = suite_create("wsf_ipc_ctl");

    TCase *tc = tcase_create("encoding");
    tcase_add_test(tc, ctl_request_every_command_round_trip);
    tcase_add_test(tc, ctl_request_extremes_round_trip);
    tcase_add_test(tc, ctl_request_largest_publication_round_trip);
    tcase_add_test(tc, ctl_request_autoscale_defaults_round_trip);
    tcase_add_test(tc, ctl_request_unknown_command_is_none);
    tcase_add_test(tc, ctl_response_status_and_max_workers_round_trip);
    tcase_add_test(tc, ctl_response_refusal_round_trip);
    tcase_add_test(tc, ctl_response_too_many_workers_is_capped);
    tcase_add_test(tc, ctl_response_long_breaker_texts_are_truncated);
    suite_add_tcase(s, tc);

    tc = tcase_create("zeromq");
    tcase_add_checked_fixture(tc, ipc_setup, ipc_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, ctl_call_round_trip);
    tcase_add_test(tc, ctl_call_nobody_listening_times_out);
    tcase_add_test(tc, ctl_call_silent_server_times_out);
    suite_add_tcase(s, tc);
    return s;
}
