/* Unit tests for common/wsf_jscan.c and the fast paths built on it (wsf_chproto's commands,
 * wsf_bkproto's results and pushes): what the scanner takes and declines, and, over texts made
 * at random (a fixed seed) and mutated, that whatever it takes jansson reads and writes back byte
 * for byte, and that every parser with a fast path gives what its jansson path gives. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_bkproto.h"
#include "wsf_chproto.h"
#include "wsf_jscan.h"

Suite *wsf_jscan_suite(void);

static int scan(const char *text, wsf_jmember *m, size_t max)
{
    return wsf_jscan_object(m, max, text, strlen(text), 32);
}

START_TEST(members_in_place)
{
    wsf_jmember m[4];
    const char *t = "{\"id\":7,\"rpc\":{\"method\":\"x\",\"data\":[1,{\"a\":null}]}}";
    ck_assert_int_eq(scan(t, m, 4), 2);
    ck_assert(wsf_jscan_key_is(&m[0], "id"));
    uint64_t id;
    ck_assert(wsf_jscan_uint(&m[0], 100, &id));
    ck_assert_uint_eq(id, 7);
    ck_assert(!wsf_jscan_uint(&m[0], 6, &id));
    ck_assert(wsf_jscan_key_is(&m[1], "rpc"));
    ck_assert_uint_eq(m[1].val_len, strlen("{\"method\":\"x\",\"data\":[1,{\"a\":null}]}"));
    wsf_jmember b[4];
    ck_assert_int_eq(wsf_jscan_object(b, 4, m[1].val, m[1].val_len, 32), 2);
    const wsf_jmember *d = wsf_jscan_find(b, 2, "data");
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(memcmp(d->val, "[1,{\"a\":null}]", d->val_len), 0);
    const char *s;
    size_t n;
    ck_assert(wsf_jscan_string(&b[0], &s, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(s[0], 'x');
    ck_assert(!wsf_jscan_string(d, &s, &n));
    ck_assert_ptr_null(wsf_jscan_find(b, 2, "nope"));
    ck_assert_int_eq(scan("{}", m, 4), 0);
    ck_assert_int_eq(scan("{\"a\":\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"b\":-12,\"c\":true,"
                          "\"d\":false,\"e\":[],\"f\":{},\"g\":0,\"h\":999999999999999999}",
                          m, 4),
                     -1); /* more members than room */
    wsf_jmember many[8];
    ck_assert_int_eq(scan("{\"a\":\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"b\":-12,\"c\":true,"
                          "\"d\":false,\"e\":[],\"f\":{},\"g\":0,\"h\":999999999999999999}",
                          many, 8),
                     8);
}
END_TEST

START_TEST(declines_what_jansson_would_write_otherwise)
{
    static const char *const no[] = {
        "", "[]", "1", "{", "{\"a\":1", "{\"a\":1}x", " {}", "{} ", "{\"a\": 1}", "{ \"a\":1}",
        "{\"a\":1 }", "{\"a\":[1, 2]}", "{\"a\":\"\\n\"}", "{\"a\\u0041\":1}", "{\"a\":1.5}",
        "{\"a\":1e3}", "{\"a\":1E3}", "{\"a\":-0}", "{\"a\":01}", "{\"a\":-}", "{\"a\":+1}",
        "{\"a\":1234567890123456789}", "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":1}}",
        "{\"a\":tru}", "{\"a\":nul}", "{\"a\":True}", "{\"a\":\"x\ty\"}", "{\"a\":\"\x01\"}",
        "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xc1\xbf\"}", "{\"a\":\"\xe0\x80\xaf\"}",
        "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xf5\x80\x80\x80\"}",
        "{\"a\":\"\x80\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xe2\x82\"}", "{\"a\":[1,]}", "{\"a\":1,}",
        "{,}", "{\"a\"1}", "{a:1}", "{\"a\":'x'}", "{\"a\":[}", "{\"a\":]}", "{\"a\":\"x}",
    };
    wsf_jmember m[8];
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        ck_assert_msg(scan(no[i], m, 8) == -1, "took %s", no[i]);
    /* Depth: 32 nested arrays and objects in all are taken, 33 are not. */
    char deep[128];
    size_t k = 0;
    deep[k++] = '{';
    deep[k++] = '"';
    deep[k++] = 'a';
    deep[k++] = '"';
    deep[k++] = ':';
    for (int i = 0; i < 31; i++)
        deep[k++] = '[';
    for (int i = 0; i < 31; i++)
        deep[k++] = ']';
    deep[k++] = '}';
    ck_assert_int_eq(wsf_jscan_object(m, 8, deep, k, 32), 1);
    ck_assert_int_eq(wsf_jscan_object(m, 8, deep, k, 31), -1);
    /* At most WSF_JSCAN_MAX_KEYS keys in one object. */
    char wide[1024];
    int w = snprintf(wide, sizeof wide, "{\"o\":{");
    for (int i = 0; i <= WSF_JSCAN_MAX_KEYS; i++)
        w += snprintf(wide + w, sizeof wide - (size_t)w, "%s\"k%d\":%d", i ? "," : "", i, i);
    snprintf(wide + w, sizeof wide - (size_t)w, "}}");
    ck_assert_int_eq(scan(wide, m, 8), -1);
}
END_TEST

