/* wsload's channels mode: a chaos_chload run for --duration (or until SIGTERM/SIGINT), its end
 * (publisher stopped, subscribers caught up, losses counted) and the result line or JSON summary.
 */
#include "chaos_wsload.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "chaos_chload.h"
#include "chaos_proc.h"
#include "wsf_json.h"

#define CHAOS_WSCHAN_GRACE_MS 5000 /* end: for the last acks, then for subscribers to catch up */

typedef struct chaos_wschan {
    const chaos_wsload_opts *opts;
    struct event_base *base;
    chaos_chload *ch;
    bool finishing;
    bool aborted;
    double t0;
    double t1;
    struct event *ev_duration;
    struct event *ev_sigterm;
    struct event *ev_sigint;
} chaos_wschan;

/* What a healthy fleet would not produce: anything wrong with the publications, subscribers that
 * could not subscribe or gave up. Disconnects are not errors here: resuming is the point. */
static uint64_t chaos_wschan_errors(const chaos_chload_totals *t, const chaos_load_totals *s)
{
    return t->k.lost + t->k.duplicated + t->k.out_of_order + t->k.data_errors + t->k.not_recovered +
           t->protocol_errors + t->not_subscribed + t->behind + s->gave_up;
}

static void chaos_wschan_on_done(void *arg)
{
    chaos_wschan *r = arg;
    event_base_loopexit(r->base, NULL);
}

static void chaos_wschan_finish(chaos_wschan *r)
{
    if (r->finishing) {
        return;
    }
    r->finishing = true;
    r->t1 = chaos_proc_now();
    chaos_chload_finish(r->ch, CHAOS_WSCHAN_GRACE_MS, chaos_wschan_on_done, r);
}

static void chaos_wschan_on_duration(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chaos_wschan_finish(arg);
}

static void chaos_wschan_on_signal(evutil_socket_t fd, short what, void *arg)
{
    chaos_wschan *r = arg;
    (void)fd;
    (void)what;
    if (r->finishing) {
        r->aborted = true;
        event_base_loopexit(r->base, NULL);
        return;
    }
    chaos_wschan_finish(r);
}

static json_t *chaos_wschan_hist_json(const wsf_hist *h)
{
    json_t *o = wsf_json_checked(json_object());
    wsf_json_set(o, "count", json_integer((json_int_t)h->count));
    wsf_json_set(o, "p50", json_integer((json_int_t)wsf_hist_quantile(h, 0.5)));
    wsf_json_set(o, "p99", json_integer((json_int_t)wsf_hist_quantile(h, 0.99)));
    wsf_json_set(o, "max", json_integer((json_int_t)h->max));
    return o;
}

static void chaos_wschan_print_json(const chaos_wschan *r)
{
    const chaos_wsload_opts *o = r->opts;
    const chaos_chload_totals *t = chaos_chload_get_totals(r->ch);
    const chaos_load_totals *s = chaos_load_get_totals(chaos_chload_subscribers(r->ch));
    const chaos_load_totals *p = chaos_load_get_totals(chaos_chload_publisher(r->ch));
    double secs = r->t1 > r->t0 ? r->t1 - r->t0 : 0;

    json_t *j = wsf_json_checked(json_object());
    wsf_json_set(j, "mode", json_string("channels"));
    wsf_json_set(j, "connections", json_integer((json_int_t)o->load.connections));
    wsf_json_set(j, "channels", json_integer(o->channels));
    wsf_json_set(j, "publish_rate", json_real(o->publish_rate));
    wsf_json_set(j, "size", json_integer((json_int_t)o->load.size));
    wsf_json_set(j, "secs", json_real(secs));
    wsf_json_set(j, "errors", json_integer((json_int_t)chaos_wschan_errors(t, s)));
    wsf_json_set(j, "published", json_integer((json_int_t)t->published));
    wsf_json_set(j, "publications_acked", json_integer((json_int_t)t->acked));
    wsf_json_set(j, "publish_errors", json_integer((json_int_t)t->publish_errors));
    wsf_json_set(j, "publish_unknown", json_integer((json_int_t)t->publish_unknown));
    wsf_json_set(j, "deliveries", json_integer((json_int_t)t->k.deliveries));
    wsf_json_set(j, "lost_publications", json_integer((json_int_t)t->k.lost));
    wsf_json_set(j, "duplicated", json_integer((json_int_t)t->k.duplicated));
    wsf_json_set(j, "out_of_order", json_integer((json_int_t)t->k.out_of_order));
    wsf_json_set(j, "not_recovered", json_integer((json_int_t)t->k.not_recovered));
    wsf_json_set(j, "epoch_changes", json_integer((json_int_t)t->k.epoch_changes));
    wsf_json_set(j, "data_errors", json_integer((json_int_t)t->k.data_errors));
    wsf_json_set(j, "protocol_errors", json_integer((json_int_t)t->protocol_errors));
    wsf_json_set(j, "subscribes", json_integer((json_int_t)t->subscribes));
    wsf_json_set(j, "resumes", json_integer((json_int_t)t->resumes));
    wsf_json_set(j, "subscribe_errors", json_integer((json_int_t)t->subscribe_errors));
    wsf_json_set(j, "not_subscribed", json_integer((json_int_t)t->not_subscribed));
    wsf_json_set(j, "behind", json_integer((json_int_t)t->behind));
    wsf_json_set(j, "resume_ms", chaos_wschan_hist_json(&t->resume_ms));
    wsf_json_set(j, "attempts", json_integer((json_int_t)s->attempts));
    wsf_json_set(j, "upgrades", json_integer((json_int_t)s->upgrades));
    wsf_json_set(j, "disconnects", json_integer((json_int_t)s->disconnects));
    wsf_json_set(j, "reconnects", json_integer((json_int_t)s->reconnects));
    wsf_json_set(j, "gave_up", json_integer((json_int_t)s->gave_up));
    wsf_json_set(j, "failovers", json_integer((json_int_t)(s->failovers + p->failovers)));
    wsf_json_set(j, "publisher_disconnects", json_integer((json_int_t)p->disconnects));
    json_t *causes = wsf_json_checked(json_object());
    for (int i = 0; i < CHAOS_CAUSE_COUNT; i++) {
        wsf_json_set(causes, chaos_cause_name((enum chaos_cause)i),
                     json_integer((json_int_t)s->by_cause[i]));
    }
    wsf_json_set(j, "by_cause", causes);
    json_t *codes = wsf_json_checked(json_object());
    for (size_t i = 0; i < CHAOS_CHLOAD_CODES && t->codes[i] != 0; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%u", t->codes[i]);
        wsf_json_set(codes, key, json_integer((json_int_t)t->code_counts[i]));
    }
    if (t->codes_other > 0) {
        wsf_json_set(codes, "other", json_integer((json_int_t)t->codes_other));
    }
    wsf_json_set(j, "close_codes", codes);
    wsf_json_set(j, "reconnect_ms", chaos_wschan_hist_json(&s->reconnect_ms));
    char *text = json_dumps(j, JSON_COMPACT);
    if (text != NULL) {
        printf("%s\n", text);
        free(text);
    }
    fflush(stdout);
    json_decref(j);
}

