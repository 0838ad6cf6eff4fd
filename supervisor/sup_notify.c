/* wsfleetd's systemd notifications: a pure step deciding what is due, and hooks that send it. */
#include "sup_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "sup_ctx.h"
#include "wsf_log.h"

void sup_notify_init(sup_notify *n, const char *notify_socket, uint64_t watchdog_usec,
                     uint64_t ready_bound_ms, uint64_t now)
{
    memset(n, 0, sizeof *n);
    n->enabled = notify_socket != NULL && notify_socket[0] != '\0';
    if (n->enabled && watchdog_usec > 0) {
        /* Pinging at half the interval leaves a whole half for one late tick. */
        n->watchdog_ms = watchdog_usec / 2000;
        if (n->watchdog_ms == 0)
            n->watchdog_ms = 1;
    }
    n->watchdog_at_ms = now;
    n->ready_by_ms = now + ready_bound_ms;
}

void sup_notify_status_line(char *out, size_t cap, const sup_notify_fleet *f)
{
    snprintf(out, cap, "%s%u/%u workers running, %llu connection%s",
             f->stopping ? "stopping: " : "", f->running, f->desired,
             (unsigned long long)f->connections, f->connections == 1 ? "" : "s");
}

/* Appends one "KEY=VALUE" line to out[cap] at *len, if it fits whole. */
static void sup_notify_append(char *out, size_t cap, size_t *len, const char *line)
{
    int n = snprintf(out + *len, cap - *len, "%s%s", *len > 0 ? "\n" : "", line);
    if (n > 0 && (size_t)n < cap - *len)
        *len += (size_t)n;
    else
        out[*len] = '\0';
}

/* Appends STATUS= with the line for f and remembers it as sent at now. */
static void sup_notify_append_status(char *out, size_t cap, size_t *len, sup_notify *n,
                                     const sup_notify_fleet *f, uint64_t now)
{
    char line[SUP_NOTIFY_STATUS_MAX + 8];
    sup_notify_status_line(n->status, sizeof n->status, f);
    snprintf(line, sizeof line, "STATUS=%s", n->status);
    sup_notify_append(out, cap, len, line);
    n->status_at_ms = now;
    n->status_sent = true;
}

size_t sup_notify_step(char *out, size_t cap, sup_notify *n, const sup_notify_fleet *f,
                       uint64_t now)
{
    size_t len = 0;
    if (cap == 0)
        return 0;
    out[0] = '\0';
    if (!n->enabled)
        return 0;
    if (!n->ready_sent && !f->stopping && (f->running >= f->desired || now >= n->ready_by_ms)) {
        sup_notify_append(out, cap, &len, "READY=1");
        sup_notify_append_status(out, cap, &len, n, f, now);
        n->ready_sent = true;
    } else {
        char line[SUP_NOTIFY_STATUS_MAX];
        sup_notify_status_line(line, sizeof line, f);
        bool changed = !n->status_sent || strcmp(line, n->status) != 0;
        if (changed && now - n->status_at_ms >= SUP_NOTIFY_STATUS_EVERY_MS)
            sup_notify_append_status(out, cap, &len, n, f, now);
    }
    if (n->watchdog_ms > 0 && now - n->watchdog_at_ms >= n->watchdog_ms) {
        sup_notify_append(out, cap, &len, "WATCHDOG=1");
        n->watchdog_at_ms = now;
    }
    return len;
}

/* The numbers STATUS= shows and READY=1 waits for. */
static void sup_notify_fleet_of(sup_notify_fleet *out, const sup_ctx *ctx)
{
    memset(out, 0, sizeof *out);
    out->desired = ctx->desired;
    out->stopping = ctx->stopping;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        if (s->wanted && s->lc.state == SUP_SLOT_RUNNING)
            out->running++;
        if (s->pid != 0 && s->has_report)
            out->connections += s->report.connections_active;
    }
}

/* Sends msg; a failure is logged and otherwise ignored (systemd may be gone while we drain). */
static void sup_notify_send(const sup_notify *n, const char *msg)
{
    if (!n->enabled || msg[0] == '\0')
        return;
    int rc = sd_notify(0, msg);
    if (rc < 0)
        wsf_log_warn("sd_notify: %s", strerror(-rc));
}

void sup_notify_start(sup_ctx *ctx, uint64_t now)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0)
        usec = 0;
    sup_notify_init(&ctx->notify, getenv("NOTIFY_SOCKET"), usec, ctx->cfg.hang_timeout_ms, now);
    if (ctx->notify.enabled)
        wsf_log_info("systemd notification socket set; watchdog %s",
                     ctx->notify.watchdog_ms > 0 ? "on" : "off");
}

void sup_notify_tick(sup_ctx *ctx, uint64_t now)
{
    sup_notify_fleet f;
    char msg[SUP_NOTIFY_MSG_MAX];
    if (!ctx->notify.enabled)
        return;
    sup_notify_fleet_of(&f, ctx);
    if (sup_notify_step(msg, sizeof msg, &ctx->notify, &f, now) > 0)
        sup_notify_send(&ctx->notify, msg);
}

void sup_notify_reloading(sup_ctx *ctx)
{
    char msg[SUP_NOTIFY_MSG_MAX];
    struct timespec ts;
    if (!ctx->notify.enabled || !ctx->notify.ready_sent)
        return; /* before the first READY=1 systemd is still waiting for the start */
    /* MONOTONIC_USEC lets a Type=notify-reload manager match this reload to its request. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    sup_notify_send(&ctx->notify, msg);
}

void sup_notify_reloaded(sup_ctx *ctx)
{
    sup_notify_fleet f;
    char msg[SUP_NOTIFY_MSG_MAX];
    size_t len = 0;
    if (!ctx->notify.enabled || !ctx->notify.ready_sent)
        return;
    sup_notify_fleet_of(&f, ctx);
    msg[0] = '\0';
    sup_notify_append(msg, sizeof msg, &len, "READY=1");
    sup_notify_append_status(msg, sizeof msg, &len, &ctx->notify, &f, sup_now_ms());
    sup_notify_send(&ctx->notify, msg);
}

void sup_notify_stopping(sup_ctx *ctx)
{
    sup_notify_fleet f;
    char msg[SUP_NOTIFY_MSG_MAX];
    size_t len = 0;
    if (!ctx->notify.enabled)
        return;
    sup_notify_fleet_of(&f, ctx);
    msg[0] = '\0';
    sup_notify_append(msg, sizeof msg, &len, "STOPPING=1");
    sup_notify_append_status(msg, sizeof msg, &len, &ctx->notify, &f, sup_now_ms());
    sup_notify_send(&ctx->notify, msg);
}
