/* A drill's [timeline] entries: the action table (names, words, options) and their parser. */
#include "chaos_timeline.h"

#include <stdio.h>
#include <string.h>

#include "chaos_value.h"
#include "wsf_fault.h"
#include "wsf_parse.h"

#define CHAOS_SLOT_MAX 255       /* slots a timeline may name */
#define CHAOS_WORKERS_MAX 256    /* scale and autoscale bounds, as wsfleetd allows */
#define CHAOS_FAULT_FOR_MS 10000 /* a fault's duration when for= is absent */
#define CHAOS_ARGS_MAX 8         /* words after the action's name */

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

const char *chaos_action_name(enum chaos_action_kind kind)
{
    if ((unsigned)kind >= CHAOS_NACTIONS)
        return NULL;
    return chaos_action_names[kind];
}

int chaos_timeline_when(chaos_action *a, const char *key, char *why, size_t why_len)
{
    char buf[128], *w[4];
    snprintf(buf, sizeof buf, "%s", key);
    int n = chaos_value_words(w, 4, buf);
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

int chaos_timeline_action(chaos_action *a, const char *value, char *why, size_t why_len)
{
    char buf[256], *w[CHAOS_ARGS_MAX + 1];
    snprintf(buf, sizeof buf, "%s", value);
    int n = chaos_value_words(w, CHAOS_ARGS_MAX + 1, buf);
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
