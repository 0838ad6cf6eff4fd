/* A token bucket in integer arithmetic: the per-connection message rate limit ([worker]
 * msg_rate/msg_burst). Pure: the caller passes the time, so tests use a fake clock. */
#ifndef WSF_BUCKET_H
#define WSF_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/* Tokens are counted in thousandths, so a rate of r per second refills r thousandths per
 * millisecond exactly. 16 bytes per connection. */
typedef struct wsf_bucket {
    uint64_t last_ms; /* time of the last refill */
    uint64_t milli;   /* tokens × 1000 */
} wsf_bucket;

/* Starts full (burst tokens) at now_ms. */
void wsf_bucket_init(wsf_bucket *b, uint32_t burst, uint64_t now_ms);

/* Refills for the time since the last call (at rate tokens per second, up to burst) and takes
 * one token. Returns true if there was one, false if the caller is over the rate. rate 0: no
 * limit, always true. A clock that goes backwards refills nothing. */
bool wsf_bucket_take(wsf_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms);

#endif
