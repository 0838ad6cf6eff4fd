/* A drill run's findings: notes and metrics as they come, the verdict on the objectives, and the
 * report as aligned text for people or as one JSON document. */
#include "chaos_report.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"
#include "wsf_json.h"

/* In the order of enum chaos_cause; kept here so reports need nothing of the load client. */
static const char *const chaos_report_causes[CHAOS_CAUSE_COUNT] = {
    [CHAOS_CAUSE_CLOSE] = "close",         [CHAOS_CAUSE_ABNORMAL] = "abnormal",
    [CHAOS_CAUSE_REFUSED] = "refused",     [CHAOS_CAUSE_CONNECT] = "connect",
    [CHAOS_CAUSE_HANDSHAKE] = "handshake", [CHAOS_CAUSE_ECHO] = "echo",
    [CHAOS_CAUSE_PROTOCOL] = "protocol",
};

#define CHAOS_NCODES (sizeof((chaos_report *)0)->close_codes / sizeof(uint64_t))

void chaos_report_init(chaos_report *r, const chaos_drill *d, bool quick)
{
    memset(r, 0, sizeof *r);
    r->drill = d;
    r->quick = quick;
}

void chaos_report_set(chaos_report *r, enum chaos_metric_id id, double value)
{
    if ((unsigned)id >= CHAOS_METRIC_COUNT)
        return;
    r->metric[id] = value;
    r->have[id] = true;
}

static void chaos_report_note(chaos_report *r, chaos_note *list, size_t *n, int64_t t_ms,
                              const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* Appends a note to list, or counts it as dropped when the list is full. */
static void chaos_report_note(chaos_report *r, chaos_note *list, size_t *n, int64_t t_ms,
                              const char *fmt, va_list ap)
{
    if (*n == CHAOS_NOTES_MAX) {
        r->dropped_notes++;
        return;
    }
    chaos_note *note = &list[(*n)++];
    note->t_ms = t_ms;
    vsnprintf(note->text, sizeof note->text, fmt, ap);
}

void chaos_report_fault(chaos_report *r, int64_t t_ms, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chaos_report_note(r, r->faults, &r->n_faults, t_ms, fmt, ap);
    va_end(ap);
}

void chaos_report_action(chaos_report *r, int64_t t_ms, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chaos_report_note(r, r->actions, &r->n_actions, t_ms, fmt, ap);
    va_end(ap);
}

void chaos_report_error(chaos_report *r, const char *fmt, ...)
{
    if (r->error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    if (r->error[0] == '\0')
        snprintf(r->error, sizeof r->error, "%s", "unknown error");
}

bool chaos_report_judge(chaos_report *r)
{
    const chaos_drill *d = r->drill;
    bool all = r->error[0] == '\0';
    for (size_t i = 0; i < d->n_objectives; i++) {
        const chaos_objective *o = &d->objectives[i];
        bool ok = false;
        if (r->have[o->metric]) {
            double v = r->metric[o->metric];
            ok = o->bound == CHAOS_BOUND_MAX ? v <= o->limit : v >= o->limit;
        }
        r->passed[i] = ok;
        all = all && ok;
    }
    r->all_passed = all;
    return all;
}

static size_t chaos_report_npassed(const chaos_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->drill->n_objectives; i++)
        n += r->passed[i];
    return n;
}

/* A metric's value: integers without a fraction, others to six significant digits. */
static void chaos_fmt_value(char *out, size_t len, double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
        snprintf(out, len, "%.0f", v);
    else
        snprintf(out, len, "%.6g", v);
}

static void chaos_text_notes(FILE *out, const char *title, const chaos_note *notes, size_t n)
{
    fprintf(out, "  %s (%zu)\n", title, n);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "    %7.1fs  %s\n", (double)notes[i].t_ms / 1000.0, notes[i].text);
}

