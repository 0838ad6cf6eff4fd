/* libFuzzer target for wschaos's dashboard settings: the --admin URL parser, and the admin URL
 * found in a wsfleetd log. Invariants: an accepted URL gives a non-empty host without brackets
 * and a port 1..65535, and the host and port printed back parse to the same; a URL found in a
 * log starts with http:// and has no blanks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaos_admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_chaos_admin: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (url == NULL)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    char host[64];
    uint16_t port = 0;
    if (chaos_admin_parse_url(url, host, sizeof host, &port) == 0) {
        if (host[0] == '\0' || port == 0 || strchr(host, '[') || strchr(host, ']'))
            fail("accepted URL with an empty or bracketed host, or port 0");
        char again[128], host2[64];
        uint16_t port2 = 0;
        bool v6 = strchr(host, ':') != NULL;
        snprintf(again, sizeof again, "http://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
                 (unsigned)port);
        if (chaos_admin_parse_url(again, host2, sizeof host2, &port2) != 0 ||
            strcmp(host, host2) != 0 || port != port2)
            fail("host and port printed back do not parse to the same");
    }
    free(url);

    char path[] = "/tmp/fuzz-chaos-admin-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    bool written = write(fd, data, size) == (ssize_t)size;
    close(fd);
    char found[256];
    if (written && chaos_admin_find_url(path, found, sizeof found) == 0) {
        if (strncmp(found, "http://", 7) != 0 || strcspn(found, " \t\r\n") != strlen(found))
            fail("a URL from the log does not start with http:// or has blanks");
    }
    unlink(path);
    return 0;
}
