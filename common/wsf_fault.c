/* Fault names and parameter rules. */
#include "wsf_fault.h"

#include <stddef.h>
#include <string.h>

#define WSF_FAULT_MAX_DURATION_MS 3600000u

static const char *const wsf_fault_names[] = {
    [WSF_FAULT_OFF] = "off",   [WSF_FAULT_ERROR] = "error", [WSF_FAULT_LATENCY] = "latency",
    [WSF_FAULT_HANG] = "hang", [WSF_FAULT_CRASH] = "crash", [WSF_FAULT_MEMORY] = "memory",
};

int wsf_fault_parse(enum wsf_fault_kind *out, const char *name)
{
    for (size_t i = 0; i < sizeof wsf_fault_names / sizeof wsf_fault_names[0]; i++) {
        if (strcmp(name, wsf_fault_names[i]) == 0) {
            *out = (enum wsf_fault_kind)i;
            return 0;
        }
    }
    return -1;
}

const char *wsf_fault_check(enum wsf_fault_kind kind, double rate, uint32_t ms,
                            uint32_t duration_ms)
{
    if (kind == WSF_FAULT_OFF || kind == WSF_FAULT_CRASH)
        return NULL;
    if (duration_ms == 0 || duration_ms > WSF_FAULT_MAX_DURATION_MS)
        return "the duration must be 1 ms to 1 hour";
    if (kind == WSF_FAULT_ERROR && !(rate > 0.0 && rate <= 1.0))
        return "error needs a rate above 0 and at most 1";
    if (kind == WSF_FAULT_LATENCY && (ms == 0 || ms > 60000))
        return "latency needs 1 to 60000 ms";
    if (kind == WSF_FAULT_MEMORY && !(rate > 0.0 && rate <= 1024.0))
        return "memory needs a rate above 0 and at most 1024 MiB per second";
    return NULL;
}

uint64_t wsf_fault_memory_bytes(enum wsf_fault_kind kind, double rate, uint32_t duration_ms)
{
    if (kind != WSF_FAULT_MEMORY || !(rate > 0.0))
        return 0;
    double bytes = rate * 1048576.0 * (double)duration_ms / 1000.0;
    return bytes >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)bytes;
}
