/* Circuit breaker of a worker slot: detectors, the [state][event] table, probes, blast radius. */
#include "sup_breaker.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Bookkeeping a transition does besides the caller's actions. */
enum sup_breaker_book {
    SUP_BK_ARM = 1 << 0,     /* times_opened++, open timer (and recycle at the cap) */
    SUP_BK_FORGET = 1 << 1,  /* window, streak, probes and deferral of the old state forgotten */
    SUP_BK_FORGIVE = 1 << 2, /* times_opened back to 0 */
    SUP_BK_DEFER = 1 << 3,   /* remember the deferral so it is logged once */
};

typedef struct sup_breaker_rule {
    unsigned char next;  /* enum sup_breaker_state */
    unsigned char acts;  /* enum sup_breaker_act */
    unsigned char books; /* enum sup_breaker_book */
} sup_breaker_rule;

#define SUP_CLOSED SUP_BREAKER_CLOSED
#define SUP_OPEN SUP_BREAKER_OPEN
#define SUP_HALF SUP_BREAKER_HALF_OPEN
#define SUP_EJECT (SUP_BREAKER_ACT_EJECT | SUP_BREAKER_ACT_LOG)
#define SUP_PROBE (SUP_BREAKER_ACT_PROBE | SUP_BREAKER_ACT_LOG)
#define SUP_CLOSE (SUP_BREAKER_ACT_CLOSE | SUP_BREAKER_ACT_LOG)

/* The whole state machine. An event that means nothing in a state keeps the state and does
 * nothing: a late sample, a stale timer, a detector while the probes decide. */
static const sup_breaker_rule sup_breaker_rules[SUP_BREAKER_NSTATES][SUP_BREAKER_NEVENTS] =
    {
        [SUP_BREAKER_CLOSED] =
            {
                [SUP_BREAKER_EV_DETECT] = {SUP_OPEN, SUP_EJECT, SUP_BK_ARM},
                [SUP_BREAKER_EV_DEFER] = {SUP_CLOSED, SUP_BREAKER_ACT_LOG, SUP_BK_DEFER},
                [SUP_BREAKER_EV_EXPIRE] = {SUP_CLOSED, 0, 0},
                [SUP_BREAKER_EV_PROBES_OK] = {SUP_CLOSED, 0, 0},
                [SUP_BREAKER_EV_PROBES_BAD] = {SUP_CLOSED, 0, 0},
                [SUP_BREAKER_EV_TRIP] = {SUP_OPEN, SUP_EJECT, SUP_BK_ARM},
                [SUP_BREAKER_EV_RESET] = {SUP_CLOSED, SUP_CLOSE, SUP_BK_FORGET | SUP_BK_FORGIVE},
                [SUP_BREAKER_EV_RECYCLED] = {SUP_CLOSED, 0, SUP_BK_FORGET},
            },
        [SUP_BREAKER_OPEN] =
            {
                [SUP_BREAKER_EV_DETECT] = {SUP_OPEN, 0, 0},
                [SUP_BREAKER_EV_DEFER] = {SUP_OPEN, 0, 0},
                [SUP_BREAKER_EV_EXPIRE] = {SUP_HALF, SUP_PROBE, 0},
                [SUP_BREAKER_EV_PROBES_OK] = {SUP_OPEN, 0, 0},
                [SUP_BREAKER_EV_PROBES_BAD] = {SUP_OPEN, 0, 0},
                [SUP_BREAKER_EV_TRIP] = {SUP_OPEN, 0, 0},
                [SUP_BREAKER_EV_RESET] = {SUP_CLOSED, SUP_CLOSE, SUP_BK_FORGET | SUP_BK_FORGIVE},
                [SUP_BREAKER_EV_RECYCLED] = {SUP_OPEN, 0, SUP_BK_FORGET},
            },
        [SUP_BREAKER_HALF_OPEN] =
            {
                [SUP_BREAKER_EV_DETECT] = {SUP_HALF, 0, 0},
                [SUP_BREAKER_EV_DEFER] = {SUP_HALF, 0, 0},
                [SUP_BREAKER_EV_EXPIRE] = {SUP_HALF, 0, 0},
                [SUP_BREAKER_EV_PROBES_OK] = {SUP_CLOSED, SUP_CLOSE, SUP_BK_FORGET},
                [SUP_BREAKER_EV_PROBES_BAD] = {SUP_OPEN, SUP_EJECT, SUP_BK_ARM},
                [SUP_BREAKER_EV_TRIP] = {SUP_OPEN, SUP_EJECT, SUP_BK_ARM},
                [SUP_BREAKER_EV_RESET] = {SUP_CLOSED, SUP_CLOSE, SUP_BK_FORGET | SUP_BK_FORGIVE},
                [SUP_BREAKER_EV_RECYCLED] = {SUP_HALF, 0, SUP_BK_FORGET},
            },
};

