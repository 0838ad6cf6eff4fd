/* libFuzzer target for the [alerts] values from the INI file: the webhook URL parser and the
 * other keys' values. Invariants: an accepted URL has a host, a port and a path beginning with
 * '/', none with spaces or control characters; written back as http[s]://HOST:PORT/PATH it
 * parses to the same parts and scheme; sup_alcfg_set never fails without a reason, and leaves at
 * most SUP_ALERTS_MAX_WEBHOOKS webhooks; sup_alcfg_check refuses, with a reason, exactly a
 * webhook_ca without an https webhook. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup_alcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *input)
{
    fprintf(stderr, "fuzz_sup_alcfg: %s (input '%s')\n", what, input);
    abort();
}

static void check_url(const char *s)
{
    sup_alert_url u, again;
    char why[256], back[3 * SUP_ALERTS_URL_MAX];
    why[0] = '\0';
    if (sup_alcfg_parse_url(&u, s, why, sizeof why) != 0) {
        if (why[0] == '\0')
            fail("refused without a reason", s);
        return;
    }
    if (u.host[0] == '\0' || u.port == 0 || u.path[0] != '/')
        fail("accepted URL without a host, port or path", s);
    for (const char *p = u.host; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == '/' || *p == '@')
            fail("bad character in the host", s);
    }
    bool v6 = strchr(u.host, ':') != NULL;
    snprintf(back, sizeof back, "%s://%s%s%s:%u%s", u.tls ? "https" : "http", v6 ? "[" : "", u.host,
             v6 ? "]" : "", (unsigned)u.port, u.path);
    if (strlen(back) >= SUP_ALERTS_URL_MAX)
        return; /* the explicit port made it too long */
    if (sup_alcfg_parse_url(&again, back, why, sizeof why) != 0)
        fail("the URL written back does not parse", s);
    if (strcmp(again.host, u.host) != 0 || again.port != u.port ||
        strcmp(again.path, u.path) != 0 || again.tls != u.tls)
        fail("the URL written back parses differently", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_url(s);

    /* "key=value" through the key table. */
    char *eq = strchr(s, '=');
    if (eq != NULL) {
        *eq = '\0';
        sup_alerts_cfg c;
        char why[256];
        sup_alcfg_init(&c);
        for (int i = 0; i < 10; i++) {
            why[0] = '\0';
            if (sup_alcfg_set(&c, s, eq + 1, why, sizeof why) != 0 && why[0] == '\0')
                fail("a key refused without a reason", s);
        }
        if (c.nwebhooks > SUP_ALERTS_MAX_WEBHOOKS || c.queue == 0 || c.resend_ms < 1000)
            fail("settings out of their bounds", s);
        bool https = false;
        for (size_t i = 0; i < c.nwebhooks; i++)
            https = https || strncmp(c.webhook[i], "https://", 8) == 0;
        why[0] = '\0';
        int rc = sup_alcfg_check(&c, why, sizeof why);
        if ((rc != 0) != (c.webhook_ca[0] != '\0' && !https) || (rc != 0 && why[0] == '\0'))
            fail("sup_alcfg_check disagrees", s);
    }
    free(s);
    return 0;
}
