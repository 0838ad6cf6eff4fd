/* Shared between wk_channels.c (hub, channel table, resume), wk_chfetch.c (history fetches),
 * wk_chfan.c (fan-out: frames and flush) and wk_chsess.c (commands of one connection): the
 * structures of the channel side. Not for other modules. */
#ifndef WK_CHANNELS_PRIV_H
#define WK_CHANNELS_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/util.h>

#include "wk_channels.h"
#include "wsf_buf.h"
#include "wsf_chconf.h"
#include "wsf_chproto.h"
#include "wsf_chsync.h"
#include "wsf_jwt.h"
#include "wsf_nats_js.h"

struct event;
typedef struct wk_chan wk_chan;
typedef struct wk_chsess wk_chsess;
typedef struct wk_chsub wk_chsub;
typedef struct wk_chop wk_chop;

/* A live publication, encoded once as its push object; shared by the subscriptions that hold it
 * while their history fetch is in flight, and by the connections it is the only pending object
 * of (their flush writes the shared frame itself). The text frame's header is built once, right-
 * aligned in hdr so that header and json are one contiguous frame (wk_chpub_frame).
 * Publications that reach a connection in the same loop iteration share a frame too: the first
 * connection that needs "this frame's objects, then p" builds it (wk_chpub_join) and keeps it in
 * join, so that every other subscriber in the same state sends it as it is (no copy). */
typedef struct wk_chpub {
    unsigned refs;
    uint64_t offset;
    uint64_t prev;
    struct wk_chpub *join;      /* this frame's objects, '\n', join_with's; or NULL */
    struct wk_chpub *join_with; /* held while join is (it is the key of join) */
    size_t len;
    uint8_t hlen;
    uint8_t hdr[14]; /* WS_MAX_HEADER; the header is its last hlen bytes */
    char json[];
} wk_chpub;

/* The whole text frame of p (header then json): *len bytes. */
static inline const uint8_t *wk_chpub_frame(const wk_chpub *p, size_t *len)
{
    *len = p->hlen + p->len;
    return p->hdr + sizeof p->hdr - p->hlen;
}

/* A history fetch result, copied so that it can wait (a connect's other subs) and be replayed. */
typedef struct wk_chhist {
    char epoch[WSF_NATS_EPOCH_MAX];
    uint64_t first, last;
    uint64_t expired_to; /* highest offset cut for being older than the namespace's history_ttl */
    wsf_ch_pub *pubs;
    size_t npubs;
    wsf_buf data; /* the pubs' data, back to back */
} wk_chhist;

/* A connect with subs: its reply waits for every sub's first fetch. */
typedef struct wk_chconnect {
    uint64_t id;
    size_t nsubs, pending;
    wk_chsub **subs;
    wk_chhist *hists;
    bool failed;
} wk_chconnect;

/* One connection's subscription to one channel. */
struct wk_chsub {
    wk_chan *ch;
    wk_chsess *sess;
    wk_chsub *ch_next, *ch_prev; /* the channel's subscribers */
    wk_chsub *s_next;            /* the session's subscriptions */
    wsf_chsync sync;
    struct wk_chfetch *fetch; /* in flight, or NULL */
    size_t fetch_slot;        /* its place in fetch->subs */
    bool want_fetch;          /* queued for the end of the loop iteration */
    wk_chsub *fq_next, *fq_prev;
    uint64_t reply_id;     /* the subscribe this first fetch answers, 0 once answered */
    uint64_t replayed;     /* publications fetched in this catch-up (the namespace window) */
    wk_chconnect *connect; /* the connect this first fetch answers, or NULL */
    bool stalled;          /* a fetch failed: retried when NATS is back */
    bool no_stream;        /* the last fetch found no stream (a first one is retried once) */
};

struct wk_chan {
    char *name;
    size_t len;
    wk_chan *hnext;
    struct wsf_nats_sub *nsub;
    wk_chsub *subs;
    unsigned nsubs;
    wsf_ch_settings set;
    struct wk_chfetch *forming; /* requests grouped in this iteration (wk_chhub_issue_fetches) */
    /* The channel's newest offset as this worker knows it (the largest of fetched lasts and live
     * offsets, in epoch last_epoch), so that a subscribe without since needs no fetch. Valid
     * (known) once a fetch returned while the live feed ran without a break since it was sent:
     * every later publication then arrives on the live feed, and any it missed shows as a gap in
     * prev, which wsf_chsync fills from history. */
    uint64_t last;
    uint64_t last_epoch;
    bool known;
    /* A channel without subscribers lingers a few retry ticks, live feed and all, so that
     * sessions coming and going on it keep that knowledge. */
    wk_chhub *hub;
    unsigned idle_ticks;
};

/* A command waiting for NATS (publish ack, history, presence); sess NULL once the connection
 * went away. */
