/* Channel load: the subscribers' and the publisher's wsfleet.v1 conversations on top of two
 * chaos_load populations, and the end-of-run drain and count. */
#include "chaos_chload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"
#include "wsf_chclient.h"
#include "wsf_chenc.h"

#define CHAOS_CHLOAD_TICK_MS 10
#define CHAOS_CHLOAD_PENDING 65536u /* publishes awaiting a reply, at most (a power of two) */
#define CHAOS_CHLOAD_BATCH 32       /* objects per frame the publisher sends */

enum chaos_chstate {
    CHAOS_CH_DOWN = 0,
    CHAOS_CH_SUBSCRIBING, /* connect and subscribe sent */
    CHAOS_CH_WAITING,     /* refused: subscribe again at retry_at_ms */
    CHAOS_CH_SUBSCRIBED,
};

typedef struct chaos_chclient {
    chaos_chsub sub;
    enum chaos_chstate state;
    uint64_t subscribe_id;
    uint64_t retry_at_ms;
    uint64_t up_at_ms;
    uint64_t down_ms;    /* the reconnect's time down, when resuming */
    bool resuming;       /* the subscribe in flight carries since after a reconnect */
    bool connected;      /* connect was answered on this connection */
    uint64_t last_rx_ms; /* its latest delivery */
} chaos_chclient;

typedef struct chaos_chpending {
    uint64_t id; /* 0 = free */
    uint32_t channel;
    uint64_t n;
} chaos_chpending;

enum chaos_chphase {
    CHAOS_CHP_RUN = 0,
    CHAOS_CHP_ACKS,  /* finishing: waiting for the publisher's replies */
    CHAOS_CHP_CATCH, /* finishing: waiting for subscribers to reach the last acks */
    CHAOS_CHP_CLOSE, /* closing the populations */
};

struct chaos_chload {
    struct event_base *base;
    chaos_chload_opts opts;
    chaos_load_hooks user_hooks;
    chaos_load *subs;
    chaos_load *pub;
    chaos_chclient *clients;
    size_t nclients;
    chaos_chledger *ledgers; /* one per channel */
    uint64_t *pub_n;         /* per channel: publications scheduled so far */
    char **names;            /* per channel */
    chaos_chpending *pending;
    size_t npending;
    uint64_t next_id;         /* the publisher's command ids */
    bool pub_up;              /* its connection is upgraded */
    bool pub_ready;           /* ... and its connect answered */
    uint64_t pub_retry_at_ms; /* connect again then unless answered */
    uint64_t pub_t0_ms;
    struct event *tick;
    enum chaos_chphase phase;
    uint64_t phase_deadline_ms;
    uint32_t grace_ms;
    int closing; /* populations not yet done */
    void (*done)(void *arg);
    void *done_arg;
    wsf_buf out;
    wsf_ch_msgs msgs;
    chaos_chload_totals totals;
    uint64_t gap_from_ms; /* chaos_chload_gap_start, 0 = gaps not measured */
    uint64_t gap_max_ms;
};

void chaos_chload_opts_init(chaos_chload_opts *o)
{
    memset(o, 0, sizeof(*o));
    chaos_load_opts_init(&o->load);
    o->load.kind = CHAOS_CLIENT_CHANNEL;
    strcpy(o->load.path, "/channels");
    strcpy(o->load.protocol, "wsfleet.v1");
    o->load.size = 16;
    o->channels = 20;
    strcpy(o->prefix, "load-");
    o->publish_rate = 10;
}

/* Sends cmd alone in a frame on connection i of population l. */
static void chaos_chload_send(chaos_chload *ch, chaos_load *l, size_t i, const wsf_ch_cmd *cmd)
{
    ch->out.off = ch->out.len = 0;
    wsf_ch_enc_cmd(&ch->out, cmd);
    chaos_load_send_text(l, i, ch->out.data + ch->out.off, wsf_buf_pending(&ch->out));
}

