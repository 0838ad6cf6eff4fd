/* Renders supervisor answers as human text (key/value lines, the workers table) or JSON. */
#include "ctl_output.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cluster.h"
#include "wsf_buf.h"
#include "wsf_json.h"

#ifndef CTL_VERSION
#define CTL_VERSION "unknown"
#endif

#define CTL_JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(10))
#define CTL_CELL 32        /* one table cell, NUL included */
#define CTL_MAX_COLUMNS 13 /* the widest table */

const char ctl_version[] = CTL_VERSION;

/* A table column: heading, and whether it is right-aligned. */
typedef struct ctl_column {
    const char *title;
    bool right;
} ctl_column;

/* A table of one row per worker: its columns and how one row's cells are filled (now is the
 * current Unix time, for ages). */
typedef struct ctl_table {
    const ctl_column *columns;
    size_t ncolumns;
    void (*cells)(char (*cells)[CTL_CELL], const wsf_worker_status *w, uint64_t now);
} ctl_table;

static const ctl_column ctl_worker_columns[] = {
    {"SLOT", true},     {"PID", true},       {"STATE", false},  {"CONNS", true},
    {"MSG/S-IN", true}, {"MSG/S-OUT", true}, {"ERR/S", true},   {"RESTARTS", true},
    {"UPTIME", true},   {"ACCEPT", false},   {"BUCKETS", true}, {"BACKEND", false},
    {"RSS", true},
};

static const ctl_column ctl_breaker_columns[] = {
    {"SLOT", true},  {"PID", true},    {"STATE", false}, {"BREAKER", false},
    {"FAIL%", true}, {"OPENED", true}, {"TIMES", true},
};

#define CTL_NELEMS(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(CTL_NELEMS(ctl_worker_columns) <= CTL_MAX_COLUMNS, "workers table too wide");
_Static_assert(CTL_NELEMS(ctl_breaker_columns) <= CTL_MAX_COLUMNS, "breaker table too wide");

_Static_assert(sizeof(json_int_t) >= sizeof(int64_t), "jansson integers hold 64 bits");

