/* The worker's event loop: listeners, the deadline wheel, signals, drains and the shutdown. */
#include "wk_worker.h"
#include "wk_deflate.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wk_backend.h"
#include "wk_channels.h"
#include "wk_conn.h"
#include "wk_fleet.h"
#include "wk_listener.h"
#include "wk_loop.h"
#include "wk_tls.h"
#include "ws_http.h"
#include "wsf_log.h"
#include "wsf_nats.h"

#define WK_RBUF_SIZE (256 * 1024)
#define WK_BATCH_KEEP (1024 * 1024) /* a larger batch buffer is released after use */

static uint64_t wk_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t wk_ms_to_ticks(uint32_t ms)
{
    return (ms + WK_TICK_MS - 1) / WK_TICK_MS;
}

/* Closes this tick's share of the remaining connections so that the last one goes at drain_end:
 * clients reconnect spread over the drain instead of all at once. */
static void wk_ctx_drain_step(wk_ctx *ctx)
{
    uint64_t left = ctx->drain_end > ctx->now ? ctx->drain_end - ctx->now : 0;
    unsigned open = 0;
    for (wk_conn *c = ctx->conns; c != NULL; c = c->next)
        open += c->state == WK_CONN_OPEN;
    if (open == 0)
        return;
    unsigned quota = left == 0 ? open : (unsigned)((open + left - 1) / (left + 1));
    wk_conn *next;
    for (wk_conn *c = ctx->conns; c != NULL && quota > 0; c = next) {
        next = c->next;
        if (c->state != WK_CONN_OPEN)
            continue;
        wk_conn_close(c, WS_CLOSE_GOING_AWAY, "draining");
        quota--;
        if (c->dead)
            wk_conn_free(c);
    }
}

/* A shutdown's close: 1001 to every upgraded connection that is not closing yet. */
static void wk_ctx_close_open(wk_ctx *ctx)
{
    wk_conn *next;
    for (wk_conn *c = ctx->conns; c != NULL; c = next) {
        next = c->next;
        if (c->state == WK_CONN_OPEN)
            wk_conn_close(c, WS_CLOSE_GOING_AWAY, "shutting down");
        if (c->dead)
            wk_conn_free(c);
    }
}

static void wk_ctx_on_tick(evutil_socket_t fd, short what, void *arg)
{
    wk_ctx *ctx = arg;
    (void)fd;
    (void)what;
    uint64_t us = wk_clock_us();
    uint64_t late = us - ctx->last_tick_us;
    late = late > WK_TICK_MS * 1000 ? late - WK_TICK_MS * 1000 : 0;
    if (late > ctx->stats.loop_lag_max_us)
        ctx->stats.loop_lag_max_us = late > UINT32_MAX ? UINT32_MAX : (uint32_t)late;
    ctx->last_tick_us = us;
    ctx->now = us / 1000 / WK_TICK_MS;

    wsf_wheel_node *node;
    while ((node = wsf_wheel_expire(&ctx->wheel, ctx->now)) != NULL) {
        wk_conn *c = wk_conn_of_timer(node);
        wk_conn_on_timer(c);
        if (c->dead)
            wk_conn_free(c);
    }
    if (ctx->draining)
        wk_ctx_drain_step(ctx);
    else if (ctx->stopping)
        wk_ctx_close_open(ctx); /* upgraded after the shutdown began */
    if (wk_fault_is_on(&ctx->fault)) {
        wk_fault_tick(&ctx->fault, us / 1000);
        if (!wk_fault_is_on(&ctx->fault))
            wsf_log_warn("fault over: back to normal");
    }
    if (ctx->batch.cap > WK_BATCH_KEEP)
        wsf_buf_fini(&ctx->batch);
}

void wk_ctx_update_accepting(wk_ctx *ctx)
{
    bool on = !ctx->stopping && !ctx->accept_paused && !ctx->accept_off;
    if (ctx->accepting == on)
        return;
    ctx->accepting = on;
    for (size_t i = 0; i < ctx->nlisteners; i++)
        wk_listener_enable(&ctx->listeners[i], on);
}

static void wk_ctx_on_resume_accept(evutil_socket_t fd, short what, void *arg)
{
    wk_ctx *ctx = arg;
    (void)fd;
    (void)what;
    ctx->accept_paused = false;
    wk_ctx_update_accepting(ctx);
}

