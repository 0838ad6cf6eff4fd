/* Log-linear histogram: values below 16 have a slot each; above, each power of two [2^e, 2^(e+1))
 * is split into 16 equal slots, so a slot's width is at most 1/16 of any value in it. */
#include "wsf_hist.h"

#include <string.h>

/* The slot holding value. */
static unsigned wsf_hist_slot(uint64_t value)
{
    if (value < WSF_HIST_SUB) {
        return (unsigned)value;
    }
    unsigned e = 63u - (unsigned)__builtin_clzll(value); /* 4..63 */
    unsigned sub = (unsigned)(value >> (e - 4)) & (WSF_HIST_SUB - 1);
    return WSF_HIST_SUB + (e - 4) * WSF_HIST_SUB + sub;
}

/* The largest value the slot holds. */
static uint64_t wsf_hist_slot_max(unsigned slot)
{
    if (slot < WSF_HIST_SUB) {
        return slot;
    }
    unsigned e = (slot - WSF_HIST_SUB) / WSF_HIST_SUB + 4;
    uint64_t sub = (slot - WSF_HIST_SUB) % WSF_HIST_SUB;
    uint64_t width = UINT64_C(1) << (e - 4);
    return (WSF_HIST_SUB + sub) * width + (width - 1);
}

void wsf_hist_init(wsf_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void wsf_hist_add(wsf_hist *h, uint64_t value)
{
    h->slot[wsf_hist_slot(value)]++;
    h->count++;
    /* The sum saturates rather than wrapping, so a mean of huge values stays an upper bound. */
    h->sum = value > UINT64_MAX - h->sum ? UINT64_MAX : h->sum + value;
    if (value < h->min) {
        h->min = value;
    }
    if (value > h->max) {
        h->max = value;
    }
}

void wsf_hist_merge(wsf_hist *into, const wsf_hist *from)
{
    if (from->count == 0) {
        return;
    }
    for (unsigned i = 0; i < WSF_HIST_SLOTS; i++) {
        into->slot[i] += from->slot[i];
    }
    into->count += from->count;
    into->sum = from->sum > UINT64_MAX - into->sum ? UINT64_MAX : into->sum + from->sum;
    if (from->min < into->min) {
        into->min = from->min;
    }
    if (from->max > into->max) {
        into->max = from->max;
    }
}

uint64_t wsf_hist_quantile(const wsf_hist *h, double q)
{
    if (h->count == 0) {
        return 0;
    }
    if (!(q > 0.0)) {
        return h->min;
    }
    if (q >= 1.0) {
        return h->max;
    }
    /* The rank-th smallest sample, rank = ceil(q * count), at least 1. */
    double r = q * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r) {
        rank++;
    }
    if (rank == 0) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (unsigned i = 0; i < WSF_HIST_SLOTS; i++) {
        seen += h->slot[i];
        if (seen >= rank) {
            uint64_t v = wsf_hist_slot_max(i);
            if (v > h->max) {
                v = h->max;
            }
            if (v < h->min) {
                v = h->min;
            }
            return v;
        }
    }
    return h->max;
}

double wsf_hist_mean(const wsf_hist *h)
{
    return h->count == 0 ? 0.0 : (double)h->sum / (double)h->count;
}
