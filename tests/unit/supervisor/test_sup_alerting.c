/* Unit tests for supervisor/sup_alerting.c over a supervisor context without processes: the
 * snapshot it takes of the slots (wanted, failed, breakers, the workers' latency histograms), the
 * transition hook, and the JSON `wsctl alerts` gets. */
#include <check.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "sup_alerting.h"
#include "sup_ctx.h"

Suite *sup_alerting_suite(void);

#define T0 1000000

/* What the hook saw. */
typedef struct seen {
    sup_alert al[16];
    char fleet[SUP_ALERTS_LABEL_MAX];
    size_t n;
} seen;

static void on_transition(const sup_alert *al, const char *fleet, void *arg)
{
    seen *s = arg;
    ck_assert_uint_lt(s->n, 16);
    s->al[s->n++] = *al;
    snprintf(s->fleet, sizeof s->fleet, "%s", fleet);
}

static sup_ctx *ctx_new(void)
{
    sup_ctx *ctx = calloc(1, sizeof *ctx);
    ck_assert_ptr_nonnull(ctx);
    ctx->base = event_base_new();
    sup_alcfg_init(&ctx->cfg.alerts);
    snprintf(ctx->cfg.alerts.fleet, sizeof ctx->cfg.alerts.fleet, "unit");
    ctx->nslots = 4;
    ctx->desired = 2;
    ctx->slots[0].wanted = true;
    ctx->slots[1].wanted = true;
    for (unsigned i = 0; i < 2; i++) {
        ctx->slots[i].lc.state = SUP_SLOT_RUNNING;
        ctx->slots[i].pid = 100 + (pid_t)i;
    }
    return ctx;
}

static void ctx_free(sup_ctx *ctx)
{
    sup_alerting_fini(ctx);
    event_base_free(ctx->base);
    free(ctx);
}

START_TEST(failed_slot_reaches_the_hook_and_the_json)
{
    sup_ctx *ctx = ctx_new();
    ctx->cfg.alerts.rule[SUP_ALERT_FLEET_DEGRADED].for_ms = 2000;
    ck_assert_int_eq(sup_alerting_start(ctx), 0);
    seen s = {0};
    sup_alerting_set_hook(ctx, on_transition, &s);
    sup_alerting_tick(ctx, T0);
    ck_assert_uint_eq(s.n, 0);
    ctx->slots[1].lc.state = SUP_SLOT_FAILED;
    ctx->slots[1].pid = 0;
    sup_alerting_tick(ctx, T0 + 500); /* within the evaluation interval: nothing */
    ck_assert_uint_eq(s.n, 0);
    sup_alerting_tick(ctx, T0 + 1000);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_int_eq(s.al[0].rule, SUP_ALERT_SLOT_FAILED);
    ck_assert_int_eq(s.al[0].slot, 1);
    ck_assert(s.al[0].firing);
    ck_assert_str_eq(s.fleet, "unit");
    /* One failed of two desired is degraded: after fleet_degraded_for. */
    sup_alerting_tick(ctx, T0 + 2000);
    ck_assert_uint_eq(s.n, 1);
    sup_alerting_tick(ctx, T0 + 3000);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_int_eq(s.al[1].rule, SUP_ALERT_FLEET_DEGRADED);

    wsf_ctl_response *res = calloc(1, sizeof *res);
    sup_alerting_ctl(ctx, res);
    ck_assert(res->ok);
    json_t *doc = json_loads(res->body, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "fleet")), "unit");
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "firing")), 2);
    json_decref(doc);
    free(res);

    /* The slot leaves the fleet: both resolve. */
    ctx->slots[1].wanted = false;
    ctx->slots[1].lc.state = SUP_SLOT_STOPPED;
    ctx->desired = 1;
    sup_alerting_tick(ctx, T0 + 4000);
    ck_assert_uint_eq(s.n, 4);
    ck_assert(!s.al[2].firing && !s.al[3].firing);
    doc = sup_alerting_json(ctx);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "firing")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "recent")), 2);
    json_decref(doc);
    ctx_free(ctx);
}
END_TEST

