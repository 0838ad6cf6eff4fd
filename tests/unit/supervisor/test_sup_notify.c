/* Unit tests for supervisor/sup_notify.c: the pure step over a fake clock, then the real wsfleetd
 * (WSFLEETD_PATH) on 127.0.0.1:0 with NOTIFY_SOCKET pointing at a datagram socket the test
 * holds: READY, STATUS, WATCHDOG, RELOADING on SIGHUP, STOPPING on SIGTERM and exit 0; RELOADING
 * and READY around a live upgrade, the pid and the watchdog unchanged; and the packaged example
 * configuration (WSF_EXAMPLE_CONFIG) running a fleet. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sup_notify.h"
#include "wsf_ipc.h"

Suite *sup_notify_suite(void);

#define T0 1000000u /* an arbitrary start on the fake clock */

static sup_notify notify_on(uint64_t watchdog_usec, uint64_t bound_ms)
{
    sup_notify n;
    sup_notify_init(&n, "/run/systemd/notify", watchdog_usec, bound_ms, T0);
    return n;
}

static size_t step(char *out, sup_notify *n, unsigned running, unsigned desired, uint64_t conns,
                   uint64_t now)
{
    sup_notify_fleet f = {.running = running, .desired = desired, .connections = conns};
    return sup_notify_step(out, SUP_NOTIFY_MSG_MAX, n, &f, now);
}

START_TEST(test_off_without_socket)
{
    char out[SUP_NOTIFY_MSG_MAX];
    const char *sockets[] = {NULL, ""};
    for (size_t i = 0; i < 2; i++) {
        sup_notify n;
        sup_notify_init(&n, sockets[i], 2000000, 0, T0);
        ck_assert(!n.enabled);
        ck_assert_uint_eq(n.watchdog_ms, 0);
        ck_assert_uint_eq(step(out, &n, 2, 2, 0, T0 + 60000), 0);
        ck_assert_str_eq(out, "");
    }
}
END_TEST

START_TEST(test_ready_waits_for_the_desired_workers)
{
    char out[SUP_NOTIFY_MSG_MAX];
    sup_notify n = notify_on(0, 10000);
    /* Not all up: only STATUS, no READY. */
    ck_assert_uint_gt(step(out, &n, 1, 2, 0, T0 + 100), 0);
    ck_assert_str_eq(out, "STATUS=1/2 workers running, 0 connections");
    ck_assert(!n.ready_sent);
    /* The second Hello: READY at once, with the status, though a STATUS went out 100 ms ago. */
    step(out, &n, 2, 2, 0, T0 + 200);
    ck_assert_str_eq(out, "READY=1\nSTATUS=2/2 workers running, 0 connections");
    ck_assert(n.ready_sent);
    /* READY only once. */
    ck_assert_uint_eq(step(out, &n, 2, 2, 0, T0 + 5000), 0);
}
END_TEST

START_TEST(test_ready_at_the_bound)
{
    char out[SUP_NOTIFY_MSG_MAX];
    sup_notify n = notify_on(0, 10000);
    step(out, &n, 0, 3, 0, T0);
    ck_assert_str_eq(out, "STATUS=0/3 workers running, 0 connections");
    step(out, &n, 1, 3, 0, T0 + 9999);
    ck_assert_str_eq(out, "STATUS=1/3 workers running, 0 connections");
    step(out, &n, 1, 3, 0, T0 + 10000);
    ck_assert_str_eq(out, "READY=1\nSTATUS=1/3 workers running, 0 connections");
}
END_TEST

START_TEST(test_no_ready_while_stopping)
{
    char out[SUP_NOTIFY_MSG_MAX];
    sup_notify n = notify_on(0, 10);
    sup_notify_fleet f = {.running = 2, .desired = 2, .stopping = true};
    sup_notify_step(out, sizeof out, &n, &f, T0 + 1000);
    ck_assert(strstr(out, "READY=1") == NULL);
    ck_assert_str_eq(out, "STATUS=stopping: 2/2 workers running, 0 connections");
}
END_TEST

