/* Unit tests for worker/wk_chini.c: the channels INI text and the NATS URL file. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_chini.h"

Suite *wk_chini_suite(void);

static int load(wsf_chconf *c, const char *text, char *err, size_t errsize)
{
    wsf_chconf_init(c);
    return wk_chini_load_text(c, text, strlen(text), err, errsize);
}

START_TEST(sections_and_keys)
{
    const char *text = "# the file wsfleetd writes\n"
                       "[channels]\n"
                       "history_size = 10\r\n"
                       "  publish=client  \n"
                       "; a comment\n"
                       "\n"
                       "[namespace chat]\n"
                       "presence = yes\n"
                       "[ namespace empty ]\n";
    wsf_chconf c;
    char err[256] = "";
    ck_assert_int_eq(load(&c, text, err, sizeof err), 0);
    wsf_ch_settings s;
    ck_assert_int_eq(wsf_chconf_lookup(&s, &c, "news", 4), 0);
    ck_assert_uint_eq(s.history_size, 10);
    ck_assert_int_eq(s.publish, WSF_CH_PUBLISH_CLIENT);
    ck_assert(!s.presence);
    ck_assert_int_eq(wsf_chconf_lookup(&s, &c, "chat:1", 6), 0);
    ck_assert(s.presence);
    ck_assert_uint_eq(s.history_size, 10); /* from [channels] */
    ck_assert(!c.backend.connect);         /* [backend] defaults */
    ck_assert_uint_eq(c.backend.timeout_ms, 1000);
    /* An empty section still defines its namespace. */
    ck_assert_int_eq(wsf_chconf_lookup(&s, &c, "empty:x", 7), 0);
    ck_assert_int_eq(wsf_chconf_lookup(&s, &c, "other:x", 7), -102);
    wsf_chconf_fini(&c);
}
END_TEST

static const struct {
    const char *text;
    const char *err;
} bad[] = {
    {"history_size = 1\n", "line 1: [] key outside a section"},
    {"[channels]\nbogus = 1\n", "line 2: [channels] "},
    {"[channels]\nhistory_size = -1\n", "line 2: [channels] "},
    {"[nats]\nurl = x\n", "line 1: [nats] only [channels], [namespace NAME] and [backend]"},
    {"[backend]\ntimeout = 0\n", "line 2: [backend] must be seconds"},
    {"[backend]\nbogus = 1\n", "line 2: [backend] unknown key"},
    {"[channels\n", "line 1: [] section header without ']'"},
    {"[channels]\njust words\n", "line 2: [channels] expected key = value"},
    {"[namespace bad/name]\n", "line 1: [namespace bad/name] "},
};

START_TEST(bad_text_refused)
{
    wsf_chconf c;
    char err[256] = "";
    ck_assert_int_eq(load(&c, bad[_i].text, err, sizeof err), -EINVAL);
    ck_assert_msg(strncmp(err, bad[_i].err, strlen(bad[_i].err)) == 0, "%s: got '%s'", bad[_i].text,
                  err);
    wsf_chconf_fini(&c);
}
END_TEST

static char *temp_file(const char *text)
{
    char *path = strdup("/tmp/wk_chini_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(url_file)
{
    char url[128];
    char *p = temp_file("  nats://tok@127.0.0.1:4222,nats://127.0.0.1:4223 \r\nignored\n");
    ck_assert_int_eq(wk_chini_read_url(p, url, sizeof url), 0);
    ck_assert_str_eq(url, "nats://tok@127.0.0.1:4222,nats://127.0.0.1:4223");
    ck_assert_int_eq(wk_chini_read_url(p, url, 10), -EINVAL);
    unlink(p);
    free(p);
    p = temp_file("\nnats://x:1\n");
    ck_assert_int_eq(wk_chini_read_url(p, url, sizeof url), -EINVAL);
    unlink(p);
    free(p);
    ck_assert_int_eq(wk_chini_read_url("/nonexistent/nats.url", url, sizeof url), -ENOENT);
}
END_TEST

START_TEST(config_file)
{
    wsf_chconf c;
    char err[512];
    char *p = temp_file("[namespace x]\npublish = backend\n");
    wsf_chconf_init(&c);
    ck_assert_int_eq(wk_chini_load_file(&c, p, err, sizeof err), 0);
    wsf_ch_settings s;
    ck_assert_int_eq(wsf_chconf_lookup(&s, &c, "x:1", 3), 0);
    ck_assert_int_eq(s.publish, WSF_CH_PUBLISH_BACKEND);
    wsf_chconf_fini(&c);
    unlink(p);
    free(p);
    wsf_chconf_init(&c);
    ck_assert_int_eq(wk_chini_load_file(&c, "/nonexistent.ini", err, sizeof err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent.ini"));
    wsf_chconf_fini(&c);
}
END_TEST

Suite *wk_chini_suite(void)
{
    Suite *s = suite_create("wk_chini");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sections_and_keys);
    tcase_add_loop_test(tc, bad_text_refused, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, url_file);
    tcase_add_test(tc, config_file);
    suite_add_tcase(s, tc);
    return s;
}
