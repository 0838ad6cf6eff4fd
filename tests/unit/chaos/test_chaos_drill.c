/* Unit tests for chaos/chaos_drill.c and chaos/chaos_metric.c: a full drill into its exact fields,
 * the defaults, each refused line with the message naming it, and loading from a file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos_drill.h"
#include "chaos_timeline.h"

Suite *chaos_drill_suite(void);

#define ERR_MAX 512

static const char full_drill[] = "; a drill with a bit of everything\n"
                                 "[drill]\n"
                                 "description = SIGKILL a random worker every 10 s\n"
                                 "duration = 2m\n"
                                 "quick_duration = 30s\n"
                                 "tail = 1.5s\n"
                                 "\n"
                                 "[load]\n"
                                 "clients = 2000\n"
                                 "quick_clients = 500\n"
                                 "inflight = 4\n"
                                 "rate = 2.5\n"
                                 "size = 1024\n"
                                 "sources = 4\n"
                                 "open_rate = 500\n"
                                 "lifetime = 2500ms\n"
                                 "\n"
                                 "[workers]\n"
                                 "count = 4\n"
                                 "hang_timeout = 3\n"
                                 "[restart]\n"
                                 "base_delay = 0.1\n"
                                 "\n"
                                 "[timeline]\n"
                                 "5s = kill random\n"
                                 "every 10s = stop 3\n"
                                 "every 20s from 3s = fault all error rate=0.25 for=5s\n"
                                 "250ms = fault 7 latency ms=200\n"
                                 "1m = crash-loop 2 for=30s\n"
                                 "61s = kill-supervisor\n"
                                 "62s = clients 100\n"
                                 "63s = slow-clients 10\n"
                                 "64s = garbage-clients 50 rate=20 for=10s\n"
                                 "65s = scale 8\n"
                                 "66s = restart all rolling\n"
                                 "67s = restart 1\n"
                                 "68s = autoscale on min=2 max=6\n"
                                 "69s = autoscale off\n"
                                 "0s = fault random crash\n"
                                 "70s = upgrade\n"
                                 "\n"
                                 "[objectives]\n"
                                 "max other_disconnects = 0\n"
                                 "max reconnect_p99_ms = 5s\n"
                                 "max  latency_p50_ms = 0.5\n"
                                 "min workers_min = 3\n"
                                 "max reconnect_max_ms = 250ms\n"
                                 "\n"
                                 "[worker]\n"
                                 "max_backlog = 65536\n"
                                 "[workers]\n"
                                 "kill_grace = 1\n";

START_TEST(full)
{
    chaos_drill d;
    char err[ERR_MAX];
    ck_assert_int_eq(chaos_drill_parse_string(&d, "kill-one", full_drill, err, sizeof err), 0);
    ck_assert_str_eq(err, "");
    ck_assert_str_eq(d.name, "kill-one");
    ck_assert_str_eq(d.description, "SIGKILL a random worker every 10 s");
    ck_assert_uint_eq(d.duration_ms, 120000);
    ck_assert_uint_eq(d.quick_duration_ms, 30000);
    ck_assert_uint_eq(d.tail_ms, 1500);
    ck_assert_uint_eq(d.clients, 2000);
    ck_assert_uint_eq(d.quick_clients, 500);
    ck_assert_uint_eq(d.inflight, 4);
    ck_assert_double_eq(d.rate, 2.5);
    ck_assert_uint_eq(d.size, 1024);
    ck_assert_uint_eq(d.sources, 4);
    ck_assert_double_eq(d.open_rate, 500.0);
    ck_assert_uint_eq(d.lifetime_ms, 2500);
    ck_assert_str_eq(d.fleet_ini, "[workers]\n"
                                  "count = 4\n"
                                  "hang_timeout = 3\n"
                                  "[restart]\n"
                                  "base_delay = 0.1\n"
                                  "[worker]\n"
                                  "max_backlog = 65536\n"
                                  "[workers]\n"
                                  "kill_grace = 1\n");

    ck_assert_uint_eq(d.n_actions, 16);
    const chaos_action *a = d.actions;
    ck_assert_int_eq(a[0].kind, CHAOS_ACT_KILL);
    ck_assert_uint_eq(a[0].at_ms, 5000);
    ck_assert_uint_eq(a[0].every_ms, 0);
    ck_assert_int_eq(a[0].target, CHAOS_TARGET_RANDOM);
    ck_assert_str_eq(a[0].text, "5s = kill random");

    ck_assert_int_eq(a[1].kind, CHAOS_ACT_STOP);
    ck_assert_uint_eq(a[1].at_ms, 10000);
    ck_assert_uint_eq(a[1].every_ms, 10000);
    ck_assert_int_eq(a[1].target, 3);
    ck_assert_str_eq(a[1].text, "every 10s = stop 3");

    ck_assert_int_eq(a[2].kind, CHAOS_ACT_FAULT);
    ck_assert_uint_eq(a[2].at_ms, 3000);
    ck_assert_uint_eq(a[2].every_ms, 20000);
    ck_assert_int_eq(a[2].target, CHAOS_TARGET_ALL);
    ck_assert_str_eq(a[2].fault, "error");
    ck_assert_double_eq(a[2].rate, 0.25);
    ck_assert_uint_eq(a[2].for_ms, 5000);
    ck_assert_str_eq(a[2].text, "every 20s from 3s = fault all error rate=0.25 for=5s");

    ck_assert_int_eq(a[3].kind, CHAOS_ACT_FAULT);
    ck_assert_uint_eq(a[3].at_ms, 250);
    ck_assert_int_eq(a[3].target, 7);
    ck_assert_str_eq(a[3].fault, "latency");
    ck_assert_uint_eq(a[3].ms, 200);
    ck_assert_uint_eq(a[3].for_ms, 0); /* the default */

    ck_assert_int_eq(a[4].kind, CHAOS_ACT_CRASH_LOOP);
    ck_assert_uint_eq(a[4].at_ms, 60000);
    ck_assert_int_eq(a[4].target, 2);
    ck_assert_uint_eq(a[4].for_ms, 30000);

    ck_assert_int_eq(a[5].kind, CHAOS_ACT_KILL_SUPERVISOR);
    ck_assert_uint_eq(a[5].at_ms, 61000);

    ck_assert_int_eq(a[6].kind, CHAOS_ACT_CLIENTS);
    ck_assert_uint_eq(a[6].count, 100);
    ck_assert_int_eq(a[7].kind, CHAOS_ACT_SLOW_CLIENTS);
    ck_assert_uint_eq(a[7].count, 10);

    ck_assert_int_eq(a[8].kind, CHAOS_ACT_GARBAGE_CLIENTS);
    ck_assert_uint_eq(a[8].count, 50);
    ck_assert_double_eq(a[8].rate, 20.0);
    ck_assert_uint_eq(a[8].for_ms, 10000);

    ck_assert_int_eq(a[9].kind, CHAOS_ACT_SCALE);
    ck_assert_uint_eq(a[9].count, 8);

    ck_assert_int_eq(a[10].kind, CHAOS_ACT_RESTART);
    ck_assert_int_eq(a[10].target, CHAOS_TARGET_ALL);
    ck_assert(a[10].flag);
    ck_assert_int_eq(a[11].kind, CHAOS_ACT_RESTART);
    ck_assert_int_eq(a[11].target, 1);
    ck_assert(!a[11].flag);

    ck_assert_int_eq(a[12].kind, CHAOS_ACT_AUTOSCALE);
    ck_assert(a[12].flag);
    ck_assert_uint_eq(a[12].min, 2);
    ck_assert_uint_eq(a[12].max, 6);
    ck_assert_int_eq(a[13].kind, CHAOS_ACT_AUTOSCALE);
    ck_assert(!a[13].flag);
    ck_assert_uint_eq(a[13].min, 0);
    ck_assert_uint_eq(a[13].max, 0);

    ck_assert_int_eq(a[14].kind, CHAOS_ACT_FAULT);
    ck_assert_uint_eq(a[14].at_ms, 0);
    ck_assert_int_eq(a[14].target, CHAOS_TARGET_RANDOM);
    ck_assert_str_eq(a[14].fault, "crash");
    ck_assert_int_eq(a[15].kind, CHAOS_ACT_UPGRADE);
    ck_assert_uint_eq(a[15].at_ms, 70000);

    ck_assert_uint_eq(d.n_objectives, 5);
    const chaos_objective *o = d.objectives;
    ck_assert_int_eq(o[0].metric, CHAOS_M_OTHER_DISCONNECTS);
    ck_assert_int_eq(o[0].bound, CHAOS_BOUND_MAX);
    ck_assert_double_eq(o[0].limit, 0.0);
    ck_assert_str_eq(o[0].text, "max other_disconnects = 0");
    ck_assert_int_eq(o[1].metric, CHAOS_M_RECONNECT_P99_MS);
    ck_assert_double_eq(o[1].limit, 5000.0);
    ck_assert_str_eq(o[1].text, "max reconnect_p99_ms = 5000");
    ck_assert_int_eq(o[2].metric, CHAOS_M_LATENCY_P50_MS);
    ck_assert_double_eq(o[2].limit, 0.5);
    ck_assert_str_eq(o[2].text, "max latency_p50_ms = 0.5");
    ck_assert_int_eq(o[3].metric, CHAOS_M_WORKERS_MIN);
    ck_assert_int_eq(o[3].bound, CHAOS_BOUND_MIN);
    ck_assert_double_eq(o[3].limit, 3.0);
    ck_assert_str_eq(o[3].text, "min workers_min = 3");
    ck_assert_double_eq(o[4].limit, 250.0);
}
END_TEST

