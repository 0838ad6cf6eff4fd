/* wsfleetd's [nats], [channels] and [namespace NAME] settings: checking the [nats] values, and the
 * effective channel settings written for the workers (RUNDIR/channels.ini). Pure: no I/O. */
#ifndef SUP_CHCFG_H
#define SUP_CHCFG_H

#include <stddef.h>
#include <stdint.h>

#include "wsf_chconf.h"

#define SUP_NATS_URLS_MAX 1024     /* [nats] url list, comma-joined, with its NUL */
#define SUP_NATS_STREAM_MAX 33     /* [nats] stream name, with its NUL */
#define SUP_CHANNELS_INI_MAX 65536 /* the effective channels.ini text, with its NUL */

/* Appends the [nats] url value (one URL, or a list separated by commas and/or blanks) to list
 * (SUP_NATS_URLS_MAX bytes, comma-joined). Each URL is [nats://|tls://][user@]host[:port] (a name,
 * an IPv4 address or a bracketed IPv6 address; port 1..65535), at most WSF_NATS_MAX_URLS in all.
 * Returns 0 (list extended), or -1 with the reason in why (list unchanged). */
int sup_chcfg_add_urls(char *list, const char *value, char *why, size_t whylen);

/* Checks a NATS subject token or stream name (a [fleet] name, ...): 1..max bytes of
 * [A-Za-z0-9_-]. Returns 0, or -1 with the reason in why. */
int sup_chcfg_check_token(const char *name, size_t max, char *why, size_t whylen);

/* Checks a [nats] stream name: 1..32 bytes of [A-Za-z0-9_-] (JetStream forbids '.', '*', '>'
 * and spaces). Returns 0, or -1 with the reason in why. */
int sup_chcfg_check_stream(const char *name, char *why, size_t whylen);

/* Writes the effective [channels] section and every [namespace NAME] section of c, each with all
 * five keys (what a namespace leaves unset comes from [channels]), into out, NUL-terminated; and
 * the largest history_size and history_ttl (seconds) over them into *max_size and *max_ttl_s
 * (the stream's limits). Returns the length, or -ENOSPC when out is too small. */
int sup_chcfg_render(char *out, size_t size, const wsf_chconf *c, uint32_t *max_size,
                     uint32_t *max_ttl_s);

#endif
