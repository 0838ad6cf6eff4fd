/* Control-plane transport: ZeroMQ sockets carrying the protobuf messages of proto/wsfleet.proto.
 * This is the only module that touches ZeroMQ or protobuf-c; callers see wsf_msg.h structs.
 *
 * Sockets are non-blocking. wsf_ipc_fd gives ZeroMQ's notification descriptor for an event loop;
 * it is edge-triggered, so on every wake-up (and after every send, which can consume the edge) the
 * caller receives until the recv function returns 0. */
#ifndef WSF_IPC_H
#define WSF_IPC_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_ipccodec.h"
#include "wsf_msg.h"

typedef struct wsf_ipc wsf_ipc;

/* ZMQ_MAXMSGSIZE of every socket: a peer sending a larger message is disconnected and the
 * message never buffered. The largest legitimate message, a CtlResponse listing 256 workers,
 * is well under 100 KiB. */
#define WSF_IPC_MAX_WIRE (1024 * 1024)

enum wsf_ipc_role {
    WSF_IPC_WORKER,     /* DEALER, connects to the supervisor's worker endpoint */
    WSF_IPC_SUPERVISOR, /* ROUTER, binds the worker endpoint */
    WSF_IPC_CTL_SERVER, /* REP, binds the control endpoint */
};

/* A ROUTER peer (one worker connection). */
typedef struct wsf_ipc_peer {
    uint8_t id[64];
    size_t len;
} wsf_ipc_peer;

/* The process's ZeroMQ context. Returns NULL on failure (errno set). */
void *wsf_ipc_context_new(void);
void wsf_ipc_context_free(void *zctx);

/* Opens a socket for role on endpoint ("ipc:///path" or "tcp://127.0.0.1:port").
 * Returns 0 with *out set, or -errno. */
int wsf_ipc_open(wsf_ipc **out, void *zctx, enum wsf_ipc_role role, const char *endpoint);

/* Closes the socket without lingering; NULL is a no-op. */
void wsf_ipc_free(wsf_ipc *ipc);

/* Closes the socket, letting what it has queued go out for up to linger_ms: the context's
 * wsf_ipc_context_free waits that long for it (a reply sent just before the process re-executes
 * itself). NULL is a no-op. */
void wsf_ipc_close_flushing(wsf_ipc *ipc, int linger_ms);

/* How many messages ipc refused for their protocol version (WSF_IPC_EVERSION) so far; *version
 * gets the version the last of them carried. Lets the caller log the first refusal only. */
unsigned long wsf_ipc_refused(const wsf_ipc *ipc, uint32_t *version);

/* ZeroMQ's notification descriptor (edge-triggered, readable-only). */
int wsf_ipc_fd(const wsf_ipc *ipc);

/* True if a message is waiting (use after sends, which can swallow the descriptor's edge). */
bool wsf_ipc_has_input(const wsf_ipc *ipc);

/* Worker side. Sends without blocking; a message that cannot be queued is dropped (-EAGAIN):
 * Reports are cumulative, so the next one makes up for it. Returns 0 or -errno. */
int wsf_ipc_send_worker_msg(wsf_ipc *ipc, const wsf_worker_msg *msg);

/* Worker side. Returns 1 with *out filled, 0 when nothing is waiting, -EPROTO for a message that
 * did not decode or WSF_IPC_EVERSION for one of another protocol version (either already
 * discarded; call again), other -errno on failure. */
int wsf_ipc_recv_command(wsf_ipc *ipc, wsf_command *out);

/* Supervisor side: the next worker message and who sent it. Returns as wsf_ipc_recv_command. */
int wsf_ipc_recv_worker_msg(wsf_ipc *ipc, wsf_ipc_peer *peer, wsf_worker_msg *out);

/* Supervisor side: sends a command to one worker. Returns 0, -EHOSTUNREACH when that worker is
 * not connected, or another -errno. */
int wsf_ipc_send_command(wsf_ipc *ipc, const wsf_ipc_peer *peer, const wsf_command *cmd);

/* Control server (REP): the next request. Returns as wsf_ipc_recv_command; after 1, -EPROTO or
 * WSF_IPC_EVERSION the caller must answer with wsf_ipc_send_ctl_response before receiving again. */
int wsf_ipc_recv_ctl_request(wsf_ipc *ipc, wsf_ctl_request *out);
int wsf_ipc_send_ctl_response(wsf_ipc *ipc, const wsf_ctl_response *res);

/* Control client: one request and its response over a fresh REQ socket, waiting at most
 * timeout_ms. Returns 0, -ETIMEDOUT when no supervisor answered, -EPROTO for an undecodable
 * answer, WSF_IPC_EVERSION for an answer of another protocol version (out->version says which),
 * or another -errno. */
int wsf_ipc_ctl_call(void *zctx, const char *endpoint, const wsf_ctl_request *req,
                     wsf_ctl_response *out, int timeout_ms);

#endif
