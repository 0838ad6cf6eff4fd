/* Unit tests for common/wsf_chsync.c against a fake channel history: recovered per since (inside
 * the history, past history_size, a new epoch, a client ahead), live publications arriving while a
 * fetch is in flight, gaps in the live feed, epoch changes, a full hold, resyncs, and a randomised
 * run that checks every publication reaches the client exactly once and in order. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_chsync.h"

Suite *wsf_chsync_suite(void);

#define FAKE_MAX 4096

/* A channel's history: every publication of the epoch, the newest `size` of them retained.
 * Offsets go up by `step` (JetStream shares its sequence among channels, so they need not be
 * consecutive). */
typedef struct fake_hist {
    uint64_t epoch;
    uint64_t offs[FAKE_MAX];
    size_t n;
    size_t size;
    uint64_t step;
} fake_hist;

static void fake_init(fake_hist *h, uint64_t epoch, size_t size, uint64_t step)
{
    memset(h, 0, sizeof *h);
    h->epoch = epoch;
    h->size = size;
    h->step = step;
}

/* Publishes one; returns it as the live feed carries it (with prev). */
static wsf_chsync_pub fake_publish(fake_hist *h)
{
    ck_assert_uint_lt(h->n, FAKE_MAX);
    uint64_t prev = h->n == 0 ? 0 : h->offs[h->n - 1];
    h->offs[h->n] = prev + h->step;
    h->n++;
    return (wsf_chsync_pub){h->epoch, prev + h->step, prev, NULL};
}

static void fake_state(const fake_hist *h, wsf_chsync_hist *out)
{
    out->epoch = h->epoch;
    out->last = h->n == 0 ? 0 : h->offs[h->n - 1];
    out->lost_to = h->n > h->size ? h->offs[h->n - h->size - 1] : 0;
}

/* The retained publications after `after`, at most max of them. */
static size_t fake_fetch(const fake_hist *h, uint64_t after, size_t max, wsf_chsync_pub *out)
{
    size_t first = h->n > h->size ? h->n - h->size : 0;
    size_t k = 0;
    for (size_t i = first; i < h->n && k < max; i++) {
        if (h->offs[i] > after)
            out[k++] = (wsf_chsync_pub){h->epoch, h->offs[i], WSF_CHSYNC_PREV_UNKNOWN, NULL};
    }
    return k;
}

/* What the client received, in order. */
typedef struct fake_client {
    uint64_t got[FAKE_MAX * 2];
    size_t n;
} fake_client;

static void deliver(fake_client *c, uint64_t offset)
{
    c->got[c->n++] = offset;
}

/* Completes the fetch in flight against h (whole), replays, and drains the held publications;
 * returns the result. Further FETCH outcomes are followed until the subscription is live. */
static wsf_chsync_result complete(wsf_chsync *s, const fake_hist *h, fake_client *c)
{
    static wsf_chsync_pub buf[FAKE_MAX];
    wsf_chsync_result first;
    bool have_first = false;
    for (int round = 0; round < 10; round++) {
        wsf_chsync_hist st;
        fake_state(h, &st);
        size_t n = fake_fetch(h, wsf_chsync_position(s), FAKE_MAX, buf);
        wsf_chsync_result r;
        wsf_chsync_on_fetched(s, &st, buf, n, &r);
        if (!have_first) {
            first = r;
            have_first = true;
        }
        if (r.action == WSF_CHSYNC_RESET)
            return r;
        for (size_t i = 0; i < r.replay_count; i++)
            deliver(c, buf[r.replay_from + i].offset);
        if (r.action == WSF_CHSYNC_FETCH)
            continue;
        ck_assert_int_eq(r.action, WSF_CHSYNC_DELIVER);
        wsf_chsync_pub p;
        enum wsf_chsync_action a;
        while ((a = wsf_chsync_drain(s, &p)) == WSF_CHSYNC_DELIVER || a == WSF_CHSYNC_DROP) {
            if (a == WSF_CHSYNC_DELIVER)
                deliver(c, p.offset);
        }
        if (a == WSF_CHSYNC_DONE)
            return first;
        ck_assert_int_eq(a, WSF_CHSYNC_FETCH);
    }
    ck_abort_msg("the subscription never became live");
    return first;
}

