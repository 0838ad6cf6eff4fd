/* A command line for the option-parser and command suites, built from a NULL-terminated list. */
#ifndef TEST_ARGV_H
#define TEST_ARGV_H

#include <check.h>
#include <stdarg.h>

/* Fills argv (room for cap entries, the last one NULL) with prog and the arguments in ap up to
 * their NULL; asserts they fit. Returns argc. */
static inline int test_argv(char **argv, int cap, const char *prog, va_list ap)
{
    int argc = 0;
    argv[argc++] = (char *)prog;
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
        ck_assert_int_lt(argc, cap - 1);
        argv[argc++] = (char *)s;
    }
    argv[argc] = NULL;
    return argc;
}

#endif