static const char minimal[] = "[drill]\nduration = 10s\n[load]\nclients = 1\n";

START_TEST(supervisor_actions)
{
    static const char text[] = "[drill]\nduration = 30s\n[load]\nclients = 10\n"
                               "[timeline]\n2s = restart-supervisor\n"
                               "5s = stop-supervisor 20s\n";
    chaos_drill d;
    char err[ERR_MAX];
    ck_assert_int_eq(chaos_drill_parse_string(&d, "s", text, err, sizeof err), 0);
    ck_assert_uint_eq(d.n_actions, 2);
    ck_assert_int_eq(d.actions[0].kind, CHAOS_ACT_RESTART_SUPERVISOR);
    ck_assert_uint_eq(d.actions[0].at_ms, 2000);
    ck_assert_int_eq(d.actions[1].kind, CHAOS_ACT_STOP_SUPERVISOR);
    ck_assert_uint_eq(d.actions[1].for_ms, 20000);
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_RESTART_SUPERVISOR), "restart-supervisor");
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_STOP_SUPERVISOR), "stop-supervisor");
    ck_assert_int_eq(chaos_metric_lookup("adopted"), CHAOS_M_ADOPTED);
}
END_TEST

START_TEST(defaults)
{
    chaos_drill d;
    char err[ERR_MAX];
    ck_assert_int_eq(chaos_drill_parse_string(&d, "m", minimal, err, sizeof err), 0);
    ck_assert_str_eq(d.name, "m");
    ck_assert_str_eq(d.description, "");
    ck_assert_uint_eq(d.duration_ms, 10000);
    ck_assert_uint_eq(d.quick_duration_ms, 0);
    ck_assert_uint_eq(d.tail_ms, 10000);
    ck_assert_uint_eq(d.clients, 1);
    ck_assert_uint_eq(d.quick_clients, 0);
    ck_assert_uint_eq(d.inflight, 1);
    ck_assert_double_eq(d.rate, 0.0);
    ck_assert_uint_eq(d.size, 20);
    ck_assert_uint_eq(d.sources, 1);
    ck_assert_double_eq(d.open_rate, 0.0);
    ck_assert_uint_eq(d.lifetime_ms, 0);
    ck_assert_str_eq(d.fleet_ini, "");
    ck_assert_uint_eq(d.n_actions, 0);
    ck_assert_uint_eq(d.n_objectives, 0);
}
END_TEST