/* c holds exactly h's publications after `after`, in order. */
static void assert_all_after(const fake_client *c, const fake_hist *h, uint64_t after)
{
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (h->offs[i] <= after)
            continue;
        ck_assert_msg(k < c->n, "offset %llu never delivered", (unsigned long long)h->offs[i]);
        ck_assert_msg(c->got[k] == h->offs[i], "delivery %zu: %llu, want %llu", k,
                      (unsigned long long)c->got[k], (unsigned long long)h->offs[i]);
        k++;
    }
    ck_assert_msg(k == c->n, "%zu deliveries, want %zu", c->n, k);
}

static fake_hist h;
static fake_client cl;

START_TEST(no_since_starts_at_the_end)
{
    fake_init(&h, 7, 100, 3);
    for (int i = 0; i < 10; i++)
        fake_publish(&h);
    memset(&cl, 0, sizeof cl);
    wsf_chsync s;
    wsf_chsync_init(&s);
    wsf_chsync_start(&s, false, 0, 0);
    ck_assert_uint_eq(wsf_chsync_position(&s), 0);
    wsf_chsync_result r = complete(&s, &h, &cl);
    ck_assert(r.recovered);
    ck_assert_uint_eq(r.epoch, 7);
    ck_assert_uint_eq(r.offset, 30);
    ck_assert_uint_eq(r.replay_count, 0);
    ck_assert_uint_eq(cl.n, 0);
    /* Then live, in order; a repeat is dropped. */
    wsf_chsync_pub p = fake_publish(&h);
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p), WSF_CHSYNC_DELIVER);
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p), WSF_CHSYNC_DROP);
    ck_assert_uint_eq(wsf_chsync_position(&s), 33);
    wsf_chsync_fini(&s);
}
END_TEST

START_TEST(since_inside_history_replays)
{
    fake_init(&h, 7, 100, 1);
    for (int i = 0; i < 20; i++)
        fake_publish(&h);
    memset(&cl, 0, sizeof cl);
    wsf_chsync s;
    wsf_chsync_init(&s);
    wsf_chsync_start(&s, true, 7, 12);
    wsf_chsync_result r = complete(&s, &h, &cl);
    ck_assert(r.recovered);
    ck_assert_uint_eq(r.offset, 20);
    ck_assert_uint_eq(r.replay_count, 8);
    assert_all_after(&cl, &h, 12);

    /* At the end already: recovered, nothing replayed. */
    memset(&cl, 0, sizeof cl);
    wsf_chsync_start(&s, true, 7, 20);
    r = complete(&s, &h, &cl);
    ck_assert(r.recovered);
    ck_assert_uint_eq(r.offset, 20);
    ck_assert_uint_eq(cl.n, 0);

    /* An empty channel, since 0. */
    fake_init(&h, 8, 100, 1);
    wsf_chsync_start(&s, true, 8, 0);
    r = complete(&s, &h, &cl);
    ck_assert(r.recovered);
    ck_assert_uint_eq(r.offset, 0);
    wsf_chsync_fini(&s);
}
END_TEST

START_TEST(past_history_size_is_not_recovered)
{
    fake_init(&h, 7, 100, 1);
    for (int i = 0; i < 150; i++)
        fake_publish(&h);
    /* 1..50 are gone: since 49 cannot be filled, since 50 can. */
    memset(&cl, 0, sizeof cl);
    wsf_chsync s;
    wsf_chsync_init(&s);
    wsf_chsync_start(&s, true, 7, 49);
    wsf_chsync_result r = complete(&s, &h, &cl);
    ck_assert(!r.recovered);
    ck_assert_uint_eq(r.epoch, 7);
    ck_assert_uint_eq(r.offset, 150);
    ck_assert_uint_eq(r.replay_count, 0);
    ck_assert_uint_eq(cl.n, 0);
    /* Live publications follow the new position. */
    wsf_chsync_pub p = fake_publish(&h);
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p), WSF_CHSYNC_DELIVER);

    /* 151 published now, 1..51 gone: since 51 is the oldest position that can be filled. */
    memset(&cl, 0, sizeof cl);
    wsf_chsync_start(&s, true, 7, 50);
    r = complete(&s, &h, &cl);
    ck_assert(!r.recovered);
    wsf_chsync_start(&s, true, 7, 51);
    r = complete(&s, &h, &cl);
    ck_assert(r.recovered);
    ck_assert_uint_eq(r.replay_count, 100);
    assert_all_after(&cl, &h, 51);
    wsf_chsync_fini(&s);
}
END_TEST

