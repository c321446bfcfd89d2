/* libFuzzer target: barcode_parse on arbitrary scanner/keyboard bytes (OPS-1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pos/barcode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct barcode b;
    if (barcode_parse(NULL, data, size, &b) == 0) {
        /* Invariants of a successful parse. */
        size_t n = strnlen(b.code, sizeof(b.code));
        if (n == sizeof(b.code))
            abort();
        if ((b.kind == BARCODE_JAN13 || b.kind == BARCODE_EAN8 || b.kind == BARCODE_UPCA ||
             b.kind == BARCODE_UPCE || b.kind == BARCODE_INSTORE_ITEM ||
             b.kind == BARCODE_INSTORE_PRICE) &&
            (n != 13 || !barcode_gs1_valid(b.code, 13)))
            abort();
        if ((b.price >= 0) != (b.kind == BARCODE_INSTORE_PRICE))
            abort();
        /* The lookup key of a price code is itself a zero-price code of the same item. */
        struct barcode k;
        if (b.kind == BARCODE_INSTORE_PRICE &&
            (barcode_parse(NULL, b.code, 13, &k) != 0 || k.price != 0 || strcmp(k.code, b.code) != 0))
            abort();
    }
    return 0;
}
