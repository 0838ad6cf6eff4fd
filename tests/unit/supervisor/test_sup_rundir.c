/* Unit tests for supervisor/sup_rundir.c: the judgement of a run dir from its stat, and creation,
 * refusal and locking on real directories under a temp dir. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sup_rundir.h"

Suite *sup_rundir_suite(void);

static struct stat fake_stat(mode_t mode, uid_t uid)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = mode;
    st.st_uid = uid;
    return st;
}

START_TEST(check_accepts_only_an_owned_unshared_directory)
{
    char why[256];
    struct stat st = fake_stat(S_IFDIR | 0700, 1000);
    ck_assert_int_eq(sup_rundir_check(why, sizeof why, &st, 1000), 0);
    st = fake_stat(S_IFDIR | 0755, 1000); /* readable by others is fine: the sockets are 0600 */
    ck_assert_int_eq(sup_rundir_check(why, sizeof why, &st, 1000), 0);

    st = fake_stat(S_IFREG | 0600, 1000);
    ck_assert_int_eq(sup_rundir_check(why, sizeof why, &st, 1000), -1);
    ck_assert_str_eq(why, "not a directory");

    st = fake_stat(S_IFDIR | 0700, 65534);
    ck_assert_int_eq(sup_rundir_check(why, sizeof why, &st, 0), -1);
    ck_assert_str_eq(why, "owned by uid 65534, not by wsfleetd's uid 0");

    st = fake_stat(S_IFDIR | 01777, 0);
    ck_assert_int_eq(sup_rundir_check(why, sizeof why, &st, 0), -1);
    ck_assert_msg(strstr(why, "writable by group or others (mode 1777)") != NULL, "%s", why);
    st = fake_stat(S_IFDIR | 0770, 0);
    ck_assert_int_eq(sup_rundir_check(why, sizeof why, &st, 0), -1);
    ck_assert_msg(strstr(why, "(mode 0770)") != NULL, "%s", why);
    st = fake_stat(S_IFDIR | 0702, 0);
    ck_assert_int_eq(sup_rundir_check(why, sizeof why, &st, 0), -1);
}
END_TEST

/* A fresh temp dir per test, removed by the forked test's exit with everything in it. */
typedef struct fx {
    char tmp[64];
    char path[128];
    char err[SUP_RUNDIR_ERR_MAX];
} fx;

static void fx_init(fx *x, const char *name)
{
    snprintf(x->tmp, sizeof x->tmp, "/tmp/test_sup_rundir.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(x->tmp));
    snprintf(x->path, sizeof x->path, "%s/%s", x->tmp, name);
}

static void fx_fini(fx *x)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", x->tmp);
    ck_assert_int_eq(system(cmd), 0);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 07777;
}

