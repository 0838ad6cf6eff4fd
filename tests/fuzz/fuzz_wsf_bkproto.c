/* libFuzzer target for the application backend codec: the input is read as a reply to each kind
 * of request and as a push. Whatever is accepted must hold what the worker relies on (valid
 * channel names, close codes an application may use, data that compacts to itself) and be what
 * the jansson-only parser reads too, and a connect event carrying the input as a header's name
 * and value (any bytes) must be one JSON object. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_bkproto.h"
#include "wsf_chenc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_wsf_bkproto: %s\n", what);
    abort();
}

static void check_data(const char *d, size_t len)
{
    wsf_buf again = {0};
    if (wsf_ch_data_compact(&again, d, len) != 0 || wsf_buf_pending(&again) != len ||
        memcmp(again.data + again.off, d, len) != 0)
        fail("accepted data does not compact to itself");
    wsf_buf_fini(&again);
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void fuzz_reply(const char *buf, size_t size, enum wsf_bk_kind kind)
{
    wsf_bk_reply r, slow;
    int rc = wsf_bk_reply_parse(&r, kind, buf, size);
    if (rc != wsf_bk_reply_parse_jansson(&slow, kind, buf, size))
        fail("the fast path and jansson disagree on a reply");
    if (rc != 0)
        return;
    if (r.outcome != slow.outcome || r.code != slow.code || !same_str(r.message, slow.message) ||
        !same_str(r.user, slow.user) || r.nchannels != slow.nchannels ||
        r.data_len != slow.data_len || (r.data == NULL) != (slow.data == NULL) ||
        (r.data != NULL && memcmp(r.data, slow.data, r.data_len) != 0))
        fail("the fast path and jansson read a reply differently");
    wsf_bk_reply_fini(&slow);
    switch (r.outcome) {
    case WSF_BK_RESULT:
        if (r.data != NULL)
            check_data(r.data, r.data_len);
        if (kind != WSF_BK_CONNECT && (r.user != NULL || r.nchannels != 0))
            fail("user or channels outside a connect");
        if (r.user != NULL && strlen(r.user) > WSF_BK_MAX_USER)
            fail("user too long");
        for (size_t i = 0; i < r.nchannels; i++)
            if (!wsf_ch_channel_is_valid(r.channels[i], strlen(r.channels[i])))
                fail("bad channel accepted");
        break;
    case WSF_BK_ERROR:
        if (r.code < 1 || r.message == NULL)
            fail("bad error accepted");
        break;
    default:
        if (kind != WSF_BK_CONNECT || !(r.code == 1000 || (r.code >= 3000 && r.code <= 4999)) ||
            strlen(r.message) > WSF_BK_MAX_REASON)
            fail("bad disconnect accepted");
        break;
    }
    wsf_bk_reply_fini(&r);
}

static void fuzz_event(const char *buf, size_t size)
{
    wsf_bk_header h = {.name = buf, .name_len = size, .value = buf, .value_len = size};
    wsf_bk_event ev = {.client = "c", .user = "u", .ip = "127.0.0.1", .headers = &h, .nheaders = 1};
    wsf_buf out = {0};
    wsf_bk_enc_event(&out, WSF_BK_CONNECT, &ev);
    json_t *doc = json_loadb((const char *)out.data + out.off, wsf_buf_pending(&out), 0, NULL);
    if (!json_is_object(doc))
        fail("connect event is not a JSON object");
    json_decref(doc);
    wsf_buf_fini(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size == 0 ? 1 : size);
    if (buf == NULL)
        abort();
    if (size > 0)
        memcpy(buf, data, size);
    for (int k = WSF_BK_CONNECT; k <= WSF_BK_PUBLISH; k++)
        fuzz_reply(buf, size, (enum wsf_bk_kind)k);
    wsf_buf d = {0}, slow = {0};
    int rc = wsf_bk_push_parse(&d, buf, size);
    if (rc != wsf_bk_push_parse_jansson(&slow, buf, size) ||
        wsf_buf_pending(&d) != wsf_buf_pending(&slow) ||
        (wsf_buf_pending(&d) > 0 &&
         memcmp(d.data + d.off, slow.data + slow.off, wsf_buf_pending(&d)) != 0))
        fail("the fast path and jansson read a push differently");
    if (rc == 0)
        check_data((const char *)d.data + d.off, wsf_buf_pending(&d));
    wsf_buf_fini(&d);
    wsf_buf_fini(&slow);
    fuzz_event(buf, size);
    free(buf);
    return 0;
}
