/* libFuzzer target: the device-signed e-money record parser and verifier
 * (src/devices/emrec.c). A record that parses must encode back to the same
 * bytes (one byte form per record). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/emrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t pub[EMREC_PUB_LEN] = {1, 2, 3};
    struct emrec e;
    if (emrec_parse(data, size, &e) == 0) {
        struct buf b;
        buf_init(&b, EMREC_MAX);
        if (emrec_encode(&e, &b) != 0 || buf_remaining(&b) != size || memcmp(buf_ptr(&b), data, size) != 0)
            abort();
        buf_free(&b);
    }
    (void)emrec_verify(data, size, pub, sizeof(pub), &e);
    return 0;
}
