/* chsub: the channel benchmark's load client (bench/channels): many WebSocket subscribers on one
 * epoll loop, with the project's codec, measuring publication -> delivery latency, sessions set up
 * per second, idle memory and the servers' CPU over the measured window.
 *
 * Modes (--mode):
 *  sub    N connections subscribe to --channel (wsfleet.v1 connect with subs; plain upgrade on a
 *         path other than /channels); once all are up and --warmup seconds have passed, every
 *         push in --duration seconds is counted and its latency taken from the data's "t"
 *         (CLOCK_MONOTONIC ns at publication). With --publish-rate R one more connection
 *         publishes {"t":NS} R times a second (wsfleet.v1 publish), from the moment all are up,
 *         to the first --port or to --publish-port (another fleet of a cluster). Subscribers
 *         are spread over the --port list.
 *  setup  --connections sessions in flight, each: TCP connect, upgrade, (on /channels) connect
 *         with the channel and wait for its first push, then close; counts sessions done.
 *  idle   N connections (subscribed on /channels), held --duration seconds; reports the servers'
 *         RSS before and with all of them up.
 *  tcp    like setup, but each session is a TCP connect and close, nothing else (the floor of a
 *         session, against bench/chfloor tcp).
 * With --server-cpu N the split of CPU N (user, system, softirq, idle: /proc/stat) over the window
 * is reported too: the servers are pinned there, so it says whether they saturate it. In sub mode
 * each publication's first arrival (publication to the first subscriber: the broker's path and
 * one send) and its spread (last arrival minus first: the fan-out's writes) are reported apart.
 * Result: one line "chsub key=value ..." on stdout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ws_http.h"
#include "ws_parser.h"
#include "ws_writer.h"
#include "wsf_chclient.h"
#include "wsf_chproto.h"

#define CS_MAX_PORTS 8
#define CS_MAX_PIDS 8
#define CS_RBUF (256 * 1024)
#define CS_OPENING 256
#define CS_MAX_SAMPLES (16 * 1024 * 1024)

enum { CS_CONNECTING, CS_UPGRADING, CS_JOINING, CS_UP };

typedef struct cs_conn {
    int fd;
    int state;
    bool publisher;
    bool got_push;
    ws_http_scan scan;
    ws_parser parser;
    char key[WS_KEY_LEN + 1];
    uint8_t *in; /* unconsumed input (a partial frame) */
    size_t in_len;
    uint8_t *msg; /* a fragmented message */
    size_t msg_len;
} cs_conn;

static struct {
    const char *mode, *path, *channel;
    int ports[CS_MAX_PORTS], nports;
    int publish_port; /* --publish-port: the publisher's server (another fleet), 0 = ports[0] */
    int pids[CS_MAX_PIDS], npids;
    int conns;
    int server_cpu; /* --server-cpu: its /proc/stat split is reported, -1 none */
    double rate, duration, warmup;
} opt = {.mode = "sub",
         .path = "/channels",
         .channel = "bench:feed",
         .conns = 100,
         .duration = 5,
         .warmup = 1,
         .server_cpu = -1};

static int ep;
static uint8_t rbuf[CS_RBUF];
static uint64_t *samples;
static size_t nsamples;
static bool measuring;
static bool publishing; /* sub mode: from the end of the subscribe phase on */
static uint64_t deliveries, push_frames, sessions, errors, nup, refused;
static uint64_t pub_id = 1;

/* Per publication (by offset, in a ring): its time, first and last arrival. */
#define CS_PUB_RING 65536
typedef struct cs_pubseen {
    uint64_t offset, t, first, last;
} cs_pubseen;
static cs_pubseen *pubseen;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* utime and stime of pid in clock ticks, and its VmRSS in KiB. */
static void proc_sample2(int pid, uint64_t *uticks, uint64_t *sticks, uint64_t *rss_kb);

