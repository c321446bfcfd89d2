/* fuzz_cbor_sizes.h: shared by fuzz targets that cbor_load() input. */
#ifndef MAMORI_FUZZ_CBOR_SIZES_H
#define MAMORI_FUZZ_CBOR_SIZES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

/* The bus hands firmware only decoded items; model that by refusing inputs
 * whose declared array/map/string sizes exceed the bytes present (libcbor's
 * cbor_load allocates a declared size up front; bounding that is the bus
 * decoder's job, not the firmware's). */
struct sizes_ctx {
    size_t remaining;
    bool bad;
};

static void on_count(void *ctx, size_t n)
{
    struct sizes_ctx *s = ctx;
    if (n > s->remaining)
        s->bad = true;
}

static void on_str(void *ctx, cbor_data d, uint64_t n)
{
    (void)d;
    on_count(ctx, (size_t)n);
}

static inline bool sizes_ok(const uint8_t *p, size_t n)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    struct sizes_ctx s = {.remaining = n, .bad = false};
    cb.array_start = on_count;
    cb.map_start = on_count;
    cb.string = on_str;
    cb.byte_string = on_str;
    size_t off = 0;
    while (off < n && !s.bad) {
        s.remaining = n - off;
        struct cbor_decoder_result r = cbor_stream_decode(p + off, n - off, &cb, &s);
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
            return false;
        off += r.read;
    }
    return !s.bad;
}

#endif
