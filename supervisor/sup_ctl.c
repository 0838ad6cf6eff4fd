/* wsctl requests: status and worker tables from the live slots and their statistics, and the
 * operations (scale, restart, drain, reload, shutdown). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sup_admin.h"
#include "sup_adopt.h"
#include "sup_alerting.h"
#include "sup_channels.h"
#include "sup_ctx.h"
#include "sup_upgrade.h"
#include "wsf_fault.h"
#include "wsf_log.h"

#define SUP_VERSION "0.1.0"
#define SUP_RATE_WINDOW_MS 10000

static unsigned sup_running(const sup_ctx *ctx)
{
    unsigned n = 0;
    for (unsigned i = 0; i < ctx->nslots; i++)
        n += ctx->slots[i].lc.state == SUP_SLOT_RUNNING;
    return n;
}

const char *sup_fleet_state(const sup_ctx *ctx)
{
    if (ctx->stopping)
        return "stopping";
    unsigned failed = 0;
    for (unsigned i = 0; i < ctx->nslots; i++)
        failed += ctx->slots[i].wanted && ctx->slots[i].lc.state == SUP_SLOT_FAILED;
    return ctx->desired > 0 && failed * 2 >= ctx->desired ? "degraded" : "running";
}

/* The Report's backend_breaker_state (wk_bkbreaker) by name. */
static const char *sup_backend_breaker_name(uint32_t state)
{
    return state == 1 ? "open" : state == 2 ? "half_open" : "closed";
}

void sup_ctl_fill_status(const sup_ctx *ctx, wsf_fleet_status *st, uint64_t now)
{
    snprintf(st->name, sizeof st->name, "%s", ctx->cfg.fleet_name);
    snprintf(st->state, sizeof st->state, "%s", sup_fleet_state(ctx));
    st->pid = (uint32_t)getpid();
    st->workers_running = sup_running(ctx);
    st->workers_desired = ctx->desired;
    st->workers_min = ctx->cfg.workers_min;
    st->workers_max = ctx->cfg.workers_max;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        if (s->pid == 0 || !s->has_report)
            continue;
        st->connections += s->report.connections_active;
        st->msgs_in_per_s += sup_stats_rate(&s->stats, SUP_STAT_MESSAGES_IN, SUP_RATE_WINDOW_MS);
        st->errors_per_s += sup_stats_rate(&s->stats, SUP_STAT_ERRORS, SUP_RATE_WINDOW_MS);
        st->backend_requests += s->report.backend_requests;
        st->backend_failures += s->report.backend_failures;
        st->backend_timeouts += s->report.backend_timeouts;
        st->backend_breakers_open += s->report.backend_breaker_state != 0;
    }
    st->uptime_s = (now - ctx->started_ms) / 1000;
    st->workers_adopted = sup_adopt_count(ctx);
    snprintf(st->steering, sizeof st->steering, "%s", ctx->steering_cbpf ? "cbpf" : "hash");
    st->autoscale = ctx->scaler.enabled;
    if (ctx->scaler.has_change) {
        snprintf(st->last_scaling, sizeof st->last_scaling, "%u -> %u: %.130s",
                 ctx->scaler.last.current, ctx->scaler.last.desired, ctx->scaler.last.reason);
        st->last_scaling_age_s = (now - ctx->scaler.last_ms) / 1000;
    }
    size_t off = 0;
    for (size_t i = 0; i < ctx->nlistens && off < sizeof st->listen; i++)
        off += (size_t)snprintf(st->listen + off, sizeof st->listen - off, "%s%s", i ? " " : "",
                                ctx->listens[i].name);
}

