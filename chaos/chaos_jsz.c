/* Leaders from a NATS node's /jsz answer. */
#include "chaos_jsz.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

/* "n2" -> 2, anything else 0. */
static int chaos_jsz_node(const char *name)
{
    if (name == NULL || name[0] != 'n' || name[1] < '1' || name[1] > '0' + CHAOS_JSZ_NODES ||
        name[2] != '\0') {
        return 0;
    }
    return name[1] - '0';
}

static const char *chaos_jsz_leader_of(json_t *o)
{
    return json_string_value(json_object_get(o, "leader"));
}

int chaos_jsz_leaders(const char *resp, size_t len, const char *stream, unsigned *mask, int *leader)
{
    static const char sep[] = "\r\n\r\n";
    if (len < 12 || memcmp(resp, "HTTP/1.", 7) != 0 || memcmp(resp + 8, " 200", 4) != 0) {
        return -1;
    }
    const char *body = NULL;
    for (size_t i = 0; i + 4 <= len; i++) {
        if (memcmp(resp + i, sep, 4) == 0) {
            body = resp + i + 4;
            break;
        }
    }
    if (body == NULL) {
        return -1;
    }
    json_error_t jerr;
    /* JSON_DECODE_INT_AS_REAL: /jsz holds unsigned 64-bit limits (reserved_memory). */
    json_t *doc = json_loadb(body, len - (size_t)(body - resp),
                             JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return -1;
    }
    int meta = chaos_jsz_node(chaos_jsz_leader_of(json_object_get(doc, "meta_cluster")));
    unsigned m = meta > 0 ? 1u << (meta - 1) : 0;
    bool known = meta > 0;
    int s = 0;
    size_t ai;
    json_t *acc;
    json_array_foreach(json_object_get(doc, "account_details"), ai, acc)
    {
        size_t si;
        json_t *st;
        json_array_foreach(json_object_get(acc, "stream_detail"), si, st)
        {
            int l = chaos_jsz_node(chaos_jsz_leader_of(json_object_get(st, "cluster")));
            known = known && l > 0;
            m |= l > 0 ? 1u << (l - 1) : 0;
            const char *name = json_string_value(json_object_get(st, "name"));
            if (name != NULL && strcmp(name, stream) == 0) {
                s = l;
            }
        }
    }
    json_decref(doc);
    if (!known || s == 0) {
        return -1;
    }
    *mask = m;
    *leader = s;
    return 0;
}
