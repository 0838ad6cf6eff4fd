/* Unit tests for common/wsf_wheel.c: deadlines fire at their tick and never before, across turns
 * of the wheel, with cancel and move in between. */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_wheel.h"

Suite *wsf_wheel_suite(void);

#define T0 1000u

/* A deadline owner: the node is embedded, as in a connection. */
typedef struct timer {
    wsf_wheel_node node;
    uint64_t due;
    uint64_t fired_at; /* 0 = not fired */
    unsigned fired;
} timer;

static timer *timer_of(wsf_wheel_node *n)
{
    return (timer *)((char *)n - offsetof(timer, node));
}

static wsf_wheel *wheel_new(uint64_t now)
{
    wsf_wheel *w = malloc(sizeof(*w));
    ck_assert_ptr_nonnull(w);
    wsf_wheel_init(w, now);
    return w;
}

/* Expires everything due at `now`, recording when each timer fired. Returns how many fired. */
static unsigned expire_all(wsf_wheel *w, uint64_t now)
{
    unsigned n = 0;
    wsf_wheel_node *node;
    while ((node = wsf_wheel_expire(w, now)) != NULL) {
        ck_assert(!wsf_wheel_is_set(node));
        timer *t = timer_of(node);
        ck_assert_msg(t->due <= now, "deadline %llu fired at %llu", (unsigned long long)t->due,
                      (unsigned long long)now);
        t->fired++;
        t->fired_at = now;
        n++;
        ck_assert_uint_lt(n, 1000000);
    }
    return n;
}

START_TEST(init_is_empty)
{
    wsf_wheel *w = wheel_new(T0);
    ck_assert_uint_eq(w->now, T0);
    ck_assert_uint_eq(w->count, 0);
    ck_assert_ptr_null(wsf_wheel_expire(w, T0));
    ck_assert_ptr_null(wsf_wheel_expire(w, T0 + 10 * WSF_WHEEL_SLOTS));
    free(w);
}
END_TEST

START_TEST(fires_at_its_tick_not_before)
{
    static const uint64_t delays[] = {1, 2, 5, 100, WSF_WHEEL_SLOTS - 1};
    for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
        wsf_wheel *w = wheel_new(T0);
        timer t = {.due = T0 + delays[i]};
        wsf_wheel_set(w, &t.node, t.due);
        ck_assert(wsf_wheel_is_set(&t.node));
        ck_assert_uint_eq(w->count, 1);
        for (uint64_t now = T0; now < t.due; now++) {
            ck_assert_msg(expire_all(w, now) == 0, "delay %llu fired at %llu",
                          (unsigned long long)delays[i], (unsigned long long)now);
        }
        ck_assert_uint_eq(expire_all(w, t.due), 1);
        ck_assert_uint_eq(t.fired, 1);
        ck_assert_uint_eq(t.fired_at, t.due);
        ck_assert_uint_eq(w->count, 0);
        ck_assert_uint_eq(w->now, t.due);
        ck_assert_uint_eq(expire_all(w, t.due + 5 * WSF_WHEEL_SLOTS), 0);
        free(w);
    }
}
END_TEST

/* Jumping far ahead in one call fires everything that came due on the way. */
START_TEST(jump_ahead_fires_all_due)
{
    wsf_wheel *w = wheel_new(T0);
    timer t[4] = {{.due = T0 + 3}, {.due = T0 + 700}, {.due = T0 + 5000}, {.due = T0 + 5001}};
    for (int i = 0; i < 4; i++) {
        wsf_wheel_set(w, &t[i].node, t[i].due);
    }
    ck_assert_uint_eq(expire_all(w, T0 + 5000), 3);
    ck_assert_uint_eq(t[0].fired + t[1].fired + t[2].fired, 3);
    ck_assert_uint_eq(t[3].fired, 0);
    ck_assert(wsf_wheel_is_set(&t[3].node));
    ck_assert_uint_eq(w->count, 1);
    ck_assert_uint_eq(expire_all(w, T0 + 5001), 1);
    ck_assert_uint_eq(w->count, 0);
    free(w);
}
END_TEST

