/* Unit tests for chaos/chaos_chload.c against a small scripted wsfleet.v1 server in the test
 * (one libevent loop for both): the offered subprotocol, connect and subscribe, publications
 * acknowledged and pushed, a 4001 close that every subscriber resumes from with since, and
 * servers that replay a publication twice or never push one, which the counts must show. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "chaos_chload.h"
#include "ws_frame.h"
#include "ws_http.h"
#include "ws_parser.h"
#include "ws_writer.h"
#include "wsf_buf.h"
#include "wsf_chenc.h"
#include "wsf_chproto.h"

Suite *chaos_chload_suite(void);

#define MAX_SESS 16
#define MAX_PUBS 4096
#define SUBSCRIBERS 3

/* What the scripted server does wrong, if anything. */
enum script {
    HONEST = 0,
    DUP_ON_RESUME, /* a resume replays the subscriber's last publication again */
    DROP_ONE,      /* the 5th publication is acknowledged but never pushed */
};

typedef struct sess {
    int fd;
    struct event *ev;
    wsf_buf in;
    bool upgraded;
    bool subscribed;
    bool protocol_ok; /* the request offered wsfleet.v1 */
    ws_parser parser;
    wsf_buf msg;
} sess;

typedef struct server {
    struct event_base *base;
    int lfd;
    uint16_t port;
    struct event *accept_ev;
    sess sess[MAX_SESS];
    enum script script;
    uint64_t offsets[MAX_PUBS]; /* the channel's publications */
    char *data[MAX_PUBS];
    size_t npubs;
    uint64_t next_offset;
    size_t kill_after; /* close every subscriber with 4001 at this many publications, 0 = never */
    bool killed;
    size_t upgrades;
    size_t protocol_ok;
    size_t resumes;    /* subscribes with since */
    size_t subscribes; /* subscribe replies */
    size_t refused;    /* publishes answered 108 */
} server;

