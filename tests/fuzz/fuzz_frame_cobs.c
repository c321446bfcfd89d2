/* libFuzzer: the serial (COBS + CRC-32C) decoder, plus an encode/decode round
 * trip of the input as a payload (src/bus/frame.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bus/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frame_dec d;
    struct buf w;
    const uint8_t *f;
    size_t fn;
    frame_dec_init(&d, FRAME_SERIAL);
    for (size_t off = 0; off < size; off += 100) {
        size_t n = size - off < 100 ? size - off : 100;
        if (frame_dec_feed(&d, data + off, n) != 0)
            break;
        while (frame_dec_next(&d, &f, &fn) == 0)
            if (frame_crc32c(f, fn) == 0xffffffffu && fn == 0)
                __builtin_trap();
    }
    frame_dec_free(&d);
    /* round trip: whatever we encode decodes to exactly the same bytes */
    if (size > 0 && size <= FRAME_MAX) {
        buf_init(&w, 0);
        if (frame_encode(FRAME_SERIAL, data, size, &w) != 0)
            __builtin_trap();
        frame_dec_init(&d, FRAME_SERIAL);
        if (frame_dec_feed(&d, w.d, w.len) != 0 || frame_dec_next(&d, &f, &fn) != 0 || fn != size ||
            memcmp(f, data, size) != 0)
            __builtin_trap();
        frame_dec_free(&d);
        buf_free(&w);
    }
    return 0;
}
