/* Application backend events and replies: hand-written events, jansson-parsed replies. */
#include "wsf_bkproto.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_chenc.h"
#include "wsf_jscan.h"
#include "ws_utf8.h"

const char *wsf_bk_subject(enum wsf_bk_kind kind)
{
    switch (kind) {
    case WSF_BK_CONNECT:
        return WSF_BK_SUBJ_CONNECT;
    case WSF_BK_RPC:
        return WSF_BK_SUBJ_RPC;
    case WSF_BK_SUBSCRIBE:
        return WSF_BK_SUBJ_SUBSCRIBE;
    default:
        return WSF_BK_SUBJ_PUBLISH;
    }
}

static void wsf_bk_put(wsf_buf *out, const char *s)
{
    wsf_buf_append(out, s, strlen(s));
}

/* A JSON string of len arbitrary bytes: valid UTF-8 kept, each byte of invalid input as U+FFFD,
 * NUL as \u0000. */
static void wsf_bk_put_bytes(wsf_buf *out, const char *s, size_t len)
{
    char tmp[512];
    wsf_buf heap = {0};
    char *copy = tmp;
    if (len >= sizeof tmp)
        copy = (char *)wsf_buf_reserve(&heap, len + 1);
    bool valid = ws_utf8_is_valid((const uint8_t *)s, len) && memchr(s, '\0', len) == NULL;
    if (valid) {
        memcpy(copy, s, len);
        copy[len] = '\0';
        wsf_ch_enc_str(out, copy);
    } else {
        /* Rare (HTTP headers are ASCII in practice): written byte by byte. */
        wsf_buf_append(out, "\"", 1);
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)s[i];
            if (ch >= 0x80 || ch == 0) {
                wsf_bk_put(out, "\\ufffd");
            } else {
                char one[2] = {(char)ch, '\0'};
                wsf_buf one_out = {0};
                wsf_ch_enc_str(&one_out, one);
                wsf_buf_append(out, one_out.data + 1, one_out.len - 2);
                wsf_buf_fini(&one_out);
            }
        }
        wsf_buf_append(out, "\"", 1);
    }
    wsf_buf_fini(&heap);
}

static void wsf_bk_field(wsf_buf *out, const char *key, const char *value)
{
    wsf_buf_append(out, ",\"", 2);
    wsf_bk_put(out, key);
    wsf_buf_append(out, "\":", 2);
    wsf_ch_enc_str(out, value);
}

static void wsf_bk_open(wsf_buf *out, const char *client, const char *user)
{
    wsf_bk_put(out, "{\"client\":");
    wsf_ch_enc_str(out, client);
    wsf_bk_field(out, "user", user != NULL ? user : "");
}

void wsf_bk_enc_event(wsf_buf *out, enum wsf_bk_kind kind, const wsf_bk_event *ev)
{
    wsf_bk_open(out, ev->client, ev->user);
    if (kind == WSF_BK_CONNECT) {
        wsf_bk_field(out, "ip", ev->ip != NULL ? ev->ip : "");
        wsf_bk_put(out, ",\"headers\":{");
        for (size_t i = 0; i < ev->nheaders; i++) {
            if (i > 0)
                wsf_buf_append(out, ",", 1);
            wsf_bk_put_bytes(out, ev->headers[i].name, ev->headers[i].name_len);
            wsf_buf_append(out, ":", 1);
            wsf_bk_put_bytes(out, ev->headers[i].value, ev->headers[i].value_len);
        }
        wsf_buf_append(out, "}", 1);
        if (ev->token != NULL)
            wsf_bk_field(out, "token", ev->token);
    }
    if (kind == WSF_BK_RPC)
        wsf_bk_field(out, "method", ev->method != NULL ? ev->method : "");
    if (kind == WSF_BK_SUBSCRIBE || kind == WSF_BK_PUBLISH)
        wsf_bk_field(out, "channel", ev->channel != NULL ? ev->channel : "");
    if (ev->data != NULL && kind != WSF_BK_SUBSCRIBE) {
        wsf_bk_put(out, ",\"data\":");
        wsf_buf_append(out, ev->data, ev->data_len);
    }
    wsf_buf_append(out, "}", 1);
}

