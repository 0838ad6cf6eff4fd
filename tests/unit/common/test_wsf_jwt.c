/* Unit tests for common/wsf_jwt.c: HS256, RS256 and ES256 tokens signed here with keys made here,
 * every claim rule, algorithm confusion, tampering, truncation and the key-file checks. */
#include <check.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jwt_test_util.h"
#include "wsf_jwt.h"

Suite *wsf_jwt_suite(void);

#define NOW 1700000000
static const char SECRET[] = "a shared secret of the test";

static char *b64url(const void *data, size_t len)
{
    char *out = malloc(len * 4 / 3 + 4);
    out[b64url_encode(out, data, len)] = '\0';
    return out;
}

static EVP_PKEY *rsa_key(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ck_assert_ptr_nonnull(k);
    return k;
}

static EVP_PKEY *ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    ck_assert_ptr_nonnull(k);
    return k;
}

static char *pub_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    ck_assert_int_eq(PEM_write_bio_PUBKEY(b, k), 1);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

/* Signs header.payload: alg HS256 with SECRET, RS256/ES256 with key. Returns the token. */
static char *sign(const char *alg, EVP_PKEY *key, const char *payload)
{
    char header[128];
    snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    char *h = b64url(header, strlen(header));
    char *p = b64url(payload, strlen(payload));
    size_t ilen = strlen(h) + 1 + strlen(p);
    char *input = malloc(ilen + 1);
    snprintf(input, ilen + 1, "%s.%s", h, p);
    uint8_t sig[512];
    size_t slen = sizeof sig;
    if (strcmp(alg, "HS256") == 0) {
        ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, SECRET, strlen(SECRET),
                                        (uint8_t *)input, ilen, sig, sizeof sig, &slen));
    } else {
        uint8_t der[512];
        size_t dlen = sizeof der;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        ck_assert_int_eq(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
        ck_assert_int_eq(EVP_DigestSign(md, der, &dlen, (uint8_t *)input, ilen), 1);
        EVP_MD_CTX_free(md);
        if (strcmp(alg, "ES256") == 0) {
            const uint8_t *q = der;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)dlen);
            ck_assert_ptr_nonnull(es);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
            ECDSA_SIG_free(es);
            slen = 64;
        } else {
            memcpy(sig, der, dlen);
            slen = dlen;
        }
    }
    char *s = b64url(sig, slen);
    char *tok = malloc(ilen + 1 + strlen(s) + 1);
    sprintf(tok, "%s.%s", input, s);
    free(h);
    free(p);
    free(input);
    free(s);
    return tok;
}

static EVP_PKEY *g_rsa, *g_ec;
static wsf_jwt_keys *g_hs, *g_rs, *g_es;

static void setup(void)
{
    g_rsa = rsa_key();
    g_ec = ec_key("P-256");
    g_hs = wsf_jwt_keys_new();
    ck_assert_int_eq(wsf_jwt_keys_set_secret(g_hs, (const uint8_t *)SECRET, strlen(SECRET)), 0);
    const char *why = NULL;
    char *pem = pub_pem(g_rsa);
    g_rs = wsf_jwt_keys_new();
    ck_assert_int_eq(wsf_jwt_keys_set_pem(g_rs, pem, strlen(pem), &why), 0);
    free(pem);
    pem = pub_pem(g_ec);
    g_es = wsf_jwt_keys_new();
    ck_assert_int_eq(wsf_jwt_keys_set_pem(g_es, pem, strlen(pem), &why), 0);
    free(pem);
}

static void teardown(void)
{
    wsf_jwt_keys_free(g_hs);
    wsf_jwt_keys_free(g_rs);
    wsf_jwt_keys_free(g_es);
    EVP_PKEY_free(g_rsa);
    EVP_PKEY_free(g_ec);
}

static const wsf_jwt_opts OPTS = {.now = NOW, .leeway_s = 0};

