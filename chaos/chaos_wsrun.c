/* wsload's runner: phases of a run (set up, measure, drain, close) over a pool of connections. */
#include "chaos_wsload.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "chaos_conn.h"
#include "chaos_proc.h"
#include "wsf_buf.h"

#define CHAOS_RX_CAP (256u * 1024u)
#define CHAOS_MAX_PENDING 256 /* connection attempts in flight while setting up */
#define CHAOS_CLOSE_SECS 3.0  /* bound on draining echoes and closing after the window */
#define CHAOS_SETTLE_SECS 1.0 /* idle mode: wait this long after all are up before sampling RSS */
#define CHAOS_RETRY_SECS 0.01 /* connect mode: pause before retrying a slot that failed at once */
#define CHAOS_DIAG_LINES 10   /* failures described on stderr before going quiet */
#define CHAOS_STALL_SECS 10.0 /* echo mode: give up when no echo arrives for this long */

enum chaos_phase {
    CHAOS_PHASE_SETUP = 0, /* opening connections (echo, idle) */
    CHAOS_PHASE_RUN,       /* the measured window */
    CHAOS_PHASE_DRAIN,     /* window over, waiting for echoes still in flight */
    CHAOS_PHASE_CLOSING,   /* closing handshakes */
    CHAOS_PHASE_DONE,
};

typedef struct chaos_ctx {
    const chaos_wsload_opts *opts;
    struct event_base *base;
    chaos_env env;
    chaos_conn *conns;
    size_t n;
    enum chaos_phase phase;
    size_t next;    /* next slot to open while setting up */
    size_t pending; /* attempts not yet upgraded or failed, while setting up */
    size_t live;    /* slots with a socket */
    size_t up;      /* upgraded connections alive */
    size_t up_peak; /* upgraded when set-up ended */
    uint64_t sent;
    uint64_t echoes;
    uint64_t upgrades;
    uint64_t errors[CHAOS_ERR_COUNT];
    uint64_t lost;          /* echoes never received */
    uint64_t close_timeout; /* connections still open at the close deadline */
    unsigned diag_left;
    bool retry_armed;
    /* The measured window. */
    double t_start;
    double t_up;
    double t_win0;
    double t_win1;
    uint64_t win_count;
    double cpu0;
    double cpu1;
    bool srv_ok;
    double srv_cpu0;
    double srv_cpu1;
    bool rss_ok;
    uint64_t rss_before;
    uint64_t rss_idle;
    struct event *ev_duration;
    struct event *ev_settle;
    struct event *ev_deadline;
    struct event *ev_retry;
    struct event *ev_stall;
    uint64_t stall_mark; /* echoes at the previous stall check */
    struct event *ev_sigterm;
    struct event *ev_sigint;
} chaos_ctx;

static void chaos_start_closing(chaos_ctx *ctx);

static uint64_t chaos_error_total(const chaos_ctx *ctx)
{
    uint64_t total = ctx->lost + ctx->close_timeout;
    for (int i = 1; i < CHAOS_ERR_COUNT; i++) {
        total += ctx->errors[i];
    }
    return total;
}

static void chaos_arm(struct event *ev, double secs)
{
    struct timeval tv;
    tv.tv_sec = (time_t)secs;
    tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
    event_add(ev, &tv);
}

static void chaos_diag(chaos_ctx *ctx, const chaos_conn *c, enum chaos_err err)
{
    static const char *const kinds[CHAOS_ERR_COUNT] = {"ok",   "connect",  "handshake",
                                                       "echo", "protocol", "closed"};
    if (ctx->diag_left == 0) {
        return;
    }
    ctx->diag_left--;
    const char *why = c->why != NULL ? c->why : "?";
    if ((err == CHAOS_ERR_CONNECT || err == CHAOS_ERR_CLOSED) && c->sys_errno > 0 &&
        c->sys_errno < 1000) {
        fprintf(stderr, "wsload: conn %zu: %s error: %s: %s\n", c->index, kinds[err], why,
                strerror(c->sys_errno));
    } else {
        fprintf(stderr, "wsload: conn %zu: %s error: %s (%d)\n", c->index, kinds[err], why,
                c->sys_errno);
    }
}

