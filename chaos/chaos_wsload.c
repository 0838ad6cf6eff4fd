/* wsload's command line: flags, defaults, conflicts, and the loopback-only target address. */
#include "chaos_wsload.h"
#include "wsf_chproto.h"
#include "wsf_parse.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CHAOS_WSLOAD_MAX_CONNECTIONS 1000000u
#define CHAOS_WSLOAD_MAX_INFLIGHT 65536u
#define CHAOS_WSLOAD_MAX_SIZE (16u * 1024u * 1024u)
#define CHAOS_WSLOAD_MAX_BURST (1024ull * 1024u * 1024u)
#define CHAOS_WSLOAD_MAX_RATE 1e6
#define CHAOS_WSLOAD_MAX_SOURCES 254u
#define CHAOS_WSLOAD_HOST_MAX 64
#define CHAOS_WSLOAD_GARBAGE_RATE 100.0 /* --kind garbage without --garbage-rate */
#define CHAOS_WSLOAD_MAX_CHANNELS 100000u
#define CHAOS_WSLOAD_MAX_PUBLISH_RATE 10000.0 /* per channel */

enum {
    OPT_URL = 256,
    OPT_HOST,
    OPT_PORT,
    OPT_PATH,
    OPT_CONNECTIONS,
    OPT_INFLIGHT,
    OPT_RATE,
    OPT_SIZE,
    OPT_BINARY,
    OPT_DURATION,
    OPT_MESSAGES,
    OPT_MODE,
    OPT_KIND,
    OPT_SOURCES,
    OPT_OPEN_RATE,
    OPT_GARBAGE_RATE,
    OPT_RECONNECT,
    OPT_NO_RECONNECT,
    OPT_LIFETIME,
    OPT_SERVER_PID,
    OPT_JSON,
    OPT_RECORDS,
    OPT_CHANNELS,
    OPT_PUBLISH_RATE,
    OPT_CHANNEL_PREFIX,
    OPT_HELP,
};

static const struct option chaos_wsload_long_opts[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"path", required_argument, NULL, OPT_PATH},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"inflight", required_argument, NULL, OPT_INFLIGHT},
    {"rate", required_argument, NULL, OPT_RATE},
    {"size", required_argument, NULL, OPT_SIZE},
    {"binary", no_argument, NULL, OPT_BINARY},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"messages", required_argument, NULL, OPT_MESSAGES},
    {"mode", required_argument, NULL, OPT_MODE},
    {"kind", required_argument, NULL, OPT_KIND},
    {"sources", required_argument, NULL, OPT_SOURCES},
    {"open-rate", required_argument, NULL, OPT_OPEN_RATE},
    {"garbage-rate", required_argument, NULL, OPT_GARBAGE_RATE},
    {"reconnect", no_argument, NULL, OPT_RECONNECT},
    {"no-reconnect", no_argument, NULL, OPT_NO_RECONNECT},
    {"lifetime", required_argument, NULL, OPT_LIFETIME},
    {"server-pid", required_argument, NULL, OPT_SERVER_PID},
    {"json", no_argument, NULL, OPT_JSON},
    {"records", required_argument, NULL, OPT_RECORDS},
    {"channels", required_argument, NULL, OPT_CHANNELS},
    {"publish-rate", required_argument, NULL, OPT_PUBLISH_RATE},
    {"channel-prefix", required_argument, NULL, OPT_CHANNEL_PREFIX},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static const char chaos_wsload_usage[] =
    "usage: wsload [--url ws://127.0.0.1:PORT/echo | --host H --port P --path /echo]\n"
    "       (--url again: more endpoints; each connection starts on one and moves to the next\n"
    "        when it is refused, reset, or closed with 1001/1012, resuming its channels)\n"
    "              [--mode echo|idle|connect|channels] [--kind echo|slow|garbage]\n"
    "              [--connections N]"
    "              [--inflight K | --rate MSGS_PER_S] [--size BYTES] [--binary]\n"
    "              [--duration SEC | --messages TOTAL] [--sources N] [--open-rate R]\n"
    "              [--garbage-rate R] [--reconnect | --no-reconnect] [--lifetime SEC]\n"
    "              [--server-pid PID] [--json] [--records FILE]\n"
    "              [--channels C] [--publish-rate R] [--channel-prefix P]\n"
    "  echo     N connections of the chosen kind (default: 5 s when neither --duration nor\n"
    "           --messages is given):\n"
    "             echo     K messages outstanding on each, or R messages/s each (--rate),\n"
    "                      every echo verified and timed\n"
    "             slow     send without ever reading until the server cuts the connection\n"
    "             garbage  malformed requests or frames, --garbage-rate attempts/s (100)\n"
    "                      over at most N connections, each waiting for the server to close\n"
    "  idle     open N upgraded connections and hold them until --duration or SIGTERM\n"
    "  connect  open, upgrade and close in a loop, N attempts at a time (default 5 s)\n"
    "  channels N wsfleet.v1 subscribers (path /channels unless given) on C channels named\n"
    "           P0 .. P(C-1) (20, \"load-\"), subscriber i on channel i mod C, resuming with "
    "since\n"
    "           after every reconnect (also after 4001, 4002, 4429); a publisher connection\n"
    "           publishes R publications/s on each channel (10; 0 = none; the namespace must "
    "allow\n"
    "           client publish) with --size bytes of deterministic filler; every delivery is\n"
    "           checked (data, offsets once and in order) and, at the end, the acknowledged\n"
    "           publications a subscriber was owed and never received are counted lost (5 s)\n"
    "  --sources N spreads connections over source addresses 127.0.0.1 .. 127.0.0.N.\n"
    "  --open-rate R opens at most R connections/s (default: 256 attempts in flight).\n"
    "  --reconnect (default) retries, with full-jitter backoff from 500 ms, after refused or\n"
    "  failed attempts and after closes 1001, 1005, 1006, 1011, 1012, 1013,\n"
    "  4001, 4002, 4429.\n"
    "  --lifetime SEC ends each echo session by itself after 0.5-1.5 x SEC (close 1000 once its\n"
    "  echoes are in) and opens a new one at once: clients arriving and leaving.\n"
    "  --server-pid samples the server's CPU time (/proc/PID/stat) over the measured window and,\n"
    "  in idle mode, its VmRSS before and with all connections up.\n"
    "  --records FILE writes one line per connection: index sent echoed lost disconnects\n"
    "  reconnects down_ms_max attempts failed.\n"
    "Only loopback targets (127.0.0.0/8, localhost, [::1]) are accepted.\n"
    "Prints one result line (or one JSON object with --json); exits 0 without errors, 1 with\n"
    "errors, 2 on bad usage.\n";

