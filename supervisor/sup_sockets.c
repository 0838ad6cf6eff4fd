/* Listening sockets and steering. The supervisor creates one SO_REUSEPORT listener per slot and
 * address, in slot order, so that a socket's position in the kernel's reuseport group is its slot
 * index, and holds them for its whole life: a crashed worker's queued connections wait in its
 * socket for the replacement. A classic BPF program maps connection hashes to slots. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sup_ctx.h"
#include "wsf_log.h"
#include "wsf_listen.h"

#define SUP_STEER_REWEIGH_MS 5000

/* Whether this fleet may create its group on addr. Nobody else may listen there: joining a
 * foreign SO_REUSEPORT group (another fleet, a stray process of the same uid) would queue
 * connections on sockets that no worker of ours accepts from, and a listener on an overlapping
 * address (0.0.0.0:P beside 127.0.0.1:P) would take the connections meant for us. The probe is
 * held until the group listens, which keeps listeners without SO_REUSEADDR out meanwhile.
 * Port 0 needs no probe: the kernel picks a port nobody uses for the group's first socket.
 * adopt_fd, when not -1, is a listener of this fleet's own (an orphan's, a re-executed
 * supervisor's) on this address: the one case where existing listeners are ours; adopting them
 * is decided by the caller, and the probe is skipped. Returns 0 with *probe_fd set (-1 when no
 * probe was needed), SUP_SOCKETS_TAKEN with one line logged, or -1. */
static int sup_listen_check(int *probe_fd, const wsf_addr *addr, const char *spec, int adopt_fd)
{
    *probe_fd = -1;
    if (wsf_addr_port(addr) == 0 || adopt_fd != -1)
        return 0;
    int rc = wsf_listen_probe(probe_fd, addr);
    if (rc == -EADDRINUSE) {
        char name[WSF_LISTEN_NAME_MAX];
        wsf_addr_name(name, sizeof name, addr);
        wsf_log_error("listen %s: address %s already has listeners this fleet does not hold "
                      "(another fleet or process); refusing to share it",
                      spec, name);
        return SUP_SOCKETS_TAKEN;
    }
    if (rc != 0) {
        wsf_log_error("listen %s: cannot bind: %s", spec, strerror(-rc));
        return -1;
    }
    return 0;
}

/* Opens the group of nslots listeners for one address, in slot order. */
static int sup_listen_open(sup_ctx *ctx, sup_listen *l, const char *spec)
{
    wsf_addr addr;
    const char *why;
    int probe = -1, rc = -1;

    for (unsigned i = 0; i < SUP_MAX_SLOTS; i++)
        l->fds[i] = -1;
    if (wsf_listen_resolve(&addr, spec, &why) != 0) {
        wsf_log_error("listen %s: %s", spec, why);
        return -1;
    }
    l->family = addr.ss.ss_family;
    for (sup_listen *o = ctx->listens; o < l; o++) {
        wsf_addr other;
        if (wsf_listen_bound(&other, o->fds[0]) == 0 && wsf_addr_overlaps(&addr, &other)) {
            wsf_log_error("listen %s: overlaps this fleet's listen address %s: list it once", spec,
                          o->name);
            return SUP_SOCKETS_TAKEN;
        }
    }
    rc = sup_listen_check(&probe, &addr, spec, SUP_SOCKETS_NO_ADOPT);
    if (rc != 0)
        return rc;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        int fd = wsf_listen_socket(&addr, WSF_LISTEN_REUSEPORT);
        if (fd < 0) {
            wsf_log_error("listen %s (slot %u): %s", spec, i, strerror(-fd));
            rc = -1;
            goto out;
        }
        l->fds[i] = fd;
        if (i == 0) {
            /* Port 0 picks a free port once; the rest of the group joins it. */
            int err = wsf_listen_bound(&addr, fd);
            if (err != 0) {
                wsf_log_error("listen %s: getsockname: %s", spec, strerror(-err));
                rc = -1;
                goto out;
            }
            wsf_addr_name(l->name, sizeof l->name, &addr);
        }
    }
    /* The probe cannot keep out a process that sets SO_REUSEADDR and SO_REUSEPORT between the
     * probe and the group (nor one bound with SO_REUSEADDR beside a probe that does not listen):
     * count again now that the group listens. One that comes later still takes nothing, as the
     * BPF program only ever picks our slots' positions in the group. */
    int foreign = wsf_listen_foreign(&addr, l->fds, ctx->nslots);
    if (foreign > 0) {
        wsf_log_error("listen %s: address %s already has listeners this fleet does not hold "
                      "(another fleet or process); refusing to share it",
                      spec, l->name);
        rc = SUP_SOCKETS_TAKEN;
        goto out;
    }
    if (foreign < 0)
        wsf_log_warn("listen %s: cannot list the host's listeners: %s", spec, strerror(-foreign));
    wsf_log_info("listening on %s (%u sockets%s)", l->name, ctx->nslots, l->tls ? ", TLS" : "");
    rc = 0;
out:
    if (probe != -1)
        close(probe);
    return rc;
}

int sup_sockets_open(sup_ctx *ctx)
{
    /* [fleet] listen first, then [tls] listen: a listener's index is its place in the workers'
     * descriptors and in the groups an orphan offers (sup_config_listen_at). */
    for (size_t i = 0; i < ctx->cfg.nlisten + ctx->cfg.tls.nlisten; i++) {
        if (ctx->nlistens == SUP_MAX_LISTEN) {
            wsf_log_error("at most %d listen addresses", SUP_MAX_LISTEN);
            return -1;
        }
        sup_listen *l = &ctx->listens[ctx->nlistens++];
        l->tls = i >= ctx->cfg.nlisten;
        int rc = sup_listen_open(ctx, l, sup_config_listen_at(&ctx->cfg, i));
        if (rc != 0)
            return rc;
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