static int verify(const wsf_jwt_keys *k, const char *tok, const wsf_jwt_opts *o,
                  wsf_jwt_claims *out)
{
    wsf_jwt_claims c;
    int rc = wsf_jwt_verify(out ? out : &c, k, tok, strlen(tok), o);
    if (rc == 0 && out == NULL)
        wsf_jwt_claims_fini(&c);
    return rc;
}

static const char GOOD[] = "{\"sub\":\"alice\",\"exp\":1700000100,\"channels\":[\"t:a\",\"t:b\"]}";

START_TEST(good_tokens_each_alg)
{
    const char *algs[] = {"HS256", "RS256", "ES256"};
    EVP_PKEY *keys[] = {NULL, g_rsa, g_ec};
    wsf_jwt_keys *ks[] = {g_hs, g_rs, g_es};
    for (int i = 0; i < 3; i++) {
        char *tok = sign(algs[i], keys[i], GOOD);
        wsf_jwt_claims c;
        ck_assert_int_eq(verify(ks[i], tok, &OPTS, &c), 0);
        ck_assert_str_eq(c.sub, "alice");
        ck_assert_int_eq(c.exp, 1700000100);
        ck_assert_uint_eq(c.nchannels, 2);
        ck_assert(wsf_jwt_claims_has_channel(&c, "t:b"));
        ck_assert(!wsf_jwt_claims_has_channel(&c, "t:c"));
        wsf_jwt_claims_fini(&c);
        free(tok);
    }
}
END_TEST

START_TEST(alg_confusion_and_none)
{
    /* HS256 signed with the PEM text as the secret must not pass on a public key set. */
    char *pem = pub_pem(g_rsa);
    char *h = b64url("{\"alg\":\"HS256\"}", 15);
    char *p = b64url(GOOD, strlen(GOOD));
    char input[4096];
    snprintf(input, sizeof input, "%s.%s", h, p);
    uint8_t mac[32];
    size_t mlen;
    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem, strlen(pem), (uint8_t *)input, strlen(input),
              mac, sizeof mac, &mlen);
    char *s = b64url(mac, mlen);
    char tok[4200];
    snprintf(tok, sizeof tok, "%s.%s", input, s);
    ck_assert_int_eq(verify(g_rs, tok, &OPTS, NULL), WSF_JWT_BAD);
    free(s);
    free(h);
    free(pem);
    /* alg none, with and without a signature. */
    h = b64url("{\"alg\":\"none\"}", 14);
    snprintf(tok, sizeof tok, "%s.%s.", h, p);
    ck_assert_int_eq(verify(g_hs, tok, &OPTS, NULL), WSF_JWT_BAD);
    snprintf(tok, sizeof tok, "%s.%s.AAAA", h, p);
    ck_assert_int_eq(verify(g_hs, tok, &OPTS, NULL), WSF_JWT_BAD);
    free(h);
    free(p);
    /* Each alg against the other key types. */
    char *rs = sign("RS256", g_rsa, GOOD), *es = sign("ES256", g_ec, GOOD),
         *hs = sign("HS256", NULL, GOOD);
    ck_assert_int_eq(verify(g_es, rs, &OPTS, NULL), WSF_JWT_BAD);
    ck_assert_int_eq(verify(g_hs, rs, &OPTS, NULL), WSF_JWT_BAD);
    ck_assert_int_eq(verify(g_rs, es, &OPTS, NULL), WSF_JWT_BAD);
    ck_assert_int_eq(verify(g_rs, hs, &OPTS, NULL), WSF_JWT_BAD);
    ck_assert_int_eq(verify(g_es, hs, &OPTS, NULL), WSF_JWT_BAD);
    /* Another key of the same kind. */
    EVP_PKEY *other = ec_key("P-256");
    char *es2 = sign("ES256", other, GOOD);
    ck_assert_int_eq(verify(g_es, es2, &OPTS, NULL), WSF_JWT_BAD);
    EVP_PKEY_free(other);
    free(rs);
    free(es);
    free(hs);
    free(es2);
}
END_TEST

