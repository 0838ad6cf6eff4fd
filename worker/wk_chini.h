/* Loading what the channel side of wsworker reads from files: the `[channels]` and
 * `[namespace NAME]` INI sections (--channels-config) into a wsf_chconf, and the NATS URL list
 * from the first line of --nats-url-file. The text loader is pure; the file readers only read. */
#ifndef WK_CHINI_H
#define WK_CHINI_H

#include <stddef.h>

#include "wsf_chconf.h"

/* Feeds every key of text (INI: "[section]", "key = value", '#' or ';' comments, blank lines)
 * to wsf_chconf_set. Sections other than [channels] and [namespace NAME] are refused, as are keys
 * outside any section: the file holds nothing else. Returns 0, or -EINVAL with err (one line:
 * "line N: [section] key: why") written. */
int wk_chini_load_text(wsf_chconf *c, const char *text, size_t len, char *err, size_t errsize);

/* wk_chini_load_text on the file at path. Returns 0, -EINVAL (err says where), or -errno of the
 * read (err says which file). */
int wk_chini_load_file(wsf_chconf *c, const char *path, char *err, size_t errsize);

/* Reads the first line of path (trailing spaces and CR dropped) into out. Returns 0, -EINVAL for
 * an empty line or one that does not fit, or -errno. */
int wk_chini_read_url(const char *path, char *out, size_t size);

#endif
