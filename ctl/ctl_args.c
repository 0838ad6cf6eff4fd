/* wsctl's command line: global options, the command and its arguments. */
#include "ctl_args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"
#include "wsf_chenc.h"
#include "wsf_chproto.h"
#include "wsf_fault.h"
#include "wsf_parse.h"

#define CTL_MAX_POSITIONAL 4 /* a command and at most two arguments, one more to report */

const char ctl_usage[] =
    "usage: wsctl [-s SOCKET | --run-dir DIR] [--json] [--timeout SEC] COMMAND [ARGS]\n"
    "commands:\n"
    "  status                      fleet state, workers, connections, rates\n"
    "  workers                     one line per worker slot\n"
    "  scale N                     set the desired number of workers\n"
    "  restart SLOT|all [--rolling]\n"
    "                              restart one slot or all (--rolling: one at a time)\n"
    "  drain SLOT                  close a worker's connections gradually, then stop it\n"
    "  reload                      re-read the configuration\n"
    "  shutdown [--drain SECONDS]  drain all workers and stop the supervisor\n"
    "  version                     wsctl's and the supervisor's versions\n"
    "  fault SLOT KIND [--rate P] [--ms N] [--for SECONDS]\n"
    "                              drills: inject error (--rate 0-1), latency (--ms),\n"
    "                              hang, crash, memory (--rate MiB/s) or off; reverts\n"
    "                              after --for (default 10 s)\n"
    "  breaker [list]              circuit breakers: state, failure rate, openings\n"
    "  breaker trip SLOT           open a worker's breaker now (no new connections)\n"
    "  breaker reset SLOT          close a worker's breaker and forget its openings\n"
    "  autoscale on|off [--min N] [--max N]\n"
    "                              switch the autoscaler; --min and --max (1-256) bound\n"
    "                              the number of workers (default: unchanged)\n"
    "  publish CHANNEL JSON|-      publish one JSON value (- reads it from stdin);\n"
    "                              prints its offset\n"
    "  history CHANNEL [--limit N] a channel's epoch, last offset and newest publications\n"
    "                              (N: 1-1000, default 100)\n"
    "  channels                    active channels and their subscribers per worker\n"
    "  alerts                      firing alerts and the recently resolved ones\n"
    "  cluster                     every fleet sharing the NATS cluster, heard in the last 10 s\n"
    "  upgrade                     re-execute wsfleetd from its binary (same pid) keeping\n"
    "                              listeners and workers; restart workers whose wsworker\n"
    "                              changed, one at a time\n"
    "options:\n"
    "  -s, --socket SOCKET         control socket path (default RUNDIR/ctl)\n"
    "  --run-dir DIR               the supervisor's run directory (default $" CTL_RUN_DIR_ENV ",\n"
    "                              else " CTL_RUN_DIR_USER ", or " CTL_RUN_DIR_ROOT " for root)\n"
    "  --json                      print one JSON document\n"
    "  --timeout SEC               wait this long for the supervisor (2)\n"
    "  -h, --help\n"
    "exit: 0 ok, 1 refused by the supervisor, 2 usage, 3 supervisor unreachable\n";

const char ctl_usage_hint[] =
    "usage: wsctl [-s SOCKET | --run-dir DIR] [--json] [--timeout SEC] COMMAND [ARGS]\n"
    "       (wsctl --help lists the commands)\n";

/* Command names indexed by enum wsf_ctl_command. The breaker commands share their first word,
 * which ctl_lookup_command matches; ctl_parse_command then reads the action. */
static const char *const ctl_command_names[] = {
    [WSF_CTL_NONE] = "?",
    [WSF_CTL_STATUS] = "status",
    [WSF_CTL_WORKERS] = "workers",
    [WSF_CTL_SCALE] = "scale",
    [WSF_CTL_RESTART] = "restart",
    [WSF_CTL_DRAIN] = "drain",
    [WSF_CTL_RELOAD] = "reload",
    [WSF_CTL_SHUTDOWN] = "shutdown",
    [WSF_CTL_VERSION] = "version",
    [WSF_CTL_FAULT] = "fault",
    [WSF_CTL_BREAKER_LIST] = "breaker list",
    [WSF_CTL_BREAKER_TRIP] = "breaker trip",
    [WSF_CTL_BREAKER_RESET] = "breaker reset",
    [WSF_CTL_AUTOSCALE] = "autoscale",
    [WSF_CTL_PUBLISH] = "publish",
    [WSF_CTL_HISTORY] = "history",
    [WSF_CTL_CHANNELS] = "channels",
    [WSF_CTL_UPGRADE] = "upgrade",
    [WSF_CTL_ALERTS] = "alerts",
    [WSF_CTL_CLUSTER] = "cluster",
};

