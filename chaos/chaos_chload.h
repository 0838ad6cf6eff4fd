/* Channel load: subscribers and a publisher speaking wsfleet.v1 over /channels, on two chaos_load
 * populations of the channel kind (so reconnection and backoff are the echo clients'). Subscriber
 * i connects, subscribes to channel i % channels and, after every reconnect, resubscribes with
 * `since` = the last position it saw; every publication it receives is checked by chaos_chtrack
 * (content, order, exactly once). A publisher connection publishes `publish_rate` publications per
 * second on every channel and keeps each acknowledged offset in the channel's ledger; at the end
 * (chaos_chload_finish) it stops, the subscribers are given time to catch up with the last
 * acknowledged offsets, and the acknowledged publications a subscriber was owed and never
 * received are counted lost. A subscribe refused (108 while NATS is down, ...) is retried every
 * CHAOS_CHLOAD_RETRY_MS on the same connection. */
#ifndef CHAOS_CHLOAD_H
#define CHAOS_CHLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "chaos_chtrack.h"
#include "chaos_load.h"
#include "wsf_hist.h"

#define CHAOS_CHLOAD_RETRY_MS 500
#define CHAOS_CHLOAD_PREFIX_MAX 64
#define CHAOS_CHLOAD_CODES 16

typedef struct chaos_chload_opts {
    chaos_load_opts load; /* target, connections = subscribers, open_rate, backoff, size = bytes
                           * of filler in each publication; kind, path and protocol are set */
    uint32_t channels;    /* C channels, named PREFIX0 .. PREFIX(C-1) */
    char prefix[CHAOS_CHLOAD_PREFIX_MAX]; /* "load-": a name without ':' takes [channels] */
    double publish_rate;                  /* publications per second per channel, 0 = none */
} chaos_chload_opts;

/* Defaults on top of chaos_load_opts_init: path /channels, protocol wsfleet.v1, 20 channels,
 * prefix "load-", 10 publications/s per channel, 16 bytes of filler. */
void chaos_chload_opts_init(chaos_chload_opts *o);

typedef struct chaos_chload_totals {
    chaos_chcounts k;          /* summed over subscriptions; lost once finished */
    uint64_t published;        /* publish commands sent */
    uint64_t acked;            /* publish replies with an offset */
    uint64_t publish_errors;   /* publish error replies (108 while NATS is down, ...) */
    uint64_t publish_unknown;  /* publishes whose connection died before the reply */
    uint64_t subscribes;       /* subscribe replies */
    uint64_t resumes;          /* subscribe replies after a reconnect (with since) */
    uint64_t subscribe_errors; /* error replies to connect or subscribe (retried) */
    uint64_t protocol_errors;  /* server objects the client could not read */
    uint64_t not_subscribed;   /* subscribers without a subscription at the end */
    uint64_t behind;           /* subscribers not caught up with the last ack at the end */
    wsf_hist resume_ms;        /* disconnect to the resubscribe reply, milliseconds */
    /* Subscribers' closes from the server, by code (the first CHAOS_CHLOAD_CODES distinct ones;
     * the rest in codes_other). */
    unsigned codes[CHAOS_CHLOAD_CODES];
    uint64_t code_counts[CHAOS_CHLOAD_CODES];
    uint64_t codes_other;
} chaos_chload_totals;

typedef struct chaos_chload chaos_chload;

/* hooks (may be NULL): on_event and on_up of the subscribers' population are passed on (the drill
 * runner's bookkeeping); on_message is ignored. */
chaos_chload *chaos_chload_new(struct event_base *base, const chaos_chload_opts *opts,
                               const chaos_load_hooks *hooks);
void chaos_chload_start(chaos_chload *ch);

/* Stops publishing, waits (up to grace_ms each) for the outstanding acks and for the subscribers
 * to reach the last acknowledged offsets, counts what was lost, closes everything and calls done
 * from the loop. */
void chaos_chload_finish(chaos_chload *ch, uint32_t grace_ms, void (*done)(void *arg), void *arg);

void chaos_chload_free(chaos_chload *ch);

const chaos_chload_totals *chaos_chload_get_totals(const chaos_chload *ch);

/* Delivery gaps: from now on, the longest time any subscriber goes without a delivery (a
 * publication received, live or caught up after a resume). chaos_chload_gap_ms is the longest
 * so far, a gap still open counting up to now. */
void chaos_chload_gap_start(chaos_chload *ch);
uint64_t chaos_chload_gap_ms(const chaos_chload *ch);

/* Subscribers whose subscription is confirmed now. */
size_t chaos_chload_subscribed(const chaos_chload *ch);
const chaos_load *chaos_chload_subscribers(const chaos_chload *ch);
const chaos_load *chaos_chload_publisher(const chaos_chload *ch);

#endif
