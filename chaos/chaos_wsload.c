/* wsload's command line: flags, defaults, and the loopback-only target address. */
#include "chaos_wsload.h"
#include "wsf_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAOS_MAX_CONNECTIONS 100000u
#define CHAOS_MAX_INFLIGHT 65536u
#define CHAOS_MAX_SIZE (16u * 1024u * 1024u)
#define CHAOS_MAX_BURST (1024ull * 1024u * 1024u)

enum {
    OPT_URL = 256,
    OPT_HOST,
    OPT_PORT,
    OPT_PATH,
    OPT_CONNECTIONS,
    OPT_INFLIGHT,
    OPT_SIZE,
    OPT_BINARY,
    OPT_DURATION,
    OPT_MESSAGES,
    OPT_MODE,
    OPT_SERVER_PID,
    OPT_HELP,
};

static const struct option chaos_long_opts[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"path", required_argument, NULL, OPT_PATH},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"inflight", required_argument, NULL, OPT_INFLIGHT},
    {"size", required_argument, NULL, OPT_SIZE},
    {"binary", no_argument, NULL, OPT_BINARY},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"messages", required_argument, NULL, OPT_MESSAGES},
    {"mode", required_argument, NULL, OPT_MODE},
    {"server-pid", required_argument, NULL, OPT_SERVER_PID},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char chaos_usage[] =
    "usage: wsload [--url ws://127.0.0.1:PORT/echo | --host H --port P --path /echo]\n"
    "              [--mode echo|idle|connect] [--connections N] [--inflight K] [--size BYTES]\n"
    "              [--binary] [--duration SEC | --messages TOTAL] [--server-pid PID]\n"
    "  echo     N connections, K messages outstanding on each, every echo verified\n"
    "           (default: 5 s when neither --duration nor --messages is given)\n"
    "  idle     open N upgraded connections and hold them until --duration or SIGTERM\n"
    "  connect  open, upgrade and close in a loop, N attempts at a time (default 5 s)\n"
    "  --server-pid samples the server's CPU time (/proc/PID/stat) over the measured window and,\n"
    "  in idle mode, its VmRSS before and with all connections up.\n"
    "Only loopback targets (127.0.0.0/8, localhost, [::1]) are accepted.\n"
    "Prints one result line; exits 0 without errors, 1 with errors, 2 on bad usage.\n";

const char *chaos_wsload_mode_name(enum chaos_wsload_mode mode)
{
    switch (mode) {
    case CHAOS_WSLOAD_IDLE:
        return "idle";
    case CHAOS_WSLOAD_CONNECT:
        return "connect";
    default:
        return "echo";
    }
}

static int chaos_parse_seconds(double *out, const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > 86400) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Fills in the address for host and port, refusing anything but loopback. */
static int chaos_resolve(chaos_wsload_opts *o, const char *host, unsigned port)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&o->addr;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&o->addr;
    char bare[CHAOS_HOST_MAX];

    memset(&o->addr, 0, sizeof(o->addr));
    if (strcmp(host, "localhost") == 0) {
        host = "127.0.0.1";
    }
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(bare)) {
        memcpy(bare, host + 1, n - 2);
        bare[n - 2] = '\0';
        if (inet_pton(AF_INET6, bare, &sin6->sin6_addr) != 1 ||
            !IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
            return -1;
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        o->addr_len = sizeof(*sin6);
        snprintf(o->host, sizeof(o->host), "[%s]:%u", bare, port);
        return 0;
    }
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
        (ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
        return -1;
    }
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    o->addr_len = sizeof(*sin);
    snprintf(o->host, sizeof(o->host), "%s:%u", host, port);
    return 0;
}

/* Splits ws://HOST:PORT/PATH into its parts (host keeps IPv6 brackets). */
static int chaos_split_url(const char *url, char *host, size_t host_cap, uint64_t *port, char *path,
                           size_t path_cap)
{
    static const char scheme[] = "ws://";
    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
        return -1;
    }
    const char *h = url + sizeof(scheme) - 1;
    const char *slash = strchr(h, '/');
    const char *end = slash != NULL ? slash : h + strlen(h);
    const char *colon = NULL;
    for (const char *p = end; p > h; p--) {
        if (p[-1] == ':') {
            colon = p - 1;
            break;
        }
        if (p[-1] == ']') {
            break;
        }
    }
    if (colon == NULL || colon == h || (size_t)(colon - h) >= host_cap) {
        return -1;
    }
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    char digits[8];
    size_t nd = (size_t)(end - colon - 1);
    if (nd == 0 || nd >= sizeof(digits)) {
        return -1;
    }
    memcpy(digits, colon + 1, nd);
    digits[nd] = '\0';
    if (wsf_parse_u64(port, digits, 1, 65535) != 0) {
        return -1;
    }
    const char *p = slash != NULL ? slash : "/";
    if (strlen(p) >= path_cap) {
        return -1;
    }
    strcpy(path, p);
    return 0;
}