/* Parses a minimal drill whose duration is written as value. */
static int parse_duration(chaos_drill *d, const char *value, char *err, size_t err_len)
{
    char text[128];
    snprintf(text, sizeof text, "[drill]\nduration = %s\n[load]\nclients = 5\n", value);
    return chaos_drill_parse_string(d, "t", text, err, err_len);
}

START_TEST(durations)
{
    static const struct {
        const char *text;
        uint32_t ms;
    } ok[] = {{"1s", 1000},  {"1000ms", 1000}, {"1.5m", 90000}, {"1h", 3600000},
              {"30", 30000}, {"2.25", 2250},   {"0.5m", 30000}, {"3600s", 3600000}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char err[ERR_MAX];
        chaos_drill d;
        ck_assert_msg(parse_duration(&d, ok[i].text, err, sizeof err) == 0, "%s: %s", ok[i].text,
                      err);
        ck_assert_uint_eq(d.duration_ms, ok[i].ms);
    }
    static const char *const bad[] = {"999ms", "1h1s", "2h", "5 s", "-5s",  "5x",
                                      "1e3s",  "",     "s",  ".s",  "1..5s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[ERR_MAX];
        chaos_drill d;
        ck_assert_msg(parse_duration(&d, bad[i], err, sizeof err) == -1, "%s", bad[i]);
        ck_assert_msg(strstr(err, "line 2: [drill] duration: ") == err, "%s: %s", bad[i], err);
    }
}
END_TEST

/* One refused drill: the line and key it must name and a fragment of the reason. */
typedef struct bad_case {
    const char *text;
    const char *prefix;
    const char *why;
} bad_case;

#define BASE "[drill]\nduration = 30s\n[load]\nclients = 10\n"

/* The text and prefix of a case whose line 6, after BASE, is "KEY = VALUE" in [SECTION]. */
#define AFTER_BASE(section, key, value)                                                            \
    BASE "[" section "]\n" key " = " value "\n", "line 6: [" section "] " key ": "

