/* A scanner for JSON objects already in the compact form jansson writes: finds an object's
 * members in place, without allocating, so that the busiest messages (a client's rpc or publish,
 * an application's result) skip building and freeing a jansson tree and encoding their data
 * again. It takes only text that jansson would read and write back byte for byte:
 *  - no whitespace between tokens, no backslash in strings (no escapes), no control characters,
 *    strings valid UTF-8 (RFC 8259 section 8.1; no surrogates, nothing above U+10FFFF);
 *  - numbers only as integers of at most 18 digits, without "-0" (reals are written back by
 *    jansson in another form);
 *  - no repeated key in an object, at most WSF_JSCAN_MAX_KEYS keys in each.
 * Anything else, valid JSON or not, is declined, and the caller reads the text with jansson as
 * before: a decline means "not mine", never "invalid". */
#ifndef WSF_JSCAN_H
#define WSF_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSF_JSCAN_MAX_KEYS 32

/* One member of an object: its key (without quotes) and its value's text, both pointing into the
 * scanned buffer. The value's first byte tells its type: '"', '{', '[', 't', 'f', 'n', or a
 * digit or '-' for an integer. */
typedef struct wsf_jmember {
    const char *key;
    size_t key_len;
    const char *val;
    size_t val_len;
} wsf_jmember;

/* Scans buf[0..len) as exactly one object in the form above, nested at most max_depth arrays
 * and objects deep. Fills out[0..max) with its members in order and returns how many, or -1 when
 * it declines (the text is not in that form, or has more than max members). */
int wsf_jscan_object(wsf_jmember *out, size_t max, const char *buf, size_t len,
                     unsigned max_depth);

/* The member of m[0..n) whose key is key (a C string), or NULL. */
const wsf_jmember *wsf_jscan_find(const wsf_jmember *m, size_t n, const char *key);

/* Whether m's key is key. */
bool wsf_jscan_key_is(const wsf_jmember *m, const char *key);

/* Whether m's value is an integer in [0, max]; sets *out. */
bool wsf_jscan_uint(const wsf_jmember *m, uint64_t max, uint64_t *out);

/* Whether m's value is a string; sets *s and *len to its bytes (between the quotes). */
bool wsf_jscan_string(const wsf_jmember *m, const char **s, size_t *len);

#endif
