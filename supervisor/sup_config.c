/* wsfleetd's configuration: defaults, the INI file through libinih, then the flags. */
#include "sup_config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup_auth.h"
#include "sup_bkcfg.h"
#include "sup_natscfg.h"
#include "wsf_nats.h"
#include "wsf_origin.h"
#include "wsf_parse.h"

#define SUP_MS_MAX UINT64_C(86400000) /* durations: 1 ms .. 1 day */

/* Printable ASCII, space included: what a header value written verbatim may hold. */
static const char sup_printable[] = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

enum sup_key_type {
    SUP_T_LISTEN,
    SUP_T_PATH,  /* non-empty string */
    SUP_T_PATH0, /* string, may be empty */
    SUP_T_U32,
    SUP_T_U64,
    SUP_T_MS32,
    SUP_T_MS64,
    SUP_T_BOOL, /* yes|no, true|false, on|off, 1|0, into a uint32_t */
    SUP_T_URLS, /* a NATS URL or a comma list, appended (repeatable) */
    SUP_T_STREAM,
    SUP_T_U32Z,    /* a number where 0 is a value, not "unset": stored + 1 */
    SUP_T_ORIGINS, /* an Origin allowlist (wsf_origin.h), may be empty */
    SUP_T_HEADER,  /* an HTTP header value of printable ASCII, may be empty */
    SUP_T_TLS_LISTEN,
    SUP_T_PROTOCOLS, /* TLSv1.2 and/or TLSv1.3, comma-separated */
    SUP_T_TOKEN,     /* a NATS subject token: [A-Za-z0-9_-], 1..64 */
};

enum sup_key_id {
    K_LISTEN,
    K_RUN_DIR,
    K_WORKER_BIN,
    K_COUNT,
    K_MIN,
    K_MAX,
    K_HANG,
    K_KILL,
    K_DRAIN,
    K_ORPHAN,
    K_REPORT,
    K_BASE,
    K_MAX_DELAY,
    K_RESET,
    K_UNSTABLE,
    K_FAIL_COUNT,
    K_FAIL_WINDOW,
    K_MAX_MESSAGE,
    K_MAX_CONNECTIONS,
    K_MAX_BACKLOG,
    K_HANDSHAKE,
    K_PING,
    K_IDLE,
    K_CLOSE,
    K_DEFLATE,
    K_DEFLATE_CT,
    K_DEFLATE_MIN,
    K_MSG_RATE,
    K_MSG_BURST,
    K_CONNS_PER_IP,
    K_ORIGINS,
    K_SERVER_HEADER,
    K_BR_OPEN,
    K_BR_MAX_OPEN,
    K_BR_MIN_EVENTS,
    K_BR_FAILURE,
    K_BR_CONSECUTIVE,
    K_BR_PROBES,
    K_AS_ENABLED,
    K_AS_CONNS,
    K_AS_BUSY,
    K_AS_UP_WINDOW,
    K_AS_DOWN_WINDOW,
    K_AS_DOWN_INTERVAL,
    K_AS_WARMUP,
    K_RB_INTERVAL,
    K_RB_ENABLED,
    K_RB_MIN_EXCESS,
    K_DR_ENABLED,
    K_DR_MAX_MEMORY,
    K_NATS_URL,
    K_NATS_STREAM,
    K_NATS_STORE,
    K_NATS_CREDS,
    K_NATS_TLS_CA,
    K_NATS_TLS_CERT,
    K_NATS_TLS_KEY,
    K_CH_REPLICAS,
    K_FLEET_NAME,
    K_AUTH_SECRET,
    K_AUTH_PUBLIC_KEY,
    K_AUTH_REQUIRED,
    K_AUTH_AUDIENCE,
    K_AUTH_ISSUER,
    K_TLS_LISTEN,
    K_TLS_CERT,
    K_TLS_KEY,
    K_TLS_CIPHERS,
    K_TLS_PROTOCOLS,
    K_TLS_ROTATION,
    K_NKEYS
};

typedef struct sup_key {
    const char *section;
    const char *name;
    enum sup_key_type type;
    size_t off; /* into sup_config */
    uint64_t min, max;
} sup_key;

#define SUP_CFG(field) offsetof(sup_config, field)

