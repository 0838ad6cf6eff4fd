/* Fault points for chaos drills. Compiled in and off by default; only a supervisor Command turns
 * one on (never a client), and each reverts by itself after its duration. */
#ifndef WK_FAULT_H
#define WK_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_fault.h"

typedef struct wk_fault {
    enum wsf_fault_kind kind;
    double rate;
    uint32_t ms;
    uint64_t until_ms;   /* monotonic ms when the fault reverts */
    uint64_t rng;        /* xorshift state for the error probability */
    uint64_t max_memory; /* set by the owner: what a memory fault may grow to (0: nothing) */
    /* WSF_FAULT_MEMORY: one anonymous mapping of what the fault asks for (at most max_memory),
     * touched as it grows and unmapped when it ends, so the RSS goes back down at once (freed
     * heap memory may stay with the allocator). */
    unsigned char *mem;
    size_t mem_len;       /* the mapping's length, 0 when none */
    size_t grown;         /* bytes touched so far */
    uint64_t grown_at_ms; /* last growth step */
} wk_fault;

/* Starts a fault (replacing any other) until now_ms + duration_ms. The caller performs HANG and
 * CRASH itself; this records the others. A memory fault maps min(rate x duration, max_memory)
 * bytes up front (address space only) and never grows past it; if the mapping fails, it grows
 * nothing. */
void wk_fault_start(wk_fault *f, enum wsf_fault_kind kind, double rate, uint32_t ms,
                    uint32_t duration_ms, uint64_t now_ms);

/* Ends the fault if its time is up (and releases grown memory); grows memory when due. Call
 * from the worker's tick. */
void wk_fault_tick(wk_fault *f, uint64_t now_ms);

/* True when the current event should fail (an ERROR fault drew it). */
bool wk_fault_should_fail(wk_fault *f);

/* Stops any fault and releases what it holds. */
void wk_fault_fini(wk_fault *f);

static inline bool wk_fault_is_on(const wk_fault *f)
{
    return f->kind != WSF_FAULT_OFF;
}

#endif
