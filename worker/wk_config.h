/* wsworker's settings: defaults and command-line parsing. */
#ifndef WK_CONFIG_H
#define WK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_log.h"

#define WK_MAX_LISTEN 16

typedef struct wk_config {
    const char *listen[WK_MAX_LISTEN]; /* HOST:PORT or [V6HOST]:PORT, port 0 = any free port */
    size_t nlisten;
    const char *tls_listen[WK_MAX_LISTEN]; /* --tls-listen HOST:PORT: TLS (wss://) listeners */
    size_t ntls_listen;
    const char *cert;    /* --cert PEM: certificate chain, leaf first */
    const char *key;     /* --key PEM: its private key */
    const char *ciphers; /* --ciphers LIST: TLS 1.2 suites (OpenSSL syntax); NULL = ECDHE+AEAD */
    int tls_min;         /* --tls-protocols LIST (TLSv1.2,TLSv1.3): lowest version */
    int tls_max;         /* highest version */
    const char *ticket_keys;      /* --ticket-keys PATH: session ticket keys shared by the fleet */
    uint64_t max_message;         /* --max-message BYTES (1 MiB): larger messages close with 1009 */
    uint64_t max_backlog;         /* --max-backlog BYTES (4 MiB): unsent output cap, close 1008 */
    unsigned max_connections;     /* --max-connections N (10000): more are answered 503 */
    unsigned retry_after;         /* --retry-after SEC (5): Retry-After of a 503 */
    uint32_t handshake_ms;        /* --handshake-timeout SEC (10) */
    uint32_t ping_ms;             /* --ping-interval SEC (25): ping after this long unheard */
    uint32_t idle_ms;             /* --idle-timeout SEC (60): close after this long unheard */
    uint32_t close_ms;            /* --close-timeout SEC (5): wait for the peer's close reply */
    uint32_t grace_ms;            /* --grace SEC (10): SIGTERM drain before exiting anyway */
    enum wsf_log_level log_level; /* --log-level error|warn|info|debug (info) */
    uint32_t orphan_grace_ms;     /* --orphan-grace SEC (60): serve on after the supervisor died */
    uint32_t report_ms;           /* --report-interval SEC (1): Reports to the supervisor */
    uint64_t drills_max_memory;   /* --drills-max-memory BYTES: accept the supervisor's faults,
                                     memory ones up to BYTES; 0 (not given): refuse them all */
    const char *nats_url;         /* --nats-url URL[,URL...]: channels on, over this NATS */
    const char *nats_url_file;    /* --nats-url-file PATH: the same, from the file's first line */
    const char *channels_config;  /* --channels-config PATH: [channels] and [namespace NAME] */
    const char *nats_stream;      /* --nats-stream NAME (WSF): the channels' JetStream stream */
    const char *nats_credentials; /* --nats-credentials PATH: .creds or nkey seed, NULL = none */
    const char *nats_tls_ca;      /* --nats-tls-ca PATH: CA bundle, NULL = none */
    const char *nats_tls_cert;    /* --nats-tls-cert PATH: client certificate, with the key */
    const char *nats_tls_key;     /* --nats-tls-key PATH */
    int nats_replicas;            /* --nats-replicas N (1): when this worker creates the stream */
    const char *auth_secret_file; /* --auth-hmac-secret-file PATH: HS256 secret (mode 0600) */
    const char *auth_public_key;  /* --auth-public-key PATH: RS256/ES256 PEM public key */
    bool auth_required;           /* --auth-required yes|no (no): refuse anonymous clients */
    const char *auth_audience;    /* --auth-audience AUD: tokens must name it in aud */
    const char *auth_issuer;      /* --auth-issuer ISS: tokens must carry this iss */
    bool deflate;                 /* --deflate on|off (off): negotiate permessage-deflate */
    bool deflate_context_takeover; /* --deflate-context-takeover on|off (off) */
    uint32_t deflate_min_size;     /* --deflate-min-size BYTES (64): smaller ones go plain */
    const char *origins;           /* --origins LIST: Origin allowlist (wsf_origin.h), NULL = any */
    uint32_t msg_rate;         /* --msg-rate N (100): client messages per second, 0 = no limit */
    uint32_t msg_burst;        /* --msg-burst N (200): messages allowed at once */
    unsigned max_conns_per_ip; /* --max-conns-per-ip N (0 = no limit): more are answered 429 */
    const char *server_header; /* --server-header TEXT: Server header value, NULL = none */

    /* Fleet mode, set by the supervisor through the environment (wk_config_from_env). */
    int listen_fds[WK_MAX_LISTEN]; /* WSF_LISTEN_FDS=3,4: inherited listening sockets */
    size_t nlisten_fds;
    int tls_listen_fds[WK_MAX_LISTEN]; /* WSF_TLS_LISTEN_FDS=5,6: inherited TLS listeners */
    size_t ntls_listen_fds;
    const char *supervisor; /* WSF_SUPERVISOR: ZeroMQ endpoint for Hello/Report/Command */
    unsigned slot;          /* WSF_SLOT */
    uint64_t generation;    /* WSF_GENERATION */
    int parent_fd;          /* WSF_PARENT_FD: EOF here means the supervisor is gone; -1 none */
} wk_config;

/* Fills in the defaults. */
void wk_config_init(wk_config *cfg);

/* Parses argv (strings are borrowed, not copied). Returns 0 to run, 1 when --help or --version
 * was printed (exit 0), -1 after printing a usage error to stderr (exit 100). Durations are
 * seconds with an optional fraction ("0.5"). Without --listen, listens on 127.0.0.1:8080. */
int wk_config_parse(wk_config *cfg, int argc, char **argv);

/* Reads the fleet-mode settings through getenv_fn(name, arg) (getenv in wsworker). Runs
 * after wk_config_parse: with inherited sockets and no --listen, nothing is listened on by
 * address. Returns 0, or -1 after printing what is wrong to stderr (exit 100). */
int wk_config_from_env(wk_config *cfg, const char *(*getenv_fn)(const char *name, void *arg),
                       void *arg);

#endif
