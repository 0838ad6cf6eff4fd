/* Unit tests for common/wsf_ipc.c over real ZeroMQ sockets on ipc:// endpoints in a temporary
 * directory: worker DEALERs and the supervisor ROUTER exchange Hello, Report, Command and Ack; a
 * command to a gone worker is refused; undecodable input is discarded; bad endpoints fail to open.
 * The control channel is in test_wsf_ipc_ctl.c. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsf_ipc.h"
#include "wsf_ipc_test_util.h"

Suite *wsf_ipc_zmq_suite(void);

static ipc_dir dir;

static void ipc_setup(void)
{
    ipc_dir_make(&dir);
}

static void ipc_teardown(void)
{
    ipc_dir_remove(&dir);
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
    ck_assert_int_eq(wsf_ipc_open(&sup, zctx, WSF_IPC_SUPERVISOR, dir.workers), 0);
    ck_assert_int_eq(wsf_ipc_open(&wk, zctx, WSF_IPC_WORKER, dir.workers), 0);
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
    ck_assert_int_eq(wsf_ipc_open(&sup, zctx, WSF_IPC_SUPERVISOR, dir.workers), 0);
    wsf_ipc_peer peers[2];
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_int_eq(wsf_ipc_open(&wk[i], zctx, WSF_IPC_WORKER, dir.workers), 0);
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
    ck_assert_int_eq(wsf_ipc_open(&sup, zctx, WSF_IPC_SUPERVISOR, dir.workers), 0);
    wsf_command cmd = {.id = 1, .kind = WSF_CMD_PING};
    wsf_ipc_peer nobody = {.id = "no such worker", .len = 14};
    ck_assert_int_eq(wsf_ipc_send_command(sup, &nobody, &cmd), -EHOSTUNREACH);

    /* a worker that was connected and went away becomes unreachable too */
    ck_assert_int_eq(wsf_ipc_open(&wk, zctx, WSF_IPC_WORKER, dir.workers), 0);
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
    ck_assert_int_eq(wsf_ipc_open(&wk, zctx, WSF_IPC_WORKER, dir.workers), 0);
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
    ck_assert_int_eq(wsf_ipc_open(&sup, zctx, WSF_IPC_SUPERVISOR, dir.workers), 0);
    wsf_ctl_request req = {.command = WSF_CTL_STATUS};
    wsf_ctl_response *res = xcalloc(sizeof *res);
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, dir.workers, &req, res, 200), -ETIMEDOUT);
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
    ck_assert_int_eq(wsf_ipc_open(&a, zctx, WSF_IPC_SUPERVISOR, dir.workers), 0);
    /* (A second bind on the same ipc:// path is not refused: libzmq unlinks the file and takes
     * the path over, which is why wsfleetd probes the control socket before binding.) */
    char missing[192];
    snprintf(missing, sizeof missing, "ipc://%s/no/such/dir/sock", dir.path);
    ck_assert_int_lt(wsf_ipc_open(&b, zctx, WSF_IPC_SUPERVISOR, missing), 0);
    ck_assert_int_lt(wsf_ipc_open(&b, zctx, WSF_IPC_WORKER, "bogus://x"), 0);
    ck_assert_ptr_eq(b, (wsf_ipc *)&b); /* *out is left alone on failure */
    wsf_ipc_free(a);
    wsf_ipc_free(NULL);
    wsf_ipc_context_free(zctx);
    wsf_ipc_context_free(NULL);
}
END_TEST

Suite *wsf_ipc_zmq_suite(void)
{
    Suite *s = suite_create("wsf_ipc_zmq");
    TCase *tc = tcase_create("zeromq");
    tcase_add_checked_fixture(tc, ipc_setup, ipc_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, hello_report_command_exchange);
    tcase_add_test(tc, two_workers_have_distinct_peers);
    tcase_add_test(tc, command_to_unknown_peer_is_ehostunreach);
    tcase_add_test(tc, undecodable_wire_message_is_discarded);
    tcase_add_test(tc, open_errors);
    suite_add_tcase(s, tc);
    return s;
}
