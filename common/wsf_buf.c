/* Growable byte buffers and the allocation helpers that abort on failure. */
#include "wsf_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wsf_oom(size_t n)
{
    fprintf(stderr, "out of memory allocating %zu bytes\n", n);
    abort();
}

void *wsf_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        wsf_oom(n);
    return p;
}

void *wsf_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        wsf_oom(n * size);
    return p;
}

void *wsf_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        wsf_oom(n);
    return q;
}

uint8_t *wsf_buf_reserve(wsf_buf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return b->data + b->len;
    size_t pending = b->len - b->off;
    if (b->off > 0 && b->cap - pending >= n) {
        /* Enough room once the consumed prefix is dropped. */
        memmove(b->data, b->data + b->off, pending);
        b->off = 0;
        b->len = pending;
        return b->data + b->len;
    }
    if (n > SIZE_MAX / 2 - pending)
        wsf_oom(n); /* no buffer that large can exist; doubling would wrap */
    size_t cap = b->cap ? b->cap : 256;
    while (cap - pending < n)
        cap *= 2;
    if (b->off > 0) {
        memmove(b->data, b->data + b->off, pending);
        b->off = 0;
        b->len = pending;
    }
    b->data = wsf_xrealloc(b->data, cap);
    b->cap = cap;
    return b->data + b->len;
}

void wsf_buf_append(wsf_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(wsf_buf_reserve(b, n), p, n);
    b->len += n;
}

void wsf_buf_consume(wsf_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

void wsf_buf_fini(wsf_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}
