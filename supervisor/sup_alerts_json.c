/* JSON renderings of alerts. */
#include "sup_alerts_json.h"

#include <stdio.h>
#include <time.h>

void sup_alerts_time(char *out, size_t size, uint64_t wall_ms)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(wall_ms % 1000));
}

static void sup_alerts_set_time(json_t *o, const char *key, uint64_t wall_ms)
{
    char t[40];
    sup_alerts_time(t, sizeof t, wall_ms);
    json_object_set_new(o, key, json_string(t));
}

json_t *sup_alert_json(const sup_alert *al, const char *fleet)
{
    char summary[256], description[512];
    sup_alert_summary(summary, sizeof summary, al);
    sup_alert_description(description, sizeof description, al);
    json_t *o = json_object();
    json_object_set_new(o, "alertname", json_string(sup_alert_rule_alertname(al->rule)));
    json_object_set_new(o, "rule", json_string(sup_alert_rule_key(al->rule)));
    json_object_set_new(o, "fleet", json_string(fleet));
    if (al->slot >= 0)
        json_object_set_new(o, "slot", json_integer(al->slot));
    json_object_set_new(o, "severity", json_string(sup_alert_severity(al->rule)));
    json_object_set_new(o, "state", json_string(al->firing ? "firing" : "resolved"));
    json_object_set_new(o, "summary", json_string(summary));
    json_object_set_new(o, "description", json_string(description));
    sup_alerts_set_time(o, "startsAt", al->starts_ms);
    if (!al->firing)
        sup_alerts_set_time(o, "endsAt", al->ends_ms);
    json_object_set_new(o, "value", json_real(al->value));
    json_object_set_new(o, "threshold", json_real(al->threshold));
    return o;
}

typedef struct sup_alerts_json_arg {
    json_t *list;
    const char *fleet;
} sup_alerts_json_arg;

static void sup_alerts_json_one(const sup_alert *al, void *arg)
{
    sup_alerts_json_arg *x = arg;
    json_array_append_new(x->list, sup_alert_json(al, x->fleet));
}

json_t *sup_alerts_json(const sup_alerts *a, const char *fleet)
{
    sup_alerts_json_arg x = {.list = json_array(), .fleet = fleet};
    sup_alerts_each_firing(a, sup_alerts_json_one, &x);
    json_t *recent = json_array();
    const sup_alert *al;
    for (size_t i = 0; (al = sup_alerts_recent_at(a, i)) != NULL; i++)
        json_array_append_new(recent, sup_alert_json(al, fleet));
    json_t *o = json_object();
    json_object_set_new(o, "fleet", json_string(fleet));
    json_object_set_new(o, "firing", x.list);
    json_object_set_new(o, "recent", recent);
    return o;
}

json_t *sup_alert_am_json(const sup_alert *al, const char *fleet, uint64_t expires_ms)
{
    char summary[256], description[512], slot[16];
    sup_alert_summary(summary, sizeof summary, al);
    sup_alert_description(description, sizeof description, al);
    json_t *labels = json_object();
    json_object_set_new(labels, "alertname", json_string(sup_alert_rule_alertname(al->rule)));
    json_object_set_new(labels, "fleet", json_string(fleet));
    if (al->slot >= 0) {
        snprintf(slot, sizeof slot, "%d", al->slot);
        json_object_set_new(labels, "slot", json_string(slot));
    }
    json_object_set_new(labels, "severity", json_string(sup_alert_severity(al->rule)));
    json_t *ann = json_object();
    json_object_set_new(ann, "summary", json_string(summary));
    json_object_set_new(ann, "description", json_string(description));
    json_t *o = json_object();
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "annotations", ann);
    sup_alerts_set_time(o, "startsAt", al->starts_ms);
    sup_alerts_set_time(o, "endsAt", al->firing ? expires_ms : al->ends_ms);
    return o;
}
