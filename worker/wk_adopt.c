/* Orphaned workers offer their fleet's listening sockets to a new supervisor. */
#include "wk_adopt.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wsf_adopt.h"
#include "wsf_buf.h"
#include "wsf_log.h"
#include "wsf_parse.h"

#define WK_ADOPT_SEEK_MS 100
#define WK_ADOPT_SEND_MS 1000 /* a supervisor that takes longer to read is not adopting */

struct wk_adopt {
    struct event_base *base;
    struct sockaddr_un addr;
    int first;
    unsigned nlistens, nslots;
    unsigned slot;
    uint64_t generation;
    wk_adopt_cb cb;
    void *arg;
    struct event *seek_ev;
    struct event *conn_ev;
    int conn;     /* the connection to the supervisor, -1 none */
    bool adopted; /* the supervisor said yes */
    bool seeking;
};

int wk_adopt_parse_group(int *first, unsigned *nlistens, unsigned *nslots, const char *value)
{
    char part[3][16];
    uint64_t v[3];
    const char *p = value;
    for (int i = 0; i < 3; i++) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof part[i] || (i < 2 && p[n] != ',') || (i == 2 && p[n] != '\0'))
            return -EINVAL;
        memcpy(part[i], p, n);
        part[i][n] = '\0';
        if (wsf_parse_u64(&v[i], part[i], 0, 65535) != 0)
            return -EINVAL;
        p += n + (i < 2);
    }
    if (v[1] == 0 || v[2] == 0 || v[0] + v[1] * v[2] > 65536)
        return -EINVAL;
    *first = (int)v[0];
    *nlistens = (unsigned)v[1];
    *nslots = (unsigned)v[2];
    return 0;
}

static void wk_adopt_close(wk_adopt *a)
{
    if (a->conn_ev != NULL)
        event_free(a->conn_ev);
    a->conn_ev = NULL;
    if (a->conn != -1)
        close(a->conn);
    a->conn = -1;
}

static void wk_adopt_on_conn(evutil_socket_t fd, short what, void *arg)
{
    wk_adopt *a = arg;
    char c;
    (void)what;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    if (n == -1 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n == 1 && c == WSF_ADOPT_YES && !a->adopted) {
        a->adopted = true;
        wsf_log_info("adopted by a new supervisor");
        a->cb(a->arg, true);
        return;
    }
    if (n == 1 && !a->adopted) {
        /* Refused: this worker is not the slot's any more; it drains after its grace. */
        wsf_log_warn("the new supervisor did not adopt this worker");
        wk_adopt_close(a);
        return;
    }
    if (n == 1)
        return;
    bool was = a->adopted;
    wk_adopt_close(a);
    a->adopted = false;
    if (was) {
        wsf_log_warn("the supervisor that adopted this worker is gone");
        a->cb(a->arg, false);
    } else {
        wk_adopt_seek(a); /* it went away mid-handshake: look again */
    }
}

/* Sends the hello and every group descriptor. Returns 0 or -errno. */
static int wk_adopt_offer(wk_adopt *a, int fd)
{
    wsf_adopt_hello h = {.magic = WSF_ADOPT_MAGIC,
                         .version = WSF_ADOPT_VERSION,
                         .pid = (uint32_t)getpid(),
                         .slot = a->slot,
                         .generation = a->generation,
                         .nlistens = a->nlistens,
                         .nslots = a->nslots};
    if (send(fd, &h, sizeof h, MSG_NOSIGNAL) != (ssize_t)sizeof h)
        return -errno;
    unsigned total = a->nlistens * a->nslots;
    for (unsigned first = 0; first < total; first += WSF_ADOPT_CHUNK) {
        unsigned count = total - first < WSF_ADOPT_CHUNK ? total - first : WSF_ADOPT_CHUNK;
        wsf_adopt_chunk c = {.magic = WSF_ADOPT_MAGIC, .first = first, .count = count};
        union {
            char buf[CMSG_SPACE(sizeof(int) * WSF_ADOPT_CHUNK)];
            struct cmsghdr align;
        } u;
        memset(&u, 0, sizeof u);
        struct iovec iov = {.iov_base = &c, .iov_len = sizeof c};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = u.buf,
                             .msg_controllen = CMSG_SPACE(sizeof(int) * count)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * count);
        int *fds = (int *)(void *)CMSG_DATA(cm);
        for (unsigned i = 0; i < count; i++)
            fds[i] = a->first + (int)(first + i);
        if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof c)
            return -errno;
    }
    return 0;
}

