/* One wsctl invocation: the request to the supervisor, its answer rendered, the exit code. */
#ifndef CTL_RUN_H
#define CTL_RUN_H

#include <stdio.h>

#include "ctl_args.h"

/* wsctl's exit codes. */
enum ctl_exit {
    CTL_EXIT_OK = 0,
    CTL_EXIT_REFUSED = 1,    /* the supervisor answered ok = false */
    CTL_EXIT_USAGE = 2,      /* bad command line */
    CTL_EXIT_UNREACHABLE = 3 /* no socket, no answer within the timeout, or no usable answer */
};

/* Sends args->req to the supervisor whose control socket is socket_path (a filesystem path;
 * the endpoint is "ipc://" + path), waiting at most args->timeout_ms. Writes the rendered answer
 * to out and one diagnostic line per failure to err. Returns an enum ctl_exit value. */
int ctl_run(const ctl_args *args, const char *socket_path, FILE *out, FILE *err);

#endif
