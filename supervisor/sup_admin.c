/* The admin HTTP server's I/O: the listener, connections with keep-alive, an idle timeout and a
 * deadline for each request, requests routed to the API, metrics, health checks and the embedded
 * files, and the /ws feed (a snapshot every second, events as they happen). */
#include "sup_admin.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sup_admin_api.h"
#include "sup_admin_http.h"
#include "sup_admin_setup.h"
#include "sup_alerting.h"
#include "sup_assets.h"
#include "sup_channels.h"
#include "sup_ctx.h"
#include "sup_metrics.h"
#include "ws_parser.h"
#include "ws_writer.h"
#include "wsf_log.h"
#include "wsf_parse.h"

#define SUP_ADMIN_WS_MAX_OUT (1u << 20) /* a /ws client further behind than this is dropped */
#define SUP_ADMIN_HISTORY_MS 1000

typedef struct sup_admin_conn {
    struct sup_admin *adm;
    struct bufferevent *bev;
    struct sup_admin_conn *prev, *next;
    bool loopback; /* the peer's address */
    bool ws;       /* upgraded to the /ws feed */
    bool closing;  /* closes once its output is written */
    bool waiting;  /* a publish's answer is owed */
    bool keep_alive;
    struct event *deadline;            /* the request being read must be whole by then */
    char origin[SUP_ADMIN_ORIGIN_MAX]; /* an owed answer's allowed Origin, origin_len bytes */
    size_t origin_len;
    ws_http_scan scan;
    ws_parser wsp;
} sup_admin_conn;

typedef struct sup_admin {
    sup_ctx *ctx;
    int fd;
    struct event *accept_ev;
    SSL_CTX *ssl;
    char token[SUP_ADMIN_TOKEN_LEN + 1];
    char token_path[512];
    bool token_written; /* token_path is ours: removed at stop */
    sup_admin_conn *conns;
    unsigned nconns;
    unsigned nws;
    uint64_t pushed_ms;
    bool loopback_listener; /* [admin] listen is a loopback address: Host must be local */
    char url[320];          /* the dashboard's URL, from the bound address */
} sup_admin;

static uint64_t sup_admin_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- events ----------------------------------------------------------------------------- */

static void sup_admin_ws_send(sup_admin_conn *c, const char *text, size_t len);

void sup_events_add(sup_ctx *ctx, const char *kind, int slot, const char *fmt, ...)
{
    char text[SUP_EVENT_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    const sup_event *e = sup_events_push(&ctx->events, sup_admin_wall_ms(), kind, slot, text);
    sup_admin *adm = ctx->admin;
    if (adm == NULL || adm->nws == 0)
        return;
    json_t *doc = sup_admin_event_json(e);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (s == NULL)
        return;
    size_t len = strlen(s);
    for (sup_admin_conn *c = adm->conns; c != NULL; c = c->next) {
        if (c->ws && !c->closing)
            sup_admin_ws_send(c, s, len);
    }
    free(s);
}

/* ---- connections ------------------------------------------------------------------------ */

static void sup_admin_conn_free(sup_admin_conn *c)
{
    sup_admin *adm = c->adm;
    if (c->prev)
        c->prev->next = c->next;
    else
        adm->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    adm->nconns--;
    adm->nws -= c->ws;
    bufferevent_free(c->bev);
    event_free(c->deadline);
    free(c);
}

static void sup_admin_write(sup_admin_conn *c, const void *p, size_t n)
{
    if (bufferevent_write(c->bev, p, n) != 0)
        c->closing = true;
}

/* Sends a response with the CORS headers for cors (an allowed Origin, or empty); body may be
 * NULL for none, and is left out when head_only. */
static void sup_admin_send(sup_admin_conn *c, ws_str cors, bool head_only, int status,
                           const char *type, const void *body, size_t len, const char *extra)
{
    char head[2048];
    bool keep = c->keep_alive && status < 500 && status != 400 && status != 413 && status != 408;
    size_t hl = sup_admin_head(head, sizeof head, status, type, len, keep, cors, extra);
    if (hl == 0) {
        c->closing = true; /* cannot happen with these sizes; never send half a head */
        return;
    }
    sup_admin_write(c, head, hl);
    if (body != NULL && len > 0 && !head_only)
        sup_admin_write(c, body, len);
    if (!keep)
        c->closing = true;
}

/* Sends the answer to req; body may be NULL for none. */
static void sup_admin_respond(sup_admin_conn *c, const ws_http_request *req, int status,
                              const char *type, const void *body, size_t len, const char *extra)
{
    ws_str cors = sup_admin_cors_origin(req, c->adm->ctx->cfg.admin.cors_origins);
    bool head_only = req->method.len == 4 && memcmp(req->method.p, "HEAD", 4) == 0;
    sup_admin_send(c, cors, head_only, status, type, body, len, extra);
}

/* Sends doc (which it frees) as JSON with the CORS headers for cors. */
static void sup_admin_send_json(sup_admin_conn *c, ws_str cors, int status, json_t *doc,
                                const char *extra)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (s == NULL) {
        c->closing = true;
        return;
    }
    sup_admin_send(c, cors, false, status, "application/json", s, strlen(s), extra);
    free(s);
}

