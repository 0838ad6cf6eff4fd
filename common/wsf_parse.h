/* Parsing of command-line and configuration values shared by every executable: whole numbers,
 * durations in seconds, and HOST:PORT addresses. Pure: strings in, values out. */
#ifndef WSF_PARSE_H
#define WSF_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* A whole decimal number in [min, max]: digits only, no sign, spaces or suffix.
 * Returns 0 with *out set, or -1. */
int wsf_parse_u64(uint64_t *out, const char *s, uint64_t min, uint64_t max);

/* Seconds with an optional fraction ("10", "0.5", ".25") as milliseconds in [1 ms, 1 day],
 * rounded to the nearest millisecond. Returns 0 with *out set, or -1. */
int wsf_parse_ms(uint32_t *out, const char *s);

/* Splits "HOST:PORT" or "[V6HOST]:PORT" into NUL-terminated host and port strings; the port is
 * 0-65535 in digits. Returns 0, or -1 if spec has another form or a part does not fit. */
int wsf_addr_split(char *host, size_t host_cap, char *port, size_t port_cap, const char *spec);

#endif
