/* The [alerts] keys: rule switches, thresholds, durations and webhook URLs. */
#include "sup_alcfg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_parse.h"

#define SUP_ALCFG_MS_MAX UINT64_C(86400000) /* durations: up to a day */
#define SUP_ALCFG_P99_MAX_US 16384          /* the histograms' last bound */
#define SUP_ALCFG_DEFAULT_PATH "/api/v2/alerts"

static const struct {
    const char *key;
    const char *alertname;
    uint64_t for_ms;
} sup_alert_rules[SUP_ALERT_NRULES] = {
    [SUP_ALERT_SLOT_FAILED] = {"slot_failed", "WsfleetSlotFailed", 0},
    [SUP_ALERT_FLEET_DEGRADED] = {"fleet_degraded", "WsfleetFleetDegraded", 30000},
    [SUP_ALERT_BREAKER_OPEN] = {"breaker_open", "WsfleetBreakerOpen", 60000},
    [SUP_ALERT_ERROR_RATE] = {"error_rate", "WsfleetErrorRate", 60000},
    [SUP_ALERT_P99_LATENCY] = {"p99_latency", "WsfleetP99Latency", 60000},
    [SUP_ALERT_SIDECAR_DOWN] = {"sidecar_down", "WsfleetSidecarDown", 30000},
};

const char *sup_alert_rule_key(enum sup_alert_rule r)
{
    return (unsigned)r < SUP_ALERT_NRULES ? sup_alert_rules[r].key : "?";
}

const char *sup_alert_rule_alertname(enum sup_alert_rule r)
{
    return (unsigned)r < SUP_ALERT_NRULES ? sup_alert_rules[r].alertname : "?";
}

void sup_alcfg_init(sup_alerts_cfg *c)
{
    memset(c, 0, sizeof *c);
    for (int r = 0; r < SUP_ALERT_NRULES; r++)
        c->rule[r] = (sup_alert_rule_cfg){.enabled = true, .for_ms = sup_alert_rules[r].for_ms};
    c->error_rate_above = 10.0;
    c->p99_above_us = 10000;
    c->resend_ms = 60000;
    c->timeout_ms = 5000;
    c->queue = 64;
}

static bool sup_alcfg_is_bad_char(unsigned char ch)
{
    return ch <= ' ' || ch == 0x7f;
}

/* A host name or IPv4 address: letters, digits, '-', '.', '_'; an IPv6 address (v6): hex
 * digits, ':' and '.'. */
static bool sup_alcfg_host_ok(const char *h, size_t len, bool v6)
{
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        bool name = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
        if (v6 ? !(hex || c == ':' || c == '.') : !name)
            return false;
    }
    return true;
}

int sup_alcfg_parse_url(sup_alert_url *out, const char *url, char *why, size_t whylen)
{
    sup_alert_url u = {.port = 80};
    size_t len = strlen(url);
    if (len >= SUP_ALERTS_URL_MAX) {
        snprintf(why, whylen, "longer than %d characters", SUP_ALERTS_URL_MAX - 1);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (sup_alcfg_is_bad_char((unsigned char)url[i])) {
            snprintf(why, whylen, "'%s': spaces and control characters are not allowed", url);
            return -1;
        }
    }
    const char *h;
    if (strncmp(url, "http://", 7) == 0) {
        h = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        h = url + 8;
        u.tls = true;
        u.port = 443;
    } else {
        snprintf(why, whylen, "'%s' is not an http:// or https:// URL", url);
        return -1;
    }
    const char *path = h + strcspn(h, "/");
    if (strpbrk(url, "?#") != NULL || memchr(h, '@', (size_t)(path - h)) != NULL) {
        snprintf(why, whylen, "'%s': no user, query or fragment allowed", url);
        return -1;
    }
    const char *hend, *port = NULL;
    if (*h == '[') {
        hend = memchr(h, ']', (size_t)(path - h));
        if (hend == NULL || hend == h + 1) {
            snprintf(why, whylen, "'%s': bad [IPv6] host", url);
            return -1;
        }
        if (hend + 1 < path && hend[1] != ':') {
            snprintf(why, whylen, "'%s': bad [IPv6] host", url);
            return -1;
        }
        port = hend + 1 < path ? hend + 2 : NULL;
        h++;
    } else {
        const char *colon = memchr(h, ':', (size_t)(path - h));
        hend = colon ? colon : path;
        port = colon ? colon + 1 : NULL;
    }
    if (hend == h) {
        snprintf(why, whylen, "'%s': no host", url);
        return -1;
    }
    if (!sup_alcfg_host_ok(h, (size_t)(hend - h), h[-1] == '[')) {
        snprintf(why, whylen, "'%s': bad host", url);
        return -1;
    }
    memcpy(u.host, h, (size_t)(hend - h));
    u.host[hend - h] = '\0';
    if (port != NULL) {
        char digits[8];
        size_t plen = (size_t)(path - port);
        uint64_t v;
        if (plen == 0 || plen >= sizeof digits) {
            snprintf(why, whylen, "'%s': bad port", url);
            return -1;
        }
        memcpy(digits, port, plen);
        digits[plen] = '\0';
        if (wsf_parse_u64(&v, digits, 1, 65535) != 0) {
            snprintf(why, whylen, "'%s': bad port", url);
            return -1;
        }
        u.port = (uint16_t)v;
    }
    snprintf(u.path, sizeof u.path, "%s",
             path[0] == '\0' || strcmp(path, "/") == 0 ? SUP_ALCFG_DEFAULT_PATH : path);
    *out = u;
    return 0;
}

