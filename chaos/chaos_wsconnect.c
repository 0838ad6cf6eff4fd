/* wsload's connect mode: N slots that each open, upgrade and close in a loop for the window, on
 * bare chaos_conn connections (no backoff: the point is the server's upgrade rate). */
#include "chaos_wsload.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "chaos_conn.h"
#include "chaos_proc.h"
#include "wsf_buf.h"

#define CHAOS_WSCONNECT_RX_CAP (64u * 1024u)
#define CHAOS_WSCONNECT_CLOSE_SECS 3.0  /* bound on the closes after the window */
#define CHAOS_WSCONNECT_RETRY_SECS 0.01 /* pause before retrying a slot that failed at once */
#define CHAOS_WSCONNECT_DIAG_LINES 10

typedef struct chaos_wsconnect {
    const chaos_wsload_opts *opts;
    struct event_base *base;
    chaos_env env;
    chaos_conn *conns;
    size_t n;
    bool running; /* inside the window */
    bool done;
    size_t live; /* slots with a socket */
    uint64_t upgrades;
    uint64_t errors[CHAOS_CAUSE_COUNT];
    uint64_t close_timeout;
    unsigned diag_left;
    bool retry_armed;
    double t_win0;
    double t_win1;
    double cpu0;
    double cpu1;
    bool srv_ok;
    double srv_cpu0;
    double srv_cpu1;
    struct event *ev_duration;
    struct event *ev_deadline;
    struct event *ev_retry;
    struct event *ev_sigterm;
    struct event *ev_sigint;
} chaos_wsconnect;

static uint64_t chaos_wsconnect_errors(const chaos_wsconnect *w)
{
    uint64_t total = w->close_timeout;
    for (int i = 0; i < CHAOS_CAUSE_COUNT; i++) {
        total += w->errors[i];
    }
    return total;
}

static void chaos_wsconnect_count(chaos_wsconnect *w, const chaos_conn *c)
{
    w->errors[c->cause]++;
    if (w->diag_left == 0) {
        return;
    }
    w->diag_left--;
    fprintf(stderr, "wsload: conn %zu: %s error: %s", c->index, chaos_cause_name(c->cause),
            c->why != NULL ? c->why : "?");
    if (c->sys_errno > 0) {
        fprintf(stderr, ": %s", strerror(c->sys_errno));
    } else if (c->code != 0) {
        fprintf(stderr, " (%u)", c->code);
    }
    fputc('\n', stderr);
}

static void chaos_wsconnect_end_window(chaos_wsconnect *w)
{
    if (w->t_win1 != 0) {
        return;
    }
    w->t_win1 = chaos_proc_now();
    w->cpu1 = chaos_proc_self_cpu();
    if (w->srv_ok) {
        w->srv_ok = chaos_proc_cpu(&w->srv_cpu1, w->opts->server_pid) == 0;
    }
}

static void chaos_wsconnect_finish(chaos_wsconnect *w)
{
    if (!w->done) {
        w->done = true;
        event_base_loopexit(w->base, NULL);
    }
}

/* A slot that closed starts its next attempt at once. */
static void chaos_wsconnect_restart(chaos_wsconnect *w, chaos_conn *c)
{
    if (chaos_conn_start(c) == 0) {
        w->live++;
        return;
    }
    chaos_wsconnect_count(w, c);
    if (!w->retry_armed) {
        w->retry_armed = true;
        chaos_load_arm_ms(w->ev_retry, (uint64_t)(CHAOS_WSCONNECT_RETRY_SECS * 1000.0 + 0.5));
    }
}

static void chaos_wsconnect_on_open(chaos_conn *c, void *arg)
{
    chaos_wsconnect *w = arg;
    if (w->running) {
        w->upgrades++;
    }
    chaos_conn_close(c);
}

static void chaos_wsconnect_on_echo(chaos_conn *c, uint64_t latency_us, void *arg)
{
    (void)c;
    (void)latency_us;
    (void)arg;
}

