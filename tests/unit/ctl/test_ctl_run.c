/* End-to-end tests of the wsctl binary against a fake control server that answers through the
 * real wsf_ipc REP API on an ipc:// socket in a temporary directory: JSON on stdout and exit
 * codes 0 (ok), 1 (refused), 2 (usage), 3 (no socket, nothing listening, no answer in time).
 * Every process started here is stopped by its pid in the fixture or the helper that forked it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_argv.h"
#include "test_slow.h"
#include "wsf_ipc.h"

Suite *ctl_run_suite(void);

#define MAX_ARGV 16
#define FAKE_SLOTS 4 /* the fake fleet's slots: 0..3 */
#define FAKE_MAX 8   /* the fake fleet's workers.max */
#define FAKE_VERSION "9.9.9-fake"
#define FAKE_SCALING "scale up 1 -> 2: busy 0.9 above 0.7"
#define FAKE_OPENED_AGO 5 /* slot 1's breaker opened this many seconds before the answer */
/* A wsctl still running after this is killed and fails: a liveness bound, longer under sanitizers.
 */
#define WSCTL_DEADLINE_MS test_ms(10000)

static char dir[64];      /* temporary directory holding the sockets and captured output */
static char sock[128];    /* the fake server's socket path */
static pid_t server = -1; /* the fake server */

/* Output of one wsctl run. */
typedef struct run_result {
    int status; /* exit code, or -1 if it did not exit normally */
    char *out;
    char *err;
    long elapsed_ms;
} run_result;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Dies with the test process, so that a test killed by Check's timeout leaves nothing behind. */
static void die_with_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
        _exit(127);
}

/* The fake supervisor's answer to one request; it echoes the request's fields in its messages
 * so that tests see what went over the wire. */
