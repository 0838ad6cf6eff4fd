/* JetStream on a wsf_nats connection: the channels' stream, publishing to a channel with its
 * offset, and a channel's history. Blocking requests run on the connection's helper thread, one
 * at a time in submission order; each callback runs once, on the loop thread.
 *
 * Channels (subjects per wsf_nats_subj.h): one stream per deployment (default "WSF") stores
 * "wsf.ch.>" in files, with replicas 1 (sidecar) or more (cluster), at most max_per_subject
 * publications per channel and none older than max_age. A channel's offset is the stream sequence
 * of its publication, so per channel offsets increase strictly but are not contiguous (other
 * channels take the numbers in between). The epoch is the stream's creation time: deleting and
 * re-creating the stream starts a new epoch with sequences from 1 again. The stream republishes
 * each stored publication on "wsf.live.<channel>" with its sequence in the Nats-Sequence header,
 * which is how a live subscriber learns offsets without a consumer per channel.
 *
 * Per-namespace limits: a stream has one per-subject limit, so the stream is configured with the
 * largest history_size and history_ttl over all namespaces; a channel of a namespace with a smaller
 * window must be cut to its own limits by the caller (ignore, and answer recovered:false for,
 * anything beyond its own history_size last publications or older than its history_ttl). A
 * history_size of 0 everywhere still needs max_per_subject 1 (JetStream reads 0 as no limit).
 *
 * Feeding wsf_chsync: hist.epoch = wsf_chsync_epoch_id(h->epoch), hist.last = h->last,
 * hist.lost_to = h->first ? h->first - 1 : 0 (direct get does not return a stored message's
 * previous offset, so the safe bound); a live message's prev = m->prev_offset, which the server
 * computes per subject on republish, so it is exact even for applications publishing straight
 * into NATS. The stream republishes before it acknowledges: a publisher's own live copy can reach
 * the loop before its ack. */
#ifndef WSF_NATS_JS_H
#define WSF_NATS_JS_H

#include <stddef.h>
#include <stdint.h>

#include "wsf_nats.h"

/* An epoch string: 16 lowercase hex digits and a NUL. */
#define WSF_NATS_EPOCH_MAX 17

/* The channels' stream limits (see the top of this file for the per-namespace choice). */
struct wsf_nats_stream_conf {
    int64_t max_per_subject; /* publications kept per channel, >= 1 */
    int64_t max_age_ms;      /* publications older than this are dropped; 0 = no age limit */
    int replicas;            /* 0 = 1 */
};

/* err is 0 and epoch set on success. */
typedef void (*wsf_nats_on_stream)(int err, const char *epoch, void *arg);

/* Creates the stream, or updates an existing one to conf (limits, subjects, republish, direct get
 * are made what this module needs). An existing stream with another storage or other replicas is
 * left alone: -EEXIST (wsf_nats_stream_check says why). The callback gets the epoch. Errors
 * through the callback: -ENOTCONN, -ETIMEDOUT, -EHOSTUNREACH (JetStream not enabled on the
 * server), -EEXIST, -EIO. Returns 0, or -EINVAL for a bad conf (no callback then). */
int wsf_nats_stream_ensure(struct wsf_nats *n, const struct wsf_nats_stream_conf *conf,
                           wsf_nats_on_stream cb, void *arg);

/* Looks at the stream now, on the calling thread (a fleet starting, before its loop runs): 0 when
 * it is absent or matches replicas (0 = 1) and file storage; -EEXIST with one line in why when
 * it exists with settings wsf_nats_stream_ensure would not change; -ENOTCONN when not connected,
 * or another negative errno (then nothing is known). */
int wsf_nats_stream_check(struct wsf_nats *n, int replicas, char *why, size_t len);

/* Deletes the stream and all history (operators and tests); cb gets -ENOENT when there was none,
 * epoch NULL. Returns 0. */
int wsf_nats_stream_delete(struct wsf_nats *n, wsf_nats_on_stream cb, void *arg);

/* err is 0 and offset set once the stream acknowledged the publication. */
typedef void (*wsf_nats_on_ack)(int err, uint64_t offset, void *arg);

/* Publishes data (copied) to channel name[0..len) through JetStream. Errors through cb:
 * -ENOTCONN, -ETIMEDOUT (the publication may still have been stored), -EHOSTUNREACH (no stream
 * holds the subject), -EIO. Returns 0, or -EINVAL for a bad name (no callback then). */
int wsf_nats_ch_publish(struct wsf_nats *n, const char *name, size_t len, const void *data,
                        size_t dlen, wsf_nats_on_ack cb, void *arg);

/* The same, naming the user who publishes (up to WSF_NATS_MAX_USER bytes; NULL, "" or a longer
 * one: none), which subscribers get with the publication (wsf_nats_msg.user, wsf_nats_pub.user). */
int wsf_nats_ch_publish_as(struct wsf_nats *n, const char *name, size_t len, const void *data,
                           size_t dlen, const char *user, wsf_nats_on_ack cb, void *arg);

struct wsf_nats_pub {
    uint64_t offset;
    const char *data;
    size_t len;
    const char *user; /* who published it (wsf_nats_ch_publish_as), or NULL */
    int64_t time_ms;  /* when the stream stored it, Unix ms (its Nats-Time-Stamp); 0 unknown */
};

/* What a channel's history holds now; valid during the callback only. */
struct wsf_nats_history {
    const char *epoch;
    uint64_t first; /* oldest offset still stored, 0 when none is */
    uint64_t last;  /* newest offset, 0 when none is stored */
    const struct wsf_nats_pub *pubs;
    size_t count; /* pubs[0..count): offsets > after, increasing, at most limit of them */
};

/* Errors are negative in err, with h NULL. */
typedef void (*wsf_nats_on_history)(int err, const struct wsf_nats_history *h, void *arg);

/* Fetches channel name[0..len)'s publications with offset > after, oldest first, at most limit,
 * with the channel's first and last stored offsets and the epoch. Trimming is oldest first, so a
 * subscriber at offset N (same epoch) can be given everything after N exactly when
 * 0 < first <= N + 1 (no offset of the channel lies between N and first), or when N >= last > 0;
 * when nothing is stored (first == 0) the history cannot tell whether publications after N
 * expired. When the last pub returned is below last, more follow: fetch again from there. Costs
 * 3 + count requests on the helper thread (stream info, last, first, the rest by direct get).
 * Errors through cb: -ENOTCONN, -ETIMEDOUT, -ENOENT (no stream), -EIO. Returns 0, or -EINVAL for
 * a bad name or limit 0 (no callback then). */
int wsf_nats_ch_history(struct wsf_nats *n, const char *name, size_t len, uint64_t after,
                        size_t limit, wsf_nats_on_history cb, void *arg);

#endif
