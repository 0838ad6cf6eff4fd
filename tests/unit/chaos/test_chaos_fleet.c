/* Unit tests for chaos/chaos_fleet.c without a real fleet: the drill directory under $TMPDIR,
 * signals by PID, wsctl calls (blocking and on an event loop) against a fake wsctl
 * script that echoes its arguments as JSON, and wsfleetd's start against fake supervisors that
 * fail, never get ready, or get ready. Each test works in a temporary directory of its own. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "chaos_fleet.h"
#include "chaos_proc.h"
#include "test_slow.h"

Suite *chaos_fleet_suite(void);

/* How long start may wait for a fake supervisor: a liveness bound, well inside the test's own
 * timeout; the cases below tell how start ended by its message, not by the clock. */
#define START_MS ((uint32_t)test_ms(10000))

/* A fake wsctl: prints a document chosen by its last argument and exits with
 * $FAKE_WSCTL_STATUS. By default the document echoes the argument count and the arguments; status
 * says ready once the file $FAKE_WSCTL_READY names exists. */
static const char fake_wsctl[] =
    "for a in \"$@\"; do last=$a; done\n"
    "case \"$last\" in\n"
    "garbage) echo 'this is not { json' ;;\n"
    "silent) ;;\n"
    "big) printf '{\"big\":\"'; head -c 200000 /dev/zero | tr '\\000' x; printf '\"}\\n' ;;\n"
    "suicide) kill -KILL $$ ;;\n"
    "status)\n"
    "  if [ -n \"$FAKE_WSCTL_READY\" ] && [ -e \"$FAKE_WSCTL_READY\" ]; then\n"
    "    echo '{\"state\":\"running\",\"listen\":\"127.0.0.1:4567\",'\\\n"
    "'\"workers_running\":2,\"workers_desired\":2}'\n"
    "  else\n"
    "    echo '{\"state\":\"starting\",\"workers_running\":0,\"workers_desired\":2}'\n"
    "  fi ;;\n"
    "*) printf '{\"ok\":1,\"argc\":%d,\"args\":\"%s\"}\\n' \"$#\" \"$*\" ;;\n"
    "esac\n"
    "exit \"${FAKE_WSCTL_STATUS:-0}\"\n";

/* Arguments the fake wsctl answers in a way of its own. */
static const char *const arg_garbage[] = {"garbage", NULL};
static const char *const arg_silent[] = {"silent", NULL};
static const char *const arg_big[] = {"big", NULL};
static const char *const arg_suicide[] = {"suicide", NULL};
static const char *const arg_status[] = {"status", NULL};

/* One test's surroundings: a temporary directory (also $TMPDIR), an event loop, the fleet. */
typedef struct fx {
    char tmp[256];
    char wsctl[300];
    char fleetd[300];      /* a fake wsfleetd, once fx_fake_fleetd wrote one */
    char other_wsctl[300]; /* a wsctl path other than the fake's, once fx_other_wsctl set one */
    struct event_base *base;
    chaos_fleet f;
    char err[512];
} fx;

static void write_script(const char *path, const char *body)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_ge(fputs("#!/bin/sh\n", fp), 0);
    ck_assert_int_ge(fputs(body, fp), 0);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(chmod(path, 0755), 0);
}