static const sup_key sup_keys[K_NKEYS] = {
    [K_LISTEN] = {"fleet", "listen", SUP_T_LISTEN, 0, 0, 0},
    [K_RUN_DIR] = {"fleet", "run_dir", SUP_T_PATH, SUP_CFG(run_dir), 0, 0},
    [K_WORKER_BIN] = {"fleet", "worker_bin", SUP_T_PATH0, SUP_CFG(worker_bin), 0, 0},
    [K_COUNT] = {"workers", "count", SUP_T_U32, SUP_CFG(workers), 1, SUP_CONFIG_MAX_WORKERS},
    [K_MIN] = {"workers", "min", SUP_T_U32, SUP_CFG(workers_min), 1, SUP_CONFIG_MAX_WORKERS},
    [K_MAX] = {"workers", "max", SUP_T_U32, SUP_CFG(workers_max), 1, SUP_CONFIG_MAX_WORKERS},
    [K_HANG] = {"workers", "hang_timeout", SUP_T_MS32, SUP_CFG(hang_timeout_ms), 1, SUP_MS_MAX},
    [K_KILL] = {"workers", "kill_grace", SUP_T_MS32, SUP_CFG(kill_grace_ms), 1, SUP_MS_MAX},
    [K_DRAIN] = {"workers", "drain_timeout", SUP_T_MS32, SUP_CFG(drain_timeout_ms), 1, SUP_MS_MAX},
    [K_ORPHAN] = {"workers", "orphan_grace", SUP_T_MS32, SUP_CFG(orphan_grace_ms), 1, SUP_MS_MAX},
    [K_REPORT] = {"workers", "report_interval", SUP_T_MS32, SUP_CFG(report_interval_ms), 1,
                  SUP_MS_MAX},
    [K_BASE] = {"restart", "base_delay", SUP_T_MS64, SUP_CFG(restart.base_delay_ms), 1, SUP_MS_MAX},
    [K_MAX_DELAY] = {"restart", "max_delay", SUP_T_MS64, SUP_CFG(restart.max_delay_ms), 1,
                     SUP_MS_MAX},
    [K_RESET] = {"restart", "reset_after", SUP_T_MS64, SUP_CFG(restart.reset_after_ms), 1,
                 SUP_MS_MAX},
    [K_UNSTABLE] = {"restart", "unstable_after", SUP_T_MS64, SUP_CFG(restart.unstable_ms), 1,
                    SUP_MS_MAX},
    [K_FAIL_COUNT] = {"restart", "fail_count", SUP_T_U32, SUP_CFG(restart.fail_count), 1,
                      SUP_RESTART_MAX_FAIL_COUNT},
    [K_FAIL_WINDOW] = {"restart", "fail_window", SUP_T_MS64, SUP_CFG(restart.fail_window_ms), 1,
                       SUP_MS_MAX},
    [K_MAX_MESSAGE] = {"worker", "max_message", SUP_T_U64, SUP_CFG(worker.max_message), 1,
                       UINT64_C(1) << 40},
    [K_MAX_CONNECTIONS] = {"worker", "max_connections", SUP_T_U32, SUP_CFG(worker.max_connections),
                           1, 10000000},
    [K_MAX_BACKLOG] = {"worker", "max_backlog", SUP_T_U64, SUP_CFG(worker.max_backlog), 1,
                       UINT64_C(1) << 40},
    [K_HANDSHAKE] = {"worker", "handshake_timeout", SUP_T_MS32, SUP_CFG(worker.handshake_ms), 1,
                     SUP_MS_MAX},
    [K_PING] = {"worker", "ping_interval", SUP_T_MS32, SUP_CFG(worker.ping_ms), 1, SUP_MS_MAX},
    [K_IDLE] = {"worker", "idle_timeout", SUP_T_MS32, SUP_CFG(worker.idle_ms), 1, SUP_MS_MAX},
    [K_CLOSE] = {"worker", "close_timeout", SUP_T_MS32, SUP_CFG(worker.close_ms), 1, SUP_MS_MAX},
    [K_DEFLATE] = {"worker", "deflate", SUP_T_BOOL, SUP_CFG(worker.deflate), 0, 1},
    [K_DEFLATE_CT] = {"worker", "deflate_context_takeover", SUP_T_BOOL, SUP_CFG(worker.deflate_ct),
                      0, 1},
    [K_DEFLATE_MIN] = {"worker", "deflate_min_size", SUP_T_U32, SUP_CFG(worker.deflate_min), 1,
                       UINT32_MAX},
    [K_MSG_RATE] = {"worker", "msg_rate", SUP_T_U32Z, SUP_CFG(worker.msg_rate_1), 0, 1000000},
    [K_MSG_BURST] = {"worker", "msg_burst", SUP_T_U32, SUP_CFG(worker.msg_burst), 1, 1000000},
    [K_CONNS_PER_IP] = {"worker", "max_conns_per_ip", SUP_T_U32, SUP_CFG(worker.max_conns_per_ip),
                        0, 10000000},
    [K_ORIGINS] = {"worker", "origins", SUP_T_ORIGINS, SUP_CFG(worker.origins), 0, 0},
    [K_SERVER_HEADER] = {"worker", "server_header", SUP_T_HEADER, SUP_CFG(worker.server_header), 0,
                         0},
    [K_BR_OPEN] = {"breaker", "open_time", SUP_T_MS64, SUP_CFG(breaker.base_open_ms), 1,
                   SUP_MS_MAX},
    [K_BR_MAX_OPEN] = {"breaker", "max_open_time", SUP_T_MS64, SUP_CFG(breaker.max_open_ms), 1,
                       SUP_MS_MAX},
    [K_BR_MIN_EVENTS] = {"breaker", "min_events", SUP_T_U64, SUP_CFG(breaker.min_events), 1,
                         UINT32_MAX},
    [K_BR_FAILURE] = {"breaker", "failure_pct", SUP_T_U32, SUP_CFG(breaker.failure_pct), 1, 100},
    [K_BR_CONSECUTIVE] = {"breaker", "consecutive", SUP_T_U32, SUP_CFG(breaker.consecutive), 1,
                          1000000},
    [K_BR_PROBES] = {"breaker", "probes", SUP_T_U32, SUP_CFG(breaker.probes), 1, 100000},
    [K_AS_ENABLED] = {"autoscale", "enabled", SUP_T_U32, SUP_CFG(autoscale), 0, 1},
    [K_AS_CONNS] = {"autoscale", "target_connections", SUP_T_U32,
                    SUP_CFG(scaler.target_connections), 0, 10000000},
    [K_AS_BUSY] = {"autoscale", "target_busy_pct", SUP_T_U32, SUP_CFG(target_busy_pct), 0, 100},
    [K_AS_UP_WINDOW] = {"autoscale", "up_window", SUP_T_MS64, SUP_CFG(scaler.up_window_ms), 1,
                        SUP_MS_MAX},
    [K_AS_DOWN_WINDOW] = {"autoscale", "down_window", SUP_T_MS64, SUP_CFG(scaler.down_window_ms), 1,
                          SUP_MS_MAX},
    [K_AS_DOWN_INTERVAL] = {"autoscale", "down_interval", SUP_T_MS64,
                            SUP_CFG(scaler.down_interval_ms), 1, SUP_MS_MAX},
    [K_AS_WARMUP] = {"autoscale", "warmup", SUP_T_MS64, SUP_CFG(scaler.warmup_ms), 1, SUP_MS_MAX},
    [K_RB_INTERVAL] = {"rebalance", "interval", SUP_T_MS64, SUP_CFG(rebalance.interval_ms), 1,
                       SUP_MS_MAX},
    [K_RB_ENABLED] = {"rebalance", "enabled", SUP_T_U32, SUP_CFG(rebalance_enabled), 0, 1},
    [K_RB_MIN_EXCESS] = {"rebalance", "min_excess", SUP_T_U32, SUP_CFG(rebalance.min_excess), 0,
                         10000000},
    [K_DR_ENABLED] = {"drills", "enabled", SUP_T_BOOL, SUP_CFG(drills_enabled), 0, 1},
    [K_DR_MAX_MEMORY] = {"drills", "max_memory", SUP_T_U64, SUP_CFG(drills_max_memory),
                         UINT64_C(1) << 20, UINT64_C(1) << 40},
    [K_NATS_URL] = {"nats", "url", SUP_T_URLS, SUP_CFG(nats_url), 0, 0},
    [K_NATS_STREAM] = {"nats", "stream", SUP_T_STREAM, SUP_CFG(nats_stream), 0, 0},
    [K_NATS_STORE] = {"nats", "store_dir", SUP_T_PATH, SUP_CFG(nats_store_dir), 0, 0},
    [K_NATS_CREDS] = {"nats", "credentials", SUP_T_PATH0, SUP_CFG(nats_credentials), 0, 0},
    [K_NATS_TLS_CA] = {"nats", "tls_ca", SUP_T_PATH0, SUP_CFG(nats_tls_ca), 0, 0},
    [K_NATS_TLS_CERT] = {"nats", "tls_cert", SUP_T_PATH0, SUP_CFG(nats_tls_cert), 0, 0},
    [K_NATS_TLS_KEY] = {"nats", "tls_key", SUP_T_PATH0, SUP_CFG(nats_tls_key), 0, 0},
    [K_CH_REPLICAS] = {"channels", "replicas", SUP_T_U32, SUP_CFG(channels_replicas), 1, 5},
    [K_FLEET_NAME] = {"fleet", "name", SUP_T_TOKEN, SUP_CFG(fleet_name), 0, 0},
    [K_AUTH_SECRET] = {"auth", "hmac_secret_file", SUP_T_PATH0, SUP_CFG(auth_secret_file), 0, 0},
    [K_AUTH_PUBLIC_KEY] = {"auth", "public_key", SUP_T_PATH0, SUP_CFG(auth_public_key), 0, 0},
    [K_AUTH_REQUIRED] = {"auth", "required", SUP_T_BOOL, SUP_CFG(auth_required), 0, 1},
    [K_AUTH_AUDIENCE] = {"auth", "audience", SUP_T_PATH0, SUP_CFG(auth_audience), 0, 0},
    [K_AUTH_ISSUER] = {"auth", "issuer", SUP_T_PATH0, SUP_CFG(auth_issuer), 0, 0},
    [K_TLS_LISTEN] = {"tls", "listen", SUP_T_TLS_LISTEN, 0, 0, 0},
    [K_TLS_CERT] = {"tls", "cert", SUP_T_PATH, SUP_CFG(tls.cert), 0, 0},
    [K_TLS_KEY] = {"tls", "key", SUP_T_PATH, SUP_CFG(tls.key), 0, 0},
    [K_TLS_CIPHERS] = {"tls", "ciphers", SUP_T_HEADER, SUP_CFG(tls.ciphers), 0, 0},
    [K_TLS_PROTOCOLS] = {"tls", "protocols", SUP_T_PROTOCOLS, SUP_CFG(tls.protocols), 0, 0},
    [K_TLS_ROTATION] = {"tls", "ticket_rotation", SUP_T_MS64, SUP_CFG(tls.ticket_rotation_ms), 1000,
                        SUP_MS_MAX},
};