/* Counts an attempt that failed before producing a socket. */
static void chaos_count_start_failure(chaos_ctx *ctx, chaos_conn *c)
{
    ctx->errors[CHAOS_ERR_CONNECT]++;
    chaos_diag(ctx, c, CHAOS_ERR_CONNECT);
}

static void chaos_begin_window(chaos_ctx *ctx)
{
    ctx->phase = CHAOS_PHASE_RUN;
    ctx->t_win0 = chaos_proc_now();
    ctx->cpu0 = chaos_proc_self_cpu();
    if (ctx->opts->server_pid != 0) {
        ctx->srv_ok = chaos_proc_cpu(&ctx->srv_cpu0, ctx->opts->server_pid) == 0;
    }
}

static void chaos_end_window(chaos_ctx *ctx)
{
    if (ctx->t_win1 != 0) {
        return;
    }
    ctx->t_win1 = chaos_proc_now();
    ctx->cpu1 = chaos_proc_self_cpu();
    if (ctx->srv_ok) {
        ctx->srv_ok = chaos_proc_cpu(&ctx->srv_cpu1, ctx->opts->server_pid) == 0;
    }
    ctx->win_count = ctx->opts->mode == CHAOS_WSLOAD_CONNECT ? ctx->upgrades : ctx->echoes;
}

static void chaos_sample_rss(chaos_ctx *ctx)
{
    if (ctx->rss_ok && ctx->rss_idle == 0) {
        ctx->rss_ok = chaos_proc_rss(&ctx->rss_idle, ctx->opts->server_pid) == 0;
    }
}

static void chaos_finish(chaos_ctx *ctx)
{
    if (ctx->phase == CHAOS_PHASE_DONE) {
        return;
    }
    ctx->phase = CHAOS_PHASE_DONE;
    event_base_loopexit(ctx->base, NULL);
}

/* Opens slots until CHAOS_MAX_PENDING attempts are in flight; once every slot has been tried and
 * answered, starts the run proper. */
static void chaos_fill(chaos_ctx *ctx)
{
    while (ctx->phase == CHAOS_PHASE_SETUP && ctx->next < ctx->n &&
           ctx->pending < CHAOS_MAX_PENDING) {
        chaos_conn *c = &ctx->conns[ctx->next++];
        if (chaos_conn_start(c) != 0) {
            chaos_count_start_failure(ctx, c);
            continue;
        }
        ctx->pending++;
        ctx->live++;
    }
    if (ctx->phase != CHAOS_PHASE_SETUP || ctx->next < ctx->n || ctx->pending > 0) {
        return;
    }
    ctx->t_up = chaos_proc_now();
    ctx->up_peak = ctx->up;
    if (ctx->up == 0) {
        fprintf(stderr, "wsload: no connection could be upgraded\n");
        chaos_finish(ctx);
        return;
    }
    if (ctx->opts->mode == CHAOS_WSLOAD_IDLE) {
        printf("wsload mode=idle conns=%zu up=%zu setup_secs=%.3f errors=%" PRIu64 " all up\n",
               ctx->n, ctx->up, ctx->t_up - ctx->t_start, chaos_error_total(ctx));
        fflush(stdout);
        chaos_begin_window(ctx);
        if (ctx->rss_ok) {
            chaos_arm(ctx->ev_settle, CHAOS_SETTLE_SECS);
        }
        if (ctx->opts->duration > 0) {
            chaos_arm(ctx->ev_duration, ctx->opts->duration);
        }
        return;
    }
    /* Echo mode: every connection starts its pipeline at the same moment. */
    chaos_begin_window(ctx);
    for (size_t i = 0; i < ctx->n; i++) {
        chaos_conn *c = &ctx->conns[i];
        uint64_t k = ctx->opts->inflight;
        if (c->state != CHAOS_CONN_OPEN) {
            continue;
        }
        if (ctx->opts->messages != 0 && k > ctx->opts->messages - ctx->sent) {
            k = ctx->opts->messages - ctx->sent;
        }
        chaos_conn_send(c, k);
        ctx->sent += k;
    }
    if (ctx->opts->duration > 0) {
        chaos_arm(ctx->ev_duration, ctx->opts->duration);
    }
}

