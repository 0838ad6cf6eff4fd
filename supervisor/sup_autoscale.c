/* Load-driven fleet size and rebalancing, applied once a second: the pure scaler and rebalancer
 * (sup_scaler) decide from the slots' latest Reports; this turns their decisions into spawns,
 * drains and shed commands. */
#include <stdio.h>

#include "sup_ctx.h"
#include "sup_admin.h"
#include "wsf_log.h"

#define SUP_BUSY_WINDOW_MS 10000

/* The running, wanted workers as the scaler sees them. Returns how many. */
static size_t sup_scaler_view(const sup_ctx *ctx, sup_scaler_worker *out, uint64_t now)
{
    size_t n = 0;
    uint64_t stale_ms = 3 * (uint64_t)ctx->cfg.report_interval_ms;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        if (!s->wanted || s->lc.state != SUP_SLOT_RUNNING)
            continue;
        sup_scaler_worker *w = &out[n++];
        w->slot = i;
        w->connections = s->has_report ? s->report.connections_active : 0;
        w->busy = sup_stats_rate(&s->stats, SUP_STAT_CPU, SUP_BUSY_WINDOW_MS);
        w->has_report = s->has_report && now - s->last_report_ms <= stale_ms;
        w->started_ms = s->started_ms;
    }
    return n;
}

static void sup_autoscale(sup_ctx *ctx, const sup_scaler_worker *w, size_t n, uint64_t now)
{
    sup_scaler_decision d;
    if (sup_scaler_tick(&d, &ctx->scaler, &ctx->cfg.scaler, now, ctx->desired, w, n) < 0)
        return;
    char err[128];
    switch (d.action) {
    case SUP_SCALER_UP:
        wsf_log_info("autoscale: up to %u workers: %s", d.desired, d.reason);
        sup_events_add(ctx, "scale", -1, "autoscale: up to %u workers: %s", d.desired, d.reason);
        if (sup_scale(ctx, d.desired, err, sizeof err) != 0)
            wsf_log_warn("autoscale: %s", err);
        return;
    case SUP_SCALER_DOWN:
        if (d.drain_slot < 0 || (unsigned)d.drain_slot >= ctx->nslots)
            return;
        wsf_log_info("autoscale: down to %u workers, draining slot %d: %s", d.desired,
                     (int)d.drain_slot, d.reason);
        sup_events_add(ctx, "scale", -1, "autoscale: down to %u workers, draining slot %d: %s",
                       d.desired, (int)d.drain_slot, d.reason);
        sup_scale_down_slot(ctx, &ctx->slots[d.drain_slot]);
        sup_sockets_steer(ctx);
        return;
    default:
        return;
    }
}

/* A worker well above the mean closes some connections with 1012 so that they reconnect to the
 * lighter ones, which steering favours meanwhile. */
static void sup_rebalance_fleet(sup_ctx *ctx, const sup_scaler_worker *all, size_t nall,
                                uint64_t now)
{
    /* Only workers that may take connections count: an ejected one's empty slot would drag
     * the mean down and make the healthy ones shed clients that cannot go there anyway. */
    sup_scaler_worker w[SUP_MAX_SLOTS];
    size_t n = 0;
    for (size_t i = 0; i < nall; i++) {
        const sup_slot *s = &ctx->slots[all[i].slot];
        if (s->accepting && s->breaker.state == SUP_BREAKER_CLOSED)
            w[n++] = all[i];
    }
    sup_rebalance_action acts[SUP_MAX_SLOTS];
    size_t k =
        sup_rebalance_tick(acts, SUP_MAX_SLOTS, &ctx->rebalance, &ctx->cfg.rebalance, now, w, n);
    for (size_t i = 0; i < k; i++) {
        sup_slot *s = &ctx->slots[acts[i].slot];
        wsf_command cmd = {.kind = WSF_CMD_SHED, .shed_count = acts[i].count};
        wsf_log_info("rebalance: slot %u holds %u connections: shedding %u with 1012", s->index,
                     s->report.connections_active, acts[i].count);
        sup_events_add(ctx, "shed", (int)s->index, "rebalance: shedding %u of %u connections",
                       acts[i].count, s->report.connections_active);
        sup_send_command(ctx, s, &cmd);
    }
}

void sup_autoscale_tick(sup_ctx *ctx, uint64_t now)
{
    if (ctx->stopping || ctx->roll.active)
        return;
    sup_scaler_worker w[SUP_MAX_SLOTS];
    size_t n = sup_scaler_view(ctx, w, now);
    sup_autoscale(ctx, w, n, now);
    if (ctx->cfg.rebalance_enabled)
        sup_rebalance_fleet(ctx, w, n, now);
}
