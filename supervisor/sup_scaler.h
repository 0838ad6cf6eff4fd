/* Autoscaler and rebalancer of the fleet: how many workers to run, which one to drain, and which
 * overloaded workers shed connections. Pure: the caller passes the clock and the workers' load. */
#ifndef SUP_SCALER_H
#define SUP_SCALER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most workers the scaler reasons about (the supervisor's slot count); also the highest slot + 1
 * the rebalancer keeps a shed time for. */
#define SUP_SCALER_MAX_WORKERS 256

/* Entries of the recommendation history. It keeps only the entries that can still be the maximum
 * of the window (each older one larger than every newer one), and recommendations are clamped to
 * [min, max] <= SUP_SCALER_MAX_WORKERS, so this many always suffice. */
#define SUP_SCALER_HISTORY (SUP_SCALER_MAX_WORKERS + 1)

#define SUP_SCALER_REASON_MAX 160

/* Errors. */
#define SUP_SCALER_EPOLICY (-1) /* the policy is inconsistent, see sup_scaler_policy_check */

typedef struct sup_scaler_policy {
    uint32_t target_connections; /* 1000: connections per worker; 0 turns the signal off */
    double target_busy;          /* 0.7: loop busyness per worker (0..1); 0 turns it off */
    double tolerance;            /* 0.1: no change while the load is within target +- this */
    uint64_t up_window_ms;       /* 15000: scale-ups within a window ... */
    double up_factor;            /* 2.0: ... reach at most the window's first count times this */
    uint32_t up_step;            /* 4: ... or that count plus this, whichever is larger */
    uint64_t down_window_ms;     /* 300000: scale down only to the highest recommendation of
                                    this window */
    uint64_t down_interval_ms;   /* 60000: one worker less at most this often */
    uint64_t warmup_ms;          /* 30000: a worker's metrics are ignored this long after start */
    uint32_t min_workers;        /* 1 */
    uint32_t max_workers;        /* SUP_SCALER_MAX_WORKERS */
} sup_scaler_policy;

/* One worker of the fleet as the supervisor last saw it. */
typedef struct sup_scaler_worker {
    uint32_t slot;
    uint32_t connections; /* connections_active of its last Report */
    double busy;          /* loop busyness 0..1 (CPU seconds per second of its loop) */
    bool has_report;      /* false: no Report yet, or the last one is too old to trust */
    uint64_t started_ms;  /* when it was spawned, on the caller's monotonic clock */
} sup_scaler_worker;

enum sup_scaler_action {
    SUP_SCALER_HOLD = 0, /* keep the current count (also while disabled) */
    SUP_SCALER_UP = 1,   /* spawn desired - current workers */
    SUP_SCALER_DOWN = 2, /* drain one worker: drain_slot */
};

typedef struct sup_scaler_decision {
    int action;         /* enum sup_scaler_action */
    uint32_t current;   /* the count the decision started from */
    uint32_t desired;   /* the count to run from now on */
    uint32_t recommend; /* this tick's recommendation, clamped to [min, max] */
    int32_t drain_slot; /* SUP_SCALER_DOWN: the least-loaded worker's slot, or -1 */
    double ratio_up;    /* load / target, missing Reports at 0 % */
    double ratio_down;  /* load / target, missing Reports at 100 % */
    char reason[SUP_SCALER_REASON_MAX];
} sup_scaler_decision;

/* One remembered recommendation. */
typedef struct sup_scaler_rec {
    uint64_t t_ms;
    uint32_t workers;
} sup_scaler_rec;

/* Autoscaler state; caller-owned, set up by sup_scaler_init. */
typedef struct sup_scaler {
    bool enabled;
    bool observing;    /* since_ms is set: the first tick after init or enabling has been seen */
    uint64_t since_ms; /* history starts here; no scale-down before a full window of it */
    sup_scaler_rec history[SUP_SCALER_HISTORY]; /* a ring: decreasing workers, increasing time */
    unsigned head;                              /* oldest entry */
    unsigned nhistory;
    bool up_open; /* a scale-up window is open ... */
    uint64_t up_start_ms;
    uint32_t up_base; /* ... and the count it started from */
    bool has_down;
    uint64_t last_down_ms;
    bool has_change; /* last: the last change of the count (scaling or manual), for status */
    uint64_t last_ms;
    sup_scaler_decision last;
} sup_scaler;

