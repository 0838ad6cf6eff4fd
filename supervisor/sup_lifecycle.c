/* Worker slot lifecycle: the [state][event] table, the clock's events and the observed clock. */
#include "sup_lifecycle.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Bookkeeping a transition does besides the executor's actions. */
enum sup_lc_book {
    SUP_BK_FRESH = 1 << 0,     /* a slot joining the fleet: the restart streak starts afresh */
    SUP_BK_SPAWNED = 1 << 1,   /* a new worker: started and heard now, no signals, no deadline */
    SUP_BK_HEARD = 1 << 2,     /* heard from the worker now */
    SUP_BK_DRAIN = 1 << 3,     /* kill deadline at the end of the drain plus kill_grace */
    SUP_BK_RESTART = 1 << 4,   /* respawn when it exits */
    SUP_BK_NORESTART = 1 << 5, /* do not */
    SUP_BK_HUNG = 1 << 6,      /* SIGTERM sent; kill deadline kill_grace from now */
    SUP_BK_KILLED = 1 << 7,    /* SIGKILL sent; no deadline left */
    SUP_BK_UPTIME = 1 << 8,    /* a long enough run clears the restart streak */
};

/* Next states that depend on the inputs, beyond the real states. */
enum {
    SUP_NX_EXITED = SUP_SLOT_NSTATES, /* the worker is gone: stopped when not wanted, respawned
                                         at once after a drain that asked for it, else backoff
                                         or failed as the restart policy decides */
    SUP_NX_RESPAWN,                   /* starting (spawn) when wanted, else stopped */
};

typedef struct sup_lc_rule {
    unsigned char next;   /* enum sup_slot_state or SUP_NX_* */
    unsigned short acts;  /* enum sup_lifecycle_act */
    unsigned short books; /* enum sup_lc_book */
} sup_lc_rule;

#define S_STOP SUP_SLOT_STOPPED
#define S_START SUP_SLOT_STARTING
#define S_RUN SUP_SLOT_RUNNING
#define S_DRAIN SUP_SLOT_DRAINING
#define S_BACK SUP_SLOT_BACKOFF
#define S_FAIL SUP_SLOT_FAILED
#define S_ADOPT SUP_SLOT_ADOPTED

#define A_DRAIN (SUP_LC_ACT_DRAIN | SUP_LC_ACT_STEER | SUP_LC_ACT_SCHEDULE)
#define A_HANG (SUP_LC_ACT_LOG | SUP_LC_ACT_TERM | SUP_LC_ACT_SCHEDULE)
#define A_KILL (SUP_LC_ACT_LOG | SUP_LC_ACT_KILL)
#define A_READY (SUP_LC_ACT_READY | SUP_LC_ACT_STEER)

/* The whole state machine. An event that means nothing in a state keeps the state and does
 * nothing: a late message, a stale timer, a second request. STARTING is entered with the SPAWN
 * action, whose outcome comes back as SPAWN_OK or SPAWN_FAILED. */
