/* One /channels connection: its wsfleet.v1 commands, replies and errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wk_backend.h"
#include "wk_channels_priv.h"
#include "wk_conn.h"
#include "wk_worker.h"
#include "wsf_chenc.h"
#include "wsf_log.h"
#include "wsf_nats.h"

#define WK_PEND_FRAME (64 * 1024) /* pending objects past this leave as a frame at once */

static uint64_t wk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

wk_chsess *wk_chsess_of(wk_conn *c, wk_chhub *h)
{
    wk_chsess *known = wk_conn_svc_state(c);
    if (known != NULL)
        return known;
    wk_chsess *s = wsf_xcalloc(1, sizeof *s);
    s->conn = c;
    s->hub = h;
    wsf_ch_session_init(&s->ps);
    wsf_ch_abuse_init(&s->abuse);
    snprintf(s->client, sizeof s->client, "%x.%llx", h->pid,
             (unsigned long long)++h->next_client);
    wk_conn_rare(c)->svc_state = s;
    return s;
}

void wk_chop_attach(wk_chop *op, wk_chsess *s, uint64_t id)
{
    op->sess = s;
    op->id = id;
    op->prev = NULL;
    op->next = s->ops;
    if (s->ops)
        s->ops->prev = op;
    s->ops = op;
}

wk_chsess *wk_chop_detach(wk_chop *op)
{
    wk_chsess *s = op->sess;
    if (s == NULL)
        return NULL;
    if (op->prev)
        op->prev->next = op->next;
    else
        s->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->next = op->prev = NULL;
    op->sess = NULL;
    return s;
}

void wk_chsess_free(wk_chsess *s)
{
    wk_chhub *h = s->hub;
    wk_backend_on_close(s);
    if (s->dirty) {
        if (s->dprev)
            s->dprev->dnext = s->dnext;
        else
            h->dirty = s->dnext;
        if (s->dnext)
            s->dnext->dprev = s->dprev;
        else
            h->dirty_tail = s->dprev;
    }
    while (s->ops != NULL)
        wk_chop_detach(s->ops);
    if (s->connect != NULL) {
        /* The connect's pending fetches find their subs gone; its memory goes with them. */
        wk_chconnect *cn = s->connect;
        for (size_t i = 0; i < cn->nsubs; i++)
            wk_chhist_fini(&cn->hists[i]);
        free(cn->hists);
        free(cn->subs);
        free(cn);
    }
    while (s->subs != NULL)
        wk_chsub_free(s->subs);
    wsf_jwt_claims_fini(&s->claims);
    wsf_ch_session_fini(&s->ps);
    wsf_buf_fini(&s->pend);
    wk_chpub_unref(s->shared);
    free(s);
}

static void wk_chsess_mark_dirty(wk_chsess *s)
{
    if (s->dirty)
        return;
    /* At the end: a fan-out written over several turns of the loop (wk_chhub_on_flush) reaches
     * the sessions in the order they became dirty, none of them waiting for later ones. */
    wk_chhub *h = s->hub;
    s->dirty = true;
    s->dnext = NULL;
    s->dprev = h->dirty_tail;
    if (s->dprev)
        s->dprev->dnext = s;
    else
        h->dirty = s;
    h->dirty_tail = s;
    wk_chhub_schedule_flush(h);
}

wsf_buf *wk_chsess_out(wk_chsess *s, size_t need)
{
    wk_conn *c = s->conn;
    if (s->close_code != 0 || c->dead || c->state != WK_CONN_OPEN)
        return NULL;
    if (s->shared != NULL) {
        /* A second object in this iteration: both leave in one frame, so the shared push
         * becomes text of this connection's own. */
        wsf_buf_append(&s->pend, s->shared->json, s->shared->len);
        wk_chpub_unref(s->shared);
        s->shared = NULL;
    }
    if (s->pend.len > 0 && s->pend.len + need > WK_PEND_FRAME) {
        /* A burst: this much goes out now rather than at the end of the loop iteration, so that
         * the backlog below counts what the client has not taken, not what we have not sent. */
        wk_conn_send_now(c, 0x1, s->pend.data, s->pend.len);
        s->pend.off = s->pend.len = 0;
    }
    if (wsf_buf_pending(&c->out) + s->pend.len + need > c->ctx->cfg.max_backlog) {
        wsf_log_info("conn fd=%d: %zu bytes of output backlog, closing with 4001", c->fd,
                     wsf_buf_pending(&c->out) + s->pend.len);
        wsf_buf_fini(&s->pend);
        wk_chsess_close(s, WK_CH_LAGGING, "lagging, resume");
        return NULL;
    }
    wsf_ch_sep(&s->pend);
    wk_chsess_mark_dirty(s);
    return &s->pend;
}