/* ---- texts at random ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

typedef struct text {
    char b[4096];
    size_t n;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->n + n < sizeof t->b) {
        memcpy(t->b + t->n, s, n);
        t->n += n;
    }
}

static void puts_(text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void gen_string(text *t)
{
    static const char *const parts[] = {
        "a", "channel", "data", "id", "x", "rpc", "é", "€", "😀", " ", "\\n", "\\\"", "\\u0041",
        "\\u0000", "/", "\x7f", "room:1", "\xed\xa0\x80", "\xc0\xaf", "method", "result",
    };
    put(t, "\"", 1);
    int k = (int)rnd(4);
    for (int i = 0; i < k; i++)
        puts_(t, parts[rnd(sizeof parts / sizeof parts[0])]);
    put(t, "\"", 1);
}

static void gen_value(text *t, int depth);

static void gen_object(text *t, int depth, const char *const *keys, size_t nkeys)
{
    put(t, "{", 1);
    int k = (int)rnd(5);
    for (int i = 0; i < k; i++) {
        if (i > 0)
            put(t, ",", 1);
        if (rnd(3) != 0) {
            put(t, "\"", 1);
            puts_(t, keys[rnd((uint32_t)nkeys)]);
            put(t, "\"", 1);
        } else {
            gen_string(t);
        }
        put(t, ":", 1);
        gen_value(t, depth + 1);
    }
    put(t, "}", 1);
}

static const char *const field_keys[] = {"a", "b", "data", "channel", "method", "since", "x"};

static void gen_value(text *t, int depth)
{
    static const char *const nums[] = {"0", "7", "-3", "42", "1.5", "-0", "1e2", "123456789012345678",
                                       "1234567890123456789", "9007199254740991", "01", "2E-1"};
    switch (depth > 4 ? rnd(4) : rnd(7)) {
    case 0:
        gen_string(t);
        break;
    case 1:
        puts_(t, nums[rnd(sizeof nums / sizeof nums[0])]);
        break;
    case 2:
        puts_(t, rnd(3) == 0 ? "null" : rnd(2) ? "true" : "false");
        break;
    case 3:
        puts_(t, rnd(4) == 0 ? "[ ]" : "[]");
        break;
    case 4:
    case 5:
        gen_object(t, depth, field_keys, sizeof field_keys / sizeof field_keys[0]);
        break;
    default: {
        put(t, "[", 1);
        int k = (int)rnd(4);
        for (int i = 0; i < k; i++) {
            if (i > 0)
                puts_(t, rnd(8) == 0 ? ", " : ",");
            gen_value(t, depth + 1);
        }
        put(t, "]", 1);
        break;
    }
    }
}

/* A command line as clients write it, now and then bent out of shape. */
static void gen_command(text *t)
{
    static const char *const ops[] = {"rpc",   "publish", "subscribe", "unsubscribe", "presence",
                                      "history", "connect", "refresh", "bogus"};
    static const char *const chans[] = {"room:1", "a", "bad name", "", "x.y-z@q", "é"};
    static const char *const methods[] = {"echo", "", "m\\u0041", "members"};
    static const char *const ids[] = {"1", "2", "0", "-1", "9007199254740991", "9007199254740992",
                                      "1.0", "\"3\""};
    t->n = 0;
    const char *id = ids[rnd(sizeof ids / sizeof ids[0])];
    const char *op = ops[rnd(sizeof ops / sizeof ops[0])];
    bool id_first = rnd(4) != 0;
    put(t, "{", 1);
    if (id_first) {
        puts_(t, "\"id\":");
        puts_(t, id);
        put(t, ",", 1);
    }
    put(t, "\"", 1);
    puts_(t, op);
    puts_(t, "\":{");
    bool comma = false;
    if (rnd(5) != 0) {
        puts_(t, "\"channel\":\"");
        puts_(t, chans[rnd(sizeof chans / sizeof chans[0])]);
        put(t, "\"", 1);
        comma = true;
    }
    if (rnd(3) != 0) {
        if (comma)
            put(t, ",", 1);
        puts_(t, "\"method\":\"");
        puts_(t, methods[rnd(sizeof methods / sizeof methods[0])]);
        put(t, "\"", 1);
        comma = true;
    }
    if (rnd(4) != 0) {
        if (comma)
            put(t, ",", 1);
        puts_(t, "\"data\":");
        gen_value(t, 2);
        comma = true;
    }
    if (rnd(6) == 0) {
        if (comma)
            put(t, ",", 1);
        puts_(t, rnd(2) ? "\"since\":{\"epoch\":\"e\",\"offset\":3}" : "\"limit\":5");
    }
    put(t, "}", 1);
    if (!id_first || rnd(10) == 0) {
        puts_(t, ",\"id\":");
        puts_(t, id);
    }
    put(t, "}", 1);
}

