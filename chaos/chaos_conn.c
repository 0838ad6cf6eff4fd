/* One load client connection on raw non-blocking sockets and two libevent events (read, write).
 */
#include "chaos_conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ws_frame.h"
#include "ws_writer.h"
#include "wsf_rand.h"

#define CHAOS_REQUEST_MAX 1024
#define CHAOS_SLOW_BATCH (64u * 1024u)  /* slow kind: bytes queued per refill */
#define CHAOS_SLOW_WRITE (512u * 1024u) /* slow kind: bytes written per writable event at most */
#define CHAOS_GARBAGE_MAX 200           /* random bytes in one garbage request or frame */

static void chaos_conn_on_read(evutil_socket_t fd, short what, void *arg);
static void chaos_conn_on_write(evutil_socket_t fd, short what, void *arg);

uint64_t chaos_env_tick(chaos_env *env)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    env->now_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    return env->now_us / 1000u;
}

void chaos_conn_init(chaos_conn *c, chaos_env *env, size_t index)
{
    memset(c, 0, sizeof(*c));
    c->env = env;
    c->index = index;
    c->fd = -1;
    c->target = env->opts->ntargets > 1 ? index % env->opts->ntargets : 0;
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
    c->msg.off = c->msg.len = 0;
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
    wsf_buf_fini(&c->msg);
    free(c->stamps);
    c->stamps = NULL;
}

/* Ends the connection and tells the owner. The caller returns at once: the owner may already have
 * started the slot again. */
void chaos_conn_fail(chaos_conn *c, enum chaos_cause cause, unsigned code, int sys_errno,
                     const char *why)
{
    if (c->state == CHAOS_CONN_DOWN) {
        return;
    }
    c->clean = false;
    c->cause = cause;
    c->code = code;
    c->sys_errno = sys_errno;
    c->why = why;
    chaos_conn_teardown(c);
    c->env->on_closed(c, c->env->arg);
}

/* A failed system call on a connected socket: the peer reset or dropped it. */
static void chaos_conn_fail_io(chaos_conn *c, const char *why, int err)
{
    chaos_conn_fail(c, CHAOS_CAUSE_ABNORMAL, WS_CLOSE_ABNORMAL, err, why);
}

/* Binds the source address 127.0.0.(1 + index % sources), leaving the port to connect(). */
static int chaos_conn_bind_source(chaos_conn *c, int fd)
{
    const chaos_load_opts *o = c->env->opts;
    if (o->sources <= 1 || o->addr.ss_family != AF_INET) {
        return 0;
    }
    int one = 1;
    if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) == -1) {
        return -errno;
    }
    struct sockaddr_in src;
    memset(&src, 0, sizeof(src));
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(c->index % o->sources));
    if (bind(fd, (const struct sockaddr *)&src, sizeof(src)) == -1) {
        return -errno;
    }
    return 0;
}