static void proc_sample(int pid, uint64_t *ticks, uint64_t *rss_kb)
{
    uint64_t u, s;
    proc_sample2(pid, &u, &s, rss_kb);
    *ticks = u + s;
}

static void proc_sample2(int pid, uint64_t *uticks, uint64_t *sticks, uint64_t *rss_kb)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    *uticks = *sticks = 0;
    *rss_kb = 0;
    if (f != NULL) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        char *p = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        /* after ") ": state(3) ... utime(14) stime(15) */
        if (p != NULL &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2) {
            *uticks = ut;
            *sticks = st;
        }
    }
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f != NULL) {
        while (fgets(buf, sizeof buf, f))
            if (sscanf(buf, "VmRSS: %lu", (unsigned long *)rss_kb) == 1)
                break;
        fclose(f);
    }
}

/* /proc/stat's line for cpu: user (with nice), system, softirq and idle (with iowait) ticks. */
typedef struct cs_cpustat {
    uint64_t user, sys, softirq, idle, other;
} cs_cpustat;

static void cpu_sample(int cpu, cs_cpustat *out)
{
    char want[16], line[512];
    memset(out, 0, sizeof *out);
    snprintf(want, sizeof want, "cpu%d ", cpu);
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f)) {
        unsigned long long v[8] = {0};
        if (strncmp(line, want, strlen(want)) != 0)
            continue;
        if (sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
            out->user = v[0] + v[1];
            out->sys = v[2];
            out->idle = v[3] + v[4];
            out->softirq = v[6];
            out->other = v[5] + v[7];
        }
        break;
    }
    fclose(f);
}

static int cmp_u64(const void *a, const void *b);

/* Percentile p of the n values in v (sorted here), in µs. */
static double pct_of(uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return -1;
    qsort(v, n, sizeof *v, cmp_u64);
    return (double)v[(size_t)(p * (double)(n - 1))] / 1000.0;
}

static void send_all(cs_conn *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                usleep(100); /* only a few hundred bytes are ever sent at once */
                continue;
            }
            errors++;
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static void send_text(cs_conn *c, const char *text, size_t len)
{
    uint8_t frame[1024];
    uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    if (ws_frame_size(len, true) > sizeof frame)
        return;
    size_t n = ws_frame_write(frame, true, WS_OP_TEXT, (const uint8_t *)text, len, mask);
    send_all(c, frame, n);
}

static cs_conn *conn_open(int idx)
{
    cs_conn *c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        perror("socket");
        exit(1);
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)(idx < 0 && opt.publish_port > 0
                                                              ? opt.publish_port
                                                              : opt.ports[(idx < 0 ? 0 : idx) %
                                                                          opt.nports])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        errors++;
        close(c->fd);
        free(c);
        return NULL;
    }
    c->state = CS_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    return c;
}

static void conn_close(cs_conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->msg);
    free(c);
}

/* setup and tcp: sessions opened and closed over and over. */
static bool is_setup(void)
{
    return strcmp(opt.mode, "setup") == 0 || strcmp(opt.mode, "tcp") == 0;
}

static bool is_channels(void)
{
    return strcmp(opt.path, "/channels") == 0;
}

static void on_up(cs_conn *c)
{
    c->state = CS_UP;
    nup++;
}

static void on_connected(cs_conn *c)
{
    char req[512];
    ws_http_make_key(c->key);
    size_t n = ws_http_write_request(req, sizeof req, "127.0.0.1", opt.path, c->key);
    if (is_channels())
        n += (size_t)snprintf(req + n - 2, sizeof req - n + 2,
                              "Sec-WebSocket-Protocol: wsfleet.v1\r\n\r\n") -
             2;
    ws_http_scan_init(&c->scan);
    c->state = CS_UPGRADING;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    send_all(c, req, n);
}