/* Where a key's value came from, for messages about two keys at once. */
typedef struct sup_origin {
    int line;         /* > 0: that line of the file; 0: default; -1: a flag */
    const char *flag; /* the flag, when line is -1 */
} sup_origin;

typedef struct sup_parse {
    sup_config *cfg;
    char *err;
    size_t errlen;
    bool failed;
    int err_line; /* the file line the error is about, 0 if none */
    const char *file;
    FILE *f;
    int line;
    bool listen_from_file; /* the file's first listen replaced the default */
    bool listen_from_flag; /* the first --listen replaced the file's list */
    wsf_chconf chconf;     /* [channels] and [namespace NAME] */
    sup_origin origin[K_NKEYS];
} sup_parse;

static const char sup_usage[] =
    "usage: wsfleetd [options]\n"
    "  -c, --config FILE      INI file: [fleet] [workers] [restart] [worker] [breaker]\n"
    "                         [autoscale] [rebalance] [drills] [tls] [nats] [admin]\n"
    "                         [channels] [namespace NAME] [backend] [auth] [alerts] (none)\n"
    "  --listen HOST:PORT     listen address, repeatable; [V6HOST]:PORT for IPv6\n"
    "                         (default 127.0.0.1:8080)\n"
    "  --workers N            number of workers (number of CPUs, at least 2)\n"
    "  --run-dir DIR          control socket and state (./run, /run/wsfleet as root)\n"
    "  --admin-listen HOST:PORT|off\n"
    "                         admin HTTP server ([admin] listen, 127.0.0.1:8001)\n"
    "  --foreground           stay in the foreground, log to stderr\n"
    "  --help, --version\n";

const char *sup_config_usage(void)
{
    return sup_usage;
}

void sup_config_init(sup_config *cfg, unsigned euid, long ncpu)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen[0], sizeof cfg->listen[0], "%s", "127.0.0.1:8080");
    cfg->nlisten = 1;
    snprintf(cfg->run_dir, sizeof cfg->run_dir, "%s", euid == 0 ? "/run/wsfleet" : "./run");
    if (ncpu < 2)
        ncpu = 2;
    if (ncpu > SUP_CONFIG_MAX_WORKERS)
        ncpu = SUP_CONFIG_MAX_WORKERS;
    cfg->workers = (uint32_t)ncpu;
    cfg->workers_min = 1;
    cfg->workers_max = 0; /* resolved once count is known */
    cfg->hang_timeout_ms = 10000;
    cfg->kill_grace_ms = 5000;
    cfg->drain_timeout_ms = 10000;
    cfg->orphan_grace_ms = 60000;
    cfg->report_interval_ms = 1000;
    sup_restart_policy_init(&cfg->restart);
    sup_breaker_policy_init(&cfg->breaker);
    sup_scaler_policy_init(&cfg->scaler);
    cfg->target_busy_pct = (uint32_t)(cfg->scaler.target_busy * 100.0 + 0.5);
    sup_rebalance_policy_init(&cfg->rebalance);
    cfg->rebalance_enabled = 1;
    cfg->drills_max_memory = SUP_DRILLS_MAX_MEMORY;
    snprintf(cfg->nats_stream, sizeof cfg->nats_stream, "%s", WSF_NATS_STREAM_DEFAULT);
    cfg->channels_replicas = 1;
    sup_natscfg_default_name(cfg->fleet_name, sizeof cfg->fleet_name);
    cfg->tls.ticket_rotation_ms = UINT64_C(12) * 3600 * 1000;
    sup_alcfg_init(&cfg->alerts);
    sup_admcfg_init(&cfg->admin);
}

