/* A drill's [rpc] section: clients (0 .. 100000), quick_clients, rate (rpc per second per
 * client, above 0, at most 1000). Pure: the drill parser hands each key here. */
#ifndef CHAOS_DRILL_RPC_H
#define CHAOS_DRILL_RPC_H

#include <stddef.h>

#include "chaos_drill.h"

/* Sets [rpc] name = value in d. Returns 0, or -1 with why. */
int chaos_rpc_key(chaos_drill *d, const char *name, const char *value, char *why, size_t why_len);

#endif
