/* The control-plane messages' encoding: wsf_msg.h structs to and from the protobuf of
 * proto/wsfleet.proto, version checked. Pure (no I/O); wsf_ipc.c sends and receives the bytes. */
#ifndef WSF_IPCCODEC_H
#define WSF_IPCCODEC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_msg.h"

/* Decoders and recv functions: the message decoded but carries a protocol version other than
 * WSF_PROTO_VERSION, so it is refused (already discarded). The caller logs it, once. */
#define WSF_IPC_EVERSION (-EPROTONOSUPPORT)

/* Encoding only, for tests and tools: packs msg into buf (cap bytes). Returns the length or
 * -ENOSPC; the unpack functions return 0, -EPROTO, or WSF_IPC_EVERSION (*out untouched). */
int wsf_ipc_pack_worker_msg(uint8_t *buf, size_t cap, const wsf_worker_msg *msg);
int wsf_ipc_unpack_worker_msg(wsf_worker_msg *out, const uint8_t *buf, size_t len);
int wsf_ipc_pack_command(uint8_t *buf, size_t cap, const wsf_command *cmd);
int wsf_ipc_unpack_command(wsf_command *out, const uint8_t *buf, size_t len);
int wsf_ipc_pack_ctl_request(uint8_t *buf, size_t cap, const wsf_ctl_request *req);
int wsf_ipc_unpack_ctl_request(wsf_ctl_request *out, const uint8_t *buf, size_t len);
int wsf_ipc_pack_ctl_response(uint8_t *buf, size_t cap, const wsf_ctl_response *res);
int wsf_ipc_unpack_ctl_response(wsf_ctl_response *out, const uint8_t *buf, size_t len);

/* The unpack functions that also give the protocol version the message carried (*seen, set
 * whenever the message could be decoded at all), for counting refused peers. */
int wsf_ipccodec_unpack_worker_msg(wsf_worker_msg *out, const uint8_t *buf, size_t len,
                                   uint32_t *seen);
int wsf_ipccodec_unpack_command(wsf_command *out, const uint8_t *buf, size_t len, uint32_t *seen);
int wsf_ipccodec_unpack_ctl_request(wsf_ctl_request *out, const uint8_t *buf, size_t len,
                                    uint32_t *seen);
int wsf_ipccodec_unpack_ctl_response(wsf_ctl_response *out, const uint8_t *buf, size_t len,
                                     uint32_t *seen);

#endif
