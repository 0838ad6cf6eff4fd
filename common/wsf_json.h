/* Building JSON documents with jansson for the tools that print them (wsctl, wschaos): an
 * allocation failure aborts with a message, so callers never check each node. A library of its
 * own (wsf_json), so that only those tools link jansson. */
#ifndef WSF_JSON_H
#define WSF_JSON_H

#include <jansson.h>

/* v itself, or abort when it is NULL (jansson could not allocate it). */
json_t *wsf_json_checked(json_t *v);

/* obj[key] = v, taking v's reference; aborts when that fails. */
void wsf_json_set(json_t *obj, const char *key, json_t *v);

/* Appends v to array, taking v's reference; aborts when that fails. */
void wsf_json_append(json_t *array, json_t *v);

#endif