/* Counters beyond INT64_MAX (never seen in practice) are clamped: JSON integers are signed. */
static json_t *ctl_json_uint(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* A rate as a JSON number; null when it is not finite (JSON has no NaN). */
static json_t *ctl_json_rate(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* A NUL-terminated or full char array from the wire as a JSON string; bytes that do not form
 * UTF-8 become '?' rather than losing the whole value. */
static json_t *ctl_json_text(const char *s, size_t cap)
{
    size_t len = strnlen(s, cap);
    json_t *v = json_stringn(s, len);
    if (v != NULL)
        return v;
    char *copy = wsf_xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    v = json_stringn(copy, len);
    free(copy);
    return v;
}

#define CTL_JSON_TEXT(field) ctl_json_text((field), sizeof(field))

void ctl_put_text(FILE *out, const char *s, size_t cap)
{
    for (size_t i = 0; i < cap && s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
    }
}

#define CTL_PUT_TEXT(out, field) ctl_put_text((out), (field), sizeof(field))

/* Copies a wire string into a table cell, as ctl_put_text would print it. */
static void ctl_cell_text(char *cell, const char *s, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < cap && s[i] != '\0' && n + 1 < CTL_CELL; i++) {
        unsigned char c = (unsigned char)s[i];
        cell[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    cell[n] = '\0';
}

static void ctl_format_rate(char *out, size_t cap, double v)
{
    if (isfinite(v))
        snprintf(out, cap, "%.1f", v);
    else
        snprintf(out, cap, "-");
}

static void ctl_json_dump(FILE *out, json_t *root)
{
    json_dumpf(root, out, CTL_JSON_FLAGS);
    fputc('\n', out);
    json_decref(root);
}

void ctl_format_duration(char *out, size_t cap, uint64_t s)
{
    if (s < 60)
        snprintf(out, cap, "%us", (unsigned)s);
    else if (s < 3600)
        snprintf(out, cap, "%um%02us", (unsigned)(s / 60), (unsigned)(s % 60));
    else if (s < 86400)
        snprintf(out, cap, "%uh%02um", (unsigned)(s / 3600), (unsigned)(s % 3600 / 60));
    else
        snprintf(out, cap, "%llud%02uh", (unsigned long long)(s / 86400),
                 (unsigned)(s % 86400 / 3600));
}

void ctl_format_bytes(char *out, size_t cap, uint64_t bytes)
{
    static const char units[] = "KMGTPE";
    double v = (double)bytes;
    size_t u = 0;

    if (bytes < 1024) {
        snprintf(out, cap, "%uB", (unsigned)bytes);
        return;
    }
    v /= 1024.0;
    while (v >= 1024.0 && u + 1 < sizeof units - 1) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, cap, "%.1f%c", v, units[u]);
}

static json_t *ctl_status_json(const wsf_fleet_status *st)
{
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "state", CTL_JSON_TEXT(st->state));
    wsf_json_set(o, "pid", ctl_json_uint(st->pid));
    wsf_json_set(o, "workers_running", ctl_json_uint(st->workers_running));
    wsf_json_set(o, "workers_desired", ctl_json_uint(st->workers_desired));
    wsf_json_set(o, "workers_min", ctl_json_uint(st->workers_min));
    wsf_json_set(o, "workers_max", ctl_json_uint(st->workers_max));
    wsf_json_set(o, "connections", ctl_json_uint(st->connections));
    wsf_json_set(o, "msgs_in_per_s", ctl_json_rate(st->msgs_in_per_s));
    wsf_json_set(o, "errors_per_s", ctl_json_rate(st->errors_per_s));
    wsf_json_set(o, "uptime_s", ctl_json_uint(st->uptime_s));
    wsf_json_set(o, "steering", CTL_JSON_TEXT(st->steering));
    wsf_json_set(o, "listen", CTL_JSON_TEXT(st->listen));
    wsf_json_set(o, "autoscale", json_boolean(st->autoscale));
    wsf_json_set(o, "last_scaling", CTL_JSON_TEXT(st->last_scaling));
    wsf_json_set(o, "last_scaling_age_s", ctl_json_uint(st->last_scaling_age_s));
    wsf_json_set(o, "workers_adopted", ctl_json_uint(st->workers_adopted));
    json_t *bk = wsf_json_checked(json_object());
    wsf_json_set(bk, "requests", ctl_json_uint(st->backend_requests));
    wsf_json_set(bk, "failures", ctl_json_uint(st->backend_failures));
    wsf_json_set(bk, "timeouts", ctl_json_uint(st->backend_timeouts));
    wsf_json_set(bk, "breakers_open", ctl_json_uint(st->backend_breakers_open));
    wsf_json_set(o, "backend", bk);
    wsf_json_set(o, "name", CTL_JSON_TEXT(st->name));
    return o;
}

static json_t *ctl_nats_json(const wsf_nats_status *n)
{
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "mode", CTL_JSON_TEXT(n->mode));
    wsf_json_set(o, "state", CTL_JSON_TEXT(n->state));
    wsf_json_set(o, "pid", ctl_json_uint(n->pid));
    wsf_json_set(o, "port", ctl_json_uint(n->port));
    wsf_json_set(o, "restarts", ctl_json_uint(n->restarts));
    wsf_json_set(o, "connected", json_boolean(n->connected));
    wsf_json_set(o, "stream", CTL_JSON_TEXT(n->stream));
    return o;
}

static void ctl_nats_human(FILE *out, const wsf_nats_status *n)
{
    fputs("nats:         ", out);
    CTL_PUT_TEXT(out, n->mode);
    if (strcmp(n->state, n->mode) != 0) {
        fputc(' ', out);
        CTL_PUT_TEXT(out, n->state);
    }
    if (n->pid != 0)
        fprintf(out, ", pid %u", (unsigned)n->pid);
    if (n->port != 0)
        fprintf(out, ", port %u", (unsigned)n->port);
    if (strcmp(n->mode, "sidecar") == 0)
        fprintf(out, ", %u restarts", (unsigned)n->restarts);
    fputs(n->connected ? "; connected" : "; not connected", out);
    fputs(", stream ", out);
    CTL_PUT_TEXT(out, n->stream);
    fputc('\n', out);
}

