/* A population of WebSocket clients on one libevent loop: the load side of chaos drills and of
 * wsload. Every client speaks the project's own codec (client role), reconnects with full-jitter
 * backoff (common/wsf_backoff) after the close codes that warrant it, verifies every echo byte for
 * byte and records latency and, per connection, its disconnects, reconnect times and messages
 * sent, echoed and lost.
 *
 * Three kinds of client share the machinery:
 *   echo     upgrade, then keep `inflight` messages outstanding or send at `rate` per second;
 *   slow     upgrade, then send continuously and never read (the server's backlog cap must cut
 *            them off; a slow client never reconnects);
 *   garbage  connect, sometimes upgrade, then send random bytes or a malformed frame and wait for
 *            the server to close; `garbage_rate` new attempts per second over the population;
 *   channel  upgrade (offering `protocol`), then leave the talking to the owner's hooks
 *            (chaos_load_send_text, on_message): the wsfleet.v1 clients of chaos_chload.
 */
#ifndef CHAOS_LOAD_H
#define CHAOS_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "wsf_backoff.h"
#include "wsf_hist.h"

enum chaos_client_kind {
    CHAOS_CLIENT_ECHO = 0,
    CHAOS_CLIENT_SLOW,
    CHAOS_CLIENT_GARBAGE,
    CHAOS_CLIENT_CHANNEL, /* message mode: upgrade, then the hooks say what to send and read
                           * every message (on_message); reconnects like echo */
};

/* Why a connection (or an attempt at one) ended. */
enum chaos_cause {
    CHAOS_CAUSE_CLOSE = 0, /* the server sent a close frame; the event's code says which */
    CHAOS_CAUSE_ABNORMAL,  /* EOF or reset without a close frame (1006) */
    CHAOS_CAUSE_REFUSED,   /* connect() refused: ECONNREFUSED */
    CHAOS_CAUSE_CONNECT,   /* another connect failure, or no 101 within the connect timeout */
    CHAOS_CAUSE_HANDSHAKE, /* the server answered the upgrade with another status (code) */
    CHAOS_CAUSE_ECHO,      /* an echo differed from what was sent (content, opcode, order) */
    CHAOS_CAUSE_PROTOCOL,  /* the server's frames broke RFC 6455 */
    CHAOS_CAUSE_COUNT,
};

/* "close", "abnormal", "refused", "connect", "handshake", "echo", "protocol". */
const char *chaos_cause_name(enum chaos_cause cause);

#define CHAOS_LOAD_MAX_TARGETS 8

/* One endpoint of several (hosts of a cluster), as chaos_load_opts_add_target checked it. */
typedef struct chaos_load_target {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[96];
} chaos_load_target;

typedef struct chaos_load_opts {
    enum chaos_client_kind kind;
    struct sockaddr_storage addr; /* the server: a loopback address */
    socklen_t addr_len;
    char host[96];     /* Host header, "127.0.0.1:PORT" */
    char path[256];    /* request target, "/echo" */
    char protocol[32]; /* Sec-WebSocket-Protocol offered, "" = none */
    size_t connections;
    uint32_t sources;  /* spread connections over 127.0.0.1 .. 127.0.0.N as source addresses
                        * (IP_BIND_ADDRESS_NO_PORT), so more than ~28k fit; 0 or 1: the kernel's
                        * choice */
    uint32_t inflight; /* echo: messages kept outstanding per connection (used when rate == 0);
                        * 0 with rate 0: no traffic, the connections are only held open */
    double rate;       /* echo: messages per second per connection, 0 = in-flight mode */
    size_t size;       /* payload bytes (echo and slow) */
    bool binary;       /* binary rather than text messages */
    double open_rate;  /* new connections per second while opening, 0 = as fast as 256 pending
                        * attempts allow */
    uint32_t connect_timeout_ms; /* an attempt without a 101 by then fails (CONNECT), 10000 */
    uint32_t lifetime_ms; /* echo: a session ends by itself (close 1000, once its echoes are in)
                           * after 0.5-1.5 times this, drawn per session, and a new one opens at
                           * once: the arrivals and departures of real clients. 0 = sessions
                           * last */
    bool reconnect;       /* echo: reconnect after the codes wsf_backoff_should_reconnect accepts,
                           * and after refused or failed attempts */
    wsf_backoff_policy backoff;
    double garbage_rate;   /* garbage: attempts per second over the whole population */
    uint64_t seed;         /* random draws (backoff jitter, masks, garbage), 0 = from the clock */
    uint64_t max_messages; /* echo: no more messages once the population has sent this many,
                            * 0 = no limit */
    /* Several endpoints (2..CHAOS_LOAD_MAX_TARGETS; with fewer, addr and host alone): connection
     * i starts on target i % ntargets and moves to the next after a refused or failed connect,
     * a reset, or a close 1001 or 1012 (a host going away). */
    chaos_load_target targets[CHAOS_LOAD_MAX_TARGETS];
    size_t ntargets;
} chaos_load_opts;

/* Defaults: echo to 127.0.0.1:8080/echo, 100 connections, 1 in flight, 20-byte text, reconnect
 * on, the wsf_backoff defaults (500 ms, 20 s, 10 s stable), connect timeout 10 s. */
void chaos_load_opts_init(chaos_load_opts *o);

/* Sets addr, addr_len and host from a loopback HOST:PORT. Returns 0, or -1 if not loopback. */
int chaos_load_opts_target(chaos_load_opts *o, const char *hostport);

