/* Channel names to NATS subjects and back, one to one. Pure.
 *
 * A channel C lives on subject "wsf.ch.<C>" (what the JetStream stream stores and applications
 * publish to) and is delivered live on "wsf.live.<C>" (the stream's republish of every stored
 * publication, carrying its sequence). Channel names use [A-Za-z0-9_.:@-] and are 1..255 bytes.
 * A '.' in a name stays a '.', so "news.sport" is "wsf.ch.news.sport" as an application expects;
 * but NATS forbids empty tokens, so each empty token of the name (a leading, trailing or doubled
 * '.') is written "~", a character names cannot hold: ".a..b" <-> "wsf.ch.~.a.~.b", "." <->
 * "wsf.ch.~.~". Names never hold '*' or '>', so no subject made here is a wildcard. */
#ifndef WSF_NATS_SUBJ_H
#define WSF_NATS_SUBJ_H

#include <stddef.h>

#define WSF_NATS_SUBJ_STORE "wsf.ch."
#define WSF_NATS_SUBJ_LIVE "wsf.live."
#define WSF_NATS_CHANNEL_MAX 255
/* Longest subject made here: prefix, a name of 255 '.' (256 "~" tokens joined by '.'), NUL. */
#define WSF_NATS_SUBJ_MAX (sizeof(WSF_NATS_SUBJ_LIVE) + 2 * WSF_NATS_CHANNEL_MAX + 2)

/* True when name[0..len) is a valid channel name. */
int wsf_nats_channel_is_valid(const char *name, size_t len);

/* Writes prefix + the mapped name[0..len) into out, NUL-terminated. prefix is one of the
 * WSF_NATS_SUBJ_* strings (any text ending in '.'). Returns the subject length, -EINVAL for an
 * invalid name, -ENOSPC when out is too small (WSF_NATS_SUBJ_MAX always suffices). */
int wsf_nats_subj_from_channel(char *out, size_t size, const char *prefix, const char *name,
                               size_t len);

/* The inverse: writes the channel name of subject (which must start with prefix) into out,
 * NUL-terminated. Returns the name length, -EINVAL when subject does not start with prefix or is
 * not the image of a valid name, -ENOSPC when out is too small (WSF_NATS_CHANNEL_MAX + 1 always
 * suffices). */
int wsf_nats_subj_to_channel(char *out, size_t size, const char *prefix, const char *subject);

#endif
