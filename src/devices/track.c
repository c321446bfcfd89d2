/*
 * track.c: owns magnetic stripe track parsing (ISO/IEC 7813 track 1 format B
 * and track 2) and the Luhn check. Owns no I/O and keeps no copy of the
 * input; all reading goes through struct buf with the track's maximum.
 */
#include "devices/track.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/secmem.h"
#include "mamori/err.h"

static bool digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int luhn_sum(const char *s, size_t n, int double_last)
{
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = s[n - 1 - i] - '0';
        if ((i % 2 == 0) == (double_last != 0)) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10;
}

static size_t digits_only(const char *s)
{
    size_t n = 0;
    if (s == NULL)
        return 0;
    while (s[n] != '\0') {
        if (n >= TRACK_LUHN_MAX || !digit((uint8_t)s[n]))
            return 0;
        n++;
    }
    return n;
}

bool track_luhn_ok(const char *digits)
{
    size_t n = digits_only(digits);
    return n > 0 && luhn_sum(digits, n, 0) == 0;
}

int track_luhn_digit(const char *body)
{
    size_t n = digits_only(body);
    if (n == 0 || n >= TRACK_LUHN_MAX)
        return -1;
    int s = luhn_sum(body, n, 1);
    return '0' + (10 - s) % 10;
}

bool track_expiry_ok(const char *yymm, int year, int month)
{
    if (yymm == NULL || strlen(yymm) != 4)
        return false;
    for (int i = 0; i < 4; i++)
        if (!digit((uint8_t)yymm[i]))
            return false;
    int yy = (yymm[0] - '0') * 10 + (yymm[1] - '0');
    int mm = (yymm[2] - '0') * 10 + (yymm[3] - '0');
    if (mm < 1 || mm > 12)
        return false;
    int y = 2000 + yy;
    return y > year || (y == year && mm >= month);
}

void track_data_wipe(struct track_data *t)
{
    if (t != NULL)
        secmem_wipe(t, sizeof(*t));
}

/* Digits up to (not including) sep, min..max of them; sep consumed. */
static int get_digits_until(struct buf *b, uint8_t sep, size_t min, size_t max, char *out)
{
    size_t n = 0;
    uint8_t c;
    int r;
    for (;;) {
        if ((r = buf_get_u8(b, &c)) != 0)
            return MAMORI_ERR_INVAL;
        if (c == sep)
            break;
        if (!digit(c) || n >= max)
            return MAMORI_ERR_INVAL;
        out[n++] = (char)c;
    }
    if (n < min)
        return MAMORI_ERR_INVAL;
    out[n] = '\0';
    return 0;
}

static int get_fixed_digits(struct buf *b, size_t n, char *out)
{
    const uint8_t *p;
    if (buf_get_ptr(b, n, &p) != 0)
        return MAMORI_ERR_INVAL;
    for (size_t i = 0; i < n; i++) {
        if (!digit(p[i]))
            return MAMORI_ERR_INVAL;
        out[i] = (char)p[i];
    }
    out[n] = '\0';
    return 0;
}

static bool month_ok(const char *yymm)
{
    int mm = (yymm[2] - '0') * 10 + (yymm[3] - '0');
    return mm >= 1 && mm <= 12;
}

/* The discretionary data up to the end sentinel, which must be last. */
static int get_tail(struct buf *b, uint8_t lo, uint8_t hi, size_t *ret_len)
{
    size_t n = 0;
    uint8_t c;
    for (;;) {
        if (buf_get_u8(b, &c) != 0)
            return MAMORI_ERR_INVAL; /* no end sentinel */
        if (c == '?')
            break;
        if (c < lo || c > hi || c == '%' || c == ';' || c == '^') /* no sentinels or separators */
            return MAMORI_ERR_INVAL;
        n++;
    }
    if (buf_end(b) != 0)
        return MAMORI_ERR_INVAL;
    *ret_len = n;
    return 0;
}

