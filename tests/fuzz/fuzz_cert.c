/* libFuzzer: manufacturer certificate parsing and verification (src/bus/cert.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bus/cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t ca[CERT_KEY_LEN] = {1};
    struct cert c;
    if (cert_decode(data, size, &c) != 0)
        return 0;
    if (cert_verify(&c, ca) == 0)
        __builtin_trap(); /* nobody holds the private key of this CA */
    return 0;
}
