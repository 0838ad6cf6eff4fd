/* The Origin allowlist ([worker] origins, --origins): which browser origins may open a
 * WebSocket. Pure: the list is a string, matched without allocating.
 *
 * The list is separated by commas and/or spaces. An entry is
 *   scheme://host[:port]   exactly that origin (https://app.example.com);
 *   a host "*.domain"      after the scheme: any subdomain of domain, at any depth, with that
 *                          scheme (not the domain itself: list it too if it is wanted);
 *   host[:port], *.domain  without a scheme: the same for both http and https.
 * Schemes and hosts compare case-insensitively; a port in an entry must be the origin's port,
 * and an entry without a port matches only an origin without one (the scheme's default).
 * An empty list allows every origin. A request without an Origin header is allowed: only
 * browsers send it, and the allowlist is what stops other sites' pages from connecting. */
#ifndef WSF_ORIGIN_H
#define WSF_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

/* Checks a list's syntax. Returns 0, or -EINVAL (an entry without a host, a '*' anywhere but a
 * leading "*.", a path, a scheme other than http/https/ws/wss, a bad port). */
int wsf_origin_list_check(const char *list);

/* True if origin (origin_len bytes, as sent in the Origin header) is allowed by list (checked
 * with wsf_origin_list_check). NULL or empty list: true. */
bool wsf_origin_allowed(const char *list, const char *origin, size_t origin_len);

#endif
