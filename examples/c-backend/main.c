/* A wsfleet application backend in C (libnats, jansson): decides who connects and answers rpc.
 *
 *   wsfleet-c-backend [--run-dir DIR | --url NATS_URL] [--queue NAME]
 *
 * The NATS URL (with the fleet's token) comes from DIR/nats.url (default ./run, where `make run`
 * puts it), or is given. It answers, in queue group NAME (default "app"), so that several copies
 * share the load:
 *   wsf.app.connect  data {"name":N}: N (1..32 of [A-Za-z0-9_-]) becomes the user; the client
 *                    joins chat:lobby and gets {"hello":N}. A token's user (ev.user) wins. No
 *                    name: error 4400 and the connection is refused.
 *   wsf.app.rpc      "members": {"members":[users connected]}; "echo": data back; else 104.
 *   wsf.app.disconnect  keeps the member list.
 * libnats calls back on its own threads; one mutex guards the member list. */
#include <errno.h>
#include <jansson.h>
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_MEMBERS 4096

typedef struct member {
    char name[64];
    unsigned conns;
} member;

typedef struct app {
    natsConnection *nc;
    pthread_mutex_t mu;
    member members[MAX_MEMBERS];
    size_t n;
} app;

static int read_url(const char *run_dir, char *out, size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/nats.url", run_dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "c-backend: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = fgets(out, (int)size, f) != NULL ? 0 : -1;
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return rc == 0 && out[0] != '\0' ? 0 : -1;
}

static void respond(app *a, natsMsg *msg, json_t *reply)
{
    const char *to = natsMsg_GetReply(msg);
    char *text = json_dumps(reply, JSON_COMPACT);
    if (to != NULL && text != NULL)
        natsConnection_PublishString(a->nc, to, text);
    free(text);
    json_decref(reply);
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Adds delta (+1 or -1) connections of name. */
static void count_member(app *a, const char *name, int delta)
{
    pthread_mutex_lock(&a->mu);
    size_t i = 0;
    while (i < a->n && strcmp(a->members[i].name, name) != 0)
        i++;
    if (i == a->n && delta > 0 && a->n < MAX_MEMBERS) {
        snprintf(a->members[a->n].name, sizeof a->members[a->n].name, "%s", name);
        a->members[a->n++].conns = 0;
    }
    if (i < a->n) {
        if (delta > 0)
            a->members[i].conns++;
        else if (a->members[i].conns > 0 && --a->members[i].conns == 0)
            a->members[i] = a->members[--a->n];
    }
    pthread_mutex_unlock(&a->mu);
}

static void on_connect(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
    app *a = arg;
    (void)nc;
    (void)sub;
    json_t *ev = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, NULL);
    const char *user = json_string_value(json_object_get(ev, "user"));
    const char *name = json_string_value(json_object_get(json_object_get(ev, "data"), "name"));
    if (user != NULL && user[0] != '\0')
        name = user;
    if (name == NULL || !name_ok(name)) {
        respond(a, msg,
                json_pack("{s:{s:i,s:s}}", "error", "code", 4400, "message",
                          "name: 1 to 32 of A-Z a-z 0-9 _ -"));
    } else {
        count_member(a, name, +1);
        respond(a, msg,
                json_pack("{s:{s:s,s:[s],s:{s:s}}}", "result", "user", name, "channels",
                          "chat:lobby", "data", "hello", name));
    }
    json_decref(ev);
    natsMsg_Destroy(msg);
}

static void on_disconnect(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
    app *a = arg;
    (void)nc;
    (void)sub;
    json_t *ev = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, NULL);
    const char *user = json_string_value(json_object_get(ev, "user"));
    if (user != NULL && user[0] != '\0')
        count_member(a, user, -1);
    json_decref(ev);
    natsMsg_Destroy(msg);
}

static void on_rpc(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *arg)
{
    app *a = arg;
    (void)nc;
    (void)sub;
    json_t *ev = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, NULL);
    const char *method = json_string_value(json_object_get(ev, "method"));
    if (method != NULL && strcmp(method, "members") == 0) {
        json_t *list = json_array();
        pthread_mutex_lock(&a->mu);
        for (size_t i = 0; i < a->n; i++)
            json_array_append_new(list, json_string(a->members[i].name));
        pthread_mutex_unlock(&a->mu);
        respond(a, msg, json_pack("{s:{s:{s:o}}}", "result", "data", "members", list));
    } else if (method != NULL && strcmp(method, "echo") == 0) {
        json_t *data = json_object_get(ev, "data");
        respond(a, msg, json_pack("{s:{s:O}}", "result", "data", data ? data : json_null()));
    } else {
        respond(a, msg,
                json_pack("{s:{s:i,s:s}}", "error", "code", 104, "message", "method not found"));
    }
    json_decref(ev);
    natsMsg_Destroy(msg);
}

int main(int argc, char **argv)
{
    const char *run_dir = "run", *url = NULL, *queue = "app";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--run-dir") == 0)
            run_dir = argv[i + 1];
        else if (strcmp(argv[i], "--url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--queue") == 0)
            queue = argv[i + 1];
    }
    if (argc % 2 == 0) {
        fprintf(stderr, "usage: %s [--run-dir DIR | --url NATS_URL] [--queue NAME]\n", argv[0]);
        return 2;
    }
    char buf[2048];
    if (url == NULL) {
        if (read_url(run_dir, buf, sizeof buf) != 0)
            return 1;
        url = buf;
    }
    /* SIGINT and SIGTERM are taken by sigwait below: blocked before libnats starts its threads,
     * which inherit the mask, so that none of them gets the signal instead. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    static app a;
    pthread_mutex_init(&a.mu, NULL);
    natsOptions *opts = NULL;
    natsSubscription *subs[3] = {NULL, NULL, NULL};
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 250);
    if (s == NATS_OK)
        s = natsConnection_Connect(&a.nc, opts);
    if (s == NATS_OK)
        s = natsConnection_QueueSubscribe(&subs[0], a.nc, "wsf.app.connect", queue, on_connect, &a);
    if (s == NATS_OK)
        s = natsConnection_QueueSubscribe(&subs[1], a.nc, "wsf.app.rpc", queue, on_rpc, &a);
    if (s == NATS_OK)
        s = natsConnection_QueueSubscribe(&subs[2], a.nc, "wsf.app.disconnect", queue,
                                          on_disconnect, &a);
    if (s == NATS_OK)
        s = natsConnection_Flush(a.nc);
    if (s != NATS_OK) {
        fprintf(stderr, "c-backend: NATS: %s\n", natsStatus_GetText(s));
        return 1;
    }
    printf("c-backend: answering wsf.app.connect and wsf.app.rpc (queue %s)\n", queue);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    for (int i = 0; i < 3; i++)
        natsSubscription_Destroy(subs[i]);
    natsConnection_Destroy(a.nc);
    natsOptions_Destroy(opts);
    nats_Close();
    return 0;
}
