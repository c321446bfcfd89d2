/* libFuzzer target: the item master CSV import on arbitrary bytes (OPS-1, DEV-16):
 * must never crash, and either imports everything or nothing. */
#include <stdint.h>
#include <stdlib.h>

#include "pos/items.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(void *arg, uint64_t line, const char *msg)
{
    (void)arg;
    (void)line;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct items *it;
    struct items_import_stats st;
    uint64_t n = 0;
    if (it == NULL && items_open(":memory:", &it) != 0)
        abort();
    int r = items_import_mem(it, data, size, ignore, NULL, &st);
    if (items_count(it, &n) != 0)
        abort();
    if (r == 0 && (st.errors != 0 || n != st.imported))
        abort();
    if (r != 0 && st.imported != 0)
        abort();
    return 0;
}
