/* Restart policy of a worker slot: exponential backoff with jitter, crash-loop detection and the
 * "cannot boot" exit code. Pure: the caller passes the clock and the random value. */
#ifndef SUP_RESTART_H
#define SUP_RESTART_H

#include <stdbool.h>
#include <stdint.h>

/* Most restarts a policy may count inside its fail window (bounds fail_count). */
#define SUP_RESTART_MAX_FAIL_COUNT 64

/* Worker exit code meaning "cannot boot" (bad config, certificate, bind): no fast retries. */
#define SUP_RESTART_EXIT_CANNOT_BOOT 100

typedef struct sup_restart_policy {
    uint64_t base_delay_ms;  /* 100: delay before the first restart of a streak */
    uint64_t max_delay_ms;   /* 15000: cap of the doubling, and the delay of a failed slot */
    double jitter;           /* 0.2: the delay is scaled by a factor in [1 - j, 1 + j) */
    uint64_t reset_after_ms; /* 30000: this long up clears the streak and the failed state */
    uint64_t unstable_ms;    /* 1000: an exit this soon after the start is unstable */
    uint32_t fail_count;     /* 5: this many restarts ... */
    uint64_t fail_window_ms; /* 30000: ... within this window mark the slot failed */
    int cannot_boot_code;    /* SUP_RESTART_EXIT_CANNOT_BOOT */
} sup_restart_policy;

/* Per-slot restart state; caller-owned, set up by sup_restart_init. */
typedef struct sup_restart {
    unsigned streak;   /* restarts since the last run that lasted reset_after_ms */
    bool failed;       /* crash loop or cannot boot: restarts use max_delay_ms */
    uint32_t restarts; /* restarts over the slot's life, for status */
    uint64_t recent[SUP_RESTART_MAX_FAIL_COUNT]; /* exit times of the streak, a ring */
    unsigned nrecent;
    unsigned head; /* index of the oldest entry of recent[] */
    unsigned ring; /* fail_count the ring was laid out for (a reload may change it) */
} sup_restart;

typedef struct sup_restart_decision {
    uint64_t delay_ms; /* wait this long before spawning the replacement */
    bool failed;       /* the slot is failed (crash loop or cannot boot) */
    bool newly_failed; /* it became failed with this exit: the caller logs it loudly */
    bool unstable;     /* the worker exited within unstable_ms of its start */
    bool cannot_boot;  /* the worker exited with cannot_boot_code */
    unsigned streak;   /* restarts in the current streak, including this one */
} sup_restart_decision;

/* Fills in the defaults listed beside each field. */
void sup_restart_policy_init(sup_restart_policy *p);

/* A fresh slot: no streak, not failed. */
void sup_restart_init(sup_restart *st);

/* Decides the restart after a worker exit. now_ms and started_ms are on the same monotonic clock;
 * exit_code is the worker's exit status, or -1 when a signal killed it; rnd is a uniform random
 * value in [0, 1) (clamped) that picks the jitter. A run of at least reset_after_ms first clears
 * the streak and the failed state. The delay is min(max_delay, base_delay * 2^(streak-1)), or
 * max_delay once failed, times the jitter factor 1 + jitter * (2 * rnd - 1). */
sup_restart_decision sup_restart_on_exit(sup_restart *st, const sup_restart_policy *p,
                                         uint64_t now_ms, uint64_t started_ms, int exit_code,
                                         double rnd);

/* Called while a worker runs (periodically, or before its exit is handled): once it has been up
 * reset_after_ms, clears the streak and the failed state. Returns true if that changed anything
 * (a failed slot back to normal is worth a log line). */
bool sup_restart_on_uptime(sup_restart *st, const sup_restart_policy *p, uint64_t now_ms,
                           uint64_t started_ms);

#endif
