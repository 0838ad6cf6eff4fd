/* Supervisor link. The worker serves on its own: losing the supervisor only starts the orphan
 * grace period, after which the worker drains and exits, so no orphan holds a port forever. */
#include "wk_fleet.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "wk_adopt.h"
#include "wk_worker.h"
#include "wsf_buf.h"
#include "wsf_ipc.h"
#include "wk_tls.h"
#include "wsf_log.h"

struct wk_fleet {
    wk_ctx *ctx;
    void *zctx;
    wsf_ipc *ipc;
    struct event *ipc_ev;
    struct event *report_ev;
    struct event *parent_ev;
    struct event *orphan_ev;
    wk_adopt *adopt; /* offers the fleet's listeners to a new supervisor when orphaned */
    uint64_t seq;
};

static void wk_fleet_send(wk_fleet *f, const wsf_worker_msg *msg)
{
    int rc = wsf_ipc_send_worker_msg(f->ipc, msg);
    if (rc < 0 && rc != -EAGAIN)
        wsf_log_warn("supervisor link: send failed: %s", strerror(-rc));
    /* A send can consume the notification edge of pending input: look again. */
    if (wsf_ipc_has_input(f->ipc))
        event_active(f->ipc_ev, EV_READ, 0);
}

static void wk_fleet_on_report(evutil_socket_t fd, short what, void *arg)
{
    wk_fleet *f = arg;
    wsf_worker_msg msg = {.kind = WSF_WMSG_REPORT};
    (void)fd;
    (void)what;
    wk_ctx_report(f->ctx, &msg.report);
    msg.report.seq = ++f->seq;
    wk_fleet_send(f, &msg);
}

static void wk_fleet_ack(wk_fleet *f, uint64_t id, bool ok, const char *error)
{
    wsf_worker_msg msg = {.kind = WSF_WMSG_ACK};
    msg.ack.id = id;
    msg.ack.ok = ok;
    snprintf(msg.ack.error, sizeof msg.ack.error, "%s", error ? error : "");
    wk_fleet_send(f, &msg);
}

/* Drills. Hang and crash happen here, after the Ack, so the supervisor knows the command
 * arrived; the others are recorded and applied where events happen. */
