/* Which worker holds a client's connection, read from /proc: the socket inodes in a worker's
 * descriptor table, matched with the server side of each TCP connection to the fleet's port in
 * /proc/net/tcp. Lets a drill tell the clients a fault hits from the ones it must not touch. */
#ifndef CHAOS_OWNER_H
#define CHAOS_OWNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Client endpoints (IPv4 address and port, as uint64: addr << 16 | port), sorted. */
typedef struct chaos_peers {
    uint64_t *keys;
    size_t n;
    size_t cap;
} chaos_peers;

/* The IPv4 endpoint key of a sockaddr (0 when it is not IPv4). */
uint64_t chaos_peer_key(const struct sockaddr_storage *ss);

/* Fills peers with the remote ends of the connections to local port `port` whose server sockets
 * belong to one of pids, each once (/proc/net/tcp is read until two reads agree: under churn a
 * single read can repeat or miss an entry). Returns 0, or -1 when /proc could not be read. */
int chaos_peers_of(chaos_peers *peers, uint16_t port, const pid_t *pids, size_t n_pids);

int chaos_peers_has(const chaos_peers *peers, uint64_t key);

void chaos_peers_fini(chaos_peers *peers);

#endif
