/* wsfleetd's alerting: once a second a snapshot of the fleet goes through the pure rules
 * (sup_alerts.h); every firing and resolved transition is logged (one line), passed to the hook
 * (the admin server's event ring subscribes there), and POSTed to each [alerts] webhook in
 * Alertmanager's API v2 format (sup_webhook.h), where firing alerts are also re-sent every
 * resend_interval. `wsctl alerts` and the admin API read sup_alerting_json. */
#ifndef SUP_ALERTING_H
#define SUP_ALERTING_H

#include <jansson.h>
#include <stdint.h>

#include "sup_alerts.h"
#include "wsf_msg.h"

struct sup_ctx;

#define SUP_ALERTING_EVAL_MS 1000
#define SUP_ALERTING_P99_WINDOW 10 /* seconds of latency histograms behind the p99 */

/* Called for every transition: al->firing tells firing from resolved; fleet is the "fleet"
 * label. al is valid during the call only (sup_alert_json renders it). */
typedef void (*sup_alerting_hook_fn)(const sup_alert *al, const char *fleet, void *arg);

/* Sets up alerting from ctx->cfg.alerts: the webhooks and a resolver for their names. Returns 0
 * or -1 (logged). */
int sup_alerting_start(struct sup_ctx *ctx);

/* Evaluates the rules when SUP_ALERTING_EVAL_MS have passed since the last time (now:
 * monotonic ms), and re-sends firing alerts when due. */
void sup_alerting_tick(struct sup_ctx *ctx, uint64_t now);

/* Takes the reloaded [alerts] settings: alert state is kept; the webhooks are made anew (their
 * queues dropped) when their list, timeout or queue size changed. */
void sup_alerting_reloaded(struct sup_ctx *ctx);

/* Frees everything; batches not delivered are dropped. */
void sup_alerting_fini(struct sup_ctx *ctx);

/* Sets (or with NULL clears) the one transition hook. */
void sup_alerting_set_hook(struct sup_ctx *ctx, sup_alerting_hook_fn fn, void *arg);

/* The current and recent alerts ({"fleet","firing":[...],"recent":[...]}, see
 * sup_alerts_json.h). A new reference; the caller json_decref()s it. */
json_t *sup_alerting_json(const struct sup_ctx *ctx);

/* The number of firing instances of rule r (0 without alerting). */
size_t sup_alerting_firing(const struct sup_ctx *ctx, enum sup_alert_rule r);

/* Sets the generatorURL of the alerts sent to webhooks (the admin server's URL; "" for none). */
void sup_alerting_set_generator(struct sup_ctx *ctx, const char *url);

/* wsctl alerts: that JSON in res->body. */
void sup_alerting_ctl(const struct sup_ctx *ctx, wsf_ctl_response *res);

#endif