static const char *const sup_breaker_state_names[SUP_BREAKER_NSTATES] = {
    [SUP_BREAKER_CLOSED] = "closed",
    [SUP_BREAKER_OPEN] = "open",
    [SUP_BREAKER_HALF_OPEN] = "half_open",
};

void sup_breaker_policy_init(sup_breaker_policy *p)
{
    p->bucket_ms = 1000;
    p->window_ms = 10000;
    p->min_events = 20;
    p->failure_pct = 50;
    p->consecutive = 5;
    p->relative_min_workers = 5;
    p->relative_min_events = 100;
    p->relative_sigma = 1.9;
    p->relative_min_failure_pct = 1;
    p->base_open_ms = 30000;
    p->max_open_ms = 300000;
    p->jitter = 0.1;
    p->probes = 10;
    p->probe_failure_pct = 50;
    p->probe_weight_permille = 50;
    p->max_ejected_pct = 10;
    p->min_healthy_pct = 50;
    p->forgive_ms = 600000;
}

void sup_breaker_init(sup_breaker *b)
{
    memset(b, 0, sizeof *b);
    b->state = SUP_BREAKER_CLOSED;
}

const char *sup_breaker_state_name(enum sup_breaker_state st)
{
    if ((unsigned)st >= SUP_BREAKER_NSTATES)
        return "unknown";
    return sup_breaker_state_names[st];
}

unsigned sup_breaker_weight(const sup_breaker *b, const sup_breaker_policy *p)
{
    switch (b->state) {
    case SUP_BREAKER_OPEN:
        return 0;
    case SUP_BREAKER_HALF_OPEN:
        return p->probe_weight_permille;
    default:
        return SUP_BREAKER_FULL_WEIGHT;
    }
}

uint64_t sup_breaker_opened_at(const sup_breaker *b)
{
    return b->opened_at_ms;
}

uint32_t sup_breaker_times_opened(const sup_breaker *b)
{
    return b->times_opened;
}

static uint64_t sup_breaker_bucket_ms(const sup_breaker_policy *p)
{
    return p->bucket_ms ? p->bucket_ms : 1;
}

static uint64_t sup_breaker_nbuckets(const sup_breaker_policy *p)
{
    uint64_t nb = p->window_ms / sup_breaker_bucket_ms(p);
    if (nb < 1)
        nb = 1;
    return nb < SUP_BREAKER_MAX_BUCKETS ? nb : SUP_BREAKER_MAX_BUCKETS;
}

static void sup_breaker_record(sup_breaker *b, const sup_breaker_policy *p, uint64_t now_ms,
                               uint64_t events, uint64_t failures)
{
    uint64_t s = now_ms / sup_breaker_bucket_ms(p);
    sup_breaker_bucket *k = &b->ring[s % SUP_BREAKER_MAX_BUCKETS];
    if (k->stamp != s + 1) {
        k->stamp = s + 1;
        k->events = 0;
        k->failures = 0;
    }
    k->events += events;
    k->failures += failures;
}

void sup_breaker_window(uint64_t out[2], const sup_breaker *b, const sup_breaker_policy *p,
                        uint64_t now_ms)
{
    uint64_t s = now_ms / sup_breaker_bucket_ms(p);
    uint64_t nb = sup_breaker_nbuckets(p);
    out[0] = 0;
    out[1] = 0;
    for (size_t i = 0; i < SUP_BREAKER_MAX_BUCKETS; i++) {
        const sup_breaker_bucket *k = &b->ring[i];
        if (k->stamp == 0 || k->stamp - 1 > s || s - (k->stamp - 1) >= nb)
            continue;
        out[0] += k->events;
        out[1] += k->failures;
    }
}

