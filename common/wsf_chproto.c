/* wsfleet.v1 server-side parsing: frames into commands or per-object errors; the error table,
 * framing, connect-first and abuse rules. */
#include "wsf_chproto.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"
#include "wsf_jscan.h"

typedef struct wsf_ch_err_row {
    int code;
    const char *name;
    const char *message;
} wsf_ch_err_row;

static const wsf_ch_err_row wsf_ch_err_rows[] = {
#define WSF_CH_ERR_ROW(name, code, msg) {code, #name, msg},
    WSF_CH_ERRORS(WSF_CH_ERR_ROW)
#undef WSF_CH_ERR_ROW
};

static const char *const wsf_ch_op_names[WSF_CH_OP_COUNT] = {
    [WSF_CH_OP_CONNECT] = "connect",         [WSF_CH_OP_SUBSCRIBE] = "subscribe",
    [WSF_CH_OP_UNSUBSCRIBE] = "unsubscribe", [WSF_CH_OP_PUBLISH] = "publish",
    [WSF_CH_OP_HISTORY] = "history",         [WSF_CH_OP_RPC] = "rpc",
    [WSF_CH_OP_REFRESH] = "refresh",         [WSF_CH_OP_PRESENCE] = "presence",
};

static const wsf_ch_err_row *wsf_ch_err_find(int code)
{
    for (size_t i = 0; i < sizeof wsf_ch_err_rows / sizeof wsf_ch_err_rows[0]; i++) {
        if (wsf_ch_err_rows[i].code == code)
            return &wsf_ch_err_rows[i];
    }
    return NULL;
}

const char *wsf_ch_err_message(int code)
{
    const wsf_ch_err_row *r = wsf_ch_err_find(code);
    return r == NULL ? NULL : r->message;
}

const char *wsf_ch_err_name(int code)
{
    const wsf_ch_err_row *r = wsf_ch_err_find(code);
    return r == NULL ? NULL : r->name;
}

bool wsf_ch_err_is_abuse(int code)
{
    switch (code) {
    case WSF_CH_ERR_BAD_CHANNEL:
    case WSF_CH_ERR_BAD_REQUEST:
    case WSF_CH_ERR_ALREADY_CONNECTED:
    case WSF_CH_ERR_NOT_CONNECTED:
    case WSF_CH_ERR_DUPLICATE_ID:
    case WSF_CH_ERR_UNKNOWN_COMMAND:
        return true;
    default:
        return false;
    }
}

const char *wsf_ch_op_name(enum wsf_ch_op op)
{
    if ((int)op <= WSF_CH_OP_NONE || op >= WSF_CH_OP_COUNT)
        return NULL;
    return wsf_ch_op_names[op];
}

static enum wsf_ch_op wsf_ch_op_lookup_n(const char *key, size_t len)
{
    for (int op = WSF_CH_OP_NONE + 1; op < WSF_CH_OP_COUNT; op++) {
        if (strlen(wsf_ch_op_names[op]) == len && memcmp(wsf_ch_op_names[op], key, len) == 0)
            return (enum wsf_ch_op)op;
    }
    return WSF_CH_OP_NONE;
}

static enum wsf_ch_op wsf_ch_op_lookup(const char *key)
{
    return wsf_ch_op_lookup_n(key, strlen(key));
}

bool wsf_ch_channel_is_valid(const char *name, size_t len)
{
    if (len == 0 || len > WSF_CH_MAX_CHANNEL)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == ':' || ch == '@' ||
                  ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* ---- pool ---- */

static void wsf_ch_pool_keep(wsf_ch_pool *pool, void *p)
{
    if (pool->n == pool->cap) {
        pool->cap = pool->cap == 0 ? 16 : pool->cap * 2;
        pool->blocks = wsf_xrealloc(pool->blocks, pool->cap * sizeof *pool->blocks);
    }
    pool->blocks[pool->n++] = p;
}

char *wsf_ch_pool_strndup(wsf_ch_pool *pool, const char *s, size_t n)
{
    char *p = wsf_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    wsf_ch_pool_keep(pool, p);
    return p;
}

void *wsf_ch_pool_calloc(wsf_ch_pool *pool, size_t n, size_t size)
{
    void *p = wsf_xcalloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
    wsf_ch_pool_keep(pool, p);
    return p;
}

void wsf_ch_pool_fini(wsf_ch_pool *pool)
{
    for (size_t i = 0; i < pool->n; i++)
        free(pool->blocks[i]);
    free(pool->blocks);
    memset(pool, 0, sizeof *pool);
}

/* ---- framing ---- */

static bool wsf_ch_is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    }
    return true;
}

