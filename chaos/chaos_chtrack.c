/* Channel load verification: per-subscription offset tracking, the publisher's ledger and the
 * end-of-run comparison. */
#include "chaos_chtrack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"

void chaos_chsub_init(chaos_chsub *s, uint32_t channel)
{
    memset(s, 0, sizeof(*s));
    s->channel = channel;
}

void chaos_chsub_fini(chaos_chsub *s)
{
    free(s->recv);
    free(s->gaps);
    memset(s, 0, sizeof(*s));
}

static void chaos_chsub_gap(chaos_chsub *s, uint64_t from, uint64_t to)
{
    if (to <= from) {
        return;
    }
    if (s->ngaps == s->gaps_cap) {
        s->gaps_cap = s->gaps_cap == 0 ? 4 : s->gaps_cap * 2;
        s->gaps = wsf_xrealloc(s->gaps, s->gaps_cap * sizeof(*s->gaps));
    }
    s->gaps[s->ngaps++] = (chaos_chgap){.from = from, .to = to};
}

static void chaos_chsub_set_epoch(chaos_chsub *s, const char *epoch)
{
    snprintf(s->epoch, sizeof(s->epoch), "%s", epoch != NULL ? epoch : "");
}

void chaos_chsub_position(chaos_chsub *s, chaos_chcounts *k, const char *epoch, uint64_t offset,
                          bool recovered)
{
    if (!s->has_pos) {
        /* The first reply: owed is what comes after it, or after what already arrived. */
        if (s->nrecv == 0) {
            s->start = offset;
            s->last = offset;
        } else if (offset > s->last) {
            s->last = offset;
        }
        s->has_pos = true;
        chaos_chsub_set_epoch(s, epoch);
        return;
    }
    if (epoch != NULL && strcmp(epoch, s->epoch) != 0) {
        /* History was lost: nothing up to the new position can be owed any more. */
        k->epoch_changes++;
        k->not_recovered += recovered ? 0 : 1;
        s->nrecv = 0;
        s->ngaps = 0;
        chaos_chsub_set_epoch(s, epoch);
        s->start = offset;
        s->last = offset;
        return;
    }
    if (!recovered) {
        k->not_recovered++;
        chaos_chsub_gap(s, s->last, offset);
    }
    if (offset > s->last) {
        s->last = offset;
    }
}

bool chaos_chsub_has(const chaos_chsub *s, uint64_t offset)
{
    size_t lo = 0;
    size_t hi = s->nrecv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->recv[mid].offset < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < s->nrecv && s->recv[lo].offset == offset;
}

enum chaos_chverdict chaos_chsub_deliver(chaos_chsub *s, chaos_chcounts *k, uint64_t offset,
                                         const char *data, size_t len, size_t size)
{
    uint64_t n = 0;
    if (chaos_chdata_check(data, len, s->channel, size, &n) != 0) {
        k->data_errors++;
        return CHAOS_CH_BAD_DATA;
    }
    if (!s->has_pos && s->nrecv == 0) {
        s->start = offset - 1;
        s->last = offset - 1;
    }
    if (offset <= s->last) {
        if (chaos_chsub_has(s, offset)) {
            k->duplicated++;
            return CHAOS_CH_DUPLICATE;
        }
        k->out_of_order++;
        return CHAOS_CH_OUT_OF_ORDER;
    }
    if (s->nrecv == s->recv_cap) {
        s->recv_cap = s->recv_cap == 0 ? 64 : s->recv_cap * 2;
        s->recv = wsf_xrealloc(s->recv, s->recv_cap * sizeof(*s->recv));
    }
    s->recv[s->nrecv++] = (chaos_chrecv){.offset = offset, .n = n};
    s->last = offset;
    k->deliveries++;
    return CHAOS_CH_OK;
}

void chaos_chledger_init(chaos_chledger *l)
{
    memset(l, 0, sizeof(*l));
    l->sorted = true;
}

void chaos_chledger_fini(chaos_chledger *l)
{
    free(l->acks);
    memset(l, 0, sizeof(*l));
}

void chaos_chledger_add(chaos_chledger *l, uint64_t offset, uint64_t n)
{
    if (l->n == l->cap) {
        l->cap = l->cap == 0 ? 64 : l->cap * 2;
        l->acks = wsf_xrealloc(l->acks, l->cap * sizeof(*l->acks));
    }
    if (l->n > 0 && l->acks[l->n - 1].offset >= offset) {
        l->sorted = false;
    }
    l->acks[l->n++] = (chaos_chrecv){.offset = offset, .n = n};
    if (offset > l->last) {
        l->last = offset;
    }
}

