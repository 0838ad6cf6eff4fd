/* The worker's epoll set of client connections. Connections are not libevent events: they sit in
 * this set (level-triggered, data.ptr = the connection), and wk_conns_dispatch hands a batch
 * taken from it straight to the connections. This saves libevent's per-event dispatch and its
 * per-descriptor memory; timers, signals, listeners, the supervisor link and NATS stay on
 * libevent. The loop (wk_loop.c) waits on this set, which then also holds libevent's own
 * descriptor; where that cannot be, libevent watches the set as one readable descriptor
 * (wk_conns_on_ready). */
#include "wk_conn.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "wk_loop.h"
#include "wk_worker.h"
#include "wsf_log.h"

/* Interest is changed with one epoll_ctl. A connection that waits for nothing leaves the set:
 * errors and hang-ups are reported even for an empty interest set, and would be reported again
 * and again. A failed epoll_ctl (out of memory, or past max_user_watches) leaves the connection to
 * its deadline in the wheel. */
void wk_conns_watch(wk_conn *c, bool want_write)
{
    bool read_off = c->read_paused;
    c->want_write = want_write;
    c->read_off = read_off;
    uint32_t events = (read_off ? 0 : EPOLLIN) | (want_write ? EPOLLOUT : 0);
    if (events == 0 && !c->in_set)
        return;
    struct epoll_event e = {.events = events, .data.ptr = c};
    int op = events == 0 ? EPOLL_CTL_DEL : c->in_set ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(c->ctx->epfd, op, c->fd, &e) != 0) {
        wsf_log_warn("conn fd=%d: epoll_ctl: %s", c->fd, strerror(errno));
        return;
    }
    c->in_set = events != 0;
}

void wk_conns_forget(wk_conn *c)
{
    wk_ctx *ctx = c->ctx;
    if (c->in_set)
        epoll_ctl(ctx->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    c->in_set = false;
    for (int i = ctx->ep_next; i < ctx->ep_n; i++) {
        if (ctx->ep_batch[i].data.ptr == c)
            ctx->ep_batch[i].data.ptr = NULL;
    }
    for (size_t i = 0; i < ctx->nagain; i++) {
        if (ctx->again[i] == c)
            ctx->again[i] = NULL;
    }
}

void wk_conns_again(wk_conn *c)
{
    wk_ctx *ctx = c->ctx;
    if (ctx->nagain == ctx->again_cap) {
        ctx->again_cap = ctx->again_cap ? 2 * ctx->again_cap : 16;
        ctx->again = wsf_xrealloc(ctx->again, ctx->again_cap * sizeof *ctx->again);
    }
    ctx->again[ctx->nagain++] = c;
    if (ctx->conns_ev != NULL)
        event_active(ctx->conns_ev, EV_READ, 1);
}

void wk_conns_run_again(wk_ctx *ctx)
{
    if (ctx->nagain == 0)
        return;
    size_t nagain = ctx->nagain;
    for (size_t i = 0; i < nagain; i++) {
        wk_conn *c = ctx->again[i];
        ctx->again[i] = NULL;
        if (c != NULL && !c->dead)
            wk_conn_on_event(c, EV_READ);
    }
    memmove(ctx->again, ctx->again + nagain, (ctx->nagain - nagain) * sizeof *ctx->again);
    ctx->nagain -= nagain;
}

unsigned wk_conns_dispatch(wk_ctx *ctx, struct epoll_event *evs, int n)
{
    unsigned others = 0;
    ctx->ep_batch = evs;
    ctx->ep_n = n;
    for (int i = 0; i < n; i++) {
        wk_conn *c = evs[i].data.ptr;
        ctx->ep_next = i + 1;
        if (c == NULL)
            continue; /* closed while handling an earlier one */
        if ((void *)c == &ctx->lev_fd || (void *)c == &ctx->lev_timer) {
            others |= (void *)c == &ctx->lev_fd ? WK_CONNS_LIBEVENT : WK_CONNS_TIMER;
            continue;
        }
        uint32_t e = evs[i].events;
        short w = 0;
        if (e & (EPOLLERR | EPOLLHUP))
            w = EV_READ | EV_WRITE;
        else
            w = (short)(((e & EPOLLIN) ? EV_READ : 0) | ((e & EPOLLOUT) ? EV_WRITE : 0));
        /* Only what it still waits for: an earlier connection's fan-out may have changed it. */
        w &= (short)((c->read_off ? 0 : EV_READ) | (c->want_write ? EV_WRITE : 0));
        if (w != 0)
            wk_conn_on_event(c, w);
    }
    ctx->ep_batch = NULL;
    ctx->ep_n = ctx->ep_next = 0;
    return others;
}

/* Where libevent runs the loop: events taken from the set per epoll_wait, and batches per
 * wakeup; a busier set stays readable and is served again after libevent's other events have
 * had their turn. */
#define WK_EP_BATCH 64
#define WK_EP_ROUNDS 8

static void wk_conns_on_ready(evutil_socket_t fd, short what, void *arg)
{
    wk_ctx *ctx = arg;
    (void)fd;
    (void)what;
    /* TLS connections with input already decrypted, queued by an earlier pass. */
    wk_conns_run_again(ctx);
    struct epoll_event evs[WK_EP_BATCH];
    for (int round = 0; round < WK_EP_ROUNDS; round++) {
        int n = epoll_wait(ctx->epfd, evs, WK_EP_BATCH, 0);
        if (n <= 0)
            return;
        wk_conns_dispatch(ctx, evs, n);
        if (n < WK_EP_BATCH)
            return;
    }
}

int wk_conns_init(wk_ctx *ctx)
{
    ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ctx->epfd == -1) {
        wsf_log_error("cannot create the connections' epoll set: %s", strerror(errno));
        return -1;
    }
    if (wk_loop_attach(ctx) == 0)
        return 0; /* the loop waits on the set (wk_loop_run) */
    wsf_log_info("libevent (%s) runs the loop, the connections' set is one of its descriptors",
                 event_base_get_method(ctx->base));
    ctx->conns_ev = event_new(ctx->base, ctx->epfd, EV_READ | EV_PERSIST, wk_conns_on_ready, ctx);
    if (ctx->conns_ev == NULL || event_add(ctx->conns_ev, NULL) != 0) {
        wsf_log_error("cannot watch the connections' epoll set");
        if (ctx->conns_ev != NULL)
            event_free(ctx->conns_ev);
        ctx->conns_ev = NULL;
        close(ctx->epfd);
        ctx->epfd = -1;
        return -1;
    }
    return 0;
}

void wk_conns_fini(wk_ctx *ctx)
{
    if (ctx->epfd < 0)
        return;
    if (ctx->conns_ev != NULL)
        event_free(ctx->conns_ev);
    ctx->conns_ev = NULL;
    wk_loop_detach(ctx);
    close(ctx->epfd);
    ctx->epfd = -1;
    free(ctx->again);
    ctx->again = NULL;
    ctx->nagain = ctx->again_cap = 0;
}
