/* tlsload: the TLS and compression benchmark's load client (bench/tls): WebSocket clients over
 * ws:// or wss:// (OpenSSL) on one epoll loop, optionally offering permessage-deflate, measuring
 * the servers' CPU (utime + stime from /proc, every --server-pid) over the measured window.
 *
 * Modes (--mode):
 *  echo       --connections clients each keep --inflight messages of --size bytes in flight; once
 *             all are up and --warmup seconds have passed, every echo in --duration seconds is
 *             counted, with the bytes the client read and wrote (the wire on ws://).
 *  handshake  --connections loops of: TCP connect, TLS 1.3 handshake (ECDHE P-256), an HTTP
 *             request (--request upgrade: a WebSocket upgrade, answered 101; get: GET --path,
 *             answered 2xx), close with RST (no TIME_WAIT). With --resume each loop resumes the
 *             session (ticket) of its previous handshake. Counts handshakes and how many resumed.
 *  idle       --connections clients, each echoes one message (when --size > 0), then idles for
 *             --duration seconds; reports the servers' summed VmRSS before and with all up. The
 *             first connection is made (and echoes) before the baseline, so that what a server
 *             allocates once is not counted per connection.
 * With --deflate the upgrade offers "permessage-deflate; client_no_context_takeover;
 * server_no_context_takeover" and messages are sent compressed (raw deflate, RSV1; the payload is
 * the same every time, so it is compressed once). --json makes the payload JSON-like text.
 * Result: one line "tlsload key=value ..." on stdout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
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

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <zlib.h>

#include "tlsload.h"

uint64_t tl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void *tl_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        fputs("tlsload: out of memory\n", stderr);
        abort();
    }
    return q;
}

/* utime + stime of pid in clock ticks; its VmRSS in KiB. */
static void tl_proc_sample(int pid, uint64_t *ticks, uint64_t *rss_kb)
{
    char path[64], buf[2048];
    *ticks = 0;
    *rss_kb = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        char *p = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        if (p != NULL &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            *ticks = ut + st;
    }
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f != NULL) {
        unsigned long kb;
        while (fgets(buf, sizeof buf, f))
            if (sscanf(buf, "VmRSS: %lu", &kb) == 1) {
                *rss_kb = kb;
                break;
            }
        fclose(f);
    }
}

static void tl_servers(const tl_ctx *t, uint64_t *ticks, uint64_t *rss_kb)
{
    *ticks = *rss_kb = 0;
    for (int i = 0; i < t->o.npids; i++) {
        uint64_t tk, kb;
        tl_proc_sample(t->o.pids[i], &tk, &kb);
        *ticks += tk;
        *rss_kb += kb;
    }
}

static double tl_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------------------------------------
 * The message: JSON-like text or filler, deflated once when --deflate, framed and masked. */

static void tl_payload(const tl_opts *o, uint8_t *p)
{
    static const char *const words[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};
    if (!o->json) {
        for (size_t i = 0; i < o->size; i++)
            p[i] = (uint8_t)('a' + i % 26);
        return;
    }
    /* {"id":N,"user":"...","kind":"...","value":N,"tags":[...]}, repeated to the size. */
    size_t n = 0;
    unsigned seed = 12345;
    char item[160];
    while (n < o->size) {
        seed = seed * 1103515245u + 12345u;
        int len = snprintf(item, sizeof item,
                           "{\"id\":%u,\"user\":\"%s%u\",\"kind\":\"%s\",\"value\":%u,"
                           "\"tags\":[\"%s\",\"%s\"]},",
                           seed % 100000, words[seed % 6], (seed >> 8) % 1000,
                           words[(seed >> 4) % 6], (seed >> 12) % 65536, words[(seed >> 16) % 6],
                           words[(seed >> 20) % 6]);
        for (int i = 0; i < len && n < o->size; i++)
            p[n++] = (uint8_t)item[i];
    }
}

static size_t tl_deflate(uint8_t *out, size_t cap, const uint8_t *in, size_t len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0)
        abort();
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n >= 4 ? n - 4 : n; /* RFC 7692: drop the 00 00 ff ff tail */
}

