/* wsfleetd's side of channels: the nats-server sidecar (sup_natsd.h), RUNDIR/channels.ini and the
 * worker flags that point at it, and wsfleetd's own NATS connection on its loop, which ensures the
 * JetStream stream and serves wsctl publish, history and channels. Those three answer later than
 * the request arrives: the control socket's reply is deferred until NATS answered (or a bounded
 * wait ran out), and no other wsctl request is read meanwhile (the REP socket's order).
 *
 * Scatter/gather for `wsctl channels`: a request on "wsf.admin.channels" (empty body) with the
 * reply subject "_INBOX.wsfleetd.<random>.<n>"; every worker with channels on answers
 * {"pid":N,"slot":S,"channels":{"NAME":SUBSCRIBERS,...}}. The gather ends once every running
 * worker (by pid) answered, or after SUP_CHANNELS_GATHER_MS; answers from other pids (workers
 * outside this fleet on the same broker) are listed when they come before that. The answer is
 * {"channels":{NAME:TOTAL},"workers":[answers],"answered":N,"running":R}. */
#ifndef SUP_CHANNELS_H
#define SUP_CHANNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sup_natsd.h"
#include "wsf_msg.h"

struct sup_ctx;
struct sup_config;

#define SUP_CHANNELS_GATHER_MS 1000
#define SUP_CHANNELS_SUBJECT_ADMIN "wsf.admin.channels"
#define SUP_CHANNELS_HISTORY_DEFAULT 100 /* wsctl history without --limit */
#define SUP_CHANNELS_HISTORY_MAX 1000
/* How long wsfleetd waits at start for the sidecar before starting the workers anyway. */
#define SUP_CHANNELS_SIDECAR_WAIT_MS 5000

/* Before the first workers: writes channels.ini, starts the sidecar (or notes the external
 * broker), connects. Returns 0, SUP_NATSD_ENOEXEC (nats-server missing: exit 2),
 * SUP_CHANNELS_CONFLICT (the stream exists with settings this fleet cannot reconcile: exit 2)
 * or -1. */
int sup_channels_start(struct sup_ctx *ctx);

/* The configuration was reloaded (ctx->cfg is the new one): rewrites channels.ini and updates the
 * stream's limits. The workers pick the file up when the reload restarts them. */
void sup_channels_reloaded(struct sup_ctx *ctx);

/* A child exited that is not a worker: the sidecar's exit is handled here. */
void sup_channels_reap(struct sup_ctx *ctx, pid_t pid, int status);

/* Every supervisor tick: the sidecar's restarts and kill grace, the stream's retries, the end of
 * a gather. */
void sup_channels_tick(struct sup_ctx *ctx, uint64_t now);

/* Called while stopping once every worker is gone: stops the sidecar (last). Returns true when
 * nothing of it is left. */
bool sup_channels_stopped(struct sup_ctx *ctx);

void sup_channels_fini(struct sup_ctx *ctx);

/* A live upgrade: what the new image needs of the sidecar (zeroes: no channels). */
void sup_channels_hand_over(const struct sup_ctx *ctx, sup_natsd_handover *out);

/* Just before the upgrade's exec: closes wsfleetd's NATS connection cleanly (libnats' threads do
 * not survive an exec) and leaves the sidecar running; the new image connects again. */
void sup_channels_disconnect(struct sup_ctx *ctx);

/* The exec failed: connects again. Returns 0 or -1 (logged). */
int sup_channels_reconnect(struct sup_ctx *ctx);

#define SUP_CHANNELS_CONFLICT (-3)

/* Most arguments sup_channels_worker_args appends. */
#define SUP_CHANNELS_WORKER_ARGS 16

/* Appends the worker's channel flags (--nats-url-file, --channels-config, --nats-stream) to argv
 * at argc, which must have room for SUP_CHANNELS_WORKER_ARGS more, when the worker binary takes
 * them. Returns the new argc. */
size_t sup_channels_worker_args(const struct sup_ctx *ctx, char **argv, size_t argc);

/* Answers wsctl cluster (sup_cluster.h). */
void sup_channels_cluster(struct sup_ctx *ctx, wsf_ctl_response *res);

/* Fills res->nats for wsctl status. */
void sup_channels_status(const struct sup_ctx *ctx, wsf_ctl_response *res);

/* The sidecar for the alerts: 1 running, 0 not running (starting, backoff, stopped), -1 no
 * sidecar (an external broker, or channels not set up). */
int sup_channels_sidecar_up(const struct sup_ctx *ctx);

/* Starts a wsctl publish, history or channels request. Returns 1 when the answer is deferred
 * (sent later through sup_ctl_reply), 0 when res holds it now (a refusal). */
int sup_channels_ctl(struct sup_ctx *ctx, const wsf_ctl_request *req, wsf_ctl_response *res);

/* A deferred wsctl answer is owed: the control socket must not be read. */
bool sup_channels_ctl_pending(const struct sup_ctx *ctx);

#endif
