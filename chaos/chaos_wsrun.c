/* wsload's run in echo and idle modes: a chaos_load population, a measured window once every
 * connection has had its first answer, then a graceful stop, and the result line or JSON summary
 * and the per-connection records. */
#include "chaos_wsload.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "chaos_proc.h"
#include "wsf_buf.h"
#include "wsf_json.h"

#define CHAOS_WSRUN_GRACE_MS 3000   /* stop: time for echoes in flight, then for closes */
#define CHAOS_WSRUN_SETTLE_SECS 1.0 /* idle mode: wait this long after all are up to sample RSS */
#define CHAOS_WSRUN_DIAG_LINES 10   /* failures described on stderr before going quiet */
#define CHAOS_WSRUN_STALL_SECS 10.0 /* echo: give up when no echo arrives for this long */
#define CHAOS_WSRUN_POLL_SECS 0.005 /* --messages: how often the budget is checked */

enum chaos_wsrun_phase {
    CHAOS_WSRUN_SETUP = 0, /* opening: not every connection has had its first answer */
    CHAOS_WSRUN_WINDOW,    /* the measured window */
    CHAOS_WSRUN_STOPPING,  /* window over, the population is stopping */
    CHAOS_WSRUN_DONE,
};

typedef struct chaos_wsrun {
    const chaos_wsload_opts *opts;
    struct event_base *base;
    chaos_load *load;
    enum chaos_wsrun_phase phase;
    uint8_t *settled; /* per connection: its first attempt was answered */
    size_t nsettled;
    size_t up_peak;   /* upgraded when set-up ended */
    size_t up_at_end; /* upgraded when the window ended */
    uint64_t failed_attempts;
    unsigned diag_left;
    bool aborted;
    /* The measured window. */
    double t_start;
    double t_up;
    double t_win0;
    double t_win1;
    uint64_t echoed0;
    uint64_t echoed1;
    double cpu0;
    double cpu1;
    bool srv_ok;
    double srv_cpu0;
    double srv_cpu1;
    bool rss_ok;
    uint64_t rss_before;
    uint64_t rss_idle;
    uint64_t stall_mark;
    struct event *ev_duration;
    struct event *ev_settle;
    struct event *ev_stall;
    struct event *ev_poll;
    struct event *ev_sigterm;
    struct event *ev_sigint;
} chaos_wsrun;

/* Errors of the run, by client kind: what a healthy server and network would not produce. */
static uint64_t chaos_wsrun_errors(const chaos_wsrun *r)
{
    const chaos_load_totals *t = chaos_load_get_totals(r->load);
    switch (r->opts->load.kind) {
    case CHAOS_CLIENT_SLOW:
        return r->failed_attempts;
    case CHAOS_CLIENT_GARBAGE:
        /* Every attempt is meant to be closed by the server: only the ones it never answered,
         * could not be made, or answered with broken frames count. */
        return t->by_cause[CHAOS_CAUSE_CONNECT] + t->by_cause[CHAOS_CAUSE_REFUSED] +
               t->by_cause[CHAOS_CAUSE_PROTOCOL];
    default: {
        uint64_t total = t->lost + t->unclean_closes;
        for (int i = 0; i < CHAOS_CAUSE_COUNT; i++) {
            total += t->by_cause[i];
        }
        return total;
    }
    }
}

static void chaos_wsrun_on_stopped(void *arg)
{
    chaos_wsrun *r = arg;
    r->phase = CHAOS_WSRUN_DONE;
    event_base_loopexit(r->base, NULL);
}

static void chaos_wsrun_begin_window(chaos_wsrun *r)
{
    r->phase = CHAOS_WSRUN_WINDOW;
    r->t_win0 = chaos_proc_now();
    r->cpu0 = chaos_proc_self_cpu();
    r->echoed0 = chaos_load_get_totals(r->load)->echoed;
    if (r->opts->server_pid != 0) {
        r->srv_ok = chaos_proc_cpu(&r->srv_cpu0, r->opts->server_pid) == 0;
    }
    if (r->opts->duration > 0) {
        chaos_load_arm_ms(r->ev_duration, (uint64_t)(r->opts->duration * 1000.0 + 0.5));
    }
}

