/* Unit tests for common/wsf_chproto.c: framing, every command, every error the parser gives (with
 * or without the id), the error table, connect-first and the abuse policy. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "wsf_chproto.h"

Suite *wsf_chproto_suite(void);

/* Parses s as one frame into c (initialised here). */
static void parse(wsf_ch_cmds *c, const char *s)
{
    wsf_ch_cmds_init(c);
    wsf_ch_parse_frame(c, s, strlen(s));
}

/* The single entry of a one-object frame. */
static const wsf_ch_cmd *parse1(wsf_ch_cmds *c, const char *s)
{
    parse(c, s);
    ck_assert_msg(c->n == 1, "%s: %zu entries", s, c->n);
    return &c->items[0];
}

static void assert_data(const wsf_ch_cmd *cmd, const char *want)
{
    ck_assert_ptr_nonnull(cmd->data);
    ck_assert_uint_eq(cmd->data_len, strlen(want));
    ck_assert_mem_eq(cmd->data, want, strlen(want));
}

START_TEST(connect_full)
{
    wsf_ch_cmds c;
    const wsf_ch_cmd *cmd =
        parse1(&c, "{\"id\":1,\"connect\":{\"token\":\"T.K.N\",\"data\":{\"a\": [1, 2.5, \"x\"]},"
                   "\"subs\":{\"news\":{\"epoch\":\"E1\",\"offset\":41},\"chat:lobby\":{}}}}");
    ck_assert_int_eq(cmd->err, 0);
    ck_assert_int_eq(cmd->op, WSF_CH_OP_CONNECT);
    ck_assert_uint_eq(cmd->id, 1);
    ck_assert_str_eq(cmd->token, "T.K.N");
    assert_data(cmd, "{\"a\":[1,2.5,\"x\"]}");
    ck_assert_uint_eq(cmd->nsubs, 2);
    ck_assert_str_eq(cmd->subs[0].channel, "news");
    ck_assert(cmd->subs[0].has_since);
    ck_assert_str_eq(cmd->subs[0].since.epoch, "E1");
    ck_assert_uint_eq(cmd->subs[0].since.offset, 41);
    ck_assert_str_eq(cmd->subs[1].channel, "chat:lobby");
    ck_assert(!cmd->subs[1].has_since);
    wsf_ch_cmds_fini(&c);
}
END_TEST

START_TEST(connect_empty)
{
    wsf_ch_cmds c;
    const wsf_ch_cmd *cmd = parse1(&c, "{\"id\":9007199254740991,\"connect\":{}}");
    ck_assert_int_eq(cmd->err, 0);
    ck_assert_int_eq(cmd->op, WSF_CH_OP_CONNECT);
    ck_assert_uint_eq(cmd->id, WSF_CH_MAX_ID);
    ck_assert_ptr_null(cmd->token);
    ck_assert_ptr_null(cmd->data);
    ck_assert_uint_eq(cmd->nsubs, 0);
    wsf_ch_cmds_fini(&c);
}
END_TEST