static void chaos_wsconnect_on_closed(chaos_conn *c, void *arg)
{
    chaos_wsconnect *w = arg;
    w->live--;
    if (!c->clean) {
        chaos_wsconnect_count(w, c);
    }
    if (w->running) {
        chaos_wsconnect_restart(w, c);
    } else if (w->live == 0) {
        chaos_wsconnect_finish(w);
    }
}

static void chaos_wsconnect_on_retry(evutil_socket_t fd, short what, void *arg)
{
    chaos_wsconnect *w = arg;
    (void)fd;
    (void)what;
    w->retry_armed = false;
    for (size_t i = 0; i < w->n && w->running; i++) {
        if (w->conns[i].state == CHAOS_CONN_DOWN) {
            chaos_wsconnect_restart(w, &w->conns[i]);
        }
    }
}

static void chaos_wsconnect_on_deadline(evutil_socket_t fd, short what, void *arg)
{
    chaos_wsconnect *w = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < w->n; i++) {
        chaos_conn *c = &w->conns[i];
        if (c->state == CHAOS_CONN_CLOSING || c->state == CHAOS_CONN_OPEN) {
            w->close_timeout++;
        }
        chaos_conn_abort(c);
    }
    w->live = 0;
    chaos_wsconnect_finish(w);
}

/* End of the window (or a signal): attempts in progress finish, upgraded ones close. */
static void chaos_wsconnect_stop(chaos_wsconnect *w)
{
    if (!w->running) {
        chaos_wsconnect_on_deadline(-1, 0, w);
        return;
    }
    chaos_wsconnect_end_window(w);
    w->running = false;
    event_del(w->ev_duration);
    event_del(w->ev_retry);
    for (size_t i = 0; i < w->n; i++) {
        chaos_conn_close(&w->conns[i]);
    }
    chaos_load_arm_ms(w->ev_deadline, (uint64_t)(CHAOS_WSCONNECT_CLOSE_SECS * 1000.0 + 0.5));
    if (w->live == 0) {
        chaos_wsconnect_finish(w);
    }
}

static void chaos_wsconnect_on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chaos_wsconnect_stop(arg);
}

static void chaos_wsconnect_print(const chaos_wsconnect *w)
{
    const chaos_wsload_opts *o = w->opts;
    double secs = w->t_win1 > w->t_win0 ? w->t_win1 - w->t_win0 : 0;
    double cpu = w->cpu1 - w->cpu0;
    double pct = secs > 0 ? 100.0 * cpu / secs : 0;
    double rate = secs > 0 ? (double)w->upgrades / secs : 0;
    uint64_t errors = chaos_wsconnect_errors(w);
    double srv = w->srv_cpu1 - w->srv_cpu0;
    double per = w->upgrades > 0 ? srv * 1e6 / (double)w->upgrades : 0;

    if (o->json) {
        json_t *j = json_object();
        json_object_set_new(j, "mode", json_string("connect"));
        json_object_set_new(j, "connections", json_integer((json_int_t)w->n));
        json_object_set_new(j, "upgrades", json_integer((json_int_t)w->upgrades));
        json_object_set_new(j, "secs", json_real(secs));
        json_object_set_new(j, "upgrades_per_s", json_real(rate));
        json_object_set_new(j, "errors", json_integer((json_int_t)errors));
        json_t *causes = json_object();
        for (int i = 0; i < CHAOS_CAUSE_COUNT; i++) {
            json_object_set_new(causes, chaos_cause_name((enum chaos_cause)i),
                                json_integer((json_int_t)w->errors[i]));
        }
        json_object_set_new(j, "by_cause", causes);
        json_object_set_new(j, "client_cpu_s", json_real(cpu));
        json_object_set_new(j, "client_cpu_pct", json_real(pct));
        if (w->srv_ok) {
            json_object_set_new(j, "server_cpu_s", json_real(srv));
            json_object_set_new(j, "server_us_per_upgrade", json_real(per));
        }
        char *text = json_dumps(j, JSON_COMPACT);
        if (text != NULL) {
            puts(text);
            free(text);
        }
        json_decref(j);
    } else {
        printf("wsload mode=connect conns=%zu upgrades=%" PRIu64 " secs=%.3f upgrades_per_s=%.0f"
               " errors=%" PRIu64 " client_cpu_s=%.3f client_cpu_pct=%.1f",
               w->n, w->upgrades, secs, rate, errors, cpu, pct);
        if (w->srv_ok) {
            printf(" server_cpu_s=%.3f server_us_per_upgrade=%.3f", srv, per);
        }
        printf("\n");
    }
    fflush(stdout);
}