/* The same for a drill that is only [SECTION] and that line (its line 2). */
#define ALONE(section, key, value)                                                                 \
    "[" section "]\n" key " = " value "\n", "line 2: [" section "] " key ": "

static const bad_case bad_cases[] = {
    {"[drill]\ndescription = x\n[load]\nclients = 10\n", "[drill] duration: ", "missing"},
    {"[drill]\nduration = 30s\n", "[load] clients: ", "missing"},
    {ALONE("drill", "duration", "soon"), "not a duration"},
    {ALONE("drill", "duration", "0.5s"), "out of range"},
    {AFTER_BASE("timeline", "5s", "smash 1"), "unknown action 'smash'"},
    {AFTER_BASE("timeline", "5s", "kill some"), "'some' is not a target"},
    {AFTER_BASE("timeline", "5s", "kill 256"), "'256' is not a target"},
    {AFTER_BASE("timeline", "5s", "crash-loop random"), "'random' is not a slot"},
    {AFTER_BASE("timeline", "5s", "fault 1 melt"), "'melt' is not a fault"},
    {AFTER_BASE("timeline", "5s", "fault 1 error rate=1.5"), "error needs a rate"},
    {AFTER_BASE("timeline", "5s", "fault 1 error"), "error needs a rate"},
    {AFTER_BASE("timeline", "5s", "fault 1 latency ms=70000"), "latency needs"},
    {AFTER_BASE("timeline", "5s", "fault 1 hang for=2h"), "for=: "},
    {AFTER_BASE("timeline", "5s", "fault 1 hang speed=2"), "unknown argument 'speed='"},
    {AFTER_BASE("timeline", "5s", "fault 1 hang for=1s for=2s"), "given twice"},
    {AFTER_BASE("timeline", "5s", "kill 1 2"), "unexpected argument '2'"},
    {AFTER_BASE("timeline", "5s", "kill"), "kill needs 1 argument"},
    {AFTER_BASE("timeline", "5s", "kill-supervisor now"), "unexpected argument 'now'"},
    {AFTER_BASE("timeline", "5s", "restart-supervisor now"), "unexpected argument 'now'"},
    {AFTER_BASE("timeline", "5s", "stop-supervisor"), "stop-supervisor needs 1 argument"},
    {AFTER_BASE("timeline", "5s", "stop-supervisor soon"), "soon"},
    {AFTER_BASE("timeline", "5s", "stop-supervisor 0s"), "out of range"},
    {AFTER_BASE("timeline", "5s", "upgrade now"), "unexpected argument 'now'"},
    {AFTER_BASE("timeline", "5s", "scale 0"), "'0' is not a whole number"},
    {AFTER_BASE("timeline", "5s", "clients many"), "not a whole number"},
    {AFTER_BASE("timeline", "5s", "restart all quickly"), "'quickly' is not 'rolling'"},
    {AFTER_BASE("timeline", "5s", "autoscale maybe"), "not on or off"},
    {AFTER_BASE("timeline", "5s", "autoscale on min=5 max=2"), "min=5 is above max=2"},
    {AFTER_BASE("timeline", "5s", "garbage-clients 5 rate=0"), "out of range"},
    {AFTER_BASE("timeline", "soon", "kill 1"), "is not a time"},
    {AFTER_BASE("timeline", "every 0s", "kill 1"), "out of range"},
    {AFTER_BASE("timeline", "every 5s after 1s", "kill 1"), "is not a time"},
    {BASE "[timeline]\n1s = kill 1\n30s = kill 2\n",
     "line 7: [timeline] 30s: ", "not before the end"},
    {"[timeline]\nevery 5s from 31s = kill 1\n" BASE,
     "line 2: [timeline] every 5s from 31s: ", "not before the end"},
    {AFTER_BASE("objectives", "max happiness", "1"), "unknown metric 'happiness'"},
    {AFTER_BASE("objectives", "at_most lost", "1"), "'at_most' is not max or min"},
    {AFTER_BASE("objectives", "lost", "1"), "not 'max METRIC'"},
    {AFTER_BASE("objectives", "max lost", "-1"), "'-1' is not a number"},
    {AFTER_BASE("objectives", "max lost", "5s"), "'5s' is not a number"},
    {AFTER_BASE("objectives", "max reconnect_p99_ms", "5 parsecs"), "not a duration"},
    {BASE "[objectives]\nmax lost = 1\nmax lost = 2\n",
     "line 7: [objectives] max lost: ", "given twice"},
    {AFTER_BASE("fleet", "listen", "127.0.0.1:9000"), "set by the runner"},
    {AFTER_BASE("workers", "run_dir", "/tmp/x"), "set by the runner"},
    {AFTER_BASE("load", "threads", "4"), "unknown key"},
    {AFTER_BASE("drill", "speed", "4"), "unknown key"},
    {"[drill]\nduration = 30s\nquick_duration = 40s\n[load]\nclients = 10\n",
     "line 3: [drill] quick_duration: ", "longer than [drill] duration"},
    {"[drill]\nduration = 30s\n[load]\nclients = 10\nquick_clients = 11\n",
     "line 5: [load] quick_clients: ", "more than [load] clients"},
    {"[drill]\nduration = 30s\nduration = 40s\n", "line 3: [drill] duration: ", "set twice"},
    {ALONE("load", "clients", "100001"), "1..100000"},
    {ALONE("load", "inflight", "0"), "1..1024"},
    {ALONE("load", "rate", "0"), "out of range"},
    {ALONE("load", "size", "16777217"), "1..16777216"},
    {ALONE("load", "sources", "251"), "1..250"},
    {ALONE("load", "open_rate", "2000000"), "out of range"},
    {ALONE("load", "lifetime", "50ms"), ""},
    {ALONE("load", "subscribers", "0"), "1..100000"},
    {ALONE("load", "channels", "10001"), "1..10000"},
    {ALONE("load", "publish_rate", "20000"), "out of range"},
    {AFTER_BASE("timeline", "5s", "kill-broker now"), "unexpected argument 'now'"},
    {BASE "subscribers = 10\nquick_subscribers = 11\n",
     "line 6: [load] quick_subscribers: ", "more than [load] subscribers"},
    {BASE "channels = 3\n", "line 5: [load] channels: ", "needs [load] subscribers"},
    {BASE "publish_rate = 3\n", "line 5: [load] publish_rate: ", "needs [load] subscribers"},
    {"duration = 30s\n", "line 1: duration: ", "outside any section"},
    {BASE "[timeline\n", "line 5: syntax error", ""},
};

