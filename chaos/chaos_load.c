/* The load client population: connection slots opened at a bounded pace, echo traffic in
 * in-flight or rate mode, reconnection with full-jitter backoff, the slow and garbage kinds, and
 * the per-connection records and totals. One timer per slot serves whichever wait the slot is in
 * (connect timeout, reconnect delay, rate tick, garbage bound); one population tick paces opening
 * and garbage attempts. */
#include "chaos_load.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos_conn.h"
#include "ws_frame.h"
#include "wsf_buf.h"
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

static chaos_slot *chaos_slot_of(chaos_conn *c)
{
    /* conn is the slot's first member. */
    return (chaos_slot *)(void *)c;
}

static void chaos_slot_wait(chaos_slot *s, enum chaos_wait wait, const struct timeval *tv)
{
    s->wait = wait;
    event_add(s->timer, tv);
}

static void chaos_slot_unwait(chaos_slot *s)
{
    if (s->wait != CHAOS_WAIT_NONE) {
        event_del(s->timer);
        s->wait = CHAOS_WAIT_NONE;
    }
}

/* Calls done from the loop rather than from inside a connection's callback, so that done may free
 * the population. */
static void chaos_load_check_done(chaos_load *l)
{
    if (l->stopping && l->live == 0 && l->done != NULL) {
        event_active(l->done_ev, EV_TIMEOUT, 0);
    }
}

static void chaos_load_fill(chaos_load *l);
static void chaos_slot_end(chaos_slot *s);
static bool chaos_slot_expire(chaos_slot *s);

/* Starts one attempt on slot s. A failure at once is handled like any failed attempt. */
static void chaos_slot_start(chaos_slot *s)
{
    chaos_load *l = s->load;
    s->st.attempts++;
    l->totals.attempts++;
    if (chaos_conn_start(&s->conn) != 0) {
        chaos_slot_end(s);
        return;
    }
    l->live++;
    l->pending++;
    s->pending = true;
    if (l->opts.kind == CHAOS_CLIENT_GARBAGE) {
        chaos_slot_wait(s, CHAOS_WAIT_GARBAGE, l->garbage_tv);
    } else if (l->opts.connect_timeout_ms > 0) {
        chaos_slot_wait(s, CHAOS_WAIT_CONNECT, l->connect_tv);
    }
}

/* Whether an ended connection or attempt of the echo kind is worth another try. */
static bool chaos_load_should_retry(const chaos_load *l, const chaos_conn *c)
{
    bool kind = l->opts.kind == CHAOS_CLIENT_ECHO || l->opts.kind == CHAOS_CLIENT_CHANNEL;
    if (!kind || !l->opts.reconnect || l->stopping) {
        return false;
    }
    switch (c->cause) {
    case CHAOS_CAUSE_CLOSE:
        /* DESIGN "Admission and security": also 4001 (lagging, resume), 4002 (token expired)
         * and 4429 (rate limited), which only the channel route sends. */
        return wsf_backoff_should_reconnect(c->code) || c->code == 4001 || c->code == 4002 ||
               c->code == 4429;
    case CHAOS_CAUSE_ABNORMAL:
    case CHAOS_CAUSE_REFUSED:
    case CHAOS_CAUSE_CONNECT:
    case CHAOS_CAUSE_HANDSHAKE:
        return true;
    default:
        return false;
    }
}

/* Books the end of our own close (stop, resize): no event, no disconnect. */
static void chaos_slot_end_own(chaos_slot *s, bool was_up)
{
    chaos_load *l = s->load;
    s->own_close = false;
    s->retiring = false;
    if (was_up) {
        s->st.up = false;
        l->totals.up--;
    }
    if (!s->conn.clean && l->opts.kind == CHAOS_CLIENT_ECHO) {
        l->totals.unclean_closes++;
    }
    /* A slot closed by a resize down and wanted again by a resize up since. */
    if (!l->stopping && s->conn.index < l->size) {
        s->needs_open = true;
        if (l->open_cursor > s->conn.index) {
            l->open_cursor = s->conn.index;
        }
        chaos_load_fill(l);
    }
    chaos_load_check_done(l);
}

