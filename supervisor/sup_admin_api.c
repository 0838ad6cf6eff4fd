/* JSON documents of the admin API and its actions through the wsctl request handler. */
#include "sup_admin_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup_admin.h"
#include "sup_alerting.h"
#include "sup_channels.h"
#include "sup_ctx.h"
#include "wsf_json.h"

static wsf_ctl_response *sup_api_res(void)
{
    wsf_ctl_response *res = calloc(1, sizeof *res);
    if (res == NULL)
        abort();
    return res;
}

/* Asks the wsctl handler, as wsctl would. */
static wsf_ctl_response *sup_api_ask(sup_ctx *ctx, enum wsf_ctl_command cmd)
{
    wsf_ctl_request req = {.command = cmd, .slot = -1};
    wsf_ctl_response *res = sup_api_res();
    sup_ctl_handle(ctx, &req, res);
    return res;
}

static void sup_set_str(json_t *o, const char *k, const char *v)
{
    wsf_json_set(o, k, json_string(v));
}

static void sup_set_int(json_t *o, const char *k, uint64_t v)
{
    wsf_json_set(o, k, json_integer((json_int_t)v));
}

static void sup_set_real(json_t *o, const char *k, double v)
{
    wsf_json_set(o, k, json_real(v));
}

static bool sup_api_degraded(const sup_ctx *ctx)
{
    unsigned failed = 0;
    for (unsigned i = 0; i < ctx->nslots; i++)
        failed += ctx->slots[i].wanted && ctx->slots[i].lc.state == SUP_SLOT_FAILED;
    return ctx->desired > 0 && failed * 2 >= ctx->desired;
}

json_t *sup_admin_cluster_json(sup_ctx *ctx, char *err, size_t err_len)
{
    wsf_ctl_response *res = sup_api_ask(ctx, WSF_CTL_CLUSTER);
    json_t *doc = NULL;
    if (res->ok)
        doc = json_loadb(res->body, strnlen(res->body, sizeof res->body), 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
        snprintf(err, err_len, "%s", res->error[0] != '\0' ? res->error : "no cluster answer");
    }
    free(res);
    return doc;
}

bool sup_admin_is_ready(const sup_ctx *ctx)
{
    if (ctx->stopping || sup_api_degraded(ctx))
        return false;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        if (s->lc.state == SUP_SLOT_RUNNING && s->accepting && s->breaker.state != SUP_BREAKER_OPEN)
            return true;
    }
    return false;
}

json_t *sup_admin_status_json(sup_ctx *ctx)
{
    wsf_ctl_response *res = sup_api_ask(ctx, WSF_CTL_STATUS);
    const wsf_fleet_status *st = &res->status;
    json_t *o = wsf_json_checked(json_object());
    sup_set_str(o, "state", st->state);
    sup_set_int(o, "pid", st->pid);
    sup_set_str(o, "version", res->server_version);
    sup_set_int(o, "workers_running", st->workers_running);
    sup_set_int(o, "workers_desired", st->workers_desired);
    sup_set_int(o, "workers_min", st->workers_min);
    sup_set_int(o, "workers_max", st->workers_max);
    sup_set_int(o, "connections", st->connections);
    sup_set_real(o, "msgs_in_per_s", st->msgs_in_per_s);
    sup_set_real(o, "errors_per_s", st->errors_per_s);
    sup_set_int(o, "uptime_s", st->uptime_s);
    sup_set_str(o, "steering", st->steering);
    sup_set_str(o, "listen", st->listen);
    wsf_json_set(o, "autoscale", json_boolean(st->autoscale));
    sup_set_str(o, "last_scaling", st->last_scaling);
    sup_set_int(o, "last_scaling_age_s", st->last_scaling_age_s);
    sup_set_int(o, "workers_adopted", st->workers_adopted);
    sup_set_int(o, "upgrades", res->upgrades);
    wsf_json_set(o, "ready", json_boolean(sup_admin_is_ready(ctx)));
    wsf_json_set(o, "degraded", json_boolean(sup_api_degraded(ctx)));
    sup_set_int(o, "last_event_id", ctx->events.last_id);
    if (res->has_nats) {
        json_t *n = wsf_json_checked(json_object());
        sup_set_str(n, "mode", res->nats.mode);
        sup_set_str(n, "state", res->nats.state);
        sup_set_int(n, "pid", res->nats.pid);
        sup_set_int(n, "port", res->nats.port);
        sup_set_int(n, "restarts", res->nats.restarts);
        wsf_json_set(n, "connected", json_boolean(res->nats.connected));
        sup_set_str(n, "stream", res->nats.stream);
        wsf_json_set(o, "nats", n);
    }
    free(res);
    return o;
}

