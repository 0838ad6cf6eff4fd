/* JSON Web Token verification: compact JWS with HS256, RS256 and ES256 over OpenSSL EVP. */
#include "wsf_jwt.h"

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsf_buf.h"

#define WSF_JWT_MAX_KEYFILE (64 * 1024)

enum wsf_jwt_alg { WSF_JWT_HS256, WSF_JWT_RS256, WSF_JWT_ES256 };

struct wsf_jwt_keys {
    uint8_t *secret;
    size_t secret_len;
    EVP_PKEY *pub;
    enum wsf_jwt_alg pub_alg; /* RS256 or ES256, from the key's type */
};

wsf_jwt_keys *wsf_jwt_keys_new(void)
{
    return wsf_xcalloc(1, sizeof(wsf_jwt_keys));
}

void wsf_jwt_keys_free(wsf_jwt_keys *k)
{
    if (k == NULL)
        return;
    if (k->secret != NULL)
        OPENSSL_cleanse(k->secret, k->secret_len);
    free(k->secret);
    EVP_PKEY_free(k->pub);
    free(k);
}

bool wsf_jwt_keys_has_any(const wsf_jwt_keys *k)
{
    return k->secret != NULL || k->pub != NULL;
}

int wsf_jwt_keys_set_secret(wsf_jwt_keys *k, const uint8_t *secret, size_t len)
{
    if (len == 0)
        return -EINVAL;
    if (k->secret != NULL)
        OPENSSL_cleanse(k->secret, k->secret_len);
    free(k->secret);
    k->secret = wsf_xmalloc(len);
    memcpy(k->secret, secret, len);
    k->secret_len = len;
    return 0;
}

int wsf_jwt_keys_set_pem(wsf_jwt_keys *k, const char *pem, size_t len, const char **why)
{
    int rc = -EINVAL;
    EVP_PKEY *pkey = NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL || len > WSF_JWT_MAX_KEYFILE) {
        *why = "cannot read the key";
        goto out;
    }
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (pkey == NULL) {
        *why = "not a PEM public key";
        goto out;
    }
    enum wsf_jwt_alg alg;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        if (EVP_PKEY_get_bits(pkey) < 2048) {
            *why = "RSA key shorter than 2048 bits";
            goto out;
        }
        alg = WSF_JWT_RS256;
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64];
        size_t glen = 0;
        if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &glen) != 1 ||
            (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
            *why = "EC key not on P-256 (ES256)";
            goto out;
        }
        alg = WSF_JWT_ES256;
    } else {
        *why = "public key neither RSA nor EC P-256";
        goto out;
    }
    EVP_PKEY_free(k->pub);
    k->pub = pkey;
    k->pub_alg = alg;
    pkey = NULL;
    rc = 0;
out:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return rc;
}

/* Reads a small file whole; mode checks are the caller's. */
static int wsf_jwt_read_file(wsf_buf *out, int fd, const char **why)
{
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            *why = "cannot read";
            return -errno;
        }
        if (n == 0)
            return 0;
        if (out->len + (size_t)n > WSF_JWT_MAX_KEYFILE) {
            *why = "file too large for a key";
            return -EFBIG;
        }
        wsf_buf_append(out, chunk, (size_t)n);
    }
}

static int wsf_jwt_open(const char *path, struct stat *st, const char **why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not hang */
    if (fd == -1) {
        *why = "cannot open";
        return -errno;
    }
    if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
        *why = "not a regular file";
        close(fd);
        return -EINVAL;
    }
    return fd;
}

int wsf_jwt_keys_load_secret(wsf_jwt_keys *k, const char *path, const char **why)
{
    struct stat st;
    wsf_buf b = {0};
    int fd = wsf_jwt_open(path, &st, why);
    if (fd < 0)
        return fd;
    int rc = -EPERM;
    if ((st.st_mode & 077) != 0) {
        /* A secret others can read is a secret others can sign with. */
        *why = "must not be accessible by group or others (chmod 0600)";
        goto out;
    }
    rc = wsf_jwt_read_file(&b, fd, why);
    if (rc != 0)
        goto out;
    size_t len = b.len;
    if (len > 0 && b.data[len - 1] == '\n')
        len--;
    if (len > 0 && b.data[len - 1] == '\r')
        len--;
    rc = -EINVAL;
    if (len == 0) {
        *why = "empty secret";
        goto out;
    }
    rc = wsf_jwt_keys_set_secret(k, b.data, len);
out:
    if (b.data != NULL)
        OPENSSL_cleanse(b.data, b.cap);
    wsf_buf_fini(&b);
    close(fd);
    return rc;
}