bool wsf_ch_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *line_len)
{
    while (*pos < len) {
        const char *start = buf + *pos;
        const char *nl = memchr(start, '\n', len - *pos);
        size_t n = nl == NULL ? len - *pos : (size_t)(nl - start);
        *pos += n + (nl == NULL ? 0 : 1);
        if (n > 0 && start[n - 1] == '\r')
            n--;
        if (!wsf_ch_is_blank(start, n)) {
            *line = start;
            *line_len = n;
            return true;
        }
    }
    return false;
}

bool wsf_ch_depth_ok(const char *line, size_t len)
{
    unsigned depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char ch = line[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > WSF_CH_MAX_DEPTH)
                return false;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

/* ---- field readers: each returns 0 or an error code, setting *msg ---- */

typedef struct wsf_ch_ctx {
    wsf_ch_pool *pool;
    const char *msg;
} wsf_ch_ctx;

static int wsf_ch_fail(wsf_ch_ctx *x, int code, const char *msg)
{
    x->msg = msg;
    return code;
}

/* A JSON integer in [0, max]; reals, even 1.0, are not integers. */
static bool wsf_ch_uint(const json_t *v, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v))
        return false;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > max)
        return false;
    *out = (uint64_t)i;
    return true;
}

static int wsf_ch_string(wsf_ch_ctx *x, const json_t *obj, const char *key, bool required,
                         size_t max, const char **out, const char *msg)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return required ? wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, msg) : 0;
    if (!json_is_string(v))
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, msg);
    size_t n = json_string_length(v);
    if (n > max)
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, msg);
    *out = wsf_ch_pool_strndup(x->pool, json_string_value(v), n);
    return 0;
}

static int wsf_ch_channel_str(wsf_ch_ctx *x, const char *name, size_t n, const char **out)
{
    if (!wsf_ch_channel_is_valid(name, n))
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_CHANNEL, "bad channel name");
    *out = wsf_ch_pool_strndup(x->pool, name, n);
    return 0;
}

static int wsf_ch_channel(wsf_ch_ctx *x, const json_t *body, const char **out)
{
    const json_t *v = json_object_get(body, "channel");
    if (v == NULL)
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "missing channel");
    if (!json_is_string(v))
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_CHANNEL, "bad channel name");
    return wsf_ch_channel_str(x, json_string_value(v), json_string_length(v), out);
}

/* {"epoch":E,"offset":O}, both required. */
static int wsf_ch_pos_read(wsf_ch_ctx *x, const json_t *v, wsf_ch_pos *out)
{
    if (!json_is_object(v))
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "since must be {\"epoch\",\"offset\"}");
    int rc = wsf_ch_string(x, v, "epoch", true, WSF_CH_MAX_EPOCH, &out->epoch,
                           "epoch must be a string of at most 128 bytes");
    if (rc != 0)
        return rc;
    if (!wsf_ch_uint(json_object_get(v, "offset"), WSF_CH_MAX_ID, &out->offset))
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "offset must be an integer from 0 to 2^53-1");
    return 0;
}

/* Compact encoding of v into the pool. */
static void wsf_ch_dump(wsf_ch_ctx *x, const json_t *v, const char **data, size_t *len)
{
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    char *p = wsf_ch_pool_calloc(x->pool, n + 1, 1);
    if (n == 0 || json_dumpb(v, p, n, JSON_COMPACT | JSON_ENCODE_ANY) != n)
        abort(); /* jansson only fails to encode what it cannot allocate */
    *data = p;
    *len = n;
}

static int wsf_ch_data(wsf_ch_ctx *x, const json_t *body, bool required, wsf_ch_cmd *cmd)
{
    const json_t *v = json_object_get(body, "data");
    if (v == NULL)
        return required ? wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "missing data") : 0;
    wsf_ch_dump(x, v, &cmd->data, &cmd->data_len);
    return 0;
}

