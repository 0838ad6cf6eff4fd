/* wsfleet.v1 client side: parses the server's frames (replies, errors, pushes) into structs, for
 * the load client and the tests. jansson parses; the framing rules are wsf_chproto.h's. */
#ifndef WSF_CHCLIENT_H
#define WSF_CHCLIENT_H

#include "wsf_chproto.h"

enum wsf_ch_msg_kind {
    WSF_CH_MSG_INVALID = 0, /* not a well-formed server object: code/message say why */
    WSF_CH_MSG_REPLY,       /* op says which */
    WSF_CH_MSG_ERROR,
    WSF_CH_MSG_PUSH_PUB,
    WSF_CH_MSG_PUSH_MESSAGE,
};

/* One object from the server. Strings and arrays belong to the wsf_ch_msgs list. */
typedef struct wsf_ch_msg {
    enum wsf_ch_msg_kind kind;
    enum wsf_ch_op op;   /* REPLY */
    uint64_t id;         /* REPLY, ERROR (0 when the error has no id) */
    int code;            /* ERROR; INVALID: WSF_CH_ERR_BAD_REQUEST */
    const char *message; /* ERROR, INVALID */
    const char *client;  /* connect */
    const char *user;    /* connect */
    wsf_ch_state *subs;  /* connect: channel set in each */
    size_t nsubs;
    wsf_ch_state state;  /* subscribe, history (epoch, offset, recovered, pubs); publish (offset) */
    const char *channel; /* PUSH_PUB */
    wsf_ch_pub pub;      /* PUSH_PUB */
    const char *data;    /* rpc (NULL when absent), PUSH_MESSAGE */
    size_t data_len;
    int64_t expires;        /* refresh */
    wsf_ch_member *members; /* presence */
    size_t nmembers;
} wsf_ch_msg;

typedef struct wsf_ch_msgs {
    wsf_ch_msg *items;
    size_t n;
    size_t cap;
    wsf_ch_pool pool;
} wsf_ch_msgs;

void wsf_ch_msgs_init(wsf_ch_msgs *m);
void wsf_ch_msgs_fini(wsf_ch_msgs *m);

/* Client side: parses one text frame from the server into m, one entry per non-blank line, with
 * the same framing rules as wsf_ch_parse_frame. Allocation failure aborts. */
void wsf_ch_parse_server(wsf_ch_msgs *m, const char *buf, size_t len);

/* A publication push seen without parsing it (pointers into the line). */
typedef struct wsf_ch_peek {
    const char *channel;
    size_t channel_len;
    uint64_t offset;
    const char *data; /* the data value's bytes, as sent */
    size_t data_len;
} wsf_ch_peek;

/* The fast path for a load client that receives a million pushes a second: when line (one line of
 * a frame, from wsf_ch_next_line) is a publication push laid out exactly as wsf_ch_enc_push_pub
 * writes it, fills out and returns true; otherwise returns false and the caller uses
 * wsf_ch_parse_server. It reads only what it returns and never past len, but it does not validate
 * the JSON around them: for a server that is trusted to be wsfleet. */
bool wsf_ch_peek_push(wsf_ch_peek *out, const char *line, size_t len);

#endif