int wsf_jwt_keys_load_pem(wsf_jwt_keys *k, const char *path, const char **why)
{
    struct stat st;
    wsf_buf b = {0};
    int fd = wsf_jwt_open(path, &st, why);
    if (fd < 0)
        return fd;
    int rc = wsf_jwt_read_file(&b, fd, why);
    if (rc == 0)
        rc = wsf_jwt_keys_set_pem(k, (const char *)b.data, b.len, why);
    wsf_buf_fini(&b);
    close(fd);
    return rc;
}

/* base64url without padding (RFC 7515 §2). Returns the decoded length, or -1 for a character
 * outside the alphabet, an impossible length or non-zero unused bits (so that one signature has
 * one spelling). out must hold len * 3 / 4 + 1 bytes. */
static ssize_t wsf_jwt_b64url(uint8_t *out, const char *in, size_t len)
{
    if (len % 4 == 1)
        return -1;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        uint32_t v;
        if (c >= 'A' && c <= 'Z')
            v = (uint32_t)(c - 'A');
        else if (c >= 'a' && c <= 'z')
            v = (uint32_t)(c - 'a') + 26;
        else if (c >= '0' && c <= '9')
            v = (uint32_t)(c - '0') + 52;
        else if (c == '-')
            v = 62;
        else if (c == '_')
            v = 63;
        else
            return -1;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -1;
    return (ssize_t)n;
}

static bool wsf_jwt_hs256_ok(const wsf_jwt_keys *k, const char *input, size_t ilen,
                             const uint8_t *sig, size_t slen)
{
    uint8_t mac[32];
    size_t mlen = 0;
    if (k->secret == NULL || slen != sizeof mac)
        return false;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->secret, k->secret_len,
                  (const unsigned char *)input, ilen, mac, sizeof mac, &mlen) == NULL ||
        mlen != sizeof mac)
        return false;
    return CRYPTO_memcmp(mac, sig, sizeof mac) == 0;
}

/* ES256's r||s as the DER ECDSA-Sig-Value EVP verifies. Returns the DER length or -1. */
static int wsf_jwt_es256_der(unsigned char **der, const uint8_t *sig, size_t slen)
{
    if (slen != 64)
        return -1;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    int n = -1;
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    *der = NULL;
    n = i2d_ECDSA_SIG(es, der);
out:
    ECDSA_SIG_free(es);
    return n;
}

static bool wsf_jwt_pub_ok(const wsf_jwt_keys *k, enum wsf_jwt_alg alg, const char *input,
                           size_t ilen, const uint8_t *sig, size_t slen)
{
    if (k->pub == NULL || k->pub_alg != alg)
        return false;
    unsigned char *der = NULL;
    const unsigned char *vsig = sig;
    size_t vlen = slen;
    if (alg == WSF_JWT_ES256) {
        int n = wsf_jwt_es256_der(&der, sig, slen);
        if (n <= 0)
            return false;
        vsig = der;
        vlen = (size_t)n;
    }
    bool ok = false;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pub) == 1 &&
        EVP_DigestVerify(md, vsig, vlen, (const unsigned char *)input, ilen) == 1)
        ok = true;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

