/* One wsload client connection: non-blocking connect, the opening handshake, pipelined masked
 * messages whose echoes are verified in order, pongs, and the closing handshake. The runner decides
 * what to send and when to stop; a connection reports back through the callbacks in chaos_env. */
#ifndef CHAOS_CONN_H
#define CHAOS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "chaos_wsload.h"
#include "chaos_payload.h"
#include "ws_http.h"
#include "ws_parser.h"
#include "wsf_buf.h"

enum chaos_conn_state {
    CHAOS_CONN_DOWN = 0,   /* no socket */
    CHAOS_CONN_CONNECTING, /* TCP connect in progress */
    CHAOS_CONN_HANDSHAKE,  /* request sent (or queued), waiting for 101 */
    CHAOS_CONN_OPEN,       /* upgraded */
    CHAOS_CONN_CLOSING,    /* close frame queued; waiting for the server's close and EOF */
};

/* Why a connection ended. */
enum chaos_err {
    CHAOS_OK = 0,        /* closing handshake completed */
    CHAOS_ERR_CONNECT,   /* socket or TCP connect failed */
    CHAOS_ERR_HANDSHAKE, /* bad or refused upgrade response */
    CHAOS_ERR_ECHO,      /* an echo differed from what was sent (content, opcode, order) */
    CHAOS_ERR_PROTOCOL,  /* the server's frames broke RFC 6455 */
    CHAOS_ERR_CLOSED,    /* the server closed or reset a connection the client still used */
    CHAOS_ERR_COUNT,
};

typedef struct chaos_conn chaos_conn;

/* What all connections share; owned by the runner. */
typedef struct chaos_env {
    struct event_base *base;
    const chaos_wsload_opts *opts;
    chaos_payload payload;
    uint8_t *rx; /* one read buffer for every connection (single-threaded) */
    size_t rx_cap;
    void (*on_open)(chaos_conn *c, void *arg); /* upgraded */
    void (*on_echo)(chaos_conn *c, void *arg); /* one more echo verified */
    /* The socket is closed; the connection may be started again from here. */
    void (*on_closed)(chaos_conn *c, enum chaos_err err, void *arg);
    void *arg;
} chaos_env;

struct chaos_conn {
    chaos_env *env;
    size_t index;
    int fd;
    enum chaos_conn_state state;
    struct event *rev;
    struct event *wev;
    wsf_buf rbuf; /* handshake bytes, or the unparsed tail of a frame */
    wsf_buf wbuf; /* bytes not yet written */
    ws_parser parser;
    ws_http_scan scan;
    char key[WS_KEY_LEN + 1];
    uint64_t sent;   /* messages queued so far; the next one's sequence number */
    uint64_t echoed; /* echoes verified so far */
    size_t rx_off;   /* bytes of the echo in progress verified so far */
    bool upgraded;   /* reached CHAOS_CONN_OPEN in this attempt */
    bool close_received;
    bool in_read; /* inside the read handler, which writes once at its end */
    uint32_t rng;
    const char *why; /* what went wrong, for the runner's diagnostics */
    int sys_errno;
};

/* Sets up a connection slot (no socket yet). */
void chaos_conn_init(chaos_conn *c, chaos_env *env, size_t index);

/* Releases a slot's buffers and closes any socket without a callback. */
void chaos_conn_fini(chaos_conn *c);

/* Opens a socket and starts connecting; the request follows once connected. Returns 0, or -errno
 * when the attempt failed at once (no callback then; c->why says what failed). */
int chaos_conn_start(chaos_conn *c);

/* Queues n messages (the next sequence numbers) and schedules their write. The read handler writes
 * whatever is queued once per readable event, so calls made from on_echo batch naturally. */
void chaos_conn_send(chaos_conn *c, uint64_t n);

/* Echoes still due. */
static inline uint64_t chaos_conn_outstanding(const chaos_conn *c)
{
    return c->sent - c->echoed;
}

/* Starts the closing handshake: queues close 1000, then waits for the server's close and its EOF
 * before closing the socket and calling on_closed(CHAOS_OK). No-op unless upgraded. */
void chaos_conn_close(chaos_conn *c);

/* Closes the socket at once, without a callback. */
void chaos_conn_abort(chaos_conn *c);

#endif