static void chaos_wsrun_end_window(chaos_wsrun *r)
{
    if (r->t_win1 != 0) {
        return;
    }
    if (r->t_win0 == 0) {
        r->t_win0 = chaos_proc_now();
        r->cpu0 = chaos_proc_self_cpu();
    }
    r->t_win1 = chaos_proc_now();
    r->cpu1 = chaos_proc_self_cpu();
    if (r->srv_ok) {
        r->srv_ok = chaos_proc_cpu(&r->srv_cpu1, r->opts->server_pid) == 0;
    }
    const chaos_load_totals *t = chaos_load_get_totals(r->load);
    r->echoed1 = t->echoed;
    r->up_at_end = t->up;
}

static void chaos_wsrun_sample_rss(chaos_wsrun *r)
{
    if (r->rss_ok && r->rss_idle == 0) {
        r->rss_ok = chaos_proc_rss(&r->rss_idle, r->opts->server_pid) == 0;
    }
}

/* Ends the window and stops the population; the loop ends once every socket is closed. */
static void chaos_wsrun_finish(chaos_wsrun *r, uint32_t grace_ms)
{
    if (r->phase >= CHAOS_WSRUN_STOPPING) {
        return;
    }
    chaos_wsrun_end_window(r);
    if (r->opts->mode == CHAOS_WSLOAD_IDLE) {
        chaos_wsrun_sample_rss(r);
    }
    r->phase = CHAOS_WSRUN_STOPPING;
    event_del(r->ev_duration);
    event_del(r->ev_poll);
    event_del(r->ev_stall);
    chaos_load_stop(r->load, grace_ms, chaos_wsrun_on_stopped, r);
}

/* Every connection has had its first answer: report idle set-up, start the window. */
static void chaos_wsrun_settled(chaos_wsrun *r)
{
    const chaos_load_totals *t = chaos_load_get_totals(r->load);
    r->t_up = chaos_proc_now();
    r->up_peak = t->up;
    if (t->up == 0 && r->opts->load.kind != CHAOS_CLIENT_GARBAGE) {
        fprintf(stderr, "wsload: no connection could be upgraded\n");
        chaos_wsrun_finish(r, 0);
        return;
    }
    if (r->opts->mode == CHAOS_WSLOAD_IDLE && !r->opts->json) {
        printf("wsload mode=idle conns=%zu up=%zu setup_secs=%.3f errors=%" PRIu64 " all up\n",
               r->opts->load.connections, t->up, r->t_up - r->t_start, chaos_wsrun_errors(r));
        fflush(stdout);
    }
    if (r->opts->mode == CHAOS_WSLOAD_IDLE && r->rss_ok) {
        chaos_load_arm_ms(r->ev_settle, (uint64_t)(CHAOS_WSRUN_SETTLE_SECS * 1000.0 + 0.5));
    }
    chaos_wsrun_begin_window(r);
}

static void chaos_wsrun_settle_one(chaos_wsrun *r, size_t conn)
{
    if (conn >= r->opts->load.connections || r->settled[conn]) {
        return;
    }
    r->settled[conn] = 1;
    r->nsettled++;
    if (r->nsettled == r->opts->load.connections && r->phase == CHAOS_WSRUN_SETUP) {
        chaos_wsrun_settled(r);
    }
}

static void chaos_wsrun_diag(chaos_wsrun *r, const chaos_event *ev)
{
    if (r->diag_left == 0) {
        return;
    }
    r->diag_left--;
    fprintf(stderr, "wsload: conn %zu: %s", ev->conn, chaos_cause_name(ev->cause));
    if (ev->code != 0) {
        fprintf(stderr, " %u", ev->code);
    }
    if (ev->sys_errno > 0) {
        fprintf(stderr, ": %s", strerror(ev->sys_errno));
    }
    fprintf(stderr, "%s%s\n", ev->was_up ? " (was up)" : "", ev->will_retry ? ", will retry" : "");
}

static void chaos_wsrun_on_event(const chaos_event *ev, void *arg)
{
    chaos_wsrun *r = arg;
    if (!ev->was_up) {
        r->failed_attempts++;
    }
    if (r->opts->load.kind == CHAOS_CLIENT_ECHO ||
        (r->opts->load.kind == CHAOS_CLIENT_SLOW && !ev->was_up) ||
        (r->opts->load.kind == CHAOS_CLIENT_GARBAGE && ev->cause == CHAOS_CAUSE_CONNECT)) {
        chaos_wsrun_diag(r, ev);
    }
    chaos_wsrun_settle_one(r, ev->conn);
}

