/* Kernel steering of new connections among the slots' SO_REUSEPORT listeners: weights from live
 * load, a bucket map, and the classic BPF program that applies it. */
#ifndef SUP_STEER_H
#define SUP_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>

#define SUP_STEER_BUCKETS 256

/* Instructions sup_steer_program needs at most: the hash, then two per bucket. */
#define SUP_STEER_PROG_MAX (32 + 2 * SUP_STEER_BUCKETS)

/* The multiplier of the multiply-shift hash (2^32 / golden ratio). */
#define SUP_STEER_HASH_MUL 0x9E3779B1u

/* Weight of an eligible slot holding the mean number of connections. */
#define SUP_STEER_WEIGHT_UNIT 1024u

/* The most an emptier slot weighs (1.25 units). Reports arrive at different times, so during a
 * burst of new connections the slot with the oldest Report looks emptiest; a larger boost would
 * pile the burst onto it (and onto a freshly restarted worker). Large, lasting imbalances are for
 * rebalancing to correct, not for steering. */
#define SUP_STEER_MAX_WEIGHT (SUP_STEER_WEIGHT_UNIT * 5 / 4)
/* The least a fuller slot weighs (0.8 units), for the same reason the other way round. */
#define SUP_STEER_MIN_WEIGHT (SUP_STEER_WEIGHT_UNIT * 4 / 5)

/* Errors of sup_steer_map. */
#define SUP_STEER_ENONE (-1)    /* no slot is eligible */
#define SUP_STEER_ETOOMANY (-2) /* more eligible slots than buckets */

typedef struct sup_steer_slot {
    bool eligible;        /* running and accepting: not ejected, draining, stopped or backing off */
    uint32_t connections; /* active connections from its last Report */
} sup_steer_slot;

/* Computes out[i] for each of the n slots: 0 for an ineligible slot, otherwise
 * SUP_STEER_WEIGHT_UNIT * 2D / (connections + D) with D = max(8, mean connections of the
 * eligible slots), clamped to [SUP_STEER_MIN_WEIGHT, SUP_STEER_MAX_WEIGHT]. A slot at the mean
 * weighs one unit, an emptier one at most 1.25, a fuller one at least 0.8: new workers get more
 * new connections without taking all of them. Fewer connections never give a
 * smaller weight; equal connections give equal weights. Returns the number of eligible slots. */
size_t sup_steer_weights(uint32_t *out, const sup_steer_slot *slots, size_t n);

/* Fills out[SUP_STEER_BUCKETS] with socket indexes (= slot indexes) in proportion to the n
 * weights: every slot of non-zero weight gets at least one bucket, a slot of zero weight none,
 * a larger weight never fewer buckets, equal weights within one bucket. Deterministic, and the
 * buckets of a slot are spread over the map (smooth weighted round robin) rather than in a run,
 * so consecutive hash values go to different slots. Returns the number of slots with buckets,
 * SUP_STEER_ENONE if no weight is non-zero (out is left alone: the caller stops steering), or
 * SUP_STEER_ETOOMANY if more than SUP_STEER_BUCKETS weights are non-zero. */
int sup_steer_map(uint32_t *out, const uint32_t *weights, size_t n);

/* Counts the buckets of each of n slots in map into out[n]. */
void sup_steer_count(unsigned *out, size_t n, const uint32_t *map);

/* The bucket a connection from this source lands in, as the program computes it: addr and port
 * in host byte order. For IPv6, addr is the XOR of the four 32-bit words of the address (each
 * read big-endian), see sup_steer_fold6. */
uint32_t sup_steer_bucket(uint32_t addr, uint16_t port);

/* Folds a 16-byte IPv6 address (network order) the way the program does. */
uint32_t sup_steer_fold6(const uint8_t addr[16]);

/* Writes into out (room for cap instructions, SUP_STEER_PROG_MAX is always enough) the classic
 * BPF reuseport program that returns map[sup_steer_bucket(source address, source port)] for a
 * TCP packet over IPv4 (source address at network offset 12, source port right after the IHL-sized
 * header) or IPv6 (source address at network offset 8..23, source port at 40: no extension
 * headers). The IP version is read from the packet, so one program serves both families and
 * v4-mapped connections on a dual-stack socket. The returned index is the socket's position in the
 * reuseport group, i.e. the order in which the listeners called listen(); an index past the group
 * falls back to the kernel's hash. Returns the instruction count, or -ENOSPC. */
int sup_steer_program(struct sock_filter *out, size_t cap, const uint32_t *map);

/* Attaches prog to the reuseport group of fd (SO_ATTACH_REUSEPORT_CBPF; it applies to the whole
 * group and replaces any earlier program). Returns 0 or -errno. */
int sup_steer_attach(int fd, const struct sock_filter *prog, size_t len);

/* Detaches the group's program: back to plain hashing. Returns 0 or -errno (-ENOENT if none). */
int sup_steer_detach(int fd);

#endif