static void fake_answer(wsf_ctl_response *res, const wsf_ctl_request *req)
{
    /* Upgrades the fake went through: the first upgrade request "re-executes" (the count goes up
     * after its answer), the second one's exec "fails" (the count stays), and so on. */
    static uint64_t upgrades, upgrade_requests;
    memset(res, 0, sizeof *res);
    res->ok = true;
    res->upgrades = upgrades;
    snprintf(res->server_version, sizeof res->server_version, FAKE_VERSION);
    switch (req->command) {
    case WSF_CTL_UPGRADE:
        snprintf(res->message, sizeof res->message, "upgrading");
        if (upgrade_requests++ % 2 == 0)
            upgrades++;
        break;
    case WSF_CTL_STATUS:
        res->has_status = true;
        snprintf(res->status.state, sizeof res->status.state, "running");
        res->status.pid = (uint32_t)getpid();
        res->status.workers_running = 2;
        res->status.workers_desired = 2;
        res->status.workers_min = 1;
        res->status.workers_max = FAKE_MAX;
        res->status.connections = 42;
        res->status.msgs_in_per_s = 12.5;
        res->status.errors_per_s = 0.0;
        res->status.uptime_s = 77;
        snprintf(res->status.steering, sizeof res->status.steering, "cbpf");
        snprintf(res->status.listen, sizeof res->status.listen, "127.0.0.1:8080");
        res->status.autoscale = true;
        snprintf(res->status.last_scaling, sizeof res->status.last_scaling, FAKE_SCALING);
        res->status.last_scaling_age_s = 33;
        break;
    case WSF_CTL_WORKERS:
    case WSF_CTL_BREAKER_LIST:
        res->nworkers = 2;
        for (uint32_t i = 0; i < 2; i++) {
            wsf_worker_status *w = &res->workers[i];
            w->slot = i;
            w->pid = 7000 + i;
            snprintf(w->state, sizeof w->state, i == 0 ? "running" : "ejected");
            w->connections = 20 + i;
            w->msgs_in_per_s = 6.25;
            w->msgs_out_per_s = 6.25;
            w->errors_per_s = i == 0 ? 0.0 : 3.5;
            w->restarts = i;
            w->uptime_s = 70 + i;
            w->generation = 1;
            w->accepting = i == 0;
            w->buckets = i == 0 ? 64 : 0;
            w->rss_bytes = 4 * 1024 * 1024;
            snprintf(w->breaker, sizeof w->breaker, i == 0 ? "closed" : "open");
            w->failure_rate = i == 0 ? 0.0 : 0.75;
            w->opened_at = i == 0 ? 0 : (uint64_t)time(NULL) - FAKE_OPENED_AGO;
            w->times_opened = i == 0 ? 0 : 2;
        }
        break;
    case WSF_CTL_BREAKER_TRIP:
    case WSF_CTL_BREAKER_RESET:
        if (req->slot < 0 || req->slot >= FAKE_SLOTS) {
            res->ok = false;
            snprintf(res->error, sizeof res->error, "no such slot %d", (int)req->slot);
        } else {
            snprintf(res->message, sizeof res->message, "breaker of slot %d %s", (int)req->slot,
                     req->command == WSF_CTL_BREAKER_TRIP ? "tripped" : "reset");
        }
        break;
    case WSF_CTL_AUTOSCALE:
        if (req->max > FAKE_MAX) {
            res->ok = false;
            snprintf(res->error, sizeof res->error, "max %u is above workers.max %d",
                     (unsigned)req->max, FAKE_MAX);
        } else {
            snprintf(res->message, sizeof res->message, "autoscale %s, min %u, max %u",
                     req->autoscale_on ? "on" : "off", (unsigned)req->min, (unsigned)req->max);
        }
        break;
    case WSF_CTL_SCALE:
        if (req->count > FAKE_MAX) {
            res->ok = false;
            snprintf(res->error, sizeof res->error, "scale %u is above workers.max %d",
                     (unsigned)req->count, FAKE_MAX);
        } else {
            snprintf(res->message, sizeof res->message, "scaling to %u", (unsigned)req->count);
        }
        break;
    case WSF_CTL_RESTART:
    case WSF_CTL_DRAIN:
        if (req->slot >= FAKE_SLOTS || (req->command == WSF_CTL_DRAIN && req->slot < 0)) {
            res->ok = false;
            snprintf(res->error, sizeof res->error, "no such slot %d", (int)req->slot);
        } else if (req->command == WSF_CTL_DRAIN) {
            snprintf(res->message, sizeof res->message, "draining slot %d", (int)req->slot);
        } else {
            snprintf(res->message, sizeof res->message, "restarting slot %d%s", (int)req->slot,
                     req->rolling ? " rolling" : "");
        }
        break;
    case WSF_CTL_RELOAD:
        snprintf(res->message, sizeof res->message, "reloaded");
        break;
    case WSF_CTL_SHUTDOWN:
        snprintf(res->message, sizeof res->message, "shutting down, drain %u s",
                 (unsigned)req->drain_s);
        break;
    case WSF_CTL_VERSION:
        break;
    default:
        res->ok = false;
        snprintf(res->error, sizeof res->error, "unknown command %d", (int)req->command);
        break;
    }
}

/* The fake server's loop (in its own process): binds, reports readiness on ready_fd, then
 * answers requests until killed. */
static _Noreturn void fake_server_main(const char *endpoint, int ready_fd)
{
    void *zctx = wsf_ipc_context_new();
    wsf_ipc *ipc = NULL;
    wsf_ctl_response *res = calloc(1, sizeof *res);

    if (zctx == NULL || res == NULL || wsf_ipc_open(&ipc, zctx, WSF_IPC_CTL_SERVER, endpoint) != 0)
        _exit(1);
    if (write(ready_fd, "r", 1) != 1)
        _exit(1);
    close(ready_fd);
    for (;;) {
        wsf_ctl_request req;
        int rc = wsf_ipc_recv_ctl_request(ipc, &req);
        if (rc == 1 || rc == -EPROTO) {
            if (rc == 1) {
                fake_answer(res, &req);
            } else {
                memset(res, 0, sizeof *res);
                snprintf(res->error, sizeof res->error, "undecodable request");
            }
            if (wsf_ipc_send_ctl_response(ipc, res) != 0)
                _exit(1);
            continue;
        }
        /* nothing waiting: sleep on the (edge-triggered) descriptor, polling anyway now and then */
        struct pollfd pfd = {.fd = wsf_ipc_fd(ipc), .events = POLLIN};
        poll(&pfd, 1, 50);
    }
}

