/* Unit tests for chaos/chaos_report.c: judging objectives (bounds, missing metrics, errors), the
 * text report's lines, the JSON document read back with jansson, the summary, and notes past the
 * limit. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_report.h"

Suite *chaos_report_suite(void);

static const char drill_text[] = "[drill]\n"
                                 "description = SIGKILL a random worker every 10 s\n"
                                 "duration = 30s\n"
                                 "quick_duration = 20s\n"
                                 "[load]\n"
                                 "clients = 1000\n"
                                 "quick_clients = 200\n"
                                 "[timeline]\n"
                                 "every 10s from 3s = kill random\n"
                                 "[objectives]\n"
                                 "max other_disconnects = 0\n"
                                 "max reconnect_p99_ms = 5s\n"
                                 "min workers_final = 4\n";

static chaos_drill drill;

static void setup(void)
{
    char err[256];
    ck_assert_int_eq(chaos_drill_parse_string(&drill, "kill-one", drill_text, err, sizeof err), 0);
}

/* Runs a writer into memory; the caller frees the text. */
static char *text_of(const chaos_report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    chaos_report_text(r, f);
    fclose(f);
    return buf;
}

static json_t *json_of(const chaos_report *const *reports, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(chaos_report_json(reports, n, f), 0);
    fclose(f);
    json_error_t jerr;
    json_t *root = json_loads(buf, 0, &jerr);
    ck_assert_msg(root != NULL, "%s: %s", jerr.text, buf);
    ck_assert_int_eq(buf[len - 1], '\n');
    free(buf);
    return root;
}

#define assert_has(text, line)                                                                     \
    ck_assert_msg(strstr((text), (line)) != NULL, "no '%s' in\n%s", (line), (text))
#define assert_lacks(text, line)                                                                   \
    ck_assert_msg(strstr((text), (line)) == NULL, "'%s' in\n%s", (line), (text))

/* A run that went well apart from slow reconnects. */
static void fill(chaos_report *r)
{
    chaos_report_init(r, &drill, true);
    chaos_report_fault(r, 3000, "SIGKILL worker slot %d pid %d (%d clients)", 2, 1234, 104);
    chaos_report_fault(r, 13000, "SIGKILL worker slot %d pid %d (%d clients)", 0, 1250, 99);
    chaos_report_action(r, 3200, "slot 2 restarted (pid 1240)");
    chaos_report_action(r, -500, "fleet up: 4 workers");
    r->by_cause[CHAOS_CAUSE_ABNORMAL] = 203;
    r->by_cause[CHAOS_CAUSE_CLOSE] = 12;
    r->close_codes[1] = 9;
    r->close_codes[11] = 3;
    chaos_report_set(r, CHAOS_M_OTHER_DISCONNECTS, 0);
    chaos_report_set(r, CHAOS_M_RECONNECT_P50_MS, 812);
    chaos_report_set(r, CHAOS_M_RECONNECT_P99_MS, 6120);
    chaos_report_set(r, CHAOS_M_RECONNECT_MAX_MS, 6300);
    chaos_report_set(r, CHAOS_M_WORKERS_FINAL, 4);
    chaos_report_set(r, CHAOS_M_SENT, 120000);
    chaos_report_set(r, CHAOS_M_ECHOED, 119800);
    chaos_report_set(r, CHAOS_M_LOST, 200);
    chaos_report_set(r, CHAOS_M_ECHO_ERRORS, 0);
    chaos_report_set(r, CHAOS_M_LATENCY_P50_MS, 0.25);
    chaos_report_set(r, CHAOS_M_RECONNECT_PEAK_SHARE, 0.125);
    r->elapsed_s = 23.44;
}

