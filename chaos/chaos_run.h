/* The state of one drill run, shared by the runner's parts: chaos_runner.c (phases, clients,
 * metrics), chaos_watch.c (the fleet through wsctl) and chaos_act.c (the timeline's actions).
 * Internal to wschaos. */
#ifndef CHAOS_RUN_H
#define CHAOS_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <jansson.h>

#include "chaos_drill.h"
#include "chaos_fleet.h"
#include "chaos_load.h"
#include "chaos_report.h"
#include "chaos_rpc.h"
#include "chaos_runner.h"

#define CHAOS_SLOTS 256
#define CHAOS_FAULTS_MAX 128     /* faults whose reconnect curves are kept */
#define CHAOS_BIN_MS 100         /* reconnect curve resolution */
#define CHAOS_BINS 600           /* 60 s of curve per fault */
#define CHAOS_PEAK_MIN 20        /* reconnects a fault needs before its curve's peak counts */
#define CHAOS_POLL_MS 250        /* wsctl workers; status every fourth poll */
#define CHAOS_READY_MS 20000     /* fleet start-up bound */
#define CHAOS_UP_MS 60000        /* bound on bringing the clients up */
#define CHAOS_STOP_GRACE_MS 1000 /* outstanding echoes at the end, and then the closes */
#define CHAOS_KNOWN_MAX 4096     /* worker PIDs remembered for the clean-up */
#define CHAOS_SLOW_SIZE (64u * 1024u)
#define CHAOS_GARBAGE_FOR_MS 10000

typedef struct chaos_slot_view {
    bool present;
    pid_t pid;
    char state[16];
    char breaker[16];
    int64_t conns;
    int64_t restarts;
    int64_t times_opened;
    double failure_rate;
    double rss_mib;
} chaos_slot_view;

typedef struct chaos_fault_curve {
    uint64_t at_ms;
    uint32_t n;
    uint32_t bins[CHAOS_BINS];
} chaos_fault_curve;

typedef struct chaos_run chaos_run;

typedef struct chaos_act_timer {
    chaos_run *run;
    const chaos_action *act;
    struct event *ev;
} chaos_act_timer;

struct chaos_run {
    const chaos_drill *d;
    const chaos_run_opts *o;
    chaos_report *r;
    struct event_base *base;
    chaos_fleet fleet;
    uint64_t rng;
    chaos_load *echo;
    chaos_load *slow;
    chaos_load *garbage;
    struct event *garbage_end;
    size_t clients;
    uint64_t t0;    /* timeline start, chaos_load_now_ms() */
    uint64_t t_end; /* timeline end */
    bool in_timeline;
    /* Attribution: the fault (index into curves) that targeted each echo connection, or -1. */
    int32_t *targeted;
    size_t targeted_cap;
    chaos_fault_curve *curves;
    size_t n_curves;
    /* An injected error's window: its 1011 closes are the fault's doing. */
    uint64_t error_until;
    /* After a restart or scale the drill asked for, drains' 1001 closes are its doing too (a
     * client drained from one worker may land on one drained later). */
    uint64_t drain_until;
    /* The fleet as last seen. */
    chaos_slot_view slots[CHAOS_SLOTS];
    pid_t initial_pids[CHAOS_SLOTS];
    int64_t restarts_base[CHAOS_SLOTS];
    int64_t opened_base[CHAOS_SLOTS];
    bool slot_targeted[CHAOS_SLOTS];
    bool slot_failed[CHAOS_SLOTS]; /* seen in state failed during the timeline */
    pid_t last_pid[CHAOS_SLOTS];   /* the slot's latest worker, kept across pid-less states */
    bool seen_once;
    int64_t workers_min;
    int64_t workers_max;
    int64_t workers_last;
    double rss_max;
    char last_scaling[256];
    /* error-spike: share of connections on the fault's target while it lasts */
    int share_slot;
    uint64_t share_until;
    double share_min;
    bool share_seen;
    /* crash-loop */
    int crash_slot;
    uint64_t crash_until;
    pid_t crash_last_pid;
    /* the supervisor */
    bool sup_killed;
    /* channel clients (chaos_chload), when the drill has subscribers */
    struct chaos_chload *chload;
    struct chaos_rpc *rpc; /* rpc clients and the application backend ([rpc]), or NULL */
    size_t subscribers;
    bool chload_done;
    uint64_t broker_kills;
    pid_t broker_pid;         /* the sidecar's pid as last seen in wsctl status, 0 = none */
    int64_t broker_restarts0; /* its restarts when first seen, -1 = not seen yet */
    int64_t broker_restarts;  /* ... and as last seen */
    bool sup_away;         /* restarted or stopped by the drill: polls may fail until it answers */
    bool sup_rebase;       /* restarted: the next poll starts the restart counters afresh */
    pid_t sup_stopped_pid; /* stop-supervisor: SIGCONT due */
    struct event *sup_cont_ev;
    pid_t pids_before[CHAOS_SLOTS]; /* restart-supervisor: the workers it should adopt */
    bool restarted;
    int64_t adopted_max;
    /* wsctl polls */
    struct event *poll_ev;
    unsigned polls;
    bool workers_pending;
    bool status_pending;
    uint64_t wsctl_errors;
    /* processes the clean-up must not leave behind */
    pid_t known[CHAOS_KNOWN_MAX];
    size_t n_known;
    pid_t stopped[CHAOS_SLOTS];
    size_t n_stopped;
    /* echo clients */
    /* From the start of the timeline: what happened while the clients came up is not the
     * drill's. Counters of the population are read as differences from the base. */
    wsf_hist reconnect_ms;
    uint64_t base_sent;
    uint64_t base_echoed;
    uint64_t base_lost;
    uint64_t disconnects;
    uint64_t affected;
    uint64_t other;
    uint64_t moved; /* 1001/1012/1013 closes no fault explains: the fleet moving clients */
    uint64_t orphan;
    uint64_t failed_attempts;
    uint64_t refused;
    uint64_t faults;
    /* slow and garbage clients */
    uint64_t slow_cut;
    uint64_t garbage_events;
    uint64_t garbage_unanswered;
    chaos_act_timer timers[CHAOS_ACTIONS_MAX];
    bool stop_done;
    struct chaos_cluster *cluster; /* [drill] cluster (chaos_cluster.h), or NULL */
    /* the dashboards the progress goes to (chaos_dash.c), or NULL */
    struct chaos_admin *admin_own;   /* the drill's fleet's admin server */
    struct chaos_admin *admin_given; /* wschaos run --admin URL */
};