START_TEST(test_status_only_when_changed_and_once_a_second)
{
    char out[SUP_NOTIFY_MSG_MAX];
    sup_notify n = notify_on(0, 10000);
    step(out, &n, 2, 2, 0, T0);
    ck_assert_str_eq(out, "READY=1\nSTATUS=2/2 workers running, 0 connections");
    /* Changed, but within a second of the last: held back. */
    ck_assert_uint_eq(step(out, &n, 2, 2, 1, T0 + 999), 0);
    step(out, &n, 2, 2, 1, T0 + 1000);
    ck_assert_str_eq(out, "STATUS=2/2 workers running, 1 connection");
    /* Unchanged: nothing, however long. */
    ck_assert_uint_eq(step(out, &n, 2, 2, 1, T0 + 60000), 0);
    step(out, &n, 1, 2, 7, T0 + 60001);
    ck_assert_str_eq(out, "STATUS=1/2 workers running, 7 connections");
}
END_TEST

START_TEST(test_watchdog_at_half_the_interval)
{
    char out[SUP_NOTIFY_MSG_MAX];
    sup_notify n = notify_on(3000000, 10000); /* WATCHDOG_USEC 3 s: ping every 1.5 s */
    ck_assert_uint_eq(n.watchdog_ms, 1500);
    step(out, &n, 2, 2, 0, T0);
    ck_assert(strstr(out, "WATCHDOG=1") == NULL);
    ck_assert_uint_eq(step(out, &n, 2, 2, 0, T0 + 1499), 0);
    step(out, &n, 2, 2, 0, T0 + 1500);
    ck_assert_str_eq(out, "WATCHDOG=1");
    ck_assert_uint_eq(step(out, &n, 2, 2, 0, T0 + 2999), 0);
    step(out, &n, 2, 2, 5, T0 + 3000);
    ck_assert_str_eq(out, "STATUS=2/2 workers running, 5 connections\nWATCHDOG=1");
    /* A tiny interval still pings. */
    sup_notify tiny = notify_on(1, 0);
    ck_assert_uint_eq(tiny.watchdog_ms, 1);
}
END_TEST

START_TEST(test_output_is_bounded)
{
    char out[16];
    sup_notify n = notify_on(2000, 0);
    sup_notify_fleet f = {.running = 2, .desired = 2, .connections = 123456789};
    size_t len = sup_notify_step(out, sizeof out, &n, &f, T0 + 5);
    ck_assert_uint_lt(len, sizeof out);
    ck_assert_uint_eq(strlen(out), len);
    /* Whole lines only: READY=1 fits, the long STATUS does not, WATCHDOG=1 does not either. */
    ck_assert_str_eq(out, "READY=1");
}
END_TEST

/* The real wsfleetd */

#ifndef WSFLEETD_PATH
#define WSFLEETD_PATH "wsfleetd"
#endif
#ifndef WSF_EXAMPLE_CONFIG
#define WSF_EXAMPLE_CONFIG "packaging/wsfleet.ini"
#endif
#define WAIT_MS 30000 /* every wait ends at the first matching message; this only bounds a hang */

typedef struct fleet {
    char tmp[64];
    char sock_path[96];
    char run_dir[128];
    int fd;
    pid_t pid;
    char seen[8192]; /* every datagram so far, each followed by a NUL-free separator */
    size_t seen_len;
} fleet;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Starts wsfleetd with two workers, with config (-c) unless it is NULL. */
static void fleet_start(fleet *f, const char *config)
{
    memset(f, 0, sizeof *f);
    f->pid = -1;
    snprintf(f->tmp, sizeof f->tmp, "/tmp/test_sup_notify.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(f->tmp));
    snprintf(f->sock_path, sizeof f->sock_path, "%s/notify", f->tmp);
    snprintf(f->run_dir, sizeof f->run_dir, "%s/run", f->tmp);

    f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(f->fd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->sock_path);
    ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sa, sizeof sa), 0);

    f->pid = fork();
    ck_assert_int_ge(f->pid, 0);
    if (f->pid == 0) {
        /* A failed assertion ends the test process at once: take wsfleetd with it. */
        pid_t parent = getppid();
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
            _exit(127);
        char pid[24];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        setenv("NOTIFY_SOCKET", f->sock_path, 1);
        setenv("WATCHDOG_USEC", "600000", 1); /* pings every 300 ms */
        setenv("WATCHDOG_PID", pid, 1);       /* exec keeps the pid: the watchdog is ours */
        if (config != NULL)
            execl(WSFLEETD_PATH, "wsfleetd", "--foreground", "-c", config, "--listen",
                  "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--workers", "2", "--run-dir",
                  f->run_dir, (char *)NULL);
        else
            execl(WSFLEETD_PATH, "wsfleetd", "--foreground", "--listen", "127.0.0.1:0",
                  "--admin-listen", "127.0.0.1:0", "--workers", "2", "--run-dir", f->run_dir,
                  (char *)NULL);
        _exit(127);
    }
}

