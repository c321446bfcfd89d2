/*
 * jtext: owns Japanese text handling for printed and displayed text:
 * UTF-8 well-formedness, East Asian display width, fitting to columns, yen
 * formatting, and the UTF-8 <-> CP932 conversion through iconv.
 * It does not own layout (receipt.c, linedisp.c).
 */
#include "pos/jtext.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

#include "mamori/err.h"

/* Decode one code point at s[0..n); returns its length (1..4) or 0 if malformed. */
static size_t utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    uint8_t c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

bool jtext_utf8_valid(const void *p, size_t n)
{
    const uint8_t *s = p;
    size_t i = 0;
    uint32_t cp;
    if (p == NULL && n > 0)
        return false;
    while (i < n) {
        size_t l = utf8_decode(s + i, n - i, &cp);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

/* Columns of one code point: half-width katakana (U+FF61..FF9F) and ASCII 1,
 * other CJK / full-width ranges 2, combining marks 0. */
static size_t cp_width(uint32_t cp)
{
    if (cp < 0x20 || cp == 0x7F)
        return 0;
    if (cp < 0x1100)
        return (cp >= 0x0300 && cp <= 0x036F) ? 0 : 1;
    if (cp >= 0xFF61 && cp <= 0xFF9F)
        return 1;
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    /* ※ ★ ○ and similar symbols print full-width on Japanese printers (CP932 double-byte). */
    if ((cp >= 0x2000 && cp <= 0x2BFF) || cp == 0x00A7 || cp == 0x00A8 || cp == 0x00B0 ||
        cp == 0x00B1 || cp == 0x00B4 || cp == 0x00B6 || cp == 0x00D7 || cp == 0x00F7 ||
        (cp >= 0x0391 && cp <= 0x03C9) || (cp >= 0x0401 && cp <= 0x0451))
        return 2;
    return 1;
}

int jtext_width(const char *s, size_t *ret)
{
    if (s == NULL)
        return MAMORI_ERR_INVAL;
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s), i = 0, w = 0;
    uint32_t cp;
    while (i < n) {
        size_t l = utf8_decode(p + i, n - i, &cp);
        if (l == 0)
            return MAMORI_ERR_INVAL;
        w += cp_width(cp);
        i += l;
    }
    *ret = w;
    return 0;
}

int jtext_put_fit(struct buf *out, const char *s, size_t cols, bool pad)
{
    if (s == NULL)
        return MAMORI_ERR_INVAL;
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s), i = 0, w = 0;
    uint32_t cp;
    int r;
    while (i < n) {
        size_t l = utf8_decode(p + i, n - i, &cp);
        if (l == 0)
            return MAMORI_ERR_INVAL;
        size_t cw = cp_width(cp);
        if (cp < 0x20 || cp == 0x7F)
            return MAMORI_ERR_INVAL; /* no control characters in printed text */
        if (w + cw > cols)
            break;
        if ((r = buf_put_bytes(out, p + i, l)))
            return r;
        w += cw;
        i += l;
    }
    while (pad && w < cols) {
        if ((r = buf_put_u8(out, ' ')))
            return r;
        w++;
    }
    return 0;
}

int jtext_commas(int64_t amount, char *ret, size_t ret_len)
{
    char tmp[32];
    char out[40];
    size_t o = 0;
    bool neg = amount < 0;
    uint64_t v = neg ? (uint64_t)0 - (uint64_t)amount : (uint64_t)amount;
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    if (n <= 0 || (size_t)n >= sizeof(tmp))
        return MAMORI_ERR_INTERNAL;
    if (neg)
        out[o++] = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = tmp[i];
    }
    out[o] = '\0';
    if (o + 1 > ret_len)
        return MAMORI_ERR_TOOBIG;
    memcpy(ret, out, o + 1);
    return 0;
}

int jtext_yen(int64_t amount, char *ret, size_t ret_len)
{
    char c[40], out[48];
    if (amount == INT64_MIN)
        return MAMORI_ERR_INVAL;
    int r = jtext_commas(amount < 0 ? -amount : amount, c, sizeof(c));
    if (r)
        return r;
    /* "￥" is U+FFE5 (CP932 0x81 0x8F): never 0x5C (DOMAIN.md §5.2). */
    int n = snprintf(out, sizeof(out), "%s\xEF\xBF\xA5%s", amount < 0 ? "-" : "", c);
    if (n < 0 || (size_t)n + 1 > ret_len)
        return MAMORI_ERR_TOOBIG;
    memcpy(ret, out, (size_t)n + 1);
    return 0;
}

static int convert(const char *to, const char *from, const void *p, size_t n, struct buf *out)
{
    iconv_t cd = iconv_open(to, from);
    if (cd == (iconv_t)-1)
        return MAMORI_ERR_UNSUPPORTED;
    char *in = (char *)(uintptr_t)p; /* iconv's prototype is not const-correct */
    size_t inleft = n;
    int r = 0;
    while (inleft > 0) {
        char tmp[256];
        char *o = tmp;
        size_t oleft = sizeof(tmp);
        size_t k = iconv(cd, &in, &inleft, &o, &oleft);
        if ((r = buf_put_bytes(out, tmp, sizeof(tmp) - oleft)))
            break;
        if (k == (size_t)-1 && errno != E2BIG) {
            r = MAMORI_ERR_INVAL; /* EILSEQ / EINVAL: not representable or truncated */
            break;
        }
    }
    iconv_close(cd);
    return r;
}

int jtext_to_cp932(const char *s, size_t n, struct buf *out)
{
    if (s == NULL || !jtext_utf8_valid(s, n))
        return MAMORI_ERR_INVAL;
    return convert("CP932", "UTF-8", s, n, out);
}

int jtext_from_cp932(const void *p, size_t n, struct buf *out)
{
    if (p == NULL && n > 0)
        return MAMORI_ERR_INVAL;
    return convert("UTF-8", "CP932", p, n, out);
}
