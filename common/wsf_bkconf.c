/* The [backend] section: INI keys in, settings out. */
#include "wsf_bkconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wsf_parse.h"

void wsf_bkconf_init(wsf_bkconf *c)
{
    memset(c, 0, sizeof *c);
    c->connect = false;
    c->timeout_ms = 1000;
    c->max_pending = 16;
    c->max_pending_worker = 10000;
    c->breaker_failures = 20;
    c->breaker_window_ms = 10000;
    c->open_time_ms = 1000;
}

static int wsf_bkconf_bool(const char *value)
{
    int v = wsf_parse_bool(value);
    return v < 0 ? -1 : v;
}

static bool wsf_bkconf_token_char(char ch)
{
    /* RFC 9110 tchar */
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static const char *wsf_bkconf_headers(wsf_bkconf *c, const char *value)
{
    wsf_bkconf tmp = *c;
    tmp.nheaders = 0;
    const char *p = value;
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t n = 0;
        while (p[n] != '\0' && p[n] != ',' && p[n] != ' ') {
            if (!wsf_bkconf_token_char(p[n]))
                return "header names are letters, digits and !#$%&'*+-.^_`|~";
            n++;
        }
        if (n > WSF_BKCONF_MAX_HEADER)
            return "a header name is longer than 64 bytes";
        if (tmp.nheaders == WSF_BKCONF_MAX_HEADERS)
            return "more than 16 headers";
        char *dst = tmp.headers[tmp.nheaders++];
        for (size_t i = 0; i < n; i++)
            dst[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] - 'A' + 'a' : p[i]);
        dst[n] = '\0';
        p += n;
        while (*p == ' ')
            p++;
        if (*p != '\0' && *p != ',')
            return "header names are separated by commas";
    }
    *c = tmp;
    return NULL;
}

const char *wsf_bkconf_set(wsf_bkconf *c, const char *key, const char *value)
{
    uint64_t v;
    if (strcmp(key, "connect") == 0 || strcmp(key, "rpc") == 0) {
        int b = wsf_bkconf_bool(value);
        if (b < 0)
            return "must be yes or no";
        if (key[0] == 'c')
            c->connect = b == 1;
        else
            c->rpc = b == 1;
        return NULL;
    }
    if (strcmp(key, "headers") == 0)
        return wsf_bkconf_headers(c, value);
    if (strcmp(key, "timeout") == 0) {
        if (wsf_parse_ms_in(&v, value, 10, 60000) != 0)
            return "must be seconds from 0.01 to 60";
        c->timeout_ms = (uint32_t)v;
        return NULL;
    }
    if (strcmp(key, "breaker_window") == 0 || strcmp(key, "open_time") == 0) {
        if (wsf_parse_ms_in(&v, value, 100, 3600000) != 0)
            return "must be seconds from 0.1 to 3600";
        if (key[0] == 'b')
            c->breaker_window_ms = (uint32_t)v;
        else
            c->open_time_ms = (uint32_t)v;
        return NULL;
    }
    if (strcmp(key, "max_pending") == 0) {
        if (wsf_parse_u64(&v, value, 1, 64) != 0)
            return "must be a whole number from 1 to 64";
        c->max_pending = (uint32_t)v;
        return NULL;
    }
    if (strcmp(key, "max_pending_worker") == 0 || strcmp(key, "breaker_failures") == 0) {
        if (wsf_parse_u64(&v, value, 1, 1000000) != 0)
            return "must be a whole number from 1 to 1000000";
        if (key[0] == 'm')
            c->max_pending_worker = (uint32_t)v;
        else
            c->breaker_failures = (uint32_t)v;
        return NULL;
    }
    return "unknown key";
}

int wsf_bkconf_render(char *out, size_t size, const wsf_bkconf *c)
{
    char hdrs[WSF_BKCONF_MAX_HEADERS * (WSF_BKCONF_MAX_HEADER + 1) + 1] = "";
    size_t used = 0;
    for (size_t i = 0; i < c->nheaders; i++) {
        size_t n = strlen(c->headers[i]);
        if (i > 0)
            hdrs[used++] = ',';
        memcpy(hdrs + used, c->headers[i], n);
        used += n;
    }
    hdrs[used] = '\0';
    int n = snprintf(
        out, size,
        "[backend]\nconnect = %s\nrpc = %s\ntimeout = %u.%03u\nheaders = %s\nmax_pending = %u\n"
        "max_pending_worker = %u\nbreaker_failures = %u\nbreaker_window = %u.%03u\n"
        "open_time = %u.%03u\n",
        c->connect ? "yes" : "no", c->rpc ? "yes" : "no", c->timeout_ms / 1000,
        c->timeout_ms % 1000, hdrs, c->max_pending, c->max_pending_worker, c->breaker_failures,
        c->breaker_window_ms / 1000, c->breaker_window_ms % 1000, c->open_time_ms / 1000,
        c->open_time_ms % 1000);
    if (n < 0 || (size_t)n >= size) {
        if (size > 0)
            out[0] = '\0';
        return -ENOSPC;
    }
    return n;
}

bool wsf_bkconf_has_header(const wsf_bkconf *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->nheaders; i++)
        if (strlen(c->headers[i]) == len && strncasecmp(c->headers[i], name, len) == 0)
            return true;
    return false;
}
