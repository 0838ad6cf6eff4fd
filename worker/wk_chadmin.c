/* Fleet-wide questions over NATS that every worker answers: presence (who is subscribed to a
 * channel, on any worker) and wsf.admin.channels (which channels this worker serves). Subjects
 * and payloads are in wk_channels.h. */
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wk_channels_priv.h"
#include "wk_worker.h"
#include "wsf_chenc.h"
#include "wsf_nats.h"

#define WK_PRESENCE_Q "wsf.presence.q"

/* ---- admin ---- */

static void wk_chhub_on_admin(const struct wsf_nats_msg *m, void *arg)
{
    wk_chhub *h = arg;
    if (m->reply == NULL)
        return;
    wsf_buf out = {0};
    char head[96];
    int slot = h->ctx->cfg.supervisor != NULL ? (int)h->ctx->cfg.slot : -1;
    int n =
        snprintf(head, sizeof head, "{\"pid\":%d,\"slot\":%d,\"channels\":{", (int)getpid(), slot);
    wsf_buf_append(&out, head, (size_t)n);
    bool first = true;
    for (size_t i = 0; i < h->tcap; i++) {
        for (wk_chan *c = h->table[i]; c; c = c->hnext) {
            if (c->nsubs == 0)
                continue; /* lingering (wk_chan) */
            /* Names are [A-Za-z0-9_.:@-]: nothing to escape. */
            n = snprintf(head, sizeof head, "%s\"", first ? "" : ",");
            wsf_buf_append(&out, head, (size_t)n);
            wsf_buf_append(&out, c->name, c->len);
            n = snprintf(head, sizeof head, "\":%u", c->nsubs);
            wsf_buf_append(&out, head, (size_t)n);
            first = false;
        }
    }
    wsf_buf_append(&out, "}}", 2);
    wsf_nats_publish(h->nats, m->reply, out.data, out.len);
    wsf_buf_fini(&out);
}

/* ---- presence ---- */

typedef struct wk_chpresence {
    wk_chop op;
    struct wsf_nats_sub *sub;
    struct event *timer;
    wsf_ch_member *members;
    size_t n, cap;
    json_t *keep; /* the replies, which own the member strings */
} wk_chpresence;

static void wk_chpresence_free(wk_chpresence *p)
{
    wsf_nats_sub_free(p->sub);
    if (p->timer)
        event_free(p->timer);
    free(p->members);
    json_decref(p->keep);
    free(p);
}

static void wk_chpresence_on_reply(const struct wsf_nats_msg *m, void *arg)
{
    wk_chpresence *p = arg;
    json_t *doc = json_loadb(m->data, m->len, 0, NULL);
    json_t *list = json_object_get(doc, "clients");
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *id = json_string_value(json_array_get(e, 0));
        const char *user = json_string_value(json_array_get(e, 1));
        if (id == NULL || user == NULL || p->n == 100000)
            continue;
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 16;
            p->members = wsf_xrealloc(p->members, p->cap * sizeof *p->members);
        }
        p->members[p->n++] = (wsf_ch_member){.client = id, .user = user};
    }
    if (doc != NULL)
        json_array_append_new(p->keep, doc);
}

static void wk_chpresence_on_timer(evutil_socket_t fd, short what, void *arg)
{
    wk_chpresence *p = arg;
    (void)fd;
    (void)what;
    wk_chsess *s = wk_chop_detach(&p->op);
    if (s != NULL) {
        wsf_buf *out = wk_chsess_out(s, 64 + 64 * p->n);
        if (out != NULL)
            wsf_ch_enc_presence(out, p->op.id, p->members, p->n);
        wsf_ch_session_done(&s->ps, p->op.id);
    }
    wk_chpresence_free(p);
}

/* Another worker (or this one) asks who is subscribed here. */
static void wk_chhub_on_presence_q(const struct wsf_nats_msg *m, void *arg)
{
    wk_chhub *h = arg;
    json_t *doc = json_loadb(m->data, m->len, 0, NULL);
    const char *channel = json_string_value(json_object_get(doc, "channel"));
    const char *reply = json_string_value(json_object_get(doc, "reply"));
    if (channel != NULL && reply != NULL && strncmp(reply, "wsf.presence.r.", 15) == 0) {
        json_t *list = json_array();
        wk_chan *ch = wk_chan_find(h, channel, strlen(channel));
        for (wk_chsub *sub = ch ? ch->subs : NULL; sub; sub = sub->ch_next)
            json_array_append_new(list,
                                  json_pack("[s,s]", sub->sess->client, sub->sess->claims.sub));
        json_t *answer = json_pack("{s:o}", "clients", list); /* takes list */
        char *text = json_dumps(answer, JSON_COMPACT);
        if (text != NULL)
            wsf_nats_publish(h->nats, reply, text, strlen(text));
        free(text);
        json_decref(answer);
    }
    json_decref(doc);
}

int wk_chhub_presence(wk_chhub *h, wk_chsess *s, uint64_t id, const char *channel)
{
    char inbox[64];
    snprintf(inbox, sizeof inbox, "wsf.presence.r.%d.%llu", (int)getpid(),
             (unsigned long long)++h->next_inbox);
    wk_chpresence *p = wsf_xcalloc(1, sizeof *p);
    p->keep = json_array();
    if (wsf_nats_sub_new(&p->sub, h->nats, inbox, wk_chpresence_on_reply, p) != 0) {
        wk_chpresence_free(p);
        return -EIO;
    }
    json_t *q = json_pack("{s:s,s:s}", "channel", channel, "reply", inbox);
    char *text = json_dumps(q, JSON_COMPACT);
    json_decref(q);
    int rc = text ? wsf_nats_publish(h->nats, WK_PRESENCE_Q, text, strlen(text)) : -ENOMEM;
    free(text);
    if (rc != 0) {
        wk_chpresence_free(p);
        return rc;
    }
    wk_chop_attach(&p->op, s, id);
    p->timer = evtimer_new(h->ctx->base, wk_chpresence_on_timer, p);
    struct timeval tv = {0, WK_PRESENCE_WINDOW_MS * 1000};
    event_add(p->timer, &tv);
    return 0;
}

int wk_chadmin_start(wk_chhub *h)
{
    if (wsf_nats_sub_new(&h->admin_sub, h->nats, "wsf.admin.channels", wk_chhub_on_admin, h) != 0)
        return -1;
    if (wsf_nats_sub_new(&h->presence_sub, h->nats, WK_PRESENCE_Q, wk_chhub_on_presence_q, h) != 0)
        return -1;
    return 0;
}
