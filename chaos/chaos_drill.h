/* A drill file (chaos/drills/NAME.drill): an INI document with
 *
 *   [drill]       description, duration (the timeline's length), quick_duration (the timeline's
 *                 length under --quick, which drops what comes later), tail (how long to wait after
 *                 the timeline for clients to come back, 10 s), cluster (3: the drill runs on the
 *                 local cluster of scripts/cluster, its clients spread over the three fleets
 *                 with failover; such a drill has no wsfleetd sections)
 *   [load]        clients, quick_clients, inflight, rate, size, sources, open_rate, lifetime (how
 *                 long a client's session lasts before it closes and opens a new one; 0 = for
 * good); channel clients beside the echo ones (chaos_chload): subscribers, quick_subscribers,
 * channels (20), publish_rate (publications/s per channel, 10) [timeline]    one fault or step per
 * line: "AT = ACTION ARGS", AT being "5s" or "every 10s" or "every 10s from 3s" (see
 * chaos_action_kind for the actions) [objectives]  "max METRIC = N" or "min METRIC = N" (metrics:
 * chaos_metric.h; N may carry a duration suffix for *_ms metrics: 5s, 250ms)
 *
 * and any other section ([workers], [restart], [breaker], [autoscale], [rebalance], [worker],
 * [rpc] (chaos_rpc.h: rpc clients against the example application backend, which the runner
 * starts), and
 * [fleet] ...) copied as written into the configuration file of the drill's wsfleetd, which
 * validates it. listen and run_dir are the runner's and may not be set. */
#ifndef CHAOS_DRILL_H
#define CHAOS_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaos_metric.h"

#define CHAOS_NAME_MAX 64
#define CHAOS_ACTIONS_MAX 32
#define CHAOS_OBJECTIVES_MAX 32
#define CHAOS_FLEET_INI_MAX 4096
#define CHAOS_TARGET_RANDOM (-1) /* a running worker chosen at random */
#define CHAOS_TARGET_ALL (-2)    /* every running worker */

enum chaos_action_kind {
    CHAOS_ACT_KILL = 0,        /* kill TARGET: SIGKILL the worker(s); TARGET random, all, SLOT */
    CHAOS_ACT_STOP,            /* stop TARGET: SIGSTOP and leave it stopped (a hang) */
    CHAOS_ACT_FAULT,           /* fault TARGET KIND [rate=P] [ms=N] [for=DUR]: wsctl fault */
    CHAOS_ACT_CRASH_LOOP,      /* crash-loop SLOT [for=DUR]: kill every new worker of the slot as
                                * soon as it is up, until the slot is failed or DUR is over */
    CHAOS_ACT_KILL_SUPERVISOR, /* kill-supervisor: SIGKILL wsfleetd */
    CHAOS_ACT_CLIENTS,         /* clients N: resize the echo population */
    CHAOS_ACT_SLOW_CLIENTS,    /* slow-clients N: add N clients that never read */
    CHAOS_ACT_GARBAGE_CLIENTS, /* garbage-clients N [rate=R] [for=DUR]: N at a time, R/s */
    CHAOS_ACT_SCALE,           /* scale N: wsctl scale N */
    CHAOS_ACT_RESTART,         /* restart TARGET [rolling]: wsctl restart (all or a slot) */
    CHAOS_ACT_AUTOSCALE,       /* autoscale on|off [min=N] [max=N]: wsctl autoscale */
    CHAOS_ACT_KILL_BROKER,     /* kill-broker: SIGKILL the fleet's nats-server sidecar (its pid
                                * from wsctl --json status) */
    /* restart-supervisor: SIGKILL wsfleetd, start a new one on the same run dir and config (it
     * adopts the workers) */
    CHAOS_ACT_RESTART_SUPERVISOR,
    /* stop-supervisor DUR: SIGSTOP wsfleetd, SIGCONT after DUR (at the latest 2 s before the
     * timeline ends) */
    CHAOS_ACT_STOP_SUPERVISOR,
    CHAOS_ACT_UPGRADE,       /* upgrade: wsctl upgrade (wsfleetd re-executes itself) */
    CHAOS_ACT_KILL_BACKEND,  /* kill-backend: SIGKILL the application backend ([rpc]) */
    CHAOS_ACT_START_BACKEND, /* start-backend: start it again */
    /* kill-nats-node NODE [for=DUR] ([drill] cluster): SIGKILL a NATS node of the cluster, NODE
     * being 1..3, follower (a node leading no stream and not the JetStream meta group) or leader
     * (the leader of the channels' stream), and start it again after DUR (5 s) */
    CHAOS_ACT_KILL_NATS_NODE,
    CHAOS_ACT_KILL_HOST, /* kill-host FLEET ([drill] cluster): SIGKILL fleet a, b or c: its
                          * supervisor and every worker */
};

