/* wsload's settings: defaults and command-line parsing, loopback targets only. */
#ifndef CHAOS_WSLOAD_H
#define CHAOS_WSLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

enum chaos_wsload_mode {
    CHAOS_WSLOAD_ECHO = 0,    /* pipelined echoes, verified */
    CHAOS_WSLOAD_IDLE = 1,    /* hold N upgraded connections */
    CHAOS_WSLOAD_CONNECT = 2, /* open, upgrade, close, again, N at a time */
};

#define CHAOS_HOST_MAX 64
#define CHAOS_PATH_MAX 256

typedef struct chaos_wsload_opts {
    enum chaos_wsload_mode mode;
    struct sockaddr_storage addr; /* the server, always a loopback address */
    socklen_t addr_len;
    char host[CHAOS_HOST_MAX + 16]; /* Host header: "127.0.0.1:PORT" or "[::1]:PORT" */
    char path[CHAOS_PATH_MAX];      /* request target, "/echo" by default */
    size_t connections;             /* --connections N (100) */
    uint32_t inflight;              /* --inflight K (1): echoes outstanding per connection */
    size_t size;                    /* --size BYTES (20) */
    bool binary;                    /* --binary: binary messages instead of text */
    double duration;                /* --duration SEC, 0 when not given */
    uint64_t messages;              /* --messages TOTAL, 0 when not given */
    pid_t server_pid;               /* --server-pid PID: sample its CPU time and RSS, 0 = none */
} chaos_wsload_opts;

/* Parses argv (strings are copied where kept). Returns 0 to run, 1 when --help was printed, -1
 * after printing a usage error to stderr. */
int chaos_wsload_parse(chaos_wsload_opts *out, int argc, char **argv);

/* The mode's name as printed in the result line. */
const char *chaos_wsload_mode_name(enum chaos_wsload_mode mode);

/* Runs the mode in opts to the end (duration, message count, or SIGTERM/SIGINT).
 * Returns 0 when the run saw no error, 1 when it counted errors, -1 when it could not run. */
int chaos_wsload_run(const chaos_wsload_opts *opts);

#endif
