/*
 * emrec.c: owns the canonical byte form of the device-signed e-money record
 * (format in emrec.h): building the bytes to sign, the whole record, the
 * strict parser of outside bytes and the signature check. It owns no key:
 * the device signs through its runner (device_io.sign), the verifier is
 * given the public key pinned at enrolment.
 */
#include "devices/emrec.h"

#include <string.h>

#include "keys/keys.h"
#include "mamori/err.h"

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

/* A masked card id: '*' then at most the last 4 digits. */
static bool masked_card(const char *s, size_t n)
{
    size_t digits = 0;
    if (n < 4 || n > EMREC_CARD_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] != '*' || digits > 0)
            return false; /* a star after a digit: not the "****1234" shape */
    }
    return digits <= 4;
}

static int check_fields(const struct emrec *e)
{
    size_t sn = strlen(e->serial), cn = strlen(e->card), tn = strlen(e->txn), in = strlen(e->idem);
    if (sn == 0 || sn > EMREC_SERIAL_MAX || !printable(e->serial, sn) || !masked_card(e->card, cn) ||
        tn > EMREC_TEXT_MAX || !printable(e->txn, tn) || in == 0 || in > EMREC_TEXT_MAX ||
        !printable(e->idem, in))
        return MAMORI_ERR_INVAL;
    if (e->seq == 0 || e->amount == 0 || e->amount > EMREC_AMOUNT_MAX || e->balance_before > EMREC_AMOUNT_MAX ||
        e->balance_before < e->amount || e->balance_before - e->amount != e->balance_after)
        return MAMORI_ERR_INVAL;
    return 0;
}

static int put_text(struct buf *b, const char *s)
{
    size_t n = strlen(s);
    int r = buf_put_u16(b, (uint16_t)n);
    return r ? r : buf_put_bytes(b, s, n);
}

int emrec_tbs(const struct emrec *e, struct buf *out)
{
    int r;
    if (e == NULL || out == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = check_fields(e)) != 0)
        return r;
    if ((r = buf_put_bytes(out, EMREC_MAGIC, 4)) || (r = buf_put_u8(out, EMREC_VERSION)) ||
        (r = put_text(out, e->serial)) || (r = put_text(out, e->card)) ||
        (r = buf_put_bytes(out, e->purse, EMREC_PURSE_LEN)) || (r = buf_put_u64(out, e->seq)) ||
        (r = buf_put_u64(out, e->amount)) || (r = buf_put_u64(out, e->balance_before)) ||
        (r = buf_put_u64(out, e->balance_after)) || (r = put_text(out, e->txn)) || (r = put_text(out, e->idem)) ||
        (r = buf_put_u64(out, e->time)))
        return r;
    return 0;
}

int emrec_encode(const struct emrec *e, struct buf *out)
{
    int r = emrec_tbs(e, out);
    return r ? r : buf_put_bytes(out, e->sig, EMREC_SIG_LEN);
}

/* u16 length, then that many bytes (at most max) into out, NUL-terminated. */
static int get_text(struct buf *b, size_t max, char *out)
{
    uint16_t n;
    int r;
    if ((r = buf_get_u16(b, &n)) != 0)
        return r;
    if (n > max)
        return MAMORI_ERR_INVAL;
    if ((r = buf_get_bytes(b, out, n)) != 0)
        return r;
    out[n] = '\0';
    if (memchr(out, '\0', n) != NULL)
        return MAMORI_ERR_INVAL;
    return 0;
}

int emrec_parse(const uint8_t *p, size_t n, struct emrec *ret)
{
    struct emrec e;
    struct buf b;
    uint8_t magic[4], ver;
    int r;
    if (p == NULL || ret == NULL || n > EMREC_MAX)
        return p == NULL || ret == NULL ? MAMORI_ERR_INVAL : MAMORI_ERR_TOOBIG;
    memset(&e, 0, sizeof(e));
    buf_view(&b, p, n);
    if ((r = buf_get_bytes(&b, magic, 4)) || (r = buf_get_u8(&b, &ver)))
        return r;
    if (memcmp(magic, EMREC_MAGIC, 4) != 0 || ver != EMREC_VERSION)
        return MAMORI_ERR_INVAL;
    if ((r = get_text(&b, EMREC_SERIAL_MAX, e.serial)) || (r = get_text(&b, EMREC_CARD_MAX, e.card)) ||
        (r = buf_get_bytes(&b, e.purse, EMREC_PURSE_LEN)) || (r = buf_get_u64(&b, &e.seq)) ||
        (r = buf_get_u64(&b, &e.amount)) || (r = buf_get_u64(&b, &e.balance_before)) ||
        (r = buf_get_u64(&b, &e.balance_after)) || (r = get_text(&b, EMREC_TEXT_MAX, e.txn)) ||
        (r = get_text(&b, EMREC_TEXT_MAX, e.idem)) || (r = buf_get_u64(&b, &e.time)) ||
        (r = buf_get_bytes(&b, e.sig, EMREC_SIG_LEN)) || (r = buf_end(&b)))
        return r;
    if ((r = check_fields(&e)) != 0)
        return r;
    *ret = e;
    return 0;
}

int emrec_verify(const uint8_t *p, size_t n, const uint8_t *pub, size_t pub_len, struct emrec *ret)
{
    struct emrec e;
    int r;
    if (pub == NULL || pub_len != EMREC_PUB_LEN)
        return MAMORI_ERR_INVAL;
    if ((r = emrec_parse(p, n, &e)) != 0)
        return r;
    /* The record parsed strictly, so its bytes less the signature are
     * exactly what the device signed (one byte form per record). */
    if ((r = keys_verify(pub, e.sig, p, n - EMREC_SIG_LEN)) != 0)
        return r == MAMORI_ERR_AUTH ? MAMORI_ERR_AUTH : r;
    if (ret != NULL)
        *ret = e;
    return 0;
}