int chaos_wsload_run_connect(const chaos_wsload_opts *opts)
{
    chaos_wsconnect w;
    memset(&w, 0, sizeof(w));
    w.opts = opts;
    w.n = opts->load.connections;
    w.diag_left = CHAOS_WSCONNECT_DIAG_LINES;
    w.base = event_base_new();
    if (w.base == NULL) {
        fprintf(stderr, "wsload: event_base_new failed\n");
        return -1;
    }
    w.env.base = w.base;
    w.env.opts = &opts->load;
    chaos_payload_init(&w.env.payload, 0, false);
    w.env.rx_cap = CHAOS_WSCONNECT_RX_CAP;
    w.env.rx = wsf_xmalloc(CHAOS_WSCONNECT_RX_CAP);
    w.env.on_open = chaos_wsconnect_on_open;
    w.env.on_echo = chaos_wsconnect_on_echo;
    w.env.on_closed = chaos_wsconnect_on_closed;
    w.env.arg = &w;
    w.conns = wsf_xcalloc(w.n, sizeof(*w.conns));
    for (size_t i = 0; i < w.n; i++) {
        chaos_conn_init(&w.conns[i], &w.env, i);
    }
    w.ev_duration = evtimer_new(w.base, chaos_wsconnect_on_stop, &w);
    w.ev_deadline = evtimer_new(w.base, chaos_wsconnect_on_deadline, &w);
    w.ev_retry = evtimer_new(w.base, chaos_wsconnect_on_retry, &w);
    w.ev_sigterm = evsignal_new(w.base, SIGTERM, chaos_wsconnect_on_stop, &w);
    w.ev_sigint = evsignal_new(w.base, SIGINT, chaos_wsconnect_on_stop, &w);
    event_add(w.ev_sigterm, NULL);
    event_add(w.ev_sigint, NULL);

    w.running = true;
    w.t_win0 = chaos_proc_now();
    w.cpu0 = chaos_proc_self_cpu();
    if (opts->server_pid != 0) {
        w.srv_ok = chaos_proc_cpu(&w.srv_cpu0, opts->server_pid) == 0;
    }
    for (size_t i = 0; i < w.n; i++) {
        chaos_wsconnect_restart(&w, &w.conns[i]);
    }
    chaos_load_arm_ms(w.ev_duration, (uint64_t)(opts->duration * 1000.0 + 0.5));
    event_base_dispatch(w.base);
    chaos_wsconnect_end_window(&w);
    chaos_wsconnect_print(&w);
    int rc = chaos_wsconnect_errors(&w) > 0 ? 1 : 0;

    for (size_t i = 0; i < w.n; i++) {
        chaos_conn_fini(&w.conns[i]);
    }
    free(w.conns);
    event_free(w.ev_duration);
    event_free(w.ev_deadline);
    event_free(w.ev_retry);
    event_free(w.ev_sigterm);
    event_free(w.ev_sigint);
    chaos_payload_fini(&w.env.payload);
    free(w.env.rx);
    event_base_free(w.base);
    return rc;
}