START_TEST(every_other_command)
{
    wsf_ch_cmds c;
    parse(&c, "{\"id\":2,\"subscribe\":{\"channel\":\"chat:lobby\",\"since\":{\"epoch\":\"E\","
              "\"offset\":12}}}\n"
              "{\"id\":3,\"subscribe\":{\"channel\":\"a-b_c.d@e:f\"}}\n"
              "{\"id\":4,\"unsubscribe\":{\"channel\":\"chat:lobby\"}}\n"
              "{\"id\":5,\"publish\":{\"channel\":\"chat:lobby\",\"data\":null}}\n"
              "{\"id\":6,\"history\":{\"channel\":\"news\",\"limit\":50}}\n"
              "{\"id\":7,\"history\":{\"channel\":\"news\"}}\n"
              "{\"id\":8,\"rpc\":{\"method\":\"m\",\"data\":\"s\"}}\n"
              "{\"id\":9,\"rpc\":{\"method\":\"m\"}}\n"
              "{\"id\":10,\"refresh\":{\"token\":\"JWT\"}}\n"
              "{\"id\":11,\"presence\":{\"channel\":\"chat:lobby\",\"unknown\":true}}\n");
    ck_assert_uint_eq(c.n, 10);
    for (size_t i = 0; i < c.n; i++) {
        ck_assert_int_eq(c.items[i].err, 0);
        ck_assert_uint_eq(c.items[i].id, i + 2);
    }
    const wsf_ch_cmd *s = &c.items[0];
    ck_assert_int_eq(s->op, WSF_CH_OP_SUBSCRIBE);
    ck_assert_str_eq(s->channel, "chat:lobby");
    ck_assert(s->has_since);
    ck_assert_str_eq(s->since.epoch, "E");
    ck_assert_uint_eq(s->since.offset, 12);
    ck_assert(!c.items[1].has_since);
    ck_assert_str_eq(c.items[1].channel, "a-b_c.d@e:f");
    ck_assert_int_eq(c.items[2].op, WSF_CH_OP_UNSUBSCRIBE);
    ck_assert_int_eq(c.items[3].op, WSF_CH_OP_PUBLISH);
    assert_data(&c.items[3], "null");
    ck_assert_int_eq(c.items[4].op, WSF_CH_OP_HISTORY);
    ck_assert(c.items[4].has_limit);
    ck_assert_uint_eq(c.items[4].limit, 50);
    ck_assert(!c.items[5].has_limit);
    ck_assert_int_eq(c.items[6].op, WSF_CH_OP_RPC);
    ck_assert_str_eq(c.items[6].method, "m");
    assert_data(&c.items[6], "\"s\"");
    ck_assert_ptr_null(c.items[7].data);
    ck_assert_int_eq(c.items[8].op, WSF_CH_OP_REFRESH);
    ck_assert_str_eq(c.items[8].token, "JWT");
    ck_assert_int_eq(c.items[9].op, WSF_CH_OP_PRESENCE);
    ck_assert_str_eq(c.items[9].channel, "chat:lobby");
    wsf_ch_cmds_fini(&c);
}
END_TEST

START_TEST(framing)
{
    wsf_ch_cmds c;
    /* \r\n, blank lines and a trailing \n are fine; entries keep their order. */
    parse(
        &c,
        "\n{\"id\":1,\"connect\":{}}\r\n \t\r\n\r\n{\"id\":2,\"presence\":{\"channel\":\"x\"}}\n");
    ck_assert_uint_eq(c.n, 2);
    ck_assert_int_eq(c.items[0].op, WSF_CH_OP_CONNECT);
    ck_assert_int_eq(c.items[1].op, WSF_CH_OP_PRESENCE);
    ck_assert_int_eq(c.items[1].err, 0);
    wsf_ch_cmds_fini(&c);

    parse(&c, "");
    ck_assert_uint_eq(c.n, 0);
    wsf_ch_cmds_fini(&c);
    parse(&c, "\n\r\n  \n");
    ck_assert_uint_eq(c.n, 0);
    wsf_ch_cmds_fini(&c);

    /* An error in the middle does not stop the others. */
    parse(&c, "{\"id\":1,\"connect\":{}}\n{nope\n{\"id\":3,\"presence\":{\"channel\":\"x\"}}");
    ck_assert_uint_eq(c.n, 3);
    ck_assert_int_eq(c.items[0].err, 0);
    ck_assert_int_eq(c.items[1].err, WSF_CH_ERR_BAD_REQUEST);
    ck_assert_int_eq(c.items[2].err, 0);
    ck_assert_uint_eq(c.items[2].id, 3);
    wsf_ch_cmds_fini(&c);

    /* A frame without NUL: parsing stops at len. */
    const char *two = "{\"id\":1,\"connect\":{}}\n{\"id\":2,";
    wsf_ch_cmds_init(&c);
    wsf_ch_parse_frame(&c, two, strlen("{\"id\":1,\"connect\":{}}"));
    ck_assert_uint_eq(c.n, 1);
    wsf_ch_cmds_fini(&c);
}
END_TEST

START_TEST(too_many_objects)
{
    char frame[WSF_CH_MAX_OBJECTS * 40 + 100];
    size_t n = 0;
    for (int i = 1; i <= WSF_CH_MAX_OBJECTS + 5; i++)
        n += (size_t)snprintf(frame + n, sizeof frame - n, "{\"id\":%d,\"connect\":{}}\n", i);
    wsf_ch_cmds c;
    wsf_ch_cmds_init(&c);
    wsf_ch_parse_frame(&c, frame, n);
    ck_assert_uint_eq(c.n, WSF_CH_MAX_OBJECTS + 1);
    ck_assert_int_eq(c.items[WSF_CH_MAX_OBJECTS - 1].err, 0);
    ck_assert_int_eq(c.items[WSF_CH_MAX_OBJECTS].err, WSF_CH_ERR_LIMIT_EXCEEDED);
    ck_assert_uint_eq(c.items[WSF_CH_MAX_OBJECTS].id, 0);
    wsf_ch_cmds_fini(&c);
}
END_TEST

