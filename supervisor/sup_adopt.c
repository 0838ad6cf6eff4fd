/* Adoption of a dead supervisor's live workers: the state file, the judgement of its pids, the
 * handover of the listening sockets over RUNDIR/adopt, and pidfd watches on the adoptees. */
#include "sup_adopt.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "sup_adopt_state.h"
#include "sup_cfgargs.h"
#include "sup_ctx.h"
#include "wsf_adopt.h"
#include "wsf_buf.h"
#include "wsf_listen.h"
#include "wsf_log.h"

#define SUP_ADOPT_WAIT_MS 1500 /* orphans look for us every 100 ms */
#define SUP_ADOPT_IO_MS 1000   /* an offer is sent at once: a slower one is not an orphan's */
#define SUP_ADOPT_ENVIRON_MAX 65536
#define SUP_ADOPT_STATE_FILE "fleet.state"

typedef struct sup_adopt_watch {
    sup_ctx *ctx;
    unsigned index;
    pid_t pid;        /* the adoptee, 0 when the slot has none */
    int pidfd;        /* readable when it exits */
    int conn;         /* its adopt connection: our end of its new "parent pipe" */
    struct event *ev; /* on pidfd */
} sup_adopt_watch;

struct sup_adopt {
    int listen_fd;
    struct event *listen_ev;
    struct event *roll_ev;
    bool bound;
    bool roll_pending; /* the worker settings changed: roll once every adoptee reports */
    unsigned adopted;
    char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char state_path[SUP_RUNDIR_PATH_MAX + 32];
    sup_adopt_watch watch[SUP_MAX_SLOTS];
    sup_adopt_slot saved[SUP_MAX_SLOTS]; /* as last written */
    bool saved_valid;
};

/* What sup_adopt_start learned from the state file and the handshakes. */
typedef struct sup_adopt_run {
    sup_adopt_state st;
    bool have_listeners;
} sup_adopt_run;

static uint64_t sup_adopt_workers_fp(const sup_ctx *ctx)
{
    sup_worker_args w;
    char num[96];
    uint64_t h = SUP_ADOPT_FP_INIT;
    sup_config_worker_args(&w, &ctx->cfg);
    for (size_t i = 0; i < w.argc; i++)
        h = sup_adopt_fp(h, w.argv[i], strlen(w.argv[i]) + 1);
    snprintf(num, sizeof num, "%u %u %u", (unsigned)ctx->cfg.orphan_grace_ms,
             (unsigned)ctx->cfg.report_interval_ms, (unsigned)ctx->cfg.drain_timeout_ms);
    h = sup_adopt_fp(h, num, strlen(num) + 1);
    return sup_adopt_fp(h, ctx->worker_bin, strlen(ctx->worker_bin));
}

/* Writes RUNDIR/fleet.state atomically (a rename), 0600. */
static void sup_adopt_save(sup_ctx *ctx)
{
    struct sup_adopt *a = ctx->adopt;
    sup_adopt_state *st = wsf_xcalloc(1, sizeof *st);
    char *buf = wsf_xcalloc(1, SUP_ADOPT_STATE_MAX);
    char tmp[sizeof a->state_path + 8];

    st->supervisor_pid = (int)getpid();
    st->workers_fp = sup_adopt_workers_fp(ctx);
    st->spawns = ctx->spawns;
    st->nlistens = (unsigned)ctx->nlistens;
    for (size_t i = 0; i < ctx->nlistens; i++)
        snprintf(st->listen[i], sizeof st->listen[i], "%s", ctx->listens[i].name);
    st->nslots = ctx->nslots;
    for (unsigned i = 0; i < ctx->nslots; i++) {
        st->slots[i].pid = (int)ctx->slots[i].pid;
        st->slots[i].generation = ctx->slots[i].generation;
        st->slots[i].state = ctx->slots[i].lc.state;
    }
    int len = sup_adopt_state_encode(buf, SUP_ADOPT_STATE_MAX, st);
    snprintf(tmp, sizeof tmp, "%s.tmp", a->state_path);
    int fd = len > 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    bool ok = fd != -1 && write(fd, buf, (size_t)len) == len;
    if (fd != -1)
        ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, a->state_path) != 0) {
        wsf_log_warn("cannot record the fleet in %s: %s", a->state_path, strerror(errno));
        unlink(tmp);
    }
    free(buf);
    free(st);
}