/* The temporary directory, $TMPDIR pointing at it, the fake wsctl in it, and a fleet there. */
static void fx_init(fx *x)
{
    memset(x, 0, sizeof(*x));
    snprintf(x->tmp, sizeof(x->tmp), "/tmp/test_chaos_fleet.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(x->tmp));
    ck_assert_int_eq(setenv("TMPDIR", x->tmp, 1), 0);
    unsetenv("FAKE_WSCTL_STATUS");
    unsetenv("FAKE_WSCTL_READY");
    snprintf(x->wsctl, sizeof(x->wsctl), "%s/wsctl", x->tmp);
    write_script(x->wsctl, fake_wsctl);
    x->base = event_base_new();
    ck_assert_ptr_nonnull(x->base);
    ck_assert_int_eq(
        chaos_fleet_init(&x->f, x->base, "/nonexistent/wsfleetd", x->wsctl, x->err, sizeof(x->err)),
        0);
}

/* A fake wsfleetd running body, in the directory, as the fleet's supervisor. */
static void fx_fake_fleetd(fx *x, const char *body)
{
    snprintf(x->fleetd, sizeof(x->fleetd), "%s/wsfleetd", x->tmp);
    write_script(x->fleetd, body);
    x->f.fleetd_path = x->fleetd;
}

/* Points the fleet's wsctl at the file name in the directory (which this does not make). */
static void fx_other_wsctl(fx *x, const char *name)
{
    snprintf(x->other_wsctl, sizeof(x->other_wsctl), "%s/%s", x->tmp, name);
    x->f.wsctl_path = x->other_wsctl;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Stops a supervisor still running (by its pid), then removes everything. */
static void fx_fini(fx *x)
{
    if (x->f.pid > 0 && !x->f.reaped) {
        chaos_fleet_stop(&x->f, 2000);
    }
    chaos_fleet_fini(&x->f, false);
    event_base_free(x->base);
    ck_assert_int_eq(nftw(x->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void touch(const char *path)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("x\n", fp);
    ck_assert_int_eq(fclose(fp), 0);
}

/* Reads a small file into buf (NUL-terminated). */
static void slurp(const char *path, char *buf, size_t len)
{
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    size_t n = fread(buf, 1, len - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A child that waits for EOF on a pipe we hold (or exits at once when exit_now). Returns once
 * the child has the default SIGTERM action: Check's handler, inherited at the fork, would pass a
 * SIGTERM on to the whole test's process group. */
static pid_t fork_child(bool exit_now, int *out_ctl)
{
    int p[2];
    int ready[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        close(p[1]);
        close(ready[0]);
        alarm(20);
        char c = 'r';
        if (write(ready[1], &c, 1) != 1) {
            _exit(3);
        }
        while (!exit_now && read(p[0], &c, 1) != 0) {
        }
        _exit(0);
    }
    close(p[0]);
    close(ready[1]);
    char c = 0;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    *out_ctl = p[1];
    return pid;
}

static int reap(pid_t pid)
{
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

START_TEST(init_makes_a_fresh_dir_and_fini_removes_it)
{
    fx x;
    fx_init(&x);
    chaos_fleet *f = &x.f;
    char want[CHAOS_PATH_MAX + 32];
    snprintf(want, sizeof(want), "%s/wschaos.", x.tmp);
    ck_assert_msg(strncmp(f->dir, want, strlen(want)) == 0, "dir %s", f->dir);
    ck_assert_uint_eq(strlen(f->dir), strlen(want) + 6);
    struct stat st;
    ck_assert_int_eq(stat(f->dir, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
    snprintf(want, sizeof(want), "%s/run", f->dir);
    ck_assert_str_eq(f->run_dir, want);
    snprintf(want, sizeof(want), "%s/wsfleetd.ini", f->dir);
    ck_assert_str_eq(f->config, want);
    snprintf(want, sizeof(want), "%s/wsfleetd.log", f->dir);
    ck_assert_str_eq(f->log, want);
    ck_assert_ptr_eq(f->base, x.base);
    ck_assert_str_eq(f->fleetd_path, "/nonexistent/wsfleetd");
    ck_assert_ptr_eq(f->wsctl_path, x.wsctl);
    ck_assert_int_eq(f->pid, 0);
    ck_assert_uint_eq(f->port, 0);
    ck_assert_uint_eq(f->calls_pending, 0);

    /* A second fleet gets a directory of its own. */
    chaos_fleet g;
    ck_assert_int_eq(chaos_fleet_init(&g, NULL, "a", "b", x.err, sizeof(x.err)), 0);
    ck_assert_str_ne(g.dir, f->dir);
    ck_assert(is_dir(g.dir));

    /* What a drill leaves (config, log, the run dir with a socket file) goes with the directory,
     * unless kept. */
    touch(f->config);
    touch(f->log);
    ck_assert_int_eq(mkdir(f->run_dir, 0700), 0);
    snprintf(want, sizeof(want), "%s/ctl.sock", f->run_dir);
    touch(want);
    chaos_fleet_fini(f, false);
    ck_assert(!is_dir(f->dir));
    ck_assert_int_eq(access(f->dir, F_OK), -1);

    touch(g.log);
    chaos_fleet_fini(&g, true);
    ck_assert(is_dir(g.dir));
    ck_assert_int_eq(access(g.log, F_OK), 0);
    fx_fini(&x); /* removes g's directory with the rest */
}
END_TEST

START_TEST(init_without_tmpdir_uses_tmp)
{
    static const char *const values[] = {NULL, ""};
    for (size_t i = 0; i < 2; i++) {
        if (values[i] == NULL) {
            unsetenv("TMPDIR");
        } else {
            setenv("TMPDIR", values[i], 1);
        }
        chaos_fleet f;
        char err[256] = "";
        ck_assert_int_eq(chaos_fleet_init(&f, NULL, "a", "b", err, sizeof(err)), 0);
        ck_assert_msg(strncmp(f.dir, "/tmp/wschaos.", 13) == 0, "dir %s", f.dir);
        ck_assert(is_dir(f.dir));
        chaos_fleet_fini(&f, false);
        ck_assert(!is_dir(f.dir));
    }
}
END_TEST

/* The longest $TMPDIR taken still leaves room for every file name; one more byte is refused. */
START_TEST(init_refuses_a_too_long_tmpdir)
{
    fx x;
    fx_init(&x);
    size_t longest = CHAOS_PATH_MAX - 32 - strlen("/wschaos.XXXXXX") - 1;

    char path[CHAOS_PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/", x.tmp);
    while (strlen(path) < longest) {
        /* Components of up to 200 bytes, none left needing only its '/'. */
        size_t at = strlen(path);
        size_t room = longest - at;
        size_t n = room > 200 ? (room - 200 == 1 ? 199 : 200) : room;
        memset(path + at, 'd', n);
        path[at + n] = '\0';
        ck_assert_int_eq(mkdir(path, 0700), 0);
        if (strlen(path) < longest) {
            strcat(path, "/");
        }
    }
    ck_assert_uint_eq(strlen(path), longest);
    ck_assert_int_eq(setenv("TMPDIR", path, 1), 0);
    chaos_fleet f;
    ck_assert_int_eq(chaos_fleet_init(&f, NULL, "a", "b", x.err, sizeof(x.err)), 0);
    ck_assert_uint_eq(strlen(f.config), strlen(f.dir) + strlen("/wsfleetd.ini"));
    ck_assert_uint_eq(strlen(f.log), strlen(f.dir) + strlen("/wsfleetd.log"));
    chaos_fleet_fini(&f, false);
    ck_assert(!is_dir(f.dir));

    strcat(path, "x");
    ck_assert_int_eq(setenv("TMPDIR", path, 1), 0);
    x.err[0] = '\0';
    ck_assert_int_eq(chaos_fleet_init(&f, NULL, "a", "b", x.err, sizeof(x.err)), -1);
    ck_assert_msg(strstr(x.err, "TMPDIR is too long") != NULL, "err: %s", x.err);

    char huge[1024];
    memset(huge, 'a', sizeof(huge) - 1);
    huge[0] = '/';
    huge[sizeof(huge) - 1] = '\0';
    ck_assert_int_eq(setenv("TMPDIR", huge, 1), 0);
    x.err[0] = '\0';
    ck_assert_int_eq(chaos_fleet_init(&f, NULL, "a", "b", x.err, sizeof(x.err)), -1);
    ck_assert_msg(strstr(x.err, "TMPDIR is too long") != NULL, "err: %s", x.err);

    /* A short one that does not exist is refused too, with the reason. */
    snprintf(path, sizeof(path), "%s/absent", x.tmp);
    ck_assert_int_eq(setenv("TMPDIR", path, 1), 0);
    x.err[0] = '\0';
    ck_assert_int_eq(chaos_fleet_init(&f, NULL, "a", "b", x.err, sizeof(x.err)), -1);
    ck_assert_msg(strstr(x.err, "cannot make a directory in") != NULL, "err: %s", x.err);
    ck_assert_msg(strstr(x.err, strerror(ENOENT)) != NULL, "err: %s", x.err);
    fx_fini(&x);
}
END_TEST

START_TEST(signal_by_pid)
{
    ck_assert_int_eq(chaos_fleet_signal(0, SIGTERM), -EINVAL);
    ck_assert_int_eq(chaos_fleet_signal(1, SIGTERM), -EINVAL);
    ck_assert_int_eq(chaos_fleet_signal(-1, SIGKILL), -EINVAL);
    ck_assert_int_eq(chaos_fleet_signal(getpid(), 0), 0);

    int ctl = -1;
    pid_t pid = fork_child(false, &ctl);
    ck_assert_int_eq(chaos_fleet_signal(pid, SIGTERM), 0);
    int status = reap(pid);
    close(ctl);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(WTERMSIG(status), SIGTERM);
    ck_assert_int_eq(chaos_fleet_signal(pid, SIGTERM), -ESRCH);
}
END_TEST

/* The arguments the fake wsctl saw, from its document. */
static const char *doc_args(json_t *doc)
{
    ck_assert_ptr_nonnull(doc);
    ck_assert(json_is_object(doc));
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "ok")), 1);
    const char *args = json_string_value(json_object_get(doc, "args"));
    ck_assert_ptr_nonnull(args);
    return args;
}

/* A blocking call that exits with status and leaves no document (doc is overwritten even on
 * failure). */
static void assert_ctl_no_doc(chaos_fleet *f, const char *const *args, int status)
{
    json_t *doc = json_true();
    ck_assert_int_eq(chaos_fleet_ctl(f, &doc, args), status);
    ck_assert_ptr_null(doc);
}

START_TEST(ctl_passes_run_dir_and_returns_status_and_json)
{
    fx x;
    fx_init(&x);
    char want[CHAOS_PATH_MAX + 128];
    snprintf(want, sizeof(want), "--run-dir %s --json --timeout 2 workers --verbose", x.f.run_dir);
    const char *const args[] = {"workers", "--verbose", NULL};

    json_t *doc = NULL;
    ck_assert_int_eq(chaos_fleet_ctl(&x.f, &doc, args), 0);
    ck_assert_str_eq(doc_args(doc), want);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "argc")), 7);
    json_decref(doc);

    ck_assert_int_eq(setenv("FAKE_WSCTL_STATUS", "3", 1), 0);
    doc = NULL;
    ck_assert_int_eq(chaos_fleet_ctl(&x.f, &doc, args), 3);
    ck_assert_str_eq(doc_args(doc), want);
    json_decref(doc);

    /* Without a place for the document, only the status. */
    ck_assert_int_eq(chaos_fleet_ctl(&x.f, NULL, args), 3);

    /* No arguments beyond the fixed ones. */
    const char *const none[] = {NULL};
    ck_assert_int_eq(chaos_fleet_ctl(&x.f, &doc, none), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "argc")), 5);
    json_decref(doc);
    fx_fini(&x);
}
END_TEST

START_TEST(ctl_output_that_is_not_json)
{
    fx x;
    fx_init(&x);
    assert_ctl_no_doc(&x.f, arg_garbage, 0);

    ck_assert_int_eq(setenv("FAKE_WSCTL_STATUS", "5", 1), 0);
    assert_ctl_no_doc(&x.f, arg_silent, 5);

    /* Killed: no exit status. */
    assert_ctl_no_doc(&x.f, arg_suicide, -1);
    fx_fini(&x);
}
END_TEST

START_TEST(ctl_large_output)
{
    fx x;
    fx_init(&x);
    json_t *doc = NULL;
    ck_assert_int_eq(chaos_fleet_ctl(&x.f, &doc, arg_big), 0);
    ck_assert_ptr_nonnull(doc);
    const char *s = json_string_value(json_object_get(doc, "big"));
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(strlen(s), 200000);
    ck_assert_int_eq(s[0], 'x');
    ck_assert_int_eq(s[199999], 'x');
    json_decref(doc);
    fx_fini(&x);
}
END_TEST

/* Nine arguments fit after the fixed ones; ten are refused without running anything. */
START_TEST(ctl_argument_limit)
{
    fx x;
    fx_init(&x);
    const char *const nine[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", NULL};
    const char *const ten[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", NULL};
    json_t *doc = NULL;
    ck_assert_int_eq(chaos_fleet_ctl(&x.f, &doc, nine), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "argc")), 14);
    json_decref(doc);
    assert_ctl_no_doc(&x.f, ten, -1);
    pid_t r = waitpid(-1, NULL, WNOHANG);
    int e = errno;
    ck_assert_int_eq(r, -1); /* no child was started */
    ck_assert_int_eq(e, ECHILD);
    fx_fini(&x);
}
END_TEST

/* A wsctl that cannot be executed did not run: -1, as for any other failure to start it. */
START_TEST(ctl_that_cannot_run)
{
    fx x;
    fx_init(&x);
    fx_other_wsctl(&x, "absent-wsctl");
    assert_ctl_no_doc(&x.f, arg_status, -1);

    /* Present but not executable. */
    fx_other_wsctl(&x, "plain-wsctl");
    touch(x.other_wsctl);
    assert_ctl_no_doc(&x.f, arg_status, -1);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1); /* nothing left to reap */
    fx_fini(&x);
}
END_TEST

/* What an asynchronous call's callback saw. */
typedef struct ctl_result {
    struct event_base *base;
    unsigned want;
    unsigned calls;
    int status[2];
    json_t *doc[2];
} ctl_result;

static void on_ctl_done(int status, json_t *doc, void *arg)
{
    ctl_result *r = arg;
    if (r->calls < 2) {
        r->status[r->calls] = status;
        r->doc[r->calls] = json_incref(doc);
    }
    if (++r->calls == r->want) {
        event_base_loopbreak(r->base);
    }
}

/* Runs the loop until the callback has been called r->want times, or 5 s (stretched under
 * sanitizers: a liveness bound). */
static void run_calls(ctl_result *r)
{
    long ms = test_ms(5000);
    struct timeval limit = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    ck_assert_int_eq(event_base_loopexit(r->base, &limit), 0);
    ck_assert_int_ge(event_base_dispatch(r->base), 0);
    ck_assert_uint_eq(r->calls, r->want);
}

static void ctl_result_fini(ctl_result *r)
{
    json_decref(r->doc[0]);
    json_decref(r->doc[1]);
}

START_TEST(ctl_async_calls_back_on_the_loop)
{
    fx x;
    fx_init(&x);
    ck_assert_int_eq(setenv("FAKE_WSCTL_STATUS", "4", 1), 0);
    const char *const args[] = {"restart", "--slot", "1", NULL};
    ctl_result r = {.base = x.base, .want = 1};
    ck_assert_int_eq(chaos_fleet_ctl_async(&x.f, args, on_ctl_done, &r), 0);
    ck_assert_uint_eq(x.f.calls_pending, 1);
    ck_assert_uint_eq(r.calls, 0); /* not before the loop runs */
    run_calls(&r);
    ck_assert_uint_eq(x.f.calls_pending, 0);
    ck_assert_int_eq(r.status[0], 4);
    char want[CHAOS_PATH_MAX + 128];
    snprintf(want, sizeof(want), "--run-dir %s --json --timeout 2 restart --slot 1", x.f.run_dir);
    ck_assert_str_eq(doc_args(r.doc[0]), want);
    ctl_result_fini(&r);
    fx_fini(&x);
}
END_TEST

START_TEST(ctl_async_two_at_once_and_odd_output)
{
    fx x;
    fx_init(&x);
    ctl_result r = {.base = x.base, .want = 2};
    ck_assert_int_eq(chaos_fleet_ctl_async(&x.f, arg_big, on_ctl_done, &r), 0);
    ck_assert_int_eq(chaos_fleet_ctl_async(&x.f, arg_garbage, on_ctl_done, &r), 0);
    ck_assert_uint_eq(x.f.calls_pending, 2);
    run_calls(&r);
    ck_assert_uint_eq(x.f.calls_pending, 0);
    ck_assert_int_eq(r.status[0], 0);
    ck_assert_int_eq(r.status[1], 0);
    /* Either may finish first: one has the big document, the other none. */
    json_t *bigdoc = r.doc[0] != NULL ? r.doc[0] : r.doc[1];
    ck_assert_ptr_nonnull(bigdoc);
    ck_assert(r.doc[0] == NULL || r.doc[1] == NULL);
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(bigdoc, "big"))), 200000);
    ctl_result_fini(&r);

    ctl_result k = {.base = x.base, .want = 1};
    ck_assert_int_eq(chaos_fleet_ctl_async(&x.f, arg_suicide, on_ctl_done, &k), 0);
    run_calls(&k);
    ck_assert_int_eq(k.status[0], -1);
    ck_assert_ptr_null(k.doc[0]);
    ck_assert_uint_eq(x.f.calls_pending, 0);
    fx_fini(&x);
}
END_TEST