int chaos_conn_start(chaos_conn *c)
{
    const chaos_load_opts *o = c->env->opts;
    memset(&c->local, 0, sizeof(c->local));
    c->sent = c->echoed = 0;
    c->bytes_out = 0;
    c->rx_off = 0;
    c->upgraded = false;
    c->close_received = false;
    c->slow = false;
    c->clean = false;
    c->cause = CHAOS_CAUSE_CONNECT;
    c->code = 0;
    c->why = NULL;
    c->sys_errno = 0;

    const struct sockaddr_storage *addr = &o->addr;
    socklen_t addr_len = o->addr_len;
    if (o->ntargets > 1) {
        addr = &o->targets[c->target % o->ntargets].addr;
        addr_len = o->targets[c->target % o->ntargets].addr_len;
    }
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        c->why = "socket";
        c->sys_errno = errno;
        return -errno;
    }
    int one = 1;
    /* Small pipelined messages must not wait for Nagle. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = chaos_conn_bind_source(c, fd);
    if (rc != 0) {
        close(fd);
        c->why = "bind source address";
        c->sys_errno = -rc;
        return rc;
    }
    do {
        rc = connect(fd, (const struct sockaddr *)addr, addr_len);
    } while (rc == -1 && errno == EINTR);
    if (rc == -1 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        c->why = "connect";
        c->sys_errno = err;
        c->cause = err == ECONNREFUSED ? CHAOS_CAUSE_REFUSED : CHAOS_CAUSE_CONNECT;
        return -err;
    }
    /* The source port is chosen by connect(): remember it now, for the event of a connection
     * that dies before anyone asks. */
    socklen_t len = sizeof(c->local);
    if (getsockname(fd, (struct sockaddr *)&c->local, &len) == -1) {
        memset(&c->local, 0, sizeof(c->local));
    }
    c->fd = fd;
    c->state = CHAOS_CONN_CONNECTING;
    ws_http_scan_init(&c->scan);
    c->rev = event_new(c->env->base, fd, EV_READ | EV_PERSIST, chaos_conn_on_read, c);
    c->wev = event_new(c->env->base, fd, EV_WRITE | EV_PERSIST, chaos_conn_on_write, c);
    if (c->rev == NULL || c->wev == NULL) {
        chaos_conn_teardown(c);
        c->why = "event_new";
        c->sys_errno = ENOMEM;
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

/* Makes room for n more send stamps, keeping the outstanding ones at their sequence numbers. */
static void chaos_conn_grow_stamps(chaos_conn *c, uint64_t n)
{
    uint64_t need = c->sent - c->echoed + n;
    uint64_t cap = c->stamps == NULL ? 0 : c->stamp_mask + 1;
    if (need <= cap) {
        return;
    }
    uint64_t ncap = cap == 0 ? 16 : cap;
    while (ncap < need) {
        ncap *= 2;
    }
    uint64_t *s = wsf_xmalloc((size_t)ncap * sizeof(*s));
    for (uint64_t q = c->echoed; q < c->sent; q++) {
        s[q & (ncap - 1)] = c->stamps[q & c->stamp_mask];
    }
    free(c->stamps);
    c->stamps = s;
    c->stamp_mask = ncap - 1;
}

/* Appends n masked messages of the payload to the write buffer, each tagged with its sequence
 * number; with stamp, records their send time for the echo latency. */
static void chaos_conn_put(chaos_conn *c, uint64_t n, bool stamp)
{
    const chaos_payload *pl = &c->env->payload;
    int opcode = pl->binary ? WS_OP_BINARY : WS_OP_TEXT;
    size_t frame = ws_frame_size(pl->size, true);
    uint64_t now = c->env->now_us;
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
        if (stamp) {
            c->stamps[c->sent & c->stamp_mask] = now;
        }
        c->sent++;
    }
}

void chaos_conn_send(chaos_conn *c, uint64_t n)
{
    if (c->state != CHAOS_CONN_OPEN || n == 0) {
        return;
    }
    chaos_conn_grow_stamps(c, n);
    chaos_conn_put(c, n, true);
    chaos_conn_want_write(c);
}

void chaos_conn_send_text(chaos_conn *c, const void *data, size_t len)
{
    if (c->state != CHAOS_CONN_OPEN) {
        return;
    }
    chaos_conn_queue_frame(c, WS_OP_TEXT, data, len);
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

/* Writes what is queued. Returns 0 when all of it went out, 1 when the socket is full (the write
 * event stays armed), or -1 after failing the connection. */
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
                return 1;
            }
            chaos_conn_fail_io(c, "send", errno);
            return -1;
        }
        c->bytes_out += (uint64_t)n;
        wsf_buf_consume(&c->wbuf, (size_t)n);
    }
    event_del(c->wev);
    return 0;
}

/* Queues messages worth about CHAOS_SLOW_BATCH bytes; nobody reads their echoes. */
static void chaos_conn_queue_slow(chaos_conn *c)
{
    uint64_t n = CHAOS_SLOW_BATCH / ws_frame_size(c->env->payload.size, true);
    chaos_conn_put(c, n > 0 ? n : 1, false);
}

/* Slow kind: fills the socket until it takes no more (or a bounded amount per event, so one
 * client cannot hold the loop); a failed write ends the connection. */
static void chaos_conn_write_slow(chaos_conn *c)
{
    uint64_t start = c->bytes_out;
    for (;;) {
        int rc = chaos_conn_flush(c);
        if (rc != 0) {
            return;
        }
        if (c->bytes_out - start >= CHAOS_SLOW_WRITE) {
            event_add(c->wev, NULL);
            return;
        }
        chaos_conn_queue_slow(c);
    }
}

void chaos_conn_slow(chaos_conn *c)
{
    if (c->state != CHAOS_CONN_OPEN) {
        return;
    }
    c->slow = true;
    event_del(c->rev);
    if (!c->in_read) {
        chaos_conn_write_slow(c);
        return;
    }
    /* Inside the read handler: the first write happens from the write event. */
    event_add(c->wev, NULL);
}

/* Appends n random bytes drawn from *rng. */
static void chaos_conn_random_bytes(uint8_t *out, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)(wsf_rand_unit(rng) * 256.0);
    }
}

/* Queues something that is not an upgrade request, but ends like an HTTP head so the server
 * answers at once instead of waiting for more. */
