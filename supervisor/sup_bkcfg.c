/* The [backend] section written for the workers. */
#include "sup_bkcfg.h"

#include <errno.h>
#include <string.h>

int sup_bkcfg_append(char *ini, size_t size, const wsf_bkconf *c)
{
    size_t used = strlen(ini);
    if (used + 1 >= size)
        return -ENOSPC;
    ini[used] = '\n';
    if (wsf_bkconf_render(ini + used + 1, size - used - 1, c) < 0) {
        ini[used] = '\0';
        return -ENOSPC;
    }
    return 0;
}