static void chaos_wschan_print_line(const chaos_wschan *r)
{
    const chaos_wsload_opts *o = r->opts;
    const chaos_chload_totals *t = chaos_chload_get_totals(r->ch);
    const chaos_load_totals *s = chaos_load_get_totals(chaos_chload_subscribers(r->ch));
    double secs = r->t1 > r->t0 ? r->t1 - r->t0 : 0;
    printf("wsload mode=channels conns=%zu channels=%u publish_rate=%g secs=%.3f errors=%" PRIu64
           " published=%" PRIu64 " acked=%" PRIu64 " publish_errors=%" PRIu64 " deliveries=%" PRIu64
           " lost=%" PRIu64 " duplicated=%" PRIu64 " out_of_order=%" PRIu64
           " not_recovered=%" PRIu64 " data_errors=%" PRIu64 " not_subscribed=%" PRIu64
           " behind=%" PRIu64 " disconnects=%" PRIu64 " resumes=%" PRIu64 " resume_p50_ms=%" PRIu64
           " resume_p99_ms=%" PRIu64 "\n",
           o->load.connections, o->channels, o->publish_rate, secs, chaos_wschan_errors(t, s),
           t->published, t->acked, t->publish_errors, t->k.deliveries, t->k.lost, t->k.duplicated,
           t->k.out_of_order, t->k.not_recovered, t->k.data_errors, t->not_subscribed, t->behind,
           s->disconnects, t->resumes, wsf_hist_quantile(&t->resume_ms, 0.5),
           wsf_hist_quantile(&t->resume_ms, 0.99));
    fflush(stdout);
}

int chaos_wsload_run_channels(const chaos_wsload_opts *opts)
{
    chaos_wschan r;
    memset(&r, 0, sizeof(r));
    r.opts = opts;
    r.base = event_base_new();
    if (r.base == NULL) {
        fprintf(stderr, "wsload: event_base_new failed\n");
        return -1;
    }
    chaos_chload_opts co;
    chaos_chload_opts_init(&co);
    co.load = opts->load;
    co.channels = opts->channels;
    co.publish_rate = opts->publish_rate;
    snprintf(co.prefix, sizeof(co.prefix), "%s", opts->channel_prefix);
    r.ch = chaos_chload_new(r.base, &co, NULL);
    r.ev_duration = evtimer_new(r.base, chaos_wschan_on_duration, &r);
    r.ev_sigterm = evsignal_new(r.base, SIGTERM, chaos_wschan_on_signal, &r);
    r.ev_sigint = evsignal_new(r.base, SIGINT, chaos_wschan_on_signal, &r);
    event_add(r.ev_sigterm, NULL);
    event_add(r.ev_sigint, NULL);
    if (opts->duration > 0) {
        chaos_load_arm_ms(r.ev_duration, (uint64_t)(opts->duration * 1000.0 + 0.5));
    }
    r.t0 = chaos_proc_now();
    chaos_chload_start(r.ch);
    event_base_dispatch(r.base);
    if (r.t1 == 0) {
        r.t1 = chaos_proc_now();
    }
    const chaos_chload_totals *t = chaos_chload_get_totals(r.ch);
    const chaos_load_totals *s = chaos_load_get_totals(chaos_chload_subscribers(r.ch));
    if (opts->json) {
        chaos_wschan_print_json(&r);
    } else {
        chaos_wschan_print_line(&r);
    }
    int rc = chaos_wschan_errors(t, s) > 0 || r.aborted ? 1 : 0;
    chaos_chload_free(r.ch);
    event_free(r.ev_duration);
    event_free(r.ev_sigterm);
    event_free(r.ev_sigint);
    event_base_free(r.base);
    return rc;
}
