/* The drill runner: one libevent loop drives the client populations, the timeline's actions and
 * the wsctl polls that watch the fleet. */
#include "chaos_runner.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "chaos_fleet.h"
#include "chaos_load.h"
#include "chaos_owner.h"
#include "wsf_rand.h"

#define CHAOS_SLOTS 256
#define CHAOS_FAULTS_MAX 128     /* faults whose reconnect curves are kept */
#define CHAOS_BIN_MS 100         /* reconnect curve resolution */
#define CHAOS_BINS 600           /* 60 s of curve per fault */
#define CHAOS_PEAK_MIN 20        /* reconnects a fault needs before its curve's peak counts */
#define CHAOS_POLL_MS 250        /* wsctl workers; status every fourth poll */
#define CHAOS_READY_MS 20000     /* fleet start-up bound */
#define CHAOS_UP_MS 60000        /* bound on bringing the clients up */
#define CHAOS_STOP_GRACE_MS 1000 /* outstanding echoes at the end, and then the closes */
#define CHAOS_KNOWN_MAX 4096     /* worker PIDs remembered for the clean-up */
#define CHAOS_SLOW_SIZE (64u * 1024u)
#define CHAOS_GARBAGE_FOR_MS 10000

typedef struct chaos_slot_view {
    bool present;
    pid_t pid;
    char state[16];
    char breaker[16];
    int64_t conns;
    int64_t restarts;
    int64_t times_opened;
    double failure_rate;
    double rss_mib;
} chaos_slot_view;

typedef struct chaos_fault_curve {
    uint64_t at_ms;
    uint32_t n;
    uint32_t bins[CHAOS_BINS];
} chaos_fault_curve;

typedef struct chaos_run chaos_run;

typedef struct chaos_act_timer {
    chaos_run *run;
    const chaos_action *act;
    struct event *ev;
} chaos_act_timer;

struct chaos_run {
    const chaos_drill *d;
    const chaos_run_opts *o;
    chaos_report *r;
    struct event_base *base;
    chaos_fleet fleet;
    uint64_t rng;
    chaos_load *echo;
    chaos_load *slow;
    chaos_load *garbage;
    struct event *garbage_end;
    size_t clients;
    uint64_t t0;    /* timeline start, chaos_load_now_ms() */
    uint64_t t_end; /* timeline end */
    bool in_timeline;
    /* Attribution: the fault (index into curves) that targeted each echo connection, or -1. */
    int32_t *targeted;
    size_t targeted_cap;
    chaos_fault_curve *curves;
    size_t n_curves;
    /* An injected error's window: its 1011 closes are the fault's doing. */
    uint64_t error_until;
    /* After a restart or scale the drill asked for, drains' 1001 closes are its doing too (a
     * client drained from one worker may land on one drained later). */
    uint64_t drain_until;
    /* The fleet as last seen. */
    chaos_slot_view slots[CHAOS_SLOTS];
    pid_t initial_pids[CHAOS_SLOTS];
    int64_t restarts_base[CHAOS_SLOTS];
    int64_t opened_base[CHAOS_SLOTS];
    bool slot_targeted[CHAOS_SLOTS];
    bool slot_failed[CHAOS_SLOTS]; /* seen in state failed during the timeline */
    pid_t last_pid[CHAOS_SLOTS];   /* the slot's latest worker, kept across pid-less states */
    bool seen_once;
    int64_t workers_min;
    int64_t workers_max;
    int64_t workers_last;
    double rss_max;
    char last_scaling[256];
    /* error-spike: share of connections on the fault's target while it lasts */
    int share_slot;
    uint64_t share_until;
    double share_min;
    bool share_seen;
    /* crash-loop */
    int crash_slot;
    uint64_t crash_until;
    pid_t crash_last_pid;
    bool crash_pending;
    /* the supervisor */
    bool sup_killed;
    /* wsctl polls */
    struct event *poll_ev;
    unsigned polls;
    bool workers_pending;
    bool status_pending;
    uint64_t wsctl_errors;
    /* processes the clean-up must not leave behind */
    pid_t known[CHAOS_KNOWN_MAX];
    size_t n_known;
    pid_t stopped[CHAOS_SLOTS];
    size_t n_stopped;
    /* echo clients */
    uint64_t disconnects;
    uint64_t affected;
    uint64_t other;
    uint64_t orphan;
    uint64_t failed_attempts;
    uint64_t refused;
    uint64_t faults;
    /* slow and garbage clients */
    uint64_t slow_cut;
    uint64_t garbage_events;
    uint64_t garbage_unanswered;
    chaos_act_timer timers[CHAOS_ACTIONS_MAX];
    bool stop_done;
    struct event *tick;
};

static int64_t chaos_t(const chaos_run *run)
{
    return (int64_t)chaos_load_now_ms() - (int64_t)run->t0;
}

