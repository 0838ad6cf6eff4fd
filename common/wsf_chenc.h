/* wsfleet.v1 encoders: the server's replies and pushes, the client's commands, each appended to a
 * wsf_buf as one compact JSON object without '\n'. Written by hand, not through jansson, so a
 * publication push costs one pass and its bytes can be written to many connections. Strings must
 * be valid UTF-8 (they come from jansson or from our own validated names) and are escaped; `data`
 * arguments are JSON the caller vouches for (from the parser, wsf_ch_data_compact or our own
 * encoders) and are copied verbatim. */
#ifndef WSF_CHENC_H
#define WSF_CHENC_H

#include "wsf_buf.h"
#include "wsf_chproto.h"

/* s (valid UTF-8, NUL-terminated) as a JSON string, quoted and escaped. */
void wsf_ch_enc_str(wsf_buf *out, const char *s);

/* Appends '\n' when out already holds bytes, so that several objects share a frame. */
void wsf_ch_sep(wsf_buf *out);

/* {"id":N,"error":{"code":C,"message":M}}, without "id" when id is 0; message NULL: the table's. */
void wsf_ch_enc_error(wsf_buf *out, uint64_t id, int code, const char *message);

/* {"id":N,"connect":{"client":C,"user":U,"subs":{CH:{"epoch","offset","recovered","pubs"}}}};
 * user "" is an anonymous client. */
void wsf_ch_enc_connect(wsf_buf *out, uint64_t id, const char *client, const char *user,
                        const wsf_ch_state *subs, size_t nsubs);

/* The same with "data":D after "subs" (the connect's answer from an application backend); data
 * NULL: none. */
void wsf_ch_enc_connect_data(wsf_buf *out, uint64_t id, const char *client, const char *user,
                             const wsf_ch_state *subs, size_t nsubs, const char *data,
                             size_t data_len);

/* {"id":N,"subscribe":{"epoch":E,"offset":O,"recovered":B,"pubs":[...]}} */
void wsf_ch_enc_subscribe(wsf_buf *out, uint64_t id, const wsf_ch_state *st);

/* {"id":N,"unsubscribe":{}} */
void wsf_ch_enc_unsubscribe(wsf_buf *out, uint64_t id);

/* {"id":N,"publish":{"offset":O}} */
void wsf_ch_enc_publish(wsf_buf *out, uint64_t id, uint64_t offset);

/* {"id":N,"history":{"epoch":E,"offset":O,"pubs":[...]}} (st->recovered is not written) */
void wsf_ch_enc_history(wsf_buf *out, uint64_t id, const wsf_ch_state *st);

/* {"id":N,"rpc":{"data":D}}, or {"id":N,"rpc":{}} when data is NULL. */
void wsf_ch_enc_rpc(wsf_buf *out, uint64_t id, const char *data, size_t data_len);

/* {"id":N,"refresh":{"expires":UNIX}} */
void wsf_ch_enc_refresh(wsf_buf *out, uint64_t id, int64_t expires);

/* {"id":N,"presence":{"clients":{ID:{"user":U}}}} */
void wsf_ch_enc_presence(wsf_buf *out, uint64_t id, const wsf_ch_member *members, size_t n);

/* {"push":{"channel":C,"pub":{"offset":N,"data":D,"info":{"user":U}}}} (no "info" without a user):
 * encode once, write the bytes to every subscriber. */
void wsf_ch_enc_push_pub(wsf_buf *out, const char *channel, const wsf_ch_pub *pub);

/* {"push":{"message":{"data":D}}} */
void wsf_ch_enc_push_message(wsf_buf *out, const char *data, size_t data_len);

/* Checks that buf is one JSON value (any type) within the depth bound and appends its compact
 * encoding to out, for data that arrives from outside the parser (NATS, wsctl). Returns 0, or
 * -WSF_CH_ERR_BAD_REQUEST with out unchanged. */
int wsf_ch_data_compact(wsf_buf *out, const char *buf, size_t len);

/* Client side: appends cmd as one JSON object (no '\n'): the fields its op uses, as the parser
 * reads them. */
void wsf_ch_enc_cmd(wsf_buf *out, const wsf_ch_cmd *cmd);

#endif
