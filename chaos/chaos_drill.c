/* Drill files: the INI text through libinih into a chaos_drill, every value checked, with the
 * first problem reported as one line naming its line, section and key. */
#include "chaos_drill.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_drill_rpc.h"
#include "chaos_value.h"
#include "wsf_buf.h"
#include "wsf_fault.h"
#include "wsf_parse.h"

#define CHAOS_HOUR_MS UINT32_C(3600000)
#define CHAOS_SLOT_MAX 255           /* slots a timeline may name */
#define CHAOS_WORKERS_MAX 256        /* scale and autoscale bounds, as wsfleetd allows */
#define CHAOS_POP_MAX 100000         /* clients, in [load] and in the timeline */
#define CHAOS_FAULT_FOR_MS 10000     /* a fault's duration when for= is absent */
#define CHAOS_FILE_MAX (1024 * 1024) /* a drill file larger than this is not a drill */
#define CHAOS_ARGS_MAX 8             /* words after the action's name */

/* The keys of [drill] and [load]. */
enum chaos_key {
    K_DESCRIPTION,
    K_DURATION,
    K_QUICK_DURATION,
    K_TAIL,
    K_CLUSTER,
    K_CLIENTS,
    K_QUICK_CLIENTS,
    K_INFLIGHT,
    K_RATE,
    K_SIZE,
    K_SOURCES,
    K_OPEN_RATE,
    K_LIFETIME,
    K_SUBSCRIBERS,
    K_QUICK_SUBSCRIBERS,
    K_CHANNELS,
    K_PUBLISH_RATE,
    K_NKEYS
};

static const struct chaos_key_def {
    const char *section;
    const char *name;
} chaos_keys[K_NKEYS] = {
    [K_DESCRIPTION] = {"drill", "description"},
    [K_DURATION] = {"drill", "duration"},
    [K_QUICK_DURATION] = {"drill", "quick_duration"},
    [K_TAIL] = {"drill", "tail"},
    [K_CLUSTER] = {"drill", "cluster"},
    [K_CLIENTS] = {"load", "clients"},
    [K_QUICK_CLIENTS] = {"load", "quick_clients"},
    [K_INFLIGHT] = {"load", "inflight"},
    [K_RATE] = {"load", "rate"},
    [K_SIZE] = {"load", "size"},
    [K_SOURCES] = {"load", "sources"},
    [K_OPEN_RATE] = {"load", "open_rate"},
    [K_LIFETIME] = {"load", "lifetime"},
    [K_SUBSCRIBERS] = {"load", "subscribers"},
    [K_QUICK_SUBSCRIBERS] = {"load", "quick_subscribers"},
    [K_CHANNELS] = {"load", "channels"},
    [K_PUBLISH_RATE] = {"load", "publish_rate"},
};

static const char *const chaos_action_names[] = {
    [CHAOS_ACT_KILL] = "kill",
    [CHAOS_ACT_STOP] = "stop",
    [CHAOS_ACT_FAULT] = "fault",
    [CHAOS_ACT_CRASH_LOOP] = "crash-loop",
    [CHAOS_ACT_KILL_SUPERVISOR] = "kill-supervisor",
    [CHAOS_ACT_CLIENTS] = "clients",
    [CHAOS_ACT_SLOW_CLIENTS] = "slow-clients",
    [CHAOS_ACT_GARBAGE_CLIENTS] = "garbage-clients",
    [CHAOS_ACT_SCALE] = "scale",
    [CHAOS_ACT_RESTART] = "restart",
    [CHAOS_ACT_AUTOSCALE] = "autoscale",
    [CHAOS_ACT_KILL_BROKER] = "kill-broker",
    [CHAOS_ACT_RESTART_SUPERVISOR] = "restart-supervisor",
    [CHAOS_ACT_STOP_SUPERVISOR] = "stop-supervisor",
    [CHAOS_ACT_UPGRADE] = "upgrade",
    [CHAOS_ACT_KILL_BACKEND] = "kill-backend",
    [CHAOS_ACT_START_BACKEND] = "start-backend",
    [CHAOS_ACT_KILL_NATS_NODE] = "kill-nats-node",
    [CHAOS_ACT_KILL_HOST] = "kill-host",
};

#define CHAOS_NACTIONS (sizeof chaos_action_names / sizeof chaos_action_names[0])

/* The NAME=VALUE options an action may take. */
enum chaos_opt { O_RATE, O_MS, O_FOR, O_MIN, O_MAX, O_NOPTS };

static const char *const chaos_opt_names[O_NOPTS] = {"rate", "ms", "for", "min", "max"};

