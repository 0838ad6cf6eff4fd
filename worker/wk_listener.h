/* Listening sockets: address parsing, binding, and accepting into connections. */
#ifndef WK_LISTENER_H
#define WK_LISTENER_H

#include <event2/event_struct.h>
#include <stdbool.h>

typedef struct wk_ctx wk_ctx;

typedef struct wk_listener {
    struct event ev;
    wk_ctx *ctx;
    int fd;
    bool tls;      /* connections handshake TLS first (set by the owner after opening) */
    char name[64]; /* bound address as HOST:PORT, [V6HOST]:PORT */
} wk_listener;

/* Binds and listens on spec ("HOST:PORT" or "[V6HOST]:PORT"; port 0 picks a free port) and
 * records the bound address in l->name. Returns 0, or -1 after logging why. */
int wk_listener_open(wk_listener *l, wk_ctx *ctx, const char *spec);

/* Serves an inherited listening socket (fleet mode): made non-blocking and close-on-exec, its
 * address recorded in l->name. Returns 0, or -1 after logging why. */
int wk_listener_adopt(wk_listener *l, wk_ctx *ctx, int fd);

/* Starts or stops accepting (the socket stays open). */
void wk_listener_enable(wk_listener *l, int on);

/* Stops accepting and closes the socket. */
void wk_listener_close(wk_listener *l);

#endif
