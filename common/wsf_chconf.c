/* Channel namespace settings: INI keys in, settings per channel name out. */
#include "wsf_chconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wsf_buf.h"
#include "wsf_chproto.h"
#include "wsf_parse.h"

enum wsf_chconf_key {
    CK_HISTORY_SIZE,
    CK_HISTORY_TTL,
    CK_PUBLISH,
    CK_SUBSCRIBE,
    CK_PRESENCE,
    CK_NKEYS
};

static const char *const wsf_chconf_keys[CK_NKEYS] = {
    [CK_HISTORY_SIZE] = "history_size", [CK_HISTORY_TTL] = "history_ttl", [CK_PUBLISH] = "publish",
    [CK_SUBSCRIBE] = "subscribe",       [CK_PRESENCE] = "presence",
};

static const char *const wsf_chconf_publish_names[] = {
    [WSF_CH_PUBLISH_NONE] = "none",
    [WSF_CH_PUBLISH_CLIENT] = "client",
    [WSF_CH_PUBLISH_BACKEND] = "backend",
};

static const char *const wsf_chconf_subscribe_names[] = {
    [WSF_CH_SUBSCRIBE_ANY] = "any",
    [WSF_CH_SUBSCRIBE_USER] = "user",
    [WSF_CH_SUBSCRIBE_TOKEN] = "token",
    [WSF_CH_SUBSCRIBE_BACKEND] = "backend",
};

#define WSF_CHCONF_NS_PREFIX "namespace "

void wsf_chconf_init(wsf_chconf *c)
{
    memset(c, 0, sizeof *c);
    c->defaults.history_size = 100;
    c->defaults.history_ttl_s = 300;
    c->defaults.publish = WSF_CH_PUBLISH_NONE;
    c->defaults.subscribe = WSF_CH_SUBSCRIBE_ANY;
    c->defaults.presence = false;
    wsf_bkconf_init(&c->backend);
}

void wsf_chconf_fini(wsf_chconf *c)
{
    free(c->ns);
    memset(c, 0, sizeof *c);
}

const char *wsf_chconf_publish_name(enum wsf_ch_publish p)
{
    return (unsigned)p <= WSF_CH_PUBLISH_BACKEND ? wsf_chconf_publish_names[p] : NULL;
}

const char *wsf_chconf_subscribe_name(enum wsf_ch_subscribe s)
{
    return (unsigned)s <= WSF_CH_SUBSCRIBE_BACKEND ? wsf_chconf_subscribe_names[s] : NULL;
}

static bool wsf_chconf_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > WSF_CHCONF_MAX_NAME || strchr(name, ':') != NULL)
        return false;
    return wsf_ch_channel_is_valid(name, n);
}

bool wsf_chconf_owns_section(const char *section)
{
    return strcmp(section, "channels") == 0 || strcmp(section, "backend") == 0 ||
           strncmp(section, WSF_CHCONF_NS_PREFIX, strlen(WSF_CHCONF_NS_PREFIX)) == 0;
}

static wsf_ch_namespace *wsf_chconf_find(const wsf_chconf *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->nns; i++) {
        if (strlen(c->ns[i].name) == len && memcmp(c->ns[i].name, name, len) == 0)
            return &c->ns[i];
    }
    return NULL;
}

/* The namespace called name, created when new; NULL with *why when name is not allowed. */
static wsf_ch_namespace *wsf_chconf_ns(wsf_chconf *c, const char *name, const char **why)
{
    if (!wsf_chconf_name_ok(name)) {
        *why = "namespace name must be 1 to 64 bytes of A-Z a-z 0-9 _ . @ -";
        return NULL;
    }
    wsf_ch_namespace *ns = wsf_chconf_find(c, name, strlen(name));
    if (ns != NULL)
        return ns;
    if (c->nns == WSF_CHCONF_MAX_NAMESPACES) {
        *why = "too many namespaces (at most 1024)";
        return NULL;
    }
    if (c->nns == c->cap) {
        c->cap = c->cap == 0 ? 4 : c->cap * 2;
        c->ns = wsf_xrealloc(c->ns, c->cap * sizeof *c->ns);
    }
    ns = &c->ns[c->nns++];
    memset(ns, 0, sizeof *ns);
    memcpy(ns->name, name, strlen(name) + 1);
    return ns;
}

const char *wsf_chconf_add_namespace(wsf_chconf *c, const char *name)
{
    const char *why = NULL;
    wsf_chconf_ns(c, name, &why);
    return why;
}

