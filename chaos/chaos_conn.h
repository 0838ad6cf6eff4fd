/* One load client connection: non-blocking connect (from a chosen loopback source address), the
 * opening handshake, pipelined masked messages whose echoes are verified in order and timed, pongs,
 * and the closing handshake; or, for the slow and garbage kinds, writes that never read and
 * deliberately malformed input. The owner decides what to send and when to stop; a connection
 * reports back through the callbacks in chaos_env. */
#ifndef CHAOS_CONN_H
#define CHAOS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "chaos_load.h"
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

/* What a garbage attempt sends. */
enum chaos_garbage {
    CHAOS_GARBAGE_NONE = 0, /* a well-behaved client */
    CHAOS_GARBAGE_REQUEST,  /* something other than an upgrade request */
    CHAOS_GARBAGE_FRAME,    /* a proper upgrade, then one malformed frame */
};

typedef struct chaos_conn chaos_conn;

/* What all connections share; owned by the population (or wsload's connect loop). */
typedef struct chaos_env {
    struct event_base *base;
    const chaos_load_opts *opts;
    chaos_payload payload;
    uint8_t *rx; /* one read buffer for every connection (single-threaded) */
    size_t rx_cap;
    uint64_t now_us; /* send timestamps: refreshed per read event; owners refresh it before
                      * sending from a timer (chaos_env_tick) */
    void (*on_open)(chaos_conn *c, void *arg);                      /* upgraded */
    void (*on_echo)(chaos_conn *c, uint64_t latency_us, void *arg); /* one more echo verified */
    /* Message mode (set: what arrives is not an echo): one whole text or binary message from the
     * server, reassembled from its fragments; data is valid during the call only. */
    void (*on_message)(chaos_conn *c, const uint8_t *data, size_t len, void *arg);
    /* The socket is closed (c->clean, c->cause, c->code, c->sys_errno say how); the connection
     * may be started again from here. */
    void (*on_closed)(chaos_conn *c, void *arg);
    void *arg;
} chaos_env;

struct chaos_conn {
    chaos_env *env;
    size_t index;
    int fd;
    enum chaos_conn_state state;
    enum chaos_garbage garbage;
    uint64_t garbage_rng; /* garbage: random state for what to send, seeded by the owner (not 0) */
    bool slow;            /* writes without reading once upgraded (chaos_conn_slow) */
    struct event *rev;
    struct event *wev;
    wsf_buf rbuf; /* handshake bytes, or the unparsed tail of a frame */
    wsf_buf wbuf; /* bytes not yet written */
    ws_parser parser;
    ws_http_scan scan;
    char key[WS_KEY_LEN + 1];
    uint64_t sent;      /* messages queued in this attempt; the next one's sequence number */
    uint64_t echoed;    /* echoes verified in this attempt */
    uint64_t bytes_out; /* bytes written in this attempt */
    uint64_t *stamps;   /* send times (env->now_us) of messages echoed..sent, by seq & stamp_mask */
    uint64_t stamp_mask;
    size_t rx_off; /* bytes of the echo in progress verified so far */
    wsf_buf msg;   /* message mode: the fragments of the message in progress */
    bool upgraded; /* reached CHAOS_CONN_OPEN in this attempt */
    bool close_received;
    bool in_read; /* inside the read handler, which writes once at its end */
    uint32_t rng;
    size_t target; /* which of opts->targets (when there are several) the next attempt uses */
    struct sockaddr_storage local; /* source address and port once connect() was issued; kept
                                    * after the socket closes, until the next start */
    /* How the last attempt ended, for on_closed. */
    bool clean; /* the closing handshake completed */
    enum chaos_cause cause;
    unsigned code;   /* CLOSE: close code; HANDSHAKE: HTTP status; PROTOCOL: our close code */
    int sys_errno;   /* errno when a system call failed */
    const char *why; /* what went wrong, for diagnostics */
};

/* Stores the monotonic clock in env->now_us and returns it in milliseconds. */
uint64_t chaos_env_tick(chaos_env *env);

/* Sets up a connection slot (no socket yet). */
void chaos_conn_init(chaos_conn *c, chaos_env *env, size_t index);

/* Releases a slot's buffers and closes any socket without a callback. */
void chaos_conn_fini(chaos_conn *c);

/* Opens a socket (bound to the source address for c->index when opts->sources > 1) and starts
 * connecting; the request follows once connected. Returns 0, or -errno when the attempt failed at
 * once (no callback then; c->cause, c->sys_errno and c->why say what failed). */
int chaos_conn_start(chaos_conn *c);

/* Queues n messages (the next sequence numbers), stamped with env->now_us, and schedules their
 * write. The read handler writes whatever is queued once per readable event, so calls made from
 * on_echo batch naturally. */
void chaos_conn_send(chaos_conn *c, uint64_t n);

/* Message mode: queues one text message of len bytes (copied) and schedules its write. */
void chaos_conn_send_text(chaos_conn *c, const void *data, size_t len);

/* Echoes still due. */
static inline uint64_t chaos_conn_outstanding(const chaos_conn *c)
{
    return c->sent - c->echoed;
}

/* Slow kind, once upgraded: stops reading and keeps the socket's send buffer full of messages
 * until a write fails. */
void chaos_conn_slow(chaos_conn *c);

/* Garbage kind, once upgraded: queues one malformed frame chosen with c->garbage_rng. */
void chaos_conn_send_malformed(chaos_conn *c);

/* Starts the closing handshake: queues close 1000, then waits for the server's close and its EOF
 * before closing the socket and calling on_closed with clean set. No-op unless upgraded. */
void chaos_conn_close(chaos_conn *c);

/* Ends the attempt now as if it had failed with cause (code, sys_errno): closes the socket and
 * calls on_closed. No-op without a socket. */
void chaos_conn_fail(chaos_conn *c, enum chaos_cause cause, unsigned code, int sys_errno,
                     const char *why);

/* Closes the socket at once, without a callback. */
void chaos_conn_abort(chaos_conn *c);

#endif
