/* What the admin HTTP server needs before it serves: its bearer token in RUNDIR/admin.token, its
 * TLS context, and its listening socket. sup_admin.c calls these at start and stop. */
#ifndef SUP_ADMIN_SETUP_H
#define SUP_ADMIN_SETUP_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "sup_admcfg.h"
#include "sup_admin_http.h"

struct sup_config;

/* Makes a token of SUP_ADMIN_TOKEN_LEN random hex characters into out (NUL-terminated) and
 * writes it with a newline to path, mode 0600, through path.new and a rename. Returns 0, or -1
 * (logged; out is then unspecified and path untouched). */
int sup_admin_token_new(char out[SUP_ADMIN_TOKEN_LEN + 1], const char *path);

/* The TLS context of [admin] tls_cert and tls_key: TLS 1.2 and up. The caller frees it. NULL
 * with the reason in err when they do not load or do not match. */
SSL_CTX *sup_admin_ssl_new(const sup_admin_settings *a, char *err, size_t errlen);

/* Loads [admin] tls_cert and tls_key once to check them (before anything starts). Returns 0, or
 * -1 with one line in err. */
int sup_admin_check(const struct sup_config *cfg, char *err, size_t errlen);

/* Binds and listens on spec (HOST:PORT), logs "admin listening on URL", and writes the
 * dashboard's URL into url ("http://127.0.0.1:8001/"; a wildcard address gives the host's name;
 * https when tls). Returns 0 with *out the non-blocking, close-on-exec socket (the caller closes
 * it); SUP_SOCKETS_TAKEN when the address is in use or not available; -1 on another error. Both
 * failures are logged. */
int sup_admin_listen_socket(int *out, char *url, size_t urlcap, const char *spec, bool tls);

#endif
