/* Unit tests for supervisor/sup_admin_api.c and sup_metrics.c: the JSON of every admin endpoint
 * and the Prometheus text, from a fleet context built in memory (no processes, no sockets). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup_admin.h"
#include "sup_admin_api.h"
#include "sup_alerting.h"
#include "sup_ctx.h"
#include "sup_metrics.h"

Suite *sup_admin_api_suite(void);

static sup_ctx *ctx;

/* Two running workers with Reports; slot 2 exists (workers.max 3) but is not wanted. */
static void setup(void)
{
    ctx = calloc(1, sizeof *ctx);
    ck_assert_ptr_nonnull(ctx);
    sup_config_init(&ctx->cfg, 1000, 2);
    ctx->cfg.workers = 2;
    ctx->cfg.workers_max = 3;
    ctx->cfg.scaler.max_workers = 3;
    ctx->nslots = 3;
    ctx->desired = 2;
    ctx->started_ms = sup_now_ms() - 5000;
    sup_history_init(&ctx->history, ctx->nslots);
    for (unsigned i = 0; i < ctx->nslots; i++) {
        sup_slot *s = &ctx->slots[i];
        s->index = i;
        sup_lifecycle_init(&s->lc);
        sup_breaker_init(&s->breaker);
        if (i >= 2)
            continue;
        s->wanted = true;
        s->lc.state = SUP_SLOT_RUNNING;
        s->pid = 1000 + (pid_t)i;
        s->generation = 1;
        s->started_ms = ctx->started_ms;
        s->accepting = true;
        s->has_report = true;
        s->report.pid = (uint32_t)s->pid;
        s->report.connections_active = 10 + i;
        s->report.messages_in = 500;
        s->report.messages_out = 400;
        s->report.rss_bytes = 1 << 20;
        s->report.latency[3] = 90;
        s->report.latency[WSF_HIST_BUCKETS] = 10;
    }
}

static void teardown(void)
{
    sup_alerting_fini(ctx);
    sup_history_fini(&ctx->history);
    free(ctx);
}

static const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_string(v), "%s is not a string", k);
    return json_string_value(v);
}

static json_int_t num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_integer(v), "%s is not an integer", k);
    return json_integer_value(v);
}

START_TEST(status_document)
{
    json_t *st = sup_admin_status_json(ctx);
    ck_assert_str_eq(str(st, "state"), "running");
    ck_assert_int_eq(num(st, "workers_running"), 2);
    ck_assert_int_eq(num(st, "workers_desired"), 2);
    ck_assert_int_eq(num(st, "connections"), 21);
    ck_assert(json_is_true(json_object_get(st, "ready")));
    ck_assert(json_is_false(json_object_get(st, "degraded")));
    ck_assert_int_ge(num(st, "uptime_s"), 4);
    json_decref(st);
    /* Both wanted slots failed: degraded, not ready. */
    ctx->slots[0].lc.state = SUP_SLOT_FAILED;
    ctx->slots[1].lc.state = SUP_SLOT_FAILED;
    st = sup_admin_status_json(ctx);
    ck_assert_str_eq(str(st, "state"), "degraded");
    ck_assert(json_is_false(json_object_get(st, "ready")));
    ck_assert(json_is_true(json_object_get(st, "degraded")));
    json_decref(st);
}
END_TEST

START_TEST(readiness)
{
    ck_assert(sup_admin_is_ready(ctx));
    ctx->slots[0].accepting = false; /* draining */
    ck_assert(sup_admin_is_ready(ctx));
    ctx->slots[1].breaker.state = SUP_BREAKER_OPEN;
    ck_assert(!sup_admin_is_ready(ctx));
    ctx->slots[1].breaker.state = SUP_BREAKER_HALF_OPEN;
    ck_assert(sup_admin_is_ready(ctx));
    ctx->stopping = true;
    ck_assert(!sup_admin_is_ready(ctx));
}
END_TEST

