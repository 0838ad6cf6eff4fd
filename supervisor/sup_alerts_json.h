/* Alerts as JSON: for `wsctl alerts` and the admin API (sup_alerts_json), for the hook's
 * subscribers (sup_alert_json), and as Alertmanager API v2 alerts for webhooks
 * (sup_alert_am_json). Pure: the caller passes the time. */
#ifndef SUP_ALERTS_JSON_H
#define SUP_ALERTS_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sup_alerts.h"

/* RFC 3339 UTC with milliseconds ("2026-12-07T20:40:01.250Z") into out (>= 32 bytes). */
void sup_alerts_time(char *out, size_t size, uint64_t wall_ms);

/* {"alertname","rule","slot" (slot rules only),"severity","state":"firing"|"resolved",
 * "summary","description","startsAt","endsAt" (resolved only),"value","threshold"}.
 * A new reference; the caller json_decref()s it. */
json_t *sup_alert_json(const sup_alert *al, const char *fleet);

/* {"fleet":F,"firing":[alert...],"recent":[resolved alert..., newest first]}: the current and
 * the last SUP_ALERTS_RECENT resolved alerts. A new reference. */
json_t *sup_alerts_json(const sup_alerts *a, const char *fleet);

/* One alert of Alertmanager's POST /api/v2/alerts: {"labels":{"alertname","fleet","slot"?,
 * "severity"},"annotations":{"summary","description"},"startsAt","endsAt"}. A resolved alert
 * carries its own endsAt; a firing one expires_ms (wall), after which Alertmanager resolves it
 * by itself should wsfleetd stop re-sending it. A new reference. */
json_t *sup_alert_am_json(const sup_alert *al, const char *fleet, uint64_t expires_ms);

#endif
