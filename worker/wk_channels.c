/* The channel side of wsworker: NATS connection, channel table, live feed, resume (the fan-out
 * writer is wk_chfan.c, history fetches wk_chfetch.c). */
#include "wk_channels.h"

#include <errno.h>
#include <stddef.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wk_backend.h"
#include "wk_channels_priv.h"
#include "wk_chini.h"
#include "wk_conn.h"
#include "wk_worker.h"
#include "wsf_chenc.h"
#include "wsf_log.h"
#include "wsf_nats.h"

#define WK_RETRY_MS 1000 /* stalled fetches are retried this often while NATS is up */
#define WK_URL_MAX 4096
#define WK_LINGER_TICKS 5 /* retry ticks a channel without subscribers is kept */

static uint64_t wk_hash(const char *s, size_t n)
{
    return wsf_chsync_epoch_id(s, n);
}

bool wk_chhub_up(const wk_chhub *h)
{
    return wsf_nats_is_connected(h->nats);
}

void wk_chhist_fini(wk_chhist *h)
{
    free(h->pubs);
    wsf_buf_fini(&h->data);
    memset(h, 0, sizeof *h);
}

void wk_chhist_copy(wk_chhist *out, const struct wsf_nats_history *h, uint32_t ttl_s)
{
    memset(out, 0, sizeof *out);
    snprintf(out->epoch, sizeof out->epoch, "%s", h->epoch ? h->epoch : "");
    out->first = h->first;
    out->last = h->last;
    /* Stored times increase with offsets, so the expired ones are a prefix. */
    size_t skip = 0;
    if (ttl_s > 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t oldest = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - (int64_t)ttl_s * 1000;
        while (skip < h->count && h->pubs[skip].time_ms != 0 && h->pubs[skip].time_ms < oldest)
            skip++;
        if (skip > 0)
            out->expired_to = h->pubs[skip - 1].offset;
    }
    size_t n = h->count - skip;
    out->npubs = n;
    out->pubs = n ? wsf_xcalloc(n, sizeof *out->pubs) : NULL;
    size_t *at = n ? wsf_xcalloc(2 * n, sizeof *at) : NULL; /* data, then user (0: none) */
    for (size_t i = 0; i < n; i++) {
        const struct wsf_nats_pub *p = &h->pubs[skip + i];
        at[2 * i] = out->data.len;
        wsf_buf_append(&out->data, p->data, p->len);
        wsf_buf_append(&out->data, "", 1);
        if (p->user != NULL) {
            at[2 * i + 1] = out->data.len;
            wsf_buf_append(&out->data, p->user, strlen(p->user) + 1);
        }
    }
    for (size_t i = 0; i < n; i++) {
        out->pubs[i].offset = h->pubs[skip + i].offset;
        out->pubs[i].data = (const char *)out->data.data + at[2 * i];
        out->pubs[i].data_len = h->pubs[skip + i].len;
        if (at[2 * i + 1] != 0)
            out->pubs[i].user = (const char *)out->data.data + at[2 * i + 1];
    }
    free(at);
}

/* ---- channel table ---- */

wk_chan *wk_chan_find(wk_chhub *h, const char *name, size_t len)
{
    if (h->tcap == 0)
        return NULL;
    for (wk_chan *c = h->table[wk_hash(name, len) & (h->tcap - 1)]; c; c = c->hnext)
        if (c->len == len && memcmp(c->name, name, len) == 0)
            return c;
    return NULL;
}

static void wk_chan_insert(wk_chhub *h, wk_chan *c)
{
    if (h->nchans + 1 > h->tcap / 2) {
        size_t cap = h->tcap ? h->tcap * 2 : 64;
        wk_chan **t = wsf_xcalloc(cap, sizeof *t);
        for (size_t i = 0; i < h->tcap; i++) {
            wk_chan *next;
            for (wk_chan *e = h->table[i]; e; e = next) {
                next = e->hnext;
                size_t b = wk_hash(e->name, e->len) & (cap - 1);
                e->hnext = t[b];
                t[b] = e;
            }
        }
        free(h->table);
        h->table = t;
        h->tcap = cap;
    }
    size_t b = wk_hash(c->name, c->len) & (h->tcap - 1);
    c->hnext = h->table[b];
    h->table[b] = c;
    h->nchans++;
}