/* Forks the fake server on sock and waits until it is bound. */
static void start_server(void)
{
    char endpoint[160];
    int ready[2];
    char c;
    pid_t parent = getpid();

    snprintf(endpoint, sizeof endpoint, "ipc://%s", sock);
    ck_assert_int_eq(pipe(ready), 0);
    server = fork();
    ck_assert_int_ne(server, -1);
    if (server == 0) {
        die_with_parent(parent);
        close(ready[0]);
        fake_server_main(endpoint, ready[1]);
    }
    close(ready[1]);
    struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
    ck_assert_int_eq(poll(&pfd, 1, (int)test_ms(10000)), 1);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
}

static void stop_server(void)
{
    if (server > 0) {
        kill(server, SIGKILL); /* also ends a SIGSTOPped one */
        while (waitpid(server, NULL, 0) == -1 && errno == EINTR)
            ;
    }
    server = -1;
}

static void remove_dir(void)
{
    static const char *const names[] = {"ctl", "out", "err", "stale", "plain"};
    char path[192];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path); /* most are absent in a given test */
    }
    rmdir(dir);
}

/* Setup without a server, for the unreachable cases. */
static void setup_no_server(void)
{
    snprintf(dir, sizeof dir, "/tmp/ctl_run.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sock, sizeof sock, "%s/ctl", dir);
}

static void setup(void)
{
    setup_no_server();
    start_server();
}

static void teardown(void)
{
    stop_server();
    remove_dir();
}

static const char *wsctl_path(void)
{
    const char *p = getenv("WSCTL");
    return p != NULL && *p != '\0' ? p : WSCTL_PATH;
}

/* The whole of a file that its writer has closed, NUL-terminated. The caller frees. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    ck_assert_int_ge(len, 0);
    rewind(f);
    char *text = calloc(1, (size_t)len + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return text;
}

/* Runs wsctl with the NULL-terminated arguments, WSFLEET_RUN_DIR set to env_run_dir (unset when
 * NULL), capturing stdout and stderr. Kills it by pid if it outlives WSCTL_DEADLINE_MS. */
static run_result run_wsctl(const char *env_run_dir, ...)
{
    char *argv[MAX_ARGV + 1];
    char out_path[192], err_path[192];
    va_list ap;
    run_result r = {.status = -1};
    pid_t parent = getpid();

    va_start(ap, env_run_dir);
    test_argv(argv, MAX_ARGV + 1, "wsctl", ap);
    va_end(ap);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(err_path, sizeof err_path, "%s/err", dir);

    long start = now_ms();
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        die_with_parent(parent);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (out == -1 || err == -1 || dup2(out, STDOUT_FILENO) == -1 ||
            dup2(err, STDERR_FILENO) == -1)
            _exit(126);
        if (env_run_dir != NULL)
            setenv("WSFLEET_RUN_DIR", env_run_dir, 1);
        else
            unsetenv("WSFLEET_RUN_DIR");
        execv(wsctl_path(), argv);
        _exit(127);
    }

    int wstatus = 0;
    pid_t done;
    while ((done = waitpid(pid, &wstatus, WNOHANG)) == 0 && now_ms() - start < WSCTL_DEADLINE_MS)
        usleep(5000);
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_abort_msg("wsctl did not exit within %ld ms", WSCTL_DEADLINE_MS);
    }
    ck_assert_int_eq(done, pid);
    r.elapsed_ms = now_ms() - start;
    if (WIFEXITED(wstatus))
        r.status = WEXITSTATUS(wstatus);
    ck_assert_msg(r.status != 127 && r.status != 126, "cannot run %s", wsctl_path());
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
}

#define RUN(...) run_wsctl(NULL, __VA_ARGS__, (const char *)NULL)

static void run_result_fini(run_result *r)
{
    free(r->out);
    free(r->err);
}

/* Parses stdout as exactly one JSON document. */
static json_t *stdout_json(const run_result *r)
{
    json_error_t jerr;
    json_t *doc = json_loads(r->out, 0, &jerr);
    ck_assert_msg(doc != NULL, "stdout is not one JSON document (%s): '%s'", jerr.text, r->out);
    return doc;
}

#define ck_assert_contains(hay, needle)                                                            \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "'%s' not found in '%s'", (needle), (hay))

/* Checks a run that exits 0 and prints each of the NULL-terminated needles. Frees r. */
static void check_prints(run_result *r, const char *const *needles)
{
    ck_assert_msg(r->status == 0, "exit %d: %s", r->status, r->err);
    for (; *needles != NULL; needles++)
        ck_assert_contains(r->out, *needles);
    run_result_fini(r);
}

