/* Client connections. Input is read into the worker's shared buffer and parsed in place; only a
 * partial head or frame header is copied aside between reads. Output produced while one
 * connection's input is processed goes to the worker's shared batch buffer and leaves in a single
 * send; only what the kernel does not take is kept per connection. An idle upgraded connection
 * therefore holds no buffers at all. */
#include "wk_conn.h"

#include <errno.h>
#include <stdio.h>
#include <event2/event.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wk_deflate.h"
#include "wk_service.h"
#include "wk_tls.h"
#include "wk_worker.h"
#include "ws_admit.h"
#include "ws_writer.h"
#include "wsf_log.h"
#include "wsf_origin.h"

#define WK_LATENCY_SAMPLE 64 /* a power of two */
/* The read-pause mark is a quarter of max_backlog, at most this. */
#define WK_READ_PAUSE_MAX (256 * 1024)

/* Ticks from an event to its deadline. The event's tick began up to one tick before the event,
 * so one tick more than the rounded-up count keeps a deadline from firing before its time: a
 * timeout of T ms ends between T and T + 2 ticks after what started it. */
static uint64_t wk_ticks(uint32_t ms)
{
    return (ms + WK_TICK_MS - 1) / WK_TICK_MS + 1;
}

wk_conn *wk_conn_of_timer(wsf_wheel_node *node)
{
    return (wk_conn *)((char *)node - offsetof(wk_conn, timer));
}

/* Registers the events the connection waits for, when they change. */
static inline void wk_conn_set_events(wk_conn *c, bool want_write)
{
    if (c->want_write != want_write || c->read_off != c->read_paused)
        wk_conns_watch(c, want_write);
}

/* Backpressure: past this much unsent output an open connection is not read until the output
 * drains below it, so a client that pipelines far ahead while reading slowly is slowed down
 * rather than closed. max_backlog stays the hard cap for output that grows without input; a
 * client that reads nothing at all while paused is closed after close_timeout (wk_conn_on_timer)
 * with the same code. */
static size_t wk_conn_pause_at(const wk_ctx *ctx)
{
    uint64_t at = ctx->cfg.max_backlog / 4;
    return at < WK_READ_PAUSE_MAX ? (size_t)at : WK_READ_PAUSE_MAX;
}

/* The code and reason a connection gets when its output backlog is past the limits. */
static void wk_conn_close_backlog(wk_conn *c)
{
    /* The client is not reading: stop producing for it (§7.4.1 1008, policy; a service may say
     * otherwise, /channels says 4001 "lagging, resume"). */
    unsigned code =
        c->service && c->service->backlog_code ? c->service->backlog_code : WS_CLOSE_POLICY;
    wsf_log_info("conn fd=%d: %zu bytes of output backlog, closing with %u", c->fd,
                 wsf_buf_pending(&c->out), code);
    wk_conn_close(c, code, code == WS_CLOSE_POLICY ? "backlog limit" : c->service->backlog_reason);
}

/* max_conns_per_ip: counts the connection against its client address, or marks it for 429. An
 * address that cannot be read (the client already left) is not limited. */
static void wk_conn_count_peer(wk_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    uint8_t key[16];
    if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) != 0 ||
        wsf_ipcount_key(key, (struct sockaddr *)&ss) != 0)
        return;
    wsf_ipcount_entry *peer =
        wsf_ipcount_acquire(&c->ctx->peers, key, c->ctx->cfg.max_conns_per_ip);
    if (peer != NULL)
        wk_conn_rare(c)->peer = peer;
    c->over_ip_limit = peer == NULL;
}

