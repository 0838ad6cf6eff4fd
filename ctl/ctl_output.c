/* Renders supervisor answers as human text (key/value lines, the workers table) or JSON. */
#include "ctl_output.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"

#ifndef CTL_VERSION
#define CTL_VERSION "unknown"
#endif

#define CTL_JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(10))
#define CTL_CELL 32 /* one table cell, NUL included */

const char ctl_version[] = CTL_VERSION;

/* The workers table: heading, and whether the column is right-aligned. */
static const struct {
    const char *title;
    bool right;
} ctl_worker_columns[] = {
    {"SLOT", true},     {"PID", true},       {"STATE", false},  {"CONNS", true},
    {"MSG/S-IN", true}, {"MSG/S-OUT", true}, {"ERR/S", true},   {"RESTARTS", true},
    {"UPTIME", true},   {"ACCEPT", false},   {"BUCKETS", true}, {"RSS", true},
};

#define CTL_NCOLUMNS (sizeof ctl_worker_columns / sizeof ctl_worker_columns[0])

/* Aborts on a jansson allocation failure: wsctl has no useful way to go on. */
static _Noreturn void ctl_json_oom(void)
{
    fputs("wsctl: out of memory building JSON\n", stderr);
    abort();
}

static json_t *ctl_json_checked(json_t *v)
{
    if (v == NULL)
        ctl_json_oom();
    return v;
}

static void ctl_json_set(json_t *obj, const char *key, json_t *v)
{
    if (json_object_set_new(obj, key, ctl_json_checked(v)) != 0)
        ctl_json_oom();
}

static void ctl_json_append(json_t *array, json_t *v)
{
    if (json_array_append_new(array, ctl_json_checked(v)) != 0)
        ctl_json_oom();
}

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
    json_t *o = ctl_json_checked(json_object());
    ctl_json_set(o, "state", CTL_JSON_TEXT(st->state));
    ctl_json_set(o, "pid", ctl_json_uint(st->pid));
    ctl_json_set(o, "workers_running", ctl_json_uint(st->workers_running));
    ctl_json_set(o, "workers_desired", ctl_json_uint(st->workers_desired));
    ctl_json_set(o, "workers_min", ctl_json_uint(st->workers_min));
    ctl_json_set(o, "workers_max", ctl_json_uint(st->workers_max));
    ctl_json_set(o, "connections", ctl_json_uint(st->connections));
    ctl_json_set(o, "msgs_in_per_s", ctl_json_rate(st->msgs_in_per_s));
    ctl_json_set(o, "errors_per_s", ctl_json_rate(st->errors_per_s));
    ctl_json_set(o, "uptime_s", ctl_json_uint(st->uptime_s));
    ctl_json_set(o, "steering", CTL_JSON_TEXT(st->steering));
    ctl_json_set(o, "listen", CTL_JSON_TEXT(st->listen));
    return o;
}

static void ctl_status_human(FILE *out, const wsf_ctl_response *res)
{
    const wsf_fleet_status *st = &res->status;
    char buf[CTL_CELL];

    fputs("state:        ", out);
    CTL_PUT_TEXT(out, st->state);
    fprintf(out, "\npid:          %u\n", (unsigned)st->pid);
    fprintf(out, "workers:      %u running, %u desired (min %u, max %u)\n",
            (unsigned)st->workers_running, (unsigned)st->workers_desired, (unsigned)st->workers_min,
            (unsigned)st->workers_max);
    fprintf(out, "connections:  %llu\n", (unsigned long long)st->connections);
    ctl_format_rate(buf, sizeof buf, st->msgs_in_per_s);
    fprintf(out, "msgs-in/s:    %s\n", buf);
    ctl_format_rate(buf, sizeof buf, st->errors_per_s);
    fprintf(out, "errors/s:     %s\n", buf);
    ctl_format_duration(buf, sizeof buf, st->uptime_s);
    fprintf(out, "uptime:       %s\n", buf);
    fputs("steering:     ", out);
    CTL_PUT_TEXT(out, st->steering);
    fputs("\nlisten:       ", out);
    CTL_PUT_TEXT(out, st->listen);
    fputc('\n', out);
    if (res->server_version[0] != '\0') {
        fputs("version:      ", out);
        CTL_PUT_TEXT(out, res->server_version);
        fputc('\n', out);
    }
}

static json_t *ctl_worker_json(const wsf_worker_status *w)
{
    json_t *o = ctl_json_checked(json_object());
    ctl_json_set(o, "slot", ctl_json_uint(w->slot));
    ctl_json_set(o, "pid", ctl_json_uint(w->pid));
    ctl_json_set(o, "state", CTL_JSON_TEXT(w->state));
    ctl_json_set(o, "connections", ctl_json_uint(w->connections));
    ctl_json_set(o, "msgs_in_per_s", ctl_json_rate(w->msgs_in_per_s));
    ctl_json_set(o, "msgs_out_per_s", ctl_json_rate(w->msgs_out_per_s));
    ctl_json_set(o, "errors_per_s", ctl_json_rate(w->errors_per_s));
    ctl_json_set(o, "restarts", ctl_json_uint(w->restarts));
    ctl_json_set(o, "uptime_s", ctl_json_uint(w->uptime_s));
    ctl_json_set(o, "generation", ctl_json_uint(w->generation));
    ctl_json_set(o, "accepting", json_boolean(w->accepting));
    ctl_json_set(o, "buckets", ctl_json_uint(w->buckets));
    ctl_json_set(o, "rss_bytes", ctl_json_uint(w->rss_bytes));
    return o;
}

