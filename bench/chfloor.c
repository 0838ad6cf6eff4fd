/* chfloor: the kernel floor of the channel benchmark (bench/channels). The least a server on
 * loopback can do for the same bytes on the wire:
 *
 *  fan PORT RATE START   accepts WebSocket clients (the upgrade and nothing else), and once START
 *                        are up writes RATE times a second one frame to every client, one send()
 *                        each: the frame wsworker pushes,
 *                        {"push":{"channel":"bench:feed","pub":{"offset":N,"data":{"t":NS}}}},
 *                        encoded once per publication (NS: CLOCK_MONOTONIC at publication).
 *                        Publications that fall due while a fan-out is still running leave
 *                        together in the next one, one frame per client joined by '\n', as
 *                        wsworker sends them (each with its own due time as NS).
 *  setup PORT            the same upgrade, then closes when the client does: a minimal upgrade.
 *  session PORT RATE     a minimal channel session: the upgrade, then the first frame the client
 *                        sends (its connect) is answered with a canned connect reply of the size
 *                        wsworker sends, and the client gets the publications of fan (RATE/s)
 *                        until it closes.
 *  tcp PORT              accepts and closes at once: a bare TCP accept and close.
 *
 * PORT 0 picks a free port. Logs "chfloor[PID] listening on 127.0.0.1:PORT" and "... ready" on
 * stderr, and on SIGTERM the count of sends the kernel refused (EAGAIN: the client fell behind,
 * that delivery is dropped) and short writes. Single-threaded, one epoll loop; nothing in it is
 * per delivery but the send(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ws_http.h"
#include "ws_writer.h"

#define CF_HEAD_MAX 2048
#define CF_MAX_FDS (1 << 20)

enum { CF_FAN, CF_SETUP, CF_TCP, CF_SESSION };

/* A client still in its upgrade: the head read so far. Upgraded clients need nothing but their
 * descriptor (in the fan list). */
typedef struct cf_head {
    ws_http_scan scan;
    size_t len;
    char buf[CF_HEAD_MAX];
} cf_head;

typedef struct cf_ctx {
    int mode;
    int ep, lfd, tfd;
    cf_head **heads; /* by descriptor: the head being read, or NULL once upgraded */
    int *fan;        /* upgraded descriptors */
    int *fan_at;     /* by descriptor: its place in fan, -1 when absent */
    bool *joining;   /* session: by descriptor, upgraded and waiting for its connect */
    size_t nfan;
    size_t start;
    bool publishing;
    uint64_t period_ns, due_ns; /* the next publication's due time */
    uint64_t offset;
    uint64_t refused, short_writes, sends;
} cf_ctx;

static volatile sig_atomic_t cf_stop;

static void cf_on_signal(int sig)
{
    (void)sig;
    cf_stop = 1;
}

static uint64_t cf_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cf_close(cf_ctx *x, int fd)
{
    epoll_ctl(x->ep, EPOLL_CTL_DEL, fd, NULL);
    free(x->heads[fd]);
    x->heads[fd] = NULL;
    int at = x->fan_at[fd];
    if (at >= 0) {
        int last = x->fan[--x->nfan];
        x->fan[at] = last;
        x->fan_at[last] = at;
        x->fan_at[fd] = -1;
    }
    close(fd);
}

static void cf_start_publishing(cf_ctx *x, double rate)
{
    uint64_t ns = (uint64_t)(1e9 / rate);
    struct itimerspec its = {.it_interval = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)},
                             .it_value = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)}};
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    x->period_ns = ns;
    x->due_ns = cf_now_ns() + ns;
    timerfd_settime(x->tfd, 0, &its, NULL);
    x->publishing = true;
    fprintf(stderr, "chfloor[%d] publishing to %zu clients\n", (int)getpid(), x->nfan);
}

/* The npub publications due: encoded once, one frame, one send() per client. */
static void cf_publish(cf_ctx *x, uint64_t npub)
{
    static char json[64 * 1024];
    static uint8_t frame[WS_MAX_HEADER + sizeof json];
    size_t len = 0;
    for (uint64_t i = 0; i < npub && len + 160 < sizeof json; i++) {
        int n = snprintf(json + len, sizeof json - len,
                         "%s{\"push\":{\"channel\":\"bench:feed\",\"pub\":{\"offset\":%llu,"
                         "\"data\":{\"t\":%llu}}}}",
                         len ? "\n" : "", (unsigned long long)++x->offset,
                         (unsigned long long)x->due_ns);
        len += (size_t)n;
        x->due_ns += x->period_ns;
    }
    size_t flen = ws_frame_write(frame, true, WS_OP_TEXT, (const uint8_t *)json, len, NULL);
    for (size_t i = 0; i < x->nfan; i++) {
        ssize_t w = send(x->fan[i], frame, flen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0)
            x->refused++;
        else if ((size_t)w < flen)
            x->short_writes++;
    }
    x->sends += x->nfan;
}

/* Reads an upgrade request and answers 101; a client that fails it is closed. */
static void cf_on_head(cf_ctx *x, int fd, cf_head *h, double rate)
{
    for (;;) {
        ssize_t n = recv(fd, h->buf + h->len, sizeof h->buf - h->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            cf_close(x, fd);
            return;
        }
        h->len += (size_t)n;
        ws_http_request req;
        ssize_t r = ws_http_parse_request(&req, &h->scan, h->buf, h->len);
        if (r == 0 && h->len < sizeof h->buf)
            continue;
        ws_upgrade up;
        char res[512];
        size_t rl;
        if (r <= 0 || ws_http_validate_upgrade(&up, &req) != 0 ||
            (rl = ws_http_write_upgrade(res, sizeof res, &up)) == 0 ||
            send(fd, res, rl, MSG_NOSIGNAL) != (ssize_t)rl) {
            cf_close(x, fd);
            return;
        }
        free(h);
        x->heads[fd] = NULL;
        if (x->mode == CF_SESSION) {
            x->joining[fd] = true;
            return;
        }
        x->fan_at[fd] = (int)x->nfan;
        x->fan[x->nfan++] = fd;
        if (x->mode == CF_FAN && !x->publishing && x->nfan >= x->start)
            cf_start_publishing(x, rate);
        return;
    }
}

