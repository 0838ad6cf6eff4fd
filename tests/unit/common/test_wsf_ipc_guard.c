/* Unit tests for common/wsf_ipc.c's guards on what it receives: every decoder refuses a message of
 * another protocol version (WSF_IPC_EVERSION, output untouched), the recv functions count those
 * refusals with the version seen, and a peer sending a message over WSF_IPC_MAX_WIRE is cut off
 * without the message being delivered while the socket keeps serving. The raw peers here speak
 * ZeroMQ directly, as a foreign or broken process would. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "wsf_ipc.h"
#include "wsf_ipc_test_util.h"

Suite *wsf_ipc_guard_suite(void);

static ipc_dir dir;

static void ipc_setup(void)
{
    ipc_dir_make(&dir);
}

static void ipc_teardown(void)
{
    ipc_dir_remove(&dir);
}

/* A WorkerMessage whose body (field body_field) holds version and pid (field 2) only. */
static void worker_msg_bytes(pb_bytes *msg, unsigned body_field, uint64_t version, uint64_t pid)
{
    pb_bytes inner = {0};
    memset(msg, 0, sizeof *msg);
    if (version != 0) {
        pb_tag(&inner, 1, 0);
        pb_varint(&inner, version);
    }
    pb_tag(&inner, 2, 0);
    pb_varint(&inner, pid);
    pb_sub(msg, body_field, &inner);
}

START_TEST(every_decoder_refuses_another_version)
{
    /* version 2 (a newer peer) and 0 (a peer that sends none) */
    static const uint64_t versions[] = {WSF_PROTO_VERSION + 1, 0};
    for (size_t v = 0; v < 2; v++) {
        for (unsigned body = 1; body <= 3; body++) { /* Hello, Report, Ack */
            pb_bytes msg;
            worker_msg_bytes(&msg, body, versions[v], 5);
            wsf_worker_msg out = {.kind = (enum wsf_worker_msg_kind)99};
            ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, msg.b, msg.len), WSF_IPC_EVERSION);
            ck_assert_int_eq(out.kind, 99); /* untouched */
            worker_msg_bytes(&msg, body, WSF_PROTO_VERSION, 5);
            ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, msg.b, msg.len), 0);
        }

        pb_bytes cmd = {0}, sm = {0};
        if (versions[v] != 0) {
            pb_tag(&cmd, 1, 0);
            pb_varint(&cmd, versions[v]);
        }
        pb_tag(&cmd, 2, 0);
        pb_varint(&cmd, 42);
        pb_sub(&sm, 1, &cmd);
        wsf_command cout = {.id = 7};
        ck_assert_int_eq(wsf_ipc_unpack_command(&cout, sm.b, sm.len), WSF_IPC_EVERSION);
        ck_assert_uint_eq(cout.id, 7);

        pb_bytes req = {0};
        if (versions[v] != 0) {
            pb_tag(&req, 1, 0);
            pb_varint(&req, versions[v]);
        }
        pb_tag(&req, 2, 0);
        pb_varint(&req, WSF_CTL_STATUS);
        wsf_ctl_request rout = {.slot = 3};
        ck_assert_int_eq(wsf_ipc_unpack_ctl_request(&rout, req.b, req.len), WSF_IPC_EVERSION);
        ck_assert_int_eq(rout.slot, 3);

        pb_bytes res = {0};
        if (versions[v] != 0) {
            pb_tag(&res, 1, 0);
            pb_varint(&res, versions[v]);
        }
        pb_tag(&res, 2, 0);
        pb_varint(&res, 1);
        wsf_ctl_response *resout = xcalloc(sizeof *resout);
        ck_assert_int_eq(wsf_ipc_unpack_ctl_response(resout, res.b, res.len), WSF_IPC_EVERSION);
        ck_assert(!resout->ok);
        free(resout);
    }
}
END_TEST

START_TEST(the_largest_legitimate_messages_fit_the_cap_with_room)
{
    /* A response listing every slot with every text at its longest, and a Report: the cap must
     * stay well above them, or a big fleet's status would cut wsctl off. */
    wsf_ctl_response *res = full_response();
    memset(res->error, 'e', sizeof res->error - 1);
    memset(res->message, 'm', sizeof res->message - 1);
    memset(res->server_version, 'v', sizeof res->server_version - 1);
    for (size_t i = 0; i < WSF_CTL_MAX_WORKERS; i++) {
        memset(res->workers[i].state, 's', sizeof res->workers[i].state - 1);
        memset(res->workers[i].breaker, 'b', sizeof res->workers[i].breaker - 1);
    }
    uint8_t *buf = xcalloc(WSF_IPC_MAX_WIRE);
    int n = wsf_ipc_pack_ctl_response(buf, WSF_IPC_MAX_WIRE, res);
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, WSF_IPC_MAX_WIRE / 4);
    wsf_worker_msg rep = {.kind = WSF_WMSG_REPORT};
    fill_report(&rep.report);
    n = wsf_ipc_pack_worker_msg(buf, WSF_IPC_MAX_WIRE, &rep);
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, 4096); /* wsf_ipc_send_worker_msg's buffer */
    free(buf);
    free(res);
}
END_TEST

