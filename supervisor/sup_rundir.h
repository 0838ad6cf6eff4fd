/* The supervisor's run directory: checked (a directory of wsfleetd's euid that nobody else can
 * write), created 0700 when missing, and locked for the supervisor's life with flock on
 * RUNDIR/lock, so a second wsfleetd is refused even while the first is stopped, and the kernel
 * releases the lock when its holder dies. */
#ifndef SUP_RUNDIR_H
#define SUP_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Unix socket paths are short (sun_path holds 108 bytes): room for "/workers" and its NUL. */
#define SUP_RUNDIR_PATH_MAX 96
#define SUP_RUNDIR_ERR_MAX 512
#define SUP_RUNDIR_LOCK_NAME "lock"

typedef struct sup_rundir {
    char path[SUP_RUNDIR_PATH_MAX + 1]; /* resolved (realpath): symlinks are followed once */
    int lock_fd;                        /* RUNDIR/lock, O_CLOEXEC, flock(LOCK_EX) held; -1 none */
    bool created;                       /* this process made the directory */
} sup_rundir;

/* Judges a run directory from its stat: 0 if it is a directory owned by euid that neither group
 * nor others can write; else -1 with the reason in why (no path, no newline), e.g. "owned by uid
 * 65534, not by wsfleetd's uid 0". Pure. */
int sup_rundir_check(char *why, size_t whycap, const struct stat *st, unsigned euid);

/* Opens the run directory at path for a supervisor running as euid: creates it 0700 when missing
 * (its parent must exist: no intermediate directories are made, so a typo does not grow a tree),
 * resolves it, judges it with sup_rundir_check (a directory it did not create is never chmodded),
 * then takes the lock on RUNDIR/lock (0600, close-on-exec, so workers never inherit it; a lock
 * taken before a fork is shared with the child and survives the parent's exit). On success fills
 * *out and returns 0; the caller calls sup_rundir_close. Else returns a negative errno (-EBUSY:
 * another supervisor holds the lock) with one line in err naming the path and the reason (and
 * the holder's pid when the lock file names it). */
int sup_rundir_open(sup_rundir *out, const char *path, unsigned euid, char *err, size_t errcap);

/* As sup_rundir_open, for a supervisor that re-executed itself (live upgrade) holding the lock
 * on held_fd: the same checks, then held_fd (which must be that run dir's lock file) becomes the
 * lock, close-on-exec again, instead of a new one (which its own lock would refuse). */
int sup_rundir_open_held(sup_rundir *out, const char *path, unsigned euid, int held_fd, char *err,
                         size_t errcap);

/* Records pid in RUNDIR/lock for the next supervisor's refusal message. Returns 0 or -errno. */
int sup_rundir_write_pid(sup_rundir *rd, pid_t pid);

/* Releases the lock: call after removing the endpoints created under it. The lock file stays
 * (removing it would let two supervisors lock two different files). A second call is a no-op. */
void sup_rundir_close(sup_rundir *rd);

#endif
