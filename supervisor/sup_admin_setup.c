/* The admin HTTP server's token file, TLS context and listening socket. */
#include "sup_admin_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sup_config.h"
#include "sup_ctx.h"
#include "wsf_log.h"
#include "wsf_parse.h"

int sup_admin_token_new(char out[SUP_ADMIN_TOKEN_LEN + 1], const char *path)
{
    unsigned char raw[SUP_ADMIN_TOKEN_LEN / 2];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        wsf_log_error("admin: no random bytes for the token");
        return -1;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1) {
        wsf_log_error("admin: cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    char line[SUP_ADMIN_TOKEN_LEN + 2];
    int n = snprintf(line, sizeof line, "%s\n", out);
    bool ok = fchmod(fd, 0600) == 0 && write(fd, line, (size_t)n) == n;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) == -1) {
        wsf_log_error("admin: cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

SSL_CTX *sup_admin_ssl_new(const sup_admin_settings *a, char *err, size_t errlen)
{
    SSL_CTX *ssl = SSL_CTX_new(TLS_server_method());
    if (ssl == NULL || SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ssl, a->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ssl, a->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ssl) != 1) {
        char why[256];
        ERR_error_string_n(ERR_get_error(), why, sizeof why);
        ERR_clear_error();
        snprintf(err, errlen, "[admin] tls_cert %s and tls_key %s: cannot load: %s", a->tls_cert,
                 a->tls_key, why);
        SSL_CTX_free(ssl);
        return NULL;
    }
    return ssl;
}

int sup_admin_check(const sup_config *cfg, char *err, size_t errlen)
{
    if (cfg->admin.listen[0] == '\0' || cfg->admin.tls_cert[0] == '\0')
        return 0;
    SSL_CTX *ssl = sup_admin_ssl_new(&cfg->admin, err, errlen);
    SSL_CTX_free(ssl);
    return ssl != NULL ? 0 : -1;
}

/* Logs the bound address and writes the dashboard's URL for it. */
static void sup_admin_name_url(char *url, size_t urlcap, int fd, bool tls)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[64] = "?", p[8] = "0";
    ss.ss_family = AF_UNSPEC;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, p, sizeof p,
                    NI_NUMERICHOST | NI_NUMERICSERV);
    wsf_log_info("admin listening on %s://%s%s%s:%s", tls ? "https" : "http",
                 ss.ss_family == AF_INET6 ? "[" : "", h, ss.ss_family == AF_INET6 ? "]" : "", p);
    /* A wildcard address names no machine: the host's name stands in for it. */
    bool any = strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0;
    char name[256] = "";
    if (any && (gethostname(name, sizeof name) != 0 || name[0] == '\0'))
        snprintf(name, sizeof name, "localhost");
    name[sizeof name - 1] = '\0';
    bool v6 = !any && ss.ss_family == AF_INET6;
    snprintf(url, urlcap, "%s://%s%s%s:%s/", tls ? "https" : "http", v6 ? "[" : "", any ? name : h,
             v6 ? "]" : "", p);
}

int sup_admin_listen_socket(int *out, char *url, size_t urlcap, const char *spec, bool tls)
{
    char host[SUP_ADMIN_ADDR_MAX], port[8];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    if (wsf_addr_split(host, sizeof host, port, sizeof port, spec) != 0 ||
        getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
        wsf_log_error("admin: cannot resolve [admin] listen %s", spec);
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    int rc = -1;
    if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1) {
        wsf_log_error("admin: socket: %s", strerror(errno));
    } else if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
        int err = errno;
        wsf_log_error("admin: cannot listen on %s: %s%s", spec, strerror(err),
                      err == EADDRINUSE ? " (set [admin] listen to a free port, or off)" : "");
        rc = err == EADDRINUSE || err == EADDRNOTAVAIL ? SUP_SOCKETS_TAKEN : -1;
    } else if (listen(fd, 64) == -1) {
        wsf_log_error("admin: listen on %s: %s", spec, strerror(errno));
    } else {
        rc = 0;
    }
    freeaddrinfo(ai);
    if (rc != 0) {
        if (fd != -1)
            close(fd);
        return rc;
    }
    sup_admin_name_url(url, urlcap, fd, tls);
    *out = fd;
    return 0;
}
