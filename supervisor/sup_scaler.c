/* Autoscaler and rebalancer: recommendations, tolerance, stabilization, limits and shedding. */
#include "sup_scaler.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const sup_scaler_action_names[] = {
    [SUP_SCALER_HOLD] = "hold",
    [SUP_SCALER_UP] = "up",
    [SUP_SCALER_DOWN] = "down",
};

/* The load of the fleet as the scaler sees it. */
typedef struct sup_scaler_load {
    uint32_t count;    /* workers the load is spread over */
    uint32_t measured; /* those with a Report and past their warmup */
    uint64_t conns;    /* connections of the measured ones */
    double busy;       /* busyness of the measured ones, summed */
} sup_scaler_load;

/* One signal's view of the load in one direction. */
typedef struct sup_scaler_signal {
    const char *name; /* "connections" or "busy" */
    double mean;      /* per worker */
    double target;
    double ratio;     /* mean / target */
    uint32_t workers; /* ceil(count * ratio) */
} sup_scaler_signal;

void sup_scaler_policy_init(sup_scaler_policy *p)
{
    p->target_connections = 1000;
    p->target_busy = 0.7;
    p->tolerance = 0.1;
    p->up_window_ms = 15000;
    p->up_factor = 2.0;
    p->up_step = 4;
    p->down_window_ms = 300000;
    p->down_interval_ms = 60000;
    p->warmup_ms = 30000;
    p->min_workers = 1;
    p->max_workers = SUP_SCALER_MAX_WORKERS;
}

int sup_scaler_policy_check(const sup_scaler_policy *p)
{
    if (p->min_workers < 1 || p->min_workers > p->max_workers ||
        p->max_workers > SUP_SCALER_MAX_WORKERS)
        return SUP_SCALER_EPOLICY;
    if (p->target_connections == 0 && !(p->target_busy > 0.0))
        return SUP_SCALER_EPOLICY;
    if (!(p->tolerance >= 0.0 && p->tolerance < 1.0) || !(p->up_factor >= 1.0))
        return SUP_SCALER_EPOLICY;
    return 0;
}

/* Forgets the history and any open scale-up window: the next tick starts observing anew. */
static void sup_scaler_restart(sup_scaler *st)
{
    st->observing = false;
    st->nhistory = 0;
    st->head = 0;
    st->up_open = false;
}

void sup_scaler_init(sup_scaler *st)
{
    memset(st, 0, sizeof *st);
    st->enabled = true;
    st->last.drain_slot = -1;
}

void sup_scaler_set_enabled(sup_scaler *st, bool on, uint64_t now_ms)
{
    if (on && !st->enabled) {
        sup_scaler_restart(st);
        st->observing = true;
        st->since_ms = now_ms;
    }
    st->enabled = on;
}

void sup_scaler_on_manual(sup_scaler *st, uint32_t current, uint32_t desired, uint64_t now_ms)
{
    sup_scaler_decision *d = &st->last;
    memset(d, 0, sizeof *d);
    d->action = desired > current   ? SUP_SCALER_UP
                : desired < current ? SUP_SCALER_DOWN
                                    : SUP_SCALER_HOLD;
    d->current = current;
    d->desired = desired;
    d->recommend = desired;
    d->drain_slot = -1;
    snprintf(d->reason, sizeof d->reason, "manual scale %u -> %u workers, autoscaling off", current,
             desired);
    st->has_change = true;
    st->last_ms = now_ms;
    st->enabled = false;
    sup_scaler_restart(st);
}

const char *sup_scaler_action_name(int action)
{
    if (action < 0 || action > SUP_SCALER_DOWN)
        return "?";
    return sup_scaler_action_names[action];
}

static uint64_t sup_age(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? now_ms - then_ms : 0;
}

/* ceil(x) for a worker count, saturating; 0 for NaN and anything not positive. */
static uint32_t sup_scaler_ceil(double x)
{
    if (!(x > 0.0))
        return 0;
    if (x >= (double)UINT32_MAX)
        return UINT32_MAX;
    return (uint32_t)ceil(x);
}

