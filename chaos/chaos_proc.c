/* CPU time and resident memory of wsload itself and of the server under test. */
#include "chaos_proc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

double chaos_proc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double chaos_proc_self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Reads a small /proc file into buf, NUL-terminated. Returns 0, or -errno. */
static int chaos_proc_read(char *buf, size_t cap, pid_t pid, const char *name)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -errno;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        return -EIO;
    }
    buf[n] = '\0';
    return 0;
}

/* Reads /proc/PID/stat and points *fields past the command name, which may hold spaces and
 * parentheses: "pid (comm) S ...", so the fields resume after the last ')'. Returns 0, -errno, or
 * -EINVAL for a line without one. */
static int chaos_proc_stat(char *buf, size_t cap, pid_t pid, const char **fields)
{
    int rc = chaos_proc_read(buf, cap, pid, "stat");
    if (rc != 0) {
        return rc;
    }
    const char *paren = strrchr(buf, ')');
    if (paren == NULL) {
        return -EINVAL;
    }
    *fields = paren + 1;
    return 0;
}

bool chaos_proc_alive(pid_t pid)
{
    char buf[512];
    const char *p = NULL;
    if (pid <= 1 || chaos_proc_stat(buf, sizeof(buf), pid, &p) != 0) {
        return false;
    }
    return p[0] == ' ' && p[1] != 'Z' && p[1] != 'X';
}

int chaos_proc_cpu(double *out, pid_t pid)
{
    char buf[1024];
    const char *p = NULL;
    int rc = chaos_proc_stat(buf, sizeof(buf), pid, &p);
    if (rc != 0) {
        return rc;
    }
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    if (sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) {
        return -EINVAL;
    }
    long hz = sysconf(_SC_CLK_TCK);
    *out = (double)(utime + stime) / (double)(hz > 0 ? hz : 100);
    return 0;
}

int chaos_proc_rss(uint64_t *out, pid_t pid)
{
    char buf[4096];
    int rc = chaos_proc_read(buf, sizeof(buf), pid, "status");
    if (rc != 0) {
        return rc;
    }
    const char *p = strstr(buf, "\nVmRSS:");
    unsigned long long kb = 0;
    if (p == NULL || sscanf(p + 7, " %llu kB", &kb) != 1) {
        return -EINVAL;
    }
    *out = (uint64_t)kb * 1024;
    return 0;
}

long chaos_proc_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
        return -errno;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
            return -errno;
        }
    }
    return (long)rl.rlim_cur;
}
