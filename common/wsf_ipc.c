/* ZeroMQ transport of the control-plane messages. Each ZeroMQ message is one protobuf message
 * (wsf_ipccodec.c); a ROUTER message is [peer identity][payload]. */
#include "wsf_ipc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define WSF_IPC_MAX_MSG (256 * 1024)

struct wsf_ipc {
    void *sock;
    enum wsf_ipc_role role;
    int fd;
    unsigned long refused;    /* messages refused for their protocol version */
    uint32_t refused_version; /* the version the last of them carried */
};

/* ZMQ_MAXMSGSIZE and the other options every socket of ours gets. A peer that announces a
 * larger message is disconnected by ZeroMQ before the message is buffered. */
static void wsf_sock_options(void *sock)
{
    int zero = 0;
    int64_t max = WSF_IPC_MAX_WIRE;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof max);
}

void *wsf_ipc_context_new(void)
{
    return zmq_ctx_new();
}

void wsf_ipc_context_free(void *zctx)
{
    if (zctx == NULL)
        return;
    while (zmq_ctx_term(zctx) == -1 && errno == EINTR)
        ;
}

int wsf_ipc_open(wsf_ipc **out, void *zctx, enum wsf_ipc_role role, const char *endpoint)
{
    static const int types[] = {
        [WSF_IPC_WORKER] = ZMQ_DEALER,
        [WSF_IPC_SUPERVISOR] = ZMQ_ROUTER,
        [WSF_IPC_CTL_SERVER] = ZMQ_REP,
    };
    int one = 1, hwm = 1000, err;
    if ((unsigned)role >= sizeof types / sizeof types[0])
        return -EINVAL;
    void *sock = zmq_socket(zctx, types[role]);
    if (sock == NULL)
        return -errno;
    wsf_sock_options(sock);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (role == WSF_IPC_SUPERVISOR)
        zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    int rc = role == WSF_IPC_WORKER ? zmq_connect(sock, endpoint) : zmq_bind(sock, endpoint);
    if (rc == -1) {
        err = errno;
        zmq_close(sock);
        return -err;
    }
    int fd;
    size_t len = sizeof fd;
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) == -1) {
        err = errno;
        zmq_close(sock);
        return -err;
    }
    wsf_ipc *ipc = calloc(1, sizeof *ipc);
    if (ipc == NULL) {
        zmq_close(sock);
        return -ENOMEM;
    }
    ipc->sock = sock;
    ipc->role = role;
    ipc->fd = fd;
    *out = ipc;
    return 0;
}

void wsf_ipc_free(wsf_ipc *ipc)
{
    if (ipc == NULL)
        return;
    zmq_close(ipc->sock);
    free(ipc);
}

void wsf_ipc_close_flushing(wsf_ipc *ipc, int linger_ms)
{
    if (ipc == NULL)
        return;
    zmq_setsockopt(ipc->sock, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    wsf_ipc_free(ipc);
}

int wsf_ipc_fd(const wsf_ipc *ipc)
{
    return ipc->fd;
}

unsigned long wsf_ipc_refused(const wsf_ipc *ipc, uint32_t *version)
{
    *version = ipc->refused_version;
    return ipc->refused;
}

bool wsf_ipc_has_input(const wsf_ipc *ipc)
{
    int events = 0;
    size_t len = sizeof events;
    if (zmq_getsockopt(ipc->sock, ZMQ_EVENTS, &events, &len) == -1)
        return false;
    return (events & ZMQ_POLLIN) != 0;
}

/* Receives one whole message (all its parts) without blocking. parts[i] are filled in up to
 * max_parts; returns the number of parts, 0 when nothing is waiting, or -errno. The caller
 * closes every part it was given. */
static int wsf_recv_parts(void *sock, zmq_msg_t *parts, int max_parts)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, n == 0 ? ZMQ_DONTWAIT : 0) == -1) {
            int err = errno;
            zmq_msg_close(&part);
            for (int i = 0; i < n && i < max_parts; i++)
                zmq_msg_close(&parts[i]);
            return err == EAGAIN ? 0 : -err;
        }
        more = zmq_msg_more(&part);
        if (n < max_parts)
            parts[n] = part;
        else
            zmq_msg_close(&part); /* surplus parts are dropped */
        n++;
    }
    return n < max_parts ? n : max_parts;
}

static void wsf_close_parts(zmq_msg_t *parts, int n)
{
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
}

/* A recv function's result from its decoder's; counts version refusals. */
static int wsf_recv_result(wsf_ipc *ipc, int rc, uint32_t seen)
{
    if (rc == WSF_IPC_EVERSION) {
        ipc->refused++;
        ipc->refused_version = seen;
    }
    return rc == 0 ? 1 : rc;
}

