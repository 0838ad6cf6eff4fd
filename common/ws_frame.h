/* WebSocket framing definitions shared by the parser and the writer (RFC 6455 §5, §7.4):
 * opcodes, close codes, roles, masking. Pure: no I/O. */
#ifndef WS_FRAME_H
#define WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 §7.4.1). */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_NO_STATUS = 1005, /* never sent: "the close frame had no code" */
    WS_CLOSE_ABNORMAL = 1006,  /* never sent: "the connection dropped without a close frame" */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_EXTENSION = 1010,
    WS_CLOSE_INTERNAL = 1011,
    WS_CLOSE_RESTART = 1012,
};

/* Which side of the connection the parser sits on: a server requires masked frames from its
 * client (§5.1), a client requires unmasked frames from its server. */
enum ws_role {
    WS_ROLE_SERVER = 0,
    WS_ROLE_CLIENT = 1,
};

#define WS_MAX_CONTROL_PAYLOAD 125
#define WS_MAX_HEADER 14 /* 2 + 8 (64-bit length) + 4 (mask) */
/* The largest frame a parser may ask its caller to hold whole: a masked control frame. */
#define WS_MAX_CONTROL_FRAME (2 + 4 + WS_MAX_CONTROL_PAYLOAD)

/* XORs len bytes with the 4-byte mask, starting at byte `offset` of the mask cycle, a machine word
 * at a time. Returns the mask offset for the byte after the last one. */
unsigned ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], unsigned offset);

/* True if a peer may send this close code (RFC 6455 §7.4.1, §7.4.2): 1000-1003, 1007-1011 and
 * 3000-4999. */
bool ws_close_code_is_valid(unsigned code);

#endif