START_TEST(missing_dir_is_created_0700_despite_the_umask_and_locked)
{
    fx x;
    fx_init(&x, "run");
    mode_t old = umask(0077 | 0100); /* would leave the owner without search permission */
    sup_rundir rd;
    ck_assert_int_eq(sup_rundir_open(&rd, x.path, (unsigned)geteuid(), x.err, sizeof x.err), 0);
    umask(old);
    ck_assert(rd.created);
    ck_assert_uint_eq(mode_of(x.path), 0700);
    ck_assert_str_eq(rd.path, x.path); /* mkdtemp's /tmp has no symlinks on the way */
    ck_assert_int_ge(rd.lock_fd, 0);
    ck_assert_int_eq(fcntl(rd.lock_fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    char lock[192];
    snprintf(lock, sizeof lock, "%s/lock", x.path);
    ck_assert_uint_eq(mode_of(lock), 0600);
    sup_rundir_close(&rd);
    ck_assert_int_eq(rd.lock_fd, -1);
    sup_rundir_close(&rd);
    fx_fini(&x);
}
END_TEST

START_TEST(existing_dir_is_used_as_is)
{
    fx x;
    fx_init(&x, "run");
    ck_assert_int_eq(mkdir(x.path, 0750), 0);
    ck_assert_int_eq(chmod(x.path, 0750), 0);
    sup_rundir rd;
    ck_assert_int_eq(sup_rundir_open(&rd, x.path, (unsigned)geteuid(), x.err, sizeof x.err), 0);
    ck_assert(!rd.created);
    ck_assert_uint_eq(mode_of(x.path), 0750); /* never chmodded: we did not create it */
    sup_rundir_close(&rd);
    fx_fini(&x);
}
END_TEST

START_TEST(refusals_name_the_path_and_change_nothing)
{
    fx x;
    fx_init(&x, "run");
    sup_rundir rd;
    unsigned me = (unsigned)geteuid();

    ck_assert_int_eq(mkdir(x.path, 0700), 0);
    ck_assert_int_eq(chmod(x.path, 01777), 0);
    ck_assert_int_eq(sup_rundir_open(&rd, x.path, me, x.err, sizeof x.err), -EPERM);
    ck_assert_msg(strncmp(x.err, "run dir ", 8) == 0 && strstr(x.err, x.path) != NULL &&
                      strstr(x.err, "writable by group or others (mode 1777)") != NULL,
                  "%s", x.err);
    ck_assert_ptr_null(strchr(x.err, '\n'));
    ck_assert_uint_eq(mode_of(x.path), 01777);

    ck_assert_int_eq(chmod(x.path, 0770), 0);
    ck_assert_int_eq(sup_rundir_open(&rd, x.path, me, x.err, sizeof x.err), -EPERM);
    ck_assert_uint_eq(mode_of(x.path), 0770);

    /* Someone else's directory, as another euid would see ours. */
    ck_assert_int_eq(chmod(x.path, 0700), 0);
    ck_assert_int_eq(sup_rundir_open(&rd, x.path, me + 1, x.err, sizeof x.err), -EPERM);
    ck_assert_msg(strstr(x.err, "owned by uid") != NULL, "%s", x.err);

    char file[192];
    snprintf(file, sizeof file, "%s/file", x.tmp);
    int fd = open(file, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(sup_rundir_open(&rd, file, me, x.err, sizeof x.err), -ENOTDIR);
    ck_assert_msg(strstr(x.err, "not a directory") != NULL, "%s", x.err);
    ck_assert_uint_eq(mode_of(file), 0644);

    char deep[192];
    snprintf(deep, sizeof deep, "%s/no/run", x.tmp);
    ck_assert_int_eq(sup_rundir_open(&rd, deep, me, x.err, sizeof x.err), -ENOENT);
    ck_assert_msg(strstr(x.err, "parent directory must exist") != NULL, "%s", x.err);
    fx_fini(&x);
}
END_TEST

START_TEST(a_second_open_is_refused_with_the_holder_pid_until_the_first_closes)
{
    fx x;
    fx_init(&x, "run");
    sup_rundir a, b;
    unsigned me = (unsigned)geteuid();
    ck_assert_int_eq(sup_rundir_open(&a, x.path, me, x.err, sizeof x.err), 0);
    /* flock belongs to the open file: a second open in the same process conflicts too. */
    ck_assert_int_eq(sup_rundir_open(&b, x.path, me, x.err, sizeof x.err), -EBUSY);
    ck_assert_msg(strstr(x.err, "in use by another wsfleetd") != NULL, "%s", x.err);
    ck_assert_int_eq(sup_rundir_write_pid(&a, 4242), 0);
    ck_assert_int_eq(sup_rundir_open(&b, x.path, me, x.err, sizeof x.err), -EBUSY);
    ck_assert_msg(strstr(x.err, "in use by wsfleetd pid 4242") != NULL, "%s", x.err);
    sup_rundir_close(&a);
    ck_assert_int_eq(sup_rundir_open(&b, x.path, me, x.err, sizeof x.err), 0);
    ck_assert(!b.created);
    sup_rundir_close(&b);
    fx_fini(&x);
}
END_TEST

START_TEST(the_lock_survives_a_fork_and_dies_with_its_holder)
{
    fx x;
    fx_init(&x, "run");
    unsigned me = (unsigned)geteuid();
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t parent = fork();
    ck_assert_int_ne(parent, -1);
    if (parent == 0) {
        sup_rundir rd;
        if (sup_rundir_open(&rd, x.path, me, x.err, sizeof x.err) != 0)
            _exit(1);
        /* Like the daemonizing fork: the child keeps the lock after its parent is gone. */
        pid_t child = fork();
        if (child != 0)
            _exit(child == -1 ? 1 : 0);
        pid_t self = getpid();
        if (write(ready[1], &self, sizeof self) != sizeof self)
            _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    int status;
    ck_assert_int_eq(waitpid(parent, &status, 0), parent);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pid_t holder;
    ck_assert_int_eq(read(ready[0], &holder, sizeof holder), sizeof holder);
    close(ready[0]);
    ck_assert_int_gt(holder, 1);
    sup_rundir rd;
    ck_assert_int_eq(sup_rundir_open(&rd, x.path, me, x.err, sizeof x.err), -EBUSY);
    ck_assert_int_eq(kill(holder, SIGKILL), 0);
    /* The kernel drops the lock as the holder exits; no unlock ran. */
    int rc = -EBUSY;
    for (int i = 0; i < 1000 && rc == -EBUSY; i++) {
        rc = sup_rundir_open(&rd, x.path, me, x.err, sizeof x.err);
        if (rc == -EBUSY)
            usleep(10000);
    }
    ck_assert_int_eq(rc, 0);
    sup_rundir_close(&rd);
    fx_fini(&x);
}
END_TEST

/* After an in-place exec the held lock's descriptor is taken over (close-on-exec again); any
 * other descriptor is refused, and the lock stays held against others throughout. */
START_TEST(a_held_lock_is_taken_over_and_only_that_one)
{
    fx x;
    fx_init(&x, "run");
    sup_rundir a, b, c;
    unsigned me = (unsigned)geteuid();
    ck_assert_int_eq(sup_rundir_open(&a, x.path, me, x.err, sizeof x.err), 0);
    ck_assert_int_eq(fcntl(a.lock_fd, F_SETFD, 0), 0); /* as the exec left it */
    int other = open(x.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(other, 0);
    ck_assert_int_eq(sup_rundir_open_held(&b, x.path, me, other, x.err, sizeof x.err), -EBADF);
    ck_assert_msg(strstr(x.err, "is not its lock") != NULL, "%s", x.err);
    close(other);
    ck_assert_int_eq(sup_rundir_open_held(&b, x.path, me, a.lock_fd, x.err, sizeof x.err), 0);
    ck_assert_int_eq(b.lock_fd, a.lock_fd);
    ck_assert_int_eq(fcntl(b.lock_fd, F_GETFD), FD_CLOEXEC);
    ck_assert_int_eq(sup_rundir_open(&c, x.path, me, x.err, sizeof x.err), -EBUSY);
    sup_rundir_close(&b);
    fx_fini(&x);
}
END_TEST

Suite *sup_rundir_suite(void)
{
    Suite *s = suite_create("sup_rundir");
    TCase *tc = tcase_create("rundir");
    tcase_add_test(tc, check_accepts_only_an_owned_unshared_directory);
    tcase_add_test(tc, missing_dir_is_created_0700_despite_the_umask_and_locked);
    tcase_add_test(tc, existing_dir_is_used_as_is);
    tcase_add_test(tc, refusals_name_the_path_and_change_nothing);
    tcase_add_test(tc, a_second_open_is_refused_with_the_holder_pid_until_the_first_closes);
    tcase_add_test(tc, the_lock_survives_a_fork_and_dies_with_its_holder);
    tcase_add_test(tc, a_held_lock_is_taken_over_and_only_that_one);
    suite_add_tcase(s, tc);
    return s;
}
