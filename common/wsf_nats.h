/* The NATS connection of one libevent loop: connect with reconnect forever, connection events,
 * core subscribe and publish; wsf_nats_js.h adds the JetStream channel store on the same
 * connection (stream, publish with offset, history). Every callback runs on the loop thread.
 *
 * Threads: libnats calls back on its own threads. Those callbacks only append to a mutex-protected
 * queue and, when it was empty, write one wakeup to an eventfd the loop watches; the loop drains
 * the queue and calls the user's callbacks. Blocking JetStream requests run on one helper thread
 * of the module, whose results come back through the same queue, so the loop never waits on the
 * broker. Connection state (the subscriptions, is_connected) is touched by the loop thread only.
 */
#ifndef WSF_NATS_H
#define WSF_NATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct wsf_nats;
struct wsf_nats_sub;

#define WSF_NATS_STREAM_DEFAULT "WSF"
/* Most URLs in wsf_nats_opts.url. */
#define WSF_NATS_MAX_URLS 16
/* Longest publisher user a channel publication carries (its Wsf-User header), in bytes. */
#define WSF_NATS_MAX_USER 255

struct wsf_nats_opts {
    const char *url;       /* required: "nats://host:port", up to WSF_NATS_MAX_URLS separated by
                              ',' (tried in random order) */
    const char *token;     /* NULL when the server wants none or the URL carries it */
    const char *name;      /* connection name the server shows; NULL for none */
    const char *stream;    /* the channels' stream; NULL = WSF_NATS_STREAM_DEFAULT */
    int reconnect_wait_ms; /* between reconnect attempts, which never stop; 0 = 250 */
    int timeout_ms;        /* one connect attempt, and each JetStream request; 0 = 2000 */
    int ping_interval_ms;  /* a broker that answers no ping for two intervals (hung, not just
                              gone) counts as disconnected; 0 = 5000 */
    const char *credentials; /* NULL, or a file: a .creds (user JWT and seed) or a user nkey
                                seed (its public key is derived from it) */
    const char *tls_ca;      /* NULL, or the CA bundle (PEM) the servers' certificates must chain
                                to; setting it requires TLS */
    const char *tls_cert;    /* NULL, or a client certificate chain (PEM), with tls_key */
    const char *tls_key;
    /* The connection's reads and writes run on the loop thread (libnats' event-loop mode: no
     * reader or flusher thread, a non-blocking socket; a write is tried on the loop's next turn
     * and waits for writability only when the socket is full); needs wsf_nats_loop_init before
     * the loop's event_base is created. Subscriptions made with wsf_nats_sub_new_on_loop are
     * delivered from the loop's read itself; the others still come through libnats' delivery
     * threads and the queue. Ignored with TLS (tls_ca, tls_cert or a tls:// URL), whose reads may
     * wait on the loop for the rest of a record. */
    bool loop_io;
};

/* Makes libevent thread-safe (libnats arms the loop's socket events from its own threads when
 * reconnecting or pinging): call once before creating an event_base for a loop_io connection.
 * 0 or -ENOMEM. */
int wsf_nats_loop_init(void);

enum wsf_nats_event {
    WSF_NATS_EV_CONNECTED,    /* first connection (also when it came only after retries) */
    WSF_NATS_EV_DISCONNECTED, /* lost; libnats keeps retrying, JetStream calls fail with -ENOTCONN
                               */
    WSF_NATS_EV_RECONNECTED,  /* back; subscriptions were renewed; what was published meanwhile
                                 must be fetched from history */
    WSF_NATS_EV_CLOSED,       /* for good (only wsf_nats_free closes it) */
    WSF_NATS_EV_ERROR,        /* asynchronous error (err), e.g. -ENOBUFS: a slow consumer dropped
                                 messages, so live delivery has a gap */
};

/* ev happened; err is 0 except for WSF_NATS_EV_ERROR. */
typedef void (*wsf_nats_on_event)(enum wsf_nats_event ev, int err, void *arg);

/* Connects to opts->url (strings are copied) for the loop base. A server that cannot be reached
 * now is not an error: libnats keeps trying every reconnect_wait_ms and a CONNECTED event follows
 * when it answers. While disconnected, core publishes are buffered by libnats (up to 8 MiB) and
 * sent on reconnect; JetStream calls are refused with -ENOTCONN instead (their callers answer
 * "not available"). The first connect attempt runs here and may take up to timeout_ms.
 * Returns 0 and sets *out, or -EINVAL (bad URL or options), -ENOMEM, -EIO. */
