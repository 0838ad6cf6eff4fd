/* wsload's settings: defaults and command-line parsing, loopback targets only. */
#ifndef LOAD_OPTS_H
#define LOAD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

enum load_mode {
    LOAD_MODE_ECHO = 0,    /* pipelined echoes, verified */
    LOAD_MODE_IDLE = 1,    /* hold N upgraded connections */
    LOAD_MODE_CONNECT = 2, /* open, upgrade, close, again, N at a time */
};

#define LOAD_HOST_MAX 64
#define LOAD_PATH_MAX 256

typedef struct load_opts {
    enum load_mode mode;
    struct sockaddr_storage addr; /* the server, always a loopback address */
    socklen_t addr_len;
    char host[LOAD_HOST_MAX + 16]; /* Host header: "127.0.0.1:PORT" or "[::1]:PORT" */
    char path[LOAD_PATH_MAX];      /* request target, "/echo" by default */
    size_t connections;            /* --connections N (100) */
    uint32_t inflight;             /* --inflight K (1): echoes outstanding per connection */
    size_t size;                   /* --size BYTES (20) */
    bool binary;                   /* --binary: binary messages instead of text */
    double duration;               /* --duration SEC, 0 when not given */
    uint64_t messages;             /* --messages TOTAL, 0 when not given */
    pid_t server_pid;              /* --server-pid PID: sample its CPU time and RSS, 0 = none */
} load_opts;

/* Parses argv (strings are copied where kept). Returns 0 to run, 1 when --help was printed, -1
 * after printing a usage error to stderr. */
int load_opts_parse(load_opts *out, int argc, char **argv);

/* The mode's name as printed in the result line. */
const char *load_mode_name(enum load_mode mode);

#endif