void wk_chsess_push(wk_chsess *s, wk_chpub *p)
{
    wk_conn *c = s->conn;
    if (s->pend.len == 0 && s->close_code == 0 && !c->dead && c->state == WK_CONN_OPEN) {
        /* Only pushes pending: they stay one shared frame (publications that queued while a
         * fan-out ran reach every subscriber together, so one joined frame serves them all). */
        wk_chpub *f = s->shared == NULL ? p : wk_chpub_join(s->shared, p);
        if (f != NULL && wsf_buf_pending(&c->out) + f->len <= c->ctx->cfg.max_backlog) {
            f->refs++;
            wk_chpub_unref(s->shared);
            s->shared = f;
            wk_chsess_mark_dirty(s);
            return;
        }
    }
    wsf_buf *out = wk_chsess_out(s, p->len);
    if (out != NULL)
        wsf_buf_append(out, p->json, p->len);
}

void wk_chsess_close(wk_chsess *s, unsigned code, const char *reason)
{
    if (s->close_code != 0)
        return;
    /* Output queued before this still goes first: the flush sends pend, then closes. */
    s->close_code = (uint16_t)code;
    s->close_reason = reason;
    wk_chsess_mark_dirty(s);
}

void wk_chsess_error(wk_chsess *s, uint64_t id, int code, const char *msg)
{
    wsf_buf *out = wk_chsess_out(s, 128);
    if (out != NULL)
        wsf_ch_enc_error(out, id, code, msg);
}

void wk_chsess_fail(wk_chsess *s, uint64_t id, int code, const char *msg)
{
    wk_chsess_error(s, id, code, msg);
    wsf_ch_session_done(&s->ps, id);
}

static wk_chsub *wk_chsess_find(wk_chsess *s, const char *name)
{
    for (wk_chsub *sub = s->subs; sub; sub = sub->s_next)
        if (strcmp(sub->ch->name, name) == 0)
            return sub;
    return NULL;
}

/* Namespace settings and the subscribe rule: user needs a user (a token's sub or the one an
 * application backend gave at connect), token a token whose channels claim names the channel;
 * backend is asked by the caller (103 here). */
static int wk_chsess_may_subscribe(wk_chsess *s, const char *channel, wsf_ch_settings *set)
{
    if (wsf_chconf_lookup(set, &s->hub->conf, channel, strlen(channel)) != 0)
        return WSF_CH_ERR_BAD_CHANNEL;
    switch (set->subscribe) {
    case WSF_CH_SUBSCRIBE_ANY:
        return 0;
    case WSF_CH_SUBSCRIBE_USER:
        return s->claims.sub[0] != '\0' ? 0 : WSF_CH_ERR_PERMISSION_DENIED;
    case WSF_CH_SUBSCRIBE_TOKEN:
        return s->authed && wsf_jwt_claims_has_channel(&s->claims, channel)
                   ? 0
                   : WSF_CH_ERR_PERMISSION_DENIED;
    default:
        return WSF_CH_ERR_PERMISSION_DENIED;
    }
}

/* The connect's token: accepted, or the connect fails and the connection closes (4401 bad or
 * missing when required, 4002 expired). Returns true when the connect goes on. */
static bool wk_chsess_authenticate(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    const wk_auth *a = &s->conn->ctx->auth;
    int rc = 0;
    bool token = cmd->token != NULL && a->keys != NULL; /* auth off: tokens are ignored */
    if (token)
        rc = wk_auth_verify(a, &s->claims, cmd->token, strlen(cmd->token));
    else if (a->required)
        rc = WSF_JWT_BAD;
    if (rc == WSF_JWT_EXPIRED) {
        wk_chsess_fail(s, cmd->id, WSF_CH_ERR_TOKEN_EXPIRED, NULL);
        wk_chsess_close(s, WK_CLOSE_TOKEN_EXPIRED, "token expired");
        return false;
    }
    if (rc != 0) {
        wk_chsess_fail(s, cmd->id, WSF_CH_ERR_UNAUTHORIZED, NULL);
        wk_chsess_close(s, WK_CLOSE_UNAUTHORIZED, "unauthorized");
        return false;
    }
    if (token) {
        s->authed = true;
        wk_auth_set_deadline(s->conn, s->claims.exp);
    }
    return true;
}