static json_t *sup_api_worker(const sup_ctx *ctx, const wsf_worker_status *w)
{
    json_t *o = wsf_json_checked(json_object());
    sup_set_int(o, "slot", w->slot);
    sup_set_int(o, "pid", w->pid);
    sup_set_str(o, "state", w->state);
    sup_set_int(o, "connections", w->connections);
    sup_set_real(o, "msgs_in_per_s", w->msgs_in_per_s);
    sup_set_real(o, "msgs_out_per_s", w->msgs_out_per_s);
    sup_set_real(o, "errors_per_s", w->errors_per_s);
    sup_set_int(o, "restarts", w->restarts);
    sup_set_int(o, "uptime_s", w->uptime_s);
    sup_set_int(o, "generation", w->generation);
    wsf_json_set(o, "accepting", json_boolean(w->accepting));
    sup_set_int(o, "buckets", w->buckets);
    sup_set_int(o, "rss_bytes", w->rss_bytes);
    sup_set_str(o, "breaker", w->breaker);
    sup_set_real(o, "failure_rate", w->failure_rate);
    sup_set_int(o, "times_opened", w->times_opened);
    sup_set_int(o, "opened_at", w->opened_at);
    const sup_history_ring *r = sup_history_ring_of(&ctx->history, (int)w->slot);
    const sup_history_point *p = r && r->n ? sup_history_at(r, r->n - 1) : NULL;
    sup_set_int(o, "p50_us", p ? p->p50_us : 0);
    sup_set_int(o, "p99_us", p ? p->p99_us : 0);
    return o;
}

static json_t *sup_api_worker_list(sup_ctx *ctx)
{
    wsf_ctl_response *res = sup_api_ask(ctx, WSF_CTL_WORKERS);
    json_t *a = wsf_json_checked(json_array());
    for (size_t i = 0; i < res->nworkers; i++)
        wsf_json_append(a, sup_api_worker(ctx, &res->workers[i]));
    free(res);
    return a;
}

json_t *sup_admin_workers_json(sup_ctx *ctx)
{
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "workers", sup_api_worker_list(ctx));
    return o;
}

json_t *sup_admin_breakers_json(sup_ctx *ctx)
{
    wsf_ctl_response *res = sup_api_ask(ctx, WSF_CTL_BREAKER_LIST);
    json_t *a = wsf_json_checked(json_array());
    for (size_t i = 0; i < res->nworkers; i++) {
        const wsf_worker_status *w = &res->workers[i];
        json_t *b = wsf_json_checked(json_object());
        sup_set_int(b, "slot", w->slot);
        sup_set_str(b, "state", w->breaker);
        sup_set_real(b, "failure_rate", w->failure_rate);
        sup_set_int(b, "times_opened", w->times_opened);
        sup_set_int(b, "opened_at", w->opened_at);
        wsf_json_append(a, b);
    }
    free(res);
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "breakers", a);
    return o;
}

static json_t *sup_api_event(const sup_event *e)
{
    json_t *o = wsf_json_checked(json_object());
    sup_set_int(o, "id", e->id);
    sup_set_int(o, "time_ms", e->t_ms);
    sup_set_str(o, "kind", e->kind);
    wsf_json_set(o, "slot", json_integer(e->slot));
    sup_set_str(o, "text", e->text);
    return o;
}

json_t *sup_admin_event_json(const sup_event *e)
{
    json_t *o = wsf_json_checked(json_object());
    sup_set_str(o, "type", "event");
    wsf_json_set(o, "event", sup_api_event(e));
    return o;
}

json_t *sup_admin_events_json(const sup_ctx *ctx, uint64_t since)
{
    json_t *a = wsf_json_checked(json_array());
    for (size_t i = sup_events_after(&ctx->events, since); i < ctx->events.n; i++)
        wsf_json_append(a, sup_api_event(sup_events_at(&ctx->events, i)));
    json_t *o = wsf_json_checked(json_object());
    sup_set_int(o, "last_id", ctx->events.last_id);
    wsf_json_set(o, "events", a);
    return o;
}

static json_t *sup_api_point(const sup_history_point *p)
{
    json_t *o = wsf_json_checked(json_object());
    sup_set_int(o, "t_ms", p->t_ms);
    sup_set_int(o, "connections", p->connections);
    sup_set_int(o, "workers", p->workers);
    sup_set_real(o, "msgs_in", p->msgs_in);
    sup_set_real(o, "msgs_out", p->msgs_out);
    sup_set_real(o, "errors", p->errors);
    sup_set_int(o, "p50_us", p->p50_us);
    sup_set_int(o, "p99_us", p->p99_us);
    return o;
}

