/* One wsload client connection on raw non-blocking sockets and two libevent events (read, write).
 */
#include "chaos_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ws_frame.h"
#include "ws_writer.h"

#define CHAOS_REQUEST_MAX 1024

static void chaos_conn_on_read(evutil_socket_t fd, short what, void *arg);
static void chaos_conn_on_write(evutil_socket_t fd, short what, void *arg);

void chaos_conn_init(chaos_conn *c, chaos_env *env, size_t index)
{
    memset(c, 0, sizeof(*c));
    c->env = env;
    c->index = index;
    c->fd = -1;
    c->rng = (uint32_t)(index * 2654435761u) ^ 0x6d2b79f5u;
    if (c->rng == 0) {
        c->rng = 1;
    }
}

/* Masks need not be secret against this server, only non-zero and varying. */
static void chaos_conn_mask(chaos_conn *c, uint8_t mask[4])
{
    uint32_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rng = x;
    memcpy(mask, &x, 4);
}

/* libevent's event_free does not accept NULL. */
static void chaos_conn_free_event(struct event **ev)
{
    if (*ev != NULL) {
        event_free(*ev);
        *ev = NULL;
    }
}

static void chaos_conn_teardown(chaos_conn *c)
{
    chaos_conn_free_event(&c->rev);
    chaos_conn_free_event(&c->wev);
    if (c->fd != -1) {
        close(c->fd);
        c->fd = -1;
    }
    c->state = CHAOS_CONN_DOWN;
    /* Keep the storage for the next attempt; drop the bytes. */
    c->rbuf.off = c->rbuf.len = 0;
    c->wbuf.off = c->wbuf.len = 0;
}

void chaos_conn_abort(chaos_conn *c)
{
    chaos_conn_teardown(c);
}

void chaos_conn_fini(chaos_conn *c)
{
    chaos_conn_teardown(c);
    wsf_buf_fini(&c->rbuf);
    wsf_buf_fini(&c->wbuf);
}

/* Ends the connection and tells the runner. The caller returns at once: the runner may already have
 * started the slot again. */
static void chaos_conn_fail(chaos_conn *c, enum chaos_err err, const char *why, int sys_errno)
{
    c->why = why;
    c->sys_errno = sys_errno;
    chaos_conn_teardown(c);
    c->env->on_closed(c, err, c->env->arg);
}

int chaos_conn_start(chaos_conn *c)
{
    const chaos_wsload_opts *o = c->env->opts;
    int fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        c->why = "socket";
        c->sys_errno = errno;
        return -errno;
    }
    int one = 1;
    /* Small pipelined messages must not wait for Nagle. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc;
    do {
        rc = connect(fd, (const struct sockaddr *)&o->addr, o->addr_len);
    } while (rc == -1 && errno == EINTR);
    if (rc == -1 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        c->why = "connect";
        c->sys_errno = err;
        return -err;
    }
    c->fd = fd;
    c->state = CHAOS_CONN_CONNECTING;
    c->sent = c->echoed = 0;
    c->rx_off = 0;
    c->upgraded = false;
    c->close_received = false;
    c->why = NULL;
    c->sys_errno = 0;
    ws_http_scan_init(&c->scan);
    c->rev = event_new(c->env->base, fd, EV_READ | EV_PERSIST, chaos_conn_on_read, c);
    c->wev = event_new(c->env->base, fd, EV_WRITE | EV_PERSIST, chaos_conn_on_write, c);
    if (c->rev == NULL || c->wev == NULL) {
        chaos_conn_teardown(c);
        c->why = "event_new";
        return -ENOMEM;
    }
    event_add(c->wev, NULL);
    return 0;
}

/* Arms the write event for bytes queued from outside the read handler; inside it, the handler's
 * own write at the end covers them, and arming would only cost two epoll_ctl calls. */
static void chaos_conn_want_write(chaos_conn *c)
{
    if (!c->in_read) {
        event_add(c->wev, NULL);
    }
}

/* Queues one masked frame whose payload is copied from data. */
static void chaos_conn_queue_frame(chaos_conn *c, int opcode, const uint8_t *data, size_t len)
{
    uint8_t mask[4];
    chaos_conn_mask(c, mask);
    uint8_t *p = wsf_buf_reserve(&c->wbuf, ws_frame_size(len, true));
    c->wbuf.len += ws_frame_write(p, true, opcode, data, len, mask);
}

