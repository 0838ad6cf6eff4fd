/* The nats-server sidecar: spawn, port discovery, restarts, stop. */
#include "sup_natsd.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wsf_log.h"
#include "wsf_natsd.h"

#define SUP_NATSD_HOST "127.0.0.1"
#define SUP_NATSD_POLL_MS 20

static uint64_t sup_natsd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *sup_natsd_state_name(enum sup_natsd_state s)
{
    switch (s) {
    case SUP_NATSD_EXTERNAL:
        return "external";
    case SUP_NATSD_STARTING:
        return "starting";
    case SUP_NATSD_RUNNING:
        return "running";
    case SUP_NATSD_BACKOFF:
        return "backoff";
    case SUP_NATSD_STOPPING:
        return "stopping";
    case SUP_NATSD_STOPPED:
        return "stopped";
    }
    return "?";
}

/* Writes text to path with mode 0600, replacing it atomically. Returns 0 or -errno. */
static int sup_natsd_write_secret(const char *path, const char *text)
{
    char tmp[PATH_MAX + 8];
    int rc = 0;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1)
        return -errno;
    size_t len = strlen(text), off = 0;
    if (fchmod(fd, 0600) == -1)
        rc = -errno;
    while (rc == 0 && off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n == -1 && errno != EINTR)
            rc = -errno;
        else if (n > 0)
            off += (size_t)n;
    }
    if (close(fd) == -1 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) == -1)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/* PATH, then /usr/sbin (not in a non-root PATH on Debian). */
int sup_natsd_find_exe(char *out, size_t size)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/usr/local/sbin", path != NULL ? path : "");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir != NULL;
         dir = strtok_r(NULL, ":", &save)) {
        if (dir[0] != '/')
            continue; /* a relative PATH entry would depend on the cwd */
        if (snprintf(out, size, "%s/nats-server", dir) >= (int)size)
            continue;
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -ENOENT;
}

/* mkdir -p with 0700 for the directories it creates. */
static int sup_natsd_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) == -1 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0700) == -1 && errno != EEXIST)
        return -errno;
    return 0;
}

/* The config file for port (-1: the server picks one and writes its ports file). */
static int sup_natsd_write_conf(sup_natsd *d, int port)
{
    char text[2 * PATH_MAX + 512];
    struct wsf_natsd_conf c = {.host = SUP_NATSD_HOST,
                               .port = port,
                               .token = d->token,
                               .store_dir = d->store_dir,
                               .ports_dir = d->run_dir};
    int n = wsf_natsd_config(text, sizeof text, &c);
    if (n < 0)
        return n;
    return sup_natsd_write_secret(d->conf_path, text);
}

static void sup_natsd_ports_path(const sup_natsd *d, pid_t pid, char *out, size_t size)
{
    snprintf(out, size, "%s/nats-server_%d.ports", d->run_dir, (int)pid);
}

/* Reads the port from the running server's ports file: 0 and d->port set, or -errno. */
static int sup_natsd_read_port(sup_natsd *d)
{
    char path[PATH_MAX + 64], text[1024];
    sup_natsd_ports_path(d, d->pid, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return -EAGAIN; /* being written */
    int port;
    if (wsf_natsd_parse_ports(&port, text, (size_t)n) != 0)
        return -EAGAIN;
    d->port = port;
    return 0;
}

/* A port free now on loopback, for a sidecar that could not report its own. */
static int sup_natsd_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = -1;
    if (fd != -1 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd != -1)
        close(fd);
    return port;
}

/* The port is known: the next starts use it too, and clients learn the URL. */
static int sup_natsd_fix_port(sup_natsd *d)
{
    int rc = sup_natsd_write_conf(d, d->port);
    if (rc == 0 && wsf_natsd_url(d->url, sizeof d->url, SUP_NATSD_HOST, d->port, d->token) < 0)
        rc = -EINVAL;
    if (rc == 0)
        rc = sup_natsd_write_secret(d->url_path, d->url);
    if (rc != 0)
        wsf_log_error("nats-server: cannot write %s or %s: %s", d->conf_path, d->url_path,
                      strerror(-rc));
    return rc;
}