/* Records the first error only: later ones are usually consequences. */
__attribute__((format(printf, 2, 3))) static void sup_fail(sup_parse *ps, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = true;
    va_list ap;
    va_start(ap, fmt);
    if (ps->errlen > 0)
        vsnprintf(ps->err, ps->errlen, fmt, ap);
    va_end(ap);
}

/* "FILE:LINE: [section] key: " or "--flag: " for a key set from there. */
static void sup_where(char *out, size_t len, const sup_parse *ps, int key)
{
    const sup_origin *o = &ps->origin[key];
    const sup_key *k = &sup_keys[key];
    if (o->line > 0)
        snprintf(out, len, "%s:%d: [%s] %s", ps->file, o->line, k->section, k->name);
    else if (o->line < 0)
        snprintf(out, len, "%s", o->flag);
    else
        snprintf(out, len, "[%s] %s", k->section, k->name);
}

/* wsf_parse_u64 with the reason for a refusal in why. */
static int sup_parse_u64(uint64_t *out, const char *s, char *why, size_t whylen, uint64_t min,
                         uint64_t max)
{
    int rc = wsf_parse_u64(out, s, min, max);
    if (rc == WSF_PARSE_EFORM)
        snprintf(why, whylen, "'%s' is not a whole number", s);
    else if (rc != 0)
        snprintf(why, whylen, "%s is out of range %llu..%llu", s, (unsigned long long)min,
                 (unsigned long long)max);
    return rc;
}

/* Seconds with an optional fraction, to milliseconds in [min, max]. */
static int sup_parse_ms(uint64_t *out, const char *s, char *why, size_t whylen, uint64_t min,
                        uint64_t max)
{
    int rc = wsf_parse_ms_in(out, s, min, max);
    if (rc == WSF_PARSE_EFORM)
        snprintf(why, whylen, "'%s' is not a duration in seconds", s);
    else if (rc != 0)
        snprintf(why, whylen, "%s is out of range %g..%g seconds", s, (double)min / 1000.0,
                 (double)max / 1000.0);
    return rc;
}

/* A yes/no value: the words an operator writes for a switch. */
static int sup_parse_bool(uint64_t *out, const char *s, char *why, size_t whylen)
{
    int v = wsf_parse_bool(s);
    if (v < 0) {
        snprintf(why, whylen, "'%s' is not yes or no", s);
        return -1;
    }
    *out = v == 1;
    return 0;
}

/* HOST:PORT or [V6HOST]:PORT with a port in 0..65535; the host is resolved later. */
static int sup_check_listen(const char *s, char *why, size_t whylen)
{
    char host[SUP_CONFIG_ADDR_MAX], port[8], pwhy[128];
    uint64_t v;
    switch (wsf_addr_split(host, sizeof host, port, sizeof port, s)) {
    case 0:
        break;
    case WSF_PARSE_EPORT:
        sup_parse_u64(&v, strrchr(s, ':') + 1, pwhy, sizeof pwhy, 0, 65535);
        snprintf(why, whylen, "'%s': port %s", s, pwhy);
        return -1;
    default:
        if (strlen(s) >= SUP_CONFIG_ADDR_MAX)
            snprintf(why, whylen, "'%s' is longer than %d characters", s, SUP_CONFIG_ADDR_MAX - 1);
        else if (s[0] == '[')
            snprintf(why, whylen, "'%s' is not [V6HOST]:PORT", s);
        else
            snprintf(why, whylen, "'%s' is not HOST:PORT (IPv6 needs [V6HOST]:PORT)", s);
        return -1;
    }
    if (strlen(s) >= SUP_CONFIG_ADDR_MAX) {
        snprintf(why, whylen, "'%s' is longer than %d characters", s, SUP_CONFIG_ADDR_MAX - 1);
        return -1;
    }
    return 0;
}