static uint32_t sup_scaler_clamp(const sup_scaler_policy *p, uint32_t n)
{
    if (n < p->min_workers)
        return p->min_workers;
    return n > p->max_workers ? p->max_workers : n;
}

static void sup_scaler_measure(sup_scaler_load *out, const sup_scaler_policy *p, uint64_t now_ms,
                               uint32_t current, const sup_scaler_worker *w, size_t n)
{
    memset(out, 0, sizeof *out);
    out->count = n > current ? (uint32_t)n : current;
    for (size_t i = 0; i < n; i++) {
        if (!w[i].has_report || sup_age(now_ms, w[i].started_ms) < p->warmup_ms)
            continue;
        out->measured++;
        out->conns += w[i].connections;
        if (w[i].busy > 0.0) /* also drops NaN */
            out->busy += w[i].busy;
    }
}

/* The stronger signal in one direction: unmeasured workers count as 0 % of target when going up
 * and as 100 % when going down. */
static sup_scaler_signal sup_scaler_signal_of(const sup_scaler_policy *p, const sup_scaler_load *l,
                                              bool down)
{
    sup_scaler_signal best = {"connections", 0.0, (double)p->target_connections, 0.0, 0};
    if (l->count == 0)
        return best;
    uint32_t unmeasured = l->count - l->measured;
    if (p->target_connections > 0) {
        uint64_t tc = p->target_connections;
        uint64_t total = l->conns + (down ? (uint64_t)unmeasured * tc : 0);
        best.mean = (double)total / l->count;
        best.ratio = best.mean / (double)tc;
        uint64_t k = (total + tc - 1) / tc; /* exact, unlike count * ratio in doubles */
        best.workers = k > UINT32_MAX ? UINT32_MAX : (uint32_t)k;
    }
    if (p->target_busy > 0.0) {
        double total = l->busy + (down ? unmeasured * p->target_busy : 0.0);
        sup_scaler_signal b = {"busy", total / l->count, p->target_busy, 0.0, 0};
        b.ratio = b.mean / p->target_busy;
        b.workers = sup_scaler_ceil(total / p->target_busy - 1e-9);
        if (p->target_connections == 0 || b.ratio > best.ratio)
            best = b;
    }
    return best;
}

/* Appends to the decision's reason (truncating). */
__attribute__((format(printf, 2, 3))) static void sup_scaler_say(sup_scaler_decision *d,
                                                                 const char *fmt, ...)
{
    size_t len = strlen(d->reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason + len, sizeof d->reason - len, fmt, ap);
    va_end(ap);
}

/* Appends "connections 412/250 per worker (165 %)" or "busy 0.91/0.70 per worker (130 %)". */
static void sup_scaler_describe(sup_scaler_decision *d, const sup_scaler_signal *s)
{
    if (strcmp(s->name, "busy") == 0)
        sup_scaler_say(d, "busy %.2f/%.2f per worker (%.0f %%)", s->mean, s->target,
                       s->ratio * 100.0);
    else
        sup_scaler_say(d, "connections %.0f/%.0f per worker (%.0f %%)", s->mean, s->target,
                       s->ratio * 100.0);
}

/* Adds a recommendation to the history, which keeps only the entries that can still be the
 * maximum of the window: each entry is larger than every newer one. */
static void sup_scaler_remember(sup_scaler *st, const sup_scaler_policy *p, uint64_t now_ms,
                                uint32_t rec)
{
    while (st->nhistory > 0 && sup_age(now_ms, st->history[st->head].t_ms) >= p->down_window_ms) {
        st->head = (st->head + 1) % SUP_SCALER_HISTORY;
        st->nhistory--;
    }
    while (st->nhistory > 0) {
        unsigned back = (st->head + st->nhistory - 1) % SUP_SCALER_HISTORY;
        if (st->history[back].workers > rec)
            break;
        st->nhistory--;
    }
    if (st->nhistory == SUP_SCALER_HISTORY) {
        /* Cannot happen with clamped values; keeping the larger value longer only delays a
         * scale-down. */
        unsigned back = (st->head + st->nhistory - 1) % SUP_SCALER_HISTORY;
        st->history[back].t_ms = now_ms;
        return;
    }
    unsigned at = (st->head + st->nhistory) % SUP_SCALER_HISTORY;
    st->history[at].t_ms = now_ms;
    st->history[at].workers = rec;
    st->nhistory++;
}

