/* One alert webhook: JSON batches POSTed in order to an http:// or https:// URL from the
 * supervisor's event loop (libevent's HTTP client, names resolved through evdns: nothing blocks
 * the loop). https checks the receiver's certificate (the system's CAs and webhook_ca, the URL's
 * host, TLS 1.2 at least) and uses a new connection for each attempt. A batch
 * that fails (no connection, timeout, or a status other than 2xx) is retried after 1 s, 2 s,
 * 4 s ... 60 s; a 4xx other than 408 and 429 means the receiver refuses the batch, which is then
 * dropped. At most queue_max batches wait: a new one beyond that drops the oldest. Failures are
 * logged once when delivery starts failing and once when it works again, not per attempt. */
#ifndef SUP_WEBHOOK_H
#define SUP_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evdns_base;

#define SUP_WEBHOOK_BACKOFF_MIN_MS 1000
#define SUP_WEBHOOK_BACKOFF_MAX_MS 60000

typedef struct sup_webhook sup_webhook;

/* A webhook for url (checked by sup_alcfg_parse_url). dns may be NULL for numeric hosts only.
 * ca_file (NULL or "" for none): PEM CAs trusted for https besides the system's. Each POST is
 * limited to timeout_ms. NULL with the reason in why when the URL does not parse, queue_max is
 * 0 or ca_file does not load. */
sup_webhook *sup_webhook_new(struct event_base *base, struct evdns_base *dns, const char *url,
                             const char *ca_file, uint64_t timeout_ms, uint32_t queue_max,
                             char *why, size_t whylen);

/* Cancels what is in flight and drops the queue. NULL is a no-op. */
void sup_webhook_free(sup_webhook *w);

/* Queues a copy of body (a JSON document) and starts sending if idle. */
void sup_webhook_post(sup_webhook *w, const char *body);

/* Batches waiting or in flight; batches delivered so far; batches dropped. */
size_t sup_webhook_pending(const sup_webhook *w);
uint64_t sup_webhook_delivered(const sup_webhook *w);
uint64_t sup_webhook_dropped(const sup_webhook *w);

#endif
