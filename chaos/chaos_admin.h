/* A drill's progress on a fleet's dashboard: lines POSTed as events of kind "drill" to the admin
 * server's /api/events (Authorization: Bearer with the fleet's RUNDIR/admin.token), in order,
 * over one keep-alive connection on the drill's event loop, so that posting never stalls the
 * load. Plain HTTP to a loopback admin server. */
#ifndef CHAOS_ADMIN_H
#define CHAOS_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#define CHAOS_ADMIN_TOKEN_MAX 128

typedef struct chaos_admin chaos_admin;

/* Splits "http://HOST:PORT[/]" (HOST an address or localhost) into host and port. Returns 0, or
 * -1 for anything else. */
int chaos_admin_parse_url(const char *url, char *host, size_t host_len, uint16_t *port);

/* The last "admin listening on http://..." URL in a wsfleetd log. Returns 0, or -1 when there is
 * none (admin off, or an https listener). */
int chaos_admin_find_url(const char *log_path, char *url, size_t len);

/* Reads a token file (its first line, without blanks). Returns 0, or -1 with err set. */
int chaos_admin_read_token(const char *path, char *token, size_t len, char *err, size_t err_len);

/* A poster to url with token on base. NULL with err set for a bad URL. */
chaos_admin *chaos_admin_new(struct event_base *base, const char *url, const char *token, char *err,
                             size_t err_len);

/* Queues one event: kind "drill", the text cut to what the ring keeps. slot -1: the fleet. */
void chaos_admin_post(chaos_admin *a, int slot, const char *text);

/* True when every queued event has been answered (or has failed). */
bool chaos_admin_idle(const chaos_admin *a);

/* Events the server took (200), and those that failed. */
uint64_t chaos_admin_posted(const chaos_admin *a);
uint64_t chaos_admin_failed(const chaos_admin *a);

/* The URL given to chaos_admin_new. */
const char *chaos_admin_url(const chaos_admin *a);

/* Drops whatever is still queued. NULL is fine. */
void chaos_admin_free(chaos_admin *a);

#endif