uint32_t wk_chsess_sub_hash(const char *sub)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)sub; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* refresh: a valid token for the same user moves the connection's expiry; a bad one is answered
 * with an error and changes nothing (the old token still runs out). A refresh never shortens the
 * connection's life: a token that expires before the current one is refused (error 101) and the
 * current one stays, so a replayed older token cannot cut a connection off early, and retrying
 * the same token is harmless. */
static void wk_chsess_refresh(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    if (!s->authed) {
        wk_chsess_fail(s, cmd->id, WSF_CH_ERR_UNAUTHORIZED, "connect had no token");
        return;
    }
    wsf_jwt_claims c;
    int rc = wk_auth_verify(&s->conn->ctx->auth, &c, cmd->token, strlen(cmd->token));
    if (rc != 0) {
        wk_chsess_fail(s, cmd->id,
                       rc == WSF_JWT_EXPIRED ? WSF_CH_ERR_TOKEN_EXPIRED : WSF_CH_ERR_UNAUTHORIZED,
                       NULL);
        return;
    }
    /* The same subject as the connect's token; where the application named the user at
     * connect, the session keeps that name. */
    if (s->bk_renamed ? wk_chsess_sub_hash(c.sub) != s->token_sub_hash
                      : strcmp(c.sub, s->claims.sub) != 0) {
        wsf_jwt_claims_fini(&c);
        wk_chsess_fail(s, cmd->id, WSF_CH_ERR_UNAUTHORIZED, "token for another user");
        return;
    }
    if (s->bk_renamed)
        memcpy(c.sub, s->claims.sub, sizeof c.sub);
    if (c.exp < s->claims.exp) {
        wsf_jwt_claims_fini(&c);
        wk_chsess_fail(s, cmd->id, WSF_CH_ERR_UNAUTHORIZED,
                       "token expires before the current one");
        return;
    }
    wsf_jwt_claims_fini(&s->claims);
    s->claims = c;
    wk_auth_set_deadline(s->conn, c.exp);
    wsf_buf *out = wk_chsess_out(s, 64);
    if (out != NULL)
        wsf_ch_enc_refresh(out, cmd->id, c.exp);
    wsf_ch_session_done(&s->ps, cmd->id);
}

static void wk_chsess_connect(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    if (!wk_chsess_authenticate(s, cmd))
        return;
    if (s->hub->backend != NULL && wk_backend_hooks_connect(s->hub->backend)) {
        wk_backend_connect(s, cmd);
        return;
    }
    wk_chsess_connect_go(s, cmd->id, cmd->subs, cmd->nsubs, NULL, 0);
}

/* The channels of a connect: those granted (settings looked up, not checked), then the client's
 * others (checked). Returns the count, or -1 after failing the connect. */
static int wk_chsess_connect_subs(wk_chsess *s, uint64_t id, const wsf_ch_sub *subs, size_t nsubs,
                                  const char *const *granted, size_t ngranted, wsf_ch_sub *all,
                                  wsf_ch_settings *set)
{
    size_t n = 0;
    int err = 0;
    for (size_t i = 0; i < ngranted + nsubs && err == 0; i++) {
        const char *name = i < ngranted ? granted[i] : subs[i - ngranted].channel;
        bool dup = false;
        for (size_t k = 0; k < n && !dup; k++)
            dup = strcmp(all[k].channel, name) == 0;
        if (dup)
            continue;
        if (n == WSF_CH_MAX_SUBS) {
            err = WSF_CH_ERR_LIMIT_EXCEEDED;
            break;
        }
        all[n] = (wsf_ch_sub){.channel = name};
        for (size_t k = 0; k < nsubs; k++)
            if (strcmp(subs[k].channel, name) == 0)
                all[n] = subs[k];
        if (i < ngranted)
            err = wsf_chconf_lookup(&set[n], &s->hub->conf, name, strlen(name)) != 0
                      ? WSF_CH_ERR_BAD_CHANNEL
                      : 0;
        else
            err = wk_chsess_may_subscribe(s, name, &set[n]);
        n++;
    }
    if (err != 0) {
        wk_chsess_fail(s, id, err, NULL);
        wk_chsess_close(s, err == WSF_CH_ERR_PERMISSION_DENIED ? 4403 : 1008, "connect refused");
        return -1;
    }
    return (int)n;
}