static void send_frame(int fd, int opcode, const void *data, size_t len)
{
    uint8_t *buf = malloc(ws_frame_size(len, false));
    ck_assert_ptr_nonnull(buf);
    size_t n = ws_frame_write(buf, true, opcode, data, len, NULL);
    ck_assert_int_eq(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
    free(buf);
}

static void send_buf(int fd, wsf_buf *b)
{
    send_frame(fd, WS_OP_TEXT, b->data + b->off, wsf_buf_pending(b));
    b->off = b->len = 0;
}

static void sess_end(sess *s)
{
    if (s->fd == -1) {
        return;
    }
    event_free(s->ev);
    close(s->fd);
    s->fd = -1;
    wsf_buf_fini(&s->in);
    wsf_buf_fini(&s->msg);
}

static void push_all(server *sv, size_t k)
{
    if (sv->script == DROP_ONE && k == 4) {
        return;
    }
    wsf_buf b = {0};
    wsf_ch_pub pub = {
        .offset = sv->offsets[k], .data = sv->data[k], .data_len = strlen(sv->data[k])};
    wsf_ch_enc_push_pub(&b, "t-0", &pub);
    for (int i = 0; i < MAX_SESS; i++) {
        if (sv->sess[i].fd != -1 && sv->sess[i].subscribed) {
            send_frame(sv->sess[i].fd, WS_OP_TEXT, b.data + b.off, wsf_buf_pending(&b));
        }
    }
    wsf_buf_fini(&b);
}

/* Closes every subscriber with 4001, as a worker does to a lagging one. */
static void kill_subscribers(server *sv)
{
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
    size_t n = ws_close_payload(payload, 4001, "lagging, resume");
    for (int i = 0; i < MAX_SESS; i++) {
        if (sv->sess[i].fd != -1 && sv->sess[i].subscribed) {
            send_frame(sv->sess[i].fd, WS_OP_CLOSE, payload, n);
            sess_end(&sv->sess[i]);
        }
    }
    sv->killed = true;
}

static void on_command(server *sv, sess *s, const wsf_ch_cmd *c, wsf_buf *out)
{
    wsf_ch_sep(out);
    if (c->err != 0) {
        wsf_ch_enc_error(out, c->id, c->err, NULL);
        return;
    }
    switch (c->op) {
    case WSF_CH_OP_CONNECT:
        wsf_ch_enc_connect(out, c->id, "client", "", NULL, 0);
        return;
    case WSF_CH_OP_SUBSCRIBE: {
        ck_assert_str_eq(c->channel, "t-0");
        wsf_ch_pub pubs[MAX_PUBS];
        size_t np = 0;
        if (c->has_since) {
            sv->resumes++;
            ck_assert_str_eq(c->since.epoch, "E1");
            for (size_t k = 0; k < sv->npubs; k++) {
                bool again = sv->script == DUP_ON_RESUME && sv->offsets[k] == c->since.offset;
                if (sv->offsets[k] > c->since.offset || again) {
                    pubs[np++] = (wsf_ch_pub){.offset = sv->offsets[k],
                                              .data = sv->data[k],
                                              .data_len = strlen(sv->data[k])};
                }
            }
        }
        wsf_ch_state st = {.epoch = "E1",
                           .offset = sv->npubs > 0 ? sv->offsets[sv->npubs - 1] : 0,
                           .recovered = true,
                           .pubs = pubs,
                           .npubs = np};
        wsf_ch_enc_subscribe(out, c->id, &st);
        s->subscribed = true;
        sv->subscribes++;
        return;
    }
    case WSF_CH_OP_PUBLISH: {
        if (sv->subscribes < SUBSCRIBERS) {
            /* Not until every subscriber is there, so that each is owed every publication. */
            wsf_ch_enc_error(out, c->id, WSF_CH_ERR_NOT_AVAILABLE, NULL);
            sv->refused++;
            return;
        }
        ck_assert_uint_lt(sv->npubs, MAX_PUBS);
        size_t k = sv->npubs++;
        sv->next_offset += 1 + k % 3; /* sparse, as JetStream's stream-wide sequence is */
        sv->offsets[k] = sv->next_offset;
        sv->data[k] = strndup(c->data, c->data_len);
        wsf_ch_enc_publish(out, c->id, sv->offsets[k]);
        push_all(sv, k);
        if (sv->kill_after != 0 && sv->npubs == sv->kill_after && !sv->killed) {
            kill_subscribers(sv);
        }
        return;
    }
    default:
        wsf_ch_enc_error(out, c->id, WSF_CH_ERR_UNKNOWN_COMMAND, NULL);
        return;
    }
}

static void on_message(server *sv, sess *s, const uint8_t *data, size_t len)
{
    wsf_ch_cmds cmds;
    wsf_ch_cmds_init(&cmds);
    wsf_ch_parse_frame(&cmds, (const char *)data, len);
    wsf_buf out = {0};
    for (size_t i = 0; i < cmds.n; i++) {
        on_command(sv, s, &cmds.items[i], &out);
        if (s->fd == -1) {
            break; /* closed by a kill */
        }
    }
    if (s->fd != -1 && wsf_buf_pending(&out) > 0) {
        send_buf(s->fd, &out);
    }
    wsf_buf_fini(&out);
    wsf_ch_cmds_fini(&cmds);
}

static void on_handshake(server *sv, sess *s)
{
    ws_http_scan scan;
    ws_http_request req;
    ws_http_scan_init(&scan);
    ssize_t n = ws_http_parse_request(&req, &scan, (const char *)s->in.data + s->in.off,
                                      wsf_buf_pending(&s->in));
    if (n <= 0) {
        return;
    }
    ws_upgrade up;
    ck_assert_int_eq(ws_http_validate_upgrade(&up, &req), 0);
    ck_assert(req.path.len == 9 && memcmp(req.path.p, "/channels", 9) == 0);
    s->protocol_ok = ws_http_has_token(up.protocol, "wsfleet.v1");
    sv->protocol_ok += s->protocol_ok;
    up.protocol = (ws_str){.p = "wsfleet.v1", .len = 10};
    char resp[512];
    size_t rn = ws_http_write_upgrade(resp, sizeof(resp), &up);
    ck_assert_uint_gt(rn, 0);
    ck_assert_int_eq(send(s->fd, resp, rn, MSG_NOSIGNAL), (ssize_t)rn);
    wsf_buf_consume(&s->in, (size_t)n);
    s->upgraded = true;
    sv->upgrades++;
    ws_parser_init(&s->parser, WS_ROLE_SERVER, 0);
}

static void on_frames(server *sv, sess *s)
{
    while (s->fd != -1 && wsf_buf_pending(&s->in) > 0) {
        ws_event ev;
        ssize_t n =
            ws_parser_next(&s->parser, &ev, s->in.data + s->in.off, wsf_buf_pending(&s->in));
        ck_assert_int_ge(n, 0);
        if (n == 0) {
            return;
        }
        wsf_buf_consume(&s->in, (size_t)n);
        if (ev.kind == WS_EV_CLOSE) {
            uint8_t payload[WS_MAX_CONTROL_PAYLOAD];
            size_t pn = ws_close_payload(payload, 1000, "");
            send_frame(s->fd, WS_OP_CLOSE, payload, pn);
            sess_end(s);
            return;
        }
        if (ev.kind != WS_EV_DATA) {
            continue;
        }
        wsf_buf_append(&s->msg, ev.data, ev.len);
        if (ev.last) {
            wsf_buf whole = s->msg;
            s->msg = (wsf_buf){0};
            on_message(sv, s, whole.data + whole.off, wsf_buf_pending(&whole));
            wsf_buf_fini(&whole);
        }
    }
}

/* Appends what the socket holds to s->in; ends the session on EOF or an error. */
static void sess_read(evutil_socket_t fd, sess *s)
{
    uint8_t buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
        if (n == -1 && errno == EAGAIN) {
            return;
        }
        sess_end(s);
        return;
    }
    wsf_buf_append(&s->in, buf, (size_t)n);
}

