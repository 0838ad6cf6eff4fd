/* A worker slot and the thin executor of its lifecycle: events go through the pure table of
 * sup_lifecycle.h, and this turns the resulting actions into fork and exec, signals, commands to
 * the worker and steering. */
#ifndef SUP_SLOT_H
#define SUP_SLOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sup_breaker.h"
#include "sup_lifecycle.h"
#include "sup_stats.h"
#include "sup_upgrade_state.h"
#include "wsf_ipc.h"

typedef struct sup_ctx sup_ctx;

typedef struct sup_slot {
    unsigned index;
    sup_lifecycle lc;        /* state, deadlines, restart streak: on the observed clock */
    pid_t pid;               /* 0 when no process */
    uint64_t generation;     /* increases with every spawn attempt */
    uint64_t spawn_seq;      /* the fleet's spawn counter at its last spawn attempt */
    uint64_t started_ms;     /* spawn time, monotonic (uptime, scaler) */
    uint64_t ready_ms;       /* Hello time, monotonic */
    uint64_t last_report_ms; /* last Hello or Report, monotonic (scaler staleness) */
    bool wanted;             /* part of the fleet's desired size: keep a worker running */
    bool accepting;          /* steering may give it connections */
    wsf_ipc_peer peer;       /* the worker's ROUTER identity, from its own pid's messages only */
    bool has_peer;
    wsf_report report; /* last Report */
    bool has_report;
    sup_stats stats;
    sup_breaker breaker;
    uint32_t breaker_transitions; /* state changes over the slot's life */
    unsigned buckets;             /* steering buckets it has */
    uint32_t stranger_pid;        /* last pid logged for claiming this slot, rate limit */
    uint64_t stranger_log_ms;     /* when that was logged */
    sup_binid bin;                /* the wsworker file at its last spawn (live upgrade) */
} sup_slot;

/* Feeds a lifecycle event and executes its actions; exit_code for EXIT (-1: killed by a
 * signal), drain_ms for DRAIN and UNWANT. */
void sup_slot_event(sup_ctx *ctx, sup_slot *slot, enum sup_lifecycle_event ev, int exit_code,
                    uint32_t drain_ms);

/* The worker was reaped with wait status. */
void sup_slot_on_exit(sup_ctx *ctx, sup_slot *slot, int status);

/* A Hello or Report (m) from peer for this slot. Accepted only from the slot's current child: a
 * message of another pid is ignored and logged (at most once a minute per pid), so it can
 * neither feed the slot's breaker nor become the peer its commands go to. */
void sup_slot_on_msg(sup_ctx *ctx, sup_slot *slot, const wsf_ipc_peer *peer,
                     const wsf_worker_msg *m);

/* Tells the worker to drain over drain_ms; with restart_after a replacement starts when it
 * exits, else the slot stops (scale down, fleet stop). */
void sup_slot_drain(sup_ctx *ctx, sup_slot *slot, uint32_t drain_ms, bool restart_after);

void sup_slot_set_accepting(sup_ctx *ctx, sup_slot *slot, bool on);

/* The clock: raises the due event (hang, deadline) at observed time now. */
void sup_slot_tick(sup_ctx *ctx, sup_slot *slot, uint64_t now);

int sup_send_command(sup_ctx *ctx, sup_slot *slot, wsf_command *cmd);

#endif
