/* The worker's main loop. Client connections sit in the worker's own epoll set (wk_connset.c);
 * libevent keeps timers, signals, listeners, the supervisor link and NATS. The loop blocks in
 * epoll_wait on the connections' set, which also holds libevent's own epoll descriptor and a
 * timerfd armed for libevent's next timer: a wakeup with only connections ready costs that one
 * system call, and libevent runs (without blocking) only when something of its own is ready, a
 * timer of its is due or an event of its was activated. Where libevent's descriptor cannot be had
 * (another backend, or changes deferred by its changelist), libevent runs the loop and watches the
 * set as one descriptor instead (wk_conns_on_ready). */
#include "wk_loop.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "wk_conn.h"
#include "wk_worker.h"
#include "wsf_buf.h"
#include "wsf_log.h"

/* Events taken from the set per epoll_wait. */
#define WK_LOOP_BATCH 256

struct event_base *wk_loop_base_new(int *lev_fd)
{
    *lev_fd = -1;
    /* libevent's epoll backend makes its epoll descriptor first, so it gets the lowest free
     * number; nothing else in the process opens descriptors before the loop runs. */
    int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (probe != -1)
        close(probe);
    struct event_base *base = event_base_new();
    if (base == NULL || probe == -1 || strcmp(event_base_get_method(base), "epoll") != 0 ||
        getenv("EVENT_EPOLL_USE_CHANGELIST") != NULL)
        return base;
    /* Only an epoll descriptor takes epoll_wait; libevent has nothing in its set yet, so this
     * takes nothing from it. */
    struct epoll_event e;
    if (epoll_wait(probe, &e, 1, 0) == 0)
        *lev_fd = probe;
    return base;
}

/* Gathers libevent's events into ctx->lev_scan. event_pending cannot be called from inside
 * event_base_foreach_event: with libevent's locking on (the NATS connection's events are armed
 * from libnats' threads) both take the base's lock, which does not nest. Only the loop thread
 * frees events, so the gathered ones stay valid. */
struct wk_loop_scan {
    wk_ctx *ctx;
    size_t n;
};

static int wk_loop_on_event(const struct event_base *base, const struct event *ev, void *arg)
{
    struct wk_loop_scan *scan = arg;
    wk_ctx *ctx = scan->ctx;
    (void)base;
    if (scan->n == ctx->lev_scan_cap) {
        ctx->lev_scan_cap = ctx->lev_scan_cap ? 2 * ctx->lev_scan_cap : 32;
        ctx->lev_scan = wsf_xrealloc(ctx->lev_scan, ctx->lev_scan_cap * sizeof *ctx->lev_scan);
    }
    ctx->lev_scan[scan->n++] = (struct event *)ev;
    return 0;
}

/* The earliest timeout among libevent's events, as wall-clock time (event_pending's). */
struct wk_loop_next {
    struct timeval at;
    bool any;
};

static struct wk_loop_next wk_loop_next_timeout(wk_ctx *ctx)
{
    struct wk_loop_scan scan = {.ctx = ctx, .n = 0};
    struct wk_loop_next next = {.any = false};
    event_base_foreach_event(ctx->base, wk_loop_on_event, &scan);
    for (size_t i = 0; i < scan.n; i++) {
        struct timeval tv;
        if (!(event_pending(ctx->lev_scan[i], EV_TIMEOUT, &tv) & EV_TIMEOUT))
            continue;
        if (!next.any || timercmp(&tv, &next.at, <)) {
            next.at = tv;
            next.any = true;
        }
    }
    return next;
}

/* Arms the timerfd for libevent's next timer (disarms it without one). after_pass: libevent just
 * ran; a timer it left due is one its coarser clock has not reached yet, looked at again one tick
 * of that clock later rather than at once. fired: the timerfd expired, so it is set again even
 * for the same deadline (else an unchanged deadline costs no system call). */
static void wk_loop_arm(wk_ctx *ctx, bool after_pass, bool fired)
{
    struct wk_loop_next next = wk_loop_next_timeout(ctx);
    ctx->lev_added = event_base_get_num_events(ctx->base, EVENT_BASE_COUNT_ADDED);
    if (!fired && next.any == ctx->lev_armed_any &&
        (!next.any || timercmp(&next.at, &ctx->lev_armed, ==)))
        return;
    ctx->lev_armed = next.at;
    ctx->lev_armed_any = next.any;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (next.any) {
        struct timeval now;
        gettimeofday(&now, NULL);
        int64_t us = (int64_t)(next.at.tv_sec - now.tv_sec) * 1000000 +
                     (next.at.tv_usec - now.tv_usec);
        if (us <= 0)
            us = after_pass ? ctx->lev_lag_us : 1; /* 0 would disarm */
        its.it_value.tv_sec = (time_t)(us / 1000000);
        its.it_value.tv_nsec = (long)(us % 1000000) * 1000;
    }
    if (timerfd_settime(ctx->lev_timer, 0, &its, NULL) == -1)
        wsf_log_warn("timerfd_settime: %s", strerror(errno));
}