/* Per action: how many positional words it needs at least and at most, and its options. */
static const struct chaos_action_rule {
    unsigned min_words, max_words;
    unsigned opts; /* bit per enum chaos_opt */
} chaos_action_rules[CHAOS_NACTIONS] = {
    [CHAOS_ACT_KILL] = {1, 1, 0},
    [CHAOS_ACT_STOP] = {1, 1, 0},
    [CHAOS_ACT_FAULT] = {2, 2, 1u << O_RATE | 1u << O_MS | 1u << O_FOR},
    [CHAOS_ACT_CRASH_LOOP] = {1, 1, 1u << O_FOR},
    [CHAOS_ACT_KILL_SUPERVISOR] = {0, 0, 0},
    [CHAOS_ACT_CLIENTS] = {1, 1, 0},
    [CHAOS_ACT_SLOW_CLIENTS] = {1, 1, 0},
    [CHAOS_ACT_GARBAGE_CLIENTS] = {1, 1, 1u << O_RATE | 1u << O_FOR},
    [CHAOS_ACT_SCALE] = {1, 1, 0},
    [CHAOS_ACT_RESTART] = {1, 2, 0},
    [CHAOS_ACT_AUTOSCALE] = {1, 1, 1u << O_MIN | 1u << O_MAX},
    [CHAOS_ACT_KILL_BROKER] = {0, 0, 0},
    [CHAOS_ACT_RESTART_SUPERVISOR] = {0, 0, 0},
    [CHAOS_ACT_STOP_SUPERVISOR] = {1, 1, 0},
    [CHAOS_ACT_UPGRADE] = {0, 0, 0},
    [CHAOS_ACT_KILL_BACKEND] = {0, 0, 0},
    [CHAOS_ACT_START_BACKEND] = {0, 0, 0},
    [CHAOS_ACT_KILL_NATS_NODE] = {1, 1, 1u << O_FOR},
    [CHAOS_ACT_KILL_HOST] = {1, 1, 0},
};

static const char chaos_action_usage[] =
    "kill, stop, fault, crash-loop, kill-supervisor, clients, slow-clients, garbage-clients, "
    "scale, restart, autoscale, kill-broker, restart-supervisor, stop-supervisor, upgrade, "
    "kill-backend, start-backend, kill-nats-node or kill-host";

typedef struct chaos_parse {
    chaos_drill *d;
    const char *file; /* for messages; NULL when parsing a string */
    const char *rest; /* input not yet handed to inih */
    int line;         /* the line inih is on */
    bool failed;
    int err_line; /* the line the error is about, 0 if none */
    char *err;
    size_t err_len;
    int key_line[K_NKEYS]; /* where each [drill] and [load] key was set, 0 = not set */
    int action_line[CHAOS_ACTIONS_MAX];
    char fleet_section[64]; /* the section of the last key copied into fleet_ini */
    size_t fleet_len;
} chaos_parse;

const char *chaos_action_name(enum chaos_action_kind kind)
{
    if ((unsigned)kind >= CHAOS_NACTIONS)
        return NULL;
    return chaos_action_names[kind];
}

/* Records the first error only, after "FILE:LINE: " or "line LINE: " (FILE: when line is 0):
 * later errors are usually consequences. */
__attribute__((format(printf, 3, 4))) static void chaos_fail(chaos_parse *ps, int line,
                                                             const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = true;
    ps->err_line = line;
    if (ps->err_len == 0)
        return;
    int n = 0;
    if (line > 0 && ps->file != NULL)
        n = snprintf(ps->err, ps->err_len, "%s:%d: ", ps->file, line);
    else if (line > 0)
        n = snprintf(ps->err, ps->err_len, "line %d: ", line);
    else if (ps->file != NULL)
        n = snprintf(ps->err, ps->err_len, "%s: ", ps->file);
    if (n < 0 || (size_t)n >= ps->err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->err_len - (size_t)n, fmt, ap);
    va_end(ap);
}

/* "[section] key: why" at line (0: the drill as a whole). */
static void chaos_fail_at(chaos_parse *ps, int line, const char *section, const char *key,
                          const char *why)
{
    chaos_fail(ps, line, "[%s] %s: %s", section, key, why);
}