static int wsf_chconf_enum(const char *value, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(value, names[i]) == 0)
            return (int)i;
    }
    return -1;
}

static int wsf_chconf_bool(const char *value)
{
    int v = wsf_parse_bool(value);
    return v < 0 ? -1 : v;
}

/* Parses value for key into s. */
static const char *wsf_chconf_parse(wsf_ch_settings *s, enum wsf_chconf_key key, const char *value)
{
    uint64_t v;
    int e;
    switch (key) {
    case CK_HISTORY_SIZE:
        if (wsf_parse_u64(&v, value, 0, 1000000) != 0)
            return "must be a whole number from 0 to 1000000";
        s->history_size = (uint32_t)v;
        return NULL;
    case CK_HISTORY_TTL:
        if (wsf_parse_u64(&v, value, 1, 31536000) != 0)
            return "must be whole seconds from 1 to 31536000";
        s->history_ttl_s = (uint32_t)v;
        return NULL;
    case CK_PUBLISH:
        e = wsf_chconf_enum(value, wsf_chconf_publish_names, 3);
        if (e < 0)
            return "must be none, client or backend";
        s->publish = (enum wsf_ch_publish)e;
        return NULL;
    case CK_SUBSCRIBE:
        e = wsf_chconf_enum(value, wsf_chconf_subscribe_names, 4);
        if (e < 0)
            return "must be any, user, token or backend";
        s->subscribe = (enum wsf_ch_subscribe)e;
        return NULL;
    case CK_PRESENCE:
        e = wsf_chconf_bool(value);
        if (e < 0)
            return "must be yes or no";
        s->presence = e == 1;
        return NULL;
    default:
        return "unknown key";
    }
}

const char *wsf_chconf_set(wsf_chconf *c, const char *section, const char *key, const char *value)
{
    int k = wsf_chconf_enum(key, wsf_chconf_keys, CK_NKEYS);
    if (!wsf_chconf_owns_section(section))
        return "unknown section";
    if (strcmp(section, "backend") == 0)
        return wsf_bkconf_set(&c->backend, key, value);
    if (k < 0)
        return "unknown key";
    if (strcmp(section, "channels") == 0)
        return wsf_chconf_parse(&c->defaults, (enum wsf_chconf_key)k, value);

    /* Parse into a copy so that a refused value leaves no half-made namespace behind. */
    wsf_ch_settings tmp = c->defaults;
    const char *why = wsf_chconf_parse(&tmp, (enum wsf_chconf_key)k, value);
    if (why != NULL)
        return why;
    wsf_ch_namespace *ns = wsf_chconf_ns(c, section + strlen(WSF_CHCONF_NS_PREFIX), &why);
    if (ns == NULL)
        return why;
    switch (k) {
    case CK_HISTORY_SIZE:
        ns->s.history_size = tmp.history_size;
        break;
    case CK_HISTORY_TTL:
        ns->s.history_ttl_s = tmp.history_ttl_s;
        break;
    case CK_PUBLISH:
        ns->s.publish = tmp.publish;
        break;
    case CK_SUBSCRIBE:
        ns->s.subscribe = tmp.subscribe;
        break;
    default:
        ns->s.presence = tmp.presence;
        break;
    }
    ns->set |= 1u << k;
    return NULL;
}

int wsf_chconf_lookup(wsf_ch_settings *out, const wsf_chconf *c, const char *channel, size_t len)
{
    if (!wsf_ch_channel_is_valid(channel, len))
        return -WSF_CH_ERR_BAD_CHANNEL;
    const char *colon = memchr(channel, ':', len);
    if (colon == NULL) {
        *out = c->defaults;
        return 0;
    }
    const wsf_ch_namespace *ns = wsf_chconf_find(c, channel, (size_t)(colon - channel));
    if (ns == NULL)
        return -WSF_CH_ERR_BAD_CHANNEL;
    wsf_ch_settings s = c->defaults;
    if (ns->set & (1u << CK_HISTORY_SIZE))
        s.history_size = ns->s.history_size;
    if (ns->set & (1u << CK_HISTORY_TTL))
        s.history_ttl_s = ns->s.history_ttl_s;
    if (ns->set & (1u << CK_PUBLISH))
        s.publish = ns->s.publish;
    if (ns->set & (1u << CK_SUBSCRIBE))
        s.subscribe = ns->s.subscribe;
    if (ns->set & (1u << CK_PRESENCE))
        s.presence = ns->s.presence;
    *out = s;
    return 0;
}
