/* The publisher's user as one NATS header value (Wsf-User): percent-encoded, so that any string
 * (spaces, newlines, non-ASCII, '%') is one printable header value. Pure; no I/O. */
#ifndef WSF_HDRUSER_H
#define WSF_HDRUSER_H

#include <stdbool.h>

/* Longest user, in bytes. */
#define WSF_HDRUSER_MAX 255
/* Room wsf_hdruser_encode needs: every byte may take 3. */
#define WSF_HDRUSER_ENCODED_MAX (3 * WSF_HDRUSER_MAX + 1)

/* Encodes user into out (WSF_HDRUSER_ENCODED_MAX bytes): bytes outside '!'..'~', and '%', become
 * %XX (upper-case hex). False for an empty or too long user. */
bool wsf_hdruser_encode(char out[WSF_HDRUSER_ENCODED_MAX], const char *user);

/* Decodes a header value into buf; NULL for an empty value, a bad or lower-case escape, %00, or a
 * user longer than WSF_HDRUSER_MAX. */
const char *wsf_hdruser_decode(const char *value, char buf[WSF_HDRUSER_MAX + 1]);

#endif