/* failures / events, at most 1; 0 without events. */
static double sup_breaker_ratio(uint64_t failures, uint64_t events)
{
    if (events == 0)
        return 0.0;
    return failures >= events ? 1.0 : (double)failures / (double)events;
}

/* failures / events as a whole percentage, rounded down, at most 100. */
static unsigned sup_breaker_pct(uint64_t failures, uint64_t events)
{
    if (events == 0)
        return 0;
    return failures >= events ? 100u : (unsigned)(failures * 100 / events);
}

/* failures >= pct % of events, exactly. */
static bool sup_breaker_at_least(uint64_t failures, uint64_t events, unsigned pct)
{
    return failures * 100 >= (uint64_t)pct * events;
}

double sup_breaker_failure_rate(const sup_breaker *b, const sup_breaker_policy *p, uint64_t now_ms)
{
    uint64_t w[2];
    sup_breaker_window(w, b, p, now_ms);
    return sup_breaker_ratio(w[1], w[0]);
}

/* "10 s" or "500 ms", for reasons. */
static void sup_breaker_span(char *out, size_t cap, uint64_t ms)
{
    if (ms % 1000 == 0)
        snprintf(out, cap, "%" PRIu64 " s", ms / 1000);
    else
        snprintf(out, cap, "%" PRIu64 " ms", ms);
}

static double sup_breaker_clamp_rnd(double rnd)
{
    if (!(rnd >= 0.0)) /* also NaN */
        return 0.0;
    return rnd < 1.0 ? rnd : 0.999999;
}

/* Opens the breaker: the open time is base * times_opened capped at max (reaching the cap asks
 * for a recycle), times the jitter factor 1 + jitter * (2 * rnd - 1). */
static void sup_breaker_arm(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                            uint64_t now_ms, double rnd)
{
    if (b->times_opened < UINT32_MAX)
        b->times_opened++;
    b->opens_total++;
    uint64_t n = b->times_opened;
    uint64_t base = p->max_open_ms;
    if (p->base_open_ms == 0 || n <= p->max_open_ms / p->base_open_ms)
        base = p->base_open_ms * n;
    if (base >= p->max_open_ms) {
        base = p->max_open_ms;
        out->acts |= SUP_BREAKER_ACT_RECYCLE;
    }
    double factor = 1.0 + p->jitter * (2.0 * sup_breaker_clamp_rnd(rnd) - 1.0);
    if (factor < 0.0)
        factor = 0.0;
    out->open_ms = (uint64_t)((double)base * factor);
    b->opened_at_ms = now_ms;
    b->open_until_ms = now_ms + out->open_ms;
    b->hs_streak = 0;
    b->deferred = false;
}

static void sup_breaker_forget(sup_breaker *b)
{
    memset(b->ring, 0, sizeof b->ring);
    b->hs_streak = 0;
    b->probes = 0;
    b->probes_failed = 0;
    b->probe_events = 0;
    b->probe_failures = 0;
    b->deferred = false;
}

static void sup_breaker_copy_reason(char *dst, const char *reason)
{
    snprintf(dst, SUP_BREAKER_REASON_MAX, "%s", reason ? reason : "");
}

int sup_breaker_step(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                     enum sup_breaker_event ev, uint64_t now_ms, double rnd, const char *reason)
{
    if ((unsigned)ev >= SUP_BREAKER_NEVENTS || (unsigned)b->state >= SUP_BREAKER_NSTATES)
        return SUP_BREAKER_EINVAL;
    const sup_breaker_rule *r = &sup_breaker_rules[b->state][ev];
    memset(out, 0, sizeof *out);
    out->from = b->state;
    out->to = (enum sup_breaker_state)r->next;
    out->acts = r->acts;
    sup_breaker_copy_reason(out->reason, reason);

    if (r->books & SUP_BK_FORGET)
        sup_breaker_forget(b);
    if (r->books & SUP_BK_FORGIVE)
        b->times_opened = 0;
    if (r->books & SUP_BK_DEFER)
        b->deferred = true;
    if (r->books & SUP_BK_ARM)
        sup_breaker_arm(out, b, p, now_ms, rnd);
    if (out->to == SUP_BREAKER_HALF_OPEN && out->from != SUP_BREAKER_HALF_OPEN) {
        b->probes = 0;
        b->probes_failed = 0;
        b->probe_events = 0;
        b->probe_failures = 0;
    }
    if (out->to == SUP_BREAKER_CLOSED && out->from != SUP_BREAKER_CLOSED)
        b->closed_at_ms = now_ms;
    b->state = out->to;
    if (out->acts & SUP_BREAKER_ACT_PROBE)
        out->probes = p->probes;
    if (out->acts & SUP_BREAKER_ACT_LOG)
        sup_breaker_copy_reason(b->reason, reason);
    out->weight_permille = sup_breaker_weight(b, p);
    return 0;
}