START_TEST(open_breaker_and_stopping)
{
    sup_ctx *ctx = ctx_new();
    ctx->cfg.alerts.rule[SUP_ALERT_BREAKER_OPEN].for_ms = 0;
    ck_assert_int_eq(sup_alerting_start(ctx), 0);
    seen s = {0};
    sup_alerting_set_hook(ctx, on_transition, &s);
    ctx->slots[0].breaker.state = SUP_BREAKER_HALF_OPEN;
    sup_alerting_tick(ctx, T0);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_int_eq(s.al[0].rule, SUP_ALERT_BREAKER_OPEN);
    ck_assert_int_eq(s.al[0].slot, 0);
    /* A stopping fleet is not judged. */
    ctx->stopping = true;
    ctx->slots[0].breaker.state = SUP_BREAKER_CLOSED;
    sup_alerting_tick(ctx, T0 + 5000);
    ck_assert_uint_eq(s.n, 1);
    ctx_free(ctx);
}
END_TEST

/* A Report of slot i whose cumulative latency histogram has n more events in bucket b. */
static void report_latency(sup_ctx *ctx, unsigned i, int b, uint64_t n)
{
    sup_slot *s = &ctx->slots[i];
    s->has_report = true;
    s->report.pid = (uint32_t)s->pid;
    s->report.seq++;
    s->report.latency[b] += n;
}

START_TEST(p99_from_the_histograms_differences)
{
    sup_ctx *ctx = ctx_new();
    ctx->cfg.alerts.rule[SUP_ALERT_P99_LATENCY].for_ms = 0;
    ctx->cfg.alerts.p99_above_us = 1000;
    ck_assert_int_eq(sup_alerting_start(ctx), 0);
    seen s = {0};
    sup_alerting_set_hook(ctx, on_transition, &s);
    uint64_t now = T0;
    /* A worker that ran slow before this supervisor saw it: its first Report is a baseline. */
    report_latency(ctx, 0, 14, 1000);
    report_latency(ctx, 1, 14, 1000);
    sup_alerting_tick(ctx, now);
    ck_assert_uint_eq(s.n, 0);
    /* Fast events since: nothing. */
    for (int t = 0; t < 3; t++) {
        report_latency(ctx, 0, 3, 50);
        report_latency(ctx, 1, 3, 50);
        sup_alerting_tick(ctx, now += 1000);
        ck_assert_uint_eq(s.n, 0);
    }
    /* 3 % slow events in the window: p99 in (8192, 16384] µs. */
    report_latency(ctx, 1, 14, 10);
    sup_alerting_tick(ctx, now += 1000);
    ck_assert_uint_eq(s.n, 1);
    ck_assert_int_eq(s.al[0].rule, SUP_ALERT_P99_LATENCY);
    ck_assert(s.al[0].value > 8192 && s.al[0].value <= 16384);
    /* A new worker in slot 1 (counters from zero) adds no difference of its own. */
    ctx->slots[1].pid = 200;
    memset(ctx->slots[1].report.latency, 0, sizeof ctx->slots[1].report.latency);
    report_latency(ctx, 1, 3, 5);
    sup_alerting_tick(ctx, now += 1000);
    ck_assert_uint_eq(s.n, 1);
    /* The slow second leaves the 10 s window: resolved. */
    for (int t = 0; t < 10 && s.n == 1; t++) {
        report_latency(ctx, 0, 3, 50);
        sup_alerting_tick(ctx, now += 1000);
    }
    ck_assert_uint_eq(s.n, 2);
    ck_assert(!s.al[1].firing);
    ctx_free(ctx);
}
END_TEST

START_TEST(json_without_alerting)
{
    sup_ctx *ctx = calloc(1, sizeof *ctx);
    json_t *doc = sup_alerting_json(ctx);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "firing")), 0);
    ck_assert(json_is_array(json_object_get(doc, "recent")));
    json_decref(doc);
    sup_alerting_fini(ctx); /* a no-op */
    free(ctx);
}
END_TEST

Suite *sup_alerting_suite(void)
{
    Suite *s = suite_create("sup_alerting");
    TCase *tc = tcase_create("alerting");
    tcase_add_test(tc, failed_slot_reaches_the_hook_and_the_json);
    tcase_add_test(tc, open_breaker_and_stopping);
    tcase_add_test(tc, p99_from_the_histograms_differences);
    tcase_add_test(tc, json_without_alerting);
    suite_add_tcase(s, tc);
    return s;
}