/* "  title: label value unit, ..." for those of ids that are set; nothing when none is. */
static void chaos_text_figures(FILE *out, const chaos_report *r, const char *title, const char *sep,
                               const enum chaos_metric_id *ids, const char *const *labels,
                               const char *unit, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!r->have[ids[i]])
            continue;
        char v[64];
        chaos_fmt_value(v, sizeof v, r->metric[ids[i]]);
        if (any)
            fputs(sep, out);
        else
            fprintf(out, "  %s: ", title);
        fprintf(out, "%s %s%s", labels[i], v, unit);
        any = true;
    }
    if (any)
        fputc('\n', out);
}

static void chaos_text_disconnects(FILE *out, const chaos_report *r)
{
    fputs("  disconnects by cause:", out);
    for (size_t c = 0; c < CHAOS_CAUSE_COUNT; c++)
        fprintf(out, "%s %s %llu", c == 0 ? "" : ",", chaos_report_causes[c],
                (unsigned long long)r->by_cause[c]);
    fputc('\n', out);
    bool any = false;
    for (size_t i = 0; i < CHAOS_NCODES; i++) {
        if (r->close_codes[i] == 0)
            continue;
        fprintf(out, "%s %zu: %llu", any ? "," : "  close codes:", 1000 + i,
                (unsigned long long)r->close_codes[i]);
        any = true;
    }
    if (any)
        fputc('\n', out);
}

static void chaos_text_metrics(FILE *out, const chaos_report *r)
{
    int name_w = 0, value_w = 0;
    char v[64];
    for (int id = 0; id < CHAOS_METRIC_COUNT; id++) {
        if (!r->have[id])
            continue;
        int nw = (int)strlen(chaos_metric_name((enum chaos_metric_id)id));
        chaos_fmt_value(v, sizeof v, r->metric[id]);
        int vw = (int)strlen(v);
        name_w = nw > name_w ? nw : name_w;
        value_w = vw > value_w ? vw : value_w;
    }
    if (name_w == 0)
        return;
    fputs("  metrics\n", out);
    for (int id = 0; id < CHAOS_METRIC_COUNT; id++) {
        if (!r->have[id])
            continue;
        chaos_fmt_value(v, sizeof v, r->metric[id]);
        fprintf(out, "    %-*s %*s  %s\n", name_w, chaos_metric_name((enum chaos_metric_id)id),
                value_w, v, chaos_metric_help((enum chaos_metric_id)id));
    }
}

static void chaos_text_objectives(FILE *out, const chaos_report *r)
{
    const chaos_drill *d = r->drill;
    if (d->n_objectives == 0)
        return;
    int text_w = 0;
    for (size_t i = 0; i < d->n_objectives; i++) {
        int w = (int)strlen(d->objectives[i].text);
        text_w = w > text_w ? w : text_w;
    }
    fputs("  objectives\n", out);
    for (size_t i = 0; i < d->n_objectives; i++) {
        const chaos_objective *o = &d->objectives[i];
        char v[64];
        if (r->have[o->metric])
            chaos_fmt_value(v, sizeof v, r->metric[o->metric]);
        else
            snprintf(v, sizeof v, "%s", "not measured");
        fprintf(out, "    %s  %-*s  (%s)\n", r->passed[i] ? "PASS" : "FAIL", text_w, o->text, v);
    }
}

static const enum chaos_metric_id chaos_reconnect_ids[] = {
    CHAOS_M_RECONNECT_P50_MS, CHAOS_M_RECONNECT_P99_MS, CHAOS_M_RECONNECT_MAX_MS};
static const char *const chaos_reconnect_labels[] = {"p50", "p99", "max"};
static const enum chaos_metric_id chaos_message_ids[] = {CHAOS_M_SENT, CHAOS_M_ECHOED, CHAOS_M_LOST,
                                                         CHAOS_M_ECHO_ERRORS};
static const char *const chaos_message_labels[] = {"sent", "echoed", "lost", "echo errors"};
static const enum chaos_metric_id chaos_latency_ids[] = {
    CHAOS_M_LATENCY_P50_MS, CHAOS_M_LATENCY_P99_MS, CHAOS_M_LATENCY_P999_MS};