START_TEST(beyond_one_turn)
{
    static const uint64_t delays[] = {WSF_WHEEL_SLOTS,         WSF_WHEEL_SLOTS + 1,
                                      WSF_WHEEL_SLOTS + 3,     2 * WSF_WHEEL_SLOTS,
                                      5 * WSF_WHEEL_SLOTS + 7, 40 * WSF_WHEEL_SLOTS - 1};
    for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
        wsf_wheel *w = wheel_new(T0);
        /* A near timer in the same slot, to show the far one is skipped on earlier passes. */
        timer near = {.due = T0 + delays[i] % WSF_WHEEL_SLOTS};
        timer far = {.due = T0 + delays[i]};
        if (near.due > T0) {
            wsf_wheel_set(w, &near.node, near.due);
        }
        wsf_wheel_set(w, &far.node, far.due);
        for (uint64_t now = T0 + 1; now < far.due; now++) {
            expire_all(w, now);
            ck_assert_msg(far.fired == 0, "delay %llu fired at %llu", (unsigned long long)delays[i],
                          (unsigned long long)now);
        }
        if (near.due > T0) {
            ck_assert_uint_eq(near.fired_at, near.due);
        }
        ck_assert_uint_eq(expire_all(w, far.due), 1);
        ck_assert_uint_eq(far.fired_at, far.due);
        free(w);
    }
}
END_TEST

/* Advancing in strides of various sizes, a far deadline fires on the first advance at or past
 * it. */
START_TEST(beyond_one_turn_in_strides)
{
    static const uint64_t strides[] = {7, WSF_WHEEL_SLOTS - 1, WSF_WHEEL_SLOTS, WSF_WHEEL_SLOTS + 1,
                                       3 * WSF_WHEEL_SLOTS + 5};
    for (size_t i = 0; i < sizeof(strides) / sizeof(strides[0]); i++) {
        wsf_wheel *w = wheel_new(T0);
        timer t = {.due = T0 + 3 * WSF_WHEEL_SLOTS + 100};
        wsf_wheel_set(w, &t.node, t.due);
        uint64_t now = T0;
        while (t.fired == 0) {
            now += strides[i];
            expire_all(w, now);
            ck_assert_uint_lt(now, t.due + 10 * WSF_WHEEL_SLOTS);
        }
        ck_assert_msg(now >= t.due && now - strides[i] < t.due, "stride %llu: fired at %llu",
                      (unsigned long long)strides[i], (unsigned long long)now);
        free(w);
    }
}
END_TEST

START_TEST(deadline_now_or_past_fires_next)
{
    wsf_wheel *w = wheel_new(T0);
    timer at_now = {.due = T0};
    timer past = {.due = T0 - 10};
    timer long_past = {.due = 0};
    wsf_wheel_set(w, &at_now.node, at_now.due);
    wsf_wheel_set(w, &past.node, past.due);
    wsf_wheel_set(w, &long_past.node, long_past.due);
    ck_assert_uint_eq(w->count, 3);
    ck_assert_uint_eq(expire_all(w, T0), 3);
    ck_assert_uint_eq(at_now.fired + past.fired + long_past.fired, 3);
    ck_assert_uint_eq(w->count, 0);

    /* After time has moved on, the same holds relative to the new now. */
    ck_assert_uint_eq(expire_all(w, T0 + 777), 0);
    timer again = {.due = T0 + 700};
    wsf_wheel_set(w, &again.node, again.due);
    ck_assert_uint_eq(expire_all(w, T0 + 778), 1);
    ck_assert_uint_eq(again.fired, 1);
    free(w);
}
END_TEST

/* "Next advance": a past deadline set now also fires when the wheel moves by one tick. */
START_TEST(past_deadline_fires_on_next_tick)
{
    wsf_wheel *w = wheel_new(T0);
    timer past = {.due = T0 - WSF_WHEEL_SLOTS - 3};
    wsf_wheel_set(w, &past.node, past.due);
    ck_assert_uint_eq(expire_all(w, T0 + 1), 1);
    free(w);
}
END_TEST

