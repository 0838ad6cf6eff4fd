/* wsfleetd's settings: defaults, the INI file (libinih) and the command-line flags that override
 * it. Every bad input is refused with one line naming where, the key and the problem. */
#ifndef SUP_CONFIG_H
#define SUP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sup_alcfg.h"
#include "sup_admcfg.h"
#include "sup_auth.h"
#include "sup_breaker.h"
#include "sup_chcfg.h"
#include "sup_restart.h"
#include "sup_scaler.h"

#define SUP_CONFIG_MAX_LISTEN 16
#define SUP_CONFIG_ADDR_MAX 64  /* HOST:PORT or [V6HOST]:PORT, with its NUL */
#define SUP_CONFIG_PATH_MAX 256 /* a path, with its NUL */
#define SUP_FLEET_NAME_MAX 65   /* [fleet] name, with its NUL */
#define SUP_CONFIG_MAX_WORKERS 256
#define SUP_CONFIG_ERR_MAX 512                      /* enough for any message of sup_config_parse */
#define SUP_DRILLS_MAX_MEMORY (UINT64_C(256) << 20) /* [drills] max_memory's default */

/* Results of sup_config_parse besides errors. */
#define SUP_CONFIG_RUN 0
#define SUP_CONFIG_HELP 1    /* print sup_config_usage() to stdout, exit 0 */
#define SUP_CONFIG_VERSION 2 /* print the version, exit 0 */
#define SUP_CONFIG_ERROR (-1)

/* The [worker] section, passed to wsworker as flags. 0 = not set: wsworker's own default. */
typedef struct sup_worker_settings {
    uint64_t max_message;     /* max_message BYTES -> --max-message */
    uint64_t max_backlog;     /* max_backlog BYTES -> --max-backlog */
    uint32_t max_connections; /* max_connections N -> --max-connections */
    uint32_t handshake_ms;    /* handshake_timeout SEC -> --handshake-timeout */
    uint32_t ping_ms;         /* ping_interval SEC -> --ping-interval */
    uint32_t idle_ms;         /* idle_timeout SEC -> --idle-timeout */
    uint32_t close_ms;        /* close_timeout SEC -> --close-timeout */
    uint32_t deflate;         /* deflate yes|no -> --deflate on */
    uint32_t deflate_ct;      /* deflate_context_takeover yes|no -> --deflate-context-takeover on */
    uint32_t deflate_min;     /* deflate_min_size BYTES -> --deflate-min-size */
    /* admission */
    uint32_t msg_rate_1;       /* msg_rate N -> --msg-rate, stored + 1: 0 (off) is a value */
    uint32_t msg_burst;        /* msg_burst N -> --msg-burst */
    uint32_t max_conns_per_ip; /* max_conns_per_ip N -> --max-conns-per-ip */
    char origins[SUP_CONFIG_PATH_MAX];       /* origins LIST -> --origins; empty: any */
    char server_header[SUP_CONFIG_PATH_MAX]; /* server_header TEXT -> --server-header */
} sup_worker_settings;

/* The [tls] section: wss:// listeners and what their workers present. */
typedef struct sup_tls_settings {
    char listen[SUP_CONFIG_MAX_LISTEN][SUP_CONFIG_ADDR_MAX]; /* listen, repeatable (none) */
    size_t nlisten;
    char cert[SUP_CONFIG_PATH_MAX];      /* cert PEM -> --cert (a chain, leaf first) */
    char key[SUP_CONFIG_PATH_MAX];       /* key PEM -> --key */
    char ciphers[SUP_CONFIG_PATH_MAX];   /* ciphers LIST -> --ciphers; empty: ECDHE + AEAD */
    char protocols[SUP_CONFIG_PATH_MAX]; /* protocols LIST -> --tls-protocols; empty: 1.2, 1.3 */
    uint64_t ticket_rotation_ms;         /* ticket_rotation SEC (12 h): session ticket key life */
    char tickets[SUP_CONFIG_PATH_MAX];   /* -> --ticket-keys: RUNDIR/tls-tickets, set by wsfleetd */
} sup_tls_settings;

