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
#include "chaos_timeline.h"
#include "chaos_value.h"
#include "wsf_buf.h"
#include "wsf_fault.h"
#include "wsf_parse.h"

#define CHAOS_FILE_MAX (1024 * 1024) /* a drill file larger than this is not a drill */

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
    if (chaos_timeline_when(&a, name, why, sizeof why) != 0 ||
        chaos_timeline_action(&a, value, why, sizeof why) != 0) {
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
    int n = chaos_value_words(w, 2, buf);
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