const char *chaos_wsload_mode_name(enum chaos_wsload_mode mode)
{
    switch (mode) {
    case CHAOS_WSLOAD_IDLE:
        return "idle";
    case CHAOS_WSLOAD_CONNECT:
        return "connect";
    case CHAOS_WSLOAD_CHANNELS:
        return "channels";
    default:
        return "echo";
    }
}

const char *chaos_wsload_kind_name(enum chaos_client_kind kind)
{
    switch (kind) {
    case CHAOS_CLIENT_SLOW:
        return "slow";
    case CHAOS_CLIENT_GARBAGE:
        return "garbage";
    default:
        return "echo";
    }
}

/* A positive number of seconds, at most a day. */
static int chaos_wsload_parse_seconds(double *out, const char *s)
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

/* A positive rate, at most CHAOS_WSLOAD_MAX_RATE per second. */
static int chaos_wsload_parse_rate(double *out, const char *s)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v <= 0 ||
        v > CHAOS_WSLOAD_MAX_RATE) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Splits ws://HOST:PORT/PATH into its parts (host keeps IPv6 brackets). */
static int chaos_wsload_split_url(const char *url, char *host, size_t host_cap, uint64_t *port,
                                  char *path, size_t path_cap)
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

static int chaos_wsload_fail(const char *what, const char *value)
{
    fprintf(stderr, "wsload: invalid %s '%s'\n%s", what, value, chaos_wsload_usage);
    return -1;
}

static int chaos_wsload_conflict(const char *msg)
{
    fprintf(stderr, "wsload: %s\n%s", msg, chaos_wsload_usage);
    return -1;
}

/* What was given explicitly, for the checks that follow the loop. */
typedef struct chaos_wsload_given {
    bool inflight;
    bool rate;
    bool kind;
    bool garbage_rate;
    bool sources;
    bool open_rate;
    bool lifetime;
    bool path;
    bool binary;
    bool channel_opts;
} chaos_wsload_given;

