/* Unit tests for supervisor/sup_alerts_json.c: the alerts as wsctl and the admin API show them,
 * and as Alertmanager's API v2 takes them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sup_alerts_json.h"

Suite *sup_alerts_json_suite(void);

#define W0 UINT64_C(1765000000250) /* 2025-12-06T05:46:40.250Z */

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    ck_assert_msg(s != NULL, "no string %s", key);
    return s;
}

START_TEST(test_time_is_rfc3339_utc_with_ms)
{
    char t[40];
    sup_alerts_time(t, sizeof t, W0);
    ck_assert_str_eq(t, "2025-12-06T05:46:40.250Z");
    sup_alerts_time(t, sizeof t, 0);
    ck_assert_str_eq(t, "1970-01-01T00:00:00.000Z");
}
END_TEST

START_TEST(test_alertmanager_firing_and_resolved)
{
    sup_alert al = {.rule = SUP_ALERT_SLOT_FAILED, .slot = 3, .firing = true, .starts_ms = W0};
    json_t *o = sup_alert_am_json(&al, "edge-1", W0 + 240000);
    json_t *labels = json_object_get(o, "labels");
    ck_assert_uint_eq(json_object_size(labels), 4);
    ck_assert_str_eq(str(labels, "alertname"), "WsfleetSlotFailed");
    ck_assert_str_eq(str(labels, "fleet"), "edge-1");
    ck_assert_str_eq(str(labels, "slot"), "3"); /* label values are strings */
    ck_assert_str_eq(str(labels, "severity"), "warning");
    json_t *ann = json_object_get(o, "annotations");
    ck_assert_str_eq(str(ann, "summary"), "worker slot 3 failed");
    ck_assert_ptr_nonnull(strstr(str(ann, "description"), "slot 3"));
    ck_assert_str_eq(str(o, "startsAt"), "2025-12-06T05:46:40.250Z");
    ck_assert_str_eq(str(o, "endsAt"), "2025-12-06T05:50:40.250Z"); /* the expiry */
    json_decref(o);

    al.firing = false;
    al.ends_ms = W0 + 5000;
    al.rule = SUP_ALERT_FLEET_DEGRADED;
    al.slot = -1;
    o = sup_alert_am_json(&al, "edge-1", W0 + 240000);
    labels = json_object_get(o, "labels");
    ck_assert_uint_eq(json_object_size(labels), 3); /* no slot label on fleet-wide alerts */
    ck_assert_ptr_null(json_object_get(labels, "slot"));
    ck_assert_str_eq(str(labels, "severity"), "critical");
    ck_assert_str_eq(str(o, "endsAt"), "2025-12-06T05:46:45.250Z"); /* when it resolved */
    json_decref(o);
}
END_TEST

START_TEST(test_current_and_recent)
{
    sup_alerts *a = malloc(sizeof *a);
    sup_alerts_cfg cfg;
    sup_alcfg_init(&cfg);
    sup_alerts_init(a);
    sup_alerts_input *in = calloc(1, sizeof *in);
    sup_alert out[SUP_ALERTS_MAX_TRANSITIONS];
    in->now_ms = 1000;
    in->wall_ms = W0;
    in->nslots = 2;
    in->slot[0] = (sup_alerts_slot_in){.present = true, .failed = true};
    in->slot[1] = (sup_alerts_slot_in){.present = true, .failed = true};
    ck_assert_uint_eq(sup_alerts_eval(a, &cfg, in, out, SUP_ALERTS_MAX_TRANSITIONS), 2);
    in->slot[0].failed = false;
    in->now_ms += 2000;
    in->wall_ms += 2000;
    ck_assert_uint_eq(sup_alerts_eval(a, &cfg, in, out, SUP_ALERTS_MAX_TRANSITIONS), 1);

    json_t *doc = sup_alerts_json(a, "f");
    ck_assert_str_eq(str(doc, "fleet"), "f");
    json_t *firing = json_object_get(doc, "firing"), *recent = json_object_get(doc, "recent");
    ck_assert_uint_eq(json_array_size(firing), 1);
    ck_assert_uint_eq(json_array_size(recent), 1);
    json_t *f = json_array_get(firing, 0), *r = json_array_get(recent, 0);
    ck_assert_str_eq(str(f, "state"), "firing");
    ck_assert_int_eq(json_integer_value(json_object_get(f, "slot")), 1);
    ck_assert_str_eq(str(f, "rule"), "slot_failed");
    ck_assert_ptr_null(json_object_get(f, "endsAt"));
    ck_assert_str_eq(str(r, "state"), "resolved");
    ck_assert_int_eq(json_integer_value(json_object_get(r, "slot")), 0);
    ck_assert_str_eq(str(r, "startsAt"), "2025-12-06T05:46:40.250Z");
    ck_assert_str_eq(str(r, "endsAt"), "2025-12-06T05:46:42.250Z");
    json_decref(doc);
    free(in);
    free(a);
}
END_TEST

Suite *sup_alerts_json_suite(void)
{
    Suite *s = suite_create("sup_alerts_json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, test_time_is_rfc3339_utc_with_ms);
    tcase_add_test(tc, test_alertmanager_firing_and_resolved);
    tcase_add_test(tc, test_current_and_recent);
    suite_add_tcase(s, tc);
    return s;
}
