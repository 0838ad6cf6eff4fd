/* Unit tests for common/wsf_bkproto.c: every event's exact JSON, header bytes that are not UTF-8,
 * every accepted reply shape per kind, every malformed shape refused, pushes and subjects. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_bkproto.h"

Suite *wsf_bkproto_suite(void);

static char *text_of(wsf_buf *b)
{
    wsf_buf_append(b, "", 1);
    return (char *)b->data + b->off;
}

START_TEST(connect_event)
{
    wsf_bk_header h[] = {
        {"user-agent", 10, "UA \"1\"", 6},
        {"x-id", 4,
         "a\xff"
         "b",
         3}, /* not UTF-8: U+FFFD for the bad byte */
    };
    wsf_bk_event ev = {.client = "1f.2",
                       .user = "",
                       .ip = "::1",
                       .headers = h,
                       .nheaders = 2,
                       .token = "t.o.k",
                       .data = "{\"a\":1}",
                       .data_len = 7};
    wsf_buf out = {0};
    wsf_bk_enc_event(&out, WSF_BK_CONNECT, &ev);
    ck_assert_str_eq(text_of(&out),
                     "{\"client\":\"1f.2\",\"user\":\"\",\"ip\":\"::1\",\"headers\":{"
                     "\"user-agent\":\"UA \\\"1\\\"\",\"x-id\":\"a\\ufffdb\"},"
                     "\"token\":\"t.o.k\",\"data\":{\"a\":1}}");
    wsf_buf_fini(&out);

    /* No token, no data, no headers, no user: left out, user "" */
    wsf_bk_event bare = {.client = "c"};
    wsf_bk_enc_event(&out, WSF_BK_CONNECT, &bare);
    ck_assert_str_eq(text_of(&out), "{\"client\":\"c\",\"user\":\"\",\"ip\":\"\",\"headers\":{}}");
    wsf_buf_fini(&out);
}
END_TEST

START_TEST(other_events)
{
    wsf_buf out = {0};
    wsf_bk_event ev = {.client = "c", .user = "bob", .method = "m\n", .data = "[1]", .data_len = 3};
    wsf_bk_enc_event(&out, WSF_BK_RPC, &ev);
    ck_assert_str_eq(text_of(&out),
                     "{\"client\":\"c\",\"user\":\"bob\",\"method\":\"m\\n\",\"data\":[1]}");
    wsf_buf_fini(&out);

    ev.data = NULL;
    wsf_bk_enc_event(&out, WSF_BK_RPC, &ev);
    ck_assert_str_eq(text_of(&out), "{\"client\":\"c\",\"user\":\"bob\",\"method\":\"m\\n\"}");
    wsf_buf_fini(&out);

    wsf_bk_event sub = {
        .client = "c", .user = "bob", .channel = "chat:x", .data = "1", .data_len = 1};
    wsf_bk_enc_event(&out, WSF_BK_SUBSCRIBE, &sub); /* subscribe has no data */
    ck_assert_str_eq(text_of(&out), "{\"client\":\"c\",\"user\":\"bob\",\"channel\":\"chat:x\"}");
    wsf_buf_fini(&out);

    wsf_bk_enc_event(&out, WSF_BK_PUBLISH, &sub);
    ck_assert_str_eq(text_of(&out),
                     "{\"client\":\"c\",\"user\":\"bob\",\"channel\":\"chat:x\",\"data\":1}");
    wsf_buf_fini(&out);

    wsf_bk_enc_disconnect(&out, "c", NULL);
    ck_assert_str_eq(text_of(&out), "{\"client\":\"c\",\"user\":\"\"}");
    wsf_buf_fini(&out);

    ck_assert_str_eq(wsf_bk_subject(WSF_BK_CONNECT), "wsf.app.connect");
    ck_assert_str_eq(wsf_bk_subject(WSF_BK_RPC), "wsf.app.rpc");
    ck_assert_str_eq(wsf_bk_subject(WSF_BK_SUBSCRIBE), "wsf.app.subscribe");
    ck_assert_str_eq(wsf_bk_subject(WSF_BK_PUBLISH), "wsf.app.publish");
}
END_TEST

static int parse(wsf_bk_reply *r, enum wsf_bk_kind kind, const char *s)
{
    return wsf_bk_reply_parse(r, kind, s, strlen(s));
}