/* Sets key from value. first_of_source: this listen replaces the list instead of appending. */
static int sup_set(sup_config *cfg, int key, const char *value, bool first_of_source, char *why,
                   size_t whylen)
{
    const sup_key *k = &sup_keys[key];
    char *base = (char *)cfg;
    uint64_t v = 0;
    switch (k->type) {
    case SUP_T_LISTEN:
        if (sup_check_listen(value, why, whylen) != 0)
            return -1;
        if (first_of_source)
            cfg->nlisten = 0;
        if (cfg->nlisten == SUP_CONFIG_MAX_LISTEN) {
            snprintf(why, whylen, "more than %d listen addresses", SUP_CONFIG_MAX_LISTEN);
            return -1;
        }
        snprintf(cfg->listen[cfg->nlisten++], SUP_CONFIG_ADDR_MAX, "%s", value);
        return 0;
    case SUP_T_TLS_LISTEN:
        if (sup_check_listen(value, why, whylen) != 0)
            return -1;
        if (cfg->tls.nlisten == SUP_CONFIG_MAX_LISTEN) {
            snprintf(why, whylen, "more than %d listen addresses", SUP_CONFIG_MAX_LISTEN);
            return -1;
        }
        snprintf(cfg->tls.listen[cfg->tls.nlisten++], SUP_CONFIG_ADDR_MAX, "%s", value);
        return 0;
    case SUP_T_PROTOCOLS:
        for (const char *p = value; *p;) {
            size_t n = strcspn(p, ",");
            if (!(n == 7 && (strncmp(p, "TLSv1.2", 7) == 0 || strncmp(p, "TLSv1.3", 7) == 0))) {
                snprintf(why, whylen, "not TLSv1.2 and/or TLSv1.3, comma-separated");
                return -1;
            }
            p += n + (p[n] == ',');
        }
        snprintf(base + k->off, SUP_CONFIG_PATH_MAX, "%s", value);
        return 0;
    case SUP_T_PATH:
    case SUP_T_PATH0:
        if (k->type == SUP_T_PATH && value[0] == '\0') {
            snprintf(why, whylen, "empty value");
            return -1;
        }
        if (strlen(value) >= SUP_CONFIG_PATH_MAX) {
            snprintf(why, whylen, "longer than %d characters", SUP_CONFIG_PATH_MAX - 1);
            return -1;
        }
        snprintf(base + k->off, SUP_CONFIG_PATH_MAX, "%s", value);
        return 0;
    case SUP_T_U32:
    case SUP_T_U64:
        if (sup_parse_u64(&v, value, why, whylen, k->min, k->max) != 0)
            return -1;
        break;
    case SUP_T_U32Z:
        if (sup_parse_u64(&v, value, why, whylen, k->min, k->max) != 0)
            return -1;
        v++;
        break;
    case SUP_T_ORIGINS:
    case SUP_T_HEADER:
        if (strlen(value) >= SUP_CONFIG_PATH_MAX) {
            snprintf(why, whylen, "longer than %d characters", SUP_CONFIG_PATH_MAX - 1);
            return -1;
        }
        if (k->type == SUP_T_ORIGINS && wsf_origin_list_check(value) != 0) {
            snprintf(why, whylen,
                     "not a list of origins (scheme://host[:port], *.domain wildcards)");
            return -1;
        }
        if (k->type == SUP_T_HEADER && value[strspn(value, sup_printable)] != '\0') {
            snprintf(why, whylen, "characters other than printable ASCII");
            return -1;
        }
        snprintf(base + k->off, SUP_CONFIG_PATH_MAX, "%s", value);
        return 0;
    case SUP_T_MS32:
    case SUP_T_MS64:
        if (sup_parse_ms(&v, value, why, whylen, k->min, k->max) != 0)
            return -1;
        break;
    case SUP_T_BOOL:
        if (sup_parse_bool(&v, value, why, whylen) != 0)
            return -1;
        break;
    case SUP_T_URLS:
        return sup_chcfg_add_urls(base + k->off, value, why, whylen);
    case SUP_T_TOKEN:
        if (sup_chcfg_check_token(value, SUP_FLEET_NAME_MAX - 1, why, whylen) != 0)
            return -1;
        snprintf(base + k->off, SUP_FLEET_NAME_MAX, "%s", value);
        return 0;
    case SUP_T_STREAM:
        if (sup_chcfg_check_stream(value, why, whylen) != 0)
            return -1;
        snprintf(base + k->off, SUP_NATS_STREAM_MAX, "%s", value);
        return 0;
    }
    if (k->type == SUP_T_U32 || k->type == SUP_T_U32Z || k->type == SUP_T_MS32 ||
        k->type == SUP_T_BOOL) {
        uint32_t v32 = (uint32_t)v;
        memcpy(base + k->off, &v32, sizeof v32);
    } else {
        memcpy(base + k->off, &v, sizeof v);
    }
    return 0;
}

static int sup_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    sup_parse *ps = user;
    char why[256];
    if (ps->failed)
        return 1;
    if (section[0] == '\0') {
        ps->err_line = ps->line;
        sup_fail(ps,
                 "%s:%d: %s: key outside any section (start with [fleet], [workers], "
                 "[restart], [worker], [breaker], [autoscale], [rebalance], [drills], [tls], "
                 "[nats], [admin], [alerts], [channels], [namespace NAME] or [backend])",
                 ps->file, ps->line, name);
        return 0;
    }
    /* [channels] replicas is the stream's, not a channel setting. */
    bool replicas = strcmp(section, "channels") == 0 && strcmp(name, "replicas") == 0;
    if (!replicas && wsf_chconf_owns_section(section)) {
        const char *bad = wsf_chconf_set(&ps->chconf, section, name, value);
        if (bad != NULL) {
            ps->err_line = ps->line;
            sup_fail(ps, "%s:%d: [%s] %s: %s", ps->file, ps->line, section, name, bad);
            return 0;
        }
        return 1;
    }
    if (strcmp(section, "alerts") == 0) {
        if (sup_alcfg_set(&ps->cfg->alerts, name, value, why, sizeof why) != 0) {
            ps->err_line = ps->line;
            sup_fail(ps, "%s:%d: [%s] %s: %s", ps->file, ps->line, section, name, why);
            return 0;
        }
        return 1;
    }
    if (strcmp(section, "admin") == 0) {
        if (sup_admcfg_set(&ps->cfg->admin, name, value, why, sizeof why) != 0) {
            ps->err_line = ps->line;
            sup_fail(ps, "%s:%d: [%s] %s: %s", ps->file, ps->line, section, name, why);
            return 0;
        }
        return 1;
    }
    bool known_section = false;
    for (int key = 0; key < K_NKEYS; key++) {
        if (strcmp(sup_keys[key].section, section) != 0)
            continue;
        known_section = true;
        if (strcmp(sup_keys[key].name, name) != 0)
            continue;
        bool first = key == K_LISTEN && !ps->listen_from_file;
        if (sup_set(ps->cfg, key, value, first, why, sizeof why) != 0) {
            ps->err_line = ps->line;
            sup_fail(ps, "%s:%d: [%s] %s: %s", ps->file, ps->line, section, name, why);
            return 0;
        }
        if (key == K_LISTEN)
            ps->listen_from_file = true;
        ps->origin[key] = (sup_origin){.line = ps->line};
        return 1;
    }
    ps->err_line = ps->line;
    if (!known_section)
        sup_fail(ps, "%s:%d: [%s] %s: unknown section '%s'", ps->file, ps->line, section, name,
                 section);
    else
        sup_fail(ps, "%s:%d: [%s] %s: unknown key", ps->file, ps->line, section, name);
    return 0;
}

