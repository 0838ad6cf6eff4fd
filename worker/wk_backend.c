/* Application backends over NATS: requests with an inbox, their timeouts and breaker, pushes to
 * users and clients. */
#include "wk_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wk_bkbreaker.h"
#include "wk_channels_priv.h"
#include "wk_conn.h"
#include "wk_worker.h"
#include "wsf_bkproto.h"
#include "wsf_chenc.h"
#include "wsf_log.h"
#include "wsf_nats.h"

#define WK_BK_CLIENT_BUCKETS 1024
#define WK_BK_USER_BUCKETS 1024
#define WK_BK_MAX_HEADER_VALUE 1024

/* A request in flight. */
typedef struct wk_bkreq {
    wk_chop op; /* op.sess NULL once the connection went away */
    enum wsf_bk_kind kind;
    uint64_t token;
    uint64_t deadline_ms;
    struct wk_bkreq *hnext;         /* token table */
    struct wk_bkreq *tnext, *tprev; /* by deadline (all share one timeout: send order) */
    wsf_ch_pool pool;               /* copies of what the command runs with once allowed */
    const char *channel;
    wsf_ch_settings set;
    bool has_since;
    wsf_ch_pos since;
    const char *data;
    size_t data_len;
    wsf_ch_sub *subs;
    size_t nsubs;
} wk_bkreq;

/* A user with sessions on this worker, and its push subscription. */
typedef struct wk_bkuser {
    struct wk_bkuser *hnext;
    struct wsf_nats_sub *sub;
    wk_backend *b;
    wk_chsess *sessions;
    char name[];
} wk_bkuser;

/* What wsf.app.connect needs from the upgrade request. */
typedef struct wk_bkopen {
    char ip[INET6_ADDRSTRLEN];
    size_t nheaders;
    wsf_bk_header headers[2 + WSF_BKCONF_MAX_HEADERS];
    char bytes[]; /* the names and values, copied */
} wk_bkopen;

struct wk_backend {
    wk_chhub *hub;
    wsf_bkconf conf;
    wk_bkbreaker breaker;
    wk_bkstats stats;
    char inbox[64]; /* "_INBOX.<random>." */
    size_t inbox_len;
    /* One reply inbox per kind, "<inbox><letter>.*" (letters in WK_BK_KIND_LETTERS): a "no
     * responders" answer read on the loop does not say which request it answers, only which
     * inbox, and so which subject had no application. */
    struct wk_bkinbox {
        wk_backend *b;
        enum wsf_bk_kind kind;
        struct wsf_nats_sub *sub;
    } inboxes[WSF_BK_NKINDS];
    struct wsf_nats_sub *client_sub;
    uint64_t next_token;
    wk_bkreq **reqs; /* token & (nreq_buckets - 1) */
    size_t nreq_buckets;
    wk_bkreq *thead, *ttail;
    struct event *timer;
    bool timer_armed;
    wk_chsess *clients[WK_BK_CLIENT_BUCKETS];
    wk_bkuser *users[WK_BK_USER_BUCKETS];
    wsf_buf scratch;
};

static uint64_t wk_bk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wk_bk_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The letter of each kind's reply inbox, by enum wsf_bk_kind. */
#define WK_BK_KIND_LETTERS "crsp"

/* ---- the request table ---- */

static void wk_bk_arm(wk_backend *b)
{
    if (b->thead == NULL || b->timer_armed)
        return;
    uint64_t now = wk_bk_now_ms();
    uint64_t wait = b->thead->deadline_ms > now ? b->thead->deadline_ms - now : 0;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000)};
    event_add(b->timer, &tv);
    b->timer_armed = true;
}

static void wk_bkreq_unlink(wk_backend *b, wk_bkreq *r)
{
    wk_bkreq **pp = &b->reqs[r->token & (b->nreq_buckets - 1)];
    while (*pp != r)
        pp = &(*pp)->hnext;
    *pp = r->hnext;
    if (r->tprev)
        r->tprev->tnext = r->tnext;
    else
        b->thead = r->tnext;
    if (r->tnext)
        r->tnext->tprev = r->tprev;
    else
        b->ttail = r->tprev;
    b->stats.pending--;
}

