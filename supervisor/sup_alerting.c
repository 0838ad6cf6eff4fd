/* Alerting on the supervisor's loop: snapshots for the rules, log lines, the hook, webhooks. */
#include "sup_alerting.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sup_alerts_json.h"
#include "sup_channels.h"
#include "sup_ctlbody.h"
#include "sup_ctx.h"
#include "sup_webhook.h"
#include "wsf_buf.h"
#include "wsf_log.h"

#define SUP_ALERTING_RATE_WINDOW_MS 10000 /* the error rate's window, as in wsctl status */

/* A slot's last latency histogram, to take the next one's difference. */
typedef struct sup_alerting_prev {
    bool has;
    uint32_t pid;
    uint64_t generation;
    uint64_t seq;
    uint64_t lat[WSF_HIST_BUCKETS + 1];
} sup_alerting_prev;

typedef struct sup_alerting {
    sup_alerts rules;
    sup_alerts_cfg cfg;
    char fleet[SUP_ALERTS_LABEL_MAX];
    struct evdns_base *dns;
    sup_webhook *hooks[SUP_ALERTS_MAX_WEBHOOKS];
    size_t nhooks;
    sup_alerting_hook_fn hook;
    void *hook_arg;
    char generator[256]; /* generatorURL of webhook alerts; "" for none */
    uint64_t eval_ms;
    uint64_t posted_ms; /* when the firing alerts last went to the webhooks */
    sup_alerting_prev prev[SUP_ALERTS_MAX_SLOTS];
    uint64_t lat[SUP_ALERTING_P99_WINDOW][WSF_HIST_BUCKETS + 1]; /* per-second fleet deltas */
    size_t lat_head;
    sup_alerts_input in; /* the snapshot, kept here for its size */
    sup_alert out[SUP_ALERTS_MAX_TRANSITIONS];
    const sup_alert *batch[SUP_ALERTS_MAX_TRANSITIONS]; /* what goes to the webhooks */
    size_t nbatch;
} sup_alerting;

static uint64_t sup_alerting_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sup_alerting_hooks_free(sup_alerting *al)
{
    for (size_t i = 0; i < al->nhooks; i++)
        sup_webhook_free(al->hooks[i]);
    al->nhooks = 0;
}

