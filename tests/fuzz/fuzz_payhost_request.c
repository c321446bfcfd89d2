/* libFuzzer target: the payment host's request parser (src/payhost/request.c). */
#include <stddef.h>
#include <stdint.h>

#include "payhost/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct payhost_request q;
    (void)payhost_request_parse((const char *)data, size, &q);
    return 0;
}