static void wk_bkreq_free(wk_bkreq *r)
{
    wsf_ch_pool_fini(&r->pool);
    free(r);
}

/* Detaches r from its session: the session, or NULL when it went away. */
static wk_chsess *wk_bkreq_session(wk_bkreq *r)
{
    wk_chsess *s = wk_chop_detach(&r->op);
    if (s != NULL && s->bk_pending > 0)
        s->bk_pending--;
    return s;
}

/* A request that failed without an answer (timeout, no responder, breaker open, limits): 108,
 * and a connect closes 1013 so that the client backs off. */
static void wk_bk_unavailable(wk_chsess *s, enum wsf_bk_kind kind, uint64_t id, const char *why)
{
    wk_chsess_fail(s, id, WSF_CH_ERR_NOT_AVAILABLE, why);
    if (kind == WSF_BK_CONNECT)
        wk_chsess_close(s, 1013, "backend not available");
}

static void wk_bk_fail_request(wk_backend *b, wk_bkreq *r, bool timeout)
{
    b->stats.failures++;
    if (timeout)
        b->stats.timeouts++;
    wk_bkb_on_result(&b->breaker, false, wk_bk_now_ms());
    wk_chsess *s = wk_bkreq_session(r);
    if (s != NULL)
        wk_bk_unavailable(s, r->kind, r->op.id, timeout ? "backend timeout" : "no backend");
}

static void wk_bk_on_timer(evutil_socket_t fd, short what, void *arg)
{
    wk_backend *b = arg;
    (void)fd;
    (void)what;
    b->timer_armed = false;
    uint64_t now = wk_bk_now_ms();
    while (b->thead != NULL && b->thead->deadline_ms <= now) {
        wk_bkreq *r = b->thead;
        wk_bkreq_unlink(b, r);
        wk_bk_fail_request(b, r, true);
        wk_bkreq_free(r);
    }
    wk_bk_arm(b);
}

/* ---- replies ---- */

/* The close code for a connect an application refused with error code. */
static unsigned wk_bk_refusal_close(int code)
{
    if (code == WSF_CH_ERR_UNAUTHORIZED)
        return WK_CLOSE_UNAUTHORIZED;
    if (code == WSF_CH_ERR_TOKEN_EXPIRED)
        return WK_CLOSE_TOKEN_EXPIRED;
    return 4403;
}

static void wk_bk_connect_result(wk_backend *b, wk_chsess *s, wk_bkreq *r, wsf_bk_reply *rep)
{
    if (rep->user != NULL && strcmp(rep->user, s->claims.sub) != 0) {
        size_t n = strlen(rep->user);
        if (!s->bk_renamed)
            s->token_sub_hash = wk_chsess_sub_hash(s->claims.sub);
        s->bk_renamed = true;
        memcpy(s->claims.sub, rep->user, n + 1); /* WSF_BK_MAX_USER == WSF_JWT_MAX_SUB */
    }
    for (size_t i = 0; i < rep->nchannels; i++) {
        wsf_ch_settings set;
        if (wsf_chconf_lookup(&set, &b->hub->conf, rep->channels[i], strlen(rep->channels[i])) !=
            0) {
            wsf_log_warn("backend: connect of %s granted channel '%s' of no namespace", s->client,
                         rep->channels[i]);
            wk_chsess_fail(s, r->op.id, WSF_CH_ERR_BAD_CHANNEL, "backend granted a bad channel");
            wk_chsess_close(s, 1011, "backend error");
            return;
        }
    }
    free(s->bk_data);
    s->bk_data = NULL;
    if (rep->data != NULL) {
        s->bk_data = wsf_xmalloc(rep->data_len + 1);
        memcpy(s->bk_data, rep->data, rep->data_len + 1);
        s->bk_data_len = rep->data_len;
    }
    s->bk_accepted = true;
    wk_chsess_connect_go(s, r->op.id, r->subs, r->nsubs, rep->channels, rep->nchannels);
}

