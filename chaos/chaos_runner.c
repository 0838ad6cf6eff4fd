/* The drill runner: one libevent loop drives the client populations, the timeline's actions and
 * the wsctl polls that watch the fleet. This part holds the phases of a run, the clients' hooks,
 * the attribution of clients to faults; chaos_measure.c turns what they saw into the metrics. */
#include "chaos_runner.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chaos_chload.h"
#include "chaos_cluster.h"
#include "chaos_measure.h"
#include "chaos_owner.h"
#include "chaos_proc.h"
#include "chaos_run.h"
#include "wsf_rand.h"

int64_t chaos_run_ms(const chaos_run *run)
{
    return (int64_t)chaos_load_now_ms() - (int64_t)run->t0;
}

void chaos_progress(const chaos_run *run, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    chaos_dash_line(run, line);
    if (run->o->quiet) {
        return;
    }
    if (run->t0 != 0) {
        fprintf(stderr, "wschaos: %s: %7.2fs %s\n", run->d->name,
                (double)chaos_run_ms(run) / 1000.0, line);
    } else {
        fprintf(stderr, "wschaos: %s: %s\n", run->d->name, line);
    }
}

void chaos_remember_pid(chaos_run *run, pid_t pid)
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
        chaos_load_arm_ms(tick, step);
        event_base_loop(run->base, 0);
        evtimer_del(tick);
    }
    event_free(tick);
    return ok;
}

/* ------------------------------------------------------------------------------------------- */
/* Attribution */

void chaos_targeted_reserve(chaos_run *run, size_t n)
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
int chaos_new_curve(chaos_run *run)
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
size_t chaos_mark_clients(chaos_run *run, const pid_t *pids, size_t n_pids, int curve)
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
    bool moved = ev->cause == CHAOS_CAUSE_CLOSE &&
                 (ev->code == 1001 || ev->code == 1012 || ev->code == 1013);
    if (targeted || injected) {
        run->affected++;
        if (!targeted && ev->conn < run->targeted_cap) {
            run->targeted[ev->conn] = CHAOS_FAULTS_MAX; /* no curve */
        }
    } else if (moved) {
        run->moved++;
    } else {
        run->other++;
    }
    if (run->sup_killed && run->in_timeline) {
        run->orphan++;
    }
}

static void chaos_echo_up(size_t conn, bool reconnect, uint64_t down_ms, void *arg)
{
    chaos_run *run = arg;
    if (reconnect && run->t0 != 0) {
        wsf_hist_add(&run->reconnect_ms, down_ms);
    }
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

void chaos_load_base_opts(const chaos_run *run, chaos_load_opts *lo)
{
    chaos_load_opts_init(lo);
    char target[32];
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)run->fleet.port);
    chaos_load_opts_target(lo, target);
    if (run->cluster != NULL) {
        chaos_cluster_targets(run, lo);
    }
    lo->seed = run->rng ^ 0x9e3779b97f4a7c15ull;
    lo->sources = run->d->sources;
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
        if (chaos_proc_alive(run->known[i])) {
            return false;
        }
    }
    return true;
}

static uint32_t chaos_timeline_ms(const chaos_drill *d, bool quick)
{
    return quick && d->quick_duration_ms != 0 ? d->quick_duration_ms : d->duration_ms;
}

static void chaos_set(chaos_run *run, enum chaos_metric_id id, double v)
{
    chaos_report_set(run->r, id, v);
}

static bool chaos_all_subscribed(chaos_run *run)
{
    return chaos_chload_subscribed(run->chload) >= run->subscribers;
}

static bool chaos_chload_finished(chaos_run *run)
{
    return run->chload_done;
}

static void chaos_on_chload_done(void *arg)
{
    ((chaos_run *)arg)->chload_done = true;
}

/* The channel clients, when the drill has subscribers: up and subscribed before the timeline.
 * Returns 0, or -1 after reporting the error. */
