/* The embedded nats-server's config file, command line, ports file and client URL. */
#include "wsf_natsd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A value that can sit between double quotes in the config file as is. */
static bool quotable(const char *s)
{
    if (s == NULL || *s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\') {
            return false;
        }
    }
    return true;
}

/* Characters a URL's user part may hold without percent-encoding (RFC 3986 unreserved). */
static bool url_safe(const char *s)
{
    if (s == NULL || *s == '\0') {
        return false;
    }
    return s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")] ==
           '\0';
}

static int finish(int n, size_t size)
{
    if (n < 0) {
        return -EINVAL;
    }
    return (size_t)n >= size ? -ENOSPC : n;
}

int wsf_natsd_config(char *out, size_t size, const struct wsf_natsd_conf *c)
{
    const char *host = c->host != NULL ? c->host : "127.0.0.1";
    const char *name = c->name != NULL ? c->name : "wsfleet";
    if (!quotable(host) || !quotable(name) || !quotable(c->token) || !quotable(c->store_dir) ||
        (c->ports_dir != NULL && !quotable(c->ports_dir))) {
        return -EINVAL;
    }
    if (c->port != -1 && (c->port < 1 || c->port > 65535)) {
        return -EINVAL;
    }
    int n = snprintf(out, size,
                     "# nats-server for wsfleet: JetStream on loopback, token authorization.\n"
                     "server_name: \"%s\"\n"
                     "host: \"%s\"\n"
                     "port: %d\n"
                     "jetstream { store_dir: \"%s\" }\n"
                     "authorization { token: \"%s\" }\n"
                     "%s%s%s",
                     name, host, c->port, c->store_dir, c->token,
                     c->ports_dir != NULL ? "ports_file_dir: \"" : "",
                     c->ports_dir != NULL ? c->ports_dir : "", c->ports_dir != NULL ? "\"\n" : "");
    return finish(n, size);
}

int wsf_natsd_argv(const char **argv, size_t slots, const char *exe, const char *conf_path)
{
    if (slots < 4) {
        return -ENOSPC;
    }
    argv[0] = exe;
    argv[1] = "-c";
    argv[2] = conf_path;
    argv[3] = NULL;
    return 3;
}

int wsf_natsd_parse_ports(int *out, const char *text, size_t len)
{
    static const char scheme[] = "nats://";
    for (size_t i = 0; i + sizeof(scheme) - 1 <= len; i++) {
        if (memcmp(text + i, scheme, sizeof(scheme) - 1) != 0) {
            continue;
        }
        /* The port follows the last ':' before the closing quote (hosts may be [::1]). */
        size_t end = i + sizeof(scheme) - 1;
        while (end < len && text[end] != '"') {
            end++;
        }
        size_t colon = end;
        while (colon > i && text[colon - 1] != ':') {
            colon--;
        }
        if (colon <= i + sizeof(scheme) - 1 || colon == end || end - colon > 5) {
            return -EINVAL;
        }
        int port = 0;
        for (size_t k = colon; k < end; k++) {
            if (text[k] < '0' || text[k] > '9') {
                return -EINVAL;
            }
            port = port * 10 + (text[k] - '0');
        }
        if (port < 1 || port > 65535) {
            return -EINVAL;
        }
        *out = port;
        return 0;
    }
    return -EINVAL;
}

int wsf_natsd_url(char *out, size_t size, const char *host, int port, const char *token)
{
    if (port < 1 || port > 65535 || !url_safe(token) || !quotable(host)) {
        return -EINVAL;
    }
    return finish(snprintf(out, size, "nats://%s@%s:%d", token, host, port), size);
}
