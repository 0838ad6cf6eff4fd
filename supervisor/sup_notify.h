/* systemd readiness protocol for wsfleetd (Type=notify): READY, RELOADING, STOPPING, STATUS and
 * watchdog pings through libsystemd's sd_notify. The only module that talks to systemd; without
 * NOTIFY_SOCKET in the environment every call is a no-op.
 *
 * When READY=1 goes out: once every desired worker has said Hello, or at the latest ready_bound ms
 * after start (wsfleetd passes hang_timeout, the time after which it stops waiting for a worker
 * anyway), so a worker that cannot boot leaves the fleet up and degraded (STATUS says how many
 * run) instead of failing the start job. After a reload, READY=1 follows as soon as the new
 * settings are applied; a rolling restart it started carries on behind it, visible in STATUS.
 *
 * The decisions are a pure step (sup_notify_step) over a fake-able clock; sup_notify_tick gathers
 * the fleet's numbers from the context and sends what the step produced. */
#ifndef SUP_NOTIFY_H
#define SUP_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUP_NOTIFY_STATUS_MAX 128
#define SUP_NOTIFY_MSG_MAX 256
#define SUP_NOTIFY_STATUS_EVERY_MS 1000 /* STATUS= at most this often */

typedef struct sup_notify {
    bool enabled;                       /* NOTIFY_SOCKET was set at init */
    uint64_t watchdog_ms;               /* ping period: half of WATCHDOG_USEC; 0 = no watchdog */
    uint64_t watchdog_at_ms;            /* last WATCHDOG=1 */
    bool ready_sent;                    /* the first READY=1 went out */
    uint64_t ready_by_ms;               /* READY=1 at the latest at this time */
    uint64_t status_at_ms;              /* last STATUS= */
    bool status_sent;                   /* a STATUS= went out */
    char status[SUP_NOTIFY_STATUS_MAX]; /* the last STATUS= text */
} sup_notify;

/* What STATUS= reports and READY=1 waits for. */
typedef struct sup_notify_fleet {
    unsigned running;     /* wanted slots whose worker said Hello */
    unsigned desired;     /* the fleet's desired size */
    uint64_t connections; /* open connections over all workers' last Reports */
    bool stopping;
} sup_notify_fleet;

/* Sets n up at time now (monotonic ms). notify_socket is $NOTIFY_SOCKET (NULL or empty: off);
 * watchdog_usec is what sd_watchdog_enabled reported (0: no watchdog); ready_bound_ms is the
 * longest wait for the desired workers' Hellos before READY=1. Pure. */
void sup_notify_init(sup_notify *n, const char *notify_socket, uint64_t watchdog_usec,
                     uint64_t ready_bound_ms, uint64_t now);

/* Decides what to send at time now: READY=1 (first time: every desired worker running, or the
 * bound passed; after a reload: at once), STATUS=<line> (when it changed, and at most once per
 * SUP_NOTIFY_STATUS_EVERY_MS, except that it always goes with READY=1), WATCHDOG=1 (every
 * watchdog_ms). Writes them newline-separated into out[cap] (empty when nothing is due) and
 * updates n as if they were sent. Returns the length written. Pure. */
size_t sup_notify_step(char *out, size_t cap, sup_notify *n, const sup_notify_fleet *f,
                       uint64_t now);

/* The STATUS= text for f, e.g. "2/4 workers running, 120 connections". Pure. */
void sup_notify_status_line(char *out, size_t cap, const sup_notify_fleet *f);

/* The hooks wsfleetd calls, each sending at once what is due (the state lives in ctx->notify).
 * sup_notify_start reads NOTIFY_SOCKET and sd_watchdog_enabled() and bounds the wait for READY=1
 * by the configured hang_timeout; sup_notify_tick runs sup_notify_step on the supervisor's tick;
 * a reload sends RELOADING=1 (with MONOTONIC_USEC) at its start and READY=1 with STATUS= at its
 * end, whether it applied or was refused (both only once the first READY=1 went out: before it,
 * systemd is still waiting for the start); a stop sends STOPPING=1 with STATUS=. */
struct sup_ctx;
void sup_notify_start(struct sup_ctx *ctx, uint64_t now);
void sup_notify_tick(struct sup_ctx *ctx, uint64_t now);
void sup_notify_reloading(struct sup_ctx *ctx);
void sup_notify_reloaded(struct sup_ctx *ctx);
void sup_notify_stopping(struct sup_ctx *ctx);

#endif
