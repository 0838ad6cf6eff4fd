/* Per-worker history of Reports and the rates derived from it. */
#include "sup_stats.h"

#include <string.h>

void sup_stats_init(sup_stats *st)
{
    memset(st, 0, sizeof *st);
}

void sup_stats_reset(sup_stats *st)
{
    uint32_t resets = st->resets;
    sup_stats_init(st);
    st->resets = resets;
}

uint64_t sup_stats_errors(const wsf_report *r)
{
    return r->protocol_errors + r->internal_errors + r->failed_writes + r->handshakes_failed_server;
}

static void sup_stats_sample_of(sup_stats_sample *s, const wsf_report *r, uint64_t now_ms)
{
    s->t_ms = now_ms;
    s->seq = r->seq;
    s->connections_opened = r->connections_opened;
    s->connections_closed = r->connections_closed;
    s->handshakes_ok = r->handshakes_ok;
    s->handshakes_failed = r->handshakes_failed_client + r->handshakes_failed_busy +
                           r->handshakes_failed_timeout + r->handshakes_failed_server;
    s->messages_in = r->messages_in;
    s->messages_out = r->messages_out;
    s->bytes_in = r->bytes_in;
    s->bytes_out = r->bytes_out;
    s->errors = sup_stats_errors(r);
    s->cpu_time_us = r->cpu_time_us;
    s->connections_active = r->connections_active;
    s->loop_lag_us = r->loop_lag_us;
    s->rss_bytes = r->rss_bytes;
    s->accepting = r->accepting;
    s->draining = r->draining;
}

/* True if any cumulative counter of b is below a's: the worker's counters restarted. */
static bool sup_stats_went_back(const sup_stats_sample *a, const sup_stats_sample *b)
{
    return b->connections_opened < a->connections_opened ||
           b->connections_closed < a->connections_closed || b->handshakes_ok < a->handshakes_ok ||
           b->handshakes_failed < a->handshakes_failed || b->messages_in < a->messages_in ||
           b->messages_out < a->messages_out || b->bytes_in < a->bytes_in ||
           b->bytes_out < a->bytes_out || b->errors < a->errors || b->cpu_time_us < a->cpu_time_us;
}

size_t sup_stats_count(const sup_stats *st)
{
    return st->n;
}

const sup_stats_sample *sup_stats_at(const sup_stats *st, size_t i)
{
    if (i >= st->n)
        return NULL;
    return &st->ring[(st->head + i) % SUP_STATS_SAMPLES];
}

const sup_stats_sample *sup_stats_last(const sup_stats *st)
{
    return st->n == 0 ? NULL : sup_stats_at(st, st->n - 1);
}

static sup_stats_sample *sup_stats_slot(sup_stats *st, size_t i)
{
    return &st->ring[(st->head + i) % SUP_STATS_SAMPLES];
}

int sup_stats_add(sup_stats *st, const wsf_report *r, uint64_t now_ms)
{
    sup_stats_sample s;
    sup_stats_sample_of(&s, r, now_ms);
    const sup_stats_sample *last = sup_stats_last(st);
    bool reset = last == NULL || r->pid != st->pid || r->generation != st->generation;
    if (!reset) {
        if (s.seq <= last->seq || now_ms < last->t_ms)
            return SUP_STATS_IGNORED;
        reset = sup_stats_went_back(last, &s);
    }
    if (reset) {
        if (last != NULL)
            st->resets++;
        st->head = 0;
        st->n = 1;
        st->pid = r->pid;
        st->generation = r->generation;
        st->ring[0] = s;
        return last == NULL ? SUP_STATS_APPENDED : SUP_STATS_RESET;
    }
    /* The newest sample is provisional while it is within the resolution of its predecessor. */
    if (st->n >= 2 && last->t_ms - sup_stats_at(st, st->n - 2)->t_ms < SUP_STATS_RESOLUTION_MS) {
        *sup_stats_slot(st, st->n - 1) = s;
        return SUP_STATS_MERGED;
    }
    if (st->n == SUP_STATS_SAMPLES) {
        st->head = (st->head + 1) % SUP_STATS_SAMPLES;
        st->n--;
    }
    *sup_stats_slot(st, st->n) = s;
    st->n++;
    return SUP_STATS_APPENDED;
}

static double sup_rate(uint64_t a, uint64_t b, double span_s)
{
    return (double)(b - a) / span_s;
}

int sup_stats_rates_over(sup_stats_rates *out, const sup_stats *st, uint64_t window_ms)
{
    memset(out, 0, sizeof *out);
    if (st->n < 2)
        return -1;
    const sup_stats_sample *b = sup_stats_last(st);
    const sup_stats_sample *a = NULL;
    for (size_t i = 0; i + 1 < st->n; i++) {
        const sup_stats_sample *s = sup_stats_at(st, i);
        if (b->t_ms - s->t_ms <= window_ms) {
            a = s;
            break;
        }
    }
    if (a == NULL) /* only the newest is inside: use the one just before it */
        a = sup_stats_at(st, st->n - 2);
    if (b->t_ms <= a->t_ms)
        return -1;
    double span = (double)(b->t_ms - a->t_ms) / 1000.0;
    out->window_s = span;
    out->connections_opened = sup_rate(a->connections_opened, b->connections_opened, span);
    out->connections_closed = sup_rate(a->connections_closed, b->connections_closed, span);
    out->handshakes_ok = sup_rate(a->handshakes_ok, b->handshakes_ok, span);
    out->handshakes_failed = sup_rate(a->handshakes_failed, b->handshakes_failed, span);
    out->messages_in = sup_rate(a->messages_in, b->messages_in, span);
    out->messages_out = sup_rate(a->messages_out, b->messages_out, span);
    out->bytes_in = sup_rate(a->bytes_in, b->bytes_in, span);
    out->bytes_out = sup_rate(a->bytes_out, b->bytes_out, span);
    out->errors = sup_rate(a->errors, b->errors, span);
    out->cpu = sup_rate(a->cpu_time_us, b->cpu_time_us, span) / 1e6;
    return 0;
}

double sup_stats_rate(const sup_stats *st, enum sup_stat_counter which, uint64_t window_ms)
{
    sup_stats_rates r;
    if (sup_stats_rates_over(&r, st, window_ms) != 0)
        return 0.0;
    switch (which) {
    case SUP_STAT_CONNECTIONS_OPENED:
        return r.connections_opened;
    case SUP_STAT_CONNECTIONS_CLOSED:
        return r.connections_closed;
    case SUP_STAT_HANDSHAKES_OK:
        return r.handshakes_ok;
    case SUP_STAT_HANDSHAKES_FAILED:
        return r.handshakes_failed;
    case SUP_STAT_MESSAGES_IN:
        return r.messages_in;
    case SUP_STAT_MESSAGES_OUT:
        return r.messages_out;
    case SUP_STAT_BYTES_IN:
        return r.bytes_in;
    case SUP_STAT_BYTES_OUT:
        return r.bytes_out;
    case SUP_STAT_ERRORS:
        return r.errors;
    case SUP_STAT_CPU:
        return r.cpu;
    }
    return 0.0;
}

uint64_t sup_stats_age(const sup_stats *st, uint64_t now_ms)
{
    const sup_stats_sample *last = sup_stats_last(st);
    if (last == NULL)
        return UINT64_MAX;
    return now_ms > last->t_ms ? now_ms - last->t_ms : 0;
}