void wk_ctx_on_conn_closed(wk_ctx *ctx, bool rejecting)
{
    ctx->stats.closed++;
    if (rejecting)
        ctx->nrejecting--;
    else
        ctx->nconns--;
    if (ctx->stopping && ctx->nconns == 0 && ctx->nrejecting == 0)
        wk_loop_quit(ctx);
}

static void wk_ctx_on_grace(evutil_socket_t fd, short what, void *arg)
{
    wk_ctx *ctx = arg;
    (void)fd;
    (void)what;
    wsf_log_warn("time is up: dropping %u connections", ctx->nconns + ctx->nrejecting);
    while (ctx->conns)
        wk_conn_free(ctx->conns);
    wk_loop_quit(ctx);
}

/* Common start of a shutdown or drain: no new connections, requests in progress dropped, and
 * a deadline after which everything left is dropped. Returns false if nothing is left. */
static bool wk_ctx_begin_stop(wk_ctx *ctx, uint32_t deadline_ms)
{
    ctx->stopping = true;
    wk_ctx_update_accepting(ctx);
    /* The listening sockets are closed here; under a supervisor it holds its own copies, so
     * queued connections wait for the slot's next worker. */
    for (size_t i = 0; i < ctx->nlisteners; i++)
        wk_listener_close(&ctx->listeners[i]);
    /* Handshakes in progress are let finish (within the handshake timeout): dropping one would
     * reset a client the kernel had already accepted for us. Once upgraded, a drain closes it
     * with the others, a shutdown at the next tick. */
    if (ctx->nconns == 0 && ctx->nrejecting == 0) {
        wk_loop_quit(ctx);
        return false;
    }
    struct timeval tv = {deadline_ms / 1000, (deadline_ms % 1000) * 1000};
    event_add(ctx->grace, &tv);
    return true;
}

void wk_ctx_shutdown(wk_ctx *ctx, const char *why)
{
    if (ctx->stopping && !ctx->draining)
        return;
    wsf_log_info("%s: shutting down, closing %u connections (grace %u ms)", why,
                 ctx->nconns + ctx->nrejecting, ctx->cfg.grace_ms);
    ctx->draining = false;
    if (!wk_ctx_begin_stop(ctx, ctx->cfg.grace_ms))
        return;
    wk_ctx_close_open(ctx);
}

void wk_ctx_drain(wk_ctx *ctx, uint32_t drain_ms, const char *why)
{
    if (ctx->stopping)
        return;
    wsf_log_info("%s: draining %u connections over %u ms", why, ctx->nconns, drain_ms);
    ctx->draining = true;
    ctx->drain_end = ctx->now + wk_ms_to_ticks(drain_ms);
    if (!wk_ctx_begin_stop(ctx, drain_ms + ctx->cfg.close_ms))
        return;
    wk_ctx_drain_step(ctx);
}

/* Oldest first: a client that was just moved here (by an earlier shed, a drain or a restart) is
 * not moved again while older connections remain. */
unsigned wk_ctx_shed(wk_ctx *ctx, unsigned count)
{
    unsigned shed = 0;
    wk_conn *prev;
    for (wk_conn *c = ctx->conns_tail; c != NULL && shed < count; c = prev) {
        prev = c->prev;
        if (c->state != WK_CONN_OPEN)
            continue;
        wk_conn_close(c, WS_CLOSE_RESTART, "rebalancing");
        shed++;
        if (c->dead)
            wk_conn_free(c);
    }
    return shed;
}

