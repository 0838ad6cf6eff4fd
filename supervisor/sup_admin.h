/* The admin HTTP server on wsfleetd's event loop ([admin] listen): JSON API, Prometheus metrics,
 * health checks, the dashboard's files and its WebSocket feed, over plain HTTP on loopback or
 * TLS. Requests are parsed by ws_http, WebSocket frames by ws_parser and ws_writer. */
#ifndef SUP_ADMIN_H
#define SUP_ADMIN_H

#include <stdint.h>

#include "wsf_msg.h"

typedef struct sup_ctx sup_ctx;

#define SUP_ADMIN_MAX_CONNS 64  /* connections at once; more are closed at accept */
#define SUP_ADMIN_IDLE_MS 15000 /* a connection that sends or takes no byte this long closes */
#define SUP_ADMIN_TOKEN_FILE "admin.token"

/* Sets up the events ring and the history (always), then, unless [admin] listen is off, writes
 * RUNDIR/admin.token (0600, 32 random bytes in hex) and listens. Returns 0; SUP_SOCKETS_TAKEN
 * when the address is in use (logged: wsfleetd exits 2); -1 on another error (logged). */
int sup_admin_start(sup_ctx *ctx);

/* Once per tick: records the history every second and sends the /ws clients their snapshot. */
void sup_admin_tick(sup_ctx *ctx, uint64_t now);

/* Closes the listener and every connection; frees the history. */
void sup_admin_stop(sup_ctx *ctx);

/* Appends an event to the fleet's ring and pushes it to the /ws clients. kind is a short
 * lowercase word (restart, exit, breaker, scale, drain, sidecar, alert, drill ...), slot -1 for
 * the fleet, the text printf-style. Safe to call at any time after sup_ctx_init began. */
__attribute__((format(printf, 4, 5))) void sup_events_add(sup_ctx *ctx, const char *kind, int slot,
                                                          const char *fmt, ...);

/* The dashboard's URL ("http://127.0.0.1:8001/"; a wildcard listener gives the host's name), or
 * "" while the admin server is off. */
const char *sup_admin_url(const sup_ctx *ctx);

/* Subscribes the events ring to alert transitions (kind "alert") and gives the webhooks the
 * dashboard's URL as generatorURL. Called once alerting has started. */
void sup_admin_alerts_start(sup_ctx *ctx);

/* The deferred wsctl answer (a publish) that the admin server asked for has come. */
void sup_admin_ctl_answer(sup_ctx *ctx, const wsf_ctl_response *res);

#endif
