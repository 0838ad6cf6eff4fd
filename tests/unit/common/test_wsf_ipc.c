/* Unit tests for common/wsf_ipc.c, worker and supervisor messages: every Hello, Report, Ack and
 * Command field survives pack and unpack; then bad input to every decoder: bad bytes give -EPROTO,
 * small buffers -ENOSPC, unknown fields are skipped. The control messages are in
 * test_wsf_ipc_ctl.c, the ZeroMQ exchanges in test_wsf_ipc_zmq.c. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_ipc.h"
#include "wsf_ipc_test_util.h"

Suite *wsf_ipc_suite(void);

/* Packs `in` and unpacks it into `out`, which is first filled with junk so that a field the
 * decoder leaves unset shows up. */
static void worker_msg_round_trip(wsf_worker_msg *out, const wsf_worker_msg *in)
{
    uint8_t buf[2048];
    int n = wsf_ipc_pack_worker_msg(buf, sizeof buf, in);
    ck_assert_int_gt(n, 0);
    memset(out, 0x5a, sizeof *out);
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(out, buf, (size_t)n), 0);
}

/* The same for a Command, which must come back equal to what went in. */
static void assert_command_round_trips(const wsf_command *in)
{
    uint8_t buf[512];
    wsf_command out;
    int n = wsf_ipc_pack_command(buf, sizeof buf, in);
    ck_assert_int_gt(n, 0);
    memset(&out, 0x5a, sizeof out);
    ck_assert_int_eq(wsf_ipc_unpack_command(&out, buf, (size_t)n), 0);
    assert_command_eq(&out, in);
}

/* ---- worker messages ----------------------------------------------------------------------- */

START_TEST(hello_round_trip)
{
    wsf_worker_msg in = {.kind = WSF_WMSG_HELLO}, out;
    in.hello.pid = 0x7fffffff;
    in.hello.slot = 255;
    in.hello.generation = UINT64_MAX;
    worker_msg_round_trip(&out, &in);
    ck_assert_int_eq(out.kind, WSF_WMSG_HELLO);
    ck_assert_uint_eq(out.hello.pid, 0x7fffffff);
    ck_assert_uint_eq(out.hello.slot, 255);
    ck_assert_uint_eq(out.hello.generation, UINT64_MAX);
}
END_TEST

START_TEST(hello_zero_fields_round_trip)
{
    /* proto3 does not send zero values; they must still come back as zero, not as garbage */
    wsf_worker_msg in = {.kind = WSF_WMSG_HELLO}, out;
    worker_msg_round_trip(&out, &in);
    ck_assert_int_eq(out.kind, WSF_WMSG_HELLO);
    ck_assert_uint_eq(out.hello.pid, 0);
    ck_assert_uint_eq(out.hello.slot, 0);
    ck_assert_uint_eq(out.hello.generation, 0);
}
END_TEST

START_TEST(report_round_trip)
{
    wsf_worker_msg in = {.kind = WSF_WMSG_REPORT}, out;
    fill_report(&in.report);
    worker_msg_round_trip(&out, &in);
    ck_assert_int_eq(out.kind, WSF_WMSG_REPORT);
    assert_report_eq(&out.report, &in.report);
}
END_TEST

START_TEST(report_extremes_round_trip)
{
    wsf_worker_msg in = {.kind = WSF_WMSG_REPORT}, out;
    wsf_report *r = &in.report;
    r->pid = UINT32_MAX;
    r->slot = UINT32_MAX;
    r->generation = r->seq = r->connections_opened = r->messages_in = r->bytes_out = UINT64_MAX;
    r->connections_active = r->loop_lag_us = UINT32_MAX;
    r->rss_bytes = r->cpu_time_us = UINT64_MAX;
    r->latency[0] = UINT64_MAX;
    r->latency[WSF_HIST_BUCKETS] = UINT64_MAX - 1;
    worker_msg_round_trip(&out, &in);
    assert_report_eq(&out.report, &in.report);
    ck_assert(!out.report.accepting);
    ck_assert(!out.report.draining);
}
END_TEST