int wk_conn_start(wk_ctx *ctx, int fd, bool rejecting, bool tls)
{
    wk_conn *c = wsf_xcalloc(1, sizeof *c);
    c->ctx = ctx;
    c->fd = fd;
    c->state = WK_CONN_HANDSHAKE;
    c->rejecting = rejecting;
    c->last_heard = ctx->now;
    ws_http_scan_init(&c->u.scan);
    if (ctx->cfg.max_conns_per_ip > 0 && !rejecting)
        wk_conn_count_peer(c);
    c->next = ctx->conns;
    if (ctx->conns)
        ctx->conns->prev = c;
    else
        ctx->conns_tail = c;
    ctx->conns = c;
    if (rejecting)
        ctx->nrejecting++;
    else
        ctx->nconns++;
    wk_conns_watch(c, false);
    if (!c->in_set) {
        wk_conn_free(c); /* the set is full: the socket is closed */
        return -1;
    }
    wsf_wheel_set(&ctx->wheel, &c->timer, ctx->now + wk_ticks(ctx->cfg.handshake_ms));
    if (tls && (ctx->tls == NULL || wk_tls_attach(ctx->tls, c) != 0)) {
        wk_conn_free(c);
        return -1;
    }
    return 0;
}

/* Closes the socket and unlinks the connection; the memory is freed by whoever holds the last
 * reference on the call stack (the event callback or the timer loop). */
static void wk_conn_kill(wk_conn *c)
{
    if (c->dead)
        return;
    wk_ctx *ctx = c->ctx;
    c->dead = true;
    if (c->service != NULL && c->service->on_close != NULL)
        c->service->on_close(c);
    if (c->rare != NULL && c->rare->peer != NULL) {
        wsf_ipcount_release(&ctx->peers, c->rare->peer);
        c->rare->peer = NULL;
    }
    wk_conns_forget(c);
    wk_tls_shutdown(c);
    wk_tls_conn_free(c);
    close(c->fd);
    c->fd = -1;
    wsf_wheel_cancel(&ctx->wheel, &c->timer);
    if (c->prev)
        c->prev->next = c->next;
    else
        ctx->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        ctx->conns_tail = c->prev;
    c->next = c->prev = NULL;
    if (ctx->batch_conn == c) {
        ctx->batch_conn = NULL;
        ctx->batch.off = ctx->batch.len = 0;
    }
    wk_ctx_on_conn_closed(ctx, c->rejecting);
}

struct wk_conn_rare *wk_conn_rare(wk_conn *c)
{
    if (c->rare == NULL)
        c->rare = wsf_xcalloc(1, sizeof *c->rare);
    return c->rare;
}

/* The spill, allocated on first use. */
static struct wk_conn_spill *wk_conn_spill(wk_conn *c)
{
    if (c->spill == NULL)
        c->spill = wsf_xcalloc(1, sizeof *c->spill);
    return c->spill;
}

static void wk_conn_spill_free(wk_conn *c)
{
    if (c->spill == NULL)
        return;
    wsf_buf_fini(&c->spill->in);
    wsf_buf_fini(&c->spill->msg);
    free(c->spill);
    c->spill = NULL;
}

/* Drops the gathered message; the spill goes with it when it holds no input either. */
static void wk_conn_msg_done(wk_conn *c)
{
    if (c->spill == NULL)
        return;
    wsf_buf_fini(&c->spill->msg);
    if (c->spill->in.cap == 0)
        wk_conn_spill_free(c);
}

void wk_conn_free(wk_conn *c)
{
    if (c == NULL)
        return;
    wk_conn_kill(c);
    wk_conn_spill_free(c);
    wsf_buf_fini(&c->out);
    wk_deflate_conn_free(c);
    free(c->rare);
    free(c);
}

/* Where output goes right now: the shared batch while this connection's input is being processed
 * and nothing older is pending, else the connection's own queue. */
static wsf_buf *wk_conn_outbuf(wk_conn *c)
{
    if (c->ctx->batch_conn == c && wsf_buf_pending(&c->out) == 0)
        return &c->ctx->batch;
    return &c->out;
}

