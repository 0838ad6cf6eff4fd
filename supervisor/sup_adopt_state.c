/* RUNDIR/fleet.state as text, and the judgement of a recorded worker. */
#include "sup_adopt_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static int sup_put(char *buf, size_t cap, const char *fmt,
                                                         ...)
{
    size_t len = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap - len ? -ENOSPC : 0;
}

int sup_adopt_state_encode(char *buf, size_t cap, const sup_adopt_state *st)
{
    if (cap == 0 || st->nlistens > SUP_ADOPT_MAX_LISTEN || st->nslots > SUP_ADOPT_MAX_SLOTS)
        return -ENOSPC;
    buf[0] = '\0';
    int rc = sup_put(buf, cap,
                     "wsfleet-state %d\nsupervisor %d\nworkers-fingerprint %016" PRIx64
                     "\nspawns %" PRIu64 "\n",
                     SUP_ADOPT_STATE_VERSION, st->supervisor_pid, st->workers_fp, st->spawns);
    for (unsigned i = 0; i < st->nlistens && rc == 0; i++)
        rc = sup_put(buf, cap, "listen %s\n", st->listen[i]);
    if (rc == 0)
        rc = sup_put(buf, cap, "slots %u\n", st->nslots);
    for (unsigned i = 0; i < st->nslots && rc == 0; i++) {
        const sup_adopt_slot *s = &st->slots[i];
        rc = sup_put(buf, cap, "slot %u %d %" PRIu64 " %s\n", i, s->pid, s->generation,
                     sup_slot_state_name(s->state));
    }
    return rc == 0 ? (int)strlen(buf) : rc;
}

static int sup_state_by_name(enum sup_slot_state *out, const char *name)
{
    for (int s = 0; s < SUP_SLOT_NSTATES; s++) {
        if (strcmp(sup_slot_state_name((enum sup_slot_state)s), name) == 0) {
            *out = (enum sup_slot_state)s;
            return 0;
        }
    }
    return -1;
}

/* One line (without its newline) into *st; returns NULL or what is wrong with it. */
static const char *sup_parse_line(sup_adopt_state *st, const char *line, bool *seen_slots)
{
    char word[24], rest[128], name[24];
    unsigned u, idx;
    int pid, version, end = 0;
    uint64_t v;

    if (sscanf(line, "wsfleet-state %d%n", &version, &end) == 1 && line[end] == '\0')
        return version == SUP_ADOPT_STATE_VERSION ? NULL : "unknown version";
    if (sscanf(line, "supervisor %d%n", &pid, &end) == 1 && line[end] == '\0')
        return st->supervisor_pid = pid, NULL;
    if (sscanf(line, "workers-fingerprint %" SCNx64 "%n", &v, &end) == 1 && line[end] == '\0')
        return st->workers_fp = v, NULL;
    if (sscanf(line, "spawns %" SCNu64 "%n", &v, &end) == 1 && line[end] == '\0')
        return st->spawns = v, NULL;
    if (sscanf(line, "listen %127s%n", rest, &end) == 1 && line[end] == '\0') {
        if (st->nlistens == SUP_ADOPT_MAX_LISTEN || strlen(rest) >= SUP_ADOPT_NAME_MAX)
            return "too many or too long listen lines";
        memcpy(st->listen[st->nlistens++], rest, strlen(rest) + 1);
        return NULL;
    }
    if (sscanf(line, "slots %u%n", &u, &end) == 1 && line[end] == '\0') {
        if (u == 0 || u > SUP_ADOPT_MAX_SLOTS || *seen_slots)
            return "bad slots line";
        st->nslots = u;
        *seen_slots = true;
        return NULL;
    }
    if (sscanf(line, "slot %u %d %" SCNu64 " %23s%n", &idx, &pid, &v, name, &end) == 4 &&
        line[end] == '\0') {
        if (!*seen_slots || idx >= st->nslots || pid < 0)
            return "slot line out of range";
        st->slots[idx].pid = pid;
        st->slots[idx].generation = v;
        if (sup_state_by_name(&st->slots[idx].state, name) != 0)
            return "unknown slot state";
        return NULL;
    }
    if (sscanf(line, "%23s", word) != 1)
        return "empty line";
    return "unknown line";
}

int sup_adopt_state_parse(sup_adopt_state *out, const char *text, size_t len, char *why,
                          size_t whycap)
{
    bool seen_slots = false, seen_version = false;
    char line[256];
    size_t pos = 0;
    unsigned lineno = 0;

    memset(out, 0, sizeof *out);
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (!nl) {
            snprintf(why, whycap, "line %u: no newline (a torn file)", lineno);
            return -EINVAL;
        }
        if (n >= sizeof line || memchr(text + pos, '\0', n) != NULL) {
            snprintf(why, whycap, "line %u: too long or binary", lineno);
            return -EINVAL;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + 1;
        const char *bad = sup_parse_line(out, line, &seen_slots);
        if (bad == NULL && lineno == 1 && strncmp(line, "wsfleet-state ", 14) != 0)
            bad = "not a fleet state file";
        if (bad != NULL) {
            snprintf(why, whycap, "line %u: %s", lineno, bad);
            return -EINVAL;
        }
        seen_version |= lineno == 1;
    }
    if (!seen_version || !seen_slots || out->nlistens == 0) {
        snprintf(why, whycap, "incomplete: %s", !seen_version ? "empty" : "no slots or listen");
        return -EINVAL;
    }
    return 0;
}

/* True if the NUL-separated environment holds exactly the entry want. */
static bool sup_env_has(const char *env, size_t len, const char *want)
{
    size_t wlen = strlen(want);
    for (size_t pos = 0; pos < len;) {
        const char *end = memchr(env + pos, '\0', len - pos);
        size_t n = end ? (size_t)(end - (env + pos)) : len - pos;
        if (n == wlen && memcmp(env + pos, want, n) == 0)
            return true;
        pos += n + 1;
    }
    return false;
}

enum sup_adopt_verdict sup_adopt_judge(const sup_adopt_slot *slot, unsigned index,
                                       const char *environ, size_t len, const char *endpoint)
{
    char want[400];
    if (slot->pid <= 0 || slot->state == SUP_SLOT_DRAINING ||
        !sup_lifecycle_has_process(slot->state))
        return SUP_ADOPT_NONE;
    if (environ == NULL)
        return SUP_ADOPT_NONE;
    snprintf(want, sizeof want, "WSF_SUPERVISOR=%s", endpoint);
    if (!sup_env_has(environ, len, want))
        return SUP_ADOPT_STRANGER;
    snprintf(want, sizeof want, "WSF_SLOT=%u", index);
    if (!sup_env_has(environ, len, want))
        return SUP_ADOPT_STRANGER;
    snprintf(want, sizeof want, "WSF_GENERATION=%" PRIu64, slot->generation);
    if (!sup_env_has(environ, len, want))
        return SUP_ADOPT_STRANGER;
    return SUP_ADOPT_TAKE;
}

uint64_t sup_adopt_fp(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