/* Cross-option rules, once everything is parsed. */
static int chaos_wsload_check(chaos_wsload_opts *o, const chaos_wsload_given *g)
{
    chaos_load_opts *l = &o->load;
    if (g->inflight && g->rate) {
        return chaos_wsload_conflict("give --inflight or --rate, not both");
    }
    if (o->messages != 0 && (o->mode != CHAOS_WSLOAD_ECHO || l->kind != CHAOS_CLIENT_ECHO)) {
        return chaos_wsload_conflict("--messages applies to echo mode with echo clients only");
    }
    if (o->messages != 0 && o->duration != 0) {
        return chaos_wsload_conflict("give --messages or --duration, not both");
    }
    if (g->kind && o->mode != CHAOS_WSLOAD_ECHO) {
        return chaos_wsload_conflict("--kind applies to echo mode only");
    }
    if ((g->rate || g->inflight) &&
        (o->mode != CHAOS_WSLOAD_ECHO || l->kind != CHAOS_CLIENT_ECHO)) {
        return chaos_wsload_conflict("--inflight and --rate apply to echo clients only");
    }
    if (g->lifetime && (o->mode != CHAOS_WSLOAD_ECHO || l->kind != CHAOS_CLIENT_ECHO)) {
        return chaos_wsload_conflict("--lifetime applies to echo clients only");
    }
    if (g->garbage_rate && l->kind != CHAOS_CLIENT_GARBAGE) {
        return chaos_wsload_conflict("--garbage-rate applies to --kind garbage only");
    }
    if (g->open_rate && (o->mode == CHAOS_WSLOAD_CONNECT || l->kind == CHAOS_CLIENT_GARBAGE)) {
        return chaos_wsload_conflict("--open-rate does not apply to connect mode or garbage");
    }
    if (g->channel_opts && o->mode != CHAOS_WSLOAD_CHANNELS) {
        return chaos_wsload_conflict(
            "--channels, --publish-rate and --channel-prefix apply to channels mode only");
    }
    if ((g->binary || o->records[0] != '\0' || o->server_pid != 0) &&
        o->mode == CHAOS_WSLOAD_CHANNELS) {
        return chaos_wsload_conflict(
            "--binary, --records and --server-pid do not apply to channels mode");
    }
    if (l->sources > 1 && l->addr.ss_family != AF_INET) {
        return chaos_wsload_conflict("--sources needs an IPv4 target");
    }
    /* Each connection queues inflight frames in one buffer: keep that buffer sane. */
    if ((uint64_t)l->inflight * (l->size + 14) > CHAOS_WSLOAD_MAX_BURST) {
        return chaos_wsload_conflict("--inflight x --size exceeds 1 GiB per connection");
    }
    if (l->kind == CHAOS_CLIENT_GARBAGE && !g->garbage_rate) {
        l->garbage_rate = CHAOS_WSLOAD_GARBAGE_RATE;
    }
    if (g->rate) {
        l->inflight = 0;
    }
    if (o->mode == CHAOS_WSLOAD_IDLE) {
        l->inflight = 0;
        l->rate = 0;
    }
    if (o->mode == CHAOS_WSLOAD_CHANNELS) {
        l->kind = CHAOS_CLIENT_CHANNEL;
        strcpy(l->protocol, "wsfleet.v1");
        if (!g->path) {
            strcpy(l->path, "/channels");
        }
    }
    l->max_messages = o->messages;
    if (o->mode != CHAOS_WSLOAD_IDLE && o->messages == 0 && o->duration == 0) {
        o->duration = 5.0;
    }
    return 0;
}