static void wk_fleet_on_fault(wk_fleet *f, const wsf_command *cmd)
{
    enum wsf_fault_kind kind;
    uint64_t cap = f->ctx->cfg.drills_max_memory;
    const char *bad = wsf_fault_parse(&kind, cmd->fault) == 0
                          ? wsf_fault_check(kind, cmd->fault_value, cmd->fault_ms, cmd->duration_ms)
                          : "unknown fault";
    /* The supervisor checks these too; a worker started without drills obeys no one. */
    if (bad == NULL && cap == 0 && kind != WSF_FAULT_OFF)
        bad = "fault injection is off in this worker ([drills] enabled)";
    else if (bad == NULL && wsf_fault_memory_bytes(kind, cmd->fault_value, cmd->duration_ms) > cap)
        bad = "the memory fault would grow past [drills] max_memory";
    if (bad != NULL) {
        wsf_log_warn("fault %.32s refused: %s", cmd->fault, bad);
        wk_fleet_ack(f, cmd->id, false, bad);
        return;
    }
    wk_fleet_ack(f, cmd->id, true, NULL);
    wsf_log_warn("fault injected by the supervisor: %s (rate %g, %u ms, for %u ms)", cmd->fault,
                 cmd->fault_value, cmd->fault_ms, cmd->duration_ms);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t now_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    switch (kind) {
    case WSF_FAULT_CRASH: {
        /* A drill crash, not a bug to debug: no core file in whatever directory we run in. */
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        abort();
    }
    case WSF_FAULT_HANG: {
        struct timespec ts = {cmd->duration_ms / 1000, (long)(cmd->duration_ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
            ;
        wsf_log_warn("fault: hang over");
        return;
    }
    case WSF_FAULT_OFF:
        wk_fault_fini(&f->ctx->fault);
        return;
    default:
        wk_fault_start(&f->ctx->fault, kind, cmd->fault_value, cmd->fault_ms, cmd->duration_ms,
                       now_ms);
        return;
    }
}

static void wk_fleet_on_command(wk_fleet *f, const wsf_command *cmd)
{
    wk_ctx *ctx = f->ctx;
    switch (cmd->kind) {
    case WSF_CMD_PING:
        break;
    case WSF_CMD_DRAIN:
        wk_ctx_drain(ctx, cmd->drain_ms ? cmd->drain_ms : ctx->cfg.grace_ms, "supervisor");
        break;
    case WSF_CMD_SET_ACCEPTING:
        ctx->accept_off = !cmd->accepting;
        wk_ctx_update_accepting(ctx);
        wsf_log_info("supervisor: accepting %s", cmd->accepting ? "on" : "off");
        break;
    case WSF_CMD_SHED: {
        unsigned n = wk_ctx_shed(ctx, cmd->shed_count);
        wsf_log_info("supervisor: shed %u connections with 1012", n);
        break;
    }
    case WSF_CMD_SHUTDOWN:
        wk_ctx_shutdown(ctx, "supervisor");
        break;
    case WSF_CMD_FAULT:
        wk_fleet_on_fault(f, cmd);
        return;
    case WSF_CMD_RELOAD: {
        /* The certificate files were replaced: new handshakes get the new ones, connections
         * already made keep theirs; a bad one is refused and the current one stays. */
        const char *why = NULL;
        if (ctx->tls != NULL && wk_tls_reload(ctx->tls, &ctx->cfg, &why) != 0) {
            wsf_log_warn("TLS reload refused, keeping the current certificate: %s", why);
            wk_fleet_ack(f, cmd->id, false, why);
            return;
        }
        if (ctx->tls != NULL)
            wsf_log_info("TLS certificate reloaded");
        break;
    }
    default:
        wk_fleet_ack(f, cmd->id, false, "unsupported command");
        return;
    }
    wk_fleet_ack(f, cmd->id, true, NULL);
}

static void wk_fleet_on_ipc(evutil_socket_t fd, short what, void *arg)
{
    wk_fleet *f = arg;
    wsf_command cmd;
    int rc;
    (void)fd;
    (void)what;
    /* The descriptor is edge-triggered: take everything that is waiting. */
    while ((rc = wsf_ipc_recv_command(f->ipc, &cmd)) != 0) {
        if (rc == -EPROTO) {
            wsf_log_warn("supervisor link: undecodable command ignored");
            continue;
        }
        if (rc == WSF_IPC_EVERSION) {
            uint32_t v;
            if (wsf_ipc_refused(f->ipc, &v) == 1)
                wsf_log_warn("supervisor link: refusing commands of protocol version %u "
                             "(wsworker speaks %u)",
                             v, WSF_PROTO_VERSION);
            continue;
        }
        if (rc < 0) {
            wsf_log_warn("supervisor link: receive failed: %s", strerror(-rc));
            break;
        }
        wk_fleet_on_command(f, &cmd);
    }
}

static void wk_fleet_on_orphan_timeout(evutil_socket_t fd, short what, void *arg)
{
    wk_fleet *f = arg;
    (void)fd;
    (void)what;
    wk_adopt_stop(f->adopt);
    wk_ctx_drain(f->ctx, f->ctx->cfg.grace_ms, "orphaned");
}

/* The supervisor is gone: serve on through the orphan grace, meanwhile looking for a new one. */
static void wk_fleet_orphaned(wk_fleet *f)
{
    uint32_t ms = f->ctx->cfg.orphan_grace_ms;
    wsf_log_warn("supervisor is gone: serving on for %u ms, then draining", ms);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(f->orphan_ev, &tv);
    wk_adopt_seek(f->adopt);
}

static void wk_fleet_on_adopted(void *arg, bool adopted)
{
    wk_fleet *f = arg;
    if (adopted)
        event_del(f->orphan_ev);
    else
        wk_fleet_orphaned(f);
}

static void wk_fleet_on_parent(evutil_socket_t fd, short what, void *arg)
{
    wk_fleet *f = arg;
    char buf[64];
    (void)what;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0 || (n == -1 && (errno == EINTR || errno == EAGAIN)))
        return;
    /* End of file: the supervisor, the only holder of the write end, is gone. */
    event_del(f->parent_ev);
    wk_fleet_orphaned(f);
}

void wk_fleet_free(wk_fleet *f)
{
    if (f == NULL)
        return;
    if (f->ipc_ev)
        event_free(f->ipc_ev);
    if (f->report_ev)
        event_free(f->report_ev);
    if (f->parent_ev)
        event_free(f->parent_ev);
    if (f->orphan_ev)
        event_free(f->orphan_ev);
    wk_adopt_free(f->adopt);
    wsf_ipc_free(f->ipc);
    wsf_ipc_context_free(f->zctx);
    free(f);
}

int wk_fleet_new(wk_fleet **out, wk_ctx *ctx)
{
    const wk_config *cfg = &ctx->cfg;
    wk_fleet *f = wsf_xcalloc(1, sizeof *f);
    f->ctx = ctx;

    f->orphan_ev = evtimer_new(ctx->base, wk_fleet_on_orphan_timeout, f);
    if (wk_adopt_new(&f->adopt, ctx->base, cfg->supervisor, getenv("WSF_GROUP_FDS"), cfg->slot,
                     cfg->generation, wk_fleet_on_adopted, f) != 0) {
        wk_fleet_free(f);
        return -1;
    }
    if (cfg->parent_fd != -1) {
        f->parent_ev =
            event_new(ctx->base, cfg->parent_fd, EV_READ | EV_PERSIST, wk_fleet_on_parent, f);
        event_add(f->parent_ev, NULL);
    }
    if (cfg->supervisor != NULL) {
        f->zctx = wsf_ipc_context_new();
        int rc = f->zctx ? wsf_ipc_open(&f->ipc, f->zctx, WSF_IPC_WORKER, cfg->supervisor) : -errno;
        if (rc != 0) {
            wsf_log_error("supervisor link %s: %s", cfg->supervisor, strerror(-rc));
            wk_fleet_free(f);
            return -1;
        }
        f->ipc_ev =
            event_new(ctx->base, wsf_ipc_fd(f->ipc), EV_READ | EV_PERSIST, wk_fleet_on_ipc, f);
        event_add(f->ipc_ev, NULL);
        f->report_ev = event_new(ctx->base, -1, EV_PERSIST, wk_fleet_on_report, f);
        struct timeval tv = {cfg->report_ms / 1000, (cfg->report_ms % 1000) * 1000};
        event_add(f->report_ev, &tv);

        wsf_worker_msg hello = {.kind = WSF_WMSG_HELLO};
        hello.hello.pid = (uint32_t)getpid();
        hello.hello.slot = cfg->slot;
        hello.hello.generation = cfg->generation;
        wk_fleet_send(f, &hello);
        wsf_log_info("slot %u generation %llu: reporting to %s", cfg->slot,
                     (unsigned long long)cfg->generation, cfg->supervisor);
    }
    *out = f;
    return 0;
}
