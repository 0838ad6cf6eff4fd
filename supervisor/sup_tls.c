/* The supervisor's check of the [tls] certificate and key. */
#include "sup_tls.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sup_ctx.h"
#include "sup_slot.h"
#include "wsf_buf.h"
#include "wsf_log.h"

#define SUP_TICKET_LINE 162 /* NAME AES HMAC: 32 + 1 + 64 + 1 + 64 hex digits and spaces */

struct sup_tickets {
    struct event *rotate_ev;
    char current[SUP_TICKET_LINE + 1];
    char previous[SUP_TICKET_LINE + 1]; /* empty: none */
};

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

/* A fresh key as a line of the file. Returns 0 or -1. */
static int sup_tickets_make(char out[SUP_TICKET_LINE + 1])
{
    unsigned char raw[80];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < sizeof raw; i++) {
        if (i == 16 || i == 48)
            out[n++] = ' ';
        n += (size_t)snprintf(out + n, SUP_TICKET_LINE + 1 - n, "%02x", raw[i]);
    }
    return 0;
}

/* The first line of an existing key file, when it is a key. */
static void sup_tickets_read_current(char out[SUP_TICKET_LINE + 1], const char *path)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[SUP_TICKET_LINE + 8];
    if (fgets(line, sizeof line, f) != NULL && strlen(line) == SUP_TICKET_LINE + 1 &&
        line[SUP_TICKET_LINE] == '\n' && strspn(line, "0123456789abcdef ") == SUP_TICKET_LINE) {
        memcpy(out, line, SUP_TICKET_LINE);
        out[SUP_TICKET_LINE] = '\0';
    }
    fclose(f);
}

/* Replaces the file at once (rename): a worker starting meanwhile reads the old or the new. */
static int sup_tickets_write(const sup_ctx *ctx, const struct sup_tickets *t)
{
    char tmp[SUP_CONFIG_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", ctx->cfg.tls.tickets);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1) {
        wsf_log_error("ticket keys %s: %s", tmp, strerror(errno));
        return -1;
    }
    char buf[2 * (SUP_TICKET_LINE + 1) + 1];
    int n =
        snprintf(buf, sizeof buf, "%s\n%s%s", t->current, t->previous, t->previous[0] ? "\n" : "");
    bool ok = fchmod(fd, 0600) == 0 && write(fd, buf, (size_t)n) == n;
    int err = errno;
    close(fd);
    if (!ok || rename(tmp, ctx->cfg.tls.tickets) != 0) {
        wsf_log_error("ticket keys %s: %s", ctx->cfg.tls.tickets, strerror(ok ? errno : err));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void sup_tickets_arm(sup_ctx *ctx)
{
    uint64_t ms = ctx->cfg.tls.ticket_rotation_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    event_add(ctx->tickets->rotate_ev, &tv);
}

static void sup_tickets_on_rotate(evutil_socket_t fd, short what, void *arg)
{
    sup_ctx *ctx = arg;
    struct sup_tickets *t = ctx->tickets;
    char next[SUP_TICKET_LINE + 1];
    (void)fd;
    (void)what;
    if (sup_tickets_make(next) == 0) {
        memcpy(t->previous, t->current, sizeof t->previous);
        memcpy(t->current, next, sizeof t->current);
        if (sup_tickets_write(ctx, t) == 0) {
            unsigned sent = 0;
            for (unsigned i = 0; i < ctx->nslots; i++) {
                wsf_command cmd = {.kind = WSF_CMD_RELOAD};
                sent += ctx->slots[i].has_peer && sup_send_command(ctx, &ctx->slots[i], &cmd) == 0;
            }
            wsf_log_info("TLS session ticket key rotated; %u workers told", sent);
        }
    }
    sup_tickets_arm(ctx);
}

int sup_tls_tickets_start(sup_ctx *ctx)
{
    if (ctx->cfg.tls.nlisten == 0)
        return 0;
    int n = snprintf(ctx->cfg.tls.tickets, sizeof ctx->cfg.tls.tickets, "%s/tls-tickets",
                     ctx->rundir->path);
    if (n < 0 || (size_t)n >= sizeof ctx->cfg.tls.tickets) {
        wsf_log_error("ticket keys: run directory path too long");
        return -1;
    }
    struct sup_tickets *t = wsf_xcalloc(1, sizeof *t);
    ctx->tickets = t;
    sup_tickets_read_current(t->previous, ctx->cfg.tls.tickets);
    if (sup_tickets_make(t->current) != 0) {
        wsf_log_error("ticket keys: no random bytes");
        return -1;
    }
    if (sup_tickets_write(ctx, t) != 0)
        return -1;
    t->rotate_ev = evtimer_new(ctx->base, sup_tickets_on_rotate, ctx);
    if (t->rotate_ev == NULL)
        return -1;
    sup_tickets_arm(ctx);
    return 0;
}

void sup_tls_tickets_fini(sup_ctx *ctx)
{
    struct sup_tickets *t = ctx->tickets;
    if (t == NULL)
        return;
    if (t->rotate_ev != NULL)
        event_free(t->rotate_ev);
    OPENSSL_cleanse(t, sizeof *t);
    free(t);
    ctx->tickets = NULL;
}
