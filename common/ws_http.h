/* The HTTP/1.1 side of the WebSocket opening handshake (RFC 6455 §4): incremental request and
 * response parsing with limits, request validation, the accept key, and the messages each side
 * writes. Pure: buffers in, results out; no I/O. */
#ifndef WS_HTTP_H
#define WS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define WS_HTTP_MAX_HEAD 8192  /* request or status line plus headers, terminator included */
#define WS_HTTP_MAX_HEADERS 64 /* header fields */
#define WS_KEY_LEN 24          /* base64 of 16 bytes */
#define WS_ACCEPT_LEN 28       /* base64 of a 20-byte SHA-1 digest */

/* A string inside the caller's buffer; not NUL-terminated. */
typedef struct ws_str {
    const char *p;
    size_t len;
} ws_str;

typedef struct ws_header {
    ws_str name;
    ws_str value;
} ws_header;

/* Scanning state kept between calls while a head arrives in pieces, so that a head delivered one
 * byte at a time costs linear time. Zero-initialised (or ws_http_scan_init) before the first call;
 * the caller passes the same, growing buffer every time. */
typedef struct ws_http_scan {
    size_t scanned; /* bytes already searched for the terminating empty line */
    unsigned lines; /* line breaks seen so far */
} ws_http_scan;

void ws_http_scan_init(ws_http_scan *s);

/* A parsed request head. Strings point into the caller's buffer. */
typedef struct ws_http_request {
    ws_str method;
    ws_str target; /* request-target as sent, query included */
    ws_str path;   /* target up to '?' */
    int major;     /* HTTP/<major>.<minor> */
    int minor;
    size_t nheaders;
    ws_header headers[WS_HTTP_MAX_HEADERS];
} ws_http_request;

/* Parses a request head from buf[0..len) (the whole buffer so far, from the first byte).
 * Returns the head's length (> 0) when complete, with *out filled in; 0 when more bytes are
 * needed; or minus an HTTP status on error: -431 when the head exceeds WS_HTTP_MAX_HEAD bytes or
 * WS_HTTP_MAX_HEADERS fields (reported as soon as it is known), -400 when it is malformed. */
ssize_t ws_http_parse_request(ws_http_request *out, ws_http_scan *scan, const char *buf,
                              size_t len);

/* What a valid upgrade request asks for. Strings point into the request's buffer. */
typedef struct ws_upgrade {
    ws_str host;
    ws_str origin;                  /* empty when absent */
    ws_str protocol;                /* Sec-WebSocket-Protocol as sent, empty when absent */
    char accept[WS_ACCEPT_LEN + 1]; /* Sec-WebSocket-Accept to answer with, NUL-terminated */
} ws_upgrade;

/* Validates a parsed request as a WebSocket opening handshake (RFC 6455 §4.2.1) and computes the
 * accept key. Returns 0 with *out filled in, or an HTTP status: 405 for a method other than GET,
 * 505 for a version other than HTTP/1.1, 426 for a missing or unsupported
 * Sec-WebSocket-Version (answer with ws_http_error, which adds "Sec-WebSocket-Version: 13"),
 * 400 for anything else (missing or repeated Host, Upgrade not websocket, Connection without
 * the upgrade token, a key that is not base64 of 16 bytes). */
int ws_http_validate_upgrade(ws_upgrade *out, const ws_http_request *req);

/* Looks up a header by name, case-insensitively. Returns the first match or NULL. */
const ws_header *ws_http_find_header(const ws_http_request *req, const char *name);

/* True if the comma-separated token list contains token (case-insensitive, whitespace allowed
 * around the commas). */
bool ws_http_has_token(ws_str list, const char *token);

/* Computes the Sec-WebSocket-Accept value for a key (RFC 6455 §4.2.2 step 5.4): base64 of the
 * SHA-1 of key followed by the protocol GUID. out holds WS_ACCEPT_LEN + 1 bytes. */
void ws_http_accept_key(char *out, const char *key, size_t key_len);

/* Writes the 101 response accepting an upgrade into out. Returns its length, or 0 if cap is too
 * small. */
size_t ws_http_write_upgrade(char *out, size_t cap, const ws_upgrade *up);

/* Writes a complete error response for status (400, 403, 404, 405, 408, 426, 431, 503, 505) with
 * "Connection: close", a short text body, "Sec-WebSocket-Version: 13" for 426 and
 * "Retry-After: <retry_after>" for 503. Returns its length, or 0 if cap is too small. */
size_t ws_http_error(char *out, size_t cap, int status, unsigned retry_after);

/* The reason phrase for a status, e.g. "Not Found". */
const char *ws_http_reason(int status);

/* Client side. Writes an upgrade request for host and path with the base64 key (WS_KEY_LEN
 * characters) into out. Returns its length, or 0 if cap is too small. */
size_t ws_http_write_request(char *out, size_t cap, const char *host, const char *path,
                             const char *key);

/* Makes a fresh random key (base64 of 16 bytes from the OpenSSL RNG) into out, which holds
 * WS_KEY_LEN + 1 bytes. */
void ws_http_make_key(char *out);

/* A parsed response head. Strings point into the caller's buffer. */
typedef struct ws_http_response {
    int status;
    int major;
    int minor;
    size_t nheaders;
    ws_header headers[WS_HTTP_MAX_HEADERS];
} ws_http_response;

/* Parses a response head, with the same returns and limits as ws_http_parse_request. */
ssize_t ws_http_parse_response(ws_http_response *out, ws_http_scan *scan, const char *buf,
                               size_t len);

/* Checks that a response accepts the upgrade sent with key: status 101, Upgrade websocket,
 * Connection upgrade, the right Sec-WebSocket-Accept. Returns 0 if so, -1 if not. */
int ws_http_check_upgrade_response(const ws_http_response *res, const char *key);

#endif