int wk_loop_attach(wk_ctx *ctx)
{
    if (ctx->lev_fd < 0)
        return -1;
    ctx->lev_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ctx->lev_timer == -1) {
        wsf_log_warn("timerfd_create: %s: libevent runs the loop", strerror(errno));
        ctx->lev_fd = -1;
        return -1;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = &ctx->lev_fd};
    struct epoll_event t = {.events = EPOLLIN, .data.ptr = &ctx->lev_timer};
    if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, ctx->lev_fd, &e) == -1 ||
        epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, ctx->lev_timer, &t) == -1) {
        wsf_log_warn("epoll_ctl: %s: libevent runs the loop", strerror(errno));
        epoll_ctl(ctx->epfd, EPOLL_CTL_DEL, ctx->lev_fd, NULL);
        close(ctx->lev_timer);
        ctx->lev_timer = -1;
        ctx->lev_fd = -1;
        return -1;
    }
    /* libevent's clock is CLOCK_MONOTONIC_COARSE unless told otherwise: a timer is due for it
     * up to one of its ticks after it is for us. */
    struct timespec res;
    ctx->lev_lag_us = 1000;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0 && res.tv_sec == 0 &&
        res.tv_nsec / 1000 > ctx->lev_lag_us)
        ctx->lev_lag_us = res.tv_nsec / 1000;
    return 0;
}

void wk_loop_detach(wk_ctx *ctx)
{
    if (ctx->lev_timer >= 0)
        close(ctx->lev_timer);
    ctx->lev_timer = -1;
    free(ctx->lev_scan);
    ctx->lev_scan = NULL;
    ctx->lev_scan_cap = 0;
    ctx->lev_fd = -1;
}

void wk_loop_quit(wk_ctx *ctx)
{
    ctx->quit = true;
    event_base_loopbreak(ctx->base);
}

/* One pass of libevent that does not block: due timers, ready descriptors, activated events. */
static int wk_loop_pass(wk_ctx *ctx, bool fired)
{
    if (event_base_loop(ctx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK) == -1) {
        wsf_log_error("event loop failed: %s", strerror(errno));
        return -1;
    }
    wk_loop_arm(ctx, true, fired);
    return 0;
}

int wk_loop_run(wk_ctx *ctx)
{
    if (ctx->lev_fd < 0) {
        if (event_base_dispatch(ctx->base) == -1) {
            wsf_log_error("event loop failed: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    struct epoll_event evs[WK_LOOP_BATCH];
    /* A first pass: whatever the start left active or due. */
    unsigned ready = WK_CONNS_LIBEVENT | WK_CONNS_TIMER;
    while (!ctx->quit) {
        int active = event_base_get_num_events(ctx->base, EVENT_BASE_COUNT_ACTIVE);
        if (ready != 0 || active > 0) {
            if (wk_loop_pass(ctx, (ready & WK_CONNS_TIMER) != 0) != 0)
                return -1;
            ready = 0;
            if (ctx->quit)
                break;
            active = event_base_get_num_events(ctx->base, EVENT_BASE_COUNT_ACTIVE);
        } else if (event_base_get_num_events(ctx->base, EVENT_BASE_COUNT_ADDED) !=
                   ctx->lev_added) {
            /* A connection's handling added or removed an event of libevent's (a backend
             * request's deadline, say). A pending timer moved earlier without that is not seen
             * here; the worker does not do that outside libevent's callbacks. */
            wk_loop_arm(ctx, false, false);
        }
        /* Activated events and TLS input already decrypted are handled without waiting. */
        int timeout = active > 0 || ctx->nagain > 0 ? 0 : -1;
        int n = epoll_wait(ctx->epfd, evs, WK_LOOP_BATCH, timeout);
        if (n == -1) {
            if (errno == EINTR)
                continue; /* a signal: libevent's descriptor is readable now */
            wsf_log_error("epoll_wait: %s", strerror(errno));
            return -1;
        }
        wk_conns_run_again(ctx);
        ready = wk_conns_dispatch(ctx, evs, n);
    }
    return 0;
}