START_TEST(refused)
{
    const bad_case *c = &bad_cases[_i];
    chaos_drill d;
    memset(&d, 0x5a, sizeof d);
    char err[ERR_MAX];
    ck_assert_int_eq(chaos_drill_parse_string(&d, "bad", c->text, err, sizeof err), -1);
    ck_assert_msg(strncmp(err, c->prefix, strlen(c->prefix)) == 0, "case %d: '%s' lacks '%s'", _i,
                  err, c->prefix);
    ck_assert_msg(strstr(err, c->why) != NULL, "case %d: '%s' lacks '%s'", _i, err, c->why);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_uint_eq(d.duration_ms, 0x5a5a5a5a); /* *out untouched on failure */
}
END_TEST

START_TEST(too_many_actions)
{
    char text[4096] = BASE "[timeline]\n";
    for (int i = 0; i <= CHAOS_ACTIONS_MAX; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, "%d00ms = kill %d\n", i, i);
    }
    chaos_drill d;
    char err[ERR_MAX];
    ck_assert_int_eq(chaos_drill_parse_string(&d, "many", text, err, sizeof err), -1);
    ck_assert_str_eq(err, "line 38: [timeline] 3200ms: more than 32 actions");
    /* exactly the maximum is fine */
    *strstr(text, "3200ms = ") = '\0';
    ck_assert_int_eq(chaos_drill_parse_string(&d, "many", text, err, sizeof err), 0);
    ck_assert_uint_eq(d.n_actions, CHAOS_ACTIONS_MAX);
    ck_assert_uint_eq(d.actions[31].at_ms, 3100);
    ck_assert_str_eq(d.actions[31].text, "3100ms = kill 31");
}
END_TEST

START_TEST(fleet_ini_overflow)
{
    size_t cap = 3 * CHAOS_FLEET_INI_MAX;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    snprintf(text, cap, "%s", BASE "[worker]\n");
    for (int i = 0; strlen(text) + 64 < cap; i++) {
        size_t len = strlen(text);
        snprintf(text + len, cap - len, "key%04d = %040d\n", i, i);
    }
    chaos_drill d;
    char err[ERR_MAX];
    ck_assert_int_eq(chaos_drill_parse_string(&d, "big", text, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "] key") != NULL && strstr(err, "exceed 4095 bytes") != NULL, "%s",
                  err);
    free(text);
}
END_TEST