/* What wsworker answers a connect with one channel in subs (the same length, give or take). */
static const char cf_connect_reply[] =
    "{\"id\":1,\"connect\":{\"client\":\"1f2e3.2710\",\"user\":\"\",\"subs\":{\"bench:feed\":"
    "{\"epoch\":\"1f2e3d4c5b6a7988\",\"offset\":1234,\"recovered\":true,\"pubs\":[]}}}}";

static void cf_on_data(cf_ctx *x, int fd)
{
    uint8_t buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            x->joining[fd] = false;
            cf_close(x, fd);
            return;
        }
        if (x->joining[fd]) {
            /* Its connect (one small frame, whole on loopback): the reply, then the pushes. */
            uint8_t frame[WS_MAX_HEADER + sizeof cf_connect_reply];
            size_t flen = ws_frame_write(frame, true, WS_OP_TEXT, (const uint8_t *)cf_connect_reply,
                                         sizeof cf_connect_reply - 1, NULL);
            x->joining[fd] = false;
            if (send(fd, frame, flen, MSG_NOSIGNAL) != (ssize_t)flen) {
                cf_close(x, fd);
                return;
            }
            x->fan_at[fd] = (int)x->nfan;
            x->fan[x->nfan++] = fd;
        }
    }
}

static void cf_on_accept(cf_ctx *x)
{
    for (;;) {
        int fd = accept4(x->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: the backlog waits */
        if (x->mode == CF_TCP || fd >= CF_MAX_FDS) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        x->heads[fd] = calloc(1, sizeof(cf_head));
        x->fan_at[fd] = -1;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(x->ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

int main(int argc, char **argv)
{
    static cf_ctx x;
    if (argc < 3 || (strcmp(argv[1], "fan") == 0 && argc < 5) ||
        (strcmp(argv[1], "session") == 0 && argc < 4)) {
        fprintf(stderr, "usage: chfloor fan PORT RATE START | session PORT RATE | setup PORT | "
                        "tcp PORT\n");
        return 2;
    }
    x.mode = strcmp(argv[1], "fan") == 0       ? CF_FAN
             : strcmp(argv[1], "session") == 0 ? CF_SESSION
             : strcmp(argv[1], "setup") == 0   ? CF_SETUP
                                               : CF_TCP;
    int port = atoi(argv[2]);
    double rate = x.mode == CF_FAN || x.mode == CF_SESSION ? atof(argv[3]) : 0;
    x.start = x.mode == CF_FAN ? (size_t)atol(argv[4]) : 0;
    if ((x.mode == CF_FAN || x.mode == CF_SESSION) && !(rate > 0)) {
        fprintf(stderr, "chfloor: RATE must be > 0\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    x.heads = calloc(CF_MAX_FDS, sizeof *x.heads);
    x.fan = calloc(CF_MAX_FDS, sizeof *x.fan);
    x.fan_at = calloc(CF_MAX_FDS, sizeof *x.fan_at);
    x.joining = calloc(CF_MAX_FDS, sizeof *x.joining);
    struct sigaction sa = {.sa_handler = cf_on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    x.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(x.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    if (x.lfd < 0 || bind(x.lfd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        listen(x.lfd, 4096) != 0 || getsockname(x.lfd, (struct sockaddr *)&sin, &sl) != 0) {
        perror("chfloor: listen");
        return 1;
    }
    x.ep = epoll_create1(EPOLL_CLOEXEC);
    x.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = x.lfd};
    epoll_ctl(x.ep, EPOLL_CTL_ADD, x.lfd, &ev);
    ev.data.fd = x.tfd;
    epoll_ctl(x.ep, EPOLL_CTL_ADD, x.tfd, &ev);
    if (x.mode == CF_SESSION)
        cf_start_publishing(&x, rate);
    fprintf(stderr, "chfloor[%d] listening on 127.0.0.1:%d\n", (int)getpid(), ntohs(sin.sin_port));
    fprintf(stderr, "chfloor[%d] ready\n", (int)getpid());

    struct epoll_event evs[256];
    while (!cf_stop) {
        int n = epoll_wait(x.ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == x.lfd) {
                cf_on_accept(&x);
            } else if (fd == x.tfd) {
                uint64_t ticks;
                if (read(x.tfd, &ticks, sizeof ticks) == (ssize_t)sizeof ticks && ticks > 0)
                    cf_publish(&x, ticks);
            } else if (x.heads[fd] != NULL) {
                cf_on_head(&x, fd, x.heads[fd], rate);
            } else if (x.fan_at[fd] >= 0 || x.joining[fd]) {
                cf_on_data(&x, fd);
            }
        }
    }
    fprintf(stderr, "chfloor[%d] publications=%llu sends=%llu refused=%llu short_writes=%llu\n",
            (int)getpid(), (unsigned long long)x.offset, (unsigned long long)x.sends,
            (unsigned long long)x.refused, (unsigned long long)x.short_writes);
    return 0;
}
