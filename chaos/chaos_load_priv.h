/* The load client's insides, shared by chaos_load.c (the population: opening pace, resize, stop)
 * and chaos_loadslot.c (one connection slot: attempts, traffic, reconnection, its timer). */
#ifndef CHAOS_LOAD_PRIV_H
#define CHAOS_LOAD_PRIV_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "chaos_conn.h"
#include "chaos_load.h"
#include "wsf_rand.h"

#define CHAOS_MAX_PENDING 256       /* connection attempts in flight while opening */
#define CHAOS_RX_CAP (256u * 1024u) /* the shared read buffer */
#define CHAOS_TICK_MS 10            /* population tick: open_rate and garbage_rate pacing */
#define CHAOS_RATE_TICK_MIN_US                                                                     \
    10000                          /* rate mode: a connection's timer fires at most this often     \
                                    */
#define CHAOS_GARBAGE_WAIT_MS 5000 /* garbage: how long the server has to close */

/* What a slot's timer is waiting for. */
enum chaos_wait {
    CHAOS_WAIT_NONE = 0,
    CHAOS_WAIT_CONNECT, /* the upgrade, until connect_timeout_ms */
    CHAOS_WAIT_RETRY,   /* the backoff delay before the next attempt */
    CHAOS_WAIT_RATE,    /* the next rate tick */
    CHAOS_WAIT_GARBAGE, /* the server's reaction to a garbage attempt */
};

typedef struct chaos_slot {
    chaos_conn conn;
    chaos_conn_stats st;
    chaos_load *load;
    struct event *timer;
    enum chaos_wait wait;
    wsf_backoff backoff;
    uint64_t up_at_ms;   /* when it last upgraded */
    uint64_t end_at_ms;  /* when this session ends by itself (lifetime), 0 = never */
    uint64_t down_at_ms; /* when it disconnected, while down_pending */
    uint64_t rate_t0_us; /* rate mode: when this connection's schedule began */
    uint64_t rate_sent;  /* rate mode: messages sent on that schedule */
    bool down_pending;   /* disconnected and not yet upgraded again */
    bool needs_open;     /* inside the population and not yet started */
    bool pending;        /* an attempt counted in the population's pending */
    bool own_close;      /* we are closing it (stop, resize): not a disconnect */
    bool retiring;       /* resized away or its lifetime over: sends nothing more, closes once
                          * its echoes are in */
} chaos_slot;

struct chaos_load {
    struct event_base *base;
    chaos_load_opts opts;
    chaos_load_hooks hooks;
    chaos_env env;
    chaos_slot **slots;
    size_t nslots;      /* allocated; records are kept after a resize down */
    size_t size;        /* connections wanted */
    size_t open_cursor; /* no slot below this needs opening */
    size_t garbage_cursor;
    size_t pending; /* attempts not yet upgraded or failed */
    size_t live;    /* slots with a socket */
    chaos_load_totals totals;
    uint64_t rng;
    struct event *tick;
    struct event *stop_timer;
    struct event *done_ev;
    const struct timeval *connect_tv; /* libevent common timeouts: O(1) to arm */
    const struct timeval *rate_tv;
    const struct timeval *garbage_tv;
    uint64_t last_tick_us;
    double open_credit;
    double garbage_credit;
    bool started;
    bool stopping;
    bool filling;
    int stop_phase; /* 1: waiting for echoes, 2: waiting for closes */
    uint32_t grace_ms;
    void (*done)(void *arg);
    void *done_arg;
};

/* chaos_loadslot.c: one slot. */

/* Starts one attempt on slot s. A failure at once is handled like any failed attempt. */
void chaos_slot_start(chaos_slot *s);
/* The attempt or connection in slot s ended (its socket is closed): books it, tells the hooks
 * and decides on a retry. */
void chaos_slot_end(chaos_slot *s);
/* Stops the slot's timer, whatever it waits for. */
void chaos_slot_unwait(chaos_slot *s);
/* Our own close of an upgraded connection: outstanding echoes are lost. */
void chaos_slot_close_own(chaos_slot *s);
/* Our own end of whatever slot s is doing (attempt or connection), without a disconnect. */
void chaos_slot_drop(chaos_slot *s);
/* Echo kind: starts (or resumes) an upgraded connection's traffic. */
void chaos_slot_traffic(chaos_slot *s);
/* The slot's one timer (arg: the slot), for whichever wait it is in. */
void chaos_slot_on_timer(evutil_socket_t fd, short what, void *arg);
/* Sets the connection callbacks of env (on_message only for channel clients). */
void chaos_slot_env_hooks(chaos_env *env, bool channel);

/* chaos_load.c: the population. */

/* Opens slots that need it, as far as the pending cap (and, with open_rate, the credit) allow. */
void chaos_load_fill(chaos_load *l);
/* Calls done from the loop once a stopping population has no live slot. */
void chaos_load_check_done(chaos_load *l);

#endif