static const char *const chaos_latency_labels[] = {"p50", "p99", "p999"};

#define CHAOS_N(a) (sizeof(a) / sizeof((a)[0]))

void chaos_report_text(const chaos_report *r, FILE *out)
{
    const chaos_drill *d = r->drill;
    fprintf(out, "drill %s%s%s%s\n", d->name, r->quick ? " (quick)" : "",
            d->description[0] != '\0' ? ": " : "", d->description);
    uint32_t timeline =
        r->quick && d->quick_duration_ms != 0 ? d->quick_duration_ms : d->duration_ms;
    size_t clients = r->quick && d->quick_clients != 0 ? d->quick_clients : d->clients;
    fprintf(out, "  timeline %.1f s, tail %.1f s, %zu echo clients\n", timeline / 1000.0,
            d->tail_ms / 1000.0, clients);
    if (r->error[0] != '\0')
        fprintf(out, "  ERROR: %s\n", r->error);
    chaos_text_notes(out, "faults injected", r->faults, r->n_faults);
    chaos_text_notes(out, "breaker, scaler and restarts seen through wsctl", r->actions,
                     r->n_actions);
    if (r->dropped_notes > 0)
        fprintf(out, "  notes dropped: %zu (past %d of a kind)\n", r->dropped_notes,
                CHAOS_NOTES_MAX);
    chaos_text_disconnects(out, r);
    chaos_text_figures(out, r, "reconnect time", "  ", chaos_reconnect_ids, chaos_reconnect_labels,
                       " ms", CHAOS_N(chaos_reconnect_ids));
    chaos_text_figures(out, r, "messages", ", ", chaos_message_ids, chaos_message_labels, "",
                       CHAOS_N(chaos_message_ids));
    chaos_text_figures(out, r, "echo latency", "  ", chaos_latency_ids, chaos_latency_labels, " ms",
                       CHAOS_N(chaos_latency_ids));
    chaos_text_metrics(out, r);
    chaos_text_objectives(out, r);
    fprintf(out, "  result: %s (%s%zu of %zu objectives) in %.1f s\n",
            r->all_passed ? "PASS" : "FAIL", r->error[0] != '\0' ? "error; " : "",
            chaos_report_npassed(r), d->n_objectives, r->elapsed_s);
}

void chaos_report_summary(const chaos_report *const *reports, size_t n, FILE *out)
{
    int name_w = 0;
    size_t passed = 0;
    for (size_t i = 0; i < n; i++) {
        int w = (int)strlen(reports[i]->drill->name) + (reports[i]->quick ? 8 : 0);
        name_w = w > name_w ? w : name_w;
    }
    for (size_t i = 0; i < n; i++) {
        const chaos_report *r = reports[i];
        char name[CHAOS_NAME_MAX + 8], count[64];
        snprintf(name, sizeof name, "%s%s", r->drill->name, r->quick ? " (quick)" : "");
        snprintf(count, sizeof count, "%zu of %zu objectives", chaos_report_npassed(r),
                 r->drill->n_objectives);
        fprintf(out, "%s  %-*s  %-20s %7.1f s", r->all_passed ? "PASS" : "FAIL", name_w, name,
                count, r->elapsed_s);
        if (r->error[0] != '\0')
            fprintf(out, "  error: %s", r->error);
        fputc('\n', out);
        passed += r->all_passed;
    }
    fprintf(out, "%zu of %zu drills passed\n", passed, n);
}

/* A string; bytes that do not form UTF-8 (a note cut mid-character) become '?'. */
static json_t *chaos_json_text(const char *s)
{
    json_t *v = json_string(s);
    if (v != NULL)
        return v;
    size_t len = strlen(s);
    char *copy = wsf_xmalloc(len + 1);
    for (size_t i = 0; i <= len; i++)
        copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    v = json_string(copy);
    free(copy);
    return v;
}

