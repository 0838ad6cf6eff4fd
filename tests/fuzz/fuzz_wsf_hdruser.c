/* libFuzzer target for the Wsf-User header value a worker reads from NATS messages anyone on the
 * broker may publish. Invariants: decoding never writes past its buffer and accepts only what it
 * documents; whatever decodes encodes to one printable value that decodes to the same user; and
 * any user of 1..255 bytes without NUL survives encode + decode unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_hdruser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_wsf_hdruser: %s\n", what);
    abort();
}

static void round_trip(const char *user)
{
    char enc[WSF_HDRUSER_ENCODED_MAX];
    char back[WSF_HDRUSER_MAX + 1];
    if (!wsf_hdruser_encode(enc, user))
        fail("a user of 1..255 bytes did not encode");
    for (const char *p = enc; *p != '\0'; p++)
        if (*p <= ' ' || *p >= 0x7f)
            fail("the encoded value is not printable");
    const char *dec = wsf_hdruser_decode(enc, back);
    if (dec == NULL || strcmp(dec, user) != 0)
        fail("encode + decode changed the user");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    char buf[WSF_HDRUSER_MAX + 1];
    const char *user = wsf_hdruser_decode(s, buf);
    if (user != NULL) {
        size_t n = strlen(user);
        if (n == 0 || n > WSF_HDRUSER_MAX)
            fail("decoded a user of a length outside 1..255");
        round_trip(user);
    }
    /* The input itself as a user, cut at its first NUL and at 255 bytes. */
    size_t n = strnlen(s, size);
    if (n > WSF_HDRUSER_MAX)
        n = WSF_HDRUSER_MAX;
    s[n] = '\0';
    if (n > 0)
        round_trip(s);
    else if (wsf_hdruser_encode((char[WSF_HDRUSER_ENCODED_MAX]){0}, s))
        fail("an empty user encoded");
    free(s);
    return 0;
}
