/* [fleet] name and the [nats] cluster settings: defaults and checks. */
#include "sup_natscfg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sup_config.h"
#include "wsf_nkey.h"

#define SUP_NATSCFG_CREDS_MAX 65536

void sup_natscfg_default_name(char *out, size_t size)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    size_t n = 0;
    for (const char *p = host; *p != '\0' && *p != '.' && n + 1 < size; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        out[n++] = ok ? ch : '-';
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, size, "wsfleet");
}

/* Reads path (at most SUP_NATSCFG_CREDS_MAX bytes) into buf and its permission bits into *mode.
 * Returns the length or -errno. */
static long sup_natscfg_read(const char *path, char *buf, size_t size, mode_t *mode)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) == -1) {
        int err = errno;
        close(fd);
        return -err;
    }
    *mode = st.st_mode & 07777;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            int err = errno;
            close(fd);
            return -err;
        }
        if (n == 0 || (len += (size_t)n) == size - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    return (long)len;
}

static int sup_natscfg_file(const char *key, const char *path, char *why, size_t whylen)
{
    char buf[SUP_NATSCFG_CREDS_MAX];
    mode_t mode = 0;
    long n = sup_natscfg_read(path, buf, sizeof buf, &mode);
    if (n < 0) {
        snprintf(why, whylen, "[nats] %s %s: %s", key, path, strerror((int)-n));
        return -1;
    }
    if (strcmp(key, "credentials") != 0)
        return 0;
    char pub[WSF_NKEY_PUBLIC_LEN + 1];
    long at = wsf_nkey_find_seed(buf, (size_t)n);
    int rc = 0;
    if ((mode & 077) != 0) {
        /* A secret others can read is no secret: refused, as ssh refuses such a key. */
        snprintf(why, whylen,
                 "[nats] credentials %s: mode %04o lets group or others at the secret; "
                 "chmod 600 it",
                 path, (unsigned)mode);
        rc = -1;
    } else if (at < 0 && !wsf_nkey_has_jwt(buf, (size_t)n)) {
        snprintf(why, whylen, "[nats] credentials %s: neither a .creds file nor a user nkey seed",
                 path);
        rc = -1;
    } else if (at >= 0 && wsf_nkey_public(buf + at, WSF_NKEY_SEED_LEN, pub) != 0) {
        snprintf(why, whylen, "[nats] credentials %s: the user nkey seed is damaged", path);
        rc = -1;
    }
    memset(buf, 0, sizeof buf);
    return rc;
}

int sup_natscfg_check(const sup_config *cfg, char *why, size_t whylen)
{
    static const char *const keys[] = {"credentials", "tls_ca", "tls_cert", "tls_key"};
    const char *paths[] = {cfg->nats_credentials, cfg->nats_tls_ca, cfg->nats_tls_cert,
                           cfg->nats_tls_key};
    for (size_t i = 0; i < 4; i++) {
        if (paths[i][0] != '\0' && cfg->nats_url[0] == '\0') {
            snprintf(why, whylen,
                     "[nats] %s needs [nats] url (the sidecar makes its own credentials)",
                     keys[i]);
            return -1;
        }
    }
    if ((cfg->nats_tls_cert[0] == '\0') != (cfg->nats_tls_key[0] == '\0')) {
        snprintf(why, whylen, "[nats] tls_cert and tls_key go together (a client certificate)");
        return -1;
    }
    if (cfg->channels_replicas > 1 && cfg->nats_url[0] == '\0') {
        snprintf(why, whylen,
                 "[channels] replicas = %u needs a NATS cluster ([nats] url); the sidecar is "
                 "one server",
                 cfg->channels_replicas);
        return -1;
    }
    for (size_t i = 0; i < 4; i++) {
        if (paths[i][0] != '\0' && sup_natscfg_file(keys[i], paths[i], why, whylen) != 0)
            return -1;
    }
    return 0;
}
