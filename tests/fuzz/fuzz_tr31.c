/* libFuzzer target: TR-31 key block parsing and unwrapping (src/crypto/tr31.c).
 * The first byte picks a KBPK length; the rest is the key block. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto/tr31.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t lens[] = {8, 16, 24, 32};
    uint8_t kbpk[32];
    struct tr31_header h;
    uint8_t *key = NULL;
    size_t klen = 0;
    if (size < 1)
        return 0;
    memset(kbpk, 0x45, sizeof(kbpk));
    size_t kl = lens[data[0] & 3];
    const char *kb = (const char *)data + 1;
    if (tr31_header_parse(kb, size - 1, &h) == 0) {
        const char *p;
        size_t n;
        (void)tr31_header_opt(&h, kb, "KS", &p, &n);
    }
    if (tr31_unwrap(kbpk, kl, kb, size - 1, &h, &key, &klen) == 0)
        tr31_key_free(key);
    return 0;
}