static void sup_admin_respond_json(sup_admin_conn *c, const ws_http_request *req, int status,
                                   json_t *doc, const char *extra)
{
    sup_admin_send_json(c, sup_admin_cors_origin(req, c->adm->ctx->cfg.admin.cors_origins), status,
                        doc, extra);
}

static void sup_admin_error(sup_admin_conn *c, const ws_http_request *req, int status,
                            const char *message)
{
    char body[512];
    size_t n = sup_admin_error_json(body, sizeof body, status, message);
    const char *extra = status == 401   ? "WWW-Authenticate: Bearer\r\n"
                        : status == 405 ? "Allow: GET, POST, OPTIONS\r\n"
                                        : NULL;
    sup_admin_respond(c, req, status, "application/json", body, n, extra);
}

/* An error before any request could be parsed: no CORS, connection closed. */
static void sup_admin_early_error(sup_admin_conn *c, int status, const char *message)
{
    ws_http_request none = {0};
    c->keep_alive = false;
    sup_admin_error(c, &none, status, message);
}

static void sup_admin_ws_send(sup_admin_conn *c, const char *text, size_t len)
{
    uint8_t hdr[WS_MAX_HEADER];
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > SUP_ADMIN_WS_MAX_OUT) {
        c->closing = true; /* too slow to keep up: it reconnects and starts afresh */
        return;
    }
    size_t hl = ws_frame_header(hdr, true, WS_OP_TEXT, len, NULL);
    sup_admin_write(c, hdr, hl);
    sup_admin_write(c, text, len);
}

static void sup_admin_ws_snapshot(sup_admin_conn *c)
{
    json_t *doc = sup_admin_snapshot_json(c->adm->ctx);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (s != NULL)
        sup_admin_ws_send(c, s, strlen(s));
    free(s);
}

static void sup_admin_upgrade(sup_admin_conn *c, const ws_http_request *req)
{
    ws_upgrade up;
    int status = ws_http_validate_upgrade(&up, req);
    if (status != 0) {
        char out[512];
        size_t n = ws_http_error(out, sizeof out, status, 1);
        sup_admin_write(c, out, n);
        c->closing = true;
        return;
    }
    char out[512];
    size_t n = ws_http_write_upgrade(out, sizeof out, &up);
    sup_admin_write(c, out, n);
    c->ws = true;
    c->adm->nws++;
    ws_parser_init(&c->wsp, WS_ROLE_SERVER, 4096);
    /* The feed sends; it reads only control frames: no idle timeout. */
    struct timeval wr = {SUP_ADMIN_IDLE_MS / 1000, 0};
    bufferevent_set_timeouts(c->bev, NULL, &wr);
    sup_admin_ws_snapshot(c);
}

