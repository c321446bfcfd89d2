/*
 * buf.c: bounds-checked byte buffer. Owns the growth policy (doubling, capped
 * at max) and the wipe-on-release rule for secret buffers. Does not own any
 * knowledge of what the bytes mean.
 */
#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mamori/err.h"

void buf_init(struct buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max ? max : BUF_MAX_DEFAULT;
}

void buf_init_secret(struct buf *b, size_t max)
{
    buf_init(b, max);
    b->secret = true;
}

void buf_view(struct buf *b, const void *p, size_t n)
{
    memset(b, 0, sizeof(*b));
    b->d = (uint8_t *)(uintptr_t)p;
    b->len = n;
    b->cap = n;
    b->max = n;
    b->view = true;
}

void buf_free(struct buf *b)
{
    if (b == NULL)
        return;
    if (!b->view && b->d != NULL) {
        if (b->secret)
            sodium_memzero(b->d, b->cap);
        free(b->d);
    }
    bool secret = b->secret;
    size_t max = b->max;
    memset(b, 0, sizeof(*b));
    b->secret = secret;
    b->max = max;
}

void buf_reset(struct buf *b)
{
    if (b->view) {
        b->off = 0;
        return;
    }
    if (b->secret && b->d != NULL)
        sodium_memzero(b->d, b->cap);
    b->off = 0;
    b->len = 0;
}

size_t buf_remaining(const struct buf *b)
{
    return b->len - b->off;
}

const uint8_t *buf_ptr(const struct buf *b)
{
    return b->d != NULL ? b->d + b->off : (const uint8_t *)"";
}

int buf_get_ptr(struct buf *b, size_t n, const uint8_t **ret)
{
    if (buf_remaining(b) < n)
        return MAMORI_ERR_SHORT;
    *ret = buf_ptr(b);
    b->off += n;
    return 0;
}

int buf_skip(struct buf *b, size_t n)
{
    const uint8_t *p;
    return buf_get_ptr(b, n, &p);
}

int buf_get_bytes(struct buf *b, void *out, size_t n)
{
    const uint8_t *p;
    int r = buf_get_ptr(b, n, &p);
    if (r == 0 && n > 0)
        memcpy(out, p, n);
    return r;
}

int buf_get_u8(struct buf *b, uint8_t *ret)
{
    return buf_get_bytes(b, ret, 1);
}

int buf_get_u16(struct buf *b, uint16_t *ret)
{
    const uint8_t *p;
    int r = buf_get_ptr(b, 2, &p);
    if (r == 0)
        *ret = (uint16_t)((unsigned)p[0] << 8 | p[1]);
    return r;
}

int buf_get_u32(struct buf *b, uint32_t *ret)
{
    const uint8_t *p;
    int r = buf_get_ptr(b, 4, &p);
    if (r == 0)
        *ret = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return r;
}

int buf_get_u64(struct buf *b, uint64_t *ret)
{
    const uint8_t *p;
    int r = buf_get_ptr(b, 8, &p);
    if (r == 0) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v = v << 8 | p[i];
        *ret = v;
    }
    return r;
}

int buf_end(const struct buf *b)
{
    return buf_remaining(b) == 0 ? 0 : MAMORI_ERR_TRAILING;
}

void buf_compact(struct buf *b)
{
    if (b->view || b->off == 0)
        return;
    size_t n = buf_remaining(b);
    memmove(b->d, b->d + b->off, n);
    if (b->secret)
        sodium_memzero(b->d + n, b->len - n);
    b->len = n;
    b->off = 0;
}

int buf_reserve(struct buf *b, size_t n, uint8_t **ret)
{
    if (b->view)
        return MAMORI_ERR_INVAL;
    if (n > b->max || b->len > b->max - n)
        return MAMORI_ERR_TOOBIG;
    size_t need = b->len + n;
    if (need > b->cap) {
        size_t ncap = b->cap ? b->cap : 64;
        while (ncap < need)
            ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
        if (ncap > b->max)
            ncap = b->max;
        uint8_t *nd;
        if (b->secret) {
            /* Never let realloc leave a copy of a secret behind. */
            nd = malloc(ncap);
            if (nd == NULL)
                return MAMORI_ERR_NOMEM;
            if (b->d != NULL) {
                memcpy(nd, b->d, b->len);
                sodium_memzero(b->d, b->cap);
                free(b->d);
            }
        } else {
            nd = realloc(b->d, ncap);
            if (nd == NULL)
                return MAMORI_ERR_NOMEM;
        }
        b->d = nd;
        b->cap = ncap;
    }
    *ret = b->d + b->len;
    b->len += n;
    return 0;
}

int buf_put_bytes(struct buf *b, const void *p, size_t n)
{
    uint8_t *dst;
    int r = buf_reserve(b, n, &dst);
    if (r == 0 && n > 0)
        memcpy(dst, p, n);
    return r;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
    return buf_put_bytes(b, &v, 1);
}

int buf_put_u16(struct buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return buf_put_bytes(b, p, 2);
}

int buf_put_u32(struct buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return buf_put_bytes(b, p, 4);
}

int buf_put_u64(struct buf *b, uint64_t v)
{
    uint8_t p[8];
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
    return buf_put_bytes(b, p, 8);
}