/* One malformed object: the error code, and the id when the parser could read it. */
typedef struct bad_case {
    const char *json;
    int code;
    uint64_t id;
} bad_case;

static const bad_case bad_cases[] = {
    /* Not JSON, not an object, duplicate keys. */
    {"{nope", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":1,\"connect\":{}} trailing", WSF_CH_ERR_BAD_REQUEST, 0},
    {"[1,2]", WSF_CH_ERR_BAD_REQUEST, 0},
    {"\"str\"", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":1,\"id\":2,\"connect\":{}}", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":1,\"connect\":{\"token\":\"a\",\"token\":\"b\"}}", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":1,\"connect\":{\"token\":\"\\u0000\"}}", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":1,\"publish\":{\"channel\":\"c\",\"data\":123456789012345678901234}}",
     WSF_CH_ERR_BAD_REQUEST, 0},
    /* Ids. */
    {"{\"connect\":{}}", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":0,\"connect\":{}}", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":-1,\"connect\":{}}", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":1.0,\"connect\":{}}", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":\"1\",\"connect\":{}}", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":9007199254740992,\"connect\":{}}", WSF_CH_ERR_BAD_REQUEST, 0},
    {"{\"id\":null,\"connect\":{}}", WSF_CH_ERR_BAD_REQUEST, 0},
    /* The command key. */
    {"{\"id\":5}", WSF_CH_ERR_BAD_REQUEST, 5},
    {"{\"id\":5,\"connect\":{},\"publish\":{}}", WSF_CH_ERR_BAD_REQUEST, 5},
    {"{\"id\":5,\"fly\":{}}", WSF_CH_ERR_UNKNOWN_COMMAND, 5},
    {"{\"id\":5,\"Connect\":{}}", WSF_CH_ERR_UNKNOWN_COMMAND, 5},
    {"{\"id\":5,\"connect\":[]}", WSF_CH_ERR_BAD_REQUEST, 5},
    {"{\"id\":5,\"subscribe\":\"news\"}", WSF_CH_ERR_BAD_REQUEST, 5},
    /* connect. */
    {"{\"id\":6,\"connect\":{\"token\":7}}", WSF_CH_ERR_BAD_REQUEST, 6},
    {"{\"id\":6,\"connect\":{\"subs\":[]}}", WSF_CH_ERR_BAD_REQUEST, 6},
    {"{\"id\":6,\"connect\":{\"subs\":{\"bad name\":{}}}}", WSF_CH_ERR_BAD_CHANNEL, 6},
    {"{\"id\":6,\"connect\":{\"subs\":{\"\":{}}}}", WSF_CH_ERR_BAD_CHANNEL, 6},
    {"{\"id\":6,\"connect\":{\"subs\":{\"n\":1}}}", WSF_CH_ERR_BAD_REQUEST, 6},
    {"{\"id\":6,\"connect\":{\"subs\":{\"n\":{\"epoch\":\"E\"}}}}", WSF_CH_ERR_BAD_REQUEST, 6},
    {"{\"id\":6,\"connect\":{\"subs\":{\"n\":{\"offset\":1}}}}", WSF_CH_ERR_BAD_REQUEST, 6},
    /* subscribe. */
    {"{\"id\":7,\"subscribe\":{}}", WSF_CH_ERR_BAD_REQUEST, 7},
    {"{\"id\":7,\"subscribe\":{\"channel\":5}}", WSF_CH_ERR_BAD_CHANNEL, 7},
    {"{\"id\":7,\"subscribe\":{\"channel\":\"\"}}", WSF_CH_ERR_BAD_CHANNEL, 7},
    {"{\"id\":7,\"subscribe\":{\"channel\":\"a/b\"}}", WSF_CH_ERR_BAD_CHANNEL, 7},
    {"{\"id\":7,\"subscribe\":{\"channel\":\"caf\\u00e9\"}}", WSF_CH_ERR_BAD_CHANNEL, 7},
    {"{\"id\":7,\"subscribe\":{\"channel\":\"n\",\"since\":null}}", WSF_CH_ERR_BAD_REQUEST, 7},
    {"{\"id\":7,\"subscribe\":{\"channel\":\"n\",\"since\":{\"epoch\":1,\"offset\":1}}}",
     WSF_CH_ERR_BAD_REQUEST, 7},
    {"{\"id\":7,\"subscribe\":{\"channel\":\"n\",\"since\":{\"epoch\":\"E\",\"offset\":-1}}}",
     WSF_CH_ERR_BAD_REQUEST, 7},
    {"{\"id\":7,\"subscribe\":{\"channel\":\"n\",\"since\":{\"epoch\":\"E\",\"offset\":1.5}}}",
     WSF_CH_ERR_BAD_REQUEST, 7},
    {"{\"id\":7,\"subscribe\":{\"channel\":\"n\",\"since\":{\"epoch\":\"E\",\"offset\":"
     "9007199254740992}}}",
     WSF_CH_ERR_BAD_REQUEST, 7},
    /* unsubscribe, presence. */
    {"{\"id\":8,\"unsubscribe\":{}}", WSF_CH_ERR_BAD_REQUEST, 8},
    {"{\"id\":8,\"presence\":{\"channel\":\"#\"}}", WSF_CH_ERR_BAD_CHANNEL, 8},
    /* publish. */
    {"{\"id\":9,\"publish\":{\"channel\":\"n\"}}", WSF_CH_ERR_BAD_REQUEST, 9},
    {"{\"id\":9,\"publish\":{\"data\":1}}", WSF_CH_ERR_BAD_REQUEST, 9},
    /* history. */
    {"{\"id\":10,\"history\":{\"channel\":\"n\",\"limit\":-1}}", WSF_CH_ERR_BAD_REQUEST, 10},
    {"{\"id\":10,\"history\":{\"channel\":\"n\",\"limit\":\"5\"}}", WSF_CH_ERR_BAD_REQUEST, 10},
    {"{\"id\":10,\"history\":{\"channel\":\"n\",\"limit\":100001}}", WSF_CH_ERR_LIMIT_EXCEEDED, 10},
    /* rpc. */
    {"{\"id\":11,\"rpc\":{}}", WSF_CH_ERR_BAD_REQUEST, 11},
    {"{\"id\":11,\"rpc\":{\"method\":\"\"}}", WSF_CH_ERR_BAD_REQUEST, 11},
    {"{\"id\":11,\"rpc\":{\"method\":[]}}", WSF_CH_ERR_BAD_REQUEST, 11},
    /* refresh. */
    {"{\"id\":12,\"refresh\":{}}", WSF_CH_ERR_BAD_REQUEST, 12},
    {"{\"id\":12,\"refresh\":{\"token\":false}}", WSF_CH_ERR_BAD_REQUEST, 12},
};

