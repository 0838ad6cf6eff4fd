/* Built-in services, chosen by the request path. */
#ifndef WK_SERVICE_H
#define WK_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_http.h"

typedef struct wk_conn wk_conn;

typedef struct wk_service {
    const char *path;
    /* A whole message arrived; data is valid only during the call. */
    void (*on_message)(wk_conn *c, int opcode, const uint8_t *data, size_t len);
} wk_service;

/* The service for a request path, or NULL (404). */
const wk_service *wk_service_find(ws_str path);

#endif
