/* Unit tests for supervisor/sup_alerts.c: each rule fires only once its duration has passed,
 * resolves, fires again, never fires when disabled, and compares strictly at its threshold; all
 * on a fake clock. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sup_alerts.h"

Suite *sup_alerts_suite(void);

#define T0 5000000 /* monotonic ms at the start of a test */
#define W0 UINT64_C(1765000000000)

/* The rules, the settings, the snapshot and the fake clock of one test. */
typedef struct fake {
    sup_alerts a;
    sup_alerts_cfg cfg;
    sup_alerts_input in;
    sup_alert out[SUP_ALERTS_MAX_TRANSITIONS];
    size_t n;
} fake;

static fake *fake_new(void)
{
    fake *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    sup_alerts_init(&f->a);
    sup_alcfg_init(&f->cfg);
    f->in.now_ms = T0;
    f->in.wall_ms = W0;
    f->in.nslots = 4;
    for (unsigned i = 0; i < 4; i++)
        f->in.slot[i].present = true;
    f->in.sidecar = 1;
    return f;
}

/* Advances the clock by ms and evaluates. */
static size_t step(fake *f, uint64_t ms)
{
    f->in.now_ms += ms;
    f->in.wall_ms += ms;
    f->n = sup_alerts_eval(&f->a, &f->cfg, &f->in, f->out, SUP_ALERTS_MAX_TRANSITIONS);
    return f->n;
}

static void expect(const fake *f, size_t i, enum sup_alert_rule rule, int slot, bool firing)
{
    ck_assert_uint_gt(f->n, i);
    ck_assert_int_eq(f->out[i].rule, rule);
    ck_assert_int_eq(f->out[i].slot, slot);
    ck_assert(f->out[i].firing == firing);
}

START_TEST(test_quiet_fleet_fires_nothing)
{
    fake *f = fake_new();
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(step(f, 1000), 0);
    ck_assert_uint_eq(sup_alerts_firing_count(&f->a), 0);
    ck_assert_ptr_null(sup_alerts_recent_at(&f->a, 0));
    free(f);
}
END_TEST

START_TEST(test_slot_failed_fires_at_once_and_resolves)
{
    fake *f = fake_new();
    f->in.slot[2].failed = true;
    ck_assert_uint_eq(step(f, 1000), 1);
    expect(f, 0, SUP_ALERT_SLOT_FAILED, 2, true);
    ck_assert_uint_eq(f->out[0].starts_ms, W0 + 1000);
    ck_assert_uint_eq(f->out[0].ends_ms, 0);
    ck_assert_uint_eq(step(f, 1000), 0); /* still firing: no new transition */
    ck_assert_uint_eq(sup_alerts_firing_count(&f->a), 1);
    f->in.slot[2].failed = false;
    ck_assert_uint_eq(step(f, 1000), 1);
    expect(f, 0, SUP_ALERT_SLOT_FAILED, 2, false);
    ck_assert_uint_eq(f->out[0].starts_ms, W0 + 1000);
    ck_assert_uint_eq(f->out[0].ends_ms, W0 + 3000);
    ck_assert_uint_eq(sup_alerts_firing_count(&f->a), 0);
    const sup_alert *r = sup_alerts_recent_at(&f->a, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->slot, 2);
    ck_assert(!r->firing);
    free(f);
}
END_TEST

START_TEST(test_slot_failed_counts_only_wanted_slots)
{
    fake *f = fake_new();
    f->in.slot[3].failed = true;
    f->in.slot[3].present = false;
    ck_assert_uint_eq(step(f, 1000), 0);
    f->in.slot[3].present = true;
    ck_assert_uint_eq(step(f, 1000), 1);
    /* Scaled away: the slot leaves the fleet, the alert resolves. */
    f->in.slot[3].present = false;
    ck_assert_uint_eq(step(f, 1000), 1);
    expect(f, 0, SUP_ALERT_SLOT_FAILED, 3, false);
    free(f);
}
END_TEST

