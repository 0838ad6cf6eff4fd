/* Unit tests for common/wsf_chclient.c: every reply, error and push the server encodes read back
 * by the client parser in one frame, and server objects the client must call invalid. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "wsf_chclient.h"
#include "wsf_chenc.h"

Suite *wsf_chclient_suite(void);

static const wsf_ch_pub pubs[] = {
    {13, "{\"t\":\"hi\"}", 10, "alice"},
    {15, "[1,2]", 5, NULL},
};

static void assert_pub(const wsf_ch_pub *got, const wsf_ch_pub *want)
{
    ck_assert_uint_eq(got->offset, want->offset);
    ck_assert_uint_eq(got->data_len, want->data_len);
    ck_assert_mem_eq(got->data, want->data, want->data_len);
    ck_assert_pstr_eq(got->user, want->user);
}

static void assert_state(const wsf_ch_state *got, const wsf_ch_state *want, bool recovered)
{
    ck_assert_str_eq(got->epoch, want->epoch);
    ck_assert_uint_eq(got->offset, want->offset);
    if (recovered)
        ck_assert_int_eq(got->recovered, want->recovered);
    ck_assert_uint_eq(got->npubs, want->npubs);
    for (size_t i = 0; i < want->npubs; i++)
        assert_pub(&got->pubs[i], &want->pubs[i]);
}

START_TEST(server_to_client_round_trip)
{
    const wsf_ch_state subs[] = {
        {"news", "E", 57, true, pubs, 2},
        {"chat:lobby", "F", 3, false, NULL, 0},
    };
    const wsf_ch_state st = {NULL, "E\\1", 20, true, pubs, 1};
    const wsf_ch_member members[] = {{"c1", "alice"}, {"c2", ""}};
    wsf_buf out = {0};
    wsf_ch_enc_connect(&out, 1, "cid", "bob", subs, 2);
    wsf_ch_sep(&out);
    wsf_ch_enc_subscribe(&out, 2, &st);
    wsf_ch_sep(&out);
    wsf_ch_enc_unsubscribe(&out, 3);
    wsf_ch_sep(&out);
    wsf_ch_enc_publish(&out, 4, 21);
    wsf_ch_sep(&out);
    wsf_ch_enc_history(&out, 5, &st);
    wsf_ch_sep(&out);
    wsf_ch_enc_rpc(&out, 6, "{\"r\":[]}", 8);
    wsf_ch_sep(&out);
    wsf_ch_enc_rpc(&out, 7, NULL, 0);
    wsf_ch_sep(&out);
    wsf_ch_enc_refresh(&out, 8, 1700000000);
    wsf_ch_sep(&out);
    wsf_ch_enc_presence(&out, 9, members, 2);
    wsf_ch_sep(&out);
    wsf_ch_enc_error(&out, 10, WSF_CH_ERR_PERMISSION_DENIED, NULL);
    wsf_ch_sep(&out);
    wsf_ch_enc_error(&out, 0, WSF_CH_ERR_BAD_REQUEST, "malformed JSON");
    wsf_ch_sep(&out);
    wsf_ch_enc_push_pub(&out, "news", &pubs[0]);
    wsf_ch_sep(&out);
    wsf_ch_enc_push_pub(&out, "news", &pubs[1]);
    wsf_ch_sep(&out);
    wsf_ch_enc_push_message(&out, "{\"m\":true}", 10);

    wsf_ch_msgs m;
    wsf_ch_msgs_init(&m);
    wsf_ch_parse_server(&m, (const char *)out.data + out.off, wsf_buf_pending(&out));
    ck_assert_uint_eq(m.n, 14);
    for (size_t i = 0; i < 9; i++) {
        ck_assert_int_eq(m.items[i].kind, WSF_CH_MSG_REPLY);
        ck_assert_uint_eq(m.items[i].id, i + 1);
    }
    const wsf_ch_msg *c = &m.items[0];
    ck_assert_int_eq(c->op, WSF_CH_OP_CONNECT);
    ck_assert_str_eq(c->client, "cid");
    ck_assert_str_eq(c->user, "bob");
    ck_assert_uint_eq(c->nsubs, 2);
    ck_assert_str_eq(c->subs[0].channel, "news");
    assert_state(&c->subs[0], &subs[0], true);
    ck_assert_str_eq(c->subs[1].channel, "chat:lobby");
    assert_state(&c->subs[1], &subs[1], true);
    ck_assert_int_eq(m.items[1].op, WSF_CH_OP_SUBSCRIBE);
    assert_state(&m.items[1].state, &st, true);
    ck_assert_int_eq(m.items[2].op, WSF_CH_OP_UNSUBSCRIBE);
    ck_assert_int_eq(m.items[3].op, WSF_CH_OP_PUBLISH);
    ck_assert_uint_eq(m.items[3].state.offset, 21);
    ck_assert_int_eq(m.items[4].op, WSF_CH_OP_HISTORY);
    assert_state(&m.items[4].state, &st, false);
    ck_assert_int_eq(m.items[5].op, WSF_CH_OP_RPC);
    ck_assert_uint_eq(m.items[5].data_len, 8);
    ck_assert_mem_eq(m.items[5].data, "{\"r\":[]}", 8);
    ck_assert_ptr_null(m.items[6].data);
    ck_assert_int_eq(m.items[7].op, WSF_CH_OP_REFRESH);
    ck_assert_int_eq(m.items[7].expires, 1700000000);
    ck_assert_int_eq(m.items[8].op, WSF_CH_OP_PRESENCE);
    ck_assert_uint_eq(m.items[8].nmembers, 2);
    ck_assert_str_eq(m.items[8].members[0].client, "c1");
    ck_assert_str_eq(m.items[8].members[0].user, "alice");
    ck_assert_str_eq(m.items[8].members[1].user, "");

    ck_assert_int_eq(m.items[9].kind, WSF_CH_MSG_ERROR);
    ck_assert_uint_eq(m.items[9].id, 10);
    ck_assert_int_eq(m.items[9].code, 103);
    ck_assert_str_eq(m.items[9].message, "permission denied");
    ck_assert_int_eq(m.items[10].kind, WSF_CH_MSG_ERROR);
    ck_assert_uint_eq(m.items[10].id, 0);
    ck_assert_int_eq(m.items[10].code, 107);

    ck_assert_int_eq(m.items[11].kind, WSF_CH_MSG_PUSH_PUB);
    ck_assert_str_eq(m.items[11].channel, "news");
    assert_pub(&m.items[11].pub, &pubs[0]);
    assert_pub(&m.items[12].pub, &pubs[1]);
    ck_assert_int_eq(m.items[13].kind, WSF_CH_MSG_PUSH_MESSAGE);
    ck_assert_uint_eq(m.items[13].data_len, 10);
    ck_assert_mem_eq(m.items[13].data, "{\"m\":true}", 10);
    wsf_ch_msgs_fini(&m);
    wsf_buf_fini(&out);
}
END_TEST

/* Server objects a client must not take for replies. */
static const char *const invalid[] = {
    "{nope",
    "[]",
    "{}",
    "{\"id\":0,\"unsubscribe\":{}}",
    "{\"id\":-3,\"unsubscribe\":{}}",
    "{\"id\":1}",
    "{\"id\":1,\"fly\":{}}",
    "{\"id\":1,\"unsubscribe\":[]}",
    "{\"unsubscribe\":{}}",
    "{\"id\":1,\"error\":{\"code\":\"x\",\"message\":\"m\"}}",
    "{\"id\":1,\"error\":{\"code\":107}}",
    "{\"id\":1,\"error\":5}",
    "{\"id\":1,\"connect\":{\"client\":\"c\",\"subs\":{}}}",
    "{\"id\":1,\"connect\":{\"client\":\"c\",\"user\":\"u\"}}",
    "{\"id\":1,\"connect\":{\"client\":\"c\",\"user\":\"u\",\"subs\":{\"n\":{\"epoch\":\"E\"}}}}",
    "{\"id\":1,\"subscribe\":{\"epoch\":\"E\",\"offset\":1,\"pubs\":[]}}",
    "{\"id\":1,\"subscribe\":{\"epoch\":\"E\",\"offset\":1,\"recovered\":true}}",
    "{\"id\":1,\"subscribe\":{\"epoch\":\"E\",\"offset\":1,\"recovered\":true,\"pubs\":[{}]}}",
    "{\"id\":1,\"history\":{\"epoch\":\"E\",\"offset\":1,\"pubs\":[{\"offset\":2}]}}",
    "{\"id\":1,\"history\":{\"epoch\":\"E\",\"offset\":1,\"pubs\":[{\"offset\":2,\"data\":1,"
    "\"info\":{}}]}}",
    "{\"id\":1,\"publish\":{}}",
    "{\"id\":1,\"refresh\":{\"expires\":\"soon\"}}",
    "{\"id\":1,\"presence\":{}}",
    "{\"id\":1,\"presence\":{\"clients\":{\"c\":{}}}}",
    "{\"push\":[]}",
    "{\"push\":{}}",
    "{\"push\":{\"message\":{}}}",
    "{\"push\":{\"channel\":\"n\"}}",
    "{\"push\":{\"channel\":\"n\",\"pub\":{\"data\":1}}}",
};