/* Checks what both the workers and the breaker documents show of the fake's slot i; they name
 * the worker's and the breaker's states differently. */
static void check_fake_slot(const json_t *o, size_t i, const char *worker_state_key,
                            const char *breaker_key)
{
    ck_assert_int_eq(json_integer_value(json_object_get(o, "slot")), (json_int_t)i);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "pid")), 7000 + (json_int_t)i);
    ck_assert_str_eq(json_string_value(json_object_get(o, worker_state_key)),
                     i == 0 ? "running" : "ejected");
    ck_assert_str_eq(json_string_value(json_object_get(o, breaker_key)),
                     i == 0 ? "closed" : "open");
    ck_assert_double_eq(json_number_value(json_object_get(o, "failure_rate")), i == 0 ? 0.0 : 0.75);
    ck_assert(json_is_integer(json_object_get(o, "opened_at")));
    ck_assert_int_eq(json_integer_value(json_object_get(o, "times_opened")), i == 0 ? 0 : 2);
}

START_TEST(status_json)
{
    run_result r = RUN("-s", sock, "--json", "status");
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_str_eq(r.err, "");
    json_t *o = stdout_json(&r);
    ck_assert(json_is_object(o));
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "running");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "workers_running")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "workers_desired")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "workers_max")), FAKE_MAX);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "connections")), 42);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "pid")), server);
    ck_assert_double_eq(json_number_value(json_object_get(o, "msgs_in_per_s")), 12.5);
    ck_assert_str_eq(json_string_value(json_object_get(o, "steering")), "cbpf");
    ck_assert(json_is_true(json_object_get(o, "autoscale")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "last_scaling")), FAKE_SCALING);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "last_scaling_age_s")), 33);
    json_decref(o);
    run_result_fini(&r);
}
END_TEST

START_TEST(workers_json)
{
    run_result r = RUN("--json", "workers", "--socket", sock);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    json_t *a = stdout_json(&r);
    ck_assert(json_is_array(a));
    ck_assert_uint_eq(json_array_size(a), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *w = json_array_get(a, i);
        check_fake_slot(w, i, "state", "breaker");
        ck_assert_int_eq(json_integer_value(json_object_get(w, "connections")), 20 + (int)i);
        ck_assert_double_eq(json_number_value(json_object_get(w, "msgs_in_per_s")), 6.25);
        ck_assert_double_eq(json_number_value(json_object_get(w, "errors_per_s")),
                            i == 0 ? 0.0 : 3.5);
        ck_assert_int_eq(json_integer_value(json_object_get(w, "restarts")), (json_int_t)i);
        ck_assert_int_eq(json_integer_value(json_object_get(w, "uptime_s")), 70 + (int)i);
        ck_assert(json_is_boolean(json_object_get(w, "accepting")));
        ck_assert_int_eq(json_integer_value(json_object_get(w, "rss_bytes")), 4 * 1024 * 1024);
    }
    json_decref(a);
    run_result_fini(&r);
}
END_TEST

START_TEST(workers_table)
{
    run_result r = RUN("-s", sock, "workers");
    check_prints(&r, (const char *const[]){"SLOT", "MSG/S-IN", "BUCKETS", "7000", "7001", "ejected",
                                           "4.0M", NULL});
}
END_TEST

START_TEST(status_human)
{
    run_result r = RUN("-s", sock, "status");
    check_prints(&r, (const char *const[]){"running", "2 running, 2 desired", "127.0.0.1:8080",
                                           "autoscale:    on\n",
                                           "last scaling: " FAKE_SCALING " (33s ago)\n", NULL});
}
END_TEST