/* Milliseconds since the timeline started (negative before). */
int64_t chaos_run_ms(const chaos_run *run);

/* A progress line on stderr, unless quiet. */
void chaos_progress(const chaos_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A fault injected, or an action seen through wsctl: into the report and the progress lines. */
void chaos_fault_note(chaos_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void chaos_action_note(chaos_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The drill on the dashboards (chaos_dash.c): the posters set up once the fleet is up, with
 * the start and the objectives; each progress line; the objectives' results (judging the report
 * as it stands); true once everything posted was answered; the posters' counts and freeing. */
void chaos_dash_start(chaos_run *run);
void chaos_dash_line(const chaos_run *run, const char *line);
void chaos_dash_result(chaos_run *run);
bool chaos_dash_idle(chaos_run *run);
void chaos_dash_close(chaos_run *run);

/* Keeps pid for the clean-up. */
void chaos_remember_pid(chaos_run *run, pid_t pid);

/* Attribution (chaos_runner.c): room for n clients' marks, a new fault curve, and the marking of
 * the clients whose connections pids hold. */
void chaos_targeted_reserve(chaos_run *run, size_t n);
int chaos_new_curve(chaos_run *run);
size_t chaos_mark_clients(chaos_run *run, const pid_t *pids, size_t n_pids, int curve);

/* Options for a client population aimed at the drill's fleet. */
void chaos_load_base_opts(const chaos_run *run, chaos_load_opts *lo);

/* Watching (chaos_watch.c): take in `wsctl workers` and `wsctl status` documents, the periodic
 * poll, and an asynchronous wsctl command whose failure is counted. */
const char *chaos_json_str(json_t *o, const char *key);
void chaos_take_workers(chaos_run *run, json_t *doc, bool quiet_changes);
void chaos_take_status(chaos_run *run, json_t *doc);
void chaos_on_poll(evutil_socket_t fd, short what, void *arg);
void chaos_ctl(chaos_run *run, const char *const *args);

/* Actions (chaos_act.c): a timeline timer firing, and the crash loop's check after each poll. */
void chaos_on_action(evutil_socket_t fd, short what, void *arg);
void chaos_crash_check(chaos_run *run);

#endif