static int wsf_ch_parse_subs(wsf_ch_ctx *x, json_t *subs, wsf_ch_cmd *cmd)
{
    if (!json_is_object(subs))
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "subs must be an object");
    size_t n = json_object_size(subs);
    if (n > WSF_CH_MAX_SUBS)
        return wsf_ch_fail(x, WSF_CH_ERR_LIMIT_EXCEEDED, "too many subs");
    cmd->subs = wsf_ch_pool_calloc(x->pool, n, sizeof *cmd->subs);
    const char *key;
    size_t key_len;
    json_t *v;
    json_object_keylen_foreach(subs, key, key_len, v)
    {
        wsf_ch_sub *s = &cmd->subs[cmd->nsubs++];
        int rc = wsf_ch_channel_str(x, key, key_len, &s->channel);
        if (rc != 0)
            return rc;
        if (!json_is_object(v))
            return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "a sub must be {\"epoch\",\"offset\"}");
        /* {} subscribes without a position. */
        if (json_object_size(v) > 0) {
            s->has_since = true;
            rc = wsf_ch_pos_read(x, v, &s->since);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static int wsf_ch_parse_body(wsf_ch_ctx *x, const json_t *body, wsf_ch_cmd *cmd)
{
    int rc = 0;
    uint64_t limit;
    json_t *v;
    switch (cmd->op) {
    case WSF_CH_OP_CONNECT:
        rc =
            wsf_ch_string(x, body, "token", false, SIZE_MAX, &cmd->token, "token must be a string");
        if (rc == 0)
            rc = wsf_ch_data(x, body, false, cmd);
        v = json_object_get(body, "subs");
        if (rc == 0 && v != NULL)
            rc = wsf_ch_parse_subs(x, v, cmd);
        break;
    case WSF_CH_OP_SUBSCRIBE:
        rc = wsf_ch_channel(x, body, &cmd->channel);
        v = json_object_get(body, "since");
        if (rc == 0 && v != NULL) {
            cmd->has_since = true;
            rc = wsf_ch_pos_read(x, v, &cmd->since);
        }
        break;
    case WSF_CH_OP_UNSUBSCRIBE:
    case WSF_CH_OP_PRESENCE:
        rc = wsf_ch_channel(x, body, &cmd->channel);
        break;
    case WSF_CH_OP_PUBLISH:
        rc = wsf_ch_channel(x, body, &cmd->channel);
        if (rc == 0)
            rc = wsf_ch_data(x, body, true, cmd);
        break;
    case WSF_CH_OP_HISTORY:
        rc = wsf_ch_channel(x, body, &cmd->channel);
        v = json_object_get(body, "limit");
        if (rc == 0 && v != NULL) {
            if (!wsf_ch_uint(v, UINT64_MAX >> 1, &limit))
                return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "limit must be an integer >= 0");
            if (limit > WSF_CH_MAX_LIMIT)
                return wsf_ch_fail(x, WSF_CH_ERR_LIMIT_EXCEEDED, "limit above 100000");
            cmd->has_limit = true;
            cmd->limit = (uint32_t)limit;
        }
        break;
    case WSF_CH_OP_RPC:
        rc = wsf_ch_string(x, body, "method", true, WSF_CH_MAX_METHOD, &cmd->method,
                           "method must be a string of 1 to 255 bytes");
        if (rc == 0 && cmd->method[0] == '\0')
            rc =
                wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "method must be a string of 1 to 255 bytes");
        if (rc == 0)
            rc = wsf_ch_data(x, body, false, cmd);
        break;
    case WSF_CH_OP_REFRESH:
        rc = wsf_ch_string(x, body, "token", true, SIZE_MAX, &cmd->token, "token must be a string");
        break;
    default:
        rc = wsf_ch_fail(x, WSF_CH_ERR_INTERNAL, "unhandled command");
        break;
    }
    return rc;
}

/* The top level: "id" and exactly one command key whose value is an object. */
static int wsf_ch_parse_object(wsf_ch_ctx *x, const json_t *root, wsf_ch_cmd *cmd)
{
    if (!json_is_object(root))
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "a command must be a JSON object");
    const json_t *id = json_object_get(root, "id");
    if (id == NULL)
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "missing id");
    uint64_t idv;
    if (!wsf_ch_uint(id, WSF_CH_MAX_ID, &idv) || idv == 0)
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "id must be an integer from 1 to 2^53-1");
    cmd->id = idv;

    const char *key;
    const char *op_key = NULL;
    const json_t *body = NULL;
    json_t *v;
    json_object_foreach((json_t *)root, key, v)
    {
        if (strcmp(key, "id") == 0)
            continue;
        if (op_key != NULL)
            return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "one command per object");
        op_key = key;
        body = v;
    }
    if (op_key == NULL)
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "missing command");
    enum wsf_ch_op op = wsf_ch_op_lookup(op_key);
    if (op == WSF_CH_OP_NONE)
        return wsf_ch_fail(x, WSF_CH_ERR_UNKNOWN_COMMAND, "unknown command");
    if (!json_is_object(body))
        return wsf_ch_fail(x, WSF_CH_ERR_BAD_REQUEST, "a command's body must be an object");
    cmd->op = op;
    return wsf_ch_parse_body(x, body, cmd);
}

void wsf_ch_cmds_init(wsf_ch_cmds *c)
{
    memset(c, 0, sizeof *c);
}