/* A non-negative decimal number (errors per second). */
static int sup_alcfg_rate(double *out, const char *s, char *why, size_t whylen)
{
    char *end;
    double v = strtod(s, &end);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || !isfinite(v) || v > 1e9) {
        snprintf(why, whylen, "'%s' is not a number of errors per second (0..1e9)", s);
        return -1;
    }
    *out = v;
    return 0;
}

static int sup_alcfg_bool(bool *out, const char *s, char *why, size_t whylen)
{
    int v = wsf_parse_bool(s);
    if (v < 0) {
        snprintf(why, whylen, "'%s' is not yes or no", s);
        return -1;
    }
    *out = v == 1;
    return 0;
}

static int sup_alcfg_ms(uint64_t *out, const char *s, uint64_t min, char *why, size_t whylen)
{
    int rc = wsf_parse_ms_in(out, s, min, SUP_ALCFG_MS_MAX);
    if (rc == WSF_PARSE_EFORM)
        snprintf(why, whylen, "'%s' is not a duration in seconds", s);
    else if (rc != 0)
        snprintf(why, whylen, "%s is out of range %g..%g seconds", s, (double)min / 1000.0,
                 (double)SUP_ALCFG_MS_MAX / 1000.0);
    return rc == 0 ? 0 : -1;
}

/* RULE or RULE_for: the rule, and whether the key is its duration. */
static int sup_alcfg_rule_key(const char *name, bool *is_for)
{
    for (int r = 0; r < SUP_ALERT_NRULES; r++) {
        size_t n = strlen(sup_alert_rules[r].key);
        if (strncmp(name, sup_alert_rules[r].key, n) != 0)
            continue;
        if (name[n] == '\0' || strcmp(name + n, "_for") == 0) {
            *is_for = name[n] != '\0';
            return r;
        }
    }
    return -1;
}

int sup_alcfg_set(sup_alerts_cfg *c, const char *name, const char *value, char *why, size_t whylen)
{
    bool is_for = false;
    uint64_t v;
    int r = sup_alcfg_rule_key(name, &is_for);
    if (r >= 0 && is_for)
        return sup_alcfg_ms(&c->rule[r].for_ms, value, 0, why, whylen);
    if (r >= 0)
        return sup_alcfg_bool(&c->rule[r].enabled, value, why, whylen);
    if (strcmp(name, "error_rate_above") == 0)
        return sup_alcfg_rate(&c->error_rate_above, value, why, whylen);
    if (strcmp(name, "p99_latency_above") == 0) {
        /* Milliseconds with a fraction: the seconds parser's scale, read as µs. */
        if (wsf_parse_ms_in(&v, value, 1, SUP_ALCFG_P99_MAX_US) != 0) {
            snprintf(why, whylen, "'%s' is not milliseconds in 0.001..16.384", value);
            return -1;
        }
        c->p99_above_us = (uint32_t)v;
        return 0;
    }
    if (strcmp(name, "resend_interval") == 0)
        return sup_alcfg_ms(&c->resend_ms, value, 1000, why, whylen);
    if (strcmp(name, "webhook_timeout") == 0)
        return sup_alcfg_ms(&c->timeout_ms, value, 100, why, whylen);
    if (strcmp(name, "webhook_queue") == 0) {
        if (wsf_parse_u64(&v, value, 1, 4096) != 0) {
            snprintf(why, whylen, "'%s' is not a whole number in 1..4096", value);
            return -1;
        }
        c->queue = (uint32_t)v;
        return 0;
    }
    if (strcmp(name, "fleet") == 0) {
        size_t len = strlen(value);
        if (len == 0 || len >= SUP_ALERTS_LABEL_MAX) {
            snprintf(why, whylen, "must be 1..%d characters", SUP_ALERTS_LABEL_MAX - 1);
            return -1;
        }
        for (size_t i = 0; i < len; i++) {
            if (sup_alcfg_is_bad_char((unsigned char)value[i]) || value[i] == '"' ||
                value[i] == '\\') {
                snprintf(why, whylen,
                         "'%s': spaces, quotes and control characters are not "
                         "allowed",
                         value);
                return -1;
            }
        }
        memcpy(c->fleet, value, len + 1);
        return 0;
    }
    if (strcmp(name, "webhook") == 0) {
        sup_alert_url u;
        if (sup_alcfg_parse_url(&u, value, why, whylen) != 0)
            return -1;
        if (c->nwebhooks == SUP_ALERTS_MAX_WEBHOOKS) {
            snprintf(why, whylen, "more than %d webhooks", SUP_ALERTS_MAX_WEBHOOKS);
            return -1;
        }
        snprintf(c->webhook[c->nwebhooks++], SUP_ALERTS_URL_MAX, "%s", value);
        return 0;
    }
    if (strcmp(name, "webhook_ca") == 0) {
        size_t len = strlen(value);
        if (len == 0 || len >= SUP_ALERTS_PATH_MAX) {
            snprintf(why, whylen, "must be a file name of 1..%d characters",
                     SUP_ALERTS_PATH_MAX - 1);
            return -1;
        }
        for (size_t i = 0; i < len; i++) {
            if ((unsigned char)value[i] < ' ' || value[i] == 0x7f) {
                snprintf(why, whylen, "control characters are not allowed");
                return -1;
            }
        }
        memcpy(c->webhook_ca, value, len + 1);
        return 0;
    }
    snprintf(why, whylen, "unknown key");
    return -1;
}

int sup_alcfg_check(const sup_alerts_cfg *c, char *why, size_t whylen)
{
    if (c->webhook_ca[0] == '\0')
        return 0;
    for (size_t i = 0; i < c->nwebhooks; i++) {
        if (strncmp(c->webhook[i], "https://", 8) == 0)
            return 0;
    }
    snprintf(why, whylen, "[alerts] webhook_ca is set but no [alerts] webhook is an https:// URL");
    return -1;
}
