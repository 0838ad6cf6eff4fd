/* libFuzzer target for the JWT verifier: the input is verified as a token against an HS256
 * secret and an ES256 key, and is also signed as a payload with the secret so that the claim
 * rules see inputs that pass the signature. Results must be 0, bad or expired, and accepted
 * claims must be within their limits. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt_test_util.h"
#include "wsf_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SECRET[] = "fuzz secret";

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_wsf_jwt: %s\n", what);
    abort();
}

static wsf_jwt_keys *keys(void)
{
    static wsf_jwt_keys *k;
    if (k != NULL)
        return k;
    k = wsf_jwt_keys_new();
    if (wsf_jwt_keys_set_secret(k, (const uint8_t *)SECRET, strlen(SECRET)) != 0)
        fail("secret");
    static const char pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzyFt28u8TjaSCx2MjETP46fAEU8s\n"
                              "gInYqIw1Ztjp+VX9ZDwR3bejmyJdWb2bLr34eRtso/LeA1v625CASTsU+Q==\n"
                              "-----END PUBLIC KEY-----\n";
    const char *why = NULL;
    if (wsf_jwt_keys_set_pem(k, pem, strlen(pem), &why) != 0)
        fail(why);
    return k;
}

static void check(const wsf_jwt_keys *k, const char *tok, size_t len)
{
    wsf_jwt_opts o = {.now = 1700000000, .leeway_s = 2, .audience = NULL, .issuer = NULL};
    wsf_jwt_claims c;
    int rc = wsf_jwt_verify(&c, k, tok, len, &o);
    if (rc != 0 && rc != WSF_JWT_BAD && rc != WSF_JWT_EXPIRED)
        fail("unexpected result");
    if (rc != 0)
        return;
    if (strlen(c.sub) > WSF_JWT_MAX_SUB || c.nchannels > WSF_JWT_MAX_CHANNELS)
        fail("claims past their limits");
    if (c.exp + 2 <= o.now)
        fail("an expired token was accepted");
    for (size_t i = 0; i < c.nchannels; i++)
        if (c.channels[i] == NULL || !wsf_jwt_claims_has_channel(&c, c.channels[i]))
            fail("channel not found");
    wsf_jwt_claims_fini(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const wsf_jwt_keys *k = keys();
    check(k, (const char *)data, size);
    if (size > 4096)
        return 0;
    /* The input as the payload of a correctly signed HS256 token. */
    static const char head[] = "{\"alg\":\"HS256\"}";
    char *tok = malloc(64 + (size + 2) * 4 / 3 + 64);
    size_t n = b64url_encode(tok, head, strlen(head));
    tok[n++] = '.';
    n += b64url_encode(tok + n, data, size);
    uint8_t mac[32];
    size_t mlen = 0;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, SECRET, strlen(SECRET), (uint8_t *)tok, n,
                  mac, sizeof mac, &mlen) == NULL)
        fail("hmac");
    tok[n++] = '.';
    n += b64url_encode(tok + n, mac, mlen);
    check(k, tok, n);
    free(tok);
    return 0;
}
