/* Listening TCP sockets for wsfleetd and wsworker: resolving HOST:PORT, creating, binding and
 * listening with the options each needs, naming the bound address, and probing whether anyone
 * else already listens on an address. */
#ifndef WSF_LISTEN_H
#define WSF_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A resolved listen address. */
typedef struct wsf_addr {
    struct sockaddr_storage ss;
    socklen_t len;
} wsf_addr;

/* Flags of wsf_listen_socket. */
#define WSF_LISTEN_REUSEPORT 0x1 /* SO_REUSEPORT: one of a group of sockets on the same address */
#define WSF_LISTEN_NONBLOCK 0x2  /* O_NONBLOCK on the listening socket */

/* Longest name wsf_listen_name writes, with its NUL ("[v6 address%scope]:65535"). */
#define WSF_LISTEN_NAME_MAX 96

/* Resolves "HOST:PORT" or "[V6HOST]:PORT" (a numeric port 0-65535; HOST a name or a numeric
 * address, "0.0.0.0" or "::" for every address) to the first address getaddrinfo gives for
 * a passive TCP socket. Returns 0 with *out set; -EINVAL when spec has another form (*why says
 * so), or -ENOENT when the host does not resolve (*why is gai_strerror's text). *why is static. */
int wsf_listen_resolve(wsf_addr *out, const char *spec, const char **why);

/* The address's port, and the same address with another port. */
unsigned wsf_addr_port(const wsf_addr *addr);
void wsf_addr_set_port(wsf_addr *addr, unsigned port);

/* A listening socket on addr: close-on-exec, SO_REUSEADDR (a restart binds despite TIME_WAIT),
 * IPV6_V6ONLY for IPv6 (so [::]:P and 0.0.0.0:P are two addresses), plus flags; backlog
 * SOMAXCONN. Returns the fd (the caller closes it) or -errno (EADDRINUSE: the address is taken). */
int wsf_listen_socket(const wsf_addr *addr, unsigned flags);

/* The address fd is bound to. Returns 0 with *out set, or -errno. */
int wsf_listen_bound(wsf_addr *out, int fd);

/* Whether two listeners on a and b would share connections: the same family and port, and the
 * same address or the wildcard on either side. Port 0 overlaps nothing (it picks a free port). */
bool wsf_addr_overlaps(const wsf_addr *a, const wsf_addr *b);

/* Writes addr as "HOST:PORT" or "[V6HOST]:PORT" with numeric host and port into out[cap]. */
void wsf_addr_name(char *out, size_t cap, const wsf_addr *addr);

/* Whether some socket already listens on addr, or on an address overlapping it (0.0.0.0:P
 * overlaps 127.0.0.1:P, and the other way round), whoever owns it and whatever its options,
 * SO_REUSEPORT included: binds a socket with SO_REUSEADDR (so that TIME_WAIT remnants do not
 * count) and without SO_REUSEPORT (so that the kernel refuses to share the port with any
 * listener). addr's port must not be 0. Returns 0 with *out a bound, non-listening probe socket
 * that keeps any socket without SO_REUSEADDR from taking the address until the caller closes it;
 * -EADDRINUSE when the address is taken; or another -errno. */
int wsf_listen_probe(int *out, const wsf_addr *addr);

/* How many sockets listen on addr's port at an address overlapping addr's (the same address,
 * or either of the two the wildcard of its family) without being one of fds[nfds], as
 * /proc/net/tcp or tcp6 lists them for this network namespace. Lets a process that just made
 * its group check that nobody slipped in beside it. Returns that count, or -errno. */
int wsf_listen_foreign(const wsf_addr *addr, const int *fds, size_t nfds);

#endif
