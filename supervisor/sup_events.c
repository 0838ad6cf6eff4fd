/* The ring of fleet events. */
#include "sup_events.h"

#include <stdio.h>
#include <string.h>

void sup_events_init(sup_events *ev)
{
    memset(ev, 0, sizeof *ev);
}

int sup_events_kind_is_valid(const char *kind)
{
    size_t len = strlen(kind);
    if (len == 0 || len >= SUP_EVENT_KIND_MAX)
        return 0;
    return strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

/* Copies src into dst (cap bytes with the NUL), cutting at a UTF-8 character boundary and
 * turning control characters into spaces. */
static void sup_events_copy(char *dst, size_t cap, const char *src)
{
    size_t len = strlen(src);
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--; /* src[len] continues a character: cut before that character */
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    dst[len] = '\0';
}

const sup_event *sup_events_push(sup_events *ev, uint64_t wall_ms, const char *kind, int slot,
                                 const char *text)
{
    size_t at;
    if (ev->n == SUP_EVENTS_MAX) {
        at = ev->head;
        ev->head = (ev->head + 1) % SUP_EVENTS_MAX;
    } else {
        at = (ev->head + ev->n) % SUP_EVENTS_MAX;
        ev->n++;
    }
    sup_event *e = &ev->ring[at];
    e->id = ++ev->last_id;
    e->t_ms = wall_ms;
    e->slot = slot < -1 ? -1 : slot;
    sup_events_copy(e->kind, sizeof e->kind, kind);
    sup_events_copy(e->text, sizeof e->text, text);
    return e;
}

const sup_event *sup_events_at(const sup_events *ev, size_t i)
{
    return i < ev->n ? &ev->ring[(ev->head + i) % SUP_EVENTS_MAX] : NULL;
}

size_t sup_events_after(const sup_events *ev, uint64_t since)
{
    if (ev->n == 0)
        return 0;
    uint64_t first = sup_events_at(ev, 0)->id;
    if (since < first)
        return 0;
    /* Ids are consecutive within the ring. */
    uint64_t skip = since - first + 1;
    return skip >= ev->n ? ev->n : (size_t)skip;
}