void wk_chsess_connect_go(wk_chsess *s, uint64_t id, const wsf_ch_sub *subs, size_t nsubs,
                          const char *const *granted, size_t ngranted)
{
    /* A connect that fails closes the connection: the client learns it and may come back. */
    wsf_ch_settings set[WSF_CH_MAX_SUBS];
    wsf_ch_sub all[WSF_CH_MAX_SUBS];
    int nall = wk_chsess_connect_subs(s, id, subs, nsubs, granted, ngranted, all, set);
    if (nall < 0)
        return;
    if (nall == 0) {
        wsf_buf *out = wk_chsess_out(s, 128 + s->bk_data_len);
        if (out != NULL)
            wsf_ch_enc_connect_data(out, id, s->client, s->claims.sub, NULL, 0, s->bk_data,
                                    s->bk_data_len);
        wsf_ch_session_done(&s->ps, id);
        if (s->hub->backend != NULL)
            wk_backend_on_connected(s);
        return;
    }
    if (!wk_chhub_up(s->hub)) {
        wk_chsess_fail(s, id, WSF_CH_ERR_NOT_AVAILABLE, NULL);
        wk_chsess_close(s, 1013, "channels not available");
        return;
    }
    size_t want = (size_t)nall;
    wk_chconnect *cn = wsf_xcalloc(1, sizeof *cn);
    cn->id = id;
    cn->subs = wsf_xcalloc(want, sizeof *cn->subs);
    cn->hists = wsf_xcalloc(want, sizeof *cn->hists);
    for (size_t i = 0; i < want; i++) {
        const wsf_ch_sub *cs = &all[i];
        wk_chsub *sub =
            wk_chsub_new(s, cs->channel, strlen(cs->channel), &set[i], cs->has_since, &cs->since);
        if (sub == NULL)
            break;
        sub->connect = cn;
        cn->subs[cn->nsubs++] = sub;
    }
    if (cn->nsubs < want) {
        /* Every sub or none: a reply without one would leave the client believing it has it. */
        for (size_t i = 0; i < cn->nsubs; i++)
            wk_chsub_free(cn->subs[i]);
        free(cn->subs);
        free(cn->hists);
        free(cn);
        wk_chsess_fail(s, id, WSF_CH_ERR_NOT_AVAILABLE, NULL);
        wk_chsess_close(s, 1013, "channels not available");
        return;
    }
    cn->pending = cn->nsubs;
    s->connect = cn;
    /* Fetches first: the last sub answered from what the worker knows may complete (and free)
     * the connect. */
    wk_chsub *made[WSF_CH_MAX_SUBS];
    size_t n = cn->nsubs;
    memcpy(made, cn->subs, n * sizeof *made);
    bool known[WSF_CH_MAX_SUBS];
    for (size_t i = 0; i < n; i++) {
        wk_chsub *sub = made[i];
        known[i] = !sub->sync.has_since && sub->ch->known;
        if (!known[i])
            wk_chsub_fetch(sub);
    }
    for (size_t i = 0; i < n; i++)
        if (known[i] && !wk_chsub_known(made[i]))
            wk_chsub_fetch(made[i]);
}

static void wk_chsess_subscribe(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    wsf_ch_settings set;
    int err = wk_chsess_may_subscribe(s, cmd->channel, &set);
    bool ask = err == WSF_CH_ERR_PERMISSION_DENIED && set.subscribe == WSF_CH_SUBSCRIBE_BACKEND &&
               s->hub->backend != NULL;
    if (ask)
        err = 0;
    if (err == 0 && wk_chsess_find(s, cmd->channel) != NULL)
        err = WSF_CH_ERR_ALREADY_SUBSCRIBED;
    if (err == 0 && !wk_chhub_up(s->hub))
        err = WSF_CH_ERR_NOT_AVAILABLE;
    if (err != 0) {
        wk_chsess_fail(s, cmd->id, err, NULL);
        return;
    }
    if (ask)
        wk_backend_subscribe(s, cmd, &set);
    else
        wk_chsess_subscribe_go(s, cmd->id, cmd->channel, &set, cmd->has_since, &cmd->since);
}