START_TEST(new_epoch_or_client_ahead_is_not_recovered)
{
    fake_init(&h, 9, 100, 1);
    for (int i = 0; i < 5; i++)
        fake_publish(&h);
    memset(&cl, 0, sizeof cl);
    wsf_chsync s;
    wsf_chsync_init(&s);
    wsf_chsync_start(&s, true, 7, 3); /* the stream was deleted: epoch 7 is gone */
    wsf_chsync_result r = complete(&s, &h, &cl);
    ck_assert(!r.recovered);
    ck_assert_uint_eq(r.epoch, 9);
    ck_assert_uint_eq(r.offset, 5);
    ck_assert_uint_eq(cl.n, 0);

    wsf_chsync_start(&s, true, 9, 6); /* ahead of the history */
    r = complete(&s, &h, &cl);
    ck_assert(!r.recovered);
    ck_assert_uint_eq(r.offset, 5);
    ck_assert_uint_eq(cl.n, 0);
    wsf_chsync_fini(&s);
}
END_TEST

/* Live publications during the fetch: some the fetch also returns, some newer; each reaches the
 * client once, after the replayed ones, in order. */
START_TEST(live_during_fetch)
{
    fake_init(&h, 7, 100, 2);
    for (int i = 0; i < 10; i++)
        fake_publish(&h);
    memset(&cl, 0, sizeof cl);
    wsf_chsync s;
    wsf_chsync_init(&s);
    wsf_chsync_start(&s, true, 7, 6);
    /* The fetch reads the history as it is now: 8..20. */
    wsf_chsync_hist st;
    fake_state(&h, &st);
    wsf_chsync_pub fetched[FAKE_MAX];
    size_t nf = fake_fetch(&h, wsf_chsync_position(&s), FAKE_MAX, fetched);
    /* Meanwhile: 22, 24 arrive live, plus a late copy of 20 and a repeat of 24, out of order. */
    wsf_chsync_pub p22 = fake_publish(&h);
    wsf_chsync_pub p24 = fake_publish(&h);
    wsf_chsync_pub p20 = {7, 20, 18, NULL};
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p24), WSF_CHSYNC_HELD);
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p20), WSF_CHSYNC_HELD);
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p22), WSF_CHSYNC_HELD);
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p24), WSF_CHSYNC_DROP);
    wsf_chsync_result r;
    wsf_chsync_on_fetched(&s, &st, fetched, nf, &r);
    ck_assert_int_eq(r.action, WSF_CHSYNC_DELIVER);
    ck_assert(r.recovered);
    ck_assert_uint_eq(r.offset, 20);
    for (size_t i = 0; i < r.replay_count; i++)
        deliver(&cl, fetched[r.replay_from + i].offset);
    wsf_chsync_pub p;
    ck_assert_int_eq(wsf_chsync_drain(&s, &p), WSF_CHSYNC_DROP);
    ck_assert_uint_eq(p.offset, 20);
    ck_assert_int_eq(wsf_chsync_drain(&s, &p), WSF_CHSYNC_DELIVER);
    deliver(&cl, p.offset);
    ck_assert_int_eq(wsf_chsync_drain(&s, &p), WSF_CHSYNC_DELIVER);
    deliver(&cl, p.offset);
    ck_assert_int_eq(wsf_chsync_drain(&s, &p), WSF_CHSYNC_DONE);
    ck_assert_ptr_null(s.held);
    assert_all_after(&cl, &h, 6);
    wsf_chsync_fini(&s);
}
END_TEST

START_TEST(live_gap_fetches_the_missing)
{
    fake_init(&h, 7, 100, 5);
    fake_publish(&h);
    memset(&cl, 0, sizeof cl);
    wsf_chsync s;
    wsf_chsync_init(&s);
    wsf_chsync_start(&s, false, 0, 0);
    complete(&s, &h, &cl);
    /* 10 and 15 are lost on the way; 20 says its predecessor is 15. */
    fake_publish(&h);
    fake_publish(&h);
    wsf_chsync_pub p20 = fake_publish(&h);
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p20), WSF_CHSYNC_FETCH);
    ck_assert_uint_eq(wsf_chsync_position(&s), 5);
    wsf_chsync_pub p25 = fake_publish(&h);
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p25), WSF_CHSYNC_HELD);
    complete(&s, &h, &cl);
    assert_all_after(&cl, &h, 5);
    ck_assert_uint_eq(wsf_chsync_position(&s), 25);

    /* Without prev, sparse offsets are taken as they come. */
    wsf_chsync_pub q = {7, 40, WSF_CHSYNC_PREV_UNKNOWN, NULL};
    ck_assert_int_eq(wsf_chsync_on_live(&s, &q), WSF_CHSYNC_DELIVER);
    q.offset = 39;
    ck_assert_int_eq(wsf_chsync_on_live(&s, &q), WSF_CHSYNC_DROP);
    wsf_chsync_fini(&s);
}
END_TEST