static void sup_fill_workers(const sup_ctx *ctx, wsf_ctl_response *res, uint64_t now)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t wall_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    unsigned n = ctx->nslots < WSF_CTL_MAX_WORKERS ? ctx->nslots : WSF_CTL_MAX_WORKERS;
    for (unsigned i = 0; i < n; i++) {
        const sup_slot *s = &ctx->slots[i];
        if (s->lc.state == SUP_SLOT_STOPPED && !s->wanted)
            continue; /* slots beyond the fleet's size that hold only their sockets */
        wsf_worker_status *w = &res->workers[res->nworkers++];
        w->slot = i;
        w->pid = (uint32_t)s->pid;
        snprintf(w->state, sizeof w->state, "%s", sup_slot_state_name(s->lc.state));
        w->restarts = s->lc.restart.restarts;
        w->generation = s->generation;
        w->accepting = s->accepting && s->lc.state == SUP_SLOT_RUNNING;
        w->buckets = s->lc.state == SUP_SLOT_RUNNING ? s->buckets : 0;
        snprintf(w->breaker, sizeof w->breaker, "%s", sup_breaker_state_name(s->breaker.state));
        w->failure_rate = sup_breaker_failure_rate(&s->breaker, &ctx->cfg.breaker, now);
        w->times_opened = sup_breaker_times_opened(&s->breaker);
        uint64_t opened = sup_breaker_opened_at(&s->breaker);
        if (opened != 0 && opened <= now && wall_ms > now - opened)
            w->opened_at = (wall_ms - (now - opened)) / 1000; /* rounded once, not per part */
        if (s->pid != 0)
            w->uptime_s = (now - s->started_ms) / 1000;
        if (s->pid != 0 && s->has_report) {
            w->connections = s->report.connections_active;
            w->rss_bytes = s->report.rss_bytes;
            w->msgs_in_per_s = sup_stats_rate(&s->stats, SUP_STAT_MESSAGES_IN, SUP_RATE_WINDOW_MS);
            w->msgs_out_per_s =
                sup_stats_rate(&s->stats, SUP_STAT_MESSAGES_OUT, SUP_RATE_WINDOW_MS);
            w->errors_per_s = sup_stats_rate(&s->stats, SUP_STAT_ERRORS, SUP_RATE_WINDOW_MS);
            w->refused_bad_request = s->report.refused_bad_request;
            w->refused_not_found = s->report.refused_not_found;
            w->refused_upgrade = s->report.refused_upgrade;
            w->refused_origin = s->report.refused_origin;
            w->refused_per_ip = s->report.refused_per_ip;
            w->refused_rate_limited = s->report.refused_rate_limited;
            snprintf(w->backend_breaker, sizeof w->backend_breaker, "%s",
                     sup_backend_breaker_name(s->report.backend_breaker_state));
            w->backend_requests = s->report.backend_requests;
            w->backend_failures = s->report.backend_failures;
            w->backend_timeouts = s->report.backend_timeouts;
            w->backend_breaker_opened = s->report.backend_breaker_opened;
            w->backend_malformed = s->report.backend_malformed;
            w->backend_rejected = s->report.backend_rejected;
        }
    }
}

static int sup_slot_arg(const sup_ctx *ctx, int32_t slot, wsf_ctl_response *res)
{
    if (slot < 0 || (unsigned)slot >= ctx->nslots || !ctx->slots[slot].wanted) {
        snprintf(res->error, sizeof res->error,
                 "no such slot %d in the fleet (wsctl workers "
                 "lists them)",
                 (int)slot);
        return -1;
    }
    return 0;
}

static void sup_ctl_restart(sup_ctx *ctx, const wsf_ctl_request *req, wsf_ctl_response *res)
{
    if (req->slot == -1 && req->rolling) {
        /* One slot at a time: the next victim stops taking connections first; each next slot
         * is recycled when the previous one's replacement says Hello. */
        if (sup_rolling_restart(ctx) != 0) {
            snprintf(res->error, sizeof res->error, "a rolling restart is already running");
            return;
        }
        snprintf(res->message, sizeof res->message, "rolling restart of %u workers started",
                 ctx->desired);
    } else if (req->slot == -1) {
        for (unsigned i = 0; i < ctx->nslots; i++) {
            if (ctx->slots[i].wanted)
                sup_slot_drain(ctx, &ctx->slots[i], ctx->cfg.drain_timeout_ms, true);
        }
        snprintf(res->message, sizeof res->message, "restarting %u workers", ctx->desired);
    } else {
        if (sup_slot_arg(ctx, req->slot, res) != 0)
            return;
        sup_slot_drain(ctx, &ctx->slots[req->slot], ctx->cfg.drain_timeout_ms, true);
        snprintf(res->message, sizeof res->message, "restarting slot %d", (int)req->slot);
    }
    res->ok = true;
}

