/* Unit tests for supervisor/sup_events.c: the ring of fleet events, ids, since, truncation. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "sup_events.h"

Suite *sup_events_suite(void);

static sup_events ev; /* large: static, zeroed per test by sup_events_init */

START_TEST(ids_and_since)
{
    sup_events_init(&ev);
    ck_assert_uint_eq(sup_events_after(&ev, 0), 0);
    ck_assert_uint_eq(ev.n, 0);
    const sup_event *e = sup_events_push(&ev, 1000, "start", 2, "worker pid 7 started");
    ck_assert_uint_eq(e->id, 1);
    ck_assert_uint_eq(e->t_ms, 1000);
    ck_assert_int_eq(e->slot, 2);
    ck_assert_str_eq(e->kind, "start");
    sup_events_push(&ev, 1001, "exit", 2, "gone");
    sup_events_push(&ev, 1002, "scale", -1, "2 -> 3");
    ck_assert_uint_eq(sup_events_after(&ev, 0), 0);
    ck_assert_uint_eq(sup_events_after(&ev, 1), 1);
    ck_assert_str_eq(sup_events_at(&ev, sup_events_after(&ev, 2))->kind, "scale");
    ck_assert_uint_eq(sup_events_after(&ev, 3), 3); /* nothing newer */
    ck_assert_uint_eq(sup_events_after(&ev, 99), 3);
    ck_assert_ptr_null(sup_events_at(&ev, 3));
    ck_assert_int_eq(sup_events_push(&ev, 1, "x", -7, "")->slot, -1);
}
END_TEST

START_TEST(ring_wraps_and_ids_keep_growing)
{
    char text[32];
    sup_events_init(&ev);
    for (int i = 0; i < SUP_EVENTS_MAX + 10; i++) {
        snprintf(text, sizeof text, "event %d", i + 1);
        sup_events_push(&ev, (uint64_t)i, "drill", -1, text);
    }
    ck_assert_uint_eq(ev.n, SUP_EVENTS_MAX);
    ck_assert_uint_eq(ev.last_id, SUP_EVENTS_MAX + 10);
    ck_assert_uint_eq(sup_events_at(&ev, 0)->id, 11);
    ck_assert_str_eq(sup_events_at(&ev, 0)->text, "event 11");
    ck_assert_uint_eq(sup_events_at(&ev, SUP_EVENTS_MAX - 1)->id, SUP_EVENTS_MAX + 10);
    /* A reader that fell behind gets everything still held. */
    ck_assert_uint_eq(sup_events_after(&ev, 3), 0);
    ck_assert_uint_eq(sup_events_at(&ev, sup_events_after(&ev, 100))->id, 101);
}
END_TEST

START_TEST(text_is_truncated_at_characters_and_cleaned)
{
    char long_text[SUP_EVENT_TEXT_MAX + 40];
    memset(long_text, 'a', sizeof long_text);
    /* A 3-byte character straddles the limit. */
    memcpy(long_text + SUP_EVENT_TEXT_MAX - 2, "\xe2\x82\xac", 3);
    long_text[sizeof long_text - 1] = '\0';
    sup_events_init(&ev);
    const sup_event *e = sup_events_push(&ev, 0, "kind-that-is-much-too-long-for-it", 0, long_text);
    ck_assert_uint_eq(strlen(e->text), SUP_EVENT_TEXT_MAX - 2);
    ck_assert_uint_eq(strlen(e->kind), SUP_EVENT_KIND_MAX - 1);
    e = sup_events_push(&ev, 0, "x", 0, "a\nb\tc\x1b");
    ck_assert_str_eq(e->text, "a b c ");
    e = sup_events_push(&ev, 0, "x", 0, "<img src=x onerror=alert(1)>");
    ck_assert_str_eq(e->text, "<img src=x onerror=alert(1)>"); /* kept: the page uses text */
}
END_TEST

START_TEST(kinds)
{
    ck_assert(sup_events_kind_is_valid("drill"));
    ck_assert(sup_events_kind_is_valid("alert.firing"));
    ck_assert(sup_events_kind_is_valid("a_b-c9"));
    ck_assert(!sup_events_kind_is_valid(""));
    ck_assert(!sup_events_kind_is_valid("Drill"));
    ck_assert(!sup_events_kind_is_valid("a b"));
    ck_assert(!sup_events_kind_is_valid("<script>"));
    ck_assert(!sup_events_kind_is_valid("abcdefghijklmnopqrstuvwx")); /* 24 characters */
}
END_TEST

Suite *sup_events_suite(void)
{
    Suite *s = suite_create("sup_events");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, ids_and_since);
    tcase_add_test(tc, ring_wraps_and_ids_keep_growing);
    tcase_add_test(tc, text_is_truncated_at_characters_and_cleaned);
    tcase_add_test(tc, kinds);
    suite_add_tcase(s, tc);
    return s;
}