/* inih reports no section without keys: a "[namespace NAME]" header defines the namespace even
 * when empty, so that its channels take [channels] instead of being refused as undefined. */
static void sup_ini_section_line(sup_parse *ps, const char *line)
{
    static const char prefix[] = "namespace ";
    char name[WSF_CHCONF_MAX_NAME + 2];
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line != '[' || strncmp(line + 1, prefix, sizeof prefix - 1) != 0)
        return;
    const char *p = line + sizeof prefix;
    while (*p == ' ')
        p++;
    const char *end = strchr(p, ']');
    if (end == NULL)
        return; /* inih reports the syntax error */
    size_t len = (size_t)(end - p);
    while (len > 0 && p[len - 1] == ' ')
        len--;
    if (len >= sizeof name)
        len = sizeof name - 1; /* too long: wsf_chconf_add_namespace says so */
    memcpy(name, p, len);
    name[len] = '\0';
    const char *bad = wsf_chconf_add_namespace(&ps->chconf, name);
    if (bad != NULL) {
        if (!ps->failed)
            ps->err_line = ps->line;
        sup_fail(ps, "%s:%d: [namespace %s]: %s", ps->file, ps->line, name, bad);
    }
}

/* fgets for inih that counts lines and refuses those longer than inih's buffer. */
static char *sup_ini_reader(char *str, int num, void *stream)
{
    sup_parse *ps = stream;
    if (fgets(str, num, ps->f) == NULL)
        return NULL;
    ps->line++;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n') {
        int c = getc(ps->f);
        if (c != EOF && c != '\n') {
            while (c != EOF && c != '\n')
                c = getc(ps->f);
            if (!ps->failed)
                ps->err_line = ps->line;
            sup_fail(ps, "%s:%d: line longer than %d characters", ps->file, ps->line, num - 2);
        }
    }
    sup_ini_section_line(ps, str);
    return str;
}

