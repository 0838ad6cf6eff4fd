/* The life of a worker slot as data: a const [state][event] table of transitions and actions
 * (after s6-supervise's actions[][]), the clock-driven events of a tick, and the observed clock
 * that hang detection runs on. Pure: the caller passes the clock, the random value and what it
 * knows; sup_slot.c executes the actions (fork, signals, commands, steering). */
#ifndef SUP_LIFECYCLE_H
#define SUP_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "sup_restart.h"

enum sup_slot_state {
    SUP_SLOT_STOPPED = 0, /* no worker and none wanted */
    SUP_SLOT_STARTING,    /* being forked, or forked and no Hello yet */
    SUP_SLOT_RUNNING,     /* Hello received */
    SUP_SLOT_DRAINING,    /* told to drain; respawned on exit if restart_after */
    SUP_SLOT_BACKOFF,     /* no worker: spawn again at spawn_at_ms */
    SUP_SLOT_FAILED,      /* crash loop or cannot boot: as BACKOFF, at the maximum delay */
    SUP_SLOT_ADOPTED,     /* a previous supervisor's live worker, until it reports to us */
    SUP_SLOT_NSTATES
};

enum sup_lifecycle_event {
    SUP_LC_EV_WANT = 0,     /* the slot joined the fleet (start, scale up) */
    SUP_LC_EV_UNWANT,       /* it left the fleet (scale down) or the fleet stops: drain, no
                               respawn */
    SUP_LC_EV_SPAWN_OK,     /* the SPAWN action forked a worker */
    SUP_LC_EV_SPAWN_FAILED, /* the SPAWN action could not (pipe2, fork): like an instant exit */
    SUP_LC_EV_HELLO,        /* the slot's own worker said Hello */
    SUP_LC_EV_REPORT,       /* the slot's own worker sent a Report */
    SUP_LC_EV_EXIT,         /* the slot's worker was reaped (in.exit_code) */
    SUP_LC_EV_HANG,         /* no Hello or Report for hang_timeout of observed time */
    SUP_LC_EV_DRAIN,        /* drain and respawn (wsctl restart/drain, rolling restart, breaker
                               recycle) */
    SUP_LC_EV_DEADLINE,     /* the state's named deadline passed: kill_at or spawn_at */
    SUP_LC_EV_TICK,         /* the clock moved and nothing is due */
    SUP_LC_NEVENTS
};

/* Actions for the executor, or-ed together in sup_lifecycle_out.acts, done in this order. */
enum sup_lifecycle_act {
    SUP_LC_ACT_LOG = 1 << 0,      /* log out.reason at out.level */
    SUP_LC_ACT_DRAIN = 1 << 1,    /* send Drain (in.drain_ms); SIGTERM if it cannot be sent */
    SUP_LC_ACT_TERM = 1 << 2,     /* SIGTERM the worker */
    SUP_LC_ACT_KILL = 1 << 3,     /* SIGKILL the worker */
    SUP_LC_ACT_SPAWN = 1 << 4,    /* fork and exec a worker, then feed SPAWN_OK or SPAWN_FAILED */
    SUP_LC_ACT_READY = 1 << 5,    /* the worker just became ready (first Hello or Report) */
    SUP_LC_ACT_GONE = 1 << 6,     /* the worker is gone: forget its peer and Report */
    SUP_LC_ACT_SCHEDULE = 1 << 7, /* out.deadline is set at out.at_ms */
    SUP_LC_ACT_STEER = 1 << 8,    /* the slot's eligibility changed: recompute steering */
};

/* The named deadlines a state can have. */
enum sup_lifecycle_deadline {
    SUP_LC_DL_NONE = 0,
    SUP_LC_DL_KILL,  /* kill_at_ms: SIGKILL (after a hang's SIGTERM, or at a drain's end) */
    SUP_LC_DL_SPAWN, /* spawn_at_ms: spawn again (BACKOFF, FAILED) */
};

enum sup_lifecycle_level { SUP_LC_INFO = 0, SUP_LC_WARN, SUP_LC_ERROR };

#define SUP_LC_REASON_MAX 160

/* Timing the lifecycle follows; the restart policy decides delays after unexpected exits. */
typedef struct sup_lifecycle_policy {
    uint64_t hang_timeout_ms; /* no Hello or Report this long: SIGTERM */
    uint64_t kill_grace_ms;   /* SIGTERM to SIGKILL; also added to a drain's time */
    const sup_restart_policy *restart;
} sup_lifecycle_policy;

