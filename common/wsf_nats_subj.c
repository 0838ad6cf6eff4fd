/* Channel names to NATS subjects and back: '.' kept, empty tokens written "~". */
#include "wsf_nats_subj.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool name_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == ':' || ch == '@' || ch == '-';
}

int wsf_nats_channel_is_valid(const char *name, size_t len)
{
    if (len == 0 || len > WSF_NATS_CHANNEL_MAX) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (!name_char((unsigned char)name[i])) {
            return 0;
        }
    }
    return 1;
}

int wsf_nats_subj_from_channel(char *out, size_t size, const char *prefix, const char *name,
                               size_t len)
{
    if (!wsf_nats_channel_is_valid(name, len)) {
        return -EINVAL;
    }
    size_t n = strlen(prefix);
    if (n >= size) {
        return -ENOSPC;
    }
    memcpy(out, prefix, n);
    /* Token boundaries sit at the start, after each '.', and at the end; an empty token is one
     * whose boundary is immediately followed by another boundary. */
    bool token_empty = true;
    for (size_t i = 0; i <= len; i++) {
        bool boundary = i == len || name[i] == '.';
        if (boundary && token_empty) {
            if (n + 1 >= size) {
                return -ENOSPC;
            }
            out[n++] = '~';
        }
        if (i == len) {
            break;
        }
        if (n + 1 >= size) {
            return -ENOSPC;
        }
        out[n++] = name[i];
        token_empty = boundary;
    }
    out[n] = '\0';
    return (int)n;
}

int wsf_nats_subj_to_channel(char *out, size_t size, const char *prefix, const char *subject)
{
    size_t plen = strlen(prefix);
    if (strncmp(subject, prefix, plen) != 0) {
        return -EINVAL;
    }
    const char *s = subject + plen;
    size_t slen = strlen(s);
    size_t n = 0;
    size_t start = 0;
    /* Walk the tokens: "~" alone stands for an empty token; any other token is copied. */
    for (size_t i = 0; i <= slen; i++) {
        if (i < slen && s[i] != '.') {
            continue;
        }
        size_t tlen = i - start;
        if (tlen == 0) {
            return -EINVAL;
        }
        bool tilde = tlen == 1 && s[start] == '~';
        size_t copy = tilde ? 0 : tlen;
        if (n + copy + (i < slen) >= size) {
            return -ENOSPC;
        }
        if (!tilde) {
            memcpy(out + n, s + start, copy);
            n += copy;
        }
        if (i < slen) {
            out[n++] = '.';
        }
        start = i + 1;
    }
    out[n] = '\0';
    /* Only the image of a valid name round-trips: rejects "~" inside tokens, wildcards, names that
     * end up empty (a lone "~") and forms like "a.~" written where "a." would map to the same. */
    char again[WSF_NATS_SUBJ_MAX];
    if (!wsf_nats_channel_is_valid(out, n) ||
        wsf_nats_subj_from_channel(again, sizeof(again), "", out, n) < 0 || strcmp(again, s) != 0) {
        return -EINVAL;
    }
    return (int)n;
}
