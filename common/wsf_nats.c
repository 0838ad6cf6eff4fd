/* The NATS connection of one libevent loop: libnats threads queue, the loop calls back. */
#include "wsf_nats.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <nats/nats.h>

#include "wsf_buf.h"
#include "wsf_hdruser.h"
#include "wsf_nats_priv.h"
#include "wsf_nats_subj.h"

/* How long wsf_nats_free waits for libnats to report the connection closed and every
 * subscription finished; past it, it frees anyway (a broken libnats must not hang shutdown). */
#define FREE_WAIT_S 10
/* Items dispatched per loop iteration: a burst from the broker does not starve the sockets. */
#define DISPATCH_BATCH 256
/* Longest a delivered message waits to be destroyed (wsf_nats_deliver). */
#define BURY_MS 20

int wsf_nats_errno(natsStatus s)
{
    switch (s) {
    case NATS_OK:
        return 0;
    case NATS_NOT_FOUND:
        return -ENOENT;
    case NATS_TIMEOUT:
        return -ETIMEDOUT;
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_NOT_YET_CONNECTED:
    case NATS_STALE_CONNECTION:
        return -ENOTCONN;
    case NATS_NO_RESPONDERS:
        return -EHOSTUNREACH;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
        return -EINVAL;
    case NATS_NO_MEMORY:
        return -ENOMEM;
    case NATS_INSUFFICIENT_BUFFER:
    case NATS_SLOW_CONSUMER:
        return -ENOBUFS;
    default:
        return -EIO;
    }
}

/* Under mu: writes the eventfd unless it was written since the loop last took the queue. */
static void wake_locked(struct wsf_nats *n)
{
    if (!n->wake_pending) {
        n->wake_pending = true;
        uint64_t one = 1;
        ssize_t w;
        do {
            w = write(n->wake_fd, &one, sizeof(one));
        } while (w == -1 && errno == EINTR);
    }
}

/* Appends it to the loop's queue; called from any thread. The eventfd write happens under the
 * mutex, so once wsf_nats_free has seen a thread's last push under that mutex, the thread touches
 * nothing of n any more. */
static void push_locked(struct wsf_nats *n, struct wsf_nats_item *it)
{
    it->next = NULL;
    if (n->tail == NULL) {
        n->head = it;
    } else {
        n->tail->next = it;
    }
    n->tail = it;
    wake_locked(n);
}

void wsf_nats_kick(struct wsf_nats *n)
{
    pthread_mutex_lock(&n->mu);
    wake_locked(n);
    pthread_mutex_unlock(&n->mu);
}

void wsf_nats_push(struct wsf_nats *n, struct wsf_nats_item *it)
{
    pthread_mutex_lock(&n->mu);
    push_locked(n, it);
    pthread_mutex_unlock(&n->mu);
}

static void push_event(struct wsf_nats *n, enum wsf_nats_event ev, int err)
{
    struct wsf_nats_item *it = wsf_xcalloc(1, sizeof(*it));
    it->kind = WSF_NATS_IT_EVENT;
    it->ev = ev;
    it->err = err;
    wsf_nats_push(n, it);
}

/* libnats threads: connection status. */
static void on_nats_connected(natsConnection *nc, void *closure)
{
    (void)nc;
    push_event(closure, WSF_NATS_EV_CONNECTED, 0);
}

static void on_nats_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    push_event(closure, WSF_NATS_EV_DISCONNECTED, 0);
}

static void on_nats_reconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    push_event(closure, WSF_NATS_EV_RECONNECTED, 0);
}

static void on_nats_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)nc;
    (void)sub;
    push_event(closure, WSF_NATS_EV_ERROR, wsf_nats_errno(err));
}