static void chaos_wsrun_on_up(size_t conn, bool reconnect, uint64_t down_ms, void *arg)
{
    chaos_wsrun *r = arg;
    (void)reconnect;
    (void)down_ms;
    chaos_wsrun_settle_one(r, conn);
}

static void chaos_wsrun_on_duration(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chaos_wsrun_finish(arg, CHAOS_WSRUN_GRACE_MS);
}

/* --messages: the window ends once every message has been echoed or lost. */
static void chaos_wsrun_on_poll(evutil_socket_t fd, short what, void *arg)
{
    chaos_wsrun *r = arg;
    (void)fd;
    (void)what;
    const chaos_load_totals *t = chaos_load_get_totals(r->load);
    uint64_t total = r->opts->messages;
    if (t->sent >= total && t->echoed + t->lost >= total) {
        chaos_wsrun_finish(r, CHAOS_WSRUN_GRACE_MS);
    }
}

/* Echo clients: a server that stops echoing ends the run instead of hanging it. */
static void chaos_wsrun_on_stall(evutil_socket_t fd, short what, void *arg)
{
    chaos_wsrun *r = arg;
    (void)fd;
    (void)what;
    uint64_t echoed = chaos_load_get_totals(r->load)->echoed;
    if (r->phase != CHAOS_WSRUN_WINDOW || echoed != r->stall_mark) {
        r->stall_mark = echoed;
        return;
    }
    fprintf(stderr, "wsload: no echo for %.0f s: giving up\n", CHAOS_WSRUN_STALL_SECS);
    chaos_wsrun_finish(r, 0);
}

static void chaos_wsrun_on_settle(evutil_socket_t fd, short what, void *arg)
{
    chaos_wsrun *r = arg;
    (void)fd;
    (void)what;
    chaos_wsrun_sample_rss(r);
    if (r->rss_ok && !r->opts->json) {
        printf("wsload mode=idle conns=%zu up=%zu server_rss_before=%" PRIu64
               " server_rss_idle=%" PRIu64 " sampled\n",
               r->opts->load.connections, chaos_load_get_totals(r->load)->up, r->rss_before,
               r->rss_idle);
        fflush(stdout);
    }
}

/* SIGTERM or SIGINT: end the window and stop; a second one abandons every connection. */
static void chaos_wsrun_on_signal(evutil_socket_t fd, short what, void *arg)
{
    chaos_wsrun *r = arg;
    (void)fd;
    (void)what;
    if (r->phase >= CHAOS_WSRUN_STOPPING) {
        r->aborted = true;
        event_base_loopexit(r->base, NULL);
        return;
    }
    chaos_wsrun_finish(r, CHAOS_WSRUN_GRACE_MS);
}

static double chaos_wsrun_secs(const chaos_wsrun *r)
{
    return r->t_win0 > 0 && r->t_win1 > r->t_win0 ? r->t_win1 - r->t_win0 : 0;
}

/* Messages counted for the rate: the window's echoes, or all of them for --messages. */
static uint64_t chaos_wsrun_count(const chaos_wsrun *r)
{
    if (r->opts->messages != 0) {
        return r->echoed1;
    }
    return r->echoed1 - r->echoed0;
}

