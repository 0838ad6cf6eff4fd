/* Application backends over NATS, worker side (DESIGN "Application backends"; the JSON is in
 * wsf_bkproto.h, the settings in wsf_bkconf.h).
 *
 * Contract:
 *  - Requests (wsf.app.connect, rpc, subscribe, publish) are core NATS requests: published with a
 *    reply subject "_INBOX.<worker's random prefix>.<n>", answered by whichever member of the
 *    application's queue group gets it. One wildcard subscription per worker takes every answer;
 *    nothing blocks the loop. A request is answered exactly once: its reply, a "no responders"
 *    status, or its timeout ([backend] timeout), whichever comes first; a late reply is dropped.
 *  - In flight: at most [backend] max_pending per connection (more: error 106) and
 *    max_pending_worker per worker (more: error 108, a connect closed 1013).
 *  - Outcomes: a result runs the command; an error reply is the client's error (a connect's also
 *    closes: 4401 for 101, 4002 for 109, else 4403); a disconnect reply closes the connection with
 *    its code. Timeout or no responder: rpc, subscribe, publish answer 108; a connect answers 108
 *    and closes 1013. A malformed reply: error 100 (a connect closes 1011), counted.
 *  - Breaker (wk_bkbreaker.h): timeouts, no responders and malformed replies are failures; while
 *    open a request fails at once as on a timeout. Nothing here touches the worker's own error
 *    counters, so wsfleetd's worker breaker never sees a backend's failures.
 *  - Pushes: {"data":D} on wsf.user.<user> reaches every connected session of that user on this
 *    worker (one NATS subscription per user held, made with the first session and dropped with
 *    the last); wsf.client.<client> reaches one session (client ids start with the worker's pid in
 *    hex, so one subscription "wsf.client.<pid>.*" covers exactly the clients this worker holds).
 *  - wsf.app.disconnect {"client","user"} is published when a session whose connect the backend
 *    accepted goes away (connect = yes). */
#ifndef WK_BACKEND_H
#define WK_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "wsf_chproto.h"
#include "wsf_chconf.h"

typedef struct wk_backend wk_backend;
typedef struct wk_chhub wk_chhub;
typedef struct wk_chsess wk_chsess;
typedef struct wk_conn wk_conn;
struct ws_http_request;

/* Cumulative counters of one worker (Report fields 50..59). */
typedef struct wk_bkstats {
    uint64_t requests;  /* sent to a backend */
    uint64_t failures;  /* timeouts, no responders and malformed replies */
    uint64_t timeouts;  /* of which timeouts */
    uint64_t malformed; /* of which malformed replies */
    uint64_t rejected;  /* failed at once: breaker open or max_pending_worker */
    uint64_t pushes;    /* push messages delivered to sessions */
    uint64_t opened;    /* times the backend breaker opened */
    uint32_t state;     /* breaker: 0 closed, 1 open, 2 half open */
    uint32_t pending;   /* requests in flight now */
} wk_bkstats;

/* Starts the backend side of hub h (settings in h->conf.backend): the reply inbox and the client
 * push subscription. Returns 0 and sets *out, or -1 after logging. */
int wk_backend_new(wk_backend **out, wk_chhub *h);

/* Drops every subscription and request (no callback runs afterwards). NULL is a no-op. */
void wk_backend_free(wk_backend *b);

/* The counters, with the breaker's current state. */
void wk_backend_stats(const wk_backend *b, wk_bkstats *out);
/* The same for the channel side h (zeros when it has no backend side). */
void wk_backend_hub_stats(const wk_chhub *h, wk_bkstats *out);

/* A /channels connection was upgraded: keeps its address and selected headers for the connect
 * event when connect = yes. */
void wk_backend_on_open(wk_chsess *s, const struct ws_http_request *req);

/* Whether connect = yes; rpc = yes. */
bool wk_backend_hooks_connect(const wk_backend *b);
bool wk_backend_hooks_rpc(const wk_backend *b);

/* Sends cmd (a connect whose token was accepted) to wsf.app.connect; the session goes on with
 * wk_chsess_connect_go, or is refused. */
void wk_backend_connect(wk_chsess *s, const wsf_ch_cmd *cmd);

/* Sends an rpc; the client gets {"id":N,"rpc":{"data":D}} or an error. */
void wk_backend_rpc(wk_chsess *s, const wsf_ch_cmd *cmd);

/* Asks wsf.app.subscribe for a subscribe to a subscribe = backend namespace (set its settings);
 * allowed: wk_chsess_subscribe_go. */
void wk_backend_subscribe(wk_chsess *s, const wsf_ch_cmd *cmd, const wsf_ch_settings *set);

/* Asks wsf.app.publish for a publish to a publish = backend namespace; allowed:
 * wk_chsess_publish_go with the reply's data, or the client's. */
void wk_backend_publish(wk_chsess *s, const wsf_ch_cmd *cmd);

/* The session's connect succeeded (user in s->claims.sub, maybe ""): pushes reach it now. */
void wk_backend_on_connected(wk_chsess *s);

/* The session goes away: pushes stop, wsf.app.disconnect is sent when the backend accepted its
 * connect, and its requests in flight are answered to nobody. */
void wk_backend_on_close(wk_chsess *s);

#endif