static int chaos_set_key(chaos_drill *d, enum chaos_key key, const char *value, char *why,
                         size_t why_len)
{
    uint64_t n = 0;
    switch (key) {
    case K_DESCRIPTION:
        if (strlen(value) >= sizeof d->description) {
            snprintf(why, why_len, "longer than %zu characters", sizeof d->description - 1);
            return -1;
        }
        snprintf(d->description, sizeof d->description, "%s", value);
        return 0;
    case K_DURATION:
        return chaos_value_dur_in(&d->duration_ms, value, 1000, CHAOS_HOUR_MS, why, why_len);
    case K_QUICK_DURATION:
        return chaos_value_dur_in(&d->quick_duration_ms, value, 1000, CHAOS_HOUR_MS, why, why_len);
    case K_TAIL:
        return chaos_value_dur_in(&d->tail_ms, value, 0, CHAOS_HOUR_MS, why, why_len);
    case K_CLUSTER:
        if (wsf_parse_u64(&n, value, 0, 1000) != 0 || (n != 0 && n != CHAOS_CLUSTER_NODES)) {
            snprintf(why, why_len, "'%s' is not 0 or %d (the nodes and fleets of scripts/cluster)",
                     value, CHAOS_CLUSTER_NODES);
            return -1;
        }
        d->cluster = (uint32_t)n;
        return 0;
    case K_CLIENTS:
    case K_QUICK_CLIENTS:
        if (chaos_value_count(&n, value, 1, CHAOS_POP_MAX, why, why_len) != 0)
            return -1;
        *(key == K_CLIENTS ? &d->clients : &d->quick_clients) = (size_t)n;
        return 0;
    case K_INFLIGHT:
        if (chaos_value_count(&n, value, 1, 1024, why, why_len) != 0)
            return -1;
        d->inflight = (uint32_t)n;
        return 0;
    case K_RATE:
        return chaos_value_real(&d->rate, value, 0.0, 100000.0, true, why, why_len);
    case K_SIZE:
        if (chaos_value_count(&n, value, 1, 16u << 20, why, why_len) != 0)
            return -1;
        d->size = (size_t)n;
        return 0;
    case K_SOURCES:
        if (chaos_value_count(&n, value, 1, 250, why, why_len) != 0)
            return -1;
        d->sources = (uint32_t)n;
        return 0;
    case K_OPEN_RATE:
        return chaos_value_real(&d->open_rate, value, 0.0, 1e6, false, why, why_len);
    case K_LIFETIME:
        return chaos_value_dur_in(&d->lifetime_ms, value, 100, CHAOS_HOUR_MS, why, why_len);
    case K_SUBSCRIBERS:
    case K_QUICK_SUBSCRIBERS:
        if (chaos_value_count(&n, value, 1, CHAOS_POP_MAX, why, why_len) != 0)
            return -1;
        *(key == K_SUBSCRIBERS ? &d->subscribers : &d->quick_subscribers) = (size_t)n;
        return 0;
    case K_CHANNELS:
        if (chaos_value_count(&n, value, 1, 10000, why, why_len) != 0)
            return -1;
        d->channels = (uint32_t)n;
        return 0;
    case K_PUBLISH_RATE:
        return chaos_value_real(&d->publish_rate, value, 0.0, 10000.0, false, why, why_len);
    case K_NKEYS:
        break;
    }
    return -1;
}

static void chaos_on_setting(chaos_parse *ps, const char *section, const char *name,
                             const char *value)
{
    char why[256];
    for (int k = 0; k < K_NKEYS; k++) {
        if (strcmp(chaos_keys[k].section, section) != 0 || strcmp(chaos_keys[k].name, name) != 0)
            continue;
        if (ps->key_line[k] != 0) {
            snprintf(why, sizeof why, "set twice (first on line %d)", ps->key_line[k]);
            chaos_fail_at(ps, ps->line, section, name, why);
        } else if (chaos_set_key(ps->d, (enum chaos_key)k, value, why, sizeof why) != 0) {
            chaos_fail_at(ps, ps->line, section, name, why);
        }
        ps->key_line[k] = ps->line;
        return;
    }
    chaos_fail_at(ps, ps->line, section, name,
                  strcmp(section, "drill") == 0
                      ? "unknown key (description, duration, quick_duration, tail, cluster)"
                      : "unknown key (clients, quick_clients, inflight, rate, size, sources, "
                        "open_rate, lifetime, subscribers, quick_subscribers, channels, "
                        "publish_rate)");
}

/* Splits s into at most max words separated by blanks, in place. Returns the count, or -1 when
 * there are more. */
static int chaos_split(char **words, int max, char *s)
{
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(s, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (n == max)
            return -1;
        words[n++] = w;
    }
    return n;
}

/* "5s", "every 10s" or "every 10s from 3s". */
static int chaos_parse_when(chaos_action *a, const char *key, char *why, size_t why_len)
{
    char buf[128], *w[4];
    snprintf(buf, sizeof buf, "%s", key);
    int n = chaos_split(w, 4, buf);
    int rc = -1;
    if (n == 1 && chaos_value_dur(&a->at_ms, w[0]) == 0)
        rc = 0;
    else if ((n == 2 || (n == 4 && strcmp(w[2], "from") == 0)) && strcmp(w[0], "every") == 0) {
        rc = chaos_value_dur_in(&a->every_ms, w[1], 1, CHAOS_HOUR_MS, why, why_len);
        a->at_ms = a->every_ms;
        if (rc == 0 && n == 4)
            rc = chaos_value_dur_in(&a->at_ms, w[3], 0, CHAOS_DAY_MS, why, why_len);
    } else {
        snprintf(why, why_len, "'%s' is not a time (5s, every 10s, every 10s from 3s)", key);
    }
    return rc;
}

