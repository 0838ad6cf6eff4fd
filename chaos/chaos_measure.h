/* A drill's metrics from its clients and the fleet's last view, into the run's report. */
#ifndef CHAOS_MEASURE_H
#define CHAOS_MEASURE_H

#include "chaos_run.h"

/* Fills run->r's client and fleet metrics: faults and disconnects and whom they hit, reconnect
 * and echo latency quantiles and the reconnect curves' peak share, echo traffic since the
 * baseline, and (once the fleet was seen) restarts, breakers, workers and memory, the slow and
 * garbage clients' results and the wsctl errors. */
void chaos_measure(chaos_run *run);

#endif
