/* The supervisor process context: configuration, listening sockets, slots, steering, the
 * ZeroMQ endpoints and the event loop. One per process, passed explicitly. */
#ifndef SUP_CTX_H
#define SUP_CTX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sup_config.h"
#include "sup_events.h"
#include "sup_history.h"
#include "sup_lifecycle.h"
#include "sup_notify.h"
#include "sup_restart.h"
#include "sup_roll.h"
#include "sup_rundir.h"
#include "sup_slot.h"
#include "sup_stats.h"
#include "sup_steer.h"
#include "sup_upgrade_state.h"
#include "wsf_ipc.h"

struct event_base;
struct event;

#define SUP_MAX_SLOTS 256
#define SUP_MAX_LISTEN 8

typedef struct sup_listen {
    char name[96]; /* HOST:PORT as bound */
    int family;
    bool tls; /* a [tls] listen address: its workers handshake TLS (WSF_TLS_LISTEN_FDS) */
    int fds[SUP_MAX_SLOTS]; /* one SO_REUSEPORT socket per slot, index = group position */
} sup_listen;

typedef struct sup_ctx {
    sup_config cfg;
    int argc; /* the command line, re-parsed by a reload */
    char **argv;
    unsigned euid;
    long ncpu;
    const sup_rundir *rundir; /* checked and locked by main before sup_ctx_init */
    struct event_base *base;
    void *zctx;
    wsf_ipc *workers_ipc; /* ROUTER: Hello, Report, Ack */
    wsf_ipc *ctl_ipc;     /* REP: wsctl */
    struct event *workers_ev;
    struct event *ctl_ev;
    struct event *tick_ev;
    struct event *sigchld_ev;
    struct event *sigterm_ev;
    struct event *sigint_ev;
    struct event *sighup_ev;
    char worker_bin[4096]; /* resolved wsworker path */
    char workers_endpoint[320];
    char ctl_endpoint[320];
    char ctl_path[300];
    bool endpoints_bound;        /* the sockets in the run dir are ours (bound under the lock) */
    int parent_pipe[2];          /* workers read [0]; EOF when the supervisor is gone */
    struct sup_tickets *tickets; /* TLS session ticket keys (sup_tls.c), NULL without TLS */
    sup_listen listens[SUP_MAX_LISTEN];
    size_t nlistens;
    sup_slot slots[SUP_MAX_SLOTS];
    unsigned nslots;    /* workers.max: slots with sockets */
    unsigned desired;   /* slots [0, desired) should run */
    bool steering_cbpf; /* the BPF program is attached (else plain hashing) */
    uint32_t steer_map[SUP_STEER_BUCKETS];
    bool steer_valid;
    bool steer_map_has[SUP_MAX_SLOTS]; /* slot has buckets in the attached map */
    uint64_t steer_weighed_ms;         /* when the weights were last computed */
    bool stopping;
    uint64_t stop_deadline_ms;
    sup_roll roll;   /* the rolling restart, when active */
    uint64_t spawns; /* spawn attempts over the supervisor's life (orders them for the roll) */
    sup_obs obs;     /* the observed clock the slots' lifecycles run on */
    uint64_t started_ms;
    uint64_t command_id;
    uint64_t rng;
    sup_scaler scaler;
    sup_rebalance rebalance;
    uint64_t scaler_eval_ms;  /* last autoscale and rebalance pass */
    bool steer_dirty;         /* a breaker changed a weight: re-weigh at once */
    uint64_t breaker_eval_ms; /* last fleet-wide breaker evaluation */
    sup_notify notify;        /* systemd readiness and watchdog (sup_notify.c) */
    struct sup_adopt *adopt;  /* adoption of a dead supervisor's workers (sup_adopt.c) */

    /* Live upgrade (sup_upgrade.c). */
    char exe[SUP_UPGRADE_PATH_MAX];   /* wsfleetd's own path, resolved at the first start */
    uint64_t upgrades;                /* in-place upgrades so far (sup_upgrade.c) */
    bool upgrade_armed;               /* wsctl upgrade was answered: re-execute after the reply */
    bool upgrade_settings;            /* ... and the configuration changed the workers' settings */
    const sup_upgrade_state *restore; /* set by main when this image is an upgrade's */
    bool upgrade_roll_pending;        /* after an upgrade: compare the workers' binaries ... */
    uint64_t upgrade_roll_at_ms;      /* ... once they all reported, or at the latest then */
    /* The sidecar, wsfleetd's NATS connection, deferred wsctl answers (sup_channels.c). */
    struct sup_channels *channels;
    /* Alert rules, the transition hook and the webhooks (sup_alerting.c). */
    struct sup_alerting *alerting;
    /* The admin HTTP server (sup_admin.c), the fleet's events and its 5-minute history. */
    struct sup_admin *admin; /* NULL when [admin] listen = off */
    bool ctl_for_admin;      /* the deferred wsctl answer owed is the admin server's */
    sup_events events;
    sup_history history;
    uint64_t history_ms;    /* last recording */
    char sidecar_state[12]; /* the NATS sidecar's state at the last look, for its events */
} sup_ctx;

