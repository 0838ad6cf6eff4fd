/* Live upgrade: the checks before it, the hand-over and exec, and the new image's restore. */
#include "sup_upgrade.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sup_channels.h"
#include "sup_ctx.h"
#include "wsf_buf.h"
#include "wsf_log.h"

#define SUP_UPGRADE_PROBE_MS 5000  /* the new binary's --version must answer within this */
#define SUP_UPGRADE_LINGER_MS 1000 /* the "upgrading" reply may take this long to go out */
#define SUP_UPGRADE_SETTLE_MS 3000 /* the workers' first Reports to the new image */
#define SUP_UPGRADE_STATE_MAX (4u << 20)

_Static_assert(SUP_UPGRADE_MAX_SLOTS == SUP_MAX_SLOTS, "the hand-over holds every slot");
_Static_assert(SUP_UPGRADE_MAX_LISTEN == SUP_MAX_LISTEN, "the hand-over holds every listener");

/* Runs `exe --version` and checks that it says it is wsfleetd. Returns 0, or -1 with why. */
static int sup_upgrade_probe(const char *exe, char *why, size_t whycap)
{
    int p[2];
    char out[128] = "";
    size_t got = 0;
    int status = 0;
    if (pipe2(p, O_CLOEXEC) == -1) {
        snprintf(why, whycap, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == -1) {
        snprintf(why, whycap, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        char *argv[] = {(char *)exe, "--version", NULL};
        if (dup2(p[1], STDOUT_FILENO) != -1)
            execv(exe, argv);
        _exit(127);
    }
    close(p[1]);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    uint64_t deadline = sup_now_ms() + SUP_UPGRADE_PROBE_MS;
    for (;;) {
        uint64_t now = sup_now_ms();
        if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) == 0) {
            kill(pid, SIGKILL);
            break;
        }
        ssize_t n = read(p[0], out + got, sizeof out - 1 - got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == sizeof out - 1)
            break;
    }
    close(p[0]);
    out[got] = '\0';
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            snprintf(why, whycap, "%.200s cannot be executed", exe);
        else
            snprintf(why, whycap, "%.200s --version failed (status %d)", exe, status);
        return -1;
    }
    if (strncmp(out, "wsfleetd ", 9) != 0) {
        snprintf(why, whycap, "%.200s --version does not say it is wsfleetd", exe);
        return -1;
    }
    return 0;
}

/* Whether the configuration as it reads now can be taken over in place; *settings tells whether
 * it starts workers differently (the new image then restarts them all, as a reload would). */
static int sup_upgrade_config_ok(bool *settings, const sup_ctx *ctx, char *why, size_t whycap)
{
    sup_config *next = wsf_xcalloc(1, sizeof *next);
    char err[SUP_CONFIG_ERR_MAX];
    int rc = -1;
    sup_config_init(next, ctx->euid, ctx->ncpu);
    if (sup_config_parse(next, ctx->argc, ctx->argv, err, sizeof err) != SUP_CONFIG_RUN)
        snprintf(why, whycap, "the configuration does not load: %.300s", err);
    else if (next->nlisten != ctx->cfg.nlisten ||
             memcmp(next->listen, ctx->cfg.listen, sizeof next->listen) != 0)
        snprintf(why, whycap, "[fleet] listen changed: restart wsfleetd to apply it");
    else if (strcmp(next->run_dir, ctx->cfg.run_dir) != 0)
        snprintf(why, whycap, "[fleet] run_dir changed: restart wsfleetd to apply it");
    else if (next->workers_max != ctx->nslots)
        snprintf(why, whycap, "[workers] max changed: restart wsfleetd to apply it");
    else if (strcmp(next->nats_url, ctx->cfg.nats_url) != 0 ||
             strcmp(next->nats_stream, ctx->cfg.nats_stream) != 0 ||
             strcmp(next->nats_store_dir, ctx->cfg.nats_store_dir) != 0)
        snprintf(why, whycap, "[nats] changed: restart wsfleetd to apply it");
    else
        rc = 0;
    *settings = rc == 0 && sup_workers_differ(&ctx->cfg, next);
    free(next);
    return rc;
}

void sup_upgrade_request(sup_ctx *ctx, wsf_ctl_response *res)
{
    char why[400];
    bool settings = false;
    if (ctx->roll.active) {
        snprintf(res->error, sizeof res->error,
                 "a rolling restart is running: upgrade when it is done");
        return;
    }
    if (sup_upgrade_config_ok(&settings, ctx, why, sizeof why) != 0 ||
        sup_upgrade_probe(ctx->exe, why, sizeof why) != 0) {
        wsf_log_error("upgrade refused: %s", why);
        snprintf(res->error, sizeof res->error, "upgrade refused: %.230s", why);
        return;
    }
    ctx->upgrade_armed = true;
    ctx->upgrade_settings = settings;
    snprintf(res->message, sizeof res->message, "upgrading: re-executing %.200s%s", ctx->exe,
             settings ? "; new worker settings" : "");
    res->ok = true;
}

