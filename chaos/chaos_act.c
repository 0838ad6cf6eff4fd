/* The timeline's actions: signals to workers and the supervisor, faults through wsctl, the crash
 * loop, extra client populations, and fleet operations. */
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

#include "chaos_cluster.h"
#include "chaos_owner.h"
#include "chaos_run.h"
#include "chaos_timeline.h"
#include "wsf_rand.h"

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
void chaos_crash_check(chaos_run *run)
{
    if (run->crash_slot < 0 || run->sup_killed) {
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
    /* Marked and killed in one go, so no client it accepts in between goes unmarked (a crash
     * through `wsctl fault` would leave the few milliseconds of the call open). */
    pid_t pid = v->pid;
    int curve = chaos_new_curve(run);
    size_t clients = chaos_mark_clients(run, &pid, 1, curve);
    chaos_fleet_signal(pid, SIGKILL);
    run->crash_last_pid = pid;
    run->faults++;
    chaos_fault_note(run, "slot %d pid %d dies as soon as it is up: SIGKILL (%zu clients)",
                     run->crash_slot, (int)pid, clients);
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
            chaos_load_arm_ms(run->garbage_end, for_ms);
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
    case CHAOS_ACT_UPGRADE: {
        /* No worker is targeted: any client it disconnects counts as another's disconnect. */
        const char *const args[] = {"upgrade", NULL};
        chaos_ctl(run, args);
        run->faults++;
        chaos_fault_note(run, "wsctl upgrade (wsfleetd pid %d re-executes itself)",
                         (int)run->fleet.pid);
        break;
    }
    default:
        break;
    }
}

/* The fleet's nats-server sidecar, from `wsctl --json status` ("nats": {"mode", "pid", ...}).
 * Returns its pid, or 0 when there is none running (with why set). */
static pid_t chaos_broker_pid(chaos_run *run, const char **why)
{
    const char *const args[] = {"status", NULL};
    json_t *doc = NULL;
    pid_t pid = 0;
    *why = "wsctl status failed";
    if (chaos_fleet_ctl(&run->fleet, &doc, args) != 0 || doc == NULL) {
        run->wsctl_errors++;
        goto out;
    }
    json_t *nats = json_object_get(doc, "nats");
    if (!json_is_object(nats)) {
        *why = "wsctl status shows no nats broker";
        goto out;
    }
    if (strcmp(chaos_json_str(nats, "mode"), "sidecar") != 0) {
        *why = "the broker is not the fleet's sidecar ([nats] url is set)";
        goto out;
    }
    json_int_t v = json_integer_value(json_object_get(nats, "pid"));
    if (v <= 0 || v > INT32_MAX) {
        *why = "the sidecar is not running";
        goto out;
    }
    pid = (pid_t)v;
out:
    json_decref(doc);
    return pid;
}

static void chaos_act_kill_broker(chaos_run *run)
{
    const char *why = NULL;
    pid_t pid = chaos_broker_pid(run, &why);
    if (pid == 0) {
        chaos_report_error(run->r, "kill-broker: %s", why);
        return;
    }
    if (chaos_fleet_signal(pid, SIGKILL) != 0) {
        chaos_report_error(run->r, "kill-broker: cannot signal nats-server pid %d", (int)pid);
        return;
    }
    run->faults++;
    run->broker_kills++;
    chaos_fault_note(run, "SIGKILL nats-server pid %d", (int)pid);
}

static void chaos_on_sup_cont(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chaos_run *run = arg;
    if (run->sup_stopped_pid > 0) {
        chaos_fleet_signal(run->sup_stopped_pid, SIGCONT);
        chaos_fault_note(run, "SIGCONT wsfleetd pid %d", (int)run->sup_stopped_pid);
        run->sup_stopped_pid = 0;
    }
}

/* restart-supervisor and stop-supervisor: the supervisor goes away for a while, the workers
 * must carry on; polls that fail meanwhile are not wsctl errors. */
static void chaos_act_supervisor(chaos_run *run, const chaos_action *a)
{
    if (a->kind == CHAOS_ACT_RESTART_SUPERVISOR) {
        pid_t old = run->fleet.pid;
        for (int s = 0; s < CHAOS_SLOTS; s++) {
            const chaos_slot_view *v = &run->slots[s];
            bool up = v->present && v->pid > 0 && strcmp(v->state, "running") == 0;
            run->pids_before[s] = up ? v->pid : 0;
            chaos_remember_pid(run, v->pid);
        }
        char err[256];
        run->sup_away = true;
        run->sup_rebase = true;
        run->restarted = true;
        run->faults++;
        if (chaos_fleet_respawn(&run->fleet, err, sizeof err) != 0) {
            chaos_report_error(run->r, "restart-supervisor: %s", err);
            run->sup_killed = true;
            return;
        }
        chaos_remember_pid(run, run->fleet.pid);
        chaos_fault_note(run,
                         "SIGKILL wsfleetd pid %d, new wsfleetd pid %d on its run dir "
                         "(%lld workers to adopt)",
                         (int)old, (int)run->fleet.pid, (long long)run->workers_last);
        return;
    }
    uint64_t now = chaos_load_now_ms();
    uint64_t ms = a->for_ms;
    if (run->t_end > now + 2000 && now + ms > run->t_end - 2000) {
        ms = run->t_end - 2000 - now; /* a quick run: back before the timeline ends */
    }
    if (run->sup_stopped_pid > 0 || run->sup_cont_ev == NULL) {
        run->sup_cont_ev =
            run->sup_cont_ev ? run->sup_cont_ev : evtimer_new(run->base, chaos_on_sup_cont, run);
        if (run->sup_stopped_pid > 0 || run->sup_cont_ev == NULL) {
            chaos_fault_note(run, "stop-supervisor: already stopped");
            return;
        }
    }
    run->sup_stopped_pid = run->fleet.pid;
    run->sup_away = true;
    chaos_fleet_signal(run->fleet.pid, SIGSTOP);
    chaos_load_arm_ms(run->sup_cont_ev, (uint32_t)ms);
    run->faults++;
    chaos_fault_note(run, "SIGSTOP wsfleetd pid %d for %.1f s", (int)run->fleet.pid,
                     (double)ms / 1000.0);
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
        chaos_fault_note(run, "crash loop on slot %d: every new worker dies once it is up",
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
    case CHAOS_ACT_UPGRADE:
        chaos_act_fleet(run, a);
        break;
    case CHAOS_ACT_KILL_BROKER:
        chaos_act_kill_broker(run);
        break;
    case CHAOS_ACT_KILL_BACKEND:
        chaos_rpc_kill_backend(run);
        break;
    case CHAOS_ACT_START_BACKEND:
        chaos_rpc_start_backend(run);
        break;
    case CHAOS_ACT_RESTART_SUPERVISOR:
    case CHAOS_ACT_STOP_SUPERVISOR:
        chaos_act_supervisor(run, a);
        break;
    case CHAOS_ACT_KILL_NATS_NODE:
        chaos_cluster_kill_node(run, a);
        break;
    case CHAOS_ACT_KILL_HOST:
        chaos_cluster_kill_host(run, a);
        break;
    }
}

void chaos_on_action(evutil_socket_t fd, short what, void *arg)
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
            chaos_load_arm_ms(t->ev, t->act->every_ms);
        }
    }
}