START_TEST(bad_object)
{
    const bad_case *b = &bad_cases[_i];
    wsf_ch_cmds c;
    const wsf_ch_cmd *cmd = parse1(&c, b->json);
    ck_assert_msg(cmd->err == b->code, "%s: error %d, want %d", b->json, cmd->err, b->code);
    ck_assert_msg(cmd->id == b->id, "%s: id %llu, want %llu", b->json, (unsigned long long)cmd->id,
                  (unsigned long long)b->id);
    ck_assert_ptr_nonnull(cmd->err_msg);
    ck_assert_ptr_null(cmd->channel);
    ck_assert_ptr_null(cmd->data);
    ck_assert_uint_eq(cmd->nsubs, 0);
    wsf_ch_cmds_fini(&c);
}
END_TEST

/* An rpc whose data nests so that the whole object is depth levels deep. */
static void deep_rpc(char *out, size_t cap, int depth)
{
    size_t n = (size_t)snprintf(out, cap, "{\"id\":1,\"rpc\":{\"method\":\"m\",\"data\":");
    for (int i = 0; i < depth - 2; i++)
        out[n++] = '[';
    for (int i = 0; i < depth - 2; i++)
        out[n++] = ']';
    snprintf(out + n, cap - n, "}}");
}

START_TEST(limits_at_the_edge)
{
    char name[WSF_CH_MAX_CHANNEL + 2];
    memset(name, 'a', sizeof name);
    name[WSF_CH_MAX_CHANNEL] = '\0';
    char json[600];
    wsf_ch_cmds c;
    snprintf(json, sizeof json, "{\"id\":1,\"subscribe\":{\"channel\":\"%s\"}}", name);
    ck_assert_int_eq(parse1(&c, json)->err, 0);
    wsf_ch_cmds_fini(&c);
    name[WSF_CH_MAX_CHANNEL] = 'a';
    name[WSF_CH_MAX_CHANNEL + 1] = '\0';
    snprintf(json, sizeof json, "{\"id\":1,\"subscribe\":{\"channel\":\"%s\"}}", name);
    ck_assert_int_eq(parse1(&c, json)->err, WSF_CH_ERR_BAD_CHANNEL);
    wsf_ch_cmds_fini(&c);

    ck_assert_int_eq(
        parse1(&c, "{\"id\":1,\"history\":{\"channel\":\"n\",\"limit\":100000}}")->limit, 100000);
    wsf_ch_cmds_fini(&c);
    ck_assert_int_eq(parse1(&c, "{\"id\":1,\"history\":{\"channel\":\"n\",\"limit\":0}}")->err, 0);
    wsf_ch_cmds_fini(&c);

    /* Nesting: WSF_CH_MAX_DEPTH levels pass, one more is refused before jansson sees it. */
    char deep[200];
    deep_rpc(deep, sizeof deep, WSF_CH_MAX_DEPTH);
    ck_assert_int_eq(parse1(&c, deep)->err, 0);
    wsf_ch_cmds_fini(&c);
    deep_rpc(deep, sizeof deep, WSF_CH_MAX_DEPTH + 1);
    ck_assert_int_eq(parse1(&c, deep)->err, WSF_CH_ERR_BAD_REQUEST);
    wsf_ch_cmds_fini(&c);

    /* Brackets inside strings do not count. */
    ck_assert(wsf_ch_depth_ok("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}", 45));
}
END_TEST

