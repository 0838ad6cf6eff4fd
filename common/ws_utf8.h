/* Incremental UTF-8 validation (RFC 3629 §4, as RFC 6455 §8.1 requires for text messages). */
#ifndef WS_UTF8_H
#define WS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Validator state carried across chunks. Zero-initialised means "at a character boundary". */
typedef struct ws_utf8 {
    uint8_t need; /* continuation bytes still expected for the current character */
    uint8_t lo;   /* allowed range of the very next byte */
    uint8_t hi;
} ws_utf8;

/* Resets the state to a character boundary. */
void ws_utf8_init(ws_utf8 *s);

/* Feeds len bytes. Returns 0 while the input so far is a valid prefix of UTF-8, -1 as soon as a
 * byte makes it invalid (overlongs, surrogates, code points above U+10FFFF, stray continuation
 * bytes). After -1 the state is undefined until ws_utf8_init. */
int ws_utf8_feed(ws_utf8 *s, const uint8_t *p, size_t len);

/* True when the input fed so far ends on a character boundary. */
bool ws_utf8_is_complete(const ws_utf8 *s);

/* Validates one whole buffer: true if it is complete, valid UTF-8. */
bool ws_utf8_is_valid(const uint8_t *p, size_t len);

#endif