/* Decodes one base64url JSON object segment. */
static json_t *wsf_jwt_json(const char *seg, size_t len)
{
    uint8_t *buf = wsf_xmalloc(len * 3 / 4 + 1);
    json_t *j = NULL;
    ssize_t n = wsf_jwt_b64url(buf, seg, len);
    if (n > 0)
        j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static int wsf_jwt_header_alg(enum wsf_jwt_alg *out, const char *seg, size_t len)
{
    json_t *h = wsf_jwt_json(seg, len);
    int rc = WSF_JWT_BAD;
    if (h == NULL || json_object_get(h, "crit") != NULL)
        goto out;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    if (alg == NULL)
        goto out;
    if (strcmp(alg, "HS256") == 0)
        *out = WSF_JWT_HS256;
    else if (strcmp(alg, "RS256") == 0)
        *out = WSF_JWT_RS256;
    else if (strcmp(alg, "ES256") == 0)
        *out = WSF_JWT_ES256;
    else
        goto out;
    rc = 0;
out:
    json_decref(h);
    return rc;
}

/* A NumericDate claim: absent (0, *has false), a finite number, or refused. */
static int wsf_jwt_date(int64_t *out, bool *has, const json_t *v)
{
    *has = v != NULL;
    if (v == NULL)
        return 0;
    if (!json_is_number(v))
        return WSF_JWT_BAD;
    double d = json_number_value(v);
    if (!isfinite(d) || d < -9e15 || d > 9e15)
        return WSF_JWT_BAD;
    *out = (int64_t)floor(d);
    return 0;
}

static bool wsf_jwt_aud_ok(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return false;
    size_t i;
    const json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

static int wsf_jwt_claims_read(wsf_jwt_claims *out, const json_t *p, const wsf_jwt_opts *o)
{
    int64_t exp = 0, nbf = 0;
    bool has_exp, has_nbf;
    if (wsf_jwt_date(&exp, &has_exp, json_object_get(p, "exp")) != 0 || !has_exp ||
        wsf_jwt_date(&nbf, &has_nbf, json_object_get(p, "nbf")) != 0)
        return WSF_JWT_BAD;
    if (has_nbf && nbf > o->now + (int64_t)o->leeway_s)
        return WSF_JWT_BAD;
    if (o->audience != NULL && !wsf_jwt_aud_ok(json_object_get(p, "aud"), o->audience))
        return WSF_JWT_BAD;
    if (o->issuer != NULL) {
        const char *iss = json_string_value(json_object_get(p, "iss"));
        if (iss == NULL || strcmp(iss, o->issuer) != 0)
            return WSF_JWT_BAD;
    }
    const json_t *sub = json_object_get(p, "sub");
    if (sub != NULL && (!json_is_string(sub) || json_string_length(sub) > WSF_JWT_MAX_SUB ||
                        strlen(json_string_value(sub)) != json_string_length(sub)))
        return WSF_JWT_BAD;
    const json_t *chs = json_object_get(p, "channels");
    if (chs != NULL && (!json_is_array(chs) || json_array_size(chs) > WSF_JWT_MAX_CHANNELS))
        return WSF_JWT_BAD;
    size_t i;
    const json_t *v;
    json_array_foreach(chs, i, v)
    {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
            return WSF_JWT_BAD;
    }
    /* Expiry last: a token that is wrong in any other way is bad, not merely expired. */
    if (o->now >= exp + (int64_t)o->leeway_s)
        return WSF_JWT_EXPIRED;
    memset(out, 0, sizeof *out);
    if (sub != NULL)
        memcpy(out->sub, json_string_value(sub), json_string_length(sub) + 1);
    out->exp = exp;
    out->nchannels = json_array_size(chs);
    if (out->nchannels > 0) {
        out->channels = wsf_xcalloc(out->nchannels, sizeof *out->channels);
        json_array_foreach(chs, i, v)
        {
            out->channels[i] = wsf_xmalloc(json_string_length(v) + 1);
            memcpy(out->channels[i], json_string_value(v), json_string_length(v) + 1);
        }
    }
    return 0;
}

int wsf_jwt_verify(wsf_jwt_claims *out, const wsf_jwt_keys *k, const char *token, size_t len,
                   const wsf_jwt_opts *o)
{
    if (token == NULL || len == 0 || len > WSF_JWT_MAX_TOKEN)
        return WSF_JWT_BAD;
    const char *d1 = memchr(token, '.', len);
    if (d1 == NULL)
        return WSF_JWT_BAD;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (d2 == NULL)
        return WSF_JWT_BAD;
    size_t hlen = (size_t)(d1 - token);
    size_t plen = (size_t)(d2 - d1 - 1);
    size_t slen = len - (size_t)(d2 + 1 - token);
    if (hlen == 0 || plen == 0 || slen == 0)
        return WSF_JWT_BAD;
    enum wsf_jwt_alg alg;
    if (wsf_jwt_header_alg(&alg, token, hlen) != 0)
        return WSF_JWT_BAD;
    uint8_t *sig = wsf_xmalloc(slen * 3 / 4 + 1);
    ssize_t n = wsf_jwt_b64url(sig, d2 + 1, slen);
    bool ok = false;
    size_t ilen = (size_t)(d2 - token); /* header.payload, as signed */
    if (n > 0 && alg == WSF_JWT_HS256)
        ok = wsf_jwt_hs256_ok(k, token, ilen, sig, (size_t)n);
    else if (n > 0)
        ok = wsf_jwt_pub_ok(k, alg, token, ilen, sig, (size_t)n);
    free(sig);
    if (!ok)
        return WSF_JWT_BAD;
    json_t *p = wsf_jwt_json(d1 + 1, plen);
    if (p == NULL)
        return WSF_JWT_BAD;
    int rc = wsf_jwt_claims_read(out, p, o);
    json_decref(p);
    return rc;
}

bool wsf_jwt_claims_has_channel(const wsf_jwt_claims *c, const char *channel)
{
    for (size_t i = 0; i < c->nchannels; i++)
        if (strcmp(c->channels[i], channel) == 0)
            return true;
    return false;
}

void wsf_jwt_claims_fini(wsf_jwt_claims *c)
{
    for (size_t i = 0; i < c->nchannels; i++)
        free(c->channels[i]);
    free(c->channels);
    c->channels = NULL;
    c->nchannels = 0;
}