/* random, all or a slot 0..255; a slot only when slot_only. */
static int chaos_parse_target(int *out, const char *s, bool slot_only, char *why, size_t why_len)
{
    uint64_t slot;
    if (!slot_only && strcmp(s, "random") == 0)
        *out = CHAOS_TARGET_RANDOM;
    else if (!slot_only && strcmp(s, "all") == 0)
        *out = CHAOS_TARGET_ALL;
    else if (wsf_parse_u64(&slot, s, 0, CHAOS_SLOT_MAX) == 0)
        *out = (int)slot;
    else {
        snprintf(why, why_len, "'%s' is not %s", s,
                 slot_only ? "a slot 0..255" : "a target (random, all or a slot 0..255)");
        return -1;
    }
    return 0;
}

static int chaos_set_opt(chaos_action *a, enum chaos_opt opt, const char *v, char *why,
                         size_t why_len)
{
    uint64_t n;
    switch (opt) {
    case O_RATE:
        if (a->kind == CHAOS_ACT_GARBAGE_CLIENTS)
            return chaos_value_real(&a->rate, v, 0.0, 1e6, true, why, why_len);
        return chaos_value_real(&a->rate, v, 0.0, 1e6, false, why, why_len);
    case O_MS:
        return chaos_value_ms(&a->ms, v, why, why_len);
    case O_FOR:
        return chaos_value_dur_in(&a->for_ms, v, 1, CHAOS_HOUR_MS, why, why_len);
    case O_MIN:
    case O_MAX:
        if (chaos_value_count(&n, v, 1, CHAOS_WORKERS_MAX, why, why_len) != 0)
            return -1;
        *(opt == O_MIN ? &a->min : &a->max) = (uint32_t)n;
        return 0;
    case O_NOPTS:
        break;
    }
    return -1;
}

/* The positional words of an action, after its name. */
static int chaos_set_words(chaos_action *a, char **w, int n, char *why, size_t why_len)
{
    uint64_t count;
    switch (a->kind) {
    case CHAOS_ACT_KILL:
    case CHAOS_ACT_STOP:
        return chaos_parse_target(&a->target, w[0], false, why, why_len);
    case CHAOS_ACT_RESTART:
        if (n == 2 && strcmp(w[1], "rolling") != 0) {
            snprintf(why, why_len, "'%s' is not 'rolling'", w[1]);
            return -1;
        }
        a->flag = n == 2;
        return chaos_parse_target(&a->target, w[0], false, why, why_len);
    case CHAOS_ACT_FAULT: {
        enum wsf_fault_kind kind;
        if (chaos_parse_target(&a->target, w[0], false, why, why_len) != 0)
            return -1;
        if (wsf_fault_parse(&kind, w[1]) != 0) {
            snprintf(why, why_len, "'%s' is not a fault (off, error, latency, hang, crash, memory)",
                     w[1]);
            return -1;
        }
        snprintf(a->fault, sizeof a->fault, "%s", w[1]);
        return 0;
    }
    case CHAOS_ACT_CRASH_LOOP:
        return chaos_parse_target(&a->target, w[0], true, why, why_len);
    case CHAOS_ACT_CLIENTS:
        if (chaos_value_count(&count, w[0], 0, CHAOS_POP_MAX, why, why_len) != 0)
            return -1;
        a->count = (uint32_t)count;
        return 0;
    case CHAOS_ACT_SLOW_CLIENTS:
    case CHAOS_ACT_GARBAGE_CLIENTS:
        if (chaos_value_count(&count, w[0], 1, CHAOS_POP_MAX, why, why_len) != 0)
            return -1;
        a->count = (uint32_t)count;
        return 0;
    case CHAOS_ACT_SCALE:
        if (chaos_value_count(&count, w[0], 1, CHAOS_WORKERS_MAX, why, why_len) != 0)
            return -1;
        a->count = (uint32_t)count;
        return 0;
    case CHAOS_ACT_AUTOSCALE:
        if (strcmp(w[0], "on") != 0 && strcmp(w[0], "off") != 0) {
            snprintf(why, why_len, "'%s' is not on or off", w[0]);
            return -1;
        }
        a->flag = strcmp(w[0], "on") == 0;
        return 0;
    case CHAOS_ACT_KILL_SUPERVISOR:
    case CHAOS_ACT_KILL_BROKER:
    case CHAOS_ACT_RESTART_SUPERVISOR:
    case CHAOS_ACT_UPGRADE:
    case CHAOS_ACT_KILL_BACKEND:
    case CHAOS_ACT_START_BACKEND:
        return 0;
    case CHAOS_ACT_STOP_SUPERVISOR:
        return chaos_value_dur_in(&a->for_ms, w[0], 1, CHAOS_HOUR_MS, why, why_len);
    case CHAOS_ACT_KILL_NATS_NODE:
        if (strcmp(w[0], "follower") == 0)
            a->target = CHAOS_NODE_FOLLOWER;
        else if (strcmp(w[0], "leader") == 0)
            a->target = CHAOS_NODE_LEADER;
        else if (wsf_parse_u64(&count, w[0], 1, CHAOS_CLUSTER_NODES) == 0)
            a->target = (int)count;
        else {
            snprintf(why, why_len, "'%s' is not a node (follower, leader, 1, 2 or 3)", w[0]);
            return -1;
        }
        return 0;
    case CHAOS_ACT_KILL_HOST:
        if (strlen(w[0]) != 1 || w[0][0] < 'a' || w[0][0] >= 'a' + CHAOS_CLUSTER_NODES) {
            snprintf(why, why_len, "'%s' is not a fleet of the cluster (a, b or c)", w[0]);
            return -1;
        }
        a->target = w[0][0] - 'a';
        return 0;
    }
    return -1;
}