static int sup_load_file(sup_parse *ps, const char *path)
{
    if (strlen(path) >= SUP_CONFIG_PATH_MAX) {
        sup_fail(ps, "-c: path longer than %d characters", SUP_CONFIG_PATH_MAX - 1);
        return -1;
    }
    snprintf(ps->cfg->config_file, sizeof ps->cfg->config_file, "%s", path);
    ps->file = ps->cfg->config_file;
    ps->f = fopen(path, "r");
    if (ps->f == NULL) {
        sup_fail(ps, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int rc = ini_parse_stream(sup_ini_reader, ps, sup_ini_handler, ps);
    int read_error = ferror(ps->f);
    fclose(ps->f);
    ps->f = NULL;
    if (read_error) {
        sup_fail(ps, "%s: read error", path);
        return -1;
    }
    if (rc > 0 && ps->failed && rc < ps->err_line)
        ps->failed = false; /* an earlier line inih itself could not parse wins */
    if (rc > 0 && !ps->failed)
        sup_fail(ps, "%s:%d: syntax error: expected [section], key = value or a comment", path, rc);
    else if (rc < 0)
        sup_fail(ps, "%s: cannot parse (out of memory)", path);
    return ps->failed ? -1 : 0;
}

/* The origin set later wins the blame in a message about two keys. */
static int sup_later(const sup_parse *ps, int a, int b)
{
    int la = ps->origin[a].line, lb = ps->origin[b].line;
    if (la < 0)
        return a;
    if (lb < 0)
        return b;
    return la >= lb ? a : b;
}

/* Fails with "<where of the later key>: LEFT (x) must be at most RIGHT (y)". */
static void sup_order(sup_parse *ps, int lo, uint64_t lo_v, int hi, uint64_t hi_v, const char *unit)
{
    char where[SUP_CONFIG_PATH_MAX + 64];
    sup_where(where, sizeof where, ps, sup_later(ps, lo, hi));
    sup_fail(ps, "%s: [%s] %s (%llu%s) must be at most [%s] %s (%llu%s)", where,
             sup_keys[lo].section, sup_keys[lo].name, (unsigned long long)lo_v, unit,
             sup_keys[hi].section, sup_keys[hi].name, (unsigned long long)hi_v, unit);
}

static int sup_resolve(sup_parse *ps)
{
    sup_config *c = ps->cfg;
    bool count_set = ps->origin[K_COUNT].line != 0;
    bool max_set = ps->origin[K_MAX].line != 0;
    if (!max_set) {
        uint32_t m = c->workers * 2 < 8 ? 8 : c->workers * 2;
        c->workers_max = m > SUP_CONFIG_MAX_WORKERS ? SUP_CONFIG_MAX_WORKERS : m;
        if (c->workers_max < c->workers_min)
            c->workers_max = c->workers_min;
    }
    if (!count_set) {
        if (c->workers < c->workers_min)
            c->workers = c->workers_min;
        if (c->workers > c->workers_max)
            c->workers = c->workers_max;
    }
    if (c->workers_min > c->workers_max)
        sup_order(ps, K_MIN, c->workers_min, K_MAX, c->workers_max, "");
    else if (c->workers_min > c->workers)
        sup_order(ps, K_MIN, c->workers_min, K_COUNT, c->workers, "");
    else if (c->workers > c->workers_max)
        sup_order(ps, K_COUNT, c->workers, K_MAX, c->workers_max, "");
    else if (c->restart.base_delay_ms > c->restart.max_delay_ms)
        sup_order(ps, K_BASE, c->restart.base_delay_ms, K_MAX_DELAY, c->restart.max_delay_ms,
                  " ms");
    else if (c->report_interval_ms >= c->hang_timeout_ms) {
        char where[SUP_CONFIG_PATH_MAX + 64];
        sup_where(where, sizeof where, ps, sup_later(ps, K_REPORT, K_HANG));
        sup_fail(ps,
                 "%s: [workers] report_interval (%u ms) must be less than [workers] "
                 "hang_timeout (%u ms)",
                 where, c->report_interval_ms, c->hang_timeout_ms);
    } else if (c->breaker.base_open_ms > c->breaker.max_open_ms) {
        sup_order(ps, K_BR_OPEN, c->breaker.base_open_ms, K_BR_MAX_OPEN, c->breaker.max_open_ms,
                  " ms");
    }
    char awhy[2 * SUP_CONFIG_PATH_MAX];
    if (!ps->failed && sup_auth_check(c, awhy, sizeof awhy) != 0)
        sup_fail(ps, "%s", awhy);
    if (!ps->failed && sup_natscfg_check(c, awhy, sizeof awhy) != 0)
        sup_fail(ps, "%s: %s", ps->file, awhy);
    if (!ps->failed && c->tls.nlisten > 0 && (c->tls.cert[0] == '\0' || c->tls.key[0] == '\0'))
        sup_fail(ps, "%s: [tls] listen needs [tls] cert and key", ps->file ? ps->file : "wsfleetd");
    if (!ps->failed && sup_admcfg_check(&c->admin, awhy, sizeof awhy) != 0)
        sup_fail(ps, "%s: %s", ps->file ? ps->file : "wsfleetd", awhy);
    if (!ps->failed && c->nlisten + c->tls.nlisten > SUP_CONFIG_MAX_LISTEN)
        sup_fail(ps, "%s: more than %d listen addresses in [fleet] and [tls]",
                 ps->file ? ps->file : "wsfleetd", SUP_CONFIG_MAX_LISTEN);
    /* The scaler works within the fleet's bounds and with busyness as a fraction. */
    c->scaler.target_busy = c->target_busy_pct / 100.0;
    c->scaler.min_workers = c->workers_min;
    c->scaler.max_workers = c->workers_max;
    return ps->failed ? -1 : 0;
}

enum {
    SUP_OPT_LISTEN = 256,
    SUP_OPT_WORKERS,
    SUP_OPT_RUN_DIR,
    SUP_OPT_ADMIN,
    SUP_OPT_FOREGROUND,
    SUP_OPT_HELP,
    SUP_OPT_VERSION,
};

static const struct option sup_options[] = {
    {"config", required_argument, NULL, 'c'},
    {"listen", required_argument, NULL, SUP_OPT_LISTEN},
    {"workers", required_argument, NULL, SUP_OPT_WORKERS},
    {"run-dir", required_argument, NULL, SUP_OPT_RUN_DIR},
    {"admin-listen", required_argument, NULL, SUP_OPT_ADMIN},
    {"foreground", no_argument, NULL, SUP_OPT_FOREGROUND},
    {"help", no_argument, NULL, SUP_OPT_HELP},
    {"version", no_argument, NULL, SUP_OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* "+": stop at the first non-option instead of permuting the caller's argv; ":": report a
 * missing value apart from an unknown option. */
static const char sup_optstring[] = "+:c:";

/* Applies one flag in the second pass. */
static void sup_flag(sup_parse *ps, int opt, const char *value)
{
    char why[256];
    int key = opt == SUP_OPT_LISTEN ? K_LISTEN : opt == SUP_OPT_WORKERS ? K_COUNT : K_RUN_DIR;
    const char *flag = opt == SUP_OPT_LISTEN    ? "--listen"
                       : opt == SUP_OPT_WORKERS ? "--workers"
                                                : "--run-dir";
    bool first = key == K_LISTEN && !ps->listen_from_flag;
    if (sup_set(ps->cfg, key, value, first, why, sizeof why) != 0) {
        sup_fail(ps, "%s: %s", flag, why);
        return;
    }
    if (key == K_LISTEN)
        ps->listen_from_flag = true;
    ps->origin[key] = (sup_origin){.line = -1, .flag = flag};
}

/* --admin-listen HOST:PORT|off replaces [admin] listen. */
static void sup_admin_flag(sup_parse *ps, const char *value)
{
    char why[256];
    if (sup_admcfg_set(&ps->cfg->admin, "listen", value, why, sizeof why) != 0)
        sup_fail(ps, "--admin-listen: %s", why);
}

/* The effective channel settings, once the file is read. */
static int sup_channels_resolve(sup_parse *ps)
{
    sup_config *c = ps->cfg;
    if (sup_chcfg_render(c->channels_ini, sizeof c->channels_ini, &ps->chconf,
                         &c->channels_max_history, &c->channels_max_ttl_s) < 0 ||
        sup_bkcfg_append(c->channels_ini, sizeof c->channels_ini, &ps->chconf.backend) != 0) {
        sup_fail(ps, "%s: [channels] and [namespace] sections take more than %d bytes", ps->file,
                 SUP_CHANNELS_INI_MAX - 1);
        return -1;
    }
    return 0;
}

static int sup_config_parse_in(sup_parse *ps, int argc, char **argv);

int sup_config_parse(sup_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    sup_parse ps = {.cfg = cfg, .err = err, .errlen = errlen, .file = ""};
    wsf_chconf_init(&ps.chconf);
    int rc = sup_config_parse_in(&ps, argc, argv);
    if (rc == SUP_CONFIG_RUN && sup_channels_resolve(&ps) != 0)
        rc = SUP_CONFIG_ERROR;
    wsf_chconf_fini(&ps.chconf);
    return rc;
}

static int sup_config_parse_in(sup_parse *ps, int argc, char **argv)
{
    sup_config *cfg = ps->cfg;
    char *err = ps->err;
    size_t errlen = ps->errlen;
    const char *file = NULL;
    int opt;
    if (errlen > 0)
        err[0] = '\0';

    /* First pass: -c, --help, --version, and any malformed argument. */
    opterr = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, sup_optstring, sup_options, NULL)) != -1) {
        if (opt == SUP_OPT_HELP)
            return SUP_CONFIG_HELP;
        if (opt == SUP_OPT_VERSION)
            return SUP_CONFIG_VERSION;
        if (opt == 'c')
            file = optarg;
        else if (opt == ':')
            sup_fail(ps, "%s: needs a value", argv[optind - 1]);
        else if (opt == '?' && optopt >= SUP_OPT_LISTEN)
            sup_fail(ps, "%s: takes no value", argv[optind - 1]);
        else if (opt == '?' && optopt != 0)
            sup_fail(ps, "-%c: unknown option (see --help)", optopt);
        else if (opt == '?')
            sup_fail(ps, "%s: unknown option (see --help)", argv[optind - 1]);
    }
    if (!ps->failed && optind < argc)
        sup_fail(ps, "%s: unexpected argument (see --help)", argv[optind]);
    if (ps->failed)
        return SUP_CONFIG_ERROR;

    if (file != NULL && sup_load_file(ps, file) != 0)
        return SUP_CONFIG_ERROR;

    /* Second pass: the flags override the file. */
    optind = 0;
    while ((opt = getopt_long(argc, argv, sup_optstring, sup_options, NULL)) != -1) {
        if (opt == SUP_OPT_FOREGROUND)
            cfg->foreground = true;
        else if (opt == SUP_OPT_LISTEN || opt == SUP_OPT_WORKERS || opt == SUP_OPT_RUN_DIR)
            sup_flag(ps, opt, optarg);
        else if (opt == SUP_OPT_ADMIN)
            sup_admin_flag(ps, optarg);
    }
    if (ps->failed)
        return SUP_CONFIG_ERROR;
    return sup_resolve(ps) == 0 ? SUP_CONFIG_RUN : SUP_CONFIG_ERROR;
}

/* The [worker] keys, in the order their flags are passed to wsworker. */
static const struct sup_worker_flag {
    int key;
    const char *flag;
} sup_worker_flags[] = {
    {K_MAX_MESSAGE, "--max-message"},
    {K_MAX_BACKLOG, "--max-backlog"},
    {K_MAX_CONNECTIONS, "--max-connections"},
    {K_HANDSHAKE, "--handshake-timeout"},
    {K_PING, "--ping-interval"},
    {K_IDLE, "--idle-timeout"},
    {K_CLOSE, "--close-timeout"},
    {K_DEFLATE, "--deflate"},
    {K_DEFLATE_CT, "--deflate-context-takeover"},
    {K_DEFLATE_MIN, "--deflate-min-size"},
    {K_MSG_RATE, "--msg-rate"},
    {K_MSG_BURST, "--msg-burst"},
    {K_CONNS_PER_IP, "--max-conns-per-ip"},
};

/* The [worker] flags, --origins, --server-header, --drills-max-memory and five of [tls]. */
_Static_assert(sizeof sup_worker_flags / sizeof sup_worker_flags[0] + 8 <= SUP_WORKER_FLAGS_MAX,
               "sup_worker_args holds SUP_WORKER_FLAGS_MAX flags: raise it");

/* Appends "flag value"; value in milliseconds is written as seconds when ms. */
static void sup_add_arg(sup_worker_args *out, const char *flag, uint64_t value, bool ms)
{
    char *v = out->vals[out->argc / 2];
    if (ms)
        snprintf(v, sizeof out->vals[0], "%llu.%03u", (unsigned long long)(value / 1000),
                 (unsigned)(value % 1000));
    else
        snprintf(v, sizeof out->vals[0], "%llu", (unsigned long long)value);
    out->argv[out->argc++] = (char *)flag;
    out->argv[out->argc++] = v;
}

size_t sup_config_worker_args(sup_worker_args *out, const sup_config *cfg)
{
    const char *base = (const char *)cfg;
    out->argc = 0;
    for (size_t i = 0; i < sizeof sup_worker_flags / sizeof sup_worker_flags[0]; i++) {
        const sup_key *k = &sup_keys[sup_worker_flags[i].key];
        uint64_t n;
        uint32_t n32;
        if (k->type == SUP_T_U64) {
            memcpy(&n, base + k->off, sizeof n);
        } else {
            memcpy(&n32, base + k->off, sizeof n32);
            n = n32;
        }
        if (n == 0)
            continue; /* not set (or off): wsworker's own default */
        if (k->type == SUP_T_BOOL) {
            out->argv[out->argc++] = (char *)sup_worker_flags[i].flag;
            out->argv[out->argc++] = "on";
            continue;
        }
        if (k->type == SUP_T_U32Z)
            n--;
        sup_add_arg(out, sup_worker_flags[i].flag, n, k->type == SUP_T_MS32);
    }
    /* The strings are copied: argv must not point into a configuration a reload replaces. */
    if (cfg->worker.origins[0] != '\0') {
        snprintf(out->origins, sizeof out->origins, "%s", cfg->worker.origins);
        out->argv[out->argc++] = "--origins";
        out->argv[out->argc++] = out->origins;
    }
    if (cfg->worker.server_header[0] != '\0') {
        snprintf(out->server_header, sizeof out->server_header, "%s", cfg->worker.server_header);
        out->argv[out->argc++] = "--server-header";
        out->argv[out->argc++] = out->server_header;
    }
    static const char *const tls_flags[5] = {"--cert", "--key", "--ciphers", "--tls-protocols",
                                             "--ticket-keys"};
    const char *tls_vals[5] = {cfg->tls.cert, cfg->tls.key, cfg->tls.ciphers, cfg->tls.protocols,
                               cfg->tls.tickets};
    for (size_t i = 0; i < 5 && cfg->tls.nlisten > 0; i++) {
        if (tls_vals[i][0] == '\0')
            continue;
        snprintf(out->tls[i], sizeof out->tls[i], "%s", tls_vals[i]);
        out->argv[out->argc++] = (char *)tls_flags[i];
        out->argv[out->argc++] = out->tls[i];
    }
    /* Without it the worker refuses every fault, whoever sends it. */
    if (cfg->drills_enabled)
        sup_add_arg(out, "--drills-max-memory", cfg->drills_max_memory, false);
    sup_auth_worker_args(out->argv, &out->argc, cfg);
    out->argv[out->argc] = NULL;
    return out->argc;
}

const char *sup_config_listen_at(const sup_config *cfg, size_t i)
{
    return i < cfg->nlisten ? cfg->listen[i] : cfg->tls.listen[i - cfg->nlisten];
}
