/* Adoption: a wsfleetd started on a run dir whose supervisor died carries on with that
 * supervisor's live workers. The supervisor records its fleet in RUNDIR/fleet.state (pure
 * format: sup_adopt_state.h) on every slot change; a successor, holding the run dir's lock (so
 * the writer is dead), judges each recorded pid by its /proc environment, takes the listening
 * sockets back from an orphan over RUNDIR/adopt (common/wsf_adopt.h: every worker holds every
 * group member, so the groups and their order survive), watches the adopted pids with pidfds
 * (they are not its children: an exit is a crash of unknown status) and, when the worker
 * settings changed, rolls them once they report. Also the entry point for anything else that
 * takes over a fleet whose workers already exist (a re-executed supervisor). */
#ifndef SUP_ADOPT_H
#define SUP_ADOPT_H

#include <stdbool.h>

typedef struct sup_ctx sup_ctx;
typedef struct sup_slot sup_slot;

/* Opens RUNDIR/adopt and adopts what RUNDIR/fleet.state names, waiting up to
 * SUP_ADOPT_WAIT_MS for an orphan to hand over the listeners. Call with the endpoints bound
 * and the parent pipe made, before the slots are wanted. Returns 1 when workers were adopted
 * (ctx->listens, ctx->nslots and the adopted slots are set: do not open sockets), 0 when there
 * is nothing to adopt (open the sockets as usual), or -1 after logging why. */
int sup_adopt_start(sup_ctx *ctx);

/* After an in-place upgrade the workers are still this process's children: nothing to adopt,
 * but the fleet is recorded in RUNDIR/fleet.state and RUNDIR/adopt is served as after any start,
 * so a later crash of this image leaves adoptable orphans. Call once the slots are restored.
 * Returns 0, or -1 after logging why. */
int sup_adopt_track(sup_ctx *ctx);

/* After every slot event: records the fleet in RUNDIR/fleet.state when the slot changed, lets
 * go of an adoptee that is gone, and starts the pending rolling restart once no slot waits
 * for its adoptee's first Report. */
void sup_adopt_on_slot(sup_ctx *ctx, sup_slot *slot);

/* Workers adopted by this supervisor (for status). */
unsigned sup_adopt_count(const sup_ctx *ctx);

/* Frees the adoption state; with clean (the fleet stopped, no worker left) the state file goes
 * too. */
void sup_adopt_fini(sup_ctx *ctx, bool clean);

#endif