/* "ACTION WORD... [NAME=VALUE]..." into a. */
static int chaos_parse_action(chaos_action *a, const char *value, char *why, size_t why_len)
{
    char buf[256], *w[CHAOS_ARGS_MAX + 1];
    snprintf(buf, sizeof buf, "%s", value);
    int n = chaos_split(w, CHAOS_ARGS_MAX + 1, buf);
    if (n < 0) {
        snprintf(why, why_len, "more than %d arguments", CHAOS_ARGS_MAX);
        return -1;
    }
    if (n == 0) {
        snprintf(why, why_len, "no action (%s)", chaos_action_usage);
        return -1;
    }
    size_t kind = 0;
    while (kind < CHAOS_NACTIONS && strcmp(chaos_action_names[kind], w[0]) != 0)
        kind++;
    if (kind == CHAOS_NACTIONS) {
        snprintf(why, why_len, "unknown action '%s' (%s)", w[0], chaos_action_usage);
        return -1;
    }
    a->kind = (enum chaos_action_kind)kind;
    const struct chaos_action_rule *rule = &chaos_action_rules[kind];
    char *words[CHAOS_ARGS_MAX];
    unsigned nwords = 0, seen = 0;
    for (int i = 1; i < n; i++) {
        char *eq = strchr(w[i], '=');
        if (eq == NULL) {
            if (nwords == rule->max_words) {
                snprintf(why, why_len, "%s: unexpected argument '%s'", w[0], w[i]);
                return -1;
            }
            words[nwords++] = w[i];
            continue;
        }
        *eq = '\0';
        unsigned opt = 0;
        while (opt < O_NOPTS && strcmp(chaos_opt_names[opt], w[i]) != 0)
            opt++;
        if (opt == O_NOPTS || (rule->opts & 1u << opt) == 0) {
            snprintf(why, why_len, "%s: unknown argument '%s='", w[0], w[i]);
            return -1;
        }
        if (seen & 1u << opt) {
            snprintf(why, why_len, "%s: %s= given twice", w[0], w[i]);
            return -1;
        }
        seen |= 1u << opt;
        char owhy[160];
        if (chaos_set_opt(a, (enum chaos_opt)opt, eq + 1, owhy, sizeof owhy) != 0) {
            snprintf(why, why_len, "%s: %s=: %s", w[0], w[i], owhy);
            return -1;
        }
    }
    if (nwords < rule->min_words) {
        snprintf(why, why_len, "%s needs %u argument%s", w[0], rule->min_words,
                 rule->min_words == 1 ? "" : "s");
        return -1;
    }
    char wwhy[160];
    if (chaos_set_words(a, words, (int)nwords, wwhy, sizeof wwhy) != 0) {
        snprintf(why, why_len, "%s: %s", w[0], wwhy);
        return -1;
    }
    if (a->kind == CHAOS_ACT_FAULT) {
        enum wsf_fault_kind fk;
        (void)wsf_fault_parse(&fk, a->fault);
        const char *bad =
            wsf_fault_check(fk, a->rate, a->ms, a->for_ms != 0 ? a->for_ms : CHAOS_FAULT_FOR_MS);
        if (bad != NULL) {
            snprintf(why, why_len, "fault: %s", bad);
            return -1;
        }
    }
    if (a->kind == CHAOS_ACT_AUTOSCALE && a->min != 0 && a->max != 0 && a->min > a->max) {
        snprintf(why, why_len, "autoscale: min=%u is above max=%u", a->min, a->max);
        return -1;
    }
    return 0;
}

