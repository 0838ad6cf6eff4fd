/* Unit tests for supervisor/sup_lifecycle.c: every cell of the [state][event] table, the
 * input-dependent outcomes (exits, respawns), the clock's events and the observed clock, all on a
 * fake clock. */
#include <check.h>
#include <string.h>

#include "sup_lifecycle.h"

Suite *sup_lifecycle_suite(void);

#define T0 1000000u /* the fake clock's start */
#define HANG 2000u  /* hang_timeout */
#define GRACE 1000u /* kill_grace */
#define DRAIN 3000u /* drain time of DRAIN and UNWANT */
#define WORKER 4242 /* the worker's pid in the log lines */

#define A_LOG SUP_LC_ACT_LOG
#define A_DRAIN (SUP_LC_ACT_DRAIN | SUP_LC_ACT_STEER | SUP_LC_ACT_SCHEDULE)
#define A_HANG (SUP_LC_ACT_LOG | SUP_LC_ACT_TERM | SUP_LC_ACT_SCHEDULE)
#define A_KILL (SUP_LC_ACT_LOG | SUP_LC_ACT_KILL)
#define A_READY (SUP_LC_ACT_READY | SUP_LC_ACT_STEER)
#define A_SPAWN SUP_LC_ACT_SPAWN
#define A_RETRY (SUP_LC_ACT_LOG | SUP_LC_ACT_SCHEDULE)
#define A_EXIT_RETRY (SUP_LC_ACT_GONE | SUP_LC_ACT_STEER | A_RETRY)
#define A_GONE (SUP_LC_ACT_GONE | SUP_LC_ACT_STEER)

/* A slot on a fake clock with its policy and the inputs of the next step. */
typedef struct fake {
    sup_lifecycle lc;
    sup_restart_policy restart;
    sup_lifecycle_policy p;
    sup_lifecycle_in in;
    uint64_t now;
    sup_lifecycle_out out;
} fake;

static void fake_init(fake *f)
{
    memset(f, 0, sizeof *f);
    sup_lifecycle_init(&f->lc);
    sup_restart_policy_init(&f->restart);
    f->p.hang_timeout_ms = HANG;
    f->p.kill_grace_ms = GRACE;
    f->p.restart = &f->restart;
    f->in.p = &f->p;
    f->in.wanted = true;
    f->in.pid = WORKER;
    f->in.exit_code = 1;
    f->in.drain_ms = DRAIN;
    f->in.rnd = 0.5; /* no jitter */
    f->now = T0;
}

/* The slot in state st as it would be after a normal path there, started and heard at T0. */
static void fake_in_state(fake *f, enum sup_slot_state st)
{
    f->lc.state = st;
    f->lc.started_ms = T0;
    f->lc.heard_ms = T0;
    if (st == SUP_SLOT_DRAINING) {
        f->lc.restart_after = true;
        f->lc.kill_at_ms = T0 + DRAIN + GRACE;
    }
    if (st == SUP_SLOT_BACKOFF || st == SUP_SLOT_FAILED)
        f->lc.spawn_at_ms = T0;
}

static void step(fake *f, enum sup_lifecycle_event ev)
{
    ck_assert_int_eq(sup_lifecycle_step(&f->out, &f->lc, ev, f->now, &f->in), 0);
    ck_assert_int_eq(f->out.to, f->lc.state);
}

/* ---- every cell of the table, with a wanted slot --------------------------------------------- */

typedef struct cell {
    enum sup_slot_state from;
    enum sup_lifecycle_event ev;
    enum sup_slot_state to;
    unsigned acts;
} cell;

#define ST(x) SUP_SLOT_##x
#define EV(x) SUP_LC_EV_##x
/* clang-format off */
/* One row: the outcome of each event in the order of enum sup_lifecycle_event. */
#define ROW(s, w, uw, ok, bad, hel, rep, ex, hang, dr, dl, tk)                                     \
    {ST(s), EV(WANT), w},           {ST(s), EV(UNWANT), uw},  {ST(s), EV(SPAWN_OK), ok},           \
    {ST(s), EV(SPAWN_FAILED), bad}, {ST(s), EV(HELLO), hel},  {ST(s), EV(REPORT), rep},           \
    {ST(s), EV(EXIT), ex},          {ST(s), EV(HANG), hang},  {ST(s), EV(DRAIN), dr},             \
    {ST(s), EV(DEADLINE), dl},      {ST(s), EV(TICK), tk}