/* The attempt or connection in slot s ended (its socket is closed): book it, tell the hooks and
 * decide on a retry. */
static void chaos_slot_end(chaos_slot *s)
{
    chaos_load *l = s->load;
    chaos_conn *c = &s->conn;
    bool was_up = c->upgraded;
    uint64_t now = chaos_load_now_ms();

    chaos_slot_unwait(s);
    if (s->pending) {
        s->pending = false;
        l->pending--;
    }
    if (l->opts.kind == CHAOS_CLIENT_SLOW) {
        s->st.sent += c->sent;
        l->totals.sent += c->sent;
    }
    s->st.bytes_out += c->bytes_out;
    if (s->own_close) {
        chaos_slot_end_own(s, was_up);
        return;
    }

    chaos_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.conn = c->index;
    ev.cause = c->cause;
    ev.code = c->code;
    ev.sys_errno = c->sys_errno;
    ev.at_ms = now;
    ev.was_up = was_up;
    ev.local = c->local;

    if (was_up) {
        if (l->opts.kind == CHAOS_CLIENT_ECHO) {
            uint64_t lost = chaos_conn_outstanding(c);
            s->st.lost += lost;
            l->totals.lost += lost;
        }
        s->st.up = false;
        l->totals.up--;
        s->st.disconnects++;
        l->totals.disconnects++;
        /* Garbage attempts are separate tries, not one connection coming back. */
        if (!s->down_pending && l->opts.kind != CHAOS_CLIENT_GARBAGE) {
            s->down_pending = true;
            s->down_at_ms = now;
        }
        wsf_backoff_on_up(&s->backoff, &l->opts.backoff, now - s->up_at_ms);
    } else {
        s->st.failed++;
    }
    s->st.last_cause = c->cause;
    s->st.last_code = c->code;
    l->totals.by_cause[c->cause]++;
    if (c->cause == CHAOS_CAUSE_CLOSE && c->code >= 1000 && c->code < 1016) {
        l->totals.close_codes[c->code - 1000]++;
    }
    if (chaos_load_should_retry(l, c) && c->index < l->size) {
        /* With several endpoints, a host that refuses, resets or goes away is left for the
         * next one; the channel client resumes there from its offsets. */
        bool gone = c->cause == CHAOS_CAUSE_REFUSED || c->cause == CHAOS_CAUSE_CONNECT ||
                    c->cause == CHAOS_CAUSE_ABNORMAL ||
                    (c->cause == CHAOS_CAUSE_CLOSE && (c->code == 1001 || c->code == 1012));
        if (l->opts.ntargets > 1 && gone) {
            c->target = (c->target + 1) % l->opts.ntargets;
            l->totals.failovers++;
        }
        uint32_t delay = wsf_backoff_next(&s->backoff, &l->opts.backoff, wsf_rand_unit(&l->rng));
        struct timeval tv = {.tv_sec = delay / 1000, .tv_usec = (suseconds_t)(delay % 1000) * 1000};
        chaos_slot_wait(s, CHAOS_WAIT_RETRY, &tv);
        ev.will_retry = true;
        ev.retry_ms = delay;
    } else if (l->opts.kind != CHAOS_CLIENT_GARBAGE && !l->stopping && c->index < l->size) {
        s->st.gave_up = true;
        l->totals.gave_up++;
    }
    if (l->hooks.on_event != NULL) {
        l->hooks.on_event(&ev, l->hooks.arg);
    }
    chaos_load_fill(l);
    chaos_load_check_done(l);
}

static void chaos_load_on_closed(chaos_conn *c, void *arg)
{
    chaos_load *l = arg;
    l->live--;
    chaos_slot_end(chaos_slot_of(c));
}