/* A raw DEALER connected to the supervisor endpoint, as a foreign process would open it. */
static void *raw_dealer(void *zctx)
{
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    ck_assert_ptr_nonnull(s);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    ck_assert_int_eq(zmq_connect(s, dir.workers), 0);
    return s;
}

/* Receives the next worker message within WAIT_MS; returns the recv function's result. */
static int recv_within(wsf_ipc *sup, wsf_worker_msg *out)
{
    wsf_ipc_peer peer;
    ck_assert_msg(wait_input(sup, WAIT_MS), "no worker message within %d ms", WAIT_MS);
    return wsf_ipc_recv_worker_msg(sup, &peer, out);
}

START_TEST(wrong_version_is_refused_counted_and_the_next_message_passes)
{
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ipc *sup = NULL;
    ck_assert_int_eq(wsf_ipc_open(&sup, zctx, WSF_IPC_SUPERVISOR, dir.workers), 0);
    void *raw = raw_dealer(zctx);
    uint32_t seen = 0;
    ck_assert_uint_eq(wsf_ipc_refused(sup, &seen), 0);

    pb_bytes msg;
    worker_msg_bytes(&msg, 1, 7, 1001);
    ck_assert_int_eq(zmq_send(raw, msg.b, msg.len, 0), (int)msg.len);
    worker_msg_bytes(&msg, 2, 9, 1002);
    ck_assert_int_eq(zmq_send(raw, msg.b, msg.len, 0), (int)msg.len);
    worker_msg_bytes(&msg, 1, WSF_PROTO_VERSION, 1003);
    ck_assert_int_eq(zmq_send(raw, msg.b, msg.len, 0), (int)msg.len);

    wsf_worker_msg got;
    ck_assert_int_eq(recv_within(sup, &got), WSF_IPC_EVERSION);
    ck_assert_uint_eq(wsf_ipc_refused(sup, &seen), 1);
    ck_assert_uint_eq(seen, 7);
    ck_assert_int_eq(recv_within(sup, &got), WSF_IPC_EVERSION);
    ck_assert_uint_eq(wsf_ipc_refused(sup, &seen), 2);
    ck_assert_uint_eq(seen, 9);
    ck_assert_int_eq(recv_within(sup, &got), 1);
    ck_assert_int_eq(got.kind, WSF_WMSG_HELLO);
    ck_assert_uint_eq(got.hello.pid, 1003);
    ck_assert_uint_eq(wsf_ipc_refused(sup, &seen), 2);

    zmq_close(raw);
    wsf_ipc_free(sup);
    wsf_ipc_context_free(zctx);
}
END_TEST

START_TEST(a_control_request_of_another_version_is_refused)
{
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ipc *srv = NULL;
    ck_assert_int_eq(wsf_ipc_open(&srv, zctx, WSF_IPC_CTL_SERVER, dir.ctl), 0);
    void *req = zmq_socket(zctx, ZMQ_REQ);
    ck_assert_ptr_nonnull(req);
    int zero = 0;
    zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero);
    ck_assert_int_eq(zmq_connect(req, dir.ctl), 0);
    pb_bytes r = {0};
    pb_tag(&r, 1, 0);
    pb_varint(&r, WSF_PROTO_VERSION + 1);
    pb_tag(&r, 2, 0);
    pb_varint(&r, WSF_CTL_STATUS);
    ck_assert_int_eq(zmq_send(req, r.b, r.len, 0), (int)r.len);
    ck_assert(wait_input(srv, WAIT_MS));
    wsf_ctl_request got;
    ck_assert_int_eq(wsf_ipc_recv_ctl_request(srv, &got), WSF_IPC_EVERSION);
    uint32_t seen;
    ck_assert_uint_eq(wsf_ipc_refused(srv, &seen), 1);
    ck_assert_uint_eq(seen, WSF_PROTO_VERSION + 1);
    zmq_close(req);
    wsf_ipc_free(srv);
    wsf_ipc_context_free(zctx);
}
END_TEST

