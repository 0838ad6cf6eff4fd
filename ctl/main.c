/* wsctl: the operator's tool for a running wsfleetd. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_args.h"
#include "ctl_output.h"
#include "ctl_run.h"

int main(int argc, char **argv)
{
    ctl_args args;
    char err[256];
    char socket_path[PATH_MAX];

    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("wsctl %s\n", ctl_version);
        return CTL_EXIT_OK;
    }
    int rc = ctl_args_parse(&args, argc, argv, err, sizeof err);
    if (rc == CTL_PARSE_HELP) {
        fputs(ctl_usage, stdout);
        return CTL_EXIT_OK;
    }
    if (rc != CTL_PARSE_RUN) {
        fprintf(stderr, "wsctl: %s\n%s", err, ctl_usage_hint);
        return CTL_EXIT_USAGE;
    }
    if (ctl_socket_path(socket_path, sizeof socket_path, &args, getenv(CTL_RUN_DIR_ENV),
                        geteuid() == 0) != 0) {
        fprintf(stderr, "wsctl: control socket path too long\n%s", ctl_usage_hint);
        return CTL_EXIT_USAGE;
    }
    return ctl_run(&args, socket_path, stdout, stderr);
}