static void on_upgraded(cs_conn *c)
{
    ws_parser_init(&c->parser, WS_ROLE_CLIENT, 0);
    if (!is_channels() || c->publisher) {
        if (c->publisher) {
            char cmd[64];
            int n = snprintf(cmd, sizeof cmd, "{\"id\":1,\"connect\":{}}");
            send_text(c, cmd, (size_t)n);
            c->state = CS_UP;
            return;
        }
        on_up(c);
        return;
    }
    char cmd[512];
    int n = snprintf(cmd, sizeof cmd, "{\"id\":1,\"connect\":{\"subs\":{\"%s\":{}}}}", opt.channel);
    send_text(c, cmd, (size_t)n);
    c->state = CS_JOINING;
}

/* The "t" of a push's data {"t":NS}. */
static uint64_t push_t(const char *data, size_t len)
{
    const char *p = memmem(data, len, "\"t\":", 4);
    if (p == NULL)
        return 0;
    return strtoull(p + 4, NULL, 10);
}

static void on_push(cs_conn *c, uint64_t offset, const char *data, size_t len, uint64_t now)
{
    c->got_push = true;
    if (!measuring)
        return;
    deliveries++;
    uint64_t t = push_t(data, len);
    if (t != 0 && t <= now && nsamples < CS_MAX_SAMPLES)
        samples[nsamples++] = now - t;
    if (t != 0 && t <= now && offset != 0) {
        cs_pubseen *ps = &pubseen[offset % CS_PUB_RING];
        if (ps->offset != offset) {
            ps->offset = offset;
            ps->t = t;
            ps->first = ps->last = now;
        } else {
            ps->last = now;
        }
    }
}

/* One whole text message from the server. */
static void on_text(cs_conn *c, const char *buf, size_t len, uint64_t now)
{
    size_t pos = 0;
    const char *line;
    size_t ll;
    bool counted = false;
    while (wsf_ch_next_line(buf, len, &pos, &line, &ll)) {
        wsf_ch_peek pk;
        if (wsf_ch_peek_push(&pk, line, ll)) {
            on_push(c, pk.offset, pk.data, pk.data_len, now);
            if (measuring && !counted)
                push_frames++;
            counted = true;
            continue;
        }
        if (c->state == CS_JOINING && memmem(line, ll, "\"connect\"", 9) != NULL)
            on_up(c);
        else if (c->publisher && memmem(line, ll, "\"error\"", 7) != NULL)
            refused++; /* the server's limit on publications awaiting their ack */
        else if (memmem(line, ll, "\"error\"", 7) != NULL) {
            errors++;
            if (errors < 5)
                fprintf(stderr, "chsub: %.*s\n", (int)(ll > 200 ? 200 : ll), line);
        }
    }
}