int chaos_wsload_parse(chaos_wsload_opts *out, int argc, char **argv)
{
    chaos_wsload_opts o;
    chaos_wsload_given g;
    char host[CHAOS_WSLOAD_HOST_MAX] = "127.0.0.1";
    char hostport[CHAOS_WSLOAD_HOST_MAX + 8];
    uint64_t port = 0;
    uint64_t v = 0;
    size_t nurls = 0;

    memset(&o, 0, sizeof(o));
    memset(&g, 0, sizeof(g));
    o.mode = CHAOS_WSLOAD_ECHO;
    o.channels = 20;
    o.publish_rate = 10;
    strcpy(o.channel_prefix, "load-");
    chaos_load_opts_init(&o.load);
    chaos_load_opts *l = &o.load;

    optind = 1;
    for (;;) {
        int c = getopt_long(argc, argv, "", chaos_wsload_long_opts, NULL);
        if (c == -1) {
            break;
        }
        switch (c) {
        case OPT_URL: {
            /* Given again: more endpoints of one deployment (same path), failed over between. */
            char path[sizeof(l->path)];
            if (chaos_wsload_split_url(optarg, host, sizeof(host), &port, path, sizeof(path)) !=
                    0 ||
                (nurls > 0 && strcmp(path, l->path) != 0)) {
                return chaos_wsload_fail("--url (want ws://HOST:PORT/PATH, one path for all)",
                                         optarg);
            }
            snprintf(hostport, sizeof(hostport), "%s:%u", host, (unsigned)port);
            if ((host[0] != '[' && strchr(host, ':') != NULL) ||
                chaos_load_opts_add_target(l, hostport) != 0) {
                return chaos_wsload_fail("--url (loopback only, at most 8)", optarg);
            }
            nurls++;
            strcpy(l->path, path);
            g.path = strcmp(l->path, "/") != 0;
            break;
        }
        case OPT_HOST:
            if (strlen(optarg) >= sizeof(host)) {
                return chaos_wsload_fail("--host", optarg);
            }
            strcpy(host, optarg);
            break;
        case OPT_PORT:
            if (wsf_parse_u64(&port, optarg, 1, 65535) != 0) {
                return chaos_wsload_fail("--port", optarg);
            }
            break;
        case OPT_PATH:
            if (optarg[0] != '/' || strlen(optarg) >= sizeof(l->path)) {
                return chaos_wsload_fail("--path", optarg);
            }
            strcpy(l->path, optarg);
            g.path = true;
            break;
        case OPT_CONNECTIONS:
            if (wsf_parse_u64(&v, optarg, 1, CHAOS_WSLOAD_MAX_CONNECTIONS) != 0) {
                return chaos_wsload_fail("--connections", optarg);
            }
            l->connections = (size_t)v;
            break;
        case OPT_INFLIGHT:
            if (wsf_parse_u64(&v, optarg, 1, CHAOS_WSLOAD_MAX_INFLIGHT) != 0) {
                return chaos_wsload_fail("--inflight", optarg);
            }
            l->inflight = (uint32_t)v;
            g.inflight = true;
            break;
        case OPT_RATE:
            if (chaos_wsload_parse_rate(&l->rate, optarg) != 0) {
                return chaos_wsload_fail("--rate", optarg);
            }
            g.rate = true;
            break;
        case OPT_SIZE:
            if (wsf_parse_u64(&v, optarg, 0, CHAOS_WSLOAD_MAX_SIZE) != 0) {
                return chaos_wsload_fail("--size", optarg);
            }
            l->size = (size_t)v;
            break;
        case OPT_BINARY:
            l->binary = true;
            g.binary = true;
            break;
        case OPT_DURATION:
            if (chaos_wsload_parse_seconds(&o.duration, optarg) != 0) {
                return chaos_wsload_fail("--duration", optarg);
            }
            break;
        case OPT_MESSAGES:
            if (wsf_parse_u64(&o.messages, optarg, 1, UINT64_MAX / 2) != 0) {
                return chaos_wsload_fail("--messages", optarg);
            }
            break;
        case OPT_MODE:
            if (strcmp(optarg, "echo") == 0) {
                o.mode = CHAOS_WSLOAD_ECHO;
            } else if (strcmp(optarg, "idle") == 0) {
                o.mode = CHAOS_WSLOAD_IDLE;
            } else if (strcmp(optarg, "connect") == 0) {
                o.mode = CHAOS_WSLOAD_CONNECT;
            } else if (strcmp(optarg, "channels") == 0) {
                o.mode = CHAOS_WSLOAD_CHANNELS;
            } else {
                return chaos_wsload_fail("--mode", optarg);
            }
            break;
        case OPT_KIND:
            if (strcmp(optarg, "echo") == 0) {
                l->kind = CHAOS_CLIENT_ECHO;
            } else if (strcmp(optarg, "slow") == 0) {
                l->kind = CHAOS_CLIENT_SLOW;
            } else if (strcmp(optarg, "garbage") == 0) {
                l->kind = CHAOS_CLIENT_GARBAGE;
            } else {
                return chaos_wsload_fail("--kind", optarg);
            }
            g.kind = true;
            break;
        case OPT_SOURCES:
            if (wsf_parse_u64(&v, optarg, 1, CHAOS_WSLOAD_MAX_SOURCES) != 0) {
                return chaos_wsload_fail("--sources", optarg);
            }
            l->sources = (uint32_t)v;
            g.sources = true;
            break;
        case OPT_OPEN_RATE:
            if (chaos_wsload_parse_rate(&l->open_rate, optarg) != 0) {
                return chaos_wsload_fail("--open-rate", optarg);
            }
            g.open_rate = true;
            break;
        case OPT_GARBAGE_RATE:
            if (chaos_wsload_parse_rate(&l->garbage_rate, optarg) != 0) {
                return chaos_wsload_fail("--garbage-rate", optarg);
            }
            g.garbage_rate = true;
            break;
        case OPT_RECONNECT:
            l->reconnect = true;
            break;
        case OPT_NO_RECONNECT:
            l->reconnect = false;
            break;
        case OPT_LIFETIME: {
            double secs = 0;
            if (chaos_wsload_parse_seconds(&secs, optarg) != 0 || secs < 0.1) {
                return chaos_wsload_fail("--lifetime", optarg);
            }
            l->lifetime_ms = (uint32_t)(secs * 1000.0 + 0.5);
            g.lifetime = true;
            break;
        }
        case OPT_SERVER_PID:
            if (wsf_parse_u64(&v, optarg, 1, INT32_MAX) != 0) {
                return chaos_wsload_fail("--server-pid", optarg);
            }
            o.server_pid = (pid_t)v;
            break;
        case OPT_JSON:
            o.json = true;
            break;
        case OPT_RECORDS:
            if (optarg[0] == '\0' || strlen(optarg) >= sizeof(o.records)) {
                return chaos_wsload_fail("--records", optarg);
            }
            strcpy(o.records, optarg);
            break;
        case OPT_CHANNELS:
            if (wsf_parse_u64(&v, optarg, 1, CHAOS_WSLOAD_MAX_CHANNELS) != 0) {
                return chaos_wsload_fail("--channels", optarg);
            }
            o.channels = (uint32_t)v;
            g.channel_opts = true;
            break;
        case OPT_PUBLISH_RATE:
            if (strcmp(optarg, "0") == 0) {
                o.publish_rate = 0;
            } else if (chaos_wsload_parse_rate(&o.publish_rate, optarg) != 0 ||
                       o.publish_rate > CHAOS_WSLOAD_MAX_PUBLISH_RATE) {
                return chaos_wsload_fail("--publish-rate", optarg);
            }
            g.channel_opts = true;
            break;
        case OPT_CHANNEL_PREFIX:
            /* Room for the index; the characters are those of a channel name. */
            if (optarg[0] == '\0' || strlen(optarg) >= sizeof(o.channel_prefix) ||
                !wsf_ch_channel_is_valid(optarg, strlen(optarg))) {
                return chaos_wsload_fail("--channel-prefix", optarg);
            }
            strcpy(o.channel_prefix, optarg);
            g.channel_opts = true;
            break;
        case OPT_HELP:
            fputs(chaos_wsload_usage, stdout);
            return 1;
        default:
            fputs(chaos_wsload_usage, stderr);
            return -1;
        }
    }
    if (optind != argc) {
        return chaos_wsload_fail("argument", argv[optind]);
    }
    if (port == 0) {
        fprintf(stderr, "wsload: give --url or --port\n%s", chaos_wsload_usage);
        return -1;
    }
    /* A bare IPv6 address has to be bracketed to be told from its port. */
    snprintf(hostport, sizeof(hostport), "%s:%u", host, (unsigned)port);
    if (host[0] != '[' && strchr(host, ':') != NULL) {
        return chaos_wsload_fail("host (loopback only: 127.0.0.0/8, localhost, [::1])", host);
    }
    if (nurls <= 1 && chaos_load_opts_target(l, hostport) != 0) {
        return chaos_wsload_fail("host (loopback only: 127.0.0.0/8, localhost, [::1])", host);
    }
    if (nurls > 1) {
        /* The first endpoint is the single target; the others only through targets. */
        l->addr = l->targets[0].addr;
        l->addr_len = l->targets[0].addr_len;
        snprintf(l->host, sizeof(l->host), "%s", l->targets[0].host);
    } else {
        l->ntargets = 0;
    }
    if (chaos_wsload_check(&o, &g) != 0) {
        return -1;
    }
    *out = o;
    return 0;
}
