/* The nats-server sidecar: started before the workers on 127.0.0.1 with a port it picks and a
 * random token, supervised with the slots' restart policy on the same port and store (so that
 * libnats clients reconnect on their own), stopped last. Also writes RUNDIR/nats.url (0600), the
 * URL list the workers and applications on the host read: the sidecar's "nats://TOKEN@127.0.0.1:
 * PORT", or the [nats] url list when that is set (then there is no sidecar). */
#ifndef SUP_NATSD_H
#define SUP_NATSD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sup_config.h"
#include "sup_restart.h"

/* sup_natsd_start's result when nats-server is not installed: wsfleetd exits 2. */
#define SUP_NATSD_ENOEXEC (-2)
#define SUP_NATSD_MISSING                                                                          \
    "nats-server not found in PATH or /usr/sbin: install it (scripts/install-deps installs the "   \
    "nats-server package) or set [nats] url"

enum sup_natsd_state {
    SUP_NATSD_EXTERNAL, /* [nats] url is set: no sidecar */
    SUP_NATSD_STARTING, /* spawned, its port not known yet */
    SUP_NATSD_RUNNING,
    SUP_NATSD_BACKOFF,  /* exited; restarting at restart_at_ms */
    SUP_NATSD_STOPPING, /* SIGTERM sent at shutdown */
    SUP_NATSD_STOPPED,
};

typedef struct sup_natsd {
    enum sup_natsd_state state;
    pid_t pid;   /* 0 when no process */
    int port;    /* 0 until known */
    bool failed; /* the restart policy marked it failed (restarts at the maximum delay) */
    char token[33];
    char exe[PATH_MAX];
    char conf_path[PATH_MAX];
    char url_path[PATH_MAX]; /* RUNDIR/nats.url */
    char run_dir[PATH_MAX];
    char store_dir[PATH_MAX];
    char url[SUP_NATS_URLS_MAX]; /* what nats.url holds (with the token: never log it) */
    sup_restart restart;
    uint64_t started_ms;
    uint64_t restart_at_ms;
    uint64_t term_sent_ms;
    bool kill_sent;
} sup_natsd;

/* What a live upgrade hands over of the sidecar (sup_upgrade_state.h): a child of wsfleetd that
 * survives the exec like the workers (its PR_SET_PDEATHSIG fires when the forking thread dies,
 * which an exec of that same thread is not). Its token and paths stay in the run dir's nats.conf
 * and nats.url. */
typedef struct sup_natsd_handover {
    enum sup_natsd_state state; /* EXTERNAL: [nats] url, no sidecar; STOPPING is never handed */
    int pid;                    /* > 0 exactly in STARTING and RUNNING */
    int port;                   /* > 0 exactly for a sidecar */
    bool failed;
    uint64_t started_ms;
    uint64_t restart_at_ms;
    sup_restart restart;
} sup_natsd_handover;

/* Finds the nats-server executable: PATH (absolute entries), then /usr/sbin and /usr/local/sbin.
 * Returns 0 with its path in out, or -ENOENT. */
int sup_natsd_find_exe(char *out, size_t size);

/* Sets d up for cfg in the run dir (an absolute path). With [nats] url: writes nats.url and
 * returns 0 (state EXTERNAL). Else finds nats-server (PATH, then /usr/sbin; missing: one line
 * logged, SUP_NATSD_ENOEXEC), makes the store directory (0700), a random token, and starts it,
 * waiting at most wait_ms for it to report its port. A sidecar that did not come up within that
 * is not an error: a free port is chosen for it and it is retried with the restart policy, so
 * the workers can be started at once (they answer "not available" until it is up). Returns 0 or
 * -1 (logged). */
int sup_natsd_start(sup_natsd *d, const sup_config *cfg, const char *run_dir, unsigned euid,
                    uint32_t wait_ms);

/* sup_natsd_start of an upgraded image: sets d up as sup_natsd_start would, but takes the sidecar
 * (its pid, a child of this same process, its port, state and restart streak) from h instead of
 * starting one, its token from nats.conf. Returns 0, SUP_NATSD_ENOEXEC or -1 (logged: the
 * broker of h is not the configuration's, or nats.conf does not hold h's port). */
int sup_natsd_adopt(sup_natsd *d, const sup_config *cfg, const char *run_dir, unsigned euid,
                    const sup_natsd_handover *h);

/* What the new image of a live upgrade needs to take the sidecar over. */
void sup_natsd_hand_over(const sup_natsd *d, sup_natsd_handover *out);

/* The process pid exited with status: returns false when it is not the sidecar. Otherwise
 * schedules its restart (unless stopping) with policy p and rnd in [0, 1). */
bool sup_natsd_reap(sup_natsd *d, pid_t pid, int status, uint64_t now, const sup_restart_policy *p,
                    double rnd);

/* Time passes: restarts a sidecar whose backoff is over, learns the port of a starting one, and
 * sends SIGKILL to one that ignored SIGTERM for kill_grace_ms. */
void sup_natsd_tick(sup_natsd *d, uint64_t now, const sup_restart_policy *p,
                    uint32_t kill_grace_ms);

/* Stops it (SIGTERM by pid, once; SIGKILL follows from sup_natsd_tick). Returns true once no
 * sidecar process is left. */
bool sup_natsd_stop(sup_natsd *d, uint64_t now);

/* Last resort at exit: SIGKILL and reap a sidecar still running, remove its ports file. */
void sup_natsd_fini(sup_natsd *d);

const char *sup_natsd_state_name(enum sup_natsd_state s);

#endif