static void gen_reply(text *t)
{
    static const char *const top[] = {"result", "error", "disconnect", "x"};
    t->n = 0;
    put(t, "{", 1);
    int k = 1 + (int)rnd(2);
    for (int i = 0; i < k; i++) {
        if (i > 0)
            put(t, ",", 1);
        put(t, "\"", 1);
        puts_(t, top[rnd(4) == 0 ? rnd(4) : 0]);
        puts_(t, "\":");
        if (rnd(8) == 0)
            gen_value(t, 1);
        else
            gen_object(t, 1, field_keys, sizeof field_keys / sizeof field_keys[0]);
    }
    put(t, "}", 1);
}

/* Now and then a byte changed, dropped or doubled. */
static void mutate(text *t)
{
    if (t->n == 0 || rnd(3) != 0)
        return;
    size_t at = rnd((uint32_t)t->n);
    switch (rnd(3)) {
    case 0:
        t->b[at] = "{}[]\",: \\0-1a\x80"[rnd(15)];
        break;
    case 1:
        memmove(t->b + at, t->b + at + 1, t->n - at - 1);
        t->n--;
        break;
    default:
        if (t->n + 1 < sizeof t->b) {
            memmove(t->b + at + 1, t->b + at, t->n - at);
            t->n++;
        }
        break;
    }
}

static char *dump(const json_t *v, size_t *len)
{
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    char *p = malloc(n + 1);
    ck_assert_uint_eq(json_dumpb(v, p, n, JSON_COMPACT | JSON_ENCODE_ANY), n);
    *len = n;
    return p;
}

