/* One subscription's position in its channel: replay, hold, drop, fetch or reset. */
#include "wsf_chsync.h"

#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"

uint64_t wsf_chsync_epoch_id(const char *epoch, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)epoch[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

void wsf_chsync_init(wsf_chsync *s)
{
    memset(s, 0, sizeof *s);
}

void wsf_chsync_fini(wsf_chsync *s)
{
    free(s->held);
    memset(s, 0, sizeof *s);
}

void wsf_chsync_start(wsf_chsync *s, bool has_since, uint64_t epoch, uint64_t offset)
{
    wsf_chsync_fini(s);
    s->state = WSF_CHSYNC_FETCHING;
    s->first = true;
    s->has_since = has_since;
    s->epoch = has_since ? epoch : 0;
    s->last = has_since ? offset : 0;
}

uint64_t wsf_chsync_position(const wsf_chsync *s)
{
    return s->last;
}

/* Keeps pub in offset order; a second copy of an offset, or one past the cap, is dropped (a full
 * hold is fetched again from history once the fetch returns). */
static enum wsf_chsync_action wsf_chsync_hold(wsf_chsync *s, const wsf_chsync_pub *pub)
{
    size_t i = s->nheld;
    while (i > 0 && s->held[i - 1].offset > pub->offset)
        i--;
    if (i > 0 && s->held[i - 1].offset == pub->offset && s->held[i - 1].epoch == pub->epoch)
        return WSF_CHSYNC_DROP;
    if (s->nheld == WSF_CHSYNC_HOLD_MAX) {
        s->refetch = true;
        return WSF_CHSYNC_DROP;
    }
    if (s->nheld == s->held_cap) {
        s->held_cap = s->held_cap == 0 ? 4 : (uint16_t)(s->held_cap * 2);
        s->held = wsf_xrealloc(s->held, (size_t)s->held_cap * sizeof *s->held);
    }
    memmove(&s->held[i + 1], &s->held[i], (s->nheld - i) * sizeof *s->held);
    s->held[i] = *pub;
    s->nheld++;
    return WSF_CHSYNC_HELD;
}

/* The rule for a publication reaching a live subscription; moves the position on DELIVER. */
static enum wsf_chsync_action wsf_chsync_classify(wsf_chsync *s, const wsf_chsync_pub *pub)
{
    if (pub->epoch != s->epoch)
        return WSF_CHSYNC_RESET;
    if (pub->offset <= s->last)
        return WSF_CHSYNC_DROP;
    if (pub->prev != WSF_CHSYNC_PREV_UNKNOWN && pub->prev > s->last)
        return WSF_CHSYNC_FETCH;
    s->last = pub->offset;
    return WSF_CHSYNC_DELIVER;
}

enum wsf_chsync_action wsf_chsync_on_live(wsf_chsync *s, const wsf_chsync_pub *pub)
{
    enum wsf_chsync_action a;
    switch (s->state) {
    case WSF_CHSYNC_FETCHING:
        return wsf_chsync_hold(s, pub);
    case WSF_CHSYNC_LIVE:
        a = wsf_chsync_classify(s, pub);
        if (a == WSF_CHSYNC_FETCH) {
            s->state = WSF_CHSYNC_FETCHING;
            wsf_chsync_hold(s, pub); /* nothing is held while live: it fits */
        } else if (a == WSF_CHSYNC_RESET) {
            s->state = WSF_CHSYNC_DEAD;
        }
        return a;
    default:
        return WSF_CHSYNC_DROP;
    }
}

/* Which of the fetched pubs follow the position: the ascending run after it. */
static void wsf_chsync_replay(wsf_chsync *s, const wsf_chsync_pub *pubs, size_t npubs,
                              wsf_chsync_result *out)
{
    size_t i = 0;
    while (i < npubs && pubs[i].offset <= s->last)
        i++;
    out->replay_from = i;
    while (i < npubs && pubs[i].offset > s->last) {
        s->last = pubs[i].offset;
        i++;
    }
    out->replay_count = i - out->replay_from;
}

void wsf_chsync_on_fetched(wsf_chsync *s, const wsf_chsync_hist *h, const wsf_chsync_pub *pubs,
                           size_t npubs, wsf_chsync_result *out)
{
    memset(out, 0, sizeof *out);
    out->action = WSF_CHSYNC_DELIVER;
    if (s->state != WSF_CHSYNC_FETCHING) {
        out->action = WSF_CHSYNC_DROP; /* nothing was asked: a stale answer */
        goto done;
    }
    bool lost = s->epoch != h->epoch || s->last < h->lost_to || s->last > h->last;
    if (s->first) {
        s->first = false;
        if (!s->has_since || lost) {
            out->recovered = !s->has_since;
            s->epoch = h->epoch;
            s->last = h->last;
        } else {
            out->recovered = true;
            wsf_chsync_replay(s, pubs, npubs, out);
        }
    } else if (lost) {
        out->action = WSF_CHSYNC_RESET;
        s->state = WSF_CHSYNC_DEAD;
        goto done;
    } else {
        wsf_chsync_replay(s, pubs, npubs, out);
    }
    /* Publications the fetch should have returned but did not (a batch cut short). */
    if (s->last < h->last) {
        out->action = WSF_CHSYNC_FETCH;
    } else {
        s->state = WSF_CHSYNC_LIVE;
    }
done:
    out->epoch = s->epoch;
    out->offset = s->last;
}

/* Hands back the first held publication. */
static void wsf_chsync_pop(wsf_chsync *s, wsf_chsync_pub *out)
{
    *out = s->held[0];
    s->nheld--;
    memmove(&s->held[0], &s->held[1], s->nheld * sizeof *s->held);
}

enum wsf_chsync_action wsf_chsync_drain(wsf_chsync *s, wsf_chsync_pub *out)
{
    if (s->state == WSF_CHSYNC_DEAD && s->nheld > 0) {
        wsf_chsync_pop(s, out);
        return WSF_CHSYNC_DROP;
    }
    if (s->state != WSF_CHSYNC_LIVE)
        return WSF_CHSYNC_DONE;
    if (s->nheld == 0) {
        free(s->held);
        s->held = NULL;
        s->held_cap = 0;
        if (s->refetch) {
            s->refetch = false;
            s->state = WSF_CHSYNC_FETCHING;
            return WSF_CHSYNC_FETCH;
        }
        return WSF_CHSYNC_DONE;
    }
    enum wsf_chsync_action a = wsf_chsync_classify(s, &s->held[0]);
    if (a == WSF_CHSYNC_FETCH) {
        s->state = WSF_CHSYNC_FETCHING;
        return a;
    }
    if (a == WSF_CHSYNC_RESET)
        s->state = WSF_CHSYNC_DEAD;
    wsf_chsync_pop(s, out);
    return a;
}

bool wsf_chsync_resync(wsf_chsync *s)
{
    if (s->state == WSF_CHSYNC_FETCHING) {
        s->refetch = true;
        return false;
    }
    if (s->state != WSF_CHSYNC_LIVE)
        return false;
    s->state = WSF_CHSYNC_FETCHING;
    return true;
}
