/* wsctl's command line: argv to a control request and the options around it. Pure: no I/O. */
#ifndef CTL_ARGS_H
#define CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "wsf_msg.h"

#define CTL_DEFAULT_TIMEOUT_MS 2000
#define CTL_RUN_DIR_ROOT "/run/wsfleet"
#define CTL_RUN_DIR_USER "./run"
#define CTL_RUN_DIR_ENV "WSFLEET_RUN_DIR"

typedef struct ctl_args {
    wsf_ctl_request req;
    const char *socket;  /* -s/--socket PATH, borrowed from argv; NULL when not given */
    const char *run_dir; /* --run-dir DIR, borrowed from argv; NULL when not given */
    bool json;           /* --json */
    int timeout_ms;      /* --timeout SEC (2) */
    bool data_stdin;     /* publish CHANNEL -: the caller reads the data (ctl_set_data) */
} ctl_args;

enum ctl_parse_result {
    CTL_PARSE_USAGE = -1, /* err holds one line naming the problem */
    CTL_PARSE_RUN = 0,    /* out holds a request to send */
    CTL_PARSE_HELP = 1,   /* --help: print ctl_usage to stdout, exit 0 */
};

/* The usage text, ending in a newline. */
extern const char ctl_usage[];

/* The short reminder printed after a usage error, ending in a newline. */
extern const char ctl_usage_hint[];

/* Parses argv (argv[0] is the program). Global options may appear before or after the command;
 * "--" ends the options. Returns a ctl_parse_result; *out is complete only for CTL_PARSE_RUN.
 * On CTL_PARSE_USAGE, err (errcap bytes) gets one line without a trailing newline.
 * scale N takes 0..UINT32_MAX; SLOT is 0..INT32_MAX, or "all" for restart (slot -1);
 * shutdown --drain SECONDS takes 1..86400 (without it drain_s is 0: the supervisor's default).
 * "breaker" alone is "breaker list"; autoscale --min/--max take 1..WSF_CTL_MAX_WORKERS, min not
 * above max, and stay 0 (unchanged) when not given. publish CHANNEL JSON checks the channel name
 * and the JSON (compacted into req.data); "publish CHANNEL -" sets data_stdin instead.
 * history CHANNEL [--limit N] takes N in 1..1000 (0 when not given: the supervisor's default). */
int ctl_args_parse(ctl_args *out, int argc, char **argv, char *err, size_t errcap);

/* Sets req->data to the compact form of json[0..len) (one JSON value, checked with
 * wsf_ch_data_compact). Returns 0, or -EINVAL / -E2BIG with one line in err. */
int ctl_set_data(wsf_ctl_request *req, const char *json, size_t len, char *err, size_t errcap);

/* The control socket path: -s, else --run-dir + "/ctl", else env_run_dir + "/ctl" when env_run_dir
 * is non-empty, else "/run/wsfleet/ctl" for root and "./run/ctl" for others (the supervisor's
 * rule). env_run_dir is the value of WSFLEET_RUN_DIR, or NULL. Returns 0, or -ENAMETOOLONG when
 * the path does not fit in cap bytes. */
int ctl_socket_path(char *out, size_t cap, const ctl_args *args, const char *env_run_dir,
                    bool is_root);

/* The command's name as typed ("status", "scale", "breaker trip"...), or "?" for WSF_CTL_NONE. */
const char *ctl_command_name(enum wsf_ctl_command cmd);

#endif
