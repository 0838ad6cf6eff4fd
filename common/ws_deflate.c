/* permessage-deflate (RFC 7692). Negotiation walks the offer list in place (token and
 * quoted-string values, §7.1); the codec inflates in bounded chunks so that the size bound holds
 * before memory is spent, not after. */
#include "ws_deflate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ws_frame.h"

#define WS_Z_CHUNK 16384

static const uint8_t ws_deflate_tail[4] = {0x00, 0x00, 0xff, 0xff};

struct ws_zinflate {
    z_stream zs;
};

struct ws_zdeflate {
    z_stream zs;
};

/* ---- negotiation ---- */

static bool ws_is_tchar(char ch)
{
    /* RFC 7230 §3.2.6 token characters */
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool ws_is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static bool ws_name_is(const char *p, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n != k)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] - 'A' + 'a') : p[i];
        if (a != name[i])
            return false;
    }
    return true;
}

/* A cursor over one header value. */
typedef struct ws_cur {
    const char *p;
    const char *end;
} ws_cur;

static void ws_skip_space(ws_cur *c)
{
    while (c->p < c->end && ws_is_space(*c->p))
        c->p++;
}

static size_t ws_token(ws_cur *c)
{
    const char *s = c->p;
    while (c->p < c->end && ws_is_tchar(*c->p))
        c->p++;
    return (size_t)(c->p - s);
}

/* Skips to just past the next top-level comma (or the end), respecting quoted strings. */
static void ws_skip_offer(ws_cur *c)
{
    bool quoted = false;
    while (c->p < c->end) {
        char ch = *c->p++;
        if (quoted && ch == '\\' && c->p < c->end)
            c->p++;
        else if (ch == '"')
            quoted = !quoted;
        else if (ch == ',' && !quoted)
            return;
    }
}

/* Reads a window-bits value, plain or quoted (§7.1: a quoted value must, unquoted, be valid):
 * 1*DIGIT in 8..15 without leading zeros. Returns the value, or -1. */
static int ws_window_bits(const char *v, size_t n)
{
    if (n == 1 && v[0] >= '8' && v[0] <= '9')
        return v[0] - '0';
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
        return 10 + (v[1] - '0');
    return -1;
}

/* Parses one offer's parameters (the cursor just past its name) up to its end. Returns true when
 * the offer is acceptable, with *out filled in. */
