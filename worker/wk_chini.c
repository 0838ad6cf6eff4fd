/* The channels INI file and the NATS URL file of wsworker. */
#include "wk_chini.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WK_CHINI_MAX_LINE 1024

/* Trims spaces and tabs from both ends of s[0..*len). */
static const char *wk_chini_trim(const char *s, size_t *len)
{
    while (*len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        (*len)--;
    }
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t' || s[*len - 1] == '\r'))
        (*len)--;
    return s;
}

int wk_chini_load_text(wsf_chconf *c, const char *text, size_t len, char *err, size_t errsize)
{
    char section[WK_CHINI_MAX_LINE] = "";
    char key[WK_CHINI_MAX_LINE], value[WK_CHINI_MAX_LINE];
    unsigned lineno = 0;
    size_t pos = 0;
    const char *why = NULL;

    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *line = wk_chini_trim(text + pos, &n);
        pos += (nl ? (size_t)(nl - (text + pos)) + 1 : len - pos);
        lineno++;
        if (n == 0 || line[0] == '#' || line[0] == ';')
            continue;
        if (n >= WK_CHINI_MAX_LINE) {
            why = "line too long";
            goto bad;
        }
        if (line[0] == '[') {
            if (line[n - 1] != ']') {
                why = "section header without ']'";
                goto bad;
            }
            size_t sn = n - 2;
            const char *s = wk_chini_trim(line + 1, &sn);
            memcpy(section, s, sn);
            section[sn] = '\0';
            if (!wsf_chconf_owns_section(section)) {
                why = "only [channels], [namespace NAME] and [backend] belong in this file";
                goto bad;
            }
            if (strncmp(section, "namespace ", 10) == 0) {
                why = wsf_chconf_add_namespace(c, section + 10);
                if (why != NULL)
                    goto bad;
            }
            continue;
        }
        const char *eq = memchr(line, '=', n);
        if (eq == NULL) {
            why = "expected key = value";
            goto bad;
        }
        size_t kn = (size_t)(eq - line), vn = n - kn - 1;
        const char *k = wk_chini_trim(line, &kn);
        const char *v = wk_chini_trim(eq + 1, &vn);
        memcpy(key, k, kn);
        key[kn] = '\0';
        memcpy(value, v, vn);
        value[vn] = '\0';
        if (section[0] == '\0') {
            why = "key outside a section";
            goto bad;
        }
        why = wsf_chconf_set(c, section, key, value);
        if (why != NULL)
            goto bad;
    }
    return 0;
bad:
    snprintf(err, errsize, "line %u: [%s] %s", lineno, section, why);
    return -EINVAL;
}

/* Reads a whole small file into a heap string. */
static int wk_chini_slurp(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap >= 1024 * 1024) {
            rc = -EFBIG;
            break;
        }
        char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL)
            break;
        buf = bigger;
        cap *= 2;
    }
    if (buf == NULL)
        rc = -ENOMEM;
    else if (ferror(f))
        rc = -EIO;
    fclose(f);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

int wk_chini_load_file(wsf_chconf *c, const char *path, char *err, size_t errsize)
{
    char *text;
    size_t len;
    int rc = wk_chini_slurp(path, &text, &len);
    if (rc != 0) {
        snprintf(err, errsize, "%s: %s", path, strerror(-rc));
        return rc;
    }
    char inner[512];
    rc = wk_chini_load_text(c, text, len, inner, sizeof inner);
    if (rc != 0)
        snprintf(err, errsize, "%s: %s", path, inner);
    free(text);
    return rc;
}

int wk_chini_read_url(const char *path, char *out, size_t size)
{
    char *text;
    size_t len;
    int rc = wk_chini_slurp(path, &text, &len);
    if (rc != 0)
        return rc;
    const char *nl = memchr(text, '\n', len);
    size_t n = nl ? (size_t)(nl - text) : len;
    const char *line = wk_chini_trim(text, &n);
    rc = n == 0 || n >= size ? -EINVAL : 0;
    if (rc == 0) {
        memcpy(out, line, n);
        out[n] = '\0';
    }
    free(text);
    return rc;
}
