/* The rpc load of a drill and the application backend it kills and starts again. */
#include "chaos_rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos_run.h"
#include "wsf_chclient.h"

#define CHAOS_RPC_TICK_MS 10
#define CHAOS_RPC_CONNECT_ID 1

extern char **environ;

typedef struct chaos_rpc_client {
    bool connected;
    uint64_t inflight; /* the rpc's id, 0 when none */
    uint64_t next_id;
    uint64_t sent_ms;
} chaos_rpc_client;

struct chaos_rpc {
    chaos_run *run;
    chaos_load *pop;
    chaos_rpc_client *c;
    size_t n;
    size_t connected;
    size_t next; /* round robin */
    double budget;
    struct event *tick;
    wsf_ch_msgs msgs;
    char backend_path[PATH_MAX];
    pid_t backend;
    uint64_t backend_started_ms; /* the last (re)start, 0 before the timeline's first */
    bool counting;
    uint64_t ok, unavailable, other, disconnects, kills;
    uint64_t recovery_ms;
    wsf_hist rtt_us;
};

static void chaos_rpc_send(chaos_rpc *r, size_t i)
{
    chaos_rpc_client *c = &r->c[i];
    char cmd[96];
    c->inflight = c->next_id++;
    c->sent_ms = chaos_load_now_ms();
    int n =
        snprintf(cmd, sizeof cmd, "{\"id\":%" PRIu64 ",\"rpc\":{\"method\":\"echo\",\"data\":%zu}}",
                 c->inflight, i);
    if (chaos_load_send_text(r->pop, i, cmd, (size_t)n) != 0)
        c->inflight = 0;
}

static void chaos_rpc_on_tick(evutil_socket_t fd, short what, void *arg)
{
    chaos_rpc *r = arg;
    (void)fd;
    (void)what;
    r->budget += r->run->d->rpc_rate * (double)r->n * CHAOS_RPC_TICK_MS / 1000.0;
    for (size_t k = 0; k < r->n && r->budget >= 1.0; k++) {
        size_t i = r->next;
        r->next = (r->next + 1) % r->n;
        if (r->c[i].connected && r->c[i].inflight == 0) {
            chaos_rpc_send(r, i);
            r->budget -= 1.0;
        }
    }
    if (r->budget > (double)r->n)
        r->budget = (double)r->n; /* clients with an rpc out do not pile up a debt */
}

static void chaos_rpc_on_up(size_t conn, bool reconnect, uint64_t down_ms, void *arg)
{
    chaos_rpc *r = arg;
    (void)reconnect;
    (void)down_ms;
    char cmd[96];
    int n = snprintf(cmd, sizeof cmd, "{\"id\":%d,\"connect\":{\"data\":{\"name\":\"rpc%zu\"}}}",
                     CHAOS_RPC_CONNECT_ID, conn);
    r->c[conn] = (chaos_rpc_client){.next_id = CHAOS_RPC_CONNECT_ID + 1};
    chaos_load_send_text(r->pop, conn, cmd, (size_t)n);
}

static void chaos_rpc_on_event(const chaos_event *ev, void *arg)
{
    chaos_rpc *r = arg;
    if (ev->conn >= r->n)
        return;
    if (r->c[ev->conn].connected)
        r->connected--;
    r->c[ev->conn].connected = false;
    r->c[ev->conn].inflight = 0;
    if (ev->was_up && r->counting)
        r->disconnects++;
}

/* An rpc's outcome: failures sent after the backend's last start say how long it took to work
 * again. */
static void chaos_rpc_done(chaos_rpc *r, chaos_rpc_client *c, const wsf_ch_msg *m)
{
    uint64_t now = chaos_load_now_ms();
    bool ok = m->kind == WSF_CH_MSG_REPLY;
    if (r->counting) {
        if (ok)
            r->ok++;
        else if (m->code == WSF_CH_ERR_NOT_AVAILABLE)
            r->unavailable++;
        else
            r->other++;
        if (ok)
            wsf_hist_add(&r->rtt_us, (now - c->sent_ms) * 1000);
        if (!ok && r->backend != 0 && r->backend_started_ms != 0 &&
            c->sent_ms >= r->backend_started_ms &&
            c->sent_ms - r->backend_started_ms > r->recovery_ms)
            r->recovery_ms = c->sent_ms - r->backend_started_ms;
    }
    c->inflight = 0;
}