struct wk_chop {
    wk_chop *next, *prev;
    wk_chsess *sess;
    uint64_t id;
};

struct wk_chsess {
    wk_conn *conn;
    wk_chhub *hub;
    wsf_ch_session ps;
    wsf_ch_abuse abuse;
    wk_chsub *subs;
    wk_chop *ops;
    wsf_buf pend;     /* objects not yet sent, joined by '\n' */
    wk_chpub *shared; /* the only pending object, a live push: sent as its shared frame */
    wk_chsess *dnext, *dprev;
    bool dirty;
    bool authed;         /* a token was accepted */
    uint16_t close_code; /* close once pending output is queued (1000..4999) */
    /* With bk_renamed: a hash of the connect token's sub, which claims.sub no longer holds (the
     * application named the user): what a refresh token's sub is checked against. */
    uint32_t token_sub_hash;
    const char *close_reason;
    wk_chconnect *connect;
    /* "<pid>.<n>" in hex: a pid below 2^22 (6 digits), '.', n (16 at most), NUL. */
    char client[24];
    wsf_jwt_claims claims; /* the connect's or last refresh's token; sub "" when anonymous */
    /* Application backend (wk_backend.c). */
    struct wk_bkopen *bk_open; /* address and headers for wsf.app.connect, until connect */
    char *bk_data;             /* the connect reply's "data" from the backend, or NULL */
    size_t bk_data_len;
    unsigned bk_pending; /* backend requests in flight */
    bool bk_connected;   /* connect done: pushes reach it */
    bool bk_accepted;    /* the backend accepted its connect: its disconnect is notified */
    bool bk_renamed;     /* the backend's connect reply gave another user than the token's */
    uint64_t client_n;   /* the number in client */
    wk_chsess *bk_cnext; /* the backend's client table */
    struct wk_bkuser *bk_user;
    wk_chsess *bk_unext, *bk_uprev; /* the sessions of bk_user */
};

struct wk_chhub {
    wk_ctx *ctx;
    struct wsf_nats *nats;
    wsf_chconf conf;
    char epoch[WSF_NATS_EPOCH_MAX];
    uint64_t epoch_id;
    bool ensuring;
    bool closing; /* wk_channels_free runs: callbacks owed by NATS do nothing */
    wk_chan **table;
    size_t tcap, nchans;
    wk_chsess *dirty, *dirty_tail; /* sessions with output to write, oldest first */
    wk_chsub *fetchq; /* subscriptions that want a fetch, issued at the end of the iteration */
    struct event *flush_ev;
    bool flush_due; /* flush_ev is active, or armed to go on after a poll */
    struct event *retry_ev;
    struct wsf_nats_sub *admin_sub;
    struct wsf_nats_sub *presence_sub;
    uint64_t next_client;
    unsigned pid; /* the worker's, read once: client ids are "<pid>.<n>" */
    uint64_t next_inbox;
    uint64_t feed_gen; /* counts breaks of the live feed (reconnects, dropped messages) */
    struct wk_backend *backend;
};

/* wk_chsess.c */
/* The hash of a token subject kept in token_sub_hash (FNV-1a, 32 bits). */
uint32_t wk_chsess_sub_hash(const char *sub);
wk_chsess *wk_chsess_of(wk_conn *c, wk_chhub *h);
void wk_chsess_free(wk_chsess *s);
void wk_chsess_handle(wk_chsess *s, const uint8_t *data, size_t len);
/* Makes room for one more object in s's pending text ('\n' first when needed) and schedules the
 * flush; returns NULL when s is closing or over its backlog (then closed with 4001). */
wsf_buf *wk_chsess_out(wk_chsess *s, size_t need);
/* Adds a live push to s's pending output: by reference (no copy) when it is the only object,
 * else its bytes are appended to the pending text. */
void wk_chsess_push(wk_chsess *s, wk_chpub *p);
void wk_chsess_close(wk_chsess *s, unsigned code, const char *reason);
void wk_chsess_error(wk_chsess *s, uint64_t id, int code, const char *msg);
/* An error for a command that was let in: its id is no longer in flight. */
void wk_chsess_fail(wk_chsess *s, uint64_t id, int code, const char *msg);
/* The rest of a connect once allowed: subscribes subs (the client's, checked against their
 * namespaces) and granted (channels an application backend gave, not checked; a client's since
 * for one of them is kept), then replies with s->bk_data. */
void wk_chsess_connect_go(wk_chsess *s, uint64_t id, const wsf_ch_sub *subs, size_t nsubs,
                          const char *const *granted, size_t ngranted);
/* The rest of a subscribe once allowed. */
void wk_chsess_subscribe_go(wk_chsess *s, uint64_t id, const char *channel,
                            const wsf_ch_settings *set, bool has_since, const wsf_ch_pos *since);
