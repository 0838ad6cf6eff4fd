/* A wsctl answer's JSON body: how a supervisor module puts a document into a CtlResponse. */
#ifndef SUP_CTLBODY_H
#define SUP_CTLBODY_H

#include <jansson.h>

#include "wsf_msg.h"

/* Stores doc as compact JSON in res->body and sets res->ok. Takes doc (decref'd here). When its
 * text cannot be made or does not fit WSF_CTL_BODY_MAX, res->ok stays as it was and res->error
 * says "the answer is longer than N bytes". Returns 0, or -1 for that refusal. */
int sup_ctlbody_set(wsf_ctl_response *res, json_t *doc);

#endif
