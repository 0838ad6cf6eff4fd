/* The drill metrics' names and help texts, from the one list in chaos_metric.h. */
#include "chaos_metric.h"

#include <stddef.h>
#include <string.h>

static const char *const chaos_metric_names[CHAOS_METRIC_COUNT] = {
#define CHAOS_METRIC_NAME(id, name, help) [CHAOS_M_##id] = name,
    CHAOS_METRICS(CHAOS_METRIC_NAME)
#undef CHAOS_METRIC_NAME
};

static const char *const chaos_metric_helps[CHAOS_METRIC_COUNT] = {
#define CHAOS_METRIC_HELP(id, name, help) [CHAOS_M_##id] = help,
    CHAOS_METRICS(CHAOS_METRIC_HELP)
#undef CHAOS_METRIC_HELP
};

/* NULL for an id outside the list. */
const char *chaos_metric_name(enum chaos_metric_id id)
{
    if ((unsigned)id >= CHAOS_METRIC_COUNT)
        return NULL;
    return chaos_metric_names[id];
}

/* NULL for an id outside the list. */
const char *chaos_metric_help(enum chaos_metric_id id)
{
    if ((unsigned)id >= CHAOS_METRIC_COUNT)
        return NULL;
    return chaos_metric_helps[id];
}

int chaos_metric_lookup(const char *name)
{
    for (int i = 0; i < CHAOS_METRIC_COUNT; i++) {
        if (strcmp(chaos_metric_names[i], name) == 0)
            return i;
    }
    return -1;
}
