/* Unit tests for supervisor/sup_upgrade_state.c: the live upgrade's hand-over round trip, its
 * refusal of damaged, truncated or inconsistent documents, and binary identities. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sup_upgrade_state.h"

Suite *sup_upgrade_state_suite(void);

static void *xcalloc1(size_t n)
{
    void *p = calloc(1, n);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* A state with every kind of value: two addresses, slots in several states, a full ring. */
static sup_upgrade_state *sample_state(void)
{
    sup_upgrade_state *st = xcalloc1(sizeof *st);
    snprintf(st->exe, sizeof st->exe, "/opt/ws fleet/bin/wsfleetd");
    st->upgrades = 3;
    st->lock_fd = 4;
    st->pipe_fds[0] = 5;
    st->pipe_fds[1] = 6;
    st->obs = (sup_obs){.mono_ms = 123456789, .observed_ms = 123400000, .max_step_ms = 500};
    st->nslots = 4;
    st->desired = 3;
    st->workers_min = 2;
    st->scaler_min = 2;
    st->scaler_max = 4;
    st->autoscale = true;
    st->steering_cbpf = true;
    st->ready_sent = true;
    st->settings = true;
    st->spawns = 17;
    st->command_id = UINT64_MAX;
    st->nlistens = 2;
    const char *names[] = {"127.0.0.1:8080", "[::1]:8443"};
    for (size_t l = 0; l < 2; l++) {
        snprintf(st->listens[l].name, sizeof st->listens[l].name, "%s", names[l]);
        st->listens[l].family = l == 0 ? 2 : 10;
        for (unsigned s = 0; s < st->nslots; s++)
            st->listens[l].fds[s] = 7 + (int)(l * st->nslots + s);
    }
    enum sup_slot_state states[] = {SUP_SLOT_RUNNING, SUP_SLOT_DRAINING, SUP_SLOT_BACKOFF,
                                    SUP_SLOT_STOPPED};
    for (unsigned i = 0; i < st->nslots; i++) {
        sup_upgrade_slot *s = &st->slots[i];
        s->index = i;
        s->lc.state = states[i];
        s->pid = sup_lifecycle_has_process(states[i]) ? 1000 + (int)i : 0;
        s->generation = 2 + i;
        s->spawn_seq = 10 + i;
        s->started_ms = 1000 * i;
        s->ready_ms = 1000 * i + 5;
        s->wanted = i < 3;
        s->accepting = i == 0;
        s->lc.restart_after = i == 1;
        s->lc.term_sent = i == 1;
        s->lc.kill_sent = false;
        s->lc.started_ms = 77 + i;
        s->lc.heard_ms = 88 + i;
        s->lc.kill_at_ms = i == 1 ? 999999 : 0;
        s->lc.spawn_at_ms = i == 2 ? 555555 : 0;
        s->lc.restart.streak = i;
        s->lc.restart.failed = i == 2;
        s->lc.restart.restarts = 40 + i;
        s->lc.restart.ring = 5;
        s->lc.restart.nrecent = 3;
        s->lc.restart.head = 4;
        for (unsigned r = 0; r < SUP_RESTART_MAX_FAIL_COUNT; r++)
            s->lc.restart.recent[r] = r * 1000 + i;
        s->bin = (sup_binid){.dev = 2049, .ino = 131072 + i, .size = 1234567, .mtime_ns = -5};
    }
    st->natsd = (sup_natsd_handover){.state = SUP_NATSD_RUNNING,
                                     .pid = 4242,
                                     .port = 40123,
                                     .failed = true,
                                     .started_ms = 777,
                                     .restart_at_ms = 888};
    st->natsd.restart.streak = 2;
    st->natsd.restart.restarts = 9;
    st->natsd.restart.ring = 5;
    st->natsd.restart.nrecent = 2;
    st->natsd.restart.head = 1;
    st->natsd.restart.recent[1] = 31;
    st->natsd.restart.recent[2] = 32;
    return st;
}