#define TO(s, a) ST(s), a

static const cell cells[] = {
    ROW(STOPPED, TO(STARTING, A_SPAWN), TO(STOPPED, 0), TO(STOPPED, 0), TO(STOPPED, 0),
        TO(STOPPED, 0), TO(STOPPED, 0), TO(STOPPED, 0), TO(STOPPED, 0), TO(STOPPED, 0),
        TO(STARTING, A_SPAWN), TO(STOPPED, 0)),
    ROW(STARTING, TO(STARTING, 0), TO(DRAINING, A_DRAIN), TO(STARTING, 0), TO(BACKOFF, A_RETRY),
        TO(RUNNING, A_READY), TO(RUNNING, A_READY), TO(BACKOFF, A_EXIT_RETRY),
        TO(STARTING, A_HANG), TO(DRAINING, A_DRAIN), TO(STARTING, A_KILL), TO(STARTING, 0)),
    ROW(RUNNING, TO(RUNNING, 0), TO(DRAINING, A_DRAIN), TO(RUNNING, 0), TO(RUNNING, 0),
        TO(RUNNING, 0), TO(RUNNING, 0), TO(BACKOFF, A_EXIT_RETRY), TO(RUNNING, A_HANG),
        TO(DRAINING, A_DRAIN), TO(RUNNING, A_KILL), TO(RUNNING, 0)),
    ROW(DRAINING, TO(DRAINING, 0), TO(DRAINING, 0), TO(DRAINING, 0), TO(DRAINING, 0),
        TO(DRAINING, 0), TO(DRAINING, 0), TO(STARTING, A_GONE | A_SPAWN), TO(DRAINING, 0),
        TO(DRAINING, 0), TO(DRAINING, A_KILL), TO(DRAINING, 0)),
    ROW(BACKOFF, TO(BACKOFF, 0), TO(STOPPED, 0), TO(BACKOFF, 0), TO(BACKOFF, 0), TO(BACKOFF, 0),
        TO(BACKOFF, 0), TO(BACKOFF, 0), TO(BACKOFF, 0), TO(BACKOFF, 0), TO(STARTING, A_SPAWN),
        TO(BACKOFF, 0)),
    ROW(FAILED, TO(FAILED, 0), TO(STOPPED, 0), TO(FAILED, 0), TO(FAILED, 0), TO(FAILED, 0),
        TO(FAILED, 0), TO(FAILED, 0), TO(FAILED, 0), TO(FAILED, 0), TO(STARTING, A_SPAWN),
        TO(FAILED, 0)),
    ROW(ADOPTED, TO(ADOPTED, 0), TO(DRAINING, A_DRAIN), TO(ADOPTED, 0), TO(ADOPTED, 0),
        TO(RUNNING, A_READY), TO(RUNNING, A_READY), TO(BACKOFF, A_EXIT_RETRY), TO(ADOPTED, A_HANG),
        TO(DRAINING, A_DRAIN), TO(ADOPTED, A_KILL), TO(ADOPTED, 0)),
};

/* The cells whose outcome depends on the slot being wanted, for a slot that is not (scaled
 * down, or the fleet stops). */
static const cell unwanted_cells[] = {
    {ST(STOPPED), EV(DEADLINE), ST(STOPPED), 0},
    {ST(STARTING), EV(SPAWN_FAILED), ST(STOPPED), 0},
    {ST(STARTING), EV(EXIT), ST(STOPPED), A_GONE},
    {ST(RUNNING), EV(EXIT), ST(STOPPED), A_GONE},
    {ST(DRAINING), EV(EXIT), ST(STOPPED), A_GONE},
    {ST(BACKOFF), EV(DEADLINE), ST(STOPPED), 0},
    {ST(FAILED), EV(DEADLINE), ST(STOPPED), 0},
    {ST(ADOPTED), EV(EXIT), ST(STOPPED), A_GONE},
};
/* clang-format on */