/* Adds hostport (loopback only, as chaos_load_opts_target) to o->targets; the first one is also
 * set as o's single target. Returns 0, or -1 for a bad address or too many targets. */
int chaos_load_opts_add_target(chaos_load_opts *o, const char *hostport);

/* One connection ended (after upgrading) or one attempt failed. */
typedef struct chaos_event {
    size_t conn; /* index in the population */
    enum chaos_cause cause;
    unsigned code;                 /* CLOSE: the close code; HANDSHAKE: the HTTP status */
    int sys_errno;                 /* ABNORMAL, REFUSED, CONNECT: errno when there was one */
    uint64_t at_ms;                /* chaos_load_now_ms() when it happened */
    bool was_up;                   /* the connection had upgraded: a disconnect, not a failed try */
    bool will_retry;               /* a new attempt is scheduled */
    uint32_t retry_ms;             /* ... this long from now */
    struct sockaddr_storage local; /* the connection's source address and port (family 0 if the
                                    * socket never got one) */
} chaos_event;

typedef struct chaos_load_hooks {
    void (*on_event)(const chaos_event *ev, void *arg);
    /* A connection upgraded; reconnect is true after an earlier disconnect, with the time from
     * that disconnect to this upgrade. */
    void (*on_up)(size_t conn, bool reconnect, uint64_t down_ms, void *arg);
    /* Channel kind: one whole message from the server (valid during the call only). */
    void (*on_message)(size_t conn, const uint8_t *data, size_t len, void *arg);
    void *arg;
} chaos_load_hooks;

/* Per-connection record, kept for the population's life. */
typedef struct chaos_conn_stats {
    uint64_t sent;        /* messages sent (echo and slow) */
    uint64_t echoed;      /* echoes verified */
    uint64_t lost;        /* sent but never echoed because the connection died */
    uint64_t bytes_out;   /* bytes written (slow: how far it got before being cut off) */
    uint32_t attempts;    /* connection attempts, the first included */
    uint32_t failed;      /* attempts that never upgraded */
    uint32_t disconnects; /* upgraded connections that ended other than by our own close */
    uint32_t reconnects;  /* upgrades after a disconnect */
    uint64_t down_ms_max; /* longest time from a disconnect to the next upgrade */
    uint64_t down_ms_sum;
    enum chaos_cause last_cause;
    unsigned last_code;
    bool up;      /* upgraded now */
    bool gave_up; /* ended for good (a code not worth retrying, or reconnect off) */
} chaos_conn_stats;

typedef struct chaos_load_totals {
    size_t up; /* connections upgraded now */
    uint64_t attempts;
    uint64_t upgrades;
    uint64_t sent;
    uint64_t echoed;
    uint64_t lost;
    uint64_t disconnects; /* upgraded connections that ended other than by our own close */
    uint64_t reconnects;
    uint64_t by_cause[CHAOS_CAUSE_COUNT]; /* disconnects and failed attempts, by cause */
    uint64_t close_codes[16];             /* CLOSE events by code - 1000 (1000..1015) */
    uint64_t gave_up;
    uint64_t failovers;      /* retries sent to the next endpoint (several targets) */
    uint64_t unclean_closes; /* our own closes (stop, resize) whose handshake did not complete */
    wsf_hist latency_us;     /* echo round trips, microseconds */
    wsf_hist reconnect_ms;   /* disconnect to next upgrade, milliseconds */
} chaos_load_totals;

typedef struct chaos_load chaos_load;

/* Creates the population (no sockets yet). Copies opts and hooks; hooks may be NULL. */
chaos_load *chaos_load_new(struct event_base *base, const chaos_load_opts *opts,
                           const chaos_load_hooks *hooks);

/* Starts opening the connections (at open_rate) and, once each is up, its traffic. */
void chaos_load_start(chaos_load *l);

/* Changes the population size while running: new connections open at open_rate; surplus ones
 * (the highest indexes) close with 1000 and are not counted as disconnects. */
void chaos_load_resize(chaos_load *l, size_t connections);

/* Stops sending, waits up to grace_ms for outstanding echoes, then closes every connection with
 * 1000 (aborting those whose close does not finish within another grace_ms), and calls done once
 * no socket is left. Messages still outstanding at the close are counted as lost. */
void chaos_load_stop(chaos_load *l, uint32_t grace_ms, void (*done)(void *arg), void *arg);

/* Closes every socket at once, without callbacks, and frees everything. NULL is a no-op. */
void chaos_load_free(chaos_load *l);

/* Channel kind: queues one text message on connection i. Returns 0, or -1 when it is not up. */
int chaos_load_send_text(chaos_load *l, size_t i, const void *data, size_t len);

size_t chaos_load_size(const chaos_load *l); /* connections the population holds (resized) */
const chaos_load_totals *chaos_load_get_totals(const chaos_load *l);
const chaos_conn_stats *chaos_load_conn(const chaos_load *l, size_t i);

/* The connection's current source address and port. Returns 0, or -1 when it has no socket. */
int chaos_load_local(const chaos_load *l, size_t i, struct sockaddr_storage *out);

/* Monotonic milliseconds, the clock of chaos_event.at_ms. */
uint64_t chaos_load_now_ms(void);

/* Arms a timer event to fire ms milliseconds from now. */
void chaos_load_arm_ms(struct event *ev, uint64_t ms);

#endif
