/* wsworker: a WebSocket worker process. Standalone: wsworker --listen HOST:PORT. */
#include <stdlib.h>
#include <string.h>

#include "wk_config.h"
#include "wk_worker.h"
#include "wsf_limits.h"
#include "wsf_log.h"

/* Exit codes: 0 clean, 100 cannot boot (configuration, bind), 111 temporary failure. */
#define WK_EXIT_PERMANENT 100
#define WK_EXIT_TEMPORARY 111

static const char *wk_getenv(const char *name, void *arg)
{
    (void)arg;
    return getenv(name);
}

/* Raises the open-file limit; under wsfleetd the supervisor already said whether
 * max_connections fits, so only a standalone worker says it. */
static void wk_raise_nofile(const wk_config *cfg)
{
    uint64_t nofile;
    int rc = wsf_nofile_raise(&nofile);
    if (rc != 0)
        wsf_log_warn("cannot raise the open-file limit: %s", strerror(-rc));
    else if (cfg->supervisor == NULL && !wsf_nofile_fits(nofile, cfg->max_connections))
        wsf_log_warn("max_connections %u needs %llu open files, but the limit is %llu "
                     "(raise the hard limit: ulimit -Hn, LimitNOFILE=)",
                     cfg->max_connections,
                     (unsigned long long)cfg->max_connections + WSF_NOFILE_RESERVE,
                     (unsigned long long)nofile);
}

int main(int argc, char **argv)
{
    wk_config cfg;
    wk_ctx ctx;

    wk_config_init(&cfg);
    int rc = wk_config_parse(&cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? EXIT_SUCCESS : WK_EXIT_PERMANENT;
    if (wk_config_from_env(&cfg, wk_getenv, NULL) != 0)
        return WK_EXIT_PERMANENT;
    wsf_log_init("wsworker", cfg.log_level);
    wk_raise_nofile(&cfg);
    if (wk_ctx_init(&ctx, &cfg) != 0) {
        wk_ctx_fini(&ctx);
        return WK_EXIT_PERMANENT;
    }
    rc = wk_ctx_run(&ctx);
    wk_ctx_fini(&ctx);
    return rc == 0 ? EXIT_SUCCESS : WK_EXIT_TEMPORARY;
}
