/* Application backend settings: the `[backend]` INI section (wsfleetd's file, and the copy the
 * workers read in channels.ini). Pure: the loaders hand each (key, value) to wsf_bkconf_set.
 *
 * Keys:
 *   connect           ask wsf.app.connect for every /channels connect: yes|no (no); a backend that
 *                     decides connects also hears wsf.app.disconnect for each of them
 *   rpc               send rpc commands to wsf.app.rpc: yes|no (no: rpc answers 104, method not
 *                     found, at once)
 *   timeout           seconds a backend has to answer one request, 0.01..60 (1)
 *   headers           request headers sent in wsf.app.connect besides user-agent and origin: a
 *                     comma list of names (case-insensitive), at most WSF_BKCONF_MAX_HEADERS
 *   max_pending       backend requests in flight per connection, 1..64 (16); one more is answered
 *                     error 106
 *   max_pending_worker  backend requests in flight per worker, 1..1000000 (10000); one more is
 *                     answered 108 (a connect closed 1013)
 *   breaker_failures  failures (error replies do not count; timeouts, no responders and malformed
 *                     replies do) within breaker_window that open the backend breaker,
 *                     1..1000000 (20)
 *   breaker_window    seconds, 0.1..3600 (10)
 *   open_time         seconds the breaker stays open (requests fail at once: rpc 108, connect
 *                     1013) before one probe request is let through, 0.1..3600 (1) */
#ifndef WSF_BKCONF_H
#define WSF_BKCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSF_BKCONF_MAX_HEADERS 16
#define WSF_BKCONF_MAX_HEADER 64 /* bytes of one header name */

typedef struct wsf_bkconf {
    bool connect;
    bool rpc;
    uint32_t timeout_ms;
    uint32_t max_pending;
    uint32_t max_pending_worker;
    uint32_t breaker_failures;
    uint32_t breaker_window_ms;
    uint32_t open_time_ms;
    char headers[WSF_BKCONF_MAX_HEADERS][WSF_BKCONF_MAX_HEADER + 1]; /* lower case */
    size_t nheaders;
} wsf_bkconf;

/* The defaults above. */
void wsf_bkconf_init(wsf_bkconf *c);

/* Sets key = value. Returns NULL, or a static message saying what is wrong ("unknown key", "must
 * be yes or no", ...) for the loader to prefix with the file, line and key. A refused value
 * leaves c unchanged. */
const char *wsf_bkconf_set(wsf_bkconf *c, const char *key, const char *value);

/* Writes c as a "[backend]" section with every key, NUL-terminated, into out. Returns the length,
 * or -ENOSPC when out is too small. */
int wsf_bkconf_render(char *out, size_t size, const wsf_bkconf *c);

/* Whether header name (any case) is one wsf.app.connect carries. */
bool wsf_bkconf_has_header(const wsf_bkconf *c, const char *name, size_t len);

#endif
