/* Unit tests for supervisor/sup_webhook.c against a real HTTP server on loopback (libevent's, in
 * the test's own loop): batches arrive in order as POSTs of JSON, failures are retried with a
 * growing delay and logged once, refused batches are dropped, the queue stays bounded. */
#include <arpa/inet.h>
#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sup_webhook.h"
#include "wsf_log.h"

Suite *sup_webhook_suite(void);

#define MAX_SEEN 16

/* The receiving end: answers each POST with codes[i] (200 past the list) and records it. */
typedef struct receiver {
    struct event_base *base;
    struct evhttp *http;
    int port;
    int codes[8];
    size_t ncodes;
    char *bodies[MAX_SEEN];
    char paths[MAX_SEEN][64];
    char types[MAX_SEEN][64];
    uint64_t at_ms[MAX_SEEN];
    size_t seen;
    size_t stop_after; /* leave the loop after this many requests */
} receiver;

/* The reason a sup_webhook_new call gave. */
static char why[512];

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    receiver *r = arg;
    ck_assert_int_eq(evhttp_request_get_command(req), EVHTTP_REQ_POST);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (r->seen < MAX_SEEN) {
        char *body = malloc(len + 1);
        evbuffer_remove(in, body, len);
        body[len] = '\0';
        r->bodies[r->seen] = body;
        snprintf(r->paths[r->seen], sizeof r->paths[0], "%s", evhttp_request_get_uri(req));
        const char *type =
            evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
        snprintf(r->types[r->seen], sizeof r->types[0], "%s", type ? type : "");
        r->at_ms[r->seen] = now_ms();
    }
    int code = r->seen < r->ncodes ? r->codes[r->seen] : 200;
    r->seen++;
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Nope", NULL);
    if (r->seen >= r->stop_after)
        event_base_loopexit(r->base, NULL);
}

static void receiver_start(receiver *r, struct event_base *base)
{
    memset(r, 0, sizeof *r);
    r->base = base;
    r->http = evhttp_new(base);
    ck_assert_ptr_nonnull(r->http);
    evhttp_set_gencb(r->http, on_request, r);
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(r->http, "127.0.0.1", 0);
    ck_assert_ptr_nonnull(s);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sa, &sl), 0);
    r->port = ntohs(sa.sin_port);
    r->stop_after = SIZE_MAX;
}

static void receiver_stop(receiver *r)
{
    evhttp_free(r->http);
    for (size_t i = 0; i < r->seen && i < MAX_SEEN; i++)
        free(r->bodies[i]);
}

/* Runs the loop until the receiver stops it, or fails after ms. */
static void run_until(struct event_base *base, uint64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* Runs the loop until w has delivered n batches (its last reply may still be on its way after
 * the receiver left the loop), for up to 5 s. */
static void run_until_delivered(struct event_base *base, sup_webhook *w, uint64_t n)
{
    for (int i = 0; i < 500 && sup_webhook_delivered(w) < n; i++) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(10000);
    }
}

/* Log lines go to a file the test reads back. */
static char logpath[64];

static void log_capture(void)
{
    snprintf(logpath, sizeof logpath, "/tmp/test_sup_webhook_XXXXXX");
    int fd = mkstemp(logpath);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
    wsf_log_init("wsfleetd", WSF_LOG_INFO);
}

