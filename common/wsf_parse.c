/* Value parsing shared by wsworker, wsfleetd, wsctl and the load generator. */
#include "wsf_parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int wsf_parse_u64(uint64_t *out, const char *s, uint64_t min, uint64_t max)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1; /* strtoull would take a sign or leading spaces */
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int wsf_parse_ms(uint32_t *out, const char *s)
{
    char *end;
    if ((*s < '0' || *s > '9') && *s != '.')
        return -1; /* no sign, spaces, "inf" or "nan" */
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0.001 || v > 86400.0)
        return -1;
    *out = (uint32_t)(v * 1000.0 + 0.5);
    return 0;
}

int wsf_addr_split(char *host, size_t host_cap, char *port, size_t port_cap, const char *spec)
{
    const char *h = spec, *colon;
    size_t hlen;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = spec + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL)
            return -1;
        hlen = (size_t)(colon - spec);
    }
    size_t plen = strlen(colon + 1);
    uint64_t value;
    if (hlen == 0 || hlen >= host_cap || plen == 0 || plen >= port_cap ||
        wsf_parse_u64(&value, colon + 1, 0, 65535) != 0)
        return -1; /* getaddrinfo would silently truncate a larger port to 16 bits */
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, colon + 1, plen + 1);
    return 0;
}
