/* libFuzzer target for wschaos's reading of a NATS node's /jsz answer (chaos_jsz_leaders).
 * Invariants: an accepted answer gives a stream leader 1..3 whose bit is in the mask, and a mask
 * of the three nodes' bits only; a refused one leaves both outputs as they were. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chaos_jsz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_chaos_jsz: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Not NUL-terminated: the parser must keep to size. */
    char *copy = malloc(size > 0 ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    unsigned mask = 0xdead;
    int leader = -7;
    if (chaos_jsz_leaders(copy, size, "WSF", &mask, &leader) == 0) {
        if (leader < 1 || leader > CHAOS_JSZ_NODES)
            fail("leader out of range");
        if ((mask & ~0x7u) != 0 || (mask & 1u << (leader - 1)) == 0)
            fail("mask inconsistent with the leader");
    } else if (mask != 0xdead || leader != -7) {
        fail("outputs changed on refusal");
    }
    free(copy);
    return 0;
}