START_TEST(invalid_server_object)
{
    wsf_ch_msgs m;
    wsf_ch_msgs_init(&m);
    wsf_ch_parse_server(&m, invalid[_i], strlen(invalid[_i]));
    ck_assert_uint_eq(m.n, 1);
    ck_assert_msg(m.items[0].kind == WSF_CH_MSG_INVALID, "%s: kind %d", invalid[_i],
                  m.items[0].kind);
    ck_assert_int_eq(m.items[0].code, WSF_CH_ERR_BAD_REQUEST);
    ck_assert_ptr_nonnull(m.items[0].message);
    wsf_ch_msgs_fini(&m);
}
END_TEST

START_TEST(framing_like_the_server)
{
    wsf_ch_msgs m;
    wsf_ch_msgs_init(&m);
    const char *f =
        "\r\n{\"id\":1,\"unsubscribe\":{}}\r\n\n{\"push\":{\"message\":{\"data\":0}}}\n";
    wsf_ch_parse_server(&m, f, strlen(f));
    ck_assert_uint_eq(m.n, 2);
    ck_assert_int_eq(m.items[0].kind, WSF_CH_MSG_REPLY);
    ck_assert_int_eq(m.items[1].kind, WSF_CH_MSG_PUSH_MESSAGE);
    wsf_ch_msgs_fini(&m);
}
END_TEST