START_TEST(breaker_json)
{
    long before = (long)time(NULL);
    run_result r = RUN("-s", sock, "--json", "breaker");
    long after = (long)time(NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_str_eq(r.err, "");
    json_t *a = stdout_json(&r);
    ck_assert(json_is_array(a));
    ck_assert_uint_eq(json_array_size(a), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *b = json_array_get(a, i);
        check_fake_slot(b, i, "worker_state", "state");
        json_t *opened = json_object_get(b, "opened_at");
        if (i == 0) {
            ck_assert_int_eq(json_integer_value(opened), 0);
        } else {
            ck_assert_int_ge(json_integer_value(opened), before - FAKE_OPENED_AGO);
            ck_assert_int_le(json_integer_value(opened), after - FAKE_OPENED_AGO);
        }
    }
    json_decref(a);
    run_result_fini(&r);

    r = RUN("-s", sock, "breaker", "list", "--json");
    ck_assert_int_eq(r.status, 0);
    a = stdout_json(&r);
    ck_assert_uint_eq(json_array_size(a), 2);
    json_decref(a);
    run_result_fini(&r);
}
END_TEST

START_TEST(breaker_table)
{
    run_result r = RUN("-s", sock, "breaker", "list");
    ck_assert_str_eq(r.err, "");
    /* the fake opened slot 1's breaker 5 s before answering; a second may tick meanwhile */
    ck_assert_msg(strstr(r.out, "  5s ago  ") != NULL || strstr(r.out, "  6s ago  ") != NULL,
                  "no age in '%s'", r.out);
    check_prints(
        &r, (const char *const[]){"BREAKER", "FAIL%", "OPENED", "TIMES\n", "closed", "75.0", NULL});

    r = RUN("-s", sock, "breaker");
    check_prints(&r, (const char *const[]){"BREAKER", NULL});
}
END_TEST

/* Checks a JSON run's outcome: exit 0, nothing on stderr, {"ok":true,"message":want}. Frees r. */
static void check_ok_json(run_result *r, const char *want)
{
    ck_assert_msg(r->status == 0, "%s: exit %d: %s", want, r->status, r->err);
    ck_assert_str_eq(r->err, "");
    json_t *o = stdout_json(r);
    ck_assert(json_is_true(json_object_get(o, "ok")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "message")), want);
    json_decref(o);
    run_result_fini(r);
}

/* Runs one action command in JSON and checks {"ok":true,"message":want}. */
static void check_action(const char *want, const char *a1, const char *a2, const char *a3)
{
    run_result r = run_wsctl(NULL, "-s", sock, "--json", a1, a2, a3, (const char *)NULL);
    check_ok_json(&r, want);
}

START_TEST(actions)
{
    check_action("scaling to 3", "scale", "3", NULL);
    check_action("restarting slot 2", "restart", "2", NULL);
    check_action("restarting slot -1 rolling", "restart", "all", "--rolling");
    check_action("draining slot 1", "drain", "1", NULL);
    check_action("reloaded", "reload", NULL, NULL);
    check_action("shutting down, drain 7 s", "shutdown", "--drain", "7");
    check_action("shutting down, drain 0 s", "shutdown", NULL, NULL);
    check_action("breaker of slot 1 tripped", "breaker", "trip", "1");
    check_action("breaker of slot 3 reset", "breaker", "reset", "3");
    check_action("autoscale on, min 0, max 0", "autoscale", "on", NULL);
    check_action("autoscale off, min 0, max 0", "autoscale", "off", NULL);
    run_result r = RUN("-s", sock, "--json", "autoscale", "on", "--min", "2", "--max", "6");
    check_ok_json(&r, "autoscale on, min 2, max 6");
    r = RUN("-s", sock, "autoscale", "off", "--json", "--max=8");
    check_ok_json(&r, "autoscale off, min 0, max 8");
}
END_TEST

/* Checks a human run's outcome: exit 0 and exactly want on stdout. Frees r. */
static void check_ok_text(run_result *r, const char *want)
{
    ck_assert_int_eq(r->status, 0);
    ck_assert_str_eq(r->out, want);
    run_result_fini(r);
}

START_TEST(action_human)
{
    run_result r = RUN("-s", sock, "scale", "5");
    check_ok_text(&r, "scaling to 5\n");
    r = RUN("-s", sock, "breaker", "trip", "2");
    check_ok_text(&r, "breaker of slot 2 tripped\n");
    r = RUN("-s", sock, "autoscale", "on", "--min", "1");
    check_ok_text(&r, "autoscale on, min 1, max 0\n");
}
END_TEST

/* wsctl upgrade waits for the re-executed supervisor's answer: exit 0 when its upgrade count
 * went up, exit 1 when the old image answers (its exec failed). */
