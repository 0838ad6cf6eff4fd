/* Value parsing shared by wsworker, wsfleetd, wsctl and the load generator. */
#include "wsf_parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int wsf_parse_u64(uint64_t *out, const char *s, uint64_t min, uint64_t max)
{
    char *end;
    if (*s < '0' || *s > '9')
        return WSF_PARSE_EFORM; /* strtoull would take a sign or leading spaces */
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0')
        return WSF_PARSE_EFORM;
    if (errno != 0 || v < min || v > max)
        return WSF_PARSE_ERANGE;
    *out = v;
    return 0;
}

int wsf_parse_ms_in(uint64_t *out, const char *s, uint64_t min_ms, uint64_t max_ms)
{
    char *end;
    if ((*s < '0' || *s > '9') && *s != '.')
        return WSF_PARSE_EFORM; /* no sign, spaces, "inf" or "nan" */
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v))
        return WSF_PARSE_EFORM;
    double ms = v * 1000.0 + 0.5;
    if (errno != 0 || ms < (double)min_ms || ms >= (double)max_ms + 1.0)
        return WSF_PARSE_ERANGE;
    *out = (uint64_t)ms;
    return 0;
}

int wsf_parse_ms(uint32_t *out, const char *s)
{
    uint64_t ms;
    int rc = wsf_parse_ms_in(&ms, s, 1, 86400000);
    if (rc == 0)
        *out = (uint32_t)ms;
    return rc;
}

int wsf_addr_split(char *host, size_t host_cap, char *port, size_t port_cap, const char *spec)
{
    const char *h = spec, *colon;
    size_t hlen;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':')
            return WSF_PARSE_EFORM;
        h = spec + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)) != NULL)
            return WSF_PARSE_EFORM;
        hlen = (size_t)(colon - spec);
    }
    if (hlen == 0 || hlen >= host_cap)
        return WSF_PARSE_EFORM;
    size_t plen = strlen(colon + 1);
    uint64_t value;
    if (wsf_parse_u64(&value, colon + 1, 0, 65535) != 0)
        return WSF_PARSE_EPORT; /* getaddrinfo would silently truncate a larger port to 16 bits */
    if (plen >= port_cap)
        return WSF_PARSE_EFORM;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, colon + 1, plen + 1);
    return 0;
}

int wsf_parse_bool(const char *s)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return WSF_PARSE_EFORM;
}
