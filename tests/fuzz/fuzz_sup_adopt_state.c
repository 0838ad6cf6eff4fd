/* libFuzzer target for sup_adopt_state: any input either is refused or parses into a state that
 * encodes to text which parses back to the same state; the first half of the input is also
 * judged as a process environment. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup_adopt_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_sup_adopt_state: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sup_adopt_state st, back;
    static char text[SUP_ADOPT_STATE_MAX];
    char why[160];

    if (sup_adopt_state_parse(&st, (const char *)data, size, why, sizeof why) == 0) {
        int n = sup_adopt_state_encode(text, sizeof text, &st);
        if (n < 0)
            fail("a parsed state does not encode");
        if (sup_adopt_state_parse(&back, text, (size_t)n, why, sizeof why) != 0)
            fail("an encoded state does not parse");
        if (back.supervisor_pid != st.supervisor_pid || back.workers_fp != st.workers_fp ||
            back.spawns != st.spawns || back.nlistens != st.nlistens || back.nslots != st.nslots)
            fail("the round trip changed the header");
        for (unsigned i = 0; i < st.nlistens; i++) {
            if (strcmp(back.listen[i], st.listen[i]) != 0)
                fail("the round trip changed an address");
        }
        if (memcmp(back.slots, st.slots, sizeof st.slots[0] * st.nslots) != 0)
            fail("the round trip changed a slot");
        for (unsigned i = 0; i < st.nslots; i++)
            (void)sup_adopt_judge(&st.slots[i], i, (const char *)data, size / 2, "ipc:///r/w");
    }
    sup_adopt_slot s = {.pid = 1, .generation = 1, .state = SUP_SLOT_RUNNING};
    (void)sup_adopt_judge(&s, 0, (const char *)data, size, "ipc:///r/workers");
    return 0;
}
