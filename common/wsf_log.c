/* Log lines on stderr: "<UTC time> <role>[<pid>] <level>: <message>", each in a single write so
 * lines from several processes sharing stderr do not interleave. */
#include "wsf_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const wsf_level_names[] = {"error", "warn", "info", "debug"};

/* Written once at start-up, before the event loop runs: the role and level are process-wide by
 * nature (one stderr per process). */
static struct {
    char role[32];
    enum wsf_log_level level;
} wsf_log_state = {"wsfleet", WSF_LOG_INFO};

void wsf_log_init(const char *role, enum wsf_log_level level)
{
    snprintf(wsf_log_state.role, sizeof wsf_log_state.role, "%s", role);
    wsf_log_state.level = level;
}

int wsf_log_parse_level(enum wsf_log_level *out, const char *name)
{
    for (int i = 0; i <= WSF_LOG_DEBUG; i++) {
        if (strcmp(name, wsf_level_names[i]) == 0) {
            *out = (enum wsf_log_level)i;
            return 0;
        }
    }
    return -1;
}

int wsf_log_enabled(enum wsf_log_level level)
{
    return level <= wsf_log_state.level;
}

void wsf_log(enum wsf_log_level level, const char *fmt, ...)
{
    if (!wsf_log_enabled(level))
        return;
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(
        line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
        wsf_log_state.role, (long)getpid(), wsf_level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w;
    do
        w = write(STDERR_FILENO, line, len);
    while (w == -1 && errno == EINTR);
}