static void chaos_on_open(chaos_conn *c, void *arg)
{
    chaos_ctx *ctx = arg;
    ctx->up++;
    if (ctx->opts->mode == CHAOS_WSLOAD_CONNECT) {
        if (ctx->phase == CHAOS_PHASE_RUN) {
            ctx->upgrades++;
        }
        chaos_conn_close(c);
        return;
    }
    if (ctx->phase == CHAOS_PHASE_SETUP) {
        ctx->pending--;
        chaos_fill(ctx);
    } else if (ctx->phase == CHAOS_PHASE_CLOSING) {
        chaos_conn_close(c);
    }
}

/* --messages: the window ends once every message has been echoed or lost. */
static void chaos_check_budget(chaos_ctx *ctx)
{
    uint64_t total = ctx->opts->messages;
    if (ctx->phase == CHAOS_PHASE_RUN && total != 0 && ctx->sent >= total &&
        ctx->echoes + ctx->lost >= total) {
        chaos_end_window(ctx);
        chaos_start_closing(ctx);
    }
}

static void chaos_on_echo(chaos_conn *c, void *arg)
{
    chaos_ctx *ctx = arg;
    ctx->echoes++;
    if (ctx->phase == CHAOS_PHASE_RUN) {
        if (ctx->opts->messages == 0 || ctx->sent < ctx->opts->messages) {
            chaos_conn_send(c, 1);
            ctx->sent++;
        } else {
            chaos_check_budget(ctx);
        }
        return;
    }
    if (ctx->phase == CHAOS_PHASE_DRAIN && chaos_conn_outstanding(c) == 0) {
        chaos_conn_close(c);
    }
}

static void chaos_on_retry(evutil_socket_t fd, short what, void *arg)
{
    chaos_ctx *ctx = arg;
    (void)fd;
    (void)what;
    ctx->retry_armed = false;
    for (size_t i = 0; i < ctx->n && ctx->phase == CHAOS_PHASE_RUN; i++) {
        chaos_conn *c = &ctx->conns[i];
        if (c->state != CHAOS_CONN_DOWN) {
            continue;
        }
        if (chaos_conn_start(c) == 0) {
            ctx->live++;
        } else {
            chaos_count_start_failure(ctx, c);
            if (!ctx->retry_armed) {
                ctx->retry_armed = true;
                chaos_arm(ctx->ev_retry, CHAOS_RETRY_SECS);
            }
        }
    }
}

/* Connect mode: a slot that closed starts its next attempt at once. */
static void chaos_restart(chaos_ctx *ctx, chaos_conn *c)
{
    if (chaos_conn_start(c) == 0) {
        ctx->live++;
        return;
    }
    chaos_count_start_failure(ctx, c);
    if (!ctx->retry_armed) {
        ctx->retry_armed = true;
        chaos_arm(ctx->ev_retry, CHAOS_RETRY_SECS);
    }
}

static void chaos_on_closed(chaos_conn *c, enum chaos_err err, void *arg)
{
    chaos_ctx *ctx = arg;
    ctx->live--;
    if (err != CHAOS_OK) {
        ctx->errors[err]++;
        chaos_diag(ctx, c, err);
        ctx->lost += chaos_conn_outstanding(c);
    }
    if (c->upgraded) {
        ctx->up--;
    }
    if (ctx->opts->mode == CHAOS_WSLOAD_CONNECT) {
        if (ctx->phase == CHAOS_PHASE_RUN) {
            chaos_restart(ctx, c);
        } else if (ctx->live == 0) {
            chaos_finish(ctx);
        }
        return;
    }
    if (ctx->phase == CHAOS_PHASE_SETUP) {
        if (!c->upgraded) {
            ctx->pending--;
        }
        chaos_fill(ctx);
        return;
    }
    if (ctx->live == 0) {
        chaos_end_window(ctx);
        chaos_finish(ctx);
        return;
    }
    chaos_check_budget(ctx);
}

