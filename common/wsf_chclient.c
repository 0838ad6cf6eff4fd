/* wsfleet.v1 client side: server frames into replies, errors and pushes. */
#include "wsf_chclient.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"

/* Reading one object: the list's pool and why it is invalid. */
typedef struct wsf_chc_ctx {
    wsf_ch_pool *pool;
    const char *why;
} wsf_chc_ctx;

static bool wsf_chc_bad(wsf_chc_ctx *x, const char *why)
{
    x->why = why;
    return false;
}

static bool wsf_chc_uint(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool wsf_chc_str(wsf_chc_ctx *x, const json_t *obj, const char *key, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return false;
    *out = wsf_ch_pool_strndup(x->pool, json_string_value(v), json_string_length(v));
    return true;
}

static void wsf_chc_dump(wsf_chc_ctx *x, const json_t *v, const char **data, size_t *len)
{
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    char *p = wsf_ch_pool_calloc(x->pool, n + 1, 1);
    if (n == 0 || json_dumpb(v, p, n, JSON_COMPACT | JSON_ENCODE_ANY) != n)
        abort(); /* jansson only fails to encode what it cannot allocate */
    *data = p;
    *len = n;
}

/* {"offset":N,"data":D[,"info":{"user":U}]} */
static bool wsf_chc_pub(wsf_chc_ctx *x, const json_t *v, wsf_ch_pub *pub)
{
    if (!json_is_object(v) || !wsf_chc_uint(json_object_get(v, "offset"), &pub->offset))
        return wsf_chc_bad(x, "pub without offset");
    const json_t *data = json_object_get(v, "data");
    if (data == NULL)
        return wsf_chc_bad(x, "pub without data");
    wsf_chc_dump(x, data, &pub->data, &pub->data_len);
    const json_t *info = json_object_get(v, "info");
    if (info != NULL && (!json_is_object(info) || !wsf_chc_str(x, info, "user", &pub->user)))
        return wsf_chc_bad(x, "pub with a bad info");
    return true;
}

/* {"epoch":E,"offset":O,["recovered":B,]"pubs":[...]} */
static bool wsf_chc_state(wsf_chc_ctx *x, const json_t *v, bool with_recovered, wsf_ch_state *st)
{
    if (!json_is_object(v) || !wsf_chc_str(x, v, "epoch", &st->epoch) ||
        !wsf_chc_uint(json_object_get(v, "offset"), &st->offset))
        return wsf_chc_bad(x, "position without epoch or offset");
    if (with_recovered) {
        const json_t *r = json_object_get(v, "recovered");
        if (!json_is_boolean(r))
            return wsf_chc_bad(x, "position without recovered");
        st->recovered = json_is_true(r);
    }
    const json_t *pubs = json_object_get(v, "pubs");
    if (!json_is_array(pubs))
        return wsf_chc_bad(x, "position without pubs");
    size_t n = json_array_size(pubs);
    wsf_ch_pub *out = wsf_ch_pool_calloc(x->pool, n, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        if (!wsf_chc_pub(x, json_array_get(pubs, i), &out[i]))
            return false;
    }
    st->pubs = out;
    st->npubs = n;
    return true;
}

static bool wsf_chc_connect(wsf_chc_ctx *x, const json_t *body, wsf_ch_msg *m)
{
    if (!wsf_chc_str(x, body, "client", &m->client) || !wsf_chc_str(x, body, "user", &m->user))
        return wsf_chc_bad(x, "connect without client or user");
    json_t *subs = json_object_get(body, "subs");
    if (!json_is_object(subs))
        return wsf_chc_bad(x, "connect without subs");
    m->subs = wsf_ch_pool_calloc(x->pool, json_object_size(subs), sizeof *m->subs);
    const char *key;
    size_t key_len;
    json_t *v;
    json_object_keylen_foreach(subs, key, key_len, v)
    {
        wsf_ch_state *st = &m->subs[m->nsubs++];
        st->channel = wsf_ch_pool_strndup(x->pool, key, key_len);
        if (!wsf_chc_state(x, v, true, st))
            return false;
    }
    return true;
}

static bool wsf_chc_presence(wsf_chc_ctx *x, const json_t *body, wsf_ch_msg *m)
{
    json_t *clients = json_object_get(body, "clients");
    if (!json_is_object(clients))
        return wsf_chc_bad(x, "presence without clients");
    m->members = wsf_ch_pool_calloc(x->pool, json_object_size(clients), sizeof *m->members);
    const char *key;
    size_t key_len;
    json_t *v;
    json_object_keylen_foreach(clients, key, key_len, v)
    {
        wsf_ch_member *mb = &m->members[m->nmembers++];
        mb->client = wsf_ch_pool_strndup(x->pool, key, key_len);
        if (!json_is_object(v) || !wsf_chc_str(x, v, "user", &mb->user))
            return wsf_chc_bad(x, "presence client without user");
    }
    return true;
}

static bool wsf_chc_reply(wsf_chc_ctx *x, enum wsf_ch_op op, const json_t *body, wsf_ch_msg *m)
{
    const json_t *v;
    switch (op) {
    case WSF_CH_OP_CONNECT:
        return wsf_chc_connect(x, body, m);
    case WSF_CH_OP_SUBSCRIBE:
        return wsf_chc_state(x, body, true, &m->state);
    case WSF_CH_OP_HISTORY:
        return wsf_chc_state(x, body, false, &m->state);
    case WSF_CH_OP_UNSUBSCRIBE:
        return true;
    case WSF_CH_OP_PUBLISH:
        if (!wsf_chc_uint(json_object_get(body, "offset"), &m->state.offset))
            return wsf_chc_bad(x, "publish without offset");
        return true;
    case WSF_CH_OP_RPC:
        v = json_object_get(body, "data");
        if (v != NULL)
            wsf_chc_dump(x, v, &m->data, &m->data_len);
        return true;
    case WSF_CH_OP_REFRESH:
        v = json_object_get(body, "expires");
        if (!json_is_integer(v))
            return wsf_chc_bad(x, "refresh without expires");
        m->expires = json_integer_value(v);
        return true;
    case WSF_CH_OP_PRESENCE:
        return wsf_chc_presence(x, body, m);
    default:
        return wsf_chc_bad(x, "unknown reply");
    }
}

static bool wsf_chc_push(wsf_chc_ctx *x, const json_t *push, wsf_ch_msg *m)
{
    if (!json_is_object(push))
        return wsf_chc_bad(x, "push must be an object");
    const json_t *msg = json_object_get(push, "message");
    if (msg != NULL) {
        const json_t *data = json_object_get(msg, "data");
        if (!json_is_object(msg) || data == NULL)
            return wsf_chc_bad(x, "message push without data");
        m->kind = WSF_CH_MSG_PUSH_MESSAGE;
        wsf_chc_dump(x, data, &m->data, &m->data_len);
        return true;
    }
    if (!wsf_chc_str(x, push, "channel", &m->channel))
        return wsf_chc_bad(x, "push without channel or message");
    m->kind = WSF_CH_MSG_PUSH_PUB;
    return wsf_chc_pub(x, json_object_get(push, "pub"), &m->pub);
}

static bool wsf_chc_error(wsf_chc_ctx *x, const json_t *err, wsf_ch_msg *m)
{
    const json_t *code = json_object_get(err, "code");
    if (!json_is_object(err) || !json_is_integer(code) ||
        !wsf_chc_str(x, err, "message", &m->message))
        return wsf_chc_bad(x, "error without code or message");
    m->kind = WSF_CH_MSG_ERROR;
    m->code = (int)json_integer_value(code);
    return true;
}

static bool wsf_chc_object(wsf_chc_ctx *x, const json_t *root, wsf_ch_msg *m)
{
    if (!json_is_object(root))
        return wsf_chc_bad(x, "not a JSON object");
    const json_t *push = json_object_get(root, "push");
    if (push != NULL)
        return wsf_chc_push(x, push, m);
    const json_t *id = json_object_get(root, "id");
    if (id != NULL && (!wsf_chc_uint(id, &m->id) || m->id == 0))
        return wsf_chc_bad(x, "bad id");
    const json_t *err = json_object_get(root, "error");
    if (err != NULL)
        return wsf_chc_error(x, err, m);
    if (id == NULL)
        return wsf_chc_bad(x, "reply without id");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)root, key, v)
    {
        if (strcmp(key, "id") == 0)
            continue;
        for (int op = WSF_CH_OP_NONE + 1; op < WSF_CH_OP_COUNT; op++) {
            if (strcmp(key, wsf_ch_op_name((enum wsf_ch_op)op)) != 0)
                continue;
            if (!json_is_object(v))
                return wsf_chc_bad(x, "reply body must be an object");
            m->kind = WSF_CH_MSG_REPLY;
            m->op = (enum wsf_ch_op)op;
            return wsf_chc_reply(x, m->op, v, m);
        }
    }
    return wsf_chc_bad(x, "reply without a known command");
}

