/* One client connection: HTTP upgrade, WebSocket frames, output buffering, closing handshake and
 * deadlines. Plain sockets are read and written directly (one recv and one send per readable
 * event from the worker's epoll set, wk_connset.c), TLS ones through wk_tls on the same socket,
 * with per-connection memory only for what is pending. */
#ifndef WK_CONN_H
#define WK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ws_deflate.h"
#include "ws_http.h"
#include "ws_parser.h"
#include "wsf_bucket.h"
#include "wsf_buf.h"
#include "wsf_ipcount.h"
#include "wsf_wheel.h"

#define WK_CLOSE_RATE_LIMITED 4429 /* over msg_rate/msg_burst (DESIGN close codes) */

typedef struct wk_ctx wk_ctx;
typedef struct wk_service wk_service;
struct epoll_event;

enum wk_conn_state {
    WK_CONN_HANDSHAKE, /* reading the HTTP request */
    WK_CONN_OPEN,      /* upgraded */
    WK_CONN_CLOSING,   /* close frame sent; waiting for the peer's, output still flushing */
    WK_CONN_LINGER,    /* write side shut; draining input until the peer closes */
};

/* A connection, packed: what every message touches in line, what few connections use behind
 * rare (allocated on first use). An idle upgraded plain connection is this struct alone
 * (WK_CONN_SIZE_MAX, checked at compile time), with no buffers and no libevent event. */
typedef struct wk_conn {
    wsf_wheel_node timer;
    wk_ctx *ctx;
    struct wk_conn *next;
    struct wk_conn *prev;
    const wk_service *service;
    struct wk_conn_rare *rare;   /* TLS, deflate, service state, token, address count; or NULL */
    struct wk_conn_spill *spill; /* input kept between reads, or NULL (most of the time) */
    wsf_buf out;                 /* output the kernel has not taken yet */
    uint64_t last_heard;         /* tick of the last byte received */
    uint64_t last_ping;          /* tick of the last ping sent */
    uint64_t out_moved; /* while read_paused: tick the kernel last took some of the output */
    wsf_bucket bucket;  /* msg_rate: client data messages */
    union {
        ws_http_scan scan; /* HANDSHAKE */
        ws_parser parser;  /* OPEN and later */
    } u;
    int fd;
    uint8_t state;         /* enum wk_conn_state */
    bool rejecting;        /* answer the request with 503 */
    bool input_done;       /* ignore further input (after a close or a protocol error) */
    bool shut_after_flush; /* shut the write side once output is drained */
    bool want_write;
    bool read_paused; /* output past the read-pause mark: not read until it drains below it */
    bool read_off;    /* in the epoll set without EPOLLIN */
    bool in_set;      /* in the worker's epoll set (waiting for something) */
    bool dead;
    bool over_ip_limit; /* answer the request with 429 */
    bool tls;           /* accepted on a TLS listener: I/O goes through rare->ssl (wk_tls) */
    bool tls_rblocked;  /* a TLS read needs the socket writable first */
} wk_conn;

/* Bytes an idle upgraded plain connection holds (its allocation, malloc's header included, is
 * rounded up to 16 bytes): the goal is 256 per connection in all, libevent's share included. */
#define WK_CONN_SIZE_MAX 208
_Static_assert(sizeof(wk_conn) <= WK_CONN_SIZE_MAX, "wk_conn grew past WK_CONN_SIZE_MAX");

/* What few connections use, out of line (wk_conn_rare). */
struct wk_conn_rare {
    struct ssl_st *ssl;      /* the TLS session (wk_tls), or NULL */
    struct wk_zconn *z;      /* zlib streams kept between messages (context takeover), or NULL */
    void *svc_state;         /* the service's per-connection state (wk_service on_close frees it) */
    wsf_ipcount_entry *peer; /* this address's count (max_conns_per_ip), or NULL */
    uint64_t auth_until;     /* tick its token expires at (close 4002), 0: no token (wk_auth) */
    ws_deflate_params pmd;   /* permessage-deflate, when negotiated (wk_deflate) */
    bool tls_ready;          /* handshake done */
    bool tls_failed;         /* a fatal TLS error: no close_notify, no more I/O */
    bool tls_shut;           /* close_notify sent */
    bool tls_again;          /* read again: an end or error follows what was returned */
};

