/* Runs one drill: starts its fleet, brings up the client load, plays the timeline of faults while
 * watching the fleet through wsctl, waits for the clients to come back, stops everything it
 * started (by PID) and fills in the report. */
#ifndef CHAOS_RUNNER_H
#define CHAOS_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "chaos_drill.h"
#include "chaos_report.h"

typedef struct chaos_run_opts {
    const char *fleetd_path;    /* wsfleetd */
    const char *wsctl_path;     /* wsctl */
    const char *cluster_script; /* scripts/cluster, for [drill] cluster; NULL = none */
    bool quick;                 /* the drill's quick timeline and client count */
    bool keep;                  /* keep the drill directory (configuration, fleet log) */
    bool quiet;                 /* no progress lines on stderr */
    uint64_t seed;              /* random choices (targets, client jitter); 0 = from the clock */
    const char *admin_url;      /* a dashboard for the progress (http://HOST:PORT), or NULL */
    const char *admin_token;    /* its bearer token */
} chaos_run_opts;

/* Runs d and judges r (initialised here). Returns 0 when every objective held, 1 otherwise
 * (including a drill that could not run, with r->error saying why). */
int chaos_run_drill(const chaos_drill *d, const chaos_run_opts *opts, chaos_report *r);

#endif
