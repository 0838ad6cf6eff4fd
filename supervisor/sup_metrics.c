/* Prometheus exposition of the fleet's state and its workers' counters. The workers' counters
 * are cumulative over each worker's life: a restart is a counter reset, which Prometheus's
 * rate() handles. */
#include "sup_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup_admin_api.h"
#include "sup_alerting.h"
#include "sup_channels.h"
#include "sup_ctx.h"

#define SUP_M "wsfleet_"

static void sup_m_family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP " SUP_M "%s %s\n# TYPE " SUP_M "%s %s\n", name, help, name, type);
}

static void sup_m_value(FILE *f, const char *name, const char *labels, double v)
{
    fprintf(f, SUP_M "%s%s%s%s %.17g\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
            v);
}

/* A slot's series are shown while it is part of the fleet or has a process. */
static bool sup_m_shown(const sup_slot *s)
{
    return s->wanted || s->pid != 0;
}

typedef double (*sup_m_get)(const sup_slot *s);

/* One family with a series per shown slot. */
static void sup_m_per_slot(FILE *f, const sup_ctx *ctx, const char *name, const char *type,
                           const char *help, sup_m_get get)
{
    char labels[32];
    sup_m_family(f, name, type, help);
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        if (!sup_m_shown(s))
            continue;
        snprintf(labels, sizeof labels, "slot=\"%u\"", i);
        sup_m_value(f, name, labels, get(s));
    }
}

static bool sup_m_live(const sup_slot *s)
{
    return s->pid != 0 && s->has_report;
}

#define SUP_M_REPORT(field)                                                                        \
    static double sup_m_##field(const sup_slot *s)                                                 \
    {                                                                                              \
        return sup_m_live(s) ? (double)s->report.field : 0.0;                                      \
    }
SUP_M_REPORT(connections_active)
SUP_M_REPORT(connections_opened)
SUP_M_REPORT(messages_in)
SUP_M_REPORT(messages_out)
SUP_M_REPORT(bytes_in)
SUP_M_REPORT(bytes_out)
SUP_M_REPORT(handshakes_ok)
SUP_M_REPORT(rss_bytes)

static double sup_m_errors(const sup_slot *s)
{
    return sup_m_live(s) ? (double)sup_stats_errors(&s->report) : 0.0;
}

static double sup_m_cpu(const sup_slot *s)
{
    return sup_m_live(s) ? (double)s->report.cpu_time_us / 1e6 : 0.0;
}

static double sup_m_up(const sup_slot *s)
{
    return s->lc.state == SUP_SLOT_RUNNING ? 1.0 : 0.0;
}

static double sup_m_accepting(const sup_slot *s)
{
    return s->lc.state == SUP_SLOT_RUNNING && s->accepting ? 1.0 : 0.0;
}

static double sup_m_spawns(const sup_slot *s)
{
    return (double)s->generation;
}

static double sup_m_restarts(const sup_slot *s)
{
    return (double)s->lc.restart.restarts;
}

static double sup_m_breaker(const sup_slot *s)
{
    return (double)s->breaker.state;
}

static double sup_m_breaker_opens(const sup_slot *s)
{
    return (double)s->breaker.opens_total;
}

static double sup_m_buckets(const sup_slot *s)
{
    return s->lc.state == SUP_SLOT_RUNNING ? (double)s->buckets : 0.0;
}

/* The latency histogram: bucket i of a Report holds samples of at most 2^i µs. The workers
 * report bucket counts only, so _sum is estimated at three quarters of each bucket's bound
 * (the middle of (2^(i-1), 2^i]), and 2^(n+1) µs for the overflow bucket. */
static void sup_m_histogram(FILE *f, const char *labels, const uint64_t *counts)
{
    uint64_t cum = 0;
    double sum = 0;
    const char *sep = labels[0] ? "," : "";
    for (int i = 0; i <= WSF_HIST_BUCKETS; i++) {
        double bound = (double)(1u << i) / 1e6;
        cum += counts[i];
        sum += (double)counts[i] * (i < WSF_HIST_BUCKETS ? bound * 0.75 : bound * 2);
        if (i < WSF_HIST_BUCKETS)
            fprintf(f, SUP_M "latency_seconds_bucket{%s%sle=\"%g\"} %llu\n", labels, sep, bound,
                    (unsigned long long)cum);
    }
    fprintf(f, SUP_M "latency_seconds_bucket{%s%sle=\"+Inf\"} %llu\n", labels, sep,
            (unsigned long long)cum);
    fprintf(f, SUP_M "latency_seconds_sum%s%s%s %.17g\n", labels[0] ? "{" : "", labels,
            labels[0] ? "}" : "", sum);
    fprintf(f, SUP_M "latency_seconds_count%s%s%s %llu\n", labels[0] ? "{" : "", labels,
            labels[0] ? "}" : "", (unsigned long long)cum);
}