int wsf_ipc_send_worker_msg(wsf_ipc *ipc, const wsf_worker_msg *msg)
{
    uint8_t buf[4096];
    int n = wsf_ipc_pack_worker_msg(buf, sizeof buf, msg);
    if (n < 0)
        return n;
    if (zmq_send(ipc->sock, buf, (size_t)n, ZMQ_DONTWAIT) == -1)
        return -errno;
    return 0;
}

int wsf_ipc_recv_command(wsf_ipc *ipc, wsf_command *out)
{
    zmq_msg_t parts[1];
    int n = wsf_recv_parts(ipc->sock, parts, 1);
    if (n <= 0)
        return n;
    uint32_t seen;
    int rc =
        wsf_ipccodec_unpack_command(out, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), &seen);
    wsf_close_parts(parts, n);
    return wsf_recv_result(ipc, rc, seen);
}

int wsf_ipc_recv_worker_msg(wsf_ipc *ipc, wsf_ipc_peer *peer, wsf_worker_msg *out)
{
    zmq_msg_t parts[2];
    int n = wsf_recv_parts(ipc->sock, parts, 2);
    if (n <= 0)
        return n;
    int rc = -EPROTO;
    uint32_t seen = 0;
    size_t idlen = zmq_msg_size(&parts[0]);
    if (n == 2 && idlen <= sizeof peer->id) {
        memcpy(peer->id, zmq_msg_data(&parts[0]), idlen);
        peer->len = idlen;
        rc = wsf_ipccodec_unpack_worker_msg(out, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]),
                                            &seen);
    }
    wsf_close_parts(parts, n);
    return wsf_recv_result(ipc, rc, seen);
}

int wsf_ipc_send_command(wsf_ipc *ipc, const wsf_ipc_peer *peer, const wsf_command *cmd)
{
    uint8_t buf[512];
    int n = wsf_ipc_pack_command(buf, sizeof buf, cmd);
    if (n < 0)
        return n;
    if (zmq_send(ipc->sock, peer->id, peer->len, ZMQ_DONTWAIT | ZMQ_SNDMORE) == -1)
        return -errno;
    if (zmq_send(ipc->sock, buf, (size_t)n, ZMQ_DONTWAIT) == -1)
        return -errno;
    return 0;
}

int wsf_ipc_recv_ctl_request(wsf_ipc *ipc, wsf_ctl_request *out)
{
    zmq_msg_t parts[1];
    int n = wsf_recv_parts(ipc->sock, parts, 1);
    if (n <= 0)
        return n;
    uint32_t seen;
    int rc = wsf_ipccodec_unpack_ctl_request(out, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]),
                                             &seen);
    wsf_close_parts(parts, n);
    return wsf_recv_result(ipc, rc, seen);
}

int wsf_ipc_send_ctl_response(wsf_ipc *ipc, const wsf_ctl_response *res)
{
    uint8_t *buf = malloc(WSF_IPC_MAX_MSG);
    if (buf == NULL)
        return -ENOMEM;
    int n = wsf_ipc_pack_ctl_response(buf, WSF_IPC_MAX_MSG, res);
    int rc = 0;
    if (n < 0)
        rc = n;
    else if (zmq_send(ipc->sock, buf, (size_t)n, ZMQ_DONTWAIT) == -1)
        rc = -errno;
    free(buf);
    return rc;
}

int wsf_ipc_ctl_call(void *zctx, const char *endpoint, const wsf_ctl_request *req,
                     wsf_ctl_response *out, int timeout_ms)
{
    int rc;
    uint8_t *buf = malloc(WSF_IPC_MAX_MSG);
    if (buf == NULL)
        return -ENOMEM;
    int n = wsf_ipc_pack_ctl_request(buf, WSF_IPC_MAX_MSG, req);
    void *sock = n < 0 ? NULL : zmq_socket(zctx, ZMQ_REQ);
    if (n < 0 || sock == NULL) {
        rc = n < 0 ? n : -errno;
        free(buf);
        return rc;
    }
    wsf_sock_options(sock);
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    if (zmq_connect(sock, endpoint) == -1) {
        rc = -errno;
        goto out;
    }
    if (zmq_send(sock, buf, (size_t)n, 0) == -1) {
        rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
        goto out;
    }
    zmq_msg_t reply;
    zmq_msg_init(&reply);
    if (zmq_msg_recv(&reply, sock, 0) == -1) {
        rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
        zmq_msg_close(&reply);
        goto out;
    }
    uint32_t seen = 0;
    rc = wsf_ipccodec_unpack_ctl_response(out, zmq_msg_data(&reply), zmq_msg_size(&reply), &seen);
    zmq_msg_close(&reply);
    if (rc == 0 || rc == WSF_IPC_EVERSION)
        out->version = seen;
out:
    zmq_close(sock);
    free(buf);
    return rc;
}
