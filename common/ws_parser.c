/* Incremental frame and message parser (RFC 6455 §5.2-§5.5). A frame header is read only once
 * it is complete (at most 14 bytes); data payloads are then handed out in chunks as they arrive,
 * unmasked in place and UTF-8-checked on the way, so a large message never has to sit whole in
 * the caller's input buffer and a bad byte is reported the moment it arrives. Control frames
 * (at most 131 bytes on the wire) are delivered whole. */
#include "ws_parser.h"

#include <string.h>

#define WS_ERR(code) (-(ssize_t)(code))

void ws_parser_init(ws_parser *p, enum ws_role role, uint64_t max_message)
{
    memset(p, 0, sizeof *p);
    p->role = (uint8_t)role;
    p->max_message = max_message;
    ws_utf8_init(&p->utf8);
}

/* Hands out the next chunk of the current data frame's payload from buf. Returns the payload
 * bytes consumed or a negative close code. */
static ssize_t ws_parser_deliver(ws_parser *p, ws_event *out, uint8_t *buf, size_t len)
{
    size_t n = len < p->remaining ? len : (size_t)p->remaining;

    if (n == 0 && p->remaining > 0) {
        out->kind = WS_EV_NONE;
        return 0;
    }
    if (p->role == WS_ROLE_SERVER)
        p->mask_off = (uint8_t)ws_mask(buf, n, p->mask, p->mask_off);
    p->remaining -= n;

    bool frame_done = p->remaining == 0;
    bool msg_done = frame_done && p->frame_fin;
    if (p->msg_op == WS_OP_TEXT && !p->msg_compressed) {
        if (ws_utf8_feed(&p->utf8, buf, n) != 0)
            return WS_ERR(WS_CLOSE_INVALID_DATA);
        if (msg_done && !ws_utf8_is_complete(&p->utf8))
            return WS_ERR(WS_CLOSE_INVALID_DATA);
    }
    out->kind = WS_EV_DATA;
    out->opcode = p->msg_op;
    out->first = p->first_pending;
    out->last = msg_done;
    out->data = buf;
    out->len = n;
    out->code = 0;
    out->compressed = p->msg_compressed;
    p->first_pending = false;
    if (frame_done) {
        p->in_frame = false;
        if (msg_done)
            p->msg_op = 0;
    }
    return (ssize_t)n;
}

static bool ws_parser_close_code_ok(const ws_parser *p, unsigned code)
{
    if (ws_close_code_is_valid(code) || (p->sent_close != 0 && code == p->sent_close))
        return true;
    return p->role == WS_ROLE_CLIENT && code >= 1012 && code <= 1014;
}

/* Fills *out for a whole control frame whose payload is already unmasked. Returns 0 or a
 * negative close code. */
static ssize_t ws_parser_control(const ws_parser *p, ws_event *out, unsigned op, uint8_t *payload,
                                 size_t len)
{
    out->opcode = (int)op;
    out->first = out->last = true;
    out->data = payload;
    out->len = len;
    out->code = 0;
    out->compressed = false;
    if (op == WS_OP_PING) {
        out->kind = WS_EV_PING;
        return 0;
    }
    if (op == WS_OP_PONG) {
        out->kind = WS_EV_PONG;
        return 0;
    }
    out->kind = WS_EV_CLOSE;
    if (len == 0) {
        out->code = WS_CLOSE_NO_STATUS;
        return 0;
    }
    if (len == 1)
        return WS_ERR(WS_CLOSE_PROTOCOL);
    unsigned code = (unsigned)payload[0] << 8 | payload[1];
    if (!ws_parser_close_code_ok(p, code))
        return WS_ERR(WS_CLOSE_PROTOCOL);
    if (!ws_utf8_is_valid(payload + 2, len - 2))
        return WS_ERR(WS_CLOSE_INVALID_DATA);
    out->code = (uint16_t)code;
    return 0;
}

/* Unmasks a whole small payload (the mask starting at offset 0) a word at a time and tells whether
 * every byte is ASCII, which makes it valid UTF-8 without a further pass. */
static bool ws_parser_unmask_ascii(uint8_t *d, size_t n, const uint8_t mask[4])
{
    uint32_t m32;
    memcpy(&m32, mask, sizeof m32);
    /* The 4 mask bytes twice, in memory order, whatever the byte order. */
    uint64_t m = (uint64_t)m32 << 32 | m32;
    uint64_t high = 0;
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, d + i, sizeof w);
        w ^= m;
        memcpy(d + i, &w, sizeof w);
        high |= w;
    }
    if (n - i >= 4) {
        uint32_t w;
        memcpy(&w, d + i, sizeof w);
        w ^= m32;
        memcpy(d + i, &w, sizeof w);
        high |= w;
        i += 4;
    }
    for (; i < n; i++) { /* at most 3 bytes, at mask offset 0 again */
        d[i] ^= mask[i & 3];
        high |= d[i];
    }
    return (high & 0x8080808080808080ull) == 0;
}

/* The common case, handled without touching the parser's state: in the server role, a whole
 * masked frame of at most 125 bytes that is a complete text or binary message (FIN, no RSV
 * bits) and within max_message. Returns the bytes consumed, 0 when the frame is not such a frame
 * (the general path then takes it), or the negative close code for invalid UTF-8. */
