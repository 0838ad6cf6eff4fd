/* The local cluster a drill runs on: scripts/cluster's processes, their pid files and endpoints,
 * the NATS nodes' monitoring ports (which node leads what), and the kills. */
#include "chaos_cluster.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos_jsz.h"
#include "chaos_proc.h"
#include "wsf_rand.h"

extern char **environ;

#define CHAOS_RESTARTS_MAX 16
#define CHAOS_NODE_PAUSE_MS 5000 /* kill-nats-node: down this long unless for= says */
#define CHAOS_REAP_MS 100        /* how often a restart in flight is checked */
#define CHAOS_JSZ_MAX (1u << 20) /* a node's /jsz answer for a few streams is far below this */
#define CHAOS_STREAM_NAME "WSF"  /* [nats] stream's default, the channels' stream */

typedef struct chaos_node_restart {
    chaos_run *run;
    struct event *ev;
    int node;  /* 1..3 */
    pid_t pid; /* `scripts/cluster nats-start N` in flight, 0 = not started yet */
} chaos_node_restart;

struct chaos_cluster {
    char dir[CHAOS_PATH_MAX]; /* WSF_CLUSTER_DIR: DRILL/cluster */
    char log[CHAOS_PATH_MAX]; /* the script's output: DRILL/cluster.log */
    uint16_t fleet_port[CHAOS_CLUSTER_NODES];
    uint16_t monitor_port[CHAOS_CLUSTER_NODES];
    chaos_node_restart restarts[CHAOS_RESTARTS_MAX];
    size_t n_restarts;
    uint64_t node_kills;
    uint64_t node_restarts;
    uint64_t host_kills;
};

static pid_t chaos_cluster_pid(const struct chaos_cluster *c, const char *name);

/* Starts the script with ARG [N], its output appended to the log. Returns its pid or -1. */
static pid_t chaos_cluster_spawn(chaos_run *run, const char *arg, const char *n)
{
    struct chaos_cluster *c = run->cluster;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, c->log, O_WRONLY | O_APPEND | O_CREAT,
                                     0600);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    char *argv[] = {(char *)run->o->cluster_script, (char *)arg, (char *)n, NULL};
    pid_t pid = -1;
    int rc = posix_spawn(&pid, run->o->cluster_script, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        chaos_report_error(run->r, "cannot run %s: %s", run->o->cluster_script, strerror(rc));
        return -1;
    }
    return pid;
}

