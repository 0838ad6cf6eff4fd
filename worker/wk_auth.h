/* wsworker's [auth]: the JWT keys from --auth-* flags, tokens from a request or a connect, and
 * the expiry deadline of an authenticated connection.
 *
 * Contract:
 *  - Auth is on when a secret file or a public key is given; keys load at start (a bad file is
 *    one log line and exit 100). --auth-required yes without a key refuses to start.
 *  - With auth off, tokens are ignored (an access_token parameter is not refused; a connect
 *    token leaves the client anonymous).
 *  - Non-/channels routes take the token from `?access_token=` or `Authorization: Bearer`; a bad
 *    or expired token is HTTP 401, and so is none when required. /channels takes it in connect.
 *  - An authenticated connection carries the tick its token expires at (wk_conn auth_until); the
 *    connection's own deadline (wk_conn_on_timer) closes it with 4002 then, unless a refresh
 *    moved it. No libevent event per connection. */
#ifndef WK_AUTH_H
#define WK_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "ws_http.h"
#include "wsf_jwt.h"

#define WK_AUTH_LEEWAY_S 2 /* clock skew allowed between the token issuer and this host */
#define WK_CLOSE_TOKEN_EXPIRED 4002
#define WK_CLOSE_UNAUTHORIZED 4401

typedef struct wk_config wk_config;
typedef struct wk_conn wk_conn;

typedef struct wk_auth {
    wsf_jwt_keys *keys; /* NULL: auth off, every client anonymous */
    bool required;
    const char *audience;
    const char *issuer;
} wk_auth;

/* Loads the keys cfg names. Returns 0, or -1 after logging why (the worker exits 100). */
int wk_auth_init(wk_auth *a, const wk_config *cfg);
void wk_auth_fini(wk_auth *a);

/* Verifies token against the keys at the current time. Returns 0 with *out set (release with
 * wsf_jwt_claims_fini), WSF_JWT_BAD or WSF_JWT_EXPIRED. With auth off every token is bad. */
int wk_auth_verify(const wk_auth *a, wsf_jwt_claims *out, const char *token, size_t len);

/* The handshake check of a non-/channels route. Returns 0 (admitted; *exp is the token's expiry
 * or 0 for an anonymous client) or 401. */
int wk_auth_check_request(const wk_auth *a, const ws_http_request *req, int64_t *exp);

/* Arms c's token deadline for UNIX time exp (0: none). */
void wk_auth_set_deadline(wk_conn *c, int64_t exp);

#endif
