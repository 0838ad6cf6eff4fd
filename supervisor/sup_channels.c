/* wsfleetd's channels: the sidecar's place in the loop, its own NATS connection, and the wsctl
 * requests that go through NATS. */
#include "sup_channels.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sup_admin.h"
#include "sup_cluster.h"
#include "sup_ctlbody.h"
#include "sup_ctx.h"
#include "sup_natsd.h"
#include "wsf_buf.h"
#include "wsf_chconf.h"
#include "wsf_chenc.h"
#include "wsf_log.h"
#include "wsf_nats.h"
#include "wsf_nats_js.h"
#include "wsf_nats_subj.h"

#define SUP_CHANNELS_NATS_TIMEOUT_MS 1500 /* below wsctl's 2 s */
#define SUP_CHANNELS_ENSURE_RETRY_MS 1000

typedef struct sup_channels {
    sup_natsd natsd;
    struct wsf_nats *nats;
    struct wsf_nats_sub *inbox_sub;
    char inbox[48]; /* "_INBOX.wsfleetd.<hex>" */
    char ini_path[PATH_MAX];
    wsf_chconf conf;   /* the namespaces, to refuse a channel of one that is not defined */
    bool closing;      /* wsf_nats_free runs: owed callbacks answer nobody */
    /* the stream */
    bool stream_ok;
    bool ensure_inflight;
    uint64_t ensure_at_ms;
    /* the deferred wsctl request */
    bool pending;
    enum wsf_ctl_command cmd;
    char channel[WSF_CTL_CHANNEL_MAX];
    uint32_t limit;
    json_t *pubs;         /* history so far */
    bool hist_probed;     /* the channel's first and last offsets are known */
    uint64_t hist_window; /* reading from last - window */
    uint64_t hist_from;
    uint64_t hist_floor; /* the channel's oldest offset - 1 */
    uint64_t gather_id;
    uint64_t gather_deadline_ms;
    json_t *workers; /* gather replies */
    pid_t answered[SUP_MAX_SLOTS];
    unsigned nanswered;
    unsigned nrunning_answered; /* answers from the pids of running slots */
    sup_cluster *cluster;       /* wsf.fleet.<name>.status, both ways */
    bool tls;                   /* TLS to NATS: libnats' global cleanup is left to the exit */
} sup_channels;

static sup_channels *sup_ch(const sup_ctx *ctx)
{
    return ctx->channels;
}