static void chaos_rpc_on_message(size_t conn, const uint8_t *data, size_t len, void *arg)
{
    chaos_rpc *r = arg;
    if (conn >= r->n)
        return;
    chaos_rpc_client *c = &r->c[conn];
    wsf_ch_msgs_fini(&r->msgs);
    wsf_ch_msgs_init(&r->msgs);
    wsf_ch_parse_server(&r->msgs, (const char *)data, len);
    for (size_t k = 0; k < r->msgs.n; k++) {
        const wsf_ch_msg *m = &r->msgs.items[k];
        if (m->id == CHAOS_RPC_CONNECT_ID && m->kind == WSF_CH_MSG_REPLY && !c->connected) {
            c->connected = true;
            r->connected++;
        } else if (m->id != 0 && m->id == c->inflight &&
                   (m->kind == WSF_CH_MSG_REPLY || m->kind == WSF_CH_MSG_ERROR)) {
            chaos_rpc_done(r, c, m);
        } else if (r->counting && m->kind == WSF_CH_MSG_ERROR && m->id != CHAOS_RPC_CONNECT_ID) {
            r->other++;
        }
        /* A refused connect (the backend is down) is followed by the server's 1013: the
         * population reconnects, and on_up connects again. */
    }
}

static int chaos_rpc_spawn(chaos_rpc *r)
{
    chaos_run *run = r->run;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, run->fleet.log,
                                     O_WRONLY | O_APPEND | O_CREAT, 0600);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    char *argv[] = {r->backend_path, "--run-dir", run->fleet.run_dir, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, r->backend_path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        chaos_report_error(run->r, "cannot start the backend %s: %s", r->backend_path,
                           strerror(rc));
        return -1;
    }
    r->backend = pid;
    chaos_remember_pid(run, pid);
    return 0;
}

static void chaos_rpc_reap(chaos_rpc *r)
{
    if (r->backend <= 0)
        return;
    kill(r->backend, SIGKILL);
    while (waitpid(r->backend, NULL, 0) == -1 && errno == EINTR) {
    }
    r->backend = 0;
}

chaos_rpc *chaos_rpc_new(chaos_run *run, size_t clients)
{
    chaos_rpc *r = calloc(1, sizeof *r);
    if (r == NULL) {
        chaos_report_error(run->r, "out of memory");
        return NULL;
    }
    r->run = run;
    r->n = clients;
    wsf_hist_init(&r->rtt_us);
    wsf_ch_msgs_init(&r->msgs);
    const char *env = getenv("WSF_C_BACKEND");
    if (env != NULL && env[0] != '\0') {
        snprintf(r->backend_path, sizeof r->backend_path, "%s", env);
    } else {
        const char *slash = strrchr(run->o->fleetd_path, '/');
        int dir = slash != NULL ? (int)(slash - run->o->fleetd_path) : 1;
        snprintf(r->backend_path, sizeof r->backend_path,
                 "%.*s/../examples/c-backend/wsfleet-c-backend", dir,
                 slash != NULL ? run->o->fleetd_path : ".");
    }
    r->c = calloc(clients, sizeof *r->c);
    r->tick = event_new(run->base, -1, EV_PERSIST, chaos_rpc_on_tick, r);
    if (r->c == NULL || r->tick == NULL || chaos_rpc_spawn(r) != 0) {
        chaos_rpc_free(r);
        return NULL;
    }
    chaos_load_opts lo;
    chaos_load_base_opts(run, &lo);
    lo.kind = CHAOS_CLIENT_CHANNEL;
    snprintf(lo.path, sizeof lo.path, "/channels");
    snprintf(lo.protocol, sizeof lo.protocol, "wsfleet.v1");
    lo.connections = clients;
    lo.open_rate = run->d->open_rate;
    lo.reconnect = true;
    chaos_load_hooks hooks = {.on_event = chaos_rpc_on_event,
                              .on_up = chaos_rpc_on_up,
                              .on_message = chaos_rpc_on_message,
                              .arg = r};
    r->pop = chaos_load_new(run->base, &lo, &hooks);
    if (r->pop == NULL) {
        chaos_report_error(run->r, "cannot create %zu rpc clients", clients);
        chaos_rpc_free(r);
        return NULL;
    }
    chaos_load_start(r->pop);
    struct timeval tv = {0, CHAOS_RPC_TICK_MS * 1000};
    event_add(r->tick, &tv);
    return r;
}