START_TEST(connect_replies)
{
    wsf_bk_reply r;
    ck_assert_int_eq(parse(&r, WSF_BK_CONNECT,
                           "{\"result\":{\"user\":\"al\",\"channels\":[\"a\",\"ns:b\"],"
                           "\"data\":{ \"k\" : [1, 2] }},\"extra\":1}"),
                     0);
    ck_assert_int_eq(r.outcome, WSF_BK_RESULT);
    ck_assert_str_eq(r.user, "al");
    ck_assert_uint_eq(r.nchannels, 2);
    ck_assert_str_eq(r.channels[1], "ns:b");
    ck_assert_str_eq(r.data, "{\"k\":[1,2]}");
    ck_assert_uint_eq(r.data_len, strlen(r.data));
    wsf_bk_reply_fini(&r);

    ck_assert_int_eq(parse(&r, WSF_BK_CONNECT, "{\"result\":{}}"), 0);
    ck_assert_ptr_null(r.user);
    ck_assert_ptr_null(r.data);
    ck_assert_uint_eq(r.nchannels, 0);
    wsf_bk_reply_fini(&r);

    ck_assert_int_eq(parse(&r, WSF_BK_CONNECT, "{\"result\":{\"user\":null,\"data\":null}}"), 0);
    ck_assert_ptr_null(r.user);
    ck_assert_str_eq(r.data, "null");
    wsf_bk_reply_fini(&r);

    ck_assert_int_eq(parse(&r, WSF_BK_CONNECT, "{\"disconnect\":{\"code\":4000,\"reason\":\"x\"}}"),
                     0);
    ck_assert_int_eq(r.outcome, WSF_BK_DISCONNECT);
    ck_assert_int_eq(r.code, 4000);
    ck_assert_str_eq(r.message, "x");
    wsf_bk_reply_fini(&r);

    ck_assert_int_eq(parse(&r, WSF_BK_CONNECT, "{\"disconnect\":{\"code\":1000}}"), 0);
    ck_assert_str_eq(r.message, "");
    wsf_bk_reply_fini(&r);
}
END_TEST

START_TEST(other_replies)
{
    wsf_bk_reply r;
    ck_assert_int_eq(parse(&r, WSF_BK_RPC, "{\"result\":{\"data\":\"x\",\"user\":5}}"), 0);
    ck_assert_str_eq(r.data, "\"x\""); /* user is a connect field: ignored here */
    ck_assert_ptr_null(r.user);
    wsf_bk_reply_fini(&r);

    ck_assert_int_eq(parse(&r, WSF_BK_RPC, "{\"error\":{\"code\":4242,\"message\":\"no\"}}"), 0);
    ck_assert_int_eq(r.outcome, WSF_BK_ERROR);
    ck_assert_int_eq(r.code, 4242);
    ck_assert_str_eq(r.message, "no");
    wsf_bk_reply_fini(&r);

    ck_assert_int_eq(parse(&r, WSF_BK_SUBSCRIBE, "{\"result\":{\"data\":1}}"), 0);
    ck_assert_ptr_null(r.data); /* a subscribe's result carries nothing */
    wsf_bk_reply_fini(&r);

    ck_assert_int_eq(parse(&r, WSF_BK_PUBLISH, "{\"result\":{\"data\":{\"t\":\"HI\"}}}"), 0);
    ck_assert_str_eq(r.data, "{\"t\":\"HI\"}");
    wsf_bk_reply_fini(&r);

    ck_assert_int_eq(parse(&r, WSF_BK_PUBLISH, "{\"error\":{\"code\":103}}"), 0);
    ck_assert_str_eq(r.message, "");
    wsf_bk_reply_fini(&r);
}
END_TEST