/* Returns false when the connection is gone. */
static bool on_readable(cs_conn *c, uint64_t now)
{
    for (;;) {
        size_t have = c->in_len;
        if (have > 0)
            memcpy(rbuf, c->in, have);
        ssize_t n = recv(c->fd, rbuf + have, sizeof rbuf - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return true;
        if (n <= 0) {
            if (c->state != CS_UP || !is_setup())
                errors++;
            conn_close(c);
            return false;
        }
        free(c->in);
        c->in = NULL;
        c->in_len = 0;
        size_t len = have + (size_t)n, used = 0;
        if (c->state == CS_UPGRADING) {
            ws_http_response res;
            ssize_t h = ws_http_parse_response(&res, &c->scan, (const char *)rbuf, len);
            if (h < 0 || (h > 0 && ws_http_check_upgrade_response(&res, c->key) != 0)) {
                errors++;
                conn_close(c);
                return false;
            }
            if (h == 0) {
                c->in = malloc(len);
                memcpy(c->in, rbuf, len);
                c->in_len = len;
                continue;
            }
            used = (size_t)h;
            on_upgraded(c);
        }
        while (used < len) {
            ws_event ev;
            ssize_t r = ws_parser_next(&c->parser, &ev, rbuf + used, len - used);
            if (r == 0)
                break;
            if (r < 0 || ev.kind == WS_EV_CLOSE) {
                errors++;
                conn_close(c);
                return false;
            }
            used += (size_t)r;
            if (ev.kind != WS_EV_DATA)
                continue;
            if (ev.first && ev.last) {
                on_text(c, (const char *)ev.data, ev.len, now);
                continue;
            }
            c->msg = realloc(c->msg, c->msg_len + ev.len);
            memcpy(c->msg + c->msg_len, ev.data, ev.len);
            c->msg_len += ev.len;
            if (ev.last) {
                on_text(c, (const char *)c->msg, c->msg_len, now);
                free(c->msg);
                c->msg = NULL;
                c->msg_len = 0;
            }
        }
        if (used < len) {
            c->in = malloc(len - used);
            memcpy(c->in, rbuf + used, len - used);
            c->in_len = len - used;
        }
        if ((size_t)n < sizeof rbuf - have)
            return true;
    }
}

/* Runs the loop until deadline (ns); setup mode replaces finished sessions. */
static void run_until(uint64_t deadline, cs_conn **pub, uint64_t *next_pub, uint64_t pub_ns)
{
    struct epoll_event evs[512];
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline)
            return;
        if (publishing && pub != NULL && *pub != NULL && (*pub)->state == CS_UP &&
            now >= *next_pub) {
            char cmd[160];
            int n =
                snprintf(cmd, sizeof cmd,
                         "{\"id\":%llu,\"publish\":{\"channel\":\"%s\",\"data\":{\"t\":%llu}}}",
                         (unsigned long long)++pub_id, opt.channel, (unsigned long long)now_ns());
            send_text(*pub, cmd, (size_t)n);
            *next_pub += pub_ns;
            if (*next_pub < now)
                *next_pub = now + pub_ns; /* fell behind: no burst */
        }
        int timeout = 1;
        int n = epoll_wait(ep, evs, 512, timeout);
        now = now_ns();
        for (int i = 0; i < n; i++) {
            cs_conn *c = evs[i].data.ptr;
            if (c->state == CS_CONNECTING) {
                int err = 0;
                socklen_t l = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
                if (err != 0) {
                    errors++;
                    conn_close(c);
                    continue;
                }
                if (strcmp(opt.mode, "tcp") == 0) {
                    if (measuring)
                        sessions++;
                    conn_close(c);
                    conn_open((int)sessions + i);
                    continue;
                }
                on_connected(c);
                continue;
            }
            if (!on_readable(c, now))
                continue;
            if (is_setup() && c->state == CS_UP && !c->publisher &&
                (c->got_push || !is_channels())) {
                if (measuring)
                    sessions++;
                nup--;
                conn_close(c);
                conn_open((int)sessions + i);
            }
        }
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (nsamples == 0)
        return -1;
    size_t i = (size_t)(p * (double)(nsamples - 1));
    return (double)samples[i] / 1000.0;
}

