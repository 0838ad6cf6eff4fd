/* Test helpers shared by the codec suites and the fuzz targets: a byte vector, a reference frame
 * builder, and a driver that feeds ws_parser input in arbitrary pieces and records its events.
 * Free of Check, so the fuzz targets can use it too. */
#ifndef WS_TEST_UTIL_H
#define WS_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ws_parser.h"

/* realloc that aborts: test helpers have no failure path to report through. */
static inline void *ws_test_realloc(void *p, size_t n)
{
    void *q = realloc(p, n == 0 ? 1 : n);
    if (q == NULL) {
        fputs("ws_test_realloc: out of memory\n", stderr);
        abort();
    }
    return q;
}

/* A growable byte string; zero-initialised is empty. */
typedef struct ws_test_bytes {
    uint8_t *p;
    size_t len;
    size_t cap;
} ws_test_bytes;

static inline void ws_test_bytes_fini(ws_test_bytes *v)
{
    free(v->p);
    v->p = NULL;
    v->len = 0;
    v->cap = 0;
}

/* Makes room for n more bytes and returns where they go; len is not advanced. */
static inline uint8_t *ws_test_bytes_room(ws_test_bytes *v, size_t n)
{
    if (v->p == NULL || v->cap - v->len < n) {
        size_t cap = v->cap == 0 ? 64 : v->cap;
        while (cap - v->len < n) {
            cap *= 2;
        }
        v->p = ws_test_realloc(v->p, cap);
        v->cap = cap;
    }
    return v->p + v->len;
}

static inline void ws_test_bytes_put(ws_test_bytes *v, const void *data, size_t n)
{
    uint8_t *dst = ws_test_bytes_room(v, n);
    if (n > 0) {
        memcpy(dst, data, n);
    }
    v->len += n;
}

static inline void ws_test_bytes_put_byte(ws_test_bytes *v, unsigned byte)
{
    uint8_t b = (uint8_t)byte;
    ws_test_bytes_put(v, &b, 1);
}

/* Appends a frame whose first byte is b0 (FIN, RSV and opcode bits as given), with the minimal
 * length encoding, masked with mask when it is non-NULL. Masking is done byte by byte here, on
 * purpose independent of ws_mask. */
static inline void ws_test_put_frame(ws_test_bytes *v, unsigned b0, const uint8_t *mask,
                                     const void *payload, size_t n)
{
    const uint8_t *src = payload;
    unsigned mask_bit = mask != NULL ? 0x80u : 0u;

    ws_test_bytes_put_byte(v, b0);
    if (n <= 125) {
        ws_test_bytes_put_byte(v, mask_bit | (unsigned)n);
    } else if (n <= 0xFFFF) {
        ws_test_bytes_put_byte(v, mask_bit | 126u);
        ws_test_bytes_put_byte(v, (unsigned)(n >> 8));
        ws_test_bytes_put_byte(v, (unsigned)n);
    } else {
        ws_test_bytes_put_byte(v, mask_bit | 127u);
        for (int shift = 56; shift >= 0; shift -= 8) {
            ws_test_bytes_put_byte(v, (unsigned)((uint64_t)n >> shift));
        }
    }
    if (mask != NULL) {
        ws_test_bytes_put(v, mask, 4);
    }
    uint8_t *dst = ws_test_bytes_room(v, n);
    for (size_t i = 0; i < n; i++) {
        dst[i] = mask != NULL ? (uint8_t)(src[i] ^ mask[i & 3]) : src[i];
    }
    v->len += n;
}

/* One reported event; with coalescing, consecutive chunks of one message make one record. */
typedef struct ws_test_rec {
    int kind;
    int opcode;
    bool first;
    bool last;
    uint16_t code;
    size_t off; /* payload bytes start at run->payload.p + off */
    size_t len;
} ws_test_rec;

/* Drives one parser. Input is pushed in pieces; unconsumed bytes are kept in a window and
 * offered again with the next piece, as the ws_parser_next contract asks of its caller. */
typedef struct ws_test_run {
    ws_parser parser;
    bool coalesce;
    ws_test_bytes win; /* bytes pushed but not yet consumed */
    ws_test_rec *recs;
    size_t nrecs;
    size_t rcap;
    size_t calls_with_event; /* events other than WS_EV_NONE, before coalescing */
    ws_test_bytes payload;   /* every event's payload, concatenated */
    ssize_t result;          /* 0, or the parser's negative close code */
    bool closed;             /* a WS_EV_CLOSE was reported */
    bool msg_open;           /* a data message has started and not ended */
    int msg_op;
    const char *broken; /* the first contract violation seen, NULL while none */
} ws_test_run;

static inline void ws_test_run_init(ws_test_run *r, enum ws_role role, uint64_t max_message,
                                    bool coalesce)
{
    memset(r, 0, sizeof(*r));
    ws_parser_init(&r->parser, role, max_message);
    r->coalesce = coalesce;
}

static inline void ws_test_run_fini(ws_test_run *r)
{
    ws_test_bytes_fini(&r->win);
    ws_test_bytes_fini(&r->payload);
    free(r->recs);
    r->recs = NULL;
    r->nrecs = 0;
    r->rcap = 0;
}

static inline const ws_test_rec *ws_test_run_rec(const ws_test_run *r, size_t i)
{
    return i < r->nrecs ? &r->recs[i] : NULL;
}

static inline const uint8_t *ws_test_rec_data(const ws_test_run *r, const ws_test_rec *rec)
{
    return r->payload.p + rec->off;
}