START_TEST(judge_bounds)
{
    chaos_report r;
    chaos_report_init(&r, &drill, false);
    /* nothing measured: every objective fails */
    ck_assert(!chaos_report_judge(&r));
    ck_assert(!r.passed[0] && !r.passed[1] && !r.passed[2]);

    chaos_report_set(&r, CHAOS_M_OTHER_DISCONNECTS, 0);     /* max 0: equal passes */
    chaos_report_set(&r, CHAOS_M_RECONNECT_P99_MS, 5000.5); /* max 5000: above fails */
    chaos_report_set(&r, CHAOS_M_WORKERS_FINAL, 4);         /* min 4: equal passes */
    ck_assert(!chaos_report_judge(&r));
    ck_assert(r.passed[0]);
    ck_assert(!r.passed[1]);
    ck_assert(r.passed[2]);
    ck_assert(!r.all_passed);

    chaos_report_set(&r, CHAOS_M_RECONNECT_P99_MS, 4999);
    ck_assert(chaos_report_judge(&r));
    ck_assert(r.passed[1]);
    ck_assert(r.all_passed);

    chaos_report_set(&r, CHAOS_M_WORKERS_FINAL, 3); /* min 4: below fails */
    chaos_report_set(&r, CHAOS_M_OTHER_DISCONNECTS, 1);
    ck_assert(!chaos_report_judge(&r));
    ck_assert(!r.passed[0]);
    ck_assert(!r.passed[2]);
}
END_TEST

START_TEST(judge_error)
{
    chaos_report r;
    chaos_report_init(&r, &drill, false);
    chaos_report_set(&r, CHAOS_M_OTHER_DISCONNECTS, 0);
    chaos_report_set(&r, CHAOS_M_RECONNECT_P99_MS, 100);
    chaos_report_set(&r, CHAOS_M_WORKERS_FINAL, 4);
    ck_assert(chaos_report_judge(&r));
    chaos_report_error(&r, "wsfleetd exited with %d", 2);
    chaos_report_error(&r, "a consequence");
    ck_assert_str_eq(r.error, "wsfleetd exited with 2");
    ck_assert(!chaos_report_judge(&r));
    ck_assert(r.passed[0] && r.passed[1] && r.passed[2]); /* the objectives themselves held */
    ck_assert(!r.all_passed);

    /* no objectives: passes, unless there is an error */
    chaos_drill empty;
    char err[256];
    ck_assert_int_eq(chaos_drill_parse_string(&empty, "empty",
                                              "[drill]\nduration = 1s\n[load]\nclients = 1\n", err,
                                              sizeof err),
                     0);
    chaos_report_init(&r, &empty, false);
    ck_assert(chaos_report_judge(&r));
    chaos_report_error(&r, "no fleet");
    ck_assert(!chaos_report_judge(&r));
}
END_TEST