static void wk_bk_result(wk_backend *b, wk_chsess *s, wk_bkreq *r, wsf_bk_reply *rep)
{
    uint64_t id = r->op.id;
    switch (r->kind) {
    case WSF_BK_CONNECT:
        wk_bk_connect_result(b, s, r, rep);
        return;
    case WSF_BK_RPC: {
        wsf_buf *out = wk_chsess_out(s, 64 + rep->data_len);
        if (out != NULL)
            wsf_ch_enc_rpc(out, id, rep->data, rep->data_len);
        wsf_ch_session_done(&s->ps, id);
        return;
    }
    case WSF_BK_SUBSCRIBE:
        wk_chsess_subscribe_go(s, id, r->channel, &r->set, r->has_since, &r->since);
        return;
    default:
        if (rep->data != NULL)
            wk_chsess_publish_go(s, id, r->channel, rep->data, rep->data_len);
        else
            wk_chsess_publish_go(s, id, r->channel, r->data, r->data_len);
        return;
    }
}

/* The request of kind that a "no responders" answer without a subject is for: the oldest of that
 * kind still waiting. The server answers in the order the requests were sent, so this is exact
 * unless an older request of the kind went to an application that stopped taking new ones and
 * still answers it (it is then failed in place of the newer one, which waits for its timeout). */
static wk_bkreq *wk_bk_oldest(wk_backend *b, enum wsf_bk_kind kind)
{
    wk_bkreq *r = b->thead;
    while (r != NULL && r->kind != kind)
        r = r->tnext;
    return r;
}

static void wk_bk_on_reply(const struct wsf_nats_msg *m, void *arg)
{
    struct wk_bkinbox *in = arg;
    wk_backend *b = in->b;
    wk_bkreq *r;
    if (m->subject == NULL) {
        r = m->no_responders ? wk_bk_oldest(b, in->kind) : NULL;
    } else {
        /* "<inbox><letter>.<token>" */
        if (strlen(m->subject) <= b->inbox_len + 2)
            return;
        char *end;
        uint64_t token = strtoull(m->subject + b->inbox_len + 2, &end, 10);
        if (*end != '\0')
            return;
        r = b->reqs[token & (b->nreq_buckets - 1)];
        while (r != NULL && r->token != token)
            r = r->hnext;
        if (r != NULL && r->kind != in->kind)
            return;
    }
    if (r == NULL)
        return; /* late: its timeout answered it */
    wk_bkreq_unlink(b, r);
    if (m->len == 0 || m->no_responders) {
        /* The server's "no responders" status: no application is subscribed. */
        wk_bk_fail_request(b, r, false);
        wk_bkreq_free(r);
        return;
    }
    wsf_bk_reply rep;
    if (wsf_bk_reply_parse(&rep, r->kind, m->data, m->len) != 0) {
        b->stats.failures++;
        b->stats.malformed++;
        wk_bkb_on_result(&b->breaker, false, wk_bk_now_ms());
        wsf_log_warn("backend: malformed reply on %s (%zu bytes)", wsf_bk_subject(r->kind), m->len);
        wk_chsess *s = wk_bkreq_session(r);
        if (s != NULL) {
            wk_chsess_fail(s, r->op.id, WSF_CH_ERR_INTERNAL, "malformed backend reply");
            if (r->kind == WSF_BK_CONNECT)
                wk_chsess_close(s, 1011, "backend error");
        }
        wk_bkreq_free(r);
        return;
    }
    wk_bkb_on_result(&b->breaker, true, wk_bk_now_ms());
    wk_chsess *s = wk_bkreq_session(r);
    if (s != NULL) {
        if (rep.outcome == WSF_BK_RESULT) {
            wk_bk_result(b, s, r, &rep);
        } else if (rep.outcome == WSF_BK_ERROR) {
            wk_chsess_fail(s, r->op.id, rep.code, rep.message[0] ? rep.message : NULL);
            if (r->kind == WSF_BK_CONNECT)
                wk_chsess_close(s, wk_bk_refusal_close(rep.code), "connect refused");
        } else {
            wsf_ch_session_done(&s->ps, r->op.id);
            /* The reason must outlive this call (the close frame is written at the flush): the
             * session keeps it until it goes away. */
            free(s->bk_data);
            s->bk_data_len = strlen(rep.message);
            s->bk_data = wsf_xmalloc(s->bk_data_len + 1);
            memcpy(s->bk_data, rep.message, s->bk_data_len + 1);
            wk_chsess_close(s, (unsigned)rep.code, s->bk_data);
        }
    }
    wsf_bk_reply_fini(&rep);
    wk_bkreq_free(r);
}

