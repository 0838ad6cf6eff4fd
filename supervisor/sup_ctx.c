/* The supervisor's event loop: signals (handlers only queue events; the work happens here),
 * reaping, the 100 ms tick that drives restarts and hang detection, worker messages, wsctl
 * requests, scaling and the graceful stop. */
#include "sup_ctx.h"
#include "sup_tls.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sup_adopt.h"
#include "sup_alerting.h"
#include "sup_admin.h"
#include "sup_channels.h"
#include "sup_upgrade.h"
#include "wsf_log.h"

#define SUP_TICK_MS 100
/* The most one step of the observed clock counts: a late tick or two under load, never the
 * time of a stop (SIGSTOP, a paused VM), which would make every worker look hung. */
#define SUP_OBS_MAX_STEP_MS (5 * SUP_TICK_MS)
#define SUP_BREAKER_EVAL_MS 500
#define SUP_SCALER_EVAL_MS 1000

uint64_t sup_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t sup_observed_ms(sup_ctx *ctx)
{
    return sup_obs_advance(&ctx->obs, sup_now_ms());
}

static sup_slot *sup_slot_by_pid(sup_ctx *ctx, pid_t pid)
{
    for (unsigned i = 0; i < ctx->nslots; i++) {
        if (ctx->slots[i].pid == pid)
            return &ctx->slots[i];
    }
    return NULL;
}

static bool sup_all_stopped(sup_ctx *ctx)
{
    for (unsigned i = 0; i < ctx->nslots; i++) {
        if (ctx->slots[i].pid != 0)
            return false;
    }
    return sup_channels_stopped(ctx); /* the sidecar goes last */
}

static void sup_on_sigchld(evutil_socket_t sig, short what, void *arg)
{
    sup_ctx *ctx = arg;
    int status;
    pid_t pid;
    (void)sig;
    (void)what;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        sup_slot *slot = sup_slot_by_pid(ctx, pid);
        if (slot != NULL)
            sup_slot_on_exit(ctx, slot, status);
        else
            sup_channels_reap(ctx, pid, status);
    }
    if (ctx->stopping && sup_all_stopped(ctx))
        event_base_loopbreak(ctx->base);
}

static void sup_on_worker_msg(sup_ctx *ctx, const wsf_ipc_peer *peer, const wsf_worker_msg *m)
{
    if (m->kind == WSF_WMSG_ACK) {
        for (unsigned i = 0; i < ctx->nslots; i++) {
            sup_slot *s = &ctx->slots[i];
            if (s->has_peer && s->peer.len == peer->len &&
                memcmp(s->peer.id, peer->id, peer->len) == 0 && !m->ack.ok)
                wsf_log_warn("slot %u: command %llu refused: %s", i, (unsigned long long)m->ack.id,
                             m->ack.error);
        }
        return;
    }
    uint32_t slot_index = m->kind == WSF_WMSG_HELLO ? m->hello.slot : m->report.slot;
    if (slot_index < ctx->nslots)
        sup_slot_on_msg(ctx, &ctx->slots[slot_index], peer, m);
}

void sup_breaker_apply(sup_ctx *ctx, sup_slot *slot, const sup_breaker_actions *acts)
{
    if (acts->acts == 0)
        return;
    if (acts->acts & SUP_BREAKER_ACT_LOG)
        wsf_log_warn("slot %u: breaker %s -> %s: %s", slot->index,
                     sup_breaker_state_name(acts->from), sup_breaker_state_name(acts->to),
                     acts->reason);
    if (acts->from != acts->to) {
        sup_events_add(ctx, "breaker", (int)slot->index, "breaker %s -> %s: %s",
                       sup_breaker_state_name(acts->from), sup_breaker_state_name(acts->to),
                       acts->reason);
        slot->breaker_transitions++;
        ctx->steer_dirty = true;
    }
    if ((acts->acts & SUP_BREAKER_ACT_RECYCLE) && slot->pid != 0 &&
        slot->lc.state == SUP_SLOT_RUNNING) {
        wsf_log_warn("slot %u: ejected for the longest time: recycling worker pid %d", slot->index,
                     (int)slot->pid);
        sup_slot_drain(ctx, slot, ctx->cfg.drain_timeout_ms, true);
    }
    sup_sockets_steer(ctx);
}