/* Echo kind: sends up to n messages within the population's message budget. */
static void chaos_slot_send(chaos_slot *s, uint64_t n)
{
    chaos_load *l = s->load;
    if (l->opts.max_messages != 0) {
        uint64_t left = l->opts.max_messages - l->totals.sent;
        if (n > left) {
            n = left;
        }
    }
    if (n == 0) {
        return;
    }
    chaos_conn_send(&s->conn, n);
    s->st.sent += n;
    l->totals.sent += n;
}

/* Our own close of an upgraded connection: outstanding echoes are lost. */
static void chaos_slot_close_own(chaos_slot *s)
{
    chaos_load *l = s->load;
    chaos_conn *c = &s->conn;
    if (c->state != CHAOS_CONN_OPEN) {
        return;
    }
    chaos_slot_unwait(s);
    s->own_close = true;
    if (l->opts.kind == CHAOS_CLIENT_ECHO || l->opts.kind == CHAOS_CLIENT_CHANNEL) {
        uint64_t lost = chaos_conn_outstanding(c);
        s->st.lost += lost;
        l->totals.lost += lost;
        chaos_conn_close(c);
        return;
    }
    /* Slow and garbage clients never read, or do not care: no closing handshake. */
    chaos_conn_fail(c, CHAOS_CAUSE_CLOSE, WS_CLOSE_NORMAL, 0, "closed by the load client");
}

/* Our own end of whatever slot s is doing, without a disconnect. */
static void chaos_slot_drop(chaos_slot *s)
{
    chaos_load *l = s->load;
    chaos_conn *c = &s->conn;
    s->needs_open = false;
    if (s->wait == CHAOS_WAIT_RETRY) {
        chaos_slot_unwait(s);
    }
    switch (c->state) {
    case CHAOS_CONN_CONNECTING:
    case CHAOS_CONN_HANDSHAKE:
        chaos_slot_unwait(s);
        chaos_conn_abort(c);
        l->live--;
        if (s->pending) {
            s->pending = false;
            l->pending--;
        }
        break;
    case CHAOS_CONN_OPEN:
        chaos_slot_close_own(s);
        break;
    default:
        break;
    }
}

/* Echo kind: starts (or resumes) an upgraded connection's traffic. */
static void chaos_slot_traffic(chaos_slot *s)
{
    chaos_load *l = s->load;
    chaos_env_tick(&l->env);
    if (l->opts.rate > 0) {
        s->rate_t0_us = l->env.now_us;
        s->rate_sent = 1;
        chaos_slot_send(s, 1);
        chaos_slot_wait(s, CHAOS_WAIT_RATE, l->rate_tv);
        return;
    }
    uint64_t out = chaos_conn_outstanding(&s->conn);
    if (out < l->opts.inflight) {
        chaos_slot_send(s, l->opts.inflight - out);
    }
}

static void chaos_load_on_open(chaos_conn *c, void *arg)
{
    chaos_load *l = arg;
    chaos_slot *s = chaos_slot_of(c);
    uint64_t now = chaos_load_now_ms();
    bool reconnect = false;
    uint64_t down_ms = 0;

    chaos_slot_unwait(s);
    if (s->pending) {
        s->pending = false;
        l->pending--;
    }
    s->st.up = true;
    s->up_at_ms = now;
    s->end_at_ms = 0;
    if (l->opts.lifetime_ms > 0 && l->opts.kind == CHAOS_CLIENT_ECHO) {
        double life = (0.5 + wsf_rand_unit(&l->rng)) * (double)l->opts.lifetime_ms;
        s->end_at_ms = now + (uint64_t)life;
    }
    l->totals.up++;
    l->totals.upgrades++;
    if (s->down_pending) {
        s->down_pending = false;
        reconnect = true;
        down_ms = now - s->down_at_ms;
        s->st.reconnects++;
        l->totals.reconnects++;
        s->st.down_ms_sum += down_ms;
        if (down_ms > s->st.down_ms_max) {
            s->st.down_ms_max = down_ms;
        }
        wsf_hist_add(&l->totals.reconnect_ms, down_ms);
    }
    if (l->hooks.on_up != NULL) {
        l->hooks.on_up(c->index, reconnect, down_ms, l->hooks.arg);
    }
    if (c->state != CHAOS_CONN_OPEN) {
        return;
    }
    if (l->stopping || c->index >= l->size) {
        chaos_slot_close_own(s);
        return;
    }
    switch (l->opts.kind) {
    case CHAOS_CLIENT_GARBAGE:
        chaos_slot_wait(s, CHAOS_WAIT_GARBAGE, l->garbage_tv);
        chaos_conn_send_malformed(c);
        break;
    case CHAOS_CLIENT_SLOW:
        chaos_conn_slow(c);
        break;
    case CHAOS_CLIENT_CHANNEL:
        break; /* the hooks speak */
    default:
        chaos_slot_traffic(s);
        break;
    }
    chaos_load_fill(l);
}

