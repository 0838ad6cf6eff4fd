/* The admin API's documents and actions: JSON of the fleet's state built from the same answers
 * wsctl gets (sup_ctl_handle), and the POST routes turned into the same wsctl requests, so the
 * two interfaces cannot drift apart. */
#ifndef SUP_ADMIN_API_H
#define SUP_ADMIN_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sup_admin_http.h"
#include "sup_events.h"
#include "wsf_msg.h"

typedef struct sup_ctx sup_ctx;

/* GET /api/status: the fleet (wsctl status) plus ready, degraded, the scaler and the last event
 * id. A new reference. */
json_t *sup_admin_status_json(sup_ctx *ctx);

/* GET /api/workers: {"workers":[...]} as wsctl workers lists them, plus each slot's latency
 * quantiles of its last second. */
json_t *sup_admin_workers_json(sup_ctx *ctx);

/* GET /api/breakers: {"breakers":[{"slot","state","failure_rate","times_opened","opened_at"}]}. */
json_t *sup_admin_breakers_json(sup_ctx *ctx);

/* GET /api/events?since=ID: {"last_id", "events":[{"id","time_ms","kind","slot","text"}]}. */
json_t *sup_admin_events_json(const sup_ctx *ctx, uint64_t since);

/* One event as sent on /ws: {"type":"event","event":{...}}. */
json_t *sup_admin_event_json(const sup_event *e);

/* GET /api/history?slot=N&seconds=S (slot -1: the fleet): {"slot","points":[{"t_ms",
 * "connections","workers","msgs_in","msgs_out","errors","p50_us","p99_us"}]} over the last
 * seconds (1..300). NULL when the slot is out of range. */
json_t *sup_admin_history_json(const sup_ctx *ctx, int slot, unsigned seconds);

/* GET /api/cluster: {"fleets":[{"name","state","workers","connections","msgs_in_per_s",
 * "errors_per_s","pid","version","age_s"}]}, the fleets heard on wsf.fleet.<name>.status in the
 * last 10 s, as `wsctl --json cluster` prints them (the same answer of the wsctl handler). NULL
 * with err set when the fleet hears none (no NATS connection). */
json_t *sup_admin_cluster_json(sup_ctx *ctx, char *err, size_t err_len);

/* The /ws snapshot: {"type":"snapshot","status":{...},"workers":[...],"point":{...},
 * "alerts":[the firing alerts, as GET /api/alerts lists them]}. */
json_t *sup_admin_snapshot_json(sup_ctx *ctx);

/* True when /readyz answers 200: at least one worker running, accepting and not ejected by an
 * open breaker, and the fleet neither degraded nor stopping. */
bool sup_admin_is_ready(const sup_ctx *ctx);

/* Runs a POST route's action with its JSON body (body, len). Returns the HTTP status and sets
 * *out to the answer document (a new reference): 200 with {"ok":true,"message":...} (and
 * "offset" for publish), 400 for a body that is not the route's JSON, 409 when the fleet refuses
 * (stopping, no such slot, a rolling restart already running ...), with an error document.
 * A publish may be answered later: then it returns 0 and *out is NULL, and the answer comes to
 * sup_admin_ctl_answer. */
int sup_admin_action(sup_ctx *ctx, enum sup_admin_route route, const char *body, size_t len,
                     json_t **out);

/* The answer document of a wsctl response to an action (200 or 409 in *status). */
json_t *sup_admin_answer_json(const wsf_ctl_response *res, int *status);

/* {"error":{"code":status,"message":message}}. */
json_t *sup_admin_error_doc(int status, const char *message);

#endif
