/* The wsfleet.v1 channel protocol (route /channels), server side: a text frame of one or more
 * JSON objects separated by '\n' in, commands or per-object errors out; the error table; the
 * connect-first and protocol-abuse rules. Pure: bytes in, structs out; no I/O, no clock. jansson
 * parses. The encoders are in wsf_chenc.h, the client's parser in wsf_chclient.h.
 *
 * Framing rules (both directions):
 *  - objects are separated by "\n"; a "\r" before the "\n" is tolerated and dropped;
 *  - empty (or blank: spaces, tabs, "\r") lines are ignored, so a trailing "\n" is fine;
 *  - a frame is as large as the worker's max_message lets it be (1 MiB by default, 1009 beyond);
 *    parsing takes memory in proportion and frees it with the list;
 *  - at most WSF_CH_MAX_OBJECTS objects per frame: the rest of the frame yields one error 106;
 *  - an object nested deeper than WSF_CH_MAX_DEPTH arrays/objects is refused (107) before it
 *    reaches jansson; duplicate keys are refused (107).
 * `data` values are re-encoded compactly (jansson, key order kept): whitespace is not preserved,
 * reals may be written differently (1e2 -> 100.0), integers beyond 64 bits are refused (107). */
#ifndef WSF_CHPROTO_H
#define WSF_CHPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSF_CH_MAX_OBJECTS 64             /* JSON objects per frame */
#define WSF_CH_MAX_DEPTH 32               /* nesting of arrays and objects in one object */
#define WSF_CH_MAX_SUBS 256               /* channels in one connect's subs */
#define WSF_CH_MAX_CHANNEL 255            /* bytes of a channel name */
#define WSF_CH_MAX_EPOCH 128              /* bytes of an epoch */
#define WSF_CH_MAX_METHOD 255             /* bytes of an rpc method */
#define WSF_CH_MAX_LIMIT 100000           /* history limit */
#define WSF_CH_MAX_ID 9007199254740991ULL /* 2^53 - 1: ids and offsets stay exact in JavaScript */

/* Error codes, in `{"id":N,"error":{"code":C,"message":"..."}}`. The message is the table's unless
 * a more precise one is given. An error about an object whose id could not be read has no "id". */
#define WSF_CH_ERRORS(X)                                                                           \
    X(INTERNAL, 100, "internal error")             /* a bug or an allocation limit */              \
    X(UNAUTHORIZED, 101, "unauthorized")           /* bad token or no token when needed */         \
    X(BAD_CHANNEL, 102, "bad channel")             /* bad name or undefined namespace */           \
    X(PERMISSION_DENIED, 103, "permission denied") /* namespace publish/subscribe rules */         \
    X(METHOD_NOT_FOUND, 104, "method not found")   /* rpc method no backend answers */             \
    X(ALREADY_SUBSCRIBED, 105, "already subscribed")                                               \
    X(LIMIT_EXCEEDED, 106, "limit exceeded") /* objects, subs, limit, channels */                  \
    X(BAD_REQUEST, 107, "bad request")       /* malformed JSON, missing/bad field */               \
    X(NOT_AVAILABLE, 108, "not available")   /* NATS down, backend timeout */                      \
    X(TOKEN_EXPIRED, 109, "token expired")                                                         \
    X(ALREADY_CONNECTED, 110, "already connected") /* a second connect */                          \
    X(NOT_CONNECTED, 111, "not connected")         /* a command before connect */                  \
    X(DUPLICATE_ID, 112, "duplicate id")           /* id of a command still in flight */           \
    X(UNKNOWN_COMMAND, 113, "unknown command")                                                     \
    X(NOT_SUBSCRIBED, 114, "not subscribed") /* unsubscribe of another channel */                  \
    X(DISABLED, 115, "disabled")             /* presence off in the namespace */

enum wsf_ch_err {
#define WSF_CH_ERR_ENUM(name, code, msg) WSF_CH_ERR_##name = code,
    WSF_CH_ERRORS(WSF_CH_ERR_ENUM)
#undef WSF_CH_ERR_ENUM
};

