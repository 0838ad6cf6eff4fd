/* TLS for client connections: the server context (certificate, key, protocols, suites) and the
 * per-connection I/O layer that wk_conn calls for every read and write, plain or TLS. OpenSSL runs
 * over the connection's own fd (no BIO pairs, no bufferevents): a TLS connection first
 * completes a non-blocking handshake, then carries the HTTP upgrade and frames through SSL_read and
 * SSL_write, mapping WANT_READ/WANT_WRITE to -EAGAIN and the events the connection waits for. */
#ifndef WK_TLS_H
#define WK_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct wk_conn wk_conn;
typedef struct wk_config wk_config;
typedef struct wk_tls wk_tls;

/* Builds the server context from cfg (--cert, --key, --ciphers, --tls-protocols). Returns NULL
 * after writing one line saying why to *why (a static or thread-local message). */
wk_tls *wk_tls_new(const wk_config *cfg, const char **why);

/* Loads cfg's ticket keys (--ticket-keys), then its cert and key again into a new context for
 * the handshakes that follow; connections already made keep theirs. On failure the old
 * certificate stays and why says what was wrong. Returns 0 or -1. */
int wk_tls_reload(wk_tls *t, const wk_config *cfg, const char **why);

/* Frees the context (connections hold their own references). NULL is ignored. */
void wk_tls_free(wk_tls *t);

/* Attaches a TLS session to c (a connection accepted on a TLS listener). Returns 0 or -1. */
int wk_tls_attach(wk_tls *t, wk_conn *c);

/* One handshake step: 1 when done, 0 when waiting (*want_write: for the socket to be writable,
 * else readable), -1 when it failed (logged at debug). */
int wk_tls_handshake(wk_conn *c, bool *want_write);

/* Reads into buf: bytes read, 0 at the peer's end, -EAGAIN when nothing can be read now, another
 * negative errno on failure. */
ssize_t wk_conn_io_read(wk_conn *c, void *buf, size_t len);

/* Writes from buf: bytes taken, -EAGAIN when none now, another negative errno on failure. A TLS
 * write that returned -EAGAIN must be retried with the same bytes first (they may move). */
ssize_t wk_conn_io_write(wk_conn *c, const void *buf, size_t len);

/* Bytes already decrypted and waiting in the TLS layer (the socket will not signal them). */
bool wk_conn_io_pending(const wk_conn *c);

/* Sends close_notify once, without waiting for the peer's. */
void wk_tls_shutdown(wk_conn *c);

/* Frees c's TLS session, if any. */
void wk_tls_conn_free(wk_conn *c);

#endif