static int sup_natsd_spawn(sup_natsd *d, uint64_t now)
{
    const char *argv[4];
    wsf_natsd_argv(argv, 4, d->exe, d->conf_path);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == -1) {
        wsf_log_error("nats-server: fork failed: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* Its own process group: a terminal's Ctrl-C must not stop it before the workers. */
        setpgid(0, 0);
        /* A supervisor killed outright takes it along; the next one starts it again with the
         * same port and token (sup_natsd_reuse), so the workers it adopts reconnect. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127); /* it died before the line above */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull > 0) {
            dup2(devnull, 0);
            close(devnull);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    d->pid = pid;
    d->started_ms = now;
    d->term_sent_ms = 0;
    d->kill_sent = false;
    d->state = d->port > 0 ? SUP_NATSD_RUNNING : SUP_NATSD_STARTING;
    wsf_log_info("nats-server: started pid %d%s", (int)pid, d->port > 0 ? "" : ", port to come");
    return 0;
}

static int sup_natsd_external(sup_natsd *d, const sup_config *cfg)
{
    d->state = SUP_NATSD_EXTERNAL;
    snprintf(d->url, sizeof d->url, "%s", cfg->nats_url);
    int rc = sup_natsd_write_secret(d->url_path, d->url);
    if (rc != 0) {
        wsf_log_error("cannot write %s: %s", d->url_path, strerror(-rc));
        return -1;
    }
    return 0;
}

/* Waits up to wait_ms for the starting sidecar's ports file. Returns 0 when it is up. */
static int sup_natsd_wait_port(sup_natsd *d, uint32_t wait_ms)
{
    uint64_t deadline = sup_natsd_now() + wait_ms;
    for (;;) {
        if (sup_natsd_read_port(d) == 0)
            return 0;
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            wsf_log_error("nats-server: exited at start (status %d); retrying", status);
            d->pid = 0;
            d->state = SUP_NATSD_BACKOFF;
            return -1;
        }
        if (sup_natsd_now() >= deadline)
            return -1;
        struct timespec ts = {0, SUP_NATSD_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Ports files of sidecars that died with an earlier supervisor (ours holds the run dir's lock). */
static void sup_natsd_remove_stale(const sup_natsd *d)
{
    char pattern[PATH_MAX + 32];
    glob_t g;
    snprintf(pattern, sizeof pattern, "%s/nats-server_*.ports", d->run_dir);
    if (glob(pattern, 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++)
        unlink(g.gl_pathv[i]);
    globfree(&g);
}

/* The port and token of the previous sidecar of this run dir (its nats.conf, written 0600 by a
 * supervisor holding the run dir's lock), so that workers a new supervisor adopts find the broker
 * where they left it. Returns 0 with d->port and d->token set, or -1. */
static int sup_natsd_reuse(sup_natsd *d)
{
    char text[4096];
    int fd = open(d->conf_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1)
        return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    const char *p = strstr(text, "\nport: ");
    const char *t = strstr(text, "token: \"");
    int port;
    char token[sizeof d->token];
    if (p == NULL || t == NULL || sscanf(p, "\nport: %d", &port) != 1 || port < 1 || port > 65535 ||
        sscanf(t, "token: \"%32[0-9a-f]\"", token) != 1 || strlen(token) != sizeof token - 1)
        return -1;
    d->port = port;
    memcpy(d->token, token, sizeof token);
    return 0;
}

/* Sets d's paths, executable and store up for cfg. Returns 1 for an external broker (set up),
 * 0 for a sidecar, SUP_NATSD_ENOEXEC or -1 (logged). */
static int sup_natsd_prepare(sup_natsd *d, const sup_config *cfg, const char *run_dir,
                             unsigned euid)
{
    memset(d, 0, sizeof *d);
    sup_restart_init(&d->restart);
    snprintf(d->run_dir, sizeof d->run_dir, "%s", run_dir);
    snprintf(d->url_path, sizeof d->url_path, "%s/nats.url", run_dir);
    snprintf(d->conf_path, sizeof d->conf_path, "%s/nats.conf", run_dir);
    if (cfg->nats_url[0] != '\0')
        return sup_natsd_external(d, cfg) == 0 ? 1 : -1;
    if (sup_natsd_find_exe(d->exe, sizeof d->exe) != 0) {
        wsf_log_error("%s", SUP_NATSD_MISSING);
        return SUP_NATSD_ENOEXEC;
    }
    if (cfg->nats_store_dir[0] != '\0')
        snprintf(d->store_dir, sizeof d->store_dir, "%s", cfg->nats_store_dir);
    else if (euid == 0 && strcmp(cfg->run_dir, "/run/wsfleet") == 0)
        snprintf(d->store_dir, sizeof d->store_dir, "/var/lib/wsfleet/nats");
    else
        snprintf(d->store_dir, sizeof d->store_dir, "%s/nats", run_dir);
    int rc = sup_natsd_mkdirs(d->store_dir);
    if (rc != 0) {
        wsf_log_error("nats-server store %s: %s", d->store_dir, strerror(-rc));
        return -1;
    }
    return 0;
}

int sup_natsd_start(sup_natsd *d, const sup_config *cfg, const char *run_dir, unsigned euid,
                    uint32_t wait_ms)
{
    int rc = sup_natsd_prepare(d, cfg, run_dir, euid);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    sup_natsd_remove_stale(d);
    if (sup_natsd_reuse(d) == 0) {
        wsf_log_info("nats-server: reusing port %d and the token of this run dir's last one",
                     d->port);
        int port = d->port;
        if (sup_natsd_fix_port(d) != 0)
            return -1;
        if (sup_natsd_spawn(d, sup_natsd_now()) != 0) {
            d->state = SUP_NATSD_BACKOFF;
        } else if (sup_natsd_wait_port(d, wait_ms) == 0) {
            d->port = port; /* the config fixes it: the ports file says the same */
            wsf_log_info("nats-server: pid %d listening on %s:%d, store %s", (int)d->pid,
                         SUP_NATSD_HOST, d->port, d->store_dir);
        }
        d->port = port;
        return 0;
    }
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        wsf_log_error("getrandom: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(d->token + 2 * i, 3, "%02x", raw[i]);
    rc = sup_natsd_write_conf(d, -1);
    if (rc != 0) {
        wsf_log_error("cannot write %s: %s", d->conf_path, strerror(-rc));
        return -1;
    }
    if (sup_natsd_spawn(d, sup_natsd_now()) != 0)
        d->state = SUP_NATSD_BACKOFF;
    if (d->state == SUP_NATSD_STARTING && sup_natsd_wait_port(d, wait_ms) == 0) {
        d->state = SUP_NATSD_RUNNING;
        wsf_log_info("nats-server: pid %d listening on %s:%d, store %s", (int)d->pid,
                     SUP_NATSD_HOST, d->port, d->store_dir);
        return sup_natsd_fix_port(d) == 0 ? 0 : -1;
    }
    /* Not up in time: kill it and give it a port of ours, so that the workers can be told. */
    if (d->pid > 0) {
        wsf_log_error("nats-server: pid %d did not report its port within %u ms; restarting it",
                      (int)d->pid, wait_ms);
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
    }
    d->port = sup_natsd_free_port();
    if (d->port <= 0 || sup_natsd_fix_port(d) != 0)
        return -1;
    d->state = SUP_NATSD_BACKOFF;
    d->restart_at_ms = sup_natsd_now();
    return 0;
}

int sup_natsd_adopt(sup_natsd *d, const sup_config *cfg, const char *run_dir, unsigned euid,
                    const sup_natsd_handover *h)
{
    int rc = sup_natsd_prepare(d, cfg, run_dir, euid);
    if (rc < 0)
        return rc;
    if ((rc == 1) != (h->state == SUP_NATSD_EXTERNAL)) {
        wsf_log_error("upgrade: the hand-over's broker (%s) is not the configuration's",
                      sup_natsd_state_name(h->state));
        return -1;
    }
    if (rc == 1)
        return 0;
    /* The token lives in nats.conf, written by the previous image (it never travels). */
    if (sup_natsd_reuse(d) != 0 || d->port != h->port) {
        wsf_log_error("upgrade: %s does not hold the sidecar's port %d and token", d->conf_path,
                      h->port);
        return -1;
    }
    if (sup_natsd_fix_port(d) != 0) /* nats.url as it was: the workers keep reading it */
        return -1;
    d->state = h->state;
    d->pid = (pid_t)h->pid;
    d->failed = h->failed;
    d->started_ms = h->started_ms;
    d->restart_at_ms = h->restart_at_ms;
    d->restart = h->restart;
    if (d->pid > 0)
        wsf_log_info("nats-server: pid %d on %s:%d kept across the upgrade", (int)d->pid,
                     SUP_NATSD_HOST, d->port);
    return 0;
}

void sup_natsd_hand_over(const sup_natsd *d, sup_natsd_handover *out)
{
    memset(out, 0, sizeof *out);
    out->state = d->state;
    out->pid = (int)d->pid;
    out->port = d->port;
    out->failed = d->failed;
    out->started_ms = d->started_ms;
    out->restart_at_ms = d->restart_at_ms;
    out->restart = d->restart;
}

bool sup_natsd_reap(sup_natsd *d, pid_t pid, int status, uint64_t now, const sup_restart_policy *p,
                    double rnd)
{
    if (d->pid == 0 || pid != d->pid)
        return false;
    char path[PATH_MAX + 64];
    sup_natsd_ports_path(d, pid, path, sizeof path);
    unlink(path);
    d->pid = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (d->state == SUP_NATSD_STOPPING) {
        d->state = SUP_NATSD_STOPPED;
        wsf_log_info("nats-server: stopped");
        return true;
    }
    sup_restart_decision dec = sup_restart_on_exit(&d->restart, p, now, d->started_ms, code, rnd);
    d->failed = dec.failed;
    d->state = SUP_NATSD_BACKOFF;
    d->restart_at_ms = now + dec.delay_ms;
    if (WIFSIGNALED(status))
        wsf_log_error("nats-server: pid %d killed by signal %d; restarting in %llu ms", (int)pid,
                      WTERMSIG(status), (unsigned long long)dec.delay_ms);
    else
        wsf_log_error("nats-server: pid %d exited with %d; restarting in %llu ms", (int)pid, code,
                      (unsigned long long)dec.delay_ms);
    if (dec.newly_failed)
        wsf_log_error("nats-server: crash loop: restarting it every %llu ms from now",
                      (unsigned long long)p->max_delay_ms);
    return true;
}

void sup_natsd_tick(sup_natsd *d, uint64_t now, const sup_restart_policy *p, uint32_t kill_grace_ms)
{
    switch (d->state) {
    case SUP_NATSD_BACKOFF:
        if (now >= d->restart_at_ms && sup_natsd_spawn(d, now) != 0) {
            sup_restart_decision dec = sup_restart_on_exit(&d->restart, p, now, now, -1, 0.5);
            d->restart_at_ms = now + dec.delay_ms;
        }
        break;
    case SUP_NATSD_RUNNING:
        if (sup_restart_on_uptime(&d->restart, p, now, d->started_ms))
            d->failed = false;
        break;
    case SUP_NATSD_STOPPING:
        if (d->pid > 0 && !d->kill_sent && now - d->term_sent_ms >= kill_grace_ms) {
            wsf_log_warn("nats-server: pid %d ignored SIGTERM for %u ms: SIGKILL", (int)d->pid,
                         kill_grace_ms);
            kill(d->pid, SIGKILL);
            d->kill_sent = true;
        }
        break;
    default:
        break;
    }
}

bool sup_natsd_stop(sup_natsd *d, uint64_t now)
{
    if (d->state == SUP_NATSD_EXTERNAL)
        return true;
    if (d->pid == 0) {
        d->state = SUP_NATSD_STOPPED;
        return true;
    }
    if (d->state != SUP_NATSD_STOPPING) {
        wsf_log_info("nats-server: stopping pid %d", (int)d->pid);
        kill(d->pid, SIGTERM);
        d->term_sent_ms = now;
        d->state = SUP_NATSD_STOPPING;
    }
    return false;
}

void sup_natsd_fini(sup_natsd *d)
{
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    char path[PATH_MAX + 64];
    sup_natsd_ports_path(d, d->pid, path, sizeof path);
    unlink(path);
    d->pid = 0;
    d->state = SUP_NATSD_STOPPED;
}