json_t *sup_admin_history_json(const sup_ctx *ctx, int slot, unsigned seconds)
{
    const sup_history_ring *r = sup_history_ring_of(&ctx->history, slot);
    if (r == NULL)
        return NULL;
    if (seconds == 0 || seconds > SUP_HISTORY_POINTS)
        seconds = SUP_HISTORY_POINTS;
    json_t *a = wsf_json_checked(json_array());
    size_t from = r->n > seconds ? r->n - seconds : 0;
    for (size_t i = from; i < r->n; i++)
        wsf_json_append(a, sup_api_point(sup_history_at(r, i)));
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "slot", json_integer(slot));
    wsf_json_set(o, "points", a);
    return o;
}

json_t *sup_admin_snapshot_json(sup_ctx *ctx)
{
    json_t *o = wsf_json_checked(json_object());
    sup_set_str(o, "type", "snapshot");
    wsf_json_set(o, "status", sup_admin_status_json(ctx));
    wsf_json_set(o, "workers", sup_api_worker_list(ctx));
    const sup_history_ring *r = &ctx->history.fleet;
    wsf_json_set(o, "point", r->n ? sup_api_point(sup_history_at(r, r->n - 1)) : json_null());
    json_t *alerts = sup_alerting_json(ctx);
    wsf_json_set(o, "alerts", json_incref(json_object_get(alerts, "firing")));
    json_decref(alerts);
    return o;
}

json_t *sup_admin_error_doc(int status, const char *message)
{
    json_t *e = wsf_json_checked(json_object());
    wsf_json_set(e, "code", json_integer(status));
    sup_set_str(e, "message", message);
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "error", e);
    return o;
}

json_t *sup_admin_answer_json(const wsf_ctl_response *res, int *status)
{
    if (!res->ok) {
        *status = 409;
        return sup_admin_error_doc(409, res->error[0] ? res->error : "refused");
    }
    *status = 200;
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "ok", json_true());
    sup_set_str(o, "message", res->message);
    if (res->offset != 0)
        sup_set_int(o, "offset", res->offset);
    return o;
}

/* Reads an integer member into *out; absent: keeps *out unless required. Returns 0 or -1. */
static int sup_api_int(json_t *body, const char *key, bool required, json_int_t lo, json_int_t hi,
                       json_int_t *out)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL)
        return required ? -1 : 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int sup_api_bool(json_t *body, const char *key, bool required, bool *out)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL)
        return required ? -1 : 0;
    if (!json_is_boolean(v))
        return -1;
    *out = json_is_true(v);
    return 0;
}

/* Fills req from the body of a POST route. Returns 0, or -1 with the problem in why. */
static int sup_api_request(wsf_ctl_request *req, enum sup_admin_route route, json_t *body,
                           char *why, size_t whylen)
{
    json_int_t n = -1;
    switch (route) {
    case SUP_ADMIN_R_SCALE:
        req->command = WSF_CTL_SCALE;
        if (sup_api_int(body, "count", true, 0, 1000000, &n) != 0)
            goto bad;
        req->count = (uint32_t)n;
        return 0;
    case SUP_ADMIN_R_RESTART:
        req->command = WSF_CTL_RESTART;
        if (sup_api_int(body, "slot", false, -1, 1000000, &n) != 0 ||
            sup_api_bool(body, "rolling", false, &req->rolling) != 0)
            goto bad;
        req->slot = (int32_t)n;
        return 0;
    case SUP_ADMIN_R_DRAIN:
        req->command = WSF_CTL_DRAIN;
        if (sup_api_int(body, "slot", true, 0, 1000000, &n) != 0)
            goto bad;
        req->slot = (int32_t)n;
        return 0;
    case SUP_ADMIN_R_BREAKER: {
        json_t *a = json_object_get(body, "action");
        const char *act = json_is_string(a) ? json_string_value(a) : "";
        if (sup_api_int(body, "slot", true, 0, 1000000, &n) != 0)
            goto bad;
        req->slot = (int32_t)n;
        if (strcmp(act, "trip") == 0)
            req->command = WSF_CTL_BREAKER_TRIP;
        else if (strcmp(act, "reset") == 0)
            req->command = WSF_CTL_BREAKER_RESET;
        else
            goto bad;
        return 0;
    }
    case SUP_ADMIN_R_AUTOSCALE: {
        json_int_t min = 0, max = 0;
        req->command = WSF_CTL_AUTOSCALE;
        if (sup_api_bool(body, "on", true, &req->autoscale_on) != 0 ||
            sup_api_int(body, "min", false, 1, 1000000, &min) != 0 ||
            sup_api_int(body, "max", false, 1, 1000000, &max) != 0)
            goto bad;
        req->min = (uint32_t)min;
        req->max = (uint32_t)max;
        return 0;
    }
    case SUP_ADMIN_R_PUBLISH: {
        json_t *c = json_object_get(body, "channel");
        json_t *d = json_object_get(body, "data");
        req->command = WSF_CTL_PUBLISH;
        if (!json_is_string(c) || d == NULL || json_string_length(c) >= sizeof req->channel)
            goto bad;
        snprintf(req->channel, sizeof req->channel, "%s", json_string_value(c));
        char *text = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text == NULL || strlen(text) >= sizeof req->data) {
            free(text);
            snprintf(why, whylen, "data: more than %d bytes of JSON", WSF_CTL_DATA_MAX - 1);
            return -1;
        }
        snprintf(req->data, sizeof req->data, "%s", text);
        free(text);
        return 0;
    }
    default:
        break;
    }
