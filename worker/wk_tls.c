/* TLS with OpenSSL on the connection's own socket. Contexts are reference-counted by OpenSSL: a
 * reload swaps the context new handshakes use, and each connection keeps the one it began with. */
#include "wk_tls.h"

#include <errno.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "wk_config.h"
#include "wk_conn.h"
#include "wsf_log.h"

/* TLS 1.2 suites: ECDHE key exchange (forward secrecy) and AEAD ciphers only. TLS 1.3's own
 * suites are all AEAD and forward-secret already. */
#define WK_TLS12_CIPHERS                                                                           \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* A session ticket key of the fleet (--ticket-keys): the same on every worker, so a ticket one
 * worker issued resumes on any other. */
typedef struct wk_ticket_key {
    unsigned char name[16];
    unsigned char aes[32];  /* AES-256-CBC */
    unsigned char hmac[32]; /* HMAC-SHA256 */
} wk_ticket_key;

struct wk_tls {
    SSL_CTX *ctx;          /* for new handshakes */
    wk_ticket_key keys[2]; /* current, then previous (still accepted, its tickets renewed) */
    int nkeys;             /* 0: OpenSSL's own per-process keys */
};

static char wk_tls_msg[512];

/* Formats why from OpenSSL's error queue (the oldest error is the cause) and empties it. */
static const char *wk_tls_why(const char *what, const char *path)
{
    unsigned long e = ERR_get_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    snprintf(wk_tls_msg, sizeof wk_tls_msg, "%s%s%s: %s", what, path ? " " : "", path ? path : "",
             reason ? reason : "unknown error");
    ERR_clear_error();
    return wk_tls_msg;
}

/* A path that cannot be opened says why in the system's words, not OpenSSL's. */
static const char *wk_tls_check_file(const char *what, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(wk_tls_msg, sizeof wk_tls_msg, "%s %s: %s", what, path, strerror(errno));
        return wk_tls_msg;
    }
    fclose(f);
    return NULL;
}

/* Reads the ticket key file: lines of NAME AES HMAC in hex (32, 64, 64 digits), newest first.
 * Returns 0 or -1 with why. */
static int wk_tls_load_tickets(wk_tls *t, const char *path, const char **why)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(wk_tls_msg, sizeof wk_tls_msg, "ticket keys %s: %s", path, strerror(errno));
        *why = wk_tls_msg;
        return -1;
    }
    wk_ticket_key keys[2];
    int n = 0;
    char line[256];
    while (n < 2 && fgets(line, sizeof line, f) != NULL) {
        unsigned char *parts[3] = {keys[n].name, keys[n].aes, keys[n].hmac};
        size_t lens[3] = {16, 32, 32};
        const char *p = line;
        bool ok = true;
        for (int i = 0; i < 3 && ok; i++) {
            while (*p == ' ')
                p++;
            for (size_t j = 0; j < lens[i] && ok; j++) {
                unsigned v;
                ok = sscanf(p, "%2x", &v) == 1 && p[0] != ' ' && p[1] != ' ';
                parts[i][j] = (unsigned char)v;
                p += 2;
            }
        }
        if (!ok) {
            fclose(f);
            snprintf(wk_tls_msg, sizeof wk_tls_msg, "ticket keys %s: malformed line", path);
            *why = wk_tls_msg;
            return -1;
        }
        n++;
    }
    fclose(f);
    if (n == 0) {
        snprintf(wk_tls_msg, sizeof wk_tls_msg, "ticket keys %s: no key", path);
        *why = wk_tls_msg;
        return -1;
    }
    memcpy(t->keys, keys, sizeof keys);
    t->nkeys = n;
    return 0;
}

/* Encrypts a new ticket with the current key, or finds the key of a presented one: 1 to use it,
 * 2 to use it and issue a fresh ticket (the previous key), 0 for a full handshake. */
static int wk_tls_ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
                            EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    wk_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    const wk_ticket_key *k = NULL;
    int rc = 1;
    if (enc) {
        k = &t->keys[0];
        if (RAND_bytes(iv, 16) != 1)
            return -1;
        memcpy(name, k->name, sizeof k->name);
    } else {
        for (int i = 0; i < t->nkeys && k == NULL; i++) {
            if (memcmp(name, t->keys[i].name, sizeof t->keys[i].name) == 0) {
                k = &t->keys[i];
                rc = i == 0 ? 1 : 2;
            }
        }
        if (k == NULL)
            return 0;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof k->hmac),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(hctx, params) != 1)
        return -1;
    int ok = enc ? EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv)
                 : EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv);
    return ok == 1 ? rc : -1;
}

