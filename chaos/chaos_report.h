/* What a drill run found, and how it is judged and printed: the faults injected, breaker and
 * scaler actions seen through wsctl, disconnects by cause, every metric, and each objective with
 * pass or fail. Text for people, JSON (one document) for programs. */
#ifndef CHAOS_REPORT_H
#define CHAOS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chaos_drill.h"
#include "chaos_load.h"
#include "chaos_metric.h"

#define CHAOS_NOTES_MAX 256

/* One line of the drill's story, at a time from the start of the timeline (negative: before). */
typedef struct chaos_note {
    int64_t t_ms;
    char text[160];
} chaos_note;

typedef struct chaos_report {
    const chaos_drill *drill;
    bool quick;
    double metric[CHAOS_METRIC_COUNT];
    bool have[CHAOS_METRIC_COUNT]; /* set by chaos_report_set; an objective on a metric not set
                                    * fails */
    uint64_t by_cause[CHAOS_CAUSE_COUNT]; /* echo clients' disconnects and failed attempts */
    uint64_t close_codes[16];             /* of those, close frames by code - 1000 */
    chaos_note faults[CHAOS_NOTES_MAX];   /* faults injected */
    size_t n_faults;
    chaos_note actions[CHAOS_NOTES_MAX]; /* breaker and scaler actions, restarts, seen via wsctl */
    size_t n_actions;
    size_t dropped_notes; /* notes past CHAOS_NOTES_MAX, counted not kept */
    bool passed[CHAOS_OBJECTIVES_MAX];
    bool all_passed;
    double elapsed_s; /* wall time of the whole run */
    char error[256];  /* set when the drill could not run to the end; the drill then fails */
} chaos_report;

void chaos_report_init(chaos_report *r, const chaos_drill *d, bool quick);
void chaos_report_set(chaos_report *r, enum chaos_metric_id id, double value);
void chaos_report_fault(chaos_report *r, int64_t t_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void chaos_report_action(chaos_report *r, int64_t t_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records the first error only. */
void chaos_report_error(chaos_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Judges every objective (filling passed[] and all_passed; an error fails the drill) and returns
 * all_passed. */
bool chaos_report_judge(chaos_report *r);

/* The report for people. */
void chaos_report_text(const chaos_report *r, FILE *out);

/* One line per drill with PASS/FAIL, and the count, after several reports. */
void chaos_report_summary(const chaos_report *const *reports, size_t n, FILE *out);

/* The reports as one JSON document: {"drills": [...], "passed": bool}. Returns 0, or -1 when
 * writing failed. */
int chaos_report_json(const chaos_report *const *reports, size_t n, FILE *out);

#endif