static void sup_adopt_release(sup_adopt_watch *w)
{
    if (w->ev != NULL)
        event_free(w->ev);
    if (w->pidfd != -1)
        close(w->pidfd);
    if (w->conn != -1)
        close(w->conn);
    w->ev = NULL;
    w->pidfd = w->conn = -1;
    w->pid = 0;
}

static void sup_adopt_on_pidfd(evutil_socket_t fd, short what, void *arg)
{
    sup_adopt_watch *w = arg;
    sup_slot *slot = &w->ctx->slots[w->index];
    (void)fd;
    (void)what;
    pid_t pid = w->pid;
    sup_adopt_release(w);
    if (slot->pid != pid)
        return;
    /* Not our child: its status went to its new parent. A crash as far as restarts go. */
    if (slot->lc.state == SUP_SLOT_DRAINING)
        wsf_log_info("slot %u: adopted worker pid %d exited", slot->index, (int)pid);
    else
        wsf_log_warn("slot %u: adopted worker pid %d exited (status unknown: counted as a crash)",
                     slot->index, (int)pid);
    sup_slot_event(w->ctx, slot, SUP_LC_EV_EXIT, -1, 0);
}

static void sup_adopt_on_roll(evutil_socket_t fd, short what, void *arg)
{
    sup_ctx *ctx = arg;
    (void)fd;
    (void)what;
    wsf_log_info("adoption: the worker settings changed; restarting the adopted workers one at "
                 "a time");
    sup_roll_renew(ctx);
}

void sup_adopt_on_slot(sup_ctx *ctx, sup_slot *slot)
{
    struct sup_adopt *a = ctx->adopt;
    if (a == NULL || slot->index >= SUP_MAX_SLOTS)
        return;
    sup_adopt_watch *w = &a->watch[slot->index];
    if (w->pid != 0 && slot->pid != w->pid)
        sup_adopt_release(w);
    sup_adopt_slot *s = &a->saved[slot->index];
    if (!a->saved_valid || s->pid != (int)slot->pid || s->generation != slot->generation ||
        s->state != slot->lc.state) {
        s->pid = (int)slot->pid;
        s->generation = slot->generation;
        s->state = slot->lc.state;
        a->saved_valid = true;
        sup_adopt_save(ctx);
    }
    if (a->roll_pending) {
        for (unsigned i = 0; i < ctx->nslots; i++) {
            if (ctx->slots[i].lc.state == SUP_SLOT_ADOPTED)
                return;
        }
        a->roll_pending = false;
        event_active(a->roll_ev, EV_TIMEOUT, 0);
    }
}

unsigned sup_adopt_count(const sup_ctx *ctx)
{
    return ctx->adopt ? ctx->adopt->adopted : 0;
}

/* Receives the descriptors of an offer: total of them in chunks, into fds. Returns 0 or -1
 * (whatever arrived is closed). */
static int sup_adopt_recv_fds(int conn, int *fds, unsigned total)
{
    unsigned got = 0;
    while (got < total) {
        wsf_adopt_chunk c;
        union {
            char buf[CMSG_SPACE(sizeof(int) * WSF_ADOPT_CHUNK)];
            struct cmsghdr align;
        } u;
        struct iovec iov = {.iov_base = &c, .iov_len = sizeof c};
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u};
        ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
        unsigned count = 0;
        for (struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm != NULL;
             cm = CMSG_NXTHDR(&msg, cm)) {
            if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                continue;
            unsigned k = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            const int *in = (const int *)(void *)CMSG_DATA(cm);
            for (unsigned i = 0; i < k; i++) {
                if (got + count < total)
                    fds[got + count++] = in[i];
                else
                    close(in[i]);
            }
        }
        got += count;
        if (n != (ssize_t)sizeof c || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
            c.magic != WSF_ADOPT_MAGIC || c.first != got - count || c.count != count ||
            count == 0) {
            for (unsigned i = 0; i < got; i++)
                close(fds[i]);
            return -1;
        }
    }
    return 0;
}