static int chaos_start_channels(chaos_run *run)
{
    const chaos_drill *d = run->d;
    chaos_chload_opts co;
    chaos_chload_opts_init(&co);
    chaos_load_opts lo = co.load;
    chaos_load_base_opts(run, &co.load);
    co.load.kind = lo.kind;
    memcpy(co.load.path, lo.path, sizeof(co.load.path));
    memcpy(co.load.protocol, lo.protocol, sizeof(co.load.protocol));
    co.load.size = lo.size;
    co.load.connections = run->subscribers;
    co.load.open_rate = d->open_rate;
    co.load.reconnect = true;
    if (d->channels != 0) {
        co.channels = d->channels;
    }
    if (d->publish_rate >= 0) {
        co.publish_rate = d->publish_rate;
    }
    run->chload = chaos_chload_new(run->base, &co, NULL);
    uint64_t t_up = chaos_load_now_ms();
    chaos_chload_start(run->chload);
    if (!chaos_loop_until(run, CHAOS_UP_MS, chaos_all_subscribed)) {
        chaos_report_error(run->r, "only %zu of %zu subscribers subscribed within %u s",
                           chaos_chload_subscribed(run->chload), run->subscribers,
                           CHAOS_UP_MS / 1000);
        return -1;
    }
    chaos_progress(run, "%zu subscribers on %u channels subscribed in %.2f s, %g publications/s",
                   run->subscribers, co.channels, (double)(chaos_load_now_ms() - t_up) / 1000.0,
                   co.publish_rate * co.channels);
    return 0;
}

static bool chaos_rpc_all_connected(chaos_run *run)
{
    size_t want = run->o->quick && run->d->quick_rpc_clients ? run->d->quick_rpc_clients
                                                             : run->d->rpc_clients;
    return chaos_rpc_connected(run->rpc) >= want;
}

/* The application backend and its rpc clients ([rpc]), connected before the timeline. Returns
 * 0, or -1 after reporting the error. */
static int chaos_start_rpc(chaos_run *run)
{
    const chaos_drill *d = run->d;
    size_t n = run->o->quick && d->quick_rpc_clients ? d->quick_rpc_clients : d->rpc_clients;
    uint64_t t_up = chaos_load_now_ms();
    run->rpc = chaos_rpc_new(run, n);
    if (run->rpc == NULL)
        return -1;
    if (!chaos_loop_until(run, CHAOS_UP_MS, chaos_rpc_all_connected)) {
        chaos_report_error(run->r, "only %zu of %zu rpc clients connected within %u s",
                           chaos_rpc_connected(run->rpc), n, CHAOS_UP_MS / 1000);
        return -1;
    }
    chaos_progress(run, "%zu rpc clients connected through the backend in %.2f s, %g rpc/s", n,
                   (double)(chaos_load_now_ms() - t_up) / 1000.0, d->rpc_rate * (double)n);
    return 0;
}

/* Ends the channel load (publisher stopped, subscribers given the tail to catch up) and fills
 * its metrics. */