static int log_count(const char *needle)
{
    FILE *f = fopen(logpath, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL)
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void log_release(void)
{
    unlink(logpath);
}

START_TEST(delivers_in_order_to_the_path)
{
    struct event_base *base = event_base_new();
    receiver r;
    receiver_start(&r, base);
    r.stop_after = 3;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", r.port);
    sup_webhook *w = sup_webhook_new(base, NULL, url, NULL, 5000, 8, why, sizeof why);
    ck_assert_ptr_nonnull(w);
    sup_webhook_post(w, "[{\"n\":1}]");
    sup_webhook_post(w, "[{\"n\":2}]");
    sup_webhook_post(w, "[{\"n\":3}]");
    ck_assert_uint_eq(sup_webhook_pending(w), 3);
    run_until(base, 10000);
    ck_assert_uint_eq(r.seen, 3);
    for (int i = 0; i < 3; i++) {
        char want[16];
        snprintf(want, sizeof want, "[{\"n\":%d}]", i + 1);
        ck_assert_str_eq(r.bodies[i], want);
        ck_assert_str_eq(r.paths[i], "/api/v2/alerts");
        ck_assert_str_eq(r.types[i], "application/json");
    }
    run_until_delivered(base, w, 3);
    ck_assert_uint_eq(sup_webhook_delivered(w), 3);
    ck_assert_uint_eq(sup_webhook_pending(w), 0);
    sup_webhook_free(w);
    receiver_stop(&r);
    event_base_free(base);
}
END_TEST

START_TEST(retries_with_backoff_and_logs_once)
{
    log_capture();
    struct event_base *base = event_base_new();
    receiver r;
    receiver_start(&r, base);
    r.codes[0] = 500;
    r.codes[1] = 503;
    r.ncodes = 2;
    r.stop_after = 3;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", r.port);
    sup_webhook *w = sup_webhook_new(base, NULL, url, NULL, 5000, 8, why, sizeof why);
    sup_webhook_post(w, "[1]");
    run_until(base, 20000);
    ck_assert_uint_eq(r.seen, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(r.bodies[i], "[1]");
        ck_assert_str_eq(r.paths[i], "/hook");
    }
    /* 1 s, then 2 s: timers never fire early. */
    ck_assert_uint_ge(r.at_ms[1] - r.at_ms[0], 1000);
    ck_assert_uint_ge(r.at_ms[2] - r.at_ms[1], 2000);
    run_until_delivered(base, w, 1);
    ck_assert_uint_eq(sup_webhook_delivered(w), 1);
    ck_assert_int_eq(log_count("delivery failing: HTTP 500"), 1);
    ck_assert_int_eq(log_count("delivery failing"), 1);
    ck_assert_int_eq(log_count("delivering again (after 2 failed attempts)"), 1);
    sup_webhook_free(w);
    receiver_stop(&r);
    event_base_free(base);
    log_release();
}
END_TEST

START_TEST(a_refused_batch_is_dropped)
{
    log_capture();
    struct event_base *base = event_base_new();
    receiver r;
    receiver_start(&r, base);
    r.codes[0] = 400;
    r.ncodes = 1;
    r.stop_after = 2;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", r.port);
    sup_webhook *w = sup_webhook_new(base, NULL, url, NULL, 5000, 8, why, sizeof why);
    sup_webhook_post(w, "[\"bad\"]");
    sup_webhook_post(w, "[\"good\"]");
    run_until(base, 20000);
    ck_assert_uint_eq(r.seen, 2);
    ck_assert_str_eq(r.bodies[0], "[\"bad\"]");
    ck_assert_str_eq(r.bodies[1], "[\"good\"]");
    ck_assert_uint_eq(sup_webhook_dropped(w), 1);
    ck_assert_int_eq(log_count("delivery failing: HTTP 400"), 1);
    sup_webhook_free(w);
    receiver_stop(&r);
    event_base_free(base);
    log_release();
}
END_TEST

/* Nobody listens: the queue keeps the newest queue_max batches. */
START_TEST(the_queue_is_bounded)
{
    log_capture();
    struct event_base *base = event_base_new();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd); /* a port with no listener: connections are refused */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(sa.sin_port));
    sup_webhook *w = sup_webhook_new(base, NULL, url, NULL, 1000, 2, why, sizeof why);
    for (int i = 0; i < 5; i++) {
        char body[16];
        snprintf(body, sizeof body, "[%d]", i);
        sup_webhook_post(w, body);
        ck_assert_uint_le(sup_webhook_pending(w), 2);
    }
    ck_assert_uint_eq(sup_webhook_pending(w), 2);
    ck_assert_uint_eq(sup_webhook_dropped(w), 3);
    run_until(base, 1500); /* the first attempt fails, a retry is scheduled */
    ck_assert_int_eq(log_count("delivery failing: no response"), 1);
    ck_assert_int_eq(log_count("batches waiting: dropping the oldest"), 1);
    sup_webhook_free(w); /* with a retry pending and batches queued */
    event_base_free(base);
    log_release();
}
END_TEST

START_TEST(bad_urls_are_refused)
{
    struct event_base *base = event_base_new();
    ck_assert_ptr_null(
        sup_webhook_new(base, NULL, "ftp://127.0.0.1/", NULL, 1000, 2, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "is not an http:// or https:// URL"));
    ck_assert_ptr_null(
        sup_webhook_new(base, NULL, "http://127.0.0.1/", NULL, 1000, 0, why, sizeof why));
    ck_assert_str_eq(why, "a queue of no batches");
    /* https: the system's CAs, and a CA file that must load. */
    sup_webhook *w =
        sup_webhook_new(base, NULL, "https://127.0.0.1/", NULL, 1000, 2, why, sizeof why);
    ck_assert_ptr_nonnull(w);
    sup_webhook_free(w);
    ck_assert_ptr_null(sup_webhook_new(base, NULL, "https://127.0.0.1/",
                                       "/nonexistent/wsfleet-ca.pem", 1000, 2, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "webhook_ca /nonexistent/wsfleet-ca.pem: "));
    sup_webhook_free(NULL);
    event_base_free(base);
}
END_TEST

Suite *sup_webhook_suite(void)
{
    Suite *s = suite_create("sup_webhook");
    TCase *tc = tcase_create("webhook");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, delivers_in_order_to_the_path);
    tcase_add_test(tc, retries_with_backoff_and_logs_once);
    tcase_add_test(tc, a_refused_batch_is_dropped);
    tcase_add_test(tc, the_queue_is_bounded);
    tcase_add_test(tc, bad_urls_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