static void wk_chan_remove(wk_chhub *h, wk_chan *c)
{
    wk_chan **pp = &h->table[wk_hash(c->name, c->len) & (h->tcap - 1)];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    h->nchans--;
    wsf_nats_sub_free(c->nsub);
    free(c->name);
    free(c);
}

/* ---- one subscription ---- */

static void wk_chsub_lagging(wk_chsub *sub)
{
    wk_chsess_close(sub->sess, WK_CH_LAGGING, "lagging, resume");
}

/* Writes one pub (encoded per subscriber: a replay) as a push. */
static void wk_chsub_push(wk_chsub *sub, const wsf_ch_pub *p)
{
    wsf_buf *out = wk_chsess_out(sub->sess, 64 + sub->ch->len + p->data_len);
    if (out != NULL)
        wsf_ch_enc_push_pub(out, sub->ch->name, p);
}

/* Writes a live publication's shared bytes. */
static void wk_chsub_deliver(wk_chsub *sub, wk_chpub *p)
{
    wk_chsess_push(sub->sess, p);
}

static void wk_chsub_release_held(wk_chsub *sub)
{
    wsf_chsync_pub p;
    while (sub->sync.nheld > 0) {
        p = sub->sync.held[0];
        sub->sync.nheld--;
        memmove(&sub->sync.held[0], &sub->sync.held[1], sub->sync.nheld * sizeof p);
        wk_chpub_unref(p.ref);
    }
}

void wk_chsub_drain(wk_chsub *sub)
{
    wsf_chsync_pub p;
    enum wsf_chsync_action a;
    while ((a = wsf_chsync_drain(&sub->sync, &p)) != WSF_CHSYNC_DONE) {
        if (a == WSF_CHSYNC_FETCH) {
            sub->replayed = 0;
            wk_chsub_fetch(sub);
            return;
        }
        if (a == WSF_CHSYNC_DELIVER)
            wk_chsub_deliver(sub, p.ref);
        else if (a == WSF_CHSYNC_RESET)
            wk_chsub_lagging(sub);
        wk_chpub_unref(p.ref);
    }
}

void wk_chsub_fetched(wk_chsub *sub, const wk_chhist *hist, wsf_ch_state *reply)
{
    wk_chhub *hub = sub->sess->hub;
    if (hist->epoch[0] != '\0' && strcmp(hist->epoch, hub->epoch) != 0) {
        snprintf(hub->epoch, sizeof hub->epoch, "%s", hist->epoch);
        hub->epoch_id = wsf_chsync_epoch_id(hub->epoch, strlen(hub->epoch));
    }
    wsf_chsync_hist h = {.epoch = wsf_chsync_epoch_id(hist->epoch, strlen(hist->epoch)),
                         .last = hist->last,
                         .lost_to = hist->first ? hist->first - 1 : 0};
    /* Publications past the namespace's history_ttl are lost to it, like those past its size. */
    if (hist->expired_to > h.lost_to)
        h.lost_to = hist->expired_to;
    /* The namespace's own window may be smaller than what the stream keeps. */
    bool first = sub->sync.first;
    sub->replayed += hist->npubs;
    if (sub->replayed > sub->ch->set.history_size && (sub->sync.has_since || !first))
        h.lost_to = hist->last;
    wsf_chsync_pub *pubs = hist->npubs ? wsf_xcalloc(hist->npubs, sizeof *pubs) : NULL;
    for (size_t i = 0; i < hist->npubs; i++) {
        pubs[i].epoch = h.epoch;
        pubs[i].offset = hist->pubs[i].offset;
        pubs[i].prev = WSF_CHSYNC_PREV_UNKNOWN;
    }
    /* Publications held before this worker knew the epoch (epoch 0) belong to the stream the
     * fetch just read. */
    for (uint16_t i = 0; i < sub->sync.nheld; i++)
        if (sub->sync.held[i].epoch == 0)
            sub->sync.held[i].epoch = h.epoch;
    wsf_chsync_result r;
    wsf_chsync_on_fetched(&sub->sync, &h, pubs, hist->npubs, &r);
    free(pubs);
    if (r.action == WSF_CHSYNC_DROP)
        return;
    if (r.action == WSF_CHSYNC_RESET) {
        wk_chsub_release_held(sub);
        wk_chsub_lagging(sub);
        return;
    }
    const wsf_ch_pub *replay = hist->pubs + r.replay_from;
    if (first) {
        wsf_ch_state st = {.channel = sub->ch->name,
                           .epoch = hist->epoch,
                           .offset = r.offset,
                           .recovered = r.recovered,
                           .pubs = replay,
                           .npubs = r.replay_count};
        if (reply != NULL) {
            *reply = st;
        } else if (sub->reply_id != 0) {
            wsf_buf *out = wk_chsess_out(sub->sess, 128 + hist->data.len);
            if (out != NULL)
                wsf_ch_enc_subscribe(out, sub->reply_id, &st);
            wsf_ch_session_done(&sub->sess->ps, sub->reply_id);
            sub->reply_id = 0;
        }
    } else {
        for (size_t i = 0; i < r.replay_count; i++)
            wk_chsub_push(sub, &replay[i]);
    }
    if (r.action == WSF_CHSYNC_FETCH) {
        wk_chsub_fetch(sub);
        return;
    }
    sub->replayed = 0;
    if (reply == NULL)
        wk_chsub_drain(sub);
}

