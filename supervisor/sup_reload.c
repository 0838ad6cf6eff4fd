/* Reload (SIGHUP, wsctl reload): re-reads the configuration with the original command line,
 * applies what can change while running, and restarts the workers one slot at a time when their
 * own settings changed. Listening addresses, workers.max and the run directory are fixed for the
 * supervisor's life (the sockets and endpoints exist once); a reload that changes them is
 * refused as a whole. */
#include <stdio.h>
#include <string.h>

#include "sup_alerting.h"
#include "sup_channels.h"
#include "sup_ctx.h"
#include "sup_tls.h"
#include "wsf_log.h"

bool sup_workers_differ(const sup_config *a, const sup_config *b)
{
    return memcmp(&a->worker, &b->worker, sizeof a->worker) != 0 ||
           strcmp(a->worker_bin, b->worker_bin) != 0 || a->orphan_grace_ms != b->orphan_grace_ms ||
           a->report_interval_ms != b->report_interval_ms ||
           a->drain_timeout_ms != b->drain_timeout_ms || a->drills_enabled != b->drills_enabled ||
           a->drills_max_memory != b->drills_max_memory ||
           strcmp(a->channels_ini, b->channels_ini) != 0 || strcmp(a->tls.cert, b->tls.cert) != 0 ||
           strcmp(a->tls.key, b->tls.key) != 0 || strcmp(a->tls.ciphers, b->tls.ciphers) != 0 ||
           strcmp(a->tls.protocols, b->tls.protocols) != 0;
}

/* Names the first fixed setting that differs, or NULL. */
static const char *sup_fixed_change(const sup_config *a, const sup_config *b)
{
    if (a->nlisten != b->nlisten || memcmp(a->listen, b->listen, sizeof a->listen) != 0)
        return "[fleet] listen";
    if (a->tls.nlisten != b->tls.nlisten ||
        memcmp(a->tls.listen, b->tls.listen, sizeof a->tls.listen) != 0)
        return "[tls] listen";
    if (strcmp(a->run_dir, b->run_dir) != 0)
        return "[fleet] run_dir";
    if (a->workers_max != b->workers_max)
        return "[workers] max";
    if (strcmp(a->nats_url, b->nats_url) != 0 || strcmp(a->nats_stream, b->nats_stream) != 0 ||
        strcmp(a->nats_store_dir, b->nats_store_dir) != 0 ||
        strcmp(a->nats_credentials, b->nats_credentials) != 0 ||
        strcmp(a->nats_tls_ca, b->nats_tls_ca) != 0 ||
        strcmp(a->nats_tls_cert, b->nats_tls_cert) != 0 ||
        strcmp(a->nats_tls_key, b->nats_tls_key) != 0)
        return "[nats]";
    if (strcmp(a->admin.listen, b->admin.listen) != 0 ||
        strcmp(a->admin.tls_cert, b->admin.tls_cert) != 0 ||
        strcmp(a->admin.tls_key, b->admin.tls_key) != 0 ||
        strcmp(a->admin.cors_origins, b->admin.cors_origins) != 0)
        return "[admin]";
    if (a->channels_replicas != b->channels_replicas)
        return "[channels] replicas";
    if (strcmp(a->fleet_name, b->fleet_name) != 0)
        return "[fleet] name";
    return NULL;
}

static void sup_reload_apply(sup_ctx *ctx, wsf_ctl_response *res)
{
    sup_config next;
    char err[SUP_CONFIG_ERR_MAX];

    sup_config_init(&next, ctx->euid, ctx->ncpu);
    if (sup_config_parse(&next, ctx->argc, ctx->argv, err, sizeof err) != SUP_CONFIG_RUN) {
        snprintf(res->error, sizeof res->error, "%.250s", err);
        wsf_log_error("reload refused: %s", err);
        return;
    }
    /* A certificate that does not load is refused here, before any worker sees it. */
    if (sup_tls_check(&next, err, sizeof err) != 0) {
        snprintf(res->error, sizeof res->error, "%.250s", err);
        wsf_log_error("reload refused: %s", err);
        return;
    }
    /* The ticket key file is the supervisor's own, not the file's. */
    memcpy(next.tls.tickets, ctx->cfg.tls.tickets, sizeof next.tls.tickets);
    const char *fixed = sup_fixed_change(&ctx->cfg, &next);
    if (fixed != NULL) {
        snprintf(res->error, sizeof res->error,
                 "%s cannot change while wsfleetd runs; restart wsfleetd to apply it", fixed);
        wsf_log_error("reload refused: %s", res->error);
        return;
    }
    bool restart_workers = sup_workers_differ(&ctx->cfg, &next);
    unsigned desired = ctx->desired;
    /* A count that was not changed in the file keeps what wsctl scale set. */
    if (next.workers != ctx->cfg.workers)
        desired = next.workers;
    if (desired < next.workers_min)
        desired = next.workers_min;
    sup_config old = ctx->cfg;
    ctx->cfg = next;
    if (restart_workers && sup_find_worker_bin(ctx) != 0) {
        snprintf(res->error, sizeof res->error, "worker binary %.200s is not executable",
                 ctx->worker_bin);
        ctx->cfg = old;
        sup_find_worker_bin(ctx);
        return;
    }
    sup_channels_reloaded(ctx);
    sup_alerting_reloaded(ctx);
    if (desired != ctx->desired)
        sup_scale(ctx, desired, err, sizeof err);
    if (restart_workers)
        sup_roll_renew(ctx);
    /* Same files, maybe new contents: every running worker loads them again (WSF_CMD_RELOAD)
     * for its next handshakes. A restart gives new workers the new files anyway. */
    unsigned tls_sent = 0;
    for (unsigned i = 0; i < ctx->nslots && !restart_workers && ctx->cfg.tls.nlisten > 0; i++) {
        wsf_command cmd = {.kind = WSF_CMD_RELOAD};
        tls_sent += ctx->slots[i].has_peer && sup_send_command(ctx, &ctx->slots[i], &cmd) == 0;
    }
    char tls_note[64] = "";
    if (tls_sent > 0)
        snprintf(tls_note, sizeof tls_note, "; TLS certificate sent to %u workers to reload",
                 tls_sent);
    snprintf(res->message, sizeof res->message, "configuration reloaded%s%s",
             restart_workers ? "; restarting workers one at a time" : "", tls_note);
    wsf_log_info("reload: %s", res->message);
    res->ok = true;
}

void sup_reload(sup_ctx *ctx, wsf_ctl_response *res)
{
    sup_notify_reloading(ctx);
    sup_reload_apply(ctx, res);
    sup_notify_reloaded(ctx);
}
