/* wsworker's command line from wsfleetd's configuration: the flags for the [worker] keys that are
 * set, the [tls] files and settings, --drills-max-memory and the [auth] flags. */
#ifndef SUP_CFGARGS_H
#define SUP_CFGARGS_H

#include <stddef.h>

#include "sup_config.h"

/* At most this many [worker] keys become wsworker flags (checked at compile time). */
#define SUP_WORKER_FLAGS_MAX 28

/* wsworker flags for the [worker] keys that are set; argv points into vals (do not copy the
 * struct while using argv), NULL-terminated. */
typedef struct sup_worker_args {
    char *argv[2 * SUP_WORKER_FLAGS_MAX + SUP_AUTH_ARGS + 1]; /* + [auth]'s, into the cfg */
    char vals[SUP_WORKER_FLAGS_MAX][24];
    char origins[SUP_CONFIG_PATH_MAX]; /* the string flags' values */
    char server_header[SUP_CONFIG_PATH_MAX];
    char tls[5][SUP_CONFIG_PATH_MAX]; /* --cert, --key, --ciphers, --tls-protocols, --ticket-keys */
    size_t argc;
} sup_worker_args;

/* Fills out with the flags of cfg->worker, --drills-max-memory BYTES when [drills] is enabled,
 * the [tls] files and settings when TLS listeners are configured, and the --auth-* flags of
 * [auth] (those point into cfg: keep it while argv is used). Returns out->argc. */
size_t sup_config_worker_args(sup_worker_args *out, const sup_config *cfg);

#endif
