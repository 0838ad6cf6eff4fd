/* The application backend's breaker of one worker: a pure state machine (no clock reads, no I/O).
 *
 *  - closed: every request goes. A failure (timeout, no responder, malformed reply) counts in a
 *    window that starts at the first failure and lasts window_ms; the failures-th failure in one
 *    window opens the breaker. A success changes nothing (the window runs out by itself).
 *  - open: requests fail at once (rpc 108, connect 1013) until open_ms after opening; the next
 *    request then goes as the probe (half_open).
 *  - half_open: only the probe is in flight, other requests fail at once. A success (of the probe
 *    or of any request still out) closes the breaker; a failure opens it again for open_ms.
 *    Results of requests sent before opening change nothing while open.
 * Separate from the worker's own breaker in wsfleetd: backend failures are never worker errors. */
#ifndef WK_BKBREAKER_H
#define WK_BKBREAKER_H

#include <stdbool.h>
#include <stdint.h>

enum wk_bkb_state {
    WK_BKB_CLOSED,
    WK_BKB_OPEN,
    WK_BKB_HALF_OPEN,
};

typedef struct wk_bkbreaker {
    enum wk_bkb_state state;
    uint32_t failures, window_ms, open_ms; /* settings */
    uint32_t count;                        /* failures in the current window */
    uint64_t window_start_ms;
    uint64_t opened_ms;
    bool probe_out;
    uint64_t opened; /* times opened, cumulative */
} wk_bkbreaker;

void wk_bkb_init(wk_bkbreaker *b, uint32_t failures, uint32_t window_ms, uint32_t open_ms);

/* Whether a request may go at now_ms (a true in half_open means it is the probe). */
bool wk_bkb_allow(wk_bkbreaker *b, uint64_t now_ms);

/* A request's outcome: ok false for a failure. */
void wk_bkb_on_result(wk_bkbreaker *b, bool ok, uint64_t now_ms);

/* "closed", "open" or "half_open". */
const char *wk_bkb_state_name(enum wk_bkb_state s);

#endif