/* Encodes st into a heap buffer of exactly its length; *len gets it. */
static char *encode(const sup_upgrade_state *st, size_t *len)
{
    long need = sup_upgrade_state_encode(NULL, 0, st);
    ck_assert_int_gt(need, 0);
    char *buf = xcalloc1((size_t)need + 1);
    ck_assert_int_eq(sup_upgrade_state_encode(buf, (size_t)need + 1, st), need);
    ck_assert_uint_eq(strlen(buf), (size_t)need);
    *len = (size_t)need;
    return buf;
}

/* The checksum the document closes with, recomputed after a deliberate edit of its body. */
static void reseal(char *buf, size_t len)
{
    size_t body = len - 21;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < body; i++) {
        h ^= (unsigned char)buf[i];
        h *= 0x100000001b3ull;
    }
    char sum[22];
    snprintf(sum, sizeof sum, "sum %016llx\n", (unsigned long long)h);
    memcpy(buf + body, sum, 21);
}

/* st encoded with its "natsd" line replaced by line (empty: removed), resealed; *len gets its
 * length. */
static char *encode_with_natsd(const sup_upgrade_state *st, const char *line, size_t *len)
{
    size_t n;
    char *buf = encode(st, &n);
    char *at = strstr(buf, "\nnatsd ");
    ck_assert_ptr_nonnull(at);
    at++;
    char *eol = strchr(at, '\n');
    ck_assert_ptr_nonnull(eol);
    size_t head = (size_t)(at - buf), tail = n - (size_t)(eol + 1 - buf), mid = strlen(line);
    char *out = xcalloc1(head + mid + tail + 1);
    memcpy(out, buf, head);
    memcpy(out + head, line, mid);
    memcpy(out + head + mid, eol + 1, tail);
    *len = head + mid + tail;
    reseal(out, *len);
    free(buf);
    return out;
}

START_TEST(round_trip_restores_every_field)
{
    sup_upgrade_state *in = sample_state();
    sup_upgrade_state *out = xcalloc1(sizeof *out);
    size_t len;
    char *buf = encode(in, &len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), 0);
    ck_assert_str_eq(out->exe, in->exe);
    ck_assert_uint_eq(out->nslots, 4);
    ck_assert_str_eq(out->listens[1].name, "[::1]:8443");
    ck_assert_int_eq(out->listens[1].fds[3], 14);
    ck_assert_int_eq(out->slots[1].lc.state, SUP_SLOT_DRAINING);
    ck_assert_uint_eq(out->slots[2].lc.restart.recent[63], 63002);
    ck_assert_int_eq(out->slots[3].bin.mtime_ns, -5);
    ck_assert_uint_eq(out->command_id, UINT64_MAX);
    ck_assert_int_eq(out->natsd.state, SUP_NATSD_RUNNING);
    ck_assert_int_eq(out->natsd.pid, 4242);
    ck_assert_int_eq(out->natsd.port, 40123);
    ck_assert(out->natsd.failed);
    ck_assert_uint_eq(out->natsd.restart.recent[2], 32);
    /* Both were zeroed before being filled field by field: equal bytes mean equal fields. */
    ck_assert_int_eq(memcmp(out, in, sizeof *in), 0);
    free(buf);
    free(out);
    free(in);
}
END_TEST

START_TEST(short_buffer_gets_the_needed_length_and_a_terminated_prefix)
{
    sup_upgrade_state *st = sample_state();
    size_t len;
    char *full = encode(st, &len);
    char small[64];
    memset(small, 'x', sizeof small);
    ck_assert_int_eq(sup_upgrade_state_encode(small, sizeof small, st), (long)len);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert_int_eq(strncmp(small, full, sizeof small - 1), 0);
    free(full);
    free(st);
}
END_TEST

START_TEST(every_changed_byte_is_refused)
{
    sup_upgrade_state *st = sample_state();
    sup_upgrade_state *out = xcalloc1(sizeof *out);
    size_t len;
    char *buf = encode(st, &len);
    for (size_t i = 0; i < len; i++) {
        char was = buf[i];
        buf[i] = was == '7' ? '8' : '7';
        ck_assert_msg(sup_upgrade_state_decode(out, buf, len) == -EINVAL, "byte %zu", i);
        buf[i] = was;
    }
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), 0);
    free(buf);
    free(out);
    free(st);
}
END_TEST