static void wk_chan_on_msg(const struct wsf_nats_msg *m, void *arg);

bool wk_chsub_known(wk_chsub *sub)
{
    wk_chhub *hub = sub->sess->hub;
    wk_chan *ch = sub->ch;
    if (sub->sync.has_since || !ch->known || hub->epoch[0] == '\0' ||
        ch->last_epoch != hub->epoch_id || !wk_chhub_up(hub))
        return false;
    /* What a fetch of the history's end would say; answered through the same path. */
    struct wsf_nats_history h = {.epoch = hub->epoch, .first = 0, .last = ch->last};
    wk_chhist hist = {.first = 0, .last = ch->last};
    memcpy(hist.epoch, hub->epoch, sizeof hist.epoch);
    wk_chsub_result(sub, 0, &h, &hist);
    return true;
}

wk_chsub *wk_chsub_new(wk_chsess *s, const char *name, size_t len, const wsf_ch_settings *set,
                       bool has_since, const wsf_ch_pos *since)
{
    wk_chhub *hub = s->hub;
    wk_chan *ch = wk_chan_find(hub, name, len);
    if (ch == NULL) {
        ch = wsf_xcalloc(1, sizeof *ch);
        ch->name = wsf_xmalloc(len + 1);
        memcpy(ch->name, name, len);
        ch->name[len] = '\0';
        ch->len = len;
        ch->set = *set;
        ch->hub = hub;
        if (wsf_nats_ch_sub_new(&ch->nsub, hub->nats, name, len, wk_chan_on_msg, ch) != 0) {
            free(ch->name);
            free(ch);
            return NULL;
        }
        wk_chan_insert(hub, ch);
    }
    wk_chsub *sub = wsf_xcalloc(1, sizeof *sub);
    sub->ch = ch;
    sub->sess = s;
    sub->ch_next = ch->subs;
    if (ch->subs)
        ch->subs->ch_prev = sub;
    ch->subs = sub;
    ch->nsubs++;
    sub->s_next = s->subs;
    s->subs = sub;
    wsf_chsync_init(&sub->sync);
    wsf_chsync_start(&sub->sync, has_since,
                     has_since ? wsf_chsync_epoch_id(since->epoch, strlen(since->epoch)) : 0,
                     has_since ? since->offset : 0);
    return sub;
}