START_TEST(ctl_async_that_cannot_run)
{
    fx x;
    fx_init(&x);
    fx_other_wsctl(&x, "absent-wsctl");
    ctl_result r = {.base = x.base, .want = 1};
    ck_assert_int_eq(chaos_fleet_ctl_async(&x.f, arg_status, on_ctl_done, &r), -1);
    ck_assert_uint_eq(x.f.calls_pending, 0);
    struct timeval shortly = {0, 200000};
    ck_assert_int_eq(event_base_loopexit(x.base, &shortly), 0);
    event_base_dispatch(x.base);
    ck_assert_uint_eq(r.calls, 0);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    fx_fini(&x);
}
END_TEST

/* A supervisor that cannot be run: start says why, at once, with nothing left to reap. */
START_TEST(start_that_cannot_run)
{
    fx x;
    fx_init(&x);
    snprintf(x.fleetd, sizeof(x.fleetd), "%s/plain-wsfleetd", x.tmp);
    touch(x.fleetd); /* present but not executable */
    x.f.fleetd_path = x.fleetd;
    ck_assert_int_eq(chaos_fleet_start(&x.f, "", START_MS, x.err, sizeof(x.err)), -1);
    ck_assert_msg(strstr(x.err, "cannot run") != NULL && strstr(x.err, x.fleetd) != NULL &&
                      strstr(x.err, strerror(EACCES)) != NULL,
                  "err: %s", x.err);
    ck_assert_int_le(x.f.pid, 0);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1); /* nothing left to reap */
    fx_fini(&x);
}
END_TEST

