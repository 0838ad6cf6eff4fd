/* Built-in services, chosen by the request path. */
#ifndef WK_SERVICE_H
#define WK_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_http.h"

typedef struct wk_conn wk_conn;
typedef struct wk_ctx wk_ctx;

typedef struct wk_service {
    const char *path;
    /* A whole message arrived; data is valid only during the call. */
    void (*on_message)(wk_conn *c, int opcode, const uint8_t *data, size_t len);
    /* The connection was upgraded; req is valid during the call only (may be NULL). */
    void (*on_open)(wk_conn *c, const ws_http_request *req);
    /* The connection is going away (may be NULL); frees c->rare->svc_state. */
    void (*on_close)(wk_conn *c);
    const char *subprotocol;    /* selected when the client offers it; NULL for none */
    unsigned backlog_code;      /* close code past max_backlog; 0 = 1008 */
    const char *backlog_reason; /* its reason */
} wk_service;

/* The service for a request path, or NULL (404). /channels exists only with channels on. */
const wk_service *wk_service_find(const wk_ctx *ctx, ws_str path);

#endif
