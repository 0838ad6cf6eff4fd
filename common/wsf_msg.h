/* The messages of the wire contract (proto/wsfleet.proto) as plain C structs. Only wsf_ipc
 * converts them to and from protobuf; everything else uses these. */
#ifndef WSF_MSG_H
#define WSF_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSF_PROTO_VERSION 1
#define WSF_HIST_BUCKETS 16 /* latency bounds 1, 2, 4 ... 16384 µs, then "more" */

typedef struct wsf_hello {
    uint32_t pid;
    uint32_t slot;
    uint64_t generation;
} wsf_hello;

typedef struct wsf_report {
    uint32_t pid;
    uint32_t slot;
    uint64_t generation;
    uint64_t seq;
    /* cumulative counters */
    uint64_t connections_opened;
    uint64_t connections_closed;
    uint64_t handshakes_ok;
    uint64_t handshakes_failed_client;
    uint64_t handshakes_failed_busy;
    uint64_t handshakes_failed_timeout;
    uint64_t handshakes_failed_server;
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t protocol_errors;
    uint64_t internal_errors;
    uint64_t failed_writes;
    /* admission refusals by cause (client-side, never server failures) */
    uint64_t refused_bad_request;
    uint64_t refused_not_found;
    uint64_t refused_upgrade;
    uint64_t refused_origin;
    uint64_t refused_per_ip;
    uint64_t refused_rate_limited;
    /* application backends (never the worker's errors) */
    uint64_t backend_requests;
    uint64_t backend_failures; /* timeouts, no responders, malformed replies */
    uint64_t backend_timeouts;
    uint64_t backend_malformed;
    uint64_t backend_rejected; /* failed at once: breaker open, worker limit */
    uint64_t backend_breaker_opened;
    uint32_t backend_breaker_state; /* 0 closed, 1 open, 2 half open */
    uint64_t backend_pushes;
    /* gauges */
    uint32_t connections_active;
    uint32_t loop_lag_us;
    uint64_t rss_bytes;
    uint64_t cpu_time_us;
    bool accepting;
    bool draining;
    /* latency[i]: events that took at most 2^i µs (and more than 2^(i-1)); the last bucket is
     * everything slower */
    uint64_t latency[WSF_HIST_BUCKETS + 1];
} wsf_report;

enum wsf_command_kind {
    WSF_CMD_NONE = 0,
    WSF_CMD_PING = 1,
    WSF_CMD_DRAIN = 2,
    WSF_CMD_SET_ACCEPTING = 3,
    WSF_CMD_SHED = 4,
    WSF_CMD_SHUTDOWN = 5,
    WSF_CMD_RELOAD = 6,
    WSF_CMD_FAULT = 7,
};

typedef struct wsf_command {
    uint64_t id;
    enum wsf_command_kind kind;
    uint32_t drain_ms;
    bool accepting;
    uint32_t shed_count;
    char fault[32];       /* WSF_CMD_FAULT: error, latency, hang, crash, memory, off */
    double fault_value;   /* error: probability 0..1; memory: MiB per second */
    uint32_t fault_ms;    /* latency: added per message */
    uint32_t duration_ms; /* the fault reverts by itself after this long */
} wsf_command;

typedef struct wsf_ack {
    uint64_t id;
    bool ok;
    char error[128];
} wsf_ack;

enum wsf_worker_msg_kind {
    WSF_WMSG_NONE = 0,
    WSF_WMSG_HELLO,
    WSF_WMSG_REPORT,
    WSF_WMSG_ACK,
};

/* One message from a worker. */
typedef struct wsf_worker_msg {
    enum wsf_worker_msg_kind kind;
    wsf_hello hello;
    wsf_report report;
    wsf_ack ack;
} wsf_worker_msg;

enum wsf_ctl_command {
    WSF_CTL_NONE = 0,
    WSF_CTL_STATUS = 1,
    WSF_CTL_WORKERS = 2,
    WSF_CTL_SCALE = 3,
    WSF_CTL_RESTART = 4,
    WSF_CTL_DRAIN = 5,
    WSF_CTL_RELOAD = 6,
    WSF_CTL_SHUTDOWN = 7,
    WSF_CTL_VERSION = 8,
    WSF_CTL_FAULT = 9,
    WSF_CTL_BREAKER_LIST = 10,
    WSF_CTL_BREAKER_TRIP = 11,
    WSF_CTL_BREAKER_RESET = 12,
    WSF_CTL_AUTOSCALE = 13,
    WSF_CTL_PUBLISH = 14,  /* channel, data -> offset */
    WSF_CTL_HISTORY = 15,  /* channel, limit -> body */
    WSF_CTL_CHANNELS = 16, /* -> body */
    WSF_CTL_UPGRADE = 17,  /* re-execute wsfleetd in place */
    WSF_CTL_ALERTS = 18,   /* -> body: firing and recently resolved alerts */
    WSF_CTL_CLUSTER = 19,  /* -> body: the fleets sharing the NATS cluster */
};

