/*
 * fuzz_devcash: the CBOR details of device-log cash events
 * (src/audit/devcash.c). The first input byte picks the event
 * (deposit / dispense / drawer open), the rest are the details.
 */
#include <stdint.h>
#include <stdlib.h>

#include "audit/devcash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ev[] = {DEVCASH_EV_DEPOSIT, DEVCASH_EV_DISPENSE, DEVCASH_EV_DRAWER_OPEN};
    struct devcash_fact f;
    if (size < 1)
        return 0;
    if (devcash_classify(ev[data[0] % 3], data + 1, size - 1, &f) == 0 && f.kind == DEVCASH_MOVE) {
        for (int d = 0; d < RECON_DENOMS; d++)
            if (f.count[d] < 0 || f.count[d] > 1000000)
                abort();
    }
    return 0;
}