/* Checks one event against the contract and records it. */
static inline void ws_test_run_record(ws_test_run *r, const ws_event *ev, const uint8_t *buf,
                                      size_t consumed)
{
    if (ev->kind < WS_EV_NONE || ev->kind > WS_EV_CLOSE) {
        r->broken = "event kind out of range";
        return;
    }
    if (ev->kind == WS_EV_NONE) {
        return;
    }
    if (ev->len > 0 &&
        (ev->data < buf || ev->len > consumed || (size_t)(ev->data - buf) > consumed - ev->len)) {
        r->broken = "event payload outside the consumed bytes";
        return;
    }
    if (ev->kind != WS_EV_DATA && ev->len > WS_MAX_CONTROL_PAYLOAD) {
        r->broken = "control payload longer than 125 bytes";
        return;
    }
    r->calls_with_event++;
    if (ev->kind == WS_EV_DATA) {
        if (ev->opcode != WS_OP_TEXT && ev->opcode != WS_OP_BINARY) {
            r->broken = "data chunk with an opcode other than text or binary";
            return;
        }
        if (ev->first == r->msg_open) {
            r->broken = ev->first ? "first chunk inside a message" : "chunk outside a message";
            return;
        }
        if (!ev->first && ev->opcode != r->msg_op) {
            r->broken = "chunk opcode differs from its message's";
            return;
        }
        r->msg_open = !ev->last;
        r->msg_op = ev->opcode;
        ws_test_rec *prev = r->nrecs > 0 ? &r->recs[r->nrecs - 1] : NULL;
        if (r->coalesce && !ev->first && prev != NULL && prev->kind == WS_EV_DATA && !prev->last) {
            ws_test_bytes_put(&r->payload, ev->data, ev->len);
            prev->len += ev->len;
            prev->last = ev->last;
            return;
        }
    }
    if (r->nrecs == r->rcap) {
        r->rcap = r->rcap == 0 ? 16 : r->rcap * 2;
        r->recs = ws_test_realloc(r->recs, r->rcap * sizeof(*r->recs));
    }
    ws_test_rec *rec = &r->recs[r->nrecs++];
    memset(rec, 0, sizeof(*rec));
    rec->kind = ev->kind;
    rec->off = r->payload.len;
    rec->len = ev->len;
    if (ev->kind == WS_EV_DATA) {
        rec->opcode = ev->opcode;
        rec->first = ev->first;
        rec->last = ev->last;
    } else if (ev->kind == WS_EV_CLOSE) {
        rec->code = ev->code;
        r->closed = true;
    }
    ws_test_bytes_put(&r->payload, ev->data, ev->len);
}

/* Whether the run still accepts input: no error, no close, no contract violation. */
static inline bool ws_test_run_is_live(const ws_test_run *r)
{
    return r->result == 0 && !r->closed && r->broken == NULL;
}

/* Appends n bytes to the window and lets the parser consume all it can. */
static inline void ws_test_run_push(ws_test_run *r, const uint8_t *in, size_t n)
{
    if (!ws_test_run_is_live(r)) {
        return;
    }
    ws_test_bytes_put(&r->win, in, n);
    while (r->win.len > 0 && ws_test_run_is_live(r)) {
        ws_event ev;
        /* Garbage in every field, so that a field the parser forgets to set shows up. */
        memset(&ev, 0x5A, sizeof(ev));
        ssize_t got = ws_parser_next(&r->parser, &ev, r->win.p, r->win.len);
        if (got < 0) {
            r->result = got;
            return;
        }
        if (got == 0) {
            if (r->win.len > WS_MAX_CONTROL_FRAME) {
                r->broken = "need-more with more than WS_MAX_CONTROL_FRAME bytes held";
            }
            return;
        }
        if ((size_t)got > r->win.len) {
            r->broken = "consumed more bytes than given";
            return;
        }
        ws_test_run_record(r, &ev, r->win.p, (size_t)got);
        memmove(r->win.p, r->win.p + got, r->win.len - (size_t)got);
        r->win.len -= (size_t)got;
    }
}

/* Pushes len bytes in pieces of `piece` bytes; 0 pushes them in one piece. */
static inline void ws_test_run_feed(ws_test_run *r, const uint8_t *in, size_t len, size_t piece)
{
    if (piece == 0 || piece > len) {
        piece = len;
    }
    if (len == 0) {
        ws_test_run_push(r, in, 0);
        return;
    }
    for (size_t off = 0; off < len; off += piece) {
        ws_test_run_push(r, in + off, len - off < piece ? len - off : piece);
    }
}

/* Whether two runs over the same input agree. The chunking of payload may differ, so runs should
 * coalesce. After a protocol error only the code is compared: the payload delivered before the
 * bad byte legitimately depends on how the input was split. */
static inline bool ws_test_run_agree(const ws_test_run *a, const ws_test_run *b)
{
    if (a->broken != NULL || b->broken != NULL) {
        return false;
    }
    if (a->result != b->result) {
        return false;
    }
    if (a->result != 0) {
        return true;
    }
    if (a->closed != b->closed || a->nrecs != b->nrecs) {
        return false;
    }
    if (!a->closed && a->win.len != b->win.len) {
        return false;
    }
    for (size_t i = 0; i < a->nrecs; i++) {
        const ws_test_rec *x = &a->recs[i];
        const ws_test_rec *y = &b->recs[i];
        if (x->kind != y->kind || x->opcode != y->opcode || x->first != y->first ||
            x->last != y->last || x->code != y->code || x->len != y->len) {
            return false;
        }
        if (x->len > 0 && memcmp(ws_test_rec_data(a, x), ws_test_rec_data(b, y), x->len) != 0) {
            return false;
        }
    }
    return true;
}

#endif