/* Sends what is pending. Returns 0, or -1 if the connection died. */
static int wk_conn_flush(wk_conn *c)
{
    wk_ctx *ctx = c->ctx;
    wsf_buf *b = wsf_buf_pending(&c->out) ? &c->out : &ctx->batch;
    if (b == &ctx->batch && ctx->batch_conn != c)
        b = &c->out; /* the batch belongs to another connection: nothing of ours in it */

    while (wsf_buf_pending(b) > 0) {
        ssize_t n = wk_conn_io_write(c, b->data + b->off, wsf_buf_pending(b));
        if (n < 0) {
            if (n == -EAGAIN || n == -EWOULDBLOCK)
                break;
            wsf_log_debug("conn fd=%d: send failed: %s", c->fd, strerror((int)-n));
            ctx->stats.failed_writes++;
            wk_conn_kill(c);
            return -1;
        }
        ctx->stats.bytes_out += (uint64_t)n;
        wsf_buf_consume(b, (size_t)n);
        c->out_moved = ctx->now;
    }
    if (b == &ctx->batch && wsf_buf_pending(b) > 0) {
        wsf_buf_append(&c->out, b->data + b->off, wsf_buf_pending(b));
        b->off = b->len = 0;
    }

    size_t pending = wsf_buf_pending(&c->out);
    if (pending > 0) {
        if (c->state == WK_CONN_OPEN && pending > ctx->cfg.max_backlog) {
            wk_conn_close_backlog(c);
            if (c->dead)
                return -1;
        }
        bool pause = c->state == WK_CONN_OPEN && pending > wk_conn_pause_at(ctx);
        if (pause && !c->read_paused) {
            c->out_moved = ctx->now;
            wsf_wheel_set(&ctx->wheel, &c->timer, ctx->now + wk_ticks(ctx->cfg.close_ms));
        }
        c->read_paused = pause;
        wk_conn_set_events(c, true);
        return 0;
    }
    c->read_paused = false;
    if (c->out.cap != 0)
        wsf_buf_fini(&c->out);
    wk_conn_set_events(c, c->tls_rblocked);
    if (c->shut_after_flush && c->state != WK_CONN_LINGER) {
        /* Half-close and read until the peer closes, so that unread input does not turn our
         * close into a reset that could destroy the close frame in flight. */
        wk_tls_shutdown(c);
        shutdown(c->fd, SHUT_WR);
        c->state = WK_CONN_LINGER;
        wsf_wheel_set(&ctx->wheel, &c->timer, ctx->now + wk_ticks(ctx->cfg.close_ms));
    }
    return 0;
}

/* Appends a whole frame to the output. */
static void wk_conn_queue(wk_conn *c, int opcode, const uint8_t *data, size_t len)
{
    bool rsv1 = false;
    if (wk_conn_deflating(c) && (opcode == WS_OP_TEXT || opcode == WS_OP_BINARY)) {
        const wsf_buf *z = wk_deflate_compress(c, data, len);
        if (z != NULL) {
            data = z->data + z->off;
            len = wsf_buf_pending(z);
            rsv1 = true; /* RFC 7692 §6: compressed, marked on the (only) frame */
        }
    }
    wsf_buf *b = wk_conn_outbuf(c);
    uint8_t *p = wsf_buf_reserve(b, WS_MAX_HEADER + len);
    size_t n = 2;
    if (len < 126) {
        p[0] = (uint8_t)(0x80 | opcode);
        p[1] = (uint8_t)len;
    } else {
        n = ws_frame_header(p, true, opcode, len, NULL);
    }
    if (rsv1)
        p[0] |= 0x40;
    if (len > 0)
        memcpy(p + n, data, len);
    b->len += n + len;
}

/* Output queued outside input processing leaves now. */
static void wk_conn_kick(wk_conn *c)
{
    if (c->ctx->batch_conn != c && !c->want_write)
        wk_conn_flush(c);
}

void wk_conn_send(wk_conn *c, int opcode, const uint8_t *data, size_t len)
{
    if (c->state != WK_CONN_OPEN)
        return;
    c->ctx->stats.messages_out++;
    wk_conn_queue(c, opcode, data, len);
    wk_conn_kick(c);
}