void wsf_ch_cmds_fini(wsf_ch_cmds *c)
{
    free(c->items);
    wsf_ch_pool_fini(&c->pool);
    memset(c, 0, sizeof *c);
}

static wsf_ch_cmd *wsf_ch_cmds_add(wsf_ch_cmds *c)
{
    if (c->n == c->cap) {
        c->cap = c->cap == 0 ? 4 : c->cap * 2;
        c->items = wsf_xrealloc(c->items, c->cap * sizeof *c->items);
    }
    wsf_ch_cmd *cmd = &c->items[c->n++];
    memset(cmd, 0, sizeof *cmd);
    return cmd;
}

static bool wsf_ch_id_repeated(const wsf_ch_cmds *c, size_t from, uint64_t id)
{
    for (size_t i = from; i + 1 < c->n; i++) {
        if (c->items[i].id == id)
            return true;
    }
    return false;
}

/* A string member's bytes copied into the pool, or NULL when m is not a string of at most max
 * bytes. */
static const char *wsf_ch_fast_str(wsf_ch_ctx *x, const wsf_jmember *m, size_t max, size_t *len)
{
    const char *v;
    if (!wsf_jscan_string(m, &v, len) || *len > max)
        return NULL;
    return wsf_ch_pool_strndup(x->pool, v, *len);
}

/* The commands a busy connection sends (rpc, publish, subscribe without a position, unsubscribe,
 * presence) in the compact form clients write, read without jansson into the same command the
 * jansson path makes. False leaves the line to that path: every other shape, and every error. */
static bool wsf_ch_parse_fast(wsf_ch_ctx *x, const char *line, size_t len, wsf_ch_cmd *cmd)
{
    wsf_jmember top[2], body[8];
    if (wsf_jscan_object(top, 2, line, len, WSF_CH_MAX_DEPTH) != 2)
        return false;
    const wsf_jmember *id = &top[0], *opm = &top[1];
    if (!wsf_jscan_key_is(id, "id")) {
        id = &top[1];
        opm = &top[0];
    }
    uint64_t idv;
    if (!wsf_jscan_key_is(id, "id") || !wsf_jscan_uint(id, WSF_CH_MAX_ID, &idv) || idv == 0)
        return false;
    enum wsf_ch_op op = wsf_ch_op_lookup_n(opm->key, opm->key_len);
    if (opm->val[0] != '{')
        return false;
    int n = wsf_jscan_object(body, 8, opm->val, opm->val_len, WSF_CH_MAX_DEPTH);
    if (n < 0)
        return false;
    const wsf_jmember *data = wsf_jscan_find(body, (size_t)n, "data");
    const wsf_jmember *chan = wsf_jscan_find(body, (size_t)n, "channel");
    const char *name = NULL;
    size_t name_len = 0;
    switch (op) {
    case WSF_CH_OP_RPC: {
        const wsf_jmember *method = wsf_jscan_find(body, (size_t)n, "method");
        size_t mlen;
        if (method == NULL)
            return false;
        const char *m = wsf_ch_fast_str(x, method, WSF_CH_MAX_METHOD, &mlen);
        if (m == NULL || mlen == 0)
            return false;
        cmd->method = m;
        break;
    }
    case WSF_CH_OP_PUBLISH:
        if (data == NULL)
            return false;
        /* fall through */
    case WSF_CH_OP_SUBSCRIBE:
    case WSF_CH_OP_UNSUBSCRIBE:
    case WSF_CH_OP_PRESENCE:
        if (op == WSF_CH_OP_SUBSCRIBE && wsf_jscan_find(body, (size_t)n, "since") != NULL)
            return false;
        if (chan == NULL || !wsf_jscan_string(chan, &name, &name_len) ||
            !wsf_ch_channel_is_valid(name, name_len))
            return false;
        cmd->channel = wsf_ch_pool_strndup(x->pool, name, name_len);
        if (op != WSF_CH_OP_PUBLISH)
            data = NULL;
        break;
    default:
        return false;
    }
    if (data != NULL) {
        cmd->data = wsf_ch_pool_strndup(x->pool, data->val, data->val_len);
        cmd->data_len = data->val_len;
    }
    cmd->id = idv;
    cmd->op = op;
    return true;
}

