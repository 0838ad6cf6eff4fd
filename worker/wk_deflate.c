/* permessage-deflate for worker connections. The pool is created on first use, so a worker
 * that never negotiates deflate never loads zlib state. */
#include "wk_deflate.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wk_conn.h"
#include "wk_worker.h"
#include "ws_deflate.h"
#include "ws_frame.h"
#include "ws_utf8.h"

#define WK_Z_KEEP (256 * 1024) /* scratch buffers larger than this are freed after use */

struct wk_zconn {
    ws_zinflate *inf;
    ws_zdeflate *def;
};

struct wk_zpool {
    ws_zinflate *inf;     /* shared by every connection whose client resets its context */
    ws_zdeflate *def[16]; /* shared compressors, by window bits */
    wsf_buf plain;        /* the last inflated message */
    wsf_buf packed;       /* the last compressed message */
    wsf_buf packed_src;   /* the message packed holds, when a shared stream compressed it */
    unsigned packed_bits; /* that stream's window bits; 0: packed_src is not valid */
};

static wk_zpool *wk_zpool_get(wk_ctx *ctx)
{
    if (ctx->zpool == NULL)
        ctx->zpool = wsf_xcalloc(1, sizeof *ctx->zpool);
    return ctx->zpool;
}

size_t wk_deflate_accept(wk_conn *c, const ws_http_request *req, char *resp, size_t n, size_t cap)
{
    const wk_config *cfg = &c->ctx->cfg;
    if (!cfg->deflate || n < 2)
        return n;
    /* Offers may span several header lines; they are one list in order (RFC 6455 §9.1). */
    ws_deflate_params pmd = {0};
    for (size_t i = 0; i < req->nheaders && !pmd.on; i++) {
        const ws_header *h = &req->headers[i];
        if (h->name.len == 24 && strncasecmp(h->name.p, "Sec-WebSocket-Extensions", 24) == 0)
            ws_deflate_negotiate(&pmd, h->value.p, h->value.len, cfg->deflate_context_takeover);
    }
    if (!pmd.on)
        return n;
    char line[WS_DEFLATE_MAX_RESPONSE];
    size_t k = ws_deflate_response(line, sizeof line, &pmd);
    if (k == 0 || n + k > cap)
        return n;
    wk_conn_rare(c)->pmd = pmd; /* only now is it in use */
    memcpy(resp + n - 2, line, k);
    memcpy(resp + n - 2 + k, "\r\n", 2);
    return n + k;
}

int wk_deflate_inflate(wk_conn *c, int opcode, const uint8_t *in, size_t len, const uint8_t **out,
                       size_t *out_len, const char **why)
{
    wk_zpool *pool = wk_zpool_get(c->ctx);
    struct wk_conn_rare *cr = wk_conn_rare(c);
    ws_zinflate *z;
    bool shared = cr->pmd.client_no_context_takeover;
    if (shared) {
        if (pool->inf == NULL)
            pool->inf = ws_zinflate_new();
        z = pool->inf;
    } else {
        if (cr->z == NULL)
            cr->z = wsf_xcalloc(1, sizeof *cr->z);
        if (cr->z->inf == NULL)
            cr->z->inf = ws_zinflate_new();
        z = cr->z->inf;
    }
    wsf_buf *b = &pool->plain;
    if (b->cap > WK_Z_KEEP)
        wsf_buf_fini(b);
    b->off = b->len = 0;
    int r = ws_zinflate_message(z, b, in, len, c->ctx->cfg.max_message, shared);
    if (r != 0) {
        *why = r == -WS_CLOSE_TOO_BIG ? "message too big" : "invalid compressed data";
        return r;
    }
    if (opcode == WS_OP_TEXT && !ws_utf8_is_valid(b->data + b->off, wsf_buf_pending(b))) {
        *why = "invalid UTF-8";
        return -WS_CLOSE_INVALID_DATA;
    }
    *out = b->data + b->off;
    *out_len = wsf_buf_pending(b);
    return 0;
}

const wsf_buf *wk_deflate_compress(wk_conn *c, const uint8_t *data, size_t len)
{
    if (!wk_conn_deflating(c) || len < c->ctx->cfg.deflate_min_size)
        return NULL;
    struct wk_conn_rare *r = c->rare;
    wk_zpool *pool = wk_zpool_get(c->ctx);
    ws_zdeflate *z;
    bool shared = r->pmd.server_no_context_takeover;
    if (shared) {
        unsigned bits = r->pmd.server_max_window_bits;
        if (pool->def[bits] == NULL)
            pool->def[bits] = ws_zdeflate_new((int)bits);
        z = pool->def[bits];
    } else {
        if (r->z == NULL)
            r->z = wsf_xcalloc(1, sizeof *r->z);
        if (r->z->def == NULL)
            r->z->def = ws_zdeflate_new(r->pmd.server_max_window_bits);
        z = r->z->def;
    }
    wsf_buf *b = &pool->packed;
    wsf_buf *src = &pool->packed_src;
    /* A shared stream starts every message from the same state, so the same message compresses
     * to the same bytes: a publication fanned out to many connections is compressed once. */
    if (shared && pool->packed_bits == r->pmd.server_max_window_bits &&
        wsf_buf_pending(src) == len && (len == 0 || memcmp(src->data + src->off, data, len) == 0))
        return b;
    pool->packed_bits = 0;
    if (b->cap > WK_Z_KEEP)
        wsf_buf_fini(b);
    if (src->cap > WK_Z_KEEP)
        wsf_buf_fini(src);
    b->off = b->len = 0;
    src->off = src->len = 0;
    ws_zdeflate_message(z, b, data, len, shared);
    if (shared) {
        wsf_buf_append(src, data, len);
        pool->packed_bits = r->pmd.server_max_window_bits;
    }
    return b;
}

void wk_deflate_conn_free(wk_conn *c)
{
    if (c->rare == NULL || c->rare->z == NULL)
        return;
    ws_zinflate_free(c->rare->z->inf);
    ws_zdeflate_free(c->rare->z->def);
    free(c->rare->z);
    c->rare->z = NULL;
}

void wk_deflate_pool_free(wk_ctx *ctx)
{
    wk_zpool *pool = ctx->zpool;
    if (pool == NULL)
        return;
    ws_zinflate_free(pool->inf);
    for (size_t i = 0; i < sizeof pool->def / sizeof pool->def[0]; i++)
        ws_zdeflate_free(pool->def[i]);
    wsf_buf_fini(&pool->plain);
    wsf_buf_fini(&pool->packed);
    wsf_buf_fini(&pool->packed_src);
    free(pool);
    ctx->zpool = NULL;
}
