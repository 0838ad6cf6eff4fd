/* Circuit breaker of a worker slot (outlier ejection): rate, consecutive and relative detectors, an
 * open time growing with each ejection, half-open probes, and the fleet's blast-radius limit.
 * Pure: the caller passes the clock, the random values and the Report-derived samples. */
#ifndef SUP_BREAKER_H
#define SUP_BREAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_msg.h"

/* Most buckets a window may have (window_ms / bucket_ms is clamped to it). */
#define SUP_BREAKER_MAX_BUCKETS 60

/* Room for a reason string, terminator included. */
#define SUP_BREAKER_REASON_MAX 160

/* Errors. */
#define SUP_BREAKER_EALREADY (-1) /* operator trip of a breaker that is already open */
#define SUP_BREAKER_EINVAL (-2)   /* no such event or state */

/* Steering weight of a closed slot, in permille of its normal weight. */
#define SUP_BREAKER_FULL_WEIGHT 1000u

enum sup_breaker_state {
    SUP_BREAKER_CLOSED = 0,    /* healthy: full weight */
    SUP_BREAKER_OPEN = 1,      /* ejected: weight 0, existing sessions stay */
    SUP_BREAKER_HALF_OPEN = 2, /* a small weight admits probe connections */
    SUP_BREAKER_NSTATES
};

/* What happens to a breaker; sup_breaker_step takes them directly, the other functions derive
 * them from samples, the clock and the fleet. */
enum sup_breaker_event {
    SUP_BREAKER_EV_DETECT = 0,     /* a detector fired and the blast radius allows an ejection */
    SUP_BREAKER_EV_DEFER = 1,      /* a detector fired but the blast radius does not allow it */
    SUP_BREAKER_EV_EXPIRE = 2,     /* the open time is over */
    SUP_BREAKER_EV_PROBES_OK = 3,  /* the half-open probes failed below the threshold */
    SUP_BREAKER_EV_PROBES_BAD = 4, /* they did not */
    SUP_BREAKER_EV_TRIP = 5,       /* operator: open now, whatever the blast radius */
    SUP_BREAKER_EV_RESET = 6,      /* operator: closed, history forgotten */
    SUP_BREAKER_EV_RECYCLED = 7,   /* a new worker (generation) runs in the slot */
    SUP_BREAKER_NEVENTS
};

/* Actions for the caller, or-ed together in sup_breaker_actions.acts. */
enum sup_breaker_act {
    SUP_BREAKER_ACT_EJECT = 1 << 0,   /* steering weight 0 for open_ms */
    SUP_BREAKER_ACT_PROBE = 1 << 1,   /* weight_permille of the normal weight: ~probes conns */
    SUP_BREAKER_ACT_CLOSE = 1 << 2,   /* full weight again */
    SUP_BREAKER_ACT_RECYCLE = 1 << 3, /* drain the worker and start a new one in the slot */
    SUP_BREAKER_ACT_LOG = 1 << 4,     /* log reason (a transition, a deferral, an operator act) */
};

typedef struct sup_breaker_policy {
    uint64_t bucket_ms;                /* 1000: width of a window bucket */
    uint64_t window_ms;                /* 10000: span of the rate detector's window */
    uint64_t min_events;               /* 20: rate detector: least volume in the window */
    unsigned failure_pct;              /* 50: rate detector: failures / events at least this */
    uint32_t consecutive;              /* 5: server-side handshake failures in a row */
    uint32_t relative_min_workers;     /* 5: relative detector: workers with enough volume ... */
    uint64_t relative_min_events;      /* 100: ... that is, this many events in the window */
    double relative_sigma;             /* 1.9: open below mean - this many standard deviations */
    unsigned relative_min_failure_pct; /* 1: ... and failing at least this much: among
                                          flawless workers, one error would be 2 sigma out */
    uint64_t base_open_ms;             /* 30000: open time is this times times_opened ... */
    uint64_t max_open_ms;              /* 300000: ... capped here; reaching the cap recycles */
    double jitter;                     /* 0.1: open time scaled by a factor in [1 - j, 1 + j) */
    uint32_t probes;                   /* 10: probe connections that decide a half-open breaker */
    unsigned probe_failure_pct;        /* 50: probes failing this much re-open the breaker */
    unsigned probe_weight_permille;    /* 50: half-open steering weight, permille of normal */
    unsigned max_ejected_pct;          /* 10: at most max(1, this % of running) not closed */
    unsigned min_healthy_pct;          /* 50: at least this % of running stay closed */
    uint64_t forgive_ms;               /* 600000: closed this long resets times_opened */
} sup_breaker_policy;

/* One bucket of the window: the Report deltas received during one bucket_ms. */
typedef struct sup_breaker_bucket {
    uint64_t stamp; /* now_ms / bucket_ms + 1 of its bucket; 0 = empty */
    uint64_t events;
    uint64_t failures;
} sup_breaker_bucket;

/* Per-slot breaker; caller-owned, set up by sup_breaker_init. */
typedef struct sup_breaker {
    enum sup_breaker_state state;
    uint32_t times_opened;  /* openings since the last reset or forgiveness: sets the open time */
    uint32_t opens_total;   /* openings over the slot's life, for stats */
    uint64_t opened_at_ms;  /* when it last opened */
    uint64_t open_until_ms; /* when an open breaker turns half-open */
    uint64_t closed_at_ms;  /* when it last closed (forgiveness counts from here) */
    sup_breaker_bucket ring[SUP_BREAKER_MAX_BUCKETS];
    uint64_t hs_streak; /* server-side handshake failures since the last successful handshake */
    /* half-open accounting */
    uint64_t probes;         /* handshakes since it turned half-open */
    uint64_t probes_failed;  /* of which failed for a server-side cause */
    uint64_t probe_events;   /* all volume since then */
    uint64_t probe_failures; /* all server-side failures since then */
    bool deferred; /* a detector fires but the blast radius holds it closed (logged once) */
    char reason[SUP_BREAKER_REASON_MAX]; /* of the last logged transition */
} sup_breaker;