void wk_chsub_free(wk_chsub *sub)
{
    wk_chsess *s = sub->sess;
    wk_chan *ch = sub->ch;
    for (wk_chsub **pp = &s->subs; *pp; pp = &(*pp)->s_next) {
        if (*pp == sub) {
            *pp = sub->s_next;
            break;
        }
    }
    if (sub->ch_prev)
        sub->ch_prev->ch_next = sub->ch_next;
    else
        ch->subs = sub->ch_next;
    if (sub->ch_next)
        sub->ch_next->ch_prev = sub->ch_prev;
    if (sub->fetch)
        sub->fetch->subs[sub->fetch_slot] = NULL;
    if (sub->want_fetch)
        wk_chsub_unqueue(sub);
    if (sub->reply_id)
        wsf_ch_session_done(&s->ps, sub->reply_id);
    wk_chsub_release_held(sub);
    wsf_chsync_fini(&sub->sync);
    free(sub);
    if (--ch->nsubs == 0)
        ch->idle_ticks = 0; /* lingers: wk_chhub_sweep */
}

/* ---- live feed ---- */

static void wk_chan_on_msg(const struct wsf_nats_msg *m, void *arg)
{
    wk_chan *ch = arg;
    wk_chhub *hub = ch->hub;
    if (hub->closing || m->offset == 0)
        return;
    if (m->prev_offset == 0 && ch->last > 0)
        ch->known = false; /* a first publication after some: maybe a new stream */
    if (ch->last_epoch != hub->epoch_id || m->offset > ch->last) {
        ch->last = m->offset;
        ch->last_epoch = hub->epoch_id;
    }
    if (ch->subs == NULL)
        return; /* lingering */
    wsf_buf enc = {0};
    wsf_buf data = {0};
    if (wsf_ch_data_compact(&data, m->data, m->len) != 0) {
        wsf_log_warn("channel %s: publication %llu is not JSON, skipped", ch->name,
                     (unsigned long long)m->offset);
        return;
    }
    wsf_ch_pub pub = {.offset = m->offset,
                      .data = (const char *)data.data,
                      .data_len = data.len,
                      .user = m->user};
    wsf_ch_enc_push_pub(&enc, ch->name, &pub);
    wsf_buf_fini(&data);
    wk_chpub *p = wk_chpub_new((const char *)enc.data, enc.len, m->offset, m->prev_offset);
    wsf_buf_fini(&enc);

    wsf_chsync_pub cp = {.epoch = hub->epoch_id, .offset = p->offset, .prev = p->prev, .ref = p};
    wk_chsub *next;
    for (wk_chsub *sub = ch->subs; sub; sub = next) {
        next = sub->ch_next;
        if (sub->sess->close_code != 0)
            continue; /* closing: it resumes elsewhere */
        /* The channel's first publication while the client has some: maybe a new stream (a new
         * epoch), maybe everything before it expired; history says which. */
        if (p->prev == 0 && sub->sync.last > 0 && wsf_chsync_resync(&sub->sync)) {
            sub->replayed = 0;
            wk_chsub_fetch(sub);
        }
        switch (wsf_chsync_on_live(&sub->sync, &cp)) {
        case WSF_CHSYNC_DELIVER:
            wk_chsub_deliver(sub, p);
            break;
        case WSF_CHSYNC_HELD:
            p->refs++;
            break;
        case WSF_CHSYNC_FETCH:
            p->refs++;
            sub->replayed = 0;
            wk_chsub_fetch(sub);
            break;
        case WSF_CHSYNC_RESET:
            wk_chsub_release_held(sub);
            wk_chsub_lagging(sub);
            break;
        default:
            break;
        }
    }
    wk_chpub_unref(p);
}

/* The live feed may have missed publications: no channel's newest offset is known any more. */
static void wk_chhub_feed_broke(wk_chhub *h)
{
    h->feed_gen++;
    for (size_t i = 0; i < h->tcap; i++)
        for (wk_chan *c = h->table[i]; c; c = c->hnext)
            c->known = false;
}

/* Every subscription may have missed publications (NATS reconnected, a slow consumer). */
static void wk_chhub_resync_all(wk_chhub *h)
{
    wk_chhub_feed_broke(h);
    for (size_t i = 0; i < h->tcap; i++)
        for (wk_chan *c = h->table[i]; c; c = c->hnext)
            for (wk_chsub *sub = c->subs; sub; sub = sub->ch_next)
                if (sub->stalled || wsf_chsync_resync(&sub->sync)) {
                    sub->replayed = 0;
                    wk_chsub_fetch(sub);
                }
}