static void chaos_conn_queue_bad_request(chaos_conn *c, uint64_t *rng)
{
    static const char *const heads[] = {
        "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n",                        /* no upgrade */
        "POST /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", /* wrong method */
        /* bad key */
        ("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n"),
    };
    unsigned pick = (unsigned)(wsf_rand_unit(rng) * 4);
    if (pick < 3) {
        wsf_buf_append(&c->wbuf, heads[pick], strlen(heads[pick]));
        return;
    }
    size_t n = 1 + (size_t)(wsf_rand_unit(rng) * CHAOS_GARBAGE_MAX);
    uint8_t *p = wsf_buf_reserve(&c->wbuf, n + 4);
    chaos_conn_random_bytes(p, n, rng);
    memcpy(p + n, "\r\n\r\n", 4);
    c->wbuf.len += n + 4;
}

void chaos_conn_send_malformed(chaos_conn *c)
{
    uint64_t *rng = &c->garbage_rng;
    static const uint8_t bad_utf8[] = {'o', 'k', 0xc3, 0x28, 0xff};
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD + 1];
    uint8_t mask[4];
    size_t n;

    if (c->state != CHAOS_CONN_OPEN) {
        return;
    }
    chaos_conn_mask(c, mask);
    memset(payload, 'x', sizeof(payload));
    uint8_t *p = wsf_buf_reserve(&c->wbuf, WS_MAX_HEADER + sizeof(payload) + CHAOS_GARBAGE_MAX);
    switch ((unsigned)(wsf_rand_unit(rng) * 8)) {
    case 0: /* unmasked, as only a server may send */
        n = ws_frame_write(p, true, WS_OP_TEXT, payload, 5, NULL);
        break;
    case 1: { /* a reserved opcode: 3-7 or 0xB-0xF */
        static const int reserved[] = {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf};
        int op = reserved[(unsigned)(wsf_rand_unit(rng) * 10)];
        n = ws_frame_write(p, true, op, payload, 5, mask);
        break;
    }
    case 2: /* RSV bits without a negotiated extension */
        n = ws_frame_write(p, true, WS_OP_TEXT, payload, 5, mask);
        p[0] |= (uint8_t)(0x10 << (unsigned)(wsf_rand_unit(rng) * 3));
        break;
    case 3: /* text that is not UTF-8 */
        n = ws_frame_write(p, true, WS_OP_TEXT, bad_utf8, sizeof(bad_utf8), mask);
        break;
    case 4: /* a control frame over 125 bytes */
        n = ws_frame_write(p, true, WS_OP_PING, payload, sizeof(payload), mask);
        break;
    case 5: /* a fragmented control frame */
        n = ws_frame_write(p, false, WS_OP_PING, payload, 4, mask);
        break;
    case 6: /* a continuation with no message to continue */
        n = ws_frame_write(p, true, WS_OP_CONT, payload, 4, mask);
        break;
    default: /* random bytes, with an RSV bit so that no byte sequence is accidentally valid */
        n = 2 + (size_t)(wsf_rand_unit(rng) * (CHAOS_GARBAGE_MAX - 2));
        chaos_conn_random_bytes(p, n, rng);
        p[0] |= 0x40;
        break;
    }
    c->wbuf.len += n;
    chaos_conn_want_write(c);
}

/* Offers opts->protocol: the header goes before the blank line that ends the request. */
static void chaos_conn_add_protocol(chaos_conn *c)
{
    char hdr[96];
    int n = snprintf(hdr, sizeof(hdr), "Sec-WebSocket-Protocol: %s\r\n", c->env->opts->protocol);
    wsf_buf_reserve(&c->wbuf, (size_t)n);
    uint8_t *end = c->wbuf.data + c->wbuf.len - 2; /* the final "\r\n" */
    memmove(end + n, end, 2);
    memcpy(end, hdr, (size_t)n);
    c->wbuf.len += (size_t)n;
}

static void chaos_conn_on_connected(chaos_conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
        err = errno;
    }
    if (err != 0) {
        chaos_conn_fail(c, err == ECONNREFUSED ? CHAOS_CAUSE_REFUSED : CHAOS_CAUSE_CONNECT, 0, err,
                        "connect");
        return;
    }
    len = sizeof(c->local);
    if (getsockname(c->fd, (struct sockaddr *)&c->local, &len) == -1) {
        memset(&c->local, 0, sizeof(c->local));
    }
    c->state = CHAOS_CONN_HANDSHAKE;
    event_add(c->rev, NULL);
    if (c->garbage == CHAOS_GARBAGE_REQUEST) {
        chaos_conn_queue_bad_request(c, &c->garbage_rng);
        chaos_conn_flush(c);
        return;
    }
    ws_http_make_key(c->key);
    char *p = (char *)wsf_buf_reserve(&c->wbuf, CHAOS_REQUEST_MAX);
    const chaos_load_opts *o = c->env->opts;
    const char *host = o->ntargets > 1 ? o->targets[c->target % o->ntargets].host : o->host;
    size_t n = ws_http_write_request(p, CHAOS_REQUEST_MAX, host, o->path, c->key);
    if (n == 0) {
        chaos_conn_fail(c, CHAOS_CAUSE_HANDSHAKE, 0, 0, "request too long");
        return;
    }
    c->wbuf.len += n;
    if (c->env->opts->protocol[0] != '\0') {
        chaos_conn_add_protocol(c);
    }
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
    if (c->slow) {
        chaos_conn_write_slow(c);
        return;
    }
    chaos_conn_flush(c);
}