/* A supervisor that fails at once: start says so with the last line it logged. */
START_TEST(start_reports_the_supervisors_last_words)
{
    fx x;
    fx_init(&x);
    fx_fake_fleetd(&x, "echo \"fake wsfleetd $*\" >&2\n"
                       "echo 'wsfleetd: cannot bind 127.0.0.1:0: simulated' >&2\n"
                       "echo >&2\n"
                       "exit 2\n");
    ck_assert_int_eq(
        chaos_fleet_start(&x.f, "[worker]\nsome = 1\n", START_MS, x.err, sizeof(x.err)), -1);
    /* "exited at start", not "not ready": start saw the exit rather than waiting out its time. */
    ck_assert_msg(strstr(x.err, "exited at start") != NULL, "err: %s", x.err);
    ck_assert_msg(strstr(x.err, x.f.log) != NULL, "err: %s", x.err);
    ck_assert_msg(strstr(x.err, ": wsfleetd: cannot bind 127.0.0.1:0: simulated") != NULL,
                  "err: %s", x.err);
    ck_assert(x.f.reaped);
    ck_assert(WIFEXITED(x.f.wait_status));
    ck_assert_int_eq(WEXITSTATUS(x.f.wait_status), 2);
    ck_assert(!chaos_fleet_alive(&x.f));
    ck_assert_int_eq(chaos_fleet_stop(&x.f, 100), -1);

    char text[2048];
    char want[2048];
    slurp(x.f.log, text, sizeof(text));
    snprintf(want, sizeof(want), "fake wsfleetd --config %s --foreground\n", x.f.config);
    ck_assert_msg(strstr(text, want) != NULL, "log: %s", text);
    slurp(x.f.config, text, sizeof(text));
    snprintf(want, sizeof(want),
             "# written by wschaos for one drill\n[fleet]\nlisten = 127.0.0.1:0\nrun_dir = %s\n\n"
             "[drills]\nenabled = yes\n\n[admin]\nlisten = 127.0.0.1:0\n\n[worker]\nsome = 1\n",
             x.f.run_dir);
    ck_assert_str_eq(text, want);
    fx_fini(&x);
}
END_TEST