static void chaos_on_timeline(chaos_parse *ps, const char *name, const char *value)
{
    char why[320];
    chaos_drill *d = ps->d;
    if (d->n_actions == CHAOS_ACTIONS_MAX) {
        snprintf(why, sizeof why, "more than %d actions", CHAOS_ACTIONS_MAX);
        chaos_fail_at(ps, ps->line, "timeline", name, why);
        return;
    }
    chaos_action a = {.target = 0};
    if (chaos_parse_when(&a, name, why, sizeof why) != 0 ||
        chaos_parse_action(&a, value, why, sizeof why) != 0) {
        chaos_fail_at(ps, ps->line, "timeline", name, why);
        return;
    }
    int len = snprintf(a.text, sizeof a.text, "%s = %s", name, value);
    if (len < 0 || (size_t)len >= sizeof a.text) {
        snprintf(why, sizeof why, "longer than %zu characters", sizeof a.text - 1);
        chaos_fail_at(ps, ps->line, "timeline", name, why);
        return;
    }
    ps->action_line[d->n_actions] = ps->line;
    d->actions[d->n_actions++] = a;
}

static bool chaos_ends_with(const char *s, const char *suffix)
{
    size_t len = strlen(s), slen = strlen(suffix);
    return len >= slen && strcmp(s + len - slen, suffix) == 0;
}

static void chaos_on_objective(chaos_parse *ps, const char *name, const char *value)
{
    char why[256], buf[128], *w[2];
    chaos_drill *d = ps->d;
    snprintf(buf, sizeof buf, "%s", name);
    int n = chaos_split(w, 2, buf);
    if (n != 2) {
        chaos_fail_at(ps, ps->line, "objectives", name, "not 'max METRIC' or 'min METRIC'");
        return;
    }
    chaos_objective o = {.bound = CHAOS_BOUND_MAX};
    if (strcmp(w[0], "min") == 0) {
        o.bound = CHAOS_BOUND_MIN;
    } else if (strcmp(w[0], "max") != 0) {
        snprintf(why, sizeof why, "'%s' is not max or min", w[0]);
        chaos_fail_at(ps, ps->line, "objectives", name, why);
        return;
    }
    int metric = chaos_metric_lookup(w[1]);
    if (metric < 0) {
        snprintf(why, sizeof why, "unknown metric '%s'", w[1]);
        chaos_fail_at(ps, ps->line, "objectives", name, why);
        return;
    }
    o.metric = (enum chaos_metric_id)metric;
    size_t vlen = strlen(value);
    bool unit = vlen > 0 && ((value[vlen - 1] >= 'a' && value[vlen - 1] <= 'z') ||
                             (value[vlen - 1] >= 'A' && value[vlen - 1] <= 'Z'));
    if (unit && chaos_ends_with(w[1], "_ms")) {
        uint32_t ms;
        if (chaos_value_dur_in(&ms, value, 0, CHAOS_DAY_MS, why, sizeof why) != 0) {
            chaos_fail_at(ps, ps->line, "objectives", name, why);
            return;
        }
        o.limit = ms;
    } else if (chaos_value_num(&o.limit, value) != 0) {
        snprintf(why, sizeof why, "'%s' is not a number%s", value,
                 chaos_ends_with(w[1], "_ms") ? " or a duration" : "");
        chaos_fail_at(ps, ps->line, "objectives", name, why);
        return;
    }
    for (size_t i = 0; i < d->n_objectives; i++) {
        if (d->objectives[i].metric == o.metric && d->objectives[i].bound == o.bound) {
            chaos_fail_at(ps, ps->line, "objectives", name, "given twice");
            return;
        }
    }
    if (d->n_objectives == CHAOS_OBJECTIVES_MAX) {
        snprintf(why, sizeof why, "more than %d objectives", CHAOS_OBJECTIVES_MAX);
        chaos_fail_at(ps, ps->line, "objectives", name, why);
        return;
    }
    snprintf(o.text, sizeof o.text, "%s %s = %.15g", w[0], w[1], o.limit);
    d->objectives[d->n_objectives++] = o;
}

/* Appends "[section]\n" when the section changes, then "name = value\n". */
static void chaos_on_fleet(chaos_parse *ps, const char *section, const char *name,
                           const char *value)
{
    chaos_drill *d = ps->d;
    if (strcmp(name, "listen") == 0 || strcmp(name, "run_dir") == 0) {
        chaos_fail_at(ps, ps->line, section, name, "set by the runner, not by a drill");
        return;
    }
    if (strlen(section) >= sizeof ps->fleet_section) {
        chaos_fail_at(ps, ps->line, section, name, "section name too long");
        return;
    }
    size_t room = sizeof d->fleet_ini - ps->fleet_len;
    int len = 0;
    if (strcmp(section, ps->fleet_section) != 0)
        len = snprintf(d->fleet_ini + ps->fleet_len, room, "[%s]\n%s = %s\n", section, name, value);
    else
        len = snprintf(d->fleet_ini + ps->fleet_len, room, "%s = %s\n", name, value);
    if (len < 0 || (size_t)len >= room) {
        d->fleet_ini[ps->fleet_len] = '\0';
        char why[128];
        snprintf(why, sizeof why, "the wsfleetd sections exceed %zu bytes",
                 sizeof d->fleet_ini - 1);
        chaos_fail_at(ps, ps->line, section, name, why);
        return;
    }
    ps->fleet_len += (size_t)len;
    snprintf(ps->fleet_section, sizeof ps->fleet_section, "%s", section);
}