static bool ws_parse_offer(ws_deflate_params *out, ws_cur *c, bool context_takeover)
{
    bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
    int smwb = 15;

    for (;;) {
        ws_skip_space(c);
        if (c->p == c->end || *c->p == ',')
            break;
        if (*c->p != ';')
            return false;
        c->p++;
        ws_skip_space(c);
        const char *name = c->p;
        size_t nlen = ws_token(c);
        if (nlen == 0)
            return false;
        ws_skip_space(c);
        const char *val = NULL;
        size_t vlen = 0;
        char unq[8];
        if (c->p < c->end && *c->p == '=') {
            c->p++;
            ws_skip_space(c);
            if (c->p < c->end && *c->p == '"') {
                /* quoted-string; only short values can be valid, so it is unquoted into unq */
                c->p++;
                vlen = 0;
                while (c->p < c->end && *c->p != '"') {
                    if (*c->p == '\\' && c->p + 1 < c->end)
                        c->p++;
                    if (vlen < sizeof unq)
                        unq[vlen] = *c->p;
                    vlen++;
                    c->p++;
                }
                if (c->p == c->end)
                    return false; /* unterminated */
                c->p++;
                if (vlen > sizeof unq)
                    return false;
                val = unq;
            } else {
                val = c->p;
                vlen = ws_token(c);
                if (vlen == 0)
                    return false;
            }
        }
        /* §7: each parameter at most once, no unknown ones, values as specified. */
        if (ws_name_is(name, nlen, "server_no_context_takeover")) {
            if (seen_snct || val != NULL)
                return false;
            seen_snct = true;
        } else if (ws_name_is(name, nlen, "client_no_context_takeover")) {
            if (seen_cnct || val != NULL)
                return false;
            seen_cnct = true;
        } else if (ws_name_is(name, nlen, "server_max_window_bits")) {
            if (seen_smwb || val == NULL)
                return false; /* §7.1.2.1: a value is required */
            seen_smwb = true;
            smwb = ws_window_bits(val, vlen);
            if (smwb < 0)
                return false;
        } else if (ws_name_is(name, nlen, "client_max_window_bits")) {
            /* §7.1.2.2: valueless, or 8..15. Our inflater reads any window, so the response
             * never limits the client's. */
            if (seen_cmwb || (val != NULL && ws_window_bits(val, vlen) < 0))
                return false;
            seen_cmwb = true;
        } else {
            return false;
        }
    }
    /* zlib cannot make raw DEFLATE with a 256-byte window (it uses 512); the RFC lets a server
     * decline an offer whose server_max_window_bits it does not support (§7.1.2.1). */
    if (smwb == 8)
        return false;

    ws_deflate_params p = {0};
    p.on = true;
    p.server_no_context_takeover = seen_snct || !context_takeover;
    /* §7.1.1.2: the server may ask for client_no_context_takeover whether or not it was offered;
     * a client that offers it is not going to take context over anyway. */
    p.client_no_context_takeover = seen_cnct || !context_takeover;
    p.server_max_window_bits = (uint8_t)smwb;
    p.server_max_window_bits_set = seen_smwb;
    *out = p;
    return true;
}

bool ws_deflate_negotiate(ws_deflate_params *out, const char *value, size_t len,
                          bool context_takeover)
{
    ws_cur c = {value, value + len};
    while (c.p < c.end) {
        ws_skip_space(&c);
        const char *name = c.p;
        size_t nlen = ws_token(&c);
        ws_deflate_params p;
        if (nlen > 0 && ws_name_is(name, nlen, "permessage-deflate") &&
            ws_parse_offer(&p, &c, context_takeover)) {
            *out = p;
            return true;
        }
        ws_skip_offer(&c);
    }
    return false;
}

size_t ws_deflate_response(char *out, size_t cap, const ws_deflate_params *p)
{
    char bits[32] = "";
    if (p->server_max_window_bits_set)
        snprintf(bits, sizeof bits, "; server_max_window_bits=%u", p->server_max_window_bits);
    int n = snprintf(out, cap, "Sec-WebSocket-Extensions: permessage-deflate%s%s%s\r\n",
                     p->server_no_context_takeover ? "; server_no_context_takeover" : "",
                     p->client_no_context_takeover ? "; client_no_context_takeover" : "", bits);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}

/* ---- codec ---- */

static void ws_z_oom(const char *what)
{
    fprintf(stderr, "fatal: zlib %s failed: out of memory\n", what);
    abort();
}

ws_zinflate *ws_zinflate_new(void)
{
    ws_zinflate *z = wsf_xcalloc(1, sizeof *z);
    if (inflateInit2(&z->zs, -15) != Z_OK)
        ws_z_oom("inflateInit2");
    return z;
}

void ws_zinflate_free(ws_zinflate *z)
{
    if (z == NULL)
        return;
    inflateEnd(&z->zs);
    free(z);
}

/* Runs inflate over the current input until it is used up and no output is pending. Returns 0
 * or a negative close code. */
