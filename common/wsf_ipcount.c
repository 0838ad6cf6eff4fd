/* Per-address connection counts: separate chaining, FNV-1a over the seeded address. The seed
 * keeps one worker's chains from being predictable from outside. */
#include "wsf_ipcount.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"

void wsf_ipcount_init(wsf_ipcount *t, uint32_t seed)
{
    t->buckets = NULL;
    t->seed = seed;
    t->naddrs = 0;
}

void wsf_ipcount_fini(wsf_ipcount *t)
{
    if (t->buckets != NULL) {
        for (size_t i = 0; i < WSF_IPCOUNT_BUCKETS; i++) {
            wsf_ipcount_entry *e = t->buckets[i];
            while (e != NULL) {
                wsf_ipcount_entry *next = e->next;
                free(e);
                e = next;
            }
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->naddrs = 0;
}

int wsf_ipcount_key(uint8_t key[16], const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(key, &in6->sin6_addr, 16);
        return 0;
    }
    return -EAFNOSUPPORT;
}

static size_t wsf_ipcount_hash(const wsf_ipcount *t, const uint8_t addr[16])
{
    uint32_t h = 2166136261u ^ t->seed;
    for (int i = 0; i < 16; i++) {
        h ^= addr[i];
        h *= 16777619u;
    }
    return h & (WSF_IPCOUNT_BUCKETS - 1);
}

wsf_ipcount_entry *wsf_ipcount_acquire(wsf_ipcount *t, const uint8_t addr[16], uint32_t max)
{
    if (t->buckets == NULL)
        t->buckets = wsf_xcalloc(WSF_IPCOUNT_BUCKETS, sizeof *t->buckets);
    size_t b = wsf_ipcount_hash(t, addr);
    wsf_ipcount_entry *e = t->buckets[b];
    while (e != NULL && memcmp(e->addr, addr, 16) != 0)
        e = e->next;
    if (e == NULL) {
        if (max == 0)
            return NULL;
        e = wsf_xcalloc(1, sizeof *e);
        memcpy(e->addr, addr, 16);
        e->next = t->buckets[b];
        t->buckets[b] = e;
        t->naddrs++;
    } else if (e->count >= max) {
        return NULL;
    }
    e->count++;
    return e;
}

void wsf_ipcount_release(wsf_ipcount *t, wsf_ipcount_entry *e)
{
    if (--e->count > 0)
        return;
    wsf_ipcount_entry **pp = &t->buckets[wsf_ipcount_hash(t, e->addr)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    t->naddrs--;
    free(e);
}

uint32_t wsf_ipcount_get(const wsf_ipcount *t, const uint8_t addr[16])
{
    if (t->buckets == NULL)
        return 0;
    for (const wsf_ipcount_entry *e = t->buckets[wsf_ipcount_hash(t, addr)]; e; e = e->next) {
        if (memcmp(e->addr, addr, 16) == 0)
            return e->count;
    }
    return 0;
}
