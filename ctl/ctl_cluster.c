/* wsctl cluster's table. The names and states come from other hosts: printed as printable
 * ASCII only. */
#include "ctl_cluster.h"

#include <errno.h>

static void ctl_cluster_text(FILE *out, const char *s, int width)
{
    int n = 0;
    for (; s != NULL && *s != '\0'; s++, n++)
        fputc(*s >= ' ' && *s < 0x7f ? *s : '?', out);
    for (; n < width; n++)
        fputc(' ', out);
}

int ctl_cluster_human(FILE *out, json_t *doc)
{
    json_t *fleets = json_object_get(doc, "fleets");
    if (!json_is_array(fleets))
        return -EPROTO;
    fprintf(out, "%-20s %-10s %7s %11s %10s %9s %6s\n", "NAME", "STATE", "WORKERS", "CONNECTIONS",
            "MSGS-IN/S", "ERRORS/S", "AGE");
    size_t i;
    json_t *f;
    json_array_foreach(fleets, i, f)
    {
        ctl_cluster_text(out, json_string_value(json_object_get(f, "name")), 20);
        fputc(' ', out);
        ctl_cluster_text(out, json_string_value(json_object_get(f, "state")), 10);
        fprintf(out, " %7lld %11lld %10.1f %9.1f %5.1fs\n",
                (long long)json_integer_value(json_object_get(f, "workers")),
                (long long)json_integer_value(json_object_get(f, "connections")),
                json_number_value(json_object_get(f, "msgs_in_per_s")),
                json_number_value(json_object_get(f, "errors_per_s")),
                json_number_value(json_object_get(f, "age_s")));
    }
    if (json_array_size(fleets) == 0)
        fputs("(no fleet heard in the last 10 s)\n", out);
    return 0;
}