START_TEST(cancel)
{
    wsf_wheel *w = wheel_new(T0);
    timer a = {.due = T0 + 5};
    timer b = {.due = T0 + 5};
    timer never = {0};
    wsf_wheel_set(w, &a.node, a.due);
    wsf_wheel_set(w, &b.node, b.due);
    ck_assert_uint_eq(w->count, 2);
    wsf_wheel_cancel(w, &a.node);
    ck_assert(!wsf_wheel_is_set(&a.node));
    ck_assert_uint_eq(w->count, 1);
    wsf_wheel_cancel(w, &a.node); /* already cancelled: no-op */
    ck_assert_uint_eq(w->count, 1);
    wsf_wheel_cancel(w, &never.node); /* never scheduled: no-op */
    ck_assert_uint_eq(w->count, 1);

    ck_assert_uint_eq(expire_all(w, T0 + 100), 1);
    ck_assert_uint_eq(a.fired, 0);
    ck_assert_uint_eq(b.fired, 1);

    /* A cancelled node can be scheduled again. */
    wsf_wheel_set(w, &a.node, T0 + 101);
    ck_assert_uint_eq(expire_all(w, T0 + 101), 1);
    ck_assert_uint_eq(a.fired, 1);
    free(w);
}
END_TEST

START_TEST(move)
{
    wsf_wheel *w = wheel_new(T0);
    timer t = {.due = T0 + 10};
    wsf_wheel_set(w, &t.node, T0 + 10);
    t.due = T0 + 20;
    wsf_wheel_set(w, &t.node, t.due); /* later */
    ck_assert_uint_eq(w->count, 1);
    for (uint64_t now = T0 + 1; now < T0 + 20; now++) {
        ck_assert_uint_eq(expire_all(w, now), 0);
    }
    ck_assert_uint_eq(expire_all(w, T0 + 20), 1);

    t.due = T0 + 30 + WSF_WHEEL_SLOTS;
    wsf_wheel_set(w, &t.node, t.due);
    t.due = T0 + 25;
    wsf_wheel_set(w, &t.node, t.due); /* earlier */
    ck_assert_uint_eq(w->count, 1);
    ck_assert_uint_eq(expire_all(w, T0 + 24), 0);
    ck_assert_uint_eq(expire_all(w, T0 + 25), 1);
    ck_assert_uint_eq(expire_all(w, T0 + 31 + WSF_WHEEL_SLOTS), 0);
    ck_assert_uint_eq(t.fired, 2);

    /* Moving to the same deadline leaves one entry. */
    wsf_wheel_set(w, &t.node, T0 + 40 + WSF_WHEEL_SLOTS);
    wsf_wheel_set(w, &t.node, T0 + 40 + WSF_WHEEL_SLOTS);
    ck_assert_uint_eq(w->count, 1);
    t.due = T0 + 40 + WSF_WHEEL_SLOTS;
    ck_assert_uint_eq(expire_all(w, T0 + 40 + WSF_WHEEL_SLOTS), 1);
    free(w);
}
END_TEST

/* Re-scheduling the expired node, or another one, from inside the expiry loop. */
START_TEST(reschedule_while_expiring)
{
    wsf_wheel *w = wheel_new(T0);
    timer a = {.due = T0 + 1};
    timer b = {.due = T0 + 1};
    timer c = {.due = T0 + 2};
    wsf_wheel_set(w, &a.node, a.due);
    wsf_wheel_set(w, &b.node, b.due);
    wsf_wheel_set(w, &c.node, c.due);

    unsigned fired = 0;
    wsf_wheel_node *n;
    while ((n = wsf_wheel_expire(w, T0 + 1)) != NULL) {
        timer *t = timer_of(n);
        ck_assert_uint_le(t->due, T0 + 1);
        fired++;
        t->due = T0 + 3;
        wsf_wheel_set(w, n, t->due);
        if (t == &a) {
            /* Also drop c, which sits in another slot. */
            wsf_wheel_cancel(w, &c.node);
        }
        ck_assert_uint_lt(fired, 10);
    }
    ck_assert_uint_eq(fired, 2);
    ck_assert_uint_eq(w->count, 2);
    ck_assert_ptr_null(wsf_wheel_expire(w, T0 + 2));
    ck_assert_uint_eq(expire_all(w, T0 + 3), 2);
    ck_assert_uint_eq(w->count, 0);
    free(w);
}
END_TEST

/* Scheduling from inside one call that advances many ticks: a deadline still within the advance
 * fires in the same loop, one past it does not. */