/* The most workers a scale-up may reach now: opens a window at the first scale-up after the
 * previous one has ended. */
static uint32_t sup_scaler_up_limit(sup_scaler *st, const sup_scaler_policy *p, uint64_t now_ms,
                                    uint32_t current)
{
    if (!st->up_open || sup_age(now_ms, st->up_start_ms) >= p->up_window_ms) {
        st->up_open = true;
        st->up_start_ms = now_ms;
        st->up_base = current;
    }
    double f = (double)st->up_base * p->up_factor;
    uint64_t by_factor = f >= (double)UINT32_MAX ? UINT32_MAX : (uint64_t)f;
    uint64_t by_step = (uint64_t)st->up_base + p->up_step;
    uint64_t limit = by_factor > by_step ? by_factor : by_step;
    return limit > p->max_workers ? p->max_workers : (uint32_t)limit;
}

/* The worker to drain: fewest connections among those with a Report (any if none has one), ties
 * to the highest slot. -1 when n is 0. */
static int32_t sup_scaler_least_loaded(const sup_scaler_worker *w, size_t n)
{
    const sup_scaler_worker *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const sup_scaler_worker *c = &w[i];
        if (best == NULL || (c->has_report && !best->has_report)) {
            best = c;
            continue;
        }
        if (c->has_report != best->has_report)
            continue;
        if (c->connections < best->connections ||
            (c->connections == best->connections && c->slot > best->slot))
            best = c;
    }
    return best != NULL ? (int32_t)best->slot : -1;
}

/* Decides a count below the current one: stabilized, stepped, and draining the least-loaded.
 * Appends why to the reason. */
static void sup_scaler_decide_down(sup_scaler_decision *d, sup_scaler *st,
                                   const sup_scaler_policy *p, uint64_t now_ms,
                                   const sup_scaler_worker *w, size_t n)
{
    uint32_t highest = st->history[st->head].workers;
    unsigned long long window_s = (unsigned long long)(p->down_window_ms / 1000);
    if (sup_age(now_ms, st->since_ms) < p->down_window_ms) {
        sup_scaler_say(d, "; held: less than %llu s of history", window_s);
    } else if (highest >= d->current) {
        sup_scaler_say(d, "; held: highest recommendation of the last %llu s is %u", window_s,
                       highest);
    } else if (st->has_down && sup_age(now_ms, st->last_down_ms) < p->down_interval_ms) {
        sup_scaler_say(d, "; held: one worker per %llu s",
                       (unsigned long long)(p->down_interval_ms / 1000));
    } else {
        d->action = SUP_SCALER_DOWN;
        d->desired = d->current - 1;
        d->drain_slot = sup_scaler_least_loaded(w, n);
        st->has_down = true;
        st->last_down_ms = now_ms;
        sup_scaler_say(d, "; down to %u, draining slot %d", d->desired, (int)d->drain_slot);
    }
}