START_TEST(every_truncation_and_trailing_garbage_is_refused)
{
    sup_upgrade_state *st = sample_state();
    sup_upgrade_state *out = xcalloc1(sizeof *out);
    size_t len;
    char *buf = encode(st, &len);
    for (size_t n = 0; n < len; n++)
        ck_assert_msg(sup_upgrade_state_decode(out, buf, n) == -EINVAL, "length %zu", n);
    char *longer = xcalloc1(len + 8);
    memcpy(longer, buf, len);
    memcpy(longer + len, "slot 9\n", 7);
    ck_assert_int_eq(sup_upgrade_state_decode(out, longer, len + 7), -EINVAL);
    free(longer);
    free(buf);
    free(out);
    free(st);
}
END_TEST

START_TEST(sealed_but_inconsistent_documents_are_refused)
{
    sup_upgrade_state *st = sample_state();
    sup_upgrade_state *out = xcalloc1(sizeof *out);
    size_t len;
    char *buf;

    /* A process in a state that has none, and none in a state that has one. */
    st->slots[3].pid = 42;
    buf = encode(st, &len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), -EINVAL);
    free(buf);
    st->slots[3].pid = 0;
    st->slots[0].pid = 0;
    buf = encode(st, &len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), -EINVAL);
    free(buf);
    st->slots[0].pid = 1000;

    /* More desired workers than slots. */
    st->desired = 5;
    buf = encode(st, &len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), -EINVAL);
    free(buf);
    st->desired = 3;

    /* Another version, a state out of range, slots out of order: resealed, still refused. */
    buf = encode(st, &len);
    char *v = strstr(buf, "wsfleetd-upgrade 2\n");
    ck_assert_ptr_nonnull(v);
    v[17] = '1'; /* the version without the sidecar */
    reseal(buf, len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), -EINVAL);
    v[17] = '3';
    reseal(buf, len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), -EINVAL);
    v[17] = '2';
    reseal(buf, len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), 0);
    char *slot1 = strstr(buf, "\nslot 1 ");
    ck_assert_ptr_nonnull(slot1);
    slot1[6] = '2';
    reseal(buf, len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), -EINVAL);
    free(buf);
    free(out);
    free(st);
}
END_TEST

START_TEST(inconsistent_sidecars_are_refused)
{
    sup_upgrade_state *st = sample_state();
    sup_upgrade_state *out = xcalloc1(sizeof *out);
    size_t len;
    char *buf;
    /* The sample's own line decodes: the edits below are what makes the others wrong. */
    static const char *const lines[] = {
        "",                                      /* no sidecar line at all */
        "natsd 2 0 40123 1 777 888 0 0 0 0 0 0", /* running without a process (short too) */
        "natsd 3 4242 40123 0 777 888",          /* backing off with a process, and short */
        "natsd 9 4242 40123 0 777 888",          /* no such state */
        "natsd 2 4242 65536 0 777 888",          /* no such port */
        "natsd 2 4242 40123 2 777 888",          /* failed is no boolean */
        "natsd 2 4242 40123 0 777 888 x",        /* not a number */
    };
    buf = encode(st, &len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), 0);
    free(buf);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s%s", lines[i], lines[i][0] != '\0' ? "\n" : "");
        buf = encode_with_natsd(st, line, &len);
        ck_assert_msg(sup_upgrade_state_decode(out, buf, len) == -EINVAL, "%s", lines[i]);
        free(buf);
    }
    /* A full line with the restart ring, edited one field at a time: only the original passes. */
    buf = encode(st, &len);
    char *at = strstr(buf, "\nnatsd ") + 1;
    char full[1024];
    snprintf(full, sizeof full, "%.*s", (int)(strchr(at, '\n') - at), at);
    free(buf);
    static const struct {
        const char *from, *to;
    } edits[] = {
        {"natsd 2 4242", "natsd 4 4242"},         /* stopping: never handed over */
        {"natsd 2 4242", "natsd 3 4242"},         /* backing off with a process */
        {"natsd 2 4242 40123", "natsd 2 4242 0"}, /* a sidecar without its port */
        {"natsd 2 4242", "natsd 0 4242"},         /* an external broker with a process */
        {" 2 0 9 2 1 5 ", " 2 0 9 6 1 5 "},       /* more recent exits than the ring holds */
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *hit = strstr(full, edits[i].from);
        ck_assert_msg(hit != NULL, "%s", edits[i].from);
        char line[1100];
        snprintf(line, sizeof line, "%.*s%s%s\n", (int)(hit - full), full, edits[i].to,
                 hit + strlen(edits[i].from));
        buf = encode_with_natsd(st, line, &len);
        ck_assert_msg(sup_upgrade_state_decode(out, buf, len) == -EINVAL, "%s", edits[i].to);
        free(buf);
    }
    char line[1100];
    snprintf(line, sizeof line, "%s\n", full);
    buf = encode_with_natsd(st, line, &len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), 0);
    free(buf);
    /* An external broker: no process, no port. */
    st->natsd = (sup_natsd_handover){.state = SUP_NATSD_EXTERNAL};
    buf = encode(st, &len);
    ck_assert_int_eq(sup_upgrade_state_decode(out, buf, len), 0);
    ck_assert_int_eq(out->natsd.state, SUP_NATSD_EXTERNAL);
    free(buf);
    free(out);
    free(st);
}
END_TEST