START_TEST(text_report)
{
    chaos_report r;
    fill(&r);
    ck_assert(!chaos_report_judge(&r));
    char *t = text_of(&r);
    ck_assert_msg(strncmp(t, "drill kill-one (quick): SIGKILL a random worker every 10 s\n", 59) ==
                      0,
                  "%s", t);
    assert_has(t, "\n  timeline 20.0 s, tail 10.0 s, 200 echo clients\n");
    assert_lacks(t, "ERROR");
    assert_has(t, "\n  faults injected (2)\n"
                  "        3.0s  SIGKILL worker slot 2 pid 1234 (104 clients)\n"
                  "       13.0s  SIGKILL worker slot 0 pid 1250 (99 clients)\n");
    assert_has(t, "\n  breaker, scaler and restarts seen through wsctl (2)\n"
                  "        3.2s  slot 2 restarted (pid 1240)\n"
                  "       -0.5s  fleet up: 4 workers\n");
    assert_lacks(t, "dropped");
    assert_has(t, "\n  disconnects by cause: close 12, abnormal 203, refused 0, connect 0, "
                  "handshake 0, echo 0, protocol 0\n");
    assert_has(t, "\n  close codes: 1001: 9, 1011: 3\n");
    assert_has(t, "\n  reconnect time: p50 812 ms  p99 6120 ms  max 6300 ms\n");
    assert_has(t, "\n  messages: sent 120000, echoed 119800, lost 200, echo errors 0\n");
    assert_has(t, "\n  echo latency: p50 0.25 ms\n");
    /* metrics: every one set, names and values aligned, with help */
    assert_has(t, "\n  metrics\n");
    assert_has(t, "\n    other_disconnects         0  disconnects no fault of the drill nor move "
                  "of the fleet explains\n");
    assert_has(t, "\n    reconnect_peak_share  0.125  largest share of one fault's reconnects "
                  "within any 100 ms\n");
    assert_has(t, "\n    sent                 120000  messages sent\n");
    assert_lacks(t, "    faults ");
    assert_has(t, "\n  objectives\n"
                  "    PASS  max other_disconnects = 0    (0)\n"
                  "    FAIL  max reconnect_p99_ms = 5000  (6120)\n"
                  "    PASS  min workers_final = 4        (4)\n");
    assert_has(t, "\n  result: FAIL (2 of 3 objectives) in 23.4 s\n");
    free(t);

    /* an error is shown at the top and fails the drill; a metric not set is "not measured" */
    r.have[CHAOS_M_WORKERS_FINAL] = false;
    r.quick = false;
    chaos_report_set(&r, CHAOS_M_RECONNECT_P99_MS, 10);
    chaos_report_error(&r, "wsfleetd did not come up within %d s", 10);
    ck_assert(!chaos_report_judge(&r));
    t = text_of(&r);
    ck_assert_msg(strncmp(t, "drill kill-one: SIGKILL", 23) == 0, "%s", t);
    assert_has(t, "\n  timeline 30.0 s, tail 10.0 s, 1000 echo clients\n"
                  "  ERROR: wsfleetd did not come up within 10 s\n");
    assert_has(t, "    FAIL  min workers_final = 4        (not measured)\n");
    assert_has(t, "\n  result: FAIL (error; 2 of 3 objectives) in 23.4 s\n");
    free(t);
}
END_TEST

