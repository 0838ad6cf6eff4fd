/* The fleet's recent events (restarts, exits, breaker transitions, scaling decisions, drains,
 * sidecar state, alerts, drill phases) in a fixed ring with increasing ids, so that a reader can
 * ask for everything after the last id it saw. Pure: the caller passes the time. */
#ifndef SUP_EVENTS_H
#define SUP_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define SUP_EVENTS_MAX 512     /* events kept; the oldest go first */
#define SUP_EVENT_KIND_MAX 24  /* a kind and its NUL: [a-z0-9_.-] */
#define SUP_EVENT_TEXT_MAX 240 /* a text and its NUL */

typedef struct sup_event {
    uint64_t id;   /* 1, 2, 3 ... over the supervisor's life */
    uint64_t t_ms; /* Unix time in milliseconds */
    int slot;      /* -1: the fleet */
    char kind[SUP_EVENT_KIND_MAX];
    char text[SUP_EVENT_TEXT_MAX];
} sup_event;

typedef struct sup_events {
    sup_event ring[SUP_EVENTS_MAX];
    size_t head; /* index of the oldest */
    size_t n;
    uint64_t last_id;
} sup_events;

void sup_events_init(sup_events *ev);

/* True if kind is 1..SUP_EVENT_KIND_MAX-1 characters of [a-z0-9_.-]. */
int sup_events_kind_is_valid(const char *kind);

/* Appends an event; kind and text are truncated to fit (text at a UTF-8 character boundary, and
 * control characters become spaces). Returns the stored event (valid until the ring wraps). */
const sup_event *sup_events_push(sup_events *ev, uint64_t wall_ms, const char *kind, int slot,
                                 const char *text);

/* Index of the first event with an id greater than since (0: the oldest held), or ev->n when
 * there is none; read them with sup_events_at(ev, i) for i from there up to ev->n. */
size_t sup_events_after(const sup_events *ev, uint64_t since);

/* Event i, 0 = the oldest held; NULL past the end. */
const sup_event *sup_events_at(const sup_events *ev, size_t i);

#endif
