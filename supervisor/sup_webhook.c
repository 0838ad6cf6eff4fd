/* Alert webhooks: a bounded queue of POSTs with backoff, on the supervisor's loop. */
#include "sup_webhook.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup_alcfg.h"
#include "wsf_buf.h"
#include "wsf_log.h"

struct sup_webhook {
    struct event_base *base;
    struct evdns_base *dns;
    char url[SUP_ALERTS_URL_MAX];
    sup_alert_url target;
    uint64_t timeout_ms;
    struct evhttp_connection *conn;
    struct evhttp_request *inflight; /* owned by libevent; NULL when idle */
    struct event *retry_ev;
    /* https: a connection (and SSL object) per attempt, freed from the loop once its response
     * callback has returned (libevent still uses it until then). */
    SSL_CTX *ssl_ctx;               /* NULL for http */
    SSL *ssl;                       /* the attempt's, owned by conn's bufferevent */
    struct evhttp_connection *reap; /* an attempt's connection waiting to be freed */
    struct event *reap_ev;
    char **queue; /* a ring of queue_max bodies */
    uint32_t queue_max;
    size_t head, n;
    uint64_t backoff_ms; /* the next retry's delay; 0 while delivery works */
    bool failing;        /* logged as failing, not yet as working again */
    bool drop_logged;    /* a full queue was logged in this failing period */
    bool closing;        /* being freed: a callback from libevent does nothing */
    uint64_t attempts;   /* failed attempts in this failing period */
    uint64_t delivered, dropped;
};

static void sup_webhook_send(sup_webhook *w);

static void sup_webhook_pop(sup_webhook *w)
{
    free(w->queue[w->head]);
    w->queue[w->head] = NULL;
    w->head = (w->head + 1) % w->queue_max;
    w->n--;
}

static void sup_webhook_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sup_webhook_send(arg);
}

/* A failed attempt: log if this starts a failing period, then retry later. */
static void sup_webhook_failed(sup_webhook *w, const char *why, bool drop)
{
    w->attempts++;
    if (!w->failing) {
        w->failing = true;
        wsf_log_warn("alerts: webhook %s: delivery failing: %s; retrying with backoff", w->url,
                     why);
    }
    if (drop) {
        w->dropped++;
        sup_webhook_pop(w);
    }
    w->backoff_ms = w->backoff_ms == 0 ? SUP_WEBHOOK_BACKOFF_MIN_MS : w->backoff_ms * 2;
    if (w->backoff_ms > SUP_WEBHOOK_BACKOFF_MAX_MS)
        w->backoff_ms = SUP_WEBHOOK_BACKOFF_MAX_MS;
    struct timeval tv = {.tv_sec = (time_t)(w->backoff_ms / 1000),
                         .tv_usec = (suseconds_t)(w->backoff_ms % 1000) * 1000};
    evtimer_add(w->retry_ev, &tv);
}

static void sup_webhook_on_reap(evutil_socket_t fd, short what, void *arg)
{
    sup_webhook *w = arg;
    (void)fd;
    (void)what;
    if (w->reap != NULL)
        evhttp_connection_free(w->reap);
    w->reap = NULL;
}

/* Why an https attempt failed, when TLS is the cause: the certificate's verification, or
 * another TLS error. Empty otherwise. */
static void sup_webhook_tls_why(sup_webhook *w, char *why, size_t whylen)
{
    why[0] = '\0';
    if (w->ssl == NULL)
        return;
    long verify = SSL_get_verify_result(w->ssl);
    if (verify != X509_V_OK) {
        snprintf(why, whylen, "TLS certificate verification failed: %s",
                 X509_verify_cert_error_string(verify));
        return;
    }
    struct bufferevent *bev = evhttp_connection_get_bufferevent(w->conn);
    unsigned long err = bev != NULL ? bufferevent_get_openssl_error(bev) : 0;
    if (err != 0) {
        char text[160];
        ERR_error_string_n(err, text, sizeof text);
        snprintf(why, whylen, "TLS error: %s", text);
    }
}

/* An https attempt is over: its connection goes once libevent has let go of it. */
static void sup_webhook_end_attempt(sup_webhook *w)
{
    if (w->ssl_ctx == NULL || w->conn == NULL)
        return;
    if (w->reap != NULL)
        evhttp_connection_free(w->reap); /* an earlier attempt's, long done */
    w->reap = w->conn;
    w->conn = NULL;
    w->ssl = NULL;
    event_active(w->reap_ev, EV_TIMEOUT, 1);
}