/* Waits up to WAIT_MS for a ZMQ_EVENT_DISCONNECTED on the monitor PAIR socket mon. */
static bool saw_disconnect(void *mon)
{
    int timeout = WAIT_MS;
    zmq_setsockopt(mon, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, mon, 0) == -1) {
            zmq_msg_close(&ev);
            return false;
        }
        uint16_t event;
        memcpy(&event, zmq_msg_data(&ev), sizeof event);
        bool more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        if (more) {
            zmq_msg_init(&addr);
            zmq_msg_recv(&addr, mon, 0);
            zmq_msg_close(&addr);
        }
        if (event == ZMQ_EVENT_DISCONNECTED)
            return true;
    }
}

START_TEST(an_oversized_message_is_never_delivered_and_the_socket_keeps_working)
{
    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ipc *sup = NULL, *wk = NULL;
    ck_assert_int_eq(wsf_ipc_open(&sup, zctx, WSF_IPC_SUPERVISOR, dir.workers), 0);
    void *raw = raw_dealer(zctx);
    ck_assert_int_eq(zmq_socket_monitor(raw, "inproc://raw-monitor", ZMQ_EVENT_DISCONNECTED), 0);
    void *mon = zmq_socket(zctx, ZMQ_PAIR);
    ck_assert_ptr_nonnull(mon);
    ck_assert_int_eq(zmq_connect(mon, "inproc://raw-monitor"), 0);

    /* A Hello of our version that would decode (pid 666), padded with an unknown field to twice
     * the cap: were it delivered, the supervisor would see pid 666. */
    size_t pad = 2 * (size_t)WSF_IPC_MAX_WIRE;
    pb_bytes head = {0}, inner = {0};
    pb_tag(&inner, 1, 0);
    pb_varint(&inner, WSF_PROTO_VERSION);
    pb_tag(&inner, 2, 0);
    pb_varint(&inner, 666);
    pb_tag(&inner, 99, 2);
    pb_varint(&inner, pad);
    pb_tag(&head, 1, 2);
    pb_varint(&head, inner.len + pad);
    size_t total = head.len + inner.len + pad;
    uint8_t *big = xcalloc(total);
    memcpy(big, head.b, head.len);
    memcpy(big + head.len, inner.b, inner.len);
    wsf_worker_msg got;
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&got, big, total), 0);
    ck_assert_uint_eq(got.hello.pid, 666);
    ck_assert_int_eq(zmq_send(raw, big, total, 0), (int)total);
    free(big);

    /* The supervisor's socket cuts the sender off rather than buffer the message. */
    ck_assert_msg(saw_disconnect(mon), "the oversized sender was not disconnected");

    /* A well-behaved worker is served, and the cut-off peer too once it reconnects; the
     * oversized message never shows up in between. */
    ck_assert_int_eq(wsf_ipc_open(&wk, zctx, WSF_IPC_WORKER, dir.workers), 0);
    wsf_worker_msg hello = {.kind = WSF_WMSG_HELLO};
    hello.hello.pid = 888;
    ck_assert_int_eq(wsf_ipc_send_worker_msg(wk, &hello), 0);
    pb_bytes small;
    worker_msg_bytes(&small, 1, WSF_PROTO_VERSION, 777);
    ck_assert_int_eq(zmq_send(raw, small.b, small.len, 0), (int)small.len);
    bool got888 = false, got777 = false;
    while (!got888 || !got777) {
        ck_assert_int_eq(recv_within(sup, &got), 1);
        ck_assert_int_eq(got.kind, WSF_WMSG_HELLO);
        ck_assert_uint_ne(got.hello.pid, 666);
        got888 |= got.hello.pid == 888;
        got777 |= got.hello.pid == 777;
    }
    wsf_ipc_peer peer;
    ck_assert_int_eq(wsf_ipc_recv_worker_msg(sup, &peer, &got), 0);

    zmq_close(mon);
    zmq_close(raw);
    wsf_ipc_free(wk);
    wsf_ipc_free(sup);
    wsf_ipc_context_free(zctx);
}
END_TEST

Suite *wsf_ipc_guard_suite(void)
{
    Suite *s = suite_create("wsf_ipc_guard");
    TCase *tc = tcase_create("guard");
    tcase_add_checked_fixture(tc, ipc_setup, ipc_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, every_decoder_refuses_another_version);
    tcase_add_test(tc, the_largest_legitimate_messages_fit_the_cap_with_room);
    tcase_add_test(tc, wrong_version_is_refused_counted_and_the_next_message_passes);
    tcase_add_test(tc, a_control_request_of_another_version_is_refused);
    tcase_add_test(tc, an_oversized_message_is_never_delivered_and_the_socket_keeps_working);
    suite_add_tcase(s, tc);
    return s;
}