START_TEST(report_histogram_each_bucket)
{
    /* one event in one bucket at a time: a shifted or dropped bucket shows up */
    for (unsigned b = 0; b <= WSF_HIST_BUCKETS; b++) {
        wsf_worker_msg in = {.kind = WSF_WMSG_REPORT}, out;
        in.report.latency[b] = 7;
        worker_msg_round_trip(&out, &in);
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
    worker_msg_round_trip(&out, &in);
    ck_assert_int_eq(out.kind, WSF_WMSG_ACK);
    ck_assert_uint_eq(out.ack.id, in.ack.id);
    ck_assert(!out.ack.ok);
    ck_assert_str_eq(out.ack.error, in.ack.error);

    /* decoded over the refusal above: ok must turn true and the error empty */
    in.ack.ok = true;
    in.ack.error[0] = '\0';
    int n = wsf_ipc_pack_worker_msg(buf, sizeof buf, &in);
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
    pb_version(&ack);
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
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        wsf_command in;
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
        assert_command_round_trips(&in);
    }
}
END_TEST

START_TEST(command_all_fields_round_trip)
{
    wsf_command in;
    memset(&in, 0, sizeof in);
    in.id = UINT64_MAX;
    in.kind = WSF_CMD_FAULT;
    in.drain_ms = UINT32_MAX;
    in.accepting = true;
    in.shed_count = UINT32_MAX;
    memset(in.fault, 'f', sizeof in.fault - 1);
    in.fault_value = -1.0e300;
    assert_command_round_trips(&in);
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

/* Takes the n bytes a pack call has just written to p->b and appends the unknown fields. */
static void pb_packed_plus_unknown(pb_bytes *p, int n)
{
    ck_assert_int_gt(n, 0);
    p->len = (size_t)n;
    pb_unknown_fields(p);
}

START_TEST(unknown_fields_are_ignored)
{
    pb_bytes p = {0};

    wsf_worker_msg hello = {.kind = WSF_WMSG_HELLO}, rep = {.kind = WSF_WMSG_REPORT}, out;
    hello.hello.pid = 11;
    hello.hello.slot = 2;
    hello.hello.generation = 3;
    pb_packed_plus_unknown(&p, wsf_ipc_pack_worker_msg(p.b, sizeof p.b, &hello));
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, p.b, p.len), 0);
    ck_assert_int_eq(out.kind, WSF_WMSG_HELLO);
    ck_assert_uint_eq(out.hello.pid, 11);
    ck_assert_uint_eq(out.hello.slot, 2);
    ck_assert_uint_eq(out.hello.generation, 3);

    fill_report(&rep.report);
    pb_packed_plus_unknown(&p, wsf_ipc_pack_worker_msg(p.b, sizeof p.b, &rep));
    ck_assert_int_eq(wsf_ipc_unpack_worker_msg(&out, p.b, p.len), 0);
    assert_report_eq(&out.report, &rep.report);

    wsf_command cmd = {.id = 8, .kind = WSF_CMD_SHED, .shed_count = 12}, cout;
    pb_packed_plus_unknown(&p, wsf_ipc_pack_command(p.b, sizeof p.b, &cmd));
    ck_assert_int_eq(wsf_ipc_unpack_command(&cout, p.b, p.len), 0);
    assert_command_eq(&cout, &cmd);

    wsf_ctl_request req = {.command = WSF_CTL_DRAIN, .slot = 5}, rout;
    pb_packed_plus_unknown(&p, wsf_ipc_pack_ctl_request(p.b, sizeof p.b, &req));
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
    pb_packed_plus_unknown(&p, wsf_ipc_pack_ctl_response(p.b, sizeof p.b, res));
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
    pb_version(&inner);
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
    pb_version(&inner);
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
    pb_version(&msg);
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
    return s;
}
