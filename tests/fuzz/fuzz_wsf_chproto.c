/* libFuzzer target for the wsfleet.v1 codec: the input is parsed as a client frame by the server
 * parser; every command it accepts is encoded again as a client would and must parse back to the
 * same command, and every error must encode into a reply the client parser reads with the same
 * code and id. The jansson-only parser must give the same entries as the parser with its fast
 * path, and whatever the compact-JSON scanner (wsf_jscan) takes of the input, jansson must read
 * and write back byte for byte. The input is also parsed as a server frame by the client parser,
 * and compacted as outside data, whose compact form must compact to itself. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_chclient.h"
#include "wsf_chenc.h"
#include "wsf_chproto.h"
#include "wsf_jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_wsf_chproto: %s\n", what);
    abort();
}

static bool str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool pos_same(const wsf_ch_pos *a, const wsf_ch_pos *b)
{
    return str_same(a->epoch, b->epoch) && a->offset == b->offset;
}

static bool cmd_same(const wsf_ch_cmd *a, const wsf_ch_cmd *b)
{
    if (a->op != b->op || a->id != b->id || b->err != 0 || !str_same(a->channel, b->channel) ||
        !str_same(a->token, b->token) || !str_same(a->method, b->method) ||
        a->has_since != b->has_since || a->has_limit != b->has_limit || a->limit != b->limit ||
        a->data_len != b->data_len || a->nsubs != b->nsubs)
        return false;
    if (a->has_since && !pos_same(&a->since, &b->since))
        return false;
    if (a->data != NULL && (b->data == NULL || memcmp(a->data, b->data, a->data_len) != 0))
        return false;
    for (size_t i = 0; i < a->nsubs; i++) {
        if (!str_same(a->subs[i].channel, b->subs[i].channel) ||
            a->subs[i].has_since != b->subs[i].has_since ||
            (a->subs[i].has_since && !pos_same(&a->subs[i].since, &b->subs[i].since)))
            return false;
    }
    return true;
}

static void check_command(const wsf_ch_cmd *cmd)
{
    if (cmd->op <= WSF_CH_OP_NONE || cmd->op >= WSF_CH_OP_COUNT || cmd->id == 0 ||
        cmd->id > WSF_CH_MAX_ID)
        fail("accepted command with a bad op or id");
    if (cmd->channel != NULL && !wsf_ch_channel_is_valid(cmd->channel, strlen(cmd->channel)))
        fail("accepted a bad channel name");
    wsf_buf out = {0};
    wsf_ch_enc_cmd(&out, cmd);
    wsf_ch_cmds again;
    wsf_ch_cmds_init(&again);
    wsf_ch_parse_frame(&again, (const char *)out.data + out.off, wsf_buf_pending(&out));
    if (again.n != 1 || !cmd_same(cmd, &again.items[0]))
        fail("a command encoded again parses differently");
    wsf_ch_cmds_fini(&again);
    wsf_buf_fini(&out);
}

static void check_error(const wsf_ch_cmd *cmd)
{
    if (wsf_ch_err_message(cmd->err) == NULL || cmd->err_msg == NULL)
        fail("error outside the table or without a message");
    wsf_buf out = {0};
    wsf_ch_enc_error(&out, cmd->id, cmd->err, cmd->err_msg);
    wsf_ch_msgs m;
    wsf_ch_msgs_init(&m);
    wsf_ch_parse_server(&m, (const char *)out.data + out.off, wsf_buf_pending(&out));
    if (m.n != 1 || m.items[0].kind != WSF_CH_MSG_ERROR || m.items[0].code != cmd->err ||
        m.items[0].id != cmd->id || strcmp(m.items[0].message, cmd->err_msg) != 0)
        fail("an error reply does not read back");
    wsf_ch_msgs_fini(&m);
    wsf_buf_fini(&out);
}

static bool cmd_equal(const wsf_ch_cmd *a, const wsf_ch_cmd *b)
{
    return a->err == b->err && str_same(a->err_msg, b->err_msg) &&
           (a->err != 0 ? a->id == b->id && a->op == b->op : cmd_same(a, b));
}

static void fuzz_server(const char *buf, size_t size)
{
    wsf_ch_cmds c, slow;
    wsf_ch_cmds_init(&c);
    wsf_ch_cmds_init(&slow);
    wsf_ch_parse_frame(&c, buf, size);
    wsf_ch_parse_frame_jansson(&slow, buf, size);
    if (c.n != slow.n)
        fail("the fast path and jansson give different counts of entries");
    for (size_t i = 0; i < c.n; i++) {
        if (!cmd_equal(&c.items[i], &slow.items[i]))
            fail("the fast path and jansson disagree on an entry");
    }
    wsf_ch_cmds_fini(&slow);
    if (c.n > WSF_CH_MAX_OBJECTS + 1)
        fail("more entries than objects allowed");
    for (size_t i = 0; i < c.n; i++) {
        if (c.items[i].err == 0)
            check_command(&c.items[i]);
        else
            check_error(&c.items[i]);
    }
    wsf_ch_cmds_fini(&c);
}

/* The fast path, on one line: what it returns lies inside the line and, when the full parser
 * also reads a publication push there, names the same channel and offset. */