/* ---- sending ---- */

/* A new request for s's command id, or NULL after answering it (limits, breaker). */
static wk_bkreq *wk_bk_begin(wk_chsess *s, enum wsf_bk_kind kind, uint64_t id)
{
    wk_backend *b = s->hub->backend;
    if (s->bk_pending >= b->conf.max_pending) {
        wk_chsess_fail(s, id, WSF_CH_ERR_LIMIT_EXCEEDED, "too many backend requests in flight");
        if (kind == WSF_BK_CONNECT)
            wk_chsess_close(s, 1013, "backend not available");
        return NULL;
    }
    if (b->stats.pending >= b->conf.max_pending_worker || !wk_chhub_up(s->hub) ||
        !wk_bkb_allow(&b->breaker, wk_bk_now_ms())) {
        b->stats.rejected++;
        wk_bk_unavailable(s, kind, id, "backend not available");
        return NULL;
    }
    wk_bkreq *r = wsf_xcalloc(1, sizeof *r);
    r->kind = kind;
    wk_chop_attach(&r->op, s, id);
    s->bk_pending++;
    return r;
}

/* Sends the event in b->scratch for r and puts r in the table. */
static void wk_bk_send(wk_chsess *s, wk_bkreq *r)
{
    wk_backend *b = s->hub->backend;
    struct wk_bkinbox *in = &b->inboxes[r->kind];
    char reply[96];
    if (in->sub == NULL) {
        /* The first request of its kind: the subscription goes to the server before it. */
        snprintf(reply, sizeof reply, "%s%c.*", b->inbox, WK_BK_KIND_LETTERS[r->kind]);
        if (wsf_nats_sub_new_on_loop(&in->sub, s->hub->nats, reply, wk_bk_on_reply, in) != 0) {
            in->sub = NULL;
            wsf_log_error("backend: cannot subscribe to its reply inbox %s", reply);
        }
    }
    r->token = ++b->next_token;
    /* "<inbox><letter>.<token>", written by hand: once per request. */
    char *p = reply + b->inbox_len;
    memcpy(reply, b->inbox, b->inbox_len);
    *p++ = WK_BK_KIND_LETTERS[r->kind];
    *p++ = '.';
    char digits[20];
    size_t nd = 0;
    for (uint64_t t = r->token; t != 0 || nd == 0; t /= 10)
        digits[nd++] = (char)('0' + t % 10);
    while (nd > 0)
        *p++ = digits[--nd];
    *p = '\0';
    int rc = in->sub == NULL ? -EIO
                             : wsf_nats_publish_request(s->hub->nats, wsf_bk_subject(r->kind),
                                                        reply, b->scratch.data, b->scratch.len);
    b->scratch.len = b->scratch.off = 0;
    if (rc != 0) {
        wk_bkreq_session(r);
        b->stats.rejected++;
        wk_bkb_on_result(&b->breaker, false, wk_bk_now_ms());
        wk_bk_unavailable(s, r->kind, r->op.id, "backend not available");
        wk_bkreq_free(r);
        return;
    }
    b->stats.requests++;
    b->stats.pending++;
    r->deadline_ms = wk_bk_now_ms() + b->conf.timeout_ms;
    wk_bkreq **bucket = &b->reqs[r->token & (b->nreq_buckets - 1)];
    r->hnext = *bucket;
    *bucket = r;
    r->tprev = b->ttail;
    if (b->ttail)
        b->ttail->tnext = r;
    else
        b->thead = r;
    b->ttail = r;
    wk_bk_arm(b);
}