/* The "nothing happened" result for the current state. */
static void sup_breaker_nothing(sup_breaker_actions *out, const sup_breaker *b,
                                const sup_breaker_policy *p)
{
    memset(out, 0, sizeof *out);
    out->from = b->state;
    out->to = b->state;
    out->weight_permille = sup_breaker_weight(b, p);
}

void sup_breaker_sample_from(sup_breaker_sample *out, const wsf_report *prev, const wsf_report *cur)
{
    bool fresh = prev == NULL || prev->pid != cur->pid || prev->generation != cur->generation ||
                 prev->handshakes_ok > cur->handshakes_ok ||
                 prev->handshakes_failed_server > cur->handshakes_failed_server ||
                 prev->messages_in > cur->messages_in ||
                 prev->internal_errors > cur->internal_errors ||
                 prev->failed_writes > cur->failed_writes;
    uint64_t ok = cur->handshakes_ok - (fresh ? 0 : prev->handshakes_ok);
    uint64_t hs_fail = cur->handshakes_failed_server - (fresh ? 0 : prev->handshakes_failed_server);
    uint64_t msgs = cur->messages_in - (fresh ? 0 : prev->messages_in);
    uint64_t internal = cur->internal_errors - (fresh ? 0 : prev->internal_errors);
    uint64_t writes = cur->failed_writes - (fresh ? 0 : prev->failed_writes);
    out->events = ok + hs_fail + msgs;
    out->failures = internal + writes + hs_fail;
    out->handshakes_ok = ok;
    out->handshakes_failed_server = hs_fail;
}

/* Half-open: are the probes in, or is the verdict already certain? Then close or re-open. */
static void sup_breaker_judge_probes(sup_breaker_actions *out, sup_breaker *b,
                                     const sup_breaker_policy *p, uint64_t now_ms, double rnd)
{
    bool certain = b->probes_failed > 0 &&
                   sup_breaker_at_least(b->probes_failed, p->probes, p->probe_failure_pct);
    if (b->probes < p->probes && !certain)
        return;
    bool probes_bad =
        b->probes > 0 && sup_breaker_at_least(b->probes_failed, b->probes, p->probe_failure_pct);
    bool events_bad =
        b->probe_events > 0 && b->probe_events >= p->min_events &&
        sup_breaker_at_least(b->probe_failures, b->probe_events, p->probe_failure_pct);
    char why[SUP_BREAKER_REASON_MAX];
    int len = snprintf(why, sizeof why, "probes: %" PRIu64 " of %" PRIu64 " failed",
                       b->probes_failed, b->probes);
    if (events_bad && !probes_bad && len > 0 && (size_t)len < sizeof why)
        snprintf(why + len, sizeof why - (size_t)len, ", but %u%% of %" PRIu64 " events",
                 sup_breaker_pct(b->probe_failures, b->probe_events), b->probe_events);
    enum sup_breaker_event ev =
        probes_bad || events_bad ? SUP_BREAKER_EV_PROBES_BAD : SUP_BREAKER_EV_PROBES_OK;
    sup_breaker_step(out, b, p, ev, now_ms, rnd, why);
}

int sup_breaker_feed(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                     const sup_breaker_sample *s, uint64_t now_ms, double rnd)
{
    sup_breaker_nothing(out, b, p);
    sup_breaker_record(b, p, now_ms, s->events, s->failures);
    /* A Report carries no order: a success anywhere in it breaks the run. */
    if (s->handshakes_ok > 0)
        b->hs_streak = 0;
    else
        b->hs_streak += s->handshakes_failed_server;

    if (b->state != SUP_BREAKER_HALF_OPEN)
        return 0;
    b->probes += s->handshakes_ok + s->handshakes_failed_server;
    b->probes_failed += s->handshakes_failed_server;
    b->probe_events += s->events;
    b->probe_failures += s->failures;
    sup_breaker_judge_probes(out, b, p, now_ms, rnd);
    return 0;
}