static void sup_admin_get(sup_admin_conn *c, const ws_http_request *req, enum sup_admin_route route)
{
    sup_ctx *ctx = c->adm->ctx;
    char v[32];
    switch (route) {
    case SUP_ADMIN_R_STATUS:
        sup_admin_respond_json(c, req, 200, sup_admin_status_json(ctx), NULL);
        return;
    case SUP_ADMIN_R_WORKERS:
        sup_admin_respond_json(c, req, 200, sup_admin_workers_json(ctx), NULL);
        return;
    case SUP_ADMIN_R_BREAKERS:
        sup_admin_respond_json(c, req, 200, sup_admin_breakers_json(ctx), NULL);
        return;
    case SUP_ADMIN_R_EVENTS: {
        uint64_t since = 0;
        int q = sup_admin_query(&req->target, "since", v, sizeof v);
        if (q < 0 || (q == 1 && wsf_parse_u64(&since, v, 0, UINT64_MAX) != 0)) {
            sup_admin_error(c, req, 400, "since: an event id (a whole number)");
            return;
        }
        sup_admin_respond_json(c, req, 200, sup_admin_events_json(ctx, since), NULL);
        return;
    }
    case SUP_ADMIN_R_HISTORY: {
        uint64_t seconds = SUP_HISTORY_POINTS;
        int slot = -1;
        int q = sup_admin_query(&req->target, "seconds", v, sizeof v);
        if (q < 0 || (q == 1 && (wsf_parse_u64(&seconds, v, 1, SUP_HISTORY_POINTS) != 0 ||
                                 seconds == 0 || seconds > SUP_HISTORY_POINTS))) {
            sup_admin_error(c, req, 400, "seconds: 1..300");
            return;
        }
        q = sup_admin_query(&req->target, "slot", v, sizeof v);
        if (q == 1 && strcmp(v, "fleet") != 0) {
            uint64_t s;
            if (wsf_parse_u64(&s, v, 0, UINT64_MAX) != 0 || s >= ctx->nslots) {
                sup_admin_error(c, req, 400, "slot: a slot number, or fleet");
                return;
            }
            slot = (int)s;
        } else if (q < 0) {
            sup_admin_error(c, req, 400, "slot: a slot number, or fleet");
            return;
        }
        sup_admin_respond_json(c, req, 200, sup_admin_history_json(ctx, slot, (unsigned)seconds),
                               NULL);
        return;
    }
    case SUP_ADMIN_R_CLUSTER: {
        char err[256];
        json_t *doc = sup_admin_cluster_json(ctx, err, sizeof err);
        if (doc == NULL) {
            sup_admin_error(c, req, 503, err);
            return;
        }
        sup_admin_respond_json(c, req, 200, doc, NULL);
        return;
    }
    case SUP_ADMIN_R_METRICS: {
        char *text;
        size_t len;
        if (sup_metrics_render(&text, &len, ctx) != 0) {
            sup_admin_error(c, req, 500, "cannot render the metrics");
            return;
        }
        sup_admin_respond(c, req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
        free(text);
        return;
    }
    case SUP_ADMIN_R_ALERTS:
        sup_admin_respond_json(c, req, 200, sup_alerting_json(ctx), NULL);
        return;
    case SUP_ADMIN_R_HEALTHZ:
        sup_admin_respond(c, req, 200, "text/plain; charset=utf-8", "ok\n", 3, NULL);
        return;
    case SUP_ADMIN_R_READYZ:
        if (sup_admin_is_ready(ctx))
            sup_admin_respond(c, req, 200, "text/plain; charset=utf-8", "ready\n", 6, NULL);
        else
            sup_admin_respond(c, req, 503, "text/plain; charset=utf-8", "not ready\n", 10,
                              "Retry-After: 1\r\n");
        return;
    case SUP_ADMIN_R_INDEX: {
        const sup_asset *a = sup_asset_find(req->path);
        if (a == NULL) {
            sup_admin_error(c, req, 404, "no such page");
            return;
        }
        sup_admin_respond(c, req, 200, a->type, a->data, a->len,
                          "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n"
                          "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n");
        return;
    }
    default:
        sup_admin_error(c, req, 404, "no such route");
        return;
    }
}

/* Handles one whole request (head and body). */
static void sup_admin_handle(sup_admin_conn *c, const ws_http_request *req, const char *body,
                             size_t blen)
{
    sup_admin *adm = c->adm;
    enum sup_admin_route route = SUP_ADMIN_R_NONE;
    int status = sup_admin_route_find(&route, req->method, req->path);
    if (status != 0) {
        sup_admin_error(c, req, status, status == 404 ? "no such route" : "method not allowed");
        return;
    }
    if (adm->loopback_listener && !sup_admin_host_is_local(req)) {
        sup_admin_error(c, req, 403, "this server answers only Host 127.0.0.1, [::1] or localhost");
        return;
    }
    if (route == SUP_ADMIN_R_PREFLIGHT) {
        sup_admin_respond(c, req, 204, "text/plain", NULL, 0, NULL);
        return;
    }
    if (sup_admin_needs_token(route, c->loopback) && !sup_admin_token_ok(req, adm->token)) {
        char tok[SUP_ADMIN_TOKEN_LEN + 2];
        bool by_query = route == SUP_ADMIN_R_WS &&
                        sup_admin_query(&req->target, "token", tok, sizeof tok) == 1 &&
                        strcmp(tok, adm->token) == 0;
        if (!by_query) {
            sup_admin_error(c, req, 401,
                            "this needs Authorization: Bearer <the token in RUNDIR/admin.token>");
            return;
        }
    }
    if (route == SUP_ADMIN_R_WS) {
        sup_admin_upgrade(c, req);
        return;
    }
    if (!sup_admin_route_is_post(route)) {
        sup_admin_get(c, req, route);
        return;
    }
    json_t *doc = NULL;
    status = sup_admin_action(adm->ctx, route, body, blen, &doc);
    if (status == 0) {
        c->waiting = true; /* sup_admin_ctl_answer completes it, with the same CORS headers */
        ws_str cors = sup_admin_cors_origin(req, adm->ctx->cfg.admin.cors_origins);
        memcpy(c->origin, cors.p, cors.len); /* at most SUP_ADMIN_ORIGIN_MAX */
        c->origin_len = cors.len;
        bufferevent_disable(c->bev, EV_READ);
        return;
    }
    sup_admin_respond_json(c, req, status, doc, NULL);
}

static void sup_admin_on_ws_input(sup_admin_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    uint8_t *buf = evbuffer_pullup(in, -1);
    size_t off = 0;
    while (!c->closing && off < len) {
        ws_event ev;
        ssize_t n = ws_parser_next(&c->wsp, &ev, buf + off, len - off);
        if (n == 0)
            break;
        if (n < 0) {
            uint8_t frame[WS_MAX_CONTROL_FRAME], payload[WS_MAX_CONTROL_PAYLOAD];
            size_t pl = ws_close_payload(payload, (unsigned)-n, "");
            sup_admin_write(c, frame, ws_frame_write(frame, true, WS_OP_CLOSE, payload, pl, NULL));
            c->closing = true;
            break;
        }
        off += (size_t)n;
        if (ev.kind == WS_EV_PING) {
            uint8_t frame[WS_MAX_CONTROL_FRAME];
            sup_admin_write(c, frame,
                            ws_frame_write(frame, true, WS_OP_PONG, ev.data, ev.len, NULL));
        } else if (ev.kind == WS_EV_CLOSE) {
            uint8_t frame[WS_MAX_CONTROL_FRAME], payload[WS_MAX_CONTROL_PAYLOAD];
            unsigned code = ev.code == WS_CLOSE_NO_STATUS ? 0 : WS_CLOSE_NORMAL;
            size_t pl = ws_close_payload(payload, code, "");
            sup_admin_write(c, frame, ws_frame_write(frame, true, WS_OP_CLOSE, payload, pl, NULL));
            c->closing = true;
        }
    }
    evbuffer_drain(in, off);
}

/* Starts the clock of the request whose first bytes are in (unless it runs already). */
static void sup_admin_deadline_arm(sup_admin_conn *c)
{
    if (evtimer_pending(c->deadline, NULL))
        return;
    uint32_t ms = c->adm->ctx->cfg.admin.request_ms;
    struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->deadline, &tv);
}