void wsf_ch_msgs_init(wsf_ch_msgs *m)
{
    memset(m, 0, sizeof *m);
}

void wsf_ch_msgs_fini(wsf_ch_msgs *m)
{
    free(m->items);
    wsf_ch_pool_fini(&m->pool);
    memset(m, 0, sizeof *m);
}

static wsf_ch_msg *wsf_chc_add(wsf_ch_msgs *m)
{
    if (m->n == m->cap) {
        m->cap = m->cap == 0 ? 4 : m->cap * 2;
        m->items = wsf_xrealloc(m->items, m->cap * sizeof *m->items);
    }
    wsf_ch_msg *msg = &m->items[m->n++];
    memset(msg, 0, sizeof *msg);
    return msg;
}

void wsf_ch_parse_server(wsf_ch_msgs *m, const char *buf, size_t len)
{
    size_t pos = 0;
    const char *line;
    size_t line_len;
    while (wsf_ch_next_line(buf, len, &pos, &line, &line_len)) {
        wsf_ch_msg *msg = wsf_chc_add(m);
        wsf_chc_ctx x = {&m->pool, NULL};
        bool ok = false;
        if (!wsf_ch_depth_ok(line, line_len)) {
            x.why = "nested too deep";
        } else {
            json_error_t jerr;
            json_t *root = json_loadb(line, line_len, JSON_REJECT_DUPLICATES, &jerr);
            if (root == NULL) {
                x.why = "malformed JSON";
            } else {
                ok = wsf_chc_object(&x, root, msg);
                json_decref(root);
            }
        }
        if (!ok) {
            memset(msg, 0, sizeof *msg);
            msg->kind = WSF_CH_MSG_INVALID;
            msg->code = WSF_CH_ERR_BAD_REQUEST;
            msg->message = x.why;
        }
    }
}