static void chaos_load_on_message(chaos_conn *c, const uint8_t *data, size_t len, void *arg)
{
    chaos_load *l = arg;
    if (l->hooks.on_message != NULL && !l->stopping) {
        l->hooks.on_message(c->index, data, len, l->hooks.arg);
    }
}

static void chaos_load_on_echo(chaos_conn *c, uint64_t latency_us, void *arg)
{
    chaos_load *l = arg;
    chaos_slot *s = chaos_slot_of(c);
    s->st.echoed++;
    l->totals.echoed++;
    wsf_hist_add(&l->totals.latency_us, latency_us);
    if (l->stopping || s->retiring) {
        if (chaos_conn_outstanding(c) == 0) {
            chaos_slot_close_own(s);
        }
        return;
    }
    if (l->opts.rate == 0 && !chaos_slot_expire(s)) {
        chaos_slot_send(s, 1);
    }
}

/* A session whose lifetime is over stops sending and closes once its echoes are in; the slot
 * then opens a new one (chaos_slot_end_own). Returns true when it did. */
static bool chaos_slot_expire(chaos_slot *s)
{
    if (s->end_at_ms == 0 || s->retiring || chaos_load_now_ms() < s->end_at_ms) {
        return false;
    }
    chaos_slot_unwait(s);
    s->retiring = true;
    if (chaos_conn_outstanding(&s->conn) == 0) {
        chaos_slot_close_own(s);
    }
    return true;
}

/* Rate mode: sends what the schedule says is due by now. */
static void chaos_slot_rate_tick(chaos_slot *s)
{
    chaos_load *l = s->load;
    if (chaos_slot_expire(s)) {
        return;
    }
    chaos_env_tick(&l->env);
    double due = (double)(l->env.now_us - s->rate_t0_us) * l->opts.rate / 1e6 + 1.0;
    uint64_t target = (uint64_t)due;
    if (target > s->rate_sent) {
        chaos_slot_send(s, target - s->rate_sent);
        s->rate_sent = target;
    }
    if (s->conn.state == CHAOS_CONN_OPEN) {
        chaos_slot_wait(s, CHAOS_WAIT_RATE, l->rate_tv);
    }
}

static void chaos_slot_on_timer(evutil_socket_t fd, short what, void *arg)
{
    chaos_slot *s = arg;
    enum chaos_wait wait = s->wait;
    (void)fd;
    (void)what;
    s->wait = CHAOS_WAIT_NONE;
    switch (wait) {
    case CHAOS_WAIT_CONNECT:
        chaos_conn_fail(&s->conn, CHAOS_CAUSE_CONNECT, 0, ETIMEDOUT, "no upgrade in time");
        break;
    case CHAOS_WAIT_GARBAGE:
        chaos_conn_fail(&s->conn, CHAOS_CAUSE_CONNECT, 0, ETIMEDOUT, "server never closed");
        break;
    case CHAOS_WAIT_RETRY:
        if (!s->load->stopping && s->conn.index < s->load->size) {
            chaos_slot_start(s);
        }
        break;
    case CHAOS_WAIT_RATE:
        chaos_slot_rate_tick(s);
        break;
    default:
        break;
    }
}

