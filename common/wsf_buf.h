/* A growable byte buffer with a read offset: bytes [off, len) are pending. */
#ifndef WSF_BUF_H
#define WSF_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct wsf_buf {
    uint8_t *data;
    size_t off; /* first pending byte */
    size_t len; /* end of pending bytes */
    size_t cap;
} wsf_buf;

/* Pending bytes. */
static inline size_t wsf_buf_pending(const wsf_buf *b)
{
    return b->len - b->off;
}

/* Makes room for n more bytes after len (compacting or growing) and returns where they go.
 * Aborts on allocation failure. */
uint8_t *wsf_buf_reserve(wsf_buf *b, size_t n);

/* Appends n bytes. */
void wsf_buf_append(wsf_buf *b, const void *p, size_t n);

/* Marks n pending bytes as consumed; the buffer resets to empty when nothing is pending. */
void wsf_buf_consume(wsf_buf *b, size_t n);

/* Frees the storage and leaves an empty buffer; safe on an empty one. */
void wsf_buf_fini(wsf_buf *b);

/* malloc/realloc that abort with a message on failure. */
void *wsf_xmalloc(size_t n);
void *wsf_xcalloc(size_t n, size_t size);
void *wsf_xrealloc(void *p, size_t n);

#endif