/* Message mode: hands each whole message to the owner, without a copy when it came unfragmented.
 */
static void chaos_conn_on_message_data(chaos_conn *c, const ws_event *ev)
{
    if (ev->first && ev->last) {
        c->env->on_message(c, ev->data, ev->len, c->env->arg);
        return;
    }
    if (ev->first) {
        c->msg.off = c->msg.len = 0;
    }
    wsf_buf_append(&c->msg, ev->data, ev->len);
    if (ev->last) {
        c->env->on_message(c, c->msg.data + c->msg.off, wsf_buf_pending(&c->msg), c->env->arg);
        c->msg.off = c->msg.len = 0;
    }
}

/* Checks one chunk of an echo against what was sent. Returns 0, or -1 after failing the
 * connection. */
static int chaos_conn_on_data(chaos_conn *c, const ws_event *ev)
{
    const chaos_payload *pl = &c->env->payload;

    if (c->state == CHAOS_CONN_CLOSING || c->garbage != CHAOS_GARBAGE_NONE) {
        return 0; /* echoes still in flight when the owner stopped: not counted */
    }
    if (c->env->on_message != NULL) {
        chaos_conn_on_message_data(c, ev);
        return c->state == CHAOS_CONN_OPEN ? 0 : -1;
    }
    if (c->echoed == c->sent) {
        chaos_conn_fail(c, CHAOS_CAUSE_ECHO, 0, 0, "message nobody sent");
        return -1;
    }
    int want = pl->binary ? WS_OP_BINARY : WS_OP_TEXT;
    if (ev->first && (c->rx_off != 0 || ev->opcode != want)) {
        chaos_conn_fail(c, CHAOS_CAUSE_ECHO, 0, 0, "wrong opcode or message boundary");
        return -1;
    }
    uint32_t tag = chaos_payload_tag(c->index, c->echoed);
    if (!chaos_payload_matches(pl, ev->data, ev->len, tag, c->rx_off)) {
        chaos_conn_fail(c, CHAOS_CAUSE_ECHO, 0, 0, "echo content or order differs");
        return -1;
    }
    c->rx_off += ev->len;
    if (!ev->last) {
        return 0;
    }
    if (c->rx_off != pl->size) {
        chaos_conn_fail(c, CHAOS_CAUSE_ECHO, 0, 0, "echo shorter than the message");
        return -1;
    }
    c->rx_off = 0;
    uint64_t sent_at = c->stamps[c->echoed & c->stamp_mask];
    c->echoed++;
    c->env->on_echo(c, c->env->now_us - sent_at, c->env->arg);
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
            chaos_conn_fail(c, CHAOS_CAUSE_PROTOCOL, (unsigned)-n, 0, "invalid frame from server");
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
                chaos_conn_fail(c, CHAOS_CAUSE_CLOSE, ev.code, 0, "server sent close");
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
        chaos_conn_fail(c, CHAOS_CAUSE_HANDSHAKE, 0, 0, "malformed response");
        return -1;
    }
    if (ws_http_check_upgrade_response(&res, c->key) != 0) {
        chaos_conn_fail(c, CHAOS_CAUSE_HANDSHAKE, (unsigned)res.status, 0, "upgrade refused");
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
        c->clean = true;
        c->cause = CHAOS_CAUSE_CLOSE;
        c->code = WS_CLOSE_NORMAL;
        c->env->on_closed(c, c->env->arg);
        return;
    }
    chaos_conn_fail(c, CHAOS_CAUSE_ABNORMAL, WS_CLOSE_ABNORMAL, 0, "server closed the connection");
}

static void chaos_conn_read(chaos_conn *c, evutil_socket_t fd);

static void chaos_conn_on_read(evutil_socket_t fd, short what, void *arg)
{
    chaos_conn *c = arg;
    (void)what;

    chaos_env_tick(c->env);
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
        chaos_conn_fail_io(c, "recv", errno);
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
        if (c->state == CHAOS_CONN_DOWN || c->slow) {
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