static int chaos_cluster_wait(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The port of "http://127.0.0.1:PORT" or "ws://127.0.0.1:PORT". */
static uint16_t chaos_url_port(const char *url)
{
    const char *colon = url != NULL ? strrchr(url, ':') : NULL;
    if (colon == NULL) {
        return 0;
    }
    long v = strtol(colon + 1, NULL, 10);
    return v > 0 && v < 65536 ? (uint16_t)v : 0;
}

static int chaos_cluster_read_endpoints(struct chaos_cluster *c, char *err, size_t err_len)
{
    char path[CHAOS_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/endpoints.json", c->dir);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL) {
        snprintf(err, err_len, "cannot read endpoints.json in %s (line %d)", c->dir, jerr.line);
        return -1;
    }
    int rc = 0;
    json_t *fleets = json_object_get(doc, "fleets");
    json_t *monitor = json_object_get(doc, "nats_monitor");
    for (int i = 0; i < CHAOS_CLUSTER_NODES; i++) {
        char name[2] = {(char)('a' + i), '\0'};
        json_t *f = json_object_get(fleets, name);
        c->fleet_port[i] = (uint16_t)json_integer_value(json_object_get(f, "port"));
        c->monitor_port[i] = chaos_url_port(json_string_value(json_array_get(monitor, (size_t)i)));
        if (c->fleet_port[i] == 0 || c->monitor_port[i] == 0) {
            snprintf(err, err_len, "endpoints.json in %s: no port for fleet %s or NATS node %d",
                     c->dir, name, i + 1);
            rc = -1;
        }
    }
    json_decref(doc);
    return rc;
}

int chaos_cluster_up(chaos_run *run)
{
    if (run->o->cluster_script == NULL || access(run->o->cluster_script, X_OK) != 0) {
        chaos_report_error(run->r, "cannot find scripts/cluster (set WSF_CLUSTER_SCRIPT)");
        return -1;
    }
    struct chaos_cluster *c = calloc(1, sizeof *c);
    if (c == NULL) {
        chaos_report_error(run->r, "out of memory");
        return -1;
    }
    run->cluster = c;
    snprintf(c->dir, sizeof c->dir, "%.*s/cluster", (int)(sizeof c->dir - 16), run->fleet.dir);
    snprintf(c->log, sizeof c->log, "%.*s/cluster.log", (int)(sizeof c->log - 16), run->fleet.dir);
    /* The script's environment: this process is single-threaded and runs only these scripts
     * beside the fleet's own children, which take their settings from files. */
    setenv("WSF_CLUSTER_DIR", c->dir, 1);
    setenv("WSFLEETD", run->o->fleetd_path, 1);
    setenv("WSCTL", run->o->wsctl_path, 1);
    pid_t pid = chaos_cluster_spawn(run, "up", NULL);
    if (pid < 0) {
        return -1;
    }
    int status = chaos_cluster_wait(pid);
    if (status != 0) {
        chaos_report_error(run->r, "scripts/cluster up failed (exit %d; see %s)", status, c->log);
        return -1;
    }
    char err[CHAOS_PATH_MAX + 256];
    if (chaos_cluster_read_endpoints(c, err, sizeof err) != 0) {
        chaos_report_error(run->r, "%s", err);
        return -1;
    }
    chaos_progress(run,
                   "cluster up: NATS node pid %d, pid %d, pid %d; fleets a, b, c wsfleetd pid %d, "
                   "pid %d, pid %d on 127.0.0.1:%u, :%u, :%u (%s)",
                   (int)chaos_cluster_pid(c, "nats-1/nats.pid"),
                   (int)chaos_cluster_pid(c, "nats-2/nats.pid"),
                   (int)chaos_cluster_pid(c, "nats-3/nats.pid"),
                   (int)chaos_cluster_pid(c, "fleet-a/wsfleetd.pid"),
                   (int)chaos_cluster_pid(c, "fleet-b/wsfleetd.pid"),
                   (int)chaos_cluster_pid(c, "fleet-c/wsfleetd.pid"), (unsigned)c->fleet_port[0],
                   (unsigned)c->fleet_port[1], (unsigned)c->fleet_port[2], c->dir);
    return 0;
}

void chaos_cluster_targets(const chaos_run *run, chaos_load_opts *lo)
{
    lo->ntargets = 0;
    for (int i = 0; i < CHAOS_CLUSTER_NODES; i++) {
        char target[32];
        snprintf(target, sizeof target, "127.0.0.1:%u", (unsigned)run->cluster->fleet_port[i]);
        chaos_load_opts_add_target(lo, target);
    }
}

/* The pid in DIR/cluster/NAME (a pid file), or 0. */
static pid_t chaos_cluster_pid(const struct chaos_cluster *c, const char *name)
{
    char path[CHAOS_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    long v = 0;
    if (fscanf(f, "%ld", &v) != 1 || v <= 1 || v > INT32_MAX) {
        v = 0;
    }
    fclose(f);
    return (pid_t)v;
}

static pid_t chaos_node_pid(const struct chaos_cluster *c, int node)
{
    char name[32];
    snprintf(name, sizeof name, "nats-%d/nats.pid", node);
    pid_t pid = chaos_cluster_pid(c, name);
    return pid > 0 && chaos_proc_alive(pid) ? pid : 0;
}

/* GET /jsz?streams=true from a node's monitoring port (HTTP/1.0: the answer ends at EOF), and
 * the leaders it names (chaos_jsz.h). Returns 0 or -1. */
static int chaos_jsz_get(uint16_t port, unsigned *mask, int *leader)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const char req[] = "GET /jsz?streams=true HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    char *buf = NULL;
    int rc = -1;
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        goto out;
    }
    size_t cap = 16384;
    size_t len = 0;
    buf = malloc(cap);
    while (buf != NULL) {
        if (len == cap) {
            char *grown = cap < CHAOS_JSZ_MAX ? realloc(buf, cap * 2) : NULL;
            if (grown == NULL) {
                goto out;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n > 0) {
            len += (size_t)n;
        } else if (n == 0) {
            rc = chaos_jsz_leaders(buf, len, CHAOS_STREAM_NAME, mask, leader);
            break;
        } else if (errno != EINTR) {
            goto out;
        }
    }
out:
    free(buf);
    close(fd);
    return rc;
}

/* Which nodes lead something and which leads the channels' stream, as the first live node that
 * knows both says. Returns 0, or -1 when no node could tell. */
static int chaos_cluster_leaders(const struct chaos_cluster *c, unsigned *mask, int *stream)
{
    for (int i = 0; i < CHAOS_CLUSTER_NODES; i++) {
        if (chaos_node_pid(c, i + 1) > 0 && chaos_jsz_get(c->monitor_port[i], mask, stream) == 0) {
            return 0;
        }
    }
    return -1;
}

static void chaos_on_restart(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chaos_node_restart *rs = arg;
    chaos_run *run = rs->run;
    char n[8];
    snprintf(n, sizeof n, "%d", rs->node);
    if (rs->pid == 0) {
        rs->pid = chaos_cluster_spawn(run, "nats-start", n);
        if (rs->pid < 0) {
            rs->pid = 0;
            return;
        }
        chaos_load_arm_ms(rs->ev, CHAOS_REAP_MS);
        return;
    }
    int status = 0;
    pid_t r = waitpid(rs->pid, &status, WNOHANG);
    if (r == 0) {
        chaos_load_arm_ms(rs->ev, CHAOS_REAP_MS);
        return;
    }
    rs->pid = 0;
    if (r == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        chaos_report_error(run->r, "scripts/cluster nats-start %d failed (see %s)", rs->node,
                           run->cluster->log);
        return;
    }
    run->cluster->node_restarts++;
    chaos_action_note(run, "NATS node %d started again (pid %d)", rs->node,
                      (int)chaos_node_pid(run->cluster, rs->node));
}

void chaos_cluster_kill_node(chaos_run *run, const chaos_action *a)
{
    struct chaos_cluster *c = run->cluster;
    int node = a->target;
    const char *why = "";
    if (node < 1) {
        unsigned mask = 0;
        int stream = 0;
        if (chaos_cluster_leaders(c, &mask, &stream) != 0) {
            chaos_report_error(run->r, "kill-nats-node: no node tells the stream's leader");
            return;
        }
        if (a->target == CHAOS_NODE_LEADER) {
            node = stream;
            why = ", the leader of the channels' stream";
        } else {
            int free_nodes[CHAOS_CLUSTER_NODES];
            size_t n = 0;
            for (int i = 1; i <= CHAOS_CLUSTER_NODES; i++) {
                if ((mask & 1u << (i - 1)) == 0 && chaos_node_pid(c, i) > 0) {
                    free_nodes[n++] = i;
                }
            }
            if (n == 0) {
                chaos_report_error(run->r, "kill-nats-node follower: every live node leads");
                return;
            }
            node = free_nodes[(size_t)(wsf_rand_unit(&run->rng) * (double)n) % n];
            why = ", a follower: it leads no stream and not the meta group";
        }
    }
    pid_t pid = chaos_node_pid(c, node);
    if (pid == 0 || chaos_fleet_signal(pid, SIGKILL) != 0) {
        chaos_report_error(run->r, "kill-nats-node: node %d is not running", node);
        return;
    }
    c->node_kills++;
    run->faults++;
    uint32_t pause = a->for_ms != 0 ? a->for_ms : CHAOS_NODE_PAUSE_MS;
    chaos_fault_note(run, "SIGKILL NATS node %d pid %d%s; back in %.1f s", node, (int)pid, why,
                     (double)pause / 1000.0);
    if (c->n_restarts == CHAOS_RESTARTS_MAX) {
        chaos_report_error(run->r, "kill-nats-node: more than %d restarts", CHAOS_RESTARTS_MAX);
        return;
    }
    chaos_node_restart *rs = &c->restarts[c->n_restarts];
    rs->run = run;
    rs->node = node;
    rs->pid = 0;
    rs->ev = evtimer_new(run->base, chaos_on_restart, rs);
    if (rs->ev == NULL) {
        chaos_report_error(run->r, "out of memory");
        return;
    }
    c->n_restarts++;
    chaos_load_arm_ms(rs->ev, pause);
}

/* The children of pid, from /proc/N/stat (the field after the command's closing parenthesis is
 * the state, then the parent). Returns how many fit in out. */
static size_t chaos_children(pid_t pid, pid_t *out, size_t max)
{
    DIR *d = opendir("/proc");
    if (d == NULL) {
        return 0;
    }
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (!isdigit((unsigned char)e->d_name[0])) {
            continue;
        }
        char path[300];
        char buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        const char *rp = strrchr(buf, ')');
        char state = 0;
        long ppid = 0;
        if (rp != NULL && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == pid &&
            state != 'Z') {
            out[n++] = (pid_t)atol(e->d_name);
        }
    }
    closedir(d);
    return n;
}