/* Runs the fleet-wide detectors (relative, blast radius) and the breakers' clocks. */
static void sup_breakers_evaluate(sup_ctx *ctx, uint64_t now)
{
    sup_breaker *slots[SUP_MAX_SLOTS];
    sup_breaker_actions acts[SUP_MAX_SLOTS];
    double rnd[SUP_MAX_SLOTS];
    size_t running = 0;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        sup_slot *s = &ctx->slots[i];
        bool live = s->lc.state == SUP_SLOT_RUNNING && s->has_report;
        slots[i] = live ? &s->breaker : NULL;
        running += live;
        rnd[i] = sup_random(ctx);
    }
    if (sup_breaker_evaluate(acts, slots, ctx->nslots, running, &ctx->cfg.breaker, now, rnd) <= 0)
        return;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        if (slots[i] != NULL)
            sup_breaker_apply(ctx, &ctx->slots[i], &acts[i]);
    }
}

/* Takes every waiting worker message. */
static void sup_drain_workers_ipc(sup_ctx *ctx)
{
    wsf_ipc_peer peer;
    wsf_worker_msg msg;
    int rc;
    while ((rc = wsf_ipc_recv_worker_msg(ctx->workers_ipc, &peer, &msg)) != 0) {
        if (rc == -EPROTO)
            continue;
        if (rc == WSF_IPC_EVERSION) {
            uint32_t v;
            if (wsf_ipc_refused(ctx->workers_ipc, &v) == 1)
                wsf_log_warn("worker endpoint: refusing messages of protocol version %u "
                             "(wsfleetd speaks %u); further ones are refused silently",
                             v, WSF_PROTO_VERSION);
            continue;
        }
        if (rc < 0) {
            wsf_log_warn("worker endpoint: receive failed: %s", strerror(-rc));
            break;
        }
        sup_on_worker_msg(ctx, &peer, &msg);
    }
}

static void sup_on_workers_ipc(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sup_drain_workers_ipc(arg);
}

static void sup_on_ctl_ipc(evutil_socket_t fd, short what, void *arg);

static void sup_ctl_reopen(sup_ctx *ctx)
{
    event_free(ctx->ctl_ev);
    ctx->ctl_ev = NULL;
    wsf_ipc_free(ctx->ctl_ipc);
    ctx->ctl_ipc = NULL;
    unlink(ctx->ctl_path);
    int rc = wsf_ipc_open(&ctx->ctl_ipc, ctx->zctx, WSF_IPC_CTL_SERVER, ctx->ctl_endpoint);
    if (rc != 0) {
        wsf_log_error("control endpoint %s: cannot reopen: %s", ctx->ctl_endpoint, strerror(-rc));
        return;
    }
    chmod(ctx->ctl_path, 0600);
    ctx->ctl_ev =
        event_new(ctx->base, wsf_ipc_fd(ctx->ctl_ipc), EV_READ | EV_PERSIST, sup_on_ctl_ipc, ctx);
    if (ctx->ctl_ev == NULL || event_add(ctx->ctl_ev, NULL) != 0)
        wsf_log_error("control endpoint %s: cannot watch it again", ctx->ctl_endpoint);
}

/* Sends one answer; false when the socket had to be reopened. */
static bool sup_ctl_send(sup_ctx *ctx, const wsf_ctl_response *res)
{
    int rc = wsf_ipc_send_ctl_response(ctx->ctl_ipc, res);
    if (rc != 0) {
        /* A REP socket that could not reply refuses to receive again: start it afresh. */
        wsf_log_warn("control endpoint: reply failed: %s; reopening it", strerror(-rc));
        sup_ctl_reopen(ctx);
        return false;
    }
    return true;
}

