/* libFuzzer target for the admission checks on untrusted input: the Origin allowlist matcher
 * (the input's first line is the list, the rest the Origin header) and the request prefix check.
 * Invariants: a valid exact origin is allowed by a list of itself; a list that fails the syntax
 * check is never used, so only checked lists are matched; the prefix check, once it refuses,
 * keeps refusing as more bytes arrive. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_admit.h"
#include "wsf_origin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_wsf_origin: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The prefix check: refusal is final. */
    int refused_at = -1;
    for (size_t n = 0; n <= size && n <= 64; n++) {
        int r = ws_admit_prefix(data, n);
        if (r != 0 && r != 400)
            fail("prefix check returned something other than 0 or 400");
        if (r == 400 && refused_at < 0)
            refused_at = (int)n;
        if (r == 0 && refused_at >= 0)
            fail("prefix check accepted more bytes after refusing fewer");
    }

    const uint8_t *nl = memchr(data, '\n', size);
    size_t list_len = nl ? (size_t)(nl - data) : size;
    char *list = malloc(list_len + 1);
    if (list == NULL)
        return 0;
    memcpy(list, data, list_len);
    list[list_len] = '\0';
    const char *origin = nl ? (const char *)nl + 1 : "";
    size_t origin_len = nl ? size - list_len - 1 : 0;

    if (strlen(list) == list_len && wsf_origin_list_check(list) == 0)
        (void)wsf_origin_allowed(list, origin, origin_len);

    /* An origin that is a valid entry with a scheme and no wildcard allows itself. */
    char *self = malloc(origin_len + 1);
    if (self != NULL) {
        memcpy(self, origin, origin_len);
        self[origin_len] = '\0';
        bool plain = strlen(self) == origin_len && origin_len > 0 && strstr(self, "://") &&
                     strpbrk(self, ", \t*") == NULL;
        if (plain && wsf_origin_list_check(self) == 0 &&
            !wsf_origin_allowed(self, self, origin_len))
            fail("a valid exact origin is not allowed by a list of itself");
        free(self);
    }
    free(list);
    return 0;
}
