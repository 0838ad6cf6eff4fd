/* The live upgrade's hand-over document: one line per item in a fixed order, numbers in decimal,
 * closed by "sum" and the FNV-1a 64 of everything before it. */
#include "sup_upgrade_state.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SUP_UPGRADE_MAGIC "wsfleetd-upgrade"

int sup_binid_of(sup_binid *out, const char *path)
{
    struct stat st;
    if (stat(path, &st) == -1)
        return -errno;
    out->dev = (uint64_t)st.st_dev;
    out->ino = (uint64_t)st.st_ino;
    out->size = (uint64_t)st.st_size;
    out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    return 0;
}

bool sup_binid_equal(const sup_binid *a, const sup_binid *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

static uint64_t sup_fnv1a(const char *buf, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)buf[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- encoding ------------------------------------------------------------------------------ */

typedef struct sup_out {
    char *buf;
    size_t cap;
    size_t len; /* what the document needs so far */
} sup_out;

__attribute__((format(printf, 2, 3))) static void sup_put(sup_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room > 0 ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void sup_put_restart(sup_out *o, const sup_restart *r)
{
    sup_put(o, " %u %d %u %u %u %u", r->streak, r->failed, r->restarts, r->nrecent, r->head,
            r->ring);
    for (unsigned i = 0; i < SUP_RESTART_MAX_FAIL_COUNT; i++)
        sup_put(o, " %llu", (unsigned long long)r->recent[i]);
}

static void sup_put_slot(sup_out *o, const sup_upgrade_slot *s)
{
    const sup_lifecycle *lc = &s->lc;
    sup_put(o, "slot %u %d %llu %llu %llu %llu %d %d", s->index, s->pid,
            (unsigned long long)s->generation, (unsigned long long)s->spawn_seq,
            (unsigned long long)s->started_ms, (unsigned long long)s->ready_ms, s->wanted,
            s->accepting);
    sup_put(o, " %d %d %d %d %llu %llu %llu %llu", (int)lc->state, lc->restart_after, lc->term_sent,
            lc->kill_sent, (unsigned long long)lc->started_ms, (unsigned long long)lc->heard_ms,
            (unsigned long long)lc->kill_at_ms, (unsigned long long)lc->spawn_at_ms);
    sup_put_restart(o, &lc->restart);
    sup_put(o, " %llu %llu %llu %lld\n", (unsigned long long)s->bin.dev,
            (unsigned long long)s->bin.ino, (unsigned long long)s->bin.size,
            (long long)s->bin.mtime_ns);
}

/* A process exactly while it starts or runs; a sidecar has its port (known once sup_natsd_start
 * returned, kept on restarts), an external broker none; never a stopping one (an upgrade is
 * refused while the fleet stops). */
static bool sup_natsd_consistent(const sup_natsd_handover *n)
{
    bool live = n->state == SUP_NATSD_STARTING || n->state == SUP_NATSD_RUNNING;
    bool sidecar = n->state != SUP_NATSD_EXTERNAL;
    return n->state <= SUP_NATSD_STOPPED && n->state != SUP_NATSD_STOPPING &&
           (n->pid > 0) == live && n->pid >= 0 && n->port >= 0 && n->port <= 65535 &&
           (n->port > 0) == sidecar && n->restart.nrecent <= n->restart.ring &&
           n->restart.ring <= SUP_RESTART_MAX_FAIL_COUNT &&
           (n->restart.ring == 0 || n->restart.head < n->restart.ring);
}

static void sup_put_natsd(sup_out *o, const sup_natsd_handover *n)
{
    sup_put(o, "natsd %d %d %d %d %llu %llu", (int)n->state, n->pid, n->port, n->failed,
            (unsigned long long)n->started_ms, (unsigned long long)n->restart_at_ms);
    sup_put_restart(o, &n->restart);
    sup_put(o, "\n");
}

long sup_upgrade_state_encode(char *out, size_t cap, const sup_upgrade_state *st)
{
    sup_out o = {.buf = out, .cap = cap};
    if (st->nslots == 0 || st->nslots > SUP_UPGRADE_MAX_SLOTS ||
        st->nlistens > SUP_UPGRADE_MAX_LISTEN || strchr(st->exe, '\n') != NULL ||
        st->exe[0] == '\0' || !sup_natsd_consistent(&st->natsd))
        return -EINVAL;
    for (size_t i = 0; i < st->nlistens; i++) {
        const char *name = st->listens[i].name;
        if (name[0] == '\0' || strpbrk(name, " \n") != NULL)
            return -EINVAL;
    }
    if (cap > 0)
        out[0] = '\0';
    sup_put(&o, "%s %d\n", SUP_UPGRADE_MAGIC, SUP_UPGRADE_VERSION);
    sup_put(&o, "exe %s\n", st->exe);
    sup_put(&o, "upgrades %llu\n", (unsigned long long)st->upgrades);
    sup_put(&o, "fds %d %d %d\n", st->lock_fd, st->pipe_fds[0], st->pipe_fds[1]);
    sup_put(&o, "obs %llu %llu %llu\n", (unsigned long long)st->obs.mono_ms,
            (unsigned long long)st->obs.observed_ms, (unsigned long long)st->obs.max_step_ms);
    sup_put(&o, "fleet %u %zu %u %u %u %u %d %d %d %d %llu %llu\n", st->nslots, st->nlistens,
            st->desired, st->workers_min, st->scaler_min, st->scaler_max, st->autoscale,
            st->steering_cbpf, st->ready_sent, st->settings, (unsigned long long)st->spawns,
            (unsigned long long)st->command_id);
    for (size_t i = 0; i < st->nlistens; i++) {
        const sup_upgrade_listen *l = &st->listens[i];
        sup_put(&o, "listen %d %s", l->family, l->name);
        for (unsigned s = 0; s < st->nslots; s++)
            sup_put(&o, " %d", l->fds[s]);
        sup_put(&o, "\n");
    }
    for (unsigned i = 0; i < st->nslots; i++)
        sup_put_slot(&o, &st->slots[i]);
    sup_put_natsd(&o, &st->natsd);
    /* The checksum covers what was written; a short buffer only needs the length. */
    uint64_t sum = o.len < cap ? sup_fnv1a(out, o.len) : 0;
    sup_put(&o, "sum %016llx\n", (unsigned long long)sum);
    return o.len > LONG_MAX ? -EINVAL : (long)o.len;
}

/* ---- decoding ------------------------------------------------------------------------------ */

/* A cursor over one line (NUL-terminated copy). */
typedef struct sup_in {
    const char *p;
    bool bad;
} sup_in;

/* The next space-separated unsigned decimal, at most max. */
static uint64_t sup_get_u(sup_in *in, uint64_t max)
{
    if (in->bad || *in->p != ' ' || in->p[1] < '0' || in->p[1] > '9') {
        in->bad = true;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(in->p + 1, &end, 10);
    if (errno != 0 || v > max || (*end != ' ' && *end != '\0')) {
        in->bad = true;
        return 0;
    }
    in->p = end;
    return v;
}

static int64_t sup_get_i64(sup_in *in)
{
    if (in->bad || *in->p != ' ') {
        in->bad = true;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(in->p + 1, &end, 10);
    if (errno != 0 || end == in->p + 1 || (*end != ' ' && *end != '\0')) {
        in->bad = true;
        return 0;
    }
    in->p = end;
    return v;
}

static bool sup_get_bool(sup_in *in)
{
    return sup_get_u(in, 1) != 0;
}

static int sup_get_fd(sup_in *in)
{
    return (int)sup_get_u(in, INT_MAX);
}

/* Starts on a line that must begin with key; true if it does. */
static bool sup_line(sup_in *in, const char *line, const char *key)
{
    size_t n = strlen(key);
    in->bad = strncmp(line, key, n) != 0 || (line[n] != ' ' && line[n] != '\0');
    in->p = line + n;
    return !in->bad;
}

static bool sup_line_end(const sup_in *in)
{
    return !in->bad && *in->p == '\0';
}

static void sup_get_restart(sup_in *in, sup_restart *r)
{
    r->streak = (unsigned)sup_get_u(in, UINT_MAX);
    r->failed = sup_get_bool(in);
    r->restarts = (uint32_t)sup_get_u(in, UINT32_MAX);
    r->nrecent = (unsigned)sup_get_u(in, SUP_RESTART_MAX_FAIL_COUNT);
    r->head = (unsigned)sup_get_u(in, SUP_RESTART_MAX_FAIL_COUNT - 1);
    r->ring = (unsigned)sup_get_u(in, SUP_RESTART_MAX_FAIL_COUNT);
    for (unsigned i = 0; i < SUP_RESTART_MAX_FAIL_COUNT; i++)
        r->recent[i] = sup_get_u(in, UINT64_MAX);
}

static bool sup_restart_consistent(const sup_restart *r)
{
    return r->nrecent <= r->ring && (r->ring == 0 || r->head < r->ring);
}

static bool sup_get_slot(sup_upgrade_slot *s, const char *line, unsigned index)
{
    sup_in in;
    sup_lifecycle *lc = &s->lc;
    if (!sup_line(&in, line, "slot"))
        return false;
    s->index = (unsigned)sup_get_u(&in, SUP_UPGRADE_MAX_SLOTS - 1);
    s->pid = (int)sup_get_u(&in, INT_MAX);
    s->generation = sup_get_u(&in, UINT64_MAX);
    s->spawn_seq = sup_get_u(&in, UINT64_MAX);
    s->started_ms = sup_get_u(&in, UINT64_MAX);
    s->ready_ms = sup_get_u(&in, UINT64_MAX);
    s->wanted = sup_get_bool(&in);
    s->accepting = sup_get_bool(&in);
    lc->state = (enum sup_slot_state)sup_get_u(&in, SUP_SLOT_NSTATES - 1);
    lc->restart_after = sup_get_bool(&in);
    lc->term_sent = sup_get_bool(&in);
    lc->kill_sent = sup_get_bool(&in);
    lc->started_ms = sup_get_u(&in, UINT64_MAX);
    lc->heard_ms = sup_get_u(&in, UINT64_MAX);
    lc->kill_at_ms = sup_get_u(&in, UINT64_MAX);
    lc->spawn_at_ms = sup_get_u(&in, UINT64_MAX);
    sup_get_restart(&in, &lc->restart);
    s->bin.dev = sup_get_u(&in, UINT64_MAX);
    s->bin.ino = sup_get_u(&in, UINT64_MAX);
    s->bin.size = sup_get_u(&in, UINT64_MAX);
    s->bin.mtime_ns = sup_get_i64(&in);
    /* A process in a state without one, or none in a state that has one, is no hand-over. */
    bool has_pid = s->pid > 0;
    return sup_line_end(&in) && s->index == index &&
           has_pid == sup_lifecycle_has_process(lc->state) && sup_restart_consistent(&lc->restart);
}

static bool sup_get_natsd(sup_natsd_handover *n, const char *line)
{
    sup_in in;
    if (!sup_line(&in, line, "natsd"))
        return false;
    n->state = (enum sup_natsd_state)sup_get_u(&in, SUP_NATSD_STOPPED);
    n->pid = (int)sup_get_u(&in, INT_MAX);
    n->port = (int)sup_get_u(&in, 65535);
    n->failed = sup_get_bool(&in);
    n->started_ms = sup_get_u(&in, UINT64_MAX);
    n->restart_at_ms = sup_get_u(&in, UINT64_MAX);
    sup_get_restart(&in, &n->restart);
    return sup_line_end(&in) && sup_natsd_consistent(n);
}

/* Splits the next line off [*pos, end) into line[cap]; false at the end or for a line that does
 * not fit or holds a NUL. */
static bool sup_next_line(char *line, size_t cap, const char **pos, const char *end)
{
    const char *nl = memchr(*pos, '\n', (size_t)(end - *pos));
    if (nl == NULL)
        return false;
    size_t n = (size_t)(nl - *pos);
    if (n >= cap || memchr(*pos, '\0', n) != NULL)
        return false;
    memcpy(line, *pos, n);
    line[n] = '\0';
    *pos = nl + 1;
    return true;
}

/* The body's lines, in order; false at the first that is wrong. */
static bool sup_decode_body(sup_upgrade_state *st, const char *pos, const char *end, char *line,
                            size_t cap)
{
    sup_in in;
    if (!sup_next_line(line, cap, &pos, end) || !sup_line(&in, line, SUP_UPGRADE_MAGIC) ||
        sup_get_u(&in, UINT32_MAX) != SUP_UPGRADE_VERSION || !sup_line_end(&in))
        return false;
    if (!sup_next_line(line, cap, &pos, end) || strncmp(line, "exe ", 4) != 0 || line[4] == '\0' ||
        strlen(line + 4) >= sizeof st->exe)
        return false;
    memcpy(st->exe, line + 4, strlen(line + 4) + 1);
    if (!sup_next_line(line, cap, &pos, end) || !sup_line(&in, line, "upgrades"))
        return false;
    st->upgrades = sup_get_u(&in, UINT64_MAX);
    if (!sup_line_end(&in) || !sup_next_line(line, cap, &pos, end) || !sup_line(&in, line, "fds"))
        return false;
    st->lock_fd = sup_get_fd(&in);
    st->pipe_fds[0] = sup_get_fd(&in);
    st->pipe_fds[1] = sup_get_fd(&in);
    if (!sup_line_end(&in) || !sup_next_line(line, cap, &pos, end) || !sup_line(&in, line, "obs"))
        return false;
    st->obs.mono_ms = sup_get_u(&in, UINT64_MAX);
    st->obs.observed_ms = sup_get_u(&in, UINT64_MAX);
    st->obs.max_step_ms = sup_get_u(&in, UINT64_MAX);
    if (!sup_line_end(&in) || !sup_next_line(line, cap, &pos, end) || !sup_line(&in, line, "fleet"))
        return false;
    st->nslots = (unsigned)sup_get_u(&in, SUP_UPGRADE_MAX_SLOTS);
    st->nlistens = (size_t)sup_get_u(&in, SUP_UPGRADE_MAX_LISTEN);
    st->desired = (unsigned)sup_get_u(&in, SUP_UPGRADE_MAX_SLOTS);
    st->workers_min = (unsigned)sup_get_u(&in, SUP_UPGRADE_MAX_SLOTS);
    st->scaler_min = (unsigned)sup_get_u(&in, SUP_UPGRADE_MAX_SLOTS);
    st->scaler_max = (unsigned)sup_get_u(&in, SUP_UPGRADE_MAX_SLOTS);
    st->autoscale = sup_get_bool(&in);
    st->steering_cbpf = sup_get_bool(&in);
    st->ready_sent = sup_get_bool(&in);
    st->settings = sup_get_bool(&in);
    st->spawns = sup_get_u(&in, UINT64_MAX);
    st->command_id = sup_get_u(&in, UINT64_MAX);
    if (!sup_line_end(&in) || st->nslots == 0 || st->desired > st->nslots)
        return false;
    for (size_t i = 0; i < st->nlistens; i++) {
        sup_upgrade_listen *l = &st->listens[i];
        if (!sup_next_line(line, cap, &pos, end) || !sup_line(&in, line, "listen"))
            return false;
        l->family = (int)sup_get_u(&in, INT_MAX);
        const char *name = in.p + 1;
        const char *sp = in.p[0] == ' ' ? strchr(name, ' ') : NULL;
        if (sp == NULL || sp == name || (size_t)(sp - name) >= sizeof l->name)
            return false;
        memcpy(l->name, name, (size_t)(sp - name));
        l->name[sp - name] = '\0';
        in.p = sp;
        for (unsigned s = 0; s < st->nslots; s++)
            l->fds[s] = sup_get_fd(&in);
        if (!sup_line_end(&in))
            return false;
    }
    for (unsigned i = 0; i < st->nslots; i++) {
        if (!sup_next_line(line, cap, &pos, end) || !sup_get_slot(&st->slots[i], line, i))
            return false;
    }
    if (!sup_next_line(line, cap, &pos, end) || !sup_get_natsd(&st->natsd, line))
        return false;
    return pos == end;
}

int sup_upgrade_state_decode(sup_upgrade_state *out, const char *buf, size_t len)
{
    /* The last line is "sum " and 16 hex digits over everything before it. */
    static const size_t sum_len = 4 + 16 + 1;
    if (len < sum_len || buf[len - 1] != '\n' || memcmp(buf + len - sum_len, "sum ", 4) != 0 ||
        (len > sum_len && buf[len - sum_len - 1] != '\n'))
        return -EINVAL;
    char hex[17];
    memcpy(hex, buf + len - sum_len + 4, 16);
    hex[16] = '\0';
    char *end;
    if (strspn(hex, "0123456789abcdef") != 16)
        return -EINVAL;
    uint64_t sum = strtoull(hex, &end, 16);
    size_t body = len - sum_len;
    if (sum != sup_fnv1a(buf, body))
        return -EINVAL;
    /* The longest line is a listen line of every slot's descriptor, or a slot line. */
    size_t cap = 64 + SUP_UPGRADE_PATH_MAX + SUP_UPGRADE_MAX_SLOTS * 12;
    char *line = malloc(cap);
    if (line == NULL)
        abort();
    memset(out, 0, sizeof *out);
    bool ok = sup_decode_body(out, buf, buf + body, line, cap);
    free(line);
    return ok ? 0 : -EINVAL;
}