void sup_ctl_reply(sup_ctx *ctx, const wsf_ctl_response *res)
{
    if (ctx->ctl_ipc != NULL && sup_ctl_send(ctx, res) && wsf_ipc_has_input(ctx->ctl_ipc))
        event_active(ctx->ctl_ev, EV_READ, 0);
}

static void sup_on_ctl_ipc(evutil_socket_t fd, short what, void *arg)
{
    sup_ctx *ctx = arg;
    static wsf_ctl_request req; /* large (a publication); the loop is single-threaded */
    int rc;
    (void)fd;
    (void)what;
    while (!sup_channels_ctl_pending(ctx) &&
           (rc = wsf_ipc_recv_ctl_request(ctx->ctl_ipc, &req)) != 0) {
        if (rc < 0 && rc != -EPROTO && rc != WSF_IPC_EVERSION) {
            wsf_log_warn("control endpoint: receive failed: %s", strerror(-rc));
            break;
        }
        wsf_ctl_response *res = calloc(1, sizeof *res);
        if (res == NULL)
            abort();
        uint32_t v;
        if (rc == -EPROTO) {
            snprintf(res->error, sizeof res->error, "undecodable request");
        } else if (rc == WSF_IPC_EVERSION) {
            if (wsf_ipc_refused(ctx->ctl_ipc, &v) == 1)
                wsf_log_warn("control endpoint: refusing a request of protocol version %u "
                             "(wsfleetd speaks %u)",
                             v, WSF_PROTO_VERSION);
            snprintf(res->error, sizeof res->error,
                     "request of protocol version %u refused: wsfleetd speaks %u", v,
                     WSF_PROTO_VERSION);
        } else {
            sup_ctl_handle(ctx, &req, res);
        }
        if (sup_channels_ctl_pending(ctx)) {
            free(res); /* answered later, through sup_ctl_reply */
            break;
        }
        bool sent = sup_ctl_send(ctx, res);
        free(res);
        if (!sent) {
            ctx->upgrade_armed = false; /* wsctl did not hear "upgrading": do not go ahead */
            return;
        }
        if (ctx->upgrade_armed) {
            sup_upgrade_run(ctx); /* returns only when the exec failed: the endpoints are new */
            return;
        }
    }
    /* A reply can consume the notification edge of the worker socket's neighbour: recheck. */
    if (wsf_ipc_has_input(ctx->workers_ipc))
        event_active(ctx->workers_ev, EV_READ, 0);
}

static void sup_on_tick(evutil_socket_t fd, short what, void *arg)
{
    sup_ctx *ctx = arg;
    (void)fd;
    (void)what;
    /* What the workers said while this process was not running is heard before any of them
     * is judged hung; the judgement itself counts only observed time (sup_obs). */
    sup_drain_workers_ipc(ctx);
    uint64_t observed = sup_observed_ms(ctx);
    for (unsigned i = 0; i < ctx->nslots; i++)
        sup_slot_tick(ctx, &ctx->slots[i], observed);
    uint64_t now = sup_now_ms();
    if (now - ctx->scaler_eval_ms >= SUP_SCALER_EVAL_MS) {
        ctx->scaler_eval_ms = now;
        sup_autoscale_tick(ctx, now);
    }
    if (now - ctx->breaker_eval_ms >= SUP_BREAKER_EVAL_MS) {
        ctx->breaker_eval_ms = now;
        sup_breakers_evaluate(ctx, now);
    }
    sup_sockets_steer(ctx);
    sup_notify_tick(ctx, now);
    sup_upgrade_tick(ctx, now);
    sup_channels_tick(ctx, now);
    sup_alerting_tick(ctx, now);
    sup_admin_tick(ctx, now);
    if (ctx->stopping) {
        if (sup_all_stopped(ctx)) {
            event_base_loopbreak(ctx->base);
        } else if (now >= ctx->stop_deadline_ms) {
            /* The fleet's deadline is every draining slot's (a drain begun before the stop may
             * have a later one of its own). */
            for (unsigned i = 0; i < ctx->nslots; i++) {
                sup_slot *s = &ctx->slots[i];
                if (s->lc.state == SUP_SLOT_DRAINING && !s->lc.kill_sent)
                    sup_slot_event(ctx, s, SUP_LC_EV_DEADLINE, 0, 0);
            }
        }
    }
    /* ZeroMQ's descriptor is edge-triggered; a missed edge is picked up within a tick. */
    if (wsf_ipc_has_input(ctx->workers_ipc))
        event_active(ctx->workers_ev, EV_READ, 0);
    if (ctx->ctl_ipc != NULL && wsf_ipc_has_input(ctx->ctl_ipc))
        event_active(ctx->ctl_ev, EV_READ, 0);
}