static void sup_alerting_hooks_make(sup_ctx *ctx, sup_alerting *al)
{
    /* Names resolve without blocking the loop; the resolver exists only for webhooks. */
    if (al->cfg.nwebhooks > 0 && al->dns == NULL) {
        al->dns = evdns_base_new(ctx->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
        if (al->dns == NULL)
            wsf_log_warn("alerts: no DNS resolver (/etc/resolv.conf?): webhooks need numeric "
                         "hosts");
    }
    for (size_t i = 0; i < al->cfg.nwebhooks; i++) {
        char why[512];
        sup_webhook *w = sup_webhook_new(ctx->base, al->dns, al->cfg.webhook[i], al->cfg.webhook_ca,
                                         al->cfg.timeout_ms, al->cfg.queue, why, sizeof why);
        if (w == NULL) {
            wsf_log_error("alerts: webhook %s: cannot set it up: %s", al->cfg.webhook[i], why);
            continue;
        }
        al->hooks[al->nhooks++] = w;
    }
}

static void sup_alerting_take_cfg(sup_alerting *al, const sup_alerts_cfg *cfg)
{
    al->cfg = *cfg;
    if (cfg->fleet[0] != '\0') {
        snprintf(al->fleet, sizeof al->fleet, "%s", cfg->fleet);
    } else if (gethostname(al->fleet, sizeof al->fleet) != 0 || al->fleet[0] == '\0') {
        snprintf(al->fleet, sizeof al->fleet, "wsfleet");
    }
    al->fleet[sizeof al->fleet - 1] = '\0';
}

int sup_alerting_start(sup_ctx *ctx)
{
    sup_alerting *al = wsf_xcalloc(1, sizeof *al);
    sup_alerts_init(&al->rules);
    sup_alerting_take_cfg(al, &ctx->cfg.alerts);
    ctx->alerting = al;
    sup_alerting_hooks_make(ctx, al);
    return 0;
}

void sup_alerting_fini(sup_ctx *ctx)
{
    sup_alerting *al = ctx->alerting;
    if (al == NULL)
        return;
    sup_alerting_hooks_free(al);
    if (al->dns != NULL)
        evdns_base_free(al->dns, 0);
    free(al);
    ctx->alerting = NULL;
}

static bool sup_alerting_same_hooks(const sup_alerts_cfg *a, const sup_alerts_cfg *b)
{
    if (a->nwebhooks != b->nwebhooks || a->timeout_ms != b->timeout_ms || a->queue != b->queue ||
        strcmp(a->webhook_ca, b->webhook_ca) != 0)
        return false;
    for (size_t i = 0; i < a->nwebhooks; i++) {
        if (strcmp(a->webhook[i], b->webhook[i]) != 0)
            return false;
    }
    return true;
}

void sup_alerting_reloaded(sup_ctx *ctx)
{
    sup_alerting *al = ctx->alerting;
    if (al == NULL)
        return;
    bool same = sup_alerting_same_hooks(&al->cfg, &ctx->cfg.alerts);
    sup_alerting_take_cfg(al, &ctx->cfg.alerts);
    if (!same) {
        sup_alerting_hooks_free(al);
        sup_alerting_hooks_make(ctx, al);
    }
}

void sup_alerting_set_hook(sup_ctx *ctx, sup_alerting_hook_fn fn, void *arg)
{
    if (ctx->alerting == NULL)
        return;
    ctx->alerting->hook = fn;
    ctx->alerting->hook_arg = arg;
}

/* This second's latency events over the fleet: each worker's histogram minus its previous one
 * (a new worker's first Report only sets the baseline). Then the p99 of the window. */
static void sup_alerting_latency(sup_ctx *ctx, sup_alerting *al, sup_alerts_input *in)
{
    uint64_t *sum = al->lat[al->lat_head];
    memset(sum, 0, sizeof al->lat[0]);
    for (unsigned i = 0; i < ctx->nslots && i < SUP_ALERTS_MAX_SLOTS; i++) {
        const sup_slot *s = &ctx->slots[i];
        sup_alerting_prev *p = &al->prev[i];
        if (s->pid == 0 || !s->has_report) {
            p->has = false;
            continue;
        }
        const wsf_report *r = &s->report;
        bool same = p->has && p->pid == r->pid && p->generation == r->generation;
        for (int b = 0; same && b <= WSF_HIST_BUCKETS; b++)
            same = r->latency[b] >= p->lat[b];
        if (same && r->seq != p->seq) {
            for (int b = 0; b <= WSF_HIST_BUCKETS; b++)
                sum[b] += r->latency[b] - p->lat[b];
        }
        *p = (sup_alerting_prev){
            .has = true, .pid = r->pid, .generation = r->generation, .seq = r->seq};
        memcpy(p->lat, r->latency, sizeof p->lat);
    }
    al->lat_head = (al->lat_head + 1) % SUP_ALERTING_P99_WINDOW;
    uint64_t window[WSF_HIST_BUCKETS + 1] = {0};
    for (size_t t = 0; t < SUP_ALERTING_P99_WINDOW; t++) {
        for (int b = 0; b <= WSF_HIST_BUCKETS; b++)
            window[b] += al->lat[t][b];
    }
    uint64_t events;
    in->p99_us = sup_alerts_quantile_us(window, 0.99, &events);
    in->has_p99 = events >= SUP_ALERTS_P99_MIN_EVENTS;
}

static void sup_alerting_snapshot(sup_ctx *ctx, sup_alerting *al, uint64_t now)
{
    sup_alerts_input *in = &al->in;
    memset(in, 0, sizeof *in);
    in->now_ms = now;
    in->wall_ms = sup_alerting_wall_ms();
    in->nslots = ctx->nslots < SUP_ALERTS_MAX_SLOTS ? ctx->nslots : SUP_ALERTS_MAX_SLOTS;
    for (unsigned i = 0; i < in->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        in->slot[i].present = s->wanted;
        in->slot[i].failed = s->lc.state == SUP_SLOT_FAILED;
        in->slot[i].breaker_open = s->breaker.state != SUP_BREAKER_CLOSED;
        if (s->pid != 0 && s->has_report)
            in->error_rate +=
                sup_stats_rate(&s->stats, SUP_STAT_ERRORS, SUP_ALERTING_RATE_WINDOW_MS);
    }
    in->degraded = strcmp(sup_fleet_state(ctx), "degraded") == 0;
    in->sidecar = sup_channels_sidecar_up(ctx);
    sup_alerting_latency(ctx, al, in);
}

/* Sends alerts[0..n) as one Alertmanager batch to every webhook. */
static void sup_alerting_post(sup_alerting *al, const sup_alert *const *alerts, size_t n,
                              uint64_t wall_ms)
{
    if (al->nhooks == 0 || n == 0)
        return;
    /* Alertmanager resolves a firing alert by itself this long after the last re-send. */
    uint64_t expires = wall_ms + 4 * al->cfg.resend_ms;
    json_t *batch = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *a = sup_alert_am_json(alerts[i], al->fleet, expires);
        if (al->generator[0] != '\0')
            json_object_set_new(a, "generatorURL", json_string(al->generator));
        json_array_append_new(batch, a);
    }
    char *body = json_dumps(batch, JSON_COMPACT);
    json_decref(batch);
    if (body == NULL)
        return;
    for (size_t i = 0; i < al->nhooks; i++)
        sup_webhook_post(al->hooks[i], body);
    free(body);
}

