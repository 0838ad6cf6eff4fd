/* tlsload's client connections: TCP connect, TLS, the HTTP request or WebSocket upgrade, then
 * echo frames or idling, all non-blocking on one epoll loop. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <zlib.h>

#include "tlsload.h"

void tl_conn_close(tl_ctx *t, tl_conn *c, bool rst)
{
    if (c->ssl != NULL) {
        if (t->o.resume && SSL_is_init_finished(c->ssl)) {
            SSL_SESSION *s = SSL_get1_session(c->ssl);
            if (s != NULL) {
                SSL_SESSION_free(t->sessions[c->idx]);
                t->sessions[c->idx] = s;
            }
        }
        /* Closed without close_notify: marked shut down anyway, or SSL_free would take the
         * session out of the resumable ones. */
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c->ssl);
    }
    if (rst) {
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->state == TL_UP && t->nup > 0)
        t->nup--;
    t->conns[c->idx] = NULL;
    free(c->out);
    free(c->in);
    free(c);
}

static void tl_queue(tl_conn *c, const void *data, size_t len)
{
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + len > c->out_cap) {
        c->out_cap = (c->out_len + len) * 2;
        c->out = tl_xrealloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

static void tl_watch(tl_ctx *t, tl_conn *c)
{
    bool w = c->state == TL_CONNECTING || c->want_write || c->out_off < c->out_len;
    struct epoll_event ev = {.events = EPOLLIN | (w ? EPOLLOUT : 0u), .data.ptr = c};
    epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

tl_conn *tl_conn_open(tl_ctx *t, int idx)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        t->errors++;
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t->o.port)};
    inet_pton(AF_INET, t->o.host, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == -1 && errno != EINPROGRESS) {
        close(fd);
        t->errors++;
        return NULL;
    }
    tl_conn *c = tl_xrealloc(NULL, sizeof *c);
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->idx = idx;
    c->state = TL_CONNECTING;
    t->conns[idx] = c;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev);
    return c;
}

static void tl_send_request(tl_ctx *t, tl_conn *c)
{
    char req[512];
    int n;
    if (strcmp(t->o.request, "get") == 0) {
        n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", t->o.path, t->o.host);
    } else {
        n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     t->o.path, t->o.host,
                     t->o.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; "
                                    "client_no_context_takeover; server_no_context_takeover\r\n"
                                  : "");
    }
    tl_queue(c, req, (size_t)n);
    c->state = TL_UPGRADING;
}

/* Writes what is queued. Returns 0, or -1 when the connection failed. */
static int tl_flush(tl_ctx *t, tl_conn *c)
{
    c->want_write = false;
    while (c->out_off < c->out_len) {
        size_t len = c->out_len - c->out_off;
        ssize_t n;
        if (c->ssl != NULL) {
            ERR_clear_error();
            int r = SSL_write(c->ssl, c->out + c->out_off, (int)len);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                    c->want_write = e == SSL_ERROR_WANT_WRITE;
                    return 0;
                }
                return -1;
            }
            n = r;
        } else {
            n = send(c->fd, c->out + c->out_off, len, MSG_NOSIGNAL);
            if (n == -1) {
                if (errno == EAGAIN || errno == EINTR)
                    return 0;
                return -1;
            }
        }
        c->out_off += (size_t)n;
        if (t->measuring)
            t->bytes_out += (uint64_t)n;
    }
    return 0;
}

static void tl_send_msgs(tl_ctx *t, tl_conn *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        tl_queue(c, t->frame, t->frame_len);
    c->inflight += n;
}

/* The upgrade was answered. Returns true when the connection was closed (handshake mode: closed
 * and a new one opened in its place). */
static bool tl_on_up(tl_ctx *t, tl_conn *c)
{
    c->state = TL_UP;
    if (strcmp(t->o.mode, "handshake") == 0) {
        if (t->measuring) {
            t->handshakes++;
            if (c->ssl != NULL && SSL_session_reused(c->ssl))
                t->resumed++;
        }
        int idx = c->idx;
        tl_conn_close(t, c, true);
        tl_conn_open(t, idx);
        return true;
    }
    t->nup++;
    if (strcmp(t->o.mode, "echo") == 0)
        tl_send_msgs(t, c, t->o.inflight);
    else if (t->o.size > 0)
        tl_send_msgs(t, c, 1);
    return false;
}

/* The response head in c->in: checks the status (and the extension when --deflate). Returns the
 * head's length, 0 while incomplete, -1 when refused. */
static long tl_on_head(tl_ctx *t, tl_conn *c)
{
    if (c->in_len < 4)
        return 0;
    uint8_t *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end - c->in) + 4;
    bool get = strcmp(t->o.request, "get") == 0;
    if (get ? memcmp(c->in, "HTTP/1.1 2", 10) != 0 : memcmp(c->in, "HTTP/1.1 101", 12) != 0) {
        t->refused++;
        return -1;
    }
    if (t->o.deflate && memmem(c->in, head, "permessage-deflate", 18) == NULL) {
        t->deflate_refused = true;
        return -1;
    }
    return (long)head;
}

