/* The multi-host parts of wsfleetd's configuration: the default [fleet] name, and the checks of
 * [nats] credentials / tls_ca / tls_cert / tls_key and [channels] replicas once the file is
 * read (the files must be readable now: a fleet that cannot reach its cluster should not start). */
#ifndef SUP_NATSCFG_H
#define SUP_NATSCFG_H

#include <stddef.h>

struct sup_config;

/* The host name up to its first '.', with characters a NATS token cannot hold made '-', at most
 * size - 1 bytes; "wsfleet" when there is none. */
void sup_natscfg_default_name(char *out, size_t size);

/* Checks the [nats] and [channels] replicas settings of cfg together: credentials and tls_* only
 * with url (the sidecar makes its own token), tls_cert and tls_key together, each file readable,
 * credentials a .creds file or a user nkey seed that neither group nor others may access (mode
 * 0600 or 0400, as ssh wants of a key), replicas above 1 only with url. Returns 0, or -1 with one
 * line in why ("[nats] credentials /x: No such file or directory"). */
int sup_natscfg_check(const struct sup_config *cfg, char *why, size_t whylen);

#endif