/* Integral values as JSON integers, others as reals, non-finite ones as null. */
static json_t *chaos_json_number(double v)
{
    if (!isfinite(v))
        return json_null();
    if (v == floor(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static json_t *chaos_json_uint(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *chaos_json_notes(const chaos_note *notes, size_t n)
{
    json_t *a = wsf_json_checked(json_array());
    for (size_t i = 0; i < n; i++) {
        json_t *o = wsf_json_checked(json_object());
        wsf_json_set(o, "t_ms", json_integer((json_int_t)notes[i].t_ms));
        wsf_json_set(o, "text", chaos_json_text(notes[i].text));
        wsf_json_append(a, o);
    }
    return a;
}

static json_t *chaos_json_drill(const chaos_report *r)
{
    const chaos_drill *d = r->drill;
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "name", chaos_json_text(d->name));
    wsf_json_set(o, "description", chaos_json_text(d->description));
    wsf_json_set(o, "quick", json_boolean(r->quick));
    wsf_json_set(o, "elapsed_s", json_real(isfinite(r->elapsed_s) ? r->elapsed_s : 0.0));
    wsf_json_set(o, "error", r->error[0] != '\0' ? chaos_json_text(r->error) : json_null());
    wsf_json_set(o, "faults", chaos_json_notes(r->faults, r->n_faults));
    wsf_json_set(o, "actions", chaos_json_notes(r->actions, r->n_actions));
    wsf_json_set(o, "dropped_notes", chaos_json_uint(r->dropped_notes));

    json_t *causes = wsf_json_checked(json_object());
    for (size_t c = 0; c < CHAOS_CAUSE_COUNT; c++)
        wsf_json_set(causes, chaos_report_causes[c], chaos_json_uint(r->by_cause[c]));
    wsf_json_set(o, "disconnects_by_cause", causes);

    json_t *codes = wsf_json_checked(json_object());
    for (size_t i = 0; i < CHAOS_NCODES; i++) {
        if (r->close_codes[i] == 0)
            continue;
        char key[16];
        snprintf(key, sizeof key, "%zu", 1000 + i);
        wsf_json_set(codes, key, chaos_json_uint(r->close_codes[i]));
    }
    wsf_json_set(o, "close_codes", codes);

    json_t *metrics = wsf_json_checked(json_object());
    for (int id = 0; id < CHAOS_METRIC_COUNT; id++) {
        if (r->have[id])
            wsf_json_set(metrics, chaos_metric_name((enum chaos_metric_id)id),
                         chaos_json_number(r->metric[id]));
    }
    wsf_json_set(o, "metrics", metrics);

    json_t *objectives = wsf_json_checked(json_array());
    for (size_t i = 0; i < d->n_objectives; i++) {
        const chaos_objective *ob = &d->objectives[i];
        json_t *j = wsf_json_checked(json_object());
        wsf_json_set(j, "text", chaos_json_text(ob->text));
        wsf_json_set(j, "metric", chaos_json_text(chaos_metric_name(ob->metric)));
        wsf_json_set(j, "bound", json_string(ob->bound == CHAOS_BOUND_MAX ? "max" : "min"));
        wsf_json_set(j, "limit", chaos_json_number(ob->limit));
        wsf_json_set(j, "value",
                     r->have[ob->metric] ? chaos_json_number(r->metric[ob->metric]) : json_null());
        wsf_json_set(j, "passed", json_boolean(r->passed[i]));
        wsf_json_append(objectives, j);
    }
    wsf_json_set(o, "objectives", objectives);
    wsf_json_set(o, "passed", json_boolean(r->all_passed));
    return o;
}

int chaos_report_json(const chaos_report *const *reports, size_t n, FILE *out)
{
    json_t *root = wsf_json_checked(json_object());
    json_t *drills = wsf_json_checked(json_array());
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        wsf_json_append(drills, chaos_json_drill(reports[i]));
        all = all && reports[i]->all_passed;
    }
    wsf_json_set(root, "drills", drills);
    wsf_json_set(root, "passed", json_boolean(all));
    int rc = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    json_decref(root);
    if (rc != 0 || fputc('\n', out) == EOF || fflush(out) == EOF || ferror(out))
        return -1;
    return 0;
}