static void wk_adopt_on_seek(evutil_socket_t unused, short what, void *arg)
{
    wk_adopt *a = arg;
    (void)unused;
    (void)what;
    if (!a->seeking || a->conn != -1)
        return;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return;
    struct timeval tv = {WK_ADOPT_SEND_MS / 1000, (WK_ADOPT_SEND_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a->addr, sizeof a->addr) == -1) {
        close(fd); /* no supervisor there yet (or a dead one's socket file) */
        return;
    }
    int rc = wk_adopt_offer(a, fd);
    if (rc != 0) {
        wsf_log_warn("adoption: cannot offer the listeners: %s", strerror(-rc));
        close(fd);
        return;
    }
    a->conn = fd;
    a->conn_ev = event_new(a->base, fd, EV_READ | EV_PERSIST, wk_adopt_on_conn, a);
    if (a->conn_ev == NULL || event_add(a->conn_ev, NULL) != 0) {
        wk_adopt_close(a);
        return;
    }
    a->seeking = false;
    event_del(a->seek_ev);
}

void wk_adopt_seek(wk_adopt *a)
{
    if (a == NULL || a->adopted || a->seeking || a->conn != -1)
        return;
    a->seeking = true;
    struct timeval tv = {0, WK_ADOPT_SEEK_MS * 1000};
    event_add(a->seek_ev, &tv);
}

void wk_adopt_stop(wk_adopt *a)
{
    if (a == NULL)
        return;
    a->seeking = false;
    event_del(a->seek_ev);
    if (!a->adopted)
        wk_adopt_close(a);
}

int wk_adopt_new(wk_adopt **out, struct event_base *base, const char *supervisor, const char *group,
                 unsigned slot, uint64_t generation, wk_adopt_cb cb, void *arg)
{
    *out = NULL;
    const char *prefix = "ipc://";
    if (supervisor == NULL || group == NULL || *group == '\0' ||
        strncmp(supervisor, prefix, strlen(prefix)) != 0)
        return 0;
    wk_adopt *a = wsf_xcalloc(1, sizeof *a);
    a->conn = -1;
    if (wk_adopt_parse_group(&a->first, &a->nlistens, &a->nslots, group) != 0) {
        wsf_log_error("invalid WSF_GROUP_FDS '%s'", group);
        free(a);
        return -1;
    }
    const char *path = supervisor + strlen(prefix);
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) : 0;
    a->addr.sun_family = AF_UNIX;
    if (slash == NULL || dirlen + 1 + strlen(WSF_ADOPT_SOCKET) >= sizeof a->addr.sun_path) {
        free(a);
        return 0;
    }
    snprintf(a->addr.sun_path, sizeof a->addr.sun_path, "%.*s/%s", (int)dirlen, path,
             WSF_ADOPT_SOCKET);
    a->base = base;
    a->slot = slot;
    a->generation = generation;
    a->cb = cb;
    a->arg = arg;
    a->seek_ev = event_new(base, -1, EV_PERSIST, wk_adopt_on_seek, a);
    if (a->seek_ev == NULL)
        abort();
    *out = a;
    return 0;
}

void wk_adopt_free(wk_adopt *a)
{
    if (a == NULL)
        return;
    wk_adopt_close(a);
    event_free(a->seek_ev);
    for (unsigned i = 0; i < a->nlistens * a->nslots; i++)
        close(a->first + (int)i);
    free(a);
}
