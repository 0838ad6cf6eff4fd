/* Reconnection backoff for clients of the fleet (the load client and drills): full jitter over an
 * exponentially growing window, and which close codes are worth reconnecting after. Pure: the
 * caller supplies the random values. */
#ifndef WSF_BACKOFF_H
#define WSF_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

typedef struct wsf_backoff_policy {
    uint32_t min_ms;    /* 500: no attempt sooner than this after a disconnect */
    uint32_t max_ms;    /* 20000: the window never grows past this */
    uint32_t stable_ms; /* 10000: a connection up this long resets the backoff */
} wsf_backoff_policy;

/* Per-connection state; zero-initialised (or wsf_backoff_init) means "never failed". */
typedef struct wsf_backoff {
    uint32_t attempt; /* consecutive attempts since the last stable connection */
} wsf_backoff;

void wsf_backoff_policy_init(wsf_backoff_policy *p);
void wsf_backoff_init(wsf_backoff *b);

/* The delay before the next attempt, and counts the attempt: uniform in
 * [min_ms, min(max_ms, min_ms * 2^(attempt + 1))] drawn with rnd in [0, 1), so even the first
 * attempt is spread over a window and a fleet-wide disconnect does not come back as a spike. */
uint32_t wsf_backoff_next(wsf_backoff *b, const wsf_backoff_policy *p, double rnd);

/* A connection that has been up for up_ms: once that reaches stable_ms the backoff starts over. */
void wsf_backoff_on_up(wsf_backoff *b, const wsf_backoff_policy *p, uint64_t up_ms);

/* True if a client should reconnect after the server closed with code (RFC 6455 §7.4.1):
 * going away (1001), service restart (1012), try again later (1013), an internal error (1011) or
 * an abnormal closure without a close frame (1006, and 1005 "no status"). False for the codes
 * that say the client itself was at fault (1002, 1003, 1007, 1008, 1009) or that the server ended
 * the session on purpose (1000). */
bool wsf_backoff_should_reconnect(unsigned close_code);

#endif
