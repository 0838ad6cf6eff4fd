/* Where one subscription (one connection, one channel) stands in its channel's history, and what
 * to do with each publication: the pure offset/epoch/recovered logic of wsfleet.v1. No I/O, no
 * clock: the caller fetches history, receives live publications and writes frames; this module
 * decides what is delivered, dropped, held or fetched, so that the client sees every publication
 * after its position exactly once, in offset order, or is told it cannot (recovered false, or a
 * reset).
 *
 * The model. A channel's publications have offsets that strictly increase within an epoch (they
 * need not be consecutive: JetStream's stream sequence is shared by all channels). An epoch is a
 * history's identity; the caller maps the wire string to a number (wsf_chsync_epoch_id). History
 * retains the newest publications; `lost_to` is the highest offset it no longer holds (dropped by
 * history_size or history_ttl), 0 when nothing was lost. A live publication may carry `prev`, the
 * offset of the channel's publication before it (0 for the first), which lets a gap be seen as
 * soon as it happens; WSF_CHSYNC_PREV_UNKNOWN when the publisher did not say.
 *
 * Use. wsf_chsync_start on subscribe (or a connect sub), then fetch the history after
 * wsf_chsync_position() (every retained publication with a greater offset, and the history's
 * epoch, last and lost_to); meanwhile live publications go through wsf_chsync_on_live, which holds
 * them. When the fetch returns, wsf_chsync_on_fetched says what to reply and which fetched
 * publications to replay; then wsf_chsync_drain hands back the held ones in order. Any FETCH
 * outcome means: fetch again after wsf_chsync_position() and call on_fetched with the result; the
 * replies and replays a result asks for go out first (so a subscribe reply may be followed by
 * pushes of the rest). A RESET subscription drops everything until the next start.
 *
 * recovered (the reply to subscribe): true when the fetched publications are every publication
 * after since.offset (same epoch, since.offset >= lost_to, since.offset <= last); false when the
 * gap cannot be filled (a new epoch, history lost, or a client ahead of the history) and then no
 * publication is replayed and the position moves to the history's last. A subscribe without since
 * starts at the history's last offset with recovered true: nothing was asked for, so nothing is
 * missing, and false always means a real gap.
 *
 * Mapping to JetStream (for the NATS glue): offset = stream sequence; epoch = the stream's identity
 * (its creation time, say); last = the last sequence of subject wsf.ch.<channel> (0 when none).
 * JetStream does not remember what it discarded, so lost_to needs help: when every publication
 * carries its channel's previous offset in a header (publish with Nats-Expected-Last-Subject-
 * Sequence = that offset and retry on a mismatch), lost_to is the oldest retained publication's
 * prev, and live publications carry prev too: exact. Without it (applications publishing straight
 * into NATS), lost_to = oldest retained offset - 1 and prev unknown: safe, never a silent gap, but
 * a client whose last publication was discarded is told recovered false even when nothing after it
 * was.
 *
 * Memory: 32 bytes per subscription, plus the held publications while a fetch is in flight (at
 * most WSF_CHSYNC_HOLD_MAX; past that they are dropped and fetched again from history). */
#ifndef WSF_CHSYNC_H
#define WSF_CHSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSF_CHSYNC_PREV_UNKNOWN UINT64_MAX
#define WSF_CHSYNC_HOLD_MAX 256

/* A publication as this module sees it; ref is the caller's (an encoded frame, a refcounted
 * message) and comes back from drain or with the action that drops it. */
typedef struct wsf_chsync_pub {
    uint64_t epoch;
    uint64_t offset;
    uint64_t prev; /* previous offset of the channel, or WSF_CHSYNC_PREV_UNKNOWN */
    void *ref;
} wsf_chsync_pub;

/* The state of a channel's history at the time of a fetch. */
typedef struct wsf_chsync_hist {
    uint64_t epoch;
    uint64_t last;    /* newest offset, 0 when the channel has none in this epoch */
    uint64_t lost_to; /* highest offset history no longer holds, 0 when none */
} wsf_chsync_hist;

