/* Per-worker statistics history: the last 5 minutes of Reports at 1 s resolution, and rates per
 * second derived from the cumulative counters. Pure: the caller passes the receive time. */
#ifndef SUP_STATS_H
#define SUP_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_msg.h"

#define SUP_STATS_SAMPLES 300       /* 5 minutes at one sample per second */
#define SUP_STATS_RESOLUTION_MS 750 /* samples closer than this to the previous one merge */

/* What the supervisor keeps of one Report. */
typedef struct sup_stats_sample {
    uint64_t t_ms; /* supervisor's monotonic clock when the Report arrived */
    uint64_t seq;
    /* cumulative counters */
    uint64_t connections_opened;
    uint64_t connections_closed;
    uint64_t handshakes_ok;
    uint64_t handshakes_failed; /* client + busy + timeout + server */
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t errors; /* protocol + internal errors + failed writes + server-caused handshakes */
    uint64_t cpu_time_us;
    /* gauges */
    uint32_t connections_active;
    uint32_t loop_lag_us;
    uint64_t rss_bytes;
    bool accepting;
    bool draining;
} sup_stats_sample;

/* Per-second rates over a window, from the counters' deltas. */
typedef struct sup_stats_rates {
    double window_s; /* the span actually used */
    double connections_opened;
    double connections_closed;
    double handshakes_ok;
    double handshakes_failed;
    double messages_in;
    double messages_out;
    double bytes_in;
    double bytes_out;
    double errors;
    double cpu; /* CPU seconds per second: 1.0 = one core busy */
} sup_stats_rates;

/* One worker's history; caller-owned, about 36 KiB. */
typedef struct sup_stats {
    sup_stats_sample ring[SUP_STATS_SAMPLES];
    size_t head; /* index of the oldest sample */
    size_t n;
    uint32_t pid;
    uint64_t generation;
    uint32_t resets; /* histories dropped because a new worker or reset counters appeared */
} sup_stats;

/* What sup_stats_add did with a Report. */
enum sup_stats_added {
    SUP_STATS_APPENDED = 0, /* a new sample */
    SUP_STATS_MERGED = 1,   /* replaced the newest sample (came within the resolution) */
    SUP_STATS_RESET = 2,    /* new pid or generation, or a counter went backwards: history
                               dropped, this is its first sample */
    SUP_STATS_IGNORED = 3,  /* older than the newest (seq or time): a duplicate or reordered */
};

/* The counters sup_stats_rate can be asked about. */
enum sup_stat_counter {
    SUP_STAT_CONNECTIONS_OPENED,
    SUP_STAT_CONNECTIONS_CLOSED,
    SUP_STAT_HANDSHAKES_OK,
    SUP_STAT_HANDSHAKES_FAILED,
    SUP_STAT_MESSAGES_IN,
    SUP_STAT_MESSAGES_OUT,
    SUP_STAT_BYTES_IN,
    SUP_STAT_BYTES_OUT,
    SUP_STAT_ERRORS,
    SUP_STAT_CPU, /* CPU seconds per second */
};

/* An empty history. */
void sup_stats_init(sup_stats *st);

/* Empties the history (a new worker starts in the slot); keeps the resets count. */
void sup_stats_reset(sup_stats *st);

/* The "errors" of a Report: protocol_errors + internal_errors + failed_writes +
 * handshakes_failed_server. */
uint64_t sup_stats_errors(const wsf_report *r);

/* Adds a Report received at now_ms. The newest sample stays provisional until it is
 * SUP_STATS_RESOLUTION_MS past the one before it, so faster Reports keep about one sample per
 * second and the ring spans about SUP_STATS_SAMPLES seconds. Returns an enum sup_stats_added. */
int sup_stats_add(sup_stats *st, const wsf_report *r, uint64_t now_ms);

/* Number of samples held, and sample i (0 = oldest); NULL past the end. */
size_t sup_stats_count(const sup_stats *st);
const sup_stats_sample *sup_stats_at(const sup_stats *st, size_t i);

/* The newest sample, or NULL when empty. */
const sup_stats_sample *sup_stats_last(const sup_stats *st);

/* Rates over the last window_ms ending at the newest sample: from the oldest sample not older
 * than window_ms before it (or the oldest held, if the history is shorter) to the newest. A lost
 * Report only widens the span: counters are cumulative. Returns 0, or -1 when fewer than two
 * samples span the window (out is then all zero). */
int sup_stats_rates_over(sup_stats_rates *out, const sup_stats *st, uint64_t window_ms);

/* One rate of sup_stats_rates_over, or 0.0 when there are fewer than two samples. */
double sup_stats_rate(const sup_stats *st, enum sup_stat_counter which, uint64_t window_ms);

/* Milliseconds since the newest sample (UINT64_MAX when empty): the hang detector's input. */
uint64_t sup_stats_age(const sup_stats *st, uint64_t now_ms);

#endif