static wsf_bk_event wk_bk_event_of(const wk_chsess *s)
{
    return (wsf_bk_event){.client = s->client, .user = s->claims.sub};
}

void wk_backend_connect(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    wk_bkreq *r = wk_bk_begin(s, WSF_BK_CONNECT, cmd->id);
    if (r == NULL)
        return;
    r->nsubs = cmd->nsubs;
    r->subs = wsf_ch_pool_calloc(&r->pool, cmd->nsubs, sizeof *r->subs);
    for (size_t i = 0; i < cmd->nsubs; i++) {
        const wsf_ch_sub *in = &cmd->subs[i];
        wsf_ch_sub *o = &r->subs[i];
        o->channel = wsf_ch_pool_strndup(&r->pool, in->channel, strlen(in->channel));
        o->has_since = in->has_since;
        o->since.offset = in->since.offset;
        if (in->has_since)
            o->since.epoch =
                wsf_ch_pool_strndup(&r->pool, in->since.epoch, strlen(in->since.epoch));
    }
    wsf_bk_event ev = wk_bk_event_of(s);
    const wk_bkopen *o = s->bk_open;
    ev.ip = o != NULL ? o->ip : "";
    ev.headers = o != NULL ? o->headers : NULL;
    ev.nheaders = o != NULL ? o->nheaders : 0;
    ev.token = cmd->token;
    ev.data = cmd->data;
    ev.data_len = cmd->data_len;
    wsf_bk_enc_event(&s->hub->backend->scratch, WSF_BK_CONNECT, &ev);
    free(s->bk_open);
    s->bk_open = NULL;
    wk_bk_send(s, r);
}

void wk_backend_rpc(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    wk_bkreq *r = wk_bk_begin(s, WSF_BK_RPC, cmd->id);
    if (r == NULL)
        return;
    wsf_bk_event ev = wk_bk_event_of(s);
    ev.method = cmd->method;
    ev.data = cmd->data;
    ev.data_len = cmd->data_len;
    wsf_bk_enc_event(&s->hub->backend->scratch, WSF_BK_RPC, &ev);
    wk_bk_send(s, r);
}

void wk_backend_subscribe(wk_chsess *s, const wsf_ch_cmd *cmd, const wsf_ch_settings *set)
{
    wk_bkreq *r = wk_bk_begin(s, WSF_BK_SUBSCRIBE, cmd->id);
    if (r == NULL)
        return;
    r->channel = wsf_ch_pool_strndup(&r->pool, cmd->channel, strlen(cmd->channel));
    r->set = *set;
    r->has_since = cmd->has_since;
    r->since.offset = cmd->since.offset;
    if (cmd->has_since)
        r->since.epoch = wsf_ch_pool_strndup(&r->pool, cmd->since.epoch, strlen(cmd->since.epoch));
    wsf_bk_event ev = wk_bk_event_of(s);
    ev.channel = cmd->channel;
    wsf_bk_enc_event(&s->hub->backend->scratch, WSF_BK_SUBSCRIBE, &ev);
    wk_bk_send(s, r);
}