int track1_parse(const uint8_t *p, size_t n, struct track_data *ret)
{
    struct buf b;
    struct track_data t;
    uint8_t c;
    int r;
    if (p == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if (n > TRACK1_MAX)
        return MAMORI_ERR_TOOBIG;
    memset(&t, 0, sizeof(t));
    buf_view(&b, p, n);
    if (buf_get_u8(&b, &c) != 0 || c != '%' || buf_get_u8(&b, &c) != 0 || c != 'B') {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if ((r = get_digits_until(&b, '^', TRACK_PAN_MIN, TRACK_PAN_MAX, t.pan)) != 0)
        goto out;
    /* Name: 2..26 characters of the 6-bit set, no separators or sentinels. */
    size_t nl = 0;
    for (;;) {
        if (buf_get_u8(&b, &c) != 0) {
            r = MAMORI_ERR_INVAL;
            goto out;
        }
        if (c == '^')
            break;
        if (c < 0x20 || c > 0x5f || c == '%' || c == '?' || nl >= TRACK_NAME_MAX) {
            r = MAMORI_ERR_INVAL;
            goto out;
        }
        t.name[nl++] = (char)c;
    }
    if (nl < TRACK_NAME_MIN) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if ((r = get_fixed_digits(&b, 4, t.expiry)) != 0 || (r = get_fixed_digits(&b, 3, t.service_code)) != 0)
        goto out;
    if (!month_ok(t.expiry)) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if ((r = get_tail(&b, 0x20, 0x5f, &t.discretionary_len)) != 0)
        goto out;
    if (!track_luhn_ok(t.pan)) {
        r = MAMORI_ERR_CHECKSUM;
        goto out;
    }
    *ret = t;
out:
    secmem_wipe(&t, sizeof(t));
    return r;
}

int track2_parse(const uint8_t *p, size_t n, struct track_data *ret)
{
    struct buf b;
    struct track_data t;
    uint8_t c;
    int r;
    if (p == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if (n > TRACK2_MAX)
        return MAMORI_ERR_TOOBIG;
    memset(&t, 0, sizeof(t));
    buf_view(&b, p, n);
    if (buf_get_u8(&b, &c) != 0 || c != ';') {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if ((r = get_digits_until(&b, '=', TRACK_PAN_MIN, TRACK_PAN_MAX, t.pan)) != 0)
        goto out;
    /* Expiry: 4 digits or '=' (absent); service code: 3 digits or '='. */
    if (buf_remaining(&b) > 0 && buf_ptr(&b)[0] == '=') {
        (void)buf_skip(&b, 1);
    } else if ((r = get_fixed_digits(&b, 4, t.expiry)) != 0 || !month_ok(t.expiry)) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if (buf_remaining(&b) > 0 && buf_ptr(&b)[0] == '=') {
        (void)buf_skip(&b, 1);
    } else if ((r = get_fixed_digits(&b, 3, t.service_code)) != 0) {
        goto out;
    }
    if ((r = get_tail(&b, '0', '>', &t.discretionary_len)) != 0)
        goto out;
    if (!track_luhn_ok(t.pan)) {
        r = MAMORI_ERR_CHECKSUM;
        goto out;
    }
    *ret = t;
out:
    secmem_wipe(&t, sizeof(t));
    return r;
}

int track_parse(const uint8_t *p, size_t n, struct track_data *ret)
{
    if (p == NULL || n == 0)
        return MAMORI_ERR_INVAL;
    if (p[0] == '%')
        return track1_parse(p, n, ret);
    if (p[0] == ';')
        return track2_parse(p, n, ret);
    return MAMORI_ERR_INVAL;
}

int track_chip_image(const char *pan, const char *yymm, char ret[static TRACK2_MAX + 1], size_t *ret_n)
{
    char img[TRACK2_MAX + 1];
    struct track_data td;
    int n, r;
    if (pan == NULL || yymm == NULL || ret_n == NULL || strlen(yymm) != 4 || strspn(yymm, "0123456789") != 4)
        return MAMORI_ERR_INVAL;
    n = snprintf(img, sizeof(img), ";%s=%s=?", pan, yymm);
    if (n < 0 || (size_t)n >= sizeof(img)) {
        secmem_wipe(img, sizeof(img));
        return MAMORI_ERR_TOOBIG;
    }
    /* The same rules (format, Luhn) a swiped track gets. */
    if ((r = track2_parse((const uint8_t *)img, (size_t)n, &td)) == 0) {
        track_data_wipe(&td);
        memcpy(ret, img, sizeof(img));
        *ret_n = (size_t)n;
    }
    secmem_wipe(img, sizeof(img));
    return r;
}