static int chaos_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    chaos_parse *ps = user;
    char why[160];
    if (ps->failed)
        return 1;
    if (section[0] == '\0') {
        chaos_fail(ps, ps->line, "%s: key outside any section (start with [drill])", name);
        return 0;
    }
    if (strcmp(section, "drill") == 0 || strcmp(section, "load") == 0)
        chaos_on_setting(ps, section, name, value);
    else if (strcmp(section, "timeline") == 0)
        chaos_on_timeline(ps, name, value);
    else if (strcmp(section, "objectives") == 0)
        chaos_on_objective(ps, name, value);
    else if (strcmp(section, "rpc") == 0 && chaos_rpc_key(ps->d, name, value, why, sizeof why) != 0)
        chaos_fail_at(ps, ps->line, section, name, why);
    else if (strcmp(section, "rpc") == 0)
        return 1;
    else
        chaos_on_fleet(ps, section, name, value);
    return ps->failed ? 0 : 1;
}

/* Hands inih one line of the text at a time, counting lines and refusing those longer than
 * inih's buffer (which it would otherwise split into two). */
static char *chaos_ini_reader(char *str, int num, void *stream)
{
    chaos_parse *ps = stream;
    if (*ps->rest == '\0')
        return NULL;
    const char *nl = strchr(ps->rest, '\n');
    size_t len = nl != NULL ? (size_t)(nl - ps->rest) + 1 : strlen(ps->rest);
    ps->line++;
    if (len > (size_t)num - 1) {
        chaos_fail(ps, ps->line, "line longer than %d characters", num - 2);
        str[0] = '\0';
    } else {
        memcpy(str, ps->rest, len);
        str[len] = '\0';
    }
    ps->rest += len;
    return str;
}

/* What only the whole drill shows: required keys, pairs of keys, actions past the end. */
static void chaos_check_drill(chaos_parse *ps)
{
    chaos_drill *d = ps->d;
    char why[160];
    if (ps->key_line[K_DURATION] == 0)
        chaos_fail_at(ps, 0, "drill", "duration", "missing (the timeline's length, e.g. 30s)");
    else if (ps->key_line[K_CLIENTS] == 0)
        chaos_fail_at(ps, 0, "load", "clients", "missing (how many echo clients, e.g. 1000)");
    if (ps->failed)
        return;
    if (d->quick_duration_ms > d->duration_ms) {
        snprintf(why, sizeof why, "%g s is longer than [drill] duration (%g s)",
                 d->quick_duration_ms / 1000.0, d->duration_ms / 1000.0);
        chaos_fail_at(ps, ps->key_line[K_QUICK_DURATION], "drill", "quick_duration", why);
    } else if (d->quick_clients > d->clients) {
        snprintf(why, sizeof why, "%zu is more than [load] clients (%zu)", d->quick_clients,
                 d->clients);
        chaos_fail_at(ps, ps->key_line[K_QUICK_CLIENTS], "load", "quick_clients", why);
    } else if (d->quick_subscribers > d->subscribers) {
        snprintf(why, sizeof why, "%zu is more than [load] subscribers (%zu)", d->quick_subscribers,
                 d->subscribers);
        chaos_fail_at(ps, ps->key_line[K_QUICK_SUBSCRIBERS], "load", "quick_subscribers", why);
    } else if (d->subscribers == 0 &&
               (ps->key_line[K_CHANNELS] != 0 || ps->key_line[K_PUBLISH_RATE] != 0)) {
        int line =
            ps->key_line[K_CHANNELS] != 0 ? ps->key_line[K_CHANNELS] : ps->key_line[K_PUBLISH_RATE];
        chaos_fail_at(ps, line, "load", ps->key_line[K_CHANNELS] != 0 ? "channels" : "publish_rate",
                      "needs [load] subscribers (the channel clients)");
    }
    if (d->cluster != 0 && d->fleet_ini[0] != '\0' && !ps->failed) {
        chaos_fail_at(ps, ps->key_line[K_CLUSTER], "drill", "cluster",
                      "the cluster's fleets take scripts/cluster's configuration: no wsfleetd "
                      "sections beside it");
    } else if (d->cluster != 0 && d->rpc_clients > 0 && !ps->failed) {
        chaos_fail_at(ps, ps->key_line[K_CLUSTER], "drill", "cluster", "no [rpc] beside it");
    }
    for (size_t i = 0; i < d->n_actions && !ps->failed; i++) {
        const chaos_action *a = &d->actions[i];
        bool needs_cluster = a->kind == CHAOS_ACT_KILL_NATS_NODE || a->kind == CHAOS_ACT_KILL_HOST;
        if (needs_cluster != (d->cluster != 0) &&
            (needs_cluster || (a->kind != CHAOS_ACT_CLIENTS))) {
            snprintf(why, sizeof why, "%s %s", chaos_action_name(a->kind),
                     needs_cluster ? "needs [drill] cluster = 3"
                                   : "acts on a fleet of the drill's own, not on [drill] cluster");
            chaos_fail_at(ps, ps->action_line[i], "timeline", chaos_action_name(a->kind), why);
            break;
        }
        if (a->at_ms < d->duration_ms)
            continue;
        size_t klen = strcspn(a->text, "=");
        while (klen > 0 && a->text[klen - 1] == ' ')
            klen--;
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)klen, a->text);
        snprintf(why, sizeof why, "at %g s, not before the end of the timeline (%g s)",
                 a->at_ms / 1000.0, d->duration_ms / 1000.0);
        chaos_fail_at(ps, ps->action_line[i], "timeline", key, why);
    }
}