/* What the scanner takes, jansson takes too and writes back the same; each member's value too. */
static int check_scan_against_jansson(const text *t)
{
    wsf_jmember m[WSF_JSCAN_MAX_KEYS];
    int n = wsf_jscan_object(m, WSF_JSCAN_MAX_KEYS, t->b, t->n, 32);
    if (n < 0)
        return 0;
    json_t *doc = json_loadb(t->b, t->n, JSON_REJECT_DUPLICATES, NULL);
    ck_assert_msg(doc != NULL, "jansson refuses what the scanner took: %.*s", (int)t->n, t->b);
    size_t len;
    char *again = dump(doc, &len);
    ck_assert_msg(len == t->n && memcmp(again, t->b, len) == 0, "%.*s written back as %s",
                  (int)t->n, t->b, again);
    free(again);
    ck_assert_uint_eq(json_object_size(doc), (size_t)n);
    for (int i = 0; i < n; i++) {
        char key[256];
        ck_assert_uint_lt(m[i].key_len, sizeof key);
        memcpy(key, m[i].key, m[i].key_len);
        key[m[i].key_len] = '\0';
        json_t *v = json_object_get(doc, key);
        ck_assert_ptr_nonnull(v);
        char *vs = dump(v, &len);
        ck_assert(len == m[i].val_len && memcmp(vs, m[i].val, len) == 0);
        free(vs);
    }
    json_decref(doc);
    return 1;
}

static bool str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_cmds_same(const text *t)
{
    wsf_ch_cmds fast, slow;
    wsf_ch_cmds_init(&fast);
    wsf_ch_cmds_init(&slow);
    wsf_ch_parse_frame(&fast, t->b, t->n);
    wsf_ch_parse_frame_jansson(&slow, t->b, t->n);
    ck_assert_uint_eq(fast.n, slow.n);
    for (size_t i = 0; i < fast.n; i++) {
        const wsf_ch_cmd *a = &fast.items[i], *b = &slow.items[i];
        ck_assert_msg(a->err == b->err && a->op == b->op && a->id == b->id &&
                          str_same(a->err_msg, b->err_msg) && str_same(a->channel, b->channel) &&
                          str_same(a->method, b->method) && str_same(a->token, b->token) &&
                          a->has_since == b->has_since && a->has_limit == b->has_limit &&
                          a->nsubs == b->nsubs && a->data_len == b->data_len &&
                          (a->data == NULL) == (b->data == NULL) &&
                          (a->data == NULL || memcmp(a->data, b->data, a->data_len) == 0),
                      "fast and jansson paths differ on %.*s", (int)t->n, t->b);
    }
    wsf_ch_cmds_fini(&fast);
    wsf_ch_cmds_fini(&slow);
}

static void check_replies_same(const text *t)
{
    for (int k = WSF_BK_CONNECT; k <= WSF_BK_PUBLISH; k++) {
        wsf_bk_reply a, b;
        int ra = wsf_bk_reply_parse(&a, (enum wsf_bk_kind)k, t->b, t->n);
        int rb = wsf_bk_reply_parse_jansson(&b, (enum wsf_bk_kind)k, t->b, t->n);
        ck_assert_msg(ra == rb, "reply %.*s: %d and %d", (int)t->n, t->b, ra, rb);
        if (ra != 0)
            continue;
        ck_assert_int_eq(a.outcome, b.outcome);
        ck_assert_int_eq(a.code, b.code);
        ck_assert(str_same(a.message, b.message) && str_same(a.user, b.user));
        ck_assert_uint_eq(a.nchannels, b.nchannels);
        ck_assert_uint_eq(a.data_len, b.data_len);
        ck_assert((a.data == NULL) == (b.data == NULL));
        ck_assert(a.data == NULL || memcmp(a.data, b.data, a.data_len) == 0);
        wsf_bk_reply_fini(&a);
        wsf_bk_reply_fini(&b);
    }
    wsf_buf pa = {0}, pb = {0};
    int ra = wsf_bk_push_parse(&pa, t->b, t->n);
    int rb = wsf_bk_push_parse_jansson(&pb, t->b, t->n);
    ck_assert_int_eq(ra, rb);
    ck_assert_uint_eq(wsf_buf_pending(&pa), wsf_buf_pending(&pb));
    if (ra == 0)
        ck_assert_int_eq(memcmp(pa.data + pa.off, pb.data + pb.off, wsf_buf_pending(&pa)), 0);
    wsf_buf_fini(&pa);
    wsf_buf_fini(&pb);
}