START_TEST(unsupported_headers)
{
    const char *heads[] = {"{\"alg\":\"HS512\"}",
                           "{\"alg\":\"hs256\"}",
                           "{\"typ\":\"JWT\"}",
                           "{\"alg\":\"HS256\",\"crit\":[\"x\"]}",
                           "{\"alg\":1}",
                           "[\"HS256\"]",
                           "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
                           "not json"};
    char *p = b64url(GOOD, strlen(GOOD));
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
        char *h = b64url(heads[i], strlen(heads[i]));
        char input[2048], tok[2200];
        snprintf(input, sizeof input, "%s.%s", h, p);
        uint8_t mac[32];
        size_t mlen;
        EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, SECRET, strlen(SECRET), (uint8_t *)input,
                  strlen(input), mac, sizeof mac, &mlen);
        char *s = b64url(mac, mlen);
        snprintf(tok, sizeof tok, "%s.%s", input, s);
        ck_assert_msg(verify(g_hs, tok, &OPTS, NULL) == WSF_JWT_BAD, "header %s", heads[i]);
        free(s);
        free(h);
    }
    free(p);
}
END_TEST

START_TEST(tampering_and_truncation)
{
    const char *algs[] = {"HS256", "RS256", "ES256"};
    EVP_PKEY *keys[] = {NULL, g_rsa, g_ec};
    wsf_jwt_keys *ks[] = {g_hs, g_rs, g_es};
    for (int a = 0; a < 3; a++) {
        char *tok = sign(algs[a], keys[a], GOOD);
        size_t len = strlen(tok);
        /* Every truncation is refused. */
        for (size_t n = 0; n < len; n++) {
            wsf_jwt_claims c;
            ck_assert_msg(wsf_jwt_verify(&c, ks[a], tok, n, &OPTS) == WSF_JWT_BAD, "%s cut %zu",
                          algs[a], n);
        }
        /* Every single-character change is refused (except one that leaves the token as is). */
        for (size_t i = 0; i < len; i++) {
            char *t = strdup(tok);
            t[i] = t[i] == 'A' ? 'B' : 'A';
            ck_assert_msg(verify(ks[a], t, &OPTS, NULL) == WSF_JWT_BAD, "%s changed at %zu",
                          algs[a], i);
            free(t);
        }
        /* A trailing byte, padding, a fourth segment. */
        char t2[2048];
        snprintf(t2, sizeof t2, "%s=", tok);
        ck_assert_int_eq(verify(ks[a], t2, &OPTS, NULL), WSF_JWT_BAD);
        snprintf(t2, sizeof t2, "%s.x", tok);
        ck_assert_int_eq(verify(ks[a], t2, &OPTS, NULL), WSF_JWT_BAD);
        ck_assert_int_eq(verify(ks[a], tok, &OPTS, NULL), 0);
        free(tok);
    }
}
END_TEST