/* Rule r's condition on (true) or off in f's snapshot. */
static void set_cond(fake *f, enum sup_alert_rule r, bool on)
{
    switch (r) {
    case SUP_ALERT_SLOT_FAILED:
        f->in.slot[1].failed = on;
        break;
    case SUP_ALERT_BREAKER_OPEN:
        f->in.slot[1].breaker_open = on;
        break;
    case SUP_ALERT_FLEET_DEGRADED:
        f->in.degraded = on;
        break;
    case SUP_ALERT_ERROR_RATE:
        f->in.error_rate = on ? 50.0 : 1.0;
        break;
    case SUP_ALERT_P99_LATENCY:
        f->in.has_p99 = true;
        f->in.p99_us = on ? 50000 : 100;
        break;
    case SUP_ALERT_SIDECAR_DOWN:
        f->in.sidecar = on ? 0 : 1;
        break;
    default:
        ck_abort();
    }
}

static int slot_of(enum sup_alert_rule r)
{
    return r == SUP_ALERT_SLOT_FAILED || r == SUP_ALERT_BREAKER_OPEN ? 1 : -1;
}

/* For every rule (loop index _i): pending for exactly for_ms, fires at that evaluation, not one
 * earlier; resolves; fires again only after another full duration. */
START_TEST(test_rule_fires_after_its_duration_resolves_and_refires)
{
    enum sup_alert_rule r = (enum sup_alert_rule)_i;
    fake *f = fake_new();
    f->cfg.rule[r].for_ms = 5000;
    set_cond(f, r, true);
    ck_assert_uint_eq(step(f, 1000), 0); /* pending from here */
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(step(f, 1000), 0);
    ck_assert_uint_eq(step(f, 999), 0); /* 4.999 s */
    ck_assert_uint_eq(step(f, 1), 1);   /* 5 s: fires */
    expect(f, 0, r, slot_of(r), true);
    ck_assert_uint_eq(f->out[0].for_ms, 5000);
    ck_assert_uint_eq(step(f, 1000), 0);
    set_cond(f, r, false);
    ck_assert_uint_eq(step(f, 1000), 1);
    expect(f, 0, r, slot_of(r), false);
    /* Again: the duration counts afresh. */
    set_cond(f, r, true);
    ck_assert_uint_eq(step(f, 1000), 0);
    ck_assert_uint_eq(step(f, 4999), 0);
    ck_assert_uint_eq(step(f, 1), 1);
    expect(f, 0, r, slot_of(r), true);
    set_cond(f, r, false);
    ck_assert_uint_eq(step(f, 1000), 1);
    ck_assert_uint_eq(f->a.nrecent, 2);
    free(f);
}
END_TEST

/* A break in the condition before the duration restarts the count. */
START_TEST(test_rule_interrupted_pending_starts_over)
{
    enum sup_alert_rule r = (enum sup_alert_rule)_i;
    fake *f = fake_new();
    f->cfg.rule[r].for_ms = 3000;
    set_cond(f, r, true);
    ck_assert_uint_eq(step(f, 1000), 0);
    ck_assert_uint_eq(step(f, 2000), 0);
    set_cond(f, r, false);
    ck_assert_uint_eq(step(f, 1000), 0); /* no resolve: it never fired */
    set_cond(f, r, true);
    ck_assert_uint_eq(step(f, 1000), 0);
    ck_assert_uint_eq(step(f, 2999), 0);
    ck_assert_uint_eq(step(f, 1), 1);
    free(f);
}
END_TEST

START_TEST(test_rule_disabled_never_fires)
{
    enum sup_alert_rule r = (enum sup_alert_rule)_i;
    fake *f = fake_new();
    f->cfg.rule[r].enabled = false;
    f->cfg.rule[r].for_ms = 0;
    set_cond(f, r, true);
    for (int i = 0; i < 600; i++)
        ck_assert_uint_eq(step(f, 1000), 0);
    ck_assert_uint_eq(sup_alerts_firing_count(&f->a), 0);
    free(f);
}
END_TEST

/* Disabling a firing rule (a reload) resolves it. */
START_TEST(test_rule_disabled_while_firing_resolves)
{
    enum sup_alert_rule r = (enum sup_alert_rule)_i;
    fake *f = fake_new();
    f->cfg.rule[r].for_ms = 0;
    set_cond(f, r, true);
    ck_assert_uint_eq(step(f, 1000), 1);
    f->cfg.rule[r].enabled = false;
    ck_assert_uint_eq(step(f, 1000), 1);
    expect(f, 0, r, slot_of(r), false);
    ck_assert_uint_eq(step(f, 1000), 0);
    free(f);
}
END_TEST