/* The fleet's state for wsctl status and the alerts (sup_ctl.c): "stopping", "degraded" when
 * half or more of the wanted slots are failed, else "running". */
const char *sup_fleet_state(const sup_ctx *ctx);

/* Monotonic milliseconds. */
uint64_t sup_now_ms(void);

/* The observed clock, advanced to now: the time this supervisor was running to see it. Slot
 * lifecycles (hang detection, deadlines, backoff) run on it. */
uint64_t sup_observed_ms(sup_ctx *ctx);

/* Sets up sockets, endpoints and the loop; spawns the first workers. Returns 0, or after logging
 * why SUP_SOCKETS_TAKEN (a listen address is someone else's: exit 2) or -1 (exit 1). */
int sup_ctx_init(sup_ctx *ctx, const sup_config *cfg);

/* The ZeroMQ context, the worker and control endpoints (bound afresh in the run dir) and their
 * events. sup_ctx_endpoints_open returns 0 or -1 (logged); sup_ctx_endpoints_close lets a reply
 * queued on the control endpoint go out for up to ctl_linger_ms. */
int sup_ctx_endpoints_open(sup_ctx *ctx);
void sup_ctx_endpoints_close(sup_ctx *ctx, int ctl_linger_ms);

/* Runs until the fleet has stopped. Returns the exit code. */
int sup_ctx_run(sup_ctx *ctx);

void sup_ctx_fini(sup_ctx *ctx);

/* Breakers (sup_ctx.c): applies one slot's breaker actions (log, steering, recycle). */
void sup_breaker_apply(sup_ctx *ctx, sup_slot *slot, const sup_breaker_actions *acts);

/* A uniform random value in [0, 1) for jitter. */
double sup_random(sup_ctx *ctx);

/* Steering (sup_sockets.c): creates the listeners, recomputes and attaches the bucket map.
 * sup_sockets_open returns 0, SUP_SOCKETS_TAKEN when an address already has listeners this fleet
 * does not hold (logged; wsfleetd exits 2), or -1 on another error (logged). */
#define SUP_SOCKETS_TAKEN (-2)
#define SUP_SOCKETS_NO_ADOPT (-1) /* no listener of our own to adopt on that address */
int sup_sockets_open(sup_ctx *ctx);
void sup_sockets_close(sup_ctx *ctx);
void sup_sockets_steer(sup_ctx *ctx);

/* Autoscaling and rebalancing, once a second (sup_autoscale.c). */
void sup_autoscale_tick(sup_ctx *ctx, uint64_t now);

/* Starts the graceful stop: drain everything, exit when all are gone or at the deadline. */
void sup_stop(sup_ctx *ctx, uint32_t drain_ms, const char *why);

/* Resolves the wsworker path from cfg.worker_bin into ctx->worker_bin. Returns 0 or -1. */
int sup_find_worker_bin(sup_ctx *ctx);

/* Re-reads the configuration (sup_reload.c). */
void sup_reload(sup_ctx *ctx, wsf_ctl_response *res);

/* True if two configurations start workers differently (sup_reload.c). */
bool sup_workers_differ(const sup_config *a, const sup_config *b);

/* wsctl requests (sup_ctl.c). */
void sup_ctl_handle(sup_ctx *ctx, const wsf_ctl_request *req, wsf_ctl_response *res);

/* The fleet's status as wsctl status shows it (also published for wsctl cluster). */
void sup_ctl_fill_status(const sup_ctx *ctx, wsf_fleet_status *st, uint64_t now);

/* Sends a deferred wsctl answer (sup_channels.c) and reads the control socket again. */
void sup_ctl_reply(sup_ctx *ctx, const wsf_ctl_response *res);

#endif