static void chaos_finish_channels(chaos_run *run)
{
    uint32_t grace = run->d->tail_ms > 1000 ? run->d->tail_ms : 1000;
    run->chload_done = false;
    chaos_chload_finish(run->chload, grace, chaos_on_chload_done, run);
    chaos_loop_until(run, 2 * grace + 4 * CHAOS_STOP_GRACE_MS, chaos_chload_finished);
    const chaos_chload_totals *t = chaos_chload_get_totals(run->chload);
    chaos_progress(run,
                   "channels: %" PRIu64 " acknowledged, %" PRIu64 " delivered, %" PRIu64
                   " lost, %" PRIu64 " duplicated, %" PRIu64 " out of order",
                   t->acked, t->k.deliveries, t->k.lost, t->k.duplicated, t->k.out_of_order);
    chaos_set(run, CHAOS_M_SUBSCRIBERS, (double)run->subscribers);
    chaos_set(run, CHAOS_M_PUBLICATIONS_ACKED, (double)t->acked);
    chaos_set(run, CHAOS_M_PUBLISH_ERRORS, (double)t->publish_errors);
    chaos_set(run, CHAOS_M_DELIVERIES, (double)t->k.deliveries);
    chaos_set(run, CHAOS_M_LOST_PUBLICATIONS, (double)t->k.lost);
    chaos_set(run, CHAOS_M_DUPLICATED, (double)t->k.duplicated);
    chaos_set(run, CHAOS_M_OUT_OF_ORDER, (double)t->k.out_of_order);
    chaos_set(run, CHAOS_M_NOT_RECOVERED, (double)t->k.not_recovered);
    chaos_set(run, CHAOS_M_CHANNEL_DATA_ERRORS, (double)(t->k.data_errors + t->protocol_errors));
    chaos_set(run, CHAOS_M_NOT_SUBSCRIBED, (double)t->not_subscribed);
    chaos_set(run, CHAOS_M_BEHIND, (double)t->behind);
    chaos_set(run, CHAOS_M_RESUMES, (double)t->resumes);
    const wsf_hist *rc =
        &chaos_load_get_totals(chaos_chload_subscribers(run->chload))->reconnect_ms;
    if (rc->count > 0) {
        chaos_set(run, CHAOS_M_SUBSCRIBER_RECONNECT_P99_MS, (double)wsf_hist_quantile(rc, 0.99));
    }
    if (t->resume_ms.count > 0) {
        chaos_set(run, CHAOS_M_RESUME_P50_MS, (double)wsf_hist_quantile(&t->resume_ms, 0.5));
        chaos_set(run, CHAOS_M_RESUME_P99_MS, (double)wsf_hist_quantile(&t->resume_ms, 0.99));
    }
}