static void wk_ctx_on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    wk_ctx_shutdown(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* SIGHUP: the certificate and key files are read again, as on the supervisor's reload command
 * (a standalone wsworker has no other way to hear of new ones). New handshakes use the new pair,
 * connections already made keep theirs; a bad pair is refused and the current one stays. */
static void wk_ctx_on_hup(evutil_socket_t sig, short what, void *arg)
{
    wk_ctx *ctx = arg;
    const char *why = NULL;
    (void)sig;
    (void)what;
    if (ctx->tls == NULL) {
        wsf_log_info("SIGHUP: no TLS listener, nothing to reload");
        return;
    }
    if (wk_tls_reload(ctx->tls, &ctx->cfg, &why) != 0)
        wsf_log_warn("SIGHUP: TLS reload refused, keeping the current certificate: %s", why);
    else
        wsf_log_info("SIGHUP: TLS certificate reloaded");
}

/* Resident set size from /proc/self/statm. */
static uint64_t wk_rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

void wk_ctx_report(wk_ctx *ctx, wsf_report *out)
{
    const wk_stats *s = &ctx->stats;
    struct rusage ru;
    memset(out, 0, sizeof *out);
    out->pid = (uint32_t)getpid();
    out->slot = ctx->cfg.slot;
    out->generation = ctx->cfg.generation;
    out->connections_opened = s->accepted;
    out->connections_closed = s->closed;
    out->handshakes_ok = s->upgraded;
    out->handshakes_failed_client = s->handshakes_failed;
    out->handshakes_failed_busy = s->rejected_busy;
    out->handshakes_failed_timeout = s->handshakes_timeout;
    out->messages_in = s->messages_in;
    out->messages_out = s->messages_out;
    out->bytes_in = s->bytes_in;
    out->bytes_out = s->bytes_out;
    out->protocol_errors = s->protocol_errors;
    out->internal_errors = s->internal_errors;
    out->handshakes_failed_server = s->handshakes_failed_server;
    out->refused_bad_request = s->refused_bad_request;
    out->refused_not_found = s->refused_not_found;
    out->refused_upgrade = s->refused_upgrade;
    out->refused_origin = s->refused_origin;
    out->refused_per_ip = s->refused_per_ip;
    out->refused_rate_limited = s->refused_rate_limited;
    if (ctx->channels != NULL) {
        wk_bkstats bk;
        wk_backend_hub_stats(ctx->channels, &bk);
        out->backend_requests = bk.requests;
        out->backend_failures = bk.failures;
        out->backend_timeouts = bk.timeouts;
        out->backend_malformed = bk.malformed;
        out->backend_rejected = bk.rejected;
        out->backend_breaker_opened = bk.opened;
        out->backend_breaker_state = bk.state;
        out->backend_pushes = bk.pushes;
    }
    out->failed_writes = s->failed_writes;
    out->connections_active = ctx->nconns;
    out->loop_lag_us = s->loop_lag_max_us;
    out->rss_bytes = wk_rss_bytes();
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        out->cpu_time_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
                           (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
    }
    out->accepting = ctx->accepting;
    out->draining = ctx->draining;
    memcpy(out->latency, s->latency, sizeof out->latency);
    ctx->stats.loop_lag_max_us = 0;
}

int wk_ctx_init(wk_ctx *ctx, const wk_config *cfg)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->cfg = *cfg;
    ctx->epfd = -1;
    ctx->lev_timer = -1;
    ctx->fault.max_memory = cfg->drills_max_memory;
    signal(SIGPIPE, SIG_IGN);

    /* Before the loop exists: the NATS connection's socket events are armed from libnats'
     * threads too (wsf_nats loop_io). */
    if (wsf_nats_loop_init() != 0) {
        wsf_log_error("cannot make libevent thread-safe");
        return -1;
    }
    ctx->base = wk_loop_base_new(&ctx->lev_fd);
    if (ctx->base == NULL) {
        wsf_log_error("cannot create the event loop");
        return -1;
    }
    if (wk_conns_init(ctx) != 0)
        return -1;
    /* Every upgrade hashes its key with libcrypto, whose first use initialises it (about 2 MiB
     * of code and tables): done now, a fixed cost of the process rather than of its first
     * client. */
    char accept[32];
    ws_http_accept_key(accept, "dGhlIHNhbXBsZSBub25jZQ==", 24);
    ctx->last_tick_us = wk_clock_us();
    ctx->now = ctx->last_tick_us / 1000 / WK_TICK_MS;
    wsf_wheel_init(&ctx->wheel, ctx->now);
    ctx->rbuf_cap = WK_RBUF_SIZE;
    ctx->rbuf = wsf_xmalloc(ctx->rbuf_cap);
    wsf_ipcount_init(&ctx->peers, (uint32_t)(ctx->last_tick_us ^ (uint64_t)getpid()));

    size_t total = cfg->nlisten + cfg->nlisten_fds + cfg->ntls_listen + cfg->ntls_listen_fds;
    ctx->listeners = wsf_xcalloc(total, sizeof *ctx->listeners);
    for (size_t i = 0; i < total; i++)
        ctx->listeners[i].fd = -1;
    ctx->nlisteners = total;
    if (cfg->ntls_listen + cfg->ntls_listen_fds > 0) {
        const char *why = NULL;
        ctx->tls = wk_tls_new(cfg, &why);
        if (ctx->tls == NULL) {
            wsf_log_error("TLS: %s", why);
            return -1;
        }
    }
    for (size_t i = 0; i < cfg->nlisten; i++) {
        if (wk_listener_open(&ctx->listeners[i], ctx, cfg->listen[i]) != 0)
            return -1;
        wsf_log_info("listening on %s", ctx->listeners[i].name);
    }
    for (size_t i = 0; i < cfg->nlisten_fds; i++) {
        wk_listener *l = &ctx->listeners[cfg->nlisten + i];
        if (wk_listener_adopt(l, ctx, cfg->listen_fds[i]) != 0)
            return -1;
        wsf_log_info("serving inherited socket %s (fd %d)", l->name, l->fd);
    }
    size_t base = cfg->nlisten + cfg->nlisten_fds;
    for (size_t i = 0; i < cfg->ntls_listen; i++) {
        wk_listener *l = &ctx->listeners[base + i];
        if (wk_listener_open(l, ctx, cfg->tls_listen[i]) != 0)
            return -1;
        l->tls = true;
        wsf_log_info("listening on %s (TLS)", l->name);
    }
    base += cfg->ntls_listen;
    for (size_t i = 0; i < cfg->ntls_listen_fds; i++) {
        wk_listener *l = &ctx->listeners[base + i];
        if (wk_listener_adopt(l, ctx, cfg->tls_listen_fds[i]) != 0)
            return -1;
        l->tls = true;
        wsf_log_info("serving inherited socket %s (fd %d, TLS)", l->name, l->fd);
    }

    ctx->tick = event_new(ctx->base, -1, EV_PERSIST, wk_ctx_on_tick, ctx);
    ctx->resume_accept = evtimer_new(ctx->base, wk_ctx_on_resume_accept, ctx);
    ctx->grace = evtimer_new(ctx->base, wk_ctx_on_grace, ctx);
    ctx->sig_term = evsignal_new(ctx->base, SIGTERM, wk_ctx_on_signal, ctx);
    ctx->sig_int = evsignal_new(ctx->base, SIGINT, wk_ctx_on_signal, ctx);
    ctx->sig_hup = evsignal_new(ctx->base, SIGHUP, wk_ctx_on_hup, ctx);
    struct timeval tick = {0, WK_TICK_MS * 1000};
    event_add(ctx->tick, &tick);
    event_add(ctx->sig_term, NULL);
    event_add(ctx->sig_int, NULL);
    event_add(ctx->sig_hup, NULL);
    if (cfg->supervisor != NULL || cfg->parent_fd != -1) {
        if (wk_fleet_new(&ctx->fleet, ctx) != 0)
            return -1;
    }
    if (wk_auth_init(&ctx->auth, cfg) != 0)
        return -1;
    if (cfg->nats_url != NULL || cfg->nats_url_file != NULL) {
        if (wk_channels_new(&ctx->channels, ctx) != 0)
            return -1;
    } else {
        wsf_log_info("channels off (no NATS URL): /channels answers 404");
    }
    wk_ctx_update_accepting(ctx);
    return 0;
}