START_TEST(long_lines)
{
    char text[1024] = BASE "[drill]\ndescription = ";
    size_t len = strlen(text);
    memset(text + len, 'x', 300);
    snprintf(text + len + 300, sizeof text - len - 300, "\n");
    chaos_drill d;
    char err[ERR_MAX];
    ck_assert_int_eq(chaos_drill_parse_string(&d, "long", text, err, sizeof err), -1);
    ck_assert_str_eq(err, "line 6: line longer than 198 characters");

    char action[512] = BASE "[timeline]\n5s = fault 1 hang for=1s ";
    len = strlen(action);
    memset(action + len, ' ', 120);
    snprintf(action + len + 120, sizeof action - len - 120, "%s", "ms=5\n");
    ck_assert_int_eq(chaos_drill_parse_string(&d, "long", action, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "line 6: [timeline] 5s: longer than 127") == err, "%s", err);
}
END_TEST

START_TEST(names)
{
    chaos_drill d;
    char err[ERR_MAX];
    ck_assert_int_eq(chaos_drill_parse_string(&d, "", minimal, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "drill name"));
    char name[CHAOS_NAME_MAX + 1];
    memset(name, 'n', CHAOS_NAME_MAX);
    name[CHAOS_NAME_MAX] = '\0';
    ck_assert_int_eq(chaos_drill_parse_string(&d, name, minimal, err, sizeof err), -1);
    name[CHAOS_NAME_MAX - 1] = '\0';
    ck_assert_int_eq(chaos_drill_parse_string(&d, name, minimal, err, sizeof err), 0);
    ck_assert_str_eq(d.name, name);

    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_KILL), "kill");
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_CRASH_LOOP), "crash-loop");
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_KILL_SUPERVISOR), "kill-supervisor");
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_GARBAGE_CLIENTS), "garbage-clients");
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_AUTOSCALE), "autoscale");
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_UPGRADE), "upgrade");
    ck_assert_ptr_null(chaos_action_name((enum chaos_action_kind)99));
}
END_TEST

START_TEST(channel_load)
{
    static const char text[] = "[drill]\nduration = 30s\n"
                               "[load]\nclients = 10\nsubscribers = 2000\nquick_subscribers = 500\n"
                               "channels = 20\npublish_rate = 10\n"
                               "[timeline]\n5s = kill-broker\nevery 10s = kill random\n"
                               "[channels]\npublish = client\n"
                               "[objectives]\nmax lost_publications = 0\nmax duplicated = 0\n"
                               "max out_of_order = 0\nmax resume_p99_ms = 2s\n"
                               "min broker_kills = 1\n";
    chaos_drill d;
    char err[ERR_MAX];
    ck_assert_msg(chaos_drill_parse_string(&d, "ch", text, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(d.subscribers, 2000);
    ck_assert_uint_eq(d.quick_subscribers, 500);
    ck_assert_uint_eq(d.channels, 20);
    ck_assert(d.publish_rate == 10.0);
    ck_assert_uint_eq(d.n_actions, 2);
    ck_assert_int_eq(d.actions[0].kind, CHAOS_ACT_KILL_BROKER);
    ck_assert_uint_eq(d.actions[0].at_ms, 5000);
    ck_assert_uint_eq(d.actions[0].every_ms, 0);
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_KILL_BROKER), "kill-broker");
    ck_assert_ptr_nonnull(strstr(d.fleet_ini, "[channels]\npublish = client\n"));
    ck_assert_uint_eq(d.n_objectives, 5);
    ck_assert_int_eq(d.objectives[0].metric, CHAOS_M_LOST_PUBLICATIONS);
    ck_assert_int_eq(d.objectives[3].metric, CHAOS_M_RESUME_P99_MS);
    ck_assert(d.objectives[3].limit == 2000.0);
    ck_assert_int_eq(d.objectives[4].metric, CHAOS_M_BROKER_KILLS);
    ck_assert_int_eq(d.objectives[4].bound, CHAOS_BOUND_MIN);

    /* Without subscribers there is no channel load; publish_rate 0 is a publisher-less load. */
    ck_assert_int_eq(chaos_drill_parse_string(&d, "e", BASE, err, sizeof err), 0);
    ck_assert_uint_eq(d.subscribers, 0);
    ck_assert(d.publish_rate < 0);
    ck_assert_int_eq(chaos_drill_parse_string(&d, "p", BASE "subscribers = 5\npublish_rate = 0\n",
                                              err, sizeof err),
                     0);
    ck_assert(d.publish_rate == 0.0);
}
END_TEST

