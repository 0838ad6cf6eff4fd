/* wsfleetd's [backend] settings (wsf_bkconf.h holds the keys and their checks, done as the file
 * is read): appended to the effective channel settings the workers read (RUNDIR/channels.ini),
 * so that every worker runs with the supervisor's checked values. Pure: no I/O. */
#ifndef SUP_BKCFG_H
#define SUP_BKCFG_H

#include <stddef.h>

#include "wsf_bkconf.h"

/* Appends a blank line and the [backend] section of c, every key written, to the NUL-terminated
 * ini (size bytes in all). Returns 0, or -ENOSPC with ini unchanged. */
int sup_bkcfg_append(char *ini, size_t size, const wsf_bkconf *c);

#endif
