/* Run directory checks, creation and the supervisor's lock on RUNDIR/lock. */
#include "sup_rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int sup_rundir_check(char *why, size_t whycap, const struct stat *st, unsigned euid)
{
    if (!S_ISDIR(st->st_mode)) {
        snprintf(why, whycap, "not a directory");
        return -1;
    }
    if ((unsigned)st->st_uid != euid) {
        snprintf(why, whycap, "owned by uid %u, not by wsfleetd's uid %u", (unsigned)st->st_uid,
                 euid);
        return -1;
    }
    /* Whoever can write the directory can replace the endpoints and command the workers. */
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        snprintf(why, whycap,
                 "writable by group or others (mode %04o); only its owner may write it",
                 (unsigned)(st->st_mode & 07777));
        return -1;
    }
    return 0;
}

/* The pid a holder wrote into the lock file, or 0 when it names none (yet). */
static long sup_rundir_holder(int fd)
{
    char buf[32];
    ssize_t n;
    do {
        n = pread(fd, buf, sizeof buf - 1, 0);
    } while (n == -1 && errno == EINTR);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && (*end == '\n' || *end == '\0') && pid > 0 ? pid : 0;
}

/* Takes over held_fd, an open RUNDIR/lock this process already locked before it re-executed
 * itself: it must be that very file. Returns 0 or -errno with err. */
static int sup_rundir_take_held(sup_rundir *rd, int dir_fd, int held_fd, char *err, size_t errcap)
{
    struct stat held, named;
    if (fstat(held_fd, &held) == -1 ||
        fstatat(dir_fd, SUP_RUNDIR_LOCK_NAME, &named, AT_SYMLINK_NOFOLLOW) == -1 ||
        held.st_dev != named.st_dev || held.st_ino != named.st_ino) {
        snprintf(err, errcap, "run dir %s: the handed-over descriptor %d is not its %s", rd->path,
                 held_fd, SUP_RUNDIR_LOCK_NAME);
        return -EBADF;
    }
    /* Workers must not inherit it; locking again what this open file holds always succeeds. */
    if (fcntl(held_fd, F_SETFD, FD_CLOEXEC) == -1 || flock(held_fd, LOCK_EX | LOCK_NB) == -1) {
        int rc = -errno;
        snprintf(err, errcap, "run dir %s: cannot keep the lock %s: %s", rd->path,
                 SUP_RUNDIR_LOCK_NAME, strerror(-rc));
        return rc;
    }
    rd->lock_fd = held_fd;
    return 0;
}

/* Takes the lock on RUNDIR/lock through dir_fd. Returns 0 or -errno (-EBUSY: held) with err. */
static int sup_rundir_lock(sup_rundir *rd, int dir_fd, char *err, size_t errcap)
{
    int fd = openat(dir_fd, SUP_RUNDIR_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc = 0;
    struct stat st;
    if (fd == -1) {
        rc = -errno;
        snprintf(err, errcap, "run dir %s: cannot open %s: %s", rd->path, SUP_RUNDIR_LOCK_NAME,
                 strerror(-rc));
        return rc;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        snprintf(err, errcap, "run dir %s: %s is not a regular file", rd->path,
                 SUP_RUNDIR_LOCK_NAME);
        goto out;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
        if (errno == EINTR)
            continue;
        rc = -errno;
        if (rc != -EWOULDBLOCK) {
            snprintf(err, errcap, "run dir %s: cannot lock %s: %s", rd->path, SUP_RUNDIR_LOCK_NAME,
                     strerror(-rc));
            goto out;
        }
        rc = -EBUSY;
        long pid = sup_rundir_holder(fd);
        if (pid > 0)
            snprintf(err, errcap, "run dir %s: in use by wsfleetd pid %ld (it holds %s/%s)",
                     rd->path, pid, rd->path, SUP_RUNDIR_LOCK_NAME);
        else
            snprintf(err, errcap, "run dir %s: in use by another wsfleetd (it holds %s/%s)",
                     rd->path, rd->path, SUP_RUNDIR_LOCK_NAME);
        goto out;
    }
    rd->lock_fd = fd;
out:
    if (rc != 0)
        close(fd);
    return rc;
}

int sup_rundir_open(sup_rundir *out, const char *path, unsigned euid, char *err, size_t errcap)
{
    return sup_rundir_open_held(out, path, euid, -1, err, errcap);
}

int sup_rundir_open_held(sup_rundir *out, const char *path, unsigned euid, int held_fd, char *err,
                         size_t errcap)
{
    sup_rundir rd = {.lock_fd = -1};
    char why[256];
    char proc[64];
    char resolved[PATH_MAX];
    struct stat st;
    int rc = 0;
    int dir_fd = -1;

    if (mkdir(path, 0700) == 0) {
        rd.created = true;
    } else if (errno != EEXIST) {
        rc = -errno;
        snprintf(err, errcap, "run dir %s: cannot create: %s%s", path, strerror(-rc),
                 rc == -ENOENT ? " (its parent directory must exist)" : "");
        goto out;
    }
    dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd == -1) {
        rc = -errno;
        snprintf(err, errcap, "run dir %s: %s", path,
                 rc == -ENOTDIR ? "not a directory" : strerror(-rc));
        goto out;
    }
    /* The umask may have taken bits off; a directory made by someone else is never changed. */
    if (rd.created && fchmod(dir_fd, 0700) == -1) {
        rc = -errno;
        snprintf(err, errcap, "run dir %s: chmod: %s", path, strerror(-rc));
        goto out;
    }
    if (fstat(dir_fd, &st) == -1) {
        rc = -errno;
        snprintf(err, errcap, "run dir %s: %s", path, strerror(-rc));
        goto out;
    }
    if (sup_rundir_check(why, sizeof why, &st, euid) != 0) {
        rc = -EPERM;
        snprintf(err, errcap, "run dir %s: %s", path, why);
        goto out;
    }
    /* The endpoints are bound by path later: use the directory that was checked, not whatever a
     * symlink on the way points to by then. */
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", dir_fd);
    ssize_t n = readlink(proc, resolved, sizeof resolved - 1);
    if (n == -1) {
        rc = -errno;
        snprintf(err, errcap, "run dir %s: cannot resolve: %s", path, strerror(-rc));
        goto out;
    }
    resolved[n] = '\0';
    if ((size_t)n > SUP_RUNDIR_PATH_MAX) {
        rc = -ENAMETOOLONG;
        snprintf(err, errcap,
                 "run dir %s: %s is longer than %d characters (socket paths are short)", path,
                 resolved, SUP_RUNDIR_PATH_MAX);
        goto out;
    }
    memcpy(rd.path, resolved, (size_t)n + 1);
    rc = held_fd != -1 ? sup_rundir_take_held(&rd, dir_fd, held_fd, err, errcap)
                       : sup_rundir_lock(&rd, dir_fd, err, errcap);
    if (rc == 0)
        *out = rd;
out:
    if (dir_fd != -1)
        close(dir_fd);
    return rc;
}

int sup_rundir_write_pid(sup_rundir *rd, pid_t pid)
{
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%ld\n", (long)pid);
    if (ftruncate(rd->lock_fd, 0) == -1)
        return -errno;
    ssize_t n;
    do {
        n = pwrite(rd->lock_fd, buf, (size_t)len, 0);
    } while (n == -1 && errno == EINTR);
    if (n == -1)
        return -errno;
    return n == len ? 0 : -EIO;
}

void sup_rundir_close(sup_rundir *rd)
{
    if (rd->lock_fd != -1)
        close(rd->lock_fd);
    rd->lock_fd = -1;
}