/* c's rare part, allocated (zeroed) on first use. */
struct wk_conn_rare *wk_conn_rare(wk_conn *c);

/* Reads of the rare part that do not allocate it. */
static inline void *wk_conn_svc_state(const wk_conn *c)
{
    return c->rare != NULL ? c->rare->svc_state : NULL;
}

static inline bool wk_conn_deflating(const wk_conn *c)
{
    return c->rare != NULL && c->rare->pmd.on;
}

static inline uint64_t wk_conn_auth_until(const wk_conn *c)
{
    return c->rare != NULL ? c->rare->auth_until : 0;
}

/* What a connection keeps of its input between reads, out of line: idle connections hold none. */
struct wk_conn_spill {
    wsf_buf in;  /* unconsumed input (a partial head or frame header) */
    wsf_buf msg; /* a message that spans reads or fragments */
};

/* Takes ownership of an accepted, non-blocking socket and starts reading its request.
 * rejecting: the worker is full; the request is answered 503. tls: handshake first (ctx->tls).
 * Returns 0, or -1 when TLS could not be set up (the socket is closed). */
int wk_conn_start(wk_ctx *ctx, int fd, bool rejecting, bool tls);

/* Queues one whole message frame (a server frame, unmasked). Ignored once closing. */
void wk_conn_send(wk_conn *c, int opcode, const uint8_t *data, size_t len);

/* Like wk_conn_send, but sends what the kernel takes at once and never frees or kills c (a
 * failed send is found by the next flush): for callers in the middle of a fan-out. */
void wk_conn_send_now(wk_conn *c, int opcode, const uint8_t *data, size_t len);

/* Sends a whole prebuilt server frame (header and payload, shared by many connections): written
 * straight from frame when nothing else is pending, so that a fan-out copies nothing; only what
 * the kernel does not take is kept. May kill c (check c->dead); never frees it. */
void wk_conn_send_frame(wk_conn *c, const uint8_t *frame, size_t len);

/* Starts the closing handshake with code (SIGTERM uses 1001). */
void wk_conn_close(wk_conn *c, unsigned code, const char *reason);

/* Handles an expired deadline. */
void wk_conn_on_timer(wk_conn *c);

/* Closes the socket at once and frees the connection. */
void wk_conn_free(wk_conn *c);

/* The worker's epoll set of client connections (ctx->epfd): the loop waits on it with libevent's
 * own descriptor inside (wk_loop_attach), or else libevent watches it as one descriptor
 * (ctx->conns_ev). Returns 0, or -1 after logging why. */
int wk_conns_init(wk_ctx *ctx);

/* Closes the set (after every connection is freed). A set never made is ignored. */
void wk_conns_fini(wk_ctx *ctx);

/* wk_connset.c, for wk_conn: c waits for readability (unless read_paused) and, with want_write,
 * writability; a connection waiting for neither leaves the set. */
void wk_conns_watch(wk_conn *c, bool want_write);

/* c leaves the set, the batch being dispatched and the again list (before its socket closes). */
void wk_conns_forget(wk_conn *c);

/* c is read again on the next pass of the loop, as if its socket were readable (input that TLS
 * has already decrypted). */
void wk_conns_again(wk_conn *c);

/* Hands a batch taken from the set to its connections. Returns which of the set's other members
 * (wk_loop_attach) were in the batch: WK_CONNS_LIBEVENT, WK_CONNS_TIMER. */
#define WK_CONNS_LIBEVENT 1u /* libevent's epoll descriptor is readable */
#define WK_CONNS_TIMER 2u    /* the timerfd for libevent's next timer expired */
unsigned wk_conns_dispatch(wk_ctx *ctx, struct epoll_event *evs, int n);

/* Reads the connections queued by wk_conns_again. */
void wk_conns_run_again(wk_ctx *ctx);

/* Handles c's readiness: EV_READ and/or EV_WRITE. Frees c if it died. */
void wk_conn_on_event(wk_conn *c, short what);

/* The connection that owns a wheel node. */
wk_conn *wk_conn_of_timer(wsf_wheel_node *node);

#endif
