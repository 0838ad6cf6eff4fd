/* wsload: a single-threaded WebSocket load generator (client role) on wsfleet's own codec. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "chaos_proc.h"
#include "chaos_wsload.h"

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        puts("wsload " WSF_VERSION);
        return 0;
    }
    chaos_wsload_opts opts;
    int rc = chaos_wsload_parse(&opts, argc, argv);
    if (rc != 0) {
        return rc > 0 ? 0 : 2;
    }
    long nofile = chaos_proc_raise_nofile();
    if (nofile < 0) {
        fprintf(stderr, "wsload: cannot raise RLIMIT_NOFILE: %s\n", strerror((int)-nofile));
    } else if ((unsigned long)nofile < opts.load.connections + 16) {
        fprintf(stderr, "wsload: warning: %zu connections but only %ld file descriptors\n",
                opts.load.connections, nofile);
    }
    signal(SIGPIPE, SIG_IGN);
    rc = chaos_wsload_run(&opts);
    return rc < 0 ? 2 : rc;
}