enum wsf_chsync_state {
    WSF_CHSYNC_NEW = 0,
    WSF_CHSYNC_FETCHING,
    WSF_CHSYNC_LIVE,
    WSF_CHSYNC_DEAD, /* reset: drops everything until the next start */
};

typedef struct wsf_chsync {
    uint64_t epoch;
    uint64_t last;        /* the client's position: the last offset it has (or was told) */
    wsf_chsync_pub *held; /* live publications that arrived during a fetch, by offset */
    uint16_t nheld;
    uint16_t held_cap;
    uint8_t state;  /* enum wsf_chsync_state */
    bool first;     /* the fetch in flight answers the subscribe (decides recovered) */
    bool has_since; /* the subscribe gave a position */
    bool refetch;   /* a held publication was dropped, or a resync came during a fetch */
} wsf_chsync;

enum wsf_chsync_action {
    WSF_CHSYNC_DELIVER, /* write it to the client now */
    WSF_CHSYNC_DROP,    /* already delivered, or dropped to be fetched again: release ref */
    WSF_CHSYNC_HELD,    /* kept until the fetch returns; it comes back from drain */
    WSF_CHSYNC_FETCH,   /* a gap: fetch after position (the publication is held) */
    WSF_CHSYNC_RESET,   /* the channel's epoch changed, or a gap can no longer be filled: the
                           client must resubscribe to learn it (close 4001, it resumes with
                           since and gets recovered false); release ref, drain the held ones.
                           The subscription drops everything until the next start. */
    WSF_CHSYNC_DONE,    /* drain: nothing more held */
};

/* The outcome of a fetch. */
typedef struct wsf_chsync_result {
    enum wsf_chsync_action action; /* DELIVER: replay then drain; FETCH: fetch again (replay the
                                      given ones first); RESET: see above (replay nothing) */
    bool recovered;                /* for the subscribe reply, when the fetch was the first */
    uint64_t epoch;                /* the position for the reply */
    uint64_t offset;
    size_t replay_from; /* replay pubs[replay_from .. replay_from + replay_count) in order */
    size_t replay_count;
} wsf_chsync_result;

/* FNV-1a of an epoch string: the number this module compares. */
uint64_t wsf_chsync_epoch_id(const char *epoch, size_t len);

void wsf_chsync_init(wsf_chsync *s);

/* Releases the held array; the caller must first drain (or drop) what it holds refs to. */
void wsf_chsync_fini(wsf_chsync *s);

/* Begins a subscription: with a since (has_since) at {epoch, offset}, else at the history's end.
 * Afterwards fetch after wsf_chsync_position(). Anything still held is discarded without being
 * handed back: drain first. */
void wsf_chsync_start(wsf_chsync *s, bool has_since, uint64_t epoch, uint64_t offset);

/* The offset after which the next fetch must read (the client's position). */
uint64_t wsf_chsync_position(const wsf_chsync *s);

/* A live publication of the channel. FETCH also puts the subscription into FETCHING. */
enum wsf_chsync_action wsf_chsync_on_live(wsf_chsync *s, const wsf_chsync_pub *pub);

/* A fetch returned: the history h and the publications it read, offsets ascending, all greater
 * than the position it was asked for (only offsets and epochs are looked at). Fills out. */
void wsf_chsync_on_fetched(wsf_chsync *s, const wsf_chsync_hist *h, const wsf_chsync_pub *pubs,
                           size_t npubs, wsf_chsync_result *out);

/* After on_fetched said DELIVER: the next held publication in *out and what to do with it
 * (DELIVER, DROP, RESET, or FETCH: a gap, it stays held, fetch again), or DONE. After a RESET:
 * every held publication with DROP (so its ref can be released), then DONE. */
enum wsf_chsync_action wsf_chsync_drain(wsf_chsync *s, wsf_chsync_pub *out);

/* The live feed may have missed publications (NATS reconnected): returns true when the caller must
 * fetch after position now, false when a fetch is already in flight (it will be repeated). */
bool wsf_chsync_resync(wsf_chsync *s);

#endif