/* Brings the clients up and plays the timeline; the caller cleans up whatever happened. */
static void chaos_play(chaos_run *run)
{
    const chaos_drill *d = run->d;
    char err[512];
    const char *const workers[] = {"workers", NULL};
    json_t *doc = NULL;
    if (d->cluster != 0) {
        /* The fleets are scripts/cluster's: no fleet of the drill's own to watch. */
        if (chaos_cluster_up(run) != 0) {
            return;
        }
        chaos_dash_start(run);
    } else if (chaos_fleet_start(&run->fleet, d->fleet_ini, CHAOS_READY_MS, err, sizeof(err)) !=
               0) {
        chaos_report_error(run->r, "%s", err);
        return;
    } else {
        chaos_dash_start(run);
        chaos_progress(run, "fleet pid %d up on 127.0.0.1:%u (%s)", (int)run->fleet.pid,
                       (unsigned)run->fleet.port, run->fleet.dir);
        if (chaos_fleet_ctl(&run->fleet, &doc, workers) != 0 || doc == NULL) {
            json_decref(doc);
            chaos_report_error(run->r, "wsctl workers failed at the start");
            return;
        }
        chaos_take_workers(run, doc, true);
        json_decref(doc);
    }

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
    if (run->subscribers > 0 && chaos_start_channels(run) != 0) {
        return;
    }
    if (d->rpc_clients > 0 && chaos_start_rpc(run) != 0) {
        return;
    }
    /* What happened while the clients came up (an autoscaler growing the fleet under them, say)
     * is not the drill's. */
    const chaos_load_totals *base = chaos_load_get_totals(run->echo);
    run->base_sent = base->sent;
    run->base_echoed = base->echoed;
    run->base_lost = base->lost;
    wsf_hist_init(&run->reconnect_ms);
    run->disconnects = run->affected = run->other = run->moved = run->orphan = 0;
    run->failed_attempts = 0;
    run->refused = 0;
    memset(run->r->by_cause, 0, sizeof(run->r->by_cause));
    memset(run->r->close_codes, 0, sizeof(run->r->close_codes));
    if (run->rpc != NULL) {
        chaos_rpc_begin(run->rpc);
    }

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
        chaos_load_arm_ms(t->ev, a->at_ms);
    }
    if (run->chload != NULL) {
        chaos_chload_gap_start(run->chload);
    }
    if (d->cluster == 0) {
        run->poll_ev = event_new(run->base, -1, EV_PERSIST, chaos_on_poll, run);
    }
    if (run->poll_ev != NULL) {
        chaos_load_arm_ms(run->poll_ev, CHAOS_POLL_MS);
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
    if (run->chload != NULL) {
        chaos_set(run, CHAOS_M_DELIVERY_GAP_MS, (double)chaos_chload_gap_ms(run->chload));
    }
    if (run->rpc != NULL) {
        chaos_rpc_measure(run);
    }
    if (run->chload != NULL) {
        chaos_finish_channels(run);
    }
    bool broker = run->chload != NULL && d->cluster == 0;
    for (size_t i = 0; i < d->n_actions; i++) {
        broker = broker || d->actions[i].kind == CHAOS_ACT_KILL_BROKER;
    }
    if (broker) {
        chaos_set(run, CHAOS_M_BROKER_KILLS, (double)run->broker_kills);
        if (run->broker_restarts0 >= 0) {
            chaos_set(run, CHAOS_M_BROKER_RESTARTS,
                      (double)(run->broker_restarts - run->broker_restarts0));
        }
    }
    run->stop_done = false;
    chaos_load_stop(run->echo, CHAOS_STOP_GRACE_MS, chaos_on_stopped, run);
    chaos_loop_until(run, 4 * CHAOS_STOP_GRACE_MS, chaos_stop_finished);
    if (run->sup_killed) {
        /* Orphans drain and exit by themselves after orphan_grace; the tail bounds the wait. */
        bool gone = chaos_loop_until(run, d->tail_ms, chaos_orphans_gone);
        size_t left = 0;
        for (size_t i = 0; i < run->n_known; i++) {
            left += chaos_proc_alive(run->known[i]) ? 1 : 0;
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
    chaos_chload_free(run->chload);
    run->chload = NULL;
    chaos_rpc_free(run->rpc);
    run->rpc = NULL;
    for (size_t i = 0; i < run->n_stopped; i++) {
        chaos_fleet_signal(run->stopped[i], SIGKILL);
    }
    if (run->sup_stopped_pid > 0) {
        chaos_fleet_signal(run->sup_stopped_pid, SIGCONT);
        run->sup_stopped_pid = 0;
    }
    if (run->sup_cont_ev != NULL) {
        event_free(run->sup_cont_ev);
        run->sup_cont_ev = NULL;
    }
    if (run->fleet.pid > 0 && chaos_fleet_alive(&run->fleet)) {
        if (chaos_fleet_stop(&run->fleet, 10000) != 0) {
            chaos_progress(run, "wsfleetd did not stop cleanly");
        }
    }
    for (size_t i = 0; i < run->n_known; i++) {
        if (chaos_proc_alive(run->known[i])) {
            chaos_fleet_signal(run->known[i], SIGKILL);
        }
    }
    if (run->poll_ev != NULL) {
        event_free(run->poll_ev);
        run->poll_ev = NULL;
    }
    chaos_cluster_down(run);
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
    run->broker_restarts0 = -1;
    run->rng = opts->seed != 0 ? opts->seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (run->rng == 0) {
        run->rng = 1;
    }
    run->clients = opts->quick && d->quick_clients != 0 ? d->quick_clients : d->clients;
    run->subscribers =
        opts->quick && d->quick_subscribers != 0 ? d->quick_subscribers : d->subscribers;
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
        /* The results while the drill's fleet still answers. */
        chaos_dash_result(run);
        chaos_loop_until(run, 3000, chaos_dash_idle);
        chaos_dash_close(run);
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