START_TEST(test_error_rate_threshold_is_strict)
{
    fake *f = fake_new();
    f->cfg.rule[SUP_ALERT_ERROR_RATE].for_ms = 0;
    f->cfg.error_rate_above = 10.0;
    f->in.error_rate = 10.0;
    ck_assert_uint_eq(step(f, 1000), 0);
    f->in.error_rate = 10.001;
    ck_assert_uint_eq(step(f, 1000), 1);
    expect(f, 0, SUP_ALERT_ERROR_RATE, -1, true);
    ck_assert(f->out[0].value > 10.0);
    ck_assert(f->out[0].threshold == 10.0);
    f->in.error_rate = 10.0;
    ck_assert_uint_eq(step(f, 1000), 1);
    expect(f, 0, SUP_ALERT_ERROR_RATE, -1, false);
    free(f);
}
END_TEST

START_TEST(test_p99_threshold_is_strict_and_needs_events)
{
    fake *f = fake_new();
    f->cfg.rule[SUP_ALERT_P99_LATENCY].for_ms = 0;
    f->cfg.p99_above_us = 2000;
    f->in.p99_us = 5000;
    f->in.has_p99 = false; /* too few events to tell */
    ck_assert_uint_eq(step(f, 1000), 0);
    f->in.has_p99 = true;
    f->in.p99_us = 2000;
    ck_assert_uint_eq(step(f, 1000), 0);
    f->in.p99_us = 2001;
    ck_assert_uint_eq(step(f, 1000), 1);
    expect(f, 0, SUP_ALERT_P99_LATENCY, -1, true);
    free(f);
}
END_TEST

START_TEST(test_sidecar_absent_is_not_down)
{
    fake *f = fake_new();
    f->cfg.rule[SUP_ALERT_SIDECAR_DOWN].for_ms = 0;
    f->in.sidecar = -1;
    ck_assert_uint_eq(step(f, 1000), 0);
    f->in.sidecar = 0;
    ck_assert_uint_eq(step(f, 1000), 1);
    expect(f, 0, SUP_ALERT_SIDECAR_DOWN, -1, true);
    free(f);
}
END_TEST

START_TEST(test_many_slots_in_order_none_lost)
{
    fake *f = fake_new();
    f->in.nslots = SUP_ALERTS_MAX_SLOTS;
    f->cfg.rule[SUP_ALERT_BREAKER_OPEN].for_ms = 0;
    for (unsigned i = 0; i < SUP_ALERTS_MAX_SLOTS; i++) {
        f->in.slot[i].present = true;
        f->in.slot[i].failed = true;
        f->in.slot[i].breaker_open = true;
    }
    f->in.degraded = true;
    f->cfg.rule[SUP_ALERT_FLEET_DEGRADED].for_ms = 0;
    ck_assert_uint_eq(step(f, 1000), 2 * SUP_ALERTS_MAX_SLOTS + 1);
    expect(f, 0, SUP_ALERT_SLOT_FAILED, 0, true);
    expect(f, SUP_ALERTS_MAX_SLOTS - 1, SUP_ALERT_SLOT_FAILED, SUP_ALERTS_MAX_SLOTS - 1, true);
    expect(f, SUP_ALERTS_MAX_SLOTS, SUP_ALERT_FLEET_DEGRADED, -1, true);
    expect(f, SUP_ALERTS_MAX_SLOTS + 1, SUP_ALERT_BREAKER_OPEN, 0, true);
    /* All resolve at once; the recent ring keeps the newest SUP_ALERTS_RECENT. */
    memset(f->in.slot, 0, sizeof f->in.slot);
    f->in.degraded = false;
    ck_assert_uint_eq(step(f, 1000), 2 * SUP_ALERTS_MAX_SLOTS + 1);
    ck_assert_uint_eq(f->a.nrecent, SUP_ALERTS_RECENT);
    const sup_alert *newest = sup_alerts_recent_at(&f->a, 0);
    ck_assert_int_eq(newest->rule, SUP_ALERT_BREAKER_OPEN);
    ck_assert_int_eq(newest->slot, SUP_ALERTS_MAX_SLOTS - 1);
    ck_assert_ptr_null(sup_alerts_recent_at(&f->a, SUP_ALERTS_RECENT));
    free(f);
}
END_TEST