START_TEST(epoch_change_resets)
{
    fake_init(&h, 7, 100, 1);
    fake_publish(&h);
    memset(&cl, 0, sizeof cl);
    wsf_chsync s;
    wsf_chsync_init(&s);
    wsf_chsync_start(&s, false, 0, 0);
    complete(&s, &h, &cl);
    wsf_chsync_pub p = {8, 1, 0, NULL};
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p), WSF_CHSYNC_RESET);
    /* Dead from then on: everything is dropped, nothing fetched. */
    p.epoch = 7;
    p.offset = 2;
    p.prev = 1;
    ck_assert_int_eq(wsf_chsync_on_live(&s, &p), WSF_CHSYNC_DROP);
    ck_assert(!wsf_chsync_resync(&s));

    /* A refill whose history moved on past the position, or to a new epoch: reset too, and the
     * held publications come back to be released. */
    int refs[2];
    for (int round = 0; round < 2; round++) {
        wsf_chsync_start(&s, false, 0, 0);
        complete(&s, &h, &cl);
        wsf_chsync_pub gap = {7, 50, 49, &refs[round]};
        ck_assert_int_eq(wsf_chsync_on_live(&s, &gap), WSF_CHSYNC_FETCH);
        wsf_chsync_hist st =
            round == 0 ? (wsf_chsync_hist){7, 60, 10} : (wsf_chsync_hist){8, 60, 0};
        wsf_chsync_result r;
        wsf_chsync_on_fetched(&s, &st, NULL, 0, &r);
        ck_assert_int_eq(r.action, WSF_CHSYNC_RESET);
        wsf_chsync_pub back;
        ck_assert_int_eq(wsf_chsync_drain(&s, &back), WSF_CHSYNC_DROP);
        ck_assert_ptr_eq(back.ref, &refs[round]);
        ck_assert_int_eq(wsf_chsync_drain(&s, &back), WSF_CHSYNC_DONE);
    }
    wsf_chsync_fini(&s);
}
END_TEST

START_TEST(full_hold_fetches_again)
{
    fake_init(&h, 7, FAKE_MAX, 1);
    memset(&cl, 0, sizeof cl);
    wsf_chsync s;
    wsf_chsync_init(&s);
    wsf_chsync_start(&s, true, 7, 0);
    wsf_chsync_hist st;
    fake_state(&h, &st); /* the fetch saw an empty channel */
    int held = 0;
    int dropped = 0;
    for (int i = 0; i < WSF_CHSYNC_HOLD_MAX + 50; i++) {
        wsf_chsync_pub p = fake_publish(&h);
        enum wsf_chsync_action a = wsf_chsync_on_live(&s, &p);
        held += a == WSF_CHSYNC_HELD;
        dropped += a == WSF_CHSYNC_DROP;
    }
    ck_assert_int_eq(held, WSF_CHSYNC_HOLD_MAX);
    ck_assert_int_eq(dropped, 50);
    wsf_chsync_result r;
    wsf_chsync_on_fetched(&s, &st, NULL, 0, &r);
    ck_assert(r.recovered);
    wsf_chsync_pub p;
    enum wsf_chsync_action a;
    while ((a = wsf_chsync_drain(&s, &p)) == WSF_CHSYNC_DELIVER)
        deliver(&cl, p.offset);
    ck_assert_int_eq(a, WSF_CHSYNC_FETCH);
    complete(&s, &h, &cl);
    assert_all_after(&cl, &h, 0);
    wsf_chsync_fini(&s);
}
END_TEST

