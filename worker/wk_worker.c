/* The worker's event loop: listeners, the deadline wheel, signals and the shutdown drain. */
#include "wk_worker.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wk_conn.h"
#include "wk_listener.h"
#include "wsf_log.h"

#define WK_RBUF_SIZE (256 * 1024)
#define WK_BATCH_KEEP (1024 * 1024) /* a larger batch buffer is released after use */

static uint64_t wk_clock_ticks(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) / WK_TICK_MS;
}

static void wk_ctx_on_tick(evutil_socket_t fd, short what, void *arg)
{
    wk_ctx *ctx = arg;
    (void)fd;
    (void)what;
    ctx->now = wk_clock_ticks();
    wsf_wheel_node *node;
    while ((node = wsf_wheel_expire(&ctx->wheel, ctx->now)) != NULL) {
        wk_conn *c = wk_conn_of_timer(node);
        wk_conn_on_timer(c);
        if (c->dead)
            wk_conn_free(c);
    }
    if (ctx->batch.cap > WK_BATCH_KEEP)
        wsf_buf_fini(&ctx->batch);
}

void wk_ctx_set_accepting(wk_ctx *ctx, bool on)
{
    if (ctx->stopping)
        on = false;
    if (ctx->accepting == on)
        return;
    ctx->accepting = on;
    for (size_t i = 0; i < ctx->nlisteners; i++)
        wk_listener_enable(&ctx->listeners[i], on);
}

static void wk_ctx_on_resume_accept(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wk_ctx_set_accepting(arg, true);
}

void wk_ctx_on_conn_closed(wk_ctx *ctx, bool rejecting)
{
    if (rejecting)
        ctx->nrejecting--;
    else
        ctx->nconns--;
    if (ctx->stopping && ctx->nconns == 0 && ctx->nrejecting == 0)
        event_base_loopbreak(ctx->base);
}

static void wk_ctx_on_grace(evutil_socket_t fd, short what, void *arg)
{
    wk_ctx *ctx = arg;
    (void)fd;
    (void)what;
    wsf_log_warn("grace period over: dropping %u connections", ctx->nconns + ctx->nrejecting);
    while (ctx->conns)
        wk_conn_free(ctx->conns);
    event_base_loopbreak(ctx->base);
}

static void wk_ctx_on_signal(evutil_socket_t sig, short what, void *arg)
{
    wk_ctx *ctx = arg;
    (void)what;
    if (ctx->stopping)
        return;
    wsf_log_info("%s: shutting down, closing %u connections (grace %u ms)",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT", ctx->nconns + ctx->nrejecting,
                 ctx->cfg.grace_ms);
    wk_ctx_set_accepting(ctx, false);
    ctx->stopping = true;
    for (size_t i = 0; i < ctx->nlisteners; i++)
        wk_listener_close(&ctx->listeners[i]);

    wk_conn *next;
    for (wk_conn *c = ctx->conns; c != NULL; c = next) {
        next = c->next;
        if (c->state == WK_CONN_HANDSHAKE)
            wk_conn_free(c);
        else if (c->state == WK_CONN_OPEN)
            wk_conn_close(c, WS_CLOSE_GOING_AWAY, "shutting down");
        if (!c->dead)
            continue;
        wk_conn_free(c);
    }
    if (ctx->nconns == 0 && ctx->nrejecting == 0) {
        event_base_loopbreak(ctx->base);
        return;
    }
    struct timeval grace = {ctx->cfg.grace_ms / 1000, (ctx->cfg.grace_ms % 1000) * 1000};
    event_add(ctx->grace, &grace);
}

int wk_ctx_init(wk_ctx *ctx, const wk_config *cfg)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->cfg = *cfg;
    signal(SIGPIPE, SIG_IGN);

    ctx->base = event_base_new();
    if (ctx->base == NULL) {
        wsf_log_error("cannot create the event loop");
        return -1;
    }
    ctx->now = wk_clock_ticks();
    wsf_wheel_init(&ctx->wheel, ctx->now);
    ctx->rbuf_cap = WK_RBUF_SIZE;
    ctx->rbuf = wsf_xmalloc(ctx->rbuf_cap);

    ctx->listeners = wsf_xcalloc(cfg->nlisten, sizeof *ctx->listeners);
    for (size_t i = 0; i < cfg->nlisten; i++) {
        ctx->listeners[i].fd = -1;
    }
    ctx->nlisteners = cfg->nlisten;
    for (size_t i = 0; i < cfg->nlisten; i++) {
        if (wk_listener_open(&ctx->listeners[i], ctx, cfg->listen[i]) != 0)
            return -1;
        wsf_log_info("listening on %s", ctx->listeners[i].name);
    }

    ctx->tick = event_new(ctx->base, -1, EV_PERSIST, wk_ctx_on_tick, ctx);
    ctx->resume_accept = evtimer_new(ctx->base, wk_ctx_on_resume_accept, ctx);
    ctx->grace = evtimer_new(ctx->base, wk_ctx_on_grace, ctx);
    ctx->sig_term = evsignal_new(ctx->base, SIGTERM, wk_ctx_on_signal, ctx);
    ctx->sig_int = evsignal_new(ctx->base, SIGINT, wk_ctx_on_signal, ctx);
    struct timeval tick = {0, WK_TICK_MS * 1000};
    event_add(ctx->tick, &tick);
    event_add(ctx->sig_term, NULL);
    event_add(ctx->sig_int, NULL);
    wk_ctx_set_accepting(ctx, true);
    return 0;
}

int wk_ctx_run(wk_ctx *ctx)
{
    wsf_log_info("ready");
    if (event_base_dispatch(ctx->base) == -1) {
        wsf_log_error("event loop failed: %s", strerror(errno));
        return -1;
    }
    wsf_log_info("exiting: %llu connections accepted, %llu messages in, %llu out",
                 (unsigned long long)ctx->stats.accepted,
                 (unsigned long long)ctx->stats.messages_in,
                 (unsigned long long)ctx->stats.messages_out);
    return 0;
}

void wk_ctx_fini(wk_ctx *ctx)
{
    while (ctx->conns)
        wk_conn_free(ctx->conns);
    for (size_t i = 0; i < ctx->nlisteners; i++)
        wk_listener_close(&ctx->listeners[i]);
    free(ctx->listeners);
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
    if (ctx->base)
        event_base_free(ctx->base);
    free(ctx->rbuf);
    wsf_buf_fini(&ctx->batch);
    memset(ctx, 0, sizeof *ctx);
}