static void tl_make_frame(tl_ctx *t)
{
    uint8_t *plain = tl_xrealloc(NULL, t->o.size + 1);
    uint8_t *body = tl_xrealloc(NULL, t->o.size + 64);
    tl_payload(&t->o, plain);
    size_t len = t->o.size;
    if (t->o.deflate) {
        len = tl_deflate(body, t->o.size + 64, plain, t->o.size);
    } else {
        memcpy(body, plain, len);
    }
    t->frame = tl_xrealloc(NULL, len + 14);
    uint8_t *f = t->frame;
    size_t h = 0;
    f[h++] = (uint8_t)(0x80 | (t->o.deflate ? 0x40 : 0) | 0x1); /* FIN, RSV1, text */
    if (len < 126) {
        f[h++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        f[h++] = 0x80 | 126;
        f[h++] = (uint8_t)(len >> 8);
        f[h++] = (uint8_t)len;
    } else {
        f[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            f[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    memcpy(f + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        f[h + i] = body[i] ^ mask[i % 4];
    t->frame_len = h + len;
    free(plain);
    free(body);
}

/* ---------------------------------------------------------------------------------------------
 * Setup and the run. */

static void tl_usage(void)
{
    fputs("usage: tlsload --port PORT [--host 127.0.0.1] [--tls] [--mode echo|handshake|idle]\n"
          "  [--connections N] [--inflight N] [--size BYTES] [--json] [--deflate] [--resume]\n"
          "  [--request upgrade|get] [--path /echo] [--duration S] [--warmup S]\n"
          "  [--server-pid PID]...\n",
          stderr);
}

static int tl_parse(tl_opts *o, int argc, char **argv)
{
    static const struct option longs[] = {
        {"port", required_argument, NULL, 'p'},        {"host", required_argument, NULL, 'H'},
        {"tls", no_argument, NULL, 't'},               {"mode", required_argument, NULL, 'm'},
        {"connections", required_argument, NULL, 'c'}, {"inflight", required_argument, NULL, 'i'},
        {"size", required_argument, NULL, 's'},        {"json", no_argument, NULL, 'j'},
        {"deflate", no_argument, NULL, 'z'},           {"resume", no_argument, NULL, 'r'},
        {"request", required_argument, NULL, 'q'},     {"path", required_argument, NULL, 'P'},
        {"duration", required_argument, NULL, 'd'},    {"warmup", required_argument, NULL, 'w'},
        {"server-pid", required_argument, NULL, 'S'},  {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (tl_opts){.mode = "echo", .path = "/echo", .request = "upgrade", .host = "127.0.0.1",
                   .conns = 100, .inflight = 1, .size = 20, .duration = 5, .warmup = 1};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'p': o->port = atoi(optarg); break;
        case 'H': o->host = optarg; break;
        case 't': o->tls = true; break;
        case 'm': o->mode = optarg; break;
        case 'c': o->conns = atoi(optarg); break;
        case 'i': o->inflight = (unsigned)atoi(optarg); break;
        case 's': o->size = (size_t)atol(optarg); break;
        case 'j': o->json = true; break;
        case 'z': o->deflate = true; break;
        case 'r': o->resume = true; break;
        case 'q': o->request = optarg; break;
        case 'P': o->path = optarg; break;
        case 'd': o->duration = atof(optarg); break;
        case 'w': o->warmup = atof(optarg); break;
        case 'S':
            if (o->npids < TL_MAX_PIDS)
                o->pids[o->npids++] = atoi(optarg);
            break;
        default: tl_usage(); return -1;
        }
    }
    bool mode_ok = strcmp(o->mode, "echo") == 0 || strcmp(o->mode, "handshake") == 0 ||
                   strcmp(o->mode, "idle") == 0;
    if (o->port <= 0 || o->port > 65535 || o->conns <= 0 || !mode_ok || o->duration <= 0 ||
        (strcmp(o->mode, "handshake") == 0 && !o->tls) || (o->resume && !o->tls)) {
        tl_usage();
        return -1;
    }
    return 0;
}

static SSL_CTX *tl_ssl_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set1_groups_list(ctx, "P-256");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* the bench's own self-signed certificate */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    return ctx;
}

/* Idle mode: waits (up to 30 s) until connections [0, n) have had their echo. Returns 0 or -1. */
static int tl_idle_wait(tl_ctx *t, int n)
{
    uint64_t limit = tl_now_ns() + 30000000000ull;
    for (;;) {
        bool all = true;
        for (int i = 0; i < n && all; i++)
            all = t->conns[i] != NULL && (t->o.size == 0 || t->conns[i]->echoed);
        if (all)
            return 0;
        if (tl_now_ns() > limit)
            return -1;
        tl_run_until(t, tl_now_ns() + 10000000u);
    }
}

/* Opens every connection from first on and waits (up to 60 s) until they are all up. */
static int tl_open_all(tl_ctx *t, int first)
{
    uint64_t limit = tl_now_ns() + 60000000000ull;
    int next = first;
    while (t->nup < (uint64_t)t->o.conns) {
        /* Opening in batches keeps the listen backlog from overflowing. */
        int opening = next - first - ((int)t->nup - (first > 0 ? 1 : 0));
        while (next < t->o.conns && opening < 256) {
            tl_conn_open(t, next++);
            opening++;
        }
        if (t->errors > 0 || t->refused > 0 || t->deflate_refused || tl_now_ns() > limit)
            return -1;
        tl_run_until(t, tl_now_ns() + 10000000u);
    }
    return 0;
}

static void tl_report(const tl_ctx *t, double secs, uint64_t ticks, double client_cpu,
                      uint64_t rss0, uint64_t rss1)
{
    double srv_us = (double)ticks * 1e6 / (double)sysconf(_SC_CLK_TCK);
    printf("tlsload mode=%s tls=%d deflate=%d size=%zu connections=%d", t->o.mode, t->o.tls,
           t->o.deflate, t->o.size, t->o.conns);
    if (strcmp(t->o.mode, "echo") == 0) {
        double m = t->msgs > 0 ? (double)t->msgs : 1;
        printf(" msgs=%llu msgs_per_s=%.0f server_us_per_msg=%.3f wire_in_per_msg=%.1f"
               " wire_out_per_msg=%.1f",
               (unsigned long long)t->msgs, (double)t->msgs / secs, srv_us / m,
               (double)t->bytes_in / m, (double)t->bytes_out / m);
    } else if (strcmp(t->o.mode, "handshake") == 0) {
        double h = t->handshakes > 0 ? (double)t->handshakes : 1;
        printf(" handshakes=%llu handshakes_per_s=%.0f server_us_per_handshake=%.1f resumed=%llu",
               (unsigned long long)t->handshakes, (double)t->handshakes / secs, srv_us / h,
               (unsigned long long)t->resumed);
    } else {
        printf(" up=%llu server_rss_before=%llu server_rss_idle=%llu rss_per_conn=%.0f",
               (unsigned long long)t->nup, (unsigned long long)rss0 * 1024,
               (unsigned long long)rss1 * 1024,
               t->nup > t->primed ? ((double)rss1 - (double)rss0) * 1024 /
                                        (double)(t->nup - t->primed) : 0);
    }
    printf(" client_cpu_pct=%.0f errors=%llu refused=%llu\n", 100 * client_cpu / secs,
           (unsigned long long)t->errors, (unsigned long long)t->refused);
}

int main(int argc, char **argv)
{
    static tl_ctx t;
    if (tl_parse(&t.o, argc, argv) != 0)
        return 2;
    t.ep = epoll_create1(EPOLL_CLOEXEC);
    t.conns = tl_xrealloc(NULL, sizeof *t.conns * (size_t)t.o.conns);
    memset(t.conns, 0, sizeof *t.conns * (size_t)t.o.conns);
    t.sessions = tl_xrealloc(NULL, sizeof *t.sessions * (size_t)t.o.conns);
    memset(t.sessions, 0, sizeof *t.sessions * (size_t)t.o.conns);
    if (t.o.tls && (t.ssl_ctx = tl_ssl_ctx()) == NULL) {
        fputs("tlsload: cannot make a TLS context\n", stderr);
        return 1;
    }
    tl_make_frame(&t);
    uint64_t ticks0, ticks1, rss0, rss1;
    int rc = 0, first = 0;
    bool idle = strcmp(t.o.mode, "idle") == 0;
    if (idle && t.o.conns > 1) {
        /* A first connection sets up what the server allocates once (zlib pools, first-use
         * tables) before the baseline, so the figure per connection is what each one adds. */
        int total = t.o.conns;
        t.o.conns = 1;
        bool ok = tl_open_all(&t, 0) == 0 && tl_idle_wait(&t, 1) == 0;
        t.o.conns = total;
        if (!ok) {
            fputs("tlsload: the first connection did not come up\n", stderr);
            return 1;
        }
        t.primed = 1;
        first = 1;
    }
    tl_servers(&t, &ticks0, &rss0);
    if (strcmp(t.o.mode, "handshake") == 0) {
        for (int i = 0; i < t.o.conns; i++)
            tl_conn_open(&t, i);
        tl_run_until(&t, tl_now_ns() + (uint64_t)(t.o.warmup * 1e9));
    } else if (tl_open_all(&t, first) != 0) {
        fprintf(stderr, "tlsload: only %llu of %d connections came up (errors %llu, refused %llu%s)\n",
                (unsigned long long)t.nup, t.o.conns, (unsigned long long)t.errors,
                (unsigned long long)t.refused, t.deflate_refused ? ", deflate not negotiated" : "");
        return 1;
    } else if (strcmp(t.o.mode, "echo") == 0) {
        tl_run_until(&t, tl_now_ns() + (uint64_t)(t.o.warmup * 1e9));
    } else {
        rc = tl_idle_wait(&t, t.o.conns);
        tl_run_until(&t, tl_now_ns() + 1000000000u); /* the server settles */
    }
    if (strcmp(t.o.mode, "idle") != 0)
        tl_servers(&t, &ticks0, &rss0);
    double cpu0 = tl_cpu_s();
    uint64_t t0 = tl_now_ns();
    t.errors = 0;
    t.measuring = true;
    tl_run_until(&t, t0 + (uint64_t)(t.o.duration * 1e9));
    t.measuring = false;
    double secs = (double)(tl_now_ns() - t0) / 1e9;
    double cpu = tl_cpu_s() - cpu0;
    uint64_t rss_unused;
    tl_servers(&t, &ticks1, strcmp(t.o.mode, "idle") == 0 ? &rss1 : &rss_unused);
    if (strcmp(t.o.mode, "idle") != 0)
        rss1 = rss0;
    tl_report(&t, secs, ticks1 - ticks0, cpu, rss0, rss1);
    bool hs = strcmp(t.o.mode, "handshake") == 0;
    for (int i = 0; i < t.o.conns; i++) {
        if (t.conns[i] != NULL)
            tl_conn_close(&t, t.conns[i], hs);
        SSL_SESSION_free(t.sessions[i]);
    }
    SSL_CTX_free(t.ssl_ctx);
    free(t.conns);
    free(t.sessions);
    free(t.frame);
    close(t.ep);
    return rc;
}