void chaos_conn_send(chaos_conn *c, uint64_t n)
{
    const chaos_payload *pl = &c->env->payload;
    int opcode = pl->binary ? WS_OP_BINARY : WS_OP_TEXT;
    size_t frame = ws_frame_size(pl->size, true);

    if (c->state != CHAOS_CONN_OPEN || n == 0) {
        return;
    }
    uint8_t *p = wsf_buf_reserve(&c->wbuf, frame * n);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t mask[4];
        chaos_conn_mask(c, mask);
        size_t h = ws_frame_header(p, true, opcode, pl->size, mask);
        /* Build the body in place and mask it there: no staging copy. */
        chaos_payload_fill(pl, p + h, chaos_payload_tag(c->index, c->sent));
        ws_mask(p + h, pl->size, mask, 0);
        p += h + pl->size;
        c->wbuf.len += h + pl->size;
        c->sent++;
    }
    chaos_conn_want_write(c);
}

void chaos_conn_close(chaos_conn *c)
{
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];

    if (c->state != CHAOS_CONN_OPEN) {
        return;
    }
    size_t n = ws_close_payload(payload, WS_CLOSE_NORMAL, "");
    chaos_conn_queue_frame(c, WS_OP_CLOSE, payload, n);
    c->state = CHAOS_CONN_CLOSING;
    chaos_conn_want_write(c);
}

/* Writes what is queued. Returns 0 (the write event stays armed while bytes remain), or -1 after
 * failing the connection. */
static int chaos_conn_flush(chaos_conn *c)
{
    while (wsf_buf_pending(&c->wbuf) > 0) {
        ssize_t n =
            send(c->fd, c->wbuf.data + c->wbuf.off, wsf_buf_pending(&c->wbuf), MSG_NOSIGNAL);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                event_add(c->wev, NULL);
                return 0;
            }
            chaos_conn_fail(c, CHAOS_ERR_CLOSED, "send", errno);
            return -1;
        }
        wsf_buf_consume(&c->wbuf, (size_t)n);
    }
    event_del(c->wev);
    return 0;
}

static void chaos_conn_on_connected(chaos_conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
        err = errno;
    }
    if (err != 0) {
        chaos_conn_fail(c, CHAOS_ERR_CONNECT, "connect", err);
        return;
    }
    ws_http_make_key(c->key);
    char *p = (char *)wsf_buf_reserve(&c->wbuf, CHAOS_REQUEST_MAX);
    size_t n =
        ws_http_write_request(p, CHAOS_REQUEST_MAX, c->env->opts->host, c->env->opts->path, c->key);
    if (n == 0) {
        chaos_conn_fail(c, CHAOS_ERR_HANDSHAKE, "request too long", 0);
        return;
    }
    c->wbuf.len += n;
    c->state = CHAOS_CONN_HANDSHAKE;
    event_add(c->rev, NULL);
    chaos_conn_flush(c);
}

static void chaos_conn_on_write(evutil_socket_t fd, short what, void *arg)
{
    chaos_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->state == CHAOS_CONN_CONNECTING) {
        chaos_conn_on_connected(c);
        return;
    }
    chaos_conn_flush(c);
}

/* Checks one chunk of an echo against what was sent. Returns 0, or -1 after failing the
 * connection. */
static int chaos_conn_on_data(chaos_conn *c, const ws_event *ev)
{
    const chaos_payload *pl = &c->env->payload;

    if (c->state == CHAOS_CONN_CLOSING) {
        return 0; /* echoes still in flight when the runner stopped: not counted */
    }
    if (c->echoed == c->sent) {
        chaos_conn_fail(c, CHAOS_ERR_ECHO, "message nobody sent", 0);
        return -1;
    }
    int want = pl->binary ? WS_OP_BINARY : WS_OP_TEXT;
    if (ev->first && (c->rx_off != 0 || ev->opcode != want)) {
        chaos_conn_fail(c, CHAOS_ERR_ECHO, "wrong opcode or message boundary", 0);
        return -1;
    }
    uint32_t tag = chaos_payload_tag(c->index, c->echoed);
    if (!chaos_payload_matches(pl, ev->data, ev->len, tag, c->rx_off)) {
        chaos_conn_fail(c, CHAOS_ERR_ECHO, "echo content or order differs", 0);
        return -1;
    }
    c->rx_off += ev->len;
    if (!ev->last) {
        return 0;
    }
    if (c->rx_off != pl->size) {
        chaos_conn_fail(c, CHAOS_ERR_ECHO, "echo shorter than the message", 0);
        return -1;
    }
    c->rx_off = 0;
    c->echoed++;
    c->env->on_echo(c, c->env->arg);
    return 0;
}