/* Waits for a datagram holding needle (after skipping any earlier ones); returns the datagram's
 * text in out. Fails the test if none arrives within WAIT_MS or wsfleetd exits. */
static void fleet_expect(fleet *f, const char *needle, char *out, size_t cap)
{
    uint64_t deadline = mono_ms() + WAIT_MS;
    for (;;) {
        uint64_t now = mono_ms();
        ck_assert_msg(now < deadline, "no datagram with '%s' within %d ms; seen: %s", needle,
                      WAIT_MS, f->seen);
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        int rc = poll(&p, 1, 200);
        ck_assert_msg(rc >= 0 || errno == EINTR, "poll: %s", strerror(errno));
        if (rc <= 0) {
            int status;
            ck_assert_msg(waitpid(f->pid, &status, WNOHANG) == 0,
                          "wsfleetd exited (status %d) before '%s'; seen: %s", status, needle,
                          f->seen);
            continue;
        }
        char buf[1024];
        ssize_t n = recv(f->fd, buf, sizeof buf - 1, 0);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        int w = snprintf(f->seen + f->seen_len, sizeof f->seen - f->seen_len, "[%s] ", buf);
        if (w > 0 && (size_t)w < sizeof f->seen - f->seen_len)
            f->seen_len += (size_t)w;
        if (strstr(buf, needle) != NULL) {
            snprintf(out, cap, "%s", buf);
            return;
        }
    }
}