static const sup_lc_rule sup_lc_rules[SUP_SLOT_NSTATES][SUP_LC_NEVENTS] =
    {
        [SUP_SLOT_STOPPED] =
            {
                [SUP_LC_EV_WANT] = {S_START, SUP_LC_ACT_SPAWN, SUP_BK_FRESH},
                [SUP_LC_EV_UNWANT] = {S_STOP, 0, 0},
                [SUP_LC_EV_SPAWN_OK] = {S_STOP, 0, 0},
                [SUP_LC_EV_SPAWN_FAILED] = {S_STOP, 0, 0},
                [SUP_LC_EV_HELLO] = {S_STOP, 0, 0},
                [SUP_LC_EV_REPORT] = {S_STOP, 0, 0},
                [SUP_LC_EV_EXIT] = {S_STOP, 0, 0},
                [SUP_LC_EV_HANG] = {S_STOP, 0, 0},
                [SUP_LC_EV_DRAIN] = {S_STOP, 0, 0},
                /* A wanted slot without a worker is always due: never stuck stopped. */
                [SUP_LC_EV_DEADLINE] = {SUP_NX_RESPAWN, 0, 0},
                [SUP_LC_EV_TICK] = {S_STOP, 0, 0},
            },
        [SUP_SLOT_STARTING] =
            {
                [SUP_LC_EV_WANT] = {S_START, 0, 0},
                [SUP_LC_EV_UNWANT] = {S_DRAIN, A_DRAIN, SUP_BK_DRAIN | SUP_BK_NORESTART},
                [SUP_LC_EV_SPAWN_OK] = {S_START, 0, SUP_BK_SPAWNED},
                [SUP_LC_EV_SPAWN_FAILED] = {SUP_NX_EXITED, 0, 0},
                [SUP_LC_EV_HELLO] = {S_RUN, A_READY, SUP_BK_HEARD},
                /* A Report proves the worker runs and is connected even if its Hello was lost. */
                [SUP_LC_EV_REPORT] = {S_RUN, A_READY, SUP_BK_HEARD},
                [SUP_LC_EV_EXIT] = {SUP_NX_EXITED, 0, 0},
                [SUP_LC_EV_HANG] = {S_START, A_HANG, SUP_BK_HUNG},
                [SUP_LC_EV_DRAIN] = {S_DRAIN, A_DRAIN, SUP_BK_DRAIN | SUP_BK_RESTART},
                [SUP_LC_EV_DEADLINE] = {S_START, A_KILL, SUP_BK_KILLED},
                [SUP_LC_EV_TICK] = {S_START, 0, 0},
            },
        [SUP_SLOT_RUNNING] =
            {
                [SUP_LC_EV_WANT] = {S_RUN, 0, 0},
                [SUP_LC_EV_UNWANT] = {S_DRAIN, A_DRAIN, SUP_BK_DRAIN | SUP_BK_NORESTART},
                [SUP_LC_EV_SPAWN_OK] = {S_RUN, 0, 0},
                [SUP_LC_EV_SPAWN_FAILED] = {S_RUN, 0, 0},
                [SUP_LC_EV_HELLO] = {S_RUN, 0, SUP_BK_HEARD},
                [SUP_LC_EV_REPORT] = {S_RUN, 0, SUP_BK_HEARD},
                [SUP_LC_EV_EXIT] = {SUP_NX_EXITED, 0, 0},
                [SUP_LC_EV_HANG] = {S_RUN, A_HANG, SUP_BK_HUNG},
                [SUP_LC_EV_DRAIN] = {S_DRAIN, A_DRAIN, SUP_BK_DRAIN | SUP_BK_RESTART},
                [SUP_LC_EV_DEADLINE] = {S_RUN, A_KILL, SUP_BK_KILLED},
                [SUP_LC_EV_TICK] = {S_RUN, 0, SUP_BK_UPTIME},
            },
        [SUP_SLOT_DRAINING] =
            {
                [SUP_LC_EV_WANT] = {S_DRAIN, 0, SUP_BK_RESTART},
                [SUP_LC_EV_UNWANT] = {S_DRAIN, 0, SUP_BK_NORESTART},
                [SUP_LC_EV_SPAWN_OK] = {S_DRAIN, 0, 0},
                [SUP_LC_EV_SPAWN_FAILED] = {S_DRAIN, 0, 0},
                [SUP_LC_EV_HELLO] = {S_DRAIN, 0, SUP_BK_HEARD},
                [SUP_LC_EV_REPORT] = {S_DRAIN, 0, SUP_BK_HEARD},
                [SUP_LC_EV_EXIT] = {SUP_NX_EXITED, 0, 0},
                /* A draining worker has its deadline; silence does not shorten it. */
                [SUP_LC_EV_HANG] = {S_DRAIN, 0, 0},
                [SUP_LC_EV_DRAIN] = {S_DRAIN, 0, SUP_BK_RESTART},
                [SUP_LC_EV_DEADLINE] = {S_DRAIN, A_KILL, SUP_BK_KILLED},
                [SUP_LC_EV_TICK] = {S_DRAIN, 0, 0},
            },
        [SUP_SLOT_BACKOFF] =
            {
                [SUP_LC_EV_WANT] = {S_BACK, 0, 0},
                [SUP_LC_EV_UNWANT] = {S_STOP, 0, 0},
                [SUP_LC_EV_SPAWN_OK] = {S_BACK, 0, 0},
                [SUP_LC_EV_SPAWN_FAILED] = {S_BACK, 0, 0},
                [SUP_LC_EV_HELLO] = {S_BACK, 0, 0},
                [SUP_LC_EV_REPORT] = {S_BACK, 0, 0},
                [SUP_LC_EV_EXIT] = {S_BACK, 0, 0},
                [SUP_LC_EV_HANG] = {S_BACK, 0, 0},
                [SUP_LC_EV_DRAIN] = {S_BACK, 0, 0},
                [SUP_LC_EV_DEADLINE] = {SUP_NX_RESPAWN, 0, 0},
                [SUP_LC_EV_TICK] = {S_BACK, 0, 0},
            },
        [SUP_SLOT_FAILED] =
            {
                [SUP_LC_EV_WANT] = {S_FAIL, 0, 0},
                [SUP_LC_EV_UNWANT] = {S_STOP, 0, 0},
                [SUP_LC_EV_SPAWN_OK] = {S_FAIL, 0, 0},
                [SUP_LC_EV_SPAWN_FAILED] = {S_FAIL, 0, 0},
                [SUP_LC_EV_HELLO] = {S_FAIL, 0, 0},
                [SUP_LC_EV_REPORT] = {S_FAIL, 0, 0},
                [SUP_LC_EV_EXIT] = {S_FAIL, 0, 0},
                [SUP_LC_EV_HANG] = {S_FAIL, 0, 0},
                [SUP_LC_EV_DRAIN] = {S_FAIL, 0, 0},
                [SUP_LC_EV_DEADLINE] = {SUP_NX_RESPAWN, 0, 0},
                [SUP_LC_EV_TICK] = {S_FAIL, 0, 0},
            },
        /* A previous supervisor's live worker (sup_lifecycle_adopt): RUNNING's rules, except
         * that its first Hello or Report through our endpoint makes it ours and ready. */
        [SUP_SLOT_ADOPTED] =
            {
                [SUP_LC_EV_WANT] = {S_ADOPT, 0, 0},
                [SUP_LC_EV_UNWANT] = {S_DRAIN, A_DRAIN, SUP_BK_DRAIN | SUP_BK_NORESTART},
                [SUP_LC_EV_SPAWN_OK] = {S_ADOPT, 0, 0},
                [SUP_LC_EV_SPAWN_FAILED] = {S_ADOPT, 0, 0},
                [SUP_LC_EV_HELLO] = {S_RUN, A_READY, SUP_BK_HEARD},
                [SUP_LC_EV_REPORT] = {S_RUN, A_READY, SUP_BK_HEARD},
                [SUP_LC_EV_EXIT] = {SUP_NX_EXITED, 0, 0},
                [SUP_LC_EV_HANG] = {S_ADOPT, A_HANG, SUP_BK_HUNG},
                [SUP_LC_EV_DRAIN] = {S_DRAIN, A_DRAIN, SUP_BK_DRAIN | SUP_BK_RESTART},
                [SUP_LC_EV_DEADLINE] = {S_ADOPT, A_KILL, SUP_BK_KILLED},
                [SUP_LC_EV_TICK] = {S_ADOPT, 0, SUP_BK_UPTIME},
            },
};

