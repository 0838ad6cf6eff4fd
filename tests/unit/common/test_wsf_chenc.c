/* Unit tests for common/wsf_chenc.c: the exact bytes of every reply, push and error, string
 * escaping, frames of several objects, compacting outside data, and client-encoded commands read
 * back by the server parser. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "wsf_chenc.h"

Suite *wsf_chenc_suite(void);

/* out's pending bytes equal want; empties out. */
static void assert_out(wsf_buf *out, const char *want)
{
    size_t n = wsf_buf_pending(out);
    ck_assert_msg(n == strlen(want) && memcmp(out->data + out->off, want, n) == 0,
                  "got  %.*s\nwant %s", (int)n, (const char *)(out->data + out->off), want);
    wsf_buf_consume(out, n);
}

static const wsf_ch_pub two_pubs[] = {
    {13, "{\"t\":\"hi\"}", 10, "alice"},
    {15, "[1,2]", 5, NULL},
};

START_TEST(replies)
{
    wsf_buf out = {0};
    wsf_ch_state st = {NULL, "E1", 20, true, two_pubs, 2};
    wsf_ch_enc_subscribe(&out, 2, &st);
    assert_out(&out, "{\"id\":2,\"subscribe\":{\"epoch\":\"E1\",\"offset\":20,\"recovered\":true,"
                     "\"pubs\":[{\"offset\":13,\"data\":{\"t\":\"hi\"},\"info\":{\"user\":"
                     "\"alice\"}},{\"offset\":15,\"data\":[1,2]}]}}");
    st.recovered = false;
    st.npubs = 0;
    wsf_ch_enc_subscribe(&out, 2, &st);
    assert_out(&out, "{\"id\":2,\"subscribe\":{\"epoch\":\"E1\",\"offset\":20,\"recovered\":false,"
                     "\"pubs\":[]}}");
    wsf_ch_enc_unsubscribe(&out, 3);
    assert_out(&out, "{\"id\":3,\"unsubscribe\":{}}");
    wsf_ch_enc_publish(&out, 4, 21);
    assert_out(&out, "{\"id\":4,\"publish\":{\"offset\":21}}");
    st.npubs = 1;
    wsf_ch_enc_history(&out, 5, &st);
    assert_out(&out, "{\"id\":5,\"history\":{\"epoch\":\"E1\",\"offset\":20,\"pubs\":[{\"offset\":"
                     "13,\"data\":{\"t\":\"hi\"},\"info\":{\"user\":\"alice\"}}]}}");
    wsf_ch_enc_rpc(&out, 6, "{\"ok\":1}", 8);
    assert_out(&out, "{\"id\":6,\"rpc\":{\"data\":{\"ok\":1}}}");
    wsf_ch_enc_rpc(&out, 6, NULL, 0);
    assert_out(&out, "{\"id\":6,\"rpc\":{}}");
    wsf_ch_enc_refresh(&out, 7, 1700000000);
    assert_out(&out, "{\"id\":7,\"refresh\":{\"expires\":1700000000}}");
    const wsf_ch_member members[] = {{"c1", "alice"}, {"c2", ""}};
    wsf_ch_enc_presence(&out, 8, members, 2);
    assert_out(&out, "{\"id\":8,\"presence\":{\"clients\":{\"c1\":{\"user\":\"alice\"},\"c2\":{"
                     "\"user\":\"\"}}}}");
    wsf_ch_enc_presence(&out, 8, NULL, 0);
    assert_out(&out, "{\"id\":8,\"presence\":{\"clients\":{}}}");
    wsf_buf_fini(&out);
}
END_TEST

START_TEST(numbers)
{
    wsf_buf out = {0};
    wsf_ch_enc_publish(&out, 0, 0);
    assert_out(&out, "{\"id\":0,\"publish\":{\"offset\":0}}");
    wsf_ch_enc_publish(&out, 9, UINT64_MAX);
    assert_out(&out, "{\"id\":9,\"publish\":{\"offset\":18446744073709551615}}");
    wsf_ch_enc_refresh(&out, 10, -1);
    assert_out(&out, "{\"id\":10,\"refresh\":{\"expires\":-1}}");
    wsf_ch_enc_refresh(&out, 11, INT64_MIN);
    assert_out(&out, "{\"id\":11,\"refresh\":{\"expires\":-9223372036854775808}}");
    wsf_ch_enc_refresh(&out, 12, INT64_MAX);
    assert_out(&out, "{\"id\":12,\"refresh\":{\"expires\":9223372036854775807}}");
    wsf_buf_fini(&out);
}
END_TEST

