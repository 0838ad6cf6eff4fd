/* wsfleetd's configuration: defaults, the INI file through libinih, then the flags. */
#include "sup_config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sup_auth.h"
#include "sup_bkcfg.h"
#include "sup_cfgkeys.h"
#include "sup_natscfg.h"
#include "wsf_nats.h"
#include "wsf_origin.h"
#include "wsf_parse.h"

/* Printable ASCII, space included: what a header value written verbatim may hold. */
static const char sup_printable[] = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

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
    int alerts_ca_line; /* the line of [alerts] webhook_ca, 0 if none */
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
/* [alerts] webhook_ca: a regular file that can be read and holds a PEM certificate (OpenSSL
 * loads it when the webhooks are set up). */
static int sup_check_alerts_ca(const char *file, char *why, size_t whylen)
{
    static const char pem[] = "-----BEGIN CERTIFICATE-----";
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(why, whylen, "'%s': cannot read it: %s", file, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(why, whylen, "'%s' is not a regular file", file);
        return -1;
    }
    /* A bundle of a few hundred certificates fits. */
    size_t cap = 1u << 20, len = 0;
    char *text = malloc(cap + 1);
    ssize_t n = 0;
    while (text != NULL && len < cap && (n = read(fd, text + len, cap - len)) > 0)
        len += (size_t)n;
    int err = errno;
    close(fd);
    if (text == NULL || n < 0) {
        free(text);
        snprintf(why, whylen, "'%s': cannot read it: %s", file, strerror(text ? err : ENOMEM));
        return -1;
    }
    text[len] = '\0';
    bool has = strstr(text, pem) != NULL;
    free(text);
    if (!has) {
        snprintf(why, whylen, "'%s' holds no PEM certificate (%s)", file, pem);
        return -1;
    }
    return 0;
}

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
        if (strcmp(name, "webhook_ca") == 0)
            ps->alerts_ca_line = ps->line;
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
    if (!ps->failed && sup_alcfg_check(&c->alerts, awhy, sizeof awhy) != 0)
        sup_fail(ps, "%s:%d: %s", ps->file, ps->alerts_ca_line, awhy);
    if (!ps->failed && c->alerts.webhook_ca[0] != '\0' &&
        sup_check_alerts_ca(c->alerts.webhook_ca, awhy, sizeof awhy) != 0)
        sup_fail(ps, "%s:%d: [alerts] webhook_ca: %s", ps->file, ps->alerts_ca_line, awhy);
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

const char *sup_config_listen_at(const sup_config *cfg, size_t i)
{
    return i < cfg->nlisten ? cfg->listen[i] : cfg->tls.listen[i - cfg->nlisten];
}
