/* A small, fast pseudo-random generator (xorshift64*) for jitter and fault probabilities, where
 * spreading values matters and unpredictability does not. */
#ifndef WSF_RAND_H
#define WSF_RAND_H

#include <stdint.h>

/* Advances *state (never 0) and returns a uniform value in [0, 1). */
static inline double wsf_rand_unit(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) / (double)(1ull << 53);
}

#endif
