/* wsload: settings (defaults and command-line parsing, loopback targets only) and the run, built on
 * the chaos_load population (echo and idle modes, every client kind), on bare chaos_conn
 * connections (connect mode) or on chaos_chload (channels mode). */
#ifndef CHAOS_WSLOAD_H
#define CHAOS_WSLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chaos_load.h"

enum chaos_wsload_mode {
    CHAOS_WSLOAD_ECHO = 0,     /* traffic of the chosen client kind: echoes, slow or garbage */
    CHAOS_WSLOAD_IDLE = 1,     /* hold N upgraded connections */
    CHAOS_WSLOAD_CONNECT = 2,  /* open, upgrade, close, again, N at a time */
    CHAOS_WSLOAD_CHANNELS = 3, /* wsfleet.v1 subscribers and a publisher (chaos_chload) */
};

#define CHAOS_WSLOAD_RECORDS_MAX 1024

typedef struct chaos_wsload_opts {
    enum chaos_wsload_mode mode;
    chaos_load_opts load; /* target, --connections, --inflight or --rate, --size, --binary,
                           * --kind, --sources, --open-rate, --garbage-rate, --reconnect */
    double duration;      /* --duration SEC, 0 when not given */
    uint64_t messages;    /* --messages TOTAL, 0 when not given */
    pid_t server_pid;     /* --server-pid PID: sample its CPU time and RSS, 0 = none */
    bool json;            /* --json: one JSON summary instead of the result line */
    char records[CHAOS_WSLOAD_RECORDS_MAX]; /* --records FILE, empty when not given */
    /* Channels mode. */
    uint32_t channels;       /* --channels N (20) */
    double publish_rate;     /* --publish-rate R per channel (10), 0 = no publisher */
    char channel_prefix[64]; /* --channel-prefix P ("load-") */
} chaos_wsload_opts;

/* Parses argv (strings are copied where kept). Returns 0 to run, 1 when --help was printed, -1
 * after printing a usage error naming the offending option to stderr. */
int chaos_wsload_parse(chaos_wsload_opts *out, int argc, char **argv);

/* The mode's name as printed in the result line. */
const char *chaos_wsload_mode_name(enum chaos_wsload_mode mode);

/* The client kind's name: "echo", "slow", "garbage". */
const char *chaos_wsload_kind_name(enum chaos_client_kind kind);

/* Runs the mode in opts to the end (duration, message count, or SIGTERM/SIGINT) and prints the
 * result line or the JSON summary on stdout, and the records file when asked.
 * Returns 0 when the run saw no error, 1 when it counted errors, -1 when it could not run. */
int chaos_wsload_run(const chaos_wsload_opts *opts);

/* Connect mode, the part of chaos_wsload_run behind --mode connect. */
int chaos_wsload_run_connect(const chaos_wsload_opts *opts);

/* Channels mode, the part of chaos_wsload_run behind --mode channels. */
int chaos_wsload_run_channels(const chaos_wsload_opts *opts);

#endif