void wk_backend_publish(wk_chsess *s, const wsf_ch_cmd *cmd)
{
    wk_bkreq *r = wk_bk_begin(s, WSF_BK_PUBLISH, cmd->id);
    if (r == NULL)
        return;
    r->channel = wsf_ch_pool_strndup(&r->pool, cmd->channel, strlen(cmd->channel));
    r->data = wsf_ch_pool_strndup(&r->pool, cmd->data, cmd->data_len);
    r->data_len = cmd->data_len;
    wsf_bk_event ev = wk_bk_event_of(s);
    ev.channel = cmd->channel;
    ev.data = cmd->data;
    ev.data_len = cmd->data_len;
    wsf_bk_enc_event(&s->hub->backend->scratch, WSF_BK_PUBLISH, &ev);
    wk_bk_send(s, r);
}

/* ---- connections ---- */

bool wk_backend_hooks_connect(const wk_backend *b)
{
    return b->conf.connect;
}

bool wk_backend_hooks_rpc(const wk_backend *b)
{
    return b->conf.rpc;
}

void wk_backend_on_open(wk_chsess *s, const struct ws_http_request *req)
{
    wk_backend *b = s->hub->backend;
    if (!b->conf.connect)
        return;
    size_t bytes = 0, n = 0;
    const ws_header *pick[2 + WSF_BKCONF_MAX_HEADERS];
    for (size_t i = 0; i < req->nheaders && n < 2 + WSF_BKCONF_MAX_HEADERS; i++) {
        const ws_header *h = &req->headers[i];
        bool want = (h->name.len == 10 && strncasecmp(h->name.p, "user-agent", 10) == 0) ||
                    (h->name.len == 6 && strncasecmp(h->name.p, "origin", 6) == 0) ||
                    wsf_bkconf_has_header(&b->conf, h->name.p, h->name.len);
        if (!want)
            continue;
        pick[n++] = h;
        bytes += h->name.len +
                 (h->value.len < WK_BK_MAX_HEADER_VALUE ? h->value.len : WK_BK_MAX_HEADER_VALUE);
    }
    wk_bkopen *o = wsf_xcalloc(1, sizeof *o + bytes + 1);
    char *at = o->bytes;
    for (size_t i = 0; i < n; i++) {
        wsf_bk_header *h = &o->headers[o->nheaders++];
        size_t vn = pick[i]->value.len < WK_BK_MAX_HEADER_VALUE ? pick[i]->value.len
                                                                : WK_BK_MAX_HEADER_VALUE;
        /* Names are sent in lower case, as HTTP/2 and most frameworks show them. */
        for (size_t k = 0; k < pick[i]->name.len; k++) {
            char ch = pick[i]->name.p[k];
            at[k] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        }
        h->name = at;
        h->name_len = pick[i]->name.len;
        at += h->name_len;
        memcpy(at, pick[i]->value.p, vn);
        h->value = at;
        h->value_len = vn;
        at += vn;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(s->conn->fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, o->ip, sizeof o->ip);
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, o->ip, sizeof o->ip);
    }
    free(s->bk_open);
    s->bk_open = o;
}

static void wk_bk_on_push(wk_backend *b, wk_chsess *s, const char *data, size_t len)
{
    wsf_buf *out = wk_chsess_out(s, 32 + len);
    if (out != NULL) {
        wsf_ch_enc_push_message(out, data, len);
        b->stats.pushes++;
    }
}

static void wk_bk_on_user_msg(const struct wsf_nats_msg *m, void *arg)
{
    wk_bkuser *u = arg;
    wk_backend *b = u->b;
    wsf_buf data = {0};
    if (wsf_bk_push_parse(&data, m->data, m->len) != 0) {
        wsf_log_debug("backend: push to user %s is not {\"data\":...}", u->name);
        return;
    }
    for (wk_chsess *s = u->sessions; s; s = s->bk_unext)
        wk_bk_on_push(b, s, (const char *)data.data, data.len);
    wsf_buf_fini(&data);
}