START_TEST(connect_reply)
{
    wsf_buf out = {0};
    const wsf_ch_state subs[] = {
        {"news", "E", 57, true, two_pubs, 1},
        {"chat:lobby", "F", 3, false, NULL, 0},
    };
    wsf_ch_enc_connect(&out, 1, "cid-1", "", subs, 2);
    assert_out(&out,
               "{\"id\":1,\"connect\":{\"client\":\"cid-1\",\"user\":\"\",\"subs\":{\"news\":{"
               "\"epoch\":\"E\",\"offset\":57,\"recovered\":true,\"pubs\":[{\"offset\":13,"
               "\"data\":{\"t\":\"hi\"},\"info\":{\"user\":\"alice\"}}]},\"chat:lobby\":{"
               "\"epoch\":\"F\",\"offset\":3,\"recovered\":false,\"pubs\":[]}}}}");
    wsf_ch_enc_connect(&out, 1, "c", "u", NULL, 0);
    assert_out(&out, "{\"id\":1,\"connect\":{\"client\":\"c\",\"user\":\"u\",\"subs\":{}}}");
    wsf_buf_fini(&out);
}
END_TEST

START_TEST(errors)
{
    wsf_buf out = {0};
    wsf_ch_enc_error(&out, 9, WSF_CH_ERR_NOT_AVAILABLE, NULL);
    assert_out(&out, "{\"id\":9,\"error\":{\"code\":108,\"message\":\"not available\"}}");
    wsf_ch_enc_error(&out, 0, WSF_CH_ERR_BAD_REQUEST, "malformed JSON");
    assert_out(&out, "{\"error\":{\"code\":107,\"message\":\"malformed JSON\"}}");
    wsf_ch_enc_error(&out, 1, 999, NULL);
    assert_out(&out, "{\"id\":1,\"error\":{\"code\":999,\"message\":\"error\"}}");
    wsf_buf_fini(&out);
}
END_TEST

START_TEST(pushes_and_frames)
{
    wsf_buf out = {0};
    wsf_ch_sep(&out); /* nothing yet: no separator */
    wsf_ch_enc_push_pub(&out, "news", &two_pubs[0]);
    wsf_ch_sep(&out);
    wsf_ch_enc_push_pub(&out, "news", &two_pubs[1]);
    wsf_ch_sep(&out);
    wsf_ch_enc_push_message(&out, "\"ping\"", 6);
    assert_out(&out,
               "{\"push\":{\"channel\":\"news\",\"pub\":{\"offset\":13,\"data\":{\"t\":\"hi\"},"
               "\"info\":{\"user\":\"alice\"}}}}\n"
               "{\"push\":{\"channel\":\"news\",\"pub\":{\"offset\":15,\"data\":[1,2]}}}\n"
               "{\"push\":{\"message\":{\"data\":\"ping\"}}}");
    wsf_buf_fini(&out);
}
END_TEST

START_TEST(string_escaping)
{
    wsf_buf out = {0};
    const wsf_ch_member m = {"a\"b\\c", "l1\nl2\r\t\b\f\x01\x1f caf\xc3\xa9"};
    wsf_ch_enc_presence(&out, 1, &m, 1);
    assert_out(&out, "{\"id\":1,\"presence\":{\"clients\":{\"a\\\"b\\\\c\":{\"user\":"
                     "\"l1\\nl2\\r\\t\\b\\f\\u0001\\u001f caf\xc3\xa9\"}}}}");
    wsf_buf_fini(&out);
}
END_TEST

START_TEST(data_compact)
{
    wsf_buf out = {0};
    const char *in = " { \"b\" : [ 1 , true , null ] , \"a\" : \"x y\" } ";
    ck_assert_int_eq(wsf_ch_data_compact(&out, in, strlen(in)), 0);
    assert_out(&out, "{\"b\":[1,true,null],\"a\":\"x y\"}");
    ck_assert_int_eq(wsf_ch_data_compact(&out, "42", 2), 0);
    assert_out(&out, "42");
    ck_assert_int_eq(wsf_ch_data_compact(&out, "\"s\"", 3), 0);
    assert_out(&out, "\"s\"");
    static const char *const bad[] = {"", "{", "1 2", "{\"a\":1,\"a\":2}", "nul", "[]]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(wsf_ch_data_compact(&out, bad[i], strlen(bad[i])),
                         -WSF_CH_ERR_BAD_REQUEST);
        ck_assert_uint_eq(wsf_buf_pending(&out), 0);
    }
    char deep[WSF_CH_MAX_DEPTH * 2 + 2];
    memset(deep, '[', WSF_CH_MAX_DEPTH + 1);
    memset(deep + WSF_CH_MAX_DEPTH + 1, ']', WSF_CH_MAX_DEPTH + 1);
    ck_assert_int_eq(wsf_ch_data_compact(&out, deep, sizeof deep), -WSF_CH_ERR_BAD_REQUEST);
    ck_assert_int_eq(wsf_ch_data_compact(&out, deep + 1, sizeof deep - 2), 0);
    wsf_buf_fini(&out);
}
END_TEST

