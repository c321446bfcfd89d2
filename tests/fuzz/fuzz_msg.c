/* libFuzzer: bus message decoding (src/bus/msg.c). Anything accepted
 * re-encodes, and the re-encoding is a fixed point: decoding it and encoding
 * again gives the same bytes (the envelope's keys may arrive in any order,
 * protocol.md §5.2, and are written in one order). */
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
    if (msg_encode(&m, &w) == 0) {
        struct msg m2;
        struct buf w2;
        if (msg_decode(w.d, w.len, &m2) != 0)
            __builtin_trap(); /* our own encoding must be accepted */
        buf_init(&w2, 0);
        if (msg_encode(&m2, &w2) != 0 || w2.len != w.len || memcmp(w2.d, w.d, w.len) != 0)
            __builtin_trap();
        buf_free(&w2);
        msg_clear(&m2);
    }
    buf_free(&w);
    msg_clear(&m);
    return 0;
}
