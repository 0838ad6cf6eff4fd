/* Inside wsf_nats: the connection struct and the queue shared by wsf_nats.c (the loop side and
 * libnats' callbacks) and wsf_nats_js.c (the helper thread). Not for other modules. */
#ifndef WSF_NATS_PRIV_H
#define WSF_NATS_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <nats/nats.h>

#include "wsf_nats.h"

struct wsf_nats_job;

enum wsf_nats_item_kind {
    WSF_NATS_IT_EVENT,
    WSF_NATS_IT_MSG,
    WSF_NATS_IT_SUB_DONE,
    WSF_NATS_IT_JOB,
};

/* One entry of the loop's queue. */
struct wsf_nats_item {
    struct wsf_nats_item *next;
    enum wsf_nats_item_kind kind;
    enum wsf_nats_event ev;   /* EVENT */
    int err;                  /* EVENT */
    struct wsf_nats_sub *sub; /* MSG, SUB_DONE */
    natsMsg *msg;             /* MSG: owned by the item */
    struct wsf_nats_job *job; /* JOB: finished, its callback still owed */
};

struct wsf_nats_sub {
    struct wsf_nats *n;
    natsSubscription *ns;
    wsf_nats_on_msg cb;
    void *arg;
    bool closed; /* wsf_nats_sub_free was called; freed when libnats completes it */
    struct wsf_nats_sub *prev, *next;
    /* A synchronous libnats subscription that the loop drains after each read of the socket
     * (loop_io): no delivery thread and no queue. Listed in n->loop_subs instead of n->subs,
     * freed by the loop. */
    bool on_loop;
    int ready; /* messages waiting in libnats at the current pass */
};

struct wsf_nats {
    /* Loop thread only. */
    struct event_base *base;
    struct event *wake_ev;
    wsf_nats_on_event on_event;
    void *arg;
    bool connected;
    bool freeing;
    struct wsf_nats_sub *subs;
    struct wsf_nats_item *backlog; /* taken from the queue, not dispatched yet */
    struct wsf_nats_sub *loop_subs; /* on_loop subscriptions, oldest first (via next) */
    bool loop_passing;              /* in wsf_nats_loop_deliver: closed loop subs wait */
    natsMsg *dead[256];             /* delivered, destroyed by wsf_nats_bury */
    struct event *bury_ev;          /* buries them BURY_MS after the first */
    size_t ndead;
    /* Set up before any thread starts, read-only afterwards. */
    int wake_fd;
    pthread_t loop_thread; /* the thread of base's loop (the one that made n) */
    int64_t timeout_ms;
    bool loop_io; /* the connection's I/O runs on the loop (wsf_nats_loop.c) */
    char stream[64];
    natsOptions *opts;
    natsConnection *nc; /* thread-safe in libnats */
    jsCtx *js;          /* used by the helper thread only */
    pthread_t helper;
    bool helper_started;
    /* Under mu: the loop's queue, the helper's jobs, what wsf_nats_free waits for. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct wsf_nats_item *head, *tail;
    bool wake_pending; /* the eventfd was written since the loop last took the queue */
    struct wsf_nats_job *jobs_head, *jobs_tail;
    bool stopping;
    bool closed_seen;
    int live_subs; /* libnats subscriptions whose completion callback is still to come */
};

/* wsf_nats.c: natsStatus as 0 or a negative errno. */
int wsf_nats_errno(natsStatus s);
/* wsf_nats.c: queues it for the loop (any thread). */
void wsf_nats_push(struct wsf_nats *n, struct wsf_nats_item *it);
/* wsf_nats.c: wakes the loop from another thread, so that what that thread activated on it runs
 * even while the loop waits outside libevent (the worker's loop blocks in its own epoll_wait, and
 * libevent only notifies a base that is inside event_base_loop). */
void wsf_nats_kick(struct wsf_nats *n);
/* wsf_nats.c: the Nats-Sequence header of msg, 0 when absent. */
uint64_t wsf_nats_msg_seq(natsMsg *msg);

/* The Wsf-User header: user percent-encoded (bytes outside '!'..'~', and '%'), so that any
 * string is one header value. wsf_nats_user_encode needs 3 * WSF_NATS_MAX_USER + 1 bytes in out
 * and returns false for an empty or too long user. wsf_nats_msg_user decodes msg's header into
 * buf and returns buf, or NULL when there is none or it is malformed. */
#define WSF_NATS_USER_HEADER "Wsf-User"
bool wsf_nats_user_encode(char *out, const char *user);
const char *wsf_nats_msg_user(natsMsg *msg, char buf[WSF_NATS_MAX_USER + 1]);

/* wsf_nats_js.c: creates the JetStream context and starts the helper thread. 0 or -errno. */
int wsf_nats_js_start(struct wsf_nats *n);
/* wsf_nats_js.c: stops and joins the helper (its current job completes first). */
void wsf_nats_js_stop(struct wsf_nats *n);
/* wsf_nats_js.c: calls the callbacks of jobs that never ran with -ECANCELED and frees them. */
void wsf_nats_js_cancel_pending(struct wsf_nats *n);
/* wsf_nats_js.c, loop thread: calls a finished job's callback and frees it. */
void wsf_nats_job_finish(struct wsf_nats_job *job);

/* wsf_nats_loop.c: libnats' event-loop hooks on n's loop. */
natsStatus wsf_nats_loop_set(natsOptions *o, struct wsf_nats *n);
/* wsf_nats_loop.c, loop thread: subscribes s (n, cb, arg set) synchronously and lists it in
 * n->loop_subs. 0 or -errno. */
int wsf_nats_loop_sub(struct wsf_nats_sub *s, const char *subject);
/* wsf_nats_loop.c, loop thread: unlinks and frees the closed loop subscriptions (all with all). */
void wsf_nats_loop_reap(struct wsf_nats *n, bool all);
/* wsf_nats.c, loop thread: calls s's callback for msg (unless s or n is closing); msg is
 * destroyed by the next wsf_nats_bury. */
void wsf_nats_deliver(struct wsf_nats *n, struct wsf_nats_sub *s, natsMsg *msg);
/* wsf_nats.c, loop thread: destroys the messages delivered since the last call (at the latest
 * BURY_MS after the first, or when 256 wait). */
void wsf_nats_bury(struct wsf_nats *n);
/* wsf_nats.c, loop thread: dispatches everything queued so far (not what comes meanwhile). */
void wsf_nats_dispatch_queued(struct wsf_nats *n);

/* Sets the credentials and TLS options of opts on o (wsf_nats_auth.c). */
natsStatus wsf_nats_set_auth_tls(natsOptions *o, const struct wsf_nats_opts *opts);

#endif