int sup_breaker_tick(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                     uint64_t now_ms)
{
    sup_breaker_nothing(out, b, p);
    if (b->state == SUP_BREAKER_OPEN && now_ms >= b->open_until_ms) {
        char span[32];
        char why[SUP_BREAKER_REASON_MAX];
        sup_breaker_span(span, sizeof span, b->open_until_ms - b->opened_at_ms);
        snprintf(why, sizeof why, "open for %s: probing with %" PRIu32 " connections", span,
                 p->probes);
        return sup_breaker_step(out, b, p, SUP_BREAKER_EV_EXPIRE, now_ms, 0.5, why);
    }
    if (b->state == SUP_BREAKER_CLOSED && b->times_opened > 0 && now_ms >= b->closed_at_ms &&
        now_ms - b->closed_at_ms >= p->forgive_ms)
        b->times_opened = 0;
    return 0;
}

int sup_breaker_trip(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                     uint64_t now_ms, double rnd)
{
    if (b->state == SUP_BREAKER_OPEN)
        return SUP_BREAKER_EALREADY;
    return sup_breaker_step(out, b, p, SUP_BREAKER_EV_TRIP, now_ms, rnd, "operator trip");
}

int sup_breaker_reset(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                      uint64_t now_ms)
{
    return sup_breaker_step(out, b, p, SUP_BREAKER_EV_RESET, now_ms, 0.5, "operator reset");
}

int sup_breaker_on_recycled(sup_breaker_actions *out, sup_breaker *b, const sup_breaker_policy *p,
                            uint64_t now_ms)
{
    return sup_breaker_step(out, b, p, SUP_BREAKER_EV_RECYCLED, now_ms, 0.5, "new worker");
}

/* The relative detector's bar over the closed slots with enough volume: mean - sigma * sd of
 * their success rates. False when too few slots qualify or they all do equally well. */
typedef struct sup_breaker_bar {
    bool active;
    double mean;
    double sd;
    double bar;
} sup_breaker_bar;

static sup_breaker_bar sup_breaker_relative_bar(sup_breaker *const *slots, size_t n,
                                                const sup_breaker_policy *p, uint64_t now_ms)
{
    sup_breaker_bar r = {0};
    size_t count = 0;
    double sum = 0.0;
    double sumsq = 0.0;
    for (size_t i = 0; i < n; i++) {
        uint64_t w[2];
        if (slots[i] == NULL || slots[i]->state != SUP_BREAKER_CLOSED)
            continue;
        sup_breaker_window(w, slots[i], p, now_ms);
        if (w[0] == 0 || w[0] < p->relative_min_events)
            continue;
        double success = 1.0 - sup_breaker_ratio(w[1], w[0]);
        count++;
        sum += success;
        sumsq += success * success;
    }
    if (count < 2 || count < p->relative_min_workers)
        return r;
    r.mean = sum / (double)count;
    double var = sumsq / (double)count - r.mean * r.mean;
    r.sd = var > 0.0 ? sqrt(var) : 0.0;
    r.bar = r.mean - p->relative_sigma * r.sd;
    r.active = r.sd > 1e-9;
    return r;
}

/* The detectors of a closed slot: writes the reason and returns true if one fires. */
static bool sup_breaker_detect(char *why, size_t cap, const sup_breaker *b,
                               const sup_breaker_policy *p, const sup_breaker_bar *bar,
                               uint64_t now_ms)
{
    uint64_t w[2];
    char span[32];
    sup_breaker_window(w, b, p, now_ms);
    if (w[0] > 0 && w[0] >= p->min_events && sup_breaker_at_least(w[1], w[0], p->failure_pct)) {
        sup_breaker_span(span, sizeof span, sup_breaker_nbuckets(p) * sup_breaker_bucket_ms(p));
        snprintf(why, cap, "rate %u%% of %" PRIu64 " events in %s", sup_breaker_pct(w[1], w[0]),
                 w[0], span);
        return true;
    }
    if (p->consecutive > 0 && b->hs_streak >= p->consecutive) {
        snprintf(why, cap, "%" PRIu64 " server-side handshake failures in a row", b->hs_streak);
        return true;
    }
    if (bar->active && w[0] > 0 && w[0] >= p->relative_min_events &&
        sup_breaker_at_least(w[1], w[0], p->relative_min_failure_pct)) {
        double success = 1.0 - sup_breaker_ratio(w[1], w[0]);
        if (success < bar->bar) {
            snprintf(why, cap, "success %.1f%% < mean %.1f%% - %.1f sigma (%.1f%%)",
                     success * 100.0, bar->mean * 100.0, p->relative_sigma, bar->sd * 100.0);
            return true;
        }
    }
    return false;
}

