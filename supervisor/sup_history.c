/* Five minutes of per-second fleet and slot statistics. */
#include "sup_history.h"

#include <stdlib.h>
#include <string.h>

void sup_history_init(sup_history *h, unsigned nslots)
{
    memset(h, 0, sizeof *h);
    h->slots = calloc(nslots ? nslots : 1, sizeof *h->slots);
    if (h->slots == NULL)
        abort();
    h->nslots = nslots;
}

void sup_history_fini(sup_history *h)
{
    free(h->slots);
    h->slots = NULL;
    h->nslots = 0;
}

static void sup_history_append(sup_history_ring *r, const sup_history_point *p)
{
    if (r->n == SUP_HISTORY_POINTS) {
        r->pt[r->head] = *p;
        r->head = (r->head + 1) % SUP_HISTORY_POINTS;
    } else {
        r->pt[(r->head + r->n) % SUP_HISTORY_POINTS] = *p;
        r->n++;
    }
}

const sup_history_point *sup_history_at(const sup_history_ring *r, size_t i)
{
    return i < r->n ? &r->pt[(r->head + i) % SUP_HISTORY_POINTS] : NULL;
}

const sup_history_ring *sup_history_ring_of(const sup_history *h, int slot)
{
    if (slot == -1)
        return &h->fleet;
    if (slot < 0 || (unsigned)slot >= h->nslots)
        return NULL;
    return &h->slots[slot].ring;
}

uint32_t sup_history_quantile(const uint64_t *counts, double q)
{
    uint64_t total = 0;
    for (int i = 0; i < SUP_HISTORY_LAT_BUCKETS; i++)
        total += counts[i];
    if (total == 0)
        return 0;
    double want = q * (double)total;
    uint64_t seen = 0;
    for (int i = 0; i < SUP_HISTORY_LAT_BUCKETS; i++) {
        seen += counts[i];
        if ((double)seen >= want && seen > 0)
            return (uint32_t)1 << i;
    }
    return (uint32_t)1 << WSF_HIST_BUCKETS;
}

/* True when b continues a's worker: same process and no counter went back. */
static bool sup_history_continues(const sup_history_obs *a, const sup_history_obs *b)
{
    if (!a->live || a->pid != b->pid || a->generation != b->generation)
        return false;
    if (b->messages_in < a->messages_in || b->messages_out < a->messages_out ||
        b->errors < a->errors)
        return false;
    for (int i = 0; i < SUP_HISTORY_LAT_BUCKETS; i++) {
        if (b->latency[i] < a->latency[i])
            return false;
    }
    return true;
}

void sup_history_record(sup_history *h, const sup_history_obs *obs, uint64_t mono_ms,
                        uint64_t wall_ms)
{
    sup_history_point fleet = {.t_ms = wall_ms};
    uint64_t fleet_lat[SUP_HISTORY_LAT_BUCKETS] = {0};
    for (unsigned i = 0; i < h->nslots; i++) {
        sup_history_slot *s = &h->slots[i];
        const sup_history_obs *o = &obs[i];
        sup_history_point p = {.t_ms = wall_ms};
        if (o->live) {
            static const sup_history_obs zero;
            const sup_history_obs *from = sup_history_continues(&s->prev, o) ? &s->prev : &zero;
            uint64_t span_ms = s->prev_mono_ms != 0 && mono_ms > s->prev_mono_ms
                                   ? mono_ms - s->prev_mono_ms
                                   : 1000;
            double span = (double)span_ms / 1000.0;
            uint64_t lat[SUP_HISTORY_LAT_BUCKETS];
            for (int b = 0; b < SUP_HISTORY_LAT_BUCKETS; b++) {
                lat[b] = o->latency[b] - from->latency[b];
                fleet_lat[b] += lat[b];
            }
            p.workers = 1;
            p.connections = o->connections;
            p.msgs_in = (double)(o->messages_in - from->messages_in) / span;
            p.msgs_out = (double)(o->messages_out - from->messages_out) / span;
            p.errors = (double)(o->errors - from->errors) / span;
            p.p50_us = sup_history_quantile(lat, 0.5);
            p.p99_us = sup_history_quantile(lat, 0.99);
            fleet.workers++;
            fleet.connections += p.connections;
            fleet.msgs_in += p.msgs_in;
            fleet.msgs_out += p.msgs_out;
            fleet.errors += p.errors;
        }
        s->prev = *o;
        s->prev_mono_ms = mono_ms;
        sup_history_append(&s->ring, &p);
    }
    fleet.p50_us = sup_history_quantile(fleet_lat, 0.5);
    fleet.p99_us = sup_history_quantile(fleet_lat, 0.99);
    sup_history_append(&h->fleet, &fleet);
}