static server *the_server;

/* The sessions' read events carry the session; the server is the test's one. */
static void on_read_server(evutil_socket_t fd, short what, void *arg)
{
    sess *s = arg;
    (void)what;
    sess_read(fd, s);
    if (s->fd == -1) {
        return;
    }
    if (!s->upgraded) {
        on_handshake(the_server, s);
    }
    if (s->upgraded) {
        on_frames(the_server, s);
    }
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    server *sv = arg;
    (void)what;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd == -1) {
        return;
    }
    for (int i = 0; i < MAX_SESS; i++) {
        sess *s = &sv->sess[i];
        if (s->fd == -1) {
            memset(s, 0, sizeof(*s));
            s->fd = fd;
            s->ev = event_new(sv->base, fd, EV_READ | EV_PERSIST, on_read_server, s);
            event_add(s->ev, NULL);
            return;
        }
    }
    close(fd);
}

static void server_start(server *sv, struct event_base *base, enum script script)
{
    memset(sv, 0, sizeof(*sv));
    sv->base = base;
    sv->script = script;
    for (int i = 0; i < MAX_SESS; i++) {
        sv->sess[i].fd = -1;
    }
    sv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(sv->lfd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(sv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(sv->lfd, 64), 0);
    socklen_t len = sizeof(a);
    ck_assert_int_eq(getsockname(sv->lfd, (struct sockaddr *)&a, &len), 0);
    sv->port = ntohs(a.sin_port);
    sv->accept_ev = event_new(base, sv->lfd, EV_READ | EV_PERSIST, on_accept, sv);
    event_add(sv->accept_ev, NULL);
    the_server = sv;
}

static void server_stop(server *sv)
{
    for (int i = 0; i < MAX_SESS; i++) {
        sess_end(&sv->sess[i]);
    }
    event_free(sv->accept_ev);
    close(sv->lfd);
    for (size_t k = 0; k < sv->npubs; k++) {
        free(sv->data[k]);
    }
}

typedef struct run {
    struct event_base *base;
    chaos_chload *ch;
    server *sv;
    size_t stop_at; /* finish once the server holds this many publications */
    bool finishing;
    bool done;
} run;

static void on_done(void *arg)
{
    run *r = arg;
    r->done = true;
    event_base_loopbreak(r->base);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    run *r = arg;
    (void)fd;
    (void)what;
    if (!r->finishing && r->sv->npubs >= r->stop_at) {
        r->finishing = true;
        chaos_chload_finish(r->ch, 3000, on_done, r);
    }
}

/* Runs SUBSCRIBERS subscribers and a publisher at 200/s against a server with script until it
 * holds stop_at publications (killing subscribers at kill_after), then finishes. */
static void run_against(server *sv, enum script script, size_t kill_after, size_t stop_at,
                        chaos_chload_totals *out, chaos_load_totals *subs)
{
    struct event_base *base = event_base_new();
    ck_assert_ptr_nonnull(base);
    server_start(sv, base, script);
    sv->kill_after = kill_after;
    chaos_chload_opts o;
    chaos_chload_opts_init(&o);
    char target[32];
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)sv->port);
    ck_assert_int_eq(chaos_load_opts_target(&o.load, target), 0);
    o.load.connections = SUBSCRIBERS;
    o.load.seed = 7;
    o.load.backoff.min_ms = 20; /* quick resumes */
    o.load.backoff.max_ms = 100;
    o.channels = 1;
    strcpy(o.prefix, "t-");
    o.publish_rate = 200;
    o.load.size = 8;
    run r = {.base = base, .sv = sv, .stop_at = stop_at};
    r.ch = chaos_chload_new(base, &o, NULL);
    struct event *poll = event_new(base, -1, EV_PERSIST, on_poll, &r);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 5000};
    event_add(poll, &tv);
    chaos_chload_start(r.ch);
    /* Bounded by the publications, not the clock; the test's own timeout is the backstop. */
    while (!r.done) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    *out = *chaos_chload_get_totals(r.ch);
    *subs = *chaos_load_get_totals(chaos_chload_subscribers(r.ch));
    event_free(poll);
    chaos_chload_free(r.ch);
    server_stop(sv);
    event_base_free(base);
}