/* The fast path agrees with the full parser on everything the encoder writes. */
START_TEST(peek_agrees_with_parse)
{
    static const char *const datas[] = {
        "0",  "-1.5e3", "null", "true", "\"a\\\"]}\"", "{\"k\":[1,{\"x\":\"}\"}],\"z\":{}}",
        "[]", "{}",
    };
    for (size_t i = 0; i < sizeof datas / sizeof datas[0]; i++) {
        for (int with_user = 0; with_user < 2; with_user++) {
            wsf_ch_pub pub = {WSF_CH_MAX_ID - i, datas[i], strlen(datas[i]),
                              with_user ? "u\"1" : NULL};
            wsf_buf out = {0};
            wsf_ch_enc_push_pub(&out, "chat:lobby", &pub);
            const char *line = (const char *)out.data + out.off;
            size_t len = wsf_buf_pending(&out);
            wsf_ch_peek pk;
            ck_assert_msg(wsf_ch_peek_push(&pk, line, len), "%.*s", (int)len, line);
            ck_assert_uint_eq(pk.channel_len, 10);
            ck_assert_mem_eq(pk.channel, "chat:lobby", 10);
            ck_assert_uint_eq(pk.offset, pub.offset);
            ck_assert_uint_eq(pk.data_len, pub.data_len);
            ck_assert_mem_eq(pk.data, pub.data, pub.data_len);
            wsf_ch_msgs m;
            wsf_ch_msgs_init(&m);
            wsf_ch_parse_server(&m, line, len);
            ck_assert_int_eq(m.items[0].kind, WSF_CH_MSG_PUSH_PUB);
            ck_assert_uint_eq(m.items[0].pub.offset, pk.offset);
            ck_assert_str_eq(m.items[0].channel, "chat:lobby");
            ck_assert_pstr_eq(m.items[0].pub.user, pub.user);
            wsf_ch_msgs_fini(&m);
            /* Cut anywhere before the data ends, the line is refused. */
            size_t data_end = (size_t)(pk.data - line) + pk.data_len;
            for (size_t cut = 0; cut < data_end; cut++)
                ck_assert_msg(!wsf_ch_peek_push(&pk, line, cut), "cut at %zu", cut);
            wsf_buf_fini(&out);
        }
    }
}
END_TEST

START_TEST(peek_refuses_the_rest)
{
    static const char *const other[] = {
        "{\"push\":{\"message\":{\"data\":1}}}",
        "{\"id\":1,\"publish\":{\"offset\":2}}",
        "{\"push\": {\"channel\":\"n\",\"pub\":{\"offset\":1,\"data\":1}}}",
        "{\"push\":{\"channel\":\"a b\",\"pub\":{\"offset\":1,\"data\":1}}}",
        "{\"push\":{\"channel\":\"\",\"pub\":{\"offset\":1,\"data\":1}}}",
        "{\"push\":{\"channel\":\"n\",\"pub\":{\"offset\":-1,\"data\":1}}}",
        "{\"push\":{\"channel\":\"n\",\"pub\":{\"offset\":x,\"data\":1}}}",
        "{\"push\":{\"channel\":\"n\",\"pub\":{\"offset\":9007199254740992,\"data\":1}}}",
        "{\"push\":{\"channel\":\"n\",\"pub\":{\"offset\":12345678901234567,\"data\":1}}}",
        "{\"push\":{\"channel\":\"n\",\"pub\":{\"offset\":1,\"data\":}}}",
        "{\"push\":{\"channel\":\"n\",\"pub\":{\"offset\":1,\"data\":1,\"x\":2}}}",
        "{\"push\":{\"channel\":\"n\",\"pub\":{\"offset\":1,\"data\":\"open",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        wsf_ch_peek pk;
        ck_assert_msg(!wsf_ch_peek_push(&pk, other[i], strlen(other[i])), "%s", other[i]);
    }
}
END_TEST

Suite *wsf_chclient_suite(void)
{
    Suite *s = suite_create("wsf_chclient");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, server_to_client_round_trip);
    tcase_add_loop_test(tc, invalid_server_object, 0, (int)(sizeof invalid / sizeof invalid[0]));
    tcase_add_test(tc, framing_like_the_server);
    tcase_add_test(tc, peek_agrees_with_parse);
    tcase_add_test(tc, peek_refuses_the_rest);
    suite_add_tcase(s, tc);
    return s;
}
