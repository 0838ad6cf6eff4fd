/* Listening sockets. Accepting drains the kernel queue in bounded batches and turns each socket
 * into a connection; when the worker is full the connection is still accepted, so that it can be
 * told 503 instead of waiting in the queue. */
#include "wk_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wk_conn.h"
#include "wk_worker.h"
#include "wsf_log.h"
#include "wsf_parse.h"

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
        wk_conn_start(ctx, cfd, full);
    }
}

/* Records the socket's bound address as HOST:PORT or [HOST]:PORT. */
static void wk_listener_name(wk_listener *l)
{
    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getsockname(l->fd, (struct sockaddr *)&ss, &slen) == 0 &&
        getnameinfo((struct sockaddr *)&ss, slen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        snprintf(l->name, sizeof l->name, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
                 port);
    }
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
    char host[256], port[16];
    struct addrinfo hints = {0}, *res = NULL;
    int fd = -1, rc = -1, err;

    l->ctx = ctx;
    l->fd = -1;
    snprintf(l->name, sizeof l->name, "%s", spec);
    if (wsf_addr_split(host, sizeof host, port, sizeof port, spec) != 0) {
        wsf_log_error("listen %s: expected HOST:PORT or [V6HOST]:PORT, port 0-65535", spec);
        return -1;
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    err = getaddrinfo(host, port, &hints, &res);
    if (err != 0) {
        wsf_log_error("listen %s: cannot resolve: %s", spec, gai_strerror(err));
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        wsf_log_error("listen %s: socket failed: %s", spec, strerror(errno));
        goto out;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (res->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
        wsf_log_error("listen %s: bind failed: %s", spec, strerror(errno));
        goto out;
    }
    if (listen(fd, SOMAXCONN) == -1) {
        wsf_log_error("listen %s: listen failed: %s", spec, strerror(errno));
        goto out;
    }
    l->fd = fd;
    wk_listener_name(l);
    event_assign(&l->ev, ctx->base, fd, EV_READ | EV_PERSIST, wk_listener_on_accept, l);
    fd = -1;
    rc = 0;
out:
    if (fd != -1)
        close(fd);
    freeaddrinfo(res);
    return rc;
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