/* Fills one table row's cells, in ctl_worker_columns order. */
static void ctl_worker_cells(char cells[CTL_NCOLUMNS][CTL_CELL], const wsf_worker_status *w)
{
    snprintf(cells[0], CTL_CELL, "%u", (unsigned)w->slot);
    if (w->pid != 0)
        snprintf(cells[1], CTL_CELL, "%u", (unsigned)w->pid);
    else
        snprintf(cells[1], CTL_CELL, "-");
    ctl_cell_text(cells[2], w->state, sizeof w->state);
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
    ctl_format_bytes(cells[11], CTL_CELL, w->rss_bytes);
}

static void ctl_table_row(FILE *out, char cells[CTL_NCOLUMNS][CTL_CELL], const int *width)
{
    for (size_t c = 0; c < CTL_NCOLUMNS; c++) {
        const char *sep = c == 0 ? "" : "  ";
        if (ctl_worker_columns[c].right)
            fprintf(out, "%s%*s", sep, width[c], cells[c]);
        else if (c + 1 == CTL_NCOLUMNS)
            fprintf(out, "%s%s", sep, cells[c]);
        else
            fprintf(out, "%s%-*s", sep, width[c], cells[c]);
    }
    fputc('\n', out);
}

/* Two passes over the rows, measuring then printing, so that no row is stored. */
static void ctl_workers_human(FILE *out, const wsf_worker_status *workers, size_t n)
{
    char cells[CTL_NCOLUMNS][CTL_CELL];
    int width[CTL_NCOLUMNS];

    for (size_t c = 0; c < CTL_NCOLUMNS; c++) {
        snprintf(cells[c], CTL_CELL, "%s", ctl_worker_columns[c].title);
        width[c] = (int)strlen(cells[c]);
    }
    for (size_t i = 0; i < n; i++) {
        char row[CTL_NCOLUMNS][CTL_CELL];
        ctl_worker_cells(row, &workers[i]);
        for (size_t c = 0; c < CTL_NCOLUMNS; c++) {
            int len = (int)strlen(row[c]);
            if (len > width[c])
                width[c] = len;
        }
    }
    ctl_table_row(out, cells, width);
    for (size_t i = 0; i < n; i++) {
        ctl_worker_cells(cells, &workers[i]);
        ctl_table_row(out, cells, width);
    }
}

static void ctl_version_render(FILE *out, const wsf_ctl_response *res, bool json)
{
    char server[sizeof res->server_version + 1];

    snprintf(server, sizeof server, "%.*s", (int)sizeof res->server_version,
             res->server_version[0] != '\0' ? res->server_version : "unknown");
    if (json) {
        char msg[sizeof server + 64];
        json_t *o = ctl_json_checked(json_object());
        snprintf(msg, sizeof msg, "wsctl %s, wsfleetd %s", ctl_version, server);
        ctl_json_set(o, "ok", json_true());
        ctl_json_set(o, "message", ctl_json_text(msg, sizeof msg));
        ctl_json_set(o, "version", json_string(ctl_version));
        ctl_json_set(o, "server_version", ctl_json_text(server, sizeof server));
        ctl_json_dump(out, o);
        return;
    }
    fprintf(out, "wsctl %s\nwsfleetd ", ctl_version);
    ctl_put_text(out, server, sizeof server);
    fputc('\n', out);
}

int ctl_output_render(FILE *out, enum wsf_ctl_command cmd, const wsf_ctl_response *res, bool json)
{
    size_t n = res->nworkers < WSF_CTL_MAX_WORKERS ? res->nworkers : WSF_CTL_MAX_WORKERS;

    switch (cmd) {
    case WSF_CTL_STATUS:
        if (!res->has_status)
            return -EPROTO;
        if (json)
            ctl_json_dump(out, ctl_status_json(&res->status));
        else
            ctl_status_human(out, res);
        return 0;
    case WSF_CTL_WORKERS:
        if (json) {
            json_t *a = ctl_json_checked(json_array());
            for (size_t i = 0; i < n; i++)
                ctl_json_append(a, ctl_worker_json(&res->workers[i]));
            ctl_json_dump(out, a);
        } else {
            ctl_workers_human(out, res->workers, n);
        }
        return 0;
    case WSF_CTL_VERSION:
        ctl_version_render(out, res, json);
        return 0;
    default:
        break;
    }
    if (json) {
        json_t *o = ctl_json_checked(json_object());
        ctl_json_set(o, "ok", json_true());
        ctl_json_set(o, "message", CTL_JSON_TEXT(res->message));
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
    json_t *o = ctl_json_checked(json_object());
    ctl_json_set(o, "ok", json_false());
    ctl_json_set(o, "error", CTL_JSON_TEXT(res->error));
    ctl_json_dump(out, o);
}