/* history: "channel C  epoch E  offset N", then "OFFSET DATA" per publication, oldest first. */
static int ctl_history_human(FILE *out, json_t *h)
{
    json_t *pubs = json_object_get(h, "pubs"), *pub;
    const char *epoch = json_string_value(json_object_get(h, "epoch"));
    const char *chan = json_string_value(json_object_get(h, "channel"));
    size_t i;
    if (!json_is_array(pubs) || epoch == NULL || chan == NULL)
        return -EPROTO;
    fputs("channel ", out);
    ctl_put_text(out, chan, WSF_CTL_CHANNEL_MAX);
    fputs("  epoch ", out);
    ctl_put_text(out, epoch, 64);
    fprintf(out, "  offset %lld  (%zu publications)\n",
            (long long)json_integer_value(json_object_get(h, "offset")), json_array_size(pubs));
    json_array_foreach(pubs, i, pub)
    {
        char *data = json_dumps(json_object_get(pub, "data"), JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(out, "%lld ", (long long)json_integer_value(json_object_get(pub, "offset")));
        if (data != NULL)
            ctl_put_text(out, data, strlen(data));
        fputc('\n', out);
        free(data);
    }
    return 0;
}

/* channels: CHANNEL SUBSCRIBERS WORKERS (slot:count ...), then how many workers answered. */
static int ctl_channels_human(FILE *out, json_t *c)
{
    json_t *totals = json_object_get(c, "channels"), *workers = json_object_get(c, "workers");
    const char *name;
    json_t *total, *w;
    size_t i;
    if (!json_is_object(totals) || !json_is_array(workers))
        return -EPROTO;
    fprintf(out, "%-32s %11s  %s\n", "CHANNEL", "SUBSCRIBERS", "PER WORKER (SLOT:N)");
    json_object_foreach(totals, name, total)
    {
        char cell[CTL_CELL];
        ctl_cell_text(cell, name, sizeof cell);
        fprintf(out, "%-32s %11lld ", cell, (long long)json_integer_value(total));
        json_array_foreach(workers, i, w)
        {
            json_t *n = json_object_get(json_object_get(w, "channels"), name);
            if (n != NULL)
                fprintf(out, " %lld:%lld",
                        (long long)json_integer_value(json_object_get(w, "slot")),
                        (long long)json_integer_value(n));
        }
        fputc('\n', out);
    }
    fprintf(out, "%lld of %lld running workers answered\n",
            (long long)json_integer_value(json_object_get(c, "answered")),
            (long long)json_integer_value(json_object_get(c, "running")));
    return 0;
}

/* One alert row; times as the supervisor wrote them (RFC 3339), "-" when absent. */
static void ctl_alert_row(FILE *out, json_t *a)
{
    char state[CTL_CELL], name[CTL_CELL], sev[CTL_CELL], start[CTL_CELL], end[CTL_CELL];
    const char *s;
    s = json_string_value(json_object_get(a, "state"));
    ctl_cell_text(state, s ? s : "?", CTL_CELL);
    s = json_string_value(json_object_get(a, "alertname"));
    ctl_cell_text(name, s ? s : "?", CTL_CELL);
    s = json_string_value(json_object_get(a, "severity"));
    ctl_cell_text(sev, s ? s : "?", CTL_CELL);
    s = json_string_value(json_object_get(a, "startsAt"));
    ctl_cell_text(start, s ? s : "-", CTL_CELL);
    s = json_string_value(json_object_get(a, "endsAt"));
    ctl_cell_text(end, s ? s : "-", CTL_CELL);
    json_t *slot = json_object_get(a, "slot");
    char slotcell[16] = "-";
    if (json_is_integer(slot))
        snprintf(slotcell, sizeof slotcell, "%lld", (long long)json_integer_value(slot));
    fprintf(out, "%-9s %-22s %4s %-8s %-24s %-24s ", state, name, slotcell, sev, start, end);
    s = json_string_value(json_object_get(a, "summary"));
    if (s != NULL)
        ctl_put_text(out, s, strlen(s));
    fputc('\n', out);
}

/* alerts: the firing alerts, then the recently resolved ones. */
static int ctl_alerts_human(FILE *out, json_t *doc)
{
    json_t *firing = json_object_get(doc, "firing"), *recent = json_object_get(doc, "recent");
    json_t *a;
    size_t i;
    if (!json_is_array(firing) || !json_is_array(recent))
        return -EPROTO;
    if (json_array_size(firing) + json_array_size(recent) == 0) {
        fputs("no alerts\n", out);
        return 0;
    }
    fprintf(out, "%-9s %-22s %4s %-8s %-24s %-24s %s\n", "STATE", "ALERT", "SLOT", "SEVERITY",
            "STARTED", "ENDED", "SUMMARY");
    json_array_foreach(firing, i, a) ctl_alert_row(out, a);
    json_array_foreach(recent, i, a) ctl_alert_row(out, a);
    return 0;
}

/* history, channels and alerts carry a JSON document: --json prints it, else a table of it. */
static int ctl_body_render(FILE *out, enum wsf_ctl_command cmd, const wsf_ctl_response *res,
                           bool json)
{
    json_t *doc = json_loadb(res->body, strnlen(res->body, sizeof res->body), 0, NULL);
    int rc = 0;
    if (!json_is_object(doc))
        rc = -EPROTO;
    else if (json)
        ctl_json_dump(out, json_incref(doc));
    else if (cmd == WSF_CTL_HISTORY)
        rc = ctl_history_human(out, doc);
    else if (cmd == WSF_CTL_ALERTS)
        rc = ctl_alerts_human(out, doc);
    else
        rc = cmd == WSF_CTL_CLUSTER ? ctl_cluster_human(out, doc) : ctl_channels_human(out, doc);
    json_decref(doc);
    return rc;
}

static void ctl_status_human(FILE *out, const wsf_ctl_response *res)
{
    const wsf_fleet_status *st = &res->status;
    char buf[CTL_CELL];

    fputs("fleet:        ", out);
    CTL_PUT_TEXT(out, st->name);
    fputs("\nstate:        ", out);
    CTL_PUT_TEXT(out, st->state);
    fprintf(out, "\npid:          %u\n", (unsigned)st->pid);
    fprintf(out, "workers:      %u running, %u desired (min %u, max %u)\n",
            (unsigned)st->workers_running, (unsigned)st->workers_desired, (unsigned)st->workers_min,
            (unsigned)st->workers_max);
    if (st->workers_adopted > 0)
        fprintf(out, "adopted:      %u workers of a supervisor that died\n",
                (unsigned)st->workers_adopted);
    fprintf(out, "connections:  %llu\n", (unsigned long long)st->connections);
    ctl_format_rate(buf, sizeof buf, st->msgs_in_per_s);
    fprintf(out, "msgs-in/s:    %s\n", buf);
    ctl_format_rate(buf, sizeof buf, st->errors_per_s);
    fprintf(out, "errors/s:     %s\n", buf);
    if (st->backend_requests > 0 || st->backend_breakers_open > 0)
        fprintf(out, "backend:      %llu requests, %llu failed (%llu timeouts), %u breakers open\n",
                (unsigned long long)st->backend_requests, (unsigned long long)st->backend_failures,
                (unsigned long long)st->backend_timeouts, (unsigned)st->backend_breakers_open);
    ctl_format_duration(buf, sizeof buf, st->uptime_s);
    fprintf(out, "uptime:       %s\n", buf);
    fputs("steering:     ", out);
    CTL_PUT_TEXT(out, st->steering);
    fputs("\nlisten:       ", out);
    CTL_PUT_TEXT(out, st->listen);
    fprintf(out, "\nautoscale:    %s\n", st->autoscale ? "on" : "off");
    fputs("last scaling: ", out);
    if (st->last_scaling[0] != '\0') {
        CTL_PUT_TEXT(out, st->last_scaling);
        ctl_format_duration(buf, sizeof buf, st->last_scaling_age_s);
        fprintf(out, " (%s ago)\n", buf);
    } else {
        fputs("none\n", out);
    }
    if (res->has_nats)
        ctl_nats_human(out, &res->nats);
    if (res->server_version[0] != '\0') {
        fputs("version:      ", out);
        CTL_PUT_TEXT(out, res->server_version);
        fputc('\n', out);
    }
}

static json_t *ctl_worker_json(const wsf_worker_status *w)
{
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "slot", ctl_json_uint(w->slot));
    wsf_json_set(o, "pid", ctl_json_uint(w->pid));
    wsf_json_set(o, "state", CTL_JSON_TEXT(w->state));
    wsf_json_set(o, "connections", ctl_json_uint(w->connections));
    wsf_json_set(o, "msgs_in_per_s", ctl_json_rate(w->msgs_in_per_s));
    wsf_json_set(o, "msgs_out_per_s", ctl_json_rate(w->msgs_out_per_s));
    wsf_json_set(o, "errors_per_s", ctl_json_rate(w->errors_per_s));
    wsf_json_set(o, "restarts", ctl_json_uint(w->restarts));
    wsf_json_set(o, "uptime_s", ctl_json_uint(w->uptime_s));
    wsf_json_set(o, "generation", ctl_json_uint(w->generation));
    wsf_json_set(o, "accepting", json_boolean(w->accepting));
    wsf_json_set(o, "buckets", ctl_json_uint(w->buckets));
    wsf_json_set(o, "rss_bytes", ctl_json_uint(w->rss_bytes));
    wsf_json_set(o, "breaker", CTL_JSON_TEXT(w->breaker));
    wsf_json_set(o, "failure_rate", ctl_json_rate(w->failure_rate));
    wsf_json_set(o, "opened_at", ctl_json_uint(w->opened_at));
    wsf_json_set(o, "times_opened", ctl_json_uint(w->times_opened));
    json_t *refused = wsf_json_checked(json_object());
    wsf_json_set(refused, "bad_request", ctl_json_uint(w->refused_bad_request));
    wsf_json_set(refused, "not_found", ctl_json_uint(w->refused_not_found));
    wsf_json_set(refused, "upgrade", ctl_json_uint(w->refused_upgrade));
    wsf_json_set(refused, "origin", ctl_json_uint(w->refused_origin));
    wsf_json_set(refused, "per_ip", ctl_json_uint(w->refused_per_ip));
    wsf_json_set(refused, "rate_limited", ctl_json_uint(w->refused_rate_limited));
    wsf_json_set(o, "refused", refused);
    json_t *bk = wsf_json_checked(json_object());
    wsf_json_set(bk, "breaker", CTL_JSON_TEXT(w->backend_breaker));
    wsf_json_set(bk, "requests", ctl_json_uint(w->backend_requests));
    wsf_json_set(bk, "failures", ctl_json_uint(w->backend_failures));
    wsf_json_set(bk, "timeouts", ctl_json_uint(w->backend_timeouts));
    wsf_json_set(bk, "malformed", ctl_json_uint(w->backend_malformed));
    wsf_json_set(bk, "rejected", ctl_json_uint(w->backend_rejected));
    wsf_json_set(bk, "breaker_opened", ctl_json_uint(w->backend_breaker_opened));
    wsf_json_set(o, "backend", bk);
    return o;
}

