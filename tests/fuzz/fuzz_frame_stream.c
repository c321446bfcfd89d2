/* libFuzzer: the stream frame decoder fed in arbitrary chunks (src/bus/frame.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bus/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frame_dec d;
    size_t off = 0;
    frame_dec_init(&d, FRAME_STREAM);
    while (off < size) {
        /* the first byte of each step chooses the chunk length */
        size_t n = 1 + data[off] % 64;
        const uint8_t *f;
        size_t fn;
        off++;
        if (n > size - off)
            n = size - off;
        if (frame_dec_feed(&d, data + off, n) != 0)
            break;
        off += n;
        while (frame_dec_next(&d, &f, &fn) == 0)
            if (fn == 0 || fn > FRAME_MAX)
                __builtin_trap();
    }
    frame_dec_free(&d);
    return 0;
}
