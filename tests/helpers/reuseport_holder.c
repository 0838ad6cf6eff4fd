/* Test helper: a stray process that listens on HOST PORT with SO_REUSEADDR and SO_REUSEPORT,
 * as a process of the fleet's own uid could, prints "PORT\n" once listening, and holds the
 * socket until its stdin closes. Usage: reuseport_holder IPV4ADDR PORT (PORT 0: any). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    int one = 1;
    if (argc != 3 || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
        fprintf(stderr, "usage: reuseport_holder IPV4ADDR PORT\n");
        return 2;
    }
    sin.sin_port = htons((uint16_t)atoi(argv[2]));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == -1 ||
        bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 || listen(fd, 16) == -1 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
        perror("reuseport_holder");
        return 1;
    }
    printf("%u\n", ntohs(sin.sin_port));
    fflush(stdout);
    char buf[64];
    while (read(STDIN_FILENO, buf, sizeof buf) > 0)
        ;
    close(fd);
    return 0;
}