START_TEST(exp_and_nbf)
{
    wsf_jwt_opts o = OPTS;
    char *tok = sign("HS256", NULL, "{\"exp\":1700000000}");
    ck_assert_int_eq(verify(g_hs, tok, &o, NULL), WSF_JWT_EXPIRED); /* now == exp */
    o.now = NOW - 1;
    ck_assert_int_eq(verify(g_hs, tok, &o, NULL), 0);
    o.now = NOW + 4;
    o.leeway_s = 5;
    ck_assert_int_eq(verify(g_hs, tok, &o, NULL), 0);
    o.now = NOW + 5;
    ck_assert_int_eq(verify(g_hs, tok, &o, NULL), WSF_JWT_EXPIRED);
    free(tok);
    /* exp is required and must be a number. */
    const char *bad[] = {"{\"sub\":\"a\"}", "{\"exp\":\"1800000000\"}", "{\"exp\":null}",
                         "{\"exp\":1800000000,\"nbf\":\"x\"}", "{\"exp\":1e300}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tok = sign("HS256", NULL, bad[i]);
        ck_assert_msg(verify(g_hs, tok, &OPTS, NULL) == WSF_JWT_BAD, "%s", bad[i]);
        free(tok);
    }
    /* nbf in the future is bad, within the leeway it passes. */
    tok = sign("HS256", NULL, "{\"exp\":1800000000,\"nbf\":1700000003}");
    o = OPTS;
    ck_assert_int_eq(verify(g_hs, tok, &o, NULL), WSF_JWT_BAD);
    o.leeway_s = 3;
    ck_assert_int_eq(verify(g_hs, tok, &o, NULL), 0);
    o.leeway_s = 0;
    o.now = 1700000003;
    ck_assert_int_eq(verify(g_hs, tok, &o, NULL), 0);
    free(tok);
    /* A fractional exp counts by its whole seconds. */
    tok = sign("HS256", NULL, "{\"exp\":1700000000.9}");
    o = OPTS;
    ck_assert_int_eq(verify(g_hs, tok, &o, NULL), WSF_JWT_EXPIRED);
    free(tok);
}
END_TEST

START_TEST(aud_and_iss)
{
    wsf_jwt_opts o = OPTS;
    o.audience = "wsfleet";
    o.issuer = "https://issuer.example";
    const char *good[] = {
        "{\"exp\":1800000000,\"aud\":\"wsfleet\",\"iss\":\"https://issuer.example\"}",
        "{\"exp\":1800000000,\"aud\":[\"x\",\"wsfleet\"],\"iss\":\"https://issuer.example\"}"};
    const char *bad[] = {
        "{\"exp\":1800000000,\"iss\":\"https://issuer.example\"}",
        "{\"exp\":1800000000,\"aud\":\"other\",\"iss\":\"https://issuer.example\"}",
        "{\"exp\":1800000000,\"aud\":[\"x\"],\"iss\":\"https://issuer.example\"}",
        "{\"exp\":1800000000,\"aud\":\"wsfleet\"}",
        "{\"exp\":1800000000,\"aud\":\"wsfleet\",\"iss\":\"https://other\"}",
        "{\"exp\":1800000000,\"aud\":\"wsfleet\",\"iss\":7}"};
    for (size_t i = 0; i < 2; i++) {
        char *tok = sign("HS256", NULL, good[i]);
        ck_assert_msg(verify(g_hs, tok, &o, NULL) == 0, "%s", good[i]);
        free(tok);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *tok = sign("HS256", NULL, bad[i]);
        ck_assert_msg(verify(g_hs, tok, &o, NULL) == WSF_JWT_BAD, "%s", bad[i]);
        /* Without the settings, aud and iss are not looked at. */
        ck_assert_int_eq(verify(g_hs, tok, &OPTS, NULL), 0);
        free(tok);
    }
}
END_TEST

START_TEST(sub_and_channels_shapes)
{
    const char *bad[] = {"{\"exp\":1800000000,\"sub\":5}",
                         "{\"exp\":1800000000,\"channels\":\"t:a\"}",
                         "{\"exp\":1800000000,\"channels\":[\"t:a\",1]}",
                         "{\"exp\":1800000000,\"sub\":\"a\\u0000b\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *tok = sign("HS256", NULL, bad[i]);
        ck_assert_msg(verify(g_hs, tok, &OPTS, NULL) == WSF_JWT_BAD, "%s", bad[i]);
        free(tok);
    }
    char *tok = sign("HS256", NULL, "{\"exp\":1800000000}");
    wsf_jwt_claims c;
    ck_assert_int_eq(verify(g_hs, tok, &OPTS, &c), 0);
    ck_assert_str_eq(c.sub, "");
    ck_assert_uint_eq(c.nchannels, 0);
    ck_assert(!wsf_jwt_claims_has_channel(&c, "t:a"));
    wsf_jwt_claims_fini(&c);
    free(tok);
    /* A bad token that is also expired is bad. */
    tok = sign("HS256", NULL, "{\"exp\":1,\"sub\":5}");
    ck_assert_int_eq(verify(g_hs, tok, &OPTS, NULL), WSF_JWT_BAD);
    free(tok);
}
END_TEST

