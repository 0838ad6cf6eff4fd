/* The [admin] keys and their checks. */
#include "sup_admcfg.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "wsf_origin.h"
#include "wsf_parse.h"

void sup_admcfg_init(sup_admin_settings *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->listen, sizeof a->listen, "%s", SUP_ADMIN_DEFAULT_LISTEN);
    a->request_ms = SUP_ADMIN_DEFAULT_REQUEST_MS;
}

static int sup_admcfg_path(char *dst, const char *value, char *why, size_t whylen)
{
    if (value[0] == '\0') {
        snprintf(why, whylen, "empty value");
        return -1;
    }
    if (strlen(value) >= SUP_ADMIN_PATH_MAX) {
        snprintf(why, whylen, "longer than %d characters", SUP_ADMIN_PATH_MAX - 1);
        return -1;
    }
    snprintf(dst, SUP_ADMIN_PATH_MAX, "%s", value);
    return 0;
}

int sup_admcfg_set(sup_admin_settings *a, const char *name, const char *value, char *why,
                   size_t whylen)
{
    if (strcmp(name, "listen") == 0) {
        char host[SUP_ADMIN_ADDR_MAX], port[8];
        if (strcmp(value, "off") == 0) {
            a->listen[0] = '\0';
            return 0;
        }
        if (strlen(value) >= SUP_ADMIN_ADDR_MAX ||
            wsf_addr_split(host, sizeof host, port, sizeof port, value) != 0) {
            snprintf(why, whylen, "'%s' is not HOST:PORT ([V6HOST]:PORT for IPv6) or off", value);
            return -1;
        }
        snprintf(a->listen, sizeof a->listen, "%s", value);
        return 0;
    }
    if (strcmp(name, "tls_cert") == 0)
        return sup_admcfg_path(a->tls_cert, value, why, whylen);
    if (strcmp(name, "tls_key") == 0)
        return sup_admcfg_path(a->tls_key, value, why, whylen);
    if (strcmp(name, "cors_origins") == 0) {
        if (strlen(value) >= SUP_ADMIN_PATH_MAX) {
            snprintf(why, whylen, "longer than %d characters", SUP_ADMIN_PATH_MAX - 1);
            return -1;
        }
        if (wsf_origin_list_check(value) != 0) {
            snprintf(why, whylen,
                     "not a list of origins (scheme://host[:port], *.domain wildcards)");
            return -1;
        }
        snprintf(a->cors_origins, sizeof a->cors_origins, "%s", value);
        return 0;
    }
    if (strcmp(name, "request_timeout") == 0) {
        uint64_t ms;
        if (wsf_parse_ms_in(&ms, value, 1, SUP_ADMIN_MAX_REQUEST_MS) != 0) {
            snprintf(why, whylen, "'%s' is not a number of seconds from 0.001 to %d", value,
                     SUP_ADMIN_MAX_REQUEST_MS / 1000);
            return -1;
        }
        a->request_ms = (uint32_t)ms;
        return 0;
    }
    snprintf(why, whylen, "unknown key");
    return -2;
}

bool sup_admcfg_is_loopback(const char *listen)
{
    char host[SUP_ADMIN_ADDR_MAX], port[8];
    unsigned char addr[16];
    if (wsf_addr_split(host, sizeof host, port, sizeof port, listen) != 0)
        return false;
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, addr) == 1)
        return addr[0] == 127;
    if (inet_pton(AF_INET6, host, addr) == 1) {
        static const unsigned char one[16] = {[15] = 1};
        return memcmp(addr, one, sizeof one) == 0;
    }
    return false;
}

int sup_admcfg_check(const sup_admin_settings *a, char *why, size_t whylen)
{
    if ((a->tls_cert[0] != '\0') != (a->tls_key[0] != '\0')) {
        snprintf(why, whylen, "[admin] tls_cert and tls_key go together: set both or neither");
        return -1;
    }
    if (a->listen[0] != '\0' && a->tls_cert[0] == '\0' && !sup_admcfg_is_loopback(a->listen)) {
        snprintf(why, whylen,
                 "[admin] listen %s is not a loopback address: set [admin] tls_cert and tls_key "
                 "(the admin API must not travel in clear text)",
                 a->listen);
        return -1;
    }
    return 0;
}
