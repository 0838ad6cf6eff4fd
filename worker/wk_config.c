/* Command-line options of wsworker. */
#include "wk_config.h"
#include "wsf_parse.h"
#include "wsf_limits.h"
#include "wsf_origin.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WK_VERSION WSF_VERSION

static const char wk_usage[] =
    "usage: wsworker [options]\n"
    "  --listen HOST:PORT         listen address, repeatable; [V6HOST]:PORT for IPv6,\n"
    "                             port 0 picks a free port (default 127.0.0.1:8080)\n"
    "  --tls-listen HOST:PORT     TLS (wss://) listen address, repeatable; needs --cert, --key\n"
    "  --cert PEM                 certificate chain for TLS, leaf first\n"
    "  --key PEM                  the certificate's private key (SIGHUP reads both again:\n"
    "                             new handshakes get them, a bad pair is refused)\n"
    "  --ciphers LIST             TLS 1.2 suites, OpenSSL syntax (ECDHE with AEAD only)\n"
    "  --tls-protocols LIST       TLSv1.2 and/or TLSv1.3, comma-separated (both)\n"
    "  --ticket-keys PATH         session ticket keys (hex NAME AES HMAC lines, newest first),\n"
    "                             shared by the fleet's workers (default: this process's own)\n"
    "  --max-message BYTES        largest message accepted, else close 1009 (1048576)\n"
    "  --max-backlog BYTES        unsent output per connection, else close 1008 (4194304)\n"
    "  --max-connections N        connections served; more are answered 503 (10000)\n"
    "  --retry-after SEC          Retry-After of a 503 answer (5)\n"
    "  --handshake-timeout SEC    time allowed for the upgrade request (10)\n"
    "  --ping-interval SEC        ping a client unheard for this long (25)\n"
    "  --idle-timeout SEC         close a client unheard for this long (60)\n"
    "  --close-timeout SEC        wait for the client's close reply (5)\n"
    "  --grace SEC                on SIGTERM, time to drain before exiting (10)\n"
    "  --log-level LEVEL          error, warn, info or debug (info)\n"
    "  --orphan-grace SEC         keep serving this long after the supervisor died (60)\n"
    "  --report-interval SEC      statistics to the supervisor this often (1)\n"
    "  --drills-max-memory BYTES  accept fault injection from the supervisor, memory faults\n"
    "                             up to BYTES (without it every fault is refused)\n"
    "  --nats-url URL[,URL...]    serve /channels (wsfleet.v1) over this NATS (with JetStream)\n"
    "  --nats-url-file PATH       the same, read from the file's first line (keeps a token\n"
    "                             out of argv)\n"
    "  --channels-config PATH     [channels] and [namespace NAME] settings (INI)\n"
    "  --nats-stream NAME         the channels' JetStream stream (WSF)\n"
    "  --nats-credentials PATH    NATS .creds file or user nkey seed\n"
    "  --nats-tls-ca PATH         CA bundle (PEM) for TLS to NATS\n"
    "  --nats-tls-cert PATH       client certificate (PEM) for TLS to NATS, with --nats-tls-key\n"
    "  --nats-tls-key PATH        its private key (PEM)\n"
    "  --nats-replicas N          the stream's replicas when this worker creates it (1..5; 1)\n"
    "  --auth-hmac-secret-file PATH  JWT HS256 secret (a 0600 file)\n"
    "  --auth-public-key PATH     JWT RS256/ES256 public key (PEM)\n"
    "  --auth-required yes|no     refuse clients without a token (no)\n"
    "  --auth-audience AUD        tokens must name AUD in aud\n"
    "  --auth-issuer ISS          tokens must carry iss ISS\n"
    "  --deflate on|off           offer permessage-deflate (RFC 7692) to clients (off)\n"
    "  --deflate-context-takeover on|off\n"
    "                             keep compression contexts between messages (off: no\n"
    "                             zlib memory while a connection is idle)\n"
    "  --deflate-min-size BYTES   send messages smaller than this uncompressed (64)\n"
    "  --origins LIST             allowed Origin values, comma-separated: scheme://host[:port],\n"
    "                             *.domain wildcards; others are answered 403 (default any)\n"
    "  --msg-rate N               client messages per second per connection, else close 4429;\n"
    "                             0 turns the limit off (100)\n"
    "  --msg-burst N              messages a connection may send at once (200)\n"
    "  --max-conns-per-ip N       connections per client address; more are answered 429\n"
    "                             (0: no limit, the default)\n"
    "  --server-header TEXT       send 'Server: TEXT' (default: no Server header)\n"
    "Under wsfleetd, the environment carries WSF_LISTEN_FDS, WSF_TLS_LISTEN_FDS, WSF_SUPERVISOR,\n"
    "WSF_SLOT, WSF_GENERATION and WSF_PARENT_FD.\n"
    "  --help, --version\n";

