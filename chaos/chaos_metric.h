/* The figures a drill measures, by name: what its objectives may bound and its report prints. */
#ifndef CHAOS_METRIC_H
#define CHAOS_METRIC_H

/* X(ID, name, what it counts) */
#define CHAOS_METRICS(X)                                                                           \
    X(FAULTS, "faults", "faults injected")                                                         \
    X(CLIENTS, "clients", "echo clients held")                                                     \
    X(DISCONNECTS, "disconnects", "echo clients' connections lost (not closed by the client)")     \
    X(AFFECTED, "affected", "disconnects of clients whose worker a fault targeted")                \
    X(OTHER_DISCONNECTS, "other_disconnects",                                                      \
      "disconnects no fault of the drill nor move of the fleet explains")                          \
    X(MOVED, "moved",                                                                              \
      "clients the fleet closed with 1001, 1012 or 1013 on its own: drains, sheds")                \
    X(ORPHAN_DISCONNECTS, "orphan_disconnects", "disconnects while the supervisor was down")       \
    X(REFUSED, "refused", "connection attempts refused")                                           \
    X(FAILED_ATTEMPTS, "failed_attempts", "connection attempts that never upgraded")               \
    X(RECONNECTS, "reconnects", "upgrades after a disconnect")                                     \
    X(RECONNECT_P50_MS, "reconnect_p50_ms", "disconnect to next upgrade, median")                  \
    X(RECONNECT_P99_MS, "reconnect_p99_ms", "disconnect to next upgrade, 99th percentile")         \
    X(RECONNECT_MAX_MS, "reconnect_max_ms", "disconnect to next upgrade, longest")                 \
    X(RECONNECT_PEAK_SHARE, "reconnect_peak_share",                                                \
      "largest share of one fault's reconnects within any 100 ms")                                 \
    X(NOT_BACK, "not_back", "echo clients down at the end that should be up")                      \
    X(SENT, "sent", "messages sent")                                                               \
    X(ECHOED, "echoed", "echoes verified byte for byte")                                           \
    X(LOST, "lost", "messages sent but never echoed because the connection died")                  \
    X(ECHO_ERRORS, "echo_errors", "echoes that differed from what was sent")                       \
    X(LATENCY_P50_MS, "latency_p50_ms", "echo round trip, median")                                 \
    X(LATENCY_P99_MS, "latency_p99_ms", "echo round trip, 99th percentile")                        \
    X(LATENCY_P999_MS, "latency_p999_ms", "echo round trip, 99.9th percentile")                    \
    X(RESTARTS, "restarts", "worker restarts by the supervisor")                                   \
    X(UNEXPECTED_RESTARTS, "unexpected_restarts", "restarts no fault of the drill explains")       \
    X(BREAKER_OPENINGS, "breaker_openings", "circuit breakers opened")                             \
    X(BREAKERS_OPEN_FINAL, "breakers_open_final", "breakers not closed at the end")                \
    X(TARGET_SHARE_MIN, "target_share_min",                                                        \
      "lowest share of connections on a fault's target worker while the fault lasted")             \
    X(WORKERS_MIN, "workers_min", "fewest running workers seen")                                   \
    X(WORKERS_MAX, "workers_max", "most running workers seen")                                     \
    X(WORKERS_FINAL, "workers_final", "running workers at the end")                                \
    X(FAILED_SLOTS, "failed_slots", "slots marked failed during the drill")                        \
    X(INITIAL_WORKERS_LEFT, "initial_workers_left",                                                \
      "workers of the start still running at the end")                                             \
    X(SLOW_CUT, "slow_cut", "slow clients cut off by the server")                                  \
    X(SLOW_MIB_MAX, "slow_mib_max", "most MiB one slow client wrote before it was cut off")        \
    X(WORKER_RSS_MAX_MIB, "worker_rss_max_mib", "largest worker RSS seen")                         \
    X(GARBAGE_ATTEMPTS, "garbage_attempts", "garbage connections made")                            \
    X(GARBAGE_UNANSWERED, "garbage_unanswered", "garbage connections the server never closed")     \
    X(ORPHANS_LEFT, "orphans_left", "orphaned workers still running at the end")                   \
    X(SUPERVISOR_ALIVE, "supervisor_alive", "1 when wsfleetd was still running at the end")        \
    X(ADOPTED, "adopted",                                                                          \
      "most workers seen running under a restarted wsfleetd with the pid they had before")         \
    X(WSCTL_ERRORS, "wsctl_errors", "wsctl calls that failed")                                     \
    X(SUBSCRIBERS, "subscribers", "channel subscribers held")                                      \
    X(PUBLICATIONS_ACKED, "publications_acked", "publications the fleet acknowledged")             \
    X(PUBLISH_ERRORS, "publish_errors", "publications refused (108 while NATS is down, ...)")      \
    X(DELIVERIES, "deliveries", "publications subscribers received, each checked")                 \
    X(LOST_PUBLICATIONS, "lost_publications",                                                      \
      "acknowledged publications a subscriber was owed and never received")                        \
    X(DUPLICATED, "duplicated", "publications a subscriber received more than once")               \
    X(OUT_OF_ORDER, "out_of_order", "publications received below an offset already received")      \
    X(NOT_RECOVERED, "not_recovered", "resumes the fleet answered recovered:false")                \
    X(CHANNEL_DATA_ERRORS, "channel_data_errors",                                                  \
      "publications whose data differed from what was published")                                  \
    X(NOT_SUBSCRIBED, "not_subscribed", "subscribers without a subscription at the end")           \
    X(BEHIND, "behind", "subscribers short of the last acknowledged offset at the end")            \
    X(RESUMES, "resumes", "resubscriptions with since after a reconnect")                          \
    X(RESUME_P50_MS, "resume_p50_ms", "disconnect to the resubscribe reply, median")               \
    X(RESUME_P99_MS, "resume_p99_ms", "disconnect to the resubscribe reply, 99th percentile")      \
    X(BROKER_KILLS, "broker_kills", "nats-server sidecars killed")                                 \
    X(BROKER_RESTARTS, "broker_restarts", "nats-server sidecar restarts by the supervisor")        \
    X(RPC_CLIENTS, "rpc_clients", "rpc clients held")                                              \
    X(RPC_OK, "rpc_ok", "rpc answered by the application backend")                                 \
    X(RPC_UNAVAILABLE, "rpc_unavailable", "rpc answered 108 (backend down, timeout, breaker)")     \
    X(RPC_OTHER_ERRORS, "rpc_other_errors", "rpc answered with another error")                     \
    X(RPC_DISCONNECTS, "rpc_disconnects", "rpc clients' connections lost")                         \
    X(RPC_RECOVERY_MS, "rpc_recovery_ms",                                                          \
      "from the backend's (re)start to the last failed rpc sent after it")                         \
    X(RPC_P50_MS, "rpc_p50_ms", "rpc round trip, median")                                          \
    X(RPC_P99_MS, "rpc_p99_ms", "rpc round trip, 99th percentile")                                 \
    X(BACKEND_KILLS, "backend_kills", "application backends killed")                               \
    X(DELIVERY_GAP_MS, "delivery_gap_ms",                                                          \
      "longest time a subscriber went without a delivery during the timeline")                     \
    X(NATS_NODE_KILLS, "nats_node_kills", "NATS nodes of the cluster killed")                      \
    X(NATS_NODE_RESTARTS, "nats_node_restarts", "NATS nodes of the cluster started again")         \
    X(HOST_KILLS, "host_kills", "fleets of the cluster killed, supervisor and workers")            \
    X(SUBSCRIBER_RECONNECT_P99_MS, "subscriber_reconnect_p99_ms",                                  \
      "channel subscribers' disconnect to next upgrade, 99th percentile")

enum chaos_metric_id {
#define CHAOS_METRIC_ENUM(id, name, help) CHAOS_M_##id,
    CHAOS_METRICS(CHAOS_METRIC_ENUM)
#undef CHAOS_METRIC_ENUM
        CHAOS_METRIC_COUNT,
};

const char *chaos_metric_name(enum chaos_metric_id id);
const char *chaos_metric_help(enum chaos_metric_id id);

/* The metric called name. Returns its id, or -1 when there is none. */
int chaos_metric_lookup(const char *name);

#endif