void wsf_bk_enc_disconnect(wsf_buf *out, const char *client, const char *user)
{
    wsf_bk_open(out, client, user);
    wsf_buf_append(out, "}", 1);
}

void wsf_bk_reply_fini(wsf_bk_reply *r)
{
    wsf_ch_pool_fini(&r->pool);
}

/* Compact v into out[0..cap) and returns its length (which may exceed cap: then out holds
 * nothing usable and a second pass with that much room is needed). */
static size_t wsf_bk_dumpb(json_t *v, char *out, size_t cap)
{
    size_t n = json_dumpb(v, out, cap, JSON_COMPACT | JSON_ENCODE_ANY);
    if (n == 0)
        abort(); /* jansson only fails to encode what it cannot allocate */
    return n;
}

/* Compact data into the pool: one encoding pass for all but large data. */
static const char *wsf_bk_dump(wsf_ch_pool *pool, json_t *v, size_t *len)
{
    char small[1024];
    size_t n = wsf_bk_dumpb(v, small, sizeof small);
    char *p = wsf_ch_pool_calloc(pool, n + 1, 1);
    if (n <= sizeof small)
        memcpy(p, small, n);
    else if (wsf_bk_dumpb(v, p, n) != n)
        abort();
    *len = n;
    return p;
}

static const char *wsf_bk_str(wsf_ch_pool *pool, json_t *v)
{
    return wsf_ch_pool_strndup(pool, json_string_value(v), json_string_length(v));
}

/* A string without NUL, at most max bytes. */
static bool wsf_bk_is_str(json_t *v, size_t max)
{
    return json_is_string(v) && json_string_length(v) <= max &&
           strlen(json_string_value(v)) == json_string_length(v);
}

static int wsf_bk_result(wsf_bk_reply *r, enum wsf_bk_kind kind, json_t *res)
{
    if (!json_is_object(res))
        return -1;
    json_t *data = json_object_get(res, "data");
    if (data != NULL && kind != WSF_BK_SUBSCRIBE)
        r->data = wsf_bk_dump(&r->pool, data, &r->data_len);
    if (kind != WSF_BK_CONNECT)
        return 0;
    json_t *user = json_object_get(res, "user");
    if (user != NULL && !json_is_null(user)) {
        if (!wsf_bk_is_str(user, WSF_BK_MAX_USER))
            return -1;
        r->user = wsf_bk_str(&r->pool, user);
    }
    json_t *chans = json_object_get(res, "channels");
    if (chans != NULL && !json_is_null(chans)) {
        if (!json_is_array(chans) || json_array_size(chans) > WSF_CH_MAX_SUBS)
            return -1;
        r->nchannels = json_array_size(chans);
        r->channels = wsf_ch_pool_calloc(&r->pool, r->nchannels, sizeof *r->channels);
        for (size_t i = 0; i < r->nchannels; i++) {
            json_t *c = json_array_get(chans, i);
            if (!json_is_string(c) ||
                !wsf_ch_channel_is_valid(json_string_value(c), json_string_length(c)))
                return -1;
            r->channels[i] = wsf_bk_str(&r->pool, c);
        }
    }
    return 0;
}

static int wsf_bk_refusal(wsf_bk_reply *r, json_t *o, bool close)
{
    if (!json_is_object(o))
        return -1;
    json_t *code = json_object_get(o, "code");
    json_t *msg = json_object_get(o, close ? "reason" : "message");
    if (!json_is_integer(code))
        return -1;
    json_int_t c = json_integer_value(code);
    if (close ? !(c == 1000 || (c >= 3000 && c <= 4999)) : !(c >= 1 && c <= 2147483647))
        return -1;
    r->code = (int)c;
    if (msg == NULL || json_is_null(msg)) {
        r->message = "";
        return 0;
    }
    if (!wsf_bk_is_str(msg, close ? WSF_BK_MAX_REASON : WSF_BK_MAX_MESSAGE))
        return -1;
    r->message = wsf_bk_str(&r->pool, msg);
    return 0;
}

/* The usual answer to an rpc, subscribe or publish, {"result":{...}} in compact form, read without
 * jansson into what the jansson path makes of it. False leaves it to that path. */