/* One "breaker list" item: state is the breaker's, worker_state the slot's. */
static json_t *ctl_breaker_json(const wsf_worker_status *w)
{
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "slot", ctl_json_uint(w->slot));
    wsf_json_set(o, "pid", ctl_json_uint(w->pid));
    wsf_json_set(o, "state", CTL_JSON_TEXT(w->breaker));
    wsf_json_set(o, "worker_state", CTL_JSON_TEXT(w->state));
    wsf_json_set(o, "failure_rate", ctl_json_rate(w->failure_rate));
    wsf_json_set(o, "opened_at", ctl_json_uint(w->opened_at));
    wsf_json_set(o, "times_opened", ctl_json_uint(w->times_opened));
    return o;
}

/* The cells every table starts with: SLOT, PID, STATE. */
static void ctl_slot_cells(char (*cells)[CTL_CELL], const wsf_worker_status *w)
{
    snprintf(cells[0], CTL_CELL, "%u", (unsigned)w->slot);
    if (w->pid != 0)
        snprintf(cells[1], CTL_CELL, "%u", (unsigned)w->pid);
    else
        snprintf(cells[1], CTL_CELL, "-");
    ctl_cell_text(cells[2], w->state, sizeof w->state);
}

/* Fills one workers row, in ctl_worker_columns order. */
static void ctl_worker_cells(char (*cells)[CTL_CELL], const wsf_worker_status *w, uint64_t now)
{
    (void)now;
    ctl_slot_cells(cells, w);
    snprintf(cells[3], CTL_CELL, "%llu", (unsigned long long)w->connections);
    ctl_format_rate(cells[4], CTL_CELL, w->msgs_in_per_s);
    ctl_format_rate(cells[5], CTL_CELL, w->msgs_out_per_s);
    ctl_format_rate(cells[6], CTL_CELL, w->errors_per_s);
    snprintf(cells[7], CTL_CELL, "%u", (unsigned)w->restarts);
    if (w->pid != 0)
        ctl_format_duration(cells[8], CTL_CELL, w->uptime_s);
    else
        snprintf(cells[8], CTL_CELL, "-");
    snprintf(cells[9], CTL_CELL, "%s", w->accepting ? "yes" : "no");
    snprintf(cells[10], CTL_CELL, "%u", (unsigned)w->buckets);
    /* The application backend's breaker (never the worker's own). */
    if (w->backend_breaker[0] != '\0')
        ctl_cell_text(cells[11], w->backend_breaker, sizeof w->backend_breaker);
    else
        snprintf(cells[11], CTL_CELL, "-");
    ctl_format_bytes(cells[12], CTL_CELL, w->rss_bytes);
}