#define CTL_NCOMMANDS (sizeof ctl_command_names / sizeof ctl_command_names[0])

const char *ctl_command_name(enum wsf_ctl_command cmd)
{
    if ((size_t)cmd >= CTL_NCOMMANDS || ctl_command_names[cmd] == NULL)
        return "?";
    return ctl_command_names[cmd];
}

/* Formats one usage error line into err and returns CTL_PARSE_USAGE. */
__attribute__((format(printf, 3, 4))) static int ctl_usage_error(char *err, size_t errcap,
                                                                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errcap > 0)
        vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
    return CTL_PARSE_USAGE;
}

/* Parses a slot number, or "all" (-1) when all_ok. Returns 0 or -1. */
static int ctl_parse_slot(int32_t *out, const char *s, bool all_ok)
{
    uint64_t v;
    if (all_ok && strcmp(s, "all") == 0) {
        *out = -1;
        return 0;
    }
    if (wsf_parse_u64(&v, s, 0, INT32_MAX) != 0)
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* Looks a command's first word up: the first command whose name is that word or starts with it
 * and a space. Returns WSF_CTL_NONE when unknown, and for "breaker trip" typed as one argument,
 * which would skip the checks of the action. */
static enum wsf_ctl_command ctl_lookup_command(const char *word)
{
    size_t n = strlen(word);
    if (strchr(word, ' ') != NULL)
        return WSF_CTL_NONE;
    for (size_t i = 1; i < CTL_NCOMMANDS; i++) {
        const char *name = ctl_command_names[i];
        if (name == NULL)
            continue; /* a number no command has */
        if (strncmp(name, word, n) == 0 && (name[n] == '\0' || name[n] == ' '))
            return (enum wsf_ctl_command)i;
    }
    return WSF_CTL_NONE;
}

/* True if arg is an option: "-x..." or "--x...", but not "-" alone nor a negative number, which
 * are left to the argument checks so that "scale -1" reads as a bad count. */
static bool ctl_is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0' && !(arg[1] >= '0' && arg[1] <= '9');
}

/* Options that take a value, with or without '=' ("--timeout 3", "--timeout=3"). */
enum ctl_value_opt {
    CTL_OPT_SOCKET,
    CTL_OPT_RUN_DIR,
    CTL_OPT_TIMEOUT,
    CTL_OPT_DRAIN,
    CTL_OPT_RATE,
    CTL_OPT_MS,
    CTL_OPT_FOR,
    CTL_OPT_MIN,
    CTL_OPT_MAX,
    CTL_OPT_LIMIT,
    CTL_OPT_NONE,
};

static const char *const ctl_value_opts[] = {
    [CTL_OPT_SOCKET] = "--socket", [CTL_OPT_RUN_DIR] = "--run-dir", [CTL_OPT_TIMEOUT] = "--timeout",
    [CTL_OPT_DRAIN] = "--drain",   [CTL_OPT_RATE] = "--rate",       [CTL_OPT_MS] = "--ms",
    [CTL_OPT_FOR] = "--for",       [CTL_OPT_MIN] = "--min",         [CTL_OPT_MAX] = "--max",
    [CTL_OPT_LIMIT] = "--limit",
};

/* Matches arg against the value options; sets *inline_value to the text after '=', or NULL. */
static enum ctl_value_opt ctl_match_value_opt(const char *arg, const char **inline_value)
{
    *inline_value = NULL;
    if (strncmp(arg, "-s", 2) == 0) {
        if (arg[2] != '\0')
            *inline_value = arg + 2;
        return CTL_OPT_SOCKET;
    }
    for (int i = 0; i < CTL_OPT_NONE; i++) {
        size_t n = strlen(ctl_value_opts[i]);
        if (strncmp(arg, ctl_value_opts[i], n) != 0)
            continue;
        if (arg[n] == '\0')
            return (enum ctl_value_opt)i;
        if (arg[n] == '=') {
            *inline_value = arg + n + 1;
            return (enum ctl_value_opt)i;
        }
    }
    return CTL_OPT_NONE;
}

int ctl_set_data(wsf_ctl_request *req, const char *json, size_t len, char *err, size_t errcap)
{
    wsf_buf b = {0};
    int rc = -EINVAL;
    if (wsf_ch_data_compact(&b, json, len) != 0) {
        ctl_usage_error(err, errcap, "publish: the data is not one JSON value");
    } else if (wsf_buf_pending(&b) >= sizeof req->data) {
        ctl_usage_error(err, errcap, "publish: the data is longer than %d bytes",
                        WSF_CTL_DATA_MAX - 1);
        rc = -E2BIG;
    } else {
        memcpy(req->data, b.data + b.off, wsf_buf_pending(&b));
        req->data[wsf_buf_pending(&b)] = '\0';
        rc = 0;
    }
    wsf_buf_fini(&b);
    return rc;
}

