/* Worker slots: the executor of the lifecycle table (spawning with a close-on-exec error pipe,
 * signals, drains, steering) and the intake of each slot's Hello and Reports. */
#include "sup_slot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sup_adopt.h"
#include "sup_channels.h"
#include "sup_cfgargs.h"
#include "sup_ctx.h"
#include "wsf_buf.h"
#include "sup_admin.h"
#include "wsf_log.h"
#include "wsf_rand.h"

#define SUP_CHILD_FD_BASE 3       /* inherited listeners start here, the parent pipe follows */
#define SUP_STRANGER_LOG_MS 60000 /* a stranger claiming a slot is logged once a minute */
#define SUP_SLOT_ENV 7            /* WSF_ variables the supervisor sets for a worker */
#define SUP_SLOT_FIXED_ARGS 7     /* the binary and three flags with their values */

double sup_random(sup_ctx *ctx)
{
    return wsf_rand_unit(&ctx->rng);
}

int sup_send_command(sup_ctx *ctx, sup_slot *slot, wsf_command *cmd)
{
    if (!slot->has_peer)
        return -ENOTCONN;
    cmd->id = ++ctx->command_id;
    int rc = wsf_ipc_send_command(ctx->workers_ipc, &slot->peer, cmd);
    if (rc != 0)
        wsf_log_warn("slot %u (pid %d): command %d not delivered: %s", slot->index, (int)slot->pid,
                     (int)cmd->kind, strerror(-rc));
    return rc;
}

/* Child side of the spawn: only async-signal-safe calls from here to exec. moved has room for
 * every descriptor the worker inherits. */
