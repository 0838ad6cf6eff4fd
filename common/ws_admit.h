/* HTTP admission of a WebSocket opening handshake, before ws_http_validate_upgrade: whether the
 * first bytes can be HTTP at all, requests that carry a body, unknown paths, plain HTTP on a
 * WebSocket route; and the error responses a refusal is answered with. Pure: no I/O. */
#ifndef WS_ADMIT_H
#define WS_ADMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ws_http.h"

/* Checks the first bytes of a request (buf[0..len), however few have arrived) against the start
 * of an HTTP request line: a method of uppercase letters (RFC 9110 methods are case-sensitive
 * tokens; every registered one is uppercase) up to the first space. Returns 0 while they can
 * still begin a request, 400 as soon as they cannot (a TLS ClientHello starts with 0x16, binary
 * noise with anything): the connection is answered at once instead of after the handshake
 * timeout. */
int ws_admit_prefix(const uint8_t *buf, size_t len);

/* Admission of a parsed request, before the WebSocket validation. route_known: the path names a
 * WebSocket service. Returns 0 to go on, or the status to answer with: 400 for a request with
 * Transfer-Encoding or a Content-Length other than 0 (an upgrade carries no body, and accepting
 * one invites request smuggling), 404 for an unknown path, 426 for a known route asked without
 * "Upgrade: websocket" (plain HTTP). */
int ws_admit_request(const ws_http_request *req, bool route_known);

/* Options of an error response. */
typedef struct ws_admit_reply {
    unsigned retry_after; /* Retry-After of 429 and 503, seconds */
    const char *server;   /* Server header value; NULL or "" for none */
    const char *text;     /* body text; NULL: the reason phrase */
} ws_admit_reply;

/* Writes a complete error response for status with "Connection: close", a short text/plain body
 * with its Content-Length, "Upgrade: websocket" and "Sec-WebSocket-Version: 13" for 426,
 * "Allow: GET" for 405 and Retry-After for 429 and 503. Returns its length, or 0 if cap is too
 * small. */
size_t ws_admit_error(char *out, size_t cap, int status, const ws_admit_reply *opt);

/* The reason phrase for a status: ws_http_reason's, plus 429 "Too Many Requests". */
const char *ws_admit_reason(int status);

/* Inserts "Server: <server>" before the final empty line of a head of len bytes in out (cap
 * bytes). Returns the new length, or len unchanged when server is NULL or empty or it does not
 * fit. */
size_t ws_admit_add_server(char *out, size_t cap, size_t len, const char *server);

#endif
