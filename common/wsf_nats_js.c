/* JetStream requests of a wsf_nats connection, run one at a time on its helper thread. */
#include "wsf_nats_js.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "wsf_buf.h"
#include "wsf_nats_priv.h"
#include "wsf_nats_subj.h"

enum job_kind {
    JOB_ENSURE,
    JOB_DELETE,
    JOB_PUBLISH,
    JOB_HISTORY,
};

struct wsf_nats_job {
    struct wsf_nats_job *next;
    struct wsf_nats *n;
    enum job_kind kind;
    wsf_nats_on_stream on_stream;
    wsf_nats_on_ack on_ack;
    wsf_nats_on_history on_history;
    void *arg;
    /* The request. */
    char subject[WSF_NATS_SUBJ_MAX];
    struct wsf_nats_stream_conf conf;
    void *data;
    size_t len;
    char user[3 * WSF_NATS_MAX_USER + 1]; /* publish: the Wsf-User header, "" for none */
    uint64_t after;
    size_t limit;
    /* The result. */
    int err;
    uint64_t offset;
    char epoch[WSF_NATS_EPOCH_MAX];
    uint64_t first, last;
    natsMsg **msgs;
    size_t count, cap;
};

static void job_free(struct wsf_nats_job *j)
{
    for (size_t i = 0; i < j->count; i++) {
        natsMsg_Destroy(j->msgs[i]);
    }
    free(j->msgs);
    free(j->data);
    free(j);
}

static void set_epoch(struct wsf_nats_job *j, const jsStreamInfo *si)
{
    snprintf(j->epoch, sizeof(j->epoch), "%016" PRIx64, (uint64_t)si->Created);
}

/* The stream as this module needs it: all channel subjects, file storage, direct get for history,
 * every stored publication republished on its live subject. */
static natsStatus put_stream(struct wsf_nats_job *j, bool create, jsStreamInfo **si)
{
    struct wsf_nats *n = j->n;
    const char *subjects[] = {WSF_NATS_SUBJ_STORE ">"};
    jsRePublish rp;
    jsRePublish_Init(&rp);
    rp.Source = WSF_NATS_SUBJ_STORE ">";
    rp.Destination = WSF_NATS_SUBJ_LIVE ">";
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = n->stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.Discard = js_DiscardOld;
    cfg.Replicas = j->conf.replicas > 0 ? j->conf.replicas : 1;
    cfg.MaxMsgsPerSubject = j->conf.max_per_subject;
    cfg.MaxAge = j->conf.max_age_ms * 1000000; /* nanoseconds */
    cfg.AllowDirect = true;
    cfg.RePublish = &rp;
    jsErrCode jerr = 0;
    if (create) {
        return js_AddStream(si, n->js, &cfg, NULL, &jerr);
    }
    return js_UpdateStream(si, n->js, &cfg, NULL, &jerr);
}

/* What of an existing stream this module cannot change: its storage, and its replicas (a
 * change of replication is an operator's decision, not a side effect of a fleet starting). */
static int stream_conflict(const jsStreamInfo *si, const char *stream, int replicas, char *why,
                           size_t len)
{
    int want = replicas > 0 ? replicas : 1;
    if (si == NULL || si->Config == NULL) {
        return 0;
    }
    if (si->Config->Storage != js_FileStorage) {
        snprintf(why, len, "stream %s exists with memory storage, wsfleet needs file storage",
                 stream);
        return -EEXIST;
    }
    if (si->Config->Replicas != want && !(si->Config->Replicas == 0 && want == 1)) {
        snprintf(why, len, "stream %s exists with replicas %ld, [channels] replicas is %d",
                 stream, (long)si->Config->Replicas, want);
        return -EEXIST;
    }
    return 0;
}

int wsf_nats_stream_check(struct wsf_nats *n, int replicas, char *why, size_t len)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    if (why != NULL && len > 0) {
        why[0] = '\0';
    }
    if (n->js == NULL || natsConnection_Status(n->nc) != NATS_CONN_STATUS_CONNECTED) {
        return -ENOTCONN;
    }
    natsStatus s = js_GetStreamInfo(&si, n->js, n->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        return 0;
    }
    int rc = s == NATS_OK ? stream_conflict(si, n->stream, replicas, why, len) : wsf_nats_errno(s);
    jsStreamInfo_Destroy(si);
    return rc;
}