START_TEST(every_cell)
{
    ck_assert_uint_eq(sizeof cells / sizeof cells[0], SUP_SLOT_NSTATES * SUP_LC_NEVENTS);
    const cell *c = &cells[_i];
    fake f;
    fake_init(&f);
    fake_in_state(&f, c->from);
    f.now = T0 + 10;
    step(&f, c->ev);
    ck_assert_msg(f.out.from == c->from && f.out.to == c->to && f.out.acts == c->acts,
                  "%s + %s: got %s acts %#x, want %s acts %#x", sup_slot_state_name(c->from),
                  sup_lifecycle_event_name(c->ev), sup_slot_state_name(f.out.to), f.out.acts,
                  sup_slot_state_name(c->to), c->acts);
}
END_TEST

START_TEST(every_unwanted_cell)
{
    const cell *c = &unwanted_cells[_i];
    fake f;
    fake_init(&f);
    fake_in_state(&f, c->from);
    f.in.wanted = false;
    f.now = T0 + 10;
    step(&f, c->ev);
    ck_assert_msg(f.out.to == c->to && f.out.acts == c->acts, "%s + %s: got %s acts %#x",
                  sup_slot_state_name(c->from), sup_lifecycle_event_name(c->ev),
                  sup_slot_state_name(f.out.to), f.out.acts);
}
END_TEST

START_TEST(unknown_event_or_state)
{
    fake f;
    fake_init(&f);
    f.out.acts = 77;
    ck_assert_int_eq(sup_lifecycle_step(&f.out, &f.lc, SUP_LC_NEVENTS, f.now, &f.in), -1);
    ck_assert_uint_eq(f.out.acts, 77);
    f.lc.state = SUP_SLOT_NSTATES;
    ck_assert_int_eq(sup_lifecycle_step(&f.out, &f.lc, SUP_LC_EV_TICK, f.now, &f.in), -1);
    ck_assert_str_eq(sup_slot_state_name(SUP_SLOT_NSTATES), "unknown");
    ck_assert_str_eq(sup_slot_state_name(SUP_SLOT_ADOPTED), "adopted");
    ck_assert_str_eq(sup_slot_state_name(SUP_SLOT_BACKOFF), "backoff");
    ck_assert_str_eq(sup_lifecycle_event_name(SUP_LC_EV_SPAWN_FAILED), "spawn-failed");
}
END_TEST

/* ---- what the transitions remember --------------------------------------------------------- */

START_TEST(start_spawn_hello_report)
{
    fake f;
    fake_init(&f);
    f.lc.restart.streak = 3; /* left over from an earlier life of the slot */
    step(&f, SUP_LC_EV_WANT);
    ck_assert_uint_eq(f.lc.restart.streak, 0);
    f.now += 5;
    step(&f, SUP_LC_EV_SPAWN_OK);
    ck_assert_uint_eq(f.lc.started_ms, T0 + 5);
    ck_assert_uint_eq(f.lc.heard_ms, T0 + 5);
    ck_assert_uint_eq(f.lc.kill_at_ms, 0);
    f.now += 300;
    step(&f, SUP_LC_EV_HELLO);
    ck_assert_int_eq(f.lc.state, SUP_SLOT_RUNNING);
    ck_assert_uint_eq(f.lc.heard_ms, T0 + 305);
    f.now += 500;
    step(&f, SUP_LC_EV_REPORT);
    ck_assert_uint_eq(f.lc.heard_ms, T0 + 805);
    ck_assert_uint_eq(f.out.acts, 0);
}
END_TEST

