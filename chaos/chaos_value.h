/* Values in drill files (chaos_drill): plain decimal numbers, whole numbers in a range, and
 * durations with a unit. The *_in, count, real and ms forms write why a value is refused into why;
 * all return 0, or -1 when the value is refused. */
#ifndef CHAOS_VALUE_H
#define CHAOS_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAOS_DAY_MS UINT32_C(86400000)
#define CHAOS_HOUR_MS UINT32_C(3600000)

/* Digits with an optional fraction: no sign, exponent or suffix. */
int chaos_value_num(double *out, const char *s);

/* Milliseconds in [0, 1 day]: a number with the unit ms (whole), s, m or h; seconds without one
 * (as in wsfleetd's own configuration). */
int chaos_value_dur(uint32_t *out, const char *s);

/* A duration in [min, max] ms. */
int chaos_value_dur_in(uint32_t *out, const char *s, uint32_t min, uint32_t max, char *why,
                       size_t why_len);

/* A whole number in [min, max]. */
int chaos_value_count(uint64_t *out, const char *s, uint64_t min, uint64_t max, char *why,
                      size_t why_len);

/* A number in [min, max], or in (0, max] when above_zero. */
int chaos_value_real(double *out, const char *s, double min, double max, bool above_zero, char *why,
                     size_t why_len);

/* Milliseconds for ms=: a whole number, or a duration with its unit, up to a day. */
int chaos_value_ms(uint32_t *out, const char *s, char *why, size_t why_len);

/* Splits s into at most max words separated by blanks, in place (words point into s). Returns
 * the count, or -1 when there are more. */
int chaos_value_words(char **words, int max, char *s);

#endif
