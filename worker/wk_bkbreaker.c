/* The backend breaker's state machine. */
#include "wk_bkbreaker.h"

void wk_bkb_init(wk_bkbreaker *b, uint32_t failures, uint32_t window_ms, uint32_t open_ms)
{
    *b = (wk_bkbreaker){
        .failures = failures ? failures : 1, .window_ms = window_ms, .open_ms = open_ms};
}

static void wk_bkb_open(wk_bkbreaker *b, uint64_t now_ms)
{
    b->state = WK_BKB_OPEN;
    b->opened_ms = now_ms;
    b->probe_out = false;
    b->count = 0;
    b->opened++;
}

bool wk_bkb_allow(wk_bkbreaker *b, uint64_t now_ms)
{
    switch (b->state) {
    case WK_BKB_CLOSED:
        return true;
    case WK_BKB_OPEN:
        if (now_ms - b->opened_ms < b->open_ms)
            return false;
        b->state = WK_BKB_HALF_OPEN;
        b->probe_out = true;
        return true;
    default:
        if (b->probe_out)
            return false;
        b->probe_out = true;
        return true;
    }
}

void wk_bkb_on_result(wk_bkbreaker *b, bool ok, uint64_t now_ms)
{
    switch (b->state) {
    case WK_BKB_CLOSED:
        if (ok)
            return;
        if (b->count == 0 || now_ms - b->window_start_ms >= b->window_ms) {
            b->window_start_ms = now_ms;
            b->count = 0;
        }
        if (++b->count >= b->failures)
            wk_bkb_open(b, now_ms);
        return;
    case WK_BKB_OPEN:
        return;
    default:
        if (ok) {
            b->state = WK_BKB_CLOSED;
            b->count = 0;
            b->probe_out = false;
        } else {
            wk_bkb_open(b, now_ms);
        }
        return;
    }
}

const char *wk_bkb_state_name(enum wk_bkb_state s)
{
    return s == WK_BKB_OPEN ? "open" : s == WK_BKB_HALF_OPEN ? "half_open" : "closed";
}
