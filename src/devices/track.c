/*
 * track.c: ISO/IEC 7813 track 1 / track 2 parsing for the card reader
 * firmware (track.h). Reads only through struct buf with hard limits. Owns
 * the syntax of tracks; does not own encryption (cardcrypt.h) or any
 * judgement about the card (Luhn, expiry: the payment host decides).
 */
#include "devices/track.h"

#include <string.h>

#include "common/buf.h"
#include "common/secmem.h"
#include "mamori/err.h"

void track_wipe(struct track_card *c)
{
    if (c != NULL)
        secmem_wipe(c, sizeof(*c));
}

static bool is_digit(uint8_t ch)
{
    return ch >= '0' && ch <= '9';
}

/* Digits up to (not including) sep into out (min..max of them); consumes sep. */
static int get_digits_until(struct buf *b, uint8_t sep, char *out, size_t min, size_t max)
{
    size_t n = 0;
    uint8_t ch;
    int r;
    for (;;) {
        if ((r = buf_get_u8(b, &ch)))
            return MAMORI_ERR_INVAL;
        if (ch == sep)
            break;
        if (!is_digit(ch) || n >= max)
            return MAMORI_ERR_INVAL;
        out[n++] = (char)ch;
    }
    if (n < min)
        return MAMORI_ERR_INVAL;
    out[n] = '\0';
    return 0;
}

/* YYMM then SSS, each may be replaced by one sep (absent); the rest is
 * discretionary data in the track's character set. */
static int get_tail(struct buf *b, uint8_t sep, struct track_card *c, uint8_t lo, uint8_t hi)
{
    uint8_t ch;
    char tmp[5];
    if (buf_remaining(b) >= 1 && buf_ptr(b)[0] == sep) {
        (void)buf_skip(b, 1);
        c->expiry[0] = '\0';
    } else {
        if (buf_get_bytes(b, tmp, 4))
            return MAMORI_ERR_INVAL;
        for (int i = 0; i < 4; i++)
            if (!is_digit((uint8_t)tmp[i]))
                return MAMORI_ERR_INVAL;
        int mm = (tmp[2] - '0') * 10 + (tmp[3] - '0');
        if (mm < 1 || mm > 12)
            return MAMORI_ERR_INVAL;
        memcpy(c->expiry, tmp, 4);
        c->expiry[4] = '\0';
    }
    if (buf_remaining(b) >= 1 && buf_ptr(b)[0] == sep) {
        (void)buf_skip(b, 1);
        c->service[0] = '\0';
    } else if (buf_remaining(b) >= 3) {
        if (buf_get_bytes(b, tmp, 3))
            return MAMORI_ERR_INVAL;
        for (int i = 0; i < 3; i++)
            if (!is_digit((uint8_t)tmp[i]))
                return MAMORI_ERR_INVAL;
        memcpy(c->service, tmp, 3);
        c->service[3] = '\0';
    } else if (buf_remaining(b) != 0) {
        return MAMORI_ERR_INVAL;
    }
    while (buf_get_u8(b, &ch) == 0)
        if (ch < lo || ch > hi || ch == '?' || ch == ';' || ch == '%' || ch == sep)
            return MAMORI_ERR_INVAL;
    return 0;
}

/* Strip a start sentinel s and the end sentinel '?' (both or neither). */
static int strip(const char *t, size_t n, char s, size_t max, struct buf *b)
{
    if (t == NULL || n == 0)
        return MAMORI_ERR_INVAL;
    if (n > max)
        return MAMORI_ERR_TOOBIG;
    bool start = t[0] == s, end = t[n - 1] == '?';
    if (start != end || (start && n < 2))
        return MAMORI_ERR_INVAL;
    if (start)
        buf_view(b, t + 1, n - 2);
    else
        buf_view(b, t, n);
    return 0;
}

int track_parse1(const char *t, size_t n, struct track_card *ret)
{
    struct track_card c;
    struct buf b;
    uint8_t ch;
    size_t nl = 0;
    int r;
    memset(&c, 0, sizeof(c));
    if ((r = strip(t, n, '%', TRACK1_MAX, &b)))
        return r;
    if (buf_get_u8(&b, &ch) || ch != 'B')
        return MAMORI_ERR_INVAL;
    if ((r = get_digits_until(&b, '^', c.pan, TRACK_PAN_MIN, TRACK_PAN_MAX)))
        goto out;
    for (;;) { /* the name: track 1 character set (0x20..0x5f) */
        if (buf_get_u8(&b, &ch) || ch < 0x20 || ch > 0x5f || ch == '%' || ch == '?') {
            r = MAMORI_ERR_INVAL;
            goto out;
        }
        if (ch == '^')
            break;
        if (nl >= TRACK_NAME_MAX) {
            r = MAMORI_ERR_INVAL;
            goto out;
        }
        c.name[nl++] = (char)ch;
    }
    if (nl < 2) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if ((r = get_tail(&b, '^', &c, 0x20, 0x5f)))
        goto out;
    c.tracks = 1;
    *ret = c;
out:
    track_wipe(&c);
    return r;
}

int track_parse2(const char *t, size_t n, struct track_card *ret)
{
    struct track_card c;
    struct buf b;
    int r;
    memset(&c, 0, sizeof(c));
    if ((r = strip(t, n, ';', TRACK2_MAX, &b)))
        return r;
    if ((r = get_digits_until(&b, '=', c.pan, TRACK_PAN_MIN, TRACK_PAN_MAX)))
        goto out;
    if ((r = get_tail(&b, '=', &c, 0x30, 0x3f)))
        goto out;
    c.tracks = 2;
    *ret = c;
out:
    track_wipe(&c);
    return r;
}

int track_parse(const char *t1, const char *t2, struct track_card *ret)
{
    struct track_card a, b;
    int r = 0;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    if (t1 == NULL && t2 == NULL)
        return MAMORI_ERR_INVAL;
    if (t1 != NULL && (r = track_parse1(t1, strlen(t1), &a)))
        goto out;
    if (t2 != NULL && (r = track_parse2(t2, strlen(t2), &b)))
        goto out;
    if (t1 != NULL && t2 != NULL) {
        /* Tracks of one card agree; a mismatch is a forged or misread card. */
        if (strcmp(a.pan, b.pan) != 0 || strcmp(a.expiry, b.expiry) != 0) {
            r = MAMORI_ERR_INVAL;
            goto out;
        }
        a.tracks |= b.tracks;
        *ret = a;
    } else {
        *ret = t1 != NULL ? a : b;
    }
out:
    track_wipe(&a);
    track_wipe(&b);
    return r;
}

void track_masked_pan(const struct track_card *c, char out[static TRACK_PAN_MAX + 1])
{
    size_t n = strlen(c->pan);
    for (size_t i = 0; i < n; i++)
        out[i] = (i < 6 && n >= 12) || i + 4 >= n ? c->pan[i] : '*';
    out[n] = '\0';
}
