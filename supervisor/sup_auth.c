/* wsfleetd's [auth]: key files checked before any worker needs them, and their flags. */
#include "sup_auth.h"

#include <stdbool.h>
#include <stdio.h>

#include "sup_config.h"
#include "wsf_jwt.h"

int sup_auth_check(const sup_config *cfg, char *why, size_t len)
{
    bool secret = cfg->auth_secret_file[0] != '\0';
    bool pub = cfg->auth_public_key[0] != '\0';
    if (!secret && !pub) {
        if (!cfg->auth_required)
            return 0;
        snprintf(why, len, "[auth] required = yes needs hmac_secret_file or public_key");
        return -1;
    }
    /* A worker would refuse the same file with exit 100 over and over: refuse it once here. */
    wsf_jwt_keys *k = wsf_jwt_keys_new();
    const char *reason = NULL;
    int rc = 0;
    if (secret && wsf_jwt_keys_load_secret(k, cfg->auth_secret_file, &reason) != 0) {
        snprintf(why, len, "[auth] hmac_secret_file %s: %s", cfg->auth_secret_file, reason);
        rc = -1;
    } else if (pub && wsf_jwt_keys_load_pem(k, cfg->auth_public_key, &reason) != 0) {
        snprintf(why, len, "[auth] public_key %s: %s", cfg->auth_public_key, reason);
        rc = -1;
    }
    wsf_jwt_keys_free(k);
    return rc;
}

static void sup_auth_add(char **argv, size_t *argc, const char *flag, const char *value)
{
    if (value[0] == '\0')
        return;
    argv[(*argc)++] = (char *)flag;
    argv[(*argc)++] = (char *)value;
}

void sup_auth_worker_args(char **argv, size_t *argc, const sup_config *cfg)
{
    sup_auth_add(argv, argc, "--auth-hmac-secret-file", cfg->auth_secret_file);
    sup_auth_add(argv, argc, "--auth-public-key", cfg->auth_public_key);
    sup_auth_add(argv, argc, "--auth-required", cfg->auth_required ? "yes" : "");
    sup_auth_add(argv, argc, "--auth-audience", cfg->auth_audience);
    sup_auth_add(argv, argc, "--auth-issuer", cfg->auth_issuer);
}