static void wk_chhub_retry_stalled(wk_chhub *h)
{
    if (!wk_chhub_up(h))
        return;
    for (size_t i = 0; i < h->tcap; i++)
        for (wk_chan *c = h->table[i]; c; c = c->hnext)
            for (wk_chsub *sub = c->subs; sub; sub = sub->ch_next)
                if (sub->stalled)
                    wk_chsub_fetch(sub);
}

/* Removes the channels without subscribers for WK_LINGER_TICKS ticks (all with now). */
static void wk_chhub_sweep(wk_chhub *h, bool now)
{
    for (size_t i = 0; i < h->tcap; i++) {
        wk_chan *next;
        for (wk_chan *c = h->table[i]; c; c = next) {
            next = c->hnext;
            if (c->nsubs == 0 && (now || ++c->idle_ticks >= WK_LINGER_TICKS))
                wk_chan_remove(h, c);
        }
    }
}

static void wk_chhub_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wk_chhub_sweep(arg, false);
    wk_chhub_retry_stalled(arg);
}

/* ---- stream ---- */

static void wk_chhub_on_stream(int err, const char *epoch, void *arg)
{
    wk_chhub *h = arg;
    h->ensuring = false;
    if (h->closing)
        return;
    if (err != 0) {
        wsf_log_warn("channels: stream not ready: %s", strerror(-err));
        return;
    }
    if (strcmp(epoch, h->epoch) != 0) {
        wsf_log_info("channels: stream epoch %s", epoch);
        snprintf(h->epoch, sizeof h->epoch, "%s", epoch);
        h->epoch_id = wsf_chsync_epoch_id(h->epoch, strlen(h->epoch));
    }
    wk_chhub_retry_stalled(h);
}

/* The stream is made with the largest window over all namespaces (as wsfleetd does): a
 * standalone worker makes it at connect so that it works against a bare nats-server; under
 * wsfleetd (which made it with its own replicas) only when it went missing. */
void wk_chhub_ensure(wk_chhub *h)
{
    if (h->ensuring || !wk_chhub_up(h))
        return;
    struct wsf_nats_stream_conf sc = {.max_per_subject = h->conf.defaults.history_size,
                                      .max_age_ms = (int64_t)h->conf.defaults.history_ttl_s * 1000,
                                      .replicas = h->ctx->cfg.nats_replicas};
    for (size_t i = 0; i < h->conf.nns; i++) {
        const wsf_ch_settings *s = &h->conf.ns[i].s;
        if (s->history_size > sc.max_per_subject)
            sc.max_per_subject = s->history_size;
        if ((int64_t)s->history_ttl_s * 1000 > sc.max_age_ms)
            sc.max_age_ms = (int64_t)s->history_ttl_s * 1000;
    }
    if (sc.max_per_subject < 1)
        sc.max_per_subject = 1;
    if (wsf_nats_stream_ensure(h->nats, &sc, wk_chhub_on_stream, h) == 0)
        h->ensuring = true;
}

static void wk_chhub_on_event(enum wsf_nats_event ev, int err, void *arg)
{
    wk_chhub *h = arg;
    switch (ev) {
    case WSF_NATS_EV_CONNECTED:
        wsf_log_info("channels: NATS connected");
        if (h->ctx->cfg.supervisor == NULL)
            wk_chhub_ensure(h); /* under wsfleetd the supervisor owns the stream's settings */
        break;
    case WSF_NATS_EV_RECONNECTED:
        wsf_log_info("channels: NATS reconnected: catching up from history");
        if (h->ctx->cfg.supervisor == NULL)
            wk_chhub_ensure(h);
        wk_chhub_resync_all(h);
        break;
    case WSF_NATS_EV_DISCONNECTED:
        wsf_log_warn("channels: NATS disconnected: channel commands answer 108 until it is back");
        wk_chhub_feed_broke(h);
        break;
    case WSF_NATS_EV_ERROR:
        wsf_log_warn("channels: NATS error: %s", strerror(-err));
        if (err == -ENOBUFS)
            wk_chhub_resync_all(h);
        break;
    default:
        break;
    }
}