typedef struct sup_config {
    char config_file[SUP_CONFIG_PATH_MAX]; /* -c FILE; empty when none was given */
    bool foreground;                       /* --foreground */
    /* [fleet] */
    char listen[SUP_CONFIG_MAX_LISTEN][SUP_CONFIG_ADDR_MAX]; /* listen, repeatable; --listen */
    size_t nlisten;                                          /* (127.0.0.1:8080) */
    char run_dir[SUP_CONFIG_PATH_MAX];    /* run_dir; --run-dir (./run, /run/wsfleet as root) */
    char worker_bin[SUP_CONFIG_PATH_MAX]; /* worker_bin; empty: wsworker beside wsfleetd */
    /* [workers] */
    uint32_t workers;            /* count; --workers (online CPUs, at least 2) */
    uint32_t workers_min;        /* min (1) */
    uint32_t workers_max;        /* max (max(8, 2 * count), at most 256) */
    uint32_t hang_timeout_ms;    /* hang_timeout (10 s): no Report this long = hung */
    uint32_t kill_grace_ms;      /* kill_grace (5 s): SIGTERM to SIGKILL */
    uint32_t drain_timeout_ms;   /* drain_timeout (10 s) */
    uint32_t orphan_grace_ms;    /* orphan_grace (60 s): a worker's wait for a new supervisor */
    uint32_t report_interval_ms; /* report_interval (1 s) */
    /* [restart]: base_delay, max_delay, reset_after, unstable_after, fail_count, fail_window */
    sup_restart_policy restart;
    /* [worker] */
    sup_worker_settings worker;
    /* [breaker]: open_time, max_open_time, min_events, failure_pct, consecutive, probes */
    sup_breaker_policy breaker;
    /* [autoscale]: enabled (0), target_connections, target_busy_pct, up_window, down_window,
     * down_interval, warmup; min and max come from [workers] */
    uint32_t autoscale;
    uint32_t target_busy_pct;
    sup_scaler_policy scaler;
    /* [rebalance]: enabled (1), interval, min_excess */
    uint32_t rebalance_enabled;
    sup_rebalance_policy rebalance;
    /* [drills]: fault injection (wsctl fault) */
    uint32_t drills_enabled;    /* enabled = yes|no (no): otherwise every fault is refused */
    uint64_t drills_max_memory; /* max_memory BYTES (256 MiB): what a memory fault may grow to */
    /* [tls] */
    sup_tls_settings tls;
    /* [nats] */
    char nats_url[SUP_NATS_URLS_MAX];      /* url, repeatable or a comma list; empty: the sidecar */
    char nats_stream[SUP_NATS_STREAM_MAX]; /* stream (WSF) */
    char nats_store_dir[SUP_CONFIG_PATH_MAX]; /* store_dir; empty: RUNDIR/nats, or
                                                 /var/lib/wsfleet/nats as root in /run/wsfleet */
    /* credentials (a .creds file or an nkey seed), tls_ca, tls_cert, tls_key: empty = none;
     * only with url (sup_natscfg checks them) */
    char nats_credentials[SUP_CONFIG_PATH_MAX];
    char nats_tls_ca[SUP_CONFIG_PATH_MAX];
    char nats_tls_cert[SUP_CONFIG_PATH_MAX];
    char nats_tls_key[SUP_CONFIG_PATH_MAX];
    uint32_t channels_replicas; /* [channels] replicas 1..5 (1): the stream's replication */
    char fleet_name[SUP_FLEET_NAME_MAX]; /* [fleet] name (the host name): wsf.fleet.<name> */
    /* [channels] and [namespace NAME], checked by wsf_chconf: the effective settings as the
     * workers read them (every key of every section), and the stream's limits over them */
    char channels_ini[SUP_CHANNELS_INI_MAX];
    /* [auth] (sup_auth): key file paths, required, audience, issuer; empty: not set */
    char auth_secret_file[SUP_CONFIG_PATH_MAX]; /* hmac_secret_file */
    char auth_public_key[SUP_CONFIG_PATH_MAX];  /* public_key */
    uint32_t auth_required;                     /* required = yes|no (no) */
    char auth_audience[SUP_CONFIG_PATH_MAX];    /* audience */
    char auth_issuer[SUP_CONFIG_PATH_MAX];      /* issuer */
    uint32_t channels_max_history;              /* largest history_size */
    uint32_t channels_max_ttl_s;                /* largest history_ttl */
    /* [alerts] (sup_alcfg.h): rules, thresholds, webhooks */
    sup_alerts_cfg alerts;
    /* [admin] (sup_admcfg): the admin HTTP server */
    sup_admin_settings admin;
} sup_config;

/* Fills in the defaults. euid picks the run directory (0: /run/wsfleet, else ./run); ncpu is the
 * number of online CPUs (sysconf(_SC_NPROCESSORS_ONLN); below 2, or an error, counts as 2). */
void sup_config_init(sup_config *cfg, unsigned euid, long ncpu);

/* Parses `wsfleetd [-c FILE] [--listen HOST:PORT]... [--workers N] [--run-dir DIR] [--foreground]
 * [--help] [--version]` over a config set up by sup_config_init: reads FILE (INI: sections
 * [fleet], [workers], [restart], [worker], ..., [nats], [alerts] through sup_alcfg, and [channels] and [namespace NAME] through
 * wsf_chconf; durations in seconds with an optional fraction), then
 * applies the flags, which override the file; the first --listen replaces the file's list, and the
 * first listen key of the file replaces the default. Then checks min <= count <= max <= 256,
 * base_delay <= max_delay and report_interval < hang_timeout; a count left at its default is
 * clamped into [min, max]. Strings are copied. Returns SUP_CONFIG_RUN, SUP_CONFIG_HELP,
 * SUP_CONFIG_VERSION, or SUP_CONFIG_ERROR with one line (no newline) in err[errlen], e.g.
 * "fleet.ini:7: [workers] count: 'x' is not a whole number" or "--workers: 0 is out of range
 * 1..256". Uses getopt_long (resets optind, sets opterr to 0). To reload, call sup_config_init
 * and this again with the same argv. */
int sup_config_parse(sup_config *cfg, int argc, char **argv, char *err, size_t errlen);

/* The --help text. */
const char *sup_config_usage(void);

/* Listen address i of every listener in the order of the fleet's sockets: [fleet] listen first,
 * then [tls] listen (i < cfg->nlisten + cfg->tls.nlisten). */
const char *sup_config_listen_at(const sup_config *cfg, size_t i);

#endif
