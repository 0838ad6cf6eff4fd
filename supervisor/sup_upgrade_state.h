/* What a supervisor hands over to its own re-executed image in a live upgrade (wsctl upgrade):
 * the descriptors it keeps across exec (run dir lock, parent pipe, listeners), the slots with
 * their workers' pids, lifecycles and binary identities, the nats-server sidecar, the observed
 * clock and the fleet's runtime settings. A pure codec: a versioned text document closed by a
 * checksum, so that a truncated or damaged hand-over is refused instead of half applied. */
#ifndef SUP_UPGRADE_STATE_H
#define SUP_UPGRADE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sup_lifecycle.h"
#include "sup_natsd.h"

#define SUP_UPGRADE_MAX_SLOTS 256 /* = SUP_MAX_SLOTS */
#define SUP_UPGRADE_MAX_LISTEN 8  /* = SUP_MAX_LISTEN */
#define SUP_UPGRADE_PATH_MAX 4096
#define SUP_UPGRADE_NAME_MAX 96
#define SUP_UPGRADE_VERSION 2 /* 2: the nats-server sidecar */

/* Identity of an executable file: a replaced file (a new inode, a new size or mtime) differs. */
typedef struct sup_binid {
    uint64_t dev;
    uint64_t ino;
    uint64_t size;
    int64_t mtime_ns;
} sup_binid;

/* Fills *out from path's stat. Returns 0 or -errno (*out untouched). */
int sup_binid_of(sup_binid *out, const char *path);

bool sup_binid_equal(const sup_binid *a, const sup_binid *b);

typedef struct sup_upgrade_slot {
    unsigned index;
    int pid; /* 0: no process */
    uint64_t generation;
    uint64_t spawn_seq;
    uint64_t started_ms; /* monotonic: the clock survives exec */
    uint64_t ready_ms;
    bool wanted;
    bool accepting;
    sup_lifecycle lc; /* on the observed clock, handed over with it */
    sup_binid bin;    /* the wsworker file the worker was spawned from */
} sup_upgrade_slot;

typedef struct sup_upgrade_listen {
    char name[SUP_UPGRADE_NAME_MAX]; /* HOST:PORT as bound, no spaces */
    int family;
    int fds[SUP_UPGRADE_MAX_SLOTS]; /* [0, nslots) */
} sup_upgrade_listen;

typedef struct sup_upgrade_state {
    char exe[SUP_UPGRADE_PATH_MAX]; /* wsfleetd's path, resolved when it first started */
    uint64_t upgrades;              /* in-place upgrades so far, this one included */
    int lock_fd;                    /* the run dir's lock, held */
    int pipe_fds[2];                /* the workers' parent pipe */
    sup_obs obs;
    unsigned nslots; /* workers.max: sockets per address */
    unsigned desired;
    unsigned workers_min; /* as wsctl autoscale left them */
    unsigned scaler_min;
    unsigned scaler_max;
    bool autoscale;
    bool steering_cbpf;
    bool ready_sent; /* systemd has had its first READY=1 */
    bool settings;   /* the configuration changed the workers' settings: restart them all */
    uint64_t spawns;
    uint64_t command_id;
    size_t nlistens;
    sup_upgrade_listen listens[SUP_UPGRADE_MAX_LISTEN];
    sup_upgrade_slot slots[SUP_UPGRADE_MAX_SLOTS]; /* [0, nslots), slots[i].index == i */
    sup_natsd_handover natsd;                      /* the nats-server sidecar (sup_natsd.h) */
} sup_upgrade_state;

/* Writes st as text into out[cap] (NUL-terminated when cap > 0, truncated when short) and
 * returns the length the whole document needs, without the NUL: call again with a larger buffer
 * when it is >= cap. Returns -EINVAL for a state that could not be decoded back (a count over
 * its limit, a name with a space). Pure. */
long sup_upgrade_state_encode(char *out, size_t cap, const sup_upgrade_state *st);

/* Decodes len bytes of buf into *out. Returns 0, or -EINVAL for anything but a complete document
 * of this version whose checksum matches and whose values are in range (*out is then
 * unspecified). Pure. */
int sup_upgrade_state_decode(sup_upgrade_state *out, const char *buf, size_t len);

#endif
