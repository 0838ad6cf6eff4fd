/* Drill progress to a fleet's admin server, through libevent's HTTP client. */
#include "chaos_admin.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_parse.h"

#define CHAOS_ADMIN_TEXT_MAX 239 /* the events ring keeps this many bytes of a text */
#define CHAOS_ADMIN_TIMEOUT_S 2

struct chaos_admin {
    struct evhttp_connection *conn;
    char url[256];
    char host[64];
    char hostport[80];
    char auth[CHAOS_ADMIN_TOKEN_MAX + 16];
    uint64_t queued;
    uint64_t posted;
    uint64_t failed;
};

int chaos_admin_parse_url(const char *url, char *host, size_t host_len, uint16_t *port)
{
    static const char scheme[] = "http://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return -1;
    const char *h = url + sizeof scheme - 1;
    const char *end;
    const char *colon;
    bool v6 = *h == '[';
    if (v6) {
        end = strchr(h, ']');
        if (end == NULL || end[1] != ':')
            return -1;
        colon = end + 1;
        h++;
    } else {
        colon = strchr(h, ':');
        if (colon == NULL)
            return -1;
        end = colon;
    }
    size_t hl = (size_t)(end - h);
    /* A name or IPv4 address; inside brackets, an IPv6 address. */
    const char *allowed = v6 ? "0123456789abcdefABCDEF:."
                             : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
    if (hl == 0 || hl >= host_len || strspn(h, allowed) < hl)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char digits[8];
    const char *p = colon + 1;
    size_t pl = strcspn(p, "/");
    if (pl == 0 || pl >= sizeof digits || (p[pl] != '\0' && strcmp(p + pl, "/") != 0))
        return -1;
    memcpy(digits, p, pl);
    digits[pl] = '\0';
    uint64_t v;
    if (wsf_parse_u64(&v, digits, 1, 65535) != 0)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int chaos_admin_find_url(const char *log_path, char *url, size_t len)
{
    static const char mark[] = "admin listening on ";
    FILE *f = fopen(log_path, "r");
    if (f == NULL)
        return -1;
    char line[1024];
    int found = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        const char *at = strstr(line, mark);
        if (at == NULL)
            continue;
        at += sizeof mark - 1;
        size_t n = strcspn(at, " \t\r\n");
        if (n > 0 && n < len && strncmp(at, "http://", 7) == 0) {
            memcpy(url, at, n);
            url[n] = '\0';
            found = 0; /* the last one: a respawned supervisor appends */
        }
    }
    fclose(f);
    return found;
}

int chaos_admin_read_token(const char *path, char *token, size_t len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_len, "cannot read the admin token %s: %s", path, strerror(errno));
        return -1;
    }
    char line[CHAOS_ADMIN_TOKEN_MAX + 2] = "";
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, " \t\r\n")] = '\0';
    if (!got || line[0] == '\0' || strlen(line) >= len) {
        snprintf(err, err_len, "no admin token in %s", path);
        return -1;
    }
    snprintf(token, len, "%s", line);
    return 0;
}

chaos_admin *chaos_admin_new(struct event_base *base, const char *url, const char *token, char *err,
                             size_t err_len)
{
    char host[64];
    uint16_t port;
    if (chaos_admin_parse_url(url, host, sizeof host, &port) != 0) {
        snprintf(err, err_len, "--admin %s: not http://HOST:PORT", url);
        return NULL;
    }
    chaos_admin *a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    /* Without a resolver evhttp resolves the name itself: an address, or localhost. */
    a->conn = evhttp_connection_base_new(base, NULL, host, port);
    if (a->conn == NULL) {
        snprintf(err, err_len, "--admin %s: cannot set up a connection", url);
        free(a);
        return NULL;
    }
    evhttp_connection_set_timeout(a->conn, CHAOS_ADMIN_TIMEOUT_S);
    evhttp_connection_set_retries(a->conn, 0);
    snprintf(a->url, sizeof a->url, "%s", url);
    snprintf(a->host, sizeof a->host, "%s", host);
    bool v6 = strchr(host, ':') != NULL;
    snprintf(a->hostport, sizeof a->hostport, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
             (unsigned)port);
    snprintf(a->auth, sizeof a->auth, "Bearer %s", token);
    return a;
}

static void chaos_admin_done(struct evhttp_request *req, void *arg)
{
    chaos_admin *a = arg;
    if (req != NULL && evhttp_request_get_response_code(req) == 200)
        a->posted++;
    else
        a->failed++;
}

void chaos_admin_post(chaos_admin *a, int slot, const char *text)
{
    if (a == NULL)
        return;
    char cut[CHAOS_ADMIN_TEXT_MAX + 1];
    size_t n = strlen(text);
    if (n > CHAOS_ADMIN_TEXT_MAX) {
        n = CHAOS_ADMIN_TEXT_MAX;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--; /* a UTF-8 character boundary */
    }
    memcpy(cut, text, n);
    cut[n] = '\0';
    json_t *doc = json_pack("{s:s,s:s,s:i}", "kind", "drill", "text", cut, "slot", slot);
    char *body = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    struct evhttp_request *req = body != NULL ? evhttp_request_new(chaos_admin_done, a) : NULL;
    a->queued++;
    if (req == NULL) {
        free(body);
        a->failed++;
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", a->hostport);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Authorization", a->auth);
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    free(body);
    if (evhttp_make_request(a->conn, req, EVHTTP_REQ_POST, "/api/events") != 0)
        a->failed++; /* evhttp freed the request */
}

bool chaos_admin_idle(const chaos_admin *a)
{
    return a == NULL || a->posted + a->failed >= a->queued;
}

uint64_t chaos_admin_posted(const chaos_admin *a)
{
    return a != NULL ? a->posted : 0;
}

uint64_t chaos_admin_failed(const chaos_admin *a)
{
    return a != NULL ? a->failed : 0;
}

const char *chaos_admin_url(const chaos_admin *a)
{
    return a != NULL ? a->url : "";
}

void chaos_admin_free(chaos_admin *a)
{
    if (a == NULL)
        return;
    evhttp_connection_free(a->conn);
    free(a);
}