/* Consumes whole frames from c->in: one echo each (data frames). Returns bytes consumed or -1. */
static long tl_on_frames(tl_ctx *t, tl_conn *c)
{
    size_t off = 0;
    while (c->in_len - off >= 2) {
        const uint8_t *p = c->in + off;
        size_t avail = c->in_len - off, h = 2;
        uint64_t len = p[1] & 0x7f;
        if (p[1] & 0x80)
            return -1; /* a server never masks */
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)p[2] << 8 | p[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
            h = 10;
        }
        if (avail - h < len)
            break;
        int op = p[0] & 0x0f;
        if (op == 0x8)
            return -1; /* the server closed */
        if ((op == 0x1 || op == 0x2 || op == 0x0) && (p[0] & 0x80)) {
            if (c->inflight > 0)
                c->inflight--;
            if (t->measuring)
                t->msgs++;
            if (strcmp(t->o.mode, "echo") == 0)
                tl_send_msgs(t, c, 1);
            else
                c->echoed = true;
        }
        off += h + (size_t)len;
    }
    return (long)off;
}

/* Reads what there is and acts on it. Returns 0, 1 when the connection was closed and replaced,
 * or -1 when it failed. */
static int tl_read(tl_ctx *t, tl_conn *c)
{
    for (;;) {
        ssize_t n;
        if (c->ssl != NULL) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, t->rbuf, (int)sizeof t->rbuf);
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                    return 0;
                if (e == SSL_ERROR_WANT_WRITE) {
                    c->want_write = true;
                    return 0;
                }
                return -1;
            }
            n = r;
        } else {
            n = recv(c->fd, t->rbuf, sizeof t->rbuf, 0);
            if (n == 0)
                return -1;
            if (n == -1)
                return errno == EAGAIN || errno == EINTR ? 0 : -1;
        }
        if (t->measuring)
            t->bytes_in += (uint64_t)n;
        if (c->in_len + (size_t)n > c->in_cap) {
            c->in_cap = (c->in_len + (size_t)n) * 2;
            c->in = tl_xrealloc(c->in, c->in_cap);
        }
        memcpy(c->in + c->in_len, t->rbuf, (size_t)n);
        c->in_len += (size_t)n;
        long used = 0;
        if (c->state == TL_UPGRADING) {
            used = tl_on_head(t, c);
            if (used <= 0) {
                if (used < 0)
                    return -1;
                continue;
            }
            memmove(c->in, c->in + used, c->in_len - (size_t)used);
            c->in_len -= (size_t)used;
            if (tl_on_up(t, c))
                return 1; /* handshake mode closed it */
        }
        used = tl_on_frames(t, c);
        if (used < 0)
            return -1;
        memmove(c->in, c->in + used, c->in_len - (size_t)used);
        c->in_len -= (size_t)used;
    }
}

static int tl_start_tls(tl_ctx *t, tl_conn *c)
{
    c->ssl = SSL_new(t->ssl_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return -1;
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    if (t->o.resume && t->sessions[c->idx] != NULL)
        SSL_set_session(c->ssl, t->sessions[c->idx]);
    SSL_set_connect_state(c->ssl);
    c->state = TL_TLS;
    return 0;
}

/* One readiness event. Returns 0, 1 when the connection was closed and replaced, or -1 when it
 * failed. */
static int tl_on_event(tl_ctx *t, tl_conn *c, uint32_t events)
{
    if (c->state == TL_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP)))
            return -1;
        if (!(events & EPOLLOUT))
            return 0;
        if (!t->o.tls)
            tl_send_request(t, c);
        else if (tl_start_tls(t, c) != 0)
            return -1;
    }
    if (c->state == TL_TLS) {
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                c->want_write = e == SSL_ERROR_WANT_WRITE;
                return 0;
            }
            return -1;
        }
        c->want_write = false;
        tl_send_request(t, c);
    }
    if (tl_flush(t, c) != 0)
        return -1;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        int r = tl_read(t, c);
        if (r < 0)
            return -1;
        if (r > 0)
            return 1;
    }
    return tl_flush(t, c);
}

void tl_run_until(tl_ctx *t, uint64_t deadline)
{
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = tl_now_ns();
        if (now >= deadline)
            return;
        int ms = (int)((deadline - now) / 1000000u) + 1;
        int n = epoll_wait(t->ep, evs, 256, ms > 100 ? 100 : ms);
        for (int i = 0; i < n; i++) {
            tl_conn *c = evs[i].data.ptr;
            int idx = c->idx;
            int r = tl_on_event(t, c, evs[i].events);
            if (r < 0) {
                t->errors++;
                bool hs = strcmp(t->o.mode, "handshake") == 0;
                tl_conn_close(t, c, hs);
                if (hs)
                    tl_conn_open(t, idx);
                continue;
            }
            if (t->conns[idx] != NULL)
                tl_watch(t, t->conns[idx]);
        }
    }
}