START_TEST(crash_backs_off_with_the_restart_policy)
{
    fake f;
    fake_init(&f);
    fake_in_state(&f, SUP_SLOT_RUNNING);
    f.now = T0 + 5000;
    step(&f, SUP_LC_EV_EXIT);
    ck_assert_int_eq(f.out.to, SUP_SLOT_BACKOFF);
    ck_assert_int_eq(f.out.deadline, SUP_LC_DL_SPAWN);
    ck_assert_uint_eq(f.out.at_ms, T0 + 5000 + 100);
    ck_assert_uint_eq(f.lc.spawn_at_ms, T0 + 5100);
    ck_assert_uint_eq(f.lc.restart.restarts, 1);
    ck_assert_str_eq(f.out.reason, "restarting in 100 ms");
    /* Not yet, then at the deadline. */
    f.now = T0 + 5099;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_TICK);
    f.now = T0 + 5100;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_DEADLINE);
    step(&f, SUP_LC_EV_DEADLINE);
    ck_assert_int_eq(f.out.to, SUP_SLOT_STARTING);
    ck_assert_uint_eq(f.out.acts, SUP_LC_ACT_SPAWN);
}
END_TEST

START_TEST(cannot_boot_fails_at_once)
{
    fake f;
    fake_init(&f);
    fake_in_state(&f, SUP_SLOT_STARTING);
    f.in.exit_code = SUP_RESTART_EXIT_CANNOT_BOOT;
    f.now = T0 + 50;
    step(&f, SUP_LC_EV_EXIT);
    ck_assert_int_eq(f.out.to, SUP_SLOT_FAILED);
    ck_assert_int_eq(f.out.level, SUP_LC_ERROR);
    ck_assert_uint_eq(f.lc.spawn_at_ms, T0 + 50 + 15000);
    ck_assert_str_eq(f.out.reason, "FAILED (the worker cannot boot); retrying every 15000 ms");
}
END_TEST

/* pipe2 or fork failing over and over: backoff, retry, and the slot is failed (still retrying
 * every max_delay) after fail_count attempts in the window; never stuck. The streak counts even
 * though the slot's last real worker started long ago. */
START_TEST(spawn_failures_back_off_and_retry)
{
    fake f;
    fake_init(&f);
    fake_in_state(&f, SUP_SLOT_RUNNING);
    f.now = T0 + 600000; /* the last worker ran for ten minutes */
    step(&f, SUP_LC_EV_EXIT);
    ck_assert_int_eq(f.lc.state, SUP_SLOT_BACKOFF);
    const uint64_t delays[] = {200, 400, 800, 15000, 15000};
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        f.now = f.lc.spawn_at_ms;
        ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_DEADLINE);
        step(&f, SUP_LC_EV_DEADLINE);
        ck_assert_uint_eq(f.out.acts, SUP_LC_ACT_SPAWN);
        step(&f, SUP_LC_EV_SPAWN_FAILED);
        ck_assert_int_eq(f.out.to, i < 3 ? SUP_SLOT_BACKOFF : SUP_SLOT_FAILED);
        ck_assert_uint_eq(f.lc.spawn_at_ms, f.now + delays[i]);
        ck_assert(f.out.acts & SUP_LC_ACT_SCHEDULE);
        if (i == 3)
            ck_assert_str_eq(f.out.reason, "FAILED (spawns keep failing); retrying every 15000 ms");
    }
    /* Resources are back: the next attempt starts a worker that comes up. */
    f.now = f.lc.spawn_at_ms;
    step(&f, SUP_LC_EV_DEADLINE);
    step(&f, SUP_LC_EV_SPAWN_OK);
    step(&f, SUP_LC_EV_HELLO);
    ck_assert_int_eq(f.lc.state, SUP_SLOT_RUNNING);
}
END_TEST