START_TEST(honest_server_with_a_4001)
{
    server sv;
    chaos_chload_totals t;
    chaos_load_totals s;
    run_against(&sv, HONEST, 20, 60, &t, &s);
    ck_assert_uint_eq(sv.protocol_ok, sv.upgrades); /* every connection offered wsfleet.v1 */
    ck_assert_uint_ge(sv.upgrades, SUBSCRIBERS + 1 + SUBSCRIBERS);
    ck_assert_uint_eq(sv.resumes, SUBSCRIBERS);
    ck_assert_uint_ge(t.acked, 60);
    ck_assert_uint_eq(t.k.lost, 0);
    ck_assert_uint_eq(t.k.duplicated, 0);
    ck_assert_uint_eq(t.k.out_of_order, 0);
    ck_assert_uint_eq(t.k.data_errors, 0);
    ck_assert_uint_eq(t.protocol_errors, 0);
    ck_assert_uint_eq(t.resumes, SUBSCRIBERS);
    ck_assert_uint_eq(t.resume_ms.count, SUBSCRIBERS);
    ck_assert_uint_eq(t.not_subscribed, 0);
    ck_assert_uint_eq(t.behind, 0);
    ck_assert_uint_eq(s.reconnects, SUBSCRIBERS);
    ck_assert_uint_eq(s.gave_up, 0);
    ck_assert_uint_eq(t.codes[0], 4001);
    ck_assert_uint_eq(t.code_counts[0], SUBSCRIBERS);
    /* The server takes publications once every subscriber is there: each got every one, live or
     * replayed; the refused ones are errors, not acks. */
    ck_assert_uint_eq(t.k.deliveries, SUBSCRIBERS * t.acked);
    ck_assert_uint_eq(t.publish_errors, sv.refused);
    ck_assert_uint_eq(t.acked + t.publish_errors + t.publish_unknown, t.published);
}
END_TEST

START_TEST(replayed_twice_is_duplicated)
{
    server sv;
    chaos_chload_totals t;
    chaos_load_totals s;
    run_against(&sv, DUP_ON_RESUME, 10, 30, &t, &s);
    ck_assert_uint_eq(t.resumes, SUBSCRIBERS);
    ck_assert_uint_eq(t.k.duplicated, SUBSCRIBERS);
    ck_assert_uint_eq(t.k.lost, 0);
    ck_assert_uint_eq(t.k.out_of_order, 0);
}
END_TEST

START_TEST(never_pushed_is_lost)
{
    server sv;
    chaos_chload_totals t;
    chaos_load_totals s;
    run_against(&sv, DROP_ONE, 0, 20, &t, &s);
    ck_assert_uint_eq(t.k.lost, SUBSCRIBERS);
    ck_assert_uint_eq(t.k.duplicated, 0);
    ck_assert_uint_eq(t.resumes, 0);
    ck_assert_uint_eq(t.k.deliveries, SUBSCRIBERS * (t.acked - 1));
}
END_TEST

Suite *chaos_chload_suite(void)
{
    Suite *s = suite_create("chaos_chload");
    TCase *tc = tcase_create("fake server");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, honest_server_with_a_4001);
    tcase_add_test(tc, replayed_twice_is_duplicated);
    tcase_add_test(tc, never_pushed_is_lost);
    suite_add_tcase(s, tc);
    return s;
}