void wk_conn_send_now(wk_conn *c, int opcode, const uint8_t *data, size_t len)
{
    if (c->state != WK_CONN_OPEN || c->dead)
        return;
    c->ctx->stats.messages_out++;
    wk_conn_queue(c, opcode, data, len);
    if (c->ctx->batch_conn == c)
        return; /* the batch goes first, when this connection's input is done */
    while (wsf_buf_pending(&c->out) > 0) {
        ssize_t n = wk_conn_io_write(c, c->out.data + c->out.off, wsf_buf_pending(&c->out));
        if (n <= 0)
            break; /* EAGAIN, or an error the next flush finds and acts on */
        c->ctx->stats.bytes_out += (uint64_t)n;
        wsf_buf_consume(&c->out, (size_t)n);
        c->out_moved = c->ctx->now;
    }
    size_t pending = wsf_buf_pending(&c->out);
    /* Drained below the read-pause mark: the client's input is read again (as in the flush). */
    if (c->read_paused && pending <= wk_conn_pause_at(c->ctx))
        c->read_paused = false;
    wk_conn_set_events(c, pending > 0);
}

void wk_conn_send_frame(wk_conn *c, const uint8_t *frame, size_t len)
{
    if (c->state != WK_CONN_OPEN || c->dead)
        return;
    wk_ctx *ctx = c->ctx;
    ctx->stats.messages_out++;
    size_t done = 0;
    if (ctx->batch_conn != c && wsf_buf_pending(&c->out) == 0) {
        while (done < len) {
            ssize_t n = wk_conn_io_write(c, frame + done, len - done);
            if (n <= 0)
                break; /* EAGAIN or an error: the flush below keeps the rest or acts on it */
            ctx->stats.bytes_out += (uint64_t)n;
            done += (size_t)n;
        }
        if (done == len)
            return;
    }
    wsf_buf_append(wk_conn_outbuf(c), frame + done, len - done);
    if (ctx->batch_conn != c)
        wk_conn_flush(c);
}

/* Queues a close frame and enters CLOSING. */
static void wk_conn_send_close(wk_conn *c, unsigned code, const char *reason)
{
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    size_t n = ws_close_payload(payload, code, reason);
    wk_conn_queue(c, WS_OP_CLOSE, payload, n);
    /* The client's close may echo this code (1012 from a shed, say): that is its answer. */
    c->u.parser.sent_close = (uint16_t)code;
    c->state = WK_CONN_CLOSING;
    wk_conn_msg_done(c);
    wsf_wheel_set(&c->ctx->wheel, &c->timer, c->ctx->now + wk_ticks(c->ctx->cfg.close_ms));
}

void wk_conn_close(wk_conn *c, unsigned code, const char *reason)
{
    if (c->state != WK_CONN_OPEN)
        return;
    wk_conn_send_close(c, code, reason);
    wk_conn_kick(c);
}

/* Fails the connection (RFC 6455 §7.1.7): close frame with code, then TCP close. */
static void wk_conn_fail(wk_conn *c, unsigned code, const char *why)
{
    wsf_log_info("conn fd=%d: %s, closing with %u", c->fd, why, code);
    c->input_done = true;
    c->shut_after_flush = true;
    if (c->state == WK_CONN_OPEN)
        wk_conn_send_close(c, code, why);
    wk_conn_kick(c);
}

/* Counts a refused handshake by cause. 4xx are the client's doing and stay out of the
 * server-failure count that feeds the breaker. */
static void wk_conn_count_refusal(wk_stats *st, int status)
{
    if (status == 503)
        st->rejected_busy++;
    else if (status == 408)
        st->handshakes_timeout++;
    else if (status >= 500 && status != 505)
        st->handshakes_failed_server++;
    else
        st->handshakes_failed++;
    if (status == 403)
        st->refused_origin++;
    else if (status == 404)
        st->refused_not_found++;
    else if (status == 426)
        st->refused_upgrade++;
    else if (status == 429)
        st->refused_per_ip++;
    else if (status == 400 || status == 405 || status == 431 || status == 505)
        st->refused_bad_request++;
}

