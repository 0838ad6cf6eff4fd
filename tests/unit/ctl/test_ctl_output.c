/* Unit tests for ctl/ctl_output.c: JSON documents parsed back with jansson, human text searched
 * for the values. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_output.h"

Suite *ctl_output_suite(void);

#define NOW 1700000000ull /* the fake current Unix time given to the renderer */
#define SCALING "scale up 2 -> 3: 310 connections per worker, target 250"

static wsf_ctl_response *res;

/* A fleet of three: a busy worker with a closed breaker, a draining one whose breaker opened
 * 12 s ago, and an empty backing-off slot whose breaker is half-open. */
static void setup(void)
{
    res = calloc(1, sizeof *res);
    ck_assert_ptr_nonnull(res);
    res->ok = true;
    snprintf(res->server_version, sizeof res->server_version, "0.1.0-test");
    res->has_status = true;
    wsf_fleet_status *st = &res->status;
    snprintf(st->state, sizeof st->state, "degraded");
    st->pid = 4242;
    st->workers_running = 2;
    st->workers_desired = 3;
    st->workers_min = 2;
    st->workers_max = 8;
    st->connections = 1234567;
    st->msgs_in_per_s = 8765.25;
    st->errors_per_s = 0.5;
    st->uptime_s = 3723;
    snprintf(st->steering, sizeof st->steering, "cbpf");
    snprintf(st->listen, sizeof st->listen, "127.0.0.1:8080");
    st->autoscale = true;
    snprintf(st->last_scaling, sizeof st->last_scaling, "%s", SCALING);
    st->last_scaling_age_s = 65;
    st->workers_adopted = 2;
    st->backend_requests = 40;
    st->backend_failures = 3;
    st->backend_breakers_open = 1;
    snprintf(st->name, sizeof st->name, "east-1");

    res->nworkers = 3;
    res->workers[0] = (wsf_worker_status){.slot = 0,
                                          .pid = 5001,
                                          .connections = 600,
                                          .msgs_in_per_s = 4000.5,
                                          .msgs_out_per_s = 4001.25,
                                          .errors_per_s = 0.25,
                                          .restarts = 1,
                                          .uptime_s = 59,
                                          .generation = 2,
                                          .accepting = true,
                                          .buckets = 128,
                                          .rss_bytes = 12 * 1024 * 1024 + 300 * 1024};
    snprintf(res->workers[0].state, sizeof res->workers[0].state, "running");
    snprintf(res->workers[0].breaker, sizeof res->workers[0].breaker, "closed");
    snprintf(res->workers[0].backend_breaker, sizeof res->workers[0].backend_breaker, "closed");
    res->workers[1] = (wsf_worker_status){.slot = 1,
                                          .pid = 5002,
                                          .connections = 634567,
                                          .msgs_in_per_s = 4764.75,
                                          .msgs_out_per_s = 4764.75,
                                          .errors_per_s = 0.0,
                                          .restarts = 0,
                                          .uptime_s = 90061,
                                          .generation = 1,
                                          .accepting = false,
                                          .buckets = 0,
                                          .rss_bytes = 3ULL * 1024 * 1024 * 1024 / 2,
                                          .failure_rate = 0.625,
                                          .opened_at = NOW - 12,
                                          .times_opened = 3,
                                          .refused_bad_request = 11,
                                          .refused_not_found = 12,
                                          .refused_upgrade = 13,
                                          .refused_origin = 14,
                                          .refused_per_ip = 15,
                                          .refused_rate_limited = 16};
    snprintf(res->workers[1].state, sizeof res->workers[1].state, "draining");
    snprintf(res->workers[1].breaker, sizeof res->workers[1].breaker, "open");
    snprintf(res->workers[1].backend_breaker, sizeof res->workers[1].backend_breaker, "open");
    res->workers[1].backend_failures = 7;
    res->workers[2] = (wsf_worker_status){.slot = 2,
                                          .restarts = 5,
                                          .generation = 7,
                                          .failure_rate = 1.0,
                                          .opened_at = NOW - 3723,
                                          .times_opened = 12};
    snprintf(res->workers[2].state, sizeof res->workers[2].state, "backoff");
    snprintf(res->workers[2].breaker, sizeof res->workers[2].breaker, "half_open");
}

static void teardown(void)
{
    free(res);
    res = NULL;
}

/* Renders into a string; *rc gets ctl_output_render's result. The caller frees. */
static char *render(enum wsf_ctl_command cmd, bool json, int *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    *rc = ctl_output_render(f, cmd, res, json, NOW);
    ck_assert_int_eq(fclose(f), 0);
    return text;
}

