/* Live upgrade (wsctl upgrade): wsfleetd re-executes itself from the path it was started from,
 * in place (same pid), handing its state over to the new image (sup_upgrade_state.h) in a memfd
 * named by SUP_UPGRADE_ENV. Listeners, the run dir lock and the workers' parent pipe survive the
 * exec (close-on-exec cleared for it), the workers stay its children and reconnect to the
 * rebound ZeroMQ endpoint by themselves; so does the nats-server sidecar, which the new image
 * adopts, while wsfleetd's own NATS connection is closed before the exec and made again after
 * it. The new image then restarts, one at a time, only the workers whose wsworker file was
 * replaced since they were spawned. */
#ifndef SUP_UPGRADE_H
#define SUP_UPGRADE_H

#include <stdint.h>

#include "sup_upgrade_state.h"
#include "wsf_msg.h"

#define SUP_UPGRADE_ENV "WSF_UPGRADE_STATE" /* the memfd's number, for the new image only */

typedef struct sup_ctx sup_ctx;

/* wsctl upgrade: refuses (res->error) while the fleet stops or rolls, when the configuration no
 * longer parses or changes what cannot change in place (listen, run_dir, workers.max, [nats]), or
 * when ctx->exe does not run as wsfleetd (`--version`); else answers "upgrading" and arms the exec,
 * which sup_upgrade_run does once the answer went out. */
void sup_upgrade_request(sup_ctx *ctx, wsf_ctl_response *res);

/* Re-executes the armed upgrade. Returns only when exec failed: that is logged, and the old
 * image carries on with new endpoints (wsctl sees the upgrade count unchanged). */
void sup_upgrade_run(sup_ctx *ctx);

/* For main, before anything else: reads and removes the hand-over an upgrade left in the
 * environment. Returns 1 with *out (free it), 0 when this is no upgrade, or -1 when there is one
 * that cannot be read (logged: the caller exits, the workers keep serving until orphan_grace). */
int sup_upgrade_load(sup_upgrade_state **out);

/* sup_ctx_init of an upgraded image, in place of creating the pipe and the listeners: takes them
 * and the slots from ctx->restore. Returns 0 or -1 (logged). */
int sup_upgrade_restore(sup_ctx *ctx);

/* The end of an upgraded image's sup_ctx_init: READY=1 to systemd, reaping of the workers that
 * exited during the exec, and the binary comparison scheduled. */
void sup_upgrade_resume(sup_ctx *ctx);

/* On the supervisor's tick: once the workers reported to the new image (or after a bound), starts
 * a rolling restart of the workers whose wsworker file changed. */
void sup_upgrade_tick(sup_ctx *ctx, uint64_t now);

#endif