static void sup_webhook_on_response(struct evhttp_request *req, void *arg)
{
    sup_webhook *w = arg;
    char why[256];
    if (w->closing)
        return;
    w->inflight = NULL;
    int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
    if (code == 0)
        sup_webhook_tls_why(w, why, sizeof why);
    sup_webhook_end_attempt(w);
    if (code >= 200 && code < 300) {
        if (w->failing)
            wsf_log_info("alerts: webhook %s: delivering again (after %llu failed attempts)",
                         w->url, (unsigned long long)w->attempts);
        w->failing = false;
        w->drop_logged = false;
        w->attempts = 0;
        w->backoff_ms = 0;
        w->delivered++;
        sup_webhook_pop(w);
        sup_webhook_send(w);
        return;
    }
    if (code != 0)
        snprintf(why, sizeof why, "HTTP %d", code);
    else if (why[0] == '\0')
        snprintf(why, sizeof why, "no response (refused, unreachable or timed out)");
    /* The receiver refuses this batch as such: sending it again cannot help. */
    bool refused = code >= 400 && code < 500 && code != 408 && code != 429;
    sup_webhook_failed(w, why, refused);
}

/* A connection for one https attempt: a new SSL object that checks the certificate against the
 * URL's host (a name or an IP address) and sends the name as SNI. */
static struct evhttp_connection *sup_webhook_tls_conn(sup_webhook *w)
{
    unsigned char addr[16];
    const char *host = w->target.host;
    bool ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    SSL *ssl = SSL_new(w->ssl_ctx);
    if (ssl == NULL)
        return NULL;
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
                : SSL_set1_host(ssl, host) && SSL_set_tlsext_host_name(ssl, host);
    if (!ok) {
        SSL_free(ssl);
        return NULL;
    }
    /* The SSL object goes with the bufferevent, the bufferevent with the connection. */
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        w->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        return NULL; /* libevent may have freed ssl: rather leaked than freed twice */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    struct evhttp_connection *conn = evhttp_connection_base_bufferevent_new(
        w->base, w->dns, bev, w->target.host, w->target.port);
    if (conn == NULL) {
        bufferevent_free(bev);
        return NULL;
    }
    w->ssl = ssl;
    return conn;
}

/* An https attempt that never reached libevent: its connection goes now (this is not one of its
 * callbacks), and the next attempt makes another. */
static void sup_webhook_drop_tls_conn(sup_webhook *w)
{
    if (w->ssl_ctx == NULL || w->conn == NULL)
        return;
    evhttp_connection_free(w->conn);
    w->conn = NULL;
    w->ssl = NULL;
}

static void sup_webhook_send(sup_webhook *w)
{
    if (w->inflight != NULL || w->n == 0 || evtimer_pending(w->retry_ev, NULL))
        return;
    if (w->conn == NULL) {
        if (w->ssl_ctx != NULL)
            w->conn = sup_webhook_tls_conn(w);
        else
            w->conn = evhttp_connection_base_new(w->base, w->dns, w->target.host, w->target.port);
        if (w->conn == NULL) {
            sup_webhook_failed(w, "cannot create a connection", false);
            return;
        }
        struct timeval tv = {.tv_sec = (time_t)(w->timeout_ms / 1000),
                             .tv_usec = (suseconds_t)(w->timeout_ms % 1000) * 1000};
        evhttp_connection_set_timeout_tv(w->conn, &tv);
        evhttp_connection_set_retries(w->conn, 0);
    }
    struct evhttp_request *req = evhttp_request_new(sup_webhook_on_response, w);
    if (req == NULL) {
        sup_webhook_drop_tls_conn(w);
        sup_webhook_failed(w, "cannot create a request", false);
        return;
    }
    char host[SUP_ALERTS_URL_MAX + 16];
    bool v6 = strchr(w->target.host, ':') != NULL;
    snprintf(host, sizeof host, "%s%s%s:%u", v6 ? "[" : "", w->target.host, v6 ? "]" : "",
             (unsigned)w->target.port);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", host);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "User-Agent", "wsfleetd");
    const char *body = w->queue[w->head];
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    w->inflight = req;
    /* On failure libevent has freed the request already. */
    if (evhttp_make_request(w->conn, req, EVHTTP_REQ_POST, w->target.path) != 0) {
        w->inflight = NULL;
        sup_webhook_drop_tls_conn(w);
        sup_webhook_failed(w, "cannot send the request", false);
    }
}