/* Exits 0 on SIGTERM, says it is ready once that holds (the fake wsctl's status looks for
 * $TMPDIR/ready), and sleeps in short steps for a bounded life. */
static const char fake_fleetd_ok[] = "trap 'exit 0' TERM\n"
                                     ": > \"$TMPDIR/ready\"\n"
                                     "i=0\n"
                                     "while [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done\n"
                                     "exit 9\n";

START_TEST(start_waits_until_ready_and_stop_ends_it)
{
    fx x;
    fx_init(&x);
    fx_fake_fleetd(&x, fake_fleetd_ok);
    char ready[320];
    snprintf(ready, sizeof(ready), "%s/ready", x.tmp);
    ck_assert_int_eq(setenv("FAKE_WSCTL_READY", ready, 1), 0);
    ck_assert_int_eq(chaos_fleet_start(&x.f, "", START_MS, x.err, sizeof(x.err)), 0);
    ck_assert_uint_eq(x.f.port, 4567);
    ck_assert_int_gt(x.f.pid, 1);
    ck_assert(chaos_fleet_alive(&x.f));
    ck_assert(chaos_proc_alive(x.f.pid));
    ck_assert_int_eq(chaos_fleet_stop(&x.f, (uint32_t)test_ms(5000)), 0);
    ck_assert(x.f.reaped);
    ck_assert(!chaos_fleet_alive(&x.f));
    fx_fini(&x);
}
END_TEST

