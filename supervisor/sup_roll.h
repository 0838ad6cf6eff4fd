/* Rolling restart and scaling: fleet-level operations on slots. A rolling restart replaces one
 * worker at a time (the next victim stops taking connections first) and moves on when its own
 * slot's replacement is up, or failed, or the slot left the fleet; slots without a worker of the
 * old settings are skipped. Autoscaling pauses while a roll runs. */
#ifndef SUP_ROLL_H
#define SUP_ROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sup_upgrade_state.h"

typedef struct sup_ctx sup_ctx;
typedef struct sup_slot sup_slot;

typedef struct sup_roll {
    bool active;
    unsigned cur;     /* the slot being replaced */
    uint64_t since;   /* workers spawned after this spawn number run the new settings */
    uint64_t cur_seq; /* cur's spawn number when it was drained: a higher one is its replacement */
    bool binary_only; /* replace only workers spawned from another file than bin (upgrade) */
    sup_binid bin;
} sup_roll;

/* Starts a rolling restart of the fleet's slots. Returns -1 if one is already running. */
int sup_rolling_restart(sup_ctx *ctx);

/* The workers' settings changed: starts a rolling restart, or makes the running one replace
 * every worker spawned so far, including those it already replaced. */
void sup_roll_renew(sup_ctx *ctx);

/* Called by the slot executor whenever a slot changed state or became ready: moves the roll on
 * when that slot is the one it waits for and it is done with. */
void sup_roll_on_slot(sup_ctx *ctx, sup_slot *slot);

/* After a live upgrade: a rolling restart of the workers spawned from another wsworker file than
 * cur (the one at the worker path now). Does nothing while a roll runs (it replaces them all). */
void sup_roll_binary(sup_ctx *ctx, const sup_binid *cur);

/* Ends a roll (the fleet stops). */
void sup_roll_cancel(sup_ctx *ctx);

/* Sets the desired worker count, spawning the lowest free slots or draining the highest wanted
 * ones. Returns 0, or -1 with err set when desired is outside workers.min..workers.max. */
int sup_scale(sup_ctx *ctx, unsigned desired, char *err, size_t errcap);

/* Takes one wanted slot out of the fleet (drained, not restarted). */
void sup_scale_down_slot(sup_ctx *ctx, sup_slot *slot);

/* The first wanted slot at or after index from, or -1. */
int sup_next_wanted(const sup_ctx *ctx, unsigned from);

#endif