/* wsctl autoscale on|off [--min N] [--max N]. */
static void sup_ctl_autoscale(sup_ctx *ctx, const wsf_ctl_request *req, wsf_ctl_response *res,
                              uint64_t now)
{
    uint32_t min = req->min ? req->min : ctx->cfg.workers_min;
    uint32_t max = req->max ? req->max : ctx->cfg.workers_max;
    if (max > ctx->nslots) {
        snprintf(res->error, sizeof res->error,
                 "--max %u is above workers.max %u: the fleet has sockets for %u slots", max,
                 ctx->nslots, ctx->nslots);
        return;
    }
    if (min < 1 || min > max) {
        snprintf(res->error, sizeof res->error, "--min %u must be 1..%u", min, max);
        return;
    }
    ctx->cfg.workers_min = min;
    ctx->cfg.scaler.min_workers = min;
    ctx->cfg.scaler.max_workers = max;
    sup_scaler_set_enabled(&ctx->scaler, req->autoscale_on, now);
    wsf_log_info("autoscale %s (min %u, max %u) by wsctl", req->autoscale_on ? "on" : "off", min,
                 max);
    snprintf(res->message, sizeof res->message, "autoscale %s (%u..%u workers)",
             req->autoscale_on ? "on" : "off", min, max);
    res->ok = true;
}

/* wsctl breaker trip|reset SLOT. */
static void sup_ctl_breaker(sup_ctx *ctx, const wsf_ctl_request *req, wsf_ctl_response *res,
                            uint64_t now)
{
    if (sup_slot_arg(ctx, req->slot, res) != 0)
        return;
    sup_slot *slot = &ctx->slots[req->slot];
    sup_breaker_actions acts;
    int rc = req->command == WSF_CTL_BREAKER_TRIP
                 ? sup_breaker_trip(&acts, &slot->breaker, &ctx->cfg.breaker, now, sup_random(ctx))
                 : sup_breaker_reset(&acts, &slot->breaker, &ctx->cfg.breaker, now);
    if (rc == SUP_BREAKER_EALREADY) {
        snprintf(res->error, sizeof res->error, "the breaker of slot %d is already open",
                 (int)req->slot);
        return;
    }
    if (rc != 0) {
        snprintf(res->error, sizeof res->error, "breaker of slot %d: cannot do that now",
                 (int)req->slot);
        return;
    }
    sup_breaker_apply(ctx, slot, &acts);
    snprintf(res->message, sizeof res->message, "slot %d breaker %s", (int)req->slot,
             sup_breaker_state_name(slot->breaker.state));
    res->ok = true;
}

/* Drills: forwards a fault to one worker, after the same checks the worker applies. Only with
 * [drills] enabled = yes ("off" always: it only ends a fault), and a memory fault only when
 * rate x duration stays within [drills] max_memory. */
static void sup_ctl_fault(sup_ctx *ctx, const wsf_ctl_request *req, wsf_ctl_response *res)
{
    enum wsf_fault_kind kind;
    if (sup_slot_arg(ctx, req->slot, res) != 0)
        return;
    if (wsf_fault_parse(&kind, req->fault) != 0) {
        snprintf(res->error, sizeof res->error, "unknown fault '%.32s'", req->fault);
        return;
    }
    if (!ctx->cfg.drills_enabled && kind != WSF_FAULT_OFF) {
        snprintf(res->error, sizeof res->error,
                 "fault injection is off: set [drills] enabled = yes in the configuration");
        return;
    }
    uint32_t duration_ms = req->duration_s > 3600 ? 3600001 : req->duration_s * 1000;
    const char *bad = wsf_fault_check(kind, req->rate, req->fault_ms, duration_ms);
    if (bad != NULL) {
        snprintf(res->error, sizeof res->error, "%s", bad);
        return;
    }
    uint64_t grows = wsf_fault_memory_bytes(kind, req->rate, duration_ms);
    if (grows > ctx->cfg.drills_max_memory) {
        snprintf(res->error, sizeof res->error,
                 "a memory fault of %g MiB/s for %u s grows to %llu MiB, over [drills] "
                 "max_memory (%llu MiB)",
                 req->rate, req->duration_s, (unsigned long long)(grows >> 20),
                 (unsigned long long)(ctx->cfg.drills_max_memory >> 20));
        return;
    }
    sup_slot *slot = &ctx->slots[req->slot];
    wsf_command cmd = {.kind = WSF_CMD_FAULT,
                       .fault_value = req->rate,
                       .fault_ms = req->fault_ms,
                       .duration_ms = duration_ms};
    snprintf(cmd.fault, sizeof cmd.fault, "%s", req->fault);
    if (sup_send_command(ctx, slot, &cmd) != 0) {
        snprintf(res->error, sizeof res->error, "slot %d has no connected worker", (int)req->slot);
        return;
    }
    wsf_log_warn("slot %d: fault %s injected by wsctl (rate %g, %u ms, for %u ms)", (int)req->slot,
                 req->fault, req->rate, req->fault_ms, duration_ms);
    snprintf(res->message, sizeof res->message, "fault %s sent to slot %d (pid %d)", req->fault,
             (int)req->slot, (int)slot->pid);
    res->ok = true;
}