START_TEST(hang_term_then_kill)
{
    fake f;
    fake_init(&f);
    fake_in_state(&f, SUP_SLOT_RUNNING);
    f.now = T0 + HANG - 1;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_TICK);
    f.now = T0 + HANG;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_HANG);
    step(&f, SUP_LC_EV_HANG);
    ck_assert(f.lc.term_sent);
    ck_assert_int_eq(f.out.deadline, SUP_LC_DL_KILL);
    ck_assert_uint_eq(f.out.at_ms, T0 + HANG + GRACE);
    ck_assert_str_eq(f.out.reason, "worker pid 4242 sent no report for 2000 ms: hung, SIGTERM");
    /* SIGTERM once; SIGKILL at the deadline, once. */
    f.now = T0 + HANG + GRACE - 1;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_TICK);
    f.now = T0 + HANG + GRACE;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_DEADLINE);
    step(&f, SUP_LC_EV_DEADLINE);
    ck_assert(f.lc.kill_sent);
    ck_assert_str_eq(f.out.reason, "worker pid 4242 still there 1000 ms after SIGTERM: SIGKILL");
    f.now += 10000;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_TICK);
    /* Reaped: a crash like any other. */
    f.in.exit_code = -1;
    step(&f, SUP_LC_EV_EXIT);
    ck_assert_int_eq(f.lc.state, SUP_SLOT_BACKOFF);
    ck_assert(!f.lc.term_sent && !f.lc.kill_sent);
}
END_TEST

START_TEST(a_report_postpones_the_hang)
{
    fake f;
    fake_init(&f);
    fake_in_state(&f, SUP_SLOT_RUNNING);
    f.now = T0 + HANG - 100;
    step(&f, SUP_LC_EV_REPORT);
    f.now = T0 + HANG + 100;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_TICK);
    f.now = T0 + 2 * HANG - 100;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_HANG);
}
END_TEST

START_TEST(a_starting_worker_without_hello_hangs_too)
{
    fake f;
    fake_init(&f);
    step(&f, SUP_LC_EV_WANT);
    step(&f, SUP_LC_EV_SPAWN_OK);
    f.now = T0 + HANG;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_HANG);
}
END_TEST

START_TEST(an_adopted_worker_reports_then_runs)
{
    fake f;
    fake_init(&f);
    f.lc.restart.streak = 3;
    sup_lifecycle_adopt(&f.lc, T0);
    ck_assert_int_eq(f.lc.state, SUP_SLOT_ADOPTED);
    ck_assert_uint_eq(f.lc.restart.streak, 0);
    ck_assert(sup_lifecycle_has_process(f.lc.state));
    f.now = T0 + 10;
    step(&f, SUP_LC_EV_REPORT);
    ck_assert_int_eq(f.lc.state, SUP_SLOT_RUNNING);
    ck_assert_uint_eq(f.out.acts, A_READY);
    ck_assert_uint_eq(f.lc.heard_ms, T0 + 10);
}
END_TEST

START_TEST(a_silent_adoptee_hangs_from_its_adoption)
{
    fake f;
    fake_init(&f);
    sup_lifecycle_adopt(&f.lc, T0 + 500);
    f.now = T0 + 500 + HANG - 1;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_TICK);
    f.now = T0 + 500 + HANG;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_HANG);
    /* Its exit, seen through a pidfd with no status, is a crash like any other. */
    f.in.exit_code = -1;
    step(&f, SUP_LC_EV_EXIT);
    ck_assert_int_eq(f.lc.state, SUP_SLOT_BACKOFF);
}
END_TEST

START_TEST(drain_deadline_and_restart)
{
    fake f;
    fake_init(&f);
    fake_in_state(&f, SUP_SLOT_RUNNING);
    f.now = T0 + 100;
    step(&f, SUP_LC_EV_DRAIN);
    ck_assert(f.lc.restart_after);
    ck_assert_uint_eq(f.lc.kill_at_ms, T0 + 100 + DRAIN + GRACE);
    /* A draining worker is never judged hung, however quiet. */
    f.now = T0 + 100 + DRAIN + GRACE - 1;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_TICK);
    f.now += 1;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_DEADLINE);
    step(&f, SUP_LC_EV_DEADLINE);
    ck_assert_str_eq(f.out.reason, "worker pid 4242 did not finish draining: SIGKILL");
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now + 5000, &f.in), SUP_LC_EV_TICK);
    /* Its exit was asked for: straight back, nothing counted against the slot. */
    step(&f, SUP_LC_EV_EXIT);
    ck_assert_int_eq(f.out.to, SUP_SLOT_STARTING);
    ck_assert(f.out.acts & SUP_LC_ACT_SPAWN);
    ck_assert_uint_eq(f.lc.restart.restarts, 0);
}
END_TEST

