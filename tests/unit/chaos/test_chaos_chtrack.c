/* Unit tests for chaos/chaos_chtrack.c: what a channel subscription of the load client counts
 * (order, duplicates, declared gaps, data) and the end-of-run comparison with the acks. */
#include <check.h>
#include <string.h>

#include "chaos_chtrack.h"

Suite *chaos_chtrack_suite(void);

#define SIZE 8

/* Delivers publication n of channel ch at offset through the same data the publisher writes. */
static enum chaos_chverdict put(chaos_chsub *s, chaos_chcounts *k, uint64_t offset, uint64_t n)
{
    wsf_buf b = {0};
    chaos_chdata_write(&b, s->channel, n, SIZE);
    enum chaos_chverdict v =
        chaos_chsub_deliver(s, k, offset, (const char *)b.data + b.off, wsf_buf_pending(&b), SIZE);
    wsf_buf_fini(&b);
    return v;
}

START_TEST(data_round_trip)
{
    wsf_buf b = {0};
    chaos_chdata_write(&b, 3, 12345, 5);
    const char *d = (const char *)b.data + b.off;
    size_t len = wsf_buf_pending(&b);
    ck_assert_int_eq(strncmp(d, "{\"n\":12345,\"c\":3,\"p\":\"", 22), 0);
    uint64_t n = 0;
    ck_assert_int_eq(chaos_chdata_check(d, len, 3, 5, &n), 0);
    ck_assert_uint_eq(n, 12345);
    ck_assert_int_eq(chaos_chdata_check(d, len, 4, 5, &n), -1);     /* another channel */
    ck_assert_int_eq(chaos_chdata_check(d, len, 3, 6, &n), -1);     /* another size */
    ck_assert_int_eq(chaos_chdata_check(d, len - 1, 3, 5, &n), -1); /* cut short */
    char copy[64];
    memcpy(copy, d, len);
    copy[len - 3] ^= 1; /* one filler letter changed */
    ck_assert_int_eq(chaos_chdata_check(copy, len, 3, 5, &n), -1);
    ck_assert_int_eq(chaos_chdata_check("{\"n\":01,\"c\":3,\"p\":\"\"}", 21, 3, 0, &n), -1);
    ck_assert_int_eq(chaos_chdata_check(NULL, 0, 3, 0, &n), -1);
    wsf_buf_fini(&b);
}
END_TEST

START_TEST(in_order_exactly_once)
{
    chaos_chsub s;
    chaos_chcounts k = {0};
    chaos_chsub_init(&s, 2);
    chaos_chsub_position(&s, &k, "E1", 10, false); /* the first reply: recovered is moot */
    ck_assert_uint_eq(k.not_recovered, 0);
    ck_assert_uint_eq(s.start, 10);
    ck_assert_int_eq(put(&s, &k, 12, 0), CHAOS_CH_OK);
    ck_assert_int_eq(put(&s, &k, 15, 1), CHAOS_CH_OK); /* sparse offsets are fine */
    ck_assert_int_eq(put(&s, &k, 15, 1), CHAOS_CH_DUPLICATE);
    ck_assert_int_eq(put(&s, &k, 12, 0), CHAOS_CH_DUPLICATE);
    ck_assert_int_eq(put(&s, &k, 14, 9), CHAOS_CH_OUT_OF_ORDER); /* below the last, never seen */
    ck_assert_int_eq(put(&s, &k, 20, 2), CHAOS_CH_OK);
    ck_assert_uint_eq(k.deliveries, 3);
    ck_assert_uint_eq(k.duplicated, 2);
    ck_assert_uint_eq(k.out_of_order, 1);
    ck_assert(chaos_chsub_has(&s, 15));
    ck_assert(!chaos_chsub_has(&s, 14));
    ck_assert_uint_eq(s.last, 20);

    /* Bad data is counted and leaves the position alone. */
    ck_assert_int_eq(chaos_chsub_deliver(&s, &k, 21, "{}", 2, SIZE), CHAOS_CH_BAD_DATA);
    ck_assert_uint_eq(k.data_errors, 1);
    ck_assert_uint_eq(s.last, 20);
    chaos_chsub_fini(&s);
}
END_TEST

START_TEST(lost_only_against_acks)
{
    chaos_chsub s;
    chaos_chledger l;
    chaos_chcounts k = {0};
    chaos_chsub_init(&s, 0);
    chaos_chledger_init(&l);
    chaos_chsub_position(&s, &k, "E", 100, true);
    put(&s, &k, 101, 0);
    put(&s, &k, 103, 1);
    put(&s, &k, 107, 3); /* 105 (n 2) never arrived */
    put(&s, &k, 109, 4); /* delivered but never acked: the publisher's connection died */
    /* Acks arrive out of order; one is from before the subscription. */
    chaos_chledger_add(&l, 103, 1);
    chaos_chledger_add(&l, 101, 0);
    chaos_chledger_add(&l, 107, 3);
    chaos_chledger_add(&l, 105, 2);
    chaos_chledger_add(&l, 90, 99);
    chaos_chledger_add(&l, 111, 5); /* acked, owed, never received */
    ck_assert_uint_eq(chaos_chledger_last(&l), 111);
    chaos_chsub_verify(&s, &l, &k);
    ck_assert_uint_eq(k.lost, 2);
    ck_assert_uint_eq(k.data_errors, 0);
    chaos_chsub_fini(&s);
    chaos_chledger_fini(&l);
}
END_TEST