static void sup_child(const sup_ctx *ctx, const sup_slot *slot, char *const argv[],
                      char *const envp[], int err_fd, int *moved)
{
    int nfds = 0;

    /* First move every descriptor the worker inherits above the targets, then put them in
     * place: listeners at 3.., the parent pipe right after, then a copy of every listener of
     * every slot (the groups: while any worker lives, no member of a group closes, so a new
     * supervisor can adopt them in their order). Just above, not at a fixed high number, which
     * a low RLIMIT_NOFILE would refuse. */
    int above = SUP_CHILD_FD_BASE + (int)ctx->nlistens + 1 + (int)(ctx->nlistens * ctx->nslots);
    for (size_t i = 0; i < ctx->nlistens; i++)
        moved[nfds++] = fcntl(ctx->listens[i].fds[slot->index], F_DUPFD, above);
    moved[nfds++] = fcntl(ctx->parent_pipe[0], F_DUPFD, above);
    for (size_t i = 0; i < ctx->nlistens; i++) {
        for (unsigned s = 0; s < ctx->nslots; s++)
            moved[nfds++] = fcntl(ctx->listens[i].fds[s], F_DUPFD, above);
    }
    for (int i = 0; i < nfds; i++) {
        if (moved[i] == -1 || dup2(moved[i], SUP_CHILD_FD_BASE + i) == -1)
            goto fail;
        close(moved[i]);
    }
    /* Its own process group: a terminal's Ctrl-C reaches only the supervisor, which drains
     * the workers gradually instead of all of them closing every connection at once. */
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(argv[0], argv, envp);
fail:;
    int e = errno;
    ssize_t w = write(err_fd, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* A worker's command line and environment, each allocated once at its exact size: the
 * supervisor's environment minus its own WSF_ variables, plus the slot's. */
typedef struct sup_spawn_args {
    char **argv;
    char **envp;
    char env_fds[128];
    char env_tls_fds[128];
    char env_sup[352];
    char env_slot[32];
    char env_gen[48];
    char env_parent[32];
    char env_group[64];
    int *moved; /* the child's scratch for its descriptors */
    char num[3][32];
    sup_worker_args wargs;
} sup_spawn_args;

static void sup_spawn_args_init(sup_spawn_args *a, const sup_ctx *ctx, const sup_slot *slot)
{
    extern char **environ;
    const sup_config *cfg = &ctx->cfg;
    size_t nenv = 0, argc = 0;

    for (char **e = environ; *e != NULL; e++)
        nenv += strncmp(*e, "WSF_", 4) != 0;
    a->envp = wsf_xcalloc(nenv + SUP_SLOT_ENV + 1, sizeof *a->envp);
    nenv = 0;
    for (char **e = environ; *e != NULL; e++) {
        if (strncmp(*e, "WSF_", 4) != 0)
            a->envp[nenv++] = *e;
    }
    /* Listener i is at descriptor 3 + i; the TLS ones are named apart. */
    size_t len = (size_t)snprintf(a->env_fds, sizeof a->env_fds, "WSF_LISTEN_FDS=");
    size_t tlen = (size_t)snprintf(a->env_tls_fds, sizeof a->env_tls_fds, "WSF_TLS_LISTEN_FDS=");
    size_t ntls = 0;
    for (size_t i = 0; i < ctx->nlistens; i++) {
        bool tls = ctx->listens[i].tls;
        char *b = tls ? a->env_tls_fds : a->env_fds;
        size_t *n = tls ? &tlen : &len;
        size_t cap = tls ? sizeof a->env_tls_fds : sizeof a->env_fds;
        bool first = b[*n - 1] == '=';
        *n += (size_t)snprintf(b + *n, cap - *n, "%s%zu", first ? "" : ",", SUP_CHILD_FD_BASE + i);
        ntls += tls;
    }
    snprintf(a->env_sup, sizeof a->env_sup, "WSF_SUPERVISOR=%s", ctx->workers_endpoint);
    snprintf(a->env_slot, sizeof a->env_slot, "WSF_SLOT=%u", slot->index);
    snprintf(a->env_gen, sizeof a->env_gen, "WSF_GENERATION=%llu",
             (unsigned long long)slot->generation);
    snprintf(a->env_parent, sizeof a->env_parent, "WSF_PARENT_FD=%zu",
             SUP_CHILD_FD_BASE + ctx->nlistens);
    a->envp[nenv++] = a->env_fds;
    if (ntls > 0)
        a->envp[nenv++] = a->env_tls_fds;
    a->envp[nenv++] = a->env_sup;
    a->envp[nenv++] = a->env_slot;
    a->envp[nenv++] = a->env_gen;
    snprintf(a->env_group, sizeof a->env_group, "WSF_GROUP_FDS=%zu,%zu,%u",
             SUP_CHILD_FD_BASE + ctx->nlistens + 1, ctx->nlistens, ctx->nslots);
    a->envp[nenv++] = a->env_parent;
    if (ctx->nlistens > 0)
        a->envp[nenv++] = a->env_group;
    a->envp[nenv] = NULL;
    a->moved = wsf_xcalloc(ctx->nlistens * (ctx->nslots + 1) + 1, sizeof *a->moved);

    sup_config_worker_args(&a->wargs, cfg);
    a->argv = wsf_xcalloc(SUP_SLOT_FIXED_ARGS + a->wargs.argc + SUP_CHANNELS_WORKER_ARGS + 1,
                          sizeof *a->argv);
    snprintf(a->num[0], sizeof a->num[0], "%.3f", cfg->orphan_grace_ms / 1000.0);
    snprintf(a->num[1], sizeof a->num[1], "%.3f", cfg->report_interval_ms / 1000.0);
    snprintf(a->num[2], sizeof a->num[2], "%.3f", cfg->drain_timeout_ms / 1000.0);
    a->argv[argc++] = (char *)ctx->worker_bin;
    a->argv[argc++] = "--orphan-grace";
    a->argv[argc++] = a->num[0];
    a->argv[argc++] = "--report-interval";
    a->argv[argc++] = a->num[1];
    a->argv[argc++] = "--grace";
    a->argv[argc++] = a->num[2];
    for (size_t i = 0; i < a->wargs.argc; i++)
        a->argv[argc++] = a->wargs.argv[i];
    argc = sup_channels_worker_args(ctx, a->argv, argc);
    a->argv[argc] = NULL;
}

static void sup_spawn_args_fini(sup_spawn_args *a)
{
    free(a->argv);
    free(a->envp);
    free(a->moved);
}

/* Forks and execs the slot's worker. Returns 0 with slot->pid set (an exec failure shows as the
 * child's exit 127), or -errno when no process could be made. */
static int sup_slot_fork(sup_ctx *ctx, sup_slot *slot)
{
    sup_spawn_args *a = wsf_xcalloc(1, sizeof *a);
    int errpipe[2] = {-1, -1};
    int rc = 0;

    sup_spawn_args_init(a, ctx, slot);
    if (pipe2(errpipe, O_CLOEXEC) == -1) {
        rc = -errno;
        wsf_log_error("slot %u: cannot spawn a worker: pipe: %s", slot->index, strerror(-rc));
        goto out;
    }
    pid_t pid = fork();
    if (pid == -1) {
        rc = -errno;
        wsf_log_error("slot %u: cannot spawn a worker: fork: %s", slot->index, strerror(-rc));
        goto out;
    }
    if (pid == 0) {
        close(errpipe[0]);
        sup_child(ctx, slot, a->argv, a->envp, errpipe[1], a->moved);
    }
    close(errpipe[1]);
    errpipe[1] = -1;
    /* The write end closes at exec: EOF means the worker binary is running. */
    int child_errno = 0;
    ssize_t n;
    do
        n = read(errpipe[0], &child_errno, sizeof child_errno);
    while (n == -1 && errno == EINTR);
    slot->pid = pid;
    if (n > 0)
        wsf_log_error("slot %u: cannot exec %s: %s", slot->index, ctx->worker_bin,
                      strerror(child_errno));
    else {
        wsf_log_info("slot %u: started worker pid %d (generation %llu)", slot->index, (int)pid,
                     (unsigned long long)slot->generation);
        sup_events_add(ctx, "start", (int)slot->index, "worker pid %d started (generation %llu)",
                       (int)pid, (unsigned long long)slot->generation);
    }
out:
    for (int i = 0; i < 2; i++) {
        if (errpipe[i] != -1)
            close(errpipe[i]);
    }
    sup_spawn_args_fini(a);
    free(a);
    return rc;
}

/* The SPAWN action: a new generation, a fork, and its outcome fed back as an event. */
static void sup_slot_spawn(sup_ctx *ctx, sup_slot *slot)
{
    slot->generation++;
    slot->spawn_seq = ++ctx->spawns;
    /* What the worker runs, so an upgrade can tell whether the file was replaced since. */
    if (sup_binid_of(&slot->bin, ctx->worker_bin) != 0)
        memset(&slot->bin, 0, sizeof slot->bin);
    if (sup_slot_fork(ctx, slot) != 0) {
        sup_slot_event(ctx, slot, SUP_LC_EV_SPAWN_FAILED, 0, 0);
        return;
    }
    slot->started_ms = sup_now_ms();
    slot->ready_ms = 0;
    slot->last_report_ms = slot->started_ms;
    slot->has_peer = false;
    slot->has_report = false;
    slot->accepting = true;
    sup_stats_reset(&slot->stats);
    sup_slot_event(ctx, slot, SUP_LC_EV_SPAWN_OK, 0, 0);
}

/* The READY action: the worker is up and connected. */
static void sup_slot_ready(sup_ctx *ctx, sup_slot *slot)
{
    uint64_t now = sup_now_ms();
    slot->ready_ms = now;
    wsf_log_info("slot %u: worker pid %d ready", slot->index, (int)slot->pid);
    if (slot->generation > 1) {
        /* A new worker in the slot: the old one's failures no longer count. */
        sup_breaker_actions acts;
        if (sup_breaker_on_recycled(&acts, &slot->breaker, &ctx->cfg.breaker, now) == 0)
            sup_breaker_apply(ctx, slot, &acts);
    }
    /* A zero baseline, so rates count what happens before the first Report too. */
    wsf_report zero = {
        .pid = (uint32_t)slot->pid, .slot = slot->index, .generation = slot->generation};
    sup_stats_add(&slot->stats, &zero, now);
    if (!slot->accepting) {
        wsf_command cmd = {.kind = WSF_CMD_SET_ACCEPTING, .accepting = false};
        sup_send_command(ctx, slot, &cmd);
    }
}

static void sup_slot_signal(sup_slot *slot, int sig)
{
    if (slot->pid > 0 && kill(slot->pid, sig) == -1 && errno != ESRCH)
        wsf_log_warn("slot %u: cannot signal worker pid %d: %s", slot->index, (int)slot->pid,
                     strerror(errno));
}

static void sup_slot_log(const sup_slot *slot, const sup_lifecycle_out *out)
{
    switch (out->level) {
    case SUP_LC_ERROR:
        wsf_log_error("slot %u: %s", slot->index, out->reason);
        break;
    case SUP_LC_WARN:
        wsf_log_warn("slot %u: %s", slot->index, out->reason);
        break;
    default:
        wsf_log_info("slot %u: %s", slot->index, out->reason);
        break;
    }
}

void sup_slot_event(sup_ctx *ctx, sup_slot *slot, enum sup_lifecycle_event ev, int exit_code,
                    uint32_t drain_ms)
{
    sup_lifecycle_policy p = {
        .hang_timeout_ms = ctx->cfg.hang_timeout_ms,
        .kill_grace_ms = ctx->cfg.kill_grace_ms,
        .restart = &ctx->cfg.restart,
    };
    sup_lifecycle_in in = {
        .p = &p,
        .wanted = slot->wanted && !ctx->stopping,
        .pid = (int)slot->pid,
        .exit_code = exit_code,
        .drain_ms = drain_ms,
        .rnd = sup_random(ctx),
    };
    sup_lifecycle_out out;
    if (sup_lifecycle_step(&out, &slot->lc, ev, sup_observed_ms(ctx), &in) != 0)
        return;
    if (out.acts & SUP_LC_ACT_LOG) {
        sup_slot_log(slot, &out);
        sup_events_add(ctx, out.level == SUP_LC_ERROR ? "failed" : "lifecycle", (int)slot->index,
                       "%s", out.reason);
    }
    if (out.acts & SUP_LC_ACT_DRAIN) {
        slot->accepting = false;
        wsf_command cmd = {.kind = WSF_CMD_DRAIN, .drain_ms = drain_ms};
        if (sup_send_command(ctx, slot, &cmd) != 0)
            sup_slot_signal(slot, SIGTERM); /* not connected: the worker's own SIGTERM drain */
    }
    if (out.acts & SUP_LC_ACT_TERM)
        sup_slot_signal(slot, SIGTERM);
    if (out.acts & SUP_LC_ACT_KILL)
        sup_slot_signal(slot, SIGKILL);
    if (out.acts & SUP_LC_ACT_GONE) {
        slot->pid = 0;
        slot->has_peer = false;
        slot->has_report = false;
    }
    if (out.acts & SUP_LC_ACT_SPAWN)
        sup_slot_spawn(ctx, slot);
    if (out.acts & SUP_LC_ACT_READY)
        sup_slot_ready(ctx, slot);
    if (out.acts & SUP_LC_ACT_STEER)
        sup_sockets_steer(ctx);
    if (out.from != out.to || (out.acts & SUP_LC_ACT_READY))
        sup_roll_on_slot(ctx, slot);
    sup_adopt_on_slot(ctx, slot);
}

void sup_slot_on_exit(sup_ctx *ctx, sup_slot *slot, int status)
{
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (code == 127)
        code = SUP_RESTART_EXIT_CANNOT_BOOT; /* exec failed: as good as "cannot boot" */
    if (sig != 0) {
        wsf_log_warn("slot %u: worker pid %d killed by signal %d", slot->index, (int)slot->pid,
                     sig);
        sup_events_add(ctx, "exit", (int)slot->index, "worker pid %d killed by signal %d",
                       (int)slot->pid, sig);
    } else {
        wsf_log_info("slot %u: worker pid %d exited with %d", slot->index, (int)slot->pid,
                     WEXITSTATUS(status));
        sup_events_add(ctx, "exit", (int)slot->index, "worker pid %d exited with %d",
                       (int)slot->pid, WEXITSTATUS(status));
    }
    sup_slot_event(ctx, slot, SUP_LC_EV_EXIT, code, 0);
}

void sup_slot_on_msg(sup_ctx *ctx, sup_slot *slot, const wsf_ipc_peer *peer,
                     const wsf_worker_msg *m)
{
    bool hello = m->kind == WSF_WMSG_HELLO;
    uint64_t generation = hello ? m->hello.generation : m->report.generation;
    uint32_t pid = hello ? m->hello.pid : m->report.pid;
    if (slot->pid == 0 || generation != slot->generation)
        return; /* a previous generation's last words */
    uint64_t now = sup_now_ms();
    if (pid != (uint32_t)slot->pid) {
        /* Not the slot's child: it may not feed the breaker nor receive the slot's commands. */
        if (pid != slot->stranger_pid || now - slot->stranger_log_ms >= SUP_STRANGER_LOG_MS) {
            slot->stranger_pid = pid;
            slot->stranger_log_ms = now;
            wsf_log_warn("slot %u: ignoring a %s from pid %u, which is not the slot's worker "
                         "(pid %d)",
                         slot->index, hello ? "Hello" : "Report", pid, (int)slot->pid);
        }
        return;
    }
    slot->last_report_ms = now;
    slot->peer = *peer;
    slot->has_peer = true;
    if (hello) {
        sup_slot_event(ctx, slot, SUP_LC_EV_HELLO, 0, 0);
        return;
    }
    sup_slot_event(ctx, slot, SUP_LC_EV_REPORT, 0, 0);
    if (slot->has_report) {
        /* The breaker learns from what happened between two Reports of the same worker. */
        sup_breaker_sample sample;
        sup_breaker_actions acts;
        sup_breaker_sample_from(&sample, &slot->report, &m->report);
        if (sup_breaker_feed(&acts, &slot->breaker, &ctx->cfg.breaker, &sample, now,
                             sup_random(ctx)) == 0)
            sup_breaker_apply(ctx, slot, &acts);
    }
    slot->report = m->report;
    slot->has_report = true;
    sup_stats_add(&slot->stats, &m->report, now);
}

void sup_slot_drain(sup_ctx *ctx, sup_slot *slot, uint32_t drain_ms, bool restart_after)
{
    if (slot->pid != 0)
        sup_events_add(ctx, "drain", (int)slot->index, "draining worker pid %d over %u ms%s",
                       (int)slot->pid, drain_ms, restart_after ? ", then a new one" : "");
    sup_slot_event(ctx, slot, restart_after ? SUP_LC_EV_DRAIN : SUP_LC_EV_UNWANT, 0, drain_ms);
}

void sup_slot_set_accepting(sup_ctx *ctx, sup_slot *slot, bool on)
{
    slot->accepting = on;
    sup_sockets_steer(ctx);
    wsf_command cmd = {.kind = WSF_CMD_SET_ACCEPTING, .accepting = on};
    sup_send_command(ctx, slot, &cmd);
}

void sup_slot_tick(sup_ctx *ctx, sup_slot *slot, uint64_t now)
{
    sup_lifecycle_policy p = {
        .hang_timeout_ms = ctx->cfg.hang_timeout_ms,
        .kill_grace_ms = ctx->cfg.kill_grace_ms,
        .restart = &ctx->cfg.restart,
    };
    sup_lifecycle_in in = {.p = &p, .wanted = slot->wanted && !ctx->stopping};
    enum sup_lifecycle_event ev = sup_lifecycle_due(&slot->lc, now, &in);
    if (ev == SUP_LC_EV_TICK && slot->lc.state != SUP_SLOT_RUNNING)
        return; /* only a running slot's streak has something to learn from the clock */
    sup_slot_event(ctx, slot, ev, 0, 0);
}
