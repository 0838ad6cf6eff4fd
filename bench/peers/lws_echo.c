/* Comparison peer for bench/run and bench/tls: a single-threaded libwebsockets echo server on
 * ws://127.0.0.1:PORT/echo (wss:// when given a certificate and key, with the library's OpenSSL
 * defaults) that answers text with text and binary with binary, queueing replies and sending one
 * per writable callback as libwebsockets requires. Usage: lws_echo PORT [CERT KEY] */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libwebsockets.h>

/* Replies queued above this stop reading from the client until the queue drains to the low mark. */
#define PEER_QUEUE_HIGH 256
#define PEER_QUEUE_LOW 32
/* The service loop wakes this often to notice SIGTERM even if the signal missed poll(). */
#define PEER_TICK_US (250 * LWS_US_PER_MS)

/* One reply waiting for a writable callback; LWS_PRE bytes of headroom precede the payload. */
typedef struct peer_msg {
    struct peer_msg *next;
    size_t len;
    bool binary;
    unsigned char buf[];
} peer_msg;

/* Per-connection state, zeroed by libwebsockets at ESTABLISHED. */
typedef struct peer_session {
    peer_msg *head;
    peer_msg *tail;
    unsigned queued;
    bool paused;
    unsigned char *rx; /* a message arriving in several pieces */
    size_t rx_len;
    size_t rx_cap;
    bool rx_binary;
} peer_session;

/* A signal handler can only reach a static flag. */
static volatile sig_atomic_t peer_stop;

static void peer_on_signal(int sig)
{
    (void)sig;
    peer_stop = 1;
}

typedef struct peer_ticker {
    lws_sorted_usec_list_t sul;
    struct lws_context *ctx;
} peer_ticker;

static void peer_on_tick(lws_sorted_usec_list_t *sul)
{
    peer_ticker *t = lws_container_of(sul, peer_ticker, sul);
    if (!peer_stop) {
        lws_sul_schedule(t->ctx, 0, &t->sul, peer_on_tick, PEER_TICK_US);
    }
}

static void *peer_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        fputs("lws_echo: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void peer_enqueue(struct lws *wsi, peer_session *s, const void *data, size_t len,
                         bool binary)
{
    peer_msg *m = peer_xmalloc(sizeof(*m) + LWS_PRE + len);
    m->next = NULL;
    m->len = len;
    m->binary = binary;
    memcpy(m->buf + LWS_PRE, data, len);
    if (s->tail != NULL) {
        s->tail->next = m;
    } else {
        s->head = m;
    }
    s->tail = m;
    s->queued++;
    if (s->queued >= PEER_QUEUE_HIGH && !s->paused) {
        s->paused = true;
        lws_rx_flow_control(wsi, 0);
    }
    lws_callback_on_writable(wsi);
}

/* Collects one piece of a message; enqueues the echo once the final piece is in. */
static void peer_on_receive(struct lws *wsi, peer_session *s, const unsigned char *in, size_t len)
{
    bool first = lws_is_first_fragment(wsi);
    bool final = lws_is_final_fragment(wsi);

    if (first) {
        s->rx_len = 0;
        s->rx_binary = lws_frame_is_binary(wsi);
    }
    if (first && final) {
        peer_enqueue(wsi, s, in, len, s->rx_binary);
        return;
    }
    if (s->rx_len + len > s->rx_cap) {
        size_t cap = s->rx_cap != 0 ? s->rx_cap : 4096;
        while (cap < s->rx_len + len) {
            cap *= 2;
        }
        unsigned char *grown = realloc(s->rx, cap);
        if (grown == NULL) {
            fputs("lws_echo: out of memory\n", stderr);
            abort();
        }
        s->rx = grown;
        s->rx_cap = cap;
    }
    memcpy(s->rx + s->rx_len, in, len);
    s->rx_len += len;
    if (final) {
        peer_enqueue(wsi, s, s->rx, s->rx_len, s->rx_binary);
        s->rx_len = 0;
    }
}

/* Sends the oldest queued reply. Returns 0, or -1 to have libwebsockets close the connection. */
static int peer_on_writable(struct lws *wsi, peer_session *s)
{
    peer_msg *m = s->head;
    if (m == NULL) {
        return 0;
    }
    enum lws_write_protocol kind = m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, kind);
    s->head = m->next;
    if (s->head == NULL) {
        s->tail = NULL;
    }
    s->queued--;
    free(m);
    if (n < 0) {
        return -1;
    }
    if (s->paused && s->queued <= PEER_QUEUE_LOW) {
        s->paused = false;
        lws_rx_flow_control(wsi, 1);
    }
    if (s->head != NULL) {
        lws_callback_on_writable(wsi);
    }
    return 0;
}

static void peer_session_fini(peer_session *s)
{
    while (s->head != NULL) {
        peer_msg *next = s->head->next;
        free(s->head);
        s->head = next;
    }
    s->tail = NULL;
    free(s->rx);
    s->rx = NULL;
}

/* Accepts upgrades to /echo (query allowed) only. */
static int peer_check_path(struct lws *wsi)
{
    char uri[256];
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0) {
        return -1;
    }
    return strcmp(uri, "/echo") == 0 ? 0 : -1;
}

static int peer_on_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    peer_session *s = user;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return peer_check_path(wsi);
    case LWS_CALLBACK_RECEIVE:
        peer_on_receive(wsi, s, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return peer_on_writable(wsi, s);
    case LWS_CALLBACK_CLOSED:
        peer_session_fini(s);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols peer_protocols[] = {
    {
        .name = "echo",
        .callback = peer_on_event,
        .per_session_data_size = sizeof(peer_session),
        .rx_buffer_size = 4096,
    },
    {0},
};

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 4) {
        fputs("usage: lws_echo PORT [CERT KEY]\n", stderr);
        return 100;
    }
    char *end = NULL;
    long port = strtol(argv[1], &end, 10);
    if (*argv[1] == '\0' || *end != '\0' || port <= 0 || port > 65535) {
        fputs("lws_echo: PORT must be 1-65535\n", stderr);
        return 100;
    }

    /* No SA_RESTART: the signal interrupts poll() so the loop sees the flag. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = peer_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = (int)port;
    info.iface = "127.0.0.1";
    info.protocols = peer_protocols;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    info.count_threads = 1;
    if (argc == 4) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = argv[2];
        info.ssl_private_key_filepath = argv[3];
    }

    struct lws_context *ctx = lws_create_context(&info);
    if (ctx == NULL) {
        fprintf(stderr, "lws_echo[%d] error: cannot listen on 127.0.0.1:%ld\n", (int)getpid(),
                port);
        return 100;
    }
    fprintf(stderr, "lws_echo[%d] listening on 127.0.0.1:%ld%s\n", (int)getpid(), port,
            argc == 4 ? " (TLS)" : "");
    fprintf(stderr, "lws_echo[%d] ready\n", (int)getpid());

    peer_ticker ticker;
    memset(&ticker, 0, sizeof(ticker));
    ticker.ctx = ctx;
    lws_sul_schedule(ctx, 0, &ticker.sul, peer_on_tick, PEER_TICK_US);

    while (!peer_stop) {
        if (lws_service(ctx, 0) < 0) {
            break;
        }
    }
    lws_context_destroy(ctx);
    return 0;
}