/* restart-supervisor: the running one is SIGKILLed and reaped, a new one runs with the same
 * configuration, its output appended to the same log. */
START_TEST(respawn_kills_and_starts_another_on_the_same_dir)
{
    fx x;
    fx_init(&x);
    /* It says who it is once its SIGTERM trap is set. */
    fx_fake_fleetd(&x, "trap 'exit 0' TERM\n"
                       "echo \"fake wsfleetd $*\" >&2\n"
                       ": > \"$TMPDIR/ready\"\n"
                       "i=0\n"
                       "while [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done\n");
    char ready[320];
    snprintf(ready, sizeof(ready), "%s/ready", x.tmp);
    ck_assert_int_eq(setenv("FAKE_WSCTL_READY", ready, 1), 0);
    ck_assert_int_eq(chaos_fleet_start(&x.f, "", 5000, x.err, sizeof(x.err)), 0);
    pid_t first = x.f.pid;
    ck_assert_int_eq(chaos_fleet_respawn(&x.f, x.err, sizeof(x.err)), 0);
    ck_assert(!chaos_proc_alive(first));
    ck_assert_int_gt(x.f.pid, 1);
    ck_assert_int_ne(x.f.pid, first);
    ck_assert(!x.f.reaped);
    ck_assert(chaos_fleet_alive(&x.f));
    /* Both said who they are, in the one log. */
    char text[2048];
    char want[1024];
    snprintf(want, sizeof(want), "fake wsfleetd --config %s --foreground\n", x.f.config);
    const char *second = NULL;
    for (int i = 0; i < 200 && second == NULL; i++) {
        slurp(x.f.log, text, sizeof(text));
        const char *one = strstr(text, want);
        second = one != NULL ? strstr(one + 1, want) : NULL;
        if (second == NULL)
            usleep(25000);
    }
    ck_assert_msg(second != NULL, "log: %s", text);
    ck_assert_int_eq(chaos_fleet_stop(&x.f, 3000), 0);
    fx_fini(&x);
}
END_TEST

