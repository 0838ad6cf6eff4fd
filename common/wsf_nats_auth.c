/* The NATS connection's credentials (.creds file or user nkey seed) and TLS options. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "wsf_buf.h"
#include "wsf_nats.h"
#include "wsf_nats_priv.h"
#include "wsf_nkey.h"

#define CREDS_MAX 65536

/* A .creds file goes to libnats whole; for a bare seed the public key the server expects is
 * derived here and libnats reads the seed again when it signs each nonce. */
static natsStatus set_credentials(natsOptions *o, const char *path)
{
    char pub[WSF_NKEY_PUBLIC_LEN + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return NATS_INVALID_ARG;
    }
    char *text = wsf_xmalloc(CREDS_MAX);
    size_t len = 0;
    ssize_t n;
    while (len < CREDS_MAX - 1 &&
           ((n = read(fd, text + len, CREDS_MAX - 1 - len)) > 0 || (n == -1 && errno == EINTR))) {
        len += n > 0 ? (size_t)n : 0;
    }
    close(fd);
    natsStatus s = NATS_INVALID_ARG;
    long at = wsf_nkey_find_seed(text, len);
    if (wsf_nkey_has_jwt(text, len)) {
        s = natsOptions_SetUserCredentialsFromFiles(o, path, NULL);
    } else if (at >= 0 && wsf_nkey_public(text + at, WSF_NKEY_SEED_LEN, pub) == 0) {
        s = natsOptions_SetNKeyFromSeed(o, pub, path);
    }
    memset(text, 0, CREDS_MAX);
    free(text);
    return s;
}

natsStatus wsf_nats_set_auth_tls(natsOptions *o, const struct wsf_nats_opts *opts)
{
    natsStatus s = NATS_OK;
    if (opts->credentials != NULL && opts->credentials[0] != '\0') {
        s = set_credentials(o, opts->credentials);
    }
    if (s == NATS_OK && opts->tls_ca != NULL && opts->tls_ca[0] != '\0') {
        s = natsOptions_SetSecure(o, true);
        if (s == NATS_OK) {
            s = natsOptions_LoadCATrustedCertificates(o, opts->tls_ca);
        }
    }
    if (s == NATS_OK && opts->tls_cert != NULL && opts->tls_cert[0] != '\0') {
        s = natsOptions_SetSecure(o, true);
        if (s == NATS_OK) {
            s = natsOptions_LoadCertificatesChain(o, opts->tls_cert, opts->tls_key);
        }
    }
    return s;
}