START_TEST(scale_down_then_up_while_draining)
{
    fake f;
    fake_init(&f);
    fake_in_state(&f, SUP_SLOT_RUNNING);
    f.in.wanted = false;
    step(&f, SUP_LC_EV_UNWANT);
    ck_assert_int_eq(f.lc.state, SUP_SLOT_DRAINING);
    ck_assert(!f.lc.restart_after);
    f.in.wanted = true;
    step(&f, SUP_LC_EV_WANT);
    ck_assert(f.lc.restart_after);
    step(&f, SUP_LC_EV_EXIT);
    ck_assert_int_eq(f.lc.state, SUP_SLOT_STARTING);
    /* And down again for good. */
    step(&f, SUP_LC_EV_SPAWN_OK);
    f.in.wanted = false;
    step(&f, SUP_LC_EV_UNWANT);
    step(&f, SUP_LC_EV_EXIT);
    ck_assert_int_eq(f.lc.state, SUP_SLOT_STOPPED);
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now + 60000, &f.in), SUP_LC_EV_TICK);
}
END_TEST

START_TEST(a_long_run_is_stable_again)
{
    fake f;
    fake_init(&f);
    fake_in_state(&f, SUP_SLOT_RUNNING);
    f.lc.restart.streak = 2;
    f.now = T0 + f.restart.reset_after_ms - 1;
    step(&f, SUP_LC_EV_TICK);
    ck_assert_uint_eq(f.out.acts, 0);
    f.now += 1;
    step(&f, SUP_LC_EV_TICK);
    ck_assert_uint_eq(f.out.acts, SUP_LC_ACT_LOG);
    ck_assert_str_eq(f.out.reason, "stable again");
    ck_assert_uint_eq(f.lc.restart.streak, 0);
}
END_TEST

START_TEST(a_wanted_slot_is_never_left_stopped)
{
    fake f;
    fake_init(&f);
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_DEADLINE);
    f.in.wanted = false;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_TICK);
    /* A backoff slot that left the fleet is due at once, to stop. */
    fake_in_state(&f, SUP_SLOT_BACKOFF);
    f.lc.spawn_at_ms = f.now + 10000;
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_DEADLINE);
}
END_TEST

START_TEST(has_process)
{
    ck_assert(!sup_lifecycle_has_process(SUP_SLOT_STOPPED));
    ck_assert(sup_lifecycle_has_process(SUP_SLOT_STARTING));
    ck_assert(sup_lifecycle_has_process(SUP_SLOT_RUNNING));
    ck_assert(sup_lifecycle_has_process(SUP_SLOT_DRAINING));
    ck_assert(!sup_lifecycle_has_process(SUP_SLOT_BACKOFF));
    ck_assert(!sup_lifecycle_has_process(SUP_SLOT_FAILED));
    ck_assert(sup_lifecycle_has_process(SUP_SLOT_ADOPTED));
}
END_TEST

/* ---- the observed clock -------------------------------------------------------------------- */

START_TEST(observed_clock_follows_regular_ticks)
{
    sup_obs o;
    sup_obs_init(&o, 5000, 500);
    uint64_t t = 5000;
    for (int i = 0; i < 100; i++) {
        t += 100 + (uint64_t)(i % 3) * 50;
        sup_obs_advance(&o, t);
    }
    ck_assert_uint_eq(o.observed_ms, t);
    ck_assert_uint_eq(sup_obs_advance(&o, t), t); /* the same instant counts nothing */
}
END_TEST

