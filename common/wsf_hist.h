/* A log-linear histogram of non-negative integer samples (latencies, durations): 16 linear
 * sub-buckets per power of two, so any quantile it reports is within 1/16 (6.25 %) above the true
 * sample, with exact minimum, maximum, count and sum. Fixed size, no allocation, mergeable. */
#ifndef WSF_HIST_H
#define WSF_HIST_H

#include <stdint.h>

#define WSF_HIST_SUB 16                       /* sub-buckets per power of two */
#define WSF_HIST_SLOTS (WSF_HIST_SUB * 61)     /* values 0-15 exact, then 16 per power of two */

typedef struct wsf_hist {
    uint64_t count;
    uint64_t sum;
    uint64_t min; /* UINT64_MAX when empty */
    uint64_t max;
    uint64_t slot[WSF_HIST_SLOTS];
} wsf_hist;

void wsf_hist_init(wsf_hist *h);
void wsf_hist_add(wsf_hist *h, uint64_t value);
void wsf_hist_merge(wsf_hist *into, const wsf_hist *from);

/* The value at quantile q in [0, 1]: the upper bound of the bucket holding it, clamped to
 * [min, max]. 0 when empty. q = 0.5 is the median, 0.99 p99, 0.999 p999. */
uint64_t wsf_hist_quantile(const wsf_hist *h, double q);

/* Mean of the samples, 0 when empty. */
double wsf_hist_mean(const wsf_hist *h);

#endif