static void wsf_ch_parse_line(wsf_ch_cmds *c, size_t first, const char *line, size_t len,
                              bool fast)
{
    wsf_ch_cmd *cmd = wsf_ch_cmds_add(c);
    wsf_ch_ctx x = {&c->pool, NULL};
    int rc;
    if (fast && wsf_ch_parse_fast(&x, line, len, cmd)) {
        rc = 0;
    } else if (!wsf_ch_depth_ok(line, len)) {
        rc = wsf_ch_fail(&x, WSF_CH_ERR_BAD_REQUEST, "nested too deep");
    } else {
        json_error_t jerr;
        json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL) {
            rc = wsf_ch_fail(&x, WSF_CH_ERR_BAD_REQUEST, "malformed JSON");
        } else {
            rc = wsf_ch_parse_object(&x, root, cmd);
            json_decref(root);
        }
    }
    if (rc == 0 && wsf_ch_id_repeated(c, first, cmd->id))
        rc = wsf_ch_fail(&x, WSF_CH_ERR_DUPLICATE_ID, "duplicate id");
    if (rc != 0) {
        uint64_t id = cmd->id;
        enum wsf_ch_op op = cmd->op;
        memset(cmd, 0, sizeof *cmd);
        cmd->id = id;
        cmd->op = op;
        cmd->err = rc;
        cmd->err_msg = x.msg;
    }
}

static void wsf_ch_parse_frame_with(wsf_ch_cmds *c, const char *buf, size_t len, bool fast)
{
    size_t first = c->n;
    size_t pos = 0;
    size_t count = 0;
    const char *line;
    size_t line_len;
    while (wsf_ch_next_line(buf, len, &pos, &line, &line_len)) {
        if (count++ == WSF_CH_MAX_OBJECTS) {
            wsf_ch_cmd *cmd = wsf_ch_cmds_add(c);
            cmd->err = WSF_CH_ERR_LIMIT_EXCEEDED;
            cmd->err_msg = "too many objects in one frame";
            return;
        }
        wsf_ch_parse_line(c, first, line, line_len, fast);
    }
}

void wsf_ch_parse_frame(wsf_ch_cmds *c, const char *buf, size_t len)
{
    wsf_ch_parse_frame_with(c, buf, len, true);
}

void wsf_ch_parse_frame_jansson(wsf_ch_cmds *c, const char *buf, size_t len)
{
    wsf_ch_parse_frame_with(c, buf, len, false);
}

/* ---- connection rules ---- */

void wsf_ch_session_init(wsf_ch_session *s)
{
    memset(s, 0, sizeof *s);
}

void wsf_ch_session_fini(wsf_ch_session *s)
{
    free(s->ids);
    memset(s, 0, sizeof *s);
}

int wsf_ch_session_check(wsf_ch_session *s, const wsf_ch_cmd *cmd)
{
    if (cmd->op == WSF_CH_OP_CONNECT && s->connect_seen)
        return WSF_CH_ERR_ALREADY_CONNECTED;
    if (cmd->op != WSF_CH_OP_CONNECT && !s->connect_seen)
        return WSF_CH_ERR_NOT_CONNECTED;
    for (size_t i = 0; i < s->n; i++) {
        if (s->ids[i] == cmd->id)
            return WSF_CH_ERR_DUPLICATE_ID;
    }
    if (s->n == WSF_CH_MAX_INFLIGHT)
        return WSF_CH_ERR_LIMIT_EXCEEDED;
    if (s->n == s->cap) {
        s->cap = s->cap == 0 ? 4 : (uint8_t)(s->cap * 2);
        s->ids = wsf_xrealloc(s->ids, s->cap * sizeof *s->ids);
    }
    s->ids[s->n++] = cmd->id;
    if (cmd->op == WSF_CH_OP_CONNECT)
        s->connect_seen = true;
    return 0;
}

void wsf_ch_session_done(wsf_ch_session *s, uint64_t id)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->ids[i] == id) {
            s->ids[i] = s->ids[--s->n];
            break;
        }
    }
    /* Idle connections are the many: they keep no array. */
    if (s->n == 0) {
        free(s->ids);
        s->ids = NULL;
        s->cap = 0;
    }
}

void wsf_ch_abuse_init(wsf_ch_abuse *a)
{
    memset(a, 0, sizeof *a);
}

bool wsf_ch_abuse_on_result(wsf_ch_abuse *a, int err, uint64_t now_ms)
{
    if (err == 0) {
        a->streak = 0;
        return false;
    }
    if (!wsf_ch_err_is_abuse(err))
        return false;
    a->streak++;
    if (a->in_window == 0 || now_ms - a->window_start_ms >= WSF_CH_ABUSE_WINDOW_MS ||
        now_ms < a->window_start_ms) {
        a->window_start_ms = now_ms;
        a->in_window = 0;
    }
    a->in_window++;
    return a->streak >= WSF_CH_ABUSE_STREAK || a->in_window >= WSF_CH_ABUSE_WINDOW_MAX;
}