START_TEST(upgrade_waits_for_the_new_image)
{
    char want[128];
    run_result r = RUN("-s", sock, "upgrade");
    snprintf(want, sizeof want, "upgraded: wsfleetd pid %d runs the new image (upgrade 1)\n",
             (int)server);
    check_ok_text(&r, want);
    r = RUN("-s", sock, "upgrade");
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "");
    ck_assert_msg(strstr(r.err, "upgrade failed: the supervisor could not execute its new image") !=
                      NULL,
                  "%s", r.err);
    run_result_fini(&r);
    r = RUN("-s", sock, "--json", "upgrade");
    snprintf(want, sizeof want, "upgraded: wsfleetd pid %d runs the new image (upgrade 2)",
             (int)server);
    check_ok_json(&r, want);
}
END_TEST

START_TEST(version)
{
    run_result r = RUN("-s", sock, "version");
    check_prints(&r, (const char *const[]){"wsctl ", "\nwsfleetd " FAKE_VERSION "\n", NULL});

    r = RUN("-s", sock, "--json", "version");
    ck_assert_int_eq(r.status, 0);
    json_t *o = stdout_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(o, "server_version")), FAKE_VERSION);
    ck_assert(json_is_string(json_object_get(o, "version")));
    json_decref(o);
    run_result_fini(&r);
}
END_TEST

/* Checks a refused run: exit 1, "wsctl: refused: <error>" on stderr, and on stdout
 * {"ok":false,"error":error} in JSON, nothing otherwise. Frees r. */
static void check_refused(run_result *r, bool json, const char *error)
{
    char want[256];
    snprintf(want, sizeof want, "wsctl: refused: %s\n", error);
    ck_assert_int_eq(r->status, 1);
    ck_assert_str_eq(r->err, want);
    if (json) {
        json_t *o = stdout_json(r);
        ck_assert(json_is_false(json_object_get(o, "ok")));
        ck_assert_str_eq(json_string_value(json_object_get(o, "error")), error);
        json_decref(o);
    } else {
        ck_assert_str_eq(r->out, "");
    }
    run_result_fini(r);
}

START_TEST(refused)
{
    run_result r = RUN("-s", sock, "restart", "9");
    check_refused(&r, false, "no such slot 9");
    r = RUN("-s", sock, "--json", "scale", "9");
    check_refused(&r, true, "scale 9 is above workers.max 8");
    r = RUN("-s", sock, "breaker", "reset", "9");
    check_refused(&r, false, "no such slot 9");
    r = RUN("-s", sock, "--json", "autoscale", "on", "--max", "9");
    check_refused(&r, true, "max 9 is above workers.max 8");
}
END_TEST

START_TEST(run_dir_and_environment)
{
    run_result r = RUN("--run-dir", dir, "--json", "status");
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    run_result_fini(&r);

    r = run_wsctl(dir, "--json", "status", (const char *)NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    json_t *o = stdout_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "running");
    json_decref(o);
    run_result_fini(&r);

    /* --run-dir wins over the environment */
    r = run_wsctl("/nonexistent", "--run-dir", dir, "status", (const char *)NULL);
    ck_assert_int_eq(r.status, 0);
    run_result_fini(&r);
}
END_TEST