void wk_chsess_subscribe_go(wk_chsess *s, uint64_t id, const char *channel,
                            const wsf_ch_settings *set, bool has_since, const wsf_ch_pos *since)
{
    int err = 0;
    if (wk_chsess_find(s, channel) != NULL)
        err = WSF_CH_ERR_ALREADY_SUBSCRIBED; /* two subscribes asked the backend at once */
    else if (!wk_chhub_up(s->hub))
        err = WSF_CH_ERR_NOT_AVAILABLE;
    wk_chsub *sub = NULL;
    if (err == 0) {
        sub = wk_chsub_new(s, channel, strlen(channel), set, has_since, since);
        if (sub == NULL)
            err = WSF_CH_ERR_NOT_AVAILABLE;
    }
    if (err != 0) {
        wk_chsess_fail(s, id, err, NULL);
        return;
    }
    sub->reply_id = id;
    if (!wk_chsub_known(sub))
        wk_chsub_fetch(sub);
}

static void wk_chsess_unsubscribe(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    wk_chsub *sub = wk_chsess_find(s, cmd->channel);
    if (sub == NULL || sub->connect != NULL) {
        wk_chsess_fail(s, cmd->id, WSF_CH_ERR_NOT_SUBSCRIBED, NULL);
        return;
    }
    if (sub->reply_id != 0) {
        /* Its subscribe is still fetching: that command is answered first. */
        wk_chsess_fail(s, sub->reply_id, WSF_CH_ERR_NOT_SUBSCRIBED, "unsubscribed meanwhile");
        sub->reply_id = 0;
    }
    wk_chsub_free(sub);
    wsf_buf *out = wk_chsess_out(s, 64);
    if (out != NULL)
        wsf_ch_enc_unsubscribe(out, cmd->id);
    wsf_ch_session_done(&s->ps, cmd->id);
}

static int wk_chsess_nats_err(int err)
{
    return err == -EINVAL ? WSF_CH_ERR_BAD_REQUEST : WSF_CH_ERR_NOT_AVAILABLE;
}

static void wk_chsess_on_ack(int err, uint64_t offset, void *arg)
{
    wk_chop *op = arg;
    wk_chsess *s = wk_chop_detach(op);
    if (s != NULL) {
        if (err == -EHOSTUNREACH)
            wk_chhub_ensure(s->hub); /* the stream is gone: make a new one for what follows */
        if (err != 0) {
            wk_chsess_fail(s, op->id, wk_chsess_nats_err(err), NULL);
        } else {
            wsf_buf *out = wk_chsess_out(s, 64);
            if (out != NULL)
                wsf_ch_enc_publish(out, op->id, offset);
            wsf_ch_session_done(&s->ps, op->id);
        }
    }
    free(op);
}

static void wk_chsess_publish(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    wsf_ch_settings set;
    int err = 0;
    if (wsf_chconf_lookup(&set, &s->hub->conf, cmd->channel, strlen(cmd->channel)) != 0)
        err = WSF_CH_ERR_BAD_CHANNEL;
    else if (set.publish != WSF_CH_PUBLISH_CLIENT &&
             !(set.publish == WSF_CH_PUBLISH_BACKEND && s->hub->backend != NULL))
        err = WSF_CH_ERR_PERMISSION_DENIED;
    else if (!wk_chhub_up(s->hub))
        err = WSF_CH_ERR_NOT_AVAILABLE;
    if (err != 0) {
        wk_chsess_fail(s, cmd->id, err, NULL);
        return;
    }
    if (set.publish == WSF_CH_PUBLISH_BACKEND)
        wk_backend_publish(s, cmd);
    else
        wk_chsess_publish_go(s, cmd->id, cmd->channel, cmd->data, cmd->data_len);
}