static int run_ensure(struct wsf_nats_job *j)
{
    struct wsf_nats *n = j->n;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = NATS_OK;
    /* Two rounds: another process may create the stream between our look and our create. */
    for (int round = 0; round < 2; round++) {
        s = js_GetStreamInfo(&si, n->js, n->stream, NULL, &jerr);
        bool create = s == NATS_NOT_FOUND;
        if (s != NATS_OK && !create) {
            break;
        }
        char why[160];
        if (!create && stream_conflict(si, n->stream, j->conf.replicas, why, sizeof(why)) != 0) {
            jsStreamInfo_Destroy(si);
            return -EEXIST;
        }
        jsStreamInfo_Destroy(si);
        si = NULL;
        s = put_stream(j, create, &si);
        if (s == NATS_OK || !create) {
            break;
        }
    }
    if (s == NATS_OK) {
        set_epoch(j, si);
    }
    jsStreamInfo_Destroy(si);
    return wsf_nats_errno(s);
}

static int run_delete(struct wsf_nats_job *j)
{
    jsErrCode jerr = 0;
    return wsf_nats_errno(js_DeleteStream(j->n->js, j->n->stream, NULL, &jerr));
}

static int run_publish(struct wsf_nats_job *j)
{
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.ExpectStream = j->n->stream;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus s;
    if (j->user[0] != '\0') {
        natsMsg *m = NULL;
        s = natsMsg_Create(&m, j->subject, NULL, j->data, (int)j->len);
        if (s == NATS_OK) {
            s = natsMsgHeader_Set(m, WSF_NATS_USER_HEADER, j->user);
        }
        if (s == NATS_OK) {
            s = js_PublishMsg(&pa, j->n->js, m, &po, &jerr);
        }
        natsMsg_Destroy(m);
    } else {
        s = js_Publish(&pa, j->n->js, j->subject, j->data, (int)j->len, &po, &jerr);
    }
    if (s == NATS_OK) {
        j->offset = pa->Sequence;
    }
    jsPubAck_Destroy(pa);
    return wsf_nats_errno(s);
}

/* One direct get: the message at or after seq on subject next, or the last on subject last. */
static natsStatus direct_get(natsMsg **out, struct wsf_nats *n, uint64_t seq, const char *next,
                             const char *last)
{
    jsDirectGetMsgOptions o;
    jsDirectGetMsgOptions_Init(&o);
    o.Sequence = seq;
    o.NextBySubject = next;
    o.LastBySubject = last;
    return js_DirectGetMsg(out, n->js, n->stream, NULL, &o);
}

static void keep(struct wsf_nats_job *j, natsMsg *m)
{
    if (j->count == j->cap) {
        j->cap = j->cap == 0 ? 16 : 2 * j->cap;
        j->msgs = wsf_xrealloc(j->msgs, j->cap * sizeof(*j->msgs));
    }
    j->msgs[j->count++] = m;
}

/* Stream info (the epoch), the channel's last then first stored message, then each next one by
 * subject from max(after + 1, first) up to last or limit. */
static int run_history(struct wsf_nats_job *j)
{
    struct wsf_nats *n = j->n;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsMsg *m = NULL;
    natsStatus s = js_GetStreamInfo(&si, n->js, n->stream, NULL, &jerr);
    bool stream_found = s == NATS_OK;
    if (!stream_found) {
        goto out;
    }
    set_epoch(j, si);
    s = direct_get(&m, n, 0, NULL, j->subject);
    if (s != NATS_OK) {
        goto out;
    }
    j->last = wsf_nats_msg_seq(m);
    natsMsg_Destroy(m);
    s = direct_get(&m, n, 1, j->subject, NULL);
    if (s != NATS_OK) {
        goto out;
    }
    j->first = wsf_nats_msg_seq(m);
    uint64_t seq = j->first;
    if (seq > j->after && seq <= j->last) {
        keep(j, m);
    } else {
        natsMsg_Destroy(m);
        seq = j->after;
    }
    while (j->count < j->limit && seq < j->last) {
        s = direct_get(&m, n, seq + 1, j->subject, NULL);
        if (s != NATS_OK) {
            break;
        }
        seq = wsf_nats_msg_seq(m);
        if (seq > j->last || seq == 0) {
            /* Stored after our look at the last one: the next fetch gets it. */
            natsMsg_Destroy(m);
            break;
        }
        keep(j, m);
    }
out:
    jsStreamInfo_Destroy(si);
    if (s == NATS_NOT_FOUND && stream_found) {
        /* The channel holds nothing (or lost it between two requests): an empty history. */
        s = NATS_OK;
    }
    return wsf_nats_errno(s);
}

