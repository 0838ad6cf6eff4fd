/* The wsworker flags that carry wsfleetd's [worker], [tls], [drills] and [auth] settings. */
#include "sup_cfgargs.h"

#include <stdio.h>
#include <string.h>

#include "sup_auth.h"
#include "sup_cfgkeys.h"

/* The [worker] keys, in the order their flags are passed to wsworker. */
static const struct sup_worker_flag {
    int key;
    const char *flag;
} sup_worker_flags[] = {
    {K_MAX_MESSAGE, "--max-message"},
    {K_MAX_BACKLOG, "--max-backlog"},
    {K_MAX_CONNECTIONS, "--max-connections"},
    {K_HANDSHAKE, "--handshake-timeout"},
    {K_PING, "--ping-interval"},
    {K_IDLE, "--idle-timeout"},
    {K_CLOSE, "--close-timeout"},
    {K_DEFLATE, "--deflate"},
    {K_DEFLATE_CT, "--deflate-context-takeover"},
    {K_DEFLATE_MIN, "--deflate-min-size"},
    {K_MSG_RATE, "--msg-rate"},
    {K_MSG_BURST, "--msg-burst"},
    {K_CONNS_PER_IP, "--max-conns-per-ip"},
};

/* The [worker] flags, --origins, --server-header, --drills-max-memory and five of [tls]. */
_Static_assert(sizeof sup_worker_flags / sizeof sup_worker_flags[0] + 8 <= SUP_WORKER_FLAGS_MAX,
               "sup_worker_args holds SUP_WORKER_FLAGS_MAX flags: raise it");

/* Appends "flag value"; value in milliseconds is written as seconds when ms. */
static void sup_add_arg(sup_worker_args *out, const char *flag, uint64_t value, bool ms)
{
    char *v = out->vals[out->argc / 2];
    if (ms)
        snprintf(v, sizeof out->vals[0], "%llu.%03u", (unsigned long long)(value / 1000),
                 (unsigned)(value % 1000));
    else
        snprintf(v, sizeof out->vals[0], "%llu", (unsigned long long)value);
    out->argv[out->argc++] = (char *)flag;
    out->argv[out->argc++] = v;
}

size_t sup_config_worker_args(sup_worker_args *out, const sup_config *cfg)
{
    const char *base = (const char *)cfg;
    out->argc = 0;
    for (size_t i = 0; i < sizeof sup_worker_flags / sizeof sup_worker_flags[0]; i++) {
        const sup_key *k = &sup_keys[sup_worker_flags[i].key];
        uint64_t n;
        uint32_t n32;
        if (k->type == SUP_T_U64) {
            memcpy(&n, base + k->off, sizeof n);
        } else {
            memcpy(&n32, base + k->off, sizeof n32);
            n = n32;
        }
        if (n == 0)
            continue; /* not set (or off): wsworker's own default */
        if (k->type == SUP_T_BOOL) {
            out->argv[out->argc++] = (char *)sup_worker_flags[i].flag;
            out->argv[out->argc++] = "on";
            continue;
        }
        if (k->type == SUP_T_U32Z)
            n--;
        sup_add_arg(out, sup_worker_flags[i].flag, n, k->type == SUP_T_MS32);
    }
    /* The strings are copied: argv must not point into a configuration a reload replaces. */
    if (cfg->worker.origins[0] != '\0') {
        snprintf(out->origins, sizeof out->origins, "%s", cfg->worker.origins);
        out->argv[out->argc++] = "--origins";
        out->argv[out->argc++] = out->origins;
    }
    if (cfg->worker.server_header[0] != '\0') {
        snprintf(out->server_header, sizeof out->server_header, "%s", cfg->worker.server_header);
        out->argv[out->argc++] = "--server-header";
        out->argv[out->argc++] = out->server_header;
    }
    static const char *const tls_flags[5] = {"--cert", "--key", "--ciphers", "--tls-protocols",
                                             "--ticket-keys"};
    const char *tls_vals[5] = {cfg->tls.cert, cfg->tls.key, cfg->tls.ciphers, cfg->tls.protocols,
                               cfg->tls.tickets};
    for (size_t i = 0; i < 5 && cfg->tls.nlisten > 0; i++) {
        if (tls_vals[i][0] == '\0')
            continue;
        snprintf(out->tls[i], sizeof out->tls[i], "%s", tls_vals[i]);
        out->argv[out->argc++] = (char *)tls_flags[i];
        out->argv[out->argc++] = out->tls[i];
    }
    /* Without it the worker refuses every fault, whoever sends it. */
    if (cfg->drills_enabled)
        sup_add_arg(out, "--drills-max-memory", cfg->drills_max_memory, false);
    sup_auth_worker_args(out->argv, &out->argc, cfg);
    out->argv[out->argc] = NULL;
    return out->argc;
}
