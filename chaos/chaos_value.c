/* Values in drill files: plain decimal numbers, whole numbers and durations with their unit. */
#include "chaos_value.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_parse.h"

/* A plain decimal number: digits with an optional fraction, no sign, exponent or suffix. */
int chaos_value_num(double *out, const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || strspn(s, "0123456789.") != len || strchr(s, '.') != strrchr(s, '.') ||
        strspn(s, ".") == len)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* A duration as milliseconds in [0, 1 day]: a number with the unit ms (whole), s, m or h;
 * without a unit, seconds (as in wsfleetd's own configuration). */
int chaos_value_dur(uint32_t *out, const char *s)
{
    size_t nlen = strspn(s, "0123456789.");
    const char *unit = s + nlen;
    char num[32];
    if (nlen == 0 || nlen >= sizeof num)
        return -1;
    memcpy(num, s, nlen);
    num[nlen] = '\0';
    if (strcmp(unit, "ms") == 0) {
        uint64_t v;
        if (wsf_parse_u64(&v, num, 0, CHAOS_DAY_MS) != 0)
            return -1;
        *out = (uint32_t)v;
        return 0;
    }
    uint64_t mult;
    if (unit[0] == '\0' || strcmp(unit, "s") == 0)
        mult = 1;
    else if (strcmp(unit, "m") == 0)
        mult = 60;
    else if (strcmp(unit, "h") == 0)
        mult = 3600;
    else
        return -1;
    double v;
    if (chaos_value_num(&v, num) != 0)
        return -1;
    if (v == 0.0) {
        *out = 0;
        return 0;
    }
    uint32_t ms;
    if (wsf_parse_ms(&ms, num) != 0 || (uint64_t)ms * mult > CHAOS_DAY_MS)
        return -1;
    *out = (uint32_t)((uint64_t)ms * mult);
    return 0;
}

/* A duration in [min, max] ms; why says what is wrong otherwise. */
int chaos_value_dur_in(uint32_t *out, const char *s, uint32_t min, uint32_t max, char *why,
                       size_t why_len)
{
    uint32_t v;
    if (chaos_value_dur(&v, s) != 0) {
        snprintf(why, why_len, "'%s' is not a duration (5s, 250ms, 2m, 1h)", s);
        return -1;
    }
    if (v < min || v > max) {
        snprintf(why, why_len, "%s is out of range %g..%g s", s, min / 1000.0, max / 1000.0);
        return -1;
    }
    *out = v;
    return 0;
}

int chaos_value_count(uint64_t *out, const char *s, uint64_t min, uint64_t max, char *why,
                      size_t why_len)
{
    if (wsf_parse_u64(out, s, min, max) != 0) {
        snprintf(why, why_len, "'%s' is not a whole number in %llu..%llu", s,
                 (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    return 0;
}

/* A number in [min, max], or in (0, max] when above_zero. */
int chaos_value_real(double *out, const char *s, double min, double max, bool above_zero, char *why,
                     size_t why_len)
{
    double v;
    if (chaos_value_num(&v, s) != 0) {
        snprintf(why, why_len, "'%s' is not a number", s);
        return -1;
    }
    if (v < min || v > max || (above_zero && v <= 0.0)) {
        if (above_zero)
            snprintf(why, why_len, "%s is out of range (above %g, at most %g)", s, min, max);
        else
            snprintf(why, why_len, "%s is out of range %g..%g", s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Milliseconds for ms=: a whole number, or a duration with its unit. */
int chaos_value_ms(uint32_t *out, const char *s, char *why, size_t why_len)
{
    size_t len = strlen(s);
    if (len > 0 && s[len - 1] >= '0' && s[len - 1] <= '9') {
        uint64_t v;
        if (chaos_value_count(&v, s, 0, CHAOS_DAY_MS, why, why_len) != 0)
            return -1;
        *out = (uint32_t)v;
        return 0;
    }
    return chaos_value_dur_in(out, s, 0, CHAOS_DAY_MS, why, why_len);
}

int chaos_value_words(char **words, int max, char *s)
{
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(s, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (n == max)
            return -1;
        words[n++] = w;
    }
    return n;
}
