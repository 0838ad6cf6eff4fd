/* A drill on the local cluster ([drill] cluster = 3): scripts/cluster starts three NATS nodes and
 * three fleets (a, b, c) in the drill's directory, the clients spread over the fleets with
 * failover, and the timeline kills NATS nodes (kill-nats-node, started again after a pause with
 * `scripts/cluster nats-start N`) and whole fleets (kill-host). Internal to wschaos. */
#ifndef CHAOS_CLUSTER_H
#define CHAOS_CLUSTER_H

#include "chaos_load.h"
#include "chaos_run.h"

/* Runs `scripts/cluster up` with its state in the drill's directory and reads the endpoints.
 * Returns 0, or -1 after reporting the error. */
int chaos_cluster_up(chaos_run *run);

/* Sets lo's targets to the three fleets, a first. */
void chaos_cluster_targets(const chaos_run *run, chaos_load_opts *lo);

/* The timeline's kill-nats-node and kill-host. */
void chaos_cluster_kill_node(chaos_run *run, const chaos_action *a);
void chaos_cluster_kill_host(chaos_run *run, const chaos_action *a);

/* Waits for the restarts in flight, runs `scripts/cluster down` (every process by the PID in its
 * pid file) and frees the cluster's state. No-op without a cluster. */
void chaos_cluster_down(chaos_run *run);

#endif
