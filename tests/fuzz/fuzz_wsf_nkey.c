/* libFuzzer target for the NATS credentials reader: finding a user seed in a file's text and
 * deriving its public key. Invariants: a found seed is 58 base32 characters starting "SU" inside
 * the input; a public key, when derived, is 56 base32 characters starting 'U'; deriving twice
 * gives the same key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_nkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_wsf_nkey: %s\n", what);
    abort();
}

static int is_b32(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= '2' && ch <= '7');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char pub[WSF_NKEY_PUBLIC_LEN + 1], again[WSF_NKEY_PUBLIC_LEN + 1];
    (void)wsf_nkey_has_jwt(text, size);
    long at = wsf_nkey_find_seed(text, size);
    if (at < -1 || (at >= 0 && (size_t)at + WSF_NKEY_SEED_LEN > size))
        fail("seed offset outside the input");
    if (at >= 0) {
        if (text[at] != 'S' || text[at + 1] != 'U')
            fail("a seed that does not start SU");
        for (size_t i = 0; i < WSF_NKEY_SEED_LEN; i++) {
            if (!is_b32(text[at + (long)i]))
                fail("a seed with a character outside base32");
        }
    }
    /* Whatever the input's first 58 bytes are, as a seed. */
    if (size >= WSF_NKEY_SEED_LEN && wsf_nkey_public(text, WSF_NKEY_SEED_LEN, pub) == 0) {
        if (strlen(pub) != WSF_NKEY_PUBLIC_LEN || pub[0] != 'U')
            fail("a public key of the wrong shape");
        for (size_t i = 0; i < WSF_NKEY_PUBLIC_LEN; i++) {
            if (!is_b32(pub[i]))
                fail("a public key with a character outside base32");
        }
        if (wsf_nkey_public(text, WSF_NKEY_SEED_LEN, again) != 0 || strcmp(pub, again) != 0)
            fail("the same seed gave another key");
    }
    return 0;
}