START_TEST(schedule_during_multi_tick_advance)
{
    wsf_wheel *w = wheel_new(T0);
    timer first = {.due = T0 + 2};
    timer inside = {.due = T0 + 7};
    timer behind = {.due = T0 + 1};
    timer outside = {.due = T0 + 11};
    wsf_wheel_set(w, &first.node, first.due);

    unsigned fired = 0;
    wsf_wheel_node *n;
    while ((n = wsf_wheel_expire(w, T0 + 10)) != NULL) {
        timer *t = timer_of(n);
        ck_assert_uint_le(t->due, T0 + 10);
        t->fired++;
        if (t == &first) {
            wsf_wheel_set(w, &inside.node, inside.due);
            wsf_wheel_set(w, &behind.node, behind.due);
            wsf_wheel_set(w, &outside.node, outside.due);
        }
        ck_assert_uint_lt(++fired, 10);
    }
    ck_assert_uint_eq(first.fired, 1);
    ck_assert_uint_eq(inside.fired, 1);
    ck_assert_uint_eq(behind.fired, 1);
    ck_assert_uint_eq(outside.fired, 0);
    ck_assert_uint_eq(w->count, 1);
    ck_assert_uint_eq(expire_all(w, T0 + 11), 1);
    free(w);
}
END_TEST

/* Many nodes with pseudo-random deadlines over several turns, some moved or cancelled: each one
 * fires exactly once, exactly at its tick. */
START_TEST(many_nodes)
{
    enum { N = 20000 };
    const uint64_t start = ((uint64_t)1 << 40) + 17;
    const uint64_t span = 6 * WSF_WHEEL_SLOTS;
    timer *t = calloc(N, sizeof(*t));
    ck_assert_ptr_nonnull(t);
    wsf_wheel *w = wheel_new(start);
    uint32_t rng = 12345;

    for (size_t i = 0; i < N; i++) {
        rng = rng * 1103515245u + 12345u;
        t[i].due = start + 1 + (rng >> 8) % span;
        wsf_wheel_set(w, &t[i].node, t[i].due);
    }
    ck_assert_uint_eq(w->count, N);
    size_t cancelled = 0;
    for (size_t i = 0; i < N; i += 7) {
        wsf_wheel_cancel(w, &t[i].node);
        t[i].due = UINT64_MAX;
        cancelled++;
    }
    for (size_t i = 3; i < N; i += 11) {
        if (t[i].due != UINT64_MAX) {
            t[i].due = start + 1 + (t[i].due * 7) % span;
            wsf_wheel_set(w, &t[i].node, t[i].due);
        }
    }
    ck_assert_uint_eq(w->count, N - cancelled);

    unsigned total = 0;
    for (uint64_t now = start + 1; now <= start + span + 1; now++) {
        total += expire_all(w, now);
    }
    ck_assert_uint_eq(total, N - cancelled);
    ck_assert_uint_eq(w->count, 0);
    for (size_t i = 0; i < N; i++) {
        if (t[i].due == UINT64_MAX) {
            ck_assert_uint_eq(t[i].fired, 0);
        } else {
            ck_assert_uint_eq(t[i].fired, 1);
            ck_assert_uint_eq(t[i].fired_at, t[i].due);
        }
    }
    free(w);
    free(t);
}
END_TEST

Suite *wsf_wheel_suite(void)
{
    Suite *s = suite_create("wsf_wheel");

    TCase *tc = tcase_create("wheel");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, init_is_empty);
    tcase_add_test(tc, fires_at_its_tick_not_before);
    tcase_add_test(tc, jump_ahead_fires_all_due);
    tcase_add_test(tc, beyond_one_turn);
    tcase_add_test(tc, beyond_one_turn_in_strides);
    tcase_add_test(tc, deadline_now_or_past_fires_next);
    tcase_add_test(tc, past_deadline_fires_on_next_tick);
    tcase_add_test(tc, cancel);
    tcase_add_test(tc, move);
    tcase_add_test(tc, reschedule_while_expiring);
    tcase_add_test(tc, schedule_during_multi_tick_advance);
    tcase_add_test(tc, many_nodes);
    suite_add_tcase(s, tc);
    return s;
}
