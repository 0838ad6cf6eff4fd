/* jansson document building that aborts on allocation failure. */
#include "wsf_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* A tool that cannot allocate its output has no useful way to go on. */
static _Noreturn void wsf_json_oom(void)
{
    fprintf(stderr, "%s: out of memory building JSON\n", program_invocation_short_name);
    abort();
}

json_t *wsf_json_checked(json_t *v)
{
    if (v == NULL)
        wsf_json_oom();
    return v;
}

void wsf_json_set(json_t *obj, const char *key, json_t *v)
{
    if (json_object_set_new(obj, key, wsf_json_checked(v)) != 0)
        wsf_json_oom();
}

void wsf_json_append(json_t *array, json_t *v)
{
    if (json_array_append_new(array, wsf_json_checked(v)) != 0)
        wsf_json_oom();
}
