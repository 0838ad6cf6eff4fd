/* wsfleetd: supervises a fleet of wsworker processes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sup_config.h"
#include "sup_channels.h"
#include "sup_ctx.h"
#include "sup_admin.h"
#include "sup_admin_setup.h"
#include "sup_tls.h"
#include "sup_natsd.h"
#include "sup_rundir.h"
#include "sup_upgrade.h"
#include "wsf_limits.h"
#include "wsf_log.h"

/* A bad command line, configuration or run dir: starting again as is would fail the same way. */
#define SUP_EXIT_USAGE 2

/* Detaches from the terminal's session. The parent waits for the child's verdict on its set-up
 * (one byte on a pipe: 0, or the exit code it is about to exit with), so that a refusal such as
 * a taken listen address reaches the shell as that code; then it reports the pid and exits.
 * Returns 0 in the child with *verdict_fd the pipe's write end, or -1. */
static int sup_daemonize(int *verdict_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) == -1) {
        perror("wsfleetd: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid == -1) {
        perror("wsfleetd: fork");
        return -1;
    }
    if (pid > 0) {
        unsigned char code = EXIT_FAILURE;
        ssize_t n;
        close(p[1]);
        while ((n = read(p[0], &code, 1)) == -1 && errno == EINTR)
            ;
        if (n == 1 && code == 0)
            printf("wsfleetd: running in the background as pid %d\n", (int)pid);
        exit(n == 1 ? code : EXIT_FAILURE); /* no byte: the child died setting up */
    }
    close(p[0]);
    setsid();
    *verdict_fd = p[1];
    return 0;
}

/* Tells a waiting parent (see sup_daemonize) how set-up went; -1 is a no-op. */
static void sup_verdict(int *verdict_fd, int code)
{
    if (*verdict_fd == -1)
        return;
    unsigned char c = (unsigned char)code;
    while (write(*verdict_fd, &c, 1) == -1 && errno == EINTR)
        ;
    close(*verdict_fd);
    *verdict_fd = -1;
}

/* Raises the open-file limit for wsfleetd and, inherited, its workers, and says once when a
 * worker's max_connections cannot fit even so. */
static void sup_raise_nofile(const sup_config *cfg)
{
    uint64_t nofile;
    int rc = wsf_nofile_raise(&nofile);
    if (rc != 0) {
        wsf_log_warn("cannot raise the open-file limit: %s", strerror(-rc));
        return;
    }
    uint64_t conns =
        cfg->worker.max_connections != 0 ? cfg->worker.max_connections : WSF_WORKER_MAX_CONNECTIONS;
    if (!wsf_nofile_fits(nofile, conns))
        wsf_log_warn("[worker] max_connections %llu needs %llu open files per worker, but the "
                     "limit is %llu (raise the hard limit: ulimit -Hn, LimitNOFILE=)",
                     (unsigned long long)conns, (unsigned long long)conns + WSF_NOFILE_RESERVE,
                     (unsigned long long)nofile);
}

int main(int argc, char **argv)
{
    sup_config cfg;
    char err[SUP_CONFIG_ERR_MAX];

    sup_config_init(&cfg, (unsigned)geteuid(), sysconf(_SC_NPROCESSORS_ONLN));
    switch (sup_config_parse(&cfg, argc, argv, err, sizeof err)) {
    case SUP_CONFIG_RUN:
        break;
    case SUP_CONFIG_HELP:
        fputs(sup_config_usage(), stdout);
        return EXIT_SUCCESS;
    case SUP_CONFIG_VERSION:
        puts("wsfleetd " WSF_VERSION);
        return EXIT_SUCCESS;
    default:
        fprintf(stderr, "wsfleetd: %s\n", err);
        return SUP_EXIT_USAGE;
    }
    if (sup_tls_check(&cfg, err, sizeof err) != 0 || sup_admin_check(&cfg, err, sizeof err) != 0) {
        fprintf(stderr, "wsfleetd: %s\n", err);
        return SUP_EXIT_USAGE;
    }
    char natsd[PATH_MAX];
    if (cfg.nats_url[0] == '\0' && sup_natsd_find_exe(natsd, sizeof natsd) != 0) {
        /* The sidecar is part of the configuration: refused before anything starts. */
        fprintf(stderr, "wsfleetd: %s\n", SUP_NATSD_MISSING);
        return SUP_EXIT_USAGE;
    }
    wsf_log_init("wsfleetd", WSF_LOG_INFO);
    /* An upgrade's new image: same pid, already detached, holding the run dir's lock. */
    sup_upgrade_state *restore = NULL;
    if (sup_upgrade_load(&restore) < 0)
        return EXIT_FAILURE;
    sup_raise_nofile(&cfg);
    /* Before the fork, so the refusal reaches the caller's exit status; the daemon inherits the
     * lock (flock belongs to the open file, which the fork shares). */
    sup_rundir rundir;
    if (sup_rundir_open_held(&rundir, cfg.run_dir, (unsigned)geteuid(),
                             restore != NULL ? restore->lock_fd : -1, err, sizeof err) != 0) {
        wsf_log_error("%s", err);
        free(restore);
        return SUP_EXIT_USAGE;
    }
    int verdict_fd = -1;
    if (!cfg.foreground && restore == NULL && sup_daemonize(&verdict_fd) != 0)
        return EXIT_FAILURE;
    /* Only for the next supervisor's refusal message: best effort. */
    sup_rundir_write_pid(&rundir, getpid());
    sup_ctx *ctx = calloc(1, sizeof *ctx); /* large: five minutes of history per slot */
    if (ctx == NULL) {
        perror("wsfleetd");
        return EXIT_FAILURE;
    }
    ctx->argc = argc;
    ctx->argv = argv;
    ctx->euid = (unsigned)geteuid();
    ctx->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    ctx->rundir = &rundir;
    ctx->restore = restore;
    /* Resolved now: after a package replaced the file, /proc/self/exe names a deleted inode,
     * and an upgrade must run the file now at this path. */
    if (restore != NULL) {
        snprintf(ctx->exe, sizeof ctx->exe, "%s", restore->exe);
    } else {
        ssize_t n = readlink("/proc/self/exe", ctx->exe, sizeof ctx->exe - 1);
        ctx->exe[n > 0 ? n : 0] = '\0';
    }
    int rc = sup_ctx_init(ctx, &cfg);
    ctx->restore = NULL;
    free(restore);
    if (rc == 0) {
        sup_verdict(&verdict_fd, 0);
        rc = sup_ctx_run(ctx);
    } else {
        rc = rc == SUP_SOCKETS_TAKEN || rc == SUP_NATSD_ENOEXEC || rc == SUP_CHANNELS_CONFLICT
                 ? SUP_EXIT_USAGE
                 : EXIT_FAILURE;
        sup_verdict(&verdict_fd, rc);
    }
    sup_ctx_fini(ctx); /* removes the endpoints while the lock is still held */
    free(ctx);
    sup_rundir_close(&rundir);
    return rc;
}
