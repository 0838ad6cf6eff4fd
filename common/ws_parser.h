/* Incremental WebSocket frame and message parser (RFC 6455 §5.2-§5.5, §8.1): frames in, message
 * chunks and control frames out, every protocol error as a close code. Pure: no I/O, no
 * allocation. */
#ifndef WS_PARSER_H
#define WS_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ws_frame.h"
#include "ws_utf8.h"

enum ws_event_kind {
    WS_EV_NONE =
        0,       /* bytes consumed, nothing to report (a data header whose payload is still due) */
    WS_EV_DATA,  /* a chunk of a text or binary message's payload, already unmasked */
    WS_EV_PING,  /* a whole ping frame */
    WS_EV_PONG,  /* a whole pong frame */
    WS_EV_CLOSE, /* a whole, valid close frame; the peer will send nothing more */
};

typedef struct ws_event {
    int kind;        /* enum ws_event_kind */
    int opcode;      /* WS_EV_DATA: the message's opcode, WS_OP_TEXT or WS_OP_BINARY */
    bool first;      /* WS_EV_DATA: this chunk starts the message */
    bool last;       /* WS_EV_DATA: this chunk ends the message */
    uint8_t *data;   /* payload bytes, pointing into the caller's buffer */
    size_t len;      /* payload length of this chunk */
    uint16_t code;   /* WS_EV_CLOSE: status code, or WS_CLOSE_NO_STATUS for an empty payload */
    bool compressed; /* WS_EV_DATA: the message's first frame had RSV1 (permessage-deflate): the
                      * payload is DEFLATE data, not yet UTF-8-checked */
} ws_event;

/* Parser state. Caller-owned; set up with ws_parser_init. */
typedef struct ws_parser {
    uint64_t max_message; /* largest message (sum of its fragments) accepted; 0 = no limit */
    uint64_t msg_len;     /* payload bytes of the current message so far */
    uint64_t remaining;   /* payload bytes of the current data frame not yet delivered */
    uint8_t mask[4];
    uint8_t mask_off;    /* position in the mask of the next payload byte */
    uint8_t role;        /* enum ws_role */
    uint8_t msg_op;      /* opcode of the message in progress, 0 when none */
    bool in_frame;       /* inside a data frame's payload */
    bool frame_fin;      /* the data frame being delivered has FIN set */
    bool first_pending;  /* the next data chunk is the first of its message */
    bool rsv1_ok;        /* permessage-deflate was negotiated: RSV1 may mark a data message's
                          * first frame as compressed (RFC 7692 §6.1); set after init */
    bool msg_compressed; /* the message in progress is compressed */
    uint16_t sent_close; /* the close code this endpoint sent, 0 = none: the peer may echo it in
                          * its close frame (§5.5.1), so it is accepted there */
    ws_utf8 utf8;
} ws_parser;

/* Sets up a parser for the given role. max_message bounds a whole message; 0 disables the bound. */
void ws_parser_init(ws_parser *p, enum ws_role role, uint64_t max_message);

/* Consumes bytes from buf and reports at most one event in *out.
 * Returns the number of bytes consumed (> 0) with *out filled in; 0 when buf holds too little to
 * make progress (the caller keeps the unconsumed bytes and calls again with more; at most
 * WS_MAX_CONTROL_FRAME bytes are ever left unconsumed); or minus a close code on a protocol
 * error: -WS_CLOSE_PROTOCOL, -WS_CLOSE_INVALID_DATA (bad UTF-8), -WS_CLOSE_TOO_BIG.
 * RSV1 is accepted only with rsv1_ok and only on the first frame of a data message (RFC 7692
 * §6.1: never on control or continuation frames); RSV2 and RSV3 never. A compressed message is
 * delivered with compressed set and without the UTF-8 check, which applies to its inflated form.
 * Payloads are unmasked in place, so buf must be writable; out->data points into it.
 * Data frames are delivered in chunks as their bytes arrive; control frames only whole.
 * Close codes are checked with ws_close_code_is_valid; a client-role parser also accepts
 * 1012-1014, which servers send (service restart, try again later, bad gateway), and any parser
 * accepts the code in sent_close, which its peer may echo back.
 * After an error or a WS_EV_CLOSE the parser must not be fed again. */
ssize_t ws_parser_next(ws_parser *p, ws_event *out, uint8_t *buf, size_t len);

#endif