bad:
    snprintf(why, whylen, "%s", "the body does not have the members this route takes");
    return -1;
}

static const char *const sup_api_shapes[] = {
    [SUP_ADMIN_R_SCALE] = "{\"count\": N}",
    [SUP_ADMIN_R_RESTART] = "{\"slot\": N (-1 or absent: all), \"rolling\": true|false}",
    [SUP_ADMIN_R_DRAIN] = "{\"slot\": N}",
    [SUP_ADMIN_R_BREAKER] = "{\"slot\": N, \"action\": \"trip\"|\"reset\"}",
    [SUP_ADMIN_R_AUTOSCALE] = "{\"on\": true|false, \"min\": N, \"max\": N}",
    [SUP_ADMIN_R_PUBLISH] = "{\"channel\": NAME, \"data\": JSON}",
    [SUP_ADMIN_R_EVENT_ADD] = "{\"kind\": WORD, \"text\": TEXT, \"slot\": N}",
};

static int sup_api_event_add(sup_ctx *ctx, json_t *body, json_t **out)
{
    json_t *k = json_object_get(body, "kind");
    json_t *t = json_object_get(body, "text");
    json_int_t slot = -1;
    if (!json_is_string(k) || !sup_events_kind_is_valid(json_string_value(k)) ||
        (t != NULL && !json_is_string(t)) ||
        sup_api_int(body, "slot", false, -1, 1000000, &slot) != 0)
        return -1;
    sup_events_add(ctx, json_string_value(k), (int)slot, "%s", t ? json_string_value(t) : "");
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "ok", json_true());
    sup_set_int(o, "id", ctx->events.last_id);
    *out = o;
    return 0;
}

int sup_admin_action(sup_ctx *ctx, enum sup_admin_route route, const char *body, size_t len,
                     json_t **out)
{
    char why[160];
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    int status;
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        snprintf(why, sizeof why, "the body is not a JSON object; this route takes %s",
                 sup_api_shapes[route]);
        *out = sup_admin_error_doc(400, why);
        return 400;
    }
    if (route == SUP_ADMIN_R_EVENT_ADD) {
        status = sup_api_event_add(ctx, doc, out) == 0 ? 200 : 400;
        if (status != 200) {
            snprintf(why, sizeof why, "this route takes %s (kind: [a-z0-9_.-], 1-23 characters)",
                     sup_api_shapes[route]);
            *out = sup_admin_error_doc(400, why);
        }
        json_decref(doc);
        return status;
    }
    wsf_ctl_request *req = calloc(1, sizeof *req);
    if (req == NULL)
        abort();
    req->slot = -1;
    if (sup_api_request(req, route, doc, why, sizeof why) != 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: %s", why, sup_api_shapes[route]);
        *out = sup_admin_error_doc(400, msg);
        json_decref(doc);
        free(req);
        return 400;
    }
    json_decref(doc);
    if (route == SUP_ADMIN_R_PUBLISH && sup_channels_ctl_pending(ctx)) {
        /* One deferred channel request at a time, wsctl's included. */
        free(req);
        *out = sup_admin_error_doc(503, "another channel request is in progress; try again");
        return 503;
    }
    wsf_ctl_response *res = sup_api_res();
    ctx->ctl_for_admin = route == SUP_ADMIN_R_PUBLISH;
    sup_ctl_handle(ctx, req, res);
    free(req);
    if (route == SUP_ADMIN_R_PUBLISH && sup_channels_ctl_pending(ctx)) {
        free(res);
        *out = NULL;
        return 0;
    }
    ctx->ctl_for_admin = false;
    *out = sup_admin_answer_json(res, &status);
    free(res);
    return status;
}