START_TEST(received_n_checked_against_ack)
{
    chaos_chsub s;
    chaos_chledger l;
    chaos_chcounts k = {0};
    chaos_chsub_init(&s, 1);
    chaos_chledger_init(&l);
    chaos_chsub_position(&s, &k, "E", 0, true);
    put(&s, &k, 5, 7);
    chaos_chledger_add(&l, 5, 8); /* the publisher's 8th went to offset 5, not its 7th */
    chaos_chsub_verify(&s, &l, &k);
    ck_assert_uint_eq(k.data_errors, 1);
    ck_assert_uint_eq(k.lost, 0);
    chaos_chsub_fini(&s);
    chaos_chledger_fini(&l);
}
END_TEST

START_TEST(recovered_false_declares_a_gap)
{
    chaos_chsub s;
    chaos_chledger l;
    chaos_chcounts k = {0};
    chaos_chsub_init(&s, 0);
    chaos_chledger_init(&l);
    chaos_chsub_position(&s, &k, "E", 10, true);
    put(&s, &k, 11, 0);
    /* A resume past the history window: 12..30 cannot be filled, and the server says so. */
    chaos_chsub_position(&s, &k, "E", 30, false);
    ck_assert_uint_eq(k.not_recovered, 1);
    ck_assert_uint_eq(s.last, 30);
    put(&s, &k, 31, 5);
    for (uint64_t o = 11; o <= 31; o++) {
        chaos_chledger_add(&l, o, o == 11 ? 0 : o == 31 ? 5 : 1);
    }
    chaos_chsub_verify(&s, &l, &k);
    ck_assert_uint_eq(k.lost, 0);
    /* A recovered resume declares nothing: what is missing then is lost. */
    chaos_chsub_position(&s, &k, "E", 31, true);
    ck_assert_uint_eq(k.not_recovered, 1);
    chaos_chledger_add(&l, 33, 6);
    chaos_chsub_verify(&s, &l, &k);
    ck_assert_uint_eq(k.lost, 1);
    chaos_chsub_fini(&s);
    chaos_chledger_fini(&l);
}
END_TEST

START_TEST(epoch_change)
{
    chaos_chsub s;
    chaos_chledger l;
    chaos_chcounts k = {0};
    chaos_chsub_init(&s, 0);
    chaos_chledger_init(&l);
    chaos_chsub_position(&s, &k, "E1", 50, true);
    put(&s, &k, 51, 0);
    chaos_chsub_position(&s, &k, "E2", 3, false);
    ck_assert_uint_eq(k.epoch_changes, 1);
    ck_assert_uint_eq(k.not_recovered, 1);
    ck_assert_str_eq(s.epoch, "E2");
    ck_assert_uint_eq(s.last, 3);
    /* The new epoch's offsets start low again: no longer out of order. */
    ck_assert_int_eq(put(&s, &k, 4, 1), CHAOS_CH_OK);
    ck_assert(!chaos_chsub_has(&s, 51)); /* the old epoch's offsets are forgotten */
    chaos_chledger_add(&l, 2, 9);        /* before the new position: not owed */
    chaos_chledger_add(&l, 4, 1);
    chaos_chsub_verify(&s, &l, &k);
    ck_assert_uint_eq(k.lost, 0);
    chaos_chledger_add(&l, 6, 2); /* after it: owed */
    chaos_chsub_verify(&s, &l, &k);
    ck_assert_uint_eq(k.lost, 1);
    chaos_chsub_fini(&s);
    chaos_chledger_fini(&l);
}
END_TEST

START_TEST(push_before_first_reply)
{
    chaos_chsub s;
    chaos_chledger l;
    chaos_chcounts k = {0};
    chaos_chsub_init(&s, 0);
    chaos_chledger_init(&l);
    ck_assert_int_eq(put(&s, &k, 7, 0), CHAOS_CH_OK);
    chaos_chsub_position(&s, &k, "E", 6, true); /* the reply's position is behind what arrived */
    ck_assert_uint_eq(s.last, 7);
    ck_assert_uint_eq(s.start, 6);
    chaos_chledger_add(&l, 5, 9);
    chaos_chledger_add(&l, 7, 0);
    chaos_chsub_verify(&s, &l, &k);
    ck_assert_uint_eq(k.lost, 0);
    chaos_chsub_fini(&s);
    chaos_chledger_fini(&l);
}
END_TEST

START_TEST(never_subscribed_owes_nothing)
{
    chaos_chsub s;
    chaos_chledger l;
    chaos_chcounts k = {0};
    chaos_chsub_init(&s, 0);
    chaos_chledger_init(&l);
    chaos_chledger_add(&l, 5, 0);
    chaos_chsub_verify(&s, &l, &k);
    ck_assert_uint_eq(k.lost, 0);
    chaos_chcounts sum = {0};
    k.duplicated = 2;
    chaos_chcounts_add(&sum, &k);
    chaos_chcounts_add(&sum, &k);
    ck_assert_uint_eq(sum.duplicated, 4);
    chaos_chsub_fini(&s);
    chaos_chledger_fini(&l);
}
END_TEST

Suite *chaos_chtrack_suite(void)
{
    Suite *s = suite_create("chaos_chtrack");
    TCase *tc = tcase_create("chtrack");
    tcase_add_test(tc, data_round_trip);
    tcase_add_test(tc, in_order_exactly_once);
    tcase_add_test(tc, lost_only_against_acks);
    tcase_add_test(tc, received_n_checked_against_ack);
    tcase_add_test(tc, recovered_false_declares_a_gap);
    tcase_add_test(tc, epoch_change);
    tcase_add_test(tc, push_before_first_reply);
    tcase_add_test(tc, never_subscribed_owes_nothing);
    suite_add_tcase(s, tc);
    return s;
}