void wk_config_init(wk_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_message = 1024 * 1024;
    cfg->max_backlog = 4 * 1024 * 1024;
    cfg->max_connections = WSF_WORKER_MAX_CONNECTIONS;
    cfg->retry_after = 5;
    cfg->handshake_ms = 10000;
    cfg->ping_ms = 25000;
    cfg->idle_ms = 60000;
    cfg->close_ms = 5000;
    cfg->grace_ms = 10000;
    cfg->log_level = WSF_LOG_INFO;
    cfg->orphan_grace_ms = 60000;
    cfg->report_ms = 1000;
    cfg->parent_fd = -1;
    cfg->nats_stream = "WSF";
    cfg->deflate_min_size = 64;
    cfg->msg_rate = 100;
    cfg->msg_burst = 200;
    cfg->tls_min = TLS1_2_VERSION;
    cfg->tls_max = TLS1_3_VERSION;
}

/* --tls-protocols: TLSv1.2 and/or TLSv1.3. Returns 0 or 1 (bad). */
static int wk_config_protocols(wk_config *cfg, const char *s)
{
    int lo = 0, hi = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        int v = 0;
        if ((n == 7 && strncasecmp(s, "TLSv1.2", 7) == 0) || (n == 3 && strncmp(s, "1.2", 3) == 0))
            v = TLS1_2_VERSION;
        else if ((n == 7 && strncasecmp(s, "TLSv1.3", 7) == 0) ||
                 (n == 3 && strncmp(s, "1.3", 3) == 0))
            v = TLS1_3_VERSION;
        else
            return 1;
        lo = lo == 0 || v < lo ? v : lo;
        hi = v > hi ? v : hi;
        s += n;
        if (*s == ',')
            s++;
    }
    if (lo == 0)
        return 1;
    cfg->tls_min = lo;
    cfg->tls_max = hi;
    return 0;
}

/* A header value of printable ASCII: it is written into responses verbatim. */
static bool wk_config_header_ok(const char *s)
{
    if (*s == '\0' || strlen(s) > 128)
        return false;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    }
    return true;
}

/* A JetStream stream name: 1..64 bytes of [A-Za-z0-9_-] (no '.', '*', '>' or spaces). */
static bool wk_config_stream_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 &&
           s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")] == '\0';
}