static void sup_admin_on_http_input(sup_admin_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (!c->closing && !c->ws && !c->waiting) {
        size_t len = evbuffer_get_length(in);
        if (len == 0)
            return;
        sup_admin_deadline_arm(c);
        const char *buf = (const char *)evbuffer_pullup(in, -1);
        ws_http_request req;
        ssize_t hl = ws_http_parse_request(&req, &c->scan, buf, len);
        if (hl == 0)
            return;
        if (hl < 0) {
            sup_admin_early_error(c, (int)-hl,
                                  hl == -431 ? "request head too large" : "malformed request");
            return;
        }
        size_t blen = 0;
        int status = sup_admin_request_check(&req, &blen);
        c->keep_alive = sup_admin_keep_alive(&req);
        if (status != 0) {
            c->keep_alive = false;
            sup_admin_error(c, &req, status,
                            status == 413   ? "request body too large (64 KiB at most)"
                            : status == 505 ? "HTTP/1.1 only"
                                            : "bad Content-Length or Transfer-Encoding");
            return;
        }
        if (len < (size_t)hl + blen)
            return; /* the body is still coming */
        sup_admin_handle(c, &req, buf + hl, blen);
        evbuffer_drain(in, (size_t)hl + blen);
        ws_http_scan_init(&c->scan);
        evtimer_del(c->deadline); /* whole: the next request has a clock of its own */
    }
}

