/* The call to the supervisor and the mapping of its outcome to output and exit codes. */
#include "ctl_run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl_output.h"
#include "wsf_buf.h"
#include "wsf_ipc.h"

#define CTL_ENDPOINT_MAX 4200 /* "ipc://" and a PATH_MAX path */

/* Checks that socket_path names a socket before ZeroMQ is involved: ZeroMQ would only retry a
 * missing path until the timeout, and "no such file" is the more useful answer. */
static int ctl_check_socket(const char *socket_path, FILE *err)
{
    struct stat st;

    if (stat(socket_path, &st) == -1) {
        if (errno == ENOENT)
            fprintf(err, "wsctl: no supervisor socket at %s (no such file; is wsfleetd running?)\n",
                    socket_path);
        else
            fprintf(err, "wsctl: cannot use the supervisor socket %s: %s\n", socket_path,
                    strerror(errno));
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(err, "wsctl: %s is not a socket\n", socket_path);
        return -1;
    }
    return 0;
}

/* Reports a failed call on err. */
static void ctl_report_call_error(FILE *err, int rc, const char *socket_path, int timeout_ms,
                                  uint32_t version)
{
    if (rc == -ETIMEDOUT)
        fprintf(err, "wsctl: no supervisor answering at %s within %g s\n", socket_path,
                timeout_ms / 1000.0);
    else if (rc == WSF_IPC_EVERSION)
        fprintf(err,
                "wsctl: the supervisor at %s answered in protocol version %u; wsctl speaks %u\n",
                socket_path, version, WSF_PROTO_VERSION);
    else if (rc == -EPROTO)
        fprintf(err, "wsctl: undecodable answer from the supervisor at %s (version mismatch?)\n",
                socket_path);
    else
        fprintf(err, "wsctl: cannot reach the supervisor at %s: %s\n", socket_path, strerror(-rc));
}

/* After "upgrading": the supervisor re-executes itself and its endpoints are rebound. Asks for its
 * status until the new image answers (the socket may be missing meanwhile), then sets res to an
 * answer that says how it went. Returns CTL_EXIT_OK when the upgrade count went past before,
 * CTL_EXIT_REFUSED when the old image answers (its exec failed), CTL_EXIT_UNREACHABLE when
 * nobody answers in time. */
static int ctl_upgrade_wait(void *zctx, const char *endpoint, const ctl_args *args,
                            wsf_ctl_response *res, FILE *err)
{
    const int attempt_ms = 500;
    int wait_ms = args->timeout_ms * 5 > 10000 ? args->timeout_ms * 5 : 10000;
    uint64_t before = res->upgrades;
    wsf_ctl_request req = {.command = WSF_CTL_STATUS, .slot = -1};
    struct timespec pause = {0, 100 * 1000000L};
    wsf_ctl_response *st = wsf_xcalloc(1, sizeof *st);
    int code = CTL_EXIT_UNREACHABLE;
    struct timespec now, end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += wait_ms / 1000;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
            break;
        nanosleep(&pause, NULL);
        memset(st, 0, sizeof *st);
        if (wsf_ipc_ctl_call(zctx, endpoint, &req, st, attempt_ms) != 0 || !st->ok ||
            !st->has_status)
            continue;
        if (st->upgrades > before) {
            snprintf(res->message, sizeof res->message,
                     "upgraded: wsfleetd pid %u runs the new image (upgrade %llu)",
                     (unsigned)st->status.pid, (unsigned long long)st->upgrades);
            res->upgrades = st->upgrades;
            code = CTL_EXIT_OK;
        } else {
            fputs("wsctl: upgrade failed: the supervisor could not execute its new image and "
                  "carries on with the old one (see its log)\n",
                  err);
            code = CTL_EXIT_REFUSED;
        }
        break;
    }
    if (code == CTL_EXIT_UNREACHABLE)
        fprintf(err, "wsctl: the supervisor did not answer within %g s of its upgrade\n",
                wait_ms / 1000.0);
    free(st);
    return code;
}

int ctl_run(const ctl_args *args, const char *socket_path, FILE *out, FILE *err)
{
    char endpoint[CTL_ENDPOINT_MAX];
    wsf_ctl_response *res = NULL;
    void *zctx = NULL;
    int code = CTL_EXIT_UNREACHABLE;
    int rc;

    if (ctl_check_socket(socket_path, err) != 0)
        goto out;
    rc = snprintf(endpoint, sizeof endpoint, "ipc://%s", socket_path);
    if (rc < 0 || (size_t)rc >= sizeof endpoint) {
        fprintf(err, "wsctl: socket path too long: %s\n", socket_path);
        goto out;
    }
    zctx = wsf_ipc_context_new();
    if (zctx == NULL) {
        fprintf(err, "wsctl: cannot create a ZeroMQ context: %s\n", strerror(errno));
        goto out;
    }
    res = wsf_xcalloc(1, sizeof *res);
    rc = wsf_ipc_ctl_call(zctx, endpoint, &args->req, res, args->timeout_ms);
    if (rc != 0) {
        ctl_report_call_error(err, rc, socket_path, args->timeout_ms, res->version);
        goto out;
    }
    if (!res->ok) {
        if (args->json)
            ctl_output_refusal_json(out, res);
        fputs("wsctl: refused: ", err);
        if (res->error[0] != '\0')
            ctl_put_text(err, res->error, sizeof res->error);
        else
            fputs("(no reason given)", err);
        fputc('\n', err);
        code = CTL_EXIT_REFUSED;
        goto out;
    }
    if (args->req.command == WSF_CTL_UPGRADE) {
        code = ctl_upgrade_wait(zctx, endpoint, args, res, err);
        if (code != CTL_EXIT_OK)
            goto out;
    }
    if (ctl_output_render(out, args->req.command, res, args->json, (uint64_t)time(NULL)) != 0) {
        fprintf(err, "wsctl: the supervisor at %s answered '%s' without its data\n", socket_path,
                ctl_command_name(args->req.command));
        goto out;
    }
    code = CTL_EXIT_OK;
out:
    /* Without a supervisor, "version" still tells wsctl's own. */
    if (code == CTL_EXIT_UNREACHABLE && args->req.command == WSF_CTL_VERSION && !args->json)
        fprintf(out, "wsctl %s\n", ctl_version);
    free(res);
    wsf_ipc_context_free(zctx);
    return code;
}
