/* Unit tests for supervisor/sup_adopt_state.c: the fleet state file round trip, its refusals,
 * and the judgement of a recorded worker from its environment. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sup_adopt_state.h"

Suite *sup_adopt_state_suite(void);

#define ENDPOINT "ipc:///run/wsfleet/workers"

static void sample(sup_adopt_state *st)
{
    memset(st, 0, sizeof *st);
    st->supervisor_pid = 1234;
    st->workers_fp = 0x0123456789abcdefull;
    st->spawns = 7;
    st->nlistens = 2;
    snprintf(st->listen[0], sizeof st->listen[0], "127.0.0.1:4000");
    snprintf(st->listen[1], sizeof st->listen[1], "[::1]:4001");
    st->nslots = 4;
    st->slots[0] = (sup_adopt_slot){.pid = 2001, .generation = 3, .state = SUP_SLOT_RUNNING};
    st->slots[1] = (sup_adopt_slot){.pid = 2002, .generation = 1, .state = SUP_SLOT_ADOPTED};
    st->slots[2] = (sup_adopt_slot){.pid = 0, .generation = 5, .state = SUP_SLOT_BACKOFF};
}

START_TEST(encode_parse_round_trip)
{
    sup_adopt_state st, back;
    char buf[SUP_ADOPT_STATE_MAX], why[128];
    sample(&st);
    int n = sup_adopt_state_encode(buf, sizeof buf, &st);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq((int)strlen(buf), n);
    ck_assert_ptr_nonnull(strstr(buf, "slot 0 2001 3 running\n"));
    ck_assert_int_eq(sup_adopt_state_parse(&back, buf, (size_t)n, why, sizeof why), 0);
    ck_assert_int_eq(back.supervisor_pid, 1234);
    ck_assert(back.workers_fp == st.workers_fp);
    ck_assert_uint_eq(back.spawns, 7);
    ck_assert_uint_eq(back.nlistens, 2);
    ck_assert_str_eq(back.listen[1], "[::1]:4001");
    ck_assert_uint_eq(back.nslots, 4);
    for (unsigned i = 0; i < 4; i++) {
        ck_assert_int_eq(back.slots[i].pid, st.slots[i].pid);
        ck_assert_uint_eq(back.slots[i].generation, st.slots[i].generation);
        ck_assert_int_eq(back.slots[i].state, st.slots[i].state);
    }
}
END_TEST

START_TEST(the_largest_fleet_fits)
{
    static sup_adopt_state st, back;
    static char buf[SUP_ADOPT_STATE_MAX];
    char why[128];
    memset(&st, 0, sizeof st);
    st.supervisor_pid = 2147483647;
    st.workers_fp = UINT64_MAX;
    st.spawns = UINT64_MAX;
    st.nlistens = SUP_ADOPT_MAX_LISTEN;
    for (unsigned i = 0; i < st.nlistens; i++)
        memset(st.listen[i], 'a', SUP_ADOPT_NAME_MAX - 1);
    st.nslots = SUP_ADOPT_MAX_SLOTS;
    for (unsigned i = 0; i < st.nslots; i++)
        st.slots[i] = (sup_adopt_slot){2147483647, UINT64_MAX, SUP_SLOT_STARTING};
    int n = sup_adopt_state_encode(buf, sizeof buf, &st);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(sup_adopt_state_parse(&back, buf, (size_t)n, why, sizeof why), 0);
    ck_assert_uint_eq(back.slots[255].generation, UINT64_MAX);
    ck_assert_int_eq(sup_adopt_state_encode(buf, 100, &st), -ENOSPC);
}
END_TEST

static const char *const bad_files[] = {
    "",
    "supervisor 1\nslots 1\nlisten a:1\n",                            /* no version line */
    "wsfleet-state 2\nsupervisor 1\nlisten a:1\nslots 1\n",           /* a future version */
    "wsfleet-state 1\nsupervisor 1\nlisten a:1\nslots 1\nslot 0 5 1", /* torn: no newline */
    "wsfleet-state 1\nsupervisor 1\nlisten a:1\nslot 0 5 1 running\nslots 1\n", /* slot first */
    "wsfleet-state 1\nlisten a:1\nslots 2\nslot 2 5 1 running\n",               /* out of range */
    "wsfleet-state 1\nlisten a:1\nslots 2\nslot 1 5 1 sleeping\n",              /* unknown state */
    "wsfleet-state 1\nlisten a:1\nslots 2\nslot 1 -5 1 running\n",              /* negative pid */
    "wsfleet-state 1\nlisten a:1\nslots 0\n",                                   /* no slots */
    "wsfleet-state 1\nslots 2\n",                                               /* no address */
    "wsfleet-state 1\nlisten a:1\nslots 2\nwhat 3\n",                           /* unknown line */
    "wsfleet-state 1\nlisten a:1\nslots 2\nslots 2\n",                          /* twice */
    "wsfleet-state 1 x\nlisten a:1\nslots 2\n",                                 /* trailing text */
};

START_TEST(bad_files_are_refused_with_a_reason)
{
    sup_adopt_state st;
    char why[128] = "";
    const char *f = bad_files[_i];
    ck_assert_int_eq(sup_adopt_state_parse(&st, f, strlen(f), why, sizeof why), -EINVAL);
    ck_assert_int_gt((int)strlen(why), 0);
}
END_TEST