/* Allocates slots up to n. */
static void chaos_load_grow(chaos_load *l, size_t n)
{
    if (n <= l->nslots) {
        return;
    }
    l->slots = wsf_xrealloc(l->slots, n * sizeof(*l->slots));
    for (size_t i = l->nslots; i < n; i++) {
        chaos_slot *s = wsf_xcalloc(1, sizeof(*s));
        chaos_conn_init(&s->conn, &l->env, i);
        s->load = l;
        s->timer = evtimer_new(l->base, chaos_slot_on_timer, s);
        if (s->timer == NULL) {
            fprintf(stderr, "chaos_load: evtimer_new failed\n");
            abort();
        }
        wsf_backoff_init(&s->backoff);
        l->slots[i] = s;
    }
    l->nslots = n;
}

/* Opens slots that need it, as far as the pending cap (and, with open_rate, the credit) allow. */
static void chaos_load_fill(chaos_load *l)
{
    if (!l->started || l->stopping || l->filling || l->opts.kind == CHAOS_CLIENT_GARBAGE) {
        return;
    }
    /* Attempts that fail at once come back here through chaos_slot_end: this loop carries on
     * instead of recursing. */
    l->filling = true;
    while (l->open_cursor < l->size && l->pending < CHAOS_MAX_PENDING) {
        chaos_slot *s = l->slots[l->open_cursor];
        if (!s->needs_open) {
            l->open_cursor++;
            continue;
        }
        if (l->opts.open_rate > 0) {
            if (l->open_credit < 1.0) {
                break;
            }
            l->open_credit -= 1.0;
        }
        s->needs_open = false;
        l->open_cursor++;
        chaos_slot_start(s);
    }
    l->filling = false;
}

/* Garbage kind: one new attempt on a free slot, if there is one. */
static void chaos_load_garbage_attempt(chaos_load *l)
{
    for (size_t n = 0; n < l->size; n++) {
        size_t i = l->garbage_cursor++ % l->size;
        chaos_slot *s = l->slots[i];
        if (s->conn.state != CHAOS_CONN_DOWN) {
            continue;
        }
        s->conn.garbage =
            wsf_rand_unit(&l->rng) < 0.5 ? CHAOS_GARBAGE_REQUEST : CHAOS_GARBAGE_FRAME;
        s->conn.garbage_rng = (l->rng ^ (uint64_t)i * 0x9e3779b97f4a7c15ull) | 1u;
        wsf_rand_unit(&l->rng);
        chaos_slot_start(s);
        return;
    }
}

static void chaos_load_on_tick(evutil_socket_t fd, short what, void *arg)
{
    chaos_load *l = arg;
    (void)fd;
    (void)what;
    uint64_t prev = l->last_tick_us;
    chaos_env_tick(&l->env);
    double dt = (double)(l->env.now_us - prev) / 1e6;
    l->last_tick_us = l->env.now_us;
    if (l->stopping) {
        return;
    }
    if (l->opts.kind == CHAOS_CLIENT_GARBAGE) {
        double cap = l->opts.garbage_rate * 0.1 + 1.0;
        l->garbage_credit += l->opts.garbage_rate * dt;
        if (l->garbage_credit > cap) {
            l->garbage_credit = cap;
        }
        while (l->garbage_credit >= 1.0) {
            l->garbage_credit -= 1.0;
            chaos_load_garbage_attempt(l);
        }
        return;
    }
    if (l->opts.open_rate > 0) {
        double cap = l->opts.open_rate * 0.05 + 1.0;
        l->open_credit += l->opts.open_rate * dt;
        if (l->open_credit > cap) {
            l->open_credit = cap;
        }
        chaos_load_fill(l);
    }
}

static void chaos_load_on_done(evutil_socket_t fd, short what, void *arg)
{
    chaos_load *l = arg;
    (void)fd;
    (void)what;
    if (l->done != NULL && l->live == 0) {
        void (*done)(void *) = l->done;
        l->done = NULL;
        done(l->done_arg);
    }
}

