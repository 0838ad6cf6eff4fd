/* NATS nkeys: the seed's decoding and the public key's encoding (base32, CRC-16/XMODEM), the
 * Ed25519 key pair through libcrypto. */
#include "wsf_nkey.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#define WSF_NKEY_PREFIX_SEED (18u << 3) /* 'S' */
#define WSF_NKEY_PREFIX_USER (20u << 3) /* 'U' */

static const char wsf_b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int wsf_b32_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= '2' && ch <= '7')
        return ch - '2' + 26;
    return -1;
}

static uint16_t wsf_crc16(const unsigned char *p, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

/* Decodes len base32 characters into out (len * 5 / 8 bytes). Returns the byte count or -1. */
static long wsf_b32_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = wsf_b32_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (n == outlen)
                return -1;
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
        acc &= (1u << bits) - 1;
    }
    return (long)n;
}

static void wsf_b32_encode(const unsigned char *in, size_t len, char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[n++] = wsf_b32[(acc >> bits) & 31];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0)
        out[n++] = wsf_b32[(acc << (5 - bits)) & 31];
    out[n] = '\0';
}

bool wsf_nkey_has_jwt(const char *text, size_t len)
{
    return memmem(text, len, "-----BEGIN NATS USER JWT-----", 29) != NULL;
}

long wsf_nkey_find_seed(const char *text, size_t len)
{
    for (size_t i = 0; i + WSF_NKEY_SEED_LEN <= len; i++) {
        if (text[i] != 'S' || text[i + 1] != 'U' || (i > 0 && wsf_b32_value(text[i - 1]) >= 0))
            continue;
        size_t j = i;
        while (j < len && wsf_b32_value(text[j]) >= 0)
            j++;
        if (j - i == WSF_NKEY_SEED_LEN)
            return (long)i;
        i = j - 1;
    }
    return -1;
}

int wsf_nkey_public(const char *seed, size_t len, char *out)
{
    unsigned char raw[36], pub[35];
    if (len != WSF_NKEY_SEED_LEN || wsf_b32_decode(seed, len, raw, sizeof raw) != 36)
        return -1;
    uint16_t crc = (uint16_t)(raw[34] | raw[35] << 8);
    if (wsf_crc16(raw, 34) != crc || (raw[0] & 0xf8) != WSF_NKEY_PREFIX_SEED ||
        (unsigned)(((raw[0] & 7) << 5) | (raw[1] >> 3)) != WSF_NKEY_PREFIX_USER)
        return -1;
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 2, 32);
    size_t publen = 32;
    int rc = key != NULL && EVP_PKEY_get_raw_public_key(key, pub + 1, &publen) == 1 && publen == 32
                 ? 0
                 : -1;
    EVP_PKEY_free(key);
    memset(raw, 0, sizeof raw);
    if (rc != 0)
        return -1;
    pub[0] = WSF_NKEY_PREFIX_USER;
    crc = wsf_crc16(pub, 33);
    pub[33] = (unsigned char)(crc & 0xff);
    pub[34] = (unsigned char)(crc >> 8);
    wsf_b32_encode(pub, sizeof pub, out);
    return 0;
}