/* Fills one breaker row, in ctl_breaker_columns order. OPENED is the age of the last opening
 * (an opening "in the future", from clocks that disagree, reads as 0s ago). */
static void ctl_breaker_cells(char (*cells)[CTL_CELL], const wsf_worker_status *w, uint64_t now)
{
    ctl_slot_cells(cells, w);
    if (w->breaker[0] != '\0')
        ctl_cell_text(cells[3], w->breaker, sizeof w->breaker);
    else
        snprintf(cells[3], CTL_CELL, "-");
    ctl_format_rate(cells[4], CTL_CELL, w->failure_rate * 100.0);
    if (w->opened_at != 0) {
        char age[CTL_CELL - 8];
        ctl_format_duration(age, sizeof age, now > w->opened_at ? now - w->opened_at : 0);
        snprintf(cells[5], CTL_CELL, "%s ago", age);
    } else {
        snprintf(cells[5], CTL_CELL, "-");
    }
    snprintf(cells[6], CTL_CELL, "%u", (unsigned)w->times_opened);
}

static const ctl_table ctl_workers_table = {ctl_worker_columns, CTL_NELEMS(ctl_worker_columns),
                                            ctl_worker_cells};
static const ctl_table ctl_breakers_table = {ctl_breaker_columns, CTL_NELEMS(ctl_breaker_columns),
                                             ctl_breaker_cells};