START_TEST(too_many_subs)
{
    char json[WSF_CH_MAX_SUBS * 16 + 64];
    size_t n = (size_t)snprintf(json, sizeof json, "{\"id\":4,\"connect\":{\"subs\":{");
    for (int i = 0; i <= WSF_CH_MAX_SUBS; i++)
        n += (size_t)snprintf(json + n, sizeof json - n, "%s\"c%d\":{}", i ? "," : "", i);
    snprintf(json + n, sizeof json - n, "}}}");
    wsf_ch_cmds c;
    const wsf_ch_cmd *cmd = parse1(&c, json);
    ck_assert_int_eq(cmd->err, WSF_CH_ERR_LIMIT_EXCEEDED);
    ck_assert_uint_eq(cmd->id, 4);
    ck_assert_int_eq(cmd->op, WSF_CH_OP_CONNECT);
    wsf_ch_cmds_fini(&c);
}
END_TEST

START_TEST(duplicate_id_in_a_frame)
{
    wsf_ch_cmds c;
    parse(&c, "{\"id\":1,\"connect\":{}}\n{\"id\":2,\"presence\":{\"channel\":\"x\"}}\n"
              "{\"id\":1,\"presence\":{\"channel\":\"y\"}}\n{\"id\":2,\"fly\":{}}");
    ck_assert_uint_eq(c.n, 4);
    ck_assert_int_eq(c.items[2].err, WSF_CH_ERR_DUPLICATE_ID);
    ck_assert_uint_eq(c.items[2].id, 1);
    /* The unknown command is reported as such even though its id repeats. */
    ck_assert_int_eq(c.items[3].err, WSF_CH_ERR_UNKNOWN_COMMAND);
    /* A second frame parsed into the same list does not see the first one's ids. */
    const char *again = "{\"id\":1,\"presence\":{\"channel\":\"x\"}}";
    wsf_ch_parse_frame(&c, again, strlen(again));
    ck_assert_uint_eq(c.n, 5);
    ck_assert_int_eq(c.items[4].err, 0);
    wsf_ch_cmds_fini(&c);
}
END_TEST

