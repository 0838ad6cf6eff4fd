/* Kernel steering: weights from load, the bucket map, and the classic BPF reuseport program. */
#include "sup_steer.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif

size_t sup_steer_weights(uint32_t *out, const sup_steer_slot *slots, size_t n)
{
    uint64_t total = 0;
    size_t eligible = 0;
    for (size_t i = 0; i < n; i++) {
        if (slots[i].eligible) {
            total += slots[i].connections;
            eligible++;
        }
    }
    uint64_t damp = eligible > 0 ? total / eligible : 0;
    if (damp < 8)
        damp = 8;
    for (size_t i = 0; i < n; i++) {
        if (!slots[i].eligible) {
            out[i] = 0;
            continue;
        }
        uint64_t w = (uint64_t)SUP_STEER_WEIGHT_UNIT * 2 * damp / (slots[i].connections + damp);
        if (w > SUP_STEER_MAX_WEIGHT)
            w = SUP_STEER_MAX_WEIGHT;
        if (w < SUP_STEER_MIN_WEIGHT)
            w = SUP_STEER_MIN_WEIGHT;
        out[i] = (uint32_t)w;
    }
    return eligible;
}

int sup_steer_map(uint32_t *out, const uint32_t *weights, size_t n)
{
    uint64_t total = 0;
    size_t eligible = 0;
    for (size_t i = 0; i < n; i++) {
        if (weights[i] > 0) {
            total += weights[i];
            eligible++;
        }
    }
    if (eligible == 0)
        return SUP_STEER_ENONE;
    if (eligible > SUP_STEER_BUCKETS)
        return SUP_STEER_ETOOMANY;

    /* Largest remainder (ties to the lower index), then a bucket for every slot left without
     * one, taken from the largest holder (the lightest of those, ties to the higher index), which
     * keeps "a larger weight never gets fewer buckets". */
    unsigned count[SUP_STEER_BUCKETS];
    uint64_t rem[SUP_STEER_BUCKETS];
    size_t slot_of[SUP_STEER_BUCKETS];
    uint64_t given = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (weights[i] == 0)
            continue;
        uint64_t share = (uint64_t)SUP_STEER_BUCKETS * weights[i];
        slot_of[k] = i;
        count[k] = (unsigned)(share / total);
        rem[k] = share % total;
        given += count[k];
        k++;
    }
    for (; given < SUP_STEER_BUCKETS; given++) {
        size_t best = 0;
        for (size_t j = 1; j < k; j++) {
            if (rem[j] > rem[best])
                best = j;
        }
        count[best]++;
        rem[best] = 0;
    }
    for (size_t j = 0; j < k; j++) {
        if (count[j] > 0)
            continue;
        size_t donor = 0;
        for (size_t d = 1; d < k; d++) {
            if (count[d] > count[donor] ||
                (count[d] == count[donor] && weights[slot_of[d]] <= weights[slot_of[donor]]))
                donor = d;
        }
        count[donor]--;
        count[j] = 1;
    }

    /* Smooth weighted round robin over the counts: each slot's buckets are evenly spaced. */
    int64_t current[SUP_STEER_BUCKETS] = {0};
    for (size_t b = 0; b < SUP_STEER_BUCKETS; b++) {
        size_t best = 0;
        for (size_t j = 0; j < k; j++) {
            current[j] += count[j];
            if (current[j] > current[best])
                best = j;
        }
        current[best] -= SUP_STEER_BUCKETS;
        out[b] = (uint32_t)slot_of[best];
    }
    return (int)k;
}

void sup_steer_count(unsigned *out, size_t n, const uint32_t *map)
{
    memset(out, 0, n * sizeof *out);
    for (size_t b = 0; b < SUP_STEER_BUCKETS; b++) {
        if (map[b] < n)
            out[map[b]]++;
    }
}

uint32_t sup_steer_bucket(uint32_t addr, uint16_t port)
{
    uint32_t h = (addr ^ port) * SUP_STEER_HASH_MUL;
    return (h >> 16) % SUP_STEER_BUCKETS;
}

uint32_t sup_steer_fold6(const uint8_t addr[16])
{
    uint32_t h = 0;
    for (int w = 0; w < 4; w++) {
        const uint8_t *p = addr + 4 * w;
        h ^= (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
    return h;
}

#define SUP_NET(off) ((uint32_t)(SKF_NET_OFF + (off)))

int sup_steer_program(struct sock_filter *out, size_t cap, const uint32_t *map)
{
    /* The IPv6 branch must skip the IPv4 loads: keep the two tables' sizes in the jumps. */
    static const struct sock_filter head[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SUP_NET(0)),
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 14), /* not IPv6: to the IPv4 loads */
        /* IPv6: A = src[0] ^ src[1] ^ src[2] ^ src[3] ^ sport */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SUP_NET(8)),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SUP_NET(12)),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SUP_NET(16)),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SUP_NET(20)),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SUP_NET(40)),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        BPF_STMT(BPF_JMP | BPF_JA, 5), /* to the hash */
        /* IPv4: X = header length, A = src ^ sport */
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, SUP_NET(0)),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, SUP_NET(0)),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SUP_NET(12)),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        /* hash: bucket = ((A * MUL) >> 16) % BUCKETS */
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, SUP_STEER_HASH_MUL),
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, SUP_STEER_BUCKETS),
    };
    size_t nhead = sizeof head / sizeof head[0];
    size_t len = nhead + 2 * SUP_STEER_BUCKETS + 1;
    if (cap < len)
        return -ENOSPC;
    memcpy(out, head, sizeof head);
    size_t n = nhead;
    for (uint32_t b = 0; b < SUP_STEER_BUCKETS; b++) {
        out[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, b, 0, 1);
        out[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, map[b]);
    }
    out[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, map[0]); /* unreachable */
    return (int)n;
}

int sup_steer_attach(int fd, const struct sock_filter *prog, size_t len)
{
    struct sock_fprog fprog = {.len = (unsigned short)len, .filter = (struct sock_filter *)prog};
    if (len == 0 || len > BPF_MAXINSNS)
        return -EINVAL;
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof fprog) == -1)
        return -errno;
    return 0;
}

int sup_steer_detach(int fd)
{
    int zero = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &zero, sizeof zero) == -1)
        return -errno;
    return 0;
}
