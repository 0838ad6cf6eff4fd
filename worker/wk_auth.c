/* wsworker's JWT admission: key loading, request tokens and token deadlines. */
#include "wk_auth.h"

#include <string.h>
#include <time.h>

#include "wk_config.h"
#include "wk_conn.h"
#include "wk_worker.h"
#include "wsf_log.h"

int wk_auth_init(wk_auth *a, const wk_config *cfg)
{
    memset(a, 0, sizeof *a);
    a->required = cfg->auth_required;
    a->audience = cfg->auth_audience;
    a->issuer = cfg->auth_issuer;
    if (cfg->auth_secret_file == NULL && cfg->auth_public_key == NULL) {
        if (a->required) {
            wsf_log_error("--auth-required yes needs --auth-hmac-secret-file or --auth-public-key");
            return -1;
        }
        return 0;
    }
    a->keys = wsf_jwt_keys_new();
    const char *why = NULL;
    if (cfg->auth_secret_file != NULL &&
        wsf_jwt_keys_load_secret(a->keys, cfg->auth_secret_file, &why) != 0) {
        wsf_log_error("auth: hmac secret file %s: %s", cfg->auth_secret_file, why);
        goto fail;
    }
    if (cfg->auth_public_key != NULL &&
        wsf_jwt_keys_load_pem(a->keys, cfg->auth_public_key, &why) != 0) {
        wsf_log_error("auth: public key %s: %s", cfg->auth_public_key, why);
        goto fail;
    }
    wsf_log_info("auth on: %s%s%s, tokens %s", cfg->auth_secret_file ? "HS256" : "",
                 cfg->auth_secret_file && cfg->auth_public_key ? " and " : "",
                 cfg->auth_public_key ? "a public key" : "", a->required ? "required" : "optional");
    return 0;
fail:
    wk_auth_fini(a);
    return -1;
}

void wk_auth_fini(wk_auth *a)
{
    wsf_jwt_keys_free(a->keys);
    a->keys = NULL;
}

int wk_auth_verify(const wk_auth *a, wsf_jwt_claims *out, const char *token, size_t len)
{
    if (a->keys == NULL)
        return WSF_JWT_BAD;
    wsf_jwt_opts o = {.now = (int64_t)time(NULL),
                      .leeway_s = WK_AUTH_LEEWAY_S,
                      .audience = a->audience,
                      .issuer = a->issuer};
    return wsf_jwt_verify(out, a->keys, token, len, &o);
}

/* The value of access_token in the query of target, or len 0. */
static ws_str wk_auth_query_token(ws_str target)
{
    ws_str none = {NULL, 0};
    const char *q = memchr(target.p, '?', target.len);
    if (q == NULL)
        return none;
    const char *end = target.p + target.len;
    for (const char *p = q + 1; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        static const char key[] = "access_token=";
        if ((size_t)(stop - p) >= sizeof key - 1 && memcmp(p, key, sizeof key - 1) == 0)
            return (ws_str){p + sizeof key - 1, (size_t)(stop - p) - (sizeof key - 1)};
        p = stop + 1;
    }
    return none;
}

int wk_auth_check_request(const wk_auth *a, const ws_http_request *req, int64_t *exp)
{
    *exp = 0;
    if (a->keys == NULL)
        return 0; /* auth off: a token is the application's business, not ours */
    ws_str tok = wk_auth_query_token(req->target);
    const ws_header *h = ws_http_find_header(req, "Authorization");
    if (tok.len == 0 && h != NULL && h->value.len > 7 && strncasecmp(h->value.p, "Bearer ", 7) == 0)
        tok = (ws_str){h->value.p + 7, h->value.len - 7};
    if (tok.len == 0)
        return a->required ? 401 : 0;
    wsf_jwt_claims c;
    if (wk_auth_verify(a, &c, tok.p, tok.len) != 0)
        return 401;
    *exp = c.exp;
    wsf_jwt_claims_fini(&c);
    return 0;
}

void wk_auth_set_deadline(wk_conn *c, int64_t exp)
{
    wk_ctx *ctx = c->ctx;
    if (exp <= 0) {
        if (c->rare != NULL)
            c->rare->auth_until = 0;
        return;
    }
    /* The token dies at exp + leeway; one tick more so the close never comes early. */
    int64_t left_ms = (exp + WK_AUTH_LEEWAY_S - (int64_t)time(NULL)) * 1000;
    uint64_t ticks = left_ms > 0 ? (uint64_t)left_ms / WK_TICK_MS + 1 : 0;
    uint64_t until = ctx->now + ticks;
    if (until == 0)
        until = 1;
    wk_conn_rare(c)->auth_until = until;
    if (c->timer.deadline > until || !wsf_wheel_is_set(&c->timer))
        wsf_wheel_set(&ctx->wheel, &c->timer, until);
}