static void ctl_table_row(FILE *out, const ctl_table *t, char (*cells)[CTL_CELL], const int *width)
{
    for (size_t c = 0; c < t->ncolumns; c++) {
        const char *sep = c == 0 ? "" : "  ";
        if (t->columns[c].right)
            fprintf(out, "%s%*s", sep, width[c], cells[c]);
        else if (c + 1 == t->ncolumns)
            fprintf(out, "%s%s", sep, cells[c]);
        else
            fprintf(out, "%s%-*s", sep, width[c], cells[c]);
    }
    fputc('\n', out);
}

/* Two passes over the rows, measuring then printing, so that no row is stored. */
static void ctl_table_human(FILE *out, const ctl_table *t, const wsf_worker_status *workers,
                            size_t n, uint64_t now)
{
    char cells[CTL_MAX_COLUMNS][CTL_CELL];
    int width[CTL_MAX_COLUMNS];

    for (size_t c = 0; c < t->ncolumns; c++) {
        snprintf(cells[c], CTL_CELL, "%s", t->columns[c].title);
        width[c] = (int)strlen(cells[c]);
    }
    for (size_t i = 0; i < n; i++) {
        char row[CTL_MAX_COLUMNS][CTL_CELL];
        t->cells(row, &workers[i], now);
        for (size_t c = 0; c < t->ncolumns; c++) {
            int len = (int)strlen(row[c]);
            if (len > width[c])
                width[c] = len;
        }
    }
    ctl_table_row(out, t, cells, width);
    for (size_t i = 0; i < n; i++) {
        t->cells(cells, &workers[i], now);
        ctl_table_row(out, t, cells, width);
    }
}