#define CHAOS_NODE_FOLLOWER (-3) /* kill-nats-node follower */
#define CHAOS_NODE_LEADER (-4)   /* kill-nats-node leader */
#define CHAOS_CLUSTER_NODES 3    /* scripts/cluster: NATS nodes and fleets */
#define CHAOS_POP_MAX 100000     /* clients, in [load] and in the timeline */

typedef struct chaos_action {
    enum chaos_action_kind kind;
    uint32_t at_ms;    /* first time, from the start of the timeline */
    uint32_t every_ms; /* repeat interval, 0 = once */
    int target;        /* a slot, CHAOS_TARGET_RANDOM or CHAOS_TARGET_ALL (where one applies) */
    uint32_t count;    /* clients, slow-clients, garbage-clients, scale */
    bool flag;         /* restart: rolling; autoscale: on */
    char fault[16];    /* fault: the kind's name, checked with wsf_fault_parse/wsf_fault_check */
    double rate;       /* fault: rate; garbage-clients: attempts per second */
    uint32_t ms;       /* fault: ms */
    uint32_t for_ms;   /* fault, crash-loop, garbage-clients, kill-nats-node: how long (0 = the
                        * default) */
    uint32_t min;      /* autoscale: bounds, 0 = unchanged */
    uint32_t max;
    char text[128]; /* "AT = ACTION ARGS" as written, for the report */
} chaos_action;

enum chaos_bound { CHAOS_BOUND_MAX = 0, CHAOS_BOUND_MIN };

typedef struct chaos_objective {
    enum chaos_metric_id metric;
    enum chaos_bound bound;
    double limit;
    char text[96]; /* "max reconnect_p99_ms = 5000" */
} chaos_objective;

typedef struct chaos_drill {
    char name[CHAOS_NAME_MAX]; /* the file's name without ".drill" */
    char description[256];
    uint32_t duration_ms;       /* required, 1 s .. 1 h */
    uint32_t quick_duration_ms; /* 0 = same as duration */
    uint32_t tail_ms;           /* 10 s */
    uint32_t cluster;           /* [drill] cluster: 0, or 3 = run on scripts/cluster's 3 NATS
                                 * nodes and 3 fleets instead of a fleet of its own */
    /* [load] */
    size_t clients;                      /* required, 1 .. 100000 */
    size_t quick_clients;                /* 0 = same as clients */
    uint32_t inflight;                   /* 1 (ignored when rate is set) */
    double rate;                         /* messages per second per client, 0 = in-flight mode */
    size_t size;                         /* 20 */
    uint32_t sources;                    /* 1 */
    double open_rate;                    /* 0 = as fast as possible */
    uint32_t lifetime_ms;                /* 0 = sessions last for the whole drill */
    size_t subscribers;                  /* channel subscribers, 0 = no channel load */
    size_t quick_subscribers;            /* 0 = same as subscribers */
    uint32_t channels;                   /* 0 = the chaos_chload default (20) */
    double publish_rate;                 /* per channel; -1 = the default (10) */
    size_t rpc_clients;                  /* [rpc] clients: 0 = no rpc load, no backend */
    size_t quick_rpc_clients;            /* 0 = same as rpc_clients */
    double rpc_rate;                     /* rpc per second per client (2) */
    char fleet_ini[CHAOS_FLEET_INI_MAX]; /* the pass-through sections, as INI text */
    chaos_action actions[CHAOS_ACTIONS_MAX];
    size_t n_actions;
    chaos_objective objectives[CHAOS_OBJECTIVES_MAX];
    size_t n_objectives;
} chaos_drill;

/* Parses a drill from text; name is the drill's name. Returns 0, or -1 with one line in err
 * naming the line number, section and key of the first problem. */
int chaos_drill_parse_string(chaos_drill *d, const char *name, const char *text, char *err,
                             size_t err_len);

/* Reads and parses path; the name is the file's base name without ".drill". */
int chaos_drill_load(chaos_drill *d, const char *path, char *err, size_t err_len);

#endif
