/* A hashed timing wheel for many connection deadlines: O(1) to set, move or cancel a deadline,
 * and each tick visits only one slot. Pure: the caller supplies the time in ticks. */
#ifndef WSF_WHEEL_H
#define WSF_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

#define WSF_WHEEL_SLOTS 512

/* Embedded in the object that owns the deadline. Zero-initialised means "not scheduled". */
typedef struct wsf_wheel_node {
    struct wsf_wheel_node *next;
    struct wsf_wheel_node *prev;
    uint64_t deadline; /* absolute tick */
} wsf_wheel_node;

typedef struct wsf_wheel {
    uint64_t now; /* last tick processed */
    unsigned count;
    wsf_wheel_node slots[WSF_WHEEL_SLOTS]; /* list heads */
} wsf_wheel;

/* Starts an empty wheel whose current tick is now. */
void wsf_wheel_init(wsf_wheel *w, uint64_t now);

/* Schedules (or moves) node to fire at the given absolute tick; a deadline at or before the
 * current tick fires on the next advance. */
void wsf_wheel_set(wsf_wheel *w, wsf_wheel_node *node, uint64_t deadline);

/* Unschedules node; a no-op if it is not scheduled. */
void wsf_wheel_cancel(wsf_wheel *w, wsf_wheel_node *node);

static inline bool wsf_wheel_is_set(const wsf_wheel_node *node)
{
    return node->next != 0;
}

/* Advances the wheel to tick now and returns one expired node (already unscheduled), or NULL
 * when none is left up to now. Call until it returns NULL; the callee may re-schedule the node
 * or others while doing so. */
wsf_wheel_node *wsf_wheel_expire(wsf_wheel *w, uint64_t now);

#endif