static void chaos_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    chaos_ctx *ctx = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < ctx->n; i++) {
        chaos_conn *c = &ctx->conns[i];
        if (c->state == CHAOS_CONN_DOWN) {
            continue;
        }
        if (c->state == CHAOS_CONN_OPEN) {
            ctx->lost += chaos_conn_outstanding(c);
        }
        if (c->state == CHAOS_CONN_CLOSING || c->state == CHAOS_CONN_OPEN) {
            ctx->close_timeout++;
        }
        chaos_conn_abort(c);
    }
    ctx->live = 0;
    ctx->up = 0;
    chaos_finish(ctx);
}

/* Echo mode: a server that stops echoing ends the run instead of hanging it. */
static void chaos_on_stall(evutil_socket_t fd, short what, void *arg)
{
    chaos_ctx *ctx = arg;
    (void)fd;
    (void)what;
    if (ctx->phase != CHAOS_PHASE_RUN || ctx->echoes != ctx->stall_mark) {
        ctx->stall_mark = ctx->echoes;
        return;
    }
    fprintf(stderr, "wsload: no echo for %.0f s: giving up\n", CHAOS_STALL_SECS);
    chaos_end_window(ctx);
    chaos_on_deadline(-1, 0, ctx);
}

static void chaos_start_closing(chaos_ctx *ctx)
{
    ctx->phase = CHAOS_PHASE_CLOSING;
    event_del(ctx->ev_duration);
    for (size_t i = 0; i < ctx->n; i++) {
        chaos_conn_close(&ctx->conns[i]);
    }
    if (!event_pending(ctx->ev_deadline, EV_TIMEOUT, NULL)) {
        chaos_arm(ctx->ev_deadline, CHAOS_CLOSE_SECS);
    }
    if (ctx->live == 0) {
        chaos_finish(ctx);
    }
}

/* End of the window in echo mode: stop sending, wait for what is in flight, then close. */
static void chaos_start_drain(chaos_ctx *ctx)
{
    ctx->phase = CHAOS_PHASE_DRAIN;
    chaos_arm(ctx->ev_deadline, CHAOS_CLOSE_SECS);
    bool waiting = false;
    for (size_t i = 0; i < ctx->n; i++) {
        chaos_conn *c = &ctx->conns[i];
        if (c->state != CHAOS_CONN_OPEN) {
            continue;
        }
        if (chaos_conn_outstanding(c) == 0) {
            chaos_conn_close(c);
        } else {
            waiting = true;
        }
    }
    if (!waiting) {
        chaos_start_closing(ctx);
    }
}

static void chaos_on_duration(evutil_socket_t fd, short what, void *arg)
{
    chaos_ctx *ctx = arg;
    (void)fd;
    (void)what;
    chaos_end_window(ctx);
    if (ctx->opts->mode == CHAOS_WSLOAD_IDLE) {
        chaos_sample_rss(ctx);
    }
    if (ctx->opts->mode == CHAOS_WSLOAD_ECHO) {
        chaos_start_drain(ctx);
    } else {
        chaos_start_closing(ctx);
    }
}

static void chaos_on_settle(evutil_socket_t fd, short what, void *arg)
{
    chaos_ctx *ctx = arg;
    (void)fd;
    (void)what;
    chaos_sample_rss(ctx);
    if (ctx->rss_ok) {
        printf("wsload mode=idle conns=%zu up=%zu server_rss_before=%" PRIu64
               " server_rss_idle=%" PRIu64 " sampled\n",
               ctx->n, ctx->up, ctx->rss_before, ctx->rss_idle);
        fflush(stdout);
    }
}

