/* libFuzzer target: escpos_decode (receipt checker, `mamori receipt decode`)
 * on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "common/buf.h"
#include "pos/escpos_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct escpos_doc *d = NULL;
    if (escpos_decode(data, size, &d) == 0) {
        struct buf t;
        buf_init(&t, 0);
        (void)escpos_doc_text(d, &t);
        buf_free(&t);
        escpos_doc_free(d);
    }
    return 0;
}
