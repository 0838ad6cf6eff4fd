/* The built-in alert rules as a pure evaluator: a snapshot of the fleet (slots, fleet state,
 * error rate, p99 latency, sidecar) and the time go in, firing and resolved transitions come out.
 * No clock reads, no I/O: the caller (sup_alerting.c) builds the snapshot once a second and does
 * the logging and delivery; tests pass a fake clock.
 *
 * A rule instance (one per slot for slot_failed and breaker_open, one for the fleet otherwise)
 * is pending from the first evaluation that sees its condition; it fires at the first evaluation
 * at least for_ms later (for_ms = 0: at once), and resolves at the first evaluation that does not
 * see the condition, or once its rule is disabled. Thresholds are strict: a value equal to the
 * threshold does not fire. */
#ifndef SUP_ALERTS_H
#define SUP_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sup_alcfg.h"
#include "wsf_msg.h"

#define SUP_ALERTS_MAX_SLOTS 256
#define SUP_ALERTS_RECENT 32 /* resolved alerts kept for `wsctl alerts` and the dashboard */
/* Most transitions one evaluation can produce: every instance of every rule. */
#define SUP_ALERTS_MAX_TRANSITIONS (2 * SUP_ALERTS_MAX_SLOTS + SUP_ALERT_NRULES)
/* Fewer timed events in the window give no p99. Workers time one event in 64, so this is about
 * 1,300 events over the fleet in SUP_ALERTING_P99_WINDOW seconds. */
#define SUP_ALERTS_P99_MIN_EVENTS 20
#define SUP_ALERTS_P99_OVER_US 16385 /* a p99 past the histograms' last bound (16384 µs) */

typedef struct sup_alerts_slot_in {
    bool present;      /* a wanted slot of the fleet */
    bool failed;       /* its lifecycle state is failed */
    bool breaker_open; /* its breaker is open or half-open */
} sup_alerts_slot_in;

/* One evaluation's view of the fleet. */
typedef struct sup_alerts_input {
    uint64_t now_ms;  /* monotonic: the rules' durations */
    uint64_t wall_ms; /* Unix time in ms: startsAt and endsAt */
    unsigned nslots;  /* slot[0, nslots) are filled in */
    sup_alerts_slot_in slot[SUP_ALERTS_MAX_SLOTS];
    bool degraded;     /* the fleet state is degraded */
    double error_rate; /* fleet errors per second */
    bool has_p99;      /* enough timed events for a p99 (SUP_ALERTS_P99_MIN_EVENTS) */
    uint32_t p99_us;   /* the fleet's p99 event latency */
    int sidecar;       /* -1: no sidecar (external broker or none); 0: down; 1: running */
} sup_alerts_input;

/* One alert: a rule instance's state, and a transition as reported. */
typedef struct sup_alert {
    enum sup_alert_rule rule;
    int slot;            /* -1 for fleet-wide rules */
    bool pending;        /* the condition holds, the rule's time may not be over */
    bool firing;         /* fired and not resolved */
    uint64_t pending_ms; /* monotonic, when the condition was first seen */
    uint64_t starts_ms;  /* wall ms when it fired */
    uint64_t ends_ms;    /* wall ms when it resolved; 0 while firing */
    double value;        /* the measure the rule compares (errors/s, p99 µs), last seen */
    double threshold;    /* what it was compared against (0 for state rules) */
    uint64_t for_ms;     /* the rule's duration when it fired */
} sup_alert;

/* Rule state: about 100 KiB; caller-owned. */
typedef struct sup_alerts {
    sup_alert inst[SUP_ALERT_NRULES][SUP_ALERTS_MAX_SLOTS]; /* fleet-wide rules use [r][0] */
    sup_alert recent[SUP_ALERTS_RECENT];                    /* resolved, a ring */
    size_t recent_head, nrecent;
} sup_alerts;

/* No alert pending, firing or recent. */
void sup_alerts_init(sup_alerts *a);

/* Evaluates every rule of cfg on in. Writes the transitions (alerts that fired or resolved in
 * this evaluation; a resolved one has ends_ms set and firing false) into out[0..cap) in rule and
 * slot order; with cap >= SUP_ALERTS_MAX_TRANSITIONS none is lost. Returns their number. */
size_t sup_alerts_eval(sup_alerts *a, const sup_alerts_cfg *cfg, const sup_alerts_input *in,
                       sup_alert *out, size_t cap);

/* Calls fn for every firing alert, in rule and slot order. */
void sup_alerts_each_firing(const sup_alerts *a, void (*fn)(const sup_alert *al, void *arg),
                            void *arg);

/* The number of firing alerts. */
size_t sup_alerts_firing_count(const sup_alerts *a);

/* Recent resolved alert i, 0 = newest; NULL past the end. */
const sup_alert *sup_alerts_recent_at(const sup_alerts *a, size_t i);

/* The quantile q (0..1) of a Report's latency buckets (wsf_report.latency: bucket i holds
 * events of at most 2^i µs, the last everything slower), interpolated linearly inside its
 * bucket; SUP_ALERTS_P99_OVER_US when it lies in the last, open bucket. *events gets the total.
 * 0 when there are no events. */
uint32_t sup_alerts_quantile_us(const uint64_t counts[WSF_HIST_BUCKETS + 1], double q,
                                uint64_t *events);

/* "warning" or "critical" for the rule. */
const char *sup_alert_severity(enum sup_alert_rule r);

/* The alert's one-line summary and a longer description, NUL-terminated. */
void sup_alert_summary(char *out, size_t size, const sup_alert *al);
void sup_alert_description(char *out, size_t size, const sup_alert *al);

#endif
