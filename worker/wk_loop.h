/* The worker's main loop around its connections' epoll set (wk_loop.c). */
#ifndef WK_LOOP_H
#define WK_LOOP_H

typedef struct wk_ctx wk_ctx;
struct event_base;

/* Creates the worker's libevent base. *lev_fd is set to libevent's own epoll descriptor when it
 * can be found (the epoll backend, without a changelist), -1 otherwise; it stays libevent's. */
struct event_base *wk_loop_base_new(int *lev_fd);

/* After wk_conns_init: puts libevent's descriptor (ctx->lev_fd) and a timerfd for libevent's
 * timers into the connections' set, so that wk_loop_run waits on the set. Returns 0, or -1 when
 * libevent is to run the loop instead (ctx->lev_fd is then -1). */
int wk_loop_attach(wk_ctx *ctx);

/* Closes what wk_loop_attach made. */
void wk_loop_detach(wk_ctx *ctx);

/* Runs until wk_loop_quit. Returns 0, or -1 after logging why the loop failed. */
int wk_loop_run(wk_ctx *ctx);

/* Makes wk_loop_run return once the current callback is done. */
void wk_loop_quit(wk_ctx *ctx);

#endif