int wk_ctx_run(wk_ctx *ctx)
{
    wsf_log_info("ready");
    if (wk_loop_run(ctx) != 0)
        return -1;
    wsf_log_info("exiting: %llu connections accepted, %llu messages in, %llu out",
                 (unsigned long long)ctx->stats.accepted,
                 (unsigned long long)ctx->stats.messages_in,
                 (unsigned long long)ctx->stats.messages_out);
    return 0;
}

void wk_ctx_fini(wk_ctx *ctx)
{
    wk_fault_fini(&ctx->fault);
    while (ctx->conns)
        wk_conn_free(ctx->conns);
    wk_conns_fini(ctx);
    wk_channels_free(ctx->channels);
    wk_auth_fini(&ctx->auth);
    wk_deflate_pool_free(ctx);
    wk_fleet_free(ctx->fleet);
    for (size_t i = 0; i < ctx->nlisteners; i++)
        wk_listener_close(&ctx->listeners[i]);
    free(ctx->listeners);
    wk_tls_free(ctx->tls);
    if (ctx->tick)
        event_free(ctx->tick);
    if (ctx->resume_accept)
        event_free(ctx->resume_accept);
    if (ctx->grace)
        event_free(ctx->grace);
    if (ctx->sig_term)
        event_free(ctx->sig_term);
    if (ctx->sig_int)
        event_free(ctx->sig_int);
    if (ctx->sig_hup)
        event_free(ctx->sig_hup);
    if (ctx->base)
        event_base_free(ctx->base);
    free(ctx->rbuf);
    wsf_buf_fini(&ctx->batch);
    wsf_ipcount_fini(&ctx->peers);
    memset(ctx, 0, sizeof *ctx);
}