static void usage(void)
{
    fprintf(stderr, "usage: chsub --port P [--port P...] [--mode sub|setup|idle|tcp] [--path PATH]\n"
                    "  [--connections N] [--channel C] [--publish-rate R] [--duration S]\n"
                    "  [--warmup S] [--server-pid PID...] [--publish-port P] [--server-cpu N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {{"port", 1, NULL, 'p'},       {"mode", 1, NULL, 'm'},
                                       {"path", 1, NULL, 'P'},       {"connections", 1, NULL, 'n'},
                                       {"channel", 1, NULL, 'c'},    {"publish-rate", 1, NULL, 'r'},
                                       {"duration", 1, NULL, 'd'},   {"warmup", 1, NULL, 'w'},
                                       {"server-pid", 1, NULL, 's'}, {"publish-port", 1, NULL, 'q'},
                                       {"server-cpu", 1, NULL, 'C'},
                                       {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case 'p':
            if (opt.nports < CS_MAX_PORTS)
                opt.ports[opt.nports++] = atoi(optarg);
            break;
        case 'm':
            opt.mode = optarg;
            break;
        case 'P':
            opt.path = optarg;
            break;
        case 'n':
            opt.conns = atoi(optarg);
            break;
        case 'c':
            opt.channel = optarg;
            break;
        case 'r':
            opt.rate = atof(optarg);
            break;
        case 'd':
            opt.duration = atof(optarg);
            break;
        case 'w':
            opt.warmup = atof(optarg);
            break;
        case 'q':
            opt.publish_port = atoi(optarg);
            break;
        case 'C':
            opt.server_cpu = atoi(optarg);
            break;
        case 's':
            if (opt.npids < CS_MAX_PIDS)
                opt.pids[opt.npids++] = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (opt.nports == 0 || opt.conns <= 0)
        usage();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    samples = malloc(CS_MAX_SAMPLES * sizeof *samples);
    pubseen = calloc(CS_PUB_RING, sizeof *pubseen);
    ep = epoll_create1(0);
    uint64_t t0[CS_MAX_PIDS], r0[CS_MAX_PIDS], u0[CS_MAX_PIDS];
    for (int i = 0; i < opt.npids; i++)
        proc_sample(opt.pids[i], &t0[i], &r0[i]);

    cs_conn *pub = NULL;
    uint64_t pub_ns = opt.rate > 0 ? (uint64_t)(1e9 / opt.rate) : 0, next_pub = now_ns();
    if (pub_ns > 0 && is_channels()) {
        pub = conn_open(-1);
        if (pub != NULL)
            pub->publisher = true;
    }
    uint64_t start = now_ns();
    publishing = is_setup();
    struct timespec c0;
    /* Open everything, a few hundred at a time, then wait (bounded) for all to be up. */
    for (int i = 0; i < opt.conns; i++) {
        conn_open(i);
        /* At most CS_OPENING handshakes in flight: a burst past the server's accept backlog
         * only turns into SYN retries. */
        while (!is_setup() && (uint64_t)i + 1 >= nup + errors + CS_OPENING &&
               now_ns() < start + 60ull * 1000000000u)
            run_until(now_ns() + 1000000, pub_ns ? &pub : NULL, &next_pub, pub_ns);
    }
    uint64_t limit = now_ns() + 60ull * 1000000000u;
    while (!is_setup() && nup < (uint64_t)opt.conns && now_ns() < limit)
        run_until(now_ns() + 10000000, pub_ns ? &pub : NULL, &next_pub, pub_ns);
    double up_s = (double)(now_ns() - start) / 1e9;
    publishing = true;
    next_pub = now_ns();
    uint64_t up = nup;
    run_until(now_ns() + (uint64_t)(opt.warmup * 1e9), pub_ns ? &pub : NULL, &next_pub, pub_ns);

    for (int i = 0; i < opt.npids; i++) {
        uint64_t rss_now, st;
        proc_sample2(opt.pids[i], &u0[i], &st, &rss_now);
        t0[i] = u0[i] + st;
    }
    cs_cpustat k0, k1;
    if (opt.server_cpu >= 0)
        cpu_sample(opt.server_cpu, &k0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    uint64_t w0 = now_ns();
    measuring = true;
    run_until(w0 + (uint64_t)(opt.duration * 1e9), pub_ns ? &pub : NULL, &next_pub, pub_ns);
    measuring = false;
    if (opt.server_cpu >= 0)
        cpu_sample(opt.server_cpu, &k1);
    double win = (double)(now_ns() - w0) / 1e9;
    struct timespec c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double client_s = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;

    double tck = (double)sysconf(_SC_CLK_TCK);
    printf("chsub mode=%s path=%s up=%llu up_s=%.2f window_s=%.2f errors=%llu "
           "client_cpu_pct=%.0f",
           opt.mode, opt.path, (unsigned long long)up, up_s, win, (unsigned long long)errors,
           100.0 * client_s / win);
    uint64_t rss_idle_kb = 0, rss_before_kb = 0;
    double cpu_s = 0, user_s = 0;
    for (int i = 0; i < opt.npids; i++) {
        uint64_t ticks, rss, ut, st;
        proc_sample2(opt.pids[i], &ut, &st, &rss);
        ticks = ut + st;
        user_s += (double)(ut - u0[i]) / tck;
        double s = (double)(ticks - t0[i]) / tck;
        printf(" cpu_s.%d=%.2f rss_kb.%d=%llu", opt.pids[i], s, opt.pids[i],
               (unsigned long long)rss);
        cpu_s += s;
        rss_before_kb += r0[i];
        rss_idle_kb += rss;
    }
    printf(" server_cpu_s=%.3f server_user_s=%.3f publish_refused=%llu", cpu_s, user_s,
           (unsigned long long)refused);
    if (opt.server_cpu >= 0) {
        double all = (double)((k1.user + k1.sys + k1.softirq + k1.idle + k1.other) -
                              (k0.user + k0.sys + k0.softirq + k0.idle + k0.other));
        if (all <= 0)
            all = 1;
        printf(" cpu%d_user_pct=%.0f cpu%d_sys_pct=%.0f cpu%d_softirq_pct=%.0f cpu%d_idle_pct=%.0f",
               opt.server_cpu, 100.0 * (double)(k1.user - k0.user) / all, opt.server_cpu,
               100.0 * (double)(k1.sys - k0.sys) / all, opt.server_cpu,
               100.0 * (double)(k1.softirq - k0.softirq) / all, opt.server_cpu,
               100.0 * (double)(k1.idle - k0.idle) / all);
    }
    if (strcmp(opt.mode, "sub") == 0) {
        qsort(samples, nsamples, sizeof *samples, cmp_u64);
        printf(" deliveries=%llu deliveries_per_s=%.0f server_us_per_delivery=%.3f "
               "server_user_us_per_delivery=%.3f p50_us=%.0f p99_us=%.0f max_us=%.0f",
               (unsigned long long)deliveries, (double)deliveries / win,
               deliveries ? cpu_s * 1e6 / (double)deliveries : -1.0,
               deliveries ? user_s * 1e6 / (double)deliveries : -1.0, pct(0.50), pct(0.99),
               pct(1.0));
        /* Publications seen in full in the window: first arrival and spread. */
        uint64_t *first = malloc(CS_PUB_RING * sizeof *first);
        uint64_t *spread = malloc(CS_PUB_RING * sizeof *spread);
        size_t np = 0;
        for (size_t i = 0; i < CS_PUB_RING; i++) {
            const cs_pubseen *ps = &pubseen[i];
            if (ps->offset == 0)
                continue;
            first[np] = ps->first - ps->t;
            spread[np] = ps->last - ps->first;
            np++;
        }
        printf(" deliveries_per_frame=%.2f server_us_per_frame=%.3f",
               push_frames ? (double)deliveries / (double)push_frames : 0.0,
               push_frames ? cpu_s * 1e6 / (double)push_frames : -1.0);
        printf(" publications_seen=%zu first_p50_us=%.0f first_p99_us=%.0f spread_p50_us=%.0f "
               "spread_p99_us=%.0f",
               np, pct_of(first, np, 0.50), pct_of(first, np, 0.99), pct_of(spread, np, 0.50),
               pct_of(spread, np, 0.99));
        free(first);
        free(spread);
    } else if (is_setup()) {
        printf(" sessions=%llu sessions_per_s=%.0f server_us_per_session=%.2f",
               (unsigned long long)sessions, (double)sessions / win,
               sessions ? cpu_s * 1e6 / (double)sessions : -1.0);
    } else {
        printf(" server_rss_before_kb=%llu server_rss_idle_kb=%llu rss_per_conn=%.0f",
               (unsigned long long)rss_before_kb, (unsigned long long)rss_idle_kb,
               up ? (double)(rss_idle_kb - rss_before_kb) * 1024.0 / (double)up : -1.0);
    }
    printf("\n");
    return 0;
}
