/* JSON Web Token verification (compact JWS, RFC 7515/7519) for [auth]: HS256 with a shared
 * secret, RS256 and ES256 with a PEM public key, through OpenSSL EVP; claims through jansson.
 *
 * Contract:
 *  - A key set holds at most an HMAC secret and one public key (RSA >= 2048 bits, or EC P-256).
 *    The token header's `alg` picks the key: HS256 only ever uses the secret, RS256 only an RSA
 *    key, ES256 only a P-256 key. `none`, any other alg, and a header with `crit` are refused, so
 *    a token cannot choose a weaker check than the configuration (algorithm confusion).
 *  - The signature is checked before any claim is read; HMACs are compared in constant time.
 *    ES256 signatures are JOSE's raw r||s (64 bytes), turned into DER for EVP.
 *  - Claims: `exp` (a number) is required; the token is expired once now >= exp + leeway. `nbf`,
 *    when present, must be <= now + leeway. `aud` (string or array of strings) must name the
 *    configured audience and `iss` must equal the configured issuer when those are set. `sub`
 *    (optional string, <= 255 bytes) is the user; `channels` (optional array of strings) lists the
 *    channels a `subscribe = token` namespace lets the holder join.
 *  - Pure apart from OpenSSL and the key-file loaders: the clock is a parameter.
 *  - Results: 0, WSF_JWT_BAD (-EACCES: malformed, bad signature, wrong alg, claim refused; a
 *    client gets 4401 / HTTP 401) or WSF_JWT_EXPIRED (-EKEYEXPIRED; a client gets 4002). */
#ifndef WSF_JWT_H
#define WSF_JWT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSF_JWT_BAD (-EACCES)
#define WSF_JWT_EXPIRED (-EKEYEXPIRED)
#define WSF_JWT_MAX_TOKEN 8192
#define WSF_JWT_MAX_SUB 255
#define WSF_JWT_MAX_CHANNELS 1024

typedef struct wsf_jwt_keys wsf_jwt_keys;

/* What the verifier checks beyond the signature. audience/issuer NULL: not checked. */
typedef struct wsf_jwt_opts {
    int64_t now;       /* UNIX seconds */
    unsigned leeway_s; /* clock skew allowed on exp and nbf, 0..5 in practice */
    const char *audience;
    const char *issuer;
} wsf_jwt_opts;

/* A verified token's claims. Owned by the struct: wsf_jwt_claims_fini releases them. */
typedef struct wsf_jwt_claims {
    char sub[WSF_JWT_MAX_SUB + 1]; /* "" when the token has none */
    int64_t exp;
    char **channels; /* NULL-free array of nchannels strings */
    size_t nchannels;
} wsf_jwt_claims;

/* An empty key set: every token is refused until a key is added. Free with wsf_jwt_keys_free. */
wsf_jwt_keys *wsf_jwt_keys_new(void);
void wsf_jwt_keys_free(wsf_jwt_keys *k);

/* Sets the HS256 secret (len >= 1 bytes, copied). Returns 0 or -EINVAL. */
int wsf_jwt_keys_set_secret(wsf_jwt_keys *k, const uint8_t *secret, size_t len);

/* Sets the public key from PEM text (RSA >= 2048 bits or EC P-256). Returns 0, or -EINVAL with
 * *why set to a static reason. */
int wsf_jwt_keys_set_pem(wsf_jwt_keys *k, const char *pem, size_t len, const char **why);

/* Reads the HS256 secret from path: a regular file, not readable or writable by group or others,
 * not empty; one trailing newline is dropped. Returns 0, or a negative errno with *why set to a
 * static reason (the caller logs it with the path). */
int wsf_jwt_keys_load_secret(wsf_jwt_keys *k, const char *path, const char **why);

/* Reads the public key from a PEM file. Returns 0 or a negative errno with *why set. */
int wsf_jwt_keys_load_pem(wsf_jwt_keys *k, const char *path, const char **why);

/* Whether k has any key at all. */
bool wsf_jwt_keys_has_any(const wsf_jwt_keys *k);

/* Verifies token (len bytes, not NUL-terminated) against k and o. On 0, *out holds the claims
 * (release with wsf_jwt_claims_fini); otherwise *out is untouched. */
int wsf_jwt_verify(wsf_jwt_claims *out, const wsf_jwt_keys *k, const char *token, size_t len,
                   const wsf_jwt_opts *o);

/* Whether claims let the holder join channel (it is listed in `channels`). */
bool wsf_jwt_claims_has_channel(const wsf_jwt_claims *c, const char *channel);

void wsf_jwt_claims_fini(wsf_jwt_claims *c);

#endif