chaos_load *chaos_load_new(struct event_base *base, const chaos_load_opts *opts,
                           const chaos_load_hooks *hooks)
{
    chaos_load *l = wsf_xcalloc(1, sizeof(*l));
    l->base = base;
    l->opts = *opts;
    if (hooks != NULL) {
        l->hooks = *hooks;
    }
    l->env.base = base;
    l->env.opts = &l->opts;
    chaos_payload_init(&l->env.payload, opts->size, opts->binary);
    l->env.rx_cap = CHAOS_RX_CAP;
    l->env.rx = wsf_xmalloc(CHAOS_RX_CAP);
    l->env.on_open = chaos_load_on_open;
    l->env.on_echo = chaos_load_on_echo;
    if (opts->kind == CHAOS_CLIENT_CHANNEL) {
        l->env.on_message = chaos_load_on_message;
    }
    l->env.on_closed = chaos_load_on_closed;
    l->env.arg = l;
    chaos_env_tick(&l->env);
    l->rng = opts->seed != 0 ? opts->seed : l->env.now_us ^ ((uint64_t)getpid() << 32);
    if (l->rng == 0) {
        l->rng = 0x9e3779b97f4a7c15ull;
    }
    wsf_hist_init(&l->totals.latency_us);
    wsf_hist_init(&l->totals.reconnect_ms);

    struct timeval tv;
    uint32_t ms = opts->connect_timeout_ms;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    l->connect_tv = event_base_init_common_timeout(base, &tv);
    uint64_t us = CHAOS_RATE_TICK_MIN_US;
    if (opts->rate > 0 && 1e6 / opts->rate > (double)us) {
        us = (uint64_t)(1e6 / opts->rate);
    }
    tv.tv_sec = (time_t)(us / 1000000u);
    tv.tv_usec = (suseconds_t)(us % 1000000u);
    l->rate_tv = event_base_init_common_timeout(base, &tv);
    tv.tv_sec = CHAOS_GARBAGE_WAIT_MS / 1000;
    tv.tv_usec = 0;
    l->garbage_tv = event_base_init_common_timeout(base, &tv);
    l->tick = event_new(base, -1, EV_PERSIST, chaos_load_on_tick, l);
    l->stop_timer = evtimer_new(base, NULL, NULL);
    l->done_ev = event_new(base, -1, 0, chaos_load_on_done, l);
    if (l->tick == NULL || l->stop_timer == NULL || l->done_ev == NULL || l->connect_tv == NULL ||
        l->rate_tv == NULL || l->garbage_tv == NULL) {
        fprintf(stderr, "chaos_load: cannot create events\n");
        abort();
    }
    l->size = opts->connections;
    chaos_load_grow(l, l->size);
    for (size_t i = 0; i < l->size; i++) {
        l->slots[i]->needs_open = true;
    }
    return l;
}

void chaos_load_start(chaos_load *l)
{
    if (l->started) {
        return;
    }
    l->started = true;
    l->last_tick_us = l->env.now_us;
    if (l->opts.kind == CHAOS_CLIENT_GARBAGE || l->opts.open_rate > 0) {
        chaos_load_arm_ms(l->tick, CHAOS_TICK_MS);
        l->open_credit = 1.0;
        l->garbage_credit = 1.0;
        chaos_load_on_tick(-1, 0, l);
    }
    chaos_load_fill(l);
}

void chaos_load_resize(chaos_load *l, size_t connections)
{
    if (l->stopping) {
        return;
    }
    if (connections > l->size) {
        chaos_load_grow(l, connections);
        for (size_t i = l->size; i < connections; i++) {
            chaos_slot *s = l->slots[i];
            s->needs_open = s->conn.state == CHAOS_CONN_DOWN && s->wait != CHAOS_WAIT_RETRY;
            s->st.gave_up = false;
            if (s->retiring && !s->own_close) {
                s->retiring = false;
                chaos_slot_traffic(s);
            }
        }
        if (l->open_cursor > l->size) {
            l->open_cursor = l->size;
        }
        l->size = connections;
        chaos_load_fill(l);
        return;
    }
    size_t old = l->size;
    l->size = connections;
    if (l->open_cursor > connections) {
        l->open_cursor = connections;
    }
    for (size_t i = connections; i < old; i++) {
        chaos_slot *s = l->slots[i];
        if (s->conn.state == CHAOS_CONN_OPEN && l->opts.kind == CHAOS_CLIENT_ECHO &&
            chaos_conn_outstanding(&s->conn) > 0) {
            /* Its echoes are still due: no more sends, and the close once they are in. */
            chaos_slot_unwait(s);
            s->retiring = true;
            continue;
        }
        chaos_slot_drop(s);
    }
}

