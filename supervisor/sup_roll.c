/* Rolling restart and scaling: which slots are in the fleet, and replacing their workers one at a
 * time. */
#include "sup_roll.h"

#include <stdio.h>

#include "sup_ctx.h"
#include "wsf_log.h"

int sup_next_wanted(const sup_ctx *ctx, unsigned from)
{
    for (unsigned i = from; i < ctx->nslots; i++) {
        if (ctx->slots[i].wanted)
            return (int)i;
    }
    return -1;
}

/* A slot the roll still has to replace: in the fleet, with a worker spawned before the roll
 * began. Slots without a worker (backoff, failed) get the new settings at their next spawn. */
static bool sup_roll_owes(const sup_ctx *ctx, const sup_slot *s)
{
    if (ctx->roll.binary_only && sup_binid_equal(&s->bin, &ctx->roll.bin))
        return false;
    return s->wanted && s->spawn_seq <= ctx->roll.since &&
           (s->lc.state == SUP_SLOT_STARTING || s->lc.state == SUP_SLOT_RUNNING ||
            s->lc.state == SUP_SLOT_ADOPTED);
}

static int sup_roll_find(const sup_ctx *ctx, unsigned from)
{
    for (unsigned i = from; i < ctx->nslots; i++) {
        if (sup_roll_owes(ctx, &ctx->slots[i]))
            return (int)i;
    }
    return -1;
}

/* Drains the next slot the roll owes at or after from (then from the start, for slots that owe
 * again since a renewal), or ends the roll. */
static void sup_roll_advance(sup_ctx *ctx, unsigned from)
{
    int i = sup_roll_find(ctx, from);
    if (i < 0)
        i = sup_roll_find(ctx, 0);
    if (i < 0) {
        ctx->roll.active = false;
        wsf_log_info("rolling restart: done");
        return;
    }
    sup_slot *s = &ctx->slots[i];
    ctx->roll.cur = (unsigned)i;
    ctx->roll.cur_seq = s->spawn_seq;
    /* The next victim stops taking connections now, so few are there to drain when its turn
     * comes. */
    int next = sup_roll_find(ctx, (unsigned)i + 1);
    if (next >= 0)
        sup_slot_set_accepting(ctx, &ctx->slots[next], false);
    wsf_log_info("rolling restart: replacing slot %d (pid %d)", i, (int)s->pid);
    sup_slot_drain(ctx, s, ctx->cfg.drain_timeout_ms, true);
}

int sup_rolling_restart(sup_ctx *ctx)
{
    if (ctx->roll.active)
        return -1;
    ctx->roll.active = true;
    ctx->roll.binary_only = false;
    ctx->roll.since = ctx->spawns;
    sup_roll_advance(ctx, 0);
    return 0;
}

void sup_roll_binary(sup_ctx *ctx, const sup_binid *cur)
{
    if (ctx->roll.active)
        return;
    ctx->roll.active = true;
    ctx->roll.binary_only = true;
    ctx->roll.bin = *cur;
    ctx->roll.since = ctx->spawns;
    sup_roll_advance(ctx, 0);
}

void sup_roll_renew(sup_ctx *ctx)
{
    if (!ctx->roll.active) {
        sup_rolling_restart(ctx);
        return;
    }
    /* Workers the roll already replaced run settings that are stale now too. */
    ctx->roll.since = ctx->spawns;
    ctx->roll.binary_only = false;
    wsf_log_info("rolling restart: settings changed again; every worker spawned so far is "
                 "replaced");
}

void sup_roll_cancel(sup_ctx *ctx)
{
    ctx->roll.active = false;
}

void sup_roll_on_slot(sup_ctx *ctx, sup_slot *slot)
{
    if (!ctx->roll.active || slot->index != ctx->roll.cur)
        return;
    enum sup_slot_state st = slot->lc.state;
    bool replaced = slot->spawn_seq > ctx->roll.cur_seq;
    if (!slot->wanted || ctx->stopping) {
        wsf_log_info("rolling restart: slot %u left the fleet; moving on", slot->index);
    } else if (replaced && st == SUP_SLOT_RUNNING) {
        wsf_log_info("rolling restart: slot %u is back (pid %d)", slot->index, (int)slot->pid);
    } else if (st == SUP_SLOT_BACKOFF || st == SUP_SLOT_FAILED || st == SUP_SLOT_STOPPED) {
        /* Its replacement could not start or died before its Hello: the restart policy keeps
         * retrying it with the new settings; the roll does not wait for that. */
        wsf_log_warn("rolling restart: slot %u has no worker up (%s); moving on", slot->index,
                     sup_slot_state_name(st));
    } else {
        return; /* draining, or its replacement is starting */
    }
    sup_roll_advance(ctx, slot->index + 1);
}

void sup_scale_down_slot(sup_ctx *ctx, sup_slot *slot)
{
    if (!slot->wanted)
        return;
    slot->wanted = false;
    ctx->desired--;
    sup_slot_drain(ctx, slot, ctx->cfg.drain_timeout_ms, false);
}

int sup_scale(sup_ctx *ctx, unsigned desired, char *err, size_t errcap)
{
    if (desired < ctx->cfg.workers_min || desired > ctx->cfg.workers_max) {
        snprintf(err, errcap, "%u is outside workers.min..workers.max (%u..%u)", desired,
                 ctx->cfg.workers_min, ctx->cfg.workers_max);
        return -1;
    }
    if (desired != ctx->desired)
        wsf_log_info("scaling from %u to %u workers", ctx->desired, desired);
    for (unsigned i = 0; i < ctx->nslots && ctx->desired < desired; i++) {
        sup_slot *s = &ctx->slots[i];
        if (s->wanted)
            continue;
        s->wanted = true;
        ctx->desired++;
        sup_slot_event(ctx, s, SUP_LC_EV_WANT, 0, 0);
    }
    for (unsigned i = ctx->nslots; i-- > 0 && ctx->desired > desired;)
        sup_scale_down_slot(ctx, &ctx->slots[i]);
    sup_sockets_steer(ctx);
    return 0;
}