static void sup_m_fleet(FILE *f, sup_ctx *ctx)
{
    unsigned running = 0, failed = 0;
    double conns = 0, in = 0, out = 0, errors = 0;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        running += s->lc.state == SUP_SLOT_RUNNING;
        failed += s->wanted && s->lc.state == SUP_SLOT_FAILED;
        conns += sup_m_connections_active(s);
        in += sup_m_messages_in(s);
        out += sup_m_messages_out(s);
        errors += sup_m_errors(s);
    }
    sup_m_family(f, "up", "gauge", "1 while wsfleetd answers.");
    sup_m_value(f, "up", "", 1);
    sup_m_family(f, "uptime_seconds", "gauge", "Seconds since wsfleetd started.");
    sup_m_value(f, "uptime_seconds", "", (double)(sup_now_ms() - ctx->started_ms) / 1000.0);
    sup_m_family(f, "ready", "gauge", "1 when /readyz answers 200.");
    sup_m_value(f, "ready", "", sup_admin_is_ready(ctx));
    sup_m_family(f, "stopping", "gauge", "1 while the fleet stops.");
    sup_m_value(f, "stopping", "", ctx->stopping);
    sup_m_family(f, "degraded", "gauge", "1 when half or more of the wanted slots failed.");
    sup_m_value(f, "degraded", "", ctx->desired > 0 && failed * 2 >= ctx->desired);
    sup_m_family(f, "workers_running", "gauge", "Workers running (the scaler's current size).");
    sup_m_value(f, "workers_running", "", running);
    sup_m_family(f, "workers_desired", "gauge", "Workers the fleet should run.");
    sup_m_value(f, "workers_desired", "", ctx->desired);
    sup_m_family(f, "workers_failed", "gauge", "Wanted slots that failed.");
    sup_m_value(f, "workers_failed", "", failed);
    sup_m_family(f, "workers_min", "gauge", "[workers] min.");
    sup_m_value(f, "workers_min", "", ctx->cfg.workers_min);
    sup_m_family(f, "workers_max", "gauge", "The autoscaler's maximum.");
    sup_m_value(f, "workers_max", "", ctx->cfg.scaler.max_workers);
    sup_m_family(f, "autoscale_enabled", "gauge", "1 while the autoscaler runs.");
    sup_m_value(f, "autoscale_enabled", "", ctx->scaler.enabled);
    sup_m_family(f, "scaler_desired_workers", "gauge",
                 "Workers the last scaling decision asked for (0 before any).");
    sup_m_value(f, "scaler_desired_workers", "",
                ctx->scaler.has_change ? ctx->scaler.last.desired : 0);
    sup_m_family(f, "scaler_current_workers", "gauge",
                 "Workers when the last scaling decision was made (0 before any).");
    sup_m_value(f, "scaler_current_workers", "",
                ctx->scaler.has_change ? ctx->scaler.last.current : 0);
    sup_m_family(f, "connections", "gauge", "Open connections over all workers.");
    sup_m_value(f, "connections", "", conns);
    sup_m_family(f, "messages_in_total", "counter",
                 "Messages received by the running workers (resets when a worker restarts).");
    sup_m_value(f, "messages_in_total", "", in);
    sup_m_family(f, "messages_out_total", "counter",
                 "Messages sent by the running workers (resets when a worker restarts).");
    sup_m_value(f, "messages_out_total", "", out);
    sup_m_family(f, "errors_total", "counter",
                 "Server-side errors of the running workers (resets when a worker restarts).");
    sup_m_value(f, "errors_total", "", errors);
    sup_m_family(f, "events_total", "counter", "Fleet events recorded (restarts, breakers ...).");
    sup_m_value(f, "events_total", "", (double)ctx->events.last_id);
    sup_m_family(f, "upgrades_total", "counter", "In-place upgrades of wsfleetd.");
    sup_m_value(f, "upgrades_total", "", (double)ctx->upgrades);
}