/* Stop, second phase: every connection still open closes now; those whose close does not finish
 * within another grace are aborted. */
static void chaos_load_on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
    chaos_load *l = arg;
    (void)fd;
    (void)what;
    if (l->stop_phase == 1) {
        l->stop_phase = 2;
        for (size_t i = 0; i < l->nslots; i++) {
            chaos_slot_close_own(l->slots[i]);
        }
        if (l->live > 0) {
            chaos_load_arm_ms(l->stop_timer, l->grace_ms);
        }
        return;
    }
    for (size_t i = 0; i < l->nslots; i++) {
        chaos_slot *s = l->slots[i];
        if (s->conn.fd == -1) {
            continue;
        }
        chaos_slot_unwait(s);
        chaos_conn_abort(&s->conn);
        l->live--;
        s->own_close = true;
        s->conn.clean = false;
        chaos_slot_end(s);
    }
}

void chaos_load_stop(chaos_load *l, uint32_t grace_ms, void (*done)(void *arg), void *arg)
{
    if (l->stopping) {
        return;
    }
    l->stopping = true;
    l->done = done;
    l->done_arg = arg;
    l->grace_ms = grace_ms;
    l->stop_phase = 1;
    event_del(l->tick);
    for (size_t i = 0; i < l->nslots; i++) {
        chaos_slot *s = l->slots[i];
        if (s->conn.state == CHAOS_CONN_OPEN && l->opts.kind == CHAOS_CLIENT_ECHO &&
            chaos_conn_outstanding(&s->conn) > 0) {
            chaos_slot_unwait(s); /* no more rate ticks; the echoes are still awaited */
            continue;
        }
        chaos_slot_drop(s);
    }
    event_assign(l->stop_timer, l->base, -1, 0, chaos_load_on_stop_timer, l);
    if (l->live > 0) {
        chaos_load_arm_ms(l->stop_timer, grace_ms);
    }
    chaos_load_check_done(l);
}

void chaos_load_free(chaos_load *l)
{
    if (l == NULL) {
        return;
    }
    for (size_t i = 0; i < l->nslots; i++) {
        chaos_slot *s = l->slots[i];
        chaos_conn_fini(&s->conn);
        event_free(s->timer);
        free(s);
    }
    free(l->slots);
    event_free(l->tick);
    event_free(l->stop_timer);
    event_free(l->done_ev);
    chaos_payload_fini(&l->env.payload);
    free(l->env.rx);
    free(l);
}

int chaos_load_send_text(chaos_load *l, size_t i, const void *data, size_t len)
{
    if (i >= l->nslots || l->slots[i]->conn.state != CHAOS_CONN_OPEN) {
        return -1;
    }
    chaos_conn_send_text(&l->slots[i]->conn, data, len);
    return 0;
}

size_t chaos_load_size(const chaos_load *l)
{
    return l->size;
}

const chaos_load_totals *chaos_load_get_totals(const chaos_load *l)
{
    return &l->totals;
}

const chaos_conn_stats *chaos_load_conn(const chaos_load *l, size_t i)
{
    return i < l->nslots ? &l->slots[i]->st : NULL;
}

int chaos_load_local(const chaos_load *l, size_t i, struct sockaddr_storage *out)
{
    if (i >= l->nslots || l->slots[i]->conn.fd == -1) {
        return -1;
    }
    *out = l->slots[i]->conn.local;
    return 0;
}
