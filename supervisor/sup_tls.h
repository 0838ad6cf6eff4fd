/* [tls] at start: the certificate and key are loaded once with OpenSSL, as a worker would, so a
 * bad one stops wsfleetd with one line instead of every worker failing in a restart loop. */
#ifndef SUP_TLS_H
#define SUP_TLS_H

#include <stddef.h>

#include "sup_config.h"

/* Makes [tls] cert and key absolute (workers do not share wsfleetd's working directory once it
 * is a daemon) and checks that they load, match and that ciphers is valid. Does nothing without
 * [tls] listen. Returns 0, or -1 with one line in err. */
int sup_tls_check(sup_config *cfg, char *err, size_t errlen);

typedef struct sup_ctx sup_ctx;

/* Session tickets valid on every worker: writes RUNDIR/tls-tickets (0600) with a fresh key, the
 * file's former current key kept as the previous one (a supervisor that replaced another keeps its
 * workers' tickets valid), points the workers' --ticket-keys at it, and rotates it every
 * [tls] ticket_rotation, telling running workers to load it again (WSF_CMD_RELOAD). Nothing
 * without [tls] listen. Returns 0, or -1 after logging why. */
int sup_tls_tickets_start(sup_ctx *ctx);

/* Stops the rotation. */
void sup_tls_tickets_fini(sup_ctx *ctx);

#endif
