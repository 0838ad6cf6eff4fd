/* Deterministic message bodies for wsload: each message's bytes follow from a 32-bit tag (the
 * connection and the message's sequence number), so an echo is verified, content and order, without
 * keeping a copy of what was sent. Pure: no I/O. */
#ifndef CHAOS_PAYLOAD_H
#define CHAOS_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes at the start of a body that spell out its tag (fewer when the body is shorter). */
#define CHAOS_TAG_BYTES 8
/* Distinct starting offsets into the pattern; consecutive tags start at different ones. */
#define CHAOS_PATTERN_SPAN 251

typedef struct chaos_payload {
    size_t size;      /* every message's length */
    bool binary;      /* any byte value (binary) or printable ASCII (text, valid UTF-8) */
    uint8_t *pattern; /* size + CHAOS_PATTERN_SPAN bytes */
} chaos_payload;

/* Builds the pattern for messages of size bytes. Release with chaos_payload_fini. */
void chaos_payload_init(chaos_payload *p, size_t size, bool binary);

void chaos_payload_fini(chaos_payload *p);

/* The tag of message seq on connection conn. */
uint32_t chaos_payload_tag(size_t conn, uint64_t seq);

/* Writes the size bytes of the message with this tag into out. */
void chaos_payload_fill(const chaos_payload *p, uint8_t *out, uint32_t tag);

/* True if data[0..len) equals bytes [off, off + len) of the message with this tag. */
bool chaos_payload_matches(const chaos_payload *p, const uint8_t *data, size_t len, uint32_t tag,
                           size_t off);

#endif