START_TEST(rpc_load)
{
    static const char text[] = "[drill]\nduration = 20s\n"
                               "[load]\nclients = 10\n"
                               "[rpc]\nclients = 500\nquick_clients = 200\nrate = 2.5\n"
                               "[timeline]\n5s = kill-backend\n10s = start-backend\n"
                               "[backend]\nrpc = yes\n"
                               "[objectives]\nmax rpc_recovery_ms = 2s\nmin rpc_unavailable = 1\n";
    chaos_drill d;
    char err[ERR_MAX];
    ck_assert_msg(chaos_drill_parse_string(&d, "rpc", text, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(d.rpc_clients, 500);
    ck_assert_uint_eq(d.quick_rpc_clients, 200);
    ck_assert(d.rpc_rate == 2.5);
    ck_assert_uint_eq(d.n_actions, 2);
    ck_assert_int_eq(d.actions[0].kind, CHAOS_ACT_KILL_BACKEND);
    ck_assert_int_eq(d.actions[1].kind, CHAOS_ACT_START_BACKEND);
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_START_BACKEND), "start-backend");
    ck_assert_ptr_nonnull(strstr(d.fleet_ini, "[backend]\nrpc = yes\n"));
    ck_assert_ptr_null(strstr(d.fleet_ini, "[rpc]")); /* the runner's, not the fleet's */
    ck_assert_int_eq(d.objectives[0].metric, CHAOS_M_RPC_RECOVERY_MS);
    ck_assert(d.objectives[0].limit == 2000.0);

    /* defaults, and refusals */
    ck_assert_int_eq(chaos_drill_parse_string(&d, "e", BASE, err, sizeof err), 0);
    ck_assert_uint_eq(d.rpc_clients, 0);
    ck_assert(d.rpc_rate == 2.0);
    ck_assert_int_eq(chaos_drill_parse_string(&d, "b", BASE "[rpc]\nrate = 0\n", err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "[rpc] rate"));
    ck_assert_int_eq(chaos_drill_parse_string(&d, "b", BASE "[rpc]\nbogus = 1\n", err, sizeof err),
                     -1);
    ck_assert_int_eq(
        chaos_drill_parse_string(&d, "b", BASE "[rpc]\nclients = 100001\n", err, sizeof err), -1);
}
END_TEST

START_TEST(cluster_drill)
{
    static const char text[] = "[drill]\nduration = 20s\ncluster = 3\n"
                               "[load]\nclients = 10\nsubscribers = 30\n"
                               "[timeline]\n5s = kill-nats-node follower for=6s\n"
                               "6s = kill-nats-node leader\n7s = kill-nats-node 2\n"
                               "8s = kill-host b\n9s = clients 20\n"
                               "[objectives]\nmax delivery_gap_ms = 5s\nmin host_kills = 1\n";
    chaos_drill d;
    char err[ERR_MAX];
    ck_assert_msg(chaos_drill_parse_string(&d, "c", text, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(d.cluster, 3);
    ck_assert_uint_eq(d.n_actions, 5);
    ck_assert_int_eq(d.actions[0].kind, CHAOS_ACT_KILL_NATS_NODE);
    ck_assert_int_eq(d.actions[0].target, CHAOS_NODE_FOLLOWER);
    ck_assert_uint_eq(d.actions[0].for_ms, 6000);
    ck_assert_int_eq(d.actions[1].target, CHAOS_NODE_LEADER);
    ck_assert_uint_eq(d.actions[1].for_ms, 0);
    ck_assert_int_eq(d.actions[2].target, 2);
    ck_assert_int_eq(d.actions[3].kind, CHAOS_ACT_KILL_HOST);
    ck_assert_int_eq(d.actions[3].target, 1);
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_KILL_NATS_NODE), "kill-nats-node");
    ck_assert_str_eq(chaos_action_name(CHAOS_ACT_KILL_HOST), "kill-host");
    ck_assert_int_eq(d.objectives[0].metric, CHAOS_M_DELIVERY_GAP_MS);
    ck_assert(d.objectives[0].limit == 5000.0);
    ck_assert_int_eq(d.objectives[1].metric, CHAOS_M_HOST_KILLS);

    /* refusals: other sizes, bad nodes and fleets, cluster actions without a cluster, fleet
     * actions and wsfleetd sections with one */
    static const char *const bad[][2] = {
        {"[drill]\nduration = 9s\ncluster = 2\n[load]\nclients = 1\n", "[drill] cluster"},
        {"[drill]\nduration = 9s\ncluster = 3\n[load]\nclients = 1\n"
         "[timeline]\n1s = kill-nats-node 4\n",
         "not a node"},
        {"[drill]\nduration = 9s\ncluster = 3\n[load]\nclients = 1\n"
         "[timeline]\n1s = kill-host d\n",
         "not a fleet"},
        {"[drill]\nduration = 9s\n[load]\nclients = 1\n[timeline]\n1s = kill-host a\n",
         "needs [drill] cluster"},
        {"[drill]\nduration = 9s\ncluster = 3\n[load]\nclients = 1\n"
         "[timeline]\n1s = kill random\n",
         "not on [drill] cluster"},
        {"[drill]\nduration = 9s\ncluster = 3\n[load]\nclients = 1\n[workers]\ncount = 2\n",
         "scripts/cluster"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(chaos_drill_parse_string(&d, "b", bad[i][0], err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i][1]) != NULL, "%zu: %s", i, err);
    }
    ck_assert_int_eq(chaos_drill_parse_string(&d, "e", BASE, err, sizeof err), 0);
    ck_assert_uint_eq(d.cluster, 0);
}
END_TEST