/* SIGTERM or SIGINT: end the window and close; a second one aborts everything. */
static void chaos_on_signal(evutil_socket_t fd, short what, void *arg)
{
    chaos_ctx *ctx = arg;
    (void)fd;
    (void)what;
    if (ctx->phase == CHAOS_PHASE_CLOSING || ctx->phase == CHAOS_PHASE_DRAIN) {
        chaos_on_deadline(-1, 0, ctx);
        return;
    }
    chaos_end_window(ctx);
    if (ctx->opts->mode == CHAOS_WSLOAD_IDLE) {
        chaos_sample_rss(ctx);
    }
    chaos_start_closing(ctx);
}

static void chaos_print_result(const chaos_ctx *ctx)
{
    const chaos_wsload_opts *o = ctx->opts;
    double secs = ctx->t_win0 > 0 && ctx->t_win1 > ctx->t_win0 ? ctx->t_win1 - ctx->t_win0 : 0;
    double cpu = ctx->cpu1 - ctx->cpu0;
    double pct = secs > 0 ? 100.0 * cpu / secs : 0;
    double rate = secs > 0 ? (double)ctx->win_count / secs : 0;
    uint64_t errors = chaos_error_total(ctx);

    switch (o->mode) {
    case CHAOS_WSLOAD_ECHO:
        printf("wsload mode=echo conns=%zu inflight=%u size=%zu binary=%d msgs=%" PRIu64
               " secs=%.3f msgs_per_s=%.0f errors=%" PRIu64 " client_cpu_s=%.3f"
               " client_cpu_pct=%.1f",
               ctx->n, o->inflight, o->size, o->binary ? 1 : 0, ctx->win_count, secs, rate, errors,
               cpu, pct);
        break;
    case CHAOS_WSLOAD_CONNECT:
        printf("wsload mode=connect conns=%zu upgrades=%" PRIu64 " secs=%.3f upgrades_per_s=%.0f"
               " errors=%" PRIu64 " client_cpu_s=%.3f client_cpu_pct=%.1f",
               ctx->n, ctx->win_count, secs, rate, errors, cpu, pct);
        break;
    case CHAOS_WSLOAD_IDLE:
        printf("wsload mode=idle conns=%zu up=%zu setup_secs=%.3f held_secs=%.3f errors=%" PRIu64,
               ctx->n, ctx->up_peak, ctx->t_up > 0 ? ctx->t_up - ctx->t_start : 0, secs, errors);
        if (ctx->rss_ok && ctx->rss_idle != 0 && ctx->t_up > 0) {
            double per = ((double)ctx->rss_idle - (double)ctx->rss_before) / (double)ctx->n;
            printf(" server_rss_before=%" PRIu64 " server_rss_idle=%" PRIu64 " rss_per_conn=%.0f",
                   ctx->rss_before, ctx->rss_idle, per);
        }
        break;
    }
    if (o->mode != CHAOS_WSLOAD_IDLE && ctx->srv_ok) {
        double srv = ctx->srv_cpu1 - ctx->srv_cpu0;
        double per = ctx->win_count > 0 ? srv * 1e6 / (double)ctx->win_count : 0;
        printf(" server_cpu_s=%.3f %s=%.3f", srv,
               o->mode == CHAOS_WSLOAD_ECHO ? "server_us_per_msg" : "server_us_per_upgrade", per);
    }
    printf("\n");
    fflush(stdout);
    if (errors > 0) {
        fprintf(stderr,
                "wsload: errors connect=%" PRIu64 " handshake=%" PRIu64 " echo=%" PRIu64
                " protocol=%" PRIu64 " closed=%" PRIu64 " lost=%" PRIu64 " close_timeout=%" PRIu64
                "\n",
                ctx->errors[CHAOS_ERR_CONNECT], ctx->errors[CHAOS_ERR_HANDSHAKE],
                ctx->errors[CHAOS_ERR_ECHO], ctx->errors[CHAOS_ERR_PROTOCOL],
                ctx->errors[CHAOS_ERR_CLOSED], ctx->lost, ctx->close_timeout);
    }
}