/* The client context of https webhooks: certificates checked against the system's CAs and
 * ca_file, TLS 1.2 at least. */
static SSL_CTX *sup_webhook_tls_ctx(const char *ca_file, char *why, size_t whylen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        snprintf(why, whylen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* Without system CAs (no such directory) ca_file may still do. */
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        ERR_clear_error();
    if (ca_file != NULL && ca_file[0] != '\0' &&
        SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        char text[160];
        ERR_error_string_n(ERR_get_error(), text, sizeof text);
        ERR_clear_error();
        snprintf(why, whylen, "webhook_ca %s: %s", ca_file, text);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

sup_webhook *sup_webhook_new(struct event_base *base, struct evdns_base *dns, const char *url,
                             const char *ca_file, uint64_t timeout_ms, uint32_t queue_max,
                             char *why, size_t whylen)
{
    sup_alert_url target;
    if (sup_alcfg_parse_url(&target, url, why, whylen) != 0)
        return NULL;
    if (queue_max == 0) {
        snprintf(why, whylen, "a queue of no batches");
        return NULL;
    }
    SSL_CTX *ssl_ctx = NULL;
    if (target.tls && (ssl_ctx = sup_webhook_tls_ctx(ca_file, why, whylen)) == NULL)
        return NULL;
    sup_webhook *w = wsf_xcalloc(1, sizeof *w);
    w->ssl_ctx = ssl_ctx;
    w->base = base;
    w->dns = dns;
    snprintf(w->url, sizeof w->url, "%s", url);
    w->target = target;
    w->timeout_ms = timeout_ms;
    w->queue_max = queue_max;
    w->queue = wsf_xcalloc(queue_max, sizeof *w->queue);
    w->retry_ev = evtimer_new(base, sup_webhook_on_retry, w);
    w->reap_ev = event_new(base, -1, 0, sup_webhook_on_reap, w);
    if (w->retry_ev == NULL || w->reap_ev == NULL) {
        snprintf(why, whylen, "cannot create its events");
        sup_webhook_free(w);
        return NULL;
    }
    return w;
}

void sup_webhook_free(sup_webhook *w)
{
    if (w == NULL)
        return;
    w->closing = true;
    if (w->conn != NULL)
        evhttp_connection_free(w->conn);
    if (w->reap != NULL)
        evhttp_connection_free(w->reap);
    if (w->retry_ev != NULL)
        event_free(w->retry_ev);
    if (w->reap_ev != NULL)
        event_free(w->reap_ev);
    SSL_CTX_free(w->ssl_ctx);
    while (w->n > 0)
        sup_webhook_pop(w);
    free(w->queue);
    free(w);
}

void sup_webhook_post(sup_webhook *w, const char *body)
{
    if (w->n == w->queue_max) {
        /* The oldest batch waits for a retry, never in flight: in flight it has been sent. */
        if (w->inflight == NULL || w->queue_max == 1) {
            if (w->inflight != NULL) {
                w->dropped++; /* the one place is in flight: the new batch goes instead */
                return;
            }
            sup_webhook_pop(w);
        } else {
            size_t second = (w->head + 1) % w->queue_max;
            free(w->queue[second]);
            for (size_t i = 1; i + 1 < w->n; i++)
                w->queue[(w->head + i) % w->queue_max] = w->queue[(w->head + i + 1) % w->queue_max];
            w->queue[(w->head + w->n - 1) % w->queue_max] = NULL;
            w->n--;
        }
        w->dropped++;
        if (!w->drop_logged) {
            w->drop_logged = true;
            wsf_log_warn("alerts: webhook %s: %u batches waiting: dropping the oldest", w->url,
                         w->queue_max);
        }
    }
    size_t len = strlen(body);
    char *copy = wsf_xmalloc(len + 1);
    memcpy(copy, body, len + 1);
    w->queue[(w->head + w->n) % w->queue_max] = copy;
    w->n++;
    sup_webhook_send(w);
}

size_t sup_webhook_pending(const sup_webhook *w)
{
    return w->n;
}

uint64_t sup_webhook_delivered(const sup_webhook *w)
{
    return w->delivered;
}

uint64_t sup_webhook_dropped(const sup_webhook *w)
{
    return w->dropped;
}