/* True if fd is a listening TCP socket. */
static bool sup_adopt_is_listener(int fd)
{
    int on = 0, type = 0;
    socklen_t len = sizeof on, tlen = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on &&
           getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM;
}

/* Makes the offered sockets the fleet's listeners, after checking they are listeners on the
 * configured addresses (a configured port 0 matches the port the group has). */
static int sup_adopt_install(sup_ctx *ctx, int *fds, unsigned nl, unsigned ns)
{
    for (unsigned i = 0; i < nl * ns; i++) {
        if (!sup_adopt_is_listener(fds[i])) {
            wsf_log_error("adoption: an orphan offered a descriptor that is not a listener");
            return -1;
        }
    }
    for (unsigned i = 0; i < nl; i++) {
        sup_listen *l = &ctx->listens[i];
        wsf_addr bound, want;
        const char *why;
        char want_name[WSF_LISTEN_NAME_MAX];
        if (wsf_listen_bound(&bound, fds[i * ns]) != 0 ||
            wsf_listen_resolve(&want, sup_config_listen_at(&ctx->cfg, i), &why) != 0)
            return -1;
        if (wsf_addr_port(&want) == 0)
            wsf_addr_set_port(&want, wsf_addr_port(&bound));
        wsf_addr_name(l->name, sizeof l->name, &bound);
        wsf_addr_name(want_name, sizeof want_name, &want);
        if (strcmp(l->name, want_name) != 0) {
            wsf_log_error("adoption: the orphans listen on %s, but listen %s is configured; "
                          "stop them (or configure the same addresses) first",
                          l->name, sup_config_listen_at(&ctx->cfg, i));
            return -1;
        }
    }
    for (unsigned i = 0; i < nl; i++) {
        sup_listen *l = &ctx->listens[i];
        wsf_addr bound;
        wsf_listen_bound(&bound, fds[i * ns]);
        l->family = bound.ss.ss_family;
        l->tls = i >= ctx->cfg.nlisten;
        for (unsigned s = 0; s < SUP_MAX_SLOTS; s++)
            l->fds[s] = s < ns ? fds[i * ns + s] : -1;
        wsf_log_info("adopted the listeners of %s from an orphan", l->name);
        wsf_log_info("listening on %s (%u sockets)", l->name, ns);
    }
    ctx->nlistens = nl;
    ctx->steering_cbpf = true;
    ctx->steer_valid = false;
    return 0;
}

/* One orphan's offer on conn: checked against the slot we adopted for its pid; the first
 * complete offer's sockets become the listeners (run->have_listeners), later ones are closed.
 * Answers yes or no; a yes keeps conn as the worker's link to our life. */
static void sup_adopt_take(sup_ctx *ctx, sup_adopt_run *run, int conn)
{
    struct sup_adopt *a = ctx->adopt;
    struct timeval tv = {SUP_ADOPT_IO_MS / 1000, (SUP_ADOPT_IO_MS % 1000) * 1000};
    struct ucred cred;
    socklen_t clen = sizeof cred;
    wsf_adopt_hello h = {0};
    int *fds = NULL;
    char answer = WSF_ADOPT_NO;

    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
        recv(conn, &h, sizeof h, 0) != (ssize_t)sizeof h || h.magic != WSF_ADOPT_MAGIC ||
        h.version != WSF_ADOPT_VERSION || h.pid != (uint32_t)cred.pid)
        goto out;
    unsigned nl = run ? run->st.nlistens : (unsigned)ctx->nlistens;
    unsigned ns = run ? run->st.nslots : ctx->nslots;
    if (h.slot >= ctx->nslots || a->watch[h.slot].pid != cred.pid || a->watch[h.slot].conn != -1 ||
        ctx->slots[h.slot].generation != h.generation || h.nlistens != nl || h.nslots != ns) {
        wsf_log_warn("adoption: refusing the offer of pid %d (slot %u): not a worker this "
                     "supervisor adopted",
                     (int)cred.pid, h.slot);
        goto out;
    }
    fds = wsf_xcalloc((size_t)nl * ns, sizeof *fds);
    if (sup_adopt_recv_fds(conn, fds, nl * ns) != 0) {
        free(fds);
        fds = NULL;
        goto out;
    }
    if (run != NULL && !run->have_listeners) {
        if (sup_adopt_install(ctx, fds, nl, ns) != 0)
            goto out;
        run->have_listeners = true;
    } else {
        for (unsigned i = 0; i < nl * ns; i++)
            close(fds[i]);
    }
    free(fds);
    fds = NULL;
    answer = WSF_ADOPT_YES;
