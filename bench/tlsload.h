/* tlsload's insides, shared by tlsload.c (options, measurements, the run and its report) and
 * tlsload_conn.c (the client connections on one epoll loop). */
#ifndef TLSLOAD_H
#define TLSLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define TL_MAX_PIDS 8
#define TL_RBUF (256 * 1024)

enum { TL_CONNECTING, TL_TLS, TL_UPGRADING, TL_UP };

typedef struct tl_conn {
    int fd;
    int state;
    int idx;
    SSL *ssl;
    bool want_write;   /* the last SSL call wanted the socket writable */
    uint8_t *out;      /* bytes not yet written */
    size_t out_len, out_off, out_cap;
    uint8_t *in;       /* unconsumed input: the response head or a partial frame */
    size_t in_len, in_cap;
    unsigned inflight; /* echo: messages sent and not yet answered */
    bool echoed;       /* idle: the one echo came back */
} tl_conn;

typedef struct tl_opts {
    const char *mode, *path, *request, *host;
    int port;
    int pids[TL_MAX_PIDS], npids;
    int conns;
    unsigned inflight;
    size_t size;
    double duration, warmup;
    bool tls, resume, deflate, json;
} tl_opts;

typedef struct tl_ctx {
    tl_opts o;
    int ep;
    SSL_CTX *ssl_ctx;
    SSL_SESSION **sessions; /* handshake --resume: each loop's last session */
    tl_conn **conns;
    uint8_t *frame; /* the client's message frame, masked, ready to send */
    size_t frame_len;
    bool measuring;
    uint64_t msgs, bytes_in, bytes_out, handshakes, resumed, errors, nup, refused;
    bool deflate_refused;
    uint64_t primed; /* idle: connections up before the baseline */
    uint8_t rbuf[TL_RBUF];
} tl_ctx;

/* tlsload.c */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t tl_now_ns(void);
/* realloc that aborts when memory runs out. */
void *tl_xrealloc(void *p, size_t n);

/* tlsload_conn.c */

/* Starts a non-blocking TCP connect for connection idx and watches it on t->ep (TLS and the
 * request follow from the loop). Returns it, or NULL when the socket or the connect fails
 * (counted in t->errors). */
tl_conn *tl_conn_open(tl_ctx *t, int idx);
/* Closes and frees c (with an RST when rst: no TIME_WAIT), keeping its TLS session for --resume,
 * and clears its slot in t->conns. */
void tl_conn_close(tl_ctx *t, tl_conn *c, bool rst);
/* Runs the epoll loop until deadline (tl_now_ns): a connection that fails is counted in
 * t->errors and closed (in handshake mode, replaced by a new one). */
void tl_run_until(tl_ctx *t, uint64_t deadline);

#endif