START_TEST(random_texts_agree_with_jansson)
{
    rng_state = 0x9E3779B97F4A7C15ULL;
    int values = 0, commands = 0, replies = 0;
    const int rounds = 60000;
    text t;
    for (int i = 0; i < rounds; i++) {
        t.n = 0;
        gen_value(&t, 0);
        mutate(&t);
        values += check_scan_against_jansson(&t);
        gen_command(&t);
        mutate(&t);
        commands += check_scan_against_jansson(&t);
        check_cmds_same(&t);
        gen_reply(&t);
        mutate(&t);
        replies += check_scan_against_jansson(&t);
        check_replies_same(&t);
    }
    /* The generator (a fixed seed: the same texts every run) reaches both sides of each. */
    fprintf(stderr, "wsf_jscan: of %d each, taken: %d values, %d commands, %d replies\n", rounds,
            values, commands, replies);
    ck_assert_int_gt(values, rounds / 20);
    ck_assert_int_gt(commands, rounds / 4);
    ck_assert_int_gt(replies, rounds / 10);
    ck_assert_int_lt(values + commands + replies, 3 * rounds * 9 / 10);
}
END_TEST

START_TEST(common_commands_take_the_fast_path)
{
    /* The commands clients send most, in the fast path's form and just outside it (a real, a
     * missing data, an empty method): both paths agree. */
    static const char *const lines[] = {
        "{\"id\":1,\"rpc\":{\"method\":\"echo\",\"data\":{\"n\":1,\"s\":\"é\"}}}",
        "{\"id\":2,\"publish\":{\"channel\":\"room:1\",\"data\":[1,2,{\"a\":null}]}}",
        "{\"id\":3,\"subscribe\":{\"channel\":\"room:1\"}}",
        "{\"unsubscribe\":{\"channel\":\"room:1\"},\"id\":4}",
        "{\"id\":5,\"presence\":{\"channel\":\"room:1\"}}",
        "{\"id\":6,\"rpc\":{\"method\":\"m\"}}",
        "{\"id\":7,\"publish\":{\"channel\":\"room:1\",\"data\":1.5}}",
        "{\"id\":8,\"publish\":{\"channel\":\"room:1\"}}",
        "{\"id\":9,\"rpc\":{\"method\":\"\"}}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        text t;
        t.n = 0;
        puts_(&t, lines[i]);
        check_cmds_same(&t);
    }
    /* Data comes through as sent, which in this form is jansson's compact form. */
    wsf_ch_cmds c;
    wsf_ch_cmds_init(&c);
    const char *l = "{\"id\":1,\"rpc\":{\"method\":\"echo\",\"data\":{\"b\":[true,false],\"a\":-7}}}";
    wsf_ch_parse_frame(&c, l, strlen(l));
    ck_assert_uint_eq(c.n, 1);
    ck_assert_int_eq(c.items[0].err, 0);
    ck_assert_str_eq(c.items[0].method, "echo");
    ck_assert_str_eq(c.items[0].data, "{\"b\":[true,false],\"a\":-7}");
    wsf_ch_cmds_fini(&c);
    wsf_bk_reply r;
    const char *rep = "{\"result\":{\"data\":{\"n\":[1,\"x\"]},\"other\":1}}";
    ck_assert_int_eq(wsf_bk_reply_parse(&r, WSF_BK_RPC, rep, strlen(rep)), 0);
    ck_assert_int_eq(r.outcome, WSF_BK_RESULT);
    ck_assert_str_eq(r.data, "{\"n\":[1,\"x\"]}");
    wsf_bk_reply_fini(&r);
    ck_assert_int_eq(wsf_bk_reply_parse(&r, WSF_BK_SUBSCRIBE, rep, strlen(rep)), 0);
    ck_assert_ptr_null(r.data);
    wsf_bk_reply_fini(&r);
}
END_TEST

Suite *wsf_jscan_suite(void)
{
    Suite *s = suite_create("wsf_jscan");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, members_in_place);
    tcase_add_test(tc, declines_what_jansson_would_write_otherwise);
    tcase_add_test(tc, random_texts_agree_with_jansson);
    tcase_add_test(tc, common_commands_take_the_fast_path);
    suite_add_tcase(s, tc);
    return s;
}