/* Renders as JSON and parses it back: exactly one document, ending in a newline. */
static json_t *render_json(enum wsf_ctl_command cmd)
{
    int rc;
    json_error_t jerr;
    char *text = render(cmd, true, &rc);
    ck_assert_int_eq(rc, 0);
    size_t len = strlen(text);
    ck_assert_uint_gt(len, 0);
    ck_assert_int_eq(text[len - 1], '\n');
    json_t *doc = json_loads(text, 0, &jerr); /* rejects trailing data after the document */
    ck_assert_msg(doc != NULL, "bad JSON (%s): %s", jerr.text, text);
    free(text);
    return doc;
}

/* Renders as JSON and parses it back as an array of n elements. */
static json_t *render_array(enum wsf_ctl_command cmd, size_t n)
{
    json_t *a = render_json(cmd);
    ck_assert(json_is_array(a));
    ck_assert_uint_eq(json_array_size(a), n);
    return a;
}

static json_int_t int_field(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

static double num_field(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

static const char *str_field(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

static bool bool_field(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_boolean(v), "%s is not a boolean", key);
    return json_is_true(v);
}

#define ck_assert_contains(hay, needle)                                                            \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' not found in:\n%s", (needle), (hay))

START_TEST(status_json)
{
    json_t *o = render_json(WSF_CTL_STATUS);
    ck_assert(json_is_object(o));
    ck_assert_str_eq(str_field(o, "state"), "degraded");
    ck_assert_int_eq(int_field(o, "pid"), 4242);
    ck_assert_int_eq(int_field(o, "workers_running"), 2);
    ck_assert_int_eq(int_field(o, "workers_desired"), 3);
    ck_assert_int_eq(int_field(o, "workers_min"), 2);
    ck_assert_int_eq(int_field(o, "workers_max"), 8);
    ck_assert_int_eq(int_field(o, "connections"), 1234567);
    ck_assert_double_eq(num_field(o, "msgs_in_per_s"), 8765.25);
    ck_assert_double_eq(num_field(o, "errors_per_s"), 0.5);
    ck_assert_int_eq(int_field(o, "uptime_s"), 3723);
    ck_assert_str_eq(str_field(o, "steering"), "cbpf");
    ck_assert_str_eq(str_field(o, "listen"), "127.0.0.1:8080");
    ck_assert(bool_field(o, "autoscale"));
    ck_assert_str_eq(str_field(o, "last_scaling"), SCALING);
    ck_assert_int_eq(int_field(o, "last_scaling_age_s"), 65);
    ck_assert_int_eq(int_field(o, "workers_adopted"), 2);
    ck_assert_str_eq(str_field(o, "name"), "east-1");
    ck_assert_uint_eq(json_object_size(o), 18); /* every wsf_fleet_status field, backend_* in one */
    ck_assert_int_eq(int_field(json_object_get(o, "backend"), "breakers_open"), 1);
    json_decref(o);

    res->status.autoscale = false;
    res->status.last_scaling[0] = '\0';
    res->status.last_scaling_age_s = 0;
    o = render_json(WSF_CTL_STATUS);
    ck_assert(!bool_field(o, "autoscale"));
    ck_assert_str_eq(str_field(o, "last_scaling"), "");
    ck_assert_int_eq(int_field(o, "last_scaling_age_s"), 0);
    json_decref(o);
}
END_TEST

START_TEST(status_human)
{
    int rc;
    char *text = render(WSF_CTL_STATUS, false, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_contains(text, "state:");
    ck_assert_contains(text, "degraded");
    ck_assert_contains(text, "4242");
    ck_assert_contains(text, "2 running, 3 desired (min 2, max 8)");
    ck_assert_contains(text, "connections:  1234567\n");
    ck_assert_contains(text, "8765.2"); /* one decimal, whichever way the tie rounds */
    ck_assert_contains(text, "errors/s:     0.5\n");
    ck_assert_contains(text, "uptime:       1h02m\n");
    ck_assert_contains(text, "backend:      40 requests, 3 failed (0 timeouts), 1 breakers open\n");
    ck_assert_contains(text, "steering:     cbpf\n");
    ck_assert_contains(text, "listen:       127.0.0.1:8080\n");
    ck_assert_contains(text, "version:      0.1.0-test\n");
    ck_assert_contains(text, "autoscale:    on\n");
    ck_assert_contains(text, "last scaling: " SCALING " (1m05s ago)\n");
    free(text);

    res->status.autoscale = false;
    res->status.last_scaling_age_s = 7;
    text = render(WSF_CTL_STATUS, false, &rc);
    ck_assert_contains(text, "autoscale:    off\n");
    ck_assert_contains(text, "last scaling: " SCALING " (7s ago)\n");
    free(text);

    /* no decision yet */
    res->status.last_scaling[0] = '\0';
    text = render(WSF_CTL_STATUS, false, &rc);
    ck_assert_contains(text, "last scaling: none\n");
    ck_assert_ptr_null(strstr(text, "ago"));
    free(text);
}
END_TEST

START_TEST(status_without_status_is_an_error)
{
    int rc;
    res->has_status = false;
    char *text = render(WSF_CTL_STATUS, true, &rc);
    ck_assert_int_eq(rc, -EPROTO);
    ck_assert_str_eq(text, "");
    free(text);
    text = render(WSF_CTL_STATUS, false, &rc);
    ck_assert_int_eq(rc, -EPROTO);
    ck_assert_str_eq(text, "");
    free(text);
}
END_TEST

START_TEST(workers_json)
{
    json_t *a = render_array(WSF_CTL_WORKERS, 3);

    json_t *w = json_array_get(a, 0);
    ck_assert_int_eq(int_field(w, "slot"), 0);
    ck_assert_int_eq(int_field(w, "pid"), 5001);
    ck_assert_str_eq(str_field(w, "state"), "running");
    ck_assert_int_eq(int_field(w, "connections"), 600);
    ck_assert_double_eq(num_field(w, "msgs_in_per_s"), 4000.5);
    ck_assert_double_eq(num_field(w, "msgs_out_per_s"), 4001.25);
    ck_assert_double_eq(num_field(w, "errors_per_s"), 0.25);
    ck_assert_int_eq(int_field(w, "restarts"), 1);
    ck_assert_int_eq(int_field(w, "uptime_s"), 59);
    ck_assert_int_eq(int_field(w, "generation"), 2);
    ck_assert(bool_field(w, "accepting"));
    ck_assert_int_eq(int_field(w, "buckets"), 128);
    ck_assert_int_eq(int_field(w, "rss_bytes"), 12 * 1024 * 1024 + 300 * 1024);
    ck_assert_str_eq(str_field(w, "breaker"), "closed");
    ck_assert_double_eq(num_field(w, "failure_rate"), 0.0);
    ck_assert_int_eq(int_field(w, "opened_at"), 0);
    ck_assert_int_eq(int_field(w, "times_opened"), 0);
    ck_assert_uint_eq(json_object_size(w),
                      19); /* every wsf_worker_status field, refused_* and backend_* in one */
    ck_assert_uint_eq(json_object_size(json_object_get(w, "backend")), 7);
    ck_assert_str_eq(str_field(json_object_get(w, "backend"), "breaker"), "closed");
    ck_assert_uint_eq(json_object_size(json_object_get(w, "refused")), 6);
    ck_assert_int_eq(int_field(json_object_get(w, "refused"), "origin"), 0);

    w = json_array_get(a, 1);
    ck_assert_int_eq(int_field(w, "slot"), 1);
    ck_assert_str_eq(str_field(w, "state"), "draining");
    ck_assert_int_eq(int_field(w, "connections"), 634567);
    ck_assert(!bool_field(w, "accepting"));
    ck_assert_int_eq(int_field(w, "uptime_s"), 90061);
    ck_assert_str_eq(str_field(w, "breaker"), "open");
    ck_assert_double_eq(num_field(w, "failure_rate"), 0.625);
    ck_assert_int_eq(int_field(w, "opened_at"), (json_int_t)(NOW - 12));
    ck_assert_int_eq(int_field(w, "times_opened"), 3);
    const json_t *refused = json_object_get(w, "refused");
    static const char *const causes[] = {"bad_request", "not_found", "upgrade",
                                         "origin",      "per_ip",    "rate_limited"};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(int_field(refused, causes[i]), 11 + i);
    ck_assert_str_eq(str_field(json_object_get(w, "backend"), "breaker"), "open");
    ck_assert_int_eq(int_field(json_object_get(w, "backend"), "failures"), 7);

    w = json_array_get(a, 2);
    ck_assert_int_eq(int_field(w, "slot"), 2);
    ck_assert_int_eq(int_field(w, "pid"), 0);
    ck_assert_str_eq(str_field(w, "state"), "backoff");
    ck_assert_int_eq(int_field(w, "restarts"), 5);
    ck_assert_double_eq(num_field(w, "errors_per_s"), 0.0);
    ck_assert_str_eq(str_field(w, "breaker"), "half_open");
    ck_assert_double_eq(num_field(w, "failure_rate"), 1.0);
    ck_assert_int_eq(int_field(w, "times_opened"), 12);
    json_decref(a);
}
END_TEST

START_TEST(workers_json_empty)
{
    res->nworkers = 0;
    json_t *a = render_array(WSF_CTL_WORKERS, 0);
    json_decref(a);
}
END_TEST

START_TEST(workers_count_is_bounded)
{
    res->nworkers = WSF_CTL_MAX_WORKERS + 1000;
    json_t *a = render_json(WSF_CTL_WORKERS);
    ck_assert_uint_eq(json_array_size(a), WSF_CTL_MAX_WORKERS);
    json_decref(a);
}
END_TEST

/* The line of the table that starts with the given slot, copied for strtok. */
static char *table_line(const char *text, int line_no)
{
    const char *p = text;
    for (int i = 0; i < line_no; i++) {
        p = strchr(p, '\n');
        ck_assert_ptr_nonnull(p);
        p++;
    }
    const char *end = strchr(p, '\n');
    ck_assert_ptr_nonnull(end);
    return strndup(p, (size_t)(end - p));
}

/* Splits a table line into cells and checks each. Columns are at least two spaces apart, so a
 * single space belongs to a cell ("12s ago"). */
static void check_cells(const char *line, const char *const *want, size_t n)
{
    const char *p = line;
    size_t i = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        const char *end = strstr(p, "  ");
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        ck_assert_msg(i < n, "extra cell '%.*s' in '%s'", (int)len, p, line);
        ck_assert_msg(strlen(want[i]) == len && strncmp(p, want[i], len) == 0,
                      "cell %zu is '%.*s', want '%s' in '%s'", i, (int)len, p, want[i], line);
        i++;
        p += len;
    }
    ck_assert_uint_eq(i, n);
}

/* Checks the cells of the table's line line_no (0 is the heading); returns the line's width. */
static size_t check_row(const char *text, int line_no, const char *const *want, size_t n)
{
    char *line = table_line(text, line_no);
    check_cells(line, want, n);
    size_t width = strlen(line);
    free(line);
    return width;
}

/* The number of lines of text. */
static size_t count_lines(const char *text)
{
    size_t lines = 0;
    for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    return lines;
}

START_TEST(workers_human)
{
    int rc;
    char *text = render(WSF_CTL_WORKERS, false, &rc);
    ck_assert_int_eq(rc, 0);

    static const char *const head[] = {"SLOT",      "PID",     "STATE",    "CONNS",  "MSG/S-IN",
                                       "MSG/S-OUT", "ERR/S",   "RESTARTS", "UPTIME", "ACCEPT",
                                       "BUCKETS",   "BACKEND", "RSS"};
    static const char *const row0[] = {"0", "5001", "running", "600", "4000.5", "4001.2", "0.2",
                                       "1", "59s",  "yes",     "128", "closed", "12.3M"};
    static const char *const row1[] = {"1",      "5002", "draining", "634567", "4764.8",
                                       "4764.8", "0.0",  "0",        "1d01h",  "no",
                                       "0",      "open", "1.5G"};
    static const char *const row2[] = {"2", "-", "backoff", "0", "0.0", "0.0", "0.0",
                                       "5", "-", "no",      "0", "-",   "0B"};
    size_t width = check_row(text, 0, head, 13);
    /* printf rounds ties to even: 4001.25 → 4001.2, 0.25 → 0.2 */
    check_row(text, 1, row0, 13);
    ck_assert_uint_eq(check_row(text, 2, row1, 13), width); /* columns are aligned */
    check_row(text, 3, row2, 13);
    ck_assert_uint_eq(count_lines(text), 4);     /* heading and three workers */
    ck_assert_ptr_null(strstr(text, "BREAKER")); /* the breaker has its own table */

    /* right-aligned numbers: the PID column ends where its heading does */
    const char *pid_head = strstr(text, "PID");
    const char *pid0 = strstr(text, "5001");
    ck_assert_int_eq((int)(pid_head - text) + 3, (int)(pid0 - strchr(text, '\n') - 1) + 4);
    free(text);
}
END_TEST

START_TEST(workers_human_empty)
{
    int rc;
    res->nworkers = 0;
    char *text = render(WSF_CTL_WORKERS, false, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_contains(text, "SLOT");
    ck_assert_contains(text, "RSS\n");
    ck_assert_ptr_eq(strchr(text, '\n'), text + strlen(text) - 1);
    free(text);
}
END_TEST

START_TEST(breaker_human)
{
    int rc;
    char *text = render(WSF_CTL_BREAKER_LIST, false, &rc);
    ck_assert_int_eq(rc, 0);

    static const char *const head[] = {"SLOT",  "PID",    "STATE", "BREAKER",
                                       "FAIL%", "OPENED", "TIMES"};
    static const char *const row0[] = {"0", "5001", "running", "closed", "0.0", "-", "0"};
    static const char *const row1[] = {"1", "5002", "draining", "open", "62.5", "12s ago", "3"};
    static const char *const row2[] = {"2",     "-",         "backoff", "half_open",
                                       "100.0", "1h02m ago", "12"};
    size_t width = check_row(text, 0, head, 7);
    ck_assert_uint_eq(check_row(text, 1, row0, 7), width); /* columns are aligned */
    ck_assert_uint_eq(check_row(text, 2, row1, 7), width);
    ck_assert_uint_eq(check_row(text, 3, row2, 7), width);
    ck_assert_uint_eq(count_lines(text), 4);

    /* right-aligned: the OPENED column ends where its heading does */
    const char *row1_start = strchr(text, '\n') + 1;
    row1_start = strchr(row1_start, '\n') + 1;
    ck_assert_int_eq((int)(strstr(text, "OPENED") - text) + 6,
                     (int)(strstr(row1_start, "12s ago") - row1_start) + 7);
    free(text);
}
END_TEST

START_TEST(breaker_human_edge_cases)
{
    int rc;
    res->nworkers = 2;
    /* an opening "in the future" (clocks that disagree), a breaker state the supervisor left
     * empty, a failure rate that is not a number, a hostile state */
    res->workers[0].opened_at = NOW + 30;
    res->workers[0].times_opened = 1;
    res->workers[0].breaker[0] = '\0';
    res->workers[1].failure_rate = NAN;
    snprintf(res->workers[1].breaker, sizeof res->workers[1].breaker, "op\033[2Jen");
    char *text = render(WSF_CTL_BREAKER_LIST, false, &rc);
    ck_assert_int_eq(rc, 0);
    static const char *const row0[] = {"0", "5001", "running", "-", "0.0", "0s ago", "1"};
    static const char *const row1[] = {"1", "5002", "draining", "op?[2Jen", "-", "12s ago", "3"};
    check_row(text, 1, row0, 7);
    check_row(text, 2, row1, 7);
    ck_assert_ptr_null(strchr(text, '\033'));
    free(text);

    json_t *a = render_json(WSF_CTL_BREAKER_LIST);
    ck_assert_str_eq(str_field(json_array_get(a, 0), "state"), "");
    ck_assert(json_is_null(json_object_get(json_array_get(a, 1), "failure_rate")));
    ck_assert_str_eq(str_field(json_array_get(a, 1), "state"), "op\033[2Jen");
    json_decref(a);

    /* a breaker state filling its array without a NUL */
    memset(res->workers[0].breaker, 'b', sizeof res->workers[0].breaker);
    text = render(WSF_CTL_BREAKER_LIST, false, &rc);
    ck_assert_contains(text, "bbbbbbbbbbbb ");
    ck_assert_ptr_null(strstr(text, "bbbbbbbbbbbbb"));
    free(text);

    res->nworkers = 0;
    text = render(WSF_CTL_BREAKER_LIST, false, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_contains(text, "SLOT");
    ck_assert_contains(text, "TIMES\n");
    ck_assert_uint_eq(count_lines(text), 1);
    free(text);
}
END_TEST

START_TEST(breaker_json)
{
    json_t *a = render_array(WSF_CTL_BREAKER_LIST, 3);

    static const struct {
        json_int_t pid;
        const char *state, *worker_state;
        double failure_rate;
        json_int_t opened_at, times_opened;
    } want[] = {
        {5001, "closed", "running", 0.0, 0, 0},
        {5002, "open", "draining", 0.625, (json_int_t)(NOW - 12), 3},
        {0, "half_open", "backoff", 1.0, (json_int_t)(NOW - 3723), 12},
    };
    for (size_t i = 0; i < 3; i++) {
        json_t *b = json_array_get(a, i);
        ck_assert(json_is_object(b));
        ck_assert_int_eq(int_field(b, "slot"), (json_int_t)i);
        ck_assert_int_eq(int_field(b, "pid"), want[i].pid);
        ck_assert_str_eq(str_field(b, "state"), want[i].state);
        ck_assert_str_eq(str_field(b, "worker_state"), want[i].worker_state);
        ck_assert_double_eq(num_field(b, "failure_rate"), want[i].failure_rate);
        ck_assert_int_eq(int_field(b, "opened_at"), want[i].opened_at);
        ck_assert_int_eq(int_field(b, "times_opened"), want[i].times_opened);
        ck_assert_uint_eq(json_object_size(b), 7);
    }
    json_decref(a);

    res->nworkers = 0;
    a = render_array(WSF_CTL_BREAKER_LIST, 0);
    json_decref(a);

    res->nworkers = WSF_CTL_MAX_WORKERS + 1;
    a = render_json(WSF_CTL_BREAKER_LIST);
    ck_assert_uint_eq(json_array_size(a), WSF_CTL_MAX_WORKERS);
    json_decref(a);
}
END_TEST

START_TEST(hostile_strings)
{
    int rc;
    /* a state with a terminal escape, a full array without NUL, and bytes that are not UTF-8 */
    memcpy(res->workers[0].state, "run\033[2Jning", 12);
    memset(res->workers[1].state, 'x', sizeof res->workers[1].state);
    memcpy(res->status.listen, "\xff\xfe:80", 6);

    char *text = render(WSF_CTL_WORKERS, false, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_null(strchr(text, '\033'));
    ck_assert_contains(text, "run?[2Jning");
    ck_assert_contains(text, "xxxxxxxxxxxxxxxx ");
    ck_assert_ptr_null(strstr(text, "xxxxxxxxxxxxxxxxx"));
    free(text);

    json_t *a = render_json(WSF_CTL_WORKERS);
    ck_assert_str_eq(str_field(json_array_get(a, 0), "state"), "run\033[2Jning");
    ck_assert_str_eq(str_field(json_array_get(a, 1), "state"), "xxxxxxxxxxxxxxxx");
    json_decref(a);

    json_t *o = render_json(WSF_CTL_STATUS);
    ck_assert_str_eq(str_field(o, "listen"), "??:80");
    json_decref(o);
}
END_TEST

START_TEST(non_finite_rates)
{
    res->workers[0].msgs_in_per_s = NAN;
    res->status.errors_per_s = INFINITY;
    json_t *a = render_json(WSF_CTL_WORKERS);
    ck_assert(json_is_null(json_object_get(json_array_get(a, 0), "msgs_in_per_s")));
    json_decref(a);
    json_t *o = render_json(WSF_CTL_STATUS);
    ck_assert(json_is_null(json_object_get(o, "errors_per_s")));
    json_decref(o);

    int rc;
    char *text = render(WSF_CTL_STATUS, false, &rc);
    ck_assert_contains(text, "errors/s:     -\n");
    free(text);
}
END_TEST

START_TEST(large_counters)
{
    res->workers[0].rss_bytes = UINT64_MAX;
    res->status.connections = UINT64_MAX;
    json_t *a = render_json(WSF_CTL_WORKERS);
    ck_assert_int_eq(int_field(json_array_get(a, 0), "rss_bytes"), INT64_MAX);
    json_decref(a);
    json_t *o = render_json(WSF_CTL_STATUS);
    ck_assert_int_eq(int_field(o, "connections"), INT64_MAX);
    json_decref(o);
    int rc;
    char *text = render(WSF_CTL_STATUS, false, &rc);
    ck_assert_contains(text, "18446744073709551615");
    free(text);
}
END_TEST

START_TEST(action_commands)
{
    static const enum wsf_ctl_command cmds[] = {
        WSF_CTL_SCALE,         WSF_CTL_RESTART,   WSF_CTL_DRAIN,
        WSF_CTL_RELOAD,        WSF_CTL_SHUTDOWN,  WSF_CTL_BREAKER_TRIP,
        WSF_CTL_BREAKER_RESET, WSF_CTL_AUTOSCALE, WSF_CTL_FAULT};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        int rc;
        snprintf(res->message, sizeof res->message, "done %zu", i);
        json_t *o = render_json(cmds[i]);
        ck_assert(json_is_object(o));
        ck_assert(bool_field(o, "ok"));
        ck_assert_str_eq(str_field(o, "message"), res->message);
        json_decref(o);

        char *text = render(cmds[i], false, &rc);
        ck_assert_int_eq(rc, 0);
        char want[32];
        snprintf(want, sizeof want, "done %zu\n", i);
        ck_assert_str_eq(text, want);
        free(text);
    }
    res->message[0] = '\0';
    int rc;
    char *text = render(WSF_CTL_RELOAD, false, &rc);
    ck_assert_str_eq(text, "ok\n");
    free(text);
    json_t *o = render_json(WSF_CTL_RELOAD);
    ck_assert_str_eq(str_field(o, "message"), "");
    json_decref(o);
}
END_TEST

START_TEST(version)
{
    int rc;
    char *text = render(WSF_CTL_VERSION, false, &rc);
    ck_assert_int_eq(rc, 0);
    char want[128];
    snprintf(want, sizeof want, "wsctl %s\nwsfleetd 0.1.0-test\n", ctl_version);
    ck_assert_str_eq(text, want);
    free(text);

    json_t *o = render_json(WSF_CTL_VERSION);
    ck_assert(bool_field(o, "ok"));
    ck_assert_str_eq(str_field(o, "version"), ctl_version);
    ck_assert_str_eq(str_field(o, "server_version"), "0.1.0-test");
    ck_assert_contains(str_field(o, "message"), "0.1.0-test");
    json_decref(o);

    res->server_version[0] = '\0';
    o = render_json(WSF_CTL_VERSION);
    ck_assert_str_eq(str_field(o, "server_version"), "unknown");
    json_decref(o);
    ck_assert_str_ne(ctl_version, "");
    ck_assert_str_ne(ctl_version, "unknown");
}
END_TEST

START_TEST(refusal_json)
{
    char *text = NULL;
    size_t len = 0;
    json_error_t jerr;
    res->ok = false;
    snprintf(res->error, sizeof res->error, "no such slot 9");
    FILE *f = open_memstream(&text, &len);
    ctl_output_refusal_json(f, res);
    fclose(f);
    json_t *o = json_loads(text, 0, &jerr);
    ck_assert_ptr_nonnull(o);
    ck_assert(!bool_field(o, "ok"));
    ck_assert_str_eq(str_field(o, "error"), "no such slot 9");
    json_decref(o);
    free(text);
}
END_TEST

START_TEST(put_text)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ctl_put_text(f,
                 "a\tb\nc\x7f"
                 "d",
                 64);
    ctl_put_text(f, "|abcdef", 3);
    fclose(f);
    ck_assert_str_eq(text, "a?b?c?d|ab");
    free(text);
}
END_TEST

START_TEST(format_duration)
{
    static const struct {
        uint64_t s;
        const char *want;
    } cases[] = {
        {0, "0s"},        {59, "59s"},      {60, "1m00s"},      {61, "1m01s"},
        {3599, "59m59s"}, {3600, "1h00m"},  {3723, "1h02m"},    {86399, "23h59m"},
        {86400, "1d00h"}, {90061, "1d01h"}, {864000, "10d00h"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ctl_format_duration(buf, sizeof buf, cases[i].s);
        ck_assert_str_eq(buf, cases[i].want);
    }
}
END_TEST

START_TEST(format_bytes)
{
    static const struct {
        uint64_t b;
        const char *want;
    } cases[] = {
        {0, "0B"},
        {1023, "1023B"},
        {1024, "1.0K"},
        {1536, "1.5K"},
        {1024 * 1024, "1.0M"},
        {12 * 1024 * 1024 + 300 * 1024, "12.3M"},
        {3ULL * 1024 * 1024 * 1024 / 2, "1.5G"},
        {2ULL << 40, "2.0T"},
        {UINT64_MAX, "16.0E"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ctl_format_bytes(buf, sizeof buf, cases[i].b);
        ck_assert_str_eq(buf, cases[i].want);
    }
}
END_TEST

START_TEST(status_with_nats)
{
    res->has_nats = true;
    res->nats = (wsf_nats_status){.mode = "sidecar",
                                  .state = "running",
                                  .pid = 777,
                                  .port = 4222,
                                  .restarts = 2,
                                  .connected = true,
                                  .stream = "WSF"};
    json_t *doc = render_json(WSF_CTL_STATUS);
    json_t *n = json_object_get(doc, "nats");
    ck_assert(json_is_object(n));
    ck_assert_str_eq(str_field(n, "mode"), "sidecar");
    ck_assert_str_eq(str_field(n, "state"), "running");
    ck_assert_int_eq(int_field(n, "pid"), 777);
    ck_assert_int_eq(int_field(n, "port"), 4222);
    ck_assert_int_eq(int_field(n, "restarts"), 2);
    ck_assert(bool_field(n, "connected"));
    ck_assert_str_eq(str_field(n, "stream"), "WSF");
    json_decref(doc);
    int rc;
    char *text = render(WSF_CTL_STATUS, false, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(strstr(text, "nats:         sidecar running, pid 777, port 4222, 2 restarts; "
                               "connected, stream WSF\n") != NULL,
                  "%s", text);
    free(text);
    res->nats = (wsf_nats_status){.mode = "external", .state = "external", .stream = "S"};
    text = render(WSF_CTL_STATUS, false, &rc);
    ck_assert_msg(strstr(text, "nats:         external; not connected, stream S\n") != NULL, "%s",
                  text);
    free(text);
    res->has_nats = false;
    text = render(WSF_CTL_STATUS, false, &rc);
    ck_assert_ptr_null(strstr(text, "nats:"));
    free(text);
}
END_TEST

START_TEST(publish_offset)
{
    res->offset = 18446744073709551615ull;
    int rc;
    char *text = render(WSF_CTL_PUBLISH, false, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(text, "18446744073709551615\n");
    free(text);
    res->offset = 42;
    json_t *doc = render_json(WSF_CTL_PUBLISH);
    ck_assert_int_eq(int_field(doc, "offset"), 42);
    ck_assert_uint_eq(json_object_size(doc), 1);
    json_decref(doc);
}
END_TEST

START_TEST(history_render)
{
    snprintf(res->body, sizeof res->body,
             "{\"channel\":\"news\",\"epoch\":\"00ab\",\"offset\":9,\"pubs\":[{\"offset\":3,"
             "\"data\":{\"a\":\"x\\u0007\"}},{\"offset\":9,\"data\":[1]}]}");
    int rc;
    char *text = render(WSF_CTL_HISTORY, false, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(text, "channel news  epoch 00ab  offset 9  (2 publications)\n"
                           "3 {\"a\":\"x\\u0007\"}\n"
                           "9 [1]\n");
    free(text);
    json_t *doc = render_json(WSF_CTL_HISTORY);
    ck_assert_str_eq(str_field(doc, "epoch"), "00ab");
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "pubs")), 2);
    json_decref(doc);
    snprintf(res->body, sizeof res->body, "[1]");
    free(render(WSF_CTL_HISTORY, false, &rc));
    ck_assert_int_eq(rc, -EPROTO);
    snprintf(res->body, sizeof res->body, "{\"pubs\":[]}");
    free(render(WSF_CTL_HISTORY, false, &rc));
    ck_assert_int_eq(rc, -EPROTO);
}
END_TEST

START_TEST(channels_render)
{
    snprintf(res->body, sizeof res->body,
             "{\"channels\":{\"news\":5,\"chat:lobby\":1},\"workers\":[{\"pid\":10,\"slot\":0,"
             "\"channels\":{\"news\":2}},{\"pid\":11,\"slot\":1,\"channels\":{\"news\":3,"
             "\"chat:lobby\":1}}],\"answered\":2,\"running\":3}");
    int rc;
    char *text = render(WSF_CTL_CHANNELS, false, &rc);
    ck_assert_int_eq(rc, 0);
    char *line = table_line(text, 0);
    ck_assert(strncmp(line, "CHANNEL", 7) == 0);
    free(line);
    line = table_line(text, 1);
    ck_assert_msg(strstr(line, "news") == line && strstr(line, " 5  0:2 1:3") != NULL, "%s", line);
    free(line);
    line = table_line(text, 2);
    ck_assert_msg(strstr(line, "chat:lobby") == line && strstr(line, " 1  1:1") != NULL, "%s",
                  line);
    free(line);
    line = table_line(text, 3);
    ck_assert_str_eq(line, "2 of 3 running workers answered");
    free(line);
    free(text);
    json_t *doc = render_json(WSF_CTL_CHANNELS);
    ck_assert_int_eq(int_field(json_object_get(doc, "channels"), "news"), 5);
    json_decref(doc);
    snprintf(res->body, sizeof res->body, "not json");
    free(render(WSF_CTL_CHANNELS, true, &rc));
    ck_assert_int_eq(rc, -EPROTO);
}
END_TEST

Suite *ctl_output_suite(void)
{
    Suite *s = suite_create("ctl_output");
    TCase *tc = tcase_create("render");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, status_json);
    tcase_add_test(tc, status_human);
    tcase_add_test(tc, status_without_status_is_an_error);
    tcase_add_test(tc, workers_json);
    tcase_add_test(tc, workers_json_empty);
    tcase_add_test(tc, workers_count_is_bounded);
    tcase_add_test(tc, workers_human);
    tcase_add_test(tc, workers_human_empty);
    tcase_add_test(tc, breaker_human);
    tcase_add_test(tc, breaker_human_edge_cases);
    tcase_add_test(tc, breaker_json);
    tcase_add_test(tc, hostile_strings);
    tcase_add_test(tc, non_finite_rates);
    tcase_add_test(tc, large_counters);
    tcase_add_test(tc, action_commands);
    tcase_add_test(tc, version);
    tcase_add_test(tc, refusal_json);
    suite_add_tcase(s, tc);

    tc = tcase_create("channels");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, status_with_nats);
    tcase_add_test(tc, publish_offset);
    tcase_add_test(tc, history_render);
    tcase_add_test(tc, channels_render);
    suite_add_tcase(s, tc);

    tc = tcase_create("format");
    tcase_add_test(tc, put_text);
    tcase_add_test(tc, format_duration);
    tcase_add_test(tc, format_bytes);
    suite_add_tcase(s, tc);
    return s;
}
