/* The drill's view of its fleet, through `wsctl --json workers` and `status`: what changed
 * (restarts, breakers, failed slots, scaling) becomes the report's actions, and the figures
 * (workers running, RSS, a fault target's share of connections) its metrics. */
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

#include "chaos_owner.h"
#include "chaos_run.h"
#include "wsf_rand.h"

/* ------------------------------------------------------------------------------------------- */
/* Watching the fleet */

const char *chaos_json_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

/* Puts a formatted line in the report, as a fault or as a move of the fleet, and in the progress
 * output. */
static void __attribute__((format(printf, 3, 0)))
chaos_run_note(chaos_run *run, bool fault, const char *fmt, va_list ap)
{
    char text[160];
    vsnprintf(text, sizeof(text), fmt, ap);
    if (fault) {
        chaos_report_fault(run->r, chaos_run_ms(run), "%s", text);
        chaos_progress(run, "%s", text);
    } else {
        chaos_report_action(run->r, chaos_run_ms(run), "%s", text);
        chaos_progress(run, "seen: %s", text);
    }
}

void chaos_action_note(chaos_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chaos_run_note(run, false, fmt, ap);
    va_end(ap);
}

void chaos_fault_note(chaos_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chaos_run_note(run, true, fmt, ap);
    va_end(ap);
}

/* Takes in one `wsctl workers` document: notes what changed, tracks the figures. */
void chaos_take_workers(chaos_run *run, json_t *doc, bool quiet_changes)
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
    if (run->sup_rebase) {
        /* A restarted supervisor counts restarts from zero. */
        for (int s = 0; s < CHAOS_SLOTS; s++) {
            run->restarts_base[s] = next[s].restarts;
        }
        run->sup_rebase = false;
    }
    if (run->restarted) {
        int64_t adopted = 0;
        for (int s = 0; s < CHAOS_SLOTS; s++) {
            adopted += next[s].present && next[s].pid > 0 && next[s].pid == run->pids_before[s] &&
                       strcmp(next[s].state, "running") == 0;
        }
        if (adopted > run->adopted_max) {
            run->adopted_max = adopted;
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

/* A poll's answer: counted as a failure unless the drill killed the supervisor itself. Returns
 * whether doc is there to take in. */
static bool chaos_poll_answered(chaos_run *run, int status, const json_t *doc)
{
    if (run->sup_killed) {
        return false;
    }
    if (status != 0 || doc == NULL) {
        if (!run->sup_away) {
            run->wsctl_errors++;
        }
        return false;
    }
    if (run->sup_stopped_pid == 0) {
        run->sup_away = false; /* it answers again */
    }
    return true;
}

static void chaos_on_workers(int status, json_t *doc, void *arg)
{
    chaos_run *run = arg;
    run->workers_pending = false;
    if (chaos_poll_answered(run, status, doc)) {
        chaos_take_workers(run, doc, false);
    }
}

/* The nats-server sidecar in `wsctl --json status`: its restarts, and a note when its pid
 * changes (the supervisor restarted it). */
static void chaos_take_broker(chaos_run *run, json_t *doc)
{
    json_t *nats = json_object_get(doc, "nats");
    if (!json_is_object(nats) || strcmp(chaos_json_str(nats, "mode"), "sidecar") != 0) {
        return;
    }
    json_int_t restarts = json_integer_value(json_object_get(nats, "restarts"));
    json_int_t pid = json_integer_value(json_object_get(nats, "pid"));
    if (run->broker_restarts0 < 0) {
        run->broker_restarts0 = restarts;
    }
    run->broker_restarts = restarts;
    if (pid > 0 && pid <= INT32_MAX && (pid_t)pid != run->broker_pid) {
        if (run->broker_pid != 0) {
            chaos_action_note(run, "nats-server pid %d replaced by pid %d", (int)run->broker_pid,
                              (int)pid);
        }
        run->broker_pid = (pid_t)pid;
    }
}

void chaos_take_status(chaos_run *run, json_t *doc)
{
    chaos_take_broker(run, doc);
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
    if (chaos_poll_answered(run, status, doc)) {
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

void chaos_ctl(chaos_run *run, const char *const *args)
{
    if (chaos_fleet_ctl_async(&run->fleet, args, chaos_on_ctl_done, run) != 0) {
        run->wsctl_errors++;
    }
}

void chaos_on_poll(evutil_socket_t fd, short what, void *arg)
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
