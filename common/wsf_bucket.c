/* Token bucket. The refill is computed lazily on take, from the elapsed time, so an idle
 * connection costs no work; elapsed time is capped before multiplying, so no product
 * overflows. */
#include "wsf_bucket.h"

void wsf_bucket_init(wsf_bucket *b, uint32_t burst, uint64_t now_ms)
{
    b->last_ms = now_ms;
    b->milli = (uint64_t)burst * 1000;
}

bool wsf_bucket_take(wsf_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
    if (rate == 0)
        return true;
    uint64_t cap = (uint64_t)burst * 1000;
    if (now_ms > b->last_ms) {
        uint64_t elapsed = now_ms - b->last_ms;
        /* Past the time a full refill takes, more elapsed time changes nothing. */
        uint64_t full = cap / rate + 1;
        if (elapsed > full)
            elapsed = full;
        b->milli += elapsed * rate;
        if (b->milli > cap)
            b->milli = cap;
        b->last_ms = now_ms;
    }
    if (b->milli < 1000)
        return false;
    b->milli -= 1000;
    return true;
}