/* The workers as a table, or as a JSON array of item(worker). */
static void ctl_workers_render(FILE *out, const ctl_table *t,
                               json_t *(*item)(const wsf_worker_status *w),
                               const wsf_worker_status *workers, size_t n, bool json, uint64_t now)
{
    if (!json) {
        ctl_table_human(out, t, workers, n, now);
        return;
    }
    json_t *a = wsf_json_checked(json_array());
    for (size_t i = 0; i < n; i++)
        wsf_json_append(a, item(&workers[i]));
    ctl_json_dump(out, a);
}

static void ctl_version_render(FILE *out, const wsf_ctl_response *res, bool json)
{
    char server[sizeof res->server_version + 1];

    snprintf(server, sizeof server, "%.*s", (int)sizeof res->server_version,
             res->server_version[0] != '\0' ? res->server_version : "unknown");
    if (json) {
        char msg[sizeof server + 64];
        json_t *o = wsf_json_checked(json_object());
        snprintf(msg, sizeof msg, "wsctl %s, wsfleetd %s", ctl_version, server);
        wsf_json_set(o, "ok", json_true());
        wsf_json_set(o, "message", ctl_json_text(msg, sizeof msg));
        wsf_json_set(o, "version", json_string(ctl_version));
        wsf_json_set(o, "server_version", ctl_json_text(server, sizeof server));
        ctl_json_dump(out, o);
        return;
    }
    fprintf(out, "wsctl %s\nwsfleetd ", ctl_version);
    ctl_put_text(out, server, sizeof server);
    fputc('\n', out);
}

int ctl_output_render(FILE *out, enum wsf_ctl_command cmd, const wsf_ctl_response *res, bool json,
                      uint64_t now)
{
    size_t n = res->nworkers < WSF_CTL_MAX_WORKERS ? res->nworkers : WSF_CTL_MAX_WORKERS;

    switch (cmd) {
    case WSF_CTL_STATUS:
        if (!res->has_status)
            return -EPROTO;
        if (json) {
            json_t *o = ctl_status_json(&res->status);
            if (res->has_nats)
                wsf_json_set(o, "nats", ctl_nats_json(&res->nats));
            ctl_json_dump(out, o);
        } else
            ctl_status_human(out, res);
        return 0;
    case WSF_CTL_WORKERS:
        ctl_workers_render(out, &ctl_workers_table, ctl_worker_json, res->workers, n, json, now);
        return 0;
    case WSF_CTL_BREAKER_LIST:
        ctl_workers_render(out, &ctl_breakers_table, ctl_breaker_json, res->workers, n, json, now);
        return 0;
    case WSF_CTL_VERSION:
        ctl_version_render(out, res, json);
        return 0;
    case WSF_CTL_PUBLISH:
        if (json) {
            json_t *o = wsf_json_checked(json_object());
            wsf_json_set(o, "offset", ctl_json_uint(res->offset));
            ctl_json_dump(out, o);
        } else {
            fprintf(out, "%llu\n", (unsigned long long)res->offset);
        }
        return 0;
    case WSF_CTL_HISTORY:
    case WSF_CTL_CHANNELS:
    case WSF_CTL_ALERTS:
    case WSF_CTL_CLUSTER:
        return ctl_body_render(out, cmd, res, json);
    default:
        break;
    }
    if (json) {
        json_t *o = wsf_json_checked(json_object());
        wsf_json_set(o, "ok", json_true());
        wsf_json_set(o, "message", CTL_JSON_TEXT(res->message));
        ctl_json_dump(out, o);
    } else if (res->message[0] != '\0') {
        CTL_PUT_TEXT(out, res->message);
        fputc('\n', out);
    } else {
        fputs("ok\n", out);
    }
    return 0;
}

void ctl_output_refusal_json(FILE *out, const wsf_ctl_response *res)
{
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "ok", json_false());
    wsf_json_set(o, "error", CTL_JSON_TEXT(res->error));
    ctl_json_dump(out, o);
}
