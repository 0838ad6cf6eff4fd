/* What wsload samples about itself and about the server process (CPU time, resident memory), and
 * whether a process the drill runner started is still alive. */
#ifndef CHAOS_PROC_H
#define CHAOS_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Seconds since an arbitrary point (CLOCK_MONOTONIC). */
double chaos_proc_now(void);

/* This process's user plus system CPU seconds (getrusage). */
double chaos_proc_self_cpu(void);

/* True while pid exists and is not a zombie (/proc/PID/stat). */
bool chaos_proc_alive(pid_t pid);

/* A process's user plus system CPU seconds, all threads, from /proc/PID/stat (utime + stime).
 * Returns 0, or -errno if it cannot be read. */
int chaos_proc_cpu(double *out, pid_t pid);

/* A process's resident set in bytes, from VmRSS in /proc/PID/status. Returns 0, or -errno. */
int chaos_proc_rss(uint64_t *out, pid_t pid);

/* Raises the soft RLIMIT_NOFILE to the hard limit. Returns the new soft limit, or -errno. */
long chaos_proc_raise_nofile(void);

#endif