/* Encodes every command as a client would, then parses the frame as the server does. */
START_TEST(client_commands_round_trip)
{
    wsf_ch_sub subs[] = {{"news", true, {"E", 41}}, {"chat:x", false, {NULL, 0}}};
    const wsf_ch_cmd cmds[] = {
        {.op = WSF_CH_OP_CONNECT,
         .id = 1,
         .token = "JWT",
         .data = "{\"k\":1}",
         .data_len = 7,
         .subs = subs,
         .nsubs = 2},
        {.op = WSF_CH_OP_CONNECT, .id = 2},
        {.op = WSF_CH_OP_SUBSCRIBE,
         .id = 3,
         .channel = "news",
         .has_since = true,
         .since = {"E\"q", 12}},
        {.op = WSF_CH_OP_SUBSCRIBE, .id = 4, .channel = "news"},
        {.op = WSF_CH_OP_UNSUBSCRIBE, .id = 5, .channel = "news"},
        {.op = WSF_CH_OP_PUBLISH, .id = 6, .channel = "news", .data = "[\"a\"]", .data_len = 5},
        {.op = WSF_CH_OP_HISTORY, .id = 7, .channel = "news", .has_limit = true, .limit = 50},
        {.op = WSF_CH_OP_HISTORY, .id = 8, .channel = "news"},
        {.op = WSF_CH_OP_RPC, .id = 9, .method = "get", .data = "null", .data_len = 4},
        {.op = WSF_CH_OP_REFRESH, .id = 10, .token = "T2"},
        {.op = WSF_CH_OP_PRESENCE, .id = 11, .channel = "news"},
    };
    const size_t n = sizeof cmds / sizeof cmds[0];
    wsf_buf out = {0};
    for (size_t i = 0; i < n; i++) {
        wsf_ch_sep(&out);
        wsf_ch_enc_cmd(&out, &cmds[i]);
    }
    wsf_ch_cmds got;
    wsf_ch_cmds_init(&got);
    wsf_ch_parse_frame(&got, (const char *)out.data + out.off, wsf_buf_pending(&out));
    ck_assert_uint_eq(got.n, n);
    for (size_t i = 0; i < n; i++) {
        const wsf_ch_cmd *a = &cmds[i];
        const wsf_ch_cmd *b = &got.items[i];
        ck_assert_msg(b->err == 0, "command %zu: error %d %s", i, b->err, b->err_msg);
        ck_assert_int_eq(a->op, b->op);
        ck_assert_uint_eq(a->id, b->id);
        ck_assert_pstr_eq(a->channel, b->channel);
        ck_assert_pstr_eq(a->token, b->token);
        ck_assert_pstr_eq(a->method, b->method);
        ck_assert_int_eq(a->has_since, b->has_since);
        if (a->has_since) {
            ck_assert_str_eq(a->since.epoch, b->since.epoch);
            ck_assert_uint_eq(a->since.offset, b->since.offset);
        }
        ck_assert_int_eq(a->has_limit, b->has_limit);
        ck_assert_uint_eq(a->limit, b->limit);
        ck_assert_uint_eq(a->data_len, b->data_len);
        if (a->data != NULL)
            ck_assert_mem_eq(a->data, b->data, a->data_len);
        ck_assert_uint_eq(a->nsubs, b->nsubs);
        for (size_t j = 0; j < a->nsubs; j++) {
            ck_assert_str_eq(a->subs[j].channel, b->subs[j].channel);
            ck_assert_int_eq(a->subs[j].has_since, b->subs[j].has_since);
        }
    }
    ck_assert_str_eq(got.items[0].subs[0].since.epoch, "E");
    ck_assert_uint_eq(got.items[0].subs[0].since.offset, 41);
    wsf_ch_cmds_fini(&got);
    wsf_buf_fini(&out);
}
END_TEST

Suite *wsf_chenc_suite(void)
{
    Suite *s = suite_create("wsf_chenc");
    TCase *tc = tcase_create("encode");
    tcase_add_test(tc, replies);
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, connect_reply);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, pushes_and_frames);
    tcase_add_test(tc, string_escaping);
    tcase_add_test(tc, data_compact);
    tcase_add_test(tc, client_commands_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