static void sup_admin_maybe_close(sup_admin_conn *c)
{
    if (c->closing && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        sup_admin_conn_free(c);
}

static void sup_admin_on_read(struct bufferevent *bev, void *arg)
{
    sup_admin_conn *c = arg;
    (void)bev;
    if (c->ws)
        sup_admin_on_ws_input(c);
    else
        sup_admin_on_http_input(c);
    if (c->ws && !c->closing)
        sup_admin_on_ws_input(c); /* frames that came with the upgrade request */
    sup_admin_maybe_close(c);
}

static void sup_admin_on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    sup_admin_maybe_close(arg);
}

static void sup_admin_on_event(struct bufferevent *bev, short what, void *arg)
{
    sup_admin_conn *c = arg;
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (c->waiting)
            c->adm->ctx->ctl_for_admin = false; /* the answer, when it comes, goes nowhere */
        sup_admin_conn_free(c);
    }
}

/* A request (head and body) still incomplete request_timeout after its first byte, or a new
 * connection (a TLS handshake included) that sent no whole request in that time: a client
 * trickling bytes must not hold one of the SUP_ADMIN_MAX_CONNS for as long as it likes, which
 * the idle timeout (restarted by every byte) alone allows. */
static void sup_admin_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    sup_admin_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->ws || c->waiting)
        return; /* not reading a request (the timer is stopped then; kept for safety) */
    if (c->closing || evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
        sup_admin_conn_free(c); /* nothing to answer, or its answer had its time */
        return;
    }
    bufferevent_disable(c->bev, EV_READ);
    sup_admin_early_error(c, 408, "the request was not complete within [admin] request_timeout");
    c->closing = true;
    sup_admin_maybe_close(c);
}

static bool sup_admin_addr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return false;
}

