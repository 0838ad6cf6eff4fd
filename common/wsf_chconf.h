/* Channel namespace settings: the `[channels]` defaults and `[namespace NAME]` sections of the INI
 * file, and which settings a channel name takes. Pure: the INI loaders hand each (section, key,
 * value) to wsf_chconf_set; lookups need nothing but the struct.
 *
 * Keys (both kinds of section):
 *   history_size  publications kept per channel, 0..1000000 (100)
 *   history_ttl   seconds a publication is kept, 1..31536000 (300)
 *   publish       who may publish from a connection: none | client | backend (none)
 *   subscribe     who may subscribe: any | user (an authenticated user) | token (a token whose
 *                 `channels` claim names the channel) | backend (asks wsf.app.subscribe) (any)
 *   presence      whether presence is answered: yes|no|true|false|on|off|1|0 (no)
 * A key a `[namespace NAME]` section does not set is taken from `[channels]` (whatever order the
 * sections come in). A namespace exists once a key is set in it or wsf_chconf_add_namespace names
 * it (for a loader that sees empty sections). NAME is 1..64 bytes of [A-Za-z0-9_.@-].
 *
 * Lookup: a channel "ns:rest" takes namespace ns (up to the first ':'); a name without ':' takes
 * `[channels]`; a namespace that is not defined is refused (error 102, bad channel): a typo in a
 * namespace must not silently get the defaults' permissions. */
#ifndef WSF_CHCONF_H
#define WSF_CHCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_bkconf.h"

#define WSF_CHCONF_MAX_NAME 64
#define WSF_CHCONF_MAX_NAMESPACES 1024

enum wsf_ch_publish {
    WSF_CH_PUBLISH_NONE,
    WSF_CH_PUBLISH_CLIENT,
    WSF_CH_PUBLISH_BACKEND,
};

enum wsf_ch_subscribe {
    WSF_CH_SUBSCRIBE_ANY,
    WSF_CH_SUBSCRIBE_USER,
    WSF_CH_SUBSCRIBE_TOKEN,
    WSF_CH_SUBSCRIBE_BACKEND,
};

/* The settings a channel takes. */
typedef struct wsf_ch_settings {
    uint32_t history_size;
    uint32_t history_ttl_s;
    enum wsf_ch_publish publish;
    enum wsf_ch_subscribe subscribe;
    bool presence;
} wsf_ch_settings;

typedef struct wsf_ch_namespace {
    char name[WSF_CHCONF_MAX_NAME + 1];
    wsf_ch_settings s;
    unsigned set; /* bit per key set in this section; the others come from [channels] */
} wsf_ch_namespace;

typedef struct wsf_chconf {
    wsf_ch_settings defaults; /* [channels] */
    wsf_ch_namespace *ns;
    size_t nns;
    size_t cap;
    wsf_bkconf backend; /* [backend]: the same files carry it (wsf_bkconf.h) */
} wsf_chconf;

/* Built-in defaults, no namespace. */
void wsf_chconf_init(wsf_chconf *c);
void wsf_chconf_fini(wsf_chconf *c);

/* Whether section ("channels", "namespace NAME", "backend") is one this module owns: a loader
 * routes the section's keys here when it is. */
bool wsf_chconf_owns_section(const char *section);

/* Sets key = value in section. Returns NULL, or a static message saying what is wrong with the
 * section, key or value ("unknown key", "must be none, client or backend", ...), for the loader
 * to prefix with the file, line, section and key. */
const char *wsf_chconf_set(wsf_chconf *c, const char *section, const char *key, const char *value);

/* Defines namespace name with no key of its own. Returns NULL or a static message. */
const char *wsf_chconf_add_namespace(wsf_chconf *c, const char *name);

/* The settings for channel (len bytes). Returns 0 with *out set, or -102 (WSF_CH_ERR_BAD_CHANNEL)
 * for an invalid name or an undefined namespace. */
int wsf_chconf_lookup(wsf_ch_settings *out, const wsf_chconf *c, const char *channel, size_t len);

const char *wsf_chconf_publish_name(enum wsf_ch_publish p);
const char *wsf_chconf_subscribe_name(enum wsf_ch_subscribe s);

#endif
