/*
 * frame.c: stream (u16 length) and serial (COBS + CRC-32C) framing with
 * incremental decoders. Owns the CRC-32C table (not a crypto primitive: it
 * detects line noise; authenticity comes from the session's AEAD above) and
 * the drop/resync policy. Does not own sockets or any meaning of payloads.
 */
#include "bus/frame.h"

#include <string.h>

#include "mamori/err.h"

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
    /* Idempotent and deterministic, so a benign race between threads only
     * writes identical values. */
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = 1;
}

uint32_t frame_crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    if (!crc_ready)
        crc_init();
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

size_t frame_cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t code_at = 0, o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        } else {
            out[o++] = in[i];
            code++;
            if (code == 0xff) {
                out[code_at] = code;
                code_at = o++;
                code = 1;
            }
        }
    }
    out[code_at] = code;
    return o;
}

int frame_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t *ret_n)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        if (code == 0)
            return MAMORI_ERR_INVAL;
        if ((size_t)(code - 1) > n - i)
            return MAMORI_ERR_INVAL;
        for (uint8_t k = 1; k < code; k++) {
            if (in[i] == 0)
                return MAMORI_ERR_INVAL;
            out[o++] = in[i++];
        }
        if (code != 0xff && i < n)
            out[o++] = 0;
    }
    *ret_n = o;
    return 0;
}

int frame_encode(enum frame_kind kind, const uint8_t *p, size_t n, struct buf *out)
{
    int r;
    if (n == 0 || n > FRAME_MAX)
        return MAMORI_ERR_TOOBIG;
    if (kind == FRAME_STREAM) {
        if ((r = buf_put_u16(out, (uint16_t)n)) || (r = buf_put_bytes(out, p, n)))
            return r;
        return 0;
    }
    if (kind == FRAME_SERIAL) {
        /* Encode payload||crc in two COBS-compatible steps via a scratch copy. */
        uint8_t tmp[FRAME_MAX + FRAME_CRC_LEN];
        uint8_t *dst;
        size_t enc, cap = n + FRAME_CRC_LEN;
        uint32_t crc = frame_crc32c(p, n);
        memcpy(tmp, p, n);
        tmp[n] = (uint8_t)(crc >> 24);
        tmp[n + 1] = (uint8_t)(crc >> 16);
        tmp[n + 2] = (uint8_t)(crc >> 8);
        tmp[n + 3] = (uint8_t)crc;
        if ((r = buf_reserve(out, cap + cap / 254 + 2, &dst)) != 0)
            return r;
        enc = frame_cobs_encode(tmp, cap, dst);
        dst[enc] = 0;
        /* give back the unused reservation */
        out->len -= (cap + cap / 254 + 2) - (enc + 1);
        return 0;
    }
    return MAMORI_ERR_INVAL;
}

void frame_dec_init(struct frame_dec *d, enum frame_kind kind)
{
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    buf_init(&d->in, FRAME_WIRE_MAX + FRAME_READ_CHUNK);
    buf_init(&d->out, FRAME_COBS_MAX);
}

void frame_dec_free(struct frame_dec *d)
{
    if (d == NULL)
        return;
    buf_free(&d->in);
    buf_free(&d->out);
}

int frame_dec_feed(struct frame_dec *d, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    buf_compact(&d->in);
    return buf_put_bytes(&d->in, p, n);
}

static int next_stream(struct frame_dec *d, const uint8_t **ret_p, size_t *ret_n)
{
    const uint8_t *h;
    size_t len;
    if (d->dead)
        return MAMORI_ERR_PROTO;
    if (buf_remaining(&d->in) < 2)
        return MAMORI_ERR_AGAIN;
    h = buf_ptr(&d->in);
    len = ((size_t)h[0] << 8) | h[1];
    if (len == 0) {
        d->dead = 1;
        return MAMORI_ERR_PROTO;
    }
    if (buf_remaining(&d->in) < 2 + len)
        return MAMORI_ERR_AGAIN;
    (void)buf_skip(&d->in, 2);
    (void)buf_get_ptr(&d->in, len, ret_p);
    *ret_n = len;
    d->st.frames++;
    return 0;
}

static int next_serial(struct frame_dec *d, const uint8_t **ret_p, size_t *ret_n)
{
    for (;;) {
        const uint8_t *s = buf_ptr(&d->in), *z;
        size_t avail = buf_remaining(&d->in), flen, dn;
        uint8_t *dst;
        uint32_t crc;
        if (avail == 0)
            return MAMORI_ERR_AGAIN;
        z = memchr(s, 0, avail);
        if (z == NULL) {
            /* No delimiter yet: if what we hold can no longer be a frame,
             * drop it and skip to the next delimiter. */
            if (avail > FRAME_COBS_MAX) {
                if (!d->skipping) {
                    d->st.dropped++;
                    d->st.overflow++;
                }
                d->skipping = 1;
                (void)buf_skip(&d->in, avail);
            }
            return MAMORI_ERR_AGAIN;
        }
        flen = (size_t)(z - s);
        (void)buf_skip(&d->in, flen + 1);
        if (d->skipping) {
            d->skipping = 0; /* the tail of an overlong frame ends here */
            continue;
        }
        if (flen == 0)
            continue; /* idle delimiter */
        if (flen > FRAME_COBS_MAX) {
            d->st.dropped++;
            d->st.overflow++;
            continue;
        }
        buf_reset(&d->out);
        if (buf_reserve(&d->out, flen, &dst) != 0 || frame_cobs_decode(s, flen, dst, &dn) != 0 ||
            dn <= FRAME_CRC_LEN || dn - FRAME_CRC_LEN > FRAME_MAX) {
            d->st.dropped++;
            continue;
        }
        crc = ((uint32_t)dst[dn - 4] << 24) | ((uint32_t)dst[dn - 3] << 16) |
              ((uint32_t)dst[dn - 2] << 8) | dst[dn - 1];
        if (crc != frame_crc32c(dst, dn - FRAME_CRC_LEN)) {
            d->st.dropped++;
            d->st.bad_crc++;
            continue;
        }
        *ret_p = dst;
        *ret_n = dn - FRAME_CRC_LEN;
        d->st.frames++;
        return 0;
    }
}

int frame_dec_next(struct frame_dec *d, const uint8_t **ret_p, size_t *ret_n)
{
    if (d->kind == FRAME_STREAM)
        return next_stream(d, ret_p, ret_n);
    return next_serial(d, ret_p, ret_n);
}