static void sup_admin_on_accept(evutil_socket_t lfd, short what, void *arg)
{
    sup_admin *adm = arg;
    (void)what;
    for (int i = 0; i < 16; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1)
            return; /* EAGAIN, or a connection gone before it was taken */
        if (adm->nconns >= SUP_ADMIN_MAX_CONNS) {
            close(fd);
            continue;
        }
        struct bufferevent *bev;
        if (adm->ssl != NULL) {
            SSL *ssl = SSL_new(adm->ssl);
            if (ssl == NULL) {
                close(fd);
                continue;
            }
            bev = bufferevent_openssl_socket_new(adm->ctx->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
        } else {
            bev = bufferevent_socket_new(adm->ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
        }
        if (bev == NULL) {
            close(fd);
            continue;
        }
        sup_admin_conn *c = calloc(1, sizeof *c);
        if (c == NULL)
            abort();
        c->deadline = evtimer_new(adm->ctx->base, sup_admin_on_deadline, c);
        if (c->deadline == NULL) {
            bufferevent_free(bev);
            free(c);
            continue;
        }
        c->adm = adm;
        c->bev = bev;
        c->loopback = sup_admin_addr_is_loopback(&ss);
        c->next = adm->conns;
        if (adm->conns)
            adm->conns->prev = c;
        adm->conns = c;
        adm->nconns++;
        struct timeval idle = {SUP_ADMIN_IDLE_MS / 1000, 0};
        bufferevent_set_timeouts(bev, &idle, &idle);
        bufferevent_setwatermark(bev, EV_READ, 0, WS_HTTP_MAX_HEAD + SUP_ADMIN_MAX_BODY + 1);
        bufferevent_setcb(bev, sup_admin_on_read, sup_admin_on_write, sup_admin_on_event, c);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        sup_admin_deadline_arm(c); /* the first request's clock runs from the accept */
    }
}

void sup_admin_ctl_answer(sup_ctx *ctx, const wsf_ctl_response *res)
{
    sup_admin *adm = ctx->admin;
    for (sup_admin_conn *c = adm ? adm->conns : NULL; c != NULL; c = c->next) {
        if (!c->waiting)
            continue;
        int status;
        json_t *doc = sup_admin_answer_json(res, &status);
        c->waiting = false;
        ws_str cors = {c->origin, c->origin_len};
        sup_admin_send_json(c, cors, status, doc, NULL);
        bufferevent_enable(c->bev, EV_READ);
        sup_admin_on_http_input(c); /* requests pipelined behind it */
        sup_admin_maybe_close(c);
        break;
    }
    /* wsctl requests waited for this answer too. */
    if (ctx->ctl_ipc != NULL && wsf_ipc_has_input(ctx->ctl_ipc))
        event_active(ctx->ctl_ev, EV_READ, 0);
}

/* ---- start, tick, stop ------------------------------------------------------------------ */

static int sup_admin_tls(sup_admin *adm)
{
    const sup_admin_settings *a = &adm->ctx->cfg.admin;
    char err[700];
    if (a->tls_cert[0] == '\0')
        return 0;
    adm->ssl = sup_admin_ssl_new(a, err, sizeof err);
    if (adm->ssl == NULL) {
        wsf_log_error("admin: %s", err);
        return -1;
    }
    return 0;
}

const char *sup_admin_url(const sup_ctx *ctx)
{
    return ctx->admin != NULL ? ctx->admin->url : "";
}

int sup_admin_start(sup_ctx *ctx)
{
    sup_history_init(&ctx->history, ctx->nslots);
    if (ctx->events.last_id == 0)
        sup_events_init(&ctx->events);
    if (ctx->cfg.admin.listen[0] == '\0')
        return 0;
    sup_admin *adm = calloc(1, sizeof *adm);
    if (adm == NULL)
        abort();
    adm->ctx = ctx;
    adm->fd = -1;
    adm->loopback_listener = sup_admcfg_is_loopback(ctx->cfg.admin.listen);
    ctx->admin = adm;
    snprintf(adm->token_path, sizeof adm->token_path, "%s/%s", ctx->rundir->path,
             SUP_ADMIN_TOKEN_FILE);
    if (sup_admin_tls(adm) != 0 || sup_admin_token_new(adm->token, adm->token_path) != 0)
        return -1;
    adm->token_written = true;
    int rc = sup_admin_listen_socket(&adm->fd, adm->url, sizeof adm->url, ctx->cfg.admin.listen,
                                     adm->ssl != NULL);
    if (rc != 0)
        return rc;
    adm->accept_ev = event_new(ctx->base, adm->fd, EV_READ | EV_PERSIST, sup_admin_on_accept, adm);
    if (adm->accept_ev == NULL || event_add(adm->accept_ev, NULL) != 0) {
        wsf_log_error("admin: cannot watch the listener");
        return -1;
    }
    return 0;
}

/* What the history records of a slot now. */
static void sup_admin_observe(sup_history_obs *o, const sup_slot *s)
{
    memset(o, 0, sizeof *o);
    if (s->pid == 0 || !s->has_report)
        return;
    o->live = true;
    o->pid = (uint32_t)s->pid;
    o->generation = s->generation;
    o->connections = s->report.connections_active;
    o->messages_in = s->report.messages_in;
    o->messages_out = s->report.messages_out;
    o->errors = sup_stats_errors(&s->report);
    memcpy(o->latency, s->report.latency, sizeof o->latency);
}

/* A change of the sidecar's state becomes an event. */
static void sup_admin_sidecar(sup_ctx *ctx)
{
    wsf_ctl_response *res = calloc(1, sizeof *res);
    if (res == NULL)
        abort();
    sup_channels_status(ctx, res);
    if (res->has_nats && strcmp(res->nats.state, ctx->sidecar_state) != 0) {
        if (ctx->sidecar_state[0] != '\0' || strcmp(res->nats.state, "running") != 0)
            sup_events_add(ctx, "sidecar", -1, "NATS %s %s%s", res->nats.mode, res->nats.state,
                           res->nats.connected ? " (connected)" : "");
        snprintf(ctx->sidecar_state, sizeof ctx->sidecar_state, "%s", res->nats.state);
    }
    free(res);
}

void sup_admin_tick(sup_ctx *ctx, uint64_t now)
{
    if (now - ctx->history_ms >= SUP_ADMIN_HISTORY_MS && ctx->history.slots != NULL) {
        ctx->history_ms = now;
        sup_admin_sidecar(ctx);
        sup_history_obs *obs = calloc(ctx->nslots ? ctx->nslots : 1, sizeof *obs);
        if (obs == NULL)
            abort();
        for (unsigned i = 0; i < ctx->nslots; i++)
            sup_admin_observe(&obs[i], &ctx->slots[i]);
        sup_history_record(&ctx->history, obs, now, sup_admin_wall_ms());
        free(obs);
    }
    sup_admin *adm = ctx->admin;
    if (adm == NULL || adm->nws == 0 || now - adm->pushed_ms < 1000)
        return;
    adm->pushed_ms = now;
    json_t *doc = sup_admin_snapshot_json(ctx);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (s == NULL)
        return;
    size_t len = strlen(s);
    for (sup_admin_conn *c = adm->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->ws && !c->closing)
            sup_admin_ws_send(c, s, len);
        sup_admin_maybe_close(c);
    }
    free(s);
}

void sup_admin_stop(sup_ctx *ctx)
{
    sup_admin *adm = ctx->admin;
    if (adm != NULL) {
        while (adm->conns != NULL)
            sup_admin_conn_free(adm->conns);
        if (adm->accept_ev)
            event_free(adm->accept_ev);
        if (adm->fd != -1)
            close(adm->fd);
        SSL_CTX_free(adm->ssl);
        /* The token dies with this server (an upgrade's exec skips this; its new image writes
         * a token of its own). */
        if (adm->token_written && unlink(adm->token_path) == -1 && errno != ENOENT)
            wsf_log_warn("admin: cannot remove %s: %s", adm->token_path, strerror(errno));
        free(adm);
        ctx->admin = NULL;
    }
    sup_history_fini(&ctx->history);
}