static const char *const sup_slot_state_names[SUP_SLOT_NSTATES] = {
    [SUP_SLOT_STOPPED] = "stopped", [SUP_SLOT_STARTING] = "starting",
    [SUP_SLOT_RUNNING] = "running", [SUP_SLOT_DRAINING] = "draining",
    [SUP_SLOT_BACKOFF] = "backoff", [SUP_SLOT_FAILED] = "failed",
    [SUP_SLOT_ADOPTED] = "adopted",
};

static const char *const sup_lc_event_names[SUP_LC_NEVENTS] = {
    [SUP_LC_EV_WANT] = "want",         [SUP_LC_EV_UNWANT] = "unwant",
    [SUP_LC_EV_SPAWN_OK] = "spawn-ok", [SUP_LC_EV_SPAWN_FAILED] = "spawn-failed",
    [SUP_LC_EV_HELLO] = "hello",       [SUP_LC_EV_REPORT] = "report",
    [SUP_LC_EV_EXIT] = "exit",         [SUP_LC_EV_HANG] = "hang",
    [SUP_LC_EV_DRAIN] = "drain",       [SUP_LC_EV_DEADLINE] = "deadline",
    [SUP_LC_EV_TICK] = "tick",
};

const char *sup_slot_state_name(enum sup_slot_state state)
{
    if ((unsigned)state >= SUP_SLOT_NSTATES)
        return "unknown";
    return sup_slot_state_names[state];
}

const char *sup_lifecycle_event_name(enum sup_lifecycle_event ev)
{
    if ((unsigned)ev >= SUP_LC_NEVENTS)
        return "unknown";
    return sup_lc_event_names[ev];
}