static int ws_zinflate_run(ws_zinflate *z, wsf_buf *out, uint64_t max, uint64_t *produced)
{
    for (;;) {
        size_t room = WS_Z_CHUNK;
        if (max != 0 && max + 1 - *produced < room)
            room = (size_t)(max + 1 - *produced);
        uint8_t *dst = wsf_buf_reserve(out, room);
        z->zs.next_out = dst;
        z->zs.avail_out = (uInt)room;
        int r = inflate(&z->zs, Z_SYNC_FLUSH);
        size_t got = room - z->zs.avail_out;
        out->len += got;
        *produced += got;
        if (max != 0 && *produced > max)
            return -WS_CLOSE_TOO_BIG;
        if (r == Z_STREAM_END) {
            /* A final block ends the stream; the next one starts over (there is no window to
             * keep past BFINAL). Bytes after it are not DEFLATE we can place. */
            inflateReset(&z->zs);
            return z->zs.avail_in == 0 ? 0 : -WS_CLOSE_INVALID_DATA;
        }
        if (r == Z_BUF_ERROR || (r == Z_OK && z->zs.avail_in == 0 && z->zs.avail_out > 0))
            return 0; /* no progress possible: all input consumed, all output out */
        if (r == Z_MEM_ERROR)
            ws_z_oom("inflate");
        if (r != Z_OK)
            return -WS_CLOSE_INVALID_DATA;
    }
}

int ws_zinflate_message(ws_zinflate *z, wsf_buf *out, const uint8_t *in, size_t len, uint64_t max,
                        bool reset)
{
    uint64_t produced = 0;
    int r = 0;
    /* zlib's avail_in is 32 bits; messages are bounded far below, but feed in pieces anyway. */
    while (len > 0 && r == 0) {
        size_t n = len > (1u << 30) ? (1u << 30) : len;
        z->zs.next_in = (Bytef *)in;
        z->zs.avail_in = (uInt)n;
        r = ws_zinflate_run(z, out, max, &produced);
        in += n;
        len -= n;
    }
    if (r == 0) {
        z->zs.next_in = (Bytef *)ws_deflate_tail;
        z->zs.avail_in = sizeof ws_deflate_tail;
        r = ws_zinflate_run(z, out, max, &produced);
    }
    z->zs.next_in = NULL;
    z->zs.avail_in = 0;
    if (r != 0 || reset)
        inflateReset(&z->zs);
    return r;
}

ws_zdeflate *ws_zdeflate_new(int window_bits)
{
    ws_zdeflate *z = wsf_xcalloc(1, sizeof *z);
    if (deflateInit2(&z->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        ws_z_oom("deflateInit2");
    return z;
}

void ws_zdeflate_free(ws_zdeflate *z)
{
    if (z == NULL)
        return;
    deflateEnd(&z->zs);
    free(z);
}

int ws_zdeflate_message(ws_zdeflate *z, wsf_buf *out, const uint8_t *in, size_t len, bool reset)
{
    size_t start = wsf_buf_pending(out); /* reserve may move pending bytes to the front */
    z->zs.next_in = (Bytef *)in;
    z->zs.avail_in = 0;
    size_t left = len;
    do {
        size_t n = left > (1u << 30) ? (1u << 30) : left;
        z->zs.avail_in = (uInt)n;
        left -= n;
        int flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        do {
            size_t room = n / 2 + 64 < WS_Z_CHUNK ? n / 2 + 64 : WS_Z_CHUNK;
            z->zs.next_out = wsf_buf_reserve(out, room);
            z->zs.avail_out = (uInt)room;
            if (deflate(&z->zs, flush) == Z_STREAM_ERROR)
                ws_z_oom("deflate");
            out->len += room - z->zs.avail_out;
        } while (z->zs.avail_out == 0 || z->zs.avail_in > 0);
    } while (left > 0);
    /* A sync flush ends in an empty stored block whose last four bytes are always the tail. */
    if (wsf_buf_pending(out) - start >= sizeof ws_deflate_tail &&
        memcmp(out->data + out->len - sizeof ws_deflate_tail, ws_deflate_tail,
               sizeof ws_deflate_tail) == 0)
        out->len -= sizeof ws_deflate_tail;
    z->zs.next_in = NULL;
    z->zs.avail_in = 0;
    if (reset)
        deflateReset(&z->zs);
    return 0;
}