static void wk_bk_on_client_msg(const struct wsf_nats_msg *m, void *arg)
{
    wk_backend *b = arg;
    const char *dot = strrchr(m->subject, '.');
    if (dot == NULL)
        return;
    char *end;
    uint64_t n = strtoull(dot + 1, &end, 16);
    if (*end != '\0')
        return;
    wk_chsess *s = b->clients[n % WK_BK_CLIENT_BUCKETS];
    while (s != NULL && s->client_n != n)
        s = s->bk_cnext;
    if (s == NULL)
        return;
    wsf_buf data = {0};
    if (wsf_bk_push_parse(&data, m->data, m->len) == 0)
        wk_bk_on_push(b, s, (const char *)data.data, data.len);
    wsf_buf_fini(&data);
}

void wk_backend_on_connected(wk_chsess *s)
{
    wk_backend *b = s->hub->backend;
    if (s->bk_connected)
        return;
    s->bk_connected = true;
    const char *dot = strrchr(s->client, '.');
    s->client_n = strtoull(dot + 1, NULL, 16);
    wk_chsess **cb = &b->clients[s->client_n % WK_BK_CLIENT_BUCKETS];
    s->bk_cnext = *cb;
    *cb = s;
    size_t len = strlen(s->claims.sub);
    if (len == 0)
        return;
    if (!wsf_bk_subject_ok(s->claims.sub, len)) {
        wsf_log_debug("backend: user '%s' cannot be a subject: no user pushes", s->claims.sub);
        return;
    }
    wk_bkuser **ub = &b->users[wk_bk_hash(s->claims.sub, len) % WK_BK_USER_BUCKETS];
    wk_bkuser *u = *ub;
    while (u != NULL && strcmp(u->name, s->claims.sub) != 0)
        u = u->hnext;
    if (u == NULL) {
        char subject[sizeof WSF_BK_SUBJ_USER + WSF_BK_MAX_USER];
        snprintf(subject, sizeof subject, "%s%s", WSF_BK_SUBJ_USER, s->claims.sub);
        u = wsf_xcalloc(1, sizeof *u + len + 1);
        memcpy(u->name, s->claims.sub, len + 1);
        u->b = b;
        if (wsf_nats_sub_new(&u->sub, s->hub->nats, subject, wk_bk_on_user_msg, u) != 0) {
            wsf_log_warn("backend: cannot subscribe to %s: no pushes to that user", subject);
            free(u);
            return;
        }
        u->hnext = *ub;
        *ub = u;
    }
    s->bk_user = u;
    s->bk_uprev = NULL;
    s->bk_unext = u->sessions;
    if (u->sessions)
        u->sessions->bk_uprev = s;
    u->sessions = s;
}

static void wk_bk_user_leave(wk_backend *b, wk_chsess *s)
{
    wk_bkuser *u = s->bk_user;
    if (s->bk_uprev)
        s->bk_uprev->bk_unext = s->bk_unext;
    else
        u->sessions = s->bk_unext;
    if (s->bk_unext)
        s->bk_unext->bk_uprev = s->bk_uprev;
    s->bk_user = NULL;
    if (u->sessions != NULL)
        return;
    wk_bkuser **pp = &b->users[wk_bk_hash(u->name, strlen(u->name)) % WK_BK_USER_BUCKETS];
    while (*pp != u)
        pp = &(*pp)->hnext;
    *pp = u->hnext;
    wsf_nats_sub_free(u->sub);
    free(u);
}

void wk_backend_on_close(wk_chsess *s)
{
    wk_backend *b = s->hub->backend;
    free(s->bk_open);
    s->bk_open = NULL;
    free(s->bk_data);
    s->bk_data = NULL;
    if (b == NULL)
        return;
    if (s->bk_connected) {
        wk_chsess **pp = &b->clients[s->client_n % WK_BK_CLIENT_BUCKETS];
        while (*pp != s)
            pp = &(*pp)->bk_cnext;
        *pp = s->bk_cnext;
        s->bk_connected = false;
    }
    if (s->bk_user != NULL)
        wk_bk_user_leave(b, s);
    if (s->bk_accepted && !s->hub->closing) {
        wsf_buf ev = {0};
        wsf_bk_enc_disconnect(&ev, s->client, s->claims.sub);
        wsf_nats_publish(s->hub->nats, WSF_BK_SUBJ_DISCONNECT, ev.data, ev.len);
        wsf_buf_fini(&ev);
        s->bk_accepted = false;
    }
}