int wsf_nats_new(struct wsf_nats **out, struct event_base *base, const struct wsf_nats_opts *opts,
                 wsf_nats_on_event on_event, void *arg);

/* Closes the connection, waits for libnats' threads to let go of it, stops the helper thread, then
 * calls each JetStream callback still owed (with its result, or -ECANCELED when it never ran) and
 * frees everything, subscriptions included. Never call it from one of this module's callbacks.
 * NULL is a no-op. */
void wsf_nats_free(struct wsf_nats *n);

/* Releases libnats' process-wide state (waits for its threads); call after the last
 * wsf_nats_free of the process, when leak checkers run. */
void wsf_nats_library_fini(void);

/* Connected as far as the loop has been told (the last event was CONNECTED or RECONNECTED). */
bool wsf_nats_is_connected(const struct wsf_nats *n);

/* A message as the loop sees it; valid during the callback only. */
struct wsf_nats_msg {
    const char *subject;
    const char *reply; /* where a request wants its answer (wsf_nats_publish to it), or NULL */
    const char *data;
    size_t len;
    uint64_t offset;      /* stream sequence (Nats-Sequence header of a republished channel
                             publication), 0 on a plain core message */
    uint64_t prev_offset; /* the channel's previous offset (Nats-Last-Sequence: per subject), 0
                             for its first publication or a plain message. A live subscriber
                             that last delivered offset L and sees prev_offset != L missed
                             publications (an outage, a slow consumer): fetch history after L. */
    const char *user;     /* who published a channel publication (wsf_nats_ch_publish_as), or
                             NULL */
    bool no_responders;   /* the server's answer to a request that no subscriber could take.
                             From a subscription made with wsf_nats_sub_new_on_loop it comes
                             with subject NULL and no data: libnats keeps the subject to itself
                             there, so it says only that one request to this inbox had none. */
};

typedef void (*wsf_nats_on_msg)(const struct wsf_nats_msg *m, void *arg);

/* Subscribes to subject (core NATS; wildcards allowed), delivering each message to cb on the loop.
 * Works while disconnected (sent on connect). Returns 0 and sets *out, -EINVAL for a bad subject,
 * -EIO. */
int wsf_nats_sub_new(struct wsf_nats_sub **out, struct wsf_nats *n, const char *subject,
                     wsf_nats_on_msg cb, void *arg);

/* The same for a subscription with steady traffic: with loop_io,
 * its messages are delivered straight from the loop's read of the connection, without libnats'
 * delivery thread and the queue's wakeup; without loop_io it is wsf_nats_sub_new. Every such
 * subscription is looked at after each read, so keep them few. Messages of one subscription
 * arrive in order, and after everything queued before the read that brought them. As a
 * request's reply inbox, a "no responders" answer may arrive without its subject (see
 * wsf_nats_msg.no_responders): give each kind of request its own inbox. */
int wsf_nats_sub_new_on_loop(struct wsf_nats_sub **out, struct wsf_nats *n, const char *subject,
                             wsf_nats_on_msg cb, void *arg);

/* Subscribes to channel name[0..len)'s live feed, "wsf.live.<channel>": every publication the
 * stream stores, in offset order, with m->offset set. Same returns, -EINVAL for a bad name. */
int wsf_nats_ch_sub_new(struct wsf_nats_sub **out, struct wsf_nats *n, const char *name, size_t len,
                        wsf_nats_on_msg cb, void *arg);

/* Unsubscribes; cb is never called again for s, even for messages already queued. May be called
 * from s's own callback. NULL is a no-op. */
void wsf_nats_sub_free(struct wsf_nats_sub *s);

/* Publishes data (core NATS, no acknowledgement). Returns 0, -EINVAL, -ENOBUFS (reconnect buffer
 * full), -ENOTCONN (closed), -EIO. */
int wsf_nats_publish(struct wsf_nats *n, const char *subject, const void *data, size_t len);

/* Publishes data with a reply subject, for a scatter/gather: every responder answers on reply
 * (subscribe to it first). Same returns as wsf_nats_publish. */
int wsf_nats_publish_request(struct wsf_nats *n, const char *subject, const char *reply,
                             const void *data, size_t len);

#endif
