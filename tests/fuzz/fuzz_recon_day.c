/*
 * fuzz_recon_day: the reconciliation day file (src/audit/recon_day.c) and the
 * reconciliation run on whatever it accepts. Must never crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>

#include "audit/recon_day.h"
#include "audit/reconcile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct recon_report rep;
    struct recon_day *day;
    if (recon_day_parse((const char *)data, size, &day) == 0) {
        (void)recon_run(recon_day_input(day), NULL, &rep);
        recon_day_free(day);
    }
    return 0;
}
