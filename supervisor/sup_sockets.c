/* Listening sockets and steering. The supervisor creates one SO_REUSEPORT listener per slot and
 * address, in slot order, so that a socket's position in the kernel's reuseport group is its slot
 * index, and holds them for its whole life: a crashed worker's queued connections wait in its
 * socket for the replacement. A classic BPF program maps connection hashes to slots. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sup_ctx.h"
#include "wsf_log.h"
#include "wsf_parse.h"

#define SUP_STEER_REWEIGH_MS 5000

/* One reuseport listener bound to addr. Returns the fd or -errno. */
static int sup_listener(const struct sockaddr *addr, socklen_t len)
{
    int one = 1, err;
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == -1)
        goto fail;
    if (addr->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, addr, len) == -1 || listen(fd, SOMAXCONN) == -1)
        goto fail;
    return fd;
fail:
    err = errno;
    close(fd);
    return -err;
}

/* Opens the group of nslots listeners for one address. */
static int sup_listen_open(sup_ctx *ctx, sup_listen *l, const char *spec)
{
    char host[256], port[16];
    struct addrinfo hints = {0}, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t slen;
    int rc;

    for (unsigned i = 0; i < SUP_MAX_SLOTS; i++)
        l->fds[i] = -1;
    if (wsf_addr_split(host, sizeof host, port, sizeof port, spec) != 0) {
        wsf_log_error("listen %s: expected HOST:PORT or [V6HOST]:PORT", spec);
        return -1;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        wsf_log_error("listen %s: cannot resolve: %s", spec, gai_strerror(rc));
        return -1;
    }
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    slen = res->ai_addrlen;
    l->family = res->ai_family;
    freeaddrinfo(res);

    for (unsigned i = 0; i < ctx->nslots; i++) {
        int fd = sup_listener((struct sockaddr *)&ss, slen);
        if (fd < 0) {
            wsf_log_error("listen %s (slot %u): %s", spec, i, strerror(-fd));
            return -1;
        }
        l->fds[i] = fd;
        if (i == 0) {
            /* Port 0 picks a free port once; the rest of the group joins it. */
            getsockname(fd, (struct sockaddr *)&ss, &slen);
            char h[NI_MAXHOST], p[NI_MAXSERV];
            getnameinfo((struct sockaddr *)&ss, slen, h, sizeof h, p, sizeof p,
                        NI_NUMERICHOST | NI_NUMERICSERV);
            snprintf(l->name, sizeof l->name, l->family == AF_INET6 ? "[%s]:%s" : "%s:%s", h, p);
        }
    }
    wsf_log_info("listening on %s (%u sockets)", l->name, ctx->nslots);
    return 0;
}

int sup_sockets_open(sup_ctx *ctx)
{
    for (size_t i = 0; i < ctx->cfg.nlisten; i++) {
        if (ctx->nlistens == SUP_MAX_LISTEN) {
            wsf_log_error("at most %d listen addresses", SUP_MAX_LISTEN);
            return -1;
        }
        sup_listen *l = &ctx->listens[ctx->nlistens++];
        if (sup_listen_open(ctx, l, ctx->cfg.listen[i]) != 0)
            return -1;
    }
    ctx->steering_cbpf = true;
    return 0;
}

void sup_sockets_close(sup_ctx *ctx)
{
    for (size_t i = 0; i < ctx->nlistens; i++) {
        for (unsigned s = 0; s < SUP_MAX_SLOTS; s++) {
            if (ctx->listens[i].fds[s] != -1)
                close(ctx->listens[i].fds[s]);
            ctx->listens[i].fds[s] = -1;
        }
    }
    ctx->nlistens = 0;
}

void sup_sockets_steer(sup_ctx *ctx)
{
    sup_steer_slot in[SUP_MAX_SLOTS];
    uint32_t weights[SUP_MAX_SLOTS];
    uint32_t map[SUP_STEER_BUCKETS];
    unsigned counts[SUP_MAX_SLOTS];

    bool changed = !ctx->steer_valid || ctx->steer_dirty;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        in[i].eligible = !ctx->stopping && s->lc.state == SUP_SLOT_RUNNING && s->accepting &&
                         sup_breaker_weight(&s->breaker, &ctx->cfg.breaker) > 0;
        in[i].connections = s->has_report ? s->report.connections_active : 0;
        changed |= in[i].eligible != (ctx->steer_map_has[i] != 0);
    }
    /* Who may take connections changes the map at once. Load only re-weights it every few
     * seconds: Reports arrive at different moments, so during a burst of new connections the
     * counts disagree by the burst itself, and chasing them would make the spread worse. */
    uint64_t now = sup_now_ms();
    if (!changed && now - ctx->steer_weighed_ms < SUP_STEER_REWEIGH_MS)
        return;
    ctx->steer_weighed_ms = now;
    ctx->steer_dirty = false;
    sup_steer_weights(weights, in, ctx->nslots);
    for (unsigned i = 0; i < ctx->nslots; i++) {
        /* A half-open breaker admits only a trickle of probe connections. */
        unsigned permille = sup_breaker_weight(&ctx->slots[i].breaker, &ctx->cfg.breaker);
        if (weights[i] > 0 && permille < SUP_BREAKER_FULL_WEIGHT) {
            uint64_t w = (uint64_t)weights[i] * permille / SUP_BREAKER_FULL_WEIGHT;
            weights[i] = w > 0 ? (uint32_t)w : 1;
        }
    }
    int rc = sup_steer_map(map, weights, ctx->nslots);
    if (rc < 0) {
        /* Nobody can take connections: leave the last map in place, so queued connections
         * wait in sockets whose workers are coming back. */
        return;
    }
    sup_steer_count(counts, ctx->nslots, map);
    for (unsigned i = 0; i < ctx->nslots; i++) {
        ctx->slots[i].buckets = counts[i];
        ctx->steer_map_has[i] = counts[i] > 0;
    }
    if (ctx->steer_valid && memcmp(map, ctx->steer_map, sizeof map) == 0)
        return;
    memcpy(ctx->steer_map, map, sizeof map);
    ctx->steer_valid = true;
    if (!ctx->steering_cbpf)
        return;

    struct sock_filter prog[SUP_STEER_PROG_MAX];
    int n = sup_steer_program(prog, SUP_STEER_PROG_MAX, map);
    for (size_t i = 0; i < ctx->nlistens && n > 0; i++) {
        int err = sup_steer_attach(ctx->listens[i].fds[0], prog, (size_t)n);
        if (err != 0) {
            wsf_log_warn("steering: cannot attach the BPF program to %s (%s): falling back to "
                         "plain reuseport hashing",
                         ctx->listens[i].name, strerror(-err));
            ctx->steering_cbpf = false;
            return;
        }
    }
}