static void chaos_wsrun_print_line(const chaos_wsrun *r)
{
    const chaos_wsload_opts *o = r->opts;
    const chaos_load_opts *lo = &o->load;
    const chaos_load_totals *t = chaos_load_get_totals(r->load);
    double secs = chaos_wsrun_secs(r);
    double cpu = r->cpu1 - r->cpu0;
    double pct = secs > 0 ? 100.0 * cpu / secs : 0;
    uint64_t count = chaos_wsrun_count(r);
    double rate = secs > 0 ? (double)count / secs : 0;
    uint64_t errors = chaos_wsrun_errors(r);

    if (o->mode == CHAOS_WSLOAD_IDLE) {
        printf("wsload mode=idle conns=%zu up=%zu setup_secs=%.3f held_secs=%.3f errors=%" PRIu64,
               lo->connections, r->up_peak, r->t_up > 0 ? r->t_up - r->t_start : 0, secs, errors);
        if (r->rss_ok && r->rss_idle != 0 && r->t_up > 0) {
            double per = ((double)r->rss_idle - (double)r->rss_before) / (double)lo->connections;
            printf(" server_rss_before=%" PRIu64 " server_rss_idle=%" PRIu64 " rss_per_conn=%.0f",
                   r->rss_before, r->rss_idle, per);
        }
    } else {
        printf("wsload mode=echo conns=%zu inflight=%u size=%zu binary=%d msgs=%" PRIu64
               " secs=%.3f msgs_per_s=%.0f errors=%" PRIu64 " client_cpu_s=%.3f"
               " client_cpu_pct=%.1f",
               lo->connections, lo->inflight, lo->size, lo->binary ? 1 : 0, count, secs, rate,
               errors, cpu, pct);
        if (r->srv_ok) {
            double srv = r->srv_cpu1 - r->srv_cpu0;
            double per = count > 0 ? srv * 1e6 / (double)count : 0;
            printf(" server_cpu_s=%.3f server_us_per_msg=%.3f", srv, per);
        }
        if (lo->kind != CHAOS_CLIENT_ECHO) {
            printf(" kind=%s attempts=%" PRIu64, chaos_wsload_kind_name(lo->kind), t->attempts);
        }
        if (lo->rate > 0) {
            printf(" rate=%g", lo->rate);
        }
        printf(" lat_p50_us=%" PRIu64 " lat_p99_us=%" PRIu64 " lat_p999_us=%" PRIu64,
               wsf_hist_quantile(&t->latency_us, 0.5), wsf_hist_quantile(&t->latency_us, 0.99),
               wsf_hist_quantile(&t->latency_us, 0.999));
    }
    printf(" disconnects=%" PRIu64 " reconnects=%" PRIu64 " lost=%" PRIu64 "\n", t->disconnects,
           t->reconnects, t->lost);
    fflush(stdout);
    if (errors > 0 && lo->kind == CHAOS_CLIENT_ECHO) {
        fprintf(stderr, "wsload: errors");
        for (int i = 0; i < CHAOS_CAUSE_COUNT; i++) {
            fprintf(stderr, " %s=%" PRIu64, chaos_cause_name((enum chaos_cause)i), t->by_cause[i]);
        }
        fprintf(stderr, " lost=%" PRIu64 " unclean_closes=%" PRIu64 "\n", t->lost,
                t->unclean_closes);
    }
}

static json_t *chaos_wsrun_hist_json(const wsf_hist *h, bool p999)
{
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "count", json_integer((json_int_t)h->count));
    wsf_json_set(o, "min", json_integer(h->count ? (json_int_t)h->min : 0));
    wsf_json_set(o, "mean", json_real(wsf_hist_mean(h)));
    wsf_json_set(o, "p50", json_integer((json_int_t)wsf_hist_quantile(h, 0.5)));
    wsf_json_set(o, "p99", json_integer((json_int_t)wsf_hist_quantile(h, 0.99)));
    if (p999) {
        wsf_json_set(o, "p999", json_integer((json_int_t)wsf_hist_quantile(h, 0.999)));
    }
    wsf_json_set(o, "max", json_integer((json_int_t)h->max));
    return o;
}