static void sup_m_slots(FILE *f, sup_ctx *ctx)
{
    sup_m_per_slot(f, ctx, "worker_up", "gauge", "1 while the slot's worker runs.", sup_m_up);
    sup_m_per_slot(f, ctx, "worker_accepting", "gauge", "1 while the worker takes connections.",
                   sup_m_accepting);
    sup_m_per_slot(f, ctx, "worker_spawns_total", "counter", "Workers started in the slot.",
                   sup_m_spawns);
    sup_m_per_slot(f, ctx, "worker_restarts", "gauge",
                   "The slot's current streak of restarts (the backoff's input).", sup_m_restarts);
    sup_m_per_slot(f, ctx, "worker_connections", "gauge", "Open connections.",
                   sup_m_connections_active);
    sup_m_per_slot(f, ctx, "worker_connections_opened_total", "counter",
                   "Connections accepted by the worker.", sup_m_connections_opened);
    sup_m_per_slot(f, ctx, "worker_handshakes_total", "counter", "Handshakes completed.",
                   sup_m_handshakes_ok);
    sup_m_per_slot(f, ctx, "worker_messages_in_total", "counter", "Messages received.",
                   sup_m_messages_in);
    sup_m_per_slot(f, ctx, "worker_messages_out_total", "counter", "Messages sent.",
                   sup_m_messages_out);
    sup_m_per_slot(f, ctx, "worker_bytes_in_total", "counter", "Bytes received.", sup_m_bytes_in);
    sup_m_per_slot(f, ctx, "worker_bytes_out_total", "counter", "Bytes sent.", sup_m_bytes_out);
    sup_m_per_slot(f, ctx, "worker_errors_total", "counter", "Server-side errors.", sup_m_errors);
    sup_m_per_slot(f, ctx, "worker_cpu_seconds_total", "counter", "CPU time of the worker.",
                   sup_m_cpu);
    sup_m_per_slot(f, ctx, "worker_rss_bytes", "gauge", "Resident memory of the worker.",
                   sup_m_rss_bytes);
    sup_m_per_slot(f, ctx, "worker_buckets", "gauge", "Steering buckets of the slot.",
                   sup_m_buckets);
    sup_m_per_slot(f, ctx, "breaker_state", "gauge",
                   "The slot's breaker: 0 closed, 1 open, "
                   "2 half-open.",
                   sup_m_breaker);
    sup_m_per_slot(f, ctx, "breaker_opens_total", "counter", "Times the slot's breaker opened.",
                   sup_m_breaker_opens);
}

static void sup_m_latency(FILE *f, sup_ctx *ctx)
{
    uint64_t fleet[WSF_HIST_BUCKETS + 1] = {0};
    char labels[32];
    sup_m_family(f, "latency_seconds", "histogram",
                 "Time the workers took to handle a sampled event, since each worker started.");
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        if (!sup_m_shown(s))
            continue;
        static const uint64_t none[WSF_HIST_BUCKETS + 1];
        const uint64_t *counts = sup_m_live(s) ? s->report.latency : none;
        for (int b = 0; b <= WSF_HIST_BUCKETS; b++)
            fleet[b] += counts[b];
        snprintf(labels, sizeof labels, "slot=\"%u\"", i);
        sup_m_histogram(f, labels, counts);
    }
    sup_m_histogram(f, "slot=\"fleet\"", fleet);
}

static void sup_m_sidecar(FILE *f, sup_ctx *ctx)
{
    wsf_ctl_response *res = calloc(1, sizeof *res);
    if (res == NULL)
        abort();
    sup_channels_status(ctx, res);
    if (res->has_nats) {
        bool sidecar = strcmp(res->nats.mode, "sidecar") == 0;
        sup_m_family(f, "nats_connected", "gauge", "1 while wsfleetd's NATS connection is up.");
        sup_m_value(f, "nats_connected", "", res->nats.connected);
        if (sidecar) { /* absent with an external broker */
            sup_m_family(f, "sidecar_up", "gauge", "1 while the embedded nats-server runs.");
            sup_m_value(f, "sidecar_up", "", strcmp(res->nats.state, "running") == 0);
            sup_m_family(f, "sidecar_restarts", "gauge", "The sidecar's current restart streak.");
            sup_m_value(f, "sidecar_restarts", "", res->nats.restarts);
        }
    }
    free(res);
}

static void sup_m_alerts(FILE *f, const sup_ctx *ctx)
{
    char labels[80];
    sup_m_family(f, "alerts_firing", "gauge",
                 "Firing alerts of each built-in rule (slot rules count every slot).");
    for (int r = 0; r < SUP_ALERT_NRULES; r++) {
        snprintf(labels, sizeof labels, "alertname=\"%s\"",
                 sup_alert_rule_alertname((enum sup_alert_rule)r));
        sup_m_value(f, "alerts_firing", labels,
                    (double)sup_alerting_firing(ctx, (enum sup_alert_rule)r));
    }
}

int sup_metrics_render(char **out, size_t *len, sup_ctx *ctx)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (f == NULL)
        return -1;
    sup_m_fleet(f, ctx);
    sup_m_slots(f, ctx);
    sup_m_latency(f, ctx);
    sup_m_sidecar(f, ctx);
    sup_m_alerts(f, ctx);
    if (fclose(f) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = size;
    return 0;
}