/* The rest of a publish once allowed: data (len bytes of JSON) goes to the channel. */
void wk_chsess_publish_go(wk_chsess *s, uint64_t id, const char *channel, const char *data,
                          size_t len);
void wk_chop_attach(wk_chop *op, wk_chsess *s, uint64_t id);
/* Unlinks op from its session; returns the session (NULL when it went away). */
wk_chsess *wk_chop_detach(wk_chop *op);

/* wk_channels.c */
wk_chan *wk_chan_find(wk_chhub *h, const char *name, size_t len);
/* Subscribes s to channel (settings set), starting its first fetch; reply_id or connect says
 * what it answers. */
wk_chsub *wk_chsub_new(wk_chsess *s, const char *name, size_t len, const wsf_ch_settings *set,
                       bool has_since, const wsf_ch_pos *since);
void wk_chsub_free(wk_chsub *sub);
/* A sub without since on a channel whose newest offset is known: answered at once from it (no
 * history fetch) and returns true; false when it must fetch. */
bool wk_chsub_known(wk_chsub *sub);
/* Runs a fetched history through sub's wsf_chsync; reply (when not NULL) is filled for the
 * first fetch instead of writing a subscribe reply. Pushes held publications afterwards unless
 * no_drain. */
void wk_chsub_fetched(wk_chsub *sub, const wk_chhist *hist, wsf_ch_state *reply);
void wk_chsub_drain(wk_chsub *sub);
void wk_chhist_fini(wk_chhist *h);
/* Copies h without the publications older than ttl_s seconds (0: no age limit): the stream keeps
 * them for the namespace with the longest history_ttl, not for this channel's. */
void wk_chhist_copy(wk_chhist *out, const struct wsf_nats_history *h, uint32_t ttl_s);
bool wk_chhub_up(const wk_chhub *h);
/* The stream went missing (deleted): create it again, which starts a new epoch. */
void wk_chhub_ensure(wk_chhub *h);

/* wk_chfetch.c */
/* One history request in flight for the subscriptions of a channel that asked for the same
 * range in the same loop iteration (after a NATS reconnect, all of them at once); a slot is NULL
 * once its subscription went away. */
typedef struct wk_chfetch {
    struct wk_chfetch *next; /* the channel's groups being formed in this iteration */
    uint64_t after;
    size_t limit;
    uint32_t ttl_s; /* the channel's history_ttl */
    uint64_t gen;   /* the hub's feed_gen when sent */
    wk_chan *ch;    /* valid while one of subs is not NULL */
    wk_chsub **subs;
    size_t n, cap;
} wk_chfetch;
/* Queues sub for a history fetch at the end of the loop iteration (none while one is in flight
 * or NATS is down: then stalled). */
void wk_chsub_fetch(wk_chsub *sub);
/* Takes sub off the fetch queue. */
void wk_chsub_unqueue(wk_chsub *sub);
/* Sends the queued fetches, one request per channel and range. */
void wk_chhub_issue_fetches(wk_chhub *h);
/* One subscription's share of a fetch result; hist is the copy of h (NULL on error). */
void wk_chsub_result(wk_chsub *sub, int err, const struct wsf_nats_history *h,
                     const wk_chhist *hist);

/* wk_chfan.c */
void wk_chpub_unref(wk_chpub *p);
/* A live publication's frame: json (len bytes) encoded once, refs 1. */
wk_chpub *wk_chpub_new(const char *json, size_t len, uint64_t offset, uint64_t prev);
/* The frame of q's objects followed by p's (one text frame, '\n' between), built on q's first
 * call for p and shared by later ones (owned by q; the caller takes its own reference). NULL when
 * it would pass WK_JOIN_MAX bytes: the caller copies instead. */
wk_chpub *wk_chpub_join(wk_chpub *q, wk_chpub *p);
#define WK_JOIN_MAX (16 * 1024)
/* h's flush_ev (a hub, arg): issues the queued fetches, then writes the sessions on h->dirty,
 * oldest first, at most WK_FLUSH_BATCH (128) per call; the rest after the next poll. */
void wk_chhub_on_flush(evutil_socket_t fd, short what, void *arg);
void wk_chhub_schedule_flush(wk_chhub *h);

/* wk_chadmin.c */
/* Answers wsf.admin.channels and other workers' presence questions. Returns 0 or -1. */
int wk_chadmin_start(wk_chhub *h);
/* Asks every worker who is subscribed to channel; s gets the presence reply to id after
 * WK_PRESENCE_WINDOW_MS. Returns 0, or a negative errno (nothing was sent). */
int wk_chhub_presence(wk_chhub *h, wk_chsess *s, uint64_t id, const char *channel);

#endif