START_TEST(test_cap_bounds_the_output)
{
    fake *f = fake_new();
    for (unsigned i = 0; i < 4; i++)
        f->in.slot[i].failed = true;
    sup_alert out[2];
    f->in.now_ms += 1000;
    ck_assert_uint_eq(sup_alerts_eval(&f->a, &f->cfg, &f->in, out, 2), 2);
    ck_assert_uint_eq(sup_alerts_firing_count(&f->a), 4);
    free(f);
}
END_TEST

START_TEST(test_quantile_interpolates_in_its_bucket)
{
    uint64_t c[WSF_HIST_BUCKETS + 1] = {0}, events;
    ck_assert_uint_eq(sup_alerts_quantile_us(c, 0.99, &events), 0);
    ck_assert_uint_eq(events, 0);
    /* 100 events in (512, 1024] µs: p99 at 99 % of the way through that bucket. */
    c[10] = 100;
    ck_assert_uint_eq(sup_alerts_quantile_us(c, 0.99, &events), 512 + 507);
    ck_assert_uint_eq(events, 100);
    /* 99 fast and 1 slow in (8192, 16384]: the 99th event is the last fast one. */
    memset(c, 0, sizeof c);
    c[0] = 99;
    c[14] = 1;
    ck_assert_uint_eq(sup_alerts_quantile_us(c, 0.99, &events), 1);
    c[0] = 98;
    c[14] = 2;
    ck_assert_uint_eq(sup_alerts_quantile_us(c, 0.99, &events), 8192 + 4096);
    /* In the open last bucket: past every bound. */
    memset(c, 0, sizeof c);
    c[WSF_HIST_BUCKETS] = 10;
    ck_assert_uint_eq(sup_alerts_quantile_us(c, 0.99, &events), SUP_ALERTS_P99_OVER_US);
}
END_TEST

START_TEST(test_texts_name_the_slot_and_values)
{
    char s[256], d[512];
    sup_alert al = {.rule = SUP_ALERT_BREAKER_OPEN, .slot = 7, .for_ms = 60000};
    sup_alert_summary(s, sizeof s, &al);
    ck_assert_str_eq(s, "breaker of slot 7 open");
    sup_alert_description(d, sizeof d, &al);
    ck_assert_ptr_nonnull(strstr(d, "60 s"));
    al = (sup_alert){.rule = SUP_ALERT_P99_LATENCY, .slot = -1, .value = 12500, .threshold = 10000};
    sup_alert_summary(s, sizeof s, &al);
    ck_assert_str_eq(s, "p99 event latency 12.500 ms above 10.000 ms");
    ck_assert_str_eq(sup_alert_severity(SUP_ALERT_FLEET_DEGRADED), "critical");
    ck_assert_str_eq(sup_alert_severity(SUP_ALERT_SLOT_FAILED), "warning");
}
END_TEST

Suite *sup_alerts_suite(void)
{
    Suite *s = suite_create("sup_alerts");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, test_quiet_fleet_fires_nothing);
    tcase_add_test(tc, test_slot_failed_fires_at_once_and_resolves);
    tcase_add_test(tc, test_slot_failed_counts_only_wanted_slots);
    tcase_add_loop_test(tc, test_rule_fires_after_its_duration_resolves_and_refires, 0,
                        SUP_ALERT_NRULES);
    tcase_add_loop_test(tc, test_rule_interrupted_pending_starts_over, 0, SUP_ALERT_NRULES);
    tcase_add_loop_test(tc, test_rule_disabled_never_fires, 0, SUP_ALERT_NRULES);
    tcase_add_loop_test(tc, test_rule_disabled_while_firing_resolves, 0, SUP_ALERT_NRULES);
    tcase_add_test(tc, test_error_rate_threshold_is_strict);
    tcase_add_test(tc, test_p99_threshold_is_strict_and_needs_events);
    tcase_add_test(tc, test_sidecar_absent_is_not_down);
    tcase_add_test(tc, test_many_slots_in_order_none_lost);
    tcase_add_test(tc, test_cap_bounds_the_output);
    tcase_add_test(tc, test_quantile_interpolates_in_its_bucket);
    tcase_add_test(tc, test_texts_name_the_slot_and_values);
    suite_add_tcase(s, tc);
    return s;
}