START_TEST(encode_refuses_what_could_not_be_decoded)
{
    sup_upgrade_state *st = sample_state();
    snprintf(st->listens[0].name, sizeof st->listens[0].name, "a b");
    ck_assert_int_eq(sup_upgrade_state_encode(NULL, 0, st), -EINVAL);
    free(st);
    st = sample_state();
    st->nslots = 0;
    ck_assert_int_eq(sup_upgrade_state_encode(NULL, 0, st), -EINVAL);
    free(st);
    st = sample_state();
    snprintf(st->exe, sizeof st->exe, "/a\nb");
    ck_assert_int_eq(sup_upgrade_state_encode(NULL, 0, st), -EINVAL);
    free(st);
    /* A sidecar that is stopping, or running without a port. */
    st = sample_state();
    st->natsd.state = SUP_NATSD_STOPPING;
    ck_assert_int_eq(sup_upgrade_state_encode(NULL, 0, st), -EINVAL);
    st->natsd.state = SUP_NATSD_RUNNING;
    st->natsd.port = 0;
    ck_assert_int_eq(sup_upgrade_state_encode(NULL, 0, st), -EINVAL);
    free(st);
}
END_TEST

START_TEST(binid_tells_a_replaced_file_from_the_same_one)
{
    char dir[] = "/tmp/test_sup_upgrade_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128], tmp[128];
    snprintf(path, sizeof path, "%s/wsworker", dir);
    snprintf(tmp, sizeof tmp, "%s/wsworker.new", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("binary", f);
    fclose(f);
    sup_binid a, b, c;
    ck_assert_int_eq(sup_binid_of(&a, path), 0);
    ck_assert_int_eq(sup_binid_of(&b, path), 0);
    ck_assert(sup_binid_equal(&a, &b));
    /* The same bytes in a new file renamed over it, as a package upgrade does. */
    f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs("binary", f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, path), 0);
    ck_assert_int_eq(sup_binid_of(&c, path), 0);
    ck_assert(!sup_binid_equal(&a, &c));
    ck_assert_int_eq(sup_binid_of(&c, tmp), -ENOENT);
    unlink(path);
    rmdir(dir);
}
END_TEST

Suite *sup_upgrade_state_suite(void)
{
    Suite *s = suite_create("sup_upgrade_state");
    TCase *tc = tcase_create("upgrade_state");
    tcase_add_test(tc, round_trip_restores_every_field);
    tcase_add_test(tc, short_buffer_gets_the_needed_length_and_a_terminated_prefix);
    tcase_add_test(tc, every_changed_byte_is_refused);
    tcase_add_test(tc, every_truncation_and_trailing_garbage_is_refused);
    tcase_add_test(tc, sealed_but_inconsistent_documents_are_refused);
    tcase_add_test(tc, inconsistent_sidecars_are_refused);
    tcase_add_test(tc, encode_refuses_what_could_not_be_decoded);
    tcase_add_test(tc, binid_tells_a_replaced_file_from_the_same_one);
    suite_add_tcase(s, tc);
    return s;
}
