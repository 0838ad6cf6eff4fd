/* A wsctl answer's JSON body. */
#include "sup_ctlbody.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sup_ctlbody_set(wsf_ctl_response *res, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    size_t len = text != NULL ? strlen(text) : 0;
    int rc = -1;
    if (text == NULL || len >= sizeof res->body) {
        snprintf(res->error, sizeof res->error, "the answer is longer than %d bytes",
                 WSF_CTL_BODY_MAX - 1);
    } else {
        memcpy(res->body, text, len + 1);
        res->ok = true;
        rc = 0;
    }
    free(text);
    return rc;
}
