/* NATS nkeys: finding a user seed in a credentials text and deriving its public key (what a
 * client names in CONNECT when it signs the server's nonce with the seed). Pure: no I/O.
 *
 * A seed is 58 characters of base32 (RFC 4648, no padding) over 36 bytes: two prefix bytes
 * ('S' seed, 'U' user), the 32-byte Ed25519 seed and a CRC-16/XMODEM, little-endian, of the 34
 * bytes before it. A user public key is 56 characters over 35 bytes: the 'U' prefix byte, the
 * 32-byte Ed25519 public key and the CRC of the 33 bytes before it. */
#ifndef WSF_NKEY_H
#define WSF_NKEY_H

#include <stdbool.h>
#include <stddef.h>

#define WSF_NKEY_SEED_LEN 58
#define WSF_NKEY_PUBLIC_LEN 56

/* Whether text holds a user JWT (a .creds file: "-----BEGIN NATS USER JWT-----"). */
bool wsf_nkey_has_jwt(const char *text, size_t len);

/* Finds the first user seed in text (a seed file, or the seed block of a .creds file): 58
 * characters starting with "SU" standing alone between non-base32 characters. Returns its
 * offset, or -1. */
long wsf_nkey_find_seed(const char *text, size_t len);

/* Checks seed (WSF_NKEY_SEED_LEN characters: prefixes and CRC) and writes its public key, NUL
 * terminated, into out (WSF_NKEY_PUBLIC_LEN + 1 bytes). Returns 0, or -1 for a bad seed. */
int wsf_nkey_public(const char *seed, size_t len, char *out);

#endif