/* Reads "breaker [list|trip SLOT|reset SLOT]" into req; *want gets the positional arguments the
 * action takes, the command included. Returns CTL_PARSE_RUN or CTL_PARSE_USAGE. */
static int ctl_parse_breaker(wsf_ctl_request *req, int *want, char **pos, int npos, char *err,
                             size_t errcap)
{
    if (npos < 2 || strcmp(pos[1], "list") == 0) {
        req->command = WSF_CTL_BREAKER_LIST;
        *want = npos < 2 ? 1 : 2;
        return CTL_PARSE_RUN;
    }
    if (strcmp(pos[1], "trip") == 0)
        req->command = WSF_CTL_BREAKER_TRIP;
    else if (strcmp(pos[1], "reset") == 0)
        req->command = WSF_CTL_BREAKER_RESET;
    else
        return ctl_usage_error(err, errcap, "unknown breaker action '%s' (list, trip, reset)",
                               pos[1]);
    *want = 3;
    if (npos < 3)
        return ctl_usage_error(err, errcap, "breaker %s needs a SLOT", pos[1]);
    if (ctl_parse_slot(&req->slot, pos[2], false) != 0)
        return ctl_usage_error(err, errcap, "invalid slot '%s' (breaker %s takes one slot number)",
                               pos[2], pos[1]);
    return CTL_PARSE_RUN;
}

/* "publish CHANNEL JSON|-" and "history CHANNEL": the channel, and the data in compact form. */
static int ctl_parse_channel_cmd(ctl_args *out, int *want, char **pos, int npos, char *err,
                                 size_t errcap)
{
    wsf_ctl_request *req = &out->req;
    const char *name = ctl_command_name(req->command);
    *want = req->command == WSF_CTL_PUBLISH ? 3 : 2;
    if (npos < 2)
        return ctl_usage_error(err, errcap, "%s needs a CHANNEL", name);
    if (!wsf_ch_channel_is_valid(pos[1], strlen(pos[1])))
        return ctl_usage_error(err, errcap,
                               "invalid channel '%.100s' (1-255 of A-Z a-z 0-9 _ . : @ -)", pos[1]);
    snprintf(req->channel, sizeof req->channel, "%s", pos[1]);
    if (req->command != WSF_CTL_PUBLISH)
        return CTL_PARSE_RUN;
    if (npos < 3)
        return ctl_usage_error(err, errcap, "publish needs the data: JSON, or - to read stdin");
    if (strcmp(pos[2], "-") == 0) {
        out->data_stdin = true;
        return CTL_PARSE_RUN;
    }
    return ctl_set_data(req, pos[2], strlen(pos[2]), err, errcap) == 0 ? CTL_PARSE_RUN
                                                                       : CTL_PARSE_USAGE;
}