static int chaos_opts_fail(const char *what, const char *value)
{
    fprintf(stderr, "wsload: invalid %s '%s'\n%s", what, value, chaos_usage);
    return -1;
}

static int chaos_opts_conflict(const char *msg)
{
    fprintf(stderr, "wsload: %s\n%s", msg, chaos_usage);
    return -1;
}

int chaos_wsload_parse(chaos_wsload_opts *out, int argc, char **argv)
{
    chaos_wsload_opts o;
    char host[CHAOS_HOST_MAX] = "127.0.0.1";
    uint64_t port = 0;
    uint64_t v = 0;

    memset(&o, 0, sizeof(o));
    o.mode = CHAOS_WSLOAD_ECHO;
    o.connections = 100;
    o.inflight = 1;
    o.size = 20;
    strcpy(o.path, "/echo");

    optind = 1;
    for (;;) {
        int c = getopt_long(argc, argv, "", chaos_long_opts, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_URL:
            if (chaos_split_url(optarg, host, sizeof(host), &port, o.path, sizeof(o.path)) != 0) {
                return chaos_opts_fail("--url (want ws://HOST:PORT/PATH)", optarg);
            }
            break;
        case OPT_HOST:
            if (strlen(optarg) >= sizeof(host)) {
                return chaos_opts_fail("--host", optarg);
            }
            strcpy(host, optarg);
            break;
        case OPT_PORT:
            if (wsf_parse_u64(&port, optarg, 1, 65535) != 0) {
                return chaos_opts_fail("--port", optarg);
            }
            break;
        case OPT_PATH:
            if (optarg[0] != '/' || strlen(optarg) >= sizeof(o.path)) {
                return chaos_opts_fail("--path", optarg);
            }
            strcpy(o.path, optarg);
            break;
        case OPT_CONNECTIONS:
            if (wsf_parse_u64(&v, optarg, 1, CHAOS_MAX_CONNECTIONS) != 0) {
                return chaos_opts_fail("--connections", optarg);
            }
            o.connections = (size_t)v;
            break;
        case OPT_INFLIGHT:
            if (wsf_parse_u64(&v, optarg, 1, CHAOS_MAX_INFLIGHT) != 0) {
                return chaos_opts_fail("--inflight", optarg);
            }
            o.inflight = (uint32_t)v;
            break;
        case OPT_SIZE:
            if (wsf_parse_u64(&v, optarg, 0, CHAOS_MAX_SIZE) != 0) {
                return chaos_opts_fail("--size", optarg);
            }
            o.size = (size_t)v;
            break;
        case OPT_BINARY:
            o.binary = true;
            break;
        case OPT_DURATION:
            if (chaos_parse_seconds(&o.duration, optarg) != 0) {
                return chaos_opts_fail("--duration", optarg);
            }
            break;
        case OPT_MESSAGES:
            if (wsf_parse_u64(&o.messages, optarg, 1, UINT64_MAX / 2) != 0) {
                return chaos_opts_fail("--messages", optarg);
            }
            break;
        case OPT_MODE:
            if (strcmp(optarg, "echo") == 0) {
                o.mode = CHAOS_WSLOAD_ECHO;
            } else if (strcmp(optarg, "idle") == 0) {
                o.mode = CHAOS_WSLOAD_IDLE;
            } else if (strcmp(optarg, "connect") == 0) {
                o.mode = CHAOS_WSLOAD_CONNECT;
            } else {
                return chaos_opts_fail("--mode", optarg);
            }
            break;
        case OPT_SERVER_PID:
            if (wsf_parse_u64(&v, optarg, 1, INT32_MAX) != 0) {
                return chaos_opts_fail("--server-pid", optarg);
            }
            o.server_pid = (pid_t)v;
            break;
        case OPT_HELP:
            fputs(chaos_usage, stdout);
            return 1;
        default:
            fputs(chaos_usage, stderr);
            return -1;
        }
    }
    if (optind != argc) {
        return chaos_opts_fail("argument", argv[optind]);
    }
    if (port == 0) {
        fprintf(stderr, "wsload: give --url or --port\n%s", chaos_usage);
        return -1;
    }
    if (chaos_resolve(&o, host, (unsigned)port) != 0) {
        return chaos_opts_fail("host (loopback only: 127.0.0.0/8, localhost, [::1])", host);
    }
    if (o.messages != 0 && o.mode != CHAOS_WSLOAD_ECHO) {
        return chaos_opts_conflict("--messages applies to echo mode only");
    }
    if (o.messages != 0 && o.duration != 0) {
        return chaos_opts_conflict("give --messages or --duration, not both");
    }
    /* Each connection queues inflight frames in one buffer: keep that buffer sane. */
    if ((uint64_t)o.inflight * (o.size + 14) > CHAOS_MAX_BURST) {
        return chaos_opts_conflict("--inflight x --size exceeds 1 GiB per connection");
    }
    if (o.mode != CHAOS_WSLOAD_IDLE && o.messages == 0 && o.duration == 0) {
        o.duration = 5.0;
    }
    *out = o;
    return 0;
}
