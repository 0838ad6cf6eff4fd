/* wsctl: the operator's tool for a running wsfleetd. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_args.h"
#include "ctl_output.h"
#include "ctl_run.h"

/* publish CHANNEL -: the data from stdin, checked like an argument. Returns 0, or prints why
 * and returns -1. */
static int ctl_read_stdin(ctl_args *args)
{
    size_t cap = 4 * WSF_CTL_DATA_MAX, len = 0; /* room for the spaces compaction drops */
    char *buf = malloc(cap);
    char err[256];
    int rc = -1;
    if (buf == NULL) {
        perror("wsctl");
        return -1;
    }
    size_t n;
    while (len < cap && (n = fread(buf + len, 1, cap - len, stdin)) > 0)
        len += n;
    if (ferror(stdin))
        fprintf(stderr, "wsctl: cannot read stdin\n");
    else if (len == cap)
        fprintf(stderr, "wsctl: publish: the data is longer than %zu bytes\n", cap);
    else if (ctl_set_data(&args->req, buf, len, err, sizeof err) != 0)
        fprintf(stderr, "wsctl: %s\n", err);
    else
        rc = 0;
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    static ctl_args args; /* holds a publication */
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
    if (args.data_stdin && ctl_read_stdin(&args) != 0)
        return CTL_EXIT_USAGE;
    if (ctl_socket_path(socket_path, sizeof socket_path, &args, getenv(CTL_RUN_DIR_ENV),
                        geteuid() == 0) != 0) {
        fprintf(stderr, "wsctl: control socket path too long\n%s", ctl_usage_hint);
        return CTL_EXIT_USAGE;
    }
    return ctl_run(&args, socket_path, stdout, stderr);
}