/* Parses frames from buf. Returns the bytes consumed, or -1 after failing the connection. */
static ssize_t chaos_conn_parse(chaos_conn *c, uint8_t *buf, size_t len)
{
    size_t off = 0;

    while (off < len) {
        ws_event ev;
        ssize_t n = ws_parser_next(&c->parser, &ev, buf + off, len - off);
        if (n == 0) {
            break;
        }
        if (n < 0) {
            chaos_conn_fail(c, CHAOS_ERR_PROTOCOL, "invalid frame from server", (int)-n);
            return -1;
        }
        off += (size_t)n;
        switch (ev.kind) {
        case WS_EV_DATA:
            if (chaos_conn_on_data(c, &ev) != 0) {
                return -1;
            }
            break;
        case WS_EV_PING:
            chaos_conn_queue_frame(c, WS_OP_PONG, ev.data, ev.len);
            break;
        case WS_EV_CLOSE:
            if (c->state != CHAOS_CONN_CLOSING) {
                chaos_conn_fail(c, CHAOS_ERR_CLOSED, "server sent close", ev.code);
                return -1;
            }
            /* The parser takes nothing after a close; the server's EOF comes next. */
            c->close_received = true;
            return (ssize_t)len;
        default:
            break;
        }
    }
    return (ssize_t)off;
}

/* Reads the 101 response from rbuf. Returns 1 when upgraded, 0 when more bytes are needed, -1 after
 * failing the connection. */
static int chaos_conn_on_handshake(chaos_conn *c)
{
    ws_http_response res;
    ssize_t n = ws_http_parse_response(&res, &c->scan, (const char *)c->rbuf.data,
                                       wsf_buf_pending(&c->rbuf));
    if (n == 0) {
        return 0;
    }
    if (n < 0) {
        chaos_conn_fail(c, CHAOS_ERR_HANDSHAKE, "malformed response", 0);
        return -1;
    }
    if (ws_http_check_upgrade_response(&res, c->key) != 0) {
        chaos_conn_fail(c, CHAOS_ERR_HANDSHAKE, "upgrade refused", res.status);
        return -1;
    }
    wsf_buf_consume(&c->rbuf, (size_t)n);
    ws_parser_init(&c->parser, WS_ROLE_CLIENT, 0);
    c->state = CHAOS_CONN_OPEN;
    c->upgraded = true;
    return 1;
}

static void chaos_conn_on_eof(chaos_conn *c)
{
    if (c->state == CHAOS_CONN_CLOSING && c->close_received) {
        chaos_conn_teardown(c);
        c->env->on_closed(c, CHAOS_OK, c->env->arg);
        return;
    }
    chaos_conn_fail(c, c->state == CHAOS_CONN_HANDSHAKE ? CHAOS_ERR_HANDSHAKE : CHAOS_ERR_CLOSED,
                    "server closed the connection", 0);
}

static void chaos_conn_read(chaos_conn *c, evutil_socket_t fd);

static void chaos_conn_on_read(evutil_socket_t fd, short what, void *arg)
{
    chaos_conn *c = arg;
    (void)what;

    c->in_read = true;
    chaos_conn_read(c, fd);
    /* The slot may have been closed and even restarted meanwhile; the flag is reset either way. */
    c->in_read = false;
}

/* The body of the read handler. */
static void chaos_conn_read(chaos_conn *c, evutil_socket_t fd)
{
    chaos_env *env = c->env;
    ssize_t n = recv(fd, env->rx, env->rx_cap, 0);
    if (n == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return;
        }
        chaos_conn_fail(c, CHAOS_ERR_CLOSED, "recv", errno);
        return;
    }
    if (n == 0) {
        chaos_conn_on_eof(c);
        return;
    }
    if (c->state == CHAOS_CONN_HANDSHAKE) {
        wsf_buf_append(&c->rbuf, env->rx, (size_t)n);
        int up = chaos_conn_on_handshake(c);
        if (up <= 0) {
            return;
        }
        env->on_open(c, env->arg);
        if (c->state == CHAOS_CONN_DOWN) {
            return;
        }
        n = 0; /* anything after the head is already in rbuf */
    }
    if (c->close_received) {
        return; /* waiting for EOF only */
    }
    if (wsf_buf_pending(&c->rbuf) == 0) {
        ssize_t used = chaos_conn_parse(c, env->rx, (size_t)n);
        if (used < 0) {
            return;
        }
        if (used < n) {
            wsf_buf_append(&c->rbuf, env->rx + used, (size_t)(n - used));
        }
    } else {
        wsf_buf_append(&c->rbuf, env->rx, (size_t)n);
        ssize_t used = chaos_conn_parse(c, c->rbuf.data + c->rbuf.off, wsf_buf_pending(&c->rbuf));
        if (used < 0) {
            return;
        }
        wsf_buf_consume(&c->rbuf, (size_t)used);
    }
    /* One write per readable event carries every refill queued while parsing. */
    chaos_conn_flush(c);
}