static const struct {
    enum wsf_bk_kind kind;
    const char *text;
} malformed[] = {
    {WSF_BK_RPC, ""},
    {WSF_BK_RPC, "not json"},
    {WSF_BK_RPC, "[]"},
    {WSF_BK_RPC, "1"},
    {WSF_BK_RPC, "\"result\""},
    {WSF_BK_RPC, "{}"},
    {WSF_BK_RPC, "{\"other\":{}}"},
    {WSF_BK_RPC, "{\"result\":{},\"error\":{\"code\":1}}"},
    {WSF_BK_RPC, "{\"result\":{},\"result\":{}}"},
    {WSF_BK_RPC, "{\"result\":1}"},
    {WSF_BK_RPC, "{\"result\":[]}"},
    {WSF_BK_RPC, "{\"result\":null}"},
    {WSF_BK_RPC, "{\"error\":1}"},
    {WSF_BK_RPC, "{\"error\":{}}"},
    {WSF_BK_RPC, "{\"error\":{\"code\":\"103\"}}"},
    {WSF_BK_RPC, "{\"error\":{\"code\":1.5}}"},
    {WSF_BK_RPC, "{\"error\":{\"code\":0}}"},
    {WSF_BK_RPC, "{\"error\":{\"code\":-1}}"},
    {WSF_BK_RPC, "{\"error\":{\"code\":2147483648}}"},
    {WSF_BK_RPC, "{\"error\":{\"code\":1,\"message\":1}}"},
    {WSF_BK_RPC, "{\"error\":{\"code\":1,\"message\":\"a\\u0000b\"}}"},
    {WSF_BK_RPC, "{\"disconnect\":{\"code\":4000}}"},
    {WSF_BK_SUBSCRIBE, "{\"disconnect\":{\"code\":4000}}"},
    {WSF_BK_PUBLISH, "{\"disconnect\":{\"code\":4000}}"},
    {WSF_BK_CONNECT, "{\"disconnect\":{\"code\":1001}}"},
    {WSF_BK_CONNECT, "{\"disconnect\":{\"code\":2999}}"},
    {WSF_BK_CONNECT, "{\"disconnect\":{\"code\":5000}}"},
    {WSF_BK_CONNECT, "{\"disconnect\":{\"code\":4000,\"reason\":5}}"},
    {WSF_BK_CONNECT, "{\"disconnect\":{}}"},
    {WSF_BK_CONNECT, "{\"disconnect\":4000}"},
    {WSF_BK_CONNECT, "{\"result\":{\"user\":5}}"},
    {WSF_BK_CONNECT, "{\"result\":{\"user\":\"a\\u0000\"}}"},
    {WSF_BK_CONNECT, "{\"result\":{\"channels\":\"news\"}}"},
    {WSF_BK_CONNECT, "{\"result\":{\"channels\":[1]}}"},
    {WSF_BK_CONNECT, "{\"result\":{\"channels\":[\"bad name\"]}}"},
    {WSF_BK_CONNECT, "{\"result\":{\"channels\":[\"\"]}}"},
    {WSF_BK_CONNECT, "{\"result\":{\"data\":1}"},
    {WSF_BK_CONNECT, "{\"result\":{\"data\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]"
                     "]]]]]]]]]]]]]]]]]]]]]]]}}"},
};

START_TEST(malformed_replies)
{
    wsf_bk_reply r;
    ck_assert_msg(parse(&r, malformed[_i].kind, malformed[_i].text) == -1, "accepted %s",
                  malformed[_i].text);
}
END_TEST

START_TEST(long_fields)
{
    wsf_bk_reply r;
    char buf[4096];
    char user[WSF_BK_MAX_USER + 2];
    memset(user, 'u', sizeof user - 1);
    user[sizeof user - 1] = '\0';
    snprintf(buf, sizeof buf, "{\"result\":{\"user\":\"%s\"}}", user);
    ck_assert_int_eq(parse(&r, WSF_BK_CONNECT, buf), -1); /* one byte too long */
    user[WSF_BK_MAX_USER] = '\0';
    snprintf(buf, sizeof buf, "{\"result\":{\"user\":\"%s\"}}", user);
    ck_assert_int_eq(parse(&r, WSF_BK_CONNECT, buf), 0);
    ck_assert_uint_eq(strlen(r.user), WSF_BK_MAX_USER);
    wsf_bk_reply_fini(&r);

    char reason[WSF_BK_MAX_REASON + 2];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    snprintf(buf, sizeof buf, "{\"disconnect\":{\"code\":4000,\"reason\":\"%s\"}}", reason);
    ck_assert_int_eq(parse(&r, WSF_BK_CONNECT, buf), -1);

    /* more channels than a connect may have */
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"result\":{\"channels\":[");
    for (int i = 0; i <= WSF_CH_MAX_SUBS; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"c\"", i ? "," : "");
    snprintf(buf + n, sizeof buf - n, "]}}");
    ck_assert_int_eq(parse(&r, WSF_BK_CONNECT, buf), -1);
}
END_TEST