START_TEST(metrics)
{
    for (int i = 0; i < CHAOS_METRIC_COUNT; i++) {
        const char *name = chaos_metric_name((enum chaos_metric_id)i);
        ck_assert_ptr_nonnull(name);
        ck_assert_ptr_nonnull(chaos_metric_help((enum chaos_metric_id)i));
        ck_assert_int_eq(chaos_metric_lookup(name), i);
    }
    ck_assert_int_eq(chaos_metric_lookup("reconnect_p99_ms"), CHAOS_M_RECONNECT_P99_MS);
    ck_assert_str_eq(chaos_metric_name(CHAOS_M_WSCTL_ERRORS), "wsctl_errors");
    ck_assert_str_eq(chaos_metric_help(CHAOS_M_FAULTS), "faults injected");
    ck_assert_int_eq(chaos_metric_lookup("lost_publications"), CHAOS_M_LOST_PUBLICATIONS);
    ck_assert_int_eq(chaos_metric_lookup("duplicated"), CHAOS_M_DUPLICATED);
    ck_assert_int_eq(chaos_metric_lookup("out_of_order"), CHAOS_M_OUT_OF_ORDER);
    ck_assert_int_eq(chaos_metric_lookup("not_recovered"), CHAOS_M_NOT_RECOVERED);
    ck_assert_int_eq(chaos_metric_lookup("publications_acked"), CHAOS_M_PUBLICATIONS_ACKED);
    ck_assert_int_eq(chaos_metric_lookup("resume_p50_ms"), CHAOS_M_RESUME_P50_MS);
    ck_assert_int_eq(chaos_metric_lookup("nope"), -1);
    ck_assert_int_eq(chaos_metric_lookup(""), -1);
    ck_assert_ptr_null(chaos_metric_name(CHAOS_METRIC_COUNT));
}
END_TEST

/* Writes text to dir/name; path receives the file's path. */
static void write_drill(char *path, size_t len, const char *dir, const char *name, const char *text)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(load_file)
{
    char dir[] = "/tmp/test_chaos_drill_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], err[ERR_MAX];
    chaos_drill d;

    write_drill(path, sizeof path, dir, "kill-one.drill", full_drill);
    ck_assert_int_eq(chaos_drill_load(&d, path, err, sizeof err), 0);
    ck_assert_str_eq(d.name, "kill-one");
    ck_assert_uint_eq(d.n_actions, 16);
    ck_assert_uint_eq(d.duration_ms, 120000);
    unlink(path);

    write_drill(path, sizeof path, dir, "bad.drill", BASE "[timeline]\n5s = smash 1\n");
    char want[512];
    ck_assert_int_eq(chaos_drill_load(&d, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:6: [timeline] 5s: unknown action 'smash'", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    unlink(path);

    write_drill(path, sizeof path, dir, "short.drill", "[drill]\nduration = 5s\n");
    ck_assert_int_eq(chaos_drill_load(&d, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: [load] clients: missing", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    unlink(path);

    snprintf(path, sizeof path, "%s/missing.drill", dir);
    ck_assert_int_eq(chaos_drill_load(&d, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    ck_assert_str_eq(err, want);

    write_drill(path, sizeof path, dir, "kill-one.ini", minimal);
    ck_assert_int_eq(chaos_drill_load(&d, path, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "must end in .drill"));
    ck_assert_ptr_nonnull(strstr(err, path));
    unlink(path);

    ck_assert_int_eq(chaos_drill_load(&d, "/nowhere/.drill", err, sizeof err), -1);
    ck_assert_str_eq(err, "/nowhere/.drill: not a drill file (the name must end in .drill)");
    rmdir(dir);
}
END_TEST

Suite *chaos_drill_suite(void)
{
    Suite *s = suite_create("chaos_drill");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, full);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, supervisor_actions);
    tcase_add_test(tc, durations);
    tcase_add_loop_test(tc, refused, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, too_many_actions);
    tcase_add_test(tc, fleet_ini_overflow);
    tcase_add_test(tc, long_lines);
    tcase_add_test(tc, names);
    tcase_add_test(tc, channel_load);
    tcase_add_test(tc, rpc_load);
    tcase_add_test(tc, cluster_drill);
    tcase_add_test(tc, metrics);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("load");
    tcase_add_test(tf, load_file);
    suite_add_tcase(s, tf);
    return s;
}
