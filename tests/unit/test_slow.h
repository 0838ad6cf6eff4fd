/* Liveness bounds and held ports for suites that run real processes and sockets: how much slower
 * this run is (the asan preset sets CK_TIMEOUT_MULTIPLIER=3), and loopback ports that stay taken
 * for as long as a test needs them. */
#ifndef TEST_SLOW_H
#define TEST_SLOW_H

#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* The factor Check stretches test timeouts by: CK_TIMEOUT_MULTIPLIER when it is a number of at
 * least 1, else 1. A wall-clock bound in a test is a liveness bound ("it happened at all, not
 * after some much later timer"), never a speed requirement, and is multiplied by this. */
static inline double test_slowdown(void)
{
    const char *s = getenv("CK_TIMEOUT_MULTIPLIER");
    char *end = NULL;
    double f = s != NULL ? strtod(s, &end) : 1.0;
    if (s == NULL || end == s || *end != '\0' || !(f >= 1.0) || f > 100.0)
        return 1.0;
    return f;
}

/* ms stretched by test_slowdown(). */
static inline long test_ms(long ms)
{
    return (long)((double)ms * test_slowdown());
}

/* Takes a free port on 127.0.0.1 and keeps it: the returned socket is bound with SO_REUSEADDR
 * but never listens, so connections to the port are refused, no other socket gets the port from
 * bind(port 0), and a process under test that binds it itself (with SO_REUSEADDR, as wsworker
 * does) can still listen on it. Close the socket to give the port back. Writes the port. */
static inline int test_port_hold(unsigned *port)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

#endif
