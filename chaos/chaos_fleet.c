/* A drill's own wsfleetd, and wsctl calls against it. */
#include "chaos_fleet.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chaos_load.h"

#define CHAOS_CTL_ARGS_MAX 16
#define CHAOS_CTL_OUT_MAX (1u << 20) /* wsctl's JSON for 256 workers is far below this */
#define CHAOS_CTL_TIMEOUT "2"        /* wsctl --timeout: seconds to wait for the supervisor */

static void chaos_fleet_errf(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void chaos_fleet_errf(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

static void chaos_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

int chaos_fleet_init(chaos_fleet *f, struct event_base *base, const char *fleetd_path,
                     const char *wsctl_path, char *err, size_t err_len)
{
    memset(f, 0, sizeof(*f));
    f->base = base;
    f->fleetd_path = fleetd_path;
    f->wsctl_path = wsctl_path;
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0') {
        tmp = "/tmp";
    }
    int n = snprintf(f->dir, sizeof(f->dir), "%s/wschaos.XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof(f->dir) - 32) {
        chaos_fleet_errf(err, err_len, "TMPDIR is too long: %s", tmp);
        return -1;
    }
    if (mkdtemp(f->dir) == NULL) {
        chaos_fleet_errf(err, err_len, "cannot make a directory in %s: %s", tmp, strerror(errno));
        return -1;
    }
    /* The directory name left room for these (checked above). */
    if (snprintf(f->run_dir, sizeof(f->run_dir), "%s/run", f->dir) < 0 ||
        snprintf(f->config, sizeof(f->config), "%s/wsfleetd.ini", f->dir) < 0 ||
        snprintf(f->log, sizeof(f->log), "%s/wsfleetd.log", f->dir) < 0) {
        chaos_fleet_errf(err, err_len, "cannot name the files in %s", f->dir);
        return -1;
    }
    return 0;
}

/* Reads everything from fd until EOF into a NUL-terminated heap string (capped). */
static char *chaos_read_all(int fd)
{
    size_t cap = 4096;
    size_t len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        return NULL;
    }
    for (;;) {
        if (len + 1 == cap) {
            if (cap >= CHAOS_CTL_OUT_MAX) {
                break;
            }
            char *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                break;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n > 0) {
            len += (size_t)n;
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    buf[len] = '\0';
    return buf;
}

/* Builds wsctl's argv: PATH --run-dir RUN --json --timeout T ARGS... NULL. */
static int chaos_ctl_argv(const chaos_fleet *f, const char *argv[], const char *const *args)
{
    size_t n = 0;
    argv[n++] = f->wsctl_path;
    argv[n++] = "--run-dir";
    argv[n++] = f->run_dir;
    argv[n++] = "--json";
    argv[n++] = "--timeout";
    argv[n++] = CHAOS_CTL_TIMEOUT;
    for (size_t i = 0; args[i] != NULL; i++) {
        if (n + 1 >= CHAOS_CTL_ARGS_MAX) {
            return -1;
        }
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    return 0;
}

static int chaos_wait_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Forks and execs argv with stdin on /dev/null, stdout on out_fd and stderr on err_fd (/dev/null
 * when -1). Returns the pid once the exec has happened, so nothing signals the child while it still
 * runs this process's code, or -1 with errno set; an exec failure comes back on a close-on-exec
 * pipe (as in libuv), and that child is reaped. */
static pid_t chaos_spawn(const char *const argv[], int out_fd, int err_fd)
{
    int e[2];
    if (pipe2(e, O_CLOEXEC) != 0) {
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(e[0]);
        close(e[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
        }
        dup2(out_fd, STDOUT_FILENO);
        dup2(err_fd >= 0 ? err_fd : devnull, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        int exec_errno = errno;
        ssize_t w = write(e[1], &exec_errno, sizeof(exec_errno));
        (void)w;
        _exit(127);
    }
    close(e[1]);
    /* EOF once the exec succeeded; the child's errno when it failed. */
    int exec_errno = 0;
    ssize_t n;
    while ((n = read(e[0], &exec_errno, sizeof(exec_errno))) == -1 && errno == EINTR) {
    }
    close(e[0]);
    if (n > 0) {
        chaos_wait_child(pid);
        errno = exec_errno;
        return -1;
    }
    return pid;
}

/* Starts wsctl with stdout on a pipe (stderr to /dev/null). Returns its pid and the read end, or
 * -1 when it did not start. */
static pid_t chaos_ctl_spawn(const chaos_fleet *f, const char *const *args, int *out_fd)
{
    const char *argv[CHAOS_CTL_ARGS_MAX];
    int p[2];
    if (chaos_ctl_argv(f, argv, args) != 0 || pipe2(p, O_CLOEXEC) != 0) {
        return -1;
    }
    pid_t pid = chaos_spawn(argv, p[1], -1);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    *out_fd = p[0];
    return pid;
}

static json_t *chaos_parse_json(const char *text)
{
    json_error_t jerr;
    return json_loads(text, JSON_DECODE_ANY, &jerr);
}

int chaos_fleet_ctl(chaos_fleet *f, json_t **doc, const char *const *args)
{
    if (doc != NULL) {
        *doc = NULL;
    }
    int fd = -1;
    pid_t pid = chaos_ctl_spawn(f, args, &fd);
    if (pid < 0) {
        return -1;
    }
    char *out = chaos_read_all(fd);
    close(fd);
    int status = chaos_wait_child(pid);
    if (doc != NULL && out != NULL && out[0] != '\0') {
        *doc = chaos_parse_json(out);
    }
    free(out);
    return status;
}

/* An asynchronous call in progress. */
typedef struct chaos_ctl_call {
    chaos_fleet *fleet;
    pid_t pid;
    int fd;
    struct event *ev;
    char *out;
    size_t len;
    size_t cap;
    chaos_ctl_done done;
    void *arg;
} chaos_ctl_call;

static void chaos_ctl_finish(chaos_ctl_call *call)
{
    event_free(call->ev);
    close(call->fd);
    /* wsctl has closed its stdout, so it is exiting: this wait is short. */
    int status = chaos_wait_child(call->pid);
    json_t *doc = NULL;
    if (call->out != NULL && call->len > 0) {
        call->out[call->len] = '\0';
        doc = chaos_parse_json(call->out);
    }
    call->fleet->calls_pending--;
    call->done(status, doc, call->arg);
    json_decref(doc);
    free(call->out);
    free(call);
}

static void chaos_ctl_on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    chaos_ctl_call *call = arg;
    for (;;) {
        if (call->cap - call->len < 4097) {
            size_t cap = call->cap == 0 ? 8192 : call->cap * 2;
            char *grown = cap > CHAOS_CTL_OUT_MAX ? NULL : realloc(call->out, cap);
            if (grown == NULL) {
                chaos_ctl_finish(call);
                return;
            }
            call->out = grown;
            call->cap = cap;
        }
        ssize_t n = read((int)fd, call->out + call->len, call->cap - call->len - 1);
        if (n > 0) {
            call->len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        chaos_ctl_finish(call);
        return;
    }
}

int chaos_fleet_ctl_async(chaos_fleet *f, const char *const *args, chaos_ctl_done done, void *arg)
{
    chaos_ctl_call *call = calloc(1, sizeof(*call));
    if (call == NULL) {
        return -1;
    }
    call->fleet = f;
    call->done = done;
    call->arg = arg;
    call->pid = chaos_ctl_spawn(f, args, &call->fd);
    if (call->pid < 0) {
        free(call);
        return -1;
    }
    fcntl(call->fd, F_SETFL, fcntl(call->fd, F_GETFL) | O_NONBLOCK);
    call->ev = event_new(f->base, call->fd, EV_READ | EV_PERSIST, chaos_ctl_on_read, call);
    if (call->ev == NULL || event_add(call->ev, NULL) != 0) {
        if (call->ev != NULL) {
            event_free(call->ev);
        }
        close(call->fd);
        chaos_wait_child(call->pid);
        free(call);
        return -1;
    }
    f->calls_pending++;
    return 0;
}

bool chaos_fleet_alive(chaos_fleet *f)
{
    if (f->pid <= 0 || f->reaped) {
        return false;
    }
    int status = 0;
    pid_t r = waitpid(f->pid, &status, WNOHANG);
    if (r == f->pid) {
        f->reaped = true;
        f->wait_status = status;
        return false;
    }
    return true;
}

static int chaos_write_config(const chaos_fleet *f, const char *fleet_ini)
{
    FILE *fp = fopen(f->config, "w");
    if (fp == NULL) {
        return -1;
    }
    /* Drills inject faults through wsctl, which the fleet refuses unless [drills] allows it; the
     * drill's own sections come after, so a drill may set [drills] max_memory. The admin server
     * takes a free port: drills run beside other fleets. */
    fprintf(fp,
            "# written by wschaos for one drill\n[fleet]\nlisten = 127.0.0.1:0\nrun_dir = %s\n\n"
            "[drills]\nenabled = yes\n\n[admin]\nlisten = 127.0.0.1:0\n\n%s",
            f->run_dir, fleet_ini);
    return fclose(fp) == 0 ? 0 : -1;
}

/* The last line of the log, for an error message. */
static void chaos_log_tail(const chaos_fleet *f, char *out, size_t len)
{
    out[0] = '\0';
    FILE *fp = fopen(f->log, "r");
    if (fp == NULL) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (line[0] != '\n') {
            line[strcspn(line, "\n")] = '\0';
            if (snprintf(out, len, "%s", line) < 0) {
                out[0] = '\0';
            }
        }
    }
    fclose(fp);
}

/* Reads "listen": "127.0.0.1:PORT" and the worker counts from a status document. Returns 1 when
 * the fleet is running with every desired worker, 0 when not yet. */
static int chaos_fleet_check_ready(chaos_fleet *f, json_t *status)
{
    const char *state = json_string_value(json_object_get(status, "state"));
    const char *listen = json_string_value(json_object_get(status, "listen"));
    json_int_t running = json_integer_value(json_object_get(status, "workers_running"));
    json_int_t desired = json_integer_value(json_object_get(status, "workers_desired"));
    if (state == NULL || strcmp(state, "running") != 0 || listen == NULL || running < desired) {
        return 0;
    }
    const char *colon = strrchr(listen, ':');
    long port = colon != NULL ? strtol(colon + 1, NULL, 10) : 0;
    if (port <= 0 || port > 65535) {
        return 0;
    }
    f->port = (uint16_t)port;
    return 1;
}

int chaos_fleet_start(chaos_fleet *f, const char *fleet_ini, uint32_t timeout_ms, char *err,
                      size_t err_len)
{
    if (chaos_write_config(f, fleet_ini) != 0) {
        chaos_fleet_errf(err, err_len, "cannot write %s: %s", f->config, strerror(errno));
        return -1;
    }
    int logfd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0) {
        chaos_fleet_errf(err, err_len, "cannot open %s: %s", f->log, strerror(errno));
        return -1;
    }
    const char *const argv[] = {f->fleetd_path, "--config", f->config, "--foreground", NULL};
    pid_t pid = chaos_spawn(argv, logfd, logfd);
    if (pid < 0) {
        chaos_fleet_errf(err, err_len, "cannot run %s: %s", f->fleetd_path, strerror(errno));
        close(logfd);
        return -1;
    }
    close(logfd);
    f->pid = pid;
    uint64_t deadline = chaos_load_now_ms() + timeout_ms;
    const char *const args[] = {"status", NULL};
    while (chaos_load_now_ms() < deadline) {
        if (!chaos_fleet_alive(f)) {
            char tail[400];
            chaos_log_tail(f, tail, sizeof(tail));
            chaos_fleet_errf(err, err_len, "wsfleetd exited at start (%s): %s", f->log, tail);
            return -1;
        }
        json_t *doc = NULL;
        int rc = chaos_fleet_ctl(f, &doc, args);
        int ready = rc == 0 && doc != NULL ? chaos_fleet_check_ready(f, doc) : 0;
        json_decref(doc);
        if (ready) {
            return 0;
        }
        chaos_sleep_ms(100);
    }
    chaos_fleet_errf(err, err_len, "wsfleetd not ready with all its workers within %u ms (%s)",
                     timeout_ms, f->log);
    chaos_fleet_stop(f, 5000);
    return -1;
}

int chaos_fleet_respawn(chaos_fleet *f, char *err, size_t err_len)
{
    if (chaos_fleet_alive(f)) {
        kill(f->pid, SIGKILL);
        int status = 0;
        while (waitpid(f->pid, &status, 0) == -1 && errno == EINTR) {
        }
        f->reaped = true;
        f->wait_status = status;
    }
    int logfd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        chaos_fleet_errf(err, err_len, "cannot open %s: %s", f->log, strerror(errno));
        return -1;
    }
    const char *const argv[] = {f->fleetd_path, "--config", f->config, "--foreground", NULL};
    pid_t pid = chaos_spawn(argv, logfd, logfd);
    close(logfd);
    if (pid < 0) {
        chaos_fleet_errf(err, err_len, "cannot run %s: %s", f->fleetd_path, strerror(errno));
        return -1;
    }
    f->pid = pid;
    f->reaped = false;
    return 0;
}

int chaos_fleet_stop(chaos_fleet *f, uint32_t timeout_ms)
{
    if (!chaos_fleet_alive(f)) {
        return f->reaped && WIFEXITED(f->wait_status) && WEXITSTATUS(f->wait_status) == 0 ? 0 : -1;
    }
    kill(f->pid, SIGTERM);
    uint64_t deadline = chaos_load_now_ms() + timeout_ms;
    while (chaos_load_now_ms() < deadline) {
        if (!chaos_fleet_alive(f)) {
            return WIFEXITED(f->wait_status) && WEXITSTATUS(f->wait_status) == 0 ? 0 : -1;
        }
        chaos_sleep_ms(20);
    }
    kill(f->pid, SIGKILL);
    int status = 0;
    while (waitpid(f->pid, &status, 0) == -1 && errno == EINTR) {
    }
    f->reaped = true;
    f->wait_status = status;
    return -1;
}

int chaos_fleet_signal(pid_t pid, int sig)
{
    if (pid <= 1) {
        return -EINVAL;
    }
    return kill(pid, sig) == 0 ? 0 : -errno;
}

/* Removes DIR's files, then DIR/run's, then both directories (the layout chaos_fleet makes). */
static void chaos_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char path[CHAOS_PATH_MAX + 256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            chaos_remove_tree(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

void chaos_fleet_fini(chaos_fleet *f, bool keep)
{
    if (!keep && f->dir[0] != '\0') {
        chaos_remove_tree(f->dir);
    }
}
