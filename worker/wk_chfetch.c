/* History fetches of the channel side: the fetch queue, one request per channel and range, and
 * each result handed to its subscriptions (and connects). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_backend.h"
#include "wk_channels_priv.h"
#include "wsf_chenc.h"
#include "wsf_log.h"
#include "wsf_nats.h"

#define WK_FETCH_BATCH 1000 /* publications per history request */

static void wk_chfetch_on_history(int err, const struct wsf_nats_history *h, void *arg);

/* A subscription that has a request in flight asks again when its result says so. Requests are
 * issued at the end of the loop iteration (wk_chhub_issue_fetches), one per channel and range. */
void wk_chsub_fetch(wk_chsub *sub)
{
    if (sub->fetch != NULL || sub->want_fetch)
        return;
    wk_chhub *hub = sub->sess->hub;
    if (!wk_chhub_up(hub)) {
        sub->stalled = true;
        return;
    }
    sub->stalled = false;
    sub->want_fetch = true;
    sub->fq_prev = NULL;
    sub->fq_next = hub->fetchq;
    if (hub->fetchq)
        hub->fetchq->fq_prev = sub;
    hub->fetchq = sub;
    wk_chhub_schedule_flush(hub);
}

void wk_chsub_unqueue(wk_chsub *sub)
{
    wk_chhub *hub = sub->sess->hub;
    if (sub->fq_prev)
        sub->fq_prev->fq_next = sub->fq_next;
    else
        hub->fetchq = sub->fq_next;
    if (sub->fq_next)
        sub->fq_next->fq_prev = sub->fq_prev;
    sub->fq_next = sub->fq_prev = NULL;
    sub->want_fetch = false;
}

void wk_chhub_issue_fetches(wk_chhub *hub)
{
    wk_chfetch *formed = NULL; /* every group of this pass, through ->next */
    wk_chsub *sub;
    while ((sub = hub->fetchq) != NULL) {
        wk_chsub_unqueue(sub);
        uint32_t window = sub->ch->set.history_size;
        /* A subscribe without since needs only the history's end; otherwise one more than the
         * namespace's window tells whether the client is outside it. */
        size_t limit = !sub->sync.has_since && sub->sync.first ? 1 : (size_t)window + 1;
        if (limit > WK_FETCH_BATCH)
            limit = WK_FETCH_BATCH;
        uint64_t after = wsf_chsync_position(&sub->sync);
        wk_chfetch *f = sub->ch->forming;
        while (f != NULL && (f->after != after || f->limit != limit))
            f = f->next;
        if (f == NULL) {
            f = wsf_xcalloc(1, sizeof *f);
            f->after = after;
            f->limit = limit;
            f->ttl_s = sub->ch->set.history_ttl_s;
            f->gen = hub->feed_gen;
            f->ch = sub->ch;
            f->next = sub->ch->forming;
            sub->ch->forming = f;
        }
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 4;
            f->subs = wsf_xrealloc(f->subs, f->cap * sizeof *f->subs);
        }
        sub->fetch = f;
        sub->fetch_slot = f->n;
        f->subs[f->n++] = sub;
    }
    /* Unhook the groups from their channels, then send them. */
    for (size_t i = 0; i < hub->tcap; i++) {
        for (wk_chan *c = hub->table[i]; c; c = c->hnext) {
            wk_chfetch *next;
            for (wk_chfetch *f = c->forming; f; f = next) {
                next = f->next;
                f->next = formed;
                formed = f;
            }
            c->forming = NULL;
        }
    }
    size_t nreq = 0, nsubs = 0;
    for (wk_chfetch *f = formed; f; f = f->next) {
        nreq++;
        nsubs += f->n;
    }
    if (nreq > 0)
        wsf_log_debug("channels: %zu history requests for %zu subscriptions", nreq, nsubs);
    while (formed != NULL) {
        wk_chfetch *f = formed;
        formed = f->next;
        f->next = NULL;
        wk_chan *ch = f->subs[0]->ch;
        if (wsf_nats_ch_history(hub->nats, ch->name, ch->len, f->after, f->limit,
                                wk_chfetch_on_history, f) != 0) {
            for (size_t i = 0; i < f->n; i++) {
                f->subs[i]->fetch = NULL;
                f->subs[i]->stalled = true; /* the retry timer asks again */
            }
            free(f->subs);
            free(f);
        }
    }
}

