/* The fleet's last 5 minutes at 1 s resolution, per slot and for the whole fleet: connections,
 * messages in and out per second, errors per second, and p50/p99 latency from the workers'
 * latency histograms, for /api/history and the dashboard's charts. Pure: the caller passes each
 * second's observation of every slot and the clocks. */
#ifndef SUP_HISTORY_H
#define SUP_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_msg.h"

#define SUP_HISTORY_POINTS 300 /* 5 minutes of 1 s points */
#define SUP_HISTORY_LAT_BUCKETS (WSF_HIST_BUCKETS + 1)

typedef struct sup_history_point {
    uint64_t t_ms;        /* Unix time in milliseconds */
    uint32_t connections; /* open connections */
    uint32_t workers;     /* slots with a live worker (1 or 0 for a slot) */
    double msgs_in;       /* per second over the last interval */
    double msgs_out;
    double errors;
    uint32_t p50_us; /* latency quantiles of the interval's samples; 0 when it had none */
    uint32_t p99_us;
} sup_history_point;

typedef struct sup_history_ring {
    sup_history_point pt[SUP_HISTORY_POINTS];
    size_t head; /* the oldest */
    size_t n;
} sup_history_ring;

/* One slot at the moment of a recording: the cumulative counters of its worker's last Report. */
typedef struct sup_history_obs {
    bool live; /* a worker that has reported */
    uint32_t pid;
    uint64_t generation;
    uint32_t connections;
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t errors;
    uint64_t latency[SUP_HISTORY_LAT_BUCKETS];
} sup_history_obs;

typedef struct sup_history_slot {
    sup_history_ring ring;
    sup_history_obs prev; /* the observation the next interval's rates start from */
    uint64_t prev_mono_ms;
} sup_history_slot;

typedef struct sup_history {
    sup_history_ring fleet;
    sup_history_slot *slots; /* nslots of them */
    unsigned nslots;
} sup_history;

/* Allocates the rings for nslots slots (aborts when memory runs out). */
void sup_history_init(sup_history *h, unsigned nslots);
void sup_history_fini(sup_history *h);

/* Records one point per slot (obs[0..nslots)) and one for the fleet at wall_ms. Rates are the
 * counters' growth since the previous recording over mono_ms's advance; a slot whose worker
 * changed (pid, generation) or whose counters went back counts from zero. The fleet's latency
 * quantiles come from the sum of the slots' histogram growth. */
void sup_history_record(sup_history *h, const sup_history_obs *obs, uint64_t mono_ms,
                        uint64_t wall_ms);

/* The ring of slot (-1: the fleet); NULL for a slot out of range. */
const sup_history_ring *sup_history_ring_of(const sup_history *h, int slot);

/* Point i of a ring, 0 = the oldest; NULL past the end. */
const sup_history_point *sup_history_at(const sup_history_ring *r, size_t i);

/* The value below which a fraction q of the samples in counts (SUP_HISTORY_LAT_BUCKETS buckets,
 * bucket i holding samples of at most 2^i µs, the last everything slower) falls: the upper bound
 * of that bucket in µs (2^WSF_HIST_BUCKETS for the last). 0 when counts are all zero. */
uint32_t sup_history_quantile(const uint64_t *counts, double q);

#endif
