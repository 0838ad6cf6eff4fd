/* Application backends over NATS: the JSON a worker sends (events on wsf.app.*) and the replies
 * and pushes it accepts from applications. Pure: bytes in, structs out; no I/O, no clock. jansson
 * parses replies; events are written by hand into a wsf_buf.
 *
 * Events (subjects in WSF_BK_SUBJ_*; strings escaped, data copied as the client sent it, compact):
 *   connect     {"client":C,"ip":IP,"headers":{NAME:VALUE,...},"token":T,"data":D,"user":U}
 *               token, data and user only when present (user: a token's sub)
 *   rpc         {"client":C,"user":U,"method":M,"data":D}              (data only when present)
 *   subscribe   {"client":C,"user":U,"channel":CH}
 *   publish     {"client":C,"user":U,"channel":CH,"data":D}
 *   disconnect  {"client":C,"user":U}                                  (a notification)
 * user is "" for an anonymous client.
 *
 * Replies: one JSON object holding exactly one of
 *   {"result":{...}}                                the request is granted or answered
 *   {"error":{"code":N,"message":"..."}}            refused: passed to the client as its error
 *   {"disconnect":{"code":N,"reason":"..."}}        connect only: the connection is closed
 * Result fields: connect "user" (string), "channels" (array of channel names), "data" (any);
 * rpc "data" (any); publish "data" (replaces what is published); subscribe none. Other keys are
 * ignored. Anything else (not JSON, not an object, none or several of the three, a field of the
 * wrong type, a bad channel name, an error code outside 1..2^31-1, a close code outside 1000 and
 * 3000..4999) is malformed: the worker answers error 100 and counts it.
 *
 * Pushes: {"data":D} on wsf.user.<user> or wsf.client.<client>. */
#ifndef WSF_BKPROTO_H
#define WSF_BKPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_buf.h"
#include "wsf_chproto.h"

#define WSF_BK_SUBJ_CONNECT "wsf.app.connect"
#define WSF_BK_SUBJ_RPC "wsf.app.rpc"
#define WSF_BK_SUBJ_SUBSCRIBE "wsf.app.subscribe"
#define WSF_BK_SUBJ_PUBLISH "wsf.app.publish"
#define WSF_BK_SUBJ_DISCONNECT "wsf.app.disconnect"
#define WSF_BK_SUBJ_USER "wsf.user."
#define WSF_BK_SUBJ_CLIENT "wsf.client."

#define WSF_BK_MAX_USER 255   /* bytes of a user a backend gives */
#define WSF_BK_MAX_REASON 123 /* bytes of a close reason (RFC 6455: 125 with the code) */
#define WSF_BK_MAX_MESSAGE 1024

enum wsf_bk_kind {
    WSF_BK_CONNECT,
    WSF_BK_RPC,
    WSF_BK_SUBSCRIBE,
    WSF_BK_PUBLISH,
};
#define WSF_BK_NKINDS 4

/* Subject for kind. */
const char *wsf_bk_subject(enum wsf_bk_kind kind);

/* One request header for the connect event (name lower case; value any bytes: bytes that are not
 * valid UTF-8 are written as U+FFFD). */
typedef struct wsf_bk_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} wsf_bk_header;

/* The fields of an event; NULL strings and data are left out (client and user are always
 * written, user NULL as ""). */
typedef struct wsf_bk_event {
    const char *client;
    const char *user;
    const char *ip;               /* connect */
    const wsf_bk_header *headers; /* connect */
    size_t nheaders;
    const char *token;   /* connect */
    const char *method;  /* rpc */
    const char *channel; /* subscribe, publish */
    const char *data;    /* compact JSON of data_len bytes */
    size_t data_len;
} wsf_bk_event;

/* Appends the event for kind (see above) to out. */
void wsf_bk_enc_event(wsf_buf *out, enum wsf_bk_kind kind, const wsf_bk_event *ev);

/* Appends {"client":C,"user":U} (the disconnect notification). */
void wsf_bk_enc_disconnect(wsf_buf *out, const char *client, const char *user);

enum wsf_bk_outcome {
    WSF_BK_RESULT,
    WSF_BK_ERROR,
    WSF_BK_DISCONNECT,
};

/* A parsed reply. Strings and data point into store (NUL-terminated; data compact JSON of
 * data_len bytes, NULL when absent); valid until wsf_bk_reply_fini. */
typedef struct wsf_bk_reply {
    enum wsf_bk_outcome outcome;
    const char *user; /* connect result, NULL when absent */
    const char **channels;
    size_t nchannels;
    const char *data;
    size_t data_len;
    int code;            /* error: the error code; disconnect: the close code */
    const char *message; /* error message or close reason; "" when absent */
    wsf_ch_pool pool;
} wsf_bk_reply;

void wsf_bk_reply_fini(wsf_bk_reply *r);

/* Parses the reply to a request of kind. Returns 0 with *out filled (fini it), or -1 when
 * malformed (nothing to fini). */
int wsf_bk_reply_parse(wsf_bk_reply *out, enum wsf_bk_kind kind, const char *buf, size_t len);
/* The same read by jansson alone: what wsf_bk_reply_parse's faster reading of a plain result
 * (wsf_jscan) is checked against in tests. */
int wsf_bk_reply_parse_jansson(wsf_bk_reply *out, enum wsf_bk_kind kind, const char *buf,
                               size_t len);

/* Parses a push, {"data":D}: appends D's compact encoding to data. Returns 0, or -1 (data
 * unchanged) when buf is not an object with "data". */
int wsf_bk_push_parse(wsf_buf *data, const char *buf, size_t len);
/* The same read by jansson alone (for tests, as above). */
int wsf_bk_push_parse_jansson(wsf_buf *data, const char *buf, size_t len);

/* Whether s (len bytes) can be one part of a subject, wsf.user.<s>: non-empty, printable ASCII
 * without spaces, '*', '>' and without an empty token ('.' at either end or twice in a row). */
bool wsf_bk_subject_ok(const char *s, size_t len);

#endif