/* Waits for wsfleetd to exit; returns its wait status. Kills it if it outlives WAIT_MS. */
static int fleet_wait(fleet *f)
{
    uint64_t deadline = mono_ms() + WAIT_MS;
    int status = 0;
    while (waitpid(f->pid, &status, WNOHANG) == 0) {
        if (mono_ms() >= deadline) {
            kill(f->pid, SIGKILL);
            waitpid(f->pid, &status, 0);
            f->pid = -1;
            ck_abort_msg("wsfleetd did not exit within %d ms of SIGTERM", WAIT_MS);
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    f->pid = -1;
    return status;
}

static void fleet_cleanup(fleet *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
    }
    close(f->fd);
    nftw(f->tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

START_TEST(test_wsfleetd_notifies)
{
    fleet f;
    char msg[1024];
    fleet_start(&f, NULL);

    fleet_expect(&f, "READY=1", msg, sizeof msg);
    ck_assert_msg(strstr(msg, "STATUS=2/2 workers running") != NULL, "READY without status: %s",
                  msg);
    /* Pings keep coming: two more after READY. */
    fleet_expect(&f, "WATCHDOG=1", msg, sizeof msg);
    fleet_expect(&f, "WATCHDOG=1", msg, sizeof msg);

    ck_assert_int_eq(kill(f.pid, SIGHUP), 0);
    fleet_expect(&f, "RELOADING=1", msg, sizeof msg);
    ck_assert_msg(strstr(msg, "MONOTONIC_USEC=") != NULL, "RELOADING without time: %s", msg);
    fleet_expect(&f, "READY=1", msg, sizeof msg);
    ck_assert(strstr(msg, "workers running") != NULL);
    fleet_expect(&f, "WATCHDOG=1", msg, sizeof msg);

    ck_assert_int_eq(kill(f.pid, SIGTERM), 0);
    fleet_expect(&f, "STOPPING=1", msg, sizeof msg);
    ck_assert_msg(strstr(msg, "STATUS=stopping: ") != NULL, "STOPPING without status: %s", msg);
    int status = fleet_wait(&f);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wsfleetd ended with status %d",
                  status);
    fleet_cleanup(&f);
}
END_TEST

/* wsctl upgrade: the supervisor re-executes itself under the same pid, so systemd (MAINPID
 * unchanged) sees a reload: RELOADING=1 from the old image, READY=1 from the new one, and the
 * watchdog pings go on. */
START_TEST(test_wsfleetd_notifies_across_an_upgrade)
{
    fleet f;
    char msg[1024], endpoint[160];
    fleet_start(&f, NULL);
    fleet_expect(&f, "READY=1", msg, sizeof msg);

    void *zctx = wsf_ipc_context_new();
    ck_assert_ptr_nonnull(zctx);
    wsf_ctl_request req = {.command = WSF_CTL_UPGRADE, .slot = -1};
    wsf_ctl_response *res = calloc(1, sizeof *res);
    ck_assert_ptr_nonnull(res);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/ctl", f.run_dir);
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, endpoint, &req, res, WAIT_MS), 0);
    ck_assert_msg(res->ok, "upgrade refused: %s", res->error);
    ck_assert_uint_eq(res->upgrades, 0);

    fleet_expect(&f, "RELOADING=1", msg, sizeof msg);
    fleet_expect(&f, "READY=1", msg, sizeof msg);
    ck_assert_msg(strstr(msg, "STATUS=2/2 workers running") != NULL, "READY: %s", msg);
    fleet_expect(&f, "WATCHDOG=1", msg, sizeof msg);

    /* The same process answers, as its first upgrade. */
    req.command = WSF_CTL_STATUS;
    memset(res, 0, sizeof *res);
    ck_assert_int_eq(wsf_ipc_ctl_call(zctx, endpoint, &req, res, WAIT_MS), 0);
    ck_assert_uint_eq(res->upgrades, 1);
    ck_assert_uint_eq(res->status.pid, (unsigned)f.pid);
    free(res);
    wsf_ipc_context_free(zctx);

    ck_assert_int_eq(kill(f.pid, SIGTERM), 0);
    fleet_expect(&f, "STOPPING=1", msg, sizeof msg);
    int status = fleet_wait(&f);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wsfleetd ended with status %d",
                  status);
    fleet_cleanup(&f);
}
END_TEST

/* The example configuration the package installs (packaging/wsfleet.ini) is accepted and runs a
 * fleet: listen and run dir overridden to stay on loopback port 0 in a temp dir. */
START_TEST(test_example_config_runs)
{
    fleet f;
    char msg[1024];
    fleet_start(&f, WSF_EXAMPLE_CONFIG);
    fleet_expect(&f, "READY=1", msg, sizeof msg);
    ck_assert_msg(strstr(msg, "STATUS=2/2 workers running") != NULL, "READY: %s", msg);
    ck_assert_int_eq(kill(f.pid, SIGTERM), 0);
    fleet_expect(&f, "STOPPING=1", msg, sizeof msg);
    int status = fleet_wait(&f);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wsfleetd ended with status %d",
                  status);
    fleet_cleanup(&f);
}
END_TEST

Suite *sup_notify_suite(void)
{
    Suite *s = suite_create("sup_notify");
    TCase *tc = tcase_create("step");
    tcase_add_test(tc, test_off_without_socket);
    tcase_add_test(tc, test_ready_waits_for_the_desired_workers);
    tcase_add_test(tc, test_ready_at_the_bound);
    tcase_add_test(tc, test_no_ready_while_stopping);
    tcase_add_test(tc, test_status_only_when_changed_and_once_a_second);
    tcase_add_test(tc, test_watchdog_at_half_the_interval);
    tcase_add_test(tc, test_output_is_bounded);
    suite_add_tcase(s, tc);
    TCase *real = tcase_create("wsfleetd");
    tcase_set_timeout(real, 120);
    tcase_add_test(real, test_wsfleetd_notifies);
    tcase_add_test(real, test_wsfleetd_notifies_across_an_upgrade);
    tcase_add_test(real, test_example_config_runs);
    suite_add_tcase(s, real);
    return s;
}
