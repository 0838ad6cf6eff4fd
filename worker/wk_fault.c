/* Fault points. State only; the worker applies them where the events happen (wk_conn) and runs
 * the blocking ones (hang, crash) from its command handler. */
#include "wk_fault.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wsf_rand.h"

#define WK_FAULT_MIB (1024 * 1024)

static void wk_fault_release(wk_fault *f)
{
    if (f->mem_len != 0)
        munmap(f->mem, f->mem_len);
    f->mem = NULL;
    f->mem_len = 0;
    f->grown = 0;
}

/* Maps what a memory fault may use: what it asks for, within the cap, in whole pages. */
static void wk_fault_map(wk_fault *f, uint32_t duration_ms)
{
    uint64_t want = wsf_fault_memory_bytes(WSF_FAULT_MEMORY, f->rate, duration_ms);
    if (want > f->max_memory)
        want = f->max_memory;
    if (want > SIZE_MAX / 2)
        want = SIZE_MAX / 2;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = ((size_t)want + page - 1) / page * page;
    if (len == 0)
        return;
    void *p =
        mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return;
    f->mem = p;
    f->mem_len = len;
}

void wk_fault_start(wk_fault *f, enum wsf_fault_kind kind, double rate, uint32_t ms,
                    uint32_t duration_ms, uint64_t now_ms)
{
    wk_fault_release(f);
    f->kind = kind;
    f->rate = rate;
    f->ms = ms;
    f->until_ms = now_ms + duration_ms;
    f->grown_at_ms = now_ms;
    if (f->rng == 0)
        f->rng = 0x9E3779B97F4A7C15ull ^ now_ms;
    if (kind == WSF_FAULT_MEMORY)
        wk_fault_map(f, duration_ms);
}

void wk_fault_tick(wk_fault *f, uint64_t now_ms)
{
    if (f->kind == WSF_FAULT_OFF)
        return;
    if (now_ms >= f->until_ms) {
        wk_fault_release(f);
        f->kind = WSF_FAULT_OFF;
        return;
    }
    if (f->kind != WSF_FAULT_MEMORY || now_ms - f->grown_at_ms < 100)
        return;
    /* Grow in steps of a tenth of a second's worth, every page touched so it is resident. */
    double step = f->rate * WK_FAULT_MIB * (double)(now_ms - f->grown_at_ms) / 1000.0;
    f->grown_at_ms = now_ms;
    size_t room = f->mem_len - f->grown;
    size_t bytes = step >= (double)room ? room : (size_t)step;
    if (bytes == 0)
        return;
    memset(f->mem + f->grown, 0xA5, bytes);
    f->grown += bytes;
}

bool wk_fault_should_fail(wk_fault *f)
{
    if (f->kind != WSF_FAULT_ERROR)
        return false;
    return wsf_rand_unit(&f->rng) < f->rate;
}

void wk_fault_fini(wk_fault *f)
{
    wk_fault_release(f);
    f->kind = WSF_FAULT_OFF;
}