START_TEST(workers_and_breakers)
{
    json_t *doc = sup_admin_workers_json(ctx);
    json_t *ws = json_object_get(doc, "workers");
    ck_assert_uint_eq(json_array_size(ws), 2); /* slot 2 holds only its sockets */
    json_t *w = json_array_get(ws, 1);
    ck_assert_int_eq(num(w, "slot"), 1);
    ck_assert_int_eq(num(w, "pid"), 1001);
    ck_assert_str_eq(str(w, "state"), "running");
    ck_assert_int_eq(num(w, "connections"), 11);
    ck_assert_int_eq(num(w, "rss_bytes"), 1 << 20);
    ck_assert_str_eq(str(w, "breaker"), "closed");
    ck_assert(json_is_true(json_object_get(w, "accepting")));
    json_decref(doc);
    ctx->slots[0].breaker.state = SUP_BREAKER_OPEN;
    doc = sup_admin_breakers_json(ctx);
    json_t *bs = json_object_get(doc, "breakers");
    ck_assert_uint_eq(json_array_size(bs), 2);
    ck_assert_str_eq(str(json_array_get(bs, 0), "state"), "open");
    ck_assert_str_eq(str(json_array_get(bs, 1), "state"), "closed");
    json_decref(doc);
}
END_TEST

START_TEST(events_and_history)
{
    sup_events_push(&ctx->events, 111, "start", 0, "a");
    sup_events_push(&ctx->events, 112, "drill", -1, "<b>phase</b>");
    json_t *doc = sup_admin_events_json(ctx, 1);
    ck_assert_int_eq(num(doc, "last_id"), 2);
    json_t *evs = json_object_get(doc, "events");
    ck_assert_uint_eq(json_array_size(evs), 1);
    ck_assert_str_eq(str(json_array_get(evs, 0), "text"), "<b>phase</b>");
    ck_assert_int_eq(num(json_array_get(evs, 0), "slot"), -1);
    ck_assert_int_eq(num(json_array_get(evs, 0), "time_ms"), 112);
    json_decref(doc);
    json_t *one = sup_admin_event_json(sup_events_at(&ctx->events, 0));
    char *text = json_dumps(one, JSON_COMPACT);
    json_decref(one);
    ck_assert_ptr_nonnull(strstr(text, "\"type\":\"event\""));
    free(text);

    sup_history_obs obs[3] = {{.live = true, .pid = 1000, .generation = 1, .connections = 3}};
    for (uint64_t t = 1; t <= 5; t++)
        sup_history_record(&ctx->history, obs, t * 1000, t * 1000);
    doc = sup_admin_history_json(ctx, -1, 3);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "points")), 3);
    json_t *p = json_array_get(json_object_get(doc, "points"), 2);
    ck_assert_int_eq(num(p, "t_ms"), 5000);
    ck_assert_int_eq(num(p, "connections"), 3);
    json_decref(doc);
    doc = sup_admin_history_json(ctx, 0, 300);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "points")), 5);
    json_decref(doc);
    ck_assert_ptr_null(sup_admin_history_json(ctx, 3, 10));
}
END_TEST

static int action(enum sup_admin_route r, const char *body, json_t **out)
{
    return sup_admin_action(ctx, r, body, strlen(body), out);
}

START_TEST(actions_check_their_bodies)
{
    json_t *out;
    ck_assert_int_eq(action(SUP_ADMIN_R_SCALE, "[1]", &out), 400);
    ck_assert_int_eq(num(json_object_get(out, "error"), "code"), 400);
    ck_assert_ptr_nonnull(strstr(str(json_object_get(out, "error"), "message"), "count"));
    json_decref(out);
    ck_assert_int_eq(action(SUP_ADMIN_R_SCALE, "{\"count\":\"3\"}", &out), 400);
    json_decref(out);
    ck_assert_int_eq(action(SUP_ADMIN_R_SCALE, "{\"count\":1,\"count\":2}", &out), 400);
    json_decref(out);
    ck_assert_int_eq(action(SUP_ADMIN_R_BREAKER, "{\"slot\":0,\"action\":\"melt\"}", &out), 400);
    json_decref(out);
    ck_assert_int_eq(action(SUP_ADMIN_R_AUTOSCALE, "{\"min\":1}", &out), 400);
    json_decref(out);
    ck_assert_int_eq(action(SUP_ADMIN_R_PUBLISH, "{\"data\":1}", &out), 400);
    json_decref(out);
    /* A slot outside the fleet: the wsctl handler refuses it. */
    ck_assert_int_eq(action(SUP_ADMIN_R_DRAIN, "{\"slot\":2}", &out), 409);
    ck_assert_ptr_nonnull(strstr(str(json_object_get(out, "error"), "message"), "no such slot"));
    json_decref(out);
    /* A stopping fleet refuses every change. */
    ctx->stopping = true;
    ck_assert_int_eq(action(SUP_ADMIN_R_SCALE, "{\"count\":2}", &out), 409);
    ck_assert_str_eq(str(json_object_get(out, "error"), "message"), "the fleet is stopping");
    json_decref(out);
}
END_TEST

