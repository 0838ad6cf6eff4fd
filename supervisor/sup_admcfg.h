/* wsfleetd's [admin] section: where the admin HTTP server listens, its TLS certificate and the
 * origins allowed to call it from a browser (CORS). Pure: no I/O. */
#ifndef SUP_ADMCFG_H
#define SUP_ADMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUP_ADMIN_ADDR_MAX 64  /* HOST:PORT or [V6HOST]:PORT, with its NUL */
#define SUP_ADMIN_PATH_MAX 256 /* a path or an origin list, with its NUL */
#define SUP_ADMIN_DEFAULT_LISTEN "127.0.0.1:8001"
#define SUP_ADMIN_DEFAULT_REQUEST_MS 15000
#define SUP_ADMIN_MAX_REQUEST_MS 3600000

typedef struct sup_admin_settings {
    char listen[SUP_ADMIN_ADDR_MAX];       /* listen HOST:PORT (127.0.0.1:8001); "" = off */
    char tls_cert[SUP_ADMIN_PATH_MAX];     /* tls_cert PEM; "" = plain HTTP */
    char tls_key[SUP_ADMIN_PATH_MAX];      /* tls_key PEM */
    char cors_origins[SUP_ADMIN_PATH_MAX]; /* cors_origins LIST (wsf_origin syntax); "" = none */
    uint32_t request_ms; /* request_timeout SEC (15): a request is whole this long after its
                            first byte (a new connection's, after the accept), or gets 408 */
} sup_admin_settings;

/* The defaults: listen on 127.0.0.1:8001, no TLS, no CORS, 15 s for a request. */
void sup_admcfg_init(sup_admin_settings *a);

/* Sets [admin] name = value. listen takes HOST:PORT or "off"; tls_cert and tls_key a non-empty
 * path; cors_origins a list of origins as [worker] origins takes them (may be empty);
 * request_timeout seconds (a fraction allowed) from 0.001 to 3600.
 * Returns 0; -1 with the reason in why when the value is bad; -2 when name is not an [admin] key
 * (why says so). */
int sup_admcfg_set(sup_admin_settings *a, const char *name, const char *value, char *why,
                   size_t whylen);

/* Checks the section as a whole once the file is read: tls_cert and tls_key go together, and a
 * listen address that is not loopback needs them. Returns 0, or -1 with the reason in why. */
int sup_admcfg_check(const sup_admin_settings *a, char *why, size_t whylen);

/* True if the HOST of a HOST:PORT is a loopback address (127.0.0.0/8, ::1 or localhost). */
bool sup_admcfg_is_loopback(const char *listen);

#endif
