/* Channel load verification, pure: what one subscription of the load client saw (offsets in
 * order, each once, with the publisher's sequence number read from the data), the publisher's
 * ledger of acknowledged offsets per channel, and the end-of-run comparison of the two. No I/O,
 * no clock.
 *
 * Offsets are JetStream's stream-wide sequence (wsf_chsync.h, wsf_nats_js.h): one channel's
 * offsets are increasing but sparse, so a gap between two offsets proves nothing. A publication is
 * lost only when the publisher holds its acknowledgement and a subscription that owed it (it
 * was after the subscription's start and not inside a gap the server declared with
 * recovered:false) never received it; that is judged at the end of the run, because pushes can
 * arrive before the publisher's acks.
 *
 * Publication data is deterministic: {"n":N,"c":C,"p":"FILLER"} with N the publisher's sequence
 * number on channel C and FILLER `size` letters drawn from (C, N), so every delivery's content is
 * checked, and at the end its N against the acknowledged one at that offset. */
#ifndef CHAOS_CHTRACK_H
#define CHAOS_CHTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsf_buf.h"

#define CHAOS_CH_EPOCH_MAX 128

/* Counts over subscriptions (the caller sums them). */
typedef struct chaos_chcounts {
    uint64_t deliveries;    /* publications accepted: new offset, in order, data well formed */
    uint64_t duplicated;    /* an offset received again */
    uint64_t out_of_order;  /* an offset below the last one that was never received */
    uint64_t not_recovered; /* resumes answered recovered:false */
    uint64_t data_errors;   /* data not as published (malformed, other channel, other N) */
    uint64_t lost;          /* acknowledged, owed and never received (chaos_chsub_verify) */
    uint64_t epoch_changes; /* resumes into another epoch */
} chaos_chcounts;

typedef struct chaos_chrecv {
    uint64_t offset;
    uint64_t n; /* the publisher's sequence number read from the data */
} chaos_chrecv;

/* Offsets in (from, to] that a subscription is not owed: a gap the server declared. */
typedef struct chaos_chgap {
    uint64_t from;
    uint64_t to;
} chaos_chgap;

typedef struct chaos_chsub {
    uint32_t channel; /* index of the channel */
    bool has_pos;     /* a subscribe reply was seen */
    char epoch[CHAOS_CH_EPOCH_MAX + 1];
    uint64_t last;      /* highest offset received or reported (the resume point) */
    uint64_t start;     /* offsets above this are owed (the first subscribe reply's offset) */
    chaos_chrecv *recv; /* received publications, offsets strictly increasing */
    size_t nrecv;
    size_t recv_cap;
    chaos_chgap *gaps;
    size_t ngaps;
    size_t gaps_cap;
} chaos_chsub;

void chaos_chsub_init(chaos_chsub *s, uint32_t channel);
void chaos_chsub_fini(chaos_chsub *s);

/* A subscribe reply: epoch and offset of the channel now, recovered as the server said (ignored
 * on the first reply, which had no since). The first one sets the start; a later one with
 * recovered false declares (last, offset] a gap and counts not_recovered; one in another epoch
 * counts an epoch change and starts the subscription over from offset (the ledger does not know
 * epochs: acknowledgements of the old epoch above the new position would be counted lost, so a
 * run that deletes the stream judges only not_recovered and epoch_changes). Call it after feeding
 * the reply's pubs to chaos_chsub_deliver. */
void chaos_chsub_position(chaos_chsub *s, chaos_chcounts *k, const char *epoch, uint64_t offset,
                          bool recovered);

enum chaos_chverdict {
    CHAOS_CH_OK = 0,
    CHAOS_CH_DUPLICATE,
    CHAOS_CH_OUT_OF_ORDER,
    CHAOS_CH_BAD_DATA,
};

/* One publication (a push, or one of a reply's pubs) with its data as sent. Checks the data
 * against channel and size, then the offset against what was received; counts and returns the
 * verdict. Before the first subscribe reply a publication sets the start just below itself. */
enum chaos_chverdict chaos_chsub_deliver(chaos_chsub *s, chaos_chcounts *k, uint64_t offset,
                                         const char *data, size_t len, size_t size);

/* Whether the subscription received offset. */
bool chaos_chsub_has(const chaos_chsub *s, uint64_t offset);

/* The publisher's acknowledgements for one channel. */
typedef struct chaos_chledger {
    chaos_chrecv *acks; /* offset and N of each acknowledged publication */
    size_t n;
    size_t cap;
    uint64_t last; /* the highest offset */
    bool sorted;
} chaos_chledger;

void chaos_chledger_init(chaos_chledger *l);
void chaos_chledger_fini(chaos_chledger *l);
void chaos_chledger_add(chaos_chledger *l, uint64_t offset, uint64_t n);
/* The highest acknowledged offset, 0 when none. */
uint64_t chaos_chledger_last(const chaos_chledger *l);

/* End of run: counts in k->lost the acknowledged publications s was owed and never received, and
 * in k->data_errors those received at an acknowledged offset with another N. Sorts l. */
void chaos_chsub_verify(const chaos_chsub *s, chaos_chledger *l, chaos_chcounts *k);

/* Appends the data of publication n on channel (see above) to out. */
void chaos_chdata_write(wsf_buf *out, uint32_t channel, uint64_t n, size_t size);

/* Reads N back from data written by chaos_chdata_write for channel and size. Returns 0, or -1
 * when data is anything else. */
int chaos_chdata_check(const char *data, size_t len, uint32_t channel, size_t size, uint64_t *n);

void chaos_chcounts_add(chaos_chcounts *sum, const chaos_chcounts *k);

#endif