/* The state the new image takes over. */
static void sup_upgrade_capture(sup_upgrade_state *st, const sup_ctx *ctx)
{
    snprintf(st->exe, sizeof st->exe, "%s", ctx->exe);
    st->upgrades = ctx->upgrades + 1;
    st->lock_fd = ctx->rundir->lock_fd;
    st->pipe_fds[0] = ctx->parent_pipe[0];
    st->pipe_fds[1] = ctx->parent_pipe[1];
    st->obs = ctx->obs;
    st->nslots = ctx->nslots;
    st->desired = ctx->desired;
    st->workers_min = ctx->cfg.workers_min;
    st->scaler_min = ctx->cfg.scaler.min_workers;
    st->scaler_max = ctx->cfg.scaler.max_workers;
    st->autoscale = ctx->scaler.enabled;
    st->steering_cbpf = ctx->steering_cbpf;
    st->ready_sent = ctx->notify.ready_sent;
    st->settings = ctx->upgrade_settings;
    st->spawns = ctx->spawns;
    st->command_id = ctx->command_id;
    sup_channels_hand_over(ctx, &st->natsd);
    st->nlistens = ctx->nlistens;
    for (size_t i = 0; i < ctx->nlistens; i++) {
        snprintf(st->listens[i].name, sizeof st->listens[i].name, "%s", ctx->listens[i].name);
        st->listens[i].family = ctx->listens[i].family;
        memcpy(st->listens[i].fds, ctx->listens[i].fds, sizeof st->listens[i].fds);
    }
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        sup_upgrade_slot *o = &st->slots[i];
        o->index = i;
        o->pid = (int)s->pid;
        o->generation = s->generation;
        o->spawn_seq = s->spawn_seq;
        o->started_ms = s->started_ms;
        o->ready_ms = s->ready_ms;
        o->wanted = s->wanted;
        o->accepting = s->accepting;
        o->lc = s->lc;
        o->bin = s->bin;
    }
}

/* Sets or clears close-on-exec on every descriptor the hand-over names. */
static void sup_upgrade_set_cloexec(const sup_ctx *ctx, bool on)
{
    int fds[3] = {ctx->rundir->lock_fd, ctx->parent_pipe[0], ctx->parent_pipe[1]};
    for (size_t i = 0; i < 3; i++)
        fcntl(fds[i], F_SETFD, on ? FD_CLOEXEC : 0);
    for (size_t l = 0; l < ctx->nlistens; l++) {
        for (unsigned s = 0; s < ctx->nslots; s++)
            fcntl(ctx->listens[l].fds[s], F_SETFD, on ? FD_CLOEXEC : 0);
    }
}

/* Writes the hand-over into a new memfd (not close-on-exec). Returns it, or -errno. */
static int sup_upgrade_write_state(const sup_ctx *ctx)
{
    sup_upgrade_state *st = wsf_xcalloc(1, sizeof *st);
    char *buf = NULL;
    int fd = -1, rc;
    sup_upgrade_capture(st, ctx);
    long need = sup_upgrade_state_encode(NULL, 0, st);
    if (need < 0) {
        rc = (int)need;
        goto out;
    }
    buf = wsf_xmalloc((size_t)need + 1);
    sup_upgrade_state_encode(buf, (size_t)need + 1, st);
    fd = memfd_create("wsfleetd-upgrade", 0);
    if (fd == -1) {
        rc = -errno;
        goto out;
    }
    for (size_t off = 0; off < (size_t)need;) {
        ssize_t n = write(fd, buf + off, (size_t)need - off);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n == -1 ? -errno : -EIO;
            goto out;
        }
        off += (size_t)n;
    }
    rc = lseek(fd, 0, SEEK_SET) == -1 ? -errno : fd;
out:
    if (rc < 0 && fd != -1)
        close(fd);
    free(buf);
    free(st);
    return rc;
}

/* The signals wsfleetd handles: held pending from just before the exec until the new image has
 * its handlers (the default action of SIGTERM or SIGHUP would end it; a worker's SIGCHLD would be
 * lost). The signal mask survives exec. */
static void sup_upgrade_hold_signals(sigset_t *out)
{
    sigemptyset(out);
    sigaddset(out, SIGCHLD);
    sigaddset(out, SIGTERM);
    sigaddset(out, SIGINT);
    sigaddset(out, SIGHUP);
}