/* The table's message for code, or NULL for a code not in the table. */
const char *wsf_ch_err_message(int code);

/* The table's name ("BAD_REQUEST") for code, or NULL. */
const char *wsf_ch_err_name(int code);

/* Which protocol errors are abuse: a client that sends them is broken or hostile (malformed
 * objects, unknown commands, commands before connect, a second connect, duplicate ids, bad channel
 * names); refusals such as 103, 106 or 108 are not. */
bool wsf_ch_err_is_abuse(int code);

enum wsf_ch_op {
    WSF_CH_OP_NONE = 0, /* an error entry */
    WSF_CH_OP_CONNECT,
    WSF_CH_OP_SUBSCRIBE,
    WSF_CH_OP_UNSUBSCRIBE,
    WSF_CH_OP_PUBLISH,
    WSF_CH_OP_HISTORY,
    WSF_CH_OP_RPC,
    WSF_CH_OP_REFRESH,
    WSF_CH_OP_PRESENCE,
    WSF_CH_OP_COUNT
};

/* The JSON key of op ("subscribe"), or NULL for NONE. */
const char *wsf_ch_op_name(enum wsf_ch_op op);

/* A channel name is 1..255 bytes of [A-Za-z0-9_.:@-]. */
bool wsf_ch_channel_is_valid(const char *name, size_t len);

/* A position in a channel: after publication `offset` of epoch `epoch`. */
typedef struct wsf_ch_pos {
    const char *epoch;
    uint64_t offset;
} wsf_ch_pos;

/* One channel of connect's subs: where the client resumes from, if it says. */
typedef struct wsf_ch_sub {
    const char *channel;
    bool has_since;
    wsf_ch_pos since;
} wsf_ch_sub;

/* One parsed command, or one error (err set; op is the command when it could be read, else NONE;
 * no other field is set). Strings are NUL-terminated valid UTF-8 without NUL inside; they and data
 * belong to the wsf_ch_cmds list. An optional string absent is NULL; data absent is NULL with
 * data_len 0, present it is compact JSON of data_len bytes (a NUL follows them). */
typedef struct wsf_ch_cmd {
    enum wsf_ch_op op;
    uint64_t id;         /* 1..2^53-1, or 0 when it could not be read */
    int err;             /* 0, or a WSF_CH_ERR_* code: reply with an error, the op is not run */
    const char *err_msg; /* static text for err */
    const char *channel; /* subscribe, unsubscribe, publish, history, presence */
    bool has_since;      /* subscribe */
    wsf_ch_pos since;
    bool has_limit; /* history */
    uint32_t limit;
    const char *token;  /* connect (optional), refresh */
    const char *method; /* rpc */
    const char *data;   /* connect, rpc (optional), publish (required, may be "null") */
    size_t data_len;
    wsf_ch_sub *subs; /* connect */
    size_t nsubs;
} wsf_ch_cmd;

/* Heap blocks a parsed list owns (copied strings, data, arrays), freed together. */
typedef struct wsf_ch_pool {
    void **blocks;
    size_t n;
    size_t cap;
} wsf_ch_pool;

/* A copy of n bytes of s with a NUL after them, owned by pool. */
char *wsf_ch_pool_strndup(wsf_ch_pool *pool, const char *s, size_t n);
/* n zeroed bytes owned by pool (n may be 0). */
void *wsf_ch_pool_calloc(wsf_ch_pool *pool, size_t n, size_t size);
void wsf_ch_pool_fini(wsf_ch_pool *pool);

typedef struct wsf_ch_cmds {
    wsf_ch_cmd *items;
    size_t n;
    size_t cap;
    wsf_ch_pool pool;
} wsf_ch_cmds;

void wsf_ch_cmds_init(wsf_ch_cmds *c);
void wsf_ch_cmds_fini(wsf_ch_cmds *c);

/* Server side: parses one text frame (buf need not be NUL-terminated) into c, appending one entry
 * per non-blank line, in order: a command, or an error the worker answers before going on with the
 * next entry. Never fails as a whole; allocation failure aborts. Within the frame a repeated id
 * is error 112 (ids in flight across frames are the caller's to check). Entries are valid until
 * wsf_ch_cmds_fini. */
