/* The channel side of wsworker (route /channels, subprotocol wsfleet.v1): the NATS connection,
 * the worker's channel table, live fan-out, resume from history and the admin responders.
 *
 * Contract:
 *  - The handshake selects wsfleet.v1 when the client offers it; a client that offers none, or
 *    only others, is served without a Sec-WebSocket-Protocol (RFC 6455 lets such a client fail
 *    the connection itself; one that goes on speaks wsfleet.v1 or is closed 1008 for abuse).
 *  - Tokens (wk_auth): connect's "token" makes `sub` the user (bad: 101 and close 4401; expired:
 *    109 and close 4002; none with --auth-required yes: 4401). subscribe = user needs a user,
 *    subscribe = token the channel in the token's `channels` (else 103), backend answers 103;
 *    history follows the same rule. refresh with a valid token for the same sub moves the
 *    expiry (close 4002 at it). Without [auth] keys a token is ignored (anonymous).
 *  - Application backends (wk_backend.h): connect (with [backend] connect = yes), rpc, and
 *    subscribe/publish in namespaces whose rule is backend ask the application over NATS.
 *  - One NATS connection per worker (wsf_nats on the worker's loop). Channels are on when a NATS
 *    URL is given; without one wk_channels_new is not called and /channels answers 404.
 *  - Channel table: channel -> its subscribers on this worker, and exactly one live NATS
 *    subscription (wsf.live.<channel>) per channel, made with the first subscriber and dropped
 *    with the last.
 *  - Fan-out: a live publication is encoded once ({"push":...}) and its bytes are appended to the
 *    pending text of every subscriber's connection; a connection's pending objects (replies and
 *    pushes) leave as one text frame, joined by '\n', from a zero-timeout event that runs once the
 *    loop has handled what is ready: deliveries within one loop iteration share a frame.
 *  - Resume: every subscription runs a wsf_chsync; subscribe/connect with `since` fetch history
 *    while live publications are held, then replay and drain with no duplicate and no gap; a gap
 *    seen in the live feed (prev offset) or a NATS reconnect fetches the missing range.
 *  - NATS down: channel commands answer 108; subscribers stay; on reconnect every subscription is
 *    brought up to date from history. Channel errors never touch the worker's Report counters.
 *  - Slow subscribers: a /channels connection whose unsent output passes max_backlog is closed
 *    with 4001 ("lagging, resume").
 *  - Presence across workers (namespaces with presence = yes): the asking worker subscribes to a
 *    subject of its own, "wsf.presence.r.<pid>.<n>", publishes {"channel":C,"reply":SUBJ} on
 *    "wsf.presence.q", and every worker (itself included) publishes
 *    {"clients":[[ID,USER],...]} to SUBJ; the answer merges what arrives within
 *    WK_PRESENCE_WINDOW_MS.
 *  - Admin: "wsf.admin.channels" requests are answered by every worker with
 *    {"pid":N,"slot":S,"channels":{"NAME":SUBSCRIBERS,...}} (slot -1 standalone). */
#ifndef WK_CHANNELS_H
#define WK_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct wk_ctx wk_ctx;
typedef struct wk_conn wk_conn;
typedef struct wk_chhub wk_chhub;

#define WK_PRESENCE_WINDOW_MS 300
#define WK_CH_LAGGING 4001

/* Starts the channel side for ctx (reads --nats-url-file and --channels-config, connects to
 * NATS, which need not be up yet). Returns 0 and sets *out, or -1 after logging why. */
int wk_channels_new(wk_chhub **out, wk_ctx *ctx);

/* Closes every NATS subscription and the connection. NULL is a no-op. Connections must be gone. */
void wk_channels_free(wk_chhub *h);

/* The /channels service: a whole message arrived on c (wk_service on_message). */
void wk_channels_on_message(wk_conn *c, int opcode, const uint8_t *data, size_t len);

/* c was upgraded to /channels with request req (valid during the call only). */
struct ws_http_request;
void wk_channels_on_open(wk_conn *c, const struct ws_http_request *req);

/* c is going away: its session and subscriptions are dropped (wk_service on_close). */
void wk_channels_on_close(wk_conn *c);

#endif