/* The last status callback libnats makes for a connection: marks it under the same lock. */
static void on_nats_closed(natsConnection *nc, void *closure)
{
    struct wsf_nats *n = closure;
    (void)nc;
    struct wsf_nats_item *it = wsf_xcalloc(1, sizeof(*it));
    it->kind = WSF_NATS_IT_EVENT;
    it->ev = WSF_NATS_EV_CLOSED;
    pthread_mutex_lock(&n->mu);
    push_locked(n, it);
    n->closed_seen = true;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

/* libnats threads: a message, and the end of a subscription. */
static void on_nats_msg(natsConnection *nc, natsSubscription *ns, natsMsg *msg, void *closure)
{
    struct wsf_nats_sub *s = closure;
    (void)nc;
    (void)ns;
    struct wsf_nats_item *it = wsf_xcalloc(1, sizeof(*it));
    it->kind = WSF_NATS_IT_MSG;
    it->sub = s;
    it->msg = msg;
    wsf_nats_push(s->n, it);
}

static void on_nats_sub_complete(void *closure)
{
    struct wsf_nats_sub *s = closure;
    struct wsf_nats *n = s->n;
    struct wsf_nats_item *it = wsf_xcalloc(1, sizeof(*it));
    it->kind = WSF_NATS_IT_SUB_DONE;
    it->sub = s;
    pthread_mutex_lock(&n->mu);
    push_locked(n, it);
    n->live_subs--;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

static uint64_t header_u64(natsMsg *msg, const char *key)
{
    const char *v = NULL;
    if (natsMsgHeader_Get(msg, key, &v) != NATS_OK || v == NULL) {
        return 0;
    }
    return strtoull(v, NULL, 10);
}

uint64_t wsf_nats_msg_seq(natsMsg *msg)
{
    return header_u64(msg, "Nats-Sequence");
}

_Static_assert(WSF_NATS_MAX_USER == WSF_HDRUSER_MAX, "one limit for the Wsf-User header");

bool wsf_nats_user_encode(char *out, const char *user)
{
    return wsf_hdruser_encode(out, user);
}

const char *wsf_nats_msg_user(natsMsg *msg, char buf[WSF_NATS_MAX_USER + 1])
{
    const char *v = NULL;
    if (natsMsgHeader_Get(msg, WSF_NATS_USER_HEADER, &v) != NATS_OK) {
        return NULL;
    }
    return wsf_hdruser_decode(v, buf);
}

static void sub_unlink_free(struct wsf_nats_sub *s)
{
    struct wsf_nats *n = s->n;
    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        n->subs = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
    natsSubscription_Destroy(s->ns);
    free(s);
}

void wsf_nats_deliver(struct wsf_nats *n, struct wsf_nats_sub *s, natsMsg *msg)
{
    if (!n->freeing && !s->closed) {
        char user[WSF_NATS_MAX_USER + 1];
        struct wsf_nats_msg m = {
            .subject = natsMsg_GetSubject(msg),
            .reply = natsMsg_GetReply(msg),
            .data = natsMsg_GetData(msg),
            .len = (size_t)natsMsg_GetDataLength(msg),
            .offset = wsf_nats_msg_seq(msg),
            .prev_offset = header_u64(msg, "Nats-Last-Sequence"),
            .user = wsf_nats_msg_user(msg, user),
            .no_responders = natsMsg_IsNoResponders(msg),
        };
        s->cb(&m, s->arg);
    }
    /* libnats hands each destroyed message to its collector thread, waking it when it waits:
     * destroyed 256 at a time (or BURY_MS after the first), they cost it one wakeup, not 256. */
    if (n->ndead == sizeof(n->dead) / sizeof(n->dead[0])) {
        wsf_nats_bury(n);
    }
    if (n->ndead == 0 && n->bury_ev != NULL) {
        static const struct timeval later = {0, BURY_MS * 1000};
        event_add(n->bury_ev, &later);
    }
    n->dead[n->ndead++] = msg;
}

static void on_bury(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wsf_nats_bury(arg);
}

void wsf_nats_bury(struct wsf_nats *n)
{
    for (size_t i = 0; i < n->ndead; i++) {
        natsMsg_Destroy(n->dead[i]);
    }
    n->ndead = 0;
}

/* Loop thread: one queued item. During wsf_nats_free (n->freeing) only JetStream results reach
 * the user. */
static void dispatch(struct wsf_nats *n, struct wsf_nats_item *it)
{
    switch (it->kind) {
    case WSF_NATS_IT_EVENT:
        if (it->ev == WSF_NATS_EV_CONNECTED || it->ev == WSF_NATS_EV_RECONNECTED) {
            n->connected = true;
        } else if (it->ev == WSF_NATS_EV_DISCONNECTED || it->ev == WSF_NATS_EV_CLOSED) {
            n->connected = false;
        }
        if (!n->freeing && n->on_event != NULL) {
            n->on_event(it->ev, it->err, n->arg);
        }
        break;
    case WSF_NATS_IT_MSG:
        wsf_nats_deliver(n, it->sub, it->msg);
        break;
    case WSF_NATS_IT_SUB_DONE:
        sub_unlink_free(it->sub);
        break;
    case WSF_NATS_IT_JOB:
        wsf_nats_job_finish(it->job);
        break;
    }
    free(it);
}

static struct wsf_nats_item *take_all(struct wsf_nats *n)
{
    pthread_mutex_lock(&n->mu);
    struct wsf_nats_item *list = n->head;
    n->head = n->tail = NULL;
    n->wake_pending = false;
    pthread_mutex_unlock(&n->mu);
    return list;
}

/* Dispatches queued items oldest first: at most max of them (then the loop gets a turn and this
 * resumes on its next iteration), or all until the queue stays empty when max is 0. */
static void drain(struct wsf_nats *n, size_t max)
{
    for (size_t done = 0; max == 0 || done < max; done++) {
        if (n->backlog == NULL) {
            n->backlog = take_all(n);
        }
        if (n->backlog == NULL) {
            break;
        }
        struct wsf_nats_item *it = n->backlog;
        n->backlog = it->next;
        dispatch(n, it);
    }
    if (n->backlog != NULL) {
        event_active(n->wake_ev, EV_READ, 0);
    }
}

void wsf_nats_dispatch_queued(struct wsf_nats *n)
{
    struct wsf_nats_item *more = take_all(n);
    if (n->backlog == NULL) {
        n->backlog = more;
    } else if (more != NULL) {
        struct wsf_nats_item *last = n->backlog;
        while (last->next != NULL) {
            last = last->next;
        }
        last->next = more;
    }
    while (n->backlog != NULL) {
        struct wsf_nats_item *it = n->backlog;
        n->backlog = it->next;
        dispatch(n, it);
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    uint64_t count;
    (void)what;
    while (read(fd, &count, sizeof(count)) == -1 && errno == EINTR) {
    }
    drain(arg, DISPATCH_BATCH);
}

/* Gives libnats the comma-separated URLs one by one: libnats 3.4.1's natsOptions_SetURL accepts
 * a list but then connects to none of it. */
static natsStatus set_servers(natsOptions *o, const char *list)
{
    char *copy = wsf_xmalloc(strlen(list) + 1);
    strcpy(copy, list);
    const char *urls[WSF_NATS_MAX_URLS];
    int count = 0;
    natsStatus s = NATS_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
        if (count == WSF_NATS_MAX_URLS) {
            s = NATS_INVALID_ARG;
            break;
        }
        urls[count++] = tok;
    }
    if (s == NATS_OK) {
        s = count > 0 ? natsOptions_SetServers(o, urls, count) : NATS_INVALID_ARG;
    }
    free(copy);
    return s;
}

static int set_options(natsOptions *o, struct wsf_nats *n, const struct wsf_nats_opts *opts)
{
    int64_t wait = opts->reconnect_wait_ms > 0 ? opts->reconnect_wait_ms : 250;
    natsStatus s = set_servers(o, opts->url);
    if (s == NATS_OK && opts->token != NULL) {
        s = natsOptions_SetToken(o, opts->token);
    }
    if (s == NATS_OK) {
        s = wsf_nats_set_auth_tls(o, opts);
    }
    if (s == NATS_OK && opts->name != NULL) {
        s = natsOptions_SetName(o, opts->name);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetTimeout(o, n->timeout_ms);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetPingInterval(o,
                                        opts->ping_interval_ms > 0 ? opts->ping_interval_ms : 5000);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetMaxPingsOut(o, 2);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetMaxReconnect(o, -1);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectWait(o, wait);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectJitter(o, wait / 4, wait / 4);
    }
    if (s == NATS_OK) {
        /* Requests in flight fail at once on a disconnect instead of waiting for their timeout. */
        s = natsOptions_SetFailRequestsOnDisconnect(o, true);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetRetryOnFailedConnect(o, true, on_nats_connected, n);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetDisconnectedCB(o, on_nats_disconnected, n);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetReconnectedCB(o, on_nats_reconnected, n);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetClosedCB(o, on_nats_closed, n);
    }
    if (s == NATS_OK) {
        s = natsOptions_SetErrorHandler(o, on_nats_error, n);
    }
    if (s == NATS_OK && n->loop_io) {
        s = wsf_nats_loop_set(o, n);
    }
    return wsf_nats_errno(s);
}

/* Waits under n->mu until libnats reported the close and the end of every subscription. */
static void wait_released(struct wsf_nats *n)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += FREE_WAIT_S;
    pthread_mutex_lock(&n->mu);
    while (!n->closed_seen || n->live_subs > 0) {
        if (pthread_cond_timedwait(&n->cv, &n->mu, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&n->mu);
}

/* libnats' threads (the message collector, timers, a subscription's delivery) and the JetStream
 * helper work for the loop. Made while the calling thread runs SCHED_BATCH, they inherit it, and
 * a wake-up of theirs then waits for the loop's turn to end instead of preempting the loop: with
 * both on one CPU, each message handed to such a thread otherwise cost the loop context switches
 * and lock hand-offs. Their share of the CPU stays that of any thread at their nice value
 * (sched(7)). Returns what batch_end restores. */
static int batch_begin(void)
{
    struct sched_param none = {0};
    int was = sched_getscheduler(0);
    if (was != SCHED_OTHER || sched_setscheduler(0, SCHED_BATCH, &none) == -1) {
        return -1;
    }
    return was;
}

static void batch_end(int was)
{
    struct sched_param none = {0};
    if (was != -1) {
        sched_setscheduler(0, was, &none);
    }
}

int wsf_nats_new(struct wsf_nats **out, struct event_base *base, const struct wsf_nats_opts *opts,
                 wsf_nats_on_event on_event, void *arg)
{
    int was = -1;
    const char *stream = opts->stream != NULL ? opts->stream : WSF_NATS_STREAM_DEFAULT;
    if (opts->url == NULL || strlen(stream) >= sizeof(((struct wsf_nats *)0)->stream)) {
        return -EINVAL;
    }
    struct wsf_nats *n = wsf_xcalloc(1, sizeof(*n));
    int rc;
    n->base = base;
    n->on_event = on_event;
    n->arg = arg;
    n->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 2000;
    strcpy(n->stream, stream);
    n->loop_io = opts->loop_io && opts->tls_ca == NULL && opts->tls_cert == NULL &&
                 strstr(opts->url, "tls://") == NULL;
    n->wake_fd = -1;
    n->loop_thread = pthread_self();
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    n->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (n->wake_fd == -1) {
        rc = -errno;
        goto fail;
    }
    n->wake_ev = event_new(base, n->wake_fd, EV_READ | EV_PERSIST, on_wake, n);
    n->bury_ev = evtimer_new(base, on_bury, n);
    if (n->wake_ev == NULL || n->bury_ev == NULL || event_add(n->wake_ev, NULL) != 0) {
        rc = -ENOMEM;
        goto fail;
    }
    was = batch_begin();
    rc = wsf_nats_errno(natsOptions_Create(&n->opts));
    if (rc == 0) {
        rc = set_options(n->opts, n, opts);
    }
    if (rc != 0) {
        goto fail;
    }
    natsStatus s = natsConnection_Connect(&n->nc, n->opts);
    if (s == NATS_OK) {
        push_event(n, WSF_NATS_EV_CONNECTED, 0);
    } else if (s != NATS_NOT_YET_CONNECTED) {
        rc = wsf_nats_errno(s);
        goto fail;
    }
    rc = wsf_nats_js_start(n);
    if (rc != 0) {
        goto fail;
    }
    batch_end(was);
    *out = n;
    return 0;
fail:
    batch_end(was);
    if (n->nc != NULL) {
        natsConnection_Close(n->nc);
        wait_released(n);
        natsConnection_Destroy(n->nc);
    }
    natsOptions_Destroy(n->opts);
    if (n->wake_ev != NULL) {
        event_free(n->wake_ev);
    }
    if (n->bury_ev != NULL) {
        event_free(n->bury_ev);
    }
    if (n->wake_fd != -1) {
        close(n->wake_fd);
    }
    /* Items pushed before the failure (a CONNECTED event) are dropped unseen. */
    for (struct wsf_nats_item *it = take_all(n), *next; it != NULL; it = next) {
        next = it->next;
        free(it);
    }
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
    return rc;
}

void wsf_nats_free(struct wsf_nats *n)
{
    if (n == NULL) {
        return;
    }
    n->freeing = true;
    if (n->loop_io) {
        /* The helper's request in flight needs the loop to send it and read its reply, and there
         * is no reader thread to crash: the close fails it at once, and the queued ones are not
         * started. */
        pthread_mutex_lock(&n->mu);
        n->stopping = true;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
        natsConnection_Close(n->nc);
    }
    /* The helper finishes its request in flight (bounded by the request timeout) and leaves the
     * queued ones to be cancelled below before the connection closes: libnats 3.4 can crash its
     * reader thread when a connection closes under a request whose reply is being read. */
    wsf_nats_js_stop(n);
    natsConnection_Close(n->nc);
    wait_released(n);
    jsCtx_Destroy(n->js);
    natsConnection_Destroy(n->nc);
    natsOptions_Destroy(n->opts);
    drain(n, 0);
    /* Subscriptions that never got (or never lost) a libnats subscription. */
    while (n->subs != NULL) {
        sub_unlink_free(n->subs);
    }
    wsf_nats_loop_reap(n, true);
    wsf_nats_js_cancel_pending(n);
    wsf_nats_bury(n);
    event_free(n->bury_ev);
    event_free(n->wake_ev);
    close(n->wake_fd);
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

void wsf_nats_library_fini(void)
{
    nats_CloseAndWait(FREE_WAIT_S * 1000);
}

bool wsf_nats_is_connected(const struct wsf_nats *n)
{
    return n->connected;
}

int wsf_nats_sub_new(struct wsf_nats_sub **out, struct wsf_nats *n, const char *subject,
                     wsf_nats_on_msg cb, void *arg)
{
    struct wsf_nats_sub *s = wsf_xcalloc(1, sizeof(*s));
    s->n = n;
    s->cb = cb;
    s->arg = arg;
    /* Counted before libnats can possibly complete it. */
    pthread_mutex_lock(&n->mu);
    n->live_subs++;
    pthread_mutex_unlock(&n->mu);
    int was = batch_begin(); /* its delivery thread */
    natsStatus st = natsConnection_Subscribe(&s->ns, n->nc, subject, on_nats_msg, s);
    batch_end(was);
    if (st != NATS_OK) {
        pthread_mutex_lock(&n->mu);
        n->live_subs--;
        pthread_mutex_unlock(&n->mu);
        free(s);
        return wsf_nats_errno(st);
    }
    st = natsSubscription_SetOnCompleteCB(s->ns, on_nats_sub_complete, s);
    if (st != NATS_OK) {
        /* Only a subscription already closed refuses: messages may sit in the queue for it, so
         * it stays listed (closed, never delivered to) until wsf_nats_free. */
        pthread_mutex_lock(&n->mu);
        n->live_subs--;
        pthread_mutex_unlock(&n->mu);
        natsSubscription_Unsubscribe(s->ns);
        s->closed = true;
    }
    s->next = n->subs;
    if (n->subs != NULL) {
        n->subs->prev = s;
    }
    n->subs = s;
    if (st != NATS_OK) {
        return wsf_nats_errno(st);
    }
    *out = s;
    return 0;
}

int wsf_nats_sub_new_on_loop(struct wsf_nats_sub **out, struct wsf_nats *n, const char *subject,
                             wsf_nats_on_msg cb, void *arg)
{
    if (!n->loop_io) {
        return wsf_nats_sub_new(out, n, subject, cb, arg);
    }
    struct wsf_nats_sub *s = wsf_xcalloc(1, sizeof(*s));
    s->n = n;
    s->cb = cb;
    s->arg = arg;
    int rc = wsf_nats_loop_sub(s, subject);
    if (rc != 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int wsf_nats_ch_sub_new(struct wsf_nats_sub **out, struct wsf_nats *n, const char *name, size_t len,
                        wsf_nats_on_msg cb, void *arg)
{
    char subject[WSF_NATS_SUBJ_MAX];
    int rc = wsf_nats_subj_from_channel(subject, sizeof(subject), WSF_NATS_SUBJ_LIVE, name, len);
    if (rc < 0) {
        return rc;
    }
    return wsf_nats_sub_new(out, n, subject, cb, arg);
}

void wsf_nats_sub_free(struct wsf_nats_sub *s)
{
    if (s == NULL || s->closed) {
        return;
    }
    s->closed = true;
    if (s->on_loop) {
        natsSubscription_Unsubscribe(s->ns);
        if (!s->n->loop_passing) {
            wsf_nats_loop_reap(s->n, false);
        }
        return;
    }
    /* The struct lives on until libnats reports the subscription complete (a SUB_DONE item), as
     * a libnats thread may be about to queue a message for it. */
    natsSubscription_Unsubscribe(s->ns);
}

int wsf_nats_publish(struct wsf_nats *n, const char *subject, const void *data, size_t len)
{
    if (len > INT32_MAX) {
        return -EINVAL;
    }
    return wsf_nats_errno(natsConnection_Publish(n->nc, subject, data, (int)len));
}

int wsf_nats_publish_request(struct wsf_nats *n, const char *subject, const char *reply,
                             const void *data, size_t len)
{
    if (len > INT32_MAX || reply == NULL) {
        return -EINVAL;
    }
    return wsf_nats_errno(natsConnection_PublishRequest(n->nc, subject, reply, data, (int)len));
}