void chaos_cluster_kill_host(chaos_run *run, const chaos_action *a)
{
    struct chaos_cluster *c = run->cluster;
    char name[32];
    snprintf(name, sizeof name, "fleet-%c/wsfleetd.pid", 'a' + a->target);
    pid_t sup = chaos_cluster_pid(c, name);
    if (sup == 0 || !chaos_proc_alive(sup)) {
        chaos_report_error(run->r, "kill-host: fleet %c is not running", 'a' + a->target);
        return;
    }
    /* Stopped first, so that it starts no worker between the reading of its children and the
     * kills. */
    chaos_fleet_signal(sup, SIGSTOP);
    pid_t kids[CHAOS_SLOTS];
    size_t n = chaos_children(sup, kids, CHAOS_SLOTS);
    for (size_t i = 0; i < n; i++) {
        chaos_fleet_signal(kids[i], SIGKILL);
    }
    chaos_fleet_signal(sup, SIGKILL);
    c->host_kills++;
    run->faults++;
    chaos_fault_note(run, "SIGKILL fleet %c: wsfleetd pid %d and its %zu children", 'a' + a->target,
                     (int)sup, n);
}

void chaos_cluster_down(chaos_run *run)
{
    struct chaos_cluster *c = run->cluster;
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n_restarts; i++) {
        chaos_node_restart *rs = &c->restarts[i];
        if (rs->pid > 0 && chaos_cluster_wait(rs->pid) == 0) {
            c->node_restarts++; /* finished after the loop stopped looking */
        }
        event_free(rs->ev);
    }
    chaos_report_set(run->r, CHAOS_M_NATS_NODE_KILLS, (double)c->node_kills);
    chaos_report_set(run->r, CHAOS_M_NATS_NODE_RESTARTS, (double)c->node_restarts);
    chaos_report_set(run->r, CHAOS_M_HOST_KILLS, (double)c->host_kills);
    pid_t pid = chaos_cluster_spawn(run, "down", NULL);
    if (pid > 0 && chaos_cluster_wait(pid) != 0) {
        chaos_progress(run, "scripts/cluster down failed (see %s)", c->log);
    }
    free(c);
    run->cluster = NULL;
}
