/* wsfleetd's [alerts] settings: the built-in rules' switches, thresholds and durations, and the
 * webhooks that receive the alerts in Alertmanager's API v2 format. Pure: no I/O. */
#ifndef SUP_ALCFG_H
#define SUP_ALCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUP_ALERTS_MAX_WEBHOOKS 8
#define SUP_ALERTS_URL_MAX 256  /* a webhook URL, with its NUL */
#define SUP_ALERTS_LABEL_MAX 64 /* the fleet label, with its NUL */
#define SUP_ALERTS_PATH_MAX 256 /* webhook_ca, with its NUL */

/* The built-in rules, in the order they are evaluated and listed. */
enum sup_alert_rule {
    SUP_ALERT_SLOT_FAILED,    /* a wanted slot is in state failed */
    SUP_ALERT_FLEET_DEGRADED, /* the fleet state is degraded */
    SUP_ALERT_BREAKER_OPEN,   /* a slot's breaker is not closed (open or half-open) */
    SUP_ALERT_ERROR_RATE,     /* the fleet's errors per second above a threshold */
    SUP_ALERT_P99_LATENCY,    /* the fleet's p99 event latency above a threshold */
    SUP_ALERT_SIDECAR_DOWN,   /* the nats-server sidecar is not running */
    SUP_ALERT_NRULES
};

/* One rule: it fires once its condition held for_ms without a break, and resolves as soon as the
 * condition ends. */
typedef struct sup_alert_rule_cfg {
    bool enabled;
    uint64_t for_ms;
} sup_alert_rule_cfg;

/* A parsed http:// or https:// webhook URL. */
typedef struct sup_alert_url {
    bool tls;                      /* https:// */
    char host[SUP_ALERTS_URL_MAX]; /* a name, an IPv4 address, or an IPv6 address without [] */
    uint16_t port;                 /* 80 (http) or 443 (https) when the URL names none */
    char path[SUP_ALERTS_URL_MAX]; /* begins with '/'; "/api/v2/alerts" when the URL has none */
} sup_alert_url;

typedef struct sup_alerts_cfg {
    sup_alert_rule_cfg rule[SUP_ALERT_NRULES];
    double error_rate_above;          /* error_rate_above (10): errors per second, fleet total */
    uint32_t p99_above_us;            /* p99_latency_above MS (10 ms), microseconds */
    uint64_t resend_ms;               /* resend_interval (60 s): firing alerts are POSTed again */
    uint64_t timeout_ms;              /* webhook_timeout (5 s): one POST's limit */
    uint32_t queue;                   /* webhook_queue (64): batches waiting per webhook */
    char fleet[SUP_ALERTS_LABEL_MAX]; /* fleet: the "fleet" label (empty: the host name) */
    char webhook[SUP_ALERTS_MAX_WEBHOOKS][SUP_ALERTS_URL_MAX]; /* webhook, repeatable */
    size_t nwebhooks;
    char webhook_ca[SUP_ALERTS_PATH_MAX]; /* webhook_ca FILE: PEM CAs for https (empty: none) */
} sup_alerts_cfg;

/* The defaults: every rule on; slot_failed at once, fleet_degraded 30 s, breaker_open 60 s,
 * error_rate 10/s for 60 s, p99_latency 10 ms for 60 s, sidecar_down 30 s; no webhook. */
void sup_alcfg_init(sup_alerts_cfg *c);

/* Sets one [alerts] key: RULE = yes|no, RULE_for = SEC, error_rate_above = N (errors/s, a
 * fraction allowed), p99_latency_above = MS (0.001..16.384: the workers' histograms end at
 * 16384 µs), resend_interval, webhook_timeout = SEC, webhook_queue = N, fleet = LABEL,
 * webhook = URL (repeatable), webhook_ca = FILE (its form only: the file is not read here).
 * Returns 0, or -1 with the reason in why (unknown keys too). */
int sup_alcfg_set(sup_alerts_cfg *c, const char *name, const char *value, char *why, size_t whylen);

/* The checks across keys once the section is read: webhook_ca needs an https:// webhook.
 * Returns 0, or -1 with why. */
int sup_alcfg_check(const sup_alerts_cfg *c, char *why, size_t whylen);

/* Parses "http://HOST[:PORT][/PATH]" or "https://..." (HOST may be [V6]); no userinfo, query or
 * fragment, no spaces or control characters. A URL without a path, or with "/" alone, posts to
 * /api/v2/alerts. Returns 0, or -1 with why. */
int sup_alcfg_parse_url(sup_alert_url *out, const char *url, char *why, size_t whylen);

/* The rule's name as in the INI keys and `wsctl alerts` ("slot_failed", ...), and its
 * alertname label ("WsfleetSlotFailed", ...). */
const char *sup_alert_rule_key(enum sup_alert_rule r);
const char *sup_alert_rule_alertname(enum sup_alert_rule r);

#endif
