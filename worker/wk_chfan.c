/* The fan-out writer of the channel side: live publications' frames (encoded once, joined once
 * per loop iteration and shared by the subscribers in the same state) and the flush that writes
 * the sessions with output, oldest first, WK_FLUSH_BATCH of them per turn of the loop. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "wk_channels_priv.h"
#include "wk_conn.h"
#include "ws_writer.h"
#include "wsf_buf.h"

_Static_assert(sizeof(((wk_chpub *)0)->hdr) == WS_MAX_HEADER, "hdr holds any frame header");
_Static_assert(offsetof(wk_chpub, json) == offsetof(wk_chpub, hdr) + WS_MAX_HEADER,
               "a publication's frame header and json are contiguous");

/* ---- frames ---- */

void wk_chpub_unref(wk_chpub *p)
{
    if (p == NULL || --p->refs != 0)
        return;
    wk_chpub_unref(p->join);
    wk_chpub_unref(p->join_with);
    free(p);
}

/* A frame of len bytes of json, not filled in yet: the header is written, refs 1. */
static wk_chpub *wk_chpub_alloc(size_t len, uint64_t offset, uint64_t prev)
{
    wk_chpub *p = wsf_xmalloc(sizeof *p + len);
    p->refs = 1;
    p->offset = offset;
    p->prev = prev;
    p->join = p->join_with = NULL;
    p->len = len;
    uint8_t hdr[WS_MAX_HEADER];
    p->hlen = (uint8_t)ws_frame_header(hdr, true, WS_OP_TEXT, len, NULL);
    memcpy(p->hdr + sizeof p->hdr - p->hlen, hdr, p->hlen);
    return p;
}

wk_chpub *wk_chpub_new(const char *json, size_t len, uint64_t offset, uint64_t prev)
{
    wk_chpub *p = wk_chpub_alloc(len, offset, prev);
    memcpy(p->json, json, len);
    return p;
}

wk_chpub *wk_chpub_join(wk_chpub *q, wk_chpub *p)
{
    if (q->join != NULL && q->join_with == p)
        return q->join;
    size_t len = q->len + 1 + p->len;
    if (len > WK_JOIN_MAX)
        return NULL;
    wk_chpub *j = wk_chpub_alloc(len, p->offset, q->prev);
    memcpy(j->json, q->json, q->len);
    j->json[q->len] = '\n';
    memcpy(j->json + q->len + 1, p->json, p->len);
    /* Another p before (a subscriber in another state): the newest is kept; the old frame lives
     * on in the connections that hold it. */
    wk_chpub_unref(q->join);
    wk_chpub_unref(q->join_with);
    q->join = j;
    q->join_with = p;
    p->refs++;
    return j;
}

/* ---- flush ---- */

/* Subscribers written to per turn of the loop. */
#define WK_FLUSH_BATCH 128

void wk_chhub_on_flush(evutil_socket_t fd, short what, void *arg)
{
    wk_chhub *h = arg;
    (void)fd;
    (void)what;
    wk_chsess *s;
    h->flush_due = false;
    wk_chhub_issue_fetches(h);
    for (size_t done = 0; (s = h->dirty) != NULL; done++) {
        if (done == WK_FLUSH_BATCH) {
            /* The rest after a poll of the sockets: a fan-out to many subscribers does not hold
             * up the NATS connection (JetStream acks, replies) or the clients' input for its
             * whole length. A timer with no delay runs after the next poll. */
            static const struct timeval now = {0, 0};
            h->flush_due = true;
            event_add(h->flush_ev, &now);
            return;
        }
        h->dirty = s->dnext;
        if (h->dirty)
            h->dirty->dprev = NULL;
        else
            h->dirty_tail = NULL;
        s->dnext = s->dprev = NULL;
        s->dirty = false;
        wk_conn *c = s->conn;
        unsigned code = s->close_code;
        const char *reason = s->close_reason;
        /* The session may be freed by what follows (a failed send kills the connection). */
        if (s->shared != NULL) {
            wk_chpub *p = s->shared;
            size_t flen;
            const uint8_t *frame = wk_chpub_frame(p, &flen);
            s->shared = NULL;
            wk_conn_send_frame(c, frame, flen);
            wk_chpub_unref(p);
        } else if (s->pend.len > 0) {
            wk_conn_send(c, 0x1, s->pend.data, s->pend.len);
            if (!c->dead)
                wsf_buf_fini(&s->pend); /* an idle subscriber holds no buffer */
        }
        if (!c->dead && code != 0)
            wk_conn_close(c, code, reason);
        if (c->dead)
            wk_conn_free(c);
    }
}

void wk_chhub_schedule_flush(wk_chhub *h)
{
    /* Called once per delivery in a fan-out: event_active (with its lock) only once. */
    if (h->flush_due)
        return;
    h->flush_due = true;
    event_active(h->flush_ev, 0, 0);
}