/* A connect's sub got its first history: the reply goes once every sub has one. */
static void wk_chconnect_fetched(wk_chsub *sub, int err, const struct wsf_nats_history *h)
{
    wk_chconnect *cn = sub->connect;
    size_t i = 0;
    while (cn->subs[i] != sub)
        i++;
    if (err != 0)
        cn->failed = true;
    else
        wk_chhist_copy(&cn->hists[i], h, sub->ch->set.history_ttl_s);
    if (--cn->pending > 0)
        return;
    wk_chsess *s = sub->sess;
    s->connect = NULL;
    if (cn->failed) {
        wk_chsess_error(s, cn->id, WSF_CH_ERR_NOT_AVAILABLE, NULL);
        wk_chsess_close(s, 1013, "channels not available");
    } else {
        wsf_ch_state *st = wsf_xcalloc(cn->nsubs, sizeof *st);
        size_t bytes = 128;
        for (i = 0; i < cn->nsubs; i++) {
            cn->subs[i]->connect = NULL;
            wk_chsub_fetched(cn->subs[i], &cn->hists[i], &st[i]);
            bytes += 128 + cn->hists[i].data.len + cn->subs[i]->ch->len;
        }
        wsf_buf *out = wk_chsess_out(s, bytes + s->bk_data_len);
        if (out != NULL)
            wsf_ch_enc_connect_data(out, cn->id, s->client, s->claims.sub, st, cn->nsubs,
                                    s->bk_data, s->bk_data_len);
        wsf_ch_session_done(&s->ps, cn->id);
        if (s->hub->backend != NULL)
            wk_backend_on_connected(s);
        free(st);
        for (i = 0; i < cn->nsubs; i++) {
            if (wsf_chsync_position(&cn->subs[i]->sync) < cn->hists[i].last)
                wk_chsub_fetch(cn->subs[i]); /* a batch cut short: the rest as pushes */
            else
                wk_chsub_drain(cn->subs[i]);
        }
    }
    for (i = 0; i < cn->nsubs; i++)
        wk_chhist_fini(&cn->hists[i]);
    free(cn->hists);
    free(cn->subs);
    free(cn);
}

/* One subscription's share of a fetch result; hist is the copy of h (NULL on error). */
void wk_chsub_result(wk_chsub *sub, int err, const struct wsf_nats_history *h,
                     const wk_chhist *hist)
{
    if (err == -ENOENT && sub->connect == NULL && !(sub->no_stream && sub->reply_id != 0)) {
        /* No stream (deleted): a new one is made, a new epoch, and the fetch runs again. */
        wk_chhub_ensure(sub->sess->hub);
        sub->stalled = true;
        sub->no_stream = true;
        return;
    }
    sub->no_stream = false;
    if (sub->connect != NULL) {
        wk_chconnect_fetched(sub, err, h);
        return;
    }
    if (err != 0) {
        if (sub->reply_id != 0) {
            /* The subscribe fails as a whole: the client may try again. */
            wk_chsess_error(sub->sess, sub->reply_id, WSF_CH_ERR_NOT_AVAILABLE, NULL);
            wk_chsub_free(sub);
            return;
        }
        sub->stalled = true; /* retried when NATS is back (or by the retry timer) */
        return;
    }
    wk_chsub_fetched(sub, hist, NULL);
}

static void wk_chfetch_on_history(int err, const struct wsf_nats_history *h, void *arg)
{
    wk_chfetch *f = arg;
    /* Detach every subscription first: handling one may ask for another fetch or free it. */
    for (size_t i = 0; i < f->n; i++)
        if (f->subs[i] != NULL)
            f->subs[i]->fetch = NULL;
    wk_chhist hist = {0};
    wk_chhub *hub = NULL;
    for (size_t i = 0; i < f->n && hub == NULL; i++)
        if (f->subs[i] != NULL)
            hub = f->subs[i]->sess->hub;
    if (err == 0)
        wk_chhist_copy(&hist, h, f->ttl_s);
    if (err == 0 && hub != NULL && !hub->closing && f->gen == hub->feed_gen && hist.epoch[0]) {
        /* The live feed ran since this was sent: from now on the channel's newest offset is
         * known here (see wk_chan). */
        wk_chan *ch = f->ch;
        uint64_t eid = wsf_chsync_epoch_id(hist.epoch, strlen(hist.epoch));
        if (ch->last_epoch != eid || hist.last > ch->last)
            ch->last = hist.last;
        ch->last_epoch = eid;
        ch->known = true;
    }
    for (size_t i = 0; i < f->n; i++)
        if (f->subs[i] != NULL && !f->subs[i]->sess->hub->closing)
            wk_chsub_result(f->subs[i], err, h, err == 0 ? &hist : NULL);
    wk_chhist_fini(&hist);
    free(f->subs);
    free(f);
}