void wk_chsess_publish_go(wk_chsess *s, uint64_t id, const char *channel, const char *data,
                          size_t len)
{
    wk_chop *op = wsf_xcalloc(1, sizeof *op);
    wk_chop_attach(op, s, id);
    /* The publisher's user (a token's or the application's) goes with it: info.user. */
    int rc = wsf_nats_ch_publish_as(s->hub->nats, channel, strlen(channel), data, len,
                                    s->claims.sub, wk_chsess_on_ack, op);
    if (rc != 0) {
        wk_chop_detach(op);
        free(op);
        wk_chsess_fail(s, id, wk_chsess_nats_err(rc), NULL);
    }
}

/* The history command: reads the channel from the start of what is kept, keeping the newest
 * `want` publications within the namespace window. */
typedef struct wk_chhistop {
    wk_chop op;
    char *channel;
    size_t want;
    uint32_t ttl_s; /* the namespace's history_ttl */
    wk_chhist acc;  /* the newest ones so far */
} wk_chhistop;

static void wk_chhistop_free(wk_chhistop *q)
{
    wk_chhist_fini(&q->acc);
    free(q->channel);
    free(q);
}

static void wk_chsess_on_history(int err, const struct wsf_nats_history *h, void *arg)
{
    wk_chhistop *q = arg;
    wk_chsess *s = q->op.sess;
    if (s == NULL) {
        wk_chhistop_free(q);
        return;
    }
    if (err != 0) {
        wk_chop_detach(&q->op);
        if (err == -ENOENT)
            wk_chhub_ensure(s->hub);
        wk_chsess_fail(s, q->op.id, wk_chsess_nats_err(err), NULL);
        wk_chhistop_free(q);
        return;
    }
    /* Merge: the old ones then these, keeping the last `want`. */
    wk_chhist batch;
    wk_chhist_copy(&batch, h, q->ttl_s);
    size_t total = q->acc.npubs + batch.npubs;
    size_t skip = total > q->want ? total - q->want : 0;
    wk_chhist merged = {0};
    memcpy(merged.epoch, batch.epoch, sizeof merged.epoch);
    merged.first = batch.first;
    merged.last = batch.last;
    merged.pubs = total - skip ? wsf_xcalloc(total - skip, sizeof *merged.pubs) : NULL;
    /* Where each one's data, then its user (0: none), lands in merged.data. */
    size_t *at = total - skip ? wsf_xcalloc(2 * (total - skip), sizeof *at) : NULL;
    for (size_t i = skip; i < total; i++) {
        const wsf_ch_pub *p = i < q->acc.npubs ? &q->acc.pubs[i] : &batch.pubs[i - q->acc.npubs];
        size_t k = merged.npubs++;
        merged.pubs[k] = *p;
        at[2 * k] = merged.data.len;
        wsf_buf_append(&merged.data, p->data, p->data_len);
        wsf_buf_append(&merged.data, "", 1);
        if (p->user != NULL) {
            at[2 * k + 1] = merged.data.len;
            wsf_buf_append(&merged.data, p->user, strlen(p->user) + 1);
        }
    }
    for (size_t i = 0; i < merged.npubs; i++) {
        merged.pubs[i].data = (const char *)merged.data.data + at[2 * i];
        merged.pubs[i].user =
            at[2 * i + 1] != 0 ? (const char *)merged.data.data + at[2 * i + 1] : NULL;
    }
    free(at);
    /* From what was read, expired or not: an expired batch may be followed by live ones. */
    uint64_t reached = h->count ? h->pubs[h->count - 1].offset : 0;
    wk_chhist_fini(&batch);
    wk_chhist_fini(&q->acc);
    q->acc = merged;
    if (reached != 0 && reached < h->last &&
        wsf_nats_ch_history(s->hub->nats, q->channel, strlen(q->channel), reached, 1000,
                            wk_chsess_on_history, q) == 0)
        return; /* more follow */
    wk_chop_detach(&q->op);
    wsf_ch_state st = {
        .epoch = q->acc.epoch, .offset = q->acc.last, .pubs = q->acc.pubs, .npubs = q->acc.npubs};
    wsf_buf *out = wk_chsess_out(s, 128 + q->acc.data.len + 32 * q->acc.npubs);
    if (out != NULL)
        wsf_ch_enc_history(out, q->op.id, &st);
    wsf_ch_session_done(&s->ps, q->op.id);
    wk_chhistop_free(q);
}