void sup_upgrade_run(sup_ctx *ctx)
{
    char num[32];
    sigset_t hold, was;
    ctx->upgrade_armed = false;
    int fd = sup_upgrade_write_state(ctx);
    if (fd < 0) {
        wsf_log_error("upgrade: cannot write the hand-over: %s; carrying on", strerror(-fd));
        return;
    }
    snprintf(num, sizeof num, "%d", fd);
    wsf_log_info("upgrade: re-executing %s (pid %d stays)", ctx->exe, (int)getpid());
    sup_notify_reloading(ctx);
    sup_upgrade_set_cloexec(ctx, false);
    /* The workers' DEALERs reconnect to the endpoint the new image binds at the same path. */
    sup_ctx_endpoints_close(ctx, SUP_UPGRADE_LINGER_MS);
    sup_channels_disconnect(ctx); /* the new image connects again; the sidecar stays */
    setenv(SUP_UPGRADE_ENV, num, 1);
    fflush(NULL);
    sup_upgrade_hold_signals(&hold);
    sigprocmask(SIG_BLOCK, &hold, &was);
    execv(ctx->exe, ctx->argv);
    int e = errno;
    sigprocmask(SIG_SETMASK, &was, NULL);
    unsetenv(SUP_UPGRADE_ENV);
    close(fd);
    sup_upgrade_set_cloexec(ctx, true);
    wsf_log_error("upgrade: cannot execute %s: %s; carrying on with the running image", ctx->exe,
                  strerror(e));
    if (sup_ctx_endpoints_open(ctx) != 0)
        wsf_log_error("upgrade: the fleet runs on, but wsctl cannot reach it");
    sup_channels_reconnect(ctx);
    sup_notify_reloaded(ctx);
}

