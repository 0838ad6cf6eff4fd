/* The adoption handshake between an orphaned worker and a new supervisor, over a SOCK_SEQPACKET
 * unix socket at RUNDIR/adopt. The worker sends a hello, then its copies of every listening
 * socket of the fleet's reuseport groups (address-major: fd k is address k / nslots, slot
 * k % nslots) in chunks of at most WSF_ADOPT_CHUNK descriptors, each a message with a chunk
 * header and the descriptors as SCM_RIGHTS; the supervisor answers one byte, WSF_ADOPT_YES or
 * WSF_ADOPT_NO. The connection then stays open: its end of file tells the worker that the new
 * supervisor is gone, as the parent pipe did for the first. Header-only: both sides include it. */
#ifndef WSF_ADOPT_H
#define WSF_ADOPT_H

#include <stdint.h>

#define WSF_ADOPT_SOCKET "adopt" /* in the run dir */
#define WSF_ADOPT_MAGIC 0x57534641u
#define WSF_ADOPT_VERSION 1u
#define WSF_ADOPT_CHUNK 250 /* the kernel takes at most 253 descriptors in one message */
#define WSF_ADOPT_YES 'A'
#define WSF_ADOPT_NO 'R'

typedef struct wsf_adopt_hello {
    uint32_t magic;
    uint32_t version;
    uint32_t pid;
    uint32_t slot;
    uint64_t generation;
    uint32_t nlistens;
    uint32_t nslots;
} wsf_adopt_hello;

typedef struct wsf_adopt_chunk {
    uint32_t magic;
    uint32_t first; /* index of the chunk's first descriptor */
    uint32_t count; /* descriptors attached */
} wsf_adopt_chunk;

#endif
