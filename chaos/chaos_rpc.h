/* A drill's rpc load and its application backend ([rpc]): the runner starts the example C backend
 * (examples/c-backend, from $WSF_C_BACKEND or beside wsfleetd's build: ../examples/c-backend/) on
 * the fleet's run dir, and `clients` wsfleet.v1 clients that connect (the backend names them) and
 * send `rate` rpc "echo" per second each, one at a time. kill-backend SIGKILLs the backend,
 * start-backend starts a new one. Counted from the timeline's start: rpc answered, answered 108,
 * other errors, the clients' disconnects, round trips, and for each (re)start of the backend the
 * time to the last failed rpc sent after it (how long it took everything to work again). Internal
 * to wschaos. */
#ifndef CHAOS_RPC_H
#define CHAOS_RPC_H

#include <stdbool.h>
#include <stddef.h>

typedef struct chaos_run chaos_run;
typedef struct chaos_rpc chaos_rpc;

/* Starts the backend and the clients for run (its drill has [rpc] clients). Returns NULL after
 * reporting the error. */
chaos_rpc *chaos_rpc_new(chaos_run *run, size_t clients);

/* Clients connected now. */
size_t chaos_rpc_connected(const chaos_rpc *r);

/* The timeline starts: counting begins. */
void chaos_rpc_begin(chaos_rpc *r);

/* The timeline's actions. */
void chaos_rpc_kill_backend(chaos_run *run);
void chaos_rpc_start_backend(chaos_run *run);

/* Fills the rpc_* and backend_kills metrics. */
void chaos_rpc_measure(chaos_run *run);

/* Closes the clients and kills the backend. NULL is a no-op. */
void chaos_rpc_free(chaos_rpc *r);

#endif
