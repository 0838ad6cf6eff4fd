/* wsworker: a WebSocket worker process. Standalone: wsworker --listen HOST:PORT. */
#include <stdlib.h>

#include "wk_config.h"
#include "wk_worker.h"
#include "wsf_log.h"

/* Exit codes: 0 clean, 100 cannot boot (configuration, bind), 111 temporary failure. */
#define WK_EXIT_PERMANENT 100
#define WK_EXIT_TEMPORARY 111

static const char *wk_getenv(const char *name, void *arg)
{
    (void)arg;
    return getenv(name);
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
    if (wk_ctx_init(&ctx, &cfg) != 0) {
        wk_ctx_fini(&ctx);
        return WK_EXIT_PERMANENT;
    }
    rc = wk_ctx_run(&ctx);
    wk_ctx_fini(&ctx);
    return rc == 0 ? EXIT_SUCCESS : WK_EXIT_TEMPORARY;
}
