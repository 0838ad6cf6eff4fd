/* Fleet status on wsf.fleet.<name>.status, and the table of the fleets heard. */
#include "sup_cluster.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "sup_ctlbody.h"
#include "sup_ctx.h"
#include "wsf_log.h"
#include "wsf_nats.h"

#define SUP_CLUSTER_SUBJECT "wsf.fleet.*.status"

typedef struct sup_cluster_fleet {
    char name[SUP_FLEET_NAME_MAX];
    char state[16];
    char version[32];
    int64_t pid;
    int64_t workers;
    int64_t connections;
    double msgs_in_per_s;
    double errors_per_s;
    uint64_t seen_ms; /* monotonic, when last heard */
} sup_cluster_fleet;

struct sup_cluster {
    struct wsf_nats_sub *sub;
    uint64_t published_ms;
    sup_cluster_fleet fleets[SUP_CLUSTER_MAX_FLEETS];
    size_t nfleets;
};

sup_cluster *sup_cluster_new(void)
{
    sup_cluster *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    return c;
}

void sup_cluster_free(sup_cluster *c)
{
    if (c == NULL)
        return;
    sup_cluster_unsubscribe(c);
    free(c);
}

static void sup_cluster_copy(char *out, size_t size, json_t *v)
{
    const char *s = json_string_value(v);
    snprintf(out, size, "%s", s != NULL ? s : "");
}

/* The subject's <name> must be the body's name: a fleet speaks only for itself. */
static void sup_cluster_on_status(const struct wsf_nats_msg *m, void *arg)
{
    sup_cluster *c = arg;
    json_t *doc = json_loadb(m->data, m->len, 0, NULL);
    const char *name = json_string_value(json_object_get(doc, "name"));
    char subject[SUP_FLEET_NAME_MAX + 32];
    if (name == NULL || strlen(name) >= SUP_FLEET_NAME_MAX) {
        json_decref(doc);
        return;
    }
    snprintf(subject, sizeof subject, "wsf.fleet.%s.status", name);
    if (strcmp(subject, m->subject) != 0) {
        json_decref(doc);
        return;
    }
    uint64_t now = sup_now_ms();
    sup_cluster_fleet *f = NULL;
    for (size_t i = 0; i < c->nfleets && f == NULL; i++) {
        if (strcmp(c->fleets[i].name, name) == 0)
            f = &c->fleets[i];
    }
    /* A full table takes the place of the fleet heard longest ago. */
    if (f == NULL && c->nfleets < SUP_CLUSTER_MAX_FLEETS)
        f = &c->fleets[c->nfleets++];
    for (size_t i = 0; i < c->nfleets && f == NULL; i++) {
        if (now - c->fleets[i].seen_ms > SUP_CLUSTER_SEEN_MS)
            f = &c->fleets[i];
    }
    if (f != NULL) {
        memset(f, 0, sizeof *f);
        snprintf(f->name, sizeof f->name, "%s", name);
        sup_cluster_copy(f->state, sizeof f->state, json_object_get(doc, "state"));
        sup_cluster_copy(f->version, sizeof f->version, json_object_get(doc, "version"));
        f->pid = json_integer_value(json_object_get(doc, "pid"));
        f->workers = json_integer_value(json_object_get(doc, "workers"));
        f->connections = json_integer_value(json_object_get(doc, "connections"));
        f->msgs_in_per_s = json_number_value(json_object_get(doc, "msgs_in_per_s"));
        f->errors_per_s = json_number_value(json_object_get(doc, "errors_per_s"));
        f->seen_ms = now;
    }
    json_decref(doc);
}

int sup_cluster_subscribe(sup_cluster *c, struct wsf_nats *n)
{
    if (c->sub != NULL)
        return 0;
    int rc = wsf_nats_sub_new(&c->sub, n, SUP_CLUSTER_SUBJECT, sup_cluster_on_status, c);
    if (rc != 0)
        wsf_log_warn("NATS: cannot subscribe to %s: %s", SUP_CLUSTER_SUBJECT, strerror(-rc));
    return rc;
}

void sup_cluster_unsubscribe(sup_cluster *c)
{
    wsf_nats_sub_free(c->sub);
    c->sub = NULL;
}

void sup_cluster_tick(sup_cluster *c, const sup_ctx *ctx, struct wsf_nats *n, uint64_t now)
{
    if (n == NULL || !wsf_nats_is_connected(n) ||
        (c->published_ms != 0 && now - c->published_ms < SUP_CLUSTER_PUBLISH_MS))
        return;
    c->published_ms = now;
    wsf_fleet_status st;
    memset(&st, 0, sizeof st);
    sup_ctl_fill_status(ctx, &st, now);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:I, s:s, s:I}", "name",
                            st.name, "state", st.state, "workers", (json_int_t)st.workers_running,
                            "workers_desired", (json_int_t)st.workers_desired, "connections",
                            (json_int_t)st.connections, "msgs_in_per_s", st.msgs_in_per_s,
                            "errors_per_s", st.errors_per_s, "pid", (json_int_t)st.pid,
                            "version", WSF_VERSION, "time",
                            (json_int_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    char subject[SUP_FLEET_NAME_MAX + 32];
    snprintf(subject, sizeof subject, "wsf.fleet.%s.status", st.name);
    if (text != NULL)
        wsf_nats_publish(n, subject, text, strlen(text));
    free(text);
    json_decref(doc);
}

static int sup_cluster_by_name(const void *a, const void *b)
{
    return strcmp(((const sup_cluster_fleet *)a)->name, ((const sup_cluster_fleet *)b)->name);
}

void sup_cluster_answer(sup_cluster *c, uint64_t now, wsf_ctl_response *res)
{
    size_t kept = 0;
    for (size_t i = 0; i < c->nfleets; i++) {
        if (now - c->fleets[i].seen_ms <= SUP_CLUSTER_SEEN_MS)
            c->fleets[kept++] = c->fleets[i];
    }
    c->nfleets = kept;
    qsort(c->fleets, c->nfleets, sizeof c->fleets[0], sup_cluster_by_name);
    json_t *list = json_array();
    for (size_t i = 0; i < c->nfleets; i++) {
        const sup_cluster_fleet *f = &c->fleets[i];
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:I, s:I, s:f, s:f, s:I, s:s, s:f}", "name", f->name,
                            "state", f->state, "workers", (json_int_t)f->workers, "connections",
                            (json_int_t)f->connections, "msgs_in_per_s", f->msgs_in_per_s,
                            "errors_per_s", f->errors_per_s, "pid", (json_int_t)f->pid,
                            "version", f->version, "age_s", (double)(now - f->seen_ms) / 1000.0));
    }
    sup_ctlbody_set(res, json_pack("{s:o}", "fleets", list));
}
