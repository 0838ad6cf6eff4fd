/* One wsload client connection: non-blocking connect, the opening handshake, pipelined masked
 * messages whose echoes are verified in order, pongs, and the closing handshake. The runner decides
 * what to send and when to stop; a connection reports back through the callbacks in load_env. */
#ifndef LOAD_CONN_H
#define LOAD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "load_opts.h"
#include "load_payload.h"
#include "ws_http.h"
#include "ws_parser.h"
#include "wsf_buf.h"

enum load_conn_state {
    LOAD_CONN_DOWN = 0,   /* no socket */
    LOAD_CONN_CONNECTING, /* TCP connect in progress */
    LOAD_CONN_HANDSHAKE,  /* request sent (or queued), waiting for 101 */
    LOAD_CONN_OPEN,       /* upgraded */
    LOAD_CONN_CLOSING,    /* close frame queued; waiting for the server's close and EOF */
};

/* Why a connection ended. */
enum load_err {
    LOAD_OK = 0,        /* closing handshake completed */
    LOAD_ERR_CONNECT,   /* socket or TCP connect failed */
    LOAD_ERR_HANDSHAKE, /* bad or refused upgrade response */
    LOAD_ERR_ECHO,      /* an echo differed from what was sent (content, opcode, order) */
    LOAD_ERR_PROTOCOL,  /* the server's frames broke RFC 6455 */
    LOAD_ERR_CLOSED,    /* the server closed or reset a connection the client still used */
    LOAD_ERR_COUNT,
};

typedef struct load_conn load_conn;

/* What all connections share; owned by the runner. */
typedef struct load_env {
    struct event_base *base;
    const load_opts *opts;
    load_payload payload;
    uint8_t *rx; /* one read buffer for every connection (single-threaded) */
    size_t rx_cap;
    void (*on_open)(load_conn *c, void *arg); /* upgraded */
    void (*on_echo)(load_conn *c, void *arg); /* one more echo verified */
    /* The socket is closed; the connection may be started again from here. */
    void (*on_closed)(load_conn *c, enum load_err err, void *arg);
    void *arg;
} load_env;

struct load_conn {
    load_env *env;
    size_t index;
    int fd;
    enum load_conn_state state;
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
    bool upgraded;   /* reached LOAD_CONN_OPEN in this attempt */
    bool close_received;
    bool in_read; /* inside the read handler, which writes once at its end */
    uint32_t rng;
    const char *why; /* what went wrong, for the runner's diagnostics */
    int sys_errno;
};

/* Sets up a connection slot (no socket yet). */
void load_conn_init(load_conn *c, load_env *env, size_t index);

/* Releases a slot's buffers and closes any socket without a callback. */
void load_conn_fini(load_conn *c);

/* Opens a socket and starts connecting; the request follows once connected. Returns 0, or -errno
 * when the attempt failed at once (no callback then; c->why says what failed). */
int load_conn_start(load_conn *c);

/* Queues n messages (the next sequence numbers) and schedules their write. The read handler writes
 * whatever is queued once per readable event, so calls made from on_echo batch naturally. */
void load_conn_send(load_conn *c, uint64_t n);

/* Echoes still due. */
static inline uint64_t load_conn_outstanding(const load_conn *c)
{
    return c->sent - c->echoed;
}

/* Starts the closing handshake: queues close 1000, then waits for the server's close and its EOF
 * before closing the socket and calling on_closed(LOAD_OK). No-op unless upgraded. */
void load_conn_close(load_conn *c);

/* Closes the socket at once, without a callback. */
void load_conn_abort(load_conn *c);

#endif
