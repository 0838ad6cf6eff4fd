/* The fleets sharing one NATS cluster: each wsfleetd publishes its status on
 * wsf.fleet.<name>.status every second and keeps what it hears on wsf.fleet.*.status for
 * wsctl cluster (the fleets heard in the last 10 s). Runs on wsfleetd's own NATS connection
 * (sup_channels). */
#ifndef SUP_CLUSTER_H
#define SUP_CLUSTER_H

#include <stdint.h>

#include "wsf_msg.h"

struct sup_ctx;
struct wsf_nats;
typedef struct sup_cluster sup_cluster;

#define SUP_CLUSTER_PUBLISH_MS 1000
#define SUP_CLUSTER_SEEN_MS 10000 /* a fleet not heard for this long is left out */
#define SUP_CLUSTER_MAX_FLEETS 256

sup_cluster *sup_cluster_new(void);
void sup_cluster_free(sup_cluster *c);

/* Subscribes to wsf.fleet.*.status on n (again after sup_cluster_unsubscribe). Returns 0 or a
 * negative errno (logged). */
int sup_cluster_subscribe(sup_cluster *c, struct wsf_nats *n);

/* Before n is freed. */
void sup_cluster_unsubscribe(sup_cluster *c);

/* Publishes the fleet's status on n once SUP_CLUSTER_PUBLISH_MS passed since the last time. */
void sup_cluster_tick(sup_cluster *c, const struct sup_ctx *ctx, struct wsf_nats *n,
                      uint64_t now);

/* Answers wsctl cluster: res->body {"fleets":[...]} sorted by name. */
void sup_cluster_answer(sup_cluster *c, uint64_t now, wsf_ctl_response *res);

#endif