bool sup_lifecycle_has_process(enum sup_slot_state state)
{
    return state == SUP_SLOT_STARTING || state == SUP_SLOT_RUNNING || state == SUP_SLOT_DRAINING ||
           state == SUP_SLOT_ADOPTED;
}

void sup_lifecycle_init(sup_lifecycle *lc)
{
    memset(lc, 0, sizeof *lc);
    lc->state = SUP_SLOT_STOPPED;
    sup_restart_init(&lc->restart);
}

void sup_lifecycle_adopt(sup_lifecycle *lc, uint64_t now_ms)
{
    sup_lifecycle_init(lc);
    lc->state = SUP_SLOT_ADOPTED;
    lc->started_ms = now_ms;
    lc->heard_ms = now_ms;
}

__attribute__((format(printf, 3, 4))) static void
sup_lc_log(sup_lifecycle_out *out, enum sup_lifecycle_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
    out->acts |= SUP_LC_ACT_LOG;
    out->level = level;
}

static void sup_lc_schedule(sup_lifecycle_out *out, enum sup_lifecycle_deadline dl, uint64_t at)
{
    out->acts |= SUP_LC_ACT_SCHEDULE;
    out->deadline = dl;
    out->at_ms = at;
}

/* The worker is gone (reaped, or never forked): where the slot goes next. */
static void sup_lc_exited(sup_lifecycle_out *out, sup_lifecycle *lc, enum sup_lifecycle_event ev,
                          uint64_t now, const sup_lifecycle_in *in)
{
    bool asked = lc->state == SUP_SLOT_DRAINING && lc->restart_after;
    if (ev == SUP_LC_EV_EXIT)
        out->acts |= SUP_LC_ACT_GONE | SUP_LC_ACT_STEER;
    lc->term_sent = false;
    lc->kill_sent = false;
    lc->restart_after = false;
    lc->kill_at_ms = 0;
    if (!in->wanted) {
        out->to = SUP_SLOT_STOPPED;
        return;
    }
    if (asked) {
        /* A restart or drain we asked for: no backoff, no failure accounting. */
        out->to = SUP_SLOT_STARTING;
        out->acts |= SUP_LC_ACT_SPAWN;
        return;
    }
    /* A spawn that failed ran for no time at all: an unstable start of its own. */
    uint64_t started = ev == SUP_LC_EV_SPAWN_FAILED ? now : lc->started_ms;
    int code = ev == SUP_LC_EV_SPAWN_FAILED ? -1 : in->exit_code;
    sup_restart_decision d =
        sup_restart_on_exit(&lc->restart, in->p->restart, now, started, code, in->rnd);
    out->to = d.failed ? SUP_SLOT_FAILED : SUP_SLOT_BACKOFF;
    lc->spawn_at_ms = now + d.delay_ms;
    sup_lc_schedule(out, SUP_LC_DL_SPAWN, lc->spawn_at_ms);
    if (d.newly_failed)
        sup_lc_log(out, SUP_LC_ERROR, "FAILED (%s); retrying every %llu ms",
                   d.cannot_boot                  ? "the worker cannot boot"
                   : ev == SUP_LC_EV_SPAWN_FAILED ? "spawns keep failing"
                                                  : "crash loop",
                   (unsigned long long)in->p->restart->max_delay_ms);
    else
        sup_lc_log(out, SUP_LC_INFO, "restarting in %llu ms%s", (unsigned long long)d.delay_ms,
                   d.unstable ? " (unstable)" : "");
}