/* Data around the size one encoding pass fits in (1 KiB): the same compact text either way. */
START_TEST(large_data)
{
    for (size_t size = 1000; size <= 5000; size += 7) {
        char *buf = malloc(size + 64);
        char *want = malloc(size + 8);
        size_t n = (size_t)snprintf(buf, size + 64, "{\"result\":{\"data\": \"");
        memset(buf + n, 'x', size);
        memcpy(want, "\"", 1);
        memset(want + 1, 'x', size);
        memcpy(want + 1 + size, "\"", 2);
        snprintf(buf + n + size, 64, "\"}}");
        wsf_bk_reply r;
        ck_assert_int_eq(parse(&r, WSF_BK_RPC, buf), 0);
        ck_assert_uint_eq(r.data_len, size + 2);
        ck_assert_str_eq(r.data, want);
        wsf_bk_reply_fini(&r);
        /* A push, into a buffer that already holds something. */
        n = (size_t)snprintf(buf, size + 64, "{\"data\": \"");
        memset(buf + n, 'x', size);
        snprintf(buf + n + size, 64, "\"}");
        wsf_buf d = {0};
        wsf_buf_append(&d, "ab", 2);
        ck_assert_int_eq(wsf_bk_push_parse(&d, buf, strlen(buf)), 0);
        ck_assert_uint_eq(d.len, size + 4);
        ck_assert(memcmp(d.data, "ab", 2) == 0);
        ck_assert(memcmp(d.data + 2, want, size + 2) == 0);
        wsf_buf_fini(&d);
        free(buf);
        free(want);
    }
}
END_TEST

START_TEST(pushes_and_subjects)
{
    wsf_buf d = {0};
    ck_assert_int_eq(wsf_bk_push_parse(&d, "{\"data\": [1, {\"a\" : 2}]}", 24), 0);
    ck_assert_str_eq(text_of(&d), "[1,{\"a\":2}]");
    wsf_buf_fini(&d);
    ck_assert_int_eq(wsf_bk_push_parse(&d, "{\"data\":null}", 13), 0);
    wsf_buf_fini(&d);
    ck_assert_int_eq(wsf_bk_push_parse(&d, "{}", 2), -1);
    ck_assert_int_eq(wsf_bk_push_parse(&d, "[1]", 3), -1);
    ck_assert_int_eq(wsf_bk_push_parse(&d, "", 0), -1);
    ck_assert_int_eq(wsf_bk_push_parse(&d, "{\"data\":1,\"data\":2}", 19), -1);
    ck_assert_uint_eq(d.len, 0);

    ck_assert(wsf_bk_subject_ok("alice", 5));
    ck_assert(wsf_bk_subject_ok("a.b@c.d", 7));
    ck_assert(!wsf_bk_subject_ok("", 0));
    ck_assert(!wsf_bk_subject_ok("a b", 3));
    ck_assert(!wsf_bk_subject_ok("a*", 2));
    ck_assert(!wsf_bk_subject_ok("a>", 2));
    ck_assert(!wsf_bk_subject_ok(".a", 2));
    ck_assert(!wsf_bk_subject_ok("a.", 2));
    ck_assert(!wsf_bk_subject_ok("a..b", 4));
    ck_assert(!wsf_bk_subject_ok("\xc3\xa9", 2));
}
END_TEST

Suite *wsf_bkproto_suite(void)
{
    Suite *s = suite_create("wsf_bkproto");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, connect_event);
    tcase_add_test(tc, other_events);
    tcase_add_test(tc, connect_replies);
    tcase_add_test(tc, other_replies);
    tcase_add_loop_test(tc, malformed_replies, 0, (int)(sizeof malformed / sizeof malformed[0]));
    tcase_add_test(tc, long_fields);
    tcase_add_test(tc, pushes_and_subjects);
    tcase_add_test(tc, large_data);
    suite_add_tcase(s, tc);
    return s;
}
