#include "wsf_hdruser.h"

#include <string.h>

bool wsf_hdruser_encode(char out[WSF_HDRUSER_ENCODED_MAX], const char *user)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(user);
    if (len == 0 || len > WSF_HDRUSER_MAX) {
        return false;
    }
    char *o = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)user[i];
        if (c > ' ' && c < 0x7f && c != '%') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

const char *wsf_hdruser_decode(const char *value, char buf[WSF_HDRUSER_MAX + 1])
{
    if (value == NULL || *value == '\0') {
        return NULL;
    }
    size_t n = 0;
    for (const char *p = value; *p != '\0'; p++) {
        if (n == WSF_HDRUSER_MAX) {
            return NULL;
        }
        if (*p != '%') {
            buf[n++] = *p;
            continue;
        }
        int hi = hex_digit(p[1]);
        int lo = hi < 0 ? -1 : hex_digit(p[2]);
        if (lo < 0 || (hi == 0 && lo == 0)) {
            return NULL;
        }
        buf[n++] = (char)(hi << 4 | lo);
        p += 2;
    }
    buf[n] = '\0';
    return buf;
}
