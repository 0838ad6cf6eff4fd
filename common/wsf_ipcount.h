/* Connections per source address ([worker] max_conns_per_ip): a hash of IPv4 and IPv6 addresses
 * to counts, one per worker. Pure apart from allocation; an address leaves the table when its
 * last connection closes, so the table holds only addresses with open connections. */
#ifndef WSF_IPCOUNT_H
#define WSF_IPCOUNT_H

#include <stdint.h>
#include <sys/socket.h>

#define WSF_IPCOUNT_BUCKETS 4096 /* a power of two */

typedef struct wsf_ipcount_entry {
    struct wsf_ipcount_entry *next;
    uint8_t addr[16]; /* IPv6, or IPv4 mapped (::ffff:a.b.c.d) */
    uint32_t count;
} wsf_ipcount_entry;

typedef struct wsf_ipcount {
    wsf_ipcount_entry **buckets; /* allocated on first use */
    uint32_t seed;
    size_t naddrs; /* addresses in the table */
} wsf_ipcount;

void wsf_ipcount_init(wsf_ipcount *t, uint32_t seed);
void wsf_ipcount_fini(wsf_ipcount *t);

/* The 16-byte key of a socket address (AF_INET or AF_INET6; IPv4-mapped IPv6 addresses give the
 * same key as the IPv4 one). Returns 0, or -EAFNOSUPPORT. */
int wsf_ipcount_key(uint8_t key[16], const struct sockaddr *sa);

/* Counts one more connection from addr if it has fewer than max. Returns its entry (pass it to
 * wsf_ipcount_release when the connection closes), or NULL when addr is at max. */
wsf_ipcount_entry *wsf_ipcount_acquire(wsf_ipcount *t, const uint8_t addr[16], uint32_t max);

/* One connection of e's address closed; e may be freed. */
void wsf_ipcount_release(wsf_ipcount *t, wsf_ipcount_entry *e);

/* The count for addr (0 when absent). */
uint32_t wsf_ipcount_get(const wsf_ipcount *t, const uint8_t addr[16]);

#endif
