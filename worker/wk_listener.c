/* Listening sockets. Accepting drains the kernel queue in bounded batches and turns each socket
 * into a connection; when the worker is full the connection is still accepted, so that it can be
 * told 503 instead of waiting in the queue. */
#include "wk_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wk_conn.h"
#include "wk_worker.h"
#include "wsf_log.h"
#include "wsf_listen.h"

#define WK_ACCEPT_BATCH 64
#define WK_MAX_REJECTING 256 /* connections being answered 503 at once */

static void wk_listener_on_accept(evutil_socket_t fd, short what, void *arg)
{
    wk_listener *l = arg;
    wk_ctx *ctx = l->ctx;
    (void)what;

    for (int i = 0; i < WK_ACCEPT_BATCH && ctx->accepting; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors or memory: pause instead of spinning on a full queue. */
                wsf_log_warn("listener %s: accept failed: %s; pausing accepts for 1 s", l->name,
                             strerror(errno));
                ctx->accept_paused = true;
                wk_ctx_update_accepting(ctx);
                struct timeval pause = {1, 0};
                event_add(ctx->resume_accept, &pause);
                return;
            }
            wsf_log_error("listener %s: accept failed: %s", l->name, strerror(errno));
            return;
        }
        ctx->stats.accepted++;
        bool full = ctx->nconns >= ctx->cfg.max_connections;
        if (full && ctx->nrejecting >= WK_MAX_REJECTING) {
            close(cfd); /* even the 503 answers are saturated */
            ctx->stats.rejected_busy++;
            continue;
        }
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        wk_conn_start(ctx, cfd, full, l->tls);
    }
}

/* Records the socket's bound address as HOST:PORT or [HOST]:PORT. */
static void wk_listener_name(wk_listener *l)
{
    wsf_addr addr;
    if (wsf_listen_bound(&addr, l->fd) == 0)
        wsf_addr_name(l->name, sizeof l->name, &addr);
}

int wk_listener_adopt(wk_listener *l, wk_ctx *ctx, int fd)
{
    int accepting = 0;
    socklen_t len = sizeof accepting;
    l->ctx = ctx;
    l->fd = -1;
    snprintf(l->name, sizeof l->name, "fd %d", fd);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == -1 || !accepting) {
        wsf_log_error("inherited fd %d is not a listening socket", fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
        wsf_log_error("inherited fd %d: fcntl failed: %s", fd, strerror(errno));
        return -1;
    }
    l->fd = fd;
    wk_listener_name(l);
    event_assign(&l->ev, ctx->base, fd, EV_READ | EV_PERSIST, wk_listener_on_accept, l);
    return 0;
}

int wk_listener_open(wk_listener *l, wk_ctx *ctx, const char *spec)
{
    wsf_addr addr;
    const char *why;

    l->ctx = ctx;
    l->fd = -1;
    snprintf(l->name, sizeof l->name, "%s", spec);
    if (wsf_listen_resolve(&addr, spec, &why) != 0) {
        wsf_log_error("listen %s: %s", spec, why);
        return -1;
    }
    int fd = wsf_listen_socket(&addr, WSF_LISTEN_NONBLOCK);
    if (fd < 0) {
        wsf_log_error("listen %s: %s", spec, strerror(-fd));
        return -1;
    }
    l->fd = fd;
    wk_listener_name(l);
    event_assign(&l->ev, ctx->base, fd, EV_READ | EV_PERSIST, wk_listener_on_accept, l);
    return 0;
}

void wk_listener_enable(wk_listener *l, int on)
{
    if (l->fd == -1)
        return;
    if (on)
        event_add(&l->ev, NULL);
    else
        event_del(&l->ev);
}

void wk_listener_close(wk_listener *l)
{
    if (l->fd == -1)
        return;
    event_del(&l->ev);
    close(l->fd);
    l->fd = -1;
}