uint64_t chaos_chledger_last(const chaos_chledger *l)
{
    return l->last;
}

static int chaos_chrecv_cmp(const void *a, const void *b)
{
    uint64_t x = ((const chaos_chrecv *)a)->offset;
    uint64_t y = ((const chaos_chrecv *)b)->offset;
    return x < y ? -1 : x > y;
}

static bool chaos_chsub_in_gap(const chaos_chsub *s, uint64_t offset)
{
    for (size_t i = 0; i < s->ngaps; i++) {
        if (offset > s->gaps[i].from && offset <= s->gaps[i].to) {
            return true;
        }
    }
    return false;
}

void chaos_chsub_verify(const chaos_chsub *s, chaos_chledger *l, chaos_chcounts *k)
{
    if (!l->sorted) {
        qsort(l->acks, l->n, sizeof(*l->acks), chaos_chrecv_cmp);
        l->sorted = true;
    }
    /* Both lists are in offset order: one merge. */
    size_t r = 0;
    for (size_t i = 0; i < l->n; i++) {
        const chaos_chrecv *a = &l->acks[i];
        while (r < s->nrecv && s->recv[r].offset < a->offset) {
            r++;
        }
        if (r < s->nrecv && s->recv[r].offset == a->offset) {
            if (s->recv[r].n != a->n) {
                k->data_errors++;
            }
            continue;
        }
        if ((s->has_pos || s->nrecv > 0) && a->offset > s->start &&
            !chaos_chsub_in_gap(s, a->offset)) {
            k->lost++;
        }
    }
}

/* The filler's letter i for publication n of channel c. */
static char chaos_chdata_letter(uint32_t c, uint64_t n, size_t i)
{
    return (char)('a' + (c * 7u + n * 13u + i) % 26u);
}

void chaos_chdata_write(wsf_buf *out, uint32_t channel, uint64_t n, size_t size)
{
    char head[64];
    int h = snprintf(head, sizeof(head), "{\"n\":%llu,\"c\":%u,\"p\":\"", (unsigned long long)n,
                     channel);
    uint8_t *p = wsf_buf_reserve(out, (size_t)h + size + 2);
    memcpy(p, head, (size_t)h);
    for (size_t i = 0; i < size; i++) {
        p[(size_t)h + i] = (uint8_t)chaos_chdata_letter(channel, n, i);
    }
    memcpy(p + h + size, "\"}", 2);
    out->len += (size_t)h + size + 2;
}

/* Reads a decimal number of at most 19 digits at *p (advanced past it). */
static int chaos_chdata_number(const char **p, const char *end, uint64_t *out)
{
    const char *q = *p;
    uint64_t v = 0;
    size_t digits = 0;
    while (q < end && *q >= '0' && *q <= '9' && digits < 19) {
        v = v * 10u + (uint64_t)(*q - '0');
        q++;
        digits++;
    }
    if (digits == 0 || (digits > 1 && **p == '0')) {
        return -1;
    }
    *p = q;
    *out = v;
    return 0;
}

static int chaos_chdata_lit(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0) {
        return -1;
    }
    *p += n;
    return 0;
}

int chaos_chdata_check(const char *data, size_t len, uint32_t channel, size_t size, uint64_t *n)
{
    const char *p = data;
    const char *end = data + len;
    uint64_t num = 0;
    uint64_t ch = 0;
    if (data == NULL || chaos_chdata_lit(&p, end, "{\"n\":") != 0 ||
        chaos_chdata_number(&p, end, &num) != 0 || chaos_chdata_lit(&p, end, ",\"c\":") != 0 ||
        chaos_chdata_number(&p, end, &ch) != 0 || ch != channel ||
        chaos_chdata_lit(&p, end, ",\"p\":\"") != 0 || (size_t)(end - p) != size + 2) {
        return -1;
    }
    for (size_t i = 0; i < size; i++) {
        if (p[i] != chaos_chdata_letter(channel, num, i)) {
            return -1;
        }
    }
    if (memcmp(p + size, "\"}", 2) != 0) {
        return -1;
    }
    *n = num;
    return 0;
}

void chaos_chcounts_add(chaos_chcounts *sum, const chaos_chcounts *k)
{
    sum->deliveries += k->deliveries;
    sum->duplicated += k->duplicated;
    sum->out_of_order += k->out_of_order;
    sum->not_recovered += k->not_recovered;
    sum->data_errors += k->data_errors;
    sum->lost += k->lost;
    sum->epoch_changes += k->epoch_changes;
}