/* on|off (and yes|no, true|false, 1|0, as the supervisor's INI accepts). Returns 0 or 1 (bad). */
static int wk_config_switch(bool *out, const char *s)
{
    static const char *const yes[] = {"on", "yes", "true", "1"};
    static const char *const no[] = {"off", "no", "false", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *out = strcmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return 1;
}

int wk_config_parse(wk_config *cfg, int argc, char **argv)
{
    enum {
        OPT_LISTEN = 256,
        OPT_MAX_MESSAGE,
        OPT_MAX_BACKLOG,
        OPT_MAX_CONNECTIONS,
        OPT_RETRY_AFTER,
        OPT_HANDSHAKE,
        OPT_PING,
        OPT_IDLE,
        OPT_CLOSE,
        OPT_GRACE,
        OPT_LOG_LEVEL,
        OPT_ORPHAN_GRACE,
        OPT_REPORT_INTERVAL,
        OPT_DRILLS_MAX_MEMORY,
        OPT_NATS_URL,
        OPT_NATS_URL_FILE,
        OPT_CHANNELS_CONFIG,
        OPT_NATS_STREAM,
        OPT_NATS_CREDENTIALS,
        OPT_NATS_TLS_CA,
        OPT_NATS_TLS_CERT,
        OPT_NATS_TLS_KEY,
        OPT_NATS_REPLICAS,
        OPT_AUTH_SECRET_FILE,
        OPT_AUTH_PUBLIC_KEY,
        OPT_AUTH_REQUIRED,
        OPT_AUTH_AUDIENCE,
        OPT_AUTH_ISSUER,
        OPT_DEFLATE,
        OPT_DEFLATE_CT,
        OPT_DEFLATE_MIN,
        OPT_ORIGINS,
        OPT_MSG_RATE,
        OPT_MSG_BURST,
        OPT_MAX_CONNS_PER_IP,
        OPT_SERVER_HEADER,
        OPT_TLS_LISTEN,
        OPT_CERT,
        OPT_KEY,
        OPT_CIPHERS,
        OPT_TLS_PROTOCOLS,
        OPT_TICKET_KEYS,
        OPT_HELP,
        OPT_VERSION,
    };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
        {"max-backlog", required_argument, NULL, OPT_MAX_BACKLOG},
        {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
        {"retry-after", required_argument, NULL, OPT_RETRY_AFTER},
        {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE},
        {"ping-interval", required_argument, NULL, OPT_PING},
        {"idle-timeout", required_argument, NULL, OPT_IDLE},
        {"close-timeout", required_argument, NULL, OPT_CLOSE},
        {"grace", required_argument, NULL, OPT_GRACE},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"orphan-grace", required_argument, NULL, OPT_ORPHAN_GRACE},
        {"report-interval", required_argument, NULL, OPT_REPORT_INTERVAL},
        {"drills-max-memory", required_argument, NULL, OPT_DRILLS_MAX_MEMORY},
        {"nats-url", required_argument, NULL, OPT_NATS_URL},
        {"nats-url-file", required_argument, NULL, OPT_NATS_URL_FILE},
        {"channels-config", required_argument, NULL, OPT_CHANNELS_CONFIG},
        {"nats-stream", required_argument, NULL, OPT_NATS_STREAM},
        {"nats-credentials", required_argument, NULL, OPT_NATS_CREDENTIALS},
        {"nats-tls-ca", required_argument, NULL, OPT_NATS_TLS_CA},
        {"nats-tls-cert", required_argument, NULL, OPT_NATS_TLS_CERT},
        {"nats-tls-key", required_argument, NULL, OPT_NATS_TLS_KEY},
        {"nats-replicas", required_argument, NULL, OPT_NATS_REPLICAS},
        {"auth-hmac-secret-file", required_argument, NULL, OPT_AUTH_SECRET_FILE},
        {"auth-public-key", required_argument, NULL, OPT_AUTH_PUBLIC_KEY},
        {"auth-required", required_argument, NULL, OPT_AUTH_REQUIRED},
        {"auth-audience", required_argument, NULL, OPT_AUTH_AUDIENCE},
        {"auth-issuer", required_argument, NULL, OPT_AUTH_ISSUER},
        {"deflate", required_argument, NULL, OPT_DEFLATE},
        {"deflate-context-takeover", required_argument, NULL, OPT_DEFLATE_CT},
        {"deflate-min-size", required_argument, NULL, OPT_DEFLATE_MIN},
        {"origins", required_argument, NULL, OPT_ORIGINS},
        {"msg-rate", required_argument, NULL, OPT_MSG_RATE},
        {"msg-burst", required_argument, NULL, OPT_MSG_BURST},
        {"max-conns-per-ip", required_argument, NULL, OPT_MAX_CONNS_PER_IP},
        {"server-header", required_argument, NULL, OPT_SERVER_HEADER},
        {"tls-listen", required_argument, NULL, OPT_TLS_LISTEN},
        {"cert", required_argument, NULL, OPT_CERT},
        {"key", required_argument, NULL, OPT_KEY},
        {"ciphers", required_argument, NULL, OPT_CIPHERS},
        {"tls-protocols", required_argument, NULL, OPT_TLS_PROTOCOLS},
        {"ticket-keys", required_argument, NULL, OPT_TICKET_KEYS},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    int opt;
    uint64_t v;

    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int bad = 0;
        switch (opt) {
        case OPT_LISTEN:
            if (cfg->nlisten == WK_MAX_LISTEN) {
                fprintf(stderr, "wsworker: at most %d --listen addresses\n", WK_MAX_LISTEN);
                return -1;
            }
            cfg->listen[cfg->nlisten++] = optarg;
            break;
        case OPT_MAX_MESSAGE:
            bad = wsf_parse_u64(&cfg->max_message, optarg, 1, UINT64_C(1) << 40);
            break;
        case OPT_MAX_BACKLOG:
            bad = wsf_parse_u64(&cfg->max_backlog, optarg, 1, UINT64_C(1) << 40);
            break;
        case OPT_MAX_CONNECTIONS:
            bad = wsf_parse_u64(&v, optarg, 1, 10000000);
            cfg->max_connections = (unsigned)v;
            break;
        case OPT_RETRY_AFTER:
            bad = wsf_parse_u64(&v, optarg, 0, 86400);
            cfg->retry_after = (unsigned)v;
            break;
        case OPT_HANDSHAKE:
            bad = wsf_parse_ms(&cfg->handshake_ms, optarg);
            break;
        case OPT_PING:
            bad = wsf_parse_ms(&cfg->ping_ms, optarg);
            break;
        case OPT_IDLE:
            bad = wsf_parse_ms(&cfg->idle_ms, optarg);
            break;
        case OPT_CLOSE:
            bad = wsf_parse_ms(&cfg->close_ms, optarg);
            break;
        case OPT_GRACE:
            bad = wsf_parse_ms(&cfg->grace_ms, optarg);
            break;
        case OPT_LOG_LEVEL:
            bad = wsf_log_parse_level(&cfg->log_level, optarg);
            break;
        case OPT_ORPHAN_GRACE:
            bad = wsf_parse_ms(&cfg->orphan_grace_ms, optarg);
            break;
        case OPT_REPORT_INTERVAL:
            bad = wsf_parse_ms(&cfg->report_ms, optarg);
            break;
        case OPT_DRILLS_MAX_MEMORY:
            bad = wsf_parse_u64(&cfg->drills_max_memory, optarg, 1, UINT64_C(1) << 40);
            break;
        case OPT_NATS_URL:
            cfg->nats_url = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_NATS_URL_FILE:
            cfg->nats_url_file = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_CHANNELS_CONFIG:
            cfg->channels_config = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_NATS_STREAM:
            cfg->nats_stream = optarg;
            bad = !wk_config_stream_ok(optarg);
            break;
        case OPT_NATS_CREDENTIALS:
            cfg->nats_credentials = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_NATS_TLS_CA:
            cfg->nats_tls_ca = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_NATS_TLS_CERT:
            cfg->nats_tls_cert = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_NATS_TLS_KEY:
            cfg->nats_tls_key = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_NATS_REPLICAS:
            bad = optarg[0] < '1' || optarg[0] > '5' || optarg[1] != '\0';
            cfg->nats_replicas = bad ? 0 : optarg[0] - '0';
            break;
        case OPT_AUTH_SECRET_FILE:
            cfg->auth_secret_file = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_AUTH_PUBLIC_KEY:
            cfg->auth_public_key = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_AUTH_REQUIRED:
            cfg->auth_required = strcmp(optarg, "yes") == 0;
            bad = !cfg->auth_required && strcmp(optarg, "no") != 0;
            break;
        case OPT_AUTH_AUDIENCE:
            cfg->auth_audience = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_AUTH_ISSUER:
            cfg->auth_issuer = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_DEFLATE:
            bad = wk_config_switch(&cfg->deflate, optarg);
            break;
        case OPT_DEFLATE_CT:
            bad = wk_config_switch(&cfg->deflate_context_takeover, optarg);
            break;
        case OPT_DEFLATE_MIN:
            bad = wsf_parse_u64(&v, optarg, 0, UINT32_MAX);
            cfg->deflate_min_size = (uint32_t)v;
            break;
        case OPT_ORIGINS:
            cfg->origins = optarg;
            bad = wsf_origin_list_check(optarg) != 0;
            break;
        case OPT_MSG_RATE:
            bad = wsf_parse_u64(&v, optarg, 0, 1000000);
            cfg->msg_rate = (uint32_t)v;
            break;
        case OPT_MSG_BURST:
            bad = wsf_parse_u64(&v, optarg, 1, 1000000);
            cfg->msg_burst = (uint32_t)v;
            break;
        case OPT_MAX_CONNS_PER_IP:
            bad = wsf_parse_u64(&v, optarg, 0, 10000000);
            cfg->max_conns_per_ip = (unsigned)v;
            break;
        case OPT_SERVER_HEADER:
            cfg->server_header = optarg;
            bad = !wk_config_header_ok(optarg);
            break;
        case OPT_TLS_LISTEN:
            if (cfg->ntls_listen == WK_MAX_LISTEN) {
                fprintf(stderr, "wsworker: at most %d --tls-listen addresses\n", WK_MAX_LISTEN);
                return -1;
            }
            cfg->tls_listen[cfg->ntls_listen++] = optarg;
            break;
        case OPT_CERT:
            cfg->cert = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_KEY:
            cfg->key = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_CIPHERS:
            cfg->ciphers = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_TLS_PROTOCOLS:
            bad = wk_config_protocols(cfg, optarg);
            break;
        case OPT_TICKET_KEYS:
            cfg->ticket_keys = optarg;
            bad = *optarg == '\0';
            break;
        case OPT_HELP:
            fputs(wk_usage, stdout);
            return 1;
        case OPT_VERSION:
            puts("wsworker " WK_VERSION);
            return 1;
        default:
            fprintf(stderr, "wsworker: unknown or incomplete option '%s'\n%s", argv[optind - 1],
                    wk_usage);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "wsworker: invalid value '%s' for --%s\n", optarg,
                    opts[opt - OPT_LISTEN].name);
            return -1;
        }
    }
    if (cfg->nats_url != NULL && cfg->nats_url_file != NULL) {
        fprintf(stderr, "wsworker: --nats-url and --nats-url-file exclude each other\n");
        return -1;
    }
    if (cfg->ntls_listen > 0 && (cfg->cert == NULL || cfg->key == NULL)) {
        fprintf(stderr, "wsworker: --tls-listen needs --cert and --key\n");
        return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "wsworker: unexpected argument '%s'\n%s", argv[optind], wk_usage);
        return -1;
    }
    return 0;
}