START_TEST(usage_errors)
{
    static const char *const cases[][3] = {
        {"frobnicate", NULL, NULL},     {"scale", "many", NULL},
        {"scale", NULL, NULL},          {"restart", NULL, NULL},
        {"drain", "all", NULL},         {"status", "--rolling", NULL},
        {"--timeout", "x", "status"},   {"--nope", NULL, NULL},
        {"status", "extra", NULL},      {"breaker", "open", NULL},
        {"breaker", "trip", NULL},      {"breaker", "reset", "all"},
        {"breaker", "list", "1"},       {"autoscale", NULL, NULL},
        {"autoscale", "maybe", NULL},   {"autoscale", "on", "--min"},
        {"autoscale", "on", "--max=0"}, {"autoscale", "--min=257", "on"},
        {"status", "--min", "2"},       {"breaker", "--max=3", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r =
            run_wsctl(NULL, "-s", sock, cases[i][0], cases[i][1], cases[i][2], (const char *)NULL);
        ck_assert_msg(r.status == 2, "case %zu: exit %d", i, r.status);
        ck_assert_str_eq(r.out, "");
        ck_assert_msg(strncmp(r.err, "wsctl: ", 7) == 0, "case %zu: '%s'", i, r.err);
        ck_assert_contains(r.err, "\nusage: wsctl");
        run_result_fini(&r);
    }
    run_result r = RUN(NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_contains(r.err, "missing command");
    run_result_fini(&r);

    r = RUN("--help");
    check_prints(&r, (const char *const[]){"usage: wsctl", NULL});
}
END_TEST

START_TEST(no_socket_file)
{
    char missing[192];
    snprintf(missing, sizeof missing, "%s/nothing-here", dir);
    run_result r = RUN("-s", missing, "--json", "status");
    ck_assert_int_eq(r.status, 3);
    ck_assert_str_eq(r.out, "");
    ck_assert_contains(r.err, missing);
    ck_assert_contains(r.err, "no such file");
    run_result_fini(&r);

    /* the default path under an empty run directory */
    r = RUN("--run-dir", dir, "workers");
    ck_assert_int_eq(r.status, 3);
    ck_assert_contains(r.err, sock);
    run_result_fini(&r);

    /* version still prints wsctl's own */
    r = RUN("-s", missing, "version");
    ck_assert_int_eq(r.status, 3);
    ck_assert_contains(r.out, "wsctl ");
    run_result_fini(&r);
}
END_TEST

START_TEST(not_a_socket)
{
    char plain[192];
    snprintf(plain, sizeof plain, "%s/plain", dir);
    int fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ne(fd, -1);
    close(fd);
    run_result r = RUN("-s", plain, "status");
    ck_assert_int_eq(r.status, 3);
    ck_assert_contains(r.err, plain);
    ck_assert_contains(r.err, "not a socket");
    run_result_fini(&r);
}
END_TEST

/* Checks a run that found no supervisor answering at path within the timeout (text as wsctl
 * prints it) and took at least min_ms: it waited, rather than failing at once. (That it did not
 * wait for ever is run_wsctl's deadline.) Frees r. */
static void check_no_answer(run_result *r, const char *path, const char *timeout, long min_ms)
{
    char want[256];
    ck_assert_int_eq(r->status, 3);
    ck_assert_str_eq(r->out, "");
    snprintf(want, sizeof want, "wsctl: no supervisor answering at %s within %s s\n", path,
             timeout);
    ck_assert_str_eq(r->err, want);
    ck_assert_int_ge(r->elapsed_ms, min_ms);
    run_result_fini(r);
}

/* A socket file left behind by a dead supervisor: nothing listens, connections are refused. */
START_TEST(nothing_listening)
{
    char stale[192];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(stale, sizeof stale, "%s/stale", dir);
    ck_assert_uint_lt(strlen(stale), sizeof sa.sun_path);
    memcpy(sa.sun_path, stale, strlen(stale) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ne(fd, -1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);

    run_result r = RUN("-s", stale, "--timeout", "0.5", "--json", "status");
    check_no_answer(&r, stale, "0.5", 450);
}
END_TEST

/* A supervisor that holds its socket but does not answer (stopped). Default timeout: 2 s. */
START_TEST(no_answer_in_time)
{
    ck_assert_int_eq(kill(server, SIGSTOP), 0);
    run_result r = RUN("-s", sock, "workers");
    check_no_answer(&r, sock, "2", 1900);
}
END_TEST

Suite *ctl_run_suite(void)
{
    Suite *s = suite_create("ctl_run");
    TCase *tc = tcase_create("with_server");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, status_json);
    tcase_add_test(tc, workers_json);
    tcase_add_test(tc, workers_table);
    tcase_add_test(tc, status_human);
    tcase_add_test(tc, breaker_json);
    tcase_add_test(tc, breaker_table);
    tcase_add_test(tc, actions);
    tcase_add_test(tc, action_human);
    tcase_add_test(tc, version);
    tcase_add_test(tc, upgrade_waits_for_the_new_image);
    tcase_add_test(tc, refused);
    tcase_add_test(tc, run_dir_and_environment);
    tcase_add_test(tc, usage_errors);
    tcase_add_test(tc, no_answer_in_time);
    suite_add_tcase(s, tc);

    tc = tcase_create("unreachable");
    tcase_add_checked_fixture(tc, setup_no_server, remove_dir);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, no_socket_file);
    tcase_add_test(tc, not_a_socket);
    tcase_add_test(tc, nothing_listening);
    suite_add_tcase(s, tc);
    return s;
}