void wsf_ch_parse_frame(wsf_ch_cmds *c, const char *buf, size_t len);
/* The same with every line read by jansson: what wsf_ch_parse_frame's faster reading of the
 * common commands (wsf_jscan) is checked against in tests. */
void wsf_ch_parse_frame_jansson(wsf_ch_cmds *c, const char *buf, size_t len);

/* Connection-level rules the parser cannot see: connect first and once; no id reused while its
 * command is in flight; at most WSF_CH_MAX_INFLIGHT commands in flight. A pure struct per
 * connection, 16 bytes while nothing is in flight. The worker closes the connection when its
 * connect fails, so a connect counts once it is seen. */
#define WSF_CH_MAX_INFLIGHT 64

typedef struct wsf_ch_session {
    uint64_t *ids; /* in flight, unordered; NULL when none */
    uint8_t n;
    uint8_t cap;
    bool connect_seen;
} wsf_ch_session;

void wsf_ch_session_init(wsf_ch_session *s);
void wsf_ch_session_fini(wsf_ch_session *s);

/* For a command the parser accepted: 0 when it may run, recording its id as in flight (and a
 * connect as seen); else 110 (second connect), 111 (before connect), 112 (its id is in flight) or
 * 106 (too many in flight), and nothing is recorded. */
int wsf_ch_session_check(wsf_ch_session *s, const wsf_ch_cmd *cmd);

/* The command with id was answered (reply or error): its id may be used again. */
void wsf_ch_session_done(wsf_ch_session *s, uint64_t id);

/* Repeated protocol abuse closes the connection with 1008: WSF_CH_ABUSE_STREAK abusive objects in
 * a row (a good command resets the streak), or WSF_CH_ABUSE_WINDOW_MAX abusive objects within one
 * window of WSF_CH_ABUSE_WINDOW_MS that starts at the first of them. */
#define WSF_CH_ABUSE_STREAK 10
#define WSF_CH_ABUSE_WINDOW_MAX 30
#define WSF_CH_ABUSE_WINDOW_MS 10000
#define WSF_CH_ABUSE_CLOSE 1008

typedef struct wsf_ch_abuse {
    uint32_t streak;
    uint32_t in_window;
    uint64_t window_start_ms;
} wsf_ch_abuse;

void wsf_ch_abuse_init(wsf_ch_abuse *a);

/* Counts the outcome of one object: err 0 (a good command) resets the streak; an abusive error
 * (wsf_ch_err_is_abuse) counts; other errors change nothing. Returns true when the connection must
 * now be closed with WSF_CH_ABUSE_CLOSE. now_ms is any monotonic clock. */
bool wsf_ch_abuse_on_result(wsf_ch_abuse *a, int err, uint64_t now_ms);

/* Framing, shared by both parsers: finds the next non-blank line of buf from *pos, strips a
 * trailing '\r', and advances *pos past its '\n'. Returns false when none is left. */
bool wsf_ch_next_line(const char *buf, size_t len, size_t *pos, const char **line,
                      size_t *line_len);

/* Whether the arrays and objects in line nest at most WSF_CH_MAX_DEPTH deep (strings skipped), so
 * that jansson's recursion stays bounded whatever a client sends. */
bool wsf_ch_depth_ok(const char *line, size_t len);

/* ---- Types the encoders (wsf_chenc.h) and the client parser (wsf_chclient.h) share ---- */

/* One publication. user NULL: no "info". data must not be NULL. */
typedef struct wsf_ch_pub {
    uint64_t offset;
    const char *data;
    size_t data_len;
    const char *user;
} wsf_ch_pub;

/* A channel position with the publications replayed after the client's since. */
typedef struct wsf_ch_state {
    const char *channel; /* connect's subs only */
    const char *epoch;
    uint64_t offset;
    bool recovered;
    const wsf_ch_pub *pubs;
    size_t npubs;
} wsf_ch_state;

typedef struct wsf_ch_member {
    const char *client;
    const char *user;
} wsf_ch_member;

#endif