/* One slot's Report deltas (since its previous Report). */
typedef struct sup_breaker_sample {
    uint64_t events;   /* volume: handshakes (ok + server-failed) + messages in */
    uint64_t failures; /* server-side: internal errors (injected faults included), failed writes,
                          handshakes failed for a server cause */
    uint64_t handshakes_ok;
    uint64_t handshakes_failed_server;
} sup_breaker_sample;

/* The result of one call for one slot. */
typedef struct sup_breaker_actions {
    unsigned acts; /* enum sup_breaker_act, or-ed; 0 = nothing to do */
    enum sup_breaker_state from;
    enum sup_breaker_state to;
    unsigned weight_permille; /* steering weight for the new state, permille of normal */
    uint32_t probes;          /* PROBE: connections the small weight should admit */
    uint64_t open_ms;         /* EJECT: how long it stays open (jitter included) */
    char reason[SUP_BREAKER_REASON_MAX];
} sup_breaker_actions;

/* Fills in the defaults listed beside each field. */
void sup_breaker_policy_init(sup_breaker_policy *p);

/* A fresh slot: closed, empty window, never opened. */
void sup_breaker_init(sup_breaker *b);

/* The one state machine: applies event ev at now_ms through the const [state][event] table and
 * writes the caller's actions into *out. rnd (uniform in [0, 1), clamped) picks the jitter of an
 * opening; reason (may be NULL) is copied into out->reason and, for a logged transition, into
 * b->reason. Events that mean nothing in the current state do nothing (out->acts == 0). Returns
 * 0, or SUP_BREAKER_EINVAL for an unknown event (out is then untouched). */
int sup_breaker_step(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                     enum sup_breaker_event ev, uint64_t now_ms, double rnd, const char *reason);

/* Feeds one slot's sample (its Report deltas) received at now_ms. Records it in the window and
 * the handshake streak; while half-open, counts the probes and, once p->probes handshakes have
 * come (or enough have failed that the verdict is certain), closes or re-opens the breaker (rnd
 * as for sup_breaker_step). Detectors never open a closed breaker here: that is
 * sup_breaker_evaluate's job, which knows the fleet. Returns 0. */
int sup_breaker_feed(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                     const sup_breaker_sample *s, uint64_t now_ms, double rnd);

/* The sample between two Reports of a slot: cur minus prev, or cur's totals when prev is NULL,
 * belongs to another pid or generation, or has a counter above cur's (the worker restarted). */
void sup_breaker_sample_from(sup_breaker_sample *out, const wsf_report *prev,
                             const wsf_report *cur);

/* The clock alone: an open breaker whose time is over turns half-open; a breaker closed for
 * forgive_ms forgets its times_opened. Returns 0. */
int sup_breaker_tick(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                     uint64_t now_ms);

/* The fleet's periodic decision at now_ms over slots[0..n) (NULL = no worker in the slot; those
 * get an empty out[i]); running is the number of running workers. Ticks every breaker, runs the
 * rate and consecutive detectors on each closed one and the relative detector across all of them
 * (when at least relative_min_workers have relative_min_events in the window), then opens the
 * worst offenders first, as long as at most max(1, max_ejected_pct of running) breakers are not
 * closed and at least min_healthy_pct of running stay closed. An offender beyond that stays
 * closed and is logged once as deferred. rnd[i] is slot i's random value for the jitter (rnd may
 * be NULL: no jitter). Writes out[0..n); returns how many slots have actions. */
int sup_breaker_evaluate(sup_breaker_actions *out, sup_breaker *const *slots, size_t n,
                         size_t running, const sup_breaker_policy *p, uint64_t now_ms,
                         const double *rnd);

/* Operator trip: opens the breaker now (blast radius not applied: the operator decides), reason
 * "operator trip". Returns 0, or SUP_BREAKER_EALREADY if it is open (nothing changes). */
int sup_breaker_trip(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                     uint64_t now_ms, double rnd);

/* Operator reset: closed, full weight, times_opened 0, window and probes forgotten. Returns 0. */
int sup_breaker_reset(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                      uint64_t now_ms);

/* A new worker runs in the slot (recycled or restarted): the old worker's window, streak and
 * probes are forgotten; the state and its timer stay (an open slot is probed before it closes).
 * Returns 0. */
int sup_breaker_on_recycled(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                            uint64_t now_ms);

/* For wsctl and status. */
const char *sup_breaker_state_name(enum sup_breaker_state st); /* "closed", "open", "half_open" */
/* failures / events over the window ending at now_ms, in [0, 1]; 0 without events. */
double sup_breaker_failure_rate(const sup_breaker *b, const sup_breaker_policy *p, uint64_t now_ms);
/* Events and failures over the window ending at now_ms into out[0] and out[1]. */
void sup_breaker_window(uint64_t out[2], const sup_breaker *b, const sup_breaker_policy *p,
                        uint64_t now_ms);
uint64_t sup_breaker_opened_at(const sup_breaker *b); /* 0 if it never opened */
uint32_t sup_breaker_times_opened(const sup_breaker *b);
/* Steering weight of the current state, permille of the slot's normal weight. */
unsigned sup_breaker_weight(const sup_breaker *b, const sup_breaker_policy *p);

#endif
