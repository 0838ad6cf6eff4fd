/* The load client population: connection slots opened at a bounded pace, echo traffic in
 * in-flight or rate mode, reconnection with full-jitter backoff, the slow and garbage kinds, and
 * the per-connection records and totals. One timer per slot serves whichever wait the slot is in
 * (connect timeout, reconnect delay, rate tick, garbage bound); one population tick paces opening
 * and garbage attempts. This file is the population; chaos_loadslot.c is one slot's life. */
#include "chaos_load.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos_conn.h"
#include "chaos_load_priv.h"
#include "ws_frame.h"
#include "wsf_buf.h"
#include "wsf_rand.h"

/* Calls done from the loop rather than from inside a connection's callback, so that done may free
 * the population. */
void chaos_load_check_done(chaos_load *l)
{
    if (l->stopping && l->live == 0 && l->done != NULL) {
        event_active(l->done_ev, EV_TIMEOUT, 0);
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
void chaos_load_fill(chaos_load *l)
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
    chaos_slot_env_hooks(&l->env, opts->kind == CHAOS_CLIENT_CHANNEL);
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
