/* The alert rules: pending, firing and resolved, on the caller's clock. */
#include "sup_alerts.h"

#include <stdio.h>
#include <string.h>

void sup_alerts_init(sup_alerts *a)
{
    memset(a, 0, sizeof *a);
    for (int r = 0; r < SUP_ALERT_NRULES; r++) {
        for (int i = 0; i < SUP_ALERTS_MAX_SLOTS; i++) {
            a->inst[r][i].rule = (enum sup_alert_rule)r;
            a->inst[r][i].slot = i;
        }
    }
}

static bool sup_alerts_per_slot(int r)
{
    return r == SUP_ALERT_SLOT_FAILED || r == SUP_ALERT_BREAKER_OPEN;
}

/* Whether instance i of rule r sees its condition in in; *value and *threshold get what it
 * compares. */
static bool sup_alerts_holds(int r, unsigned i, const sup_alerts_cfg *cfg,
                             const sup_alerts_input *in, double *value, double *threshold)
{
    *value = 0.0;
    *threshold = 0.0;
    switch ((enum sup_alert_rule)r) {
    case SUP_ALERT_SLOT_FAILED:
        return i < in->nslots && in->slot[i].present && in->slot[i].failed;
    case SUP_ALERT_BREAKER_OPEN:
        return i < in->nslots && in->slot[i].present && in->slot[i].breaker_open;
    case SUP_ALERT_FLEET_DEGRADED:
        return in->degraded;
    case SUP_ALERT_ERROR_RATE:
        *value = in->error_rate;
        *threshold = cfg->error_rate_above;
        return in->error_rate > cfg->error_rate_above;
    case SUP_ALERT_P99_LATENCY:
        *value = in->has_p99 ? in->p99_us : 0.0;
        *threshold = cfg->p99_above_us;
        return in->has_p99 && in->p99_us > cfg->p99_above_us;
    case SUP_ALERT_SIDECAR_DOWN:
        return in->sidecar == 0;
    case SUP_ALERT_NRULES:
        break;
    }
    return false;
}

static void sup_alerts_remember(sup_alerts *a, const sup_alert *al)
{
    a->recent_head = (a->recent_head + SUP_ALERTS_RECENT - 1) % SUP_ALERTS_RECENT;
    a->recent[a->recent_head] = *al;
    if (a->nrecent < SUP_ALERTS_RECENT)
        a->nrecent++;
}

size_t sup_alerts_eval(sup_alerts *a, const sup_alerts_cfg *cfg, const sup_alerts_input *in,
                       sup_alert *out, size_t cap)
{
    size_t n = 0;
    for (int r = 0; r < SUP_ALERT_NRULES; r++) {
        unsigned count = sup_alerts_per_slot(r) ? SUP_ALERTS_MAX_SLOTS : 1;
        for (unsigned i = 0; i < count; i++) {
            sup_alert *al = &a->inst[r][i];
            double value, threshold;
            bool holds =
                cfg->rule[r].enabled && sup_alerts_holds(r, i, cfg, in, &value, &threshold);
            al->slot = sup_alerts_per_slot(r) ? (int)i : -1;
            if (!holds) {
                if (al->firing) {
                    al->firing = false;
                    al->ends_ms = in->wall_ms;
                    sup_alerts_remember(a, al);
                    if (n < cap)
                        out[n++] = *al;
                }
                al->pending = false;
                continue;
            }
            al->value = value;
            al->threshold = threshold;
            if (!al->pending) {
                al->pending = true;
                al->pending_ms = in->now_ms;
            }
            if (!al->firing && in->now_ms - al->pending_ms >= cfg->rule[r].for_ms) {
                al->firing = true;
                al->starts_ms = in->wall_ms;
                al->ends_ms = 0;
                al->for_ms = cfg->rule[r].for_ms;
                if (n < cap)
                    out[n++] = *al;
            }
        }
    }
    return n;
}

void sup_alerts_each_firing(const sup_alerts *a, void (*fn)(const sup_alert *al, void *arg),
                            void *arg)
{
    for (int r = 0; r < SUP_ALERT_NRULES; r++) {
        for (int i = 0; i < SUP_ALERTS_MAX_SLOTS; i++) {
            if (a->inst[r][i].firing)
                fn(&a->inst[r][i], arg);
        }
    }
}

