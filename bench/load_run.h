/* wsload's runner: opens the connections, drives the chosen mode, measures a window, closes
 * everything, and prints one machine-readable result line on stdout. */
#ifndef LOAD_RUN_H
#define LOAD_RUN_H

#include "load_opts.h"

/* Runs the mode in opts to the end (duration, message count, or SIGTERM/SIGINT).
 * Returns 0 when the run saw no error, 1 when it counted errors, -1 when it could not run. */
int load_run(const load_opts *opts);

#endif