/* Subscriber i: connect (once per connection) and subscribe, with since when it has a position. */
static void chaos_chload_subscribe(chaos_chload *ch, size_t i)
{
    chaos_chclient *c = &ch->clients[i];
    wsf_ch_cmd cmd;
    ch->out.off = ch->out.len = 0;
    if (!c->connected) {
        memset(&cmd, 0, sizeof(cmd));
        cmd.op = WSF_CH_OP_CONNECT;
        cmd.id = 1;
        wsf_ch_enc_cmd(&ch->out, &cmd);
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = WSF_CH_OP_SUBSCRIBE;
    /* ids 2, 3, ... on each connection; 1 is connect */
    c->subscribe_id = c->subscribe_id < 2 ? 2 : c->subscribe_id + 1;
    cmd.id = c->subscribe_id;
    cmd.channel = ch->names[c->sub.channel];
    if (c->sub.has_pos) {
        cmd.has_since = true;
        cmd.since.epoch = c->sub.epoch;
        cmd.since.offset = c->sub.last;
    }
    wsf_ch_sep(&ch->out);
    wsf_ch_enc_cmd(&ch->out, &cmd);
    c->state = CHAOS_CH_SUBSCRIBING;
    chaos_load_send_text(ch->subs, i, ch->out.data + ch->out.off, wsf_buf_pending(&ch->out));
}

static void chaos_chload_sub_on_up(size_t conn, bool reconnect, uint64_t down_ms, void *arg)
{
    chaos_chload *ch = arg;
    if (conn < ch->nclients) {
        chaos_chclient *c = &ch->clients[conn];
        c->connected = false;
        c->subscribe_id = 0;
        c->up_at_ms = chaos_load_now_ms();
        c->resuming = reconnect && c->sub.has_pos;
        c->down_ms = down_ms;
        if (ch->phase < CHAOS_CHP_CLOSE) {
            chaos_chload_subscribe(ch, conn);
        }
    }
    if (ch->user_hooks.on_up != NULL) {
        ch->user_hooks.on_up(conn, reconnect, down_ms, ch->user_hooks.arg);
    }
}

static void chaos_chload_count_code(chaos_chload_totals *t, unsigned code)
{
    for (size_t i = 0; i < CHAOS_CHLOAD_CODES; i++) {
        if (t->codes[i] == code || t->codes[i] == 0) {
            t->codes[i] = code;
            t->code_counts[i]++;
            return;
        }
    }
    t->codes_other++;
}

static void chaos_chload_sub_on_event(const chaos_event *ev, void *arg)
{
    chaos_chload *ch = arg;
    if (ev->cause == CHAOS_CAUSE_CLOSE && ev->code != 0) {
        chaos_chload_count_code(&ch->totals, ev->code);
    }
    if (ev->conn < ch->nclients) {
        ch->clients[ev->conn].state = CHAOS_CH_DOWN;
    }
    if (ch->user_hooks.on_event != NULL) {
        ch->user_hooks.on_event(ev, ch->user_hooks.arg);
    }
}

static void chaos_chload_deliver(chaos_chload *ch, chaos_chclient *c, uint64_t offset,
                                 const char *data, size_t len)
{
    chaos_chsub_deliver(&c->sub, &ch->totals.k, offset, data, len, ch->opts.load.size);
    if (ch->gap_from_ms != 0) {
        uint64_t now = chaos_load_now_ms();
        uint64_t from = c->last_rx_ms > ch->gap_from_ms ? c->last_rx_ms : ch->gap_from_ms;
        if (now > from && now - from > ch->gap_max_ms) {
            ch->gap_max_ms = now - from;
        }
        c->last_rx_ms = now;
    }
}

void chaos_chload_gap_start(chaos_chload *ch)
{
    ch->gap_from_ms = chaos_load_now_ms();
    ch->gap_max_ms = 0;
}

uint64_t chaos_chload_gap_ms(const chaos_chload *ch)
{
    if (ch->gap_from_ms == 0) {
        return 0;
    }
    uint64_t now = chaos_load_now_ms();
    uint64_t most = ch->gap_max_ms;
    for (size_t i = 0; i < ch->nclients; i++) {
        uint64_t last = ch->clients[i].last_rx_ms;
        uint64_t from = last > ch->gap_from_ms ? last : ch->gap_from_ms;
        if (now > from && now - from > most) {
            most = now - from;
        }
    }
    return most;
}

static void chaos_chload_on_reply(chaos_chload *ch, size_t i, const wsf_ch_msg *m)
{
    chaos_chclient *c = &ch->clients[i];
    if (m->kind == WSF_CH_MSG_REPLY && m->op == WSF_CH_OP_CONNECT) {
        c->connected = true;
        return;
    }
    if (m->kind == WSF_CH_MSG_ERROR) {
        ch->totals.subscribe_errors++;
        if (m->id == c->subscribe_id && c->state == CHAOS_CH_SUBSCRIBING) {
            c->state = CHAOS_CH_WAITING;
            c->retry_at_ms = chaos_load_now_ms() + CHAOS_CHLOAD_RETRY_MS;
        }
        return;
    }
    if (m->kind == WSF_CH_MSG_PUSH_PUB) {
        if (m->channel != NULL && strcmp(m->channel, ch->names[c->sub.channel]) == 0) {
            chaos_chload_deliver(ch, c, m->pub.offset, m->pub.data, m->pub.data_len);
        }
        return;
    }
    if (m->kind != WSF_CH_MSG_REPLY || m->op != WSF_CH_OP_SUBSCRIBE || m->id != c->subscribe_id) {
        return;
    }
    for (size_t p = 0; p < m->state.npubs; p++) {
        const wsf_ch_pub *pub = &m->state.pubs[p];
        chaos_chload_deliver(ch, c, pub->offset, pub->data, pub->data_len);
    }
    chaos_chsub_position(&c->sub, &ch->totals.k, m->state.epoch, m->state.offset,
                         m->state.recovered);
    c->state = CHAOS_CH_SUBSCRIBED;
    ch->totals.subscribes++;
    if (c->resuming) {
        c->resuming = false;
        ch->totals.resumes++;
        wsf_hist_add(&ch->totals.resume_ms, c->down_ms + (chaos_load_now_ms() - c->up_at_ms));
    }
}

static void chaos_chload_sub_on_message(size_t conn, const uint8_t *data, size_t len, void *arg)
{
    chaos_chload *ch = arg;
    if (conn >= ch->nclients) {
        return;
    }
    chaos_chclient *c = &ch->clients[conn];
    const char *buf = (const char *)data;
    const char *name = ch->names[c->sub.channel];
    size_t name_len = strlen(name);
    size_t pos = 0;
    const char *line = NULL;
    size_t line_len = 0;
    while (wsf_ch_next_line(buf, len, &pos, &line, &line_len)) {
        wsf_ch_peek pk;
        if (wsf_ch_peek_push(&pk, line, line_len)) {
            if (pk.channel_len == name_len && memcmp(pk.channel, name, name_len) == 0) {
                chaos_chload_deliver(ch, c, pk.offset, pk.data, pk.data_len);
            }
            continue;
        }
        wsf_ch_msgs_fini(&ch->msgs);
        wsf_ch_msgs_init(&ch->msgs);
        wsf_ch_parse_server(&ch->msgs, line, line_len);
        for (size_t k = 0; k < ch->msgs.n; k++) {
            if (ch->msgs.items[k].kind == WSF_CH_MSG_INVALID) {
                ch->totals.protocol_errors++;
                continue;
            }
            chaos_chload_on_reply(ch, conn, &ch->msgs.items[k]);
        }
    }
}

/* The publisher's connection: connect first, publishing once it is answered. */
static void chaos_chload_pub_on_up(size_t conn, bool reconnect, uint64_t down_ms, void *arg)
{
    chaos_chload *ch = arg;
    (void)conn;
    (void)reconnect;
    (void)down_ms;
    wsf_ch_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.op = WSF_CH_OP_CONNECT;
    cmd.id = ++ch->next_id;
    ch->pub_up = true;
    ch->pub_ready = false;
    ch->pub_retry_at_ms = chaos_load_now_ms() + CHAOS_CHLOAD_RETRY_MS;
    chaos_chload_send(ch, ch->pub, 0, &cmd);
}

/* Publishes that were in flight on a connection that died: acknowledged or not, nobody knows. */
static void chaos_chload_pub_on_event(const chaos_event *ev, void *arg)
{
    chaos_chload *ch = arg;
    (void)ev;
    ch->pub_up = false;
    ch->pub_ready = false;
    for (size_t i = 0; i < CHAOS_CHLOAD_PENDING && ch->npending > 0; i++) {
        if (ch->pending[i].id != 0) {
            ch->pending[i].id = 0;
            ch->npending--;
            ch->totals.publish_unknown++;
        }
    }
}

static void chaos_chload_pub_reply(chaos_chload *ch, const wsf_ch_msg *m)
{
    if (m->kind == WSF_CH_MSG_REPLY && m->op == WSF_CH_OP_CONNECT) {
        ch->pub_ready = true;
        return;
    }
    if (m->kind != WSF_CH_MSG_ERROR &&
        !(m->kind == WSF_CH_MSG_REPLY && m->op == WSF_CH_OP_PUBLISH)) {
        return;
    }
    chaos_chpending *p = &ch->pending[m->id & (CHAOS_CHLOAD_PENDING - 1)];
    if (m->id == 0 || p->id != m->id) {
        if (m->kind == WSF_CH_MSG_ERROR) {
            ch->totals.publish_errors++; /* the connect refused: try again */
            ch->pub_ready = false;
        }
        return;
    }
    p->id = 0;
    ch->npending--;
    if (m->kind == WSF_CH_MSG_ERROR) {
        ch->totals.publish_errors++;
        return;
    }
    ch->totals.acked++;
    chaos_chledger_add(&ch->ledgers[p->channel], m->state.offset, p->n);
}

static void chaos_chload_pub_on_message(size_t conn, const uint8_t *data, size_t len, void *arg)
{
    chaos_chload *ch = arg;
    (void)conn;
    wsf_ch_msgs_fini(&ch->msgs);
    wsf_ch_msgs_init(&ch->msgs);
    wsf_ch_parse_server(&ch->msgs, (const char *)data, len);
    for (size_t k = 0; k < ch->msgs.n; k++) {
        if (ch->msgs.items[k].kind == WSF_CH_MSG_INVALID) {
            ch->totals.protocol_errors++;
            continue;
        }
        chaos_chload_pub_reply(ch, &ch->msgs.items[k]);
    }
}

/* Sends the publications due by now, in frames of up to CHAOS_CHLOAD_BATCH objects. While the
 * publisher is down the schedule moves on without it: nothing is queued up. */
static void chaos_chload_publish_due(chaos_chload *ch, uint64_t now)
{
    double elapsed = (double)(now - ch->pub_t0_ms) / 1000.0;
    uint64_t due = (uint64_t)(elapsed * ch->opts.publish_rate) + 1;
    size_t in_frame = 0;
    ch->out.off = ch->out.len = 0;
    for (uint32_t c = 0; c < ch->opts.channels; c++) {
        while (ch->pub_n[c] < due) {
            uint64_t n = ch->pub_n[c]++;
            if (!ch->pub_ready || ch->npending >= CHAOS_CHLOAD_PENDING / 2) {
                continue;
            }
            uint64_t id = ++ch->next_id;
            chaos_chpending *p = &ch->pending[id & (CHAOS_CHLOAD_PENDING - 1)];
            if (p->id != 0) {
                continue; /* a reply that never came, CHAOS_CHLOAD_PENDING ids ago */
            }
            *p = (chaos_chpending){.id = id, .channel = c, .n = n};
            ch->npending++;
            wsf_buf data = {0};
            chaos_chdata_write(&data, c, n, ch->opts.load.size);
            wsf_ch_cmd cmd;
            memset(&cmd, 0, sizeof(cmd));
            cmd.op = WSF_CH_OP_PUBLISH;
            cmd.id = id;
            cmd.channel = ch->names[c];
            cmd.data = (const char *)data.data + data.off;
            cmd.data_len = wsf_buf_pending(&data);
            wsf_ch_sep(&ch->out);
            wsf_ch_enc_cmd(&ch->out, &cmd);
            wsf_buf_fini(&data);
            ch->totals.published++;
            if (++in_frame == CHAOS_CHLOAD_BATCH) {
                chaos_load_send_text(ch->pub, 0, ch->out.data + ch->out.off,
                                     wsf_buf_pending(&ch->out));
                ch->out.off = ch->out.len = 0;
                in_frame = 0;
            }
        }
    }
    if (in_frame > 0) {
        chaos_load_send_text(ch->pub, 0, ch->out.data + ch->out.off, wsf_buf_pending(&ch->out));
    }
}

/* Subscribers refused earlier whose retry is due. */
static void chaos_chload_retry_due(chaos_chload *ch, uint64_t now)
{
    for (size_t i = 0; i < ch->nclients; i++) {
        chaos_chclient *c = &ch->clients[i];
        if (c->state == CHAOS_CH_WAITING && now >= c->retry_at_ms) {
            chaos_chload_subscribe(ch, i);
        }
    }
}

/* Whether every subscriber holds a subscription and has reached the last acknowledged offset of
 * its channel; counts the stragglers into totals when final. */
static bool chaos_chload_caught_up(chaos_chload *ch, bool final)
{
    bool all = true;
    for (size_t i = 0; i < ch->nclients; i++) {
        chaos_chclient *c = &ch->clients[i];
        uint64_t last = chaos_chledger_last(&ch->ledgers[c->sub.channel]);
        if (c->state != CHAOS_CH_SUBSCRIBED) {
            all = false;
            ch->totals.not_subscribed += final;
        } else if (c->sub.last < last) {
            all = false;
            ch->totals.behind += final;
        }
        if (!all && !final) {
            return false;
        }
    }
    return all;
}

static void chaos_chload_on_closed(void *arg)
{
    chaos_chload *ch = arg;
    if (--ch->closing == 0 && ch->done != NULL) {
        void (*done)(void *) = ch->done;
        ch->done = NULL;
        done(ch->done_arg);
    }
}

/* Counts what was lost and closes both populations. */
static void chaos_chload_close(chaos_chload *ch)
{
    ch->phase = CHAOS_CHP_CLOSE;
    event_del(ch->tick);
    chaos_chload_caught_up(ch, true);
    for (size_t i = 0; i < ch->nclients; i++) {
        chaos_chclient *c = &ch->clients[i];
        chaos_chsub_verify(&c->sub, &ch->ledgers[c->sub.channel], &ch->totals.k);
    }
    ch->closing = 2;
    chaos_load_stop(ch->subs, 1000, chaos_chload_on_closed, ch);
    chaos_load_stop(ch->pub, 1000, chaos_chload_on_closed, ch);
}

static void chaos_chload_on_tick(evutil_socket_t fd, short what, void *arg)
{
    chaos_chload *ch = arg;
    (void)fd;
    (void)what;
    uint64_t now = chaos_load_now_ms();
    chaos_chload_retry_due(ch, now);
    switch (ch->phase) {
    case CHAOS_CHP_RUN:
        if (ch->pub_up && !ch->pub_ready && now >= ch->pub_retry_at_ms) {
            chaos_chload_pub_on_up(0, true, 0, ch); /* the connect was refused: again */
        }
        if (ch->opts.publish_rate > 0) {
            chaos_chload_publish_due(ch, now);
        }
        break;
    case CHAOS_CHP_ACKS:
        if (ch->npending == 0 || now >= ch->phase_deadline_ms) {
            ch->phase = CHAOS_CHP_CATCH;
            ch->phase_deadline_ms = now + ch->grace_ms;
        }
        break;
    case CHAOS_CHP_CATCH:
        if (chaos_chload_caught_up(ch, false) || now >= ch->phase_deadline_ms) {
            chaos_chload_close(ch);
        }
        break;
    default:
        break;
    }
}

chaos_chload *chaos_chload_new(struct event_base *base, const chaos_chload_opts *opts,
                               const chaos_load_hooks *hooks)
{
    chaos_chload *ch = wsf_xcalloc(1, sizeof(*ch));
    ch->base = base;
    ch->opts = *opts;
    ch->opts.load.kind = CHAOS_CLIENT_CHANNEL;
    if (ch->opts.channels == 0) {
        ch->opts.channels = 1;
    }
    if (hooks != NULL) {
        ch->user_hooks = *hooks;
    }
    wsf_hist_init(&ch->totals.resume_ms);
    wsf_ch_msgs_init(&ch->msgs);
    ch->nclients = opts->load.connections;
    ch->clients = wsf_xcalloc(ch->nclients > 0 ? ch->nclients : 1, sizeof(*ch->clients));
    for (size_t i = 0; i < ch->nclients; i++) {
        chaos_chsub_init(&ch->clients[i].sub, (uint32_t)(i % ch->opts.channels));
    }
    ch->ledgers = wsf_xcalloc(ch->opts.channels, sizeof(*ch->ledgers));
    ch->pub_n = wsf_xcalloc(ch->opts.channels, sizeof(*ch->pub_n));
    ch->names = wsf_xcalloc(ch->opts.channels, sizeof(*ch->names));
    for (uint32_t c = 0; c < ch->opts.channels; c++) {
        chaos_chledger_init(&ch->ledgers[c]);
        size_t n = strlen(ch->opts.prefix) + 12;
        ch->names[c] = wsf_xmalloc(n);
        snprintf(ch->names[c], n, "%s%u", ch->opts.prefix, c);
    }
    ch->pending = wsf_xcalloc(CHAOS_CHLOAD_PENDING, sizeof(*ch->pending));

    chaos_load_hooks sh = {.on_event = chaos_chload_sub_on_event,
                           .on_up = chaos_chload_sub_on_up,
                           .on_message = chaos_chload_sub_on_message,
                           .arg = ch};
    ch->subs = chaos_load_new(base, &ch->opts.load, &sh);
    chaos_load_opts po = ch->opts.load;
    po.connections = 1;
    po.open_rate = 0;
    po.sources = 1;
    chaos_load_hooks ph = {.on_event = chaos_chload_pub_on_event,
                           .on_up = chaos_chload_pub_on_up,
                           .on_message = chaos_chload_pub_on_message,
                           .arg = ch};
    ch->pub = chaos_load_new(base, &po, &ph);
    ch->tick = event_new(base, -1, EV_PERSIST, chaos_chload_on_tick, ch);
    if (ch->tick == NULL) {
        fprintf(stderr, "chaos_chload: cannot create events\n");
        abort();
    }
    return ch;
}

void chaos_chload_start(chaos_chload *ch)
{
    ch->pub_t0_ms = chaos_load_now_ms();
    chaos_load_start(ch->subs);
    if (ch->opts.publish_rate > 0) {
        chaos_load_start(ch->pub);
    }
    chaos_load_arm_ms(ch->tick, CHAOS_CHLOAD_TICK_MS);
}

void chaos_chload_finish(chaos_chload *ch, uint32_t grace_ms, void (*done)(void *arg), void *arg)
{
    if (ch->phase != CHAOS_CHP_RUN) {
        return;
    }
    ch->done = done;
    ch->done_arg = arg;
    ch->grace_ms = grace_ms;
    ch->phase = CHAOS_CHP_ACKS;
    ch->phase_deadline_ms = chaos_load_now_ms() + grace_ms;
}

void chaos_chload_free(chaos_chload *ch)
{
    if (ch == NULL) {
        return;
    }
    chaos_load_free(ch->subs);
    chaos_load_free(ch->pub);
    for (size_t i = 0; i < ch->nclients; i++) {
        chaos_chsub_fini(&ch->clients[i].sub);
    }
    for (uint32_t c = 0; c < ch->opts.channels; c++) {
        chaos_chledger_fini(&ch->ledgers[c]);
        free(ch->names[c]);
    }
    free(ch->clients);
    free(ch->ledgers);
    free(ch->pub_n);
    free(ch->names);
    free(ch->pending);
    event_free(ch->tick);
    wsf_buf_fini(&ch->out);
    wsf_ch_msgs_fini(&ch->msgs);
    free(ch);
}

const chaos_chload_totals *chaos_chload_get_totals(const chaos_chload *ch)
{
    return &ch->totals;
}

size_t chaos_chload_subscribed(const chaos_chload *ch)
{
    size_t n = 0;
    for (size_t i = 0; i < ch->nclients; i++) {
        n += ch->clients[i].state == CHAOS_CH_SUBSCRIBED;
    }
    return n;
}

const chaos_load *chaos_chload_subscribers(const chaos_chload *ch)
{
    return ch->subs;
}

const chaos_load *chaos_chload_publisher(const chaos_chload *ch)
{
    return ch->pub;
}