static void run(struct wsf_nats_job *j)
{
    natsConnection *nc = j->n->nc;
    if (natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED) {
        j->err = -ENOTCONN;
        return;
    }
    switch (j->kind) {
    case JOB_ENSURE:
        j->err = run_ensure(j);
        break;
    case JOB_DELETE:
        j->err = run_delete(j);
        break;
    case JOB_PUBLISH:
        j->err = run_publish(j);
        break;
    case JOB_HISTORY:
        j->err = run_history(j);
        break;
    }
}

static void *helper_main(void *arg)
{
    struct wsf_nats *n = arg;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (n->jobs_head == NULL && !n->stopping) {
            pthread_cond_wait(&n->cv, &n->mu);
        }
        if (n->stopping) {
            break;
        }
        struct wsf_nats_job *j = n->jobs_head;
        n->jobs_head = j->next;
        if (n->jobs_head == NULL) {
            n->jobs_tail = NULL;
        }
        pthread_mutex_unlock(&n->mu);
        run(j);
        struct wsf_nats_item *it = wsf_xcalloc(1, sizeof(*it));
        it->kind = WSF_NATS_IT_JOB;
        it->job = j;
        wsf_nats_push(n, it);
        pthread_mutex_lock(&n->mu);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

int wsf_nats_js_start(struct wsf_nats *n)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = n->timeout_ms;
    int rc = wsf_nats_errno(natsConnection_JetStream(&n->js, n->nc, &jo));
    if (rc != 0) {
        return rc;
    }
    rc = pthread_create(&n->helper, NULL, helper_main, n);
    if (rc != 0) {
        return -rc;
    }
    n->helper_started = true;
    return 0;
}

void wsf_nats_js_stop(struct wsf_nats *n)
{
    pthread_mutex_lock(&n->mu);
    n->stopping = true;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    if (n->helper_started) {
        pthread_join(n->helper, NULL);
        n->helper_started = false;
    }
}

/* The stored time of a message read by direct get: the client library's own when it has one,
 * else the Nats-Time-Stamp header (RFC 3339, UTC, e.g. 2026-12-07T18:54:04.123456789Z). */