START_TEST(posted_events)
{
    json_t *out;
    ck_assert_int_eq(
        action(SUP_ADMIN_R_EVENT_ADD, "{\"kind\":\"drill\",\"text\":\"phase 2\"}", &out), 200);
    ck_assert_int_eq(num(out, "id"), 1);
    json_decref(out);
    ck_assert_str_eq(sup_events_at(&ctx->events, 0)->text, "phase 2");
    ck_assert_int_eq(action(SUP_ADMIN_R_EVENT_ADD, "{\"kind\":\"Drill!\"}", &out), 400);
    json_decref(out);
    ck_assert_int_eq(action(SUP_ADMIN_R_EVENT_ADD, "{\"kind\":\"drill\",\"text\":5}", &out), 400);
    json_decref(out);
    ck_assert_uint_eq(ctx->events.n, 1);
}
END_TEST

/* The family a sample line belongs to (histogram suffixes stripped). */
static void family_of(char *out, size_t cap, const char *line)
{
    size_t n = strcspn(line, "{ ");
    snprintf(out, cap, "%.*s", (int)n, line);
    for (const char *suf = "_bucket\0_sum\0_count\0"; *suf; suf += strlen(suf) + 1) {
        size_t l = strlen(out), sl = strlen(suf);
        if (l > sl && strcmp(out + l - sl, suf) == 0 && strstr(out, "latency_seconds") != NULL)
            out[l - sl] = '\0';
    }
}