/* Writes the effective channel settings for the workers (0600: next to the secrets). */
static int sup_channels_write_ini(sup_ctx *ctx)
{
    sup_channels *ch = sup_ch(ctx);
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", ch->ini_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1) {
        wsf_log_error("cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    const char *text = ctx->cfg.channels_ini;
    size_t len = strlen(text), off = 0;
    int rc = fchmod(fd, 0600);
    while (rc == 0 && off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n == -1 && errno != EINTR)
            rc = -1;
        else if (n > 0)
            off += (size_t)n;
    }
    if (close(fd) != 0 || rc != 0 || rename(tmp, ch->ini_path) != 0) {
        wsf_log_error("cannot write %s: %s", ch->ini_path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Reads the effective settings back from their text (sup_config checked every key already). */
static void sup_channels_load_conf(sup_ctx *ctx)
{
    sup_channels *ch = sup_ch(ctx);
    char section[WSF_CHCONF_MAX_NAME + 16] = "";
    wsf_chconf_fini(&ch->conf);
    wsf_chconf_init(&ch->conf);
    for (const char *p = ctx->cfg.channels_ini; *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char line[160];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        char *eq = strstr(line, " = ");
        if (line[0] == '[' && len > 2 && line[len - 1] == ']') {
            snprintf(section, sizeof section, "%.*s", (int)(len - 2), line + 1);
            if (strncmp(section, "namespace ", 10) == 0)
                wsf_chconf_add_namespace(&ch->conf, section + 10);
        } else if (eq != NULL && section[0] != '\0') {
            *eq = '\0';
            wsf_chconf_set(&ch->conf, section, line, eq + 3);
        }
        p += len + (end != NULL);
    }
}

/* ---- the stream -------------------------------------------------------------------------- */

static void sup_channels_on_stream(int err, const char *epoch, void *arg)
{
    sup_ctx *ctx = arg;
    sup_channels *ch = sup_ch(ctx);
    ch->ensure_inflight = false;
    if (ch->closing)
        return;
    if (err == -EEXIST) {
        char why[160];
        if (wsf_nats_stream_check(ch->nats, (int)ctx->cfg.channels_replicas, why, sizeof why) !=
            -EEXIST)
            snprintf(why, sizeof why, "stream %s exists with other settings",
                     ctx->cfg.nats_stream);
        wsf_log_error("NATS %s: left as it is; retrying", why);
        ch->ensure_at_ms = sup_now_ms() + SUP_CHANNELS_ENSURE_RETRY_MS;
        return;
    }
    if (err != 0) {
        wsf_log_warn("NATS stream %s: cannot create or update it: %s; retrying",
                     ctx->cfg.nats_stream, strerror(-err));
        ch->ensure_at_ms = sup_now_ms() + SUP_CHANNELS_ENSURE_RETRY_MS;
        return;
    }
    if (!ch->stream_ok)
        wsf_log_info("NATS stream %s ready (epoch %s, %u publications per channel, %u s)",
                     ctx->cfg.nats_stream, epoch, ctx->cfg.channels_max_history,
                     ctx->cfg.channels_max_ttl_s);
    ch->stream_ok = true;
}

static void sup_channels_ensure(sup_ctx *ctx)
{
    sup_channels *ch = sup_ch(ctx);
    uint32_t size = ctx->cfg.channels_max_history;
    struct wsf_nats_stream_conf conf = {
        .max_per_subject = size > 0 ? size : 1, /* JetStream reads 0 as no limit */
        .max_age_ms = (int64_t)ctx->cfg.channels_max_ttl_s * 1000,
        .replicas = (int)ctx->cfg.channels_replicas,
    };
    if (ch->nats == NULL || ch->ensure_inflight || !wsf_nats_is_connected(ch->nats))
        return;
    if (wsf_nats_stream_ensure(ch->nats, &conf, sup_channels_on_stream, ctx) == 0)
        ch->ensure_inflight = true;
}

static void sup_channels_on_event(enum wsf_nats_event ev, int err, void *arg)
{
    sup_ctx *ctx = arg;
    sup_channels *ch = sup_ch(ctx);
    switch (ev) {
    case WSF_NATS_EV_CONNECTED:
    case WSF_NATS_EV_RECONNECTED:
        wsf_log_info("NATS: %s", ev == WSF_NATS_EV_CONNECTED ? "connected" : "reconnected");
        /* A restarted broker may have lost the stream (a new store): make sure again. */
        ch->stream_ok = false;
        sup_channels_ensure(ctx);
        break;
    case WSF_NATS_EV_DISCONNECTED:
        wsf_log_warn("NATS: disconnected; reconnecting");
        break;
    case WSF_NATS_EV_ERROR:
        wsf_log_warn("NATS: %s", strerror(-err));
        break;
    case WSF_NATS_EV_CLOSED:
        break;
    }
}

/* ---- deferred wsctl answers -------------------------------------------------------------- */

static wsf_ctl_response *sup_channels_res(void)
{
    wsf_ctl_response *res = calloc(1, sizeof *res);
    if (res == NULL)
        abort();
    return res;
}

/* Sends the owed answer and lets the control socket be read again. */
static void sup_channels_answer(sup_ctx *ctx, wsf_ctl_response *res)
{
    sup_channels *ch = sup_ch(ctx);
    ch->pending = false;
    json_decref(ch->pubs);
    ch->pubs = NULL;
    json_decref(ch->workers);
    ch->workers = NULL;
    if (ctx->ctl_for_admin) {
        ctx->ctl_for_admin = false;
        sup_admin_ctl_answer(ctx, res);
    } else {
        sup_ctl_reply(ctx, res);
    }
    free(res);
}

static void sup_channels_refuse(sup_ctx *ctx, const char *what, int err)
{
    wsf_ctl_response *res = sup_channels_res();
    if (err == -ENOTCONN || err == -ECANCELED)
        snprintf(res->error, sizeof res->error, "%s: NATS is not available (broker down?)", what);
    else if (err == -ETIMEDOUT)
        snprintf(res->error, sizeof res->error, "%s: NATS did not answer in time", what);
    else if (err == -EHOSTUNREACH || err == -ENOENT)
        snprintf(res->error, sizeof res->error, "%s: no stream %s holds the channels yet", what,
                 ctx->cfg.nats_stream);
    else
        snprintf(res->error, sizeof res->error, "%s: %s", what, strerror(-err));
    sup_channels_answer(ctx, res);
}

/* Stores body's text (compact JSON) into res->body; refuses when it does not fit. */
static void sup_channels_answer_json(sup_ctx *ctx, json_t *body)
{
    wsf_ctl_response *res = sup_channels_res();
    sup_ctlbody_set(res, body);
    sup_channels_answer(ctx, res);
}

static void sup_channels_on_ack(int err, uint64_t offset, void *arg)
{
    sup_ctx *ctx = arg;
    if (sup_ch(ctx)->closing)
        return;
    if (err != 0) {
        sup_channels_refuse(ctx, "publish", err);
        return;
    }
    wsf_ctl_response *res = sup_channels_res();
    res->ok = true;
    res->offset = offset;
    snprintf(res->message, sizeof res->message, "%llu", (unsigned long long)offset);
    sup_channels_answer(ctx, res);
}

static int sup_channels_fetch(sup_ctx *ctx, uint64_t after, size_t limit);

/* History answers oldest first from an offset; the newest limit publications are found by
 * reading from last - window, a window that grows until it holds limit of them or reaches the
 * channel's oldest, so a long history is not read whole. */
static int sup_channels_attempt(sup_ctx *ctx, uint64_t first, uint64_t last)
{
    sup_channels *ch = sup_ch(ctx);
    uint64_t floor = first > 0 ? first - 1 : 0;
    ch->hist_from = last > ch->hist_window ? last - ch->hist_window : 0;
    if (ch->hist_from < floor)
        ch->hist_from = floor;
    ch->hist_floor = floor;
    json_array_clear(ch->pubs);
    return sup_channels_fetch(ctx, ch->hist_from, SUP_CHANNELS_HISTORY_MAX);
}

static void sup_channels_history_done(sup_ctx *ctx, const struct wsf_nats_history *h)
{
    sup_channels *ch = sup_ch(ctx);
    json_t *body = json_object();
    json_object_set_new(body, "channel", json_string(ch->channel));
    json_object_set_new(body, "epoch", json_string(h->epoch != NULL ? h->epoch : ""));
    json_object_set_new(body, "offset", json_integer((json_int_t)h->last));
    json_object_set(body, "pubs", ch->pubs);
    sup_channels_answer_json(ctx, body);
}

static void sup_channels_on_history(int err, const struct wsf_nats_history *h, void *arg)
{
    sup_ctx *ctx = arg;
    sup_channels *ch = sup_ch(ctx);
    if (ch->closing)
        return;
    if (err != 0) {
        sup_channels_refuse(ctx, "history", err);
        return;
    }
    if (!ch->hist_probed) {
        /* The first answer only tells the channel's first and last offsets. */
        ch->hist_probed = true;
        if (h->count == 0 || h->last == 0 || sup_channels_attempt(ctx, h->first, h->last) != 0)
            sup_channels_history_done(ctx, h);
        return;
    }
    uint64_t after = 0;
    for (size_t i = 0; i < h->count; i++) {
        json_t *pub = json_object();
        json_t *data = json_loadb(h->pubs[i].data, h->pubs[i].len, JSON_DECODE_ANY, NULL);
        if (data == NULL) /* an application put something else than JSON into NATS */
            data = json_stringn_nocheck(h->pubs[i].data, h->pubs[i].len);
        json_object_set_new(pub, "offset", json_integer((json_int_t)h->pubs[i].offset));
        json_object_set_new(pub, "data", data);
        json_array_append_new(ch->pubs, pub);
        after = h->pubs[i].offset;
    }
    /* Keep the newest limit publications. */
    while (json_array_size(ch->pubs) > ch->limit)
        json_array_remove(ch->pubs, 0);
    if (h->count > 0 && after < h->last &&
        sup_channels_fetch(ctx, after, SUP_CHANNELS_HISTORY_MAX) == 0)
        return; /* more follow */
    if (json_array_size(ch->pubs) < ch->limit && ch->hist_from > ch->hist_floor &&
        ch->hist_window < UINT64_MAX / 4) {
        ch->hist_window *= 4; /* too few in the window: look further back */
        if (sup_channels_attempt(ctx, h->first, h->last) == 0)
            return;
    }
    sup_channels_history_done(ctx, h);
}

static int sup_channels_fetch(sup_ctx *ctx, uint64_t after, size_t limit)
{
    sup_channels *ch = sup_ch(ctx);
    return wsf_nats_ch_history(ch->nats, ch->channel, strlen(ch->channel), after, limit,
                               sup_channels_on_history, ctx);
}

/* ---- the gather of wsf.admin.channels ---------------------------------------------------- */

static bool sup_channels_is_running_pid(const sup_ctx *ctx, pid_t pid)
{
    for (unsigned i = 0; i < ctx->nslots; i++) {
        if (ctx->slots[i].lc.state == SUP_SLOT_RUNNING && ctx->slots[i].pid == pid)
            return true;
    }
    return false;
}

static unsigned sup_channels_running(const sup_ctx *ctx)
{
    unsigned n = 0;
    for (unsigned i = 0; i < ctx->nslots; i++)
        n += ctx->slots[i].lc.state == SUP_SLOT_RUNNING && ctx->slots[i].pid != 0;
    return n;
}

static void sup_channels_gather_end(sup_ctx *ctx)
{
    sup_channels *ch = sup_ch(ctx);
    json_t *body = json_object();
    json_t *totals = json_object();
    size_t i;
    json_t *w;
    json_array_foreach(ch->workers, i, w)
    {
        const char *name;
        json_t *count;
        json_object_foreach(json_object_get(w, "channels"), name, count)
        {
            json_int_t have = json_integer_value(json_object_get(totals, name));
            json_object_set_new(totals, name, json_integer(have + json_integer_value(count)));
        }
    }
    json_object_set_new(body, "channels", totals);
    json_object_set(body, "workers", ch->workers);
    json_object_set_new(body, "answered", json_integer((json_int_t)ch->nanswered));
    json_object_set_new(body, "running", json_integer((json_int_t)sup_channels_running(ctx)));
    sup_channels_answer_json(ctx, body);
}

/* A worker's answer: {"pid":N,"slot":S,"channels":{"NAME":COUNT,...}}; anything else is
 * dropped, and so is a second answer of the same pid or an answer to an earlier gather. */
static void sup_channels_on_reply(const struct wsf_nats_msg *m, void *arg)
{
    sup_ctx *ctx = arg;
    sup_channels *ch = sup_ch(ctx);
    char want[64];
    snprintf(want, sizeof want, "%s.%llu", ch->inbox, (unsigned long long)ch->gather_id);
    if (!ch->pending || ch->cmd != WSF_CTL_CHANNELS || strcmp(m->subject, want) != 0)
        return;
    json_t *r = json_loadb(m->data, m->len, 0, NULL);
    json_t *pid = json_object_get(r, "pid"), *chans = json_object_get(r, "channels");
    if (!json_is_integer(pid) || !json_is_object(chans) || json_integer_value(pid) <= 0) {
        json_decref(r);
        return;
    }
    for (unsigned i = 0; i < ch->nanswered; i++) {
        if (ch->answered[i] == (pid_t)json_integer_value(pid)) {
            json_decref(r);
            return;
        }
    }
    const char *name;
    json_t *count;
    json_t *clean = json_object();
    json_object_foreach(chans, name, count)
    {
        if (json_is_integer(count) && wsf_nats_channel_is_valid(name, strlen(name)))
            json_object_set(clean, name, count);
    }
    json_object_set_new(r, "channels", clean);
    if (!json_is_integer(json_object_get(r, "slot")))
        json_object_set_new(r, "slot", json_integer(-1));
    if (ch->nanswered == SUP_MAX_SLOTS) {
        json_decref(r);
        return;
    }
    ch->answered[ch->nanswered++] = (pid_t)json_integer_value(pid);
    ch->nrunning_answered += sup_channels_is_running_pid(ctx, (pid_t)json_integer_value(pid));
    json_array_append_new(ch->workers, r);
    /* Done once every running worker answered; others (standalone workers on the same broker)
     * are listed when they answer in time, but nobody waits for them. */
    if (ch->nrunning_answered >= sup_channels_running(ctx))
        sup_channels_gather_end(ctx);
}

/* ---- the loop's hooks -------------------------------------------------------------------- */

static int sup_channels_connect(sup_ctx *ctx)
{
    sup_channels *ch = sup_ch(ctx);
    unsigned char raw[8];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -1;
    snprintf(ch->inbox, sizeof ch->inbox, "_INBOX.wsfleetd.%02x%02x%02x%02x%02x%02x%02x%02x",
             raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]);
    ch->tls = ctx->cfg.nats_tls_ca[0] != '\0' || ctx->cfg.nats_tls_cert[0] != '\0' ||
              strstr(ch->natsd.url, "tls://") != NULL;
    struct wsf_nats_opts o = {.url = ch->natsd.url,
                              .name = "wsfleetd",
                              .stream = ctx->cfg.nats_stream,
                              .timeout_ms = SUP_CHANNELS_NATS_TIMEOUT_MS,
                              .credentials = ctx->cfg.nats_credentials,
                              .tls_ca = ctx->cfg.nats_tls_ca,
                              .tls_cert = ctx->cfg.nats_tls_cert,
                              .tls_key = ctx->cfg.nats_tls_key};
    int rc = wsf_nats_new(&ch->nats, ctx->base, &o, sup_channels_on_event, ctx);
    if (rc != 0) {
        wsf_log_error("NATS: cannot set up the connection: %s", strerror(-rc));
        return -1;
    }
    char subject[64];
    snprintf(subject, sizeof subject, "%s.*", ch->inbox);
    rc = wsf_nats_sub_new(&ch->inbox_sub, ch->nats, subject, sup_channels_on_reply, ctx);
    if (rc != 0)
        wsf_log_warn("NATS: cannot subscribe to the reply inbox: %s", strerror(-rc));
    sup_cluster_subscribe(ch->cluster, ch->nats);
    return 0;
}

int sup_channels_start(sup_ctx *ctx)
{
    sup_channels *ch = calloc(1, sizeof *ch);
    if (ch == NULL)
        return -1;
    ctx->channels = ch;
    ch->cluster = sup_cluster_new();
    snprintf(ch->ini_path, sizeof ch->ini_path, "%s/channels.ini", ctx->rundir->path);
    wsf_chconf_init(&ch->conf);
    sup_channels_load_conf(ctx);
    if (sup_channels_write_ini(ctx) != 0)
        return -1;
    /* An upgraded image keeps the sidecar of the one before: still its child, same pid. */
    int rc = ctx->restore != NULL ? sup_natsd_adopt(&ch->natsd, &ctx->cfg, ctx->rundir->path,
                                                    ctx->euid, &ctx->restore->natsd)
                                  : sup_natsd_start(&ch->natsd, &ctx->cfg, ctx->rundir->path,
                                                    ctx->euid, SUP_CHANNELS_SIDECAR_WAIT_MS);
    if (rc != 0)
        return rc;
    if (sup_channels_connect(ctx) != 0)
        return -1;
    /* A stream this fleet cannot reconcile is refused now, before any worker starts; a cluster
     * that does not answer yet is looked at again once it does. */
    char why[160];
    if (ctx->restore == NULL &&
        wsf_nats_stream_check(ch->nats, (int)ctx->cfg.channels_replicas, why, sizeof why) ==
            -EEXIST) {
        wsf_log_error("NATS %s: refusing to start (make them agree, or delete the stream)", why);
        return SUP_CHANNELS_CONFLICT;
    }
    return 0;
}

void sup_channels_reloaded(sup_ctx *ctx)
{
    sup_channels *ch = sup_ch(ctx);
    if (ch == NULL)
        return;
    sup_channels_write_ini(ctx);
    sup_channels_load_conf(ctx);
    ch->stream_ok = false;
    ch->ensure_at_ms = 0;
}

void sup_channels_reap(sup_ctx *ctx, pid_t pid, int status)
{
    sup_channels *ch = sup_ch(ctx);
    if (ch != NULL)
        sup_natsd_reap(&ch->natsd, pid, status, sup_now_ms(), &ctx->cfg.restart, sup_random(ctx));
}

void sup_channels_tick(sup_ctx *ctx, uint64_t now)
{
    sup_channels *ch = sup_ch(ctx);
    if (ch == NULL)
        return;
    sup_natsd_tick(&ch->natsd, now, &ctx->cfg.restart, ctx->cfg.kill_grace_ms);
    if (!ch->stream_ok && now >= ch->ensure_at_ms)
        sup_channels_ensure(ctx);
    sup_cluster_tick(ch->cluster, ctx, ch->nats, now);
    if (ch->pending && ch->cmd == WSF_CTL_CHANNELS && now >= ch->gather_deadline_ms)
        sup_channels_gather_end(ctx);
}

bool sup_channels_stopped(sup_ctx *ctx)
{
    sup_channels *ch = sup_ch(ctx);
    return ch == NULL || sup_natsd_stop(&ch->natsd, sup_now_ms());
}

/* Closes wsfleetd's NATS connection and ends libnats' threads. */
static void sup_channels_close(sup_channels *ch)
{
    ch->closing = true;
    wsf_nats_sub_free(ch->inbox_sub);
    ch->inbox_sub = NULL;
    sup_cluster_unsubscribe(ch->cluster);
    if (ch->nats != NULL) {
        wsf_nats_free(ch->nats);
        ch->nats = NULL;
        /* wsfleetd's only connection: leak checkers see it all freed. Not after TLS: libnats
         * then frees OpenSSL state that OpenSSL's own exit handler frees again (a crash). */
        if (!ch->tls)
            wsf_nats_library_fini();
    }
}

void sup_channels_hand_over(const sup_ctx *ctx, sup_natsd_handover *out)
{
    const sup_channels *ch = sup_ch(ctx);
    if (ch != NULL)
        sup_natsd_hand_over(&ch->natsd, out);
    else
        memset(out, 0, sizeof *out);
}

void sup_channels_disconnect(sup_ctx *ctx)
{
    sup_channels *ch = sup_ch(ctx);
    if (ch == NULL)
        return;
    sup_channels_close(ch);
    ch->stream_ok = false;
    ch->ensure_inflight = false;
}

int sup_channels_reconnect(sup_ctx *ctx)
{
    sup_channels *ch = sup_ch(ctx);
    if (ch == NULL || ch->nats != NULL)
        return 0;
    ch->closing = false;
    return sup_channels_connect(ctx);
}

void sup_channels_fini(sup_ctx *ctx)
{
    sup_channels *ch = sup_ch(ctx);
    if (ch == NULL)
        return;
    sup_channels_close(ch);
    sup_natsd_fini(&ch->natsd);
    json_decref(ch->pubs);
    json_decref(ch->workers);
    wsf_chconf_fini(&ch->conf);
    sup_cluster_free(ch->cluster);
    free(ch);
    ctx->channels = NULL;
}

void sup_channels_cluster(sup_ctx *ctx, wsf_ctl_response *res)
{
    sup_channels *ch = sup_ch(ctx);
    if (ch == NULL || ch->nats == NULL || !wsf_nats_is_connected(ch->nats)) {
        snprintf(res->error, sizeof res->error, "NATS is not available (broker down?)");
        return;
    }
    sup_cluster_answer(ch->cluster, sup_now_ms(), res);
}

size_t sup_channels_worker_args(const sup_ctx *ctx, char **argv, size_t argc)
{
    const sup_channels *ch = sup_ch(ctx);
    if (ch == NULL)
        return argc;
    argv[argc++] = "--nats-url-file";
    argv[argc++] = (char *)ch->natsd.url_path;
    argv[argc++] = "--channels-config";
    argv[argc++] = (char *)ch->ini_path;
    argv[argc++] = "--nats-stream";
    argv[argc++] = (char *)ctx->cfg.nats_stream;
    static const char *const flags[] = {"--nats-credentials", "--nats-tls-ca", "--nats-tls-cert",
                                        "--nats-tls-key"};
    const char *vals[] = {ctx->cfg.nats_credentials, ctx->cfg.nats_tls_ca, ctx->cfg.nats_tls_cert,
                          ctx->cfg.nats_tls_key};
    for (size_t i = 0; i < 4; i++) {
        if (vals[i][0] != '\0') {
            argv[argc++] = (char *)flags[i];
            argv[argc++] = (char *)vals[i];
        }
    }
    static const char *const replicas[] = {"1", "2", "3", "4", "5"};
    argv[argc++] = "--nats-replicas";
    argv[argc++] = (char *)replicas[(ctx->cfg.channels_replicas - 1) % 5];
    return argc;
}

void sup_channels_status(const sup_ctx *ctx, wsf_ctl_response *res)
{
    const sup_channels *ch = sup_ch(ctx);
    if (ch == NULL)
        return;
    const sup_natsd *d = &ch->natsd;
    wsf_nats_status *s = &res->nats;
    res->has_nats = true;
    snprintf(s->mode, sizeof s->mode, "%s",
             d->state == SUP_NATSD_EXTERNAL ? "external" : "sidecar");
    snprintf(s->state, sizeof s->state, "%s", sup_natsd_state_name(d->state));
    s->pid = (uint32_t)d->pid;
    s->port = d->port > 0 ? (uint32_t)d->port : 0;
    s->restarts = d->restart.restarts;
    s->connected = ch->nats != NULL && wsf_nats_is_connected(ch->nats);
    snprintf(s->stream, sizeof s->stream, "%s", ctx->cfg.nats_stream);
}

int sup_channels_sidecar_up(const sup_ctx *ctx)
{
    const sup_channels *ch = sup_ch(ctx);
    if (ch == NULL || ch->natsd.state == SUP_NATSD_EXTERNAL)
        return -1;
    return ch->natsd.state == SUP_NATSD_RUNNING;
}

bool sup_channels_ctl_pending(const sup_ctx *ctx)
{
    const sup_channels *ch = sup_ch(ctx);
    return ch != NULL && ch->pending;
}

int sup_channels_ctl(sup_ctx *ctx, const wsf_ctl_request *req, wsf_ctl_response *res)
{
    sup_channels *ch = sup_ch(ctx);
    size_t clen = strlen(req->channel);
    if (ch == NULL || ch->nats == NULL || !wsf_nats_is_connected(ch->nats)) {
        snprintf(res->error, sizeof res->error, "NATS is not available (broker down?)");
        return 0;
    }
    wsf_ch_settings settings;
    if (req->command != WSF_CTL_CHANNELS && !wsf_nats_channel_is_valid(req->channel, clen)) {
        snprintf(res->error, sizeof res->error, "'%.200s' is not a channel name", req->channel);
        return 0;
    }
    if (req->command != WSF_CTL_CHANNELS &&
        wsf_chconf_lookup(&settings, &ch->conf, req->channel, clen) != 0) {
        /* As the workers do: a typo in a namespace must not reach a channel nobody serves. */
        char ns[WSF_CHCONF_MAX_NAME + 1];
        const char *colon = strchr(req->channel, ':');
        size_t nslen = colon != NULL ? (size_t)(colon - req->channel) : 0;
        snprintf(ns, sizeof ns, "%.*s", (int)(nslen < sizeof ns ? nslen : sizeof ns - 1),
                 req->channel);
        snprintf(res->error, sizeof res->error,
                 "channel '%.64s': namespace '%s' is not defined (no [namespace %s])", req->channel,
                 ns, ns);
        return 0;
    }
    ch->cmd = req->command;
    snprintf(ch->channel, sizeof ch->channel, "%s", req->channel);
    int rc = 0;
    if (req->command == WSF_CTL_PUBLISH) {
        wsf_buf data = {0};
        if (wsf_ch_data_compact(&data, req->data, strlen(req->data)) != 0) {
            wsf_buf_fini(&data);
            snprintf(res->error, sizeof res->error, "publish: the data is not one JSON value");
            return 0;
        }
        rc = wsf_nats_ch_publish(ch->nats, req->channel, clen, data.data + data.off,
                                 wsf_buf_pending(&data), sup_channels_on_ack, ctx);
        wsf_buf_fini(&data);
    } else if (req->command == WSF_CTL_HISTORY) {
        ch->limit = req->limit == 0 ? SUP_CHANNELS_HISTORY_DEFAULT : req->limit;
        if (ch->limit > SUP_CHANNELS_HISTORY_MAX)
            ch->limit = SUP_CHANNELS_HISTORY_MAX;
        ch->pubs = json_array();
        ch->hist_probed = false;
        ch->hist_window = ch->limit;
        rc = sup_channels_fetch(ctx, 0, 1);
    } else {
        char reply[64];
        ch->gather_id++;
        snprintf(reply, sizeof reply, "%s.%llu", ch->inbox, (unsigned long long)ch->gather_id);
        ch->workers = json_array();
        ch->nanswered = 0;
        ch->nrunning_answered = 0;
        ch->gather_deadline_ms = sup_now_ms() + SUP_CHANNELS_GATHER_MS;
        rc = wsf_nats_publish_request(ch->nats, SUP_CHANNELS_SUBJECT_ADMIN, reply, "", 0);
    }
    if (rc != 0) {
        json_decref(ch->pubs);
        ch->pubs = NULL;
        json_decref(ch->workers);
        ch->workers = NULL;
        snprintf(res->error, sizeof res->error, "NATS refused the request: %s", strerror(-rc));
        return 0;
    }
    ch->pending = true;
    return 1;
}
