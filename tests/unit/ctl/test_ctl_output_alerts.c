/* Unit tests for ctl/ctl_output.c's `wsctl alerts`: the table of firing and resolved alerts,
 * --json, and answers that are not an alerts document. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_output.h"

Suite *ctl_output_alerts_suite(void);

static wsf_ctl_response *res;

static void setup(void)
{
    res = calloc(1, sizeof *res);
    ck_assert_ptr_nonnull(res);
    res->ok = true;
}

static void teardown(void)
{
    free(res);
}

static char *render(bool json, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    *rc = ctl_output_render(f, WSF_CTL_ALERTS, res, json, 0);
    ck_assert_int_eq(fclose(f), 0);
    return text;
}

START_TEST(alerts_table)
{
    snprintf(
        res->body, sizeof res->body, "%s",
        "{\"fleet\":\"f\",\"firing\":[{\"alertname\":\"WsfleetSlotFailed\",\"slot\":2,"
        "\"severity\":\"warning\",\"state\":\"firing\",\"summary\":\"worker slot 2 failed\","
        "\"startsAt\":\"2026-12-07T20:40:01.250Z\"}],"
        "\"recent\":[{\"alertname\":\"WsfleetFleetDegraded\",\"severity\":\"critical\","
        "\"state\":\"resolved\",\"summary\":\"fleet\\u0007degraded\","
        "\"startsAt\":\"2026-12-07T20:30:00.000Z\",\"endsAt\":\"2026-12-07T20:31:00.000Z\"}]}");
    int rc;
    char *text = render(false, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(text,
                     "STATE     ALERT                  SLOT SEVERITY STARTED                  "
                     "ENDED                    SUMMARY\n"
                     "firing    WsfleetSlotFailed         2 warning  2026-12-07T20:40:01.250Z "
                     "-                        worker slot 2 failed\n"
                     "resolved  WsfleetFleetDegraded      - critical 2026-12-07T20:30:00.000Z "
                     "2026-12-07T20:31:00.000Z fleet?degraded\n");
    free(text);
}
END_TEST

START_TEST(alerts_none)
{
    snprintf(res->body, sizeof res->body, "{\"fleet\":\"f\",\"firing\":[],\"recent\":[]}");
    int rc;
    char *text = render(false, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(text, "no alerts\n");
    free(text);
}
END_TEST

START_TEST(alerts_json_is_the_document)
{
    snprintf(res->body, sizeof res->body,
             "{\"fleet\":\"f\",\"firing\":[{\"alertname\":\"A\"}],\"recent\":[]}");
    int rc;
    char *text = render(true, &rc);
    ck_assert_int_eq(rc, 0);
    json_t *doc = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "fleet")), "f");
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "firing")), 1);
    json_decref(doc);
    free(text);
}
END_TEST

START_TEST(alerts_bad_answer)
{
    const char *bad[] = {"not json", "[1]", "{\"firing\":[]}", "{\"firing\":{},\"recent\":[]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(res->body, sizeof res->body, "%s", bad[i]);
        int rc;
        char *text = render(false, &rc);
        ck_assert_msg(rc == -EPROTO, "'%s' gave %d", bad[i], rc);
        ck_assert_str_eq(text, "");
        free(text);
    }
}
END_TEST

Suite *ctl_output_alerts_suite(void)
{
    Suite *s = suite_create("ctl_output_alerts");
    TCase *tc = tcase_create("alerts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, alerts_table);
    tcase_add_test(tc, alerts_none);
    tcase_add_test(tc, alerts_json_is_the_document);
    tcase_add_test(tc, alerts_bad_answer);
    suite_add_tcase(s, tc);
    return s;
}
