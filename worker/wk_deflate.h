/* permessage-deflate in the worker: negotiation at the upgrade, inflating received messages
 * and compressing sent ones. Without context takeover the z_streams come from a per-worker pool
 * and are reset after every message, so an idle connection holds no zlib memory; with it, a
 * connection owns its streams from its first compressed message on. */
#ifndef WK_DEFLATE_H
#define WK_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_http.h"
#include "wsf_buf.h"

typedef struct wk_conn wk_conn;
typedef struct wk_ctx wk_ctx;

/* The streams a connection keeps between messages (context takeover only). */
typedef struct wk_zconn wk_zconn;
/* The worker's shared streams and scratch buffers. */
typedef struct wk_zpool wk_zpool;

/* At the upgrade of c: when deflate is on and one of the request's Sec-WebSocket-Extensions
 * offers is acceptable, records the parameters in c->rare->pmd and inserts the response's header line
 * into the 101 response resp[0..n) (before its final empty line). Returns the new length of
 * resp (n when nothing was negotiated or cap is too small). */
size_t wk_deflate_accept(wk_conn *c, const ws_http_request *req, char *resp, size_t n, size_t cap);

/* Inflates a whole compressed message of c (RFC 7692 §7.2.2) bounded by max_message, and
 * checks a text message's UTF-8. Returns 0 with *out and *out_len the inflated message (valid until
 * the next call on this worker); or a negative close code (-1009 too big, -1007 bad DEFLATE data
 * or UTF-8) with *why a reason for the close frame. */
int wk_deflate_inflate(wk_conn *c, int opcode, const uint8_t *in, size_t len, const uint8_t **out,
                       size_t *out_len, const char **why);

/* Compresses a message for c when deflate was negotiated and len reaches deflate_min_size.
 * Returns the payload to send with RSV1 set (valid until the next call on this worker), or NULL
 * to send the message as it is. */
const wsf_buf *wk_deflate_compress(wk_conn *c, const uint8_t *data, size_t len);

/* Frees c's own streams (wk_conn_free). */
void wk_deflate_conn_free(wk_conn *c);

/* Frees the worker's pool (wk_ctx_fini). */
void wk_deflate_pool_free(wk_ctx *ctx);

#endif