static void chaos_drill_defaults(chaos_drill *d)
{
    memset(d, 0, sizeof *d);
    d->tail_ms = 10000;
    d->inflight = 1;
    d->publish_rate = -1;
    d->rpc_rate = 2;
    d->size = 20;
    d->sources = 1;
}

/* Parses text into *d (set only on success); file names the source in messages, or NULL. */
static int chaos_drill_parse(chaos_drill *d, const char *name, const char *text, const char *file,
                             char *err, size_t err_len)
{
    chaos_drill *tmp = wsf_xmalloc(sizeof *tmp);
    chaos_parse ps = {.d = tmp, .file = file, .rest = text, .err = err, .err_len = err_len};
    if (err_len > 0)
        err[0] = '\0';
    chaos_drill_defaults(tmp);
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen >= sizeof tmp->name) {
        chaos_fail(&ps, 0, "drill name '%s' is empty or longer than %zu characters", name,
                   sizeof tmp->name - 1);
        goto out;
    }
    memcpy(tmp->name, name, nlen + 1);
    int rc = ini_parse_stream(chaos_ini_reader, &ps, chaos_ini_handler, &ps);
    if (rc > 0 && ps.failed && rc < ps.err_line)
        ps.failed = false; /* an earlier line inih itself could not parse wins */
    if (rc > 0 && !ps.failed)
        chaos_fail(&ps, rc, "syntax error: expected [section], key = value or a comment");
    else if (rc < 0)
        chaos_fail(&ps, 0, "cannot parse (out of memory)");
    if (!ps.failed)
        chaos_check_drill(&ps);
    if (!ps.failed)
        memcpy(d, tmp, sizeof *d);
out:
    free(tmp);
    return ps.failed ? -1 : 0;
}

int chaos_drill_parse_string(chaos_drill *d, const char *name, const char *text, char *err,
                             size_t err_len)
{
    return chaos_drill_parse(d, name, text, NULL, err, err_len);
}

__attribute__((format(printf, 3, 4))) static int chaos_load_fail(char *err, size_t err_len,
                                                                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err_len > 0)
        vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

int chaos_drill_load(chaos_drill *d, const char *path, char *err, size_t err_len)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t blen = strlen(base), slen = strlen(".drill");
    if (blen <= slen || !chaos_ends_with(base, ".drill"))
        return chaos_load_fail(err, err_len, "%s: not a drill file (the name must end in .drill)",
                               path);
    char name[CHAOS_NAME_MAX];
    if (blen - slen >= sizeof name)
        return chaos_load_fail(err, err_len, "%s: drill name longer than %zu characters", path,
                               sizeof name - 1);
    memcpy(name, base, blen - slen);
    name[blen - slen] = '\0';

    FILE *f = fopen(path, "r");
    if (f == NULL)
        return chaos_load_fail(err, err_len, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *text = wsf_xmalloc(cap);
    int rc = -1;
    for (;;) {
        if (cap - len < 2) {
            if (cap > CHAOS_FILE_MAX) {
                chaos_load_fail(err, err_len, "%s: larger than %d bytes", path, CHAOS_FILE_MAX);
                goto out;
            }
            cap *= 2;
            text = wsf_xrealloc(text, cap);
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        chaos_load_fail(err, err_len, "%s: read error", path);
        goto out;
    }
    text[len] = '\0';
    if (strlen(text) != len) {
        chaos_load_fail(err, err_len, "%s: contains a NUL byte", path);
        goto out;
    }
    rc = chaos_drill_parse(d, name, text, path, err, err_len);
out:
    fclose(f);
    free(text);
    return rc;
}
