/* Listening sockets shared by wsfleetd (reuseport groups) and a standalone wsworker. */
#include "wsf_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsf_parse.h"

int wsf_listen_resolve(wsf_addr *out, const char *spec, const char **why)
{
    char host[256], port[16];
    struct addrinfo hints = {0}, *res = NULL;

    if (wsf_addr_split(host, sizeof host, port, sizeof port, spec) != 0) {
        *why = "expected HOST:PORT or [V6HOST]:PORT, port 0-65535";
        return -EINVAL;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        *why = gai_strerror(rc);
        return -ENOENT;
    }
    if (res->ai_addrlen > sizeof out->ss) {
        freeaddrinfo(res);
        *why = "address family not supported";
        return -ENOENT;
    }
    memset(out, 0, sizeof *out);
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

unsigned wsf_addr_port(const wsf_addr *addr)
{
    if (addr->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
}

void wsf_addr_set_port(wsf_addr *addr, unsigned port)
{
    if (addr->ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&addr->ss)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&addr->ss)->sin_port = htons((uint16_t)port);
}

/* A TCP socket for addr with SO_REUSEADDR, and IPV6_V6ONLY for IPv6, not yet bound. */
static int wsf_listen_new(const wsf_addr *addr, int type_flags)
{
    int one = 1;
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | type_flags, 0);
    if (fd == -1)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
        (addr->ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == -1)) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int wsf_listen_socket(const wsf_addr *addr, unsigned flags)
{
    int one = 1, err;
    int fd = wsf_listen_new(addr, (flags & WSF_LISTEN_NONBLOCK) ? SOCK_NONBLOCK : 0);
    if (fd < 0)
        return fd;
    if ((flags & WSF_LISTEN_REUSEPORT) &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == -1)
        goto fail;
    if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) == -1 ||
        listen(fd, SOMAXCONN) == -1)
        goto fail;
    return fd;
fail:
    err = errno;
    close(fd);
    return -err;
}

int wsf_listen_bound(wsf_addr *out, int fd)
{
    wsf_addr a = {.len = sizeof a.ss};
    if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) == -1)
        return -errno;
    *out = a;
    return 0;
}

void wsf_addr_name(char *out, size_t cap, const wsf_addr *addr)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getnameinfo((const struct sockaddr *)&addr->ss, addr->len, host, sizeof host, port,
                    sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, cap, "(unnamed address)");
        return;
    }
    snprintf(out, cap, addr->ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

int wsf_listen_probe(int *out, const wsf_addr *addr)
{
    if (wsf_addr_port(addr) == 0)
        return -EINVAL; /* port 0 would probe some other, free port */
    int fd = wsf_listen_new(addr, 0);
    if (fd < 0)
        return fd;
    if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) == -1) {
        int err = errno;
        close(fd);
        return -err;
    }
    *out = fd;
    return 0;
}

/* The address in /proc/net/tcp{,6}'s hex form (the raw 32-bit words, each printed as a
 * host-order number), or false if hex is not that. */
static bool wsf_proc_addr(uint8_t *out, size_t len, const char *hex)
{
    if (strlen(hex) != len * 2)
        return false;
    for (size_t w = 0; w < len / 4; w++) {
        char word[9];
        memcpy(word, hex + w * 8, 8);
        word[8] = '\0';
        uint32_t v = (uint32_t)strtoul(word, NULL, 16);
        memcpy(out + w * 4, &v, 4);
    }
    return true;
}

/* addr's address bytes and their length. */
static const uint8_t *wsf_addr_bytes(const wsf_addr *addr, size_t *len)
{
    if (addr->ss.ss_family == AF_INET6) {
        *len = 16;
        return ((const struct sockaddr_in6 *)&addr->ss)->sin6_addr.s6_addr;
    }
    *len = 4;
    return (const uint8_t *)&((const struct sockaddr_in *)&addr->ss)->sin_addr;
}

static bool wsf_bytes_overlap(const uint8_t *a, const uint8_t *b, size_t len)
{
    static const uint8_t zero[16];
    return memcmp(a, b, len) == 0 || memcmp(a, zero, len) == 0 || memcmp(b, zero, len) == 0;
}

bool wsf_addr_overlaps(const wsf_addr *a, const wsf_addr *b)
{
    size_t alen, blen;
    const uint8_t *ab = wsf_addr_bytes(a, &alen), *bb = wsf_addr_bytes(b, &blen);
    return a->ss.ss_family == b->ss.ss_family && wsf_addr_port(a) != 0 &&
           wsf_addr_port(a) == wsf_addr_port(b) && wsf_bytes_overlap(ab, bb, alen);
}

int wsf_listen_foreign(const wsf_addr *addr, const int *fds, size_t nfds)
{
    bool v6 = addr->ss.ss_family == AF_INET6;
    size_t alen;
    const uint8_t *mine = wsf_addr_bytes(addr, &alen);
    unsigned port = wsf_addr_port(addr);
    FILE *f = fopen(v6 ? "/proc/net/tcp6" : "/proc/net/tcp", "re");
    if (f == NULL)
        return -errno;
    char line[512], hex[40];
    int foreign = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned lport, state;
        unsigned long inode;
        uint8_t theirs[16];
        if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u %*u %lu", hex, &lport,
                   &state, &inode) != 4 ||
            state != 0x0A /* TCP_LISTEN */ || lport != port || !wsf_proc_addr(theirs, alen, hex))
            continue;
        if (!wsf_bytes_overlap(theirs, mine, alen))
            continue; /* another address on the same port */
        bool ours = false;
        for (size_t i = 0; i < nfds && !ours; i++) {
            struct stat st;
            ours = fds[i] >= 0 && fstat(fds[i], &st) == 0 && (unsigned long)st.st_ino == inode;
        }
        foreign += !ours;
    }
    fclose(f);
    return foreign;
}