/* A comma-separated list of descriptors (WSF_LISTEN_FDS=3,4). Returns 0 or -1. */
static int wk_config_fds(int *fds, size_t *nfds, const char *p)
{
    uint64_t v;
    while (p != NULL && *p) {
        char num[16];
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof num || *nfds == WK_MAX_LISTEN)
            return -1;
        memcpy(num, p, n);
        num[n] = '\0';
        if (wsf_parse_u64(&v, num, 0, 65535) != 0)
            return -1;
        fds[(*nfds)++] = (int)v;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int wk_config_from_env(wk_config *cfg, const char *(*getenv_fn)(const char *name, void *arg),
                       void *arg)
{
    const char *tls_fds = getenv_fn("WSF_TLS_LISTEN_FDS", arg);
    const char *fds = getenv_fn("WSF_LISTEN_FDS", arg);
    const char *slot = getenv_fn("WSF_SLOT", arg);
    const char *gen = getenv_fn("WSF_GENERATION", arg);
    const char *parent = getenv_fn("WSF_PARENT_FD", arg);
    uint64_t v;

    if (wk_config_fds(cfg->listen_fds, &cfg->nlisten_fds, fds) != 0)
        goto bad_fds;
    if (wk_config_fds(cfg->tls_listen_fds, &cfg->ntls_listen_fds, tls_fds) != 0) {
        fprintf(stderr, "wsworker: invalid WSF_TLS_LISTEN_FDS '%s'\n", tls_fds);
        return -1;
    }
    if (cfg->ntls_listen_fds > 0 && (cfg->cert == NULL || cfg->key == NULL)) {
        fprintf(stderr, "wsworker: WSF_TLS_LISTEN_FDS needs --cert and --key\n");
        return -1;
    }
    cfg->supervisor = getenv_fn("WSF_SUPERVISOR", arg);
    if (cfg->supervisor && *cfg->supervisor == '\0')
        cfg->supervisor = NULL;
    if (slot) {
        if (wsf_parse_u64(&v, slot, 0, 65535) != 0) {
            fprintf(stderr, "wsworker: invalid WSF_SLOT '%s'\n", slot);
            return -1;
        }
        cfg->slot = (unsigned)v;
    }
    if (gen && wsf_parse_u64(&cfg->generation, gen, 0, UINT64_MAX) != 0) {
        fprintf(stderr, "wsworker: invalid WSF_GENERATION '%s'\n", gen);
        return -1;
    }
    if (parent) {
        if (wsf_parse_u64(&v, parent, 0, 65535) != 0) {
            fprintf(stderr, "wsworker: invalid WSF_PARENT_FD '%s'\n", parent);
            return -1;
        }
        cfg->parent_fd = (int)v;
    }
    if (cfg->nlisten == 0 && cfg->nlisten_fds == 0 && cfg->ntls_listen == 0 &&
        cfg->ntls_listen_fds == 0)
        cfg->listen[cfg->nlisten++] = "127.0.0.1:8080";
    return 0;
bad_fds:
    fprintf(stderr, "wsworker: invalid WSF_LISTEN_FDS '%s' (at most %d descriptors, e.g. 3,4)\n",
            fds, WK_MAX_LISTEN);
    return -1;
}
