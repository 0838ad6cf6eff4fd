/* WebSocket frame writing for both roles (RFC 6455 §5.2): servers send unmasked frames, clients
 * masked ones. Pure: no I/O. */
#ifndef WS_WRITER_H
#define WS_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ws_frame.h"

/* Writes a frame header into out (room for WS_MAX_HEADER bytes) and returns its length.
 * mask is NULL for a server frame, or the 4 masking bytes for a client frame; the caller masks
 * the payload itself (ws_mask), or uses ws_frame_write. */
size_t ws_frame_header(uint8_t *out, bool fin, int opcode, uint64_t len, const uint8_t *mask);

/* Size of a whole frame with a payload of len bytes. */
size_t ws_frame_size(uint64_t len, bool masked);

/* Writes a whole frame (header and payload, masked when mask is non-NULL) into out, which must
 * hold ws_frame_size(len, mask != NULL) bytes. Returns the bytes written. */
size_t ws_frame_write(uint8_t *out, bool fin, int opcode, const uint8_t *payload, size_t len,
                      const uint8_t *mask);

/* Writes a close payload (code, then reason truncated at a character
 * boundary to fit 125 bytes) into out, which must hold
 * WS_MAX_CONTROL_PAYLOAD bytes. code 0 writes an empty payload. Returns its length. */
size_t ws_close_payload(uint8_t *out, unsigned code, const char *reason);

#endif
