/*
 * fuzz_devlog: the device-log entry decoder and the file verifier
 * (src/audit/devlog.c) on arbitrary bytes. Must never crash, leak or read out
 * of bounds; decode -> encode must give back the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/devlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct devlog_entry e;
    struct devlog_file_result res;
    uint8_t pub[32];
    memset(pub, 0x22, sizeof(pub));
    (void)devlog_verify_file(data, size, pub, &res);
    if (devlog_decode(data, size, &e) == 0) {
        struct buf b;
        buf_init(&b, DEVLOG_ENTRY_MAX);
        if (devlog_encode(&e, &b) != 0 || buf_remaining(&b) != size || memcmp(buf_ptr(&b), data, size) != 0)
            abort();
        buf_free(&b);
    }
    return 0;
}