START_TEST(metrics_text)
{
    char *text;
    size_t len;
    ctx->slots[1].breaker.state = SUP_BREAKER_OPEN;
    ck_assert_int_eq(sup_metrics_render(&text, &len, ctx), 0);
    ck_assert_uint_eq(strlen(text), len);
    ck_assert_ptr_nonnull(strstr(text, "\nwsfleet_workers_desired 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nwsfleet_workers_running 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nwsfleet_connections 21\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nwsfleet_worker_connections{slot=\"1\"} 11\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nwsfleet_breaker_state{slot=\"1\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nwsfleet_worker_messages_in_total{slot=\"0\"} 500\n"));
    ck_assert_ptr_null(strstr(text, "slot=\"2\"")); /* not part of the fleet */
    /* The histogram: cumulative buckets, +Inf equal to _count. */
    ck_assert_ptr_nonnull(
        strstr(text, "\nwsfleet_latency_seconds_bucket{slot=\"0\",le=\"4e-06\"} 0\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "\nwsfleet_latency_seconds_bucket{slot=\"0\",le=\"8e-06\"} 90\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "\nwsfleet_latency_seconds_bucket{slot=\"0\",le=\"0.016384\"} 90\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "\nwsfleet_latency_seconds_bucket{slot=\"0\",le=\"+Inf\"} 100\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nwsfleet_latency_seconds_count{slot=\"0\"} 100\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nwsfleet_latency_seconds_count{slot=\"fleet\"} 200\n"));
    /* Every sample follows its family's HELP and TYPE; counters end in _total. */
    char typed[64][80];
    size_t ntyped = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[80], type[16];
        if (strncmp(line, "# HELP ", 7) == 0)
            continue;
        if (sscanf(line, "# TYPE %79s %15s", name, type) == 2) {
            ck_assert_uint_lt(ntyped, 64);
            snprintf(typed[ntyped++], sizeof typed[0], "%s", name);
            size_t l = strlen(name);
            bool total = l > 6 && strcmp(name + l - 6, "_total") == 0;
            ck_assert_msg(total == (strcmp(type, "counter") == 0), "%s %s", name, type);
            continue;
        }
        ck_assert_msg(strncmp(line, "wsfleet_", 8) == 0, "%s", line);
        family_of(name, sizeof name, line);
        ck_assert_msg(ntyped > 0 && strcmp(typed[ntyped - 1], name) == 0,
                      "sample %s outside its family", line);
    }
    free(text);
}
END_TEST

/* A failed slot: its alert becomes an event of kind alert, a gauge of /metrics and an entry of
 * the snapshot; once the slot runs again, a resolved event follows and the gauge is 0. */
START_TEST(alerts_as_events_metrics_and_snapshot)
{
    const uint64_t t0 = 1000000;
    ck_assert_int_eq(sup_alerting_start(ctx), 0);
    sup_admin_alerts_start(ctx);
    ctx->slots[1].lc.state = SUP_SLOT_FAILED;
    ctx->slots[1].pid = 0;
    ctx->slots[1].has_report = false;
    sup_alerting_tick(ctx, t0);
    ck_assert_uint_eq(sup_alerting_firing(ctx, SUP_ALERT_SLOT_FAILED), 1);
    const sup_event *e = sup_events_at(&ctx->events, ctx->events.n - 1);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->kind, "alert");
    ck_assert_int_eq(e->slot, 1);
    ck_assert_msg(strncmp(e->text, "firing WsfleetSlotFailed (", 26) == 0, "%s", e->text);

    char *text;
    size_t len;
    ck_assert_int_eq(sup_metrics_render(&text, &len, ctx), 0);
    ck_assert_ptr_nonnull(strstr(text, "\n# TYPE wsfleet_alerts_firing gauge\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "\nwsfleet_alerts_firing{alertname=\"WsfleetSlotFailed\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "\nwsfleet_alerts_firing{alertname=\"WsfleetBreakerOpen\"} 0\n"));
    free(text);

    json_t *doc = sup_admin_snapshot_json(ctx);
    json_t *firing = json_object_get(doc, "alerts");
    ck_assert(json_is_array(firing));
    bool found = false;
    for (size_t i = 0; i < json_array_size(firing); i++) {
        json_t *a = json_array_get(firing, i);
        found |= strcmp(str(a, "alertname"), "WsfleetSlotFailed") == 0 && num(a, "slot") == 1;
    }
    ck_assert(found);
    json_decref(doc);

    ctx->slots[1].lc.state = SUP_SLOT_RUNNING;
    ctx->slots[1].pid = 1001;
    ctx->slots[1].has_report = true;
    sup_alerting_tick(ctx, t0 + 1000);
    ck_assert_uint_eq(sup_alerting_firing(ctx, SUP_ALERT_SLOT_FAILED), 0);
    bool resolved = false;
    for (size_t i = 0; i < ctx->events.n; i++) {
        e = sup_events_at(&ctx->events, i);
        resolved |= strcmp(e->kind, "alert") == 0 && e->slot == 1 &&
                    strncmp(e->text, "resolved WsfleetSlotFailed", 26) == 0;
    }
    ck_assert(resolved);
    ck_assert_int_eq(sup_metrics_render(&text, &len, ctx), 0);
    ck_assert_ptr_nonnull(
        strstr(text, "\nwsfleet_alerts_firing{alertname=\"WsfleetSlotFailed\"} 0\n"));
    free(text);
}
END_TEST

START_TEST(snapshot_document)
{
    json_t *doc = sup_admin_snapshot_json(ctx);
    ck_assert_str_eq(str(doc, "type"), "snapshot");
    ck_assert_str_eq(str(json_object_get(doc, "status"), "state"), "running");
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "workers")), 2);
    ck_assert(json_is_null(json_object_get(doc, "point")));
    json_decref(doc);
}
END_TEST

Suite *sup_admin_api_suite(void)
{
    Suite *s = suite_create("sup_admin_api");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, status_document);
    tcase_add_test(tc, readiness);
    tcase_add_test(tc, workers_and_breakers);
    tcase_add_test(tc, events_and_history);
    tcase_add_test(tc, actions_check_their_bodies);
    tcase_add_test(tc, posted_events);
    tcase_add_test(tc, metrics_text);
    tcase_add_test(tc, alerts_as_events_metrics_and_snapshot);
    tcase_add_test(tc, snapshot_document);
    suite_add_tcase(s, tc);
    return s;
}