START_TEST(json_report)
{
    chaos_report a, b;
    fill(&a);
    chaos_report_judge(&a);
    chaos_report_init(&b, &drill, false);
    chaos_report_set(&b, CHAOS_M_OTHER_DISCONNECTS, 0);
    chaos_report_set(&b, CHAOS_M_RECONNECT_P99_MS, 100);
    chaos_report_set(&b, CHAOS_M_WORKERS_FINAL, 4);
    b.elapsed_s = 31.5;
    ck_assert(chaos_report_judge(&b));
    const chaos_report *reports[] = {&a, &b};
    json_t *root = json_of(reports, 2);
    ck_assert(json_is_false(json_object_get(root, "passed")));
    json_t *drills = json_object_get(root, "drills");
    ck_assert_uint_eq(json_array_size(drills), 2);

    json_t *d = json_array_get(drills, 0);
    ck_assert_str_eq(json_string_value(json_object_get(d, "name")), "kill-one");
    ck_assert_str_eq(json_string_value(json_object_get(d, "description")),
                     "SIGKILL a random worker every 10 s");
    ck_assert(json_is_true(json_object_get(d, "quick")));
    ck_assert_double_eq_tol(json_real_value(json_object_get(d, "elapsed_s")), 23.44, 1e-9);
    ck_assert(json_is_null(json_object_get(d, "error")));
    ck_assert(json_is_false(json_object_get(d, "passed")));
    ck_assert_int_eq(json_integer_value(json_object_get(d, "dropped_notes")), 0);

    json_t *faults = json_object_get(d, "faults");
    ck_assert_uint_eq(json_array_size(faults), 2);
    json_t *f1 = json_array_get(faults, 1);
    ck_assert_int_eq(json_integer_value(json_object_get(f1, "t_ms")), 13000);
    ck_assert_str_eq(json_string_value(json_object_get(f1, "text")),
                     "SIGKILL worker slot 0 pid 1250 (99 clients)");
    json_t *actions = json_object_get(d, "actions");
    ck_assert_uint_eq(json_array_size(actions), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(actions, 1), "t_ms")), -500);

    json_t *causes = json_object_get(d, "disconnects_by_cause");
    ck_assert_uint_eq(json_object_size(causes), CHAOS_CAUSE_COUNT);
    ck_assert_int_eq(json_integer_value(json_object_get(causes, "abnormal")), 203);
    ck_assert_int_eq(json_integer_value(json_object_get(causes, "close")), 12);
    ck_assert_int_eq(json_integer_value(json_object_get(causes, "protocol")), 0);
    ck_assert(json_is_integer(json_object_get(causes, "refused")));

    json_t *codes = json_object_get(d, "close_codes");
    ck_assert_uint_eq(json_object_size(codes), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(codes, "1001")), 9);
    ck_assert_int_eq(json_integer_value(json_object_get(codes, "1011")), 3);

    json_t *metrics = json_object_get(d, "metrics");
    ck_assert_uint_eq(json_object_size(metrics), 11);
    ck_assert(json_is_integer(json_object_get(metrics, "reconnect_p99_ms")));
    ck_assert_int_eq(json_integer_value(json_object_get(metrics, "reconnect_p99_ms")), 6120);
    ck_assert(json_is_integer(json_object_get(metrics, "other_disconnects")));
    ck_assert(json_is_real(json_object_get(metrics, "latency_p50_ms")));
    ck_assert_double_eq(json_real_value(json_object_get(metrics, "latency_p50_ms")), 0.25);
    ck_assert_ptr_null(json_object_get(metrics, "faults"));

    json_t *objs = json_object_get(d, "objectives");
    ck_assert_uint_eq(json_array_size(objs), 3);
    json_t *o1 = json_array_get(objs, 1);
    ck_assert_str_eq(json_string_value(json_object_get(o1, "text")), "max reconnect_p99_ms = 5000");
    ck_assert_str_eq(json_string_value(json_object_get(o1, "metric")), "reconnect_p99_ms");
    ck_assert_str_eq(json_string_value(json_object_get(o1, "bound")), "max");
    ck_assert_int_eq(json_integer_value(json_object_get(o1, "limit")), 5000);
    ck_assert_int_eq(json_integer_value(json_object_get(o1, "value")), 6120);
    ck_assert(json_is_false(json_object_get(o1, "passed")));
    json_t *o2 = json_array_get(objs, 2);
    ck_assert_str_eq(json_string_value(json_object_get(o2, "bound")), "min");
    ck_assert(json_is_true(json_object_get(o2, "passed")));

    json_t *d2 = json_array_get(drills, 1);
    ck_assert(json_is_false(json_object_get(d2, "quick")));
    ck_assert(json_is_true(json_object_get(d2, "passed")));
    ck_assert_uint_eq(json_object_size(json_object_get(d2, "close_codes")), 0);
    json_decref(root);

    /* an error and a metric not measured */
    chaos_report_error(&b, "wsfleetd died");
    b.have[CHAOS_M_WORKERS_FINAL] = false;
    chaos_report_judge(&b);
    const chaos_report *one[] = {&b};
    root = json_of(one, 1);
    d = json_array_get(json_object_get(root, "drills"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(d, "error")), "wsfleetd died");
    ck_assert(json_is_false(json_object_get(d, "passed")));
    ck_assert(json_is_false(json_object_get(root, "passed")));
    o2 = json_array_get(json_object_get(d, "objectives"), 2);
    ck_assert(json_is_null(json_object_get(o2, "value")));
    ck_assert(json_is_false(json_object_get(o2, "passed")));
    json_decref(root);

    /* no drills at all: an empty list that passes */
    root = json_of(NULL, 0);
    ck_assert_uint_eq(json_array_size(json_object_get(root, "drills")), 0);
    ck_assert(json_is_true(json_object_get(root, "passed")));
    json_decref(root);

    FILE *full = fopen("/dev/full", "w");
    if (full != NULL) {
        ck_assert_int_eq(chaos_report_json(one, 1, full), -1);
        fclose(full);
    }
}
END_TEST