static void chaos_progress(const chaos_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void chaos_progress(const chaos_run *run, const char *fmt, ...)
{
    if (run->o->quiet) {
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (run->t0 != 0) {
        fprintf(stderr, "wschaos: %s: %7.2fs %s\n", run->d->name, (double)chaos_t(run) / 1000.0,
                line);
    } else {
        fprintf(stderr, "wschaos: %s: %s\n", run->d->name, line);
    }
}

static void chaos_remember_pid(chaos_run *run, pid_t pid)
{
    if (pid <= 0) {
        return;
    }
    for (size_t i = 0; i < run->n_known; i++) {
        if (run->known[i] == pid) {
            return;
        }
    }
    if (run->n_known < CHAOS_KNOWN_MAX) {
        run->known[run->n_known++] = pid;
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Event loop helpers */

static void chaos_on_break(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

/* Runs the loop for ms, or until done(run) holds (checked every 50 ms). Returns true when done
 * held. */
static bool chaos_loop_until(chaos_run *run, uint64_t ms, bool (*done)(chaos_run *run))
{
    uint64_t deadline = chaos_load_now_ms() + ms;
    struct event *tick = evtimer_new(run->base, chaos_on_break, run->base);
    if (tick == NULL) {
        return false;
    }
    bool ok = false;
    for (;;) {
        if (done != NULL && done(run)) {
            ok = true;
            break;
        }
        uint64_t now = chaos_load_now_ms();
        if (now >= deadline) {
            break;
        }
        uint64_t step = deadline - now;
        if (done != NULL && step > 50) {
            step = 50;
        }
        struct timeval tv = {.tv_sec = (time_t)(step / 1000),
                             .tv_usec = (suseconds_t)(step % 1000) * 1000};
        evtimer_add(tick, &tv);
        event_base_loop(run->base, 0);
        evtimer_del(tick);
    }
    event_free(tick);
    return ok;
}

/* ------------------------------------------------------------------------------------------- */
/* Attribution */

static void chaos_targeted_reserve(chaos_run *run, size_t n)
{
    if (n <= run->targeted_cap) {
        return;
    }
    int32_t *grown = realloc(run->targeted, n * sizeof(*grown));
    if (grown == NULL) {
        return;
    }
    for (size_t i = run->targeted_cap; i < n; i++) {
        grown[i] = -1;
    }
    run->targeted = grown;
    run->targeted_cap = n;
}

/* Starts a fault's reconnect curve; returns its index or -1. */
static int chaos_new_curve(chaos_run *run)
{
    if (run->n_curves >= CHAOS_FAULTS_MAX) {
        return -1;
    }
    chaos_fault_curve *c = &run->curves[run->n_curves];
    memset(c, 0, sizeof(*c));
    c->at_ms = chaos_load_now_ms();
    return (int)run->n_curves++;
}

/* Marks the echo clients connected to any of pids as targeted by fault `curve`. Returns how many
 * were. */
static size_t chaos_mark_clients(chaos_run *run, const pid_t *pids, size_t n_pids, int curve)
{
    if (run->echo == NULL || n_pids == 0) {
        return 0;
    }
    chaos_peers peers = {0};
    if (chaos_peers_of(&peers, run->fleet.port, pids, n_pids) != 0) {
        chaos_report_error(run->r, "cannot read /proc to attribute connections to workers");
        chaos_peers_fini(&peers);
        return 0;
    }
    size_t marked = 0;
    size_t n = chaos_load_size(run->echo);
    chaos_targeted_reserve(run, n);
    for (size_t i = 0; i < n && i < run->targeted_cap; i++) {
        struct sockaddr_storage ss;
        if (chaos_load_local(run->echo, i, &ss) != 0) {
            continue;
        }
        if (chaos_peers_has(&peers, chaos_peer_key(&ss))) {
            run->targeted[i] = curve < 0 ? CHAOS_FAULTS_MAX : curve;
            marked++;
        }
    }
    chaos_peers_fini(&peers);
    return marked;
}

/* ------------------------------------------------------------------------------------------- */
/* Client hooks */

static void chaos_echo_event(const chaos_event *ev, void *arg)
{
    chaos_run *run = arg;
    if (!ev->was_up) {
        run->failed_attempts++;
        if (ev->cause == CHAOS_CAUSE_REFUSED) {
            run->refused++;
        }
        run->r->by_cause[ev->cause]++;
        return;
    }
    run->disconnects++;
    run->r->by_cause[ev->cause]++;
    if (ev->cause == CHAOS_CAUSE_CLOSE && ev->code >= 1000 && ev->code < 1016) {
        run->r->close_codes[ev->code - 1000]++;
    }
    bool targeted = ev->conn < run->targeted_cap && run->targeted[ev->conn] >= 0;
    bool injected =
        ev->cause == CHAOS_CAUSE_CLOSE && ((ev->code == 1011 && ev->at_ms <= run->error_until) ||
                                           (ev->code == 1001 && ev->at_ms <= run->drain_until));
    if (targeted || injected) {
        run->affected++;
        if (!targeted && ev->conn < run->targeted_cap) {
            run->targeted[ev->conn] = CHAOS_FAULTS_MAX; /* no curve */
        }
    } else {
        run->other++;
    }
    if (run->sup_killed && run->in_timeline) {
        run->orphan++;
    }
}

static void chaos_echo_up(size_t conn, bool reconnect, uint64_t down_ms, void *arg)
{
    (void)down_ms;
    chaos_run *run = arg;
    if (conn >= run->targeted_cap) {
        return;
    }
    int32_t f = run->targeted[conn];
    if (reconnect && f >= 0 && (size_t)f < run->n_curves) {
        chaos_fault_curve *c = &run->curves[f];
        uint64_t since = chaos_load_now_ms() - c->at_ms;
        uint64_t bin = since / CHAOS_BIN_MS;
        if (bin < CHAOS_BINS) {
            c->bins[bin]++;
            c->n++;
        }
    }
    run->targeted[conn] = -1;
}

static void chaos_slow_event(const chaos_event *ev, void *arg)
{
    chaos_run *run = arg;
    if (ev->was_up) {
        run->slow_cut++;
    }
}

static void chaos_garbage_event(const chaos_event *ev, void *arg)
{
    chaos_run *run = arg;
    run->garbage_events++;
    if (ev->cause == CHAOS_CAUSE_CONNECT && ev->sys_errno == ETIMEDOUT) {
        run->garbage_unanswered++;
    }
}

static void chaos_load_base_opts(const chaos_run *run, chaos_load_opts *lo)
{
    chaos_load_opts_init(lo);
    char target[32];
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)run->fleet.port);
    chaos_load_opts_target(lo, target);
    lo->seed = run->rng ^ 0x9e3779b97f4a7c15ull;
    lo->sources = run->d->sources;
}

/* ------------------------------------------------------------------------------------------- */
/* Watching the fleet */

static const char *chaos_json_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

static void chaos_action_note(chaos_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void chaos_action_note(chaos_run *run, const char *fmt, ...)
{
    char text[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    chaos_report_action(run->r, chaos_t(run), "%s", text);
    chaos_progress(run, "seen: %s", text);
}

static void chaos_fault_note(chaos_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void chaos_fault_note(chaos_run *run, const char *fmt, ...)
{
    char text[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    chaos_report_fault(run->r, chaos_t(run), "%s", text);
    chaos_progress(run, "%s", text);
}

static void chaos_crash_check(chaos_run *run);

/* Takes in one `wsctl workers` document: notes what changed, tracks the figures. */
static void chaos_take_workers(chaos_run *run, json_t *doc, bool quiet_changes)
{
    if (!json_is_array(doc)) {
        return;
    }
    chaos_slot_view next[CHAOS_SLOTS];
    memset(next, 0, sizeof(next));
    size_t i;
    json_t *w;
    int64_t running = 0;
    int64_t total_conns = 0;
    json_array_foreach(doc, i, w)
    {
        json_int_t slot = json_integer_value(json_object_get(w, "slot"));
        if (slot < 0 || slot >= CHAOS_SLOTS) {
            continue;
        }
        chaos_slot_view *v = &next[slot];
        v->present = true;
        v->pid = (pid_t)json_integer_value(json_object_get(w, "pid"));
        snprintf(v->state, sizeof(v->state), "%s", chaos_json_str(w, "state"));
        snprintf(v->breaker, sizeof(v->breaker), "%s", chaos_json_str(w, "breaker"));
        v->conns = json_integer_value(json_object_get(w, "connections"));
        v->restarts = json_integer_value(json_object_get(w, "restarts"));
        v->times_opened = json_integer_value(json_object_get(w, "times_opened"));
        v->failure_rate = json_number_value(json_object_get(w, "failure_rate"));
        v->rss_mib = json_number_value(json_object_get(w, "rss_bytes")) / (1024.0 * 1024.0);
        chaos_remember_pid(run, v->pid);
        if (strcmp(v->state, "running") == 0) {
            running++;
        }
        if (strcmp(v->state, "failed") == 0 && run->seen_once) {
            run->slot_failed[slot] = true;
        }
        total_conns += v->conns;
        if (v->rss_mib > run->rss_max) {
            run->rss_max = v->rss_mib;
        }
    }
    if (!run->seen_once) {
        for (int s = 0; s < CHAOS_SLOTS; s++) {
            run->initial_pids[s] = next[s].present ? next[s].pid : 0;
            run->restarts_base[s] = next[s].restarts;
            run->opened_base[s] = next[s].times_opened;
        }
        run->workers_min = run->workers_max = running;
        run->seen_once = true;
    } else if (!quiet_changes) {
        for (int s = 0; s < CHAOS_SLOTS; s++) {
            chaos_slot_view *a = &run->slots[s];
            chaos_slot_view *b = &next[s];
            if (!a->present && b->present) {
                chaos_action_note(run, "slot %d: added (%s, pid %d)", s, b->state, (int)b->pid);
                run->restarts_base[s] = b->restarts;
                run->opened_base[s] = b->times_opened;
                continue;
            }
            if (a->present && !b->present) {
                chaos_action_note(run, "slot %d: removed", s);
                continue;
            }
            if (!b->present) {
                continue;
            }
            if (b->pid > 0 && run->last_pid[s] > 0 && b->pid != run->last_pid[s]) {
                chaos_action_note(run, "slot %d: worker pid %d replaced by pid %d (%lld restarts)",
                                  s, (int)run->last_pid[s], (int)b->pid, (long long)b->restarts);
            }
            if (strcmp(a->state, b->state) != 0 &&
                (strcmp(b->state, "failed") == 0 || strcmp(a->state, "failed") == 0 ||
                 strcmp(b->state, "draining") == 0)) {
                chaos_action_note(run, "slot %d: %s -> %s", s, a->state, b->state);
            }
            if (strcmp(a->breaker, b->breaker) != 0) {
                chaos_action_note(run, "slot %d: breaker %s -> %s (failure rate %.2f)", s,
                                  a->breaker, b->breaker, b->failure_rate);
            }
        }
        if (running != run->workers_last) {
            chaos_action_note(run, "running workers %lld -> %lld", (long long)run->workers_last,
                              (long long)running);
        }
    }
    memcpy(run->slots, next, sizeof(next));
    for (int s = 0; s < CHAOS_SLOTS; s++) {
        if (next[s].present && next[s].pid > 0) {
            run->last_pid[s] = next[s].pid;
        }
    }
    run->workers_last = running;
    if (running < run->workers_min) {
        run->workers_min = running;
    }
    if (running > run->workers_max) {
        run->workers_max = running;
    }
    if (run->share_slot >= 0 && chaos_load_now_ms() <= run->share_until && total_conns > 0) {
        double share = (double)next[run->share_slot].conns / (double)total_conns;
        if (!run->share_seen || share < run->share_min) {
            run->share_min = share;
            run->share_seen = true;
        }
    }
    chaos_crash_check(run);
}

static void chaos_on_workers(int status, json_t *doc, void *arg)
{
    chaos_run *run = arg;
    run->workers_pending = false;
    if (status != 0 || doc == NULL) {
        if (!run->sup_killed) {
            run->wsctl_errors++;
        }
        return;
    }
    if (!run->sup_killed) {
        chaos_take_workers(run, doc, false);
    }
}

static void chaos_take_status(chaos_run *run, json_t *doc)
{
    const char *scaling = chaos_json_str(doc, "last_scaling");
    if (scaling[0] != '\0' && strcmp(scaling, run->last_scaling) != 0) {
        snprintf(run->last_scaling, sizeof(run->last_scaling), "%s", scaling);
        chaos_action_note(run, "scaler: %.140s", scaling);
    }
}

static void chaos_on_status(int status, json_t *doc, void *arg)
{
    chaos_run *run = arg;
    run->status_pending = false;
    if (status != 0 || doc == NULL) {
        if (!run->sup_killed) {
            run->wsctl_errors++;
        }
        return;
    }
    if (!run->sup_killed) {
        chaos_take_status(run, doc);
    }
}

static void chaos_on_ctl_done(int status, json_t *doc, void *arg)
{
    (void)doc;
    chaos_run *run = arg;
    if (status != 0) {
        run->wsctl_errors++;
        chaos_progress(run, "a wsctl command failed with status %d", status);
    }
}

static void chaos_ctl(chaos_run *run, const char *const *args)
{
    if (chaos_fleet_ctl_async(&run->fleet, args, chaos_on_ctl_done, run) != 0) {
        run->wsctl_errors++;
    }
}

static void chaos_on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chaos_run *run = arg;
    if (run->sup_killed) {
        return;
    }
    if (!run->workers_pending) {
        const char *const args[] = {"workers", NULL};
        if (chaos_fleet_ctl_async(&run->fleet, args, chaos_on_workers, run) == 0) {
            run->workers_pending = true;
        }
    }
    if (run->polls++ % 4 == 0 && !run->status_pending) {
        const char *const args[] = {"status", NULL};
        if (chaos_fleet_ctl_async(&run->fleet, args, chaos_on_status, run) == 0) {
            run->status_pending = true;
        }
    }
}

/* ------------------------------------------------------------------------------------------- */
/* The timeline's actions */

/* Running workers' slots (state running, a pid) into out; returns how many. */
static size_t chaos_running_slots(const chaos_run *run, int *out)
{
    size_t n = 0;
    for (int s = 0; s < CHAOS_SLOTS; s++) {
        const chaos_slot_view *v = &run->slots[s];
        if (v->present && v->pid > 0 && strcmp(v->state, "running") == 0) {
            out[n++] = s;
        }
    }
    return n;
}

/* The slots an action's TARGET names, among the running ones. */
static size_t chaos_targets(chaos_run *run, int target, int *out)
{
    int running[CHAOS_SLOTS];
    size_t n = chaos_running_slots(run, running);
    if (target == CHAOS_TARGET_ALL) {
        memcpy(out, running, n * sizeof(*out));
        return n;
    }
    if (target == CHAOS_TARGET_RANDOM) {
        if (n == 0) {
            return 0;
        }
        out[0] = running[(size_t)(wsf_rand_unit(&run->rng) * (double)n) % n];
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (running[i] == target) {
            out[0] = target;
            return 1;
        }
    }
    return 0;
}

static void chaos_act_signal(chaos_run *run, const chaos_action *a, int sig)
{
    int slots[CHAOS_SLOTS];
    size_t n = chaos_targets(run, a->target, slots);
    if (n == 0) {
        chaos_fault_note(run, "%s: no running worker to target", chaos_action_name(a->kind));
        return;
    }
    pid_t pids[CHAOS_SLOTS];
    for (size_t i = 0; i < n; i++) {
        pids[i] = run->slots[slots[i]].pid;
    }
    int curve = chaos_new_curve(run);
    size_t clients = chaos_mark_clients(run, pids, n, curve);
    for (size_t i = 0; i < n; i++) {
        run->slot_targeted[slots[i]] = true;
        chaos_fleet_signal(pids[i], sig);
        if (sig == SIGSTOP && run->n_stopped < CHAOS_SLOTS) {
            run->stopped[run->n_stopped++] = pids[i];
        }
        run->faults++;
    }
    const char *what = sig == SIGKILL ? "SIGKILL" : "SIGSTOP";
    if (n == 1) {
        chaos_fault_note(run, "%s worker slot %d pid %d (%zu clients)", what, slots[0],
                         (int)pids[0], clients);
    } else {
        chaos_fault_note(run, "%s %zu workers at once (%zu clients)", what, n, clients);
    }
}

static void chaos_act_fault(chaos_run *run, const chaos_action *a)
{
    int slots[CHAOS_SLOTS];
    size_t n = chaos_targets(run, a->target, slots);
    if (n == 0) {
        chaos_fault_note(run, "fault %s: no running worker to target", a->fault);
        return;
    }
    uint32_t for_ms = a->for_ms != 0 ? a->for_ms : 10000;
    for (size_t i = 0; i < n; i++) {
        int s = slots[i];
        pid_t pid = run->slots[s].pid;
        int curve = chaos_new_curve(run);
        size_t clients = chaos_mark_clients(run, &pid, 1, curve);
        char slot[16];
        char rate[32];
        char ms[32];
        char secs[32];
        snprintf(slot, sizeof(slot), "%d", s);
        snprintf(rate, sizeof(rate), "%g", a->rate);
        snprintf(ms, sizeof(ms), "%u", a->ms);
        snprintf(secs, sizeof(secs), "%.3f", (double)for_ms / 1000.0);
        const char *args[12];
        size_t k = 0;
        args[k++] = "fault";
        args[k++] = slot;
        args[k++] = a->fault;
        if (a->rate > 0) {
            args[k++] = "--rate";
            args[k++] = rate;
        }
        if (a->ms > 0) {
            args[k++] = "--ms";
            args[k++] = ms;
        }
        if (strcmp(a->fault, "crash") != 0 && strcmp(a->fault, "off") != 0) {
            args[k++] = "--for";
            args[k++] = secs;
        }
        args[k] = NULL;
        chaos_ctl(run, args);
        run->slot_targeted[s] = true;
        run->faults++;
        if (strcmp(a->fault, "error") == 0) {
            uint64_t until = chaos_load_now_ms() + for_ms + 1000;
            if (until > run->error_until) {
                run->error_until = until;
            }
            run->share_slot = s;
            run->share_until = chaos_load_now_ms() + for_ms;
        }
        chaos_fault_note(run,
                         "fault %s on slot %d pid %d (rate %g, %u ms, for %.1f s; %zu clients)",
                         a->fault, s, (int)pid, a->rate, a->ms, (double)for_ms / 1000.0, clients);
    }
}

/* crash-loop: every new worker of the slot crashes as soon as wsctl shows it running. */
static void chaos_crash_check(chaos_run *run)
{
    if (run->crash_slot < 0 || run->crash_pending || run->sup_killed) {
        return;
    }
    const chaos_slot_view *v = &run->slots[run->crash_slot];
    if (chaos_load_now_ms() > run->crash_until || strcmp(v->state, "failed") == 0) {
        if (strcmp(v->state, "failed") == 0) {
            chaos_progress(run, "slot %d is marked failed; crash loop over", run->crash_slot);
        }
        run->crash_slot = -1;
        return;
    }
    if (!v->present || v->pid <= 0 || v->pid == run->crash_last_pid ||
        strcmp(v->state, "running") != 0) {
        return;
    }
    pid_t pid = v->pid;
    int curve = chaos_new_curve(run);
    size_t clients = chaos_mark_clients(run, &pid, 1, curve);
    char slot[16];
    snprintf(slot, sizeof(slot), "%d", run->crash_slot);
    const char *const args[] = {"fault", slot, "crash", NULL};
    chaos_ctl(run, args);
    run->crash_last_pid = pid;
    run->faults++;
    chaos_fault_note(run, "crash slot %d pid %d at boot (%zu clients)", run->crash_slot, (int)pid,
                     clients);
}

static void chaos_on_garbage_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chaos_run *run = arg;
    if (run->garbage != NULL) {
        chaos_load_stop(run->garbage, 200, NULL, NULL);
        chaos_progress(run, "garbage clients stop (%llu attempts so far)",
                       (unsigned long long)run->garbage_events);
    }
}

static void chaos_act_clients(chaos_run *run, const chaos_action *a)
{
    switch (a->kind) {
    case CHAOS_ACT_CLIENTS:
        chaos_targeted_reserve(run, a->count);
        chaos_load_resize(run->echo, a->count);
        run->clients = a->count;
        chaos_fault_note(run, "load: %u echo clients", a->count);
        break;
    case CHAOS_ACT_SLOW_CLIENTS: {
        if (run->slow != NULL) {
            chaos_fault_note(run, "slow-clients: already running");
            return;
        }
        chaos_load_opts lo;
        chaos_load_base_opts(run, &lo);
        lo.kind = CHAOS_CLIENT_SLOW;
        lo.connections = a->count;
        lo.size = CHAOS_SLOW_SIZE;
        lo.binary = true;
        lo.reconnect = false;
        chaos_load_hooks hooks = {.on_event = chaos_slow_event, .arg = run};
        run->slow = chaos_load_new(run->base, &lo, &hooks);
        if (run->slow == NULL) {
            chaos_report_error(run->r, "cannot create the slow clients");
            return;
        }
        chaos_load_start(run->slow);
        run->faults++;
        chaos_fault_note(run, "%u slow clients (never read, %u KiB messages)", a->count,
                         CHAOS_SLOW_SIZE / 1024);
        break;
    }
    case CHAOS_ACT_GARBAGE_CLIENTS: {
        if (run->garbage != NULL) {
            chaos_fault_note(run, "garbage-clients: already running");
            return;
        }
        chaos_load_opts lo;
        chaos_load_base_opts(run, &lo);
        lo.kind = CHAOS_CLIENT_GARBAGE;
        lo.connections = a->count;
        lo.garbage_rate = a->rate > 0 ? a->rate : 200.0;
        lo.reconnect = false;
        chaos_load_hooks hooks = {.on_event = chaos_garbage_event, .arg = run};
        run->garbage = chaos_load_new(run->base, &lo, &hooks);
        if (run->garbage == NULL) {
            chaos_report_error(run->r, "cannot create the garbage clients");
            return;
        }
        chaos_load_start(run->garbage);
        uint32_t for_ms = a->for_ms != 0 ? a->for_ms : CHAOS_GARBAGE_FOR_MS;
        run->garbage_end = evtimer_new(run->base, chaos_on_garbage_end, run);
        if (run->garbage_end != NULL) {
            struct timeval tv = {.tv_sec = for_ms / 1000, .tv_usec = (for_ms % 1000) * 1000};
            evtimer_add(run->garbage_end, &tv);
        }
        run->faults++;
        chaos_fault_note(run, "garbage clients: %u at a time, %g/s, for %.1f s", a->count,
                         lo.garbage_rate, (double)for_ms / 1000.0);
        break;
    }
    default:
        break;
    }
}

static void chaos_act_fleet(chaos_run *run, const chaos_action *a)
{
    char n[16];
    char lo[16];
    char hi[16];
    switch (a->kind) {
    case CHAOS_ACT_SCALE: {
        snprintf(n, sizeof(n), "%u", a->count);
        const char *const args[] = {"scale", n, NULL};
        chaos_ctl(run, args);
        run->drain_until = UINT64_MAX;
        chaos_fault_note(run, "wsctl scale %u", a->count);
        break;
    }
    case CHAOS_ACT_RESTART: {
        int curve = chaos_new_curve(run);
        int slots[CHAOS_SLOTS];
        size_t k =
            chaos_targets(run, a->target == CHAOS_TARGET_ALL ? CHAOS_TARGET_ALL : a->target, slots);
        pid_t pids[CHAOS_SLOTS];
        for (size_t i = 0; i < k; i++) {
            pids[i] = run->slots[slots[i]].pid;
            run->slot_targeted[slots[i]] = true;
        }
        size_t clients = chaos_mark_clients(run, pids, k, curve);
        if (a->target == CHAOS_TARGET_ALL) {
            snprintf(n, sizeof(n), "all");
        } else {
            snprintf(n, sizeof(n), "%d", k > 0 ? slots[0] : a->target);
        }
        const char *args[4] = {"restart", n, a->flag ? "--rolling" : NULL, NULL};
        chaos_ctl(run, args);
        run->drain_until = UINT64_MAX;
        run->faults++;
        chaos_fault_note(run, "wsctl restart %s%s (%zu workers, %zu clients)", n,
                         a->flag ? " --rolling" : "", k, clients);
        break;
    }
    case CHAOS_ACT_AUTOSCALE: {
        const char *args[8];
        size_t k = 0;
        args[k++] = "autoscale";
        args[k++] = a->flag ? "on" : "off";
        if (a->min > 0) {
            snprintf(lo, sizeof(lo), "%u", a->min);
            args[k++] = "--min";
            args[k++] = lo;
        }
        if (a->max > 0) {
            snprintf(hi, sizeof(hi), "%u", a->max);
            args[k++] = "--max";
            args[k++] = hi;
        }
        args[k] = NULL;
        chaos_ctl(run, args);
        chaos_fault_note(run, "wsctl autoscale %s", a->flag ? "on" : "off");
        break;
    }
    default:
        break;
    }
}

static void chaos_act(chaos_run *run, const chaos_action *a)
{
    switch (a->kind) {
    case CHAOS_ACT_KILL:
        chaos_act_signal(run, a, SIGKILL);
        break;
    case CHAOS_ACT_STOP:
        chaos_act_signal(run, a, SIGSTOP);
        break;
    case CHAOS_ACT_FAULT:
        chaos_act_fault(run, a);
        break;
    case CHAOS_ACT_CRASH_LOOP:
        run->crash_slot = a->target;
        run->crash_last_pid = 0;
        run->crash_until = a->for_ms != 0 ? chaos_load_now_ms() + a->for_ms : run->t_end;
        run->slot_targeted[a->target] = true;
        chaos_fault_note(run, "crash loop on slot %d: every new worker crashes once it is up",
                         a->target);
        chaos_crash_check(run);
        break;
    case CHAOS_ACT_KILL_SUPERVISOR: {
        for (int s = 0; s < CHAOS_SLOTS; s++) {
            chaos_remember_pid(run, run->slots[s].pid);
        }
        chaos_fleet_signal(run->fleet.pid, SIGKILL);
        run->sup_killed = true;
        run->faults++;
        chaos_fault_note(run, "SIGKILL wsfleetd pid %d (%lld workers orphaned)",
                         (int)run->fleet.pid, (long long)run->workers_last);
        break;
    }
    case CHAOS_ACT_CLIENTS:
    case CHAOS_ACT_SLOW_CLIENTS:
    case CHAOS_ACT_GARBAGE_CLIENTS:
        chaos_act_clients(run, a);
        break;
    case CHAOS_ACT_SCALE:
    case CHAOS_ACT_RESTART:
    case CHAOS_ACT_AUTOSCALE:
        chaos_act_fleet(run, a);
        break;
    }
}

static void chaos_on_action(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chaos_act_timer *t = arg;
    chaos_run *run = t->run;
    if (!run->in_timeline) {
        return;
    }
    chaos_act(run, t->act);
    if (t->act->every_ms > 0) {
        uint64_t next = chaos_load_now_ms() + t->act->every_ms;
        if (next < run->t_end) {
            uint32_t ms = t->act->every_ms;
            struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
            evtimer_add(t->ev, &tv);
        }
    }
}

/* ------------------------------------------------------------------------------------------- */
/* Phases */

static bool chaos_all_up(chaos_run *run)
{
    return chaos_load_get_totals(run->echo)->up >= run->clients;
}

/* Every echo client that should be up is. */
static bool chaos_all_back(chaos_run *run)
{
    size_t n = chaos_load_size(run->echo);
    for (size_t i = 0; i < n; i++) {
        const chaos_conn_stats *st = chaos_load_conn(run->echo, i);
        if (!st->up && !st->gave_up) {
            return false;
        }
    }
    return true;
}

static bool chaos_calls_done(chaos_run *run)
{
    return run->fleet.calls_pending == 0;
}

static bool chaos_stop_finished(chaos_run *run)
{
    return run->stop_done;
}

static void chaos_on_stopped(void *arg)
{
    ((chaos_run *)arg)->stop_done = true;
}

static bool chaos_orphans_gone(chaos_run *run)
{
    for (size_t i = 0; i < run->n_known; i++) {
        if (chaos_pid_alive(run->known[i])) {
            return false;
        }
    }
    return true;
}

static uint32_t chaos_timeline_ms(const chaos_drill *d, bool quick)
{
    return quick && d->quick_duration_ms != 0 ? d->quick_duration_ms : d->duration_ms;
}

/* The largest share of one fault's reconnects within any 100 ms, over the faults with enough of
 * them to have a curve. Returns -1 when none had. */
static double chaos_peak_share(const chaos_run *run)
{
    double peak = -1.0;
    for (size_t f = 0; f < run->n_curves; f++) {
        const chaos_fault_curve *c = &run->curves[f];
        if (c->n < CHAOS_PEAK_MIN) {
            continue;
        }
        uint32_t top = 0;
        for (size_t b = 0; b < CHAOS_BINS; b++) {
            if (c->bins[b] > top) {
                top = c->bins[b];
            }
        }
        double share = (double)top / (double)c->n;
        if (share > peak) {
            peak = share;
        }
    }
    return peak;
}

static void chaos_set(chaos_run *run, enum chaos_metric_id id, double v)
{
    chaos_report_set(run->r, id, v);
}

/* Fills the metrics from the clients and the fleet's last view. */
static void chaos_measure(chaos_run *run)
{
    const chaos_load_totals *t = chaos_load_get_totals(run->echo);
    chaos_set(run, CHAOS_M_FAULTS, (double)run->faults);
    chaos_set(run, CHAOS_M_CLIENTS, (double)run->clients);
    chaos_set(run, CHAOS_M_DISCONNECTS, (double)run->disconnects);
    chaos_set(run, CHAOS_M_AFFECTED, (double)run->affected);
    chaos_set(run, CHAOS_M_OTHER_DISCONNECTS, (double)run->other);
    chaos_set(run, CHAOS_M_ORPHAN_DISCONNECTS, (double)run->orphan);
    chaos_set(run, CHAOS_M_REFUSED, (double)run->refused);
    chaos_set(run, CHAOS_M_FAILED_ATTEMPTS, (double)run->failed_attempts);
    chaos_set(run, CHAOS_M_RECONNECTS, (double)t->reconnects);
    chaos_set(run, CHAOS_M_RECONNECT_P50_MS, (double)wsf_hist_quantile(&t->reconnect_ms, 0.5));
    chaos_set(run, CHAOS_M_RECONNECT_P99_MS, (double)wsf_hist_quantile(&t->reconnect_ms, 0.99));
    chaos_set(run, CHAOS_M_RECONNECT_MAX_MS,
              t->reconnect_ms.count > 0 ? (double)t->reconnect_ms.max : 0.0);
    double peak = chaos_peak_share(run);
    if (peak >= 0) {
        chaos_set(run, CHAOS_M_RECONNECT_PEAK_SHARE, round(peak * 1000.0) / 1000.0);
    }
    size_t not_back = 0;
    uint64_t echo_errors = 0;
    size_t n = chaos_load_size(run->echo);
    for (size_t i = 0; i < n; i++) {
        const chaos_conn_stats *st = chaos_load_conn(run->echo, i);
        if (!st->up) {
            not_back++;
        }
    }
    echo_errors = t->by_cause[CHAOS_CAUSE_ECHO];
    chaos_set(run, CHAOS_M_NOT_BACK, (double)not_back);
    chaos_set(run, CHAOS_M_SENT, (double)t->sent);
    chaos_set(run, CHAOS_M_ECHOED, (double)t->echoed);
    chaos_set(run, CHAOS_M_LOST, (double)t->lost);
    chaos_set(run, CHAOS_M_ECHO_ERRORS, (double)echo_errors);
    chaos_set(run, CHAOS_M_LATENCY_P50_MS, (double)wsf_hist_quantile(&t->latency_us, 0.5) / 1e3);
    chaos_set(run, CHAOS_M_LATENCY_P99_MS, (double)wsf_hist_quantile(&t->latency_us, 0.99) / 1e3);
    chaos_set(run, CHAOS_M_LATENCY_P999_MS, (double)wsf_hist_quantile(&t->latency_us, 0.999) / 1e3);

    if (run->seen_once) {
        int64_t restarts = 0;
        int64_t unexpected = 0;
        int64_t openings = 0;
        int64_t open_final = 0;
        int64_t failed = 0;
        int64_t initial_left = 0;
        for (int s = 0; s < CHAOS_SLOTS; s++) {
            const chaos_slot_view *v = &run->slots[s];
            failed += run->slot_failed[s] ? 1 : 0;
            if (!v->present) {
                continue;
            }
            int64_t d = v->restarts - run->restarts_base[s];
            if (d > 0) {
                restarts += d;
                if (!run->slot_targeted[s]) {
                    unexpected += d;
                }
            }
            int64_t o = v->times_opened - run->opened_base[s];
            openings += o > 0 ? o : 0;
            if (v->breaker[0] != '\0' && strcmp(v->breaker, "closed") != 0) {
                open_final++;
            }
            if (v->pid > 0 && v->pid == run->initial_pids[s]) {
                initial_left++;
            }
        }
        chaos_set(run, CHAOS_M_RESTARTS, (double)restarts);
        chaos_set(run, CHAOS_M_UNEXPECTED_RESTARTS, (double)unexpected);
        chaos_set(run, CHAOS_M_BREAKER_OPENINGS, (double)openings);
        if (!run->sup_killed) {
            chaos_set(run, CHAOS_M_BREAKERS_OPEN_FINAL, (double)open_final);
            chaos_set(run, CHAOS_M_WORKERS_FINAL, (double)run->workers_last);
            chaos_set(run, CHAOS_M_INITIAL_WORKERS_LEFT, (double)initial_left);
        }
        chaos_set(run, CHAOS_M_FAILED_SLOTS, (double)failed);
        chaos_set(run, CHAOS_M_WORKERS_MIN, (double)run->workers_min);
        chaos_set(run, CHAOS_M_WORKERS_MAX, (double)run->workers_max);
        chaos_set(run, CHAOS_M_WORKER_RSS_MAX_MIB, round(run->rss_max * 10.0) / 10.0);
    }
    if (run->share_seen) {
        chaos_set(run, CHAOS_M_TARGET_SHARE_MIN, round(run->share_min * 1000.0) / 1000.0);
    }
    if (run->slow != NULL) {
        uint64_t most = 0;
        for (size_t i = 0; i < chaos_load_size(run->slow); i++) {
            uint64_t b = chaos_load_conn(run->slow, i)->bytes_out;
            if (b > most) {
                most = b;
            }
        }
        chaos_set(run, CHAOS_M_SLOW_CUT, (double)run->slow_cut);
        chaos_set(run, CHAOS_M_SLOW_MIB_MAX, round((double)most / 104857.6) / 10.0);
    }
    if (run->garbage != NULL) {
        chaos_set(run, CHAOS_M_GARBAGE_ATTEMPTS, (double)run->garbage_events);
        chaos_set(run, CHAOS_M_GARBAGE_UNANSWERED, (double)run->garbage_unanswered);
    }
    chaos_set(run, CHAOS_M_WSCTL_ERRORS, (double)run->wsctl_errors);
}

/* Brings the clients up and plays the timeline; the caller cleans up whatever happened. */
static void chaos_play(chaos_run *run)
{
    const chaos_drill *d = run->d;
    char err[512];
    if (chaos_fleet_start(&run->fleet, d->fleet_ini, CHAOS_READY_MS, err, sizeof(err)) != 0) {
        chaos_report_error(run->r, "%s", err);
        return;
    }
    chaos_progress(run, "fleet pid %d up on 127.0.0.1:%u (%s)", (int)run->fleet.pid,
                   (unsigned)run->fleet.port, run->fleet.dir);
    const char *const workers[] = {"workers", NULL};
    json_t *doc = NULL;
    if (chaos_fleet_ctl(&run->fleet, &doc, workers) != 0 || doc == NULL) {
        json_decref(doc);
        chaos_report_error(run->r, "wsctl workers failed at the start");
        return;
    }
    chaos_take_workers(run, doc, true);
    json_decref(doc);

    chaos_load_opts lo;
    chaos_load_base_opts(run, &lo);
    lo.kind = CHAOS_CLIENT_ECHO;
    lo.connections = run->clients;
    lo.inflight = d->inflight;
    lo.rate = d->rate;
    lo.size = d->size;
    lo.open_rate = d->open_rate;
    lo.lifetime_ms = d->lifetime_ms;
    lo.reconnect = true;
    chaos_load_hooks hooks = {.on_event = chaos_echo_event, .on_up = chaos_echo_up, .arg = run};
    run->echo = chaos_load_new(run->base, &lo, &hooks);
    if (run->echo == NULL) {
        chaos_report_error(run->r, "cannot create %zu clients", run->clients);
        return;
    }
    uint64_t t_up = chaos_load_now_ms();
    chaos_load_start(run->echo);
    if (!chaos_loop_until(run, CHAOS_UP_MS, chaos_all_up)) {
        chaos_report_error(run->r, "only %zu of %zu clients came up within %u s",
                           chaos_load_get_totals(run->echo)->up, run->clients, CHAOS_UP_MS / 1000);
        return;
    }
    chaos_progress(run, "%zu clients up in %.2f s", run->clients,
                   (double)(chaos_load_now_ms() - t_up) / 1000.0);
    /* Failures while the clients came up are not the drill's. */
    run->failed_attempts = 0;
    run->refused = 0;
    memset(run->r->by_cause, 0, sizeof(run->r->by_cause));
    memset(run->r->close_codes, 0, sizeof(run->r->close_codes));

    uint32_t timeline = chaos_timeline_ms(d, run->o->quick);
    run->t0 = chaos_load_now_ms();
    run->t_end = run->t0 + timeline;
    run->in_timeline = true;
    chaos_progress(run, "timeline starts (%.1f s)", (double)timeline / 1000.0);
    for (size_t i = 0; i < d->n_actions; i++) {
        const chaos_action *a = &d->actions[i];
        chaos_act_timer *t = &run->timers[i];
        t->run = run;
        t->act = a;
        if (a->at_ms >= timeline) {
            continue;
        }
        t->ev = evtimer_new(run->base, chaos_on_action, t);
        if (t->ev == NULL) {
            continue;
        }
        struct timeval tv = {.tv_sec = a->at_ms / 1000, .tv_usec = (a->at_ms % 1000) * 1000};
        evtimer_add(t->ev, &tv);
    }
    run->poll_ev = event_new(run->base, -1, EV_PERSIST, chaos_on_poll, run);
    if (run->poll_ev != NULL) {
        struct timeval tv = {.tv_sec = 0, .tv_usec = CHAOS_POLL_MS * 1000};
        event_add(run->poll_ev, &tv);
    }
    chaos_loop_until(run, timeline, NULL);
    run->in_timeline = false;
    for (size_t i = 0; i < d->n_actions; i++) {
        if (run->timers[i].ev != NULL) {
            event_free(run->timers[i].ev);
            run->timers[i].ev = NULL;
        }
    }
    chaos_progress(run, "timeline over");
    if (run->garbage != NULL) {
        chaos_load_stop(run->garbage, 200, NULL, NULL);
    }
    if (!run->sup_killed) {
        uint64_t tail_from = chaos_load_now_ms();
        bool back = chaos_loop_until(run, d->tail_ms, chaos_all_back);
        chaos_progress(run, "%s after %.2f s", back ? "every client is back" : "clients not back",
                       (double)(chaos_load_now_ms() - tail_from) / 1000.0);
    }
    if (run->poll_ev != NULL) {
        event_free(run->poll_ev);
        run->poll_ev = NULL;
    }
    chaos_loop_until(run, 5000, chaos_calls_done);
    if (!run->sup_killed && chaos_fleet_alive(&run->fleet)) {
        doc = NULL;
        if (chaos_fleet_ctl(&run->fleet, &doc, workers) == 0 && doc != NULL) {
            chaos_take_workers(run, doc, false);
        } else {
            run->wsctl_errors++;
        }
        json_decref(doc);
    }
    chaos_measure(run);
    run->stop_done = false;
    chaos_load_stop(run->echo, CHAOS_STOP_GRACE_MS, chaos_on_stopped, run);
    chaos_loop_until(run, 4 * CHAOS_STOP_GRACE_MS, chaos_stop_finished);
    if (run->sup_killed) {
        /* Orphans drain and exit by themselves after orphan_grace; the tail bounds the wait. */
        bool gone = chaos_loop_until(run, d->tail_ms, chaos_orphans_gone);
        size_t left = 0;
        for (size_t i = 0; i < run->n_known; i++) {
            left += chaos_pid_alive(run->known[i]) ? 1 : 0;
        }
        chaos_set(run, CHAOS_M_ORPHANS_LEFT, (double)left);
        chaos_progress(run, "%s",
                       gone ? "every orphaned worker exited by itself"
                            : "orphaned workers still running");
    }
    chaos_set(run, CHAOS_M_SUPERVISOR_ALIVE, chaos_fleet_alive(&run->fleet) ? 1.0 : 0.0);
}

/* Stops everything the drill started, by PID. */
static void chaos_clean_up(chaos_run *run)
{
    chaos_load_free(run->garbage);
    run->garbage = NULL;
    if (run->garbage_end != NULL) {
        event_free(run->garbage_end);
        run->garbage_end = NULL;
    }
    chaos_load_free(run->slow);
    run->slow = NULL;
    chaos_load_free(run->echo);
    run->echo = NULL;
    for (size_t i = 0; i < run->n_stopped; i++) {
        chaos_fleet_signal(run->stopped[i], SIGKILL);
    }
    if (run->fleet.pid > 0 && chaos_fleet_alive(&run->fleet)) {
        if (chaos_fleet_stop(&run->fleet, 10000) != 0) {
            chaos_progress(run, "wsfleetd did not stop cleanly");
        }
    }
    for (size_t i = 0; i < run->n_known; i++) {
        if (chaos_pid_alive(run->known[i])) {
            chaos_fleet_signal(run->known[i], SIGKILL);
        }
    }
    if (run->poll_ev != NULL) {
        event_free(run->poll_ev);
        run->poll_ev = NULL;
    }
}

int chaos_run_drill(const chaos_drill *d, const chaos_run_opts *opts, chaos_report *r)
{
    chaos_report_init(r, d, opts->quick);
    uint64_t started = chaos_load_now_ms();
    chaos_run *run = calloc(1, sizeof(*run));
    chaos_fault_curve *curves = calloc(CHAOS_FAULTS_MAX, sizeof(*curves));
    struct event_base *base = event_base_new();
    if (run == NULL || curves == NULL || base == NULL) {
        chaos_report_error(r, "out of memory");
        free(run);
        free(curves);
        if (base != NULL) {
            event_base_free(base);
        }
        chaos_report_judge(r);
        return 1;
    }
    run->d = d;
    run->o = opts;
    run->r = r;
    run->base = base;
    run->curves = curves;
    run->share_slot = -1;
    run->crash_slot = -1;
    run->rng = opts->seed != 0 ? opts->seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (run->rng == 0) {
        run->rng = 1;
    }
    run->clients = opts->quick && d->quick_clients != 0 ? d->quick_clients : d->clients;
    size_t most = run->clients;
    for (size_t i = 0; i < d->n_actions; i++) {
        if (d->actions[i].kind == CHAOS_ACT_CLIENTS && d->actions[i].count > most) {
            most = d->actions[i].count;
        }
    }
    chaos_targeted_reserve(run, most);
    char err[512];
    if (chaos_fleet_init(&run->fleet, base, opts->fleetd_path, opts->wsctl_path, err,
                         sizeof(err)) != 0) {
        chaos_report_error(r, "%s", err);
    } else {
        chaos_play(run);
        chaos_clean_up(run);
        bool keep = opts->keep || r->error[0] != '\0';
        if (keep) {
            chaos_progress(run, "drill directory kept: %s", run->fleet.dir);
        }
        chaos_fleet_fini(&run->fleet, keep);
    }
    r->elapsed_s = (double)(chaos_load_now_ms() - started) / 1000.0;
    bool passed = chaos_report_judge(r);
    free(run->targeted);
    free(run->curves);
    free(run);
    event_base_free(base);
    return passed ? 0 : 1;
}
