/* The fleet's state file, RUNDIR/fleet.state, and the judgement of its workers after the
 * supervisor that wrote it died: which slots have a live worker of this fleet to adopt. Pure:
 * text in and out, the caller reads /proc. */
#ifndef SUP_ADOPT_STATE_H
#define SUP_ADOPT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "sup_lifecycle.h"

#define SUP_ADOPT_STATE_VERSION 1
#define SUP_ADOPT_MAX_SLOTS 256
#define SUP_ADOPT_MAX_LISTEN 8
#define SUP_ADOPT_NAME_MAX 96
/* Room for the largest file: every slot and address at its longest. */
#define SUP_ADOPT_STATE_MAX (512 + SUP_ADOPT_MAX_LISTEN * 112 + SUP_ADOPT_MAX_SLOTS * 64)

typedef struct sup_adopt_slot {
    int pid; /* 0: no process */
    uint64_t generation;
    enum sup_slot_state state;
} sup_adopt_slot;

typedef struct sup_adopt_state {
    int supervisor_pid;
    uint64_t workers_fp; /* fingerprint of the settings its workers were started with */
    uint64_t spawns;     /* its spawn counter */
    unsigned nlistens;
    char listen[SUP_ADOPT_MAX_LISTEN][SUP_ADOPT_NAME_MAX]; /* HOST:PORT as bound */
    unsigned nslots;
    sup_adopt_slot slots[SUP_ADOPT_MAX_SLOTS];
} sup_adopt_state;

/* Writes st as text into buf (cap bytes, NUL-terminated). Returns the length, or -ENOSPC. */
int sup_adopt_state_encode(char *buf, size_t cap, const sup_adopt_state *st);

/* Parses len bytes of text into *out. Returns 0, or -EINVAL with the reason in why (*out is
 * then unspecified). Unknown lines are an error: a file of another version is not guessed at. */
int sup_adopt_state_parse(sup_adopt_state *out, const char *text, size_t len, char *why,
                          size_t whycap);

enum sup_adopt_verdict {
    SUP_ADOPT_TAKE = 0, /* a live worker of this fleet in this slot: adopt it */
    SUP_ADOPT_NONE,     /* no worker (none recorded, or it died): spawn one as usual */
    SUP_ADOPT_STRANGER, /* the pid is alive but is not this slot's worker (reused pid) */
};

/* Judges slot index of the state file. environ is the pid's /proc/PID/environ (NUL-separated
 * entries, len bytes), NULL when the process does not exist; endpoint is this run dir's workers
 * endpoint (WSF_SUPERVISOR). A worker is this slot's when its environment names this endpoint,
 * this slot and the recorded generation. Draining workers are not adopted: they are leaving. */
enum sup_adopt_verdict sup_adopt_judge(const sup_adopt_slot *slot, unsigned index,
                                       const char *environ, size_t len, const char *endpoint);

/* FNV-1a over len bytes, chained from h (start with SUP_ADOPT_FP_INIT). */
#define SUP_ADOPT_FP_INIT 0xcbf29ce484222325ull
uint64_t sup_adopt_fp(uint64_t h, const void *data, size_t len);

#endif
