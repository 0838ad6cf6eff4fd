/* One logging module: a line per event on stderr, naming the process role and pid. */
#ifndef WSF_LOG_H
#define WSF_LOG_H

enum wsf_log_level {
    WSF_LOG_ERROR = 0,
    WSF_LOG_WARN = 1,
    WSF_LOG_INFO = 2,
    WSF_LOG_DEBUG = 3,
};

/* Sets the role printed on every line ("wsworker") and the most verbose level written. */
void wsf_log_init(const char *role, enum wsf_log_level level);

/* Parses "error", "warn", "info" or "debug". Returns 0, or -1 for anything else. */
int wsf_log_parse_level(enum wsf_log_level *out, const char *name);

/* True if lines of this level are written (to skip building costly arguments). */
int wsf_log_enabled(enum wsf_log_level level);

/* Writes "<UTC time> <role>[<pid>] <level>: <message>\n" to stderr in one write. */
void wsf_log(enum wsf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wsf_log_error(...) wsf_log(WSF_LOG_ERROR, __VA_ARGS__)
#define wsf_log_warn(...) wsf_log(WSF_LOG_WARN, __VA_ARGS__)
#define wsf_log_info(...) wsf_log(WSF_LOG_INFO, __VA_ARGS__)
#define wsf_log_debug(...) wsf_log(WSF_LOG_DEBUG, __VA_ARGS__)

#endif