void sup_stop(sup_ctx *ctx, uint32_t drain_ms, const char *why)
{
    if (ctx->stopping)
        return;
    wsf_log_info("%s: stopping the fleet, draining workers over %u ms", why, drain_ms);
    ctx->stopping = true;
    sup_notify_stopping(ctx);
    sup_roll_cancel(ctx);
    ctx->stop_deadline_ms = sup_now_ms() + drain_ms + ctx->cfg.kill_grace_ms;
    for (unsigned i = 0; i < ctx->nslots; i++)
        sup_slot_drain(ctx, &ctx->slots[i], drain_ms, false);
    if (sup_all_stopped(ctx))
        event_base_loopbreak(ctx->base);
}

static void sup_on_sigterm(evutil_socket_t sig, short what, void *arg)
{
    sup_ctx *ctx = arg;
    (void)what;
    sup_stop(ctx, ctx->cfg.drain_timeout_ms, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void sup_on_sighup(evutil_socket_t sig, short what, void *arg)
{
    sup_ctx *ctx = arg;
    (void)sig;
    (void)what;
    wsf_ctl_request req = {.command = WSF_CTL_RELOAD};
    wsf_ctl_response *res = calloc(1, sizeof *res);
    if (res == NULL)
        abort();
    sup_ctl_handle(ctx, &req, res);
    if (!res->ok)
        wsf_log_error("SIGHUP: reload refused: %s", res->error);
    free(res);
}

/* Finds wsworker: the configured path, else beside wsfleetd (installed) or in the build tree. */
int sup_find_worker_bin(sup_ctx *ctx)
{
    if (ctx->cfg.worker_bin[0] != '\0') {
        snprintf(ctx->worker_bin, sizeof ctx->worker_bin, "%s", ctx->cfg.worker_bin);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return -1;
        self[n] = '\0';
        char *dir = dirname(self);
        snprintf(ctx->worker_bin, sizeof ctx->worker_bin, "%s/wsworker", dir);
        if (access(ctx->worker_bin, X_OK) != 0)
            snprintf(ctx->worker_bin, sizeof ctx->worker_bin, "%s/../worker/wsworker", dir);
    }
    if (access(ctx->worker_bin, X_OK) != 0) {
        wsf_log_error("worker binary %s: %s", ctx->worker_bin, strerror(errno));
        return -1;
    }
    return 0;
}

/* The endpoints live in the run dir main checked and locked (sup_rundir). */
static void sup_run_dir(sup_ctx *ctx)
{
    const char *dir = ctx->rundir->path;
    snprintf(ctx->workers_endpoint, sizeof ctx->workers_endpoint, "ipc://%s/workers", dir);
    snprintf(ctx->ctl_path, sizeof ctx->ctl_path, "%s/ctl", dir);
    snprintf(ctx->ctl_endpoint, sizeof ctx->ctl_endpoint, "ipc://%s", ctx->ctl_path);
}

int sup_ctx_endpoints_open(sup_ctx *ctx)
{
    ctx->zctx = wsf_ipc_context_new();
    if (ctx->zctx == NULL) {
        wsf_log_error("cannot create the ZeroMQ context");
        return -1;
    }
    /* We hold the run dir's lock: sockets left there are a dead supervisor's, or our own
     * previous image's. */
    unlink(ctx->ctl_path);
    unlink(ctx->workers_endpoint + strlen("ipc://"));
    int rc = wsf_ipc_open(&ctx->workers_ipc, ctx->zctx, WSF_IPC_SUPERVISOR, ctx->workers_endpoint);
    if (rc == 0)
        rc = wsf_ipc_open(&ctx->ctl_ipc, ctx->zctx, WSF_IPC_CTL_SERVER, ctx->ctl_endpoint);
    if (rc != 0) {
        wsf_log_error("cannot bind the ZeroMQ endpoints in %s: %s", ctx->rundir->path,
                      strerror(-rc));
        return -1;
    }
    chmod(ctx->ctl_path, 0600);
    ctx->workers_ev = event_new(ctx->base, wsf_ipc_fd(ctx->workers_ipc), EV_READ | EV_PERSIST,
                                sup_on_workers_ipc, ctx);
    ctx->ctl_ev =
        event_new(ctx->base, wsf_ipc_fd(ctx->ctl_ipc), EV_READ | EV_PERSIST, sup_on_ctl_ipc, ctx);
    if (ctx->workers_ev == NULL || ctx->ctl_ev == NULL || event_add(ctx->workers_ev, NULL) != 0 ||
        event_add(ctx->ctl_ev, NULL) != 0) {
        wsf_log_error("cannot watch the ZeroMQ endpoints");
        return -1;
    }
    return 0;
}

void sup_ctx_endpoints_close(sup_ctx *ctx, int ctl_linger_ms)
{
    if (ctx->workers_ev != NULL)
        event_free(ctx->workers_ev);
    if (ctx->ctl_ev != NULL)
        event_free(ctx->ctl_ev);
    ctx->workers_ev = ctx->ctl_ev = NULL;
    wsf_ipc_free(ctx->workers_ipc);
    wsf_ipc_close_flushing(ctx->ctl_ipc, ctl_linger_ms);
    ctx->workers_ipc = ctx->ctl_ipc = NULL;
    wsf_ipc_context_free(ctx->zctx);
    ctx->zctx = NULL;
}

int sup_ctx_init(sup_ctx *ctx, const sup_config *cfg)
{
    ctx->cfg = *cfg;
    ctx->parent_pipe[0] = ctx->parent_pipe[1] = -1;
    ctx->started_ms = sup_now_ms();
    sup_obs_init(&ctx->obs, ctx->started_ms, SUP_OBS_MAX_STEP_MS);
    ctx->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ull;
    ctx->nslots = cfg->workers_max;
    sup_scaler_init(&ctx->scaler);
    sup_scaler_set_enabled(&ctx->scaler, cfg->autoscale != 0, ctx->started_ms);
    sup_rebalance_init(&ctx->rebalance);
    ctx->desired = cfg->workers;
    for (unsigned i = 0; i < ctx->desired; i++)
        ctx->slots[i].wanted = true;
    for (unsigned i = 0; i < SUP_MAX_SLOTS; i++) {
        ctx->slots[i].index = i;
        sup_lifecycle_init(&ctx->slots[i].lc);
        sup_stats_reset(&ctx->slots[i].stats);
        sup_breaker_init(&ctx->slots[i].breaker);
    }

    sup_run_dir(ctx);
    if (sup_find_worker_bin(ctx) != 0)
        return -1;
    ctx->base = event_base_new();
    if (ctx->base == NULL) {
        wsf_log_error("cannot create the event loop");
        return -1;
    }
    if (sup_ctx_endpoints_open(ctx) != 0)
        return -1;
    ctx->endpoints_bound = true;
    int src;
    if (ctx->restore != NULL) {
        src = sup_upgrade_restore(ctx);
        if (src == 0 && sup_adopt_track(ctx) != 0)
            return -1;
    } else if (pipe2(ctx->parent_pipe, O_CLOEXEC) == -1) {
        wsf_log_error("pipe: %s", strerror(errno));
        return -1;
    } else {
        /* A dead supervisor's live workers keep their listeners: adopt both, or open afresh. */
        src = sup_adopt_start(ctx);
        if (src < 0)
            return -1;
        src = src == 1 ? 0 : sup_sockets_open(ctx);
    }
    if (src != 0)
        return src;

    if (sup_tls_tickets_start(ctx) != 0)
        return -1;
    int arc = sup_admin_start(ctx);
    if (arc != 0)
        return arc;
    ctx->tick_ev = event_new(ctx->base, -1, EV_PERSIST, sup_on_tick, ctx);
    ctx->sigchld_ev = evsignal_new(ctx->base, SIGCHLD, sup_on_sigchld, ctx);
    ctx->sigterm_ev = evsignal_new(ctx->base, SIGTERM, sup_on_sigterm, ctx);
    ctx->sigint_ev = evsignal_new(ctx->base, SIGINT, sup_on_sigterm, ctx);
    ctx->sighup_ev = evsignal_new(ctx->base, SIGHUP, sup_on_sighup, ctx);
    struct timeval tick = {0, SUP_TICK_MS * 1000};
    struct event *evs[] = {ctx->tick_ev, ctx->sigchld_ev, ctx->sigterm_ev, ctx->sigint_ev,
                           ctx->sighup_ev};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        if (evs[i] == NULL || event_add(evs[i], evs[i] == ctx->tick_ev ? &tick : NULL) != 0) {
            wsf_log_error("cannot set up the event loop's events");
            return -1;
        }
    }
    signal(SIGPIPE, SIG_IGN);

    wsf_log_info("control socket %s; %u workers (min %u, max %u), worker %s", ctx->ctl_path,
                 ctx->desired, cfg->workers_min, cfg->workers_max, ctx->worker_bin);
    sup_notify_start(ctx, sup_now_ms());
    int crc = sup_channels_start(ctx); /* the sidecar, before the workers */
    if (crc != 0)
        return crc;
    if (sup_alerting_start(ctx) != 0)
        return -1;
    sup_admin_alerts_start(ctx);
    if (ctx->restore != NULL) {
        sup_upgrade_resume(ctx);
        return 0;
    }
    for (unsigned i = 0; i < ctx->desired; i++)
        sup_slot_event(ctx, &ctx->slots[i], SUP_LC_EV_WANT, 0, 0);
    return 0;
}

int sup_ctx_run(sup_ctx *ctx)
{
    wsf_log_info("ready");
    if (event_base_dispatch(ctx->base) == -1) {
        wsf_log_error("event loop failed");
        return 1;
    }
    wsf_log_info("fleet stopped");
    return 0;
}

void sup_ctx_fini(sup_ctx *ctx)
{
    struct event *evs[] = {ctx->tick_ev, ctx->sigchld_ev, ctx->sigterm_ev, ctx->sigint_ev,
                           ctx->sighup_ev};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        if (evs[i])
            event_free(evs[i]);
    }
    sup_alerting_fini(ctx);
    sup_admin_stop(ctx);
    sup_channels_fini(ctx);
    sup_tls_tickets_fini(ctx);
    sup_ctx_endpoints_close(ctx, 0);
    if (ctx->endpoints_bound) {
        /* Only what we bound: a supervisor that failed before that leaves the sockets alone. */
        unlink(ctx->ctl_path);
        if (strncmp(ctx->workers_endpoint, "ipc://", 6) == 0)
            unlink(ctx->workers_endpoint + 6);
    }
    sup_adopt_fini(ctx, ctx->stopping && sup_all_stopped(ctx));
    sup_sockets_close(ctx);
    for (int i = 0; i < 2; i++) {
        if (ctx->parent_pipe[i] != -1)
            close(ctx->parent_pipe[i]);
    }
    if (ctx->base)
        event_base_free(ctx->base);
}
