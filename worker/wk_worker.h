/* The worker process context: one event loop, its listeners, connections and shared buffers. */
#ifndef WK_WORKER_H
#define WK_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>

#include "wk_config.h"
#include "wk_fault.h"
#include "wsf_msg.h"
#include "wsf_buf.h"
#include "wk_auth.h"
#include "wsf_ipcount.h"
#include "wsf_wheel.h"

struct event_base;
struct event;
struct epoll_event;
typedef struct wk_conn wk_conn;
typedef struct wk_listener wk_listener;

#define WK_TICK_MS 100u /* resolution of connection deadlines */

/* Cumulative counters since start (the source of the supervisor's Reports). */
typedef struct wk_stats {
    uint64_t accepted;
    uint64_t closed;
    uint64_t upgraded;
    uint64_t handshakes_failed; /* 4xx answers */
    uint64_t handshakes_timeout;
    uint64_t rejected_busy;
    uint64_t failed_writes;
    uint64_t messages_in;
    uint64_t messages_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t protocol_errors;
    uint64_t internal_errors;               /* injected faults included */
    uint64_t handshakes_failed_server;      /* 500 answers */
    uint32_t loop_lag_max_us;               /* worst tick lateness since the last Report */
    uint64_t latency[WSF_HIST_BUCKETS + 1]; /* readable-event handling time, sampled */
    /* Admission refusals by cause (client-side: never server failures). */
    uint64_t refused_bad_request;  /* 400, 405, 431, 505: not a usable upgrade request */
    uint64_t refused_not_found;    /* 404 */
    uint64_t refused_upgrade;      /* 426: plain HTTP or an unsupported WebSocket version */
    uint64_t refused_origin;       /* 403: Origin not in the allowlist */
    uint64_t refused_per_ip;       /* 429: max_conns_per_ip */
    uint64_t refused_rate_limited; /* closed 4429: over msg_rate */
} wk_stats;

typedef struct wk_fleet wk_fleet;
typedef struct wk_chhub wk_chhub;

typedef struct wk_ctx {
    wk_config cfg;
    struct event_base *base;
    wk_listener *listeners;
    size_t nlisteners;
    struct event *tick;
    struct event *resume_accept;
    struct event *sig_term;
    struct event *sig_int;
    struct event *sig_hup; /* reloads the TLS certificate and key */
    struct event *grace;
    wsf_wheel wheel;
    uint64_t now;                 /* current tick, WK_TICK_MS each */
    wk_conn *conns;               /* every live connection, newest first, for shutdown */
    wk_conn *conns_tail;          /* the oldest of them */
    int epfd;                     /* their epoll set (wk_conns_init), -1 when none */
    struct event *conns_ev;       /* libevent's watch on epfd, where libevent runs the loop */
    int lev_fd;                   /* libevent's epoll descriptor in epfd (wk_loop), or -1 */
    int lev_timer;                /* timerfd in epfd for libevent's next timer, or -1 */
    int lev_added;                /* libevent's count of added events when lev_timer was set */
    struct timeval lev_armed;     /* the timer deadline lev_timer is set for (event_pending's) */
    bool lev_armed_any;           /* lev_timer is set (libevent has a timer) */
    long lev_lag_us;              /* how far libevent's clock may trail (its resolution) */
    struct event **lev_scan;      /* libevent's events, gathered to look at their timeouts */
    size_t lev_scan_cap;
    bool quit;                    /* wk_loop_quit was called */
    struct epoll_event *ep_batch; /* the batch being dispatched, entries ep_next..ep_n to come */
    int ep_next;
    int ep_n;
    wk_conn **again; /* TLS connections to read again (input already decrypted) */
    size_t nagain;
    size_t again_cap;
    unsigned nconns;     /* connections counted against max_connections */
    unsigned nrejecting; /* connections being answered 503 */
    bool accepting;      /* listeners are enabled */
    bool accept_paused;  /* out of descriptors: retrying shortly */
    bool accept_off;     /* the supervisor said stop accepting */
    bool stopping;
    bool draining;           /* closing connections gradually */
    uint64_t drain_end;      /* tick by which every connection is closed */
    uint64_t last_tick_us;   /* for loop lag */
    unsigned sample_counter; /* latency sampling */
    wk_fleet *fleet;         /* supervisor link, NULL standalone */
    wk_fault fault;          /* drills: off unless the supervisor turns one on */
    wk_chhub *channels;      /* /channels over NATS, NULL when off */
    wk_auth auth;            /* [auth]: JWT keys, off without them */
    struct wk_tls *tls;      /* TLS listeners' context, NULL without them */
    struct wk_zpool *zpool;  /* permessage-deflate's shared streams, made on first use */
    uint8_t *rbuf;           /* one read buffer shared by all connections */
    size_t rbuf_cap;
    wsf_buf batch;       /* output produced while one connection's input is processed */
    wk_conn *batch_conn; /* the connection batch belongs to, or NULL */
    wk_stats stats;
    wsf_ipcount peers; /* connections per client address, with max_conns_per_ip */
} wk_ctx;

/* Creates the event loop and binds the listeners of cfg (copied). Returns 0, or -1 after
 * logging why (the caller exits 100). */
int wk_ctx_init(wk_ctx *ctx, const wk_config *cfg);

/* Runs until SIGTERM/SIGINT has drained the connections or the grace period ran out. */
int wk_ctx_run(wk_ctx *ctx);

/* Frees everything wk_ctx_init set up. */
void wk_ctx_fini(wk_ctx *ctx);

/* Connection bookkeeping called by wk_conn. */
void wk_ctx_on_conn_closed(wk_ctx *ctx, bool rejecting);

/* Re-evaluates whether the listeners should accept (after accept_paused, accept_off or
 * stopping changed). */
void wk_ctx_update_accepting(wk_ctx *ctx);

/* SIGTERM: stop accepting, close 1001 to every connection now, exit when all are closed or after
 * the grace period. */
void wk_ctx_shutdown(wk_ctx *ctx, const char *why);

/* Drain: stop accepting, close connections with 1001 gradually over drain_ms, then exit. */
void wk_ctx_drain(wk_ctx *ctx, uint32_t drain_ms, const char *why);

/* Closes up to count upgraded connections with 1012 (service restart). Returns how many. */
unsigned wk_ctx_shed(wk_ctx *ctx, unsigned count);

/* Fills a Report from the counters and gauges (and resets the per-interval loop lag). */
void wk_ctx_report(wk_ctx *ctx, wsf_report *out);

#endif
