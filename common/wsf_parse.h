/* Parsing of command-line and configuration values shared by every executable: whole numbers,
 * durations in seconds, and HOST:PORT addresses. Pure: strings in, values out. Failures say
 * which kind they are, so that a caller can word its own message. */
#ifndef WSF_PARSE_H
#define WSF_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define WSF_PARSE_EFORM (-1)  /* not a value of the expected form */
#define WSF_PARSE_ERANGE (-2) /* of the right form, outside the bounds */
#define WSF_PARSE_EPORT (-3)  /* HOST:PORT with a port that is missing, not digits, or > 65535 */

/* A switch: yes, true, on or 1 (1); no, false, off or 0 (0), in any case; else WSF_PARSE_EFORM.
 * Every yes/no key of wsfleet's INI files reads its value through this. */
int wsf_parse_bool(const char *s);

/* A whole decimal number in [min, max]: digits only, no sign, spaces or suffix.
 * Returns 0 with *out set, WSF_PARSE_EFORM, or WSF_PARSE_ERANGE (also for a number too large
 * for 64 bits). */
int wsf_parse_u64(uint64_t *out, const char *s, uint64_t min, uint64_t max);

/* Seconds with an optional fraction ("10", "0.5", ".25", "1e3") as milliseconds in
 * [min_ms, max_ms], rounded to the nearest millisecond; no sign, spaces, unit, inf or nan.
 * Returns 0 with *out set, WSF_PARSE_EFORM, or WSF_PARSE_ERANGE. */
int wsf_parse_ms_in(uint64_t *out, const char *s, uint64_t min_ms, uint64_t max_ms);

/* wsf_parse_ms_in within [1 ms, 1 day]. */
int wsf_parse_ms(uint32_t *out, const char *s);

/* Splits "HOST:PORT" or "[V6HOST]:PORT" into NUL-terminated host and port strings; the port is
 * 0-65535 in digits, and a HOST with a colon must be in brackets ("::1:80" is ambiguous).
 * Returns 0; WSF_PARSE_EPORT when only the port is wrong (it follows spec's last colon); or
 * WSF_PARSE_EFORM if spec has another form or a part does not fit its buffer. */
int wsf_addr_split(char *host, size_t host_cap, char *port, size_t port_cap, const char *spec);

#endif
