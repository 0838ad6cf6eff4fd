/* A drill's [timeline] entry: its time ("5s", "every 10s from 3s") and its action's words
 * ("fault random error rate=0.5 for=4s") into a chaos_action, every value checked. Pure. */
#ifndef CHAOS_TIMELINE_H
#define CHAOS_TIMELINE_H

#include <stddef.h>

#include "chaos_drill.h"

/* "5s", "every 10s" or "every 10s from 3s" into a->at_ms and a->every_ms. Returns 0, or -1 with
 * the reason in why. */
int chaos_timeline_when(chaos_action *a, const char *key, char *why, size_t why_len);

/* "ACTION WORD... [NAME=VALUE]..." into the rest of a. Returns 0, or -1 with the reason in why
 * (naming the action). */
int chaos_timeline_action(chaos_action *a, const char *value, char *why, size_t why_len);

/* The action's kind as written in a timeline ("kill", "stop", "fault", "crash-loop" ...); NULL
 * for a kind that is not one. */
const char *chaos_action_name(enum chaos_action_kind kind);

#endif
