/* /metrics: the fleet in the Prometheus text exposition format (version 0.0.4). Every family has
 * HELP and TYPE lines; counters end in _total; per-slot series carry slot="N". */
#ifndef SUP_METRICS_H
#define SUP_METRICS_H

#include <stddef.h>

typedef struct sup_ctx sup_ctx;

/* Renders the metrics into a malloc'd, NUL-terminated buffer (*out, length *len); the caller
 * frees it. Returns 0, or -1 when memory runs out. */
int sup_metrics_render(char **out, size_t *len, sup_ctx *ctx);

#endif
