/* Worker slots: spawning with a close-on-exec error pipe, reaping, the restart policy, hang
 * detection and drains. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sup_channels.h"
#include "sup_ctx.h"
#include "wsf_log.h"
#include "wsf_rand.h"

#define SUP_CHILD_FD_BASE 3 /* inherited listeners start here, the parent pipe follows */
#define SUP_MAX_ARGS 40

const char *sup_slot_state_name(enum sup_slot_state state)
{
    static const char *const names[] = {
        [SUP_SLOT_STOPPED] = "stopped", [SUP_SLOT_STARTING] = "starting",
        [SUP_SLOT_RUNNING] = "running", [SUP_SLOT_DRAINING] = "draining",
        [SUP_SLOT_BACKOFF] = "backoff", [SUP_SLOT_FAILED] = "failed",
    };
    return names[state];
}

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

/* Child side of the spawn: only async-signal-safe calls from here to exec. */
static void sup_child(const sup_ctx *ctx, const sup_slot *slot, char *const argv[],
                      char *const envp[], int err_fd)
{
    int nfds = 0;
    int moved[SUP_MAX_LISTEN + 1];

    /* First move every descriptor the worker inherits out of the way of the targets, then put
     * them in place: listeners at 3.., the parent pipe right after. */
    for (size_t i = 0; i < ctx->nlistens; i++)
        moved[nfds++] = fcntl(ctx->listens[i].fds[slot->index], F_DUPFD, 100);
    moved[nfds++] = fcntl(ctx->parent_pipe[0], F_DUPFD, 100);
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

int sup_slot_spawn(sup_ctx *ctx, sup_slot *slot)
{
    const sup_config *cfg = &ctx->cfg;
    char env_fds[128] = "WSF_LISTEN_FDS=", env_sup[352], env_slot[32], env_gen[48], env_parent[32];
    char *envp[64];
    char *argv[SUP_MAX_ARGS];
    char num[4][32];
    int nenv = 0, argc = 0, nnum = 0;
    extern char **environ;

    slot->generation++;
    /* The environment: the parent's, minus our own variables, plus the slot's. */
    for (char **e = environ; *e && nenv < 56; e++) {
        if (strncmp(*e, "WSF_", 4) != 0)
            envp[nenv++] = *e;
    }
    for (size_t i = 0; i < ctx->nlistens; i++) {
        size_t len = strlen(env_fds);
        snprintf(env_fds + len, sizeof env_fds - len, "%s%zu", i ? "," : "", SUP_CHILD_FD_BASE + i);
    }
    snprintf(env_sup, sizeof env_sup, "WSF_SUPERVISOR=%s", ctx->workers_endpoint);
    snprintf(env_slot, sizeof env_slot, "WSF_SLOT=%u", slot->index);
    snprintf(env_gen, sizeof env_gen, "WSF_GENERATION=%llu", (unsigned long long)slot->generation);
    snprintf(env_parent, sizeof env_parent, "WSF_PARENT_FD=%zu", SUP_CHILD_FD_BASE + ctx->nlistens);
    envp[nenv++] = env_fds;
    envp[nenv++] = env_sup;
    envp[nenv++] = env_slot;
    envp[nenv++] = env_gen;
    envp[nenv++] = env_parent;
    envp[nenv] = NULL;

#define SUP_ARG_NUM(flag, fmt, value)                                                              \
    do {                                                                                           \
        argv[argc++] = flag;                                                                       \
        snprintf(num[nnum], sizeof num[nnum], fmt, value);                                         \
        argv[argc++] = num[nnum++];                                                                \
    } while (0)
    argv[argc++] = (char *)ctx->worker_bin;
    SUP_ARG_NUM("--orphan-grace", "%.3f", cfg->orphan_grace_ms / 1000.0);
    SUP_ARG_NUM("--report-interval", "%.3f", cfg->report_interval_ms / 1000.0);
    SUP_ARG_NUM("--grace", "%.3f", cfg->drain_timeout_ms / 1000.0);
#undef SUP_ARG_NUM
    sup_worker_args wargs;
    sup_config_worker_args(&wargs, cfg);
    for (size_t i = 0; i < wargs.argc && argc < SUP_MAX_ARGS - 1; i++)
        argv[argc++] = wargs.argv[i];
    argc = sup_channels_worker_args(ctx, argv, argc, SUP_MAX_ARGS - 1);
    argv[argc] = NULL;

    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) == -1) {
        wsf_log_error("slot %u: pipe failed: %s", slot->index, strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == -1) {
        wsf_log_error("slot %u: fork failed: %s", slot->index, strerror(errno));
        close(errpipe[0]);
        close(errpipe[1]);
        return -1;
    }
    if (pid == 0) {
        close(errpipe[0]);
        sup_child(ctx, slot, argv, envp, errpipe[1]);
    }
    close(errpipe[1]);
    /* The write end closes at exec: EOF means the worker binary is running. */
    int child_errno = 0;
    ssize_t n;
    do
        n = read(errpipe[0], &child_errno, sizeof child_errno);
    while (n == -1 && errno == EINTR);
    close(errpipe[0]);

    uint64_t now = sup_now_ms();
    slot->pid = pid;
    slot->started_ms = now;
    slot->ready_ms = 0;
    slot->last_report_ms = now;
    slot->term_sent_ms = 0;
    slot->kill_sent = false;
    slot->has_peer = false;
    slot->has_report = false;
    slot->restart_after_exit = false;
    slot->accepting = true;
    slot->state = SUP_SLOT_STARTING;
    sup_stats_reset(&slot->stats);
    if (n > 0) {
        wsf_log_error("slot %u: cannot exec %s: %s", slot->index, ctx->worker_bin,
                      strerror(child_errno));
        return 0; /* the child exits 127; its reaping applies the restart policy */
    }
    wsf_log_info("slot %u: started worker pid %d (generation %llu)", slot->index, (int)pid,
                 (unsigned long long)slot->generation);
    return 0;
}