START_TEST(empty_key_set_refuses)
{
    wsf_jwt_keys *k = wsf_jwt_keys_new();
    ck_assert(!wsf_jwt_keys_has_any(k));
    char *tok = sign("HS256", NULL, GOOD);
    ck_assert_int_eq(verify(k, tok, &OPTS, NULL), WSF_JWT_BAD);
    free(tok);
    wsf_jwt_keys_free(k);
    wsf_jwt_keys_free(NULL);
}
END_TEST

START_TEST(pem_key_kinds)
{
    const char *why = NULL;
    wsf_jwt_keys *k = wsf_jwt_keys_new();
    EVP_PKEY *p384 = ec_key("P-384");
    char *pem = pub_pem(p384);
    ck_assert_int_eq(wsf_jwt_keys_set_pem(k, pem, strlen(pem), &why), -EINVAL);
    ck_assert_ptr_nonnull(why);
    free(pem);
    EVP_PKEY_free(p384);
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    pem = pub_pem(small);
    ck_assert_int_eq(wsf_jwt_keys_set_pem(k, pem, strlen(pem), &why), -EINVAL);
    free(pem);
    EVP_PKEY_free(small);
    ck_assert_int_eq(wsf_jwt_keys_set_pem(k, "junk", 4, &why), -EINVAL);
    ck_assert(!wsf_jwt_keys_has_any(k));
    wsf_jwt_keys_free(k);
}
END_TEST

START_TEST(secret_file_mode)
{
    char path[] = "/tmp/wsf_jwt_secretXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, SECRET, strlen(SECRET)), (ssize_t)strlen(SECRET));
    ck_assert_int_eq(write(fd, "\n", 1), 1);
    close(fd);
    const char *why = NULL;
    wsf_jwt_keys *k = wsf_jwt_keys_new();
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(wsf_jwt_keys_load_secret(k, path, &why), -EPERM);
    ck_assert_int_eq(chmod(path, 0604), 0);
    ck_assert_int_eq(wsf_jwt_keys_load_secret(k, path, &why), -EPERM);
    ck_assert(!wsf_jwt_keys_has_any(k));
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(wsf_jwt_keys_load_secret(k, path, &why), 0);
    /* The newline is not part of the secret: the test's HS256 tokens verify. */
    char *tok = sign("HS256", NULL, GOOD);
    ck_assert_int_eq(verify(k, tok, &OPTS, NULL), 0);
    free(tok);
    ck_assert_int_lt(wsf_jwt_keys_load_secret(k, "/nonexistent/secret", &why), 0);
    ck_assert_int_lt(wsf_jwt_keys_load_pem(k, path, &why), 0); /* a secret is not a PEM key */
    unlink(path);
    wsf_jwt_keys_free(k);
}
END_TEST

Suite *wsf_jwt_suite(void)
{
    Suite *s = suite_create("wsf_jwt");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, good_tokens_each_alg);
    tcase_add_test(tc, alg_confusion_and_none);
    tcase_add_test(tc, unsupported_headers);
    tcase_add_test(tc, tampering_and_truncation);
    tcase_add_test(tc, exp_and_nbf);
    tcase_add_test(tc, aud_and_iss);
    tcase_add_test(tc, sub_and_channels_shapes);
    tcase_add_test(tc, empty_key_set_refuses);
    tcase_add_test(tc, pem_key_kinds);
    tcase_add_test(tc, secret_file_mode);
    suite_add_tcase(s, tc);
    return s;
}