/* Checks the positional arguments of the command and fills in the request. */
static int ctl_parse_command(ctl_args *out, char **pos, int npos, char *err, size_t errcap)
{
    wsf_ctl_request *req = &out->req;
    const char *name = pos[0];
    int want = 1; /* positional arguments the command takes, itself included */
    uint64_t v;

    req->command = ctl_lookup_command(name);
    switch (req->command) {
    case WSF_CTL_NONE:
        return ctl_usage_error(err, errcap, "unknown command '%s'", name);
    case WSF_CTL_SCALE:
        want = 2;
        if (npos < 2)
            return ctl_usage_error(err, errcap, "scale needs the number of workers");
        if (wsf_parse_u64(&v, pos[1], 0, UINT32_MAX) != 0)
            return ctl_usage_error(err, errcap, "invalid number of workers '%s'", pos[1]);
        req->count = (uint32_t)v;
        break;
    case WSF_CTL_RESTART:
        want = 2;
        if (npos < 2)
            return ctl_usage_error(err, errcap, "restart needs a SLOT or 'all'");
        if (ctl_parse_slot(&req->slot, pos[1], true) != 0)
            return ctl_usage_error(err, errcap, "invalid slot '%s' (a number or 'all')", pos[1]);
        break;
    case WSF_CTL_FAULT: {
        want = 3;
        if (npos < 3)
            return ctl_usage_error(err, errcap, "fault needs a SLOT and a KIND");
        if (ctl_parse_slot(&req->slot, pos[1], false) != 0)
            return ctl_usage_error(err, errcap, "invalid slot '%s'", pos[1]);
        enum wsf_fault_kind kind;
        if (wsf_fault_parse(&kind, pos[2]) != 0)
            return ctl_usage_error(err, errcap,
                                   "unknown fault '%s' (error, latency, hang, crash, memory, off)",
                                   pos[2]);
        snprintf(req->fault, sizeof req->fault, "%s", pos[2]);
        break;
    }
    case WSF_CTL_DRAIN:
        want = 2;
        if (npos < 2)
            return ctl_usage_error(err, errcap, "drain needs a SLOT");
        if (ctl_parse_slot(&req->slot, pos[1], false) != 0)
            return ctl_usage_error(err, errcap, "invalid slot '%s' (drain takes one slot number)",
                                   pos[1]);
        break;
    case WSF_CTL_BREAKER_LIST: {
        int rc = ctl_parse_breaker(req, &want, pos, npos, err, errcap);
        if (rc != CTL_PARSE_RUN)
            return rc;
        break;
    }
    case WSF_CTL_AUTOSCALE:
        want = 2;
        if (npos < 2)
            return ctl_usage_error(err, errcap, "autoscale needs 'on' or 'off'");
        if (strcmp(pos[1], "on") == 0)
            req->autoscale_on = true;
        else if (strcmp(pos[1], "off") != 0)
            return ctl_usage_error(err, errcap, "invalid autoscale mode '%s' (on or off)", pos[1]);
        break;
    case WSF_CTL_PUBLISH:
    case WSF_CTL_HISTORY: {
        int rc = ctl_parse_channel_cmd(out, &want, pos, npos, err, errcap);
        if (rc != CTL_PARSE_RUN)
            return rc;
        break;
    }
    default:
        break;
    }
    if (npos > want)
        return ctl_usage_error(err, errcap, "unexpected argument '%s' after %s", pos[want],
                               ctl_command_name(req->command));
    return CTL_PARSE_RUN;
}

