/* A drill's metrics from what its echo, slow and garbage clients saw and from the fleet's last
 * view (the channel clients' metrics are the runner's, with their population). */
#include "chaos_measure.h"

#include <math.h>
#include <string.h>

#include "chaos_report.h"

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

void chaos_measure(chaos_run *run)
{
    const chaos_load_totals *t = chaos_load_get_totals(run->echo);
    chaos_set(run, CHAOS_M_FAULTS, (double)run->faults);
    chaos_set(run, CHAOS_M_CLIENTS, (double)run->clients);
    chaos_set(run, CHAOS_M_DISCONNECTS, (double)run->disconnects);
    chaos_set(run, CHAOS_M_AFFECTED, (double)run->affected);
    chaos_set(run, CHAOS_M_OTHER_DISCONNECTS, (double)run->other);
    chaos_set(run, CHAOS_M_MOVED, (double)run->moved);
    chaos_set(run, CHAOS_M_ORPHAN_DISCONNECTS, (double)run->orphan);
    chaos_set(run, CHAOS_M_REFUSED, (double)run->refused);
    chaos_set(run, CHAOS_M_FAILED_ATTEMPTS, (double)run->failed_attempts);
    const wsf_hist *rc = &run->reconnect_ms;
    chaos_set(run, CHAOS_M_RECONNECTS, (double)rc->count);
    chaos_set(run, CHAOS_M_RECONNECT_P50_MS, (double)wsf_hist_quantile(rc, 0.5));
    chaos_set(run, CHAOS_M_RECONNECT_P99_MS, (double)wsf_hist_quantile(rc, 0.99));
    chaos_set(run, CHAOS_M_RECONNECT_MAX_MS, rc->count > 0 ? (double)rc->max : 0.0);
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
    chaos_set(run, CHAOS_M_SENT, (double)(t->sent - run->base_sent));
    chaos_set(run, CHAOS_M_ECHOED, (double)(t->echoed - run->base_echoed));
    chaos_set(run, CHAOS_M_LOST, (double)(t->lost - run->base_lost));
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
        chaos_set(run, CHAOS_M_ADOPTED, (double)run->adopted_max);
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