/* Never ready: start gives up after its timeout and stops the supervisor. */
START_TEST(start_times_out_and_stops_the_supervisor)
{
    fx x;
    fx_init(&x);
    fx_fake_fleetd(&x, "exec sleep 30\n");
    uint64_t t0 = now_ms();
    ck_assert_int_eq(chaos_fleet_start(&x.f, "", 300, x.err, sizeof(x.err)), -1);
    ck_assert_uint_ge(now_ms() - t0, 300);
    /* Ended by start's SIGTERM (checked below), not by the end of its 30 s sleep. */
    ck_assert_msg(strstr(x.err, "not ready with all its workers within 300 ms") != NULL, "err: %s",
                  x.err);
    ck_assert(x.f.reaped);
    ck_assert(WIFSIGNALED(x.f.wait_status));
    ck_assert_int_eq(WTERMSIG(x.f.wait_status), SIGTERM);
    ck_assert_uint_eq(x.f.port, 0);
    fx_fini(&x);
}
END_TEST

Suite *chaos_fleet_suite(void)
{
    Suite *s = suite_create("chaos_fleet");
    TCase *dir = tcase_create("dir");
    tcase_add_test(dir, init_makes_a_fresh_dir_and_fini_removes_it);
    tcase_add_test(dir, init_without_tmpdir_uses_tmp);
    tcase_add_test(dir, init_refuses_a_too_long_tmpdir);
    suite_add_tcase(s, dir);

    TCase *proc = tcase_create("process");
    tcase_add_test(proc, signal_by_pid);
    suite_add_tcase(s, proc);

    TCase *ctl = tcase_create("wsctl");
    tcase_set_timeout(ctl, 20);
    tcase_add_test(ctl, ctl_passes_run_dir_and_returns_status_and_json);
    tcase_add_test(ctl, ctl_output_that_is_not_json);
    tcase_add_test(ctl, ctl_large_output);
    tcase_add_test(ctl, ctl_argument_limit);
    tcase_add_test(ctl, ctl_that_cannot_run);
    tcase_add_test(ctl, ctl_async_calls_back_on_the_loop);
    tcase_add_test(ctl, ctl_async_two_at_once_and_odd_output);
    tcase_add_test(ctl, ctl_async_that_cannot_run);
    suite_add_tcase(s, ctl);

    TCase *start = tcase_create("start");
    tcase_set_timeout(start, 20);
    tcase_add_test(start, start_that_cannot_run);
    tcase_add_test(start, start_reports_the_supervisors_last_words);
    tcase_add_test(start, start_waits_until_ready_and_stop_ends_it);
    tcase_add_test(start, start_times_out_and_stops_the_supervisor);
    tcase_add_test(start, respawn_kills_and_starts_another_on_the_same_dir);
    suite_add_tcase(s, start);
    return s;
}