static void chaos_ctx_fini(chaos_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n; i++) {
        chaos_conn_fini(&ctx->conns[i]);
    }
    free(ctx->conns);
    event_free(ctx->ev_duration);
    event_free(ctx->ev_settle);
    event_free(ctx->ev_deadline);
    event_free(ctx->ev_retry);
    event_free(ctx->ev_stall);
    event_free(ctx->ev_sigterm);
    event_free(ctx->ev_sigint);
    chaos_payload_fini(&ctx->env.payload);
    free(ctx->env.rx);
    event_base_free(ctx->base);
}

int chaos_wsload_run(const chaos_wsload_opts *opts)
{
    chaos_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.opts = opts;
    ctx.n = opts->connections;
    ctx.diag_left = CHAOS_DIAG_LINES;
    ctx.base = event_base_new();
    if (ctx.base == NULL) {
        fprintf(stderr, "wsload: event_base_new failed\n");
        return -1;
    }
    ctx.env.base = ctx.base;
    ctx.env.opts = opts;
    chaos_payload_init(&ctx.env.payload, opts->size, opts->binary);
    ctx.env.rx_cap = CHAOS_RX_CAP;
    ctx.env.rx = wsf_xmalloc(CHAOS_RX_CAP);
    ctx.env.on_open = chaos_on_open;
    ctx.env.on_echo = chaos_on_echo;
    ctx.env.on_closed = chaos_on_closed;
    ctx.env.arg = &ctx;
    ctx.conns = wsf_xcalloc(ctx.n, sizeof(*ctx.conns));
    for (size_t i = 0; i < ctx.n; i++) {
        chaos_conn_init(&ctx.conns[i], &ctx.env, i);
    }
    ctx.ev_duration = evtimer_new(ctx.base, chaos_on_duration, &ctx);
    ctx.ev_settle = evtimer_new(ctx.base, chaos_on_settle, &ctx);
    ctx.ev_deadline = evtimer_new(ctx.base, chaos_on_deadline, &ctx);
    ctx.ev_retry = evtimer_new(ctx.base, chaos_on_retry, &ctx);
    ctx.ev_stall = event_new(ctx.base, -1, EV_PERSIST, chaos_on_stall, &ctx);
    ctx.ev_sigterm = evsignal_new(ctx.base, SIGTERM, chaos_on_signal, &ctx);
    ctx.ev_sigint = evsignal_new(ctx.base, SIGINT, chaos_on_signal, &ctx);
    event_add(ctx.ev_sigterm, NULL);
    event_add(ctx.ev_sigint, NULL);

    if (opts->server_pid != 0 && opts->mode == CHAOS_WSLOAD_IDLE) {
        ctx.rss_ok = chaos_proc_rss(&ctx.rss_before, opts->server_pid) == 0;
    }
    ctx.t_start = chaos_proc_now();
    if (opts->mode == CHAOS_WSLOAD_CONNECT) {
        chaos_begin_window(&ctx);
        for (size_t i = 0; i < ctx.n; i++) {
            chaos_restart(&ctx, &ctx.conns[i]);
        }
        chaos_arm(ctx.ev_duration, opts->duration);
    } else {
        ctx.phase = CHAOS_PHASE_SETUP;
        if (opts->mode == CHAOS_WSLOAD_ECHO) {
            chaos_arm(ctx.ev_stall, CHAOS_STALL_SECS);
        }
        chaos_fill(&ctx);
    }
    if (ctx.phase != CHAOS_PHASE_DONE) {
        event_base_dispatch(ctx.base);
    }
    chaos_end_window(&ctx);
    chaos_print_result(&ctx);
    int rc = chaos_error_total(&ctx) > 0 ? 1 : 0;
    chaos_ctx_fini(&ctx);
    return rc;
}