START_TEST(observed_clock_skips_a_stop_and_a_backward_step)
{
    sup_obs o;
    sup_obs_init(&o, 5000, 500);
    ck_assert_uint_eq(sup_obs_advance(&o, 5100), 5100);
    ck_assert_uint_eq(sup_obs_advance(&o, 25100), 5600); /* 20 s stopped: 500 ms counted */
    ck_assert_uint_eq(sup_obs_advance(&o, 25200), 5700);
    ck_assert_uint_eq(sup_obs_advance(&o, 25000), 5700); /* back: nothing */
    ck_assert_uint_eq(sup_obs_advance(&o, 25100), 5800);
}
END_TEST

/* The case: the supervisor is stopped for ten hang timeouts while its workers report
 * on; when it runs again, no worker is judged hung, and a worker that really stops reporting is
 * still caught after hang_timeout of observed time. */
START_TEST(a_stopped_supervisor_judges_no_one_hung)
{
    fake f;
    fake_init(&f);
    fake_in_state(&f, SUP_SLOT_RUNNING);
    sup_obs o;
    sup_obs_init(&o, T0, 500);
    uint64_t mono = T0;
    for (int i = 0; i < 10; i++) { /* a second of ticks, a Report each half second */
        mono += 100;
        f.now = sup_obs_advance(&o, mono);
        if (i % 5 == 4)
            step(&f, SUP_LC_EV_REPORT);
        ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_TICK);
    }
    mono += 10 * HANG; /* SIGSTOP ... SIGCONT */
    f.now = sup_obs_advance(&o, mono);
    ck_assert_int_eq(sup_lifecycle_due(&f.lc, f.now, &f.in), SUP_LC_EV_TICK);
    step(&f, SUP_LC_EV_REPORT); /* the queued Reports arrive */
    /* From now on the worker is silent for real: caught after HANG of ticks, not before. */
    uint64_t heard = f.now;
    for (;;) {
        mono += 100;
        f.now = sup_obs_advance(&o, mono);
        enum sup_lifecycle_event ev = sup_lifecycle_due(&f.lc, f.now, &f.in);
        if (ev == SUP_LC_EV_HANG) {
            ck_assert_uint_eq(f.now - heard, HANG);
            break;
        }
        ck_assert_int_eq(ev, SUP_LC_EV_TICK);
        ck_assert_uint_lt(f.now - heard, HANG);
    }
}
END_TEST

Suite *sup_lifecycle_suite(void)
{
    Suite *s = suite_create("sup_lifecycle");
    TCase *tc = tcase_create("table");
    tcase_add_loop_test(tc, every_cell, 0, (int)(sizeof cells / sizeof cells[0]));
    tcase_add_loop_test(tc, every_unwanted_cell, 0,
                        (int)(sizeof unwanted_cells / sizeof unwanted_cells[0]));
    tcase_add_test(tc, unknown_event_or_state);
    suite_add_tcase(s, tc);
    tc = tcase_create("paths");
    tcase_add_test(tc, start_spawn_hello_report);
    tcase_add_test(tc, crash_backs_off_with_the_restart_policy);
    tcase_add_test(tc, cannot_boot_fails_at_once);
    tcase_add_test(tc, spawn_failures_back_off_and_retry);
    tcase_add_test(tc, hang_term_then_kill);
    tcase_add_test(tc, a_report_postpones_the_hang);
    tcase_add_test(tc, a_starting_worker_without_hello_hangs_too);
    tcase_add_test(tc, an_adopted_worker_reports_then_runs);
    tcase_add_test(tc, a_silent_adoptee_hangs_from_its_adoption);
    tcase_add_test(tc, drain_deadline_and_restart);
    tcase_add_test(tc, scale_down_then_up_while_draining);
    tcase_add_test(tc, a_long_run_is_stable_again);
    tcase_add_test(tc, a_wanted_slot_is_never_left_stopped);
    tcase_add_test(tc, has_process);
    suite_add_tcase(s, tc);
    tc = tcase_create("observed_clock");
    tcase_add_test(tc, observed_clock_follows_regular_ticks);
    tcase_add_test(tc, observed_clock_skips_a_stop_and_a_backward_step);
    tcase_add_test(tc, a_stopped_supervisor_judges_no_one_hung);
    suite_add_tcase(s, tc);
    return s;
}