static void chaos_wsrun_print_json(const chaos_wsrun *r)
{
    const chaos_wsload_opts *o = r->opts;
    const chaos_load_opts *lo = &o->load;
    const chaos_load_totals *t = chaos_load_get_totals(r->load);
    double secs = chaos_wsrun_secs(r);
    uint64_t count = chaos_wsrun_count(r);
    uint64_t failed = 0;
    uint64_t bytes_out = 0;
    size_t n = chaos_load_size(r->load);
    for (size_t i = 0; i < n; i++) {
        const chaos_conn_stats *st = chaos_load_conn(r->load, i);
        failed += st->failed;
        bytes_out += st->bytes_out;
    }

    json_t *j = wsf_json_checked(json_object());
    wsf_json_set(j, "mode", json_string(chaos_wsload_mode_name(o->mode)));
    wsf_json_set(j, "kind", json_string(chaos_wsload_kind_name(lo->kind)));
    wsf_json_set(j, "connections", json_integer((json_int_t)lo->connections));
    wsf_json_set(j, "inflight", json_integer(lo->inflight));
    wsf_json_set(j, "rate", json_real(lo->rate));
    wsf_json_set(j, "size", json_integer((json_int_t)lo->size));
    wsf_json_set(j, "sources", json_integer(lo->sources));
    wsf_json_set(j, "reconnect", json_boolean(lo->reconnect));
    wsf_json_set(j, "secs", json_real(secs));
    wsf_json_set(j, "msgs", json_integer((json_int_t)count));
    wsf_json_set(j, "msgs_per_s", json_real(secs > 0 ? (double)count / secs : 0));
    wsf_json_set(j, "errors", json_integer((json_int_t)chaos_wsrun_errors(r)));
    wsf_json_set(j, "up_peak", json_integer((json_int_t)r->up_peak));
    wsf_json_set(j, "up_at_end", json_integer((json_int_t)r->up_at_end));
    wsf_json_set(j, "attempts", json_integer((json_int_t)t->attempts));
    wsf_json_set(j, "failed", json_integer((json_int_t)failed));
    wsf_json_set(j, "upgrades", json_integer((json_int_t)t->upgrades));
    wsf_json_set(j, "sent", json_integer((json_int_t)t->sent));
    wsf_json_set(j, "echoed", json_integer((json_int_t)t->echoed));
    wsf_json_set(j, "lost", json_integer((json_int_t)t->lost));
    wsf_json_set(j, "echo_errors", json_integer((json_int_t)t->by_cause[CHAOS_CAUSE_ECHO]));
    wsf_json_set(j, "disconnects", json_integer((json_int_t)t->disconnects));
    wsf_json_set(j, "reconnects", json_integer((json_int_t)t->reconnects));
    wsf_json_set(j, "gave_up", json_integer((json_int_t)t->gave_up));
    wsf_json_set(j, "failovers", json_integer((json_int_t)t->failovers));
    wsf_json_set(j, "unclean_closes", json_integer((json_int_t)t->unclean_closes));
    wsf_json_set(j, "bytes_out", json_integer((json_int_t)bytes_out));
    json_t *causes = wsf_json_checked(json_object());
    for (int i = 0; i < CHAOS_CAUSE_COUNT; i++) {
        wsf_json_set(causes, chaos_cause_name((enum chaos_cause)i),
                     json_integer((json_int_t)t->by_cause[i]));
    }
    wsf_json_set(j, "by_cause", causes);
    json_t *codes = wsf_json_checked(json_object());
    for (int i = 0; i < 16; i++) {
        if (t->close_codes[i] != 0) {
            char key[8];
            snprintf(key, sizeof(key), "%d", 1000 + i);
            wsf_json_set(codes, key, json_integer((json_int_t)t->close_codes[i]));
        }
    }
    wsf_json_set(j, "close_codes", codes);
    wsf_json_set(j, "latency_us", chaos_wsrun_hist_json(&t->latency_us, true));
    wsf_json_set(j, "reconnect_ms", chaos_wsrun_hist_json(&t->reconnect_ms, false));
    double cpu = r->cpu1 - r->cpu0;
    wsf_json_set(j, "client_cpu_s", json_real(cpu));
    wsf_json_set(j, "client_cpu_pct", json_real(secs > 0 ? 100.0 * cpu / secs : 0));
    if (r->srv_ok && o->mode != CHAOS_WSLOAD_IDLE) {
        double srv = r->srv_cpu1 - r->srv_cpu0;
        wsf_json_set(j, "server_cpu_s", json_real(srv));
        wsf_json_set(j, "server_us_per_msg", json_real(count > 0 ? srv * 1e6 / (double)count : 0));
    }
    if (r->rss_ok && r->rss_idle != 0) {
        wsf_json_set(j, "server_rss_before", json_integer((json_int_t)r->rss_before));
        wsf_json_set(j, "server_rss_idle", json_integer((json_int_t)r->rss_idle));
    }
    char *text = json_dumps(j, JSON_COMPACT);
    if (text != NULL) {
        puts(text);
        free(text);
    }
    fflush(stdout);
    json_decref(j);
}

/* One line per connection: index sent echoed lost disconnects reconnects down_ms_max attempts
 * failed. Returns 0, or -errno. */
static int chaos_wsrun_write_records(const chaos_wsrun *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -errno;
    }
    fprintf(f, "# index sent echoed lost disconnects reconnects down_ms_max attempts failed\n");
    size_t n = chaos_load_size(r->load);
    for (size_t i = 0; i < n; i++) {
        const chaos_conn_stats *st = chaos_load_conn(r->load, i);
        fprintf(f, "%zu %" PRIu64 " %" PRIu64 " %" PRIu64 " %u %u %" PRIu64 " %u %u\n", i, st->sent,
                st->echoed, st->lost, st->disconnects, st->reconnects, st->down_ms_max,
                st->attempts, st->failed);
    }
    int failed = ferror(f);
    if (fclose(f) != 0 || failed) {
        return -EIO;
    }
    return 0;
}

