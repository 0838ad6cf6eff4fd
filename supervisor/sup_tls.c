/* The supervisor's check of the [tls] certificate and key. */
#include "sup_tls.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replaces path with its absolute form. Returns 0, or -1 with err set. */
static int sup_tls_abs(char *path, const char *what, char *err, size_t errlen)
{
    char abs[PATH_MAX];
    if (realpath(path, abs) == NULL) {
        snprintf(err, errlen, "[tls] %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    if (strlen(abs) >= SUP_CONFIG_PATH_MAX) {
        snprintf(err, errlen, "[tls] %s %s: path too long", what, path);
        return -1;
    }
    memcpy(path, abs, strlen(abs) + 1);
    return 0;
}

/* err = "[tls] what path: OpenSSL's reason". */
static void sup_tls_why(char *err, size_t errlen, const char *what, const char *path)
{
    unsigned long e = ERR_get_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    snprintf(err, errlen, "[tls] %s %s: %s", what, path, reason ? reason : "unknown error");
    ERR_clear_error();
}

int sup_tls_check(sup_config *cfg, char *err, size_t errlen)
{
    int rc = -1;
    sup_tls_settings *t = &cfg->tls;
    if (t->nlisten == 0)
        return 0;
    if (sup_tls_abs(t->cert, "cert", err, errlen) != 0 ||
        sup_tls_abs(t->key, "key", err, errlen) != 0)
        return -1;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        sup_tls_why(err, errlen, "cannot create a TLS context for", t->cert);
        return -1;
    }
    if (t->ciphers[0] != '\0' && SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1)
        sup_tls_why(err, errlen, "ciphers", t->ciphers);
    else if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1)
        sup_tls_why(err, errlen, "cert", t->cert);
    else if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1)
        sup_tls_why(err, errlen, "key", t->key);
    else if (SSL_CTX_check_private_key(ctx) != 1)
        sup_tls_why(err, errlen, "key does not match cert:", t->key);
    else
        rc = 0;
    SSL_CTX_free(ctx);
    return rc;
}