START_TEST(error_table)
{
    ck_assert_str_eq(wsf_ch_err_message(WSF_CH_ERR_NOT_AVAILABLE), "not available");
    ck_assert_int_eq(WSF_CH_ERR_NOT_AVAILABLE, 108);
    ck_assert_str_eq(wsf_ch_err_name(107), "BAD_REQUEST");
    ck_assert_ptr_null(wsf_ch_err_message(99));
    ck_assert_ptr_null(wsf_ch_err_message(116));
    ck_assert_ptr_null(wsf_ch_err_name(0));
    /* Every code from 100 to 115 has a name and a message, and the names are distinct. */
    for (int code = 100; code <= 115; code++) {
        ck_assert_ptr_nonnull(wsf_ch_err_message(code));
        for (int other = 100; other < code; other++)
            ck_assert_str_ne(wsf_ch_err_name(code), wsf_ch_err_name(other));
    }
    ck_assert(wsf_ch_err_is_abuse(WSF_CH_ERR_BAD_REQUEST));
    ck_assert(wsf_ch_err_is_abuse(WSF_CH_ERR_NOT_CONNECTED));
    ck_assert(!wsf_ch_err_is_abuse(WSF_CH_ERR_NOT_AVAILABLE));
    ck_assert(!wsf_ch_err_is_abuse(WSF_CH_ERR_PERMISSION_DENIED));
    ck_assert(!wsf_ch_err_is_abuse(0));
    ck_assert_str_eq(wsf_ch_op_name(WSF_CH_OP_PRESENCE), "presence");
    ck_assert_ptr_null(wsf_ch_op_name(WSF_CH_OP_NONE));
    ck_assert_ptr_null(wsf_ch_op_name(WSF_CH_OP_COUNT));
}
END_TEST

START_TEST(session_connect_first)
{
    wsf_ch_session s;
    wsf_ch_session_init(&s);
    wsf_ch_cmd sub = {.op = WSF_CH_OP_SUBSCRIBE, .id = 1};
    wsf_ch_cmd conn = {.op = WSF_CH_OP_CONNECT, .id = 2};
    ck_assert_int_eq(wsf_ch_session_check(&s, &sub), WSF_CH_ERR_NOT_CONNECTED);
    ck_assert_int_eq(wsf_ch_session_check(&s, &conn), 0);
    ck_assert_int_eq(wsf_ch_session_check(&s, &sub), 0);
    conn.id = 3;
    ck_assert_int_eq(wsf_ch_session_check(&s, &conn), WSF_CH_ERR_ALREADY_CONNECTED);
    wsf_ch_session_done(&s, 2);
    ck_assert_int_eq(wsf_ch_session_check(&s, &conn), WSF_CH_ERR_ALREADY_CONNECTED);
    wsf_ch_session_done(&s, 1);
    ck_assert_ptr_null(s.ids);
    wsf_ch_session_fini(&s);
}
END_TEST

START_TEST(session_ids_in_flight)
{
    wsf_ch_session s;
    wsf_ch_session_init(&s);
    wsf_ch_cmd cmd = {.op = WSF_CH_OP_CONNECT, .id = 1};
    ck_assert_int_eq(wsf_ch_session_check(&s, &cmd), 0);
    cmd.op = WSF_CH_OP_PUBLISH;
    /* The connect's id is in flight until it is answered. */
    ck_assert_int_eq(wsf_ch_session_check(&s, &cmd), WSF_CH_ERR_DUPLICATE_ID);
    wsf_ch_session_done(&s, 1);
    ck_assert_int_eq(wsf_ch_session_check(&s, &cmd), 0);
    wsf_ch_session_done(&s, 1);
    /* Up to the cap in flight, then 106; answering one makes room; the state is freed when idle. */
    for (uint64_t id = 10; id < 10 + WSF_CH_MAX_INFLIGHT; id++) {
        cmd.id = id;
        ck_assert_int_eq(wsf_ch_session_check(&s, &cmd), 0);
    }
    cmd.id = 5;
    ck_assert_int_eq(wsf_ch_session_check(&s, &cmd), WSF_CH_ERR_LIMIT_EXCEEDED);
    cmd.id = 10 + WSF_CH_MAX_INFLIGHT - 1;
    ck_assert_int_eq(wsf_ch_session_check(&s, &cmd), WSF_CH_ERR_DUPLICATE_ID);
    wsf_ch_session_done(&s, 20);
    wsf_ch_session_done(&s, 999); /* not in flight: nothing happens */
    cmd.id = 5;
    ck_assert_int_eq(wsf_ch_session_check(&s, &cmd), 0);
    cmd.id = 20;
    ck_assert_int_eq(wsf_ch_session_check(&s, &cmd), WSF_CH_ERR_LIMIT_EXCEEDED);
    for (uint64_t id = 10; id < 10 + WSF_CH_MAX_INFLIGHT; id++)
        wsf_ch_session_done(&s, id);
    ck_assert_uint_eq(s.n, 1);
    wsf_ch_session_done(&s, 5);
    ck_assert_uint_eq(s.n, 0);
    ck_assert_ptr_null(s.ids);
    ck_assert_uint_le(sizeof s, 16);
    wsf_ch_session_fini(&s);
}
END_TEST

