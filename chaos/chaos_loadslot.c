/* One connection slot of the load population: an attempt and its connect timeout, echo traffic in
 * in-flight or rate mode, retirement, and reconnection with full-jitter backoff, all on the
 * slot's one timer. */
#include "chaos_load_priv.h"

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

static bool chaos_slot_expire(chaos_slot *s);

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

void chaos_slot_unwait(chaos_slot *s)
{
    if (s->wait != CHAOS_WAIT_NONE) {
        event_del(s->timer);
        s->wait = CHAOS_WAIT_NONE;
    }
}

/* Starts one attempt on slot s. A failure at once is handled like any failed attempt. */
void chaos_slot_start(chaos_slot *s)
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
void chaos_slot_end(chaos_slot *s)
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
void chaos_slot_close_own(chaos_slot *s)
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
void chaos_slot_drop(chaos_slot *s)
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
void chaos_slot_traffic(chaos_slot *s)
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

void chaos_slot_on_timer(evutil_socket_t fd, short what, void *arg)
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

void chaos_slot_env_hooks(chaos_env *env, bool channel)
{
    env->on_open = chaos_load_on_open;
    env->on_echo = chaos_load_on_echo;
    if (channel) {
        env->on_message = chaos_load_on_message;
    }
    env->on_closed = chaos_load_on_closed;
}