static ssize_t ws_parser_whole_small(ws_parser *p, ws_event *out, uint8_t *buf, size_t len)
{
    unsigned b0 = buf[0], b1 = buf[1];
    size_t plen = b1 & 0x7F;
    if ((b0 != (0x80 | WS_OP_TEXT) && b0 != (0x80 | WS_OP_BINARY)) || !(b1 & 0x80) ||
        plen > WS_MAX_CONTROL_PAYLOAD || len < 6 + plen ||
        (p->max_message != 0 && plen > p->max_message))
        return 0;
    uint8_t *payload = buf + 6;
    int op = (int)(b0 & 0x0F);
    bool ascii = ws_parser_unmask_ascii(payload, plen, buf + 2);
    if (op == WS_OP_TEXT && !ascii && !ws_utf8_is_valid(payload, plen))
        return WS_ERR(WS_CLOSE_INVALID_DATA);
    out->kind = WS_EV_DATA;
    out->opcode = op;
    out->first = out->last = true;
    out->data = payload;
    out->len = plen;
    out->code = 0;
    out->compressed = false;
    return (ssize_t)(6 + plen);
}

ssize_t ws_parser_next(ws_parser *p, ws_event *out, uint8_t *buf, size_t len)
{
    if (!p->in_frame && p->msg_op == 0 && p->role == WS_ROLE_SERVER && len >= 6) {
        ssize_t r = ws_parser_whole_small(p, out, buf, len);
        if (r != 0)
            return r;
    }
    if (p->in_frame) {
        if (len == 0)
            return 0;
        return ws_parser_deliver(p, out, buf, len);
    }
    if (len < 2)
        return 0;

    /* Everything the first two bytes decide is checked before waiting for more. */
    bool fin = buf[0] & 0x80;
    unsigned op = buf[0] & 0x0F;
    bool masked = buf[1] & 0x80;
    uint64_t plen = buf[1] & 0x7F;

    bool rsv1 = buf[0] & 0x40;
    if (buf[0] & 0x30)
        return WS_ERR(WS_CLOSE_PROTOCOL); /* RSV2, RSV3: no extension defines them */
    if (rsv1 && (!p->rsv1_ok || (op & 0x8) || op == WS_OP_CONT))
        return WS_ERR(WS_CLOSE_PROTOCOL); /* RFC 7692 §6.1: first data frame only */
    if (masked != (p->role == WS_ROLE_SERVER))
        return WS_ERR(WS_CLOSE_PROTOCOL); /* §5.1: clients mask, servers do not */
    bool control = op & 0x8;
    if (control) {
        if (op != WS_OP_CLOSE && op != WS_OP_PING && op != WS_OP_PONG)
            return WS_ERR(WS_CLOSE_PROTOCOL);
        if (!fin || plen > WS_MAX_CONTROL_PAYLOAD)
            return WS_ERR(WS_CLOSE_PROTOCOL); /* §5.5 */
    } else if (op == WS_OP_CONT) {
        if (p->msg_op == 0)
            return WS_ERR(WS_CLOSE_PROTOCOL); /* nothing to continue */
    } else if (op == WS_OP_TEXT || op == WS_OP_BINARY) {
        if (p->msg_op != 0)
            return WS_ERR(WS_CLOSE_PROTOCOL); /* the fragmented message is not finished */
    } else {
        return WS_ERR(WS_CLOSE_PROTOCOL); /* reserved data opcode */
    }

    size_t hlen = 2;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        hlen = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        if (buf[2] & 0x80)
            return WS_ERR(WS_CLOSE_PROTOCOL); /* §5.2: the most significant bit must be 0 */
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | buf[2 + i];
        hlen = 10;
    }
    if (masked) {
        if (len < hlen + 4)
            return 0;
    }

    if (control) {
        if (len < hlen + (masked ? 4 : 0) + plen)
            return 0;
        uint8_t *payload = buf + hlen + (masked ? 4 : 0);
        if (masked)
            ws_mask(payload, (size_t)plen, buf + hlen, 0);
        ssize_t r = ws_parser_control(p, out, op, payload, (size_t)plen);
        if (r < 0)
            return r;
        return (ssize_t)(payload - buf) + (ssize_t)plen;
    }

    uint64_t so_far = op == WS_OP_CONT ? p->msg_len : 0;
    if (p->max_message && (plen > p->max_message || so_far + plen > p->max_message))
        return WS_ERR(WS_CLOSE_TOO_BIG);
    if (masked) {
        memcpy(p->mask, buf + hlen, 4);
        hlen += 4;
    }
    if (op != WS_OP_CONT) {
        p->msg_op = (uint8_t)op;
        p->msg_len = 0;
        p->first_pending = true;
        p->msg_compressed = rsv1;
        ws_utf8_init(&p->utf8);
    }
    p->msg_len += plen;
    p->remaining = plen;
    p->mask_off = 0;
    p->frame_fin = fin;
    p->in_frame = true;

    ssize_t r = ws_parser_deliver(p, out, buf + hlen, len - hlen);
    if (r < 0)
        return r;
    return (ssize_t)hlen + r;
}