static void chaos_wsrun_fini(chaos_wsrun *r)
{
    chaos_load_free(r->load);
    free(r->settled);
    event_free(r->ev_duration);
    event_free(r->ev_settle);
    event_free(r->ev_stall);
    event_free(r->ev_poll);
    event_free(r->ev_sigterm);
    event_free(r->ev_sigint);
    event_base_free(r->base);
}

int chaos_wsload_run(const chaos_wsload_opts *opts)
{
    if (opts->mode == CHAOS_WSLOAD_CONNECT) {
        return chaos_wsload_run_connect(opts);
    }
    if (opts->mode == CHAOS_WSLOAD_CHANNELS) {
        return chaos_wsload_run_channels(opts);
    }
    chaos_wsrun r;
    memset(&r, 0, sizeof(r));
    r.opts = opts;
    r.diag_left = CHAOS_WSRUN_DIAG_LINES;
    r.base = event_base_new();
    if (r.base == NULL) {
        fprintf(stderr, "wsload: event_base_new failed\n");
        return -1;
    }
    chaos_load_hooks hooks = {
        .on_event = chaos_wsrun_on_event,
        .on_up = chaos_wsrun_on_up,
        .arg = &r,
    };
    r.load = chaos_load_new(r.base, &opts->load, &hooks);
    r.settled = wsf_xcalloc(opts->load.connections, 1);
    r.ev_duration = evtimer_new(r.base, chaos_wsrun_on_duration, &r);
    r.ev_settle = evtimer_new(r.base, chaos_wsrun_on_settle, &r);
    r.ev_stall = event_new(r.base, -1, EV_PERSIST, chaos_wsrun_on_stall, &r);
    r.ev_poll = event_new(r.base, -1, EV_PERSIST, chaos_wsrun_on_poll, &r);
    r.ev_sigterm = evsignal_new(r.base, SIGTERM, chaos_wsrun_on_signal, &r);
    r.ev_sigint = evsignal_new(r.base, SIGINT, chaos_wsrun_on_signal, &r);
    event_add(r.ev_sigterm, NULL);
    event_add(r.ev_sigint, NULL);

    if (opts->server_pid != 0 && opts->mode == CHAOS_WSLOAD_IDLE) {
        r.rss_ok = chaos_proc_rss(&r.rss_before, opts->server_pid) == 0;
    }
    r.t_start = chaos_proc_now();
    bool echoes = opts->mode == CHAOS_WSLOAD_ECHO && opts->load.kind == CHAOS_CLIENT_ECHO;
    if (echoes) {
        chaos_load_arm_ms(r.ev_stall, (uint64_t)(CHAOS_WSRUN_STALL_SECS * 1000.0 + 0.5));
    }
    if (opts->messages != 0) {
        chaos_load_arm_ms(r.ev_poll, (uint64_t)(CHAOS_WSRUN_POLL_SECS * 1000.0 + 0.5));
    }
    chaos_load_start(r.load);
    if (opts->load.kind == CHAOS_CLIENT_GARBAGE && r.phase == CHAOS_WSRUN_SETUP) {
        /* Garbage attempts have no set-up: the window is the whole run. */
        r.t_up = r.t_start;
        chaos_wsrun_begin_window(&r);
    }
    if (r.phase != CHAOS_WSRUN_DONE) {
        event_base_dispatch(r.base);
    }
    chaos_wsrun_end_window(&r);
    if (opts->json) {
        chaos_wsrun_print_json(&r);
    } else {
        chaos_wsrun_print_line(&r);
    }
    int rc = chaos_wsrun_errors(&r) > 0 || r.aborted ? 1 : 0;
    if (opts->records[0] != '\0') {
        int wrc = chaos_wsrun_write_records(&r, opts->records);
        if (wrc != 0) {
            fprintf(stderr, "wsload: cannot write %s: %s\n", opts->records, strerror(-wrc));
            rc = 1;
        }
    }
    chaos_wsrun_fini(&r);
    return rc;
}