/* Answers the handshake with an HTTP error and closes after it is sent. */
static void wk_conn_reject(wk_conn *c, int status)
{
    wk_ctx *ctx = c->ctx;
    char resp[512];
    ws_admit_reply opt = {ctx->cfg.retry_after, ctx->cfg.server_header, NULL};
    size_t n = ws_admit_error(resp, sizeof resp, status, &opt);
    wk_conn_count_refusal(&ctx->stats, status);
    wsf_log_debug("conn fd=%d: handshake answered %d", c->fd, status);
    wsf_buf_append(wk_conn_outbuf(c), resp, n);
    c->input_done = true;
    c->shut_after_flush = true;
    wk_conn_kick(c);
}

static const char *wk_close_reason(ssize_t err)
{
    switch (-err) {
    case WS_CLOSE_INVALID_DATA:
        return "invalid UTF-8";
    case WS_CLOSE_TOO_BIG:
        return "message too big";
    default:
        return "protocol error";
    }
}

/* Reads the upgrade request from buf. Returns the bytes consumed (the head, once complete). */
static size_t wk_conn_handshake(wk_conn *c, uint8_t *buf, size_t len)
{
    wk_ctx *ctx = c->ctx;
    ws_http_request req;
    /* Bytes that cannot begin a request (a TLS ClientHello, binary) are answered now, not after
     * the handshake timeout. */
    int status = ws_admit_prefix(buf, len);
    if (status != 0) {
        wk_conn_reject(c, status);
        return len;
    }
    ssize_t head = ws_http_parse_request(&req, &c->u.scan, (const char *)buf, len);
    if (head == 0)
        return 0;
    if (head < 0) {
        wk_conn_reject(c, (int)-head);
        return len;
    }
    if (c->rejecting || c->over_ip_limit) {
        wk_conn_reject(c, c->rejecting ? 503 : 429);
        return len;
    }
    ws_upgrade up;
    const wk_service *svc = wk_service_find(ctx, req.path);
    status = ws_admit_request(&req, svc != NULL);
    if (status == 0)
        status = ws_http_validate_upgrade(&up, &req);
    /* Only browsers send Origin; the allowlist keeps other sites' pages out (wsf_origin.h). */
    if (status == 0 && up.origin.len > 0 &&
        !wsf_origin_allowed(ctx->cfg.origins, up.origin.p, up.origin.len))
        status = 403;
    if (status == 0 && wk_fault_should_fail(&ctx->fault))
        status = 500; /* drill: an injected server-side failure */
    int64_t auth_exp = 0;
    /* wsfleet.v1 (the only service with a subprotocol) takes its token in connect. */
    if (status == 0 && svc->subprotocol == NULL)
        status = wk_auth_check_request(&ctx->auth, &req, &auth_exp);
    if (status != 0) {
        wk_conn_reject(c, status);
        return len;
    }

    char resp[512];
    size_t n = ws_http_write_upgrade(resp, sizeof resp, &up);
    /* The service's subprotocol is selected when the client offers it (RFC 6455 §4.2.2); a
     * client offering only others is served without one, and fails the connection itself if it
     * cannot do without. */
    if (svc->subprotocol != NULL && up.protocol.len > 0 &&
        ws_http_has_token(up.protocol, svc->subprotocol) && n > 2) {
        int k = snprintf(resp + n - 2, sizeof resp - (n - 2), "Sec-WebSocket-Protocol: %s\r\n\r\n",
                         svc->subprotocol);
        n = n - 2 + (size_t)k;
    }
    n = wk_deflate_accept(c, &req, resp, n, sizeof resp);
    n = ws_admit_add_server(resp, sizeof resp, n, ctx->cfg.server_header);
    wsf_buf_append(wk_conn_outbuf(c), resp, n);
    c->service = svc;
    c->state = WK_CONN_OPEN;
    if (svc->on_open != NULL)
        svc->on_open(c, &req);
    ws_parser_init(&c->u.parser, WS_ROLE_SERVER, ctx->cfg.max_message);
    c->u.parser.rsv1_ok = wk_conn_deflating(c);
    wsf_bucket_init(&c->bucket, ctx->cfg.msg_burst, ctx->now * WK_TICK_MS);
    c->last_ping = ctx->now;
    wsf_wheel_set(&ctx->wheel, &c->timer, ctx->now + wk_ticks(ctx->cfg.ping_ms));
    wk_auth_set_deadline(c, auth_exp);
    ctx->stats.upgraded++;
    return (size_t)head;
}