static int64_t msg_time_ms(natsMsg *m)
{
    int64_t ns = natsMsg_GetTime(m);
    if (ns > 0) {
        return ns / 1000000;
    }
    const char *v = NULL;
    if (natsMsgHeader_Get(m, "Nats-Time-Stamp", &v) != NATS_OK || v == NULL) {
        return 0;
    }
    struct tm tm = {0};
    int consumed = 0;
    if (sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
        return 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t ms = 0;
    const char *frac = v + consumed;
    if (*frac == '.') {
        int digits = 0;
        for (frac++; *frac >= '0' && *frac <= '9'; frac++) {
            if (digits++ < 3) {
                ms = ms * 10 + (*frac - '0');
            }
        }
        for (; digits < 3; digits++) {
            ms *= 10;
        }
    }
    time_t t = timegm(&tm);
    return t < 0 ? 0 : (int64_t)t * 1000 + ms;
}

void wsf_nats_job_finish(struct wsf_nats_job *j)
{
    switch (j->kind) {
    case JOB_ENSURE:
    case JOB_DELETE:
        j->on_stream(j->err, j->err == 0 ? j->epoch : NULL, j->arg);
        break;
    case JOB_PUBLISH:
        j->on_ack(j->err, j->err == 0 ? j->offset : 0, j->arg);
        break;
    case JOB_HISTORY: {
        struct wsf_nats_pub *pubs = wsf_xcalloc(j->count + 1, sizeof(*pubs));
        char(*users)[WSF_NATS_MAX_USER + 1] = NULL;
        for (size_t i = 0; i < j->count; i++) {
            const char *v = NULL;
            if (natsMsgHeader_Get(j->msgs[i], WSF_NATS_USER_HEADER, &v) == NATS_OK && v != NULL) {
                if (users == NULL) {
                    users = wsf_xcalloc(j->count, sizeof(*users));
                }
                pubs[i].user = wsf_nats_msg_user(j->msgs[i], users[i]);
            }
            pubs[i].offset = wsf_nats_msg_seq(j->msgs[i]);
            pubs[i].data = natsMsg_GetData(j->msgs[i]);
            pubs[i].len = (size_t)natsMsg_GetDataLength(j->msgs[i]);
            pubs[i].time_ms = msg_time_ms(j->msgs[i]);
        }
        struct wsf_nats_history h = {
            .epoch = j->epoch,
            .first = j->first,
            .last = j->last,
            .pubs = pubs,
            .count = j->count,
        };
        j->on_history(j->err, j->err == 0 ? &h : NULL, j->arg);
        free(users);
        free(pubs);
        break;
    }
    }
    job_free(j);
}

void wsf_nats_js_cancel_pending(struct wsf_nats *n)
{
    pthread_mutex_lock(&n->mu);
    struct wsf_nats_job *j = n->jobs_head;
    n->jobs_head = n->jobs_tail = NULL;
    pthread_mutex_unlock(&n->mu);
    while (j != NULL) {
        struct wsf_nats_job *next = j->next;
        j->err = -ECANCELED;
        wsf_nats_job_finish(j);
        j = next;
    }
}

static struct wsf_nats_job *job_new(struct wsf_nats *n, enum job_kind kind, void *arg)
{
    struct wsf_nats_job *j = wsf_xcalloc(1, sizeof(*j));
    j->n = n;
    j->kind = kind;
    j->arg = arg;
    return j;
}

static void submit(struct wsf_nats *n, struct wsf_nats_job *j)
{
    pthread_mutex_lock(&n->mu);
    if (n->jobs_tail == NULL) {
        n->jobs_head = j;
    } else {
        n->jobs_tail->next = j;
    }
    n->jobs_tail = j;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

int wsf_nats_stream_ensure(struct wsf_nats *n, const struct wsf_nats_stream_conf *conf,
                           wsf_nats_on_stream cb, void *arg)
{
    if (conf->max_per_subject < 1 || conf->max_age_ms < 0 ||
        conf->max_age_ms > INT64_MAX / 1000000 || conf->replicas < 0) {
        return -EINVAL;
    }
    struct wsf_nats_job *j = job_new(n, JOB_ENSURE, arg);
    j->on_stream = cb;
    j->conf = *conf;
    submit(n, j);
    return 0;
}

int wsf_nats_stream_delete(struct wsf_nats *n, wsf_nats_on_stream cb, void *arg)
{
    struct wsf_nats_job *j = job_new(n, JOB_DELETE, arg);
    j->on_stream = cb;
    submit(n, j);
    return 0;
}

int wsf_nats_ch_publish(struct wsf_nats *n, const char *name, size_t len, const void *data,
                        size_t dlen, wsf_nats_on_ack cb, void *arg)
{
    return wsf_nats_ch_publish_as(n, name, len, data, dlen, NULL, cb, arg);
}

int wsf_nats_ch_publish_as(struct wsf_nats *n, const char *name, size_t len, const void *data,
                           size_t dlen, const char *user, wsf_nats_on_ack cb, void *arg)
{
    char subject[WSF_NATS_SUBJ_MAX];
    int rc = wsf_nats_subj_from_channel(subject, sizeof(subject), WSF_NATS_SUBJ_STORE, name, len);
    if (rc < 0 || dlen > INT32_MAX) {
        return -EINVAL;
    }
    struct wsf_nats_job *j = job_new(n, JOB_PUBLISH, arg);
    j->on_ack = cb;
    memcpy(j->subject, subject, (size_t)rc + 1);
    j->data = wsf_xmalloc(dlen + 1);
    memcpy(j->data, data, dlen);
    j->len = dlen;
    if (user == NULL || !wsf_nats_user_encode(j->user, user)) {
        j->user[0] = '\0';
    }
    submit(n, j);
    return 0;
}

int wsf_nats_ch_history(struct wsf_nats *n, const char *name, size_t len, uint64_t after,
                        size_t limit, wsf_nats_on_history cb, void *arg)
{
    char subject[WSF_NATS_SUBJ_MAX];
    int rc = wsf_nats_subj_from_channel(subject, sizeof(subject), WSF_NATS_SUBJ_STORE, name, len);
    if (rc < 0 || limit == 0) {
        return -EINVAL;
    }
    struct wsf_nats_job *j = job_new(n, JOB_HISTORY, arg);
    j->on_history = cb;
    memcpy(j->subject, subject, (size_t)rc + 1);
    j->after = after;
    j->limit = limit;
    submit(n, j);
    return 0;
}