int sup_upgrade_load(sup_upgrade_state **out)
{
    const char *env = getenv(SUP_UPGRADE_ENV);
    if (env == NULL)
        return 0;
    char v[32];
    snprintf(v, sizeof v, "%s", env);
    unsetenv(SUP_UPGRADE_ENV); /* for no one else: not the workers, not a later upgrade */
    char *end;
    long fd = strtol(v, &end, 10);
    struct stat stt;
    char *buf = NULL;
    int rc = -1;
    if (end == v || *end != '\0' || fd < 0 || fd > INT32_MAX || fstat((int)fd, &stt) == -1 ||
        !S_ISREG(stt.st_mode) || stt.st_size <= 0 || stt.st_size > SUP_UPGRADE_STATE_MAX) {
        wsf_log_error("upgrade: the hand-over %s=%s cannot be read; exiting: the workers serve on "
                      "until orphan_grace, for a new wsfleetd to adopt",
                      SUP_UPGRADE_ENV, v);
        return -1;
    }
    size_t len = (size_t)stt.st_size, got = 0;
    buf = wsf_xmalloc(len);
    while (got < len) {
        ssize_t n = pread((int)fd, buf + got, len - got, (off_t)got);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close((int)fd);
    sup_upgrade_state *st = wsf_xcalloc(1, sizeof *st);
    if (got != len || sup_upgrade_state_decode(st, buf, len) != 0) {
        wsf_log_error("upgrade: the hand-over is damaged; exiting: the workers serve on until "
                      "orphan_grace, for a new wsfleetd to adopt");
        free(st);
        goto out;
    }
    *out = st;
    rc = 1;
out:
    free(buf);
    return rc;
}

/* A descriptor the hand-over names must be open, and a socket when want_sock. */
static bool sup_upgrade_fd_ok(int fd, bool want_sock)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && (!want_sock || S_ISSOCK(st.st_mode)) &&
           fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

int sup_upgrade_restore(sup_ctx *ctx)
{
    const sup_upgrade_state *st = ctx->restore;
    uint64_t now = sup_now_ms();
    if (!sup_upgrade_fd_ok(st->pipe_fds[0], false) || !sup_upgrade_fd_ok(st->pipe_fds[1], false)) {
        wsf_log_error("upgrade: the workers' parent pipe was not handed over");
        return -1;
    }
    ctx->parent_pipe[0] = st->pipe_fds[0];
    ctx->parent_pipe[1] = st->pipe_fds[1];
    if (st->nslots != ctx->nslots)
        wsf_log_warn("upgrade: [workers] max is %u in the configuration, but the sockets are for "
                     "%u slots: keeping %u until a restart",
                     ctx->nslots, st->nslots, st->nslots);
    ctx->nslots = st->nslots;
    ctx->cfg.workers_max = st->nslots;
    for (size_t i = 0; i < st->nlistens; i++) {
        sup_listen *l = &ctx->listens[ctx->nlistens++];
        snprintf(l->name, sizeof l->name, "%s", st->listens[i].name);
        l->family = st->listens[i].family;
        l->tls = i >= ctx->cfg.nlisten; /* [fleet] listen first, then [tls] (sup_sockets) */
        for (unsigned s = 0; s < SUP_MAX_SLOTS; s++)
            l->fds[s] = s < st->nslots ? st->listens[i].fds[s] : -1;
        for (unsigned s = 0; s < st->nslots; s++) {
            if (!sup_upgrade_fd_ok(l->fds[s], true)) {
                wsf_log_error("upgrade: listener %s of slot %u was not handed over", l->name, s);
                return -1;
            }
        }
        wsf_log_info("listening on %s (%u sockets, kept across the upgrade)", l->name, st->nslots);
    }
    ctx->steering_cbpf = st->steering_cbpf;
    ctx->desired = st->desired;
    ctx->cfg.workers_min = st->workers_min;
    ctx->cfg.scaler.min_workers = st->scaler_min;
    ctx->cfg.scaler.max_workers = st->scaler_max;
    sup_scaler_set_enabled(&ctx->scaler, st->autoscale, now);
    ctx->spawns = st->spawns;
    ctx->command_id = st->command_id;
    ctx->upgrades = st->upgrades;
    ctx->upgrade_settings = st->settings;
    ctx->obs = st->obs;
    for (unsigned i = 0; i < SUP_MAX_SLOTS; i++) {
        sup_slot *s = &ctx->slots[i];
        s->wanted = false;
        if (i >= st->nslots)
            continue;
        const sup_upgrade_slot *o = &st->slots[i];
        s->pid = (pid_t)o->pid;
        s->generation = o->generation;
        s->spawn_seq = o->spawn_seq;
        s->started_ms = o->started_ms;
        s->ready_ms = o->ready_ms;
        s->last_report_ms = now;
        s->wanted = o->wanted;
        s->accepting = o->accepting;
        s->lc = o->lc;
        s->bin = o->bin;
        s->has_peer = false; /* learnt again from the worker's next Report */
    }
    return 0;
}

void sup_upgrade_resume(sup_ctx *ctx)
{
    unsigned workers = 0;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        sup_slot *s = &ctx->slots[i];
        workers += s->pid != 0;
        if (s->wanted && s->lc.state == SUP_SLOT_STOPPED)
            sup_slot_event(ctx, s, SUP_LC_EV_WANT, 0, 0);
    }
    /* The handlers are in place: what arrived during the exec is delivered now, and a worker
     * that exited before the signals were held left only a zombie: reap now either way. */
    sigset_t hold;
    sup_upgrade_hold_signals(&hold);
    sigprocmask(SIG_UNBLOCK, &hold, NULL);
    event_active(ctx->sigchld_ev, EV_SIGNAL, 1);
    ctx->notify.ready_sent = ctx->restore->ready_sent;
    sup_notify_reloaded(ctx);
    ctx->upgrade_roll_pending = true;
    ctx->upgrade_roll_at_ms = sup_now_ms() + SUP_UPGRADE_SETTLE_MS;
    wsf_log_info("upgrade %llu: running %s; kept %u workers and %zu listen addresses",
                 (unsigned long long)ctx->upgrades, ctx->exe, workers, ctx->nlistens);
}

void sup_upgrade_tick(sup_ctx *ctx, uint64_t now)
{
    if (!ctx->upgrade_roll_pending || ctx->stopping)
        return;
    bool heard_all = true;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        if (s->pid != 0 && s->lc.state == SUP_SLOT_RUNNING && !s->has_peer)
            heard_all = false;
    }
    /* Until a worker reported, the new image cannot command it: a drain would be a SIGTERM. */
    if (!heard_all && now < ctx->upgrade_roll_at_ms)
        return;
    ctx->upgrade_roll_pending = false;
    if (ctx->upgrade_settings) {
        ctx->upgrade_settings = false;
        wsf_log_info("upgrade: the configuration changed the workers' settings: restarting every "
                     "worker one at a time");
        sup_roll_renew(ctx);
        return;
    }
    sup_binid cur;
    int rc = sup_binid_of(&cur, ctx->worker_bin);
    if (rc != 0) {
        wsf_log_warn("upgrade: cannot stat the worker binary %s: %s; no worker restarted",
                     ctx->worker_bin, strerror(-rc));
        return;
    }
    unsigned stale = 0;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        const sup_slot *s = &ctx->slots[i];
        stale += s->pid != 0 && s->wanted && !sup_binid_equal(&s->bin, &cur);
    }
    if (stale == 0) {
        wsf_log_info("upgrade: every worker runs the current %s; none restarted", ctx->worker_bin);
        return;
    }
    wsf_log_info("upgrade: %u workers run a replaced %s: restarting them one at a time", stale,
                 ctx->worker_bin);
    sup_roll_binary(ctx, &cur);
}
