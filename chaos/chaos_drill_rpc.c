/* The [rpc] section of a drill file. */
#include "chaos_drill_rpc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "chaos_value.h"

int chaos_rpc_key(chaos_drill *d, const char *name, const char *value, char *why, size_t why_len)
{
    uint64_t n;
    if (strcmp(name, "clients") == 0 || strcmp(name, "quick_clients") == 0) {
        if (chaos_value_count(&n, value, 0, 100000, why, why_len) != 0)
            return -1;
        *(name[0] == 'c' ? &d->rpc_clients : &d->quick_rpc_clients) = (size_t)n;
        return 0;
    }
    if (strcmp(name, "rate") == 0)
        return chaos_value_real(&d->rpc_rate, value, 0.0, 1000.0, true, why, why_len);
    snprintf(why, why_len, "unknown key (clients, quick_clients, rate)");
    return -1;
}
