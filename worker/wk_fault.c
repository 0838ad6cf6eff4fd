/* Fault points. State only; the worker applies them where the events happen (wk_conn) and runs
 * the blocking ones (hang, crash) from its command handler. */
#include "wk_fault.h"

#include <stdlib.h>
#include <string.h>

#include "wsf_buf.h"
#include "wsf_rand.h"

#define WK_FAULT_MIB (1024 * 1024)

static void wk_fault_release(wk_fault *f)
{
    for (size_t i = 0; i < f->ngrown; i++)
        free(f->grown[i]);
    free(f->grown);
    f->grown = NULL;
    f->ngrown = 0;
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
    size_t bytes = (size_t)(f->rate * WK_FAULT_MIB * (double)(now_ms - f->grown_at_ms) / 1000.0);
    f->grown_at_ms = now_ms;
    if (bytes == 0)
        return;
    f->grown = wsf_xrealloc(f->grown, (f->ngrown + 1) * sizeof *f->grown);
    f->grown[f->ngrown] = wsf_xmalloc(bytes);
    memset(f->grown[f->ngrown], 0xA5, bytes);
    f->ngrown++;
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
