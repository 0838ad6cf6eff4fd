/* The admin HTTP server's pure parts: the route table, request limits, the query string, the
 * bearer token, CORS, and the heads and JSON error bodies of responses. No I/O: sup_admin.c
 * reads and writes the sockets. */
#ifndef SUP_ADMIN_HTTP_H
#define SUP_ADMIN_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "ws_http.h"

#define SUP_ADMIN_MAX_BODY 65536 /* a POST body; more is 413 */
#define SUP_ADMIN_TOKEN_LEN 64   /* hex characters of RUNDIR/admin.token */
#define SUP_ADMIN_ORIGIN_MAX 256 /* the longest Origin echoed in CORS headers */

enum sup_admin_route {
    SUP_ADMIN_R_NONE = 0,
    SUP_ADMIN_R_INDEX,     /* GET / and the embedded files under it */
    SUP_ADMIN_R_WS,        /* GET /ws: the WebSocket feed */
    SUP_ADMIN_R_STATUS,    /* GET /api/status */
    SUP_ADMIN_R_WORKERS,   /* GET /api/workers */
    SUP_ADMIN_R_BREAKERS,  /* GET /api/breakers */
    SUP_ADMIN_R_EVENTS,    /* GET /api/events?since=ID */
    SUP_ADMIN_R_HISTORY,   /* GET /api/history?slot=N&seconds=S */
    SUP_ADMIN_R_METRICS,   /* GET /metrics */
    SUP_ADMIN_R_HEALTHZ,   /* GET /healthz */
    SUP_ADMIN_R_READYZ,    /* GET /readyz */
    SUP_ADMIN_R_ALERTS,    /* GET /api/alerts */
    SUP_ADMIN_R_CLUSTER,   /* GET /api/cluster: the fleets heard on NATS (wsctl cluster) */
    SUP_ADMIN_R_SCALE,     /* POST /api/scale {"count"} */
    SUP_ADMIN_R_RESTART,   /* POST /api/restart {"slot","rolling"} */
    SUP_ADMIN_R_DRAIN,     /* POST /api/drain {"slot"} */
    SUP_ADMIN_R_BREAKER,   /* POST /api/breaker {"slot","action"} */
    SUP_ADMIN_R_AUTOSCALE, /* POST /api/autoscale {"on","min","max"} */
    SUP_ADMIN_R_PUBLISH,   /* POST /api/publish {"channel","data"} */
    SUP_ADMIN_R_EVENT_ADD, /* POST /api/events {"kind","text"} */
    SUP_ADMIN_R_PREFLIGHT, /* OPTIONS on any known path */
};

/* Finds the route for method and path (the target without its query). Returns 0 with *out set;
 * 404 for an unknown path; 405 for a known path with another method (HEAD counts as GET).
 * Paths other than the API's are SUP_ADMIN_R_INDEX for GET: the caller looks the file up. */
int sup_admin_route_find(enum sup_admin_route *out, ws_str method, ws_str path);

/* True for the routes that change state: they need the bearer token. */
bool sup_admin_route_is_post(enum sup_admin_route r);

/* True if the route needs the bearer token from this peer: every POST; and, from a peer that is
 * not on loopback (an admin listener on another address, which needs TLS), everything but
 * /healthz, /readyz and the dashboard's files. */
bool sup_admin_needs_token(enum sup_admin_route r, bool peer_is_loopback);

/* True if the Host header names the machine itself: an IPv4 or bracketed IPv6 literal, or
 * "localhost", with an optional port. A loopback listener answers nothing else, so that a web
 * page whose DNS name was rebound to 127.0.0.1 cannot read the fleet through the browser. A
 * request without Host (HTTP/1.0) passes; one with two Host headers does not. */
bool sup_admin_host_is_local(const ws_http_request *req);

/* Checks a parsed request head against the server's limits and finds its body's length: 0 with
 * *body_len set (0 without Content-Length); 400 for a malformed or repeated Content-Length or
 * any Transfer-Encoding; 413 for a body over SUP_ADMIN_MAX_BODY; 505 for a version other than
 * HTTP/1.0 or 1.1. */
int sup_admin_request_check(const ws_http_request *req, size_t *body_len);

/* True if the connection stays open after the response: HTTP/1.1 without "Connection: close", or
 * HTTP/1.0 with "Connection: keep-alive". */
bool sup_admin_keep_alive(const ws_http_request *req);

/* Copies the value of query parameter name from target (undecoded; only [A-Za-z0-9_.-] are
 * accepted) into out. Returns 1 when found, 0 when absent, -1 when malformed or too long. */
int sup_admin_query(const ws_str *target, const char *name, char *out, size_t cap);

/* True if the request carries "Authorization: Bearer <token>" with exactly this token (compared
 * in constant time). token NULL or empty: false. */
bool sup_admin_token_ok(const ws_http_request *req, const char *token);

/* The Origin header when it is in the allowlist (wsf_origin syntax; an empty list allows none),
 * else an empty string. */
ws_str sup_admin_cors_origin(const ws_http_request *req, const char *allowlist);

/* Writes {"error":{"code":STATUS,"message":"..."}} with message JSON-escaped. Returns its
 * length, or 0 if cap is too small. */
size_t sup_admin_error_json(char *out, size_t cap, int status, const char *message);

/* Writes a response head: status line, Content-Type, Content-Length, Cache-Control: no-store,
 * X-Content-Type-Options: nosniff, Connection (keep-alive or close), the CORS headers when
 * cors_origin is not empty, and extra (whole header lines, CRLF-terminated, or NULL), then the
 * empty line. Returns its length, or 0 if cap is too small. */
size_t sup_admin_head(char *out, size_t cap, int status, const char *content_type,
                      size_t content_length, bool keep_alive, ws_str cors_origin,
                      const char *extra);

#endif
