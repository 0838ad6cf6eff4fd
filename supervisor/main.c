/* wsfleetd: supervises a fleet of wsworker processes. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sup_config.h"
#include "sup_ctx.h"
#include "sup_rundir.h"
#include "wsf_log.h"

/* A bad command line, configuration or run dir: starting again as is would fail the same way. */
#define SUP_EXIT_USAGE 2

/* Detaches from the terminal's session; the parent reports the pid and returns. */
static int sup_daemonize(void)
{
    pid_t pid = fork();
    if (pid == -1) {
        perror("wsfleetd: fork");
        return -1;
    }
    if (pid > 0) {
        printf("wsfleetd: running in the background as pid %d\n", (int)pid);
        exit(EXIT_SUCCESS);
    }
    setsid();
    return 0;
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
    wsf_log_init("wsfleetd", WSF_LOG_INFO);
    /* Before the fork, so the refusal reaches the caller's exit status; the daemon inherits the
     * lock (flock belongs to the open file, which the fork shares). */
    sup_rundir rundir;
    if (sup_rundir_open(&rundir, cfg.run_dir, (unsigned)geteuid(), err, sizeof err) != 0) {
        wsf_log_error("%s", err);
        return SUP_EXIT_USAGE;
    }
    if (!cfg.foreground && sup_daemonize() != 0)
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
    int rc = sup_ctx_init(ctx, &cfg) == 0 ? sup_ctx_run(ctx) : EXIT_FAILURE;
    sup_ctx_fini(ctx); /* removes the endpoints while the lock is still held */
    free(ctx);
    sup_rundir_close(&rundir);
    return rc;
}