/* The length of the JSON value at p (a string, an object or array with what nests inside, or a
 * scalar up to the next ',', '}' or ']'), or 0 when it does not end within n bytes. */
static size_t wsf_chc_skip_value(const char *p, size_t n)
{
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (in_string) {
            if (ch == '\\') {
                i++;
            } else if (ch == '"') {
                in_string = false;
                if (depth == 0)
                    return i + 1;
            }
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']' || ch == ',') {
            if (depth == 0)
                return ch == ',' || i > 0 ? i : 0;
            if (ch != ',' && --depth == 0)
                return i + 1;
        }
    }
    return 0;
}

/* Consumes the literal lit at *p, if it is there. */
static bool wsf_chc_lit(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

bool wsf_ch_peek_push(wsf_ch_peek *out, const char *line, size_t len)
{
    const char *p = line;
    const char *end = line + len;
    if (!wsf_chc_lit(&p, end, "{\"push\":{\"channel\":\""))
        return false;
    const char *channel = p;
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (q == NULL || !wsf_ch_channel_is_valid(channel, (size_t)(q - channel)))
        return false;
    p = q;
    if (!wsf_chc_lit(&p, end, "\",\"pub\":{\"offset\":"))
        return false;
    uint64_t offset = 0;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9' && p - digits < 16) {
        offset = offset * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == digits || offset > WSF_CH_MAX_ID || !wsf_chc_lit(&p, end, ",\"data\":"))
        return false;
    size_t data_len = wsf_chc_skip_value(p, (size_t)(end - p));
    if (data_len == 0)
        return false;
    const char *after = p + data_len;
    if (!wsf_chc_lit(&after, end, "}") && !wsf_chc_lit(&after, end, ",\"info\":"))
        return false;
    out->channel = channel;
    out->channel_len = (size_t)(q - channel);
    out->offset = offset;
    out->data = p;
    out->data_len = data_len;
    return true;
}
