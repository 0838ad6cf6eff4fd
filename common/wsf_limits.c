/* Raising the open-file limit for wsfleetd and wsworker. */
#include "wsf_limits.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

/* fs.nr_open, the most a process may have open, or 1048576 (its default) if unreadable. */
static rlim_t wsf_nr_open(void)
{
    unsigned long long v = 0;
    FILE *f = fopen("/proc/sys/fs/nr_open", "re");
    if (f != NULL) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v > 0 ? (rlim_t)v : (rlim_t)1048576;
}

int wsf_nofile_raise(uint64_t *out)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return -errno;
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? wsf_nr_open() : rl.rlim_max;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) {
        *out = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
        return 0;
    }
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        return -errno;
    *out = (uint64_t)want;
    return 0;
}

bool wsf_nofile_fits(uint64_t nofile, uint64_t max_connections)
{
    return max_connections <= nofile && nofile - max_connections >= WSF_NOFILE_RESERVE;
}