out:
    if (fds != NULL) {
        for (unsigned i = 0; i < nl * ns; i++)
            close(fds[i]);
        free(fds);
    }
    bool yes = answer == WSF_ADOPT_YES && send(conn, &answer, 1, MSG_NOSIGNAL) == 1;
    if (!yes) {
        if (answer == WSF_ADOPT_YES)
            answer = WSF_ADOPT_NO;
        send(conn, &answer, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(conn);
        return;
    }
    a->watch[h.slot].conn = conn;
    wsf_log_info("slot %u: worker pid %d handed over, watching this supervisor's life", h.slot,
                 (int)cred.pid);
}

static void sup_adopt_on_accept(evutil_socket_t fd, short what, void *arg)
{
    sup_ctx *ctx = arg;
    (void)what;
    int conn;
    while ((conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) != -1)
        sup_adopt_take(ctx, NULL, conn);
}

static int sup_adopt_listen(struct sup_adopt *a, const char *dir)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(a->sock_path, sizeof a->sock_path, "%s/%s", dir, WSF_ADOPT_SOCKET);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", a->sock_path);
    a->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (a->listen_fd == -1)
        return -errno;
    unlink(a->sock_path); /* a dead supervisor's: we hold the run dir's lock */
    mode_t old = umask(0077);
    int rc = bind(a->listen_fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc == -1 || listen(a->listen_fd, SUP_MAX_SLOTS) == -1)
        return -errno;
    a->bound = true;
    return 0;
}

/* Reads and parses RUNDIR/fleet.state. Returns 0, or -1 when there is none or it is unusable
 * (logged when it exists). */
