/* The open-file limit: wsfleetd and wsworker raise their soft RLIMIT_NOFILE to the hard limit at
 * start, since a typical host's soft limit of 1024 is far below a worker's max_connections. */
#ifndef WSF_LIMITS_H
#define WSF_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

/* wsworker's --max-connections when neither the flag nor [worker] max_connections is given. */
#define WSF_WORKER_MAX_CONNECTIONS 10000

/* Descriptors a worker needs besides its max_connections clients: up to 256 connections being
 * answered 503 beyond the limit, its listeners, ZeroMQ's sockets and eventfds, libevent, stdio. */
#define WSF_NOFILE_RESERVE 320

/* Raises the soft RLIMIT_NOFILE to the hard limit (to the kernel's fs.nr_open when the hard
 * limit is unlimited). Returns 0 with *out the soft limit now in force, or -errno when
 * getrlimit or setrlimit failed (the limit is unchanged). */
int wsf_nofile_raise(uint64_t *out);

/* Whether a worker with max_connections clients fits an open-file limit of nofile. */
bool wsf_nofile_fits(uint64_t nofile, uint64_t max_connections);

#endif
