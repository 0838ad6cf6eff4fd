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

#endif