/* Fills in the defaults listed beside each field. The caller copies workers.min and workers.max
 * into min_workers and max_workers. */
void sup_scaler_policy_init(sup_scaler_policy *p);

/* Returns 0 if the policy can be used, else SUP_SCALER_EPOLICY: 1 <= min_workers <= max_workers
 * <= SUP_SCALER_MAX_WORKERS, at least one target set, tolerance in [0, 1), up_factor >= 1. */
int sup_scaler_policy_check(const sup_scaler_policy *p);

/* A fresh scaler, enabled, with no history. */
void sup_scaler_init(sup_scaler *st);

/* Switches autoscaling on or off. Switching it on starts a new history at now_ms: no scale-down
 * until a full down window has been seen. */
void sup_scaler_set_enabled(sup_scaler *st, bool on, uint64_t now_ms);

/* Records a manual scaling (`wsctl scale N`) from current to desired workers at now_ms: switches
 * autoscaling off and remembers it as the last change. */
void sup_scaler_on_manual(sup_scaler *st, uint32_t current, uint32_t desired, uint64_t now_ms);

/* One tick of the autoscaler at now_ms. current is the number of workers the fleet is kept at;
 * w[0..n) are its running workers (not those draining away). Slots of the fleet missing from w
 * (spawning, restarting) count like workers without a Report; if n > current, n is the count.
 *
 * A worker without a Report, or started less than warmup_ms ago, is unmeasured: it counts as 0 %
 * of target toward scaling up and as 100 % toward scaling down. Each signal gives
 * ceil(total load / target) workers, i.e. ceil(count * mean / target); the larger ratio wins.
 * Within tolerance of the target the recommendation is the current count. A scale-up happens at
 * once, limited per up window to max(base * up_factor, base + up_step) where base is the count when
 * the window opened. A scale-down goes to the highest recommendation of the last down_window_ms,
 * only after a full window of history, one worker per down_interval_ms, by draining the worker
 * with the fewest connections (ties: the highest slot). The result is clamped to [min, max]; a
 * count above max drops one worker per tick. Disabled: holds and records nothing.
 *
 * Fills *out and returns its action (>= 0), or SUP_SCALER_EPOLICY (state and out untouched). */
int sup_scaler_tick(sup_scaler_decision *out, sup_scaler *st, const sup_scaler_policy *p,
                    uint64_t now_ms, uint32_t current, const sup_scaler_worker *w, size_t n);

/* "hold", "up" or "down". */
const char *sup_scaler_action_name(int action);

typedef struct sup_rebalance_policy {
    double above;         /* 0.1: a worker holding more than mean * (1 + above) ... */
    uint32_t min_excess;  /* 50: ... and more than this many above the mean (a few hundred
                             connections hashed over workers differ by more than 10 %) sheds */
    double fraction;      /* 0.1: ... at most this fraction of its connections ... */
    uint64_t interval_ms; /* 60000: ... per interval, never below the mean */
} sup_rebalance_policy;

/* When each slot last shed; caller-owned, set up by sup_rebalance_init. */
typedef struct sup_rebalance {
    uint64_t shed_ms[SUP_SCALER_MAX_WORKERS];
    bool has_shed[SUP_SCALER_MAX_WORKERS];
} sup_rebalance;

/* Shed this many connections of this slot, closing them with 1012 (Service Restart). */
typedef struct sup_rebalance_action {
    uint32_t slot;
    uint32_t count;
} sup_rebalance_action;

#define SUP_REBALANCE_CLOSE_CODE 1012

void sup_rebalance_policy_init(sup_rebalance_policy *p);

void sup_rebalance_init(sup_rebalance *st);

/* Decides which of the n workers shed connections at now_ms. The mean is over the workers with a
 * Report (at least two needed); a worker more than `above` over it, that has not shed within
 * interval_ms, sheds min(floor(connections * fraction), connections - ceil(mean)) connections
 * (nothing if that is 0). Workers without a Report or with a slot >= SUP_SCALER_MAX_WORKERS never
 * shed. Writes up to cap actions into out, remembers their time, and returns how many. */
size_t sup_rebalance_tick(sup_rebalance_action *out, size_t cap, sup_rebalance *st,
                          const sup_rebalance_policy *p, uint64_t now_ms,
                          const sup_scaler_worker *w, size_t n);

#endif
