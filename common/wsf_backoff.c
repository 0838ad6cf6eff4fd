/* Full-jitter reconnection backoff. */
#include "wsf_backoff.h"

void wsf_backoff_policy_init(wsf_backoff_policy *p)
{
    p->min_ms = 500;
    p->max_ms = 20000;
    p->stable_ms = 10000;
}

void wsf_backoff_init(wsf_backoff *b)
{
    b->attempt = 0;
}

uint32_t wsf_backoff_next(wsf_backoff *b, const wsf_backoff_policy *p, double rnd)
{
    uint64_t window = p->min_ms;
    for (uint32_t i = 0; i <= b->attempt && window < p->max_ms; i++)
        window *= 2;
    if (window > p->max_ms)
        window = p->max_ms;
    if (window < p->min_ms)
        window = p->min_ms;
    if (!(rnd >= 0.0))
        rnd = 0.0;
    if (rnd >= 1.0)
        rnd = 0.999999999;
    if (b->attempt < UINT32_MAX)
        b->attempt++;
    return p->min_ms + (uint32_t)(rnd * (double)(window - p->min_ms));
}

void wsf_backoff_on_up(wsf_backoff *b, const wsf_backoff_policy *p, uint64_t up_ms)
{
    if (up_ms >= p->stable_ms)
        b->attempt = 0;
}

bool wsf_backoff_should_reconnect(unsigned close_code)
{
    switch (close_code) {
    case 1001: /* going away: a drain or a shutdown */
    case 1005: /* no status */
    case 1006: /* abnormal: the connection dropped */
    case 1011: /* internal error on the server */
    case 1012: /* service restart: rebalancing */
    case 1013: /* try again later */
        return true;
    default:
        return false;
    }
}
