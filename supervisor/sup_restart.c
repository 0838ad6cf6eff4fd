/* Restart policy of a worker slot: backoff, jitter, crash loops and "cannot boot". */
#include "sup_restart.h"

#include <string.h>

void sup_restart_policy_init(sup_restart_policy *p)
{
    p->base_delay_ms = 100;
    p->max_delay_ms = 15000;
    p->jitter = 0.2;
    p->reset_after_ms = 30000;
    p->unstable_ms = 1000;
    p->fail_count = 5;
    p->fail_window_ms = 30000;
    p->cannot_boot_code = SUP_RESTART_EXIT_CANNOT_BOOT;
}

void sup_restart_init(sup_restart *st)
{
    memset(st, 0, sizeof *st);
}

static uint64_t sup_uptime(uint64_t now_ms, uint64_t started_ms)
{
    return now_ms > started_ms ? now_ms - started_ms : 0;
}

/* Remembers an exit time, dropping the oldest when the ring is full. */
static void sup_restart_remember(sup_restart *st, unsigned cap, uint64_t now_ms)
{
    if (st->nrecent == cap) {
        st->head = (st->head + 1) % cap;
        st->nrecent--;
    }
    st->recent[(st->head + st->nrecent) % cap] = now_ms;
    st->nrecent++;
}

/* True when the ring holds cap exits and the oldest is inside the window. */
static bool sup_restart_looping(const sup_restart *st, unsigned cap, uint64_t window_ms,
                                uint64_t now_ms)
{
    if (st->nrecent < cap)
        return false;
    return now_ms - st->recent[st->head] < window_ms;
}

/* base * 2^(n-1), capped, without overflowing. */
static uint64_t sup_restart_backoff(const sup_restart_policy *p, unsigned n)
{
    uint64_t d = p->base_delay_ms;
    for (unsigned i = 1; i < n && d < p->max_delay_ms; i++)
        d *= 2;
    return d < p->max_delay_ms ? d : p->max_delay_ms;
}

static uint64_t sup_restart_jitter(const sup_restart_policy *p, uint64_t delay_ms, double rnd)
{
    if (!(rnd >= 0.0)) /* also NaN */
        rnd = 0.0;
    if (rnd >= 1.0)
        rnd = 0.999999;
    double factor = 1.0 + p->jitter * (2.0 * rnd - 1.0);
    if (factor < 0.0)
        factor = 0.0;
    return (uint64_t)((double)delay_ms * factor);
}

bool sup_restart_on_uptime(sup_restart *st, const sup_restart_policy *p, uint64_t now_ms,
                           uint64_t started_ms)
{
    if (sup_uptime(now_ms, started_ms) < p->reset_after_ms)
        return false;
    bool changed = st->streak != 0 || st->failed || st->nrecent != 0;
    st->streak = 0;
    st->failed = false;
    st->nrecent = 0;
    st->head = 0;
    return changed;
}

sup_restart_decision sup_restart_on_exit(sup_restart *st, const sup_restart_policy *p,
                                         uint64_t now_ms, uint64_t started_ms, int exit_code,
                                         double rnd)
{
    sup_restart_decision d = {0};
    unsigned cap = p->fail_count;
    if (cap == 0)
        cap = 1;
    if (cap > SUP_RESTART_MAX_FAIL_COUNT)
        cap = SUP_RESTART_MAX_FAIL_COUNT;

    if (st->ring != cap) {
        st->ring = cap;
        st->nrecent = 0;
        st->head = 0;
    }
    sup_restart_on_uptime(st, p, now_ms, started_ms);
    bool was_failed = st->failed;

    d.unstable = sup_uptime(now_ms, started_ms) < p->unstable_ms;
    d.cannot_boot = exit_code >= 0 && exit_code == p->cannot_boot_code;
    st->streak++;
    st->restarts++;
    sup_restart_remember(st, cap, now_ms);
    if (d.cannot_boot || sup_restart_looping(st, cap, p->fail_window_ms, now_ms))
        st->failed = true;

    uint64_t base = st->failed ? p->max_delay_ms : sup_restart_backoff(p, st->streak);
    d.delay_ms = sup_restart_jitter(p, base, rnd);
    d.failed = st->failed;
    d.newly_failed = st->failed && !was_failed;
    d.streak = st->streak;
    return d;
}
