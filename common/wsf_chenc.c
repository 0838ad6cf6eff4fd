/* wsfleet.v1 encoders: replies, pushes and commands written straight into a wsf_buf. */
#include "wsf_chenc.h"

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <string.h>

static void wsf_ch_put(wsf_buf *out, const char *s)
{
    wsf_buf_append(out, s, strlen(s));
}

/* Decimal digits by hand: every reply and push carries a few numbers, and snprintf's format
 * machinery costs more than the rest of a short reply's encoding. */
static void wsf_ch_put_digits(wsf_buf *out, bool negative, uint64_t v)
{
    char num[24];
    char *p = num + sizeof num;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (negative)
        *--p = '-';
    wsf_buf_append(out, p, (size_t)(num + sizeof num - p));
}

static void wsf_ch_put_u64(wsf_buf *out, uint64_t v)
{
    wsf_ch_put_digits(out, false, v);
}

static void wsf_ch_put_i64(wsf_buf *out, int64_t v)
{
    /* The magnitude in unsigned arithmetic: INT64_MIN has no positive int64_t. */
    wsf_ch_put_digits(out, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

/* A JSON string: '"' and '\\' escaped, control characters as \uXXXX or their short forms; other
 * bytes (UTF-8 included) as they are. */
static void wsf_ch_put_str(wsf_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    wsf_buf_append(out, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        wsf_buf_append(out, run, (size_t)(p - run));
        run = p + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (ch) {
        case '"':
        case '\\':
            esc[1] = (char)ch;
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            n = 6;
            break;
        }
        wsf_buf_append(out, esc, n);
    }
    wsf_buf_append(out, run, strlen(run));
    wsf_buf_append(out, "\"", 1);
}

void wsf_ch_enc_str(wsf_buf *out, const char *s)
{
    wsf_ch_put_str(out, s);
}

/* "key": with a leading comma unless first. */
static void wsf_ch_key(wsf_buf *out, const char *key, bool first)
{
    if (!first)
        wsf_buf_append(out, ",", 1);
    wsf_ch_put_str(out, key);
    wsf_buf_append(out, ":", 1);
}

static void wsf_ch_put_data(wsf_buf *out, const char *data, size_t len)
{
    wsf_buf_append(out, data, len);
}

/* {"id":N,"OP":  — the caller writes the body and the two closing braces. */
static void wsf_ch_reply_open(wsf_buf *out, uint64_t id, const char *op)
{
    wsf_ch_put(out, "{\"id\":");
    wsf_ch_put_u64(out, id);
    wsf_ch_key(out, op, false);
}

void wsf_ch_sep(wsf_buf *out)
{
    if (wsf_buf_pending(out) > 0)
        wsf_buf_append(out, "\n", 1);
}

void wsf_ch_enc_error(wsf_buf *out, uint64_t id, int code, const char *message)
{
    if (message == NULL)
        message = wsf_ch_err_message(code);
    if (message == NULL)
        message = "error";
    if (id != 0) {
        wsf_ch_reply_open(out, id, "error");
    } else {
        wsf_ch_put(out, "{\"error\":");
    }
    wsf_ch_put(out, "{\"code\":");
    wsf_ch_put_i64(out, code);
    wsf_ch_key(out, "message", false);
    wsf_ch_put_str(out, message);
    wsf_ch_put(out, "}}");
}

static void wsf_ch_put_pub(wsf_buf *out, const wsf_ch_pub *pub)
{
    wsf_ch_put(out, "{\"offset\":");
    wsf_ch_put_u64(out, pub->offset);
    wsf_ch_key(out, "data", false);
    wsf_ch_put_data(out, pub->data, pub->data_len);
    if (pub->user != NULL) {
        wsf_ch_put(out, ",\"info\":{\"user\":");
        wsf_ch_put_str(out, pub->user);
        wsf_ch_put(out, "}");
    }
    wsf_ch_put(out, "}");
}

static void wsf_ch_put_pubs(wsf_buf *out, const wsf_ch_pub *pubs, size_t n)
{
    wsf_ch_key(out, "pubs", false);
    wsf_ch_put(out, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            wsf_ch_put(out, ",");
        wsf_ch_put_pub(out, &pubs[i]);
    }
    wsf_ch_put(out, "]");
}

/* {"epoch":E,"offset":O[,"recovered":B],"pubs":[...]} */
static void wsf_ch_put_state(wsf_buf *out, const wsf_ch_state *st, bool with_recovered)
{
    wsf_ch_put(out, "{");
    wsf_ch_key(out, "epoch", true);
    wsf_ch_put_str(out, st->epoch);
    wsf_ch_key(out, "offset", false);
    wsf_ch_put_u64(out, st->offset);
    if (with_recovered) {
        wsf_ch_key(out, "recovered", false);
        wsf_ch_put(out, st->recovered ? "true" : "false");
    }
    wsf_ch_put_pubs(out, st->pubs, st->npubs);
    wsf_ch_put(out, "}");
}

void wsf_ch_enc_connect(wsf_buf *out, uint64_t id, const char *client, const char *user,
                        const wsf_ch_state *subs, size_t nsubs)
{
    wsf_ch_enc_connect_data(out, id, client, user, subs, nsubs, NULL, 0);
}

void wsf_ch_enc_connect_data(wsf_buf *out, uint64_t id, const char *client, const char *user,
                             const wsf_ch_state *subs, size_t nsubs, const char *data,
                             size_t data_len)
{
    wsf_ch_reply_open(out, id, "connect");
    wsf_ch_put(out, "{");
    wsf_ch_key(out, "client", true);
    wsf_ch_put_str(out, client);
    wsf_ch_key(out, "user", false);
    wsf_ch_put_str(out, user);
    wsf_ch_key(out, "subs", false);
    wsf_ch_put(out, "{");
    for (size_t i = 0; i < nsubs; i++) {
        wsf_ch_key(out, subs[i].channel, i == 0);
        wsf_ch_put_state(out, &subs[i], true);
    }
    wsf_ch_put(out, "}");
    if (data != NULL) {
        wsf_ch_key(out, "data", false);
        wsf_buf_append(out, data, data_len);
    }
    wsf_ch_put(out, "}}");
}

void wsf_ch_enc_subscribe(wsf_buf *out, uint64_t id, const wsf_ch_state *st)
{
    wsf_ch_reply_open(out, id, "subscribe");
    wsf_ch_put_state(out, st, true);
    wsf_ch_put(out, "}");
}

void wsf_ch_enc_unsubscribe(wsf_buf *out, uint64_t id)
{
    wsf_ch_reply_open(out, id, "unsubscribe");
    wsf_ch_put(out, "{}}");
}

void wsf_ch_enc_publish(wsf_buf *out, uint64_t id, uint64_t offset)
{
    wsf_ch_reply_open(out, id, "publish");
    wsf_ch_put(out, "{\"offset\":");
    wsf_ch_put_u64(out, offset);
    wsf_ch_put(out, "}}");
}

void wsf_ch_enc_history(wsf_buf *out, uint64_t id, const wsf_ch_state *st)
{
    wsf_ch_reply_open(out, id, "history");
    wsf_ch_put_state(out, st, false);
    wsf_ch_put(out, "}");
}

void wsf_ch_enc_rpc(wsf_buf *out, uint64_t id, const char *data, size_t data_len)
{
    wsf_ch_reply_open(out, id, "rpc");
    wsf_ch_put(out, "{");
    if (data != NULL) {
        wsf_ch_key(out, "data", true);
        wsf_ch_put_data(out, data, data_len);
    }
    wsf_ch_put(out, "}}");
}

void wsf_ch_enc_refresh(wsf_buf *out, uint64_t id, int64_t expires)
{
    wsf_ch_reply_open(out, id, "refresh");
    wsf_ch_put(out, "{\"expires\":");
    wsf_ch_put_i64(out, expires);
    wsf_ch_put(out, "}}");
}

void wsf_ch_enc_presence(wsf_buf *out, uint64_t id, const wsf_ch_member *members, size_t n)
{
    wsf_ch_reply_open(out, id, "presence");
    wsf_ch_put(out, "{\"clients\":{");
    for (size_t i = 0; i < n; i++) {
        wsf_ch_key(out, members[i].client, i == 0);
        wsf_ch_put(out, "{\"user\":");
        wsf_ch_put_str(out, members[i].user);
        wsf_ch_put(out, "}");
    }
    wsf_ch_put(out, "}}}");
}

void wsf_ch_enc_push_pub(wsf_buf *out, const char *channel, const wsf_ch_pub *pub)
{
    wsf_ch_put(out, "{\"push\":{\"channel\":");
    wsf_ch_put_str(out, channel);
    wsf_ch_key(out, "pub", false);
    wsf_ch_put_pub(out, pub);
    wsf_ch_put(out, "}}");
}

void wsf_ch_enc_push_message(wsf_buf *out, const char *data, size_t data_len)
{
    wsf_ch_put(out, "{\"push\":{\"message\":{\"data\":");
    wsf_ch_put_data(out, data, data_len);
    wsf_ch_put(out, "}}}");
}

int wsf_ch_data_compact(wsf_buf *out, const char *buf, size_t len)
{
    if (!wsf_ch_depth_ok(buf, len))
        return -WSF_CH_ERR_BAD_REQUEST;
    json_error_t jerr;
    json_t *v = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL)
        return -WSF_CH_ERR_BAD_REQUEST;
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    uint8_t *p = wsf_buf_reserve(out, n);
    if (n == 0 || json_dumpb(v, (char *)p, n, JSON_COMPACT | JSON_ENCODE_ANY) != n)
        abort(); /* jansson only fails to encode what it cannot allocate */
    out->len += n;
    json_decref(v);
    return 0;
}

/* {"epoch":E,"offset":O} */
static void wsf_ch_put_pos(wsf_buf *out, const wsf_ch_pos *pos)
{
    wsf_ch_put(out, "{\"epoch\":");
    wsf_ch_put_str(out, pos->epoch);
    wsf_ch_put(out, ",\"offset\":");
    wsf_ch_put_u64(out, pos->offset);
    wsf_ch_put(out, "}");
}

void wsf_ch_enc_cmd(wsf_buf *out, const wsf_ch_cmd *cmd)
{
    const char *op = wsf_ch_op_name(cmd->op);
    wsf_ch_reply_open(out, cmd->id, op == NULL ? "none" : op);
    wsf_ch_put(out, "{");
    bool first = true;
    if (cmd->channel != NULL) {
        wsf_ch_key(out, "channel", first);
        wsf_ch_put_str(out, cmd->channel);
        first = false;
    }
    if (cmd->has_since) {
        wsf_ch_key(out, "since", first);
        wsf_ch_put_pos(out, &cmd->since);
        first = false;
    }
    if (cmd->has_limit) {
        wsf_ch_key(out, "limit", first);
        wsf_ch_put_u64(out, cmd->limit);
        first = false;
    }
    if (cmd->token != NULL) {
        wsf_ch_key(out, "token", first);
        wsf_ch_put_str(out, cmd->token);
        first = false;
    }
    if (cmd->method != NULL) {
        wsf_ch_key(out, "method", first);
        wsf_ch_put_str(out, cmd->method);
        first = false;
    }
    if (cmd->data != NULL) {
        wsf_ch_key(out, "data", first);
        wsf_ch_put_data(out, cmd->data, cmd->data_len);
        first = false;
    }
    if (cmd->op == WSF_CH_OP_CONNECT && cmd->nsubs > 0) {
        wsf_ch_key(out, "subs", first);
        wsf_ch_put(out, "{");
        for (size_t i = 0; i < cmd->nsubs; i++) {
            wsf_ch_key(out, cmd->subs[i].channel, i == 0);
            if (cmd->subs[i].has_since)
                wsf_ch_put_pos(out, &cmd->subs[i].since);
            else
                wsf_ch_put(out, "{}");
        }
        wsf_ch_put(out, "}");
    }
    wsf_ch_put(out, "}}");
}