void sup_ctl_handle(sup_ctx *ctx, const wsf_ctl_request *req, wsf_ctl_response *res)
{
    uint64_t now = sup_now_ms();
    snprintf(res->server_version, sizeof res->server_version, "%s", SUP_VERSION);
    res->upgrades = ctx->upgrades;
    if (ctx->stopping && req->command != WSF_CTL_STATUS && req->command != WSF_CTL_WORKERS &&
        req->command != WSF_CTL_VERSION) {
        snprintf(res->error, sizeof res->error, "the fleet is stopping");
        return;
    }
    switch (req->command) {
    case WSF_CTL_STATUS:
        res->has_status = true;
        sup_ctl_fill_status(ctx, &res->status, now);
        sup_channels_status(ctx, res);
        res->ok = true;
        return;
    case WSF_CTL_WORKERS:
    case WSF_CTL_BREAKER_LIST:
        sup_fill_workers(ctx, res, now);
        res->ok = true;
        return;
    case WSF_CTL_BREAKER_TRIP:
    case WSF_CTL_BREAKER_RESET:
        sup_ctl_breaker(ctx, req, res, now);
        return;
    case WSF_CTL_VERSION:
        snprintf(res->message, sizeof res->message, "wsfleetd %s", SUP_VERSION);
        res->ok = true;
        return;
    case WSF_CTL_SCALE: {
        unsigned before = ctx->desired;
        if (sup_scale(ctx, req->count, res->error, sizeof res->error) != 0)
            return;
        /* A manual size switches autoscaling off: the operator has taken over. */
        bool was_on = ctx->scaler.enabled;
        sup_scaler_on_manual(&ctx->scaler, before, req->count, now);
        snprintf(res->message, sizeof res->message, "scaling to %u workers%s", req->count,
                 was_on ? "; autoscaling is now off" : "");
        sup_events_add(ctx, "scale", -1, "%u -> %u workers (manual)", before, req->count);
        res->ok = true;
        return;
    }
    case WSF_CTL_AUTOSCALE:
        sup_ctl_autoscale(ctx, req, res, now);
        return;
    case WSF_CTL_RESTART:
        sup_ctl_restart(ctx, req, res);
        return;
    case WSF_CTL_DRAIN:
        if (sup_slot_arg(ctx, req->slot, res) != 0)
            return;
        sup_slot_drain(ctx, &ctx->slots[req->slot], ctx->cfg.drain_timeout_ms, true);
        snprintf(res->message, sizeof res->message, "draining slot %d over %u ms", (int)req->slot,
                 ctx->cfg.drain_timeout_ms);
        res->ok = true;
        return;
    case WSF_CTL_SHUTDOWN: {
        uint32_t ms = req->drain_s ? req->drain_s * 1000 : ctx->cfg.drain_timeout_ms;
        sup_stop(ctx, ms, "wsctl shutdown");
        snprintf(res->message, sizeof res->message, "stopping, draining over %u ms", ms);
        res->ok = true;
        return;
    }
    case WSF_CTL_RELOAD:
        sup_reload(ctx, res);
        return;
    case WSF_CTL_FAULT:
        sup_ctl_fault(ctx, req, res);
        return;
    case WSF_CTL_UPGRADE:
        sup_upgrade_request(ctx, res);
        return;
    case WSF_CTL_PUBLISH:
    case WSF_CTL_HISTORY:
    case WSF_CTL_CHANNELS:
        sup_channels_ctl(ctx, req, res); /* most often answered later */
        return;
    case WSF_CTL_ALERTS:
        sup_alerting_ctl(ctx, res);
        return;
    case WSF_CTL_CLUSTER:
        sup_channels_cluster(ctx, res);
        return;
    default:
        snprintf(res->error, sizeof res->error, "unknown command");
        return;
    }
}