static void wk_chsess_history(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    wsf_ch_settings set;
    int err = 0;
    int rule = wk_chsess_may_subscribe(s, cmd->channel, &set);
    if (rule != 0)
        err = rule;
    else if (!wk_chhub_up(s->hub))
        err = WSF_CH_ERR_NOT_AVAILABLE;
    if (err != 0) {
        wk_chsess_fail(s, cmd->id, err, NULL);
        return;
    }
    wk_chhistop *q = wsf_xcalloc(1, sizeof *q);
    q->want = cmd->has_limit && cmd->limit < set.history_size ? cmd->limit : set.history_size;
    q->ttl_s = set.history_ttl_s;
    q->channel = wsf_xmalloc(strlen(cmd->channel) + 1);
    strcpy(q->channel, cmd->channel);
    wk_chop_attach(&q->op, s, cmd->id);
    if (wsf_nats_ch_history(s->hub->nats, q->channel, strlen(q->channel), 0, 1000,
                            wk_chsess_on_history, q) != 0) {
        wk_chop_detach(&q->op);
        wk_chhistop_free(q);
        wk_chsess_fail(s, cmd->id, WSF_CH_ERR_NOT_AVAILABLE, NULL);
    }
}

static void wk_chsess_presence(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    wsf_ch_settings set;
    int err = 0;
    if (wsf_chconf_lookup(&set, &s->hub->conf, cmd->channel, strlen(cmd->channel)) != 0)
        err = WSF_CH_ERR_BAD_CHANNEL;
    else if (!set.presence)
        err = WSF_CH_ERR_DISABLED;
    else if (!wk_chhub_up(s->hub))
        err = WSF_CH_ERR_NOT_AVAILABLE;
    else if (wk_chhub_presence(s->hub, s, cmd->id, cmd->channel) != 0)
        err = WSF_CH_ERR_NOT_AVAILABLE;
    if (err != 0)
        wk_chsess_fail(s, cmd->id, err, NULL);
}

static void wk_chsess_run(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    switch (cmd->op) {
    case WSF_CH_OP_CONNECT:
        wk_chsess_connect(s, cmd);
        return;
    case WSF_CH_OP_SUBSCRIBE:
        wk_chsess_subscribe(s, cmd);
        return;
    case WSF_CH_OP_UNSUBSCRIBE:
        wk_chsess_unsubscribe(s, cmd);
        return;
    case WSF_CH_OP_PUBLISH:
        wk_chsess_publish(s, cmd);
        return;
    case WSF_CH_OP_HISTORY:
        wk_chsess_history(s, cmd);
        return;
    case WSF_CH_OP_PRESENCE:
        wk_chsess_presence(s, cmd);
        return;
    case WSF_CH_OP_RPC:
        if (s->hub->backend != NULL && wk_backend_hooks_rpc(s->hub->backend))
            wk_backend_rpc(s, cmd);
        else
            wk_chsess_fail(s, cmd->id, WSF_CH_ERR_METHOD_NOT_FOUND,
                           "no application backend answers rpc");
        return;
    case WSF_CH_OP_REFRESH:
        wk_chsess_refresh(s, cmd);
        return;
    default:
        wk_chsess_fail(s, cmd->id, WSF_CH_ERR_UNKNOWN_COMMAND, NULL);
        return;
    }
}

void wk_chsess_handle(wk_chsess *s, const uint8_t *data, size_t len)
{
    wsf_ch_cmds cmds;
    wsf_ch_cmds_init(&cmds);
    wsf_ch_parse_frame(&cmds, (const char *)data, len);
    for (size_t i = 0; i < cmds.n && s->close_code == 0; i++) {
        const wsf_ch_cmd *cmd = &cmds.items[i];
        int err = cmd->err;
        if (err == 0)
            err = wsf_ch_session_check(&s->ps, cmd);
        if (err != 0)
            wk_chsess_error(s, cmd->id, err, err == cmd->err ? cmd->err_msg : NULL);
        if (wsf_ch_abuse_on_result(&s->abuse, err, wk_now_ms())) {
            wk_chsess_close(s, WSF_CH_ABUSE_CLOSE, "protocol abuse");
            break;
        }
        if (err == 0)
            wk_chsess_run(s, cmd);
    }
    wsf_ch_cmds_fini(&cmds);
}
