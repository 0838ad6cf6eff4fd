/* Fault kinds for chaos drills and the rules for their parameters: shared by wsctl (which names
 * them), wsfleetd (which refuses bad ones before forwarding) and wsworker (which applies them). */
#ifndef WSF_FAULT_H
#define WSF_FAULT_H

#include <stdint.h>

enum wsf_fault_kind {
    WSF_FAULT_OFF = 0,
    WSF_FAULT_ERROR,   /* with probability rate: handshakes fail 500, messages close 1011 */
    WSF_FAULT_LATENCY, /* every message waits ms before it is handled */
    WSF_FAULT_HANG,    /* the worker's loop blocks for the duration */
    WSF_FAULT_CRASH,   /* the worker aborts */
    WSF_FAULT_MEMORY,  /* memory grows by rate MiB per second, released when the fault ends */
};

/* Parses a fault name ("off", "error", "latency", "hang", "crash", "memory"). Returns 0 or -1. */
int wsf_fault_parse(enum wsf_fault_kind *out, const char *name);

/* Checks a fault's parameters: error needs 0 < rate <= 1, latency 0 < ms <= 60000, memory
 * 0 < rate <= 1024 MiB/s; everything but crash and off a duration of 1 ms to 1 hour. Returns
 * NULL when valid, else what is wrong. */
const char *wsf_fault_check(enum wsf_fault_kind kind, double rate, uint32_t ms,
                            uint32_t duration_ms);

/* What a memory fault asks for: rate MiB per second over duration_ms, in bytes (0 for the other
 * kinds). For the parameters wsf_fault_check accepts it is below 2^42. */
uint64_t wsf_fault_memory_bytes(enum wsf_fault_kind kind, double rate, uint32_t duration_ms);

#endif