size_t chaos_rpc_connected(const chaos_rpc *r)
{
    return r->connected;
}

void chaos_rpc_begin(chaos_rpc *r)
{
    r->counting = true;
    r->ok = r->unavailable = r->other = r->disconnects = 0;
    wsf_hist_init(&r->rtt_us);
}

void chaos_rpc_kill_backend(chaos_run *run)
{
    chaos_rpc *r = run->rpc;
    if (r == NULL || r->backend <= 0) {
        chaos_report_error(run->r, "kill-backend: no backend running");
        return;
    }
    pid_t pid = r->backend;
    chaos_rpc_reap(r);
    run->faults++;
    r->kills++;
    chaos_fault_note(run, "SIGKILL the application backend pid %d", (int)pid);
}

void chaos_rpc_start_backend(chaos_run *run)
{
    chaos_rpc *r = run->rpc;
    if (r == NULL || r->backend > 0) {
        chaos_report_error(run->r, "start-backend: %s",
                           r == NULL ? "the drill has no [rpc] clients" : "already running");
        return;
    }
    if (chaos_rpc_spawn(r) != 0)
        return;
    r->backend_started_ms = chaos_load_now_ms();
    chaos_action_note(run, "started the application backend again: pid %d", (int)r->backend);
}

void chaos_rpc_measure(chaos_run *run)
{
    chaos_rpc *r = run->rpc;
    chaos_report *rep = run->r;
    chaos_progress(run,
                   "rpc: %" PRIu64 " answered, %" PRIu64 " unavailable (108), %" PRIu64
                   " other errors, %" PRIu64 " disconnects, last failure %" PRIu64
                   " ms after the backend's start",
                   r->ok, r->unavailable, r->other, r->disconnects, r->recovery_ms);
    chaos_report_set(rep, CHAOS_M_RPC_CLIENTS, (double)r->n);
    chaos_report_set(rep, CHAOS_M_RPC_OK, (double)r->ok);
    chaos_report_set(rep, CHAOS_M_RPC_UNAVAILABLE, (double)r->unavailable);
    chaos_report_set(rep, CHAOS_M_RPC_OTHER_ERRORS, (double)r->other);
    chaos_report_set(rep, CHAOS_M_RPC_DISCONNECTS, (double)r->disconnects);
    chaos_report_set(rep, CHAOS_M_RPC_RECOVERY_MS, (double)r->recovery_ms);
    chaos_report_set(rep, CHAOS_M_BACKEND_KILLS, (double)r->kills);
    if (r->rtt_us.count > 0) {
        chaos_report_set(rep, CHAOS_M_RPC_P50_MS,
                         (double)wsf_hist_quantile(&r->rtt_us, 0.5) / 1000.0);
        chaos_report_set(rep, CHAOS_M_RPC_P99_MS,
                         (double)wsf_hist_quantile(&r->rtt_us, 0.99) / 1000.0);
    }
}

void chaos_rpc_free(chaos_rpc *r)
{
    if (r == NULL)
        return;
    chaos_load_free(r->pop);
    if (r->tick != NULL)
        event_free(r->tick);
    chaos_rpc_reap(r);
    wsf_ch_msgs_fini(&r->msgs);
    free(r->c);
    free(r);
}
