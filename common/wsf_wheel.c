/* Hashed timing wheel: slot = deadline mod WSF_WHEEL_SLOTS, each slot a circular doubly linked
 * list. Deadlines more than one turn away simply stay in their slot until a later visit finds
 * them due. */
#include "wsf_wheel.h"

#include <stddef.h>

void wsf_wheel_init(wsf_wheel *w, uint64_t now)
{
    w->now = now;
    w->count = 0;
    for (size_t i = 0; i < WSF_WHEEL_SLOTS; i++) {
        w->slots[i].next = &w->slots[i];
        w->slots[i].prev = &w->slots[i];
    }
}

static void wsf_wheel_unlink(wsf_wheel_node *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->next = node->prev = NULL;
}

void wsf_wheel_set(wsf_wheel *w, wsf_wheel_node *node, uint64_t deadline)
{
    if (wsf_wheel_is_set(node))
        wsf_wheel_unlink(node);
    else
        w->count++;
    /* A past deadline goes into the current slot, which the next expire call visits first. */
    if (deadline < w->now)
        deadline = w->now;
    node->deadline = deadline;
    wsf_wheel_node *head = &w->slots[deadline % WSF_WHEEL_SLOTS];
    node->next = head;
    node->prev = head->prev;
    head->prev->next = node;
    head->prev = node;
}

void wsf_wheel_cancel(wsf_wheel *w, wsf_wheel_node *node)
{
    if (!wsf_wheel_is_set(node))
        return;
    wsf_wheel_unlink(node);
    w->count--;
}

wsf_wheel_node *wsf_wheel_expire(wsf_wheel *w, uint64_t now)
{
    if (w->count == 0) {
        if (now > w->now)
            w->now = now;
        return NULL;
    }
    if (now > w->now + WSF_WHEEL_SLOTS)
        w->now = now - WSF_WHEEL_SLOTS; /* one full turn visits every slot */
    for (;;) {
        wsf_wheel_node *head = &w->slots[w->now % WSF_WHEEL_SLOTS];
        for (wsf_wheel_node *n = head->next; n != head; n = n->next) {
            if (n->deadline <= now) {
                wsf_wheel_unlink(n);
                w->count--;
                return n;
            }
        }
        if (w->now >= now)
            return NULL;
        w->now++;
    }
}