/* Drills: the latency and error fault points, on the message path. Returns false when the
 * message must not be handled (the connection is failing with 1011). */
static bool wk_conn_fault(wk_conn *c)
{
    wk_fault *f = &c->ctx->fault;
    if (f->kind == WSF_FAULT_LATENCY) {
        struct timespec ts = {f->ms / 1000, (long)(f->ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
            ;
    }
    if (!wk_fault_should_fail(f))
        return true;
    c->ctx->stats.internal_errors++;
    wk_conn_fail(c, WS_CLOSE_INTERNAL, "injected fault");
    return false;
}

static void wk_conn_deliver(wk_conn *c, int opcode, const uint8_t *data, size_t len)
{
    wk_ctx *ctx = c->ctx;
    ctx->stats.messages_in++;
    if (ctx->cfg.msg_rate != 0 && !wsf_bucket_take(&c->bucket, ctx->cfg.msg_rate,
                                                   ctx->cfg.msg_burst, ctx->now * WK_TICK_MS)) {
        ctx->stats.refused_rate_limited++;
        wk_conn_fail(c, WK_CLOSE_RATE_LIMITED, "rate limited");
        return;
    }
    if (wk_fault_is_on(&c->ctx->fault) && !wk_conn_fault(c))
        return;
    c->service->on_message(c, opcode, data, len);
}

/* Delivers a message that is complete: a compressed one whole in ev, or one gathered in
 * the spill; a compressed one is inflated first (RFC 7692 §7.2.2). */
static void wk_conn_on_message(wk_conn *c, const ws_event *ev)
{
    const uint8_t *data = ev->first ? ev->data : c->spill->msg.data + c->spill->msg.off;
    size_t len = ev->first ? ev->len : wsf_buf_pending(&c->spill->msg);
    if (ev->compressed) {
        const char *why = NULL;
        int r = wk_deflate_inflate(c, ev->opcode, data, len, &data, &len, &why);
        if (r < 0) {
            c->ctx->stats.protocol_errors++;
            wk_conn_fail(c, (unsigned)-r, why);
            return;
        }
    }
    wk_conn_deliver(c, ev->opcode, data, len);
}

static void wk_conn_on_frame(wk_conn *c, const ws_event *ev)
{
    switch (ev->kind) {
    case WS_EV_DATA:
        if (c->state != WK_CONN_OPEN)
            return; /* after our close frame, data is discarded (§5.5.1) */
        if (ev->first && ev->last && !ev->compressed) {
            wk_conn_deliver(c, ev->opcode, ev->data, ev->len);
            return;
        }
        if (!(ev->first && ev->last)) {
            wsf_buf_append(&wk_conn_spill(c)->msg, ev->data, ev->len);
            if (!ev->last)
                return;
        }
        wk_conn_on_message(c, ev);
        wk_conn_msg_done(c);
        return;
    case WS_EV_PING:
        if (c->state == WK_CONN_OPEN)
            wk_conn_queue(c, WS_OP_PONG, ev->data, ev->len);
        return;
    case WS_EV_CLOSE:
        c->input_done = true;
        c->shut_after_flush = true;
        if (c->state == WK_CONN_OPEN) {
            /* Echo the peer's close (§5.5.1); an empty one is answered with an empty one. */
            wk_conn_queue(c, WS_OP_CLOSE, ev->data, ev->len);
            c->state = WK_CONN_CLOSING;
            wk_conn_msg_done(c);
        }
        return;
    default:
        return;
    }
}

/* Parses frames from buf. Returns the bytes consumed; the rest is a partial frame to keep. */
static size_t wk_conn_frames(wk_conn *c, uint8_t *buf, size_t len)
{
    size_t used = 0;
    while (used < len && !c->input_done && !c->dead) {
        ws_event ev;
        ssize_t r = ws_parser_next(&c->u.parser, &ev, buf + used, len - used);
        if (r == 0)
            break;
        if (r < 0) {
            c->ctx->stats.protocol_errors++;
            wk_conn_fail(c, (unsigned)-r, wk_close_reason(r));
            return len;
        }
        used += (size_t)r;
        wk_conn_on_frame(c, &ev);
    }
    return c->input_done ? len : used;
}

static void wk_conn_on_readable(wk_conn *c)
{
    wk_ctx *ctx = c->ctx;
    uint8_t *buf = ctx->rbuf;
    struct wk_conn_spill *sp = c->spill;
    size_t have = sp != NULL ? wsf_buf_pending(&sp->in) : 0;

    /* No more input than the output could still hold: an echo is never larger than what it
     * answers (with the part of its message gathered earlier), so input alone does not take the
     * output past max_backlog. Only a message in progress larger than max_backlog by itself is
     * read regardless, and meets the cap. */
    size_t room = ctx->rbuf_cap - have;
    if (c->state == WK_CONN_OPEN) {
        uint64_t held = (uint64_t)wsf_buf_pending(&c->out) + have +
                        (sp != NULL ? wsf_buf_pending(&sp->msg) : 0);
        if (held < ctx->cfg.max_backlog && ctx->cfg.max_backlog - held < room)
            room = (size_t)(ctx->cfg.max_backlog - held);
    }
    if (have > 0)
        memcpy(buf, sp->in.data + sp->in.off, have);
    ssize_t n = wk_conn_io_read(c, buf + have, room);
    if (n < 0) {
        if (n == -EAGAIN || n == -EWOULDBLOCK)
            return;
        wsf_log_debug("conn fd=%d: recv failed: %s", c->fd, strerror((int)-n));
        wk_conn_kill(c);
        return;
    }
    if (n == 0) {
        if (c->state == WK_CONN_OPEN)
            wsf_log_debug("conn fd=%d: peer closed without a close frame", c->fd);
        wk_conn_kill(c);
        return;
    }
    if (sp != NULL) {
        wsf_buf_fini(&sp->in);
        if (sp->msg.cap == 0)
            wk_conn_spill_free(c);
    }
    ctx->stats.bytes_in += (uint64_t)n;
    c->last_heard = ctx->now;
    if (c->input_done)
        return; /* draining after a close or a failure */

    size_t len = have + (size_t)n;
    ctx->batch_conn = c;
    size_t used = 0;
    if (c->state == WK_CONN_HANDSHAKE)
        used = wk_conn_handshake(c, buf, len);
    if (!c->dead && c->state != WK_CONN_HANDSHAKE && !c->input_done)
        used += wk_conn_frames(c, buf + used, len - used);
    if (!c->dead && used < len && !c->input_done)
        wsf_buf_append(&wk_conn_spill(c)->in, buf + used, len - used);
    if (!c->dead)
        wk_conn_flush(c);
    ctx->batch_conn = NULL;
    ctx->batch.off = ctx->batch.len = 0;
    if (c->tls && !c->dead && !c->read_paused && wk_conn_io_pending(c))
        wk_conns_again(c); /* decrypted input the socket will not announce */
}

/* One step of a TLS handshake; once done, the request may already be waiting. Returns true when
 * the connection is ready for the HTTP upgrade. */
static bool wk_conn_tls_step(wk_conn *c)
{
    bool want_write = false;
    int r = wk_tls_handshake(c, &want_write);
    if (r < 0) {
        c->ctx->stats.handshakes_failed++;
        wk_conn_kill(c);
        return false;
    }
    wk_conn_set_events(c, r == 0 && want_write);
    return r == 1;
}

/* Adds one handling time to the latency histogram (bucket i: at most 2^i µs). */
static void wk_conn_record_latency(wk_ctx *ctx, const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t us = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000 + (t1.tv_nsec - t0->tv_nsec) / 1000;
    unsigned b = 0;
    while (b < WSF_HIST_BUCKETS && us > ((int64_t)1 << b))
        b++;
    ctx->stats.latency[b]++;
}

void wk_conn_on_event(wk_conn *c, short what)
{
    wk_ctx *ctx = c->ctx;
    /* One event in WK_LATENCY_SAMPLE is timed: two clock reads on every event would cost more
     * than the echo itself. */
    bool sample = (++ctx->sample_counter & (WK_LATENCY_SAMPLE - 1)) == 0;
    struct timespec t0;
    if (sample)
        clock_gettime(CLOCK_MONOTONIC, &t0);
    if (c->tls && !c->rare->tls_ready)
        what = wk_conn_tls_step(c) ? EV_READ : 0;
    if (what & EV_WRITE) {
        bool was_paused = c->read_paused;
        wk_conn_flush(c);
        /* Drained below the mark: what the client sent meanwhile is waiting. */
        if (was_paused && !c->read_paused)
            what |= EV_READ;
    }
    if (!c->dead && !c->read_paused && ((what & EV_READ) || c->tls_rblocked))
        wk_conn_on_readable(c);
    if (sample)
        wk_conn_record_latency(ctx, &t0);
    if (c->dead)
        wk_conn_free(c);
}

void wk_conn_on_timer(wk_conn *c)
{
    wk_ctx *ctx = c->ctx;
    uint64_t now = ctx->now;

    switch (c->state) {
    case WK_CONN_HANDSHAKE:
        if (c->tls && !c->rare->tls_ready) {
            ctx->stats.handshakes_timeout++; /* no HTTP answer outside TLS */
            wk_conn_kill(c);
            return;
        }
        if (c->input_done) {
            wk_conn_kill(c); /* an error response the client never took */
            return;
        }
        wk_conn_reject(c, 408);
        if (!c->dead && c->state == WK_CONN_HANDSHAKE)
            wsf_wheel_set(&ctx->wheel, &c->timer, now + wk_ticks(ctx->cfg.close_ms));
        return;
    case WK_CONN_OPEN: {
        /* Deadlines move lazily: reads only record last_heard, and the timer recomputes here. */
        uint64_t stall_at = 0;
        if (c->read_paused) {
            /* Not reading is ours, not the client's idleness (nor a reason to ping); a client
             * that takes none of its output for close_timeout is not reading at all. */
            stall_at = c->out_moved + wk_ticks(ctx->cfg.close_ms);
            if (now >= stall_at) {
                wk_conn_close_backlog(c);
                return;
            }
            c->last_heard = now;
        }
        uint64_t idle_at = c->last_heard + wk_ticks(ctx->cfg.idle_ms);
        if (now >= idle_at) {
            wk_conn_fail(c, WS_CLOSE_GOING_AWAY, "idle timeout");
            return;
        }
        uint64_t auth_until = wk_conn_auth_until(c);
        if (auth_until != 0 && now >= auth_until) {
            wk_conn_fail(c, WK_CLOSE_TOKEN_EXPIRED, "token expired");
            return;
        }
        uint64_t since = c->last_ping > c->last_heard ? c->last_ping : c->last_heard;
        uint64_t ping_at = since + wk_ticks(ctx->cfg.ping_ms);
        if (now >= ping_at) {
            wk_conn_queue(c, WS_OP_PING, NULL, 0);
            c->last_ping = now;
            ping_at = now + wk_ticks(ctx->cfg.ping_ms);
            wk_conn_kick(c);
            if (c->dead)
                return;
        }
        uint64_t next = ping_at < idle_at ? ping_at : idle_at;
        if (auth_until != 0 && auth_until < next)
            next = auth_until;
        if (stall_at != 0 && stall_at < next)
            next = stall_at;
        wsf_wheel_set(&ctx->wheel, &c->timer, next);
        return;
    }
    case WK_CONN_CLOSING:
    case WK_CONN_LINGER:
    default:
        wk_conn_kill(c);
        return;
    }
}