/* ---- the hub ---- */

int wk_channels_new(wk_chhub **out, wk_ctx *ctx)
{
    const wk_config *cfg = &ctx->cfg;
    char url[WK_URL_MAX];
    char err[600];
    int rc;

    if (cfg->nats_url_file != NULL) {
        rc = wk_chini_read_url(cfg->nats_url_file, url, sizeof url);
        if (rc != 0) {
            wsf_log_error("--nats-url-file %s: %s", cfg->nats_url_file,
                          rc == -EINVAL ? "no URL on its first line" : strerror(-rc));
            return -1;
        }
    } else {
        snprintf(url, sizeof url, "%s", cfg->nats_url);
    }
    wk_chhub *h = wsf_xcalloc(1, sizeof *h);
    h->ctx = ctx;
    h->pid = (unsigned)getpid();
    wsf_chconf_init(&h->conf);
    if (cfg->channels_config != NULL &&
        wk_chini_load_file(&h->conf, cfg->channels_config, err, sizeof err) != 0) {
        wsf_log_error("--channels-config %s", err);
        goto fail;
    }
    h->flush_ev = event_new(ctx->base, -1, 0, wk_chhub_on_flush, h);
    h->retry_ev = event_new(ctx->base, -1, EV_PERSIST, wk_chhub_on_retry, h);
    struct timeval tv = {WK_RETRY_MS / 1000, (WK_RETRY_MS % 1000) * 1000};
    event_add(h->retry_ev, &tv);
    char name[64];
    snprintf(name, sizeof name, "wsworker-%d", (int)getpid());
    struct wsf_nats_opts o = {.url = url,
                              .name = name,
                              .stream = cfg->nats_stream,
                              .credentials = cfg->nats_credentials,
                              .tls_ca = cfg->nats_tls_ca,
                              .tls_cert = cfg->nats_tls_cert,
                              .tls_key = cfg->nats_tls_key,
                              .loop_io = true};
    rc = wsf_nats_new(&h->nats, ctx->base, &o, wk_chhub_on_event, h);
    if (rc != 0) {
        wsf_log_error("channels: NATS %s",
                      rc == -EINVAL ? "URL or options refused" : strerror(-rc));
        goto fail;
    }
    if (wk_chadmin_start(h) != 0 || wk_backend_new(&h->backend, h) != 0)
        goto fail;
    wsf_log_info("channels on: /channels speaks wsfleet.v1 (stream %s)", cfg->nats_stream);
    *out = h;
    return 0;
fail:
    wk_channels_free(h);
    return -1;
}

void wk_channels_free(wk_chhub *h)
{
    if (h == NULL)
        return;
    h->closing = true;
    wk_chhub_sweep(h, true);
    wk_backend_free(h->backend);
    wsf_nats_sub_free(h->admin_sub);
    wsf_nats_sub_free(h->presence_sub);
    wsf_nats_free(h->nats);
    if (h->flush_ev)
        event_free(h->flush_ev);
    if (h->retry_ev)
        event_free(h->retry_ev);
    free(h->table);
    wsf_chconf_fini(&h->conf);
    free(h);
}

void wk_channels_on_message(wk_conn *c, int opcode, const uint8_t *data, size_t len)
{
    wk_chsess *s = wk_chsess_of(c, c->ctx->channels);
    if (opcode != 0x1) {
        wk_chsess_error(s, 0, WSF_CH_ERR_BAD_REQUEST, "text frames only");
        return;
    }
    wk_chsess_handle(s, data, len);
}

void wk_channels_on_open(wk_conn *c, const struct ws_http_request *req)
{
    wk_chsess *s = wk_chsess_of(c, c->ctx->channels);
    if (s->hub->backend != NULL)
        wk_backend_on_open(s, req);
}

void wk_channels_on_close(wk_conn *c)
{
    if (c->rare == NULL || c->rare->svc_state == NULL)
        return;
    wk_chsess_free(c->rare->svc_state);
    c->rare->svc_state = NULL;
}
