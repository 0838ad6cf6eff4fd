/* wsctl cluster: the table of the fleets a wsfleetd heard on wsf.fleet.*.status. */
#ifndef CTL_CLUSTER_H
#define CTL_CLUSTER_H

#include <jansson.h>
#include <stdio.h>

/* Prints doc ({"fleets":[{name, state, workers, connections, msgs_in_per_s, errors_per_s, pid,
 * version, age_s}]}) as a table, one fleet a line. Returns 0, or -EPROTO when doc has no
 * "fleets" array. */
int ctl_cluster_human(FILE *out, json_t *doc);

#endif