START_TEST(abuse_streak)
{
    wsf_ch_abuse a;
    wsf_ch_abuse_init(&a);
    /* Refusals that are not abuse never close. */
    for (int i = 0; i < 100; i++)
        ck_assert(!wsf_ch_abuse_on_result(&a, WSF_CH_ERR_NOT_AVAILABLE, (uint64_t)i));
    for (int i = 1; i < WSF_CH_ABUSE_STREAK; i++)
        ck_assert(!wsf_ch_abuse_on_result(&a, WSF_CH_ERR_BAD_REQUEST, 0));
    /* A good command resets the streak. */
    ck_assert(!wsf_ch_abuse_on_result(&a, 0, 0));
    for (int i = 1; i < WSF_CH_ABUSE_STREAK; i++)
        ck_assert(!wsf_ch_abuse_on_result(&a, WSF_CH_ERR_UNKNOWN_COMMAND, 1));
    ck_assert(wsf_ch_abuse_on_result(&a, WSF_CH_ERR_UNKNOWN_COMMAND, 1));
    ck_assert_int_eq(WSF_CH_ABUSE_CLOSE, 1008);
}
END_TEST

START_TEST(abuse_window)
{
    wsf_ch_abuse a;
    wsf_ch_abuse_init(&a);
    /* Abuse mixed with good commands: the window catches it. */
    uint64_t t = 5000;
    for (int i = 1; i < WSF_CH_ABUSE_WINDOW_MAX; i++) {
        ck_assert(!wsf_ch_abuse_on_result(&a, WSF_CH_ERR_BAD_REQUEST, t));
        ck_assert(!wsf_ch_abuse_on_result(&a, 0, t));
        t += 100;
    }
    ck_assert(wsf_ch_abuse_on_result(&a, WSF_CH_ERR_BAD_REQUEST, t));

    /* The same count spread over more than a window never closes. */
    wsf_ch_abuse_init(&a);
    t = 0;
    for (int i = 0; i < 5 * WSF_CH_ABUSE_WINDOW_MAX; i++) {
        ck_assert(!wsf_ch_abuse_on_result(&a, WSF_CH_ERR_BAD_REQUEST, t));
        ck_assert(!wsf_ch_abuse_on_result(&a, 0, t));
        t += WSF_CH_ABUSE_WINDOW_MS / (WSF_CH_ABUSE_WINDOW_MAX - 2);
    }
}
END_TEST

START_TEST(channel_names)
{
    ck_assert(wsf_ch_channel_is_valid("a", 1));
    ck_assert(wsf_ch_channel_is_valid("AZaz09_.:@-", 11));
    ck_assert(!wsf_ch_channel_is_valid("", 0));
    ck_assert(!wsf_ch_channel_is_valid("a b", 3));
    ck_assert(!wsf_ch_channel_is_valid("a\0b", 3));
    ck_assert(!wsf_ch_channel_is_valid("a*", 2));
    ck_assert(!wsf_ch_channel_is_valid("a>", 2));
}
END_TEST

Suite *wsf_chproto_suite(void)
{
    Suite *s = suite_create("wsf_chproto");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, connect_full);
    tcase_add_test(tc, connect_empty);
    tcase_add_test(tc, every_other_command);
    tcase_add_test(tc, framing);
    tcase_add_test(tc, too_many_objects);
    tcase_add_loop_test(tc, bad_object, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, limits_at_the_edge);
    tcase_add_test(tc, too_many_subs);
    tcase_add_test(tc, duplicate_id_in_a_frame);
    suite_add_tcase(s, tc);
    TCase *rules = tcase_create("rules");
    tcase_add_test(rules, error_table);
    tcase_add_test(rules, session_connect_first);
    tcase_add_test(rules, session_ids_in_flight);
    tcase_add_test(rules, abuse_streak);
    tcase_add_test(rules, abuse_window);
    tcase_add_test(rules, channel_names);
    suite_add_tcase(s, rules);
    return s;
}