static void sup_lc_books(sup_lifecycle_out *out, sup_lifecycle *lc, unsigned books, uint64_t now,
                         const sup_lifecycle_in *in)
{
    const sup_lifecycle_policy *p = in->p;
    if (books & SUP_BK_FRESH)
        sup_restart_init(&lc->restart);
    if (books & SUP_BK_SPAWNED) {
        lc->started_ms = now;
        lc->heard_ms = now;
        lc->term_sent = false;
        lc->kill_sent = false;
        lc->restart_after = false;
        lc->kill_at_ms = 0;
    }
    if (books & SUP_BK_HEARD)
        lc->heard_ms = now;
    if (books & SUP_BK_RESTART)
        lc->restart_after = true;
    if (books & SUP_BK_NORESTART)
        lc->restart_after = false;
    if (books & SUP_BK_DRAIN) {
        lc->kill_at_ms = now + in->drain_ms + p->kill_grace_ms;
        sup_lc_schedule(out, SUP_LC_DL_KILL, lc->kill_at_ms);
    }
    if (books & SUP_BK_HUNG) {
        sup_lc_log(out, SUP_LC_WARN, "worker pid %d sent no report for %llu ms: hung, SIGTERM",
                   in->pid, (unsigned long long)(now - lc->heard_ms));
        lc->term_sent = true;
        lc->kill_at_ms = now + p->kill_grace_ms;
        sup_lc_schedule(out, SUP_LC_DL_KILL, lc->kill_at_ms);
    }
    if (books & SUP_BK_KILLED) {
        if (lc->state == SUP_SLOT_DRAINING)
            sup_lc_log(out, SUP_LC_WARN, "worker pid %d did not finish draining: SIGKILL", in->pid);
        else
            sup_lc_log(out, SUP_LC_WARN, "worker pid %d still there %llu ms after SIGTERM: SIGKILL",
                       in->pid, (unsigned long long)p->kill_grace_ms);
        lc->kill_sent = true;
        lc->kill_at_ms = 0;
    }
    if ((books & SUP_BK_UPTIME) &&
        sup_restart_on_uptime(&lc->restart, p->restart, now, lc->started_ms))
        sup_lc_log(out, SUP_LC_INFO, "stable again");
}

int sup_lifecycle_step(sup_lifecycle_out *out, sup_lifecycle *lc, enum sup_lifecycle_event ev,
                       uint64_t now_ms, const sup_lifecycle_in *in)
{
    if ((unsigned)ev >= SUP_LC_NEVENTS || (unsigned)lc->state >= SUP_SLOT_NSTATES)
        return -1;
    const sup_lc_rule *r = &sup_lc_rules[lc->state][ev];
    memset(out, 0, sizeof *out);
    out->from = lc->state;
    out->acts = r->acts;
    if (r->next == SUP_NX_EXITED) {
        sup_lc_exited(out, lc, ev, now_ms, in);
    } else if (r->next == SUP_NX_RESPAWN) {
        out->to = in->wanted ? SUP_SLOT_STARTING : SUP_SLOT_STOPPED;
        if (in->wanted)
            out->acts |= SUP_LC_ACT_SPAWN;
    } else {
        out->to = (enum sup_slot_state)r->next;
        sup_lc_books(out, lc, r->books, now_ms, in);
    }
    lc->state = out->to;
    return 0;
}

enum sup_lifecycle_event sup_lifecycle_due(const sup_lifecycle *lc, uint64_t now_ms,
                                           const sup_lifecycle_in *in)
{
    bool kill_due = lc->kill_at_ms != 0 && !lc->kill_sent && now_ms >= lc->kill_at_ms;
    switch (lc->state) {
    case SUP_SLOT_STOPPED:
        return in->wanted ? SUP_LC_EV_DEADLINE : SUP_LC_EV_TICK;
    case SUP_SLOT_STARTING:
    case SUP_SLOT_RUNNING:
    case SUP_SLOT_ADOPTED:
        if (kill_due)
            return SUP_LC_EV_DEADLINE;
        if (!lc->term_sent && now_ms >= lc->heard_ms &&
            now_ms - lc->heard_ms >= in->p->hang_timeout_ms)
            return SUP_LC_EV_HANG;
        return SUP_LC_EV_TICK;
    case SUP_SLOT_DRAINING:
        return kill_due ? SUP_LC_EV_DEADLINE : SUP_LC_EV_TICK;
    case SUP_SLOT_BACKOFF:
    case SUP_SLOT_FAILED:
        return !in->wanted || now_ms >= lc->spawn_at_ms ? SUP_LC_EV_DEADLINE : SUP_LC_EV_TICK;
    default:
        return SUP_LC_EV_TICK;
    }
}

void sup_obs_init(sup_obs *o, uint64_t now_ms, uint64_t max_step_ms)
{
    o->mono_ms = now_ms;
    o->observed_ms = now_ms;
    o->max_step_ms = max_step_ms;
}

uint64_t sup_obs_advance(sup_obs *o, uint64_t now_ms)
{
    if (now_ms > o->mono_ms) {
        uint64_t step = now_ms - o->mono_ms;
        o->observed_ms += step < o->max_step_ms ? step : o->max_step_ms;
    }
    o->mono_ms = now_ms;
    return o->observed_ms;
}
