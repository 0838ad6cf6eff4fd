/* permessage-deflate (RFC 7692): the pure negotiation of Sec-WebSocket-Extensions offers and the
 * per-message zlib codec (raw DEFLATE, the 0x00 0x00 0xff 0xff tail, context takeover on or off,
 * a bound on the inflated size). Negotiation allocates nothing; the codec owns its z_streams. */
#ifndef WS_DEFLATE_H
#define WS_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_buf.h"

#define WS_DEFLATE_MAX_RESPONSE 160 /* the longest header line ws_deflate_response writes */

/* What an accepted offer settles for one connection. */
typedef struct ws_deflate_params {
    bool on;                         /* permessage-deflate is in use */
    bool server_no_context_takeover; /* we reset our compressor after every message */
    bool client_no_context_takeover; /* the client resets its compressor: so can our inflater */
    uint8_t server_max_window_bits;  /* our compressor's window, 9..15 (15 unless asked) */
    bool server_max_window_bits_set; /* the offer asked for it: the response names it */
} ws_deflate_params;

/* Negotiates one Sec-WebSocket-Extensions header value (a comma-separated list of offers,
 * RFC 6455 §9.1). context_takeover: whether this server keeps compression contexts between
 * messages (off: the response asks for no context takeover in both directions, §7.1.1).
 * The first permessage-deflate offer that is acceptable wins; an offer with an unknown
 * parameter, a duplicate parameter or an invalid value is declined (§5, §7.1), as is
 * server_max_window_bits=8, which zlib's raw deflate cannot honour (§7.1.2.1 lets a server
 * decline it). Returns true with *out filled in when an offer was accepted, false (out
 * untouched) when none was. */
bool ws_deflate_negotiate(ws_deflate_params *out, const char *value, size_t len,
                          bool context_takeover);

/* Writes the response header line "Sec-WebSocket-Extensions: permessage-deflate...\r\n" for p
 * into out. Returns its length, or 0 if cap is too small. */
size_t ws_deflate_response(char *out, size_t cap, const ws_deflate_params *p);

/* A raw-DEFLATE decompressor and compressor (opaque wrappers of a z_stream). */
typedef struct ws_zinflate ws_zinflate;
typedef struct ws_zdeflate ws_zdeflate;

/* A decompressor with a 32 KiB window: it reads any window size a peer may use. Aborts when
 * zlib cannot allocate. _free(NULL) is a no-op. */
ws_zinflate *ws_zinflate_new(void);
void ws_zinflate_free(ws_zinflate *z);

/* Inflates one message's compressed payload (its frames' payloads, concatenated) followed by
 * the 0x00 0x00 0xff 0xff tail the sender removed (§7.2.2), appending the result to out.
 * Output is produced in chunks of at most 16 KiB and never past max + 1 bytes, so a message
 * that inflates beyond max (a zip bomb) fails without being allocated. reset: forget the
 * window afterwards (the peer does not take context over). Returns 0; -1009 (WS_CLOSE_TOO_BIG)
 * when the result exceeds max (max 0 = no bound); -1007 (WS_CLOSE_INVALID_DATA) when the data
 * is not valid DEFLATE. After an error the stream is reset; out holds partial output. */
int ws_zinflate_message(ws_zinflate *z, wsf_buf *out, const uint8_t *in, size_t len, uint64_t max,
                        bool reset);

/* A compressor with a window of 2^window_bits bytes (9..15). Aborts when zlib cannot
 * allocate. _free(NULL) is a no-op. */
ws_zdeflate *ws_zdeflate_new(int window_bits);
void ws_zdeflate_free(ws_zdeflate *z);

/* Compresses one message and appends the payload to send with RSV1 set: the DEFLATE blocks
 * ending in an empty stored block, with its 0x00 0x00 0xff 0xff tail removed (§7.2.1); an empty
 * message becomes the single byte 0x00 (§7.2.3.6). reset: start the next message with an empty
 * window (no context takeover). Returns 0. */
int ws_zdeflate_message(ws_zdeflate *z, wsf_buf *out, const uint8_t *in, size_t len, bool reset);

#endif
