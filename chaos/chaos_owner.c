/* Connection ownership through /proc/PID/fd and /proc/net/tcp. */
#include "chaos_owner.h"

#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHAOS_TCP_LISTEN 0x0A /* the st column of a listening socket (TCP_LISTEN) */

typedef struct chaos_inodes {
    uint64_t *v;
    size_t n;
    size_t cap;
} chaos_inodes;

static int chaos_u64_push(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
    if (*n == *cap) {
        size_t grown = *cap == 0 ? 256 : *cap * 2;
        uint64_t *p = realloc(*v, grown * sizeof(*p));
        if (p == NULL) {
            return -1;
        }
        *v = p;
        *cap = grown;
    }
    (*v)[(*n)++] = x;
    return 0;
}

static int chaos_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int chaos_u64_has(const uint64_t *v, size_t n, uint64_t x)
{
    return v != NULL && bsearch(&x, v, n, sizeof(*v), chaos_u64_cmp) != NULL;
}

/* Socket inodes of every descriptor of pid. Missing processes add nothing. */
static int chaos_socket_inodes(chaos_inodes *in, pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[128];
        char link[64];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path)) {
            continue;
        }
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        if (n <= 0) {
            continue;
        }
        link[n] = '\0';
        unsigned long long inode = 0;
        if (sscanf(link, "socket:[%llu]", &inode) == 1 &&
            chaos_u64_push(&in->v, &in->n, &in->cap, inode) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

uint64_t chaos_peer_key(const struct sockaddr_storage *ss)
{
    if (ss->ss_family != AF_INET) {
        return 0;
    }
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
    return (uint64_t)ntohl(sin->sin_addr.s_addr) << 16 | ntohs(sin->sin_port);
}

/* One pass over /proc/net/tcp: the remote ends of the connections to `port` whose sockets are in
 * in (sorted), into peers, sorted and each once. */
static int chaos_peers_read(chaos_peers *peers, uint16_t port, const chaos_inodes *in)
{
    peers->n = 0;
    FILE *fp = fopen("/proc/net/tcp", "r");
    if (fp == NULL) {
        return -1;
    }
    char line[256];
    int rc = 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        unsigned laddr = 0;
        unsigned lport = 0;
        unsigned raddr = 0;
        unsigned rport = 0;
        unsigned state = 0;
        unsigned long long inode = 0;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*d: %8X:%4X %8X:%4X %x %*x:%*x %*x:%*x %*x %*u %*u %llu", &laddr,
                   &lport, &raddr, &rport, &state, &inode) != 6) {
            continue;
        }
        /* A worker holds the listening socket too: it is no connection (its peer is 0.0.0.0:0). */
        if (lport != port || state == CHAOS_TCP_LISTEN || !chaos_u64_has(in->v, in->n, inode)) {
            continue;
        }
        /* /proc/net/tcp prints the address as the host-order value of the network-order word. */
        uint64_t key = (uint64_t)ntohl(raddr) << 16 | rport;
        if (chaos_u64_push(&peers->keys, &peers->n, &peers->cap, key) != 0) {
            rc = -1;
            break;
        }
    }
    fclose(fp);
    if (peers->n > 1) {
        qsort(peers->keys, peers->n, sizeof(*peers->keys), chaos_u64_cmp);
        size_t k = 1;
        for (size_t i = 1; i < peers->n; i++) {
            if (peers->keys[i] != peers->keys[k - 1]) {
                peers->keys[k++] = peers->keys[i];
            }
        }
        peers->n = k;
    }
    return rc;
}

/* Reads of /proc/net/tcp this many times at most, until two agree. */
#define CHAOS_PEERS_READS 6

int chaos_peers_of(chaos_peers *peers, uint16_t port, const pid_t *pids, size_t n_pids)
{
    peers->n = 0;
    chaos_inodes in = {0};
    for (size_t i = 0; i < n_pids; i++) {
        if (chaos_socket_inodes(&in, pids[i]) != 0) {
            free(in.v);
            return -1;
        }
    }
    if (in.n > 1) {
        qsort(in.v, in.n, sizeof(*in.v), chaos_u64_cmp);
    }
    /* The kernel lists /proc/net/tcp a page at a time and finds its place again by counting, so
     * while other connections come and go a read can show one twice or miss one: keep each once,
     * and read again until two reads agree. */
    chaos_peers prev = {0};
    int rc = chaos_peers_read(peers, port, &in);
    for (int reads = 1; rc == 0 && reads < CHAOS_PEERS_READS; reads++) {
        chaos_peers t = prev; /* the last read becomes prev, its buffer is reused */
        prev = *peers;
        *peers = t;
        rc = chaos_peers_read(peers, port, &in);
        if (rc == 0 && peers->n == prev.n &&
            (peers->n == 0 || memcmp(peers->keys, prev.keys, peers->n * sizeof(uint64_t)) == 0)) {
            break;
        }
    }
    chaos_peers_fini(&prev);
    free(in.v);
    return rc;
}

int chaos_peers_has(const chaos_peers *peers, uint64_t key)
{
    return chaos_u64_has(peers->keys, peers->n, key);
}

void chaos_peers_fini(chaos_peers *peers)
{
    free(peers->keys);
    memset(peers, 0, sizeof(*peers));
}
