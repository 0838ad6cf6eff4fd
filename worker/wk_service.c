/* Built-in services: /echo returns every message to its sender with the same opcode; /channels
 * speaks wsfleet.v1 (wk_channels.h) when the worker has a NATS URL. */
#include "wk_service.h"

#include <string.h>

#include "wk_channels.h"
#include "wk_conn.h"
#include "wk_worker.h"

static void wk_echo_on_message(wk_conn *c, int opcode, const uint8_t *data, size_t len)
{
    wk_conn_send(c, opcode, data, len);
}

static const wk_service wk_services[] = {
    {"/echo", wk_echo_on_message, NULL, NULL, NULL, 0, NULL},
    {"/channels", wk_channels_on_message, wk_channels_on_open, wk_channels_on_close, "wsfleet.v1",
     WK_CH_LAGGING, "lagging, resume"},
};

const wk_service *wk_service_find(const wk_ctx *ctx, ws_str path)
{
    for (size_t i = 0; i < sizeof wk_services / sizeof wk_services[0]; i++) {
        const char *p = wk_services[i].path;
        if (strlen(p) == path.len && memcmp(p, path.p, path.len) == 0)
            return wk_services[i].on_close == wk_channels_on_close && ctx->channels == NULL
                       ? NULL
                       : &wk_services[i];
    }
    return NULL;
}