static int sup_adopt_read_state(sup_adopt_state *st, const char *path)
{
    char *buf = wsf_xcalloc(1, SUP_ADOPT_STATE_MAX);
    char why[160];
    int rc = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1)
        goto out;
    ssize_t n = read(fd, buf, SUP_ADOPT_STATE_MAX);
    close(fd);
    if (n < 0 || n == SUP_ADOPT_STATE_MAX ||
        sup_adopt_state_parse(st, buf, (size_t)n, why, sizeof why) != 0) {
        wsf_log_warn("%s: unusable (%s): adopting nothing", path, n < 0 ? strerror(errno) : why);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* The verdict on a recorded worker, reading its environment after taking a pidfd (so the pid
 * cannot be another process's by the time we watch it). Sets *pidfd on SUP_ADOPT_TAKE. */
static enum sup_adopt_verdict sup_adopt_check(int *pidfd, const sup_ctx *ctx,
                                              const sup_adopt_slot *s, unsigned index)
{
    char path[64];
    *pidfd = -1;
    if (s->pid <= 0)
        return SUP_ADOPT_NONE;
    int pfd = (int)syscall(SYS_pidfd_open, (pid_t)s->pid, 0);
    if (pfd == -1) {
        if (errno != ESRCH)
            wsf_log_warn("slot %u: cannot watch worker pid %d (pidfd_open: %s): not adopting "
                         "it",
                         index, s->pid, strerror(errno));
        return SUP_ADOPT_NONE;
    }
    char *env = wsf_xcalloc(1, SUP_ADOPT_ENVIRON_MAX);
    snprintf(path, sizeof path, "/proc/%d/environ", s->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd == -1 ? -1 : read(fd, env, SUP_ADOPT_ENVIRON_MAX);
    if (fd != -1)
        close(fd);
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    bool alive = n > 0 && poll(&p, 1, 0) == 0;
    enum sup_adopt_verdict v =
        sup_adopt_judge(s, index, alive ? env : NULL, alive ? (size_t)n : 0, ctx->workers_endpoint);
    free(env);
    if (v == SUP_ADOPT_TAKE)
        *pidfd = pfd;
    else
        close(pfd);
    if (v == SUP_ADOPT_STRANGER)
        wsf_log_warn("slot %u: pid %d of the state file is not this fleet's worker any more", index,
                     s->pid);
    return v;
}

/* Takes slot i over from the state file's worker, watched by pidfd. */
static void sup_adopt_slot_take(sup_ctx *ctx, unsigned i, const sup_adopt_slot *s, int pidfd)
{
    struct sup_adopt *a = ctx->adopt;
    sup_slot *slot = &ctx->slots[i];
    sup_adopt_watch *w = &a->watch[i];
    uint64_t now = sup_now_ms();
    slot->pid = s->pid;
    slot->generation = s->generation;
    slot->spawn_seq = 0; /* older than anything this supervisor spawns: a roll owes it */
    slot->started_ms = now;
    slot->ready_ms = 0;
    slot->last_report_ms = now;
    slot->has_peer = false;
    slot->has_report = false;
    slot->accepting = true;
    slot->wanted = true;
    sup_lifecycle_adopt(&slot->lc, sup_observed_ms(ctx));
    w->pid = s->pid;
    w->pidfd = pidfd;
    w->ev = event_new(ctx->base, pidfd, EV_READ, sup_adopt_on_pidfd, w);
    if (w->ev == NULL || event_add(w->ev, NULL) != 0)
        abort();
    a->adopted++;
    wsf_log_info("slot %u: adopting worker pid %d (generation %llu)", i, s->pid,
                 (unsigned long long)s->generation);
}

/* Undoes the slots' adoption when the listeners never came. */
static void sup_adopt_undo(sup_ctx *ctx)
{
    struct sup_adopt *a = ctx->adopt;
    for (unsigned i = 0; i < SUP_MAX_SLOTS; i++) {
        if (a->watch[i].pid == 0)
            continue;
        sup_adopt_release(&a->watch[i]);
        ctx->slots[i].pid = 0;
        sup_lifecycle_init(&ctx->slots[i].lc);
    }
    a->adopted = 0;
}

/* Waits for the first orphan's listeners. */
static void sup_adopt_wait(sup_ctx *ctx, sup_adopt_run *run)
{
    uint64_t deadline = sup_now_ms() + SUP_ADOPT_WAIT_MS;
    while (!run->have_listeners) {
        uint64_t now = sup_now_ms();
        if (now >= deadline)
            return;
        struct pollfd p = {.fd = ctx->adopt->listen_fd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - now)) <= 0)
            continue;
        int conn = accept4(ctx->adopt->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn != -1)
            sup_adopt_take(ctx, run, conn);
    }
}

static int sup_adopt_new(sup_ctx *ctx)
{
    struct sup_adopt *a = wsf_xcalloc(1, sizeof *a);
    a->listen_fd = -1;
    for (unsigned i = 0; i < SUP_MAX_SLOTS; i++) {
        a->watch[i] = (sup_adopt_watch){.ctx = ctx, .index = i, .pidfd = -1, .conn = -1};
    }
    snprintf(a->state_path, sizeof a->state_path, "%s/%s", ctx->rundir->path, SUP_ADOPT_STATE_FILE);
    ctx->adopt = a;
    int rc = sup_adopt_listen(a, ctx->rundir->path);
    if (rc != 0) {
        wsf_log_error("adoption socket %s: %s", a->sock_path, strerror(-rc));
        return -1;
    }
    a->listen_ev =
        event_new(ctx->base, a->listen_fd, EV_READ | EV_PERSIST, sup_adopt_on_accept, ctx);
    a->roll_ev = event_new(ctx->base, -1, 0, sup_adopt_on_roll, ctx);
    if (a->listen_ev == NULL || a->roll_ev == NULL || event_add(a->listen_ev, NULL) != 0) {
        wsf_log_error("cannot watch the adoption socket");
        return -1;
    }
    return 0;
}

int sup_adopt_start(sup_ctx *ctx)
{
    if (sup_adopt_new(ctx) != 0)
        return -1;
    struct sup_adopt *a = ctx->adopt;
    sup_adopt_run *run = wsf_xcalloc(1, sizeof *run);
    int rc = 0;
    if (sup_adopt_read_state(&run->st, a->state_path) != 0)
        goto out;
    sup_adopt_state *st = &run->st;
    if (st->nslots > SUP_MAX_SLOTS || st->nlistens != ctx->cfg.nlisten + ctx->cfg.tls.nlisten ||
        st->nlistens > SUP_MAX_LISTEN)
        goto out; /* other addresses: nothing of ours to adopt (the port check decides) */
    unsigned span = 0;
    for (unsigned i = 0; i < st->nslots; i++) {
        int pidfd;
        if (sup_adopt_check(&pidfd, ctx, &st->slots[i], i) == SUP_ADOPT_TAKE) {
            sup_adopt_slot_take(ctx, i, &st->slots[i], pidfd);
            span = i + 1;
        }
    }
    if (a->adopted == 0) {
        wsf_log_info("%s: the previous supervisor (pid %d) left no live worker", a->state_path,
                     st->supervisor_pid);
        goto out;
    }
    if (st->nslots != ctx->nslots)
        wsf_log_warn("adoption: the orphans' groups have %u slots; [workers] max %u applies "
                     "after a full restart",
                     st->nslots, ctx->nslots);
    unsigned nslots_before = ctx->nslots;
    ctx->nslots = st->nslots;
    sup_adopt_wait(ctx, run);
    if (!run->have_listeners) {
        wsf_log_error("adoption: no orphan of pid %d's fleet handed over the listeners within "
                      "%d ms",
                      st->supervisor_pid, SUP_ADOPT_WAIT_MS);
        ctx->nslots = nslots_before;
        sup_adopt_undo(ctx);
        goto out;
    }
    /* Generations and the spawn order continue where the dead supervisor left them. */
    for (unsigned i = 0; i < ctx->nslots; i++) {
        if (ctx->slots[i].generation < st->slots[i].generation)
            ctx->slots[i].generation = st->slots[i].generation;
    }
    ctx->spawns = st->spawns;
    if (ctx->desired < span)
        ctx->desired = span; /* keep the size the fleet had (autoscaled, wsctl scale) */
    if (ctx->desired > ctx->nslots)
        ctx->desired = ctx->nslots;
    for (unsigned i = 0; i < SUP_MAX_SLOTS; i++)
        ctx->slots[i].wanted = i < ctx->desired;
    if (st->workers_fp != sup_adopt_workers_fp(ctx))
        a->roll_pending = true;
    wsf_log_info("adopted %u workers of pid %d's fleet%s", a->adopted, st->supervisor_pid,
                 a->roll_pending ? "; their settings changed: a rolling restart follows" : "");
    rc = 1;
out:
    free(run);
    return rc;
}

int sup_adopt_track(sup_ctx *ctx)
{
    if (sup_adopt_new(ctx) != 0)
        return -1;
    struct sup_adopt *a = ctx->adopt;
    for (unsigned i = 0; i < ctx->nslots && i < SUP_MAX_SLOTS; i++) {
        a->saved[i].pid = (int)ctx->slots[i].pid;
        a->saved[i].generation = ctx->slots[i].generation;
        a->saved[i].state = ctx->slots[i].lc.state;
    }
    a->saved_valid = true;
    sup_adopt_save(ctx);
    return 0;
}

void sup_adopt_fini(sup_ctx *ctx, bool clean)
{
    struct sup_adopt *a = ctx->adopt;
    if (a == NULL)
        return;
    for (unsigned i = 0; i < SUP_MAX_SLOTS; i++)
        sup_adopt_release(&a->watch[i]);
    if (a->listen_ev != NULL)
        event_free(a->listen_ev);
    if (a->roll_ev != NULL)
        event_free(a->roll_ev);
    if (a->listen_fd != -1)
        close(a->listen_fd);
    if (a->bound)
        unlink(a->sock_path);
    if (clean)
        unlink(a->state_path);
    free(a);
    ctx->adopt = NULL;
}