int ctl_args_parse(ctl_args *out, int argc, char **argv, char *err, size_t errcap)
{
    ctl_args a = {.req = {.command = WSF_CTL_NONE, .slot = -1},
                  .timeout_ms = CTL_DEFAULT_TIMEOUT_MS};
    char *pos[CTL_MAX_POSITIONAL];
    int npos = 0;
    bool rolling_given = false;
    bool drain_given = false;
    bool fault_given = false;
    bool bounds_given = false;
    bool limit_given = false;
    bool options_done = false;
    uint32_t fault_for_ms = 10000;
    uint64_t v;

    if (errcap > 0)
        err[0] = '\0';
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        const char *value;

        if (options_done || !ctl_is_option(arg)) {
            if (npos == CTL_MAX_POSITIONAL)
                return ctl_usage_error(err, errcap, "unexpected argument '%s'", arg);
            pos[npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
            return CTL_PARSE_HELP;
        if (strcmp(arg, "--json") == 0) {
            a.json = true;
            continue;
        }
        if (strcmp(arg, "--rolling") == 0) {
            rolling_given = true;
            continue;
        }
        enum ctl_value_opt opt = ctl_match_value_opt(arg, &value);
        if (opt == CTL_OPT_NONE)
            return ctl_usage_error(err, errcap, "unknown option '%s'", arg);
        const char *shown = opt == CTL_OPT_SOCKET && arg[1] == 's' ? "-s" : ctl_value_opts[opt];
        if (value == NULL) {
            if (i + 1 == argc)
                return ctl_usage_error(err, errcap, "option %s needs a value", shown);
            value = argv[++i];
        }
        switch (opt) {
        case CTL_OPT_SOCKET:
            if (*value == '\0')
                return ctl_usage_error(err, errcap, "empty socket path for %s", shown);
            a.socket = value;
            break;
        case CTL_OPT_RUN_DIR:
            if (*value == '\0')
                return ctl_usage_error(err, errcap, "empty directory for --run-dir");
            a.run_dir = value;
            break;
        case CTL_OPT_TIMEOUT: {
            uint32_t ms;
            if (wsf_parse_ms(&ms, value) != 0)
                return ctl_usage_error(err, errcap,
                                       "invalid value '%s' for --timeout (seconds, > 0)", value);
            a.timeout_ms = (int)ms;
            break;
        }
        case CTL_OPT_DRAIN:
            if (wsf_parse_u64(&v, value, 1, 86400) != 0)
                return ctl_usage_error(
                    err, errcap, "invalid value '%s' for --drain (whole seconds, 1-86400)", value);
            a.req.drain_s = (uint32_t)v;
            drain_given = true;
            break;
        case CTL_OPT_RATE: {
            char *end;
            errno = 0;
            a.req.rate = strtod(value, &end);
            if (errno != 0 || end == value || *end != '\0' || !(a.req.rate >= 0.0) ||
                a.req.rate > 1024.0)
                return ctl_usage_error(err, errcap, "invalid value '%s' for --rate", value);
            fault_given = true;
            break;
        }
        case CTL_OPT_MS:
            if (wsf_parse_u64(&v, value, 1, 60000) != 0)
                return ctl_usage_error(err, errcap,
                                       "invalid value '%s' for --ms (1-60000 milliseconds)", value);
            a.req.fault_ms = (uint32_t)v;
            fault_given = true;
            break;
        case CTL_OPT_FOR:
            if (wsf_parse_ms(&fault_for_ms, value) != 0)
                return ctl_usage_error(err, errcap, "invalid value '%s' for --for (seconds)",
                                       value);
            fault_given = true;
            break;
        case CTL_OPT_MIN:
        case CTL_OPT_MAX:
            if (wsf_parse_u64(&v, value, 1, WSF_CTL_MAX_WORKERS) != 0)
                return ctl_usage_error(err, errcap, "invalid value '%s' for %s (1-%d workers)",
                                       value, shown, WSF_CTL_MAX_WORKERS);
            if (opt == CTL_OPT_MIN)
                a.req.min = (uint32_t)v;
            else
                a.req.max = (uint32_t)v;
            bounds_given = true;
            break;
        case CTL_OPT_LIMIT:
            if (wsf_parse_u64(&v, value, 1, 1000) != 0)
                return ctl_usage_error(err, errcap, "invalid value '%s' for --limit (1-1000)",
                                       value);
            a.req.limit = (uint32_t)v;
            limit_given = true;
            break;
        case CTL_OPT_NONE:
            break;
        }
    }

    if (a.socket != NULL && a.run_dir != NULL)
        return ctl_usage_error(err, errcap, "give either -s SOCKET or --run-dir DIR, not both");
    if (npos == 0)
        return ctl_usage_error(err, errcap, "missing command");
    int rc = ctl_parse_command(&a, pos, npos, err, errcap);
    if (rc != CTL_PARSE_RUN)
        return rc;
    if (rolling_given && a.req.command != WSF_CTL_RESTART)
        return ctl_usage_error(err, errcap, "--rolling applies only to restart");
    if (drain_given && a.req.command != WSF_CTL_SHUTDOWN)
        return ctl_usage_error(err, errcap, "--drain applies only to shutdown");
    if (fault_given && a.req.command != WSF_CTL_FAULT)
        return ctl_usage_error(err, errcap, "--rate, --ms and --for apply only to fault");
    if (limit_given && a.req.command != WSF_CTL_HISTORY)
        return ctl_usage_error(err, errcap, "--limit applies only to history");
    if (bounds_given && a.req.command != WSF_CTL_AUTOSCALE)
        return ctl_usage_error(err, errcap, "--min and --max apply only to autoscale");
    if (a.req.min != 0 && a.req.max != 0 && a.req.min > a.req.max)
        return ctl_usage_error(err, errcap, "--min %u is above --max %u", (unsigned)a.req.min,
                               (unsigned)a.req.max);
    if (a.req.command == WSF_CTL_FAULT) {
        enum wsf_fault_kind kind;
        wsf_fault_parse(&kind, a.req.fault);
        a.req.duration_s = (fault_for_ms + 999) / 1000;
        const char *bad = wsf_fault_check(kind, a.req.rate, a.req.fault_ms, fault_for_ms);
        if (bad != NULL)
            return ctl_usage_error(err, errcap, "fault %s: %s", a.req.fault, bad);
    }
    a.req.rolling = rolling_given;
    *out = a;
    return CTL_PARSE_RUN;
}

int ctl_socket_path(char *out, size_t cap, const ctl_args *args, const char *env_run_dir,
                    bool is_root)
{
    const char *dir;
    int n;

    if (args->socket != NULL) {
        n = snprintf(out, cap, "%s", args->socket);
    } else {
        if (args->run_dir != NULL)
            dir = args->run_dir;
        else if (env_run_dir != NULL && *env_run_dir != '\0')
            dir = env_run_dir;
        else
            dir = is_root ? CTL_RUN_DIR_ROOT : CTL_RUN_DIR_USER;
        size_t len = strlen(dir);
        while (len > 0 && dir[len - 1] == '/')
            len--; /* "run/" + "/ctl" would read oddly in messages */
        n = snprintf(out, cap, "%.*s/ctl", (int)len, dir);
    }
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    return 0;
}