/* The closed slot the detectors flag with the highest failure rate (lowest index on a tie), or
 * n when none is left. */
static size_t sup_breaker_worst(char *why, size_t cap, sup_breaker *const *slots, size_t n,
                                const sup_breaker_policy *p, const sup_breaker_bar *bar,
                                uint64_t now_ms)
{
    size_t worst = n;
    double worst_rate = -1.0;
    char tmp[SUP_BREAKER_REASON_MAX];
    for (size_t i = 0; i < n; i++) {
        if (slots[i] == NULL || slots[i]->state != SUP_BREAKER_CLOSED)
            continue;
        if (!sup_breaker_detect(tmp, sizeof tmp, slots[i], p, bar, now_ms))
            continue;
        double rate = sup_breaker_failure_rate(slots[i], p, now_ms);
        if (rate > worst_rate) {
            worst = i;
            worst_rate = rate;
            snprintf(why, cap, "%s", tmp);
        }
    }
    return worst;
}

int sup_breaker_evaluate(sup_breaker_actions *out, sup_breaker *const *slots, size_t n,
                         size_t running, const sup_breaker_policy *p, uint64_t now_ms,
                         const double *rnd)
{
    size_t closed = 0;
    size_t ejected = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        if (slots[i] == NULL)
            continue;
        sup_breaker_tick(&out[i], slots[i], p, now_ms);
        if (slots[i]->state == SUP_BREAKER_CLOSED)
            closed++;
        else
            ejected++;
    }

    /* Blast radius: how many more may open now. */
    size_t limit = running * p->max_ejected_pct / 100;
    if (limit < 1)
        limit = 1;
    size_t healthy = (running * p->min_healthy_pct + 99) / 100;
    size_t room = ejected < limit ? limit - ejected : 0;
    size_t spare = closed > healthy ? closed - healthy : 0;
    if (room > spare)
        room = spare;

    /* Worst first while there is room; the bar is taken before anyone opens. */
    sup_breaker_bar bar = sup_breaker_relative_bar(slots, n, p, now_ms);
    char why[SUP_BREAKER_REASON_MAX];
    for (; room > 0; room--) {
        size_t i = sup_breaker_worst(why, sizeof why, slots, n, p, &bar, now_ms);
        if (i == n)
            break;
        sup_breaker_step(&out[i], slots[i], p, SUP_BREAKER_EV_DETECT, now_ms, rnd ? rnd[i] : 0.5,
                         why);
        ejected++;
    }

    /* The rest stay closed; a new deferral is logged once. */
    for (size_t i = 0; i < n; i++) {
        sup_breaker *b = slots[i];
        if (b == NULL || b->state != SUP_BREAKER_CLOSED || out[i].acts != 0)
            continue;
        if (!sup_breaker_detect(why, sizeof why, b, p, &bar, now_ms)) {
            b->deferred = false;
            continue;
        }
        if (b->deferred)
            continue;
        char msg[2 * SUP_BREAKER_REASON_MAX]; /* sup_breaker_step cuts it to size */
        snprintf(msg, sizeof msg,
                 "deferred, %zu of %zu running ejected (limit %zu, %zu must stay "
                 "closed): %s",
                 ejected, running, limit, healthy, why);
        sup_breaker_step(&out[i], b, p, SUP_BREAKER_EV_DEFER, now_ms, 0.5, msg);
    }

    int acted = 0;
    for (size_t i = 0; i < n; i++)
        acted += out[i].acts != 0;
    return acted;
}