static void check_peek(const char *line, size_t len, const wsf_ch_msg *msg)
{
    wsf_ch_peek pk;
    if (!wsf_ch_peek_push(&pk, line, len))
        return;
    if (pk.channel < line || pk.channel + pk.channel_len > line + len || pk.data < line ||
        pk.data + pk.data_len > line + len || pk.data_len == 0 || pk.offset > WSF_CH_MAX_ID)
        fail("peek returned something outside the line");
    if (msg->kind == WSF_CH_MSG_PUSH_PUB &&
        (pk.offset != msg->pub.offset || strlen(msg->channel) != pk.channel_len ||
         memcmp(msg->channel, pk.channel, pk.channel_len) != 0))
        fail("peek and the parser disagree");
}

static void fuzz_client(const char *buf, size_t size)
{
    wsf_ch_msgs m;
    wsf_ch_msgs_init(&m);
    wsf_ch_parse_server(&m, buf, size);
    size_t pos = 0;
    size_t k = 0;
    const char *line;
    size_t len;
    while (wsf_ch_next_line(buf, size, &pos, &line, &len)) {
        if (k >= m.n)
            fail("fewer entries than lines");
        const wsf_ch_msg *msg = &m.items[k++];
        if (msg->kind == WSF_CH_MSG_INVALID && msg->message == NULL)
            fail("invalid server object without a reason");
        if (msg->kind == WSF_CH_MSG_PUSH_PUB && (msg->channel == NULL || msg->pub.data == NULL))
            fail("publication push without channel or data");
        check_peek(line, len, msg);
    }
    if (k != m.n)
        fail("more entries than lines");
    wsf_ch_msgs_fini(&m);
}

static void fuzz_compact(const char *buf, size_t size)
{
    wsf_buf once = {0};
    wsf_buf twice = {0};
    if (wsf_ch_data_compact(&once, buf, size) == 0) {
        size_t n = wsf_buf_pending(&once);
        const char *p = (const char *)once.data + once.off;
        if (wsf_ch_data_compact(&twice, p, n) != 0 || wsf_buf_pending(&twice) != n ||
            memcmp(twice.data + twice.off, p, n) != 0)
            fail("compact data does not compact to itself");
    }
    wsf_buf_fini(&once);
    wsf_buf_fini(&twice);
}

static void fuzz_scan(const char *buf, size_t size)
{
    wsf_jmember m[WSF_JSCAN_MAX_KEYS];
    int n = wsf_jscan_object(m, WSF_JSCAN_MAX_KEYS, buf, size, WSF_CH_MAX_DEPTH);
    if (n < 0)
        return;
    json_t *doc = json_loadb(buf, size, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL || json_object_size(doc) != (size_t)n)
        fail("jansson refuses or reads otherwise what the scanner took");
    char *again = json_dumps(doc, JSON_COMPACT);
    if (again == NULL || strlen(again) != size || memcmp(again, buf, size) != 0)
        fail("jansson writes back otherwise what the scanner took");
    free(again);
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so that ASan catches any read past the end. */
    char *buf = malloc(size == 0 ? 1 : size);
    if (buf == NULL)
        abort();
    if (size > 0)
        memcpy(buf, data, size);
    fuzz_scan(buf, size);
    fuzz_server(buf, size);
    fuzz_client(buf, size);
    fuzz_compact(buf, size);
    free(buf);
    return 0;
}