static SSL_CTX *wk_tls_ctx_new(wk_tls *t, const wk_config *cfg, const char **why)
{
    SSL_CTX *ctx = NULL;
    ERR_clear_error();
    if (cfg->cert == NULL || cfg->key == NULL) {
        *why = "TLS listeners need --cert and --key";
        return NULL;
    }
    if ((*why = wk_tls_check_file("cert", cfg->cert)) != NULL ||
        (*why = wk_tls_check_file("key", cfg->key)) != NULL)
        return NULL;
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        *why = wk_tls_why("cannot create the TLS context", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, cfg->tls_min);
    SSL_CTX_set_max_proto_version(ctx, cfg->tls_max);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    /* Idle connections give their 2 x 16 KiB record buffers back; writes go a record at a time
     * from buffers that may move between retries (the batch becomes the connection's queue). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_set_cipher_list(ctx, cfg->ciphers ? cfg->ciphers : WK_TLS12_CIPHERS) != 1) {
        *why = wk_tls_why("ciphers", cfg->ciphers);
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
        *why = wk_tls_why("cert", cfg->cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1) {
        *why = wk_tls_why("key", cfg->key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        *why = wk_tls_why("key does not match cert", cfg->key);
        goto fail;
    }
    SSL_CTX_set_app_data(ctx, t);
    if (t->nkeys > 0)
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, wk_tls_ticket_cb);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

wk_tls *wk_tls_new(const wk_config *cfg, const char **why)
{
    wk_tls *t = wsf_xcalloc(1, sizeof *t);
    if (cfg->ticket_keys != NULL && wk_tls_load_tickets(t, cfg->ticket_keys, why) != 0) {
        free(t);
        return NULL;
    }
    t->ctx = wk_tls_ctx_new(t, cfg, why);
    if (t->ctx == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

int wk_tls_reload(wk_tls *t, const wk_config *cfg, const char **why)
{
    /* Rotated ticket keys apply to every context at once: they live in t, not in a context. */
    if (cfg->ticket_keys != NULL && wk_tls_load_tickets(t, cfg->ticket_keys, why) != 0)
        return -1;
    SSL_CTX *ctx = wk_tls_ctx_new(t, cfg, why);
    if (ctx == NULL)
        return -1;
    SSL_CTX_free(t->ctx); /* connections made with it hold their own references */
    t->ctx = ctx;
    return 0;
}

void wk_tls_free(wk_tls *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

int wk_tls_attach(wk_tls *t, wk_conn *c)
{
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL || SSL_set_fd(ssl, c->fd) != 1) {
        wsf_log_warn("conn fd=%d: %s", c->fd, wk_tls_why("cannot start TLS", NULL));
        SSL_free(ssl);
        return -1;
    }
    SSL_set_accept_state(ssl);
    wk_conn_rare(c)->ssl = ssl;
    c->tls = true;
    return 0;
}

int wk_tls_handshake(wk_conn *c, bool *want_write)
{
    struct wk_conn_rare *t = c->rare;
    ERR_clear_error();
    int r = SSL_accept(t->ssl);
    if (r == 1) {
        t->tls_ready = true;
        return 1;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want_write = e == SSL_ERROR_WANT_WRITE;
        return 0;
    }
    t->tls_failed = true;
    if (wsf_log_enabled(WSF_LOG_DEBUG))
        wsf_log_debug("conn fd=%d: TLS handshake failed: %s", c->fd, wk_tls_why("TLS", NULL));
    ERR_clear_error();
    return -1;
}

/* The result of a failed SSL call as a negative errno. */
static ssize_t wk_tls_error(wk_conn *c, int e)
{
    int err = errno;
    c->rare->tls_failed = true;
    ERR_clear_error();
    if (e == SSL_ERROR_SYSCALL && err != 0)
        return -err;
    return -EPROTO;
}

ssize_t wk_conn_io_read(wk_conn *c, void *buf, size_t len)
{
    if (!c->tls) {
        ssize_t n;
        do
            n = recv(c->fd, buf, len, 0);
        while (n == -1 && errno == EINTR);
        return n >= 0 ? n : -errno;
    }
    struct wk_conn_rare *t = c->rare;
    size_t got = 0;
    c->tls_rblocked = false;
    t->tls_again = false;
    while (got < len) {
        size_t want = len - got > INT_MAX ? INT_MAX : len - got;
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(t->ssl, (char *)buf + got, (int)want);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
            break;
        if (e == SSL_ERROR_WANT_WRITE) {
            c->tls_rblocked = true; /* a post-handshake message to send first */
            break;
        }
        if (got > 0) {
            t->tls_again = true; /* the end or the error is reported by the next read */
            break;
        }
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) {
            ERR_clear_error();
            return 0; /* close_notify, or the peer's TCP close without one */
        }
        return wk_tls_error(c, e);
    }
    return got > 0 ? (ssize_t)got : -EAGAIN;
}

ssize_t wk_conn_io_write(wk_conn *c, const void *buf, size_t len)
{
    if (!c->tls) {
        ssize_t n;
        do
            n = send(c->fd, buf, len, MSG_NOSIGNAL);
        while (n == -1 && errno == EINTR);
        return n >= 0 ? n : -errno;
    }
    struct wk_conn_rare *t = c->rare;
    if (t->tls_failed)
        return -EPIPE;
    ERR_clear_error();
    errno = 0;
    int n = SSL_write(t->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    if (n > 0)
        return n;
    int e = SSL_get_error(t->ssl, n);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
        return -EAGAIN;
    return wk_tls_error(c, e);
}

bool wk_conn_io_pending(const wk_conn *c)
{
    return c->tls && (c->rare->tls_again || SSL_pending(c->rare->ssl) > 0);
}

void wk_tls_shutdown(wk_conn *c)
{
    struct wk_conn_rare *t = c->rare;
    if (!c->tls || t->ssl == NULL || !t->tls_ready || t->tls_failed || t->tls_shut)
        return;
    t->tls_shut = true;
    ERR_clear_error();
    SSL_shutdown(t->ssl); /* our close_notify; the peer's is read (or not) while lingering */
    ERR_clear_error();
}

void wk_tls_conn_free(wk_conn *c)
{
    if (!c->tls || c->rare->ssl == NULL)
        return;
    SSL_free(c->rare->ssl);
    c->rare->ssl = NULL;
    c->rare->tls_failed = true; /* no more I/O */
}