/* What the caller knows besides the clock. */
typedef struct sup_lifecycle_in {
    const sup_lifecycle_policy *p;
    bool wanted;       /* part of the fleet and the fleet is not stopping */
    int pid;           /* the worker's pid, for the log lines */
    int exit_code;     /* EXIT: the exit status, -1 when a signal killed it */
    uint32_t drain_ms; /* DRAIN, UNWANT: how long the worker may drain */
    double rnd;        /* uniform in [0, 1): the restart delay's jitter */
} sup_lifecycle_in;

/* Per-slot lifecycle; caller-owned, set up by sup_lifecycle_init. All times are on the clock
 * the caller passes (the supervisor passes its observed clock, sup_obs). */
typedef struct sup_lifecycle {
    enum sup_slot_state state;
    bool restart_after;   /* DRAINING: spawn again as soon as it exits */
    bool term_sent;       /* SIGTERM sent for a hang */
    bool kill_sent;       /* SIGKILL sent */
    uint64_t started_ms;  /* spawn */
    uint64_t heard_ms;    /* last Hello or Report (spawn until the first) */
    uint64_t kill_at_ms;  /* SUP_LC_DL_KILL, 0 = none */
    uint64_t spawn_at_ms; /* SUP_LC_DL_SPAWN (BACKOFF, FAILED) */
    sup_restart restart;
} sup_lifecycle;

/* The result of one step. */
typedef struct sup_lifecycle_out {
    unsigned acts; /* enum sup_lifecycle_act, or-ed; 0 = nothing to do */
    enum sup_slot_state from;
    enum sup_slot_state to;
    enum sup_lifecycle_deadline deadline; /* SCHEDULE: which one ... */
    uint64_t at_ms;                       /* ... and when */
    enum sup_lifecycle_level level;       /* LOG */
    char reason[SUP_LC_REASON_MAX];       /* LOG: what happened, without the slot's name */
} sup_lifecycle_out;

/* A slot that never ran: STOPPED, no deadlines, a fresh restart policy state. */
void sup_lifecycle_init(sup_lifecycle *lc);

/* A slot whose worker a previous supervisor started and that lives on (sup_adopt.h): ADOPTED,
 * heard now (hang detection starts from adoption), no deadlines, a fresh restart streak. */
void sup_lifecycle_adopt(sup_lifecycle *lc, uint64_t now_ms);

/* The one state machine: applies ev at now_ms through the const [state][event] table, updates
 * *lc and writes the executor's actions into *out. An event that means nothing in the current
 * state changes nothing (out->acts == 0). Returns 0, or -1 for an unknown event or state (out
 * untouched). */
int sup_lifecycle_step(sup_lifecycle_out *out, sup_lifecycle *lc, enum sup_lifecycle_event ev,
                       uint64_t now_ms, const sup_lifecycle_in *in);

/* The event the clock raises at now_ms: DEADLINE when the state's deadline has passed (the kill
 * deadline once; the spawn deadline only when in->wanted), HANG when a STARTING or RUNNING worker
 * has not been heard from for hang_timeout_ms (once), else TICK. */
enum sup_lifecycle_event sup_lifecycle_due(const sup_lifecycle *lc, uint64_t now_ms,
                                           const sup_lifecycle_in *in);

/* "stopped", "starting", "running", "draining", "backoff", "failed", "adopted". */
const char *sup_slot_state_name(enum sup_slot_state state);
const char *sup_lifecycle_event_name(enum sup_lifecycle_event ev);

/* True in the states that have a worker process. */
bool sup_lifecycle_has_process(enum sup_slot_state state);

/* The observed clock: the time the supervisor itself was running. Each advance counts at most
 * max_step_ms of the monotonic clock, so a supervisor that was stopped (SIGSTOP, a paused VM, a
 * jump of the clock) does not count the time it did not observe, and never judges a worker hung
 * on it. */
typedef struct sup_obs {
    uint64_t mono_ms;     /* the monotonic time of the last advance */
    uint64_t observed_ms; /* the observed time then */
    uint64_t max_step_ms;
} sup_obs;

/* Starts the observed clock at now_ms (monotonic) = observed now_ms. */
void sup_obs_init(sup_obs *o, uint64_t now_ms, uint64_t max_step_ms);

/* Moves the clock to monotonic now_ms and returns the observed time: the previous observed time
 * plus min(now_ms - previous, max_step_ms) (nothing when now_ms went back). */
uint64_t sup_obs_advance(sup_obs *o, uint64_t now_ms);

#endif
