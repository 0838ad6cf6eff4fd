/* A NATS node's answer to GET /jsz?streams=true (its HTTP monitoring port), read for which
 * nodes lead what: the JetStream meta group and each stream. Node names are scripts/cluster's,
 * n1 .. n3. Pure: no I/O. */
#ifndef CHAOS_JSZ_H
#define CHAOS_JSZ_H

#include <stddef.h>

#define CHAOS_JSZ_NODES 3

/* From an HTTP/1.x response (status line, headers, then the JSON body) of len bytes: *mask gets
 * bit N-1 for every node N that leads the meta group or any stream, *leader the node leading the
 * stream called stream. Returns 0, or -1 when the response is not a 200 with a JSON object, or
 * when some leader is unknown (an election going on) or not one of n1 .. n3. */
int chaos_jsz_leaders(const char *resp, size_t len, const char *stream, unsigned *mask,
                      int *leader);

#endif