#define WSF_CTL_CHANNEL_MAX 256      /* a channel name (255 bytes) and its NUL */
#define WSF_CTL_DATA_MAX 65536       /* a publication's JSON and its NUL */
#define WSF_CTL_BODY_MAX (192 << 10) /* a JSON answer and its NUL */

typedef struct wsf_ctl_request {
    enum wsf_ctl_command command;
    int32_t slot; /* -1 = all */
    uint32_t count;
    bool rolling;
    uint32_t drain_s;
    char fault[32]; /* WSF_CTL_FAULT */
    double rate;
    uint32_t fault_ms;
    uint32_t duration_s;
    bool autoscale_on; /* WSF_CTL_AUTOSCALE */
    uint32_t min;      /* 0 = unchanged */
    uint32_t max;
    char channel[WSF_CTL_CHANNEL_MAX]; /* WSF_CTL_PUBLISH, WSF_CTL_HISTORY */
    char data[WSF_CTL_DATA_MAX];       /* WSF_CTL_PUBLISH: one JSON value */
    uint32_t limit;                    /* WSF_CTL_HISTORY: 0 = the default */
} wsf_ctl_request;

typedef struct wsf_fleet_status {
    char state[16]; /* running, degraded, stopping */
    uint32_t pid;
    uint32_t workers_running;
    uint32_t workers_desired;
    uint32_t workers_min;
    uint32_t workers_max;
    uint64_t connections;
    double msgs_in_per_s;
    double errors_per_s;
    uint64_t uptime_s;
    char steering[8]; /* cbpf or hash */
    char listen[128];
    bool autoscale;
    char last_scaling[160]; /* the last scaling decision and its reason, empty if none */
    uint64_t last_scaling_age_s;
    uint32_t workers_adopted;  /* adopted from a dead supervisor at start */
    uint64_t backend_requests; /* application backends, over the running workers */
    uint64_t backend_failures;
    uint64_t backend_timeouts;
    uint32_t backend_breakers_open; /* workers whose backend breaker is open or half open */
    char name[65];            /* [fleet] name */
} wsf_fleet_status;

typedef struct wsf_worker_status {
    uint32_t slot;
    uint32_t pid;
    char state[16]; /* starting, running, draining, ejected, backoff, failed, stopped */
    uint64_t connections;
    double msgs_in_per_s;
    double msgs_out_per_s;
    double errors_per_s;
    uint32_t restarts;
    uint64_t uptime_s;
    uint64_t generation;
    bool accepting;
    uint32_t buckets;
    uint64_t rss_bytes;
    char breaker[12];    /* closed, open, half_open */
    double failure_rate; /* over the breaker's window, 0..1 */
    uint64_t opened_at;  /* Unix time of the breaker's last opening, 0 if never */
    uint32_t times_opened;
    /* admission refusals by cause since the worker started (its Report's refused_*) */
    uint64_t refused_bad_request;
    uint64_t refused_not_found;
    uint64_t refused_upgrade;
    uint64_t refused_origin;
    uint64_t refused_per_ip;
    uint64_t refused_rate_limited;
    char backend_breaker[12]; /* closed, open, half_open */
    uint64_t backend_requests;
    uint64_t backend_failures;
    uint64_t backend_timeouts;
    uint64_t backend_breaker_opened;
    uint64_t backend_malformed;
    uint64_t backend_rejected;
} wsf_worker_status;

#define WSF_CTL_MAX_WORKERS 256

typedef struct wsf_nats_status {
    char mode[12];  /* sidecar, external */
    char state[12]; /* starting, running, backoff, stopping, stopped; external */
    uint32_t pid;   /* the sidecar's, 0 when none */
    uint32_t port;
    uint32_t restarts;
    bool connected; /* wsfleetd's own connection is up */
    char stream[36];
} wsf_nats_status;

typedef struct wsf_ctl_response {
    bool ok;
    char error[256];
    char message[256];
    bool has_status;
    wsf_fleet_status status;
    size_t nworkers;
    wsf_worker_status workers[WSF_CTL_MAX_WORKERS];
    char server_version[32];
    /* In-place upgrades the supervisor went through (WSF_CTL_UPGRADE). */
    uint64_t upgrades;
    uint32_t version; /* the answer's protocol version; set also when it was refused for it */
    bool has_nats;    /* WSF_CTL_STATUS */
    wsf_nats_status nats;
    uint64_t offset;             /* WSF_CTL_PUBLISH */
    char body[WSF_CTL_BODY_MAX]; /* WSF_CTL_HISTORY, WSF_CTL_CHANNELS, WSF_CTL_ALERTS,
                                    WSF_CTL_CLUSTER: JSON */
} wsf_ctl_response;

#endif