int sup_scaler_tick(sup_scaler_decision *out, sup_scaler *st, const sup_scaler_policy *p,
                    uint64_t now_ms, uint32_t current, const sup_scaler_worker *w, size_t n)
{
    if (sup_scaler_policy_check(p) != 0)
        return SUP_SCALER_EPOLICY;
    sup_scaler_decision d = {0};
    d.action = SUP_SCALER_HOLD;
    d.current = current;
    d.desired = current;
    d.recommend = current;
    d.drain_slot = -1;
    if (!st->enabled) {
        sup_scaler_say(&d, "autoscaling off");
        *out = d;
        return d.action;
    }
    if (!st->observing) {
        st->observing = true;
        st->since_ms = now_ms;
    }

    sup_scaler_load load;
    sup_scaler_measure(&load, p, now_ms, current, w, n);
    sup_scaler_signal up = sup_scaler_signal_of(p, &load, false);
    sup_scaler_signal down = sup_scaler_signal_of(p, &load, true);
    d.ratio_up = up.ratio;
    d.ratio_down = down.ratio;

    const sup_scaler_signal *s = NULL;
    if (up.ratio > 1.0 + p->tolerance)
        s = &up;
    else if (down.ratio < 1.0 - p->tolerance)
        s = &down;
    d.recommend = sup_scaler_clamp(p, s != NULL ? s->workers : current);
    sup_scaler_remember(st, p, now_ms, d.recommend);

    if (current < p->min_workers) {
        d.action = SUP_SCALER_UP;
        d.desired = p->min_workers;
        sup_scaler_say(&d, "below the minimum of %u workers", p->min_workers);
    } else if (current > p->max_workers) {
        /* One at a time: a decision names one worker to drain. */
        d.action = SUP_SCALER_DOWN;
        d.desired = current - 1;
        d.drain_slot = sup_scaler_least_loaded(w, n);
        sup_scaler_say(&d, "above the maximum of %u workers; draining slot %d", p->max_workers,
                       (int)d.drain_slot);
    } else if (s == NULL) {
        sup_scaler_say(&d, "within %.0f %% of target: ", p->tolerance * 100.0);
        sup_scaler_describe(&d, &up);
    } else {
        sup_scaler_describe(&d, s);
        sup_scaler_say(&d, " -> %u workers", d.recommend);
        if (d.recommend > current) {
            uint32_t limit = sup_scaler_up_limit(st, p, now_ms, current);
            d.desired = d.recommend < limit ? d.recommend : limit;
            if (d.desired > current)
                d.action = SUP_SCALER_UP;
            if (d.desired < d.recommend)
                sup_scaler_say(&d, "; limited to %u in this %llu s", limit,
                               (unsigned long long)(p->up_window_ms / 1000));
        } else if (d.recommend < current) {
            sup_scaler_decide_down(&d, st, p, now_ms, w, n);
        }
    }

    if (d.action != SUP_SCALER_HOLD) {
        st->has_change = true;
        st->last_ms = now_ms;
        st->last = d;
    }
    *out = d;
    return d.action;
}

void sup_rebalance_policy_init(sup_rebalance_policy *p)
{
    p->above = 0.1;
    p->min_excess = 50;
    p->fraction = 0.1;
    p->interval_ms = 60000;
}

void sup_rebalance_init(sup_rebalance *st)
{
    memset(st, 0, sizeof *st);
}

size_t sup_rebalance_tick(sup_rebalance_action *out, size_t cap, sup_rebalance *st,
                          const sup_rebalance_policy *p, uint64_t now_ms,
                          const sup_scaler_worker *w, size_t n)
{
    uint64_t sum = 0;
    uint64_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i].has_report) {
            sum += w[i].connections;
            count++;
        }
    }
    if (count < 2)
        return 0;
    double mean = (double)sum / (double)count;
    uint64_t floor_to = (sum + count - 1) / count; /* never shed below the mean */
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        uint32_t slot = w[i].slot;
        uint32_t c = w[i].connections;
        if (!w[i].has_report || slot >= SUP_SCALER_MAX_WORKERS)
            continue;
        if (!((double)c > mean * (1.0 + p->above)) || (double)c - mean <= (double)p->min_excess)
            continue; /* within the band, or within what hashing alone spreads unevenly */
        if (st->has_shed[slot] && sup_age(now_ms, st->shed_ms[slot]) < p->interval_ms)
            continue;
        double quota = p->fraction > 0.0 ? floor((double)c * p->fraction) : 0.0;
        uint64_t shed = quota < (double)c ? (uint64_t)quota : c;
        uint64_t excess = c > floor_to ? c - floor_to : 0;
        if (shed > excess)
            shed = excess;
        if (shed == 0)
            continue;
        out[k].slot = slot;
        out[k].count = (uint32_t)shed;
        k++;
        st->has_shed[slot] = true;
        st->shed_ms[slot] = now_ms;
    }
    return k;
}