/* ---- the module ---- */

void wk_backend_stats(const wk_backend *b, wk_bkstats *out)
{
    *out = b->stats;
    out->opened = b->breaker.opened;
    out->state = (uint32_t)b->breaker.state;
}

void wk_backend_hub_stats(const wk_chhub *h, wk_bkstats *out)
{
    if (h->backend == NULL) {
        *out = (wk_bkstats){0};
        return;
    }
    wk_backend_stats(h->backend, out);
    out->pending = h->backend->stats.pending;
}

int wk_backend_new(wk_backend **out, wk_chhub *h)
{
    wk_backend *b = wsf_xcalloc(1, sizeof *b);
    b->hub = h;
    b->conf = h->conf.backend;
    wk_bkb_init(&b->breaker, b->conf.breaker_failures, b->conf.breaker_window_ms,
                b->conf.open_time_ms);
    b->nreq_buckets = 1024;
    while (b->nreq_buckets < b->conf.max_pending_worker && b->nreq_buckets < 65536)
        b->nreq_buckets *= 2;
    b->reqs = wsf_xcalloc(b->nreq_buckets, sizeof *b->reqs);
    b->timer = event_new(h->ctx->base, -1, 0, wk_bk_on_timer, b);
    uint64_t seed = 0;
    FILE *f = fopen("/dev/urandom", "r");
    if (f == NULL || fread(&seed, sizeof seed, 1, f) != 1)
        seed = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL ^ wk_bk_now_ms();
    if (f != NULL)
        fclose(f);
    b->inbox_len = (size_t)snprintf(b->inbox, sizeof b->inbox, "_INBOX.wsf%x%016" PRIx64 ".",
                                    (unsigned)getpid(), seed);
    for (size_t k = 0; k < WSF_BK_NKINDS; k++) {
        b->inboxes[k].b = b;
        b->inboxes[k].kind = (enum wsf_bk_kind)k;
    }
    char clients[64];
    snprintf(clients, sizeof clients, "%s%x.*", WSF_BK_SUBJ_CLIENT, (unsigned)getpid());
    /* Replies and pushes to one client come straight from the loop's read of the connection. */
    if (wsf_nats_sub_new_on_loop(&b->client_sub, h->nats, clients, wk_bk_on_client_msg, b) != 0) {
        wsf_log_error("backend: cannot subscribe to its clients' subject");
        wk_backend_free(b);
        return -1;
    }
    *out = b;
    return 0;
}

void wk_backend_free(wk_backend *b)
{
    if (b == NULL)
        return;
    while (b->thead != NULL) {
        wk_bkreq *r = b->thead;
        wk_bkreq_unlink(b, r);
        wk_bkreq_session(r);
        wk_bkreq_free(r);
    }
    for (size_t i = 0; i < WK_BK_USER_BUCKETS; i++) {
        while (b->users[i] != NULL) {
            wk_bkuser *u = b->users[i];
            b->users[i] = u->hnext;
            for (wk_chsess *s = u->sessions; s; s = s->bk_unext)
                s->bk_user = NULL;
            wsf_nats_sub_free(u->sub);
            free(u);
        }
    }
    for (size_t k = 0; k < WSF_BK_NKINDS; k++)
        wsf_nats_sub_free(b->inboxes[k].sub);
    wsf_nats_sub_free(b->client_sub);
    if (b->timer)
        event_free(b->timer);
    free(b->reqs);
    wsf_buf_fini(&b->scratch);
    free(b);
}