void sup_slot_on_exit(sup_ctx *ctx, sup_slot *slot, int status)
{
    uint64_t now = sup_now_ms();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 127)
        code = SUP_RESTART_EXIT_CANNOT_BOOT; /* exec failed: as good as "cannot boot" */
    if (WIFSIGNALED(status))
        wsf_log_warn("slot %u: worker pid %d killed by signal %d", slot->index, (int)slot->pid,
                     WTERMSIG(status));
    else
        wsf_log_info("slot %u: worker pid %d exited with %d", slot->index, (int)slot->pid,
                     WEXITSTATUS(status));
    slot->pid = 0;
    slot->has_peer = false;
    slot->has_report = false;

    bool wanted = !ctx->stopping && slot->wanted;
    if (!wanted) {
        slot->state = SUP_SLOT_STOPPED;
    } else if (slot->state == SUP_SLOT_DRAINING && slot->restart_after_exit) {
        /* A restart or drain we asked for: no backoff, no failure accounting. */
        slot->state = SUP_SLOT_BACKOFF;
        slot->restart_at_ms = now;
    } else {
        sup_restart_decision d = sup_restart_on_exit(&slot->restart, &ctx->cfg.restart, now,
                                                     slot->started_ms, code, sup_random(ctx));
        slot->state = d.failed ? SUP_SLOT_FAILED : SUP_SLOT_BACKOFF;
        slot->restart_at_ms = now + d.delay_ms;
        if (d.newly_failed)
            wsf_log_error("slot %u: FAILED (%s); retrying every %llu ms", slot->index,
                          d.cannot_boot ? "the worker cannot boot" : "crash loop",
                          (unsigned long long)ctx->cfg.restart.max_delay_ms);
        else
            wsf_log_info("slot %u: restarting in %llu ms%s", slot->index,
                         (unsigned long long)d.delay_ms, d.unstable ? " (unstable)" : "");
    }
    slot->term_sent_ms = 0;
    slot->kill_sent = false;
    slot->restart_after_exit = false;
    sup_sockets_steer(ctx);
}

void sup_slot_drain(sup_ctx *ctx, sup_slot *slot, uint32_t drain_ms, bool restart_after)
{
    if (slot->pid == 0) {
        if (!restart_after)
            slot->state = SUP_SLOT_STOPPED;
        return;
    }
    slot->state = SUP_SLOT_DRAINING;
    slot->restart_after_exit = restart_after;
    slot->accepting = false;
    /* The deadline after which the tick escalates to SIGKILL. */
    slot->restart_at_ms = sup_now_ms() + drain_ms + ctx->cfg.kill_grace_ms;
    sup_sockets_steer(ctx);
    wsf_command cmd = {.kind = WSF_CMD_DRAIN, .drain_ms = drain_ms};
    if (sup_send_command(ctx, slot, &cmd) != 0)
        kill(slot->pid, SIGTERM); /* not connected: the worker's own SIGTERM drain */
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
    const sup_config *cfg = &ctx->cfg;
    switch (slot->state) {
    case SUP_SLOT_STARTING:
    case SUP_SLOT_RUNNING:
        if (slot->term_sent_ms == 0 && now - slot->last_report_ms >= cfg->hang_timeout_ms) {
            wsf_log_warn("slot %u: worker pid %d sent no report for %llu ms: hung, SIGTERM",
                         slot->index, (int)slot->pid,
                         (unsigned long long)(now - slot->last_report_ms));
            kill(slot->pid, SIGTERM);
            slot->term_sent_ms = now;
        } else if (slot->term_sent_ms != 0 && !slot->kill_sent &&
                   now - slot->term_sent_ms >= cfg->kill_grace_ms) {
            wsf_log_warn("slot %u: worker pid %d still there %u ms after SIGTERM: SIGKILL",
                         slot->index, (int)slot->pid, cfg->kill_grace_ms);
            kill(slot->pid, SIGKILL);
            slot->kill_sent = true;
        }
        if (slot->state == SUP_SLOT_RUNNING &&
            sup_restart_on_uptime(&slot->restart, &cfg->restart, now, slot->started_ms))
            wsf_log_info("slot %u: stable again", slot->index);
        break;
    case SUP_SLOT_DRAINING:
        if (now >= slot->restart_at_ms && !slot->kill_sent) {
            wsf_log_warn("slot %u: worker pid %d did not finish draining: SIGKILL", slot->index,
                         (int)slot->pid);
            kill(slot->pid, SIGKILL);
            slot->kill_sent = true;
        }
        break;
    case SUP_SLOT_BACKOFF:
    case SUP_SLOT_FAILED:
        if (!ctx->stopping && slot->wanted && now >= slot->restart_at_ms) {
            enum sup_slot_state before = slot->state;
            if (sup_slot_spawn(ctx, slot) != 0) {
                slot->state = before;
                slot->restart_at_ms = now + cfg->restart.max_delay_ms;
            }
        }
        break;
    case SUP_SLOT_STOPPED:
    default:
        break;
    }
}
