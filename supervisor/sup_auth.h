/* wsfleetd's [auth] section: the JWT key files checked at start (and at reload) and the wsworker
 * flags that name them. Only paths travel to the workers, never a secret.
 *
 * Keys: hmac_secret_file (a 0600 file: HS256), public_key (PEM: RS256 or ES256), required =
 * yes|no (no: anonymous clients are served), audience, issuer (checked when set). */
#ifndef SUP_AUTH_H
#define SUP_AUTH_H

#include <stddef.h>

typedef struct sup_config sup_config;

/* At most this many argv entries come from [auth]. */
#define SUP_AUTH_ARGS 10

/* Loads the key files cfg names, as the workers will. Returns 0, or -1 with one line in why
 * ("[auth] hmac_secret_file /etc/x: must not be accessible by group or others (chmod 0600)"). */
int sup_auth_check(const sup_config *cfg, char *why, size_t len);

/* Appends the --auth-* flags of cfg to argv at *argc; the values point into cfg. */
void sup_auth_worker_args(char **argv, size_t *argc, const sup_config *cfg);

#endif