static bool wsf_bk_reply_fast(wsf_bk_reply *out, enum wsf_bk_kind kind, const char *buf,
                              size_t len)
{
    wsf_jmember top[4], res[8];
    if (kind == WSF_BK_CONNECT)
        return false;
    int n = wsf_jscan_object(top, 4, buf, len, WSF_CH_MAX_DEPTH);
    if (n < 0 || wsf_jscan_find(top, (size_t)n, "error") != NULL ||
        wsf_jscan_find(top, (size_t)n, "disconnect") != NULL)
        return false;
    const wsf_jmember *result = wsf_jscan_find(top, (size_t)n, "result");
    if (result == NULL || result->val[0] != '{')
        return false;
    int nr = wsf_jscan_object(res, 8, result->val, result->val_len, WSF_CH_MAX_DEPTH);
    if (nr < 0)
        return false;
    const wsf_jmember *data = wsf_jscan_find(res, (size_t)nr, "data");
    memset(out, 0, sizeof *out);
    out->outcome = WSF_BK_RESULT;
    if (data != NULL && kind != WSF_BK_SUBSCRIBE) {
        out->data = wsf_ch_pool_strndup(&out->pool, data->val, data->val_len);
        out->data_len = data->val_len;
    }
    return true;
}

int wsf_bk_reply_parse(wsf_bk_reply *out, enum wsf_bk_kind kind, const char *buf, size_t len)
{
    if (wsf_bk_reply_fast(out, kind, buf, len))
        return 0;
    return wsf_bk_reply_parse_jansson(out, kind, buf, len);
}

int wsf_bk_reply_parse_jansson(wsf_bk_reply *out, enum wsf_bk_kind kind, const char *buf,
                               size_t len)
{
    if (len == 0 || !wsf_ch_depth_ok(buf, len))
        return -1;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return -1;
    }
    json_t *res = json_object_get(doc, "result");
    json_t *err = json_object_get(doc, "error");
    json_t *dis = json_object_get(doc, "disconnect");
    wsf_bk_reply r = {0};
    int rc = -1;
    if ((res != NULL) + (err != NULL) + (dis != NULL) != 1)
        goto done;
    if (res != NULL) {
        r.outcome = WSF_BK_RESULT;
        rc = wsf_bk_result(&r, kind, res);
    } else if (err != NULL) {
        r.outcome = WSF_BK_ERROR;
        rc = wsf_bk_refusal(&r, err, false);
    } else if (kind == WSF_BK_CONNECT) {
        r.outcome = WSF_BK_DISCONNECT;
        rc = wsf_bk_refusal(&r, dis, true);
    }
done:
    json_decref(doc);
    if (rc != 0) {
        wsf_ch_pool_fini(&r.pool);
        return -1;
    }
    *out = r;
    return 0;
}

int wsf_bk_push_parse(wsf_buf *data, const char *buf, size_t len)
{
    wsf_jmember top[4];
    int n = wsf_jscan_object(top, 4, buf, len, WSF_CH_MAX_DEPTH);
    const wsf_jmember *d = n < 0 ? NULL : wsf_jscan_find(top, (size_t)n, "data");
    if (d != NULL) {
        wsf_buf_append(data, d->val, d->val_len);
        return 0;
    }
    return wsf_bk_push_parse_jansson(data, buf, len);
}

int wsf_bk_push_parse_jansson(wsf_buf *data, const char *buf, size_t len)
{
    if (len == 0 || !wsf_ch_depth_ok(buf, len))
        return -1;
    json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *d = json_object_get(doc, "data");
    int rc = -1;
    if (json_is_object(doc) && d != NULL) {
        /* One pass into what the buffer has room for (at least 1 KiB), a second only when the
         * data is larger. */
        size_t room = data->cap - data->len < 1024 ? 1024 : data->cap - data->len;
        size_t n = wsf_bk_dumpb(d, (char *)wsf_buf_reserve(data, room), room);
        if (n > room && wsf_bk_dumpb(d, (char *)wsf_buf_reserve(data, n), n) != n)
            abort();
        data->len += n;
        rc = 0;
    }
    json_decref(doc);
    return rc;
}

bool wsf_bk_subject_ok(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '*' || ch == '>')
            return false;
        if (ch == '.' && s[i + 1] == '.')
            return false;
    }
    return true;
}
