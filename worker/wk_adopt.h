/* The worker's side of adoption (common/wsf_adopt.h): it holds a copy of every listening socket
 * of the fleet's reuseport groups (WSF_GROUP_FDS), so that no member of a group closes while any
 * worker lives, and the group keeps the order its steering program indexes. Orphaned, it offers
 * them to a new supervisor at RUNDIR/adopt until one adopts it or it starts draining. */
#ifndef WK_ADOPT_H
#define WK_ADOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct wk_adopt wk_adopt;

/* Called with adopted = true when a new supervisor adopted the worker, and with false when that
 * supervisor is gone (its connection closed): the worker is an orphan again. */
typedef void (*wk_adopt_cb)(void *arg, bool adopted);

/* The group descriptors named by WSF_GROUP_FDS ("FIRST,NLISTENS,NSLOTS": NLISTENS * NSLOTS
 * descriptors from FIRST). Pure. Returns 0, or -EINVAL for a malformed value. */
int wk_adopt_parse_group(int *first, unsigned *nlistens, unsigned *nslots, const char *value);

/* Sets up adoption for the worker of slot/generation whose supervisor endpoint is supervisor
 * ("ipc://DIR/workers"; the adopt socket is DIR/adopt) and group is WSF_GROUP_FDS. Sets *out to
 * NULL (and returns 0) when either is missing: a worker outside a fleet has nothing to offer.
 * Returns -1 after logging a malformed value. */
int wk_adopt_new(wk_adopt **out, struct event_base *base, const char *supervisor, const char *group,
                 unsigned slot, uint64_t generation, wk_adopt_cb cb, void *arg);

/* Starts looking for a new supervisor (every 100 ms); a no-op while adopted or looking. */
void wk_adopt_seek(wk_adopt *a);

/* Stops looking (the worker drains); an adoption already made stays. NULL is a no-op. */
void wk_adopt_stop(wk_adopt *a);

/* Closes the group descriptors too. NULL is a no-op. */
void wk_adopt_free(wk_adopt *a);

#endif