START_TEST(summary)
{
    chaos_drill other;
    char err[256];
    ck_assert_int_eq(chaos_drill_parse_string(&other, "crash-loop-long-name",
                                              "[drill]\nduration = 1s\n[load]\nclients = 1\n"
                                              "[objectives]\nmax lost = 0\n",
                                              err, sizeof err),
                     0);
    chaos_report a, b, c;
    fill(&a);
    chaos_report_judge(&a);
    chaos_report_init(&b, &other, false);
    chaos_report_set(&b, CHAOS_M_LOST, 0);
    b.elapsed_s = 4.0;
    chaos_report_judge(&b);
    chaos_report_init(&c, &other, false);
    chaos_report_error(&c, "cannot start wsfleetd");
    chaos_report_judge(&c);
    const chaos_report *reports[] = {&a, &b, &c};

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    chaos_report_summary(reports, 3, f);
    fclose(f);
    ck_assert_str_eq(buf, "FAIL  kill-one (quick)      2 of 3 objectives       23.4 s\n"
                          "PASS  crash-loop-long-name  1 of 1 objectives        4.0 s\n"
                          "FAIL  crash-loop-long-name  0 of 1 objectives        0.0 s  error: "
                          "cannot start wsfleetd\n"
                          "1 of 3 drills passed\n");
    free(buf);
}
END_TEST

START_TEST(notes_overflow)
{
    chaos_report r;
    chaos_report_init(&r, &drill, false);
    for (int i = 0; i < CHAOS_NOTES_MAX + 40; i++)
        chaos_report_fault(&r, i, "fault %d", i);
    for (int i = 0; i < CHAOS_NOTES_MAX + 4; i++)
        chaos_report_action(&r, i, "action %d", i);
    ck_assert_uint_eq(r.n_faults, CHAOS_NOTES_MAX);
    ck_assert_uint_eq(r.n_actions, CHAOS_NOTES_MAX);
    ck_assert_uint_eq(r.dropped_notes, 44);
    ck_assert_str_eq(r.faults[CHAOS_NOTES_MAX - 1].text, "fault 255");
    ck_assert_int_eq(r.faults[CHAOS_NOTES_MAX - 1].t_ms, 255);

    /* a note longer than its slot is cut, and still valid JSON when cut mid-character */
    char longtext[300];
    memset(longtext, 'a', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    chaos_report r2;
    chaos_report_init(&r2, &drill, false);
    chaos_report_fault(&r2, 1, "%s", longtext);
    chaos_report_fault(&r2, 2, "%.*s\xc3\xa9", (int)sizeof r2.faults[1].text - 2, longtext);
    ck_assert_uint_eq(strlen(r2.faults[0].text), sizeof r2.faults[0].text - 1);

    chaos_report_judge(&r);
    char *t = text_of(&r);
    assert_has(t, "\n  faults injected (256)\n");
    assert_has(t, "\n  notes dropped: 44 (past 256 of a kind)\n");
    free(t);
    const chaos_report *reports[] = {&r, &r2};
    json_t *root = json_of(reports, 2);
    json_t *d = json_array_get(json_object_get(root, "drills"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "dropped_notes")), 44);
    ck_assert_uint_eq(json_array_size(json_object_get(d, "faults")), CHAOS_NOTES_MAX);
    d = json_array_get(json_object_get(root, "drills"), 1);
    const char *cut =
        json_string_value(json_object_get(json_array_get(json_object_get(d, "faults"), 1), "text"));
    ck_assert_ptr_nonnull(cut);
    ck_assert_int_eq(cut[strlen(cut) - 1], '?');
    json_decref(root);
}
END_TEST

Suite *chaos_report_suite(void)
{
    Suite *s = suite_create("chaos_report");
    TCase *tc = tcase_create("report");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, judge_bounds);
    tcase_add_test(tc, judge_error);
    tcase_add_test(tc, text_report);
    tcase_add_test(tc, json_report);
    tcase_add_test(tc, summary);
    tcase_add_test(tc, notes_overflow);
    suite_add_tcase(s, tc);
    return s;
}