static void sup_alerts_count_one(const sup_alert *al, void *arg)
{
    (void)al;
    (*(size_t *)arg)++;
}

size_t sup_alerts_firing_count(const sup_alerts *a)
{
    size_t n = 0;
    sup_alerts_each_firing(a, sup_alerts_count_one, &n);
    return n;
}

const sup_alert *sup_alerts_recent_at(const sup_alerts *a, size_t i)
{
    if (i >= a->nrecent)
        return NULL;
    return &a->recent[(a->recent_head + i) % SUP_ALERTS_RECENT];
}

uint32_t sup_alerts_quantile_us(const uint64_t counts[WSF_HIST_BUCKETS + 1], double q,
                                uint64_t *events)
{
    uint64_t total = 0;
    for (int i = 0; i <= WSF_HIST_BUCKETS; i++)
        total += counts[i];
    *events = total;
    if (total == 0)
        return 0;
    double rank = q * (double)total, below = 0.0;
    for (int i = 0; i < WSF_HIST_BUCKETS; i++) {
        if (counts[i] > 0 && below + (double)counts[i] >= rank) {
            double lo = i == 0 ? 0.0 : (double)(UINT64_C(1) << (i - 1));
            double hi = (double)(UINT64_C(1) << i);
            double us = lo + (hi - lo) * (rank - below) / (double)counts[i];
            return (uint32_t)(us + 0.5);
        }
        below += (double)counts[i];
    }
    return SUP_ALERTS_P99_OVER_US;
}

const char *sup_alert_severity(enum sup_alert_rule r)
{
    return r == SUP_ALERT_FLEET_DEGRADED || r == SUP_ALERT_SIDECAR_DOWN ? "critical" : "warning";
}

void sup_alert_summary(char *out, size_t size, const sup_alert *al)
{
    switch (al->rule) {
    case SUP_ALERT_SLOT_FAILED:
        snprintf(out, size, "worker slot %d failed", al->slot);
        break;
    case SUP_ALERT_BREAKER_OPEN:
        snprintf(out, size, "breaker of slot %d open", al->slot);
        break;
    case SUP_ALERT_FLEET_DEGRADED:
        snprintf(out, size, "fleet degraded");
        break;
    case SUP_ALERT_ERROR_RATE:
        snprintf(out, size, "fleet error rate %.2f/s above %.2f/s", al->value, al->threshold);
        break;
    case SUP_ALERT_P99_LATENCY:
        snprintf(out, size, "p99 event latency %.3f ms above %.3f ms", al->value / 1000.0,
                 al->threshold / 1000.0);
        break;
    case SUP_ALERT_SIDECAR_DOWN:
        snprintf(out, size, "nats-server sidecar down");
        break;
    default:
        snprintf(out, size, "?");
        break;
    }
}

void sup_alert_description(char *out, size_t size, const sup_alert *al)
{
    double for_s = (double)al->for_ms / 1000.0;
    switch (al->rule) {
    case SUP_ALERT_SLOT_FAILED:
        snprintf(out, size,
                 "slot %d exited too often in the restart window (or with code 100): it is "
                 "failed and retried only every [restart] max_delay",
                 al->slot);
        break;
    case SUP_ALERT_BREAKER_OPEN:
        snprintf(out, size,
                 "the breaker of slot %d has not been closed for %g s: the slot gets no new "
                 "connections (wsctl breaker)",
                 al->slot, for_s);
        break;
    case SUP_ALERT_FLEET_DEGRADED:
        snprintf(out, size, "half or more of the wanted slots have been failed for %g s", for_s);
        break;
    case SUP_ALERT_ERROR_RATE:
        snprintf(out, size,
                 "the workers' errors summed over the fleet stayed above %.2f/s for %g s",
                 al->threshold, for_s);
        break;
    case SUP_ALERT_P99_LATENCY:
        snprintf(out, size,
                 "the p99 of the time to handle one event, over the fleet's last 10 s, stayed "
                 "above %.3f ms for %g s",
                 al->threshold / 1000.0, for_s);
        break;
    case SUP_ALERT_SIDECAR_DOWN:
        snprintf(out, size,
                 "the nats-server sidecar has not been running for %g s: channels, history "
                 "and backends are unavailable",
                 for_s);
        break;
    default:
        snprintf(out, size, "?");
        break;
    }
}
