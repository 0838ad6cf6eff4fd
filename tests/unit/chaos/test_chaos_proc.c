/* Unit tests for chaos/chaos_proc.c: liveness of a process (running, reaped, a zombie), and the
 * CPU time and resident memory read from /proc. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chaos_proc.h"

Suite *chaos_proc_suite(void);

/* A child that waits until *out_ctl is closed (exit_now: exits at once). Bounded by alarm(). */
static pid_t start_child(bool exit_now, int *out_ctl)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL); /* not Check's handler, which signals the process group */
        close(p[1]);
        alarm(20);
        char c;
        while (!exit_now && read(p[0], &c, 1) > 0) {
        }
        _exit(0);
    }
    close(p[0]);
    *out_ctl = p[1];
    return pid;
}

START_TEST(alive_until_reaped_or_zombie)
{
    ck_assert(chaos_proc_alive(getpid()));
    ck_assert(!chaos_proc_alive(0));
    ck_assert(!chaos_proc_alive(-1));

    int ctl = -1;
    pid_t live = start_child(false, &ctl);
    ck_assert(chaos_proc_alive(live));
    close(ctl);
    ck_assert_int_eq(waitpid(live, NULL, 0), live);
    ck_assert(!chaos_proc_alive(live));

    /* Exited but not yet waited for: the pid exists, as a zombie. */
    pid_t zombie = start_child(true, &ctl);
    close(ctl);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    ck_assert_int_eq(waitid(P_PID, (id_t)zombie, &info, WEXITED | WNOWAIT), 0);
    ck_assert_int_eq(kill(zombie, 0), 0);
    ck_assert(!chaos_proc_alive(zombie));
    ck_assert_int_eq(waitpid(zombie, NULL, 0), zombie);
    ck_assert(!chaos_proc_alive(zombie));
}
END_TEST

START_TEST(cpu_and_rss_of_self)
{
    /* Burn a little CPU so the figure is above zero at /proc's 10 ms resolution. */
    volatile unsigned long x = 0;
    double self0 = chaos_proc_self_cpu();
    while (chaos_proc_self_cpu() - self0 < 0.05) {
        x++;
    }
    double cpu = -1;
    ck_assert_int_eq(chaos_proc_cpu(&cpu, getpid()), 0);
    ck_assert_msg(cpu > 0.0 && cpu <= chaos_proc_self_cpu() + 0.02, "cpu %f", cpu);
    uint64_t rss = 0;
    ck_assert_int_eq(chaos_proc_rss(&rss, getpid()), 0);
    ck_assert_msg(rss > 100 * 1024, "rss %llu", (unsigned long long)rss);
    /* A pid that cannot exist. */
    ck_assert_int_lt(chaos_proc_cpu(&cpu, 0x7ffffff0), 0);
    ck_assert_int_lt(chaos_proc_rss(&rss, 0x7ffffff0), 0);
}
END_TEST

Suite *chaos_proc_suite(void)
{
    Suite *s = suite_create("chaos_proc");
    TCase *tc = tcase_create("proc");
    tcase_add_test(tc, alive_until_reaped_or_zombie);
    tcase_add_test(tc, cpu_and_rss_of_self);
    suite_add_tcase(s, tc);
    return s;
}
