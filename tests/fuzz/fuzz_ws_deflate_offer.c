/* libFuzzer target for ws_deflate's offer negotiation: any Sec-WebSocket-Extensions value is
 * negotiated with and without context takeover; an accepted offer must have sane parameters, its
 * response must fit WS_DEFLATE_MAX_RESPONSE, and the response's parameters, offered back, must
 * negotiate to the same result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_deflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_ws_deflate_offer: %s\n", what);
    abort();
}

static void check(const char *value, size_t len, bool takeover)
{
    ws_deflate_params p;
    if (!ws_deflate_negotiate(&p, value, len, takeover))
        return;
    if (!p.on || p.server_max_window_bits < 9 || p.server_max_window_bits > 15)
        fail("accepted with bad parameters");
    if (!takeover && (!p.server_no_context_takeover || !p.client_no_context_takeover))
        fail("context takeover without the setting");
    char line[WS_DEFLATE_MAX_RESPONSE];
    size_t n = ws_deflate_response(line, sizeof line, &p);
    static const char prefix[] = "Sec-WebSocket-Extensions: ";
    if (n < sizeof prefix + 2 || memcmp(line, prefix, sizeof prefix - 1) != 0 ||
        memcmp(line + n - 2, "\r\n", 2) != 0)
        fail("bad response line");
    ws_deflate_params again;
    const char *ext = line + sizeof prefix - 1;
    if (!ws_deflate_negotiate(&again, ext, (size_t)(line + n - 2 - ext), takeover))
        fail("our own response is not an acceptable offer");
    if (memcmp(&again, &p, sizeof p) != 0)
        fail("the response negotiates differently");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so reading past the value is caught. */
    char *value = malloc(size ? size : 1);
    if (value == NULL)
        return 0;
    memcpy(value, data, size);
    check(value, size, false);
    check(value, size, true);
    free(value);
    return 0;
}
