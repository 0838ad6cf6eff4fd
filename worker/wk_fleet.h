/* The worker's link to its supervisor: Hello, periodic Reports, Commands and their Acks over
 * ZeroMQ, and the parent pipe whose end of file means the supervisor is gone. */
#ifndef WK_FLEET_H
#define WK_FLEET_H

typedef struct wk_ctx wk_ctx;
typedef struct wk_fleet wk_fleet;

/* Connects to ctx->cfg.supervisor (if set), sends Hello and starts Reports; watches
 * ctx->cfg.parent_fd (if set). Returns 0 with *out set, or -1 after logging why. */
int wk_fleet_new(wk_fleet **out, wk_ctx *ctx);

/* Stops everything wk_fleet_new started; NULL is a no-op. */
void wk_fleet_free(wk_fleet *fleet);

#endif