START_TEST(a_nul_inside_is_refused)
{
    sup_adopt_state st;
    char why[128];
    const char f[] = "wsfleet-state 1\nlisten a:1\nslots 2\0\n";
    ck_assert_int_eq(sup_adopt_state_parse(&st, f, sizeof f - 1, why, sizeof why), -EINVAL);
}
END_TEST

/* An environment as /proc/PID/environ has it: NUL-separated. */
static size_t env_of(char *out, size_t cap, const char *const *vars)
{
    size_t len = 0;
    for (; *vars != NULL; vars++) {
        size_t n = strlen(*vars) + 1;
        ck_assert_uint_lt(len + n, cap);
        memcpy(out + len, *vars, n);
        len += n;
    }
    return len;
}

START_TEST(judge_takes_only_this_slots_worker)
{
    char env[1024];
    sup_adopt_slot s = {.pid = 42, .generation = 3, .state = SUP_SLOT_RUNNING};
    const char *const ours[] = {"PATH=/bin", "WSF_SUPERVISOR=" ENDPOINT, "WSF_SLOT=1",
                                "WSF_GENERATION=3", NULL};
    size_t n = env_of(env, sizeof env, ours);
    ck_assert_int_eq(sup_adopt_judge(&s, 1, env, n, ENDPOINT), SUP_ADOPT_TAKE);
    s.state = SUP_SLOT_ADOPTED;
    ck_assert_int_eq(sup_adopt_judge(&s, 1, env, n, ENDPOINT), SUP_ADOPT_TAKE);
    s.state = SUP_SLOT_STARTING;
    ck_assert_int_eq(sup_adopt_judge(&s, 1, env, n, ENDPOINT), SUP_ADOPT_TAKE);
    /* Another slot, another generation, another fleet's run dir, a prefix of ours. */
    ck_assert_int_eq(sup_adopt_judge(&s, 0, env, n, ENDPOINT), SUP_ADOPT_STRANGER);
    s.generation = 4;
    ck_assert_int_eq(sup_adopt_judge(&s, 1, env, n, ENDPOINT), SUP_ADOPT_STRANGER);
    s.generation = 3;
    ck_assert_int_eq(sup_adopt_judge(&s, 1, env, n, "ipc:///run/other/workers"),
                     SUP_ADOPT_STRANGER);
    ck_assert_int_eq(sup_adopt_judge(&s, 1, env, n, "ipc:///run/wsfleet/work"), SUP_ADOPT_STRANGER);
    /* A reused pid: some other program. */
    const char *const other[] = {"PATH=/bin", "HOME=/root", NULL};
    n = env_of(env, sizeof env, other);
    ck_assert_int_eq(sup_adopt_judge(&s, 1, env, n, ENDPOINT), SUP_ADOPT_STRANGER);
}
END_TEST

START_TEST(judge_leaves_the_dead_the_leaving_and_the_empty)
{
    char env[1024];
    const char *const ours[] = {"WSF_SUPERVISOR=" ENDPOINT, "WSF_SLOT=0", "WSF_GENERATION=1", NULL};
    size_t n = env_of(env, sizeof env, ours);
    sup_adopt_slot s = {.pid = 42, .generation = 1, .state = SUP_SLOT_RUNNING};
    ck_assert_int_eq(sup_adopt_judge(&s, 0, NULL, 0, ENDPOINT), SUP_ADOPT_NONE);
    s.state = SUP_SLOT_DRAINING;
    ck_assert_int_eq(sup_adopt_judge(&s, 0, env, n, ENDPOINT), SUP_ADOPT_NONE);
    s.state = SUP_SLOT_BACKOFF;
    ck_assert_int_eq(sup_adopt_judge(&s, 0, env, n, ENDPOINT), SUP_ADOPT_NONE);
    s.state = SUP_SLOT_RUNNING;
    s.pid = 0;
    ck_assert_int_eq(sup_adopt_judge(&s, 0, env, n, ENDPOINT), SUP_ADOPT_NONE);
}
END_TEST

START_TEST(fingerprint_chains)
{
    uint64_t a = sup_adopt_fp(SUP_ADOPT_FP_INIT, "--max-message", 14);
    uint64_t b = sup_adopt_fp(SUP_ADOPT_FP_INIT, "--max-messagf", 14);
    ck_assert(a != b);
    ck_assert(sup_adopt_fp(a, "x", 1) == sup_adopt_fp(a, "x", 1));
    ck_assert(sup_adopt_fp(SUP_ADOPT_FP_INIT, "", 0) == SUP_ADOPT_FP_INIT);
}
END_TEST

Suite *sup_adopt_state_suite(void)
{
    Suite *s = suite_create("sup_adopt_state");
    TCase *tc = tcase_create("state");
    tcase_add_test(tc, encode_parse_round_trip);
    tcase_add_test(tc, the_largest_fleet_fits);
    tcase_add_loop_test(tc, bad_files_are_refused_with_a_reason, 0,
                        (int)(sizeof bad_files / sizeof bad_files[0]));
    tcase_add_test(tc, a_nul_inside_is_refused);
    tcase_add_test(tc, judge_takes_only_this_slots_worker);
    tcase_add_test(tc, judge_leaves_the_dead_the_leaving_and_the_empty);
    tcase_add_test(tc, fingerprint_chains);
    suite_add_tcase(s, tc);
    return s;
}