static void sup_alerting_collect(const sup_alert *a, void *arg)
{
    sup_alerting *al = arg;
    if (al->nbatch < SUP_ALERTS_MAX_TRANSITIONS)
        al->batch[al->nbatch++] = a;
}

static void sup_alerting_log(const sup_alerting *al, const sup_alert *a)
{
    char summary[256], slot[24] = "";
    sup_alert_summary(summary, sizeof summary, a);
    if (a->slot >= 0)
        snprintf(slot, sizeof slot, " slot=%d", a->slot);
    if (a->firing)
        wsf_log_warn("alert firing: %s%s severity=%s fleet=%s: %s",
                     sup_alert_rule_alertname(a->rule), slot, sup_alert_severity(a->rule),
                     al->fleet, summary);
    else
        wsf_log_info("alert resolved: %s%s fleet=%s after %.1f s: %s",
                     sup_alert_rule_alertname(a->rule), slot, al->fleet,
                     (double)(a->ends_ms - a->starts_ms) / 1000.0, summary);
}

void sup_alerting_tick(sup_ctx *ctx, uint64_t now)
{
    sup_alerting *al = ctx->alerting;
    if (al == NULL || ctx->stopping || now - al->eval_ms < SUP_ALERTING_EVAL_MS)
        return;
    al->eval_ms = now;
    sup_alerting_snapshot(ctx, al, now);
    size_t n = sup_alerts_eval(&al->rules, &al->cfg, &al->in, al->out, SUP_ALERTS_MAX_TRANSITIONS);
    al->nbatch = 0;
    for (size_t i = 0; i < n; i++) {
        sup_alerting_log(al, &al->out[i]);
        if (al->hook != NULL)
            al->hook(&al->out[i], al->fleet, al->hook_arg);
        al->batch[al->nbatch++] = &al->out[i];
    }
    if (n > 0) {
        sup_alerting_post(al, al->batch, al->nbatch, al->in.wall_ms);
        al->posted_ms = now;
        return;
    }
    if (now - al->posted_ms >= al->cfg.resend_ms) {
        sup_alerts_each_firing(&al->rules, sup_alerting_collect, al);
        sup_alerting_post(al, al->batch, al->nbatch, al->in.wall_ms);
        al->posted_ms = now;
    }
}

size_t sup_alerting_firing(const sup_ctx *ctx, enum sup_alert_rule r)
{
    const sup_alerting *al = ctx->alerting;
    size_t n = 0;
    if (al == NULL || (int)r < 0 || r >= SUP_ALERT_NRULES)
        return 0;
    for (size_t i = 0; i < SUP_ALERTS_MAX_SLOTS; i++)
        n += al->rules.inst[r][i].firing;
    return n;
}

void sup_alerting_set_generator(sup_ctx *ctx, const char *url)
{
    if (ctx->alerting != NULL)
        snprintf(ctx->alerting->generator, sizeof ctx->alerting->generator, "%s", url);
}

json_t *sup_alerting_json(const sup_ctx *ctx)
{
    const sup_alerting *al = ctx->alerting;
    if (al == NULL)
        return json_pack("{s:s,s:[],s:[]}", "fleet", "", "firing", "recent");
    return sup_alerts_json(&al->rules, al->fleet);
}

void sup_alerting_ctl(const sup_ctx *ctx, wsf_ctl_response *res)
{
    sup_ctlbody_set(res, sup_alerting_json(ctx));
}
