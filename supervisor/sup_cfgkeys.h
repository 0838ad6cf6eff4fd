/* wsfleetd's INI keys as data: one row a key (its section, name, type of value, field of
 * sup_config and bounds). sup_config.c reads the file and the flags through it, sup_cfgargs.c
 * turns the [worker] keys into wsworker flags. */
#ifndef SUP_CFGKEYS_H
#define SUP_CFGKEYS_H

#include <stddef.h>
#include <stdint.h>

#define SUP_MS_MAX UINT64_C(86400000) /* durations: 1 ms .. 1 day */

enum sup_key_type {
    SUP_T_LISTEN,
    SUP_T_PATH,  /* non-empty string */
    SUP_T_PATH0, /* string, may be empty */
    SUP_T_U32,
    SUP_T_U64,
    SUP_T_MS32,
    SUP_T_MS64,
    SUP_T_BOOL, /* yes|no, true|false, on|off, 1|0, into a uint32_t */
    SUP_T_URLS, /* a NATS URL or a comma list, appended (repeatable) */
    SUP_T_STREAM,
    SUP_T_U32Z,    /* a number where 0 is a value, not "unset": stored + 1 */
    SUP_T_ORIGINS, /* an Origin allowlist (wsf_origin.h), may be empty */
    SUP_T_HEADER,  /* an HTTP header value of printable ASCII, may be empty */
    SUP_T_TLS_LISTEN,
    SUP_T_PROTOCOLS, /* TLSv1.2 and/or TLSv1.3, comma-separated */
    SUP_T_TOKEN,     /* a NATS subject token: [A-Za-z0-9_-], 1..64 */
};

enum sup_key_id {
    K_LISTEN,
    K_RUN_DIR,
    K_WORKER_BIN,
    K_COUNT,
    K_MIN,
    K_MAX,
    K_HANG,
    K_KILL,
    K_DRAIN,
    K_ORPHAN,
    K_REPORT,
    K_BASE,
    K_MAX_DELAY,
    K_RESET,
    K_UNSTABLE,
    K_FAIL_COUNT,
    K_FAIL_WINDOW,
    K_MAX_MESSAGE,
    K_MAX_CONNECTIONS,
    K_MAX_BACKLOG,
    K_HANDSHAKE,
    K_PING,
    K_IDLE,
    K_CLOSE,
    K_DEFLATE,
    K_DEFLATE_CT,
    K_DEFLATE_MIN,
    K_MSG_RATE,
    K_MSG_BURST,
    K_CONNS_PER_IP,
    K_ORIGINS,
    K_SERVER_HEADER,
    K_BR_OPEN,
    K_BR_MAX_OPEN,
    K_BR_MIN_EVENTS,
    K_BR_FAILURE,
    K_BR_CONSECUTIVE,
    K_BR_PROBES,
    K_AS_ENABLED,
    K_AS_CONNS,
    K_AS_BUSY,
    K_AS_UP_WINDOW,
    K_AS_DOWN_WINDOW,
    K_AS_DOWN_INTERVAL,
    K_AS_WARMUP,
    K_RB_INTERVAL,
    K_RB_ENABLED,
    K_RB_MIN_EXCESS,
    K_DR_ENABLED,
    K_DR_MAX_MEMORY,
    K_NATS_URL,
    K_NATS_STREAM,
    K_NATS_STORE,
    K_NATS_CREDS,
    K_NATS_TLS_CA,
    K_NATS_TLS_CERT,
    K_NATS_TLS_KEY,
    K_CH_REPLICAS,
    K_FLEET_NAME,
    K_AUTH_SECRET,
    K_AUTH_PUBLIC_KEY,
    K_AUTH_REQUIRED,
    K_AUTH_AUDIENCE,
    K_AUTH_ISSUER,
    K_TLS_LISTEN,
    K_TLS_CERT,
    K_TLS_KEY,
    K_TLS_CIPHERS,
    K_TLS_PROTOCOLS,
    K_TLS_ROTATION,
    K_NKEYS
};

typedef struct sup_key {
    const char *section;
    const char *name;
    enum sup_key_type type;
    size_t off; /* into sup_config */
    uint64_t min, max;
} sup_key;

/* The row of each key, indexed by enum sup_key_id. */
extern const sup_key sup_keys[K_NKEYS];

#endif