START_TEST(resync_and_cut_short_fetch)
{
    fake_init(&h, 7, 1000, 1);
    fake_publish(&h);
    memset(&cl, 0, sizeof cl);
    wsf_chsync s;
    wsf_chsync_init(&s);
    ck_assert(!wsf_chsync_resync(&s)); /* not subscribed */
    wsf_chsync_start(&s, true, 7, 0);
    ck_assert(!wsf_chsync_resync(&s)); /* in flight: repeated after */
    complete(&s, &h, &cl);
    ck_assert_uint_eq(cl.n, 1);
    /* NATS came back: 2..5 were published meanwhile and never arrived live. */
    for (int i = 0; i < 4; i++)
        fake_publish(&h);
    ck_assert(wsf_chsync_resync(&s));
    complete(&s, &h, &cl);
    assert_all_after(&cl, &h, 0);

    /* A fetch that returns fewer than the history holds asks for the rest. */
    for (int i = 0; i < 10; i++)
        fake_publish(&h);
    ck_assert(wsf_chsync_resync(&s));
    wsf_chsync_hist st;
    fake_state(&h, &st);
    wsf_chsync_pub buf[4];
    size_t n = fake_fetch(&h, wsf_chsync_position(&s), 4, buf);
    wsf_chsync_result r;
    wsf_chsync_on_fetched(&s, &st, buf, n, &r);
    ck_assert_int_eq(r.action, WSF_CHSYNC_FETCH);
    ck_assert_uint_eq(r.replay_count, 4);
    for (size_t i = 0; i < r.replay_count; i++)
        deliver(&cl, buf[r.replay_from + i].offset);
    complete(&s, &h, &cl);
    assert_all_after(&cl, &h, 0);
    /* A stale answer once live changes nothing. */
    wsf_chsync_on_fetched(&s, &st, buf, n, &r);
    ck_assert_int_eq(r.action, WSF_CHSYNC_DROP);
    ck_assert_uint_eq(wsf_chsync_position(&s), 15);
    wsf_chsync_fini(&s);
}
END_TEST

/* Random interleavings of publishing, a lossy and reordering live feed, and fetches that take a
 * while: the client always ends with every publication after its start exactly once, in order. */
START_TEST(random_runs)
{
    srand(1234u + (unsigned)_i);
    fake_init(&h, 7, FAKE_MAX, (uint64_t)(1 + rand() % 3));
    for (int i = 0; i < rand() % 20; i++)
        fake_publish(&h);
    uint64_t since = h.n == 0 ? 0 : h.offs[rand() % (int)h.n];
    memset(&cl, 0, sizeof cl);
    wsf_chsync s;
    wsf_chsync_init(&s);
    wsf_chsync_start(&s, true, 7, since);
    wsf_chsync_pub pending[8]; /* the live feed, delivered late and out of order */
    int npending = 0;
    bool fetching = true;
    for (int step = 0; step < 600; step++) {
        int what = rand() % 10;
        if (what < 4 && h.n < FAKE_MAX - 1) {
            wsf_chsync_pub p = fake_publish(&h);
            if (rand() % 8 != 0 && npending < 8)
                pending[npending++] = p; /* else lost on the way */
        } else if (what < 8 && npending > 0) {
            int k = rand() % npending;
            wsf_chsync_pub p = pending[k];
            pending[k] = pending[--npending];
            enum wsf_chsync_action a = wsf_chsync_on_live(&s, &p);
            if (a == WSF_CHSYNC_DELIVER)
                deliver(&cl, p.offset);
            if (a == WSF_CHSYNC_FETCH)
                fetching = true;
            ck_assert_int_ne(a, WSF_CHSYNC_RESET);
        } else if (fetching) {
            complete(&s, &h, &cl);
            fetching = false;
        }
    }
    /* The feed's last messages may be lost too: a resync brings the client up to date. */
    if (wsf_chsync_resync(&s) || fetching)
        complete(&s, &h, &cl);
    assert_all_after(&cl, &h, since);
    wsf_chsync_fini(&s);
}
END_TEST

START_TEST(small_state)
{
    ck_assert_uint_le(sizeof(wsf_chsync), 32);
    ck_assert_uint_ne(wsf_chsync_epoch_id("E1", 2), wsf_chsync_epoch_id("E2", 2));
    ck_assert_uint_eq(wsf_chsync_epoch_id("E1", 2), wsf_chsync_epoch_id("E1", 2));
}
END_TEST

Suite *wsf_chsync_suite(void)
{
    Suite *s = suite_create("wsf_chsync");
    TCase *tc = tcase_create("sync");
    tcase_add_test(tc, no_since_starts_at_the_end);
    tcase_add_test(tc, since_inside_history_replays);
    tcase_add_test(tc, past_history_size_is_not_recovered);
    tcase_add_test(tc, new_epoch_or_client_ahead_is_not_recovered);
    tcase_add_test(tc, live_during_fetch);
    tcase_add_test(tc, live_gap_fetches_the_missing);
    tcase_add_test(tc, epoch_change_resets);
    tcase_add_test(tc, full_hold_fetches_again);
    tcase_add_test(tc, resync_and_cut_short_fetch);
    tcase_add_loop_test(tc, random_runs, 0, 200);
    tcase_add_test(tc, small_state);
    suite_add_tcase(s, tc);
    return s;
}
