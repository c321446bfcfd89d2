/*
 * cardcrypt.c: owns the card-data and PIN envelopes (format in cardcrypt.h).
 * Owns no keys beyond one call: working keys are derived into guarded
 * memory and freed before return.
 */
#include "devices/cardcrypt.h"

#include <string.h>

#include "common/field.h"
#include "common/secmem.h"
#include "crypto/symm.h"
#include "devices/devbody.h"
#include "mamori/err.h"

static enum dukpt_aes_key_type wk_type(size_t ik_len)
{
    return ik_len == 16 ? DUKPT_AES_AES128 : DUKPT_AES_AES256;
}

static int encrypt_envelope(struct dukpt_aes_device *d, uint8_t entry, const uint8_t *t1, size_t n1,
                            const uint8_t *t2, size_t n2, struct cardcrypt_record *ret)
{
    struct cardcrypt_record rec;
    uint8_t *k = NULL, *plain = NULL, zero_iv[16] = {0};
    uint8_t macin[DUKPT_AES_KSN_LEN + CARDCRYPT_CT_MAX];
    int r;
    if (d == NULL || ret == NULL || n1 > TRACK1_MAX || n2 > TRACK2_MAX || (n1 == 0 && n2 == 0) ||
        (n1 > 0 && t1 == NULL) || (n2 > 0 && t2 == NULL))
        return MAMORI_ERR_INVAL;
    enum dukpt_aes_key_type type = wk_type(dukpt_aes_device_key_len(d));
    size_t kl = dukpt_aes_key_len(type);
    size_t used = 3 + n1 + n2, plen = (used / 16 + 1) * 16; /* method 2 always adds 0x80 */
    memset(&rec, 0, sizeof(rec));
    if ((k = secmem_new(2 * DUKPT_AES_KEY_MAX)) == NULL || (plain = secmem_new(CARDCRYPT_CT_MAX)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    plain[0] = entry;
    plain[1] = (uint8_t)n1;
    if (n1 > 0)
        memcpy(plain + 2, t1, n1);
    plain[2 + n1] = (uint8_t)n2;
    if (n2 > 0)
        memcpy(plain + 3 + n1, t2, n2);
    plain[used] = 0x80;
    if ((r = dukpt_aes_device_next(d, rec.ksn)) != 0 ||
        (r = dukpt_aes_device_working_key(d, DUKPT_USAGE_DATA_ENC, type, k)) != 0 ||
        (r = dukpt_aes_device_working_key(d, DUKPT_USAGE_MAC_GEN, type, k + DUKPT_AES_KEY_MAX)) != 0 ||
        (r = symm_crypt(SYMM_AES, 1, k, kl, zero_iv, plain, rec.ct, plen)) != 0)
        goto out;
    rec.ct_len = plen;
    memcpy(macin, rec.ksn, DUKPT_AES_KSN_LEN);
    memcpy(macin + DUKPT_AES_KSN_LEN, rec.ct, plen);
    if ((r = symm_cmac(SYMM_AES, k + DUKPT_AES_KEY_MAX, kl, macin, DUKPT_AES_KSN_LEN + plen, rec.mac)) != 0)
        goto out;
    *ret = rec;
out:
    secmem_free(k);
    secmem_free(plain);
    return r;
}

int card_encrypt_tracks(struct dukpt_aes_device *d, const uint8_t *t1, size_t n1, const uint8_t *t2, size_t n2,
                        struct cardcrypt_record *ret)
{
    return encrypt_envelope(d, CARDCRYPT_ENTRY_SWIPE, t1, n1, t2, n2, ret);
}

void cardcrypt_tracks_free(struct cardcrypt_tracks *t)
{
    secmem_free(t);
}

int card_decrypt_tracks(struct dukpt_aes_host *h, const struct cardcrypt_record *rec, struct cardcrypt_tracks **ret)
{
    uint8_t *k = NULL, *plain = NULL, zero_iv[16] = {0}, mac[16];
    uint8_t macin[DUKPT_AES_KSN_LEN + CARDCRYPT_CT_MAX];
    struct cardcrypt_tracks *t = NULL;
    int r;
    if (h == NULL || rec == NULL || ret == NULL || rec->ct_len == 0 || rec->ct_len > CARDCRYPT_CT_MAX ||
        rec->ct_len % 16 != 0)
        return MAMORI_ERR_INVAL;
    enum dukpt_aes_key_type type = wk_type(dukpt_aes_host_key_len(h));
    size_t kl = dukpt_aes_key_len(type);
    if ((k = secmem_new(2 * DUKPT_AES_KEY_MAX)) == NULL || (plain = secmem_new(CARDCRYPT_CT_MAX)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    /* MAC first: nothing is decrypted unless the envelope is authentic. */
    memcpy(macin, rec->ksn, DUKPT_AES_KSN_LEN);
    memcpy(macin + DUKPT_AES_KSN_LEN, rec->ct, rec->ct_len);
    if ((r = dukpt_aes_host_working_key(h, rec->ksn, DUKPT_USAGE_MAC_GEN, type, k + DUKPT_AES_KEY_MAX)) != 0 ||
        (r = symm_cmac(SYMM_AES, k + DUKPT_AES_KEY_MAX, kl, macin, DUKPT_AES_KSN_LEN + rec->ct_len, mac)) != 0)
        goto out;
    if (!secmem_eq(mac, rec->mac, CARDCRYPT_MAC_LEN)) {
        r = MAMORI_ERR_AUTH;
        goto out;
    }
    if ((r = dukpt_aes_host_working_key(h, rec->ksn, DUKPT_USAGE_DATA_ENC, type, k)) != 0 ||
        (r = symm_crypt(SYMM_AES, 0, k, kl, zero_iv, rec->ct, plain, rec->ct_len)) != 0)
        goto out;
    /* Parse the plaintext strictly: entry mode, two lengths, method-2 padding. */
    r = MAMORI_ERR_INVAL;
    size_t n1 = plain[1];
    if ((plain[0] != CARDCRYPT_ENTRY_SWIPE && plain[0] != CARDCRYPT_ENTRY_CHIP) || n1 > TRACK1_MAX ||
        3 + n1 > rec->ct_len || (plain[0] == CARDCRYPT_ENTRY_CHIP && n1 != 0))
        goto out;
    size_t n2 = plain[2 + n1];
    size_t used = 3 + n1 + n2;
    if (n2 > TRACK2_MAX || used >= rec->ct_len || (n1 == 0 && n2 == 0) || plain[used] != 0x80 ||
        rec->ct_len != (used / 16 + 1) * 16)
        goto out;
    for (size_t i = used + 1; i < rec->ct_len; i++)
        if (plain[i] != 0)
            goto out;
    if ((t = secmem_new(sizeof(*t))) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    memcpy(t->t1, plain + 2, n1);
    t->n1 = n1;
    memcpy(t->t2, plain + 3 + n1, n2);
    t->n2 = n2;
    t->entry = plain[0];
    if (t->entry == CARDCRYPT_ENTRY_CHIP && n2 == 0) {
        cardcrypt_tracks_free(t);
        t = NULL;
        goto out; /* a chip record is a track 2 image */
    }
    *ret = t;
    r = 0;
out:
    secmem_free(k);
    secmem_free(plain);
    secmem_wipe(macin, sizeof(macin));
    return r;
}

int card_encrypt_pin(struct dukpt_aes_device *d, const char *pin, const char *pan, const uint8_t *fill,
                     struct cardcrypt_pin *ret)
{
    struct cardcrypt_pin p;
    uint8_t *k = NULL, probe[16];
    int r;
    if (d == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    /* Check PIN and PAN before spending a KSN on them. */
    if ((r = pinblock_iso4_pin_field(pin, fill, probe)) != 0 || (r = pinblock_iso4_pan_field(pan, probe)) != 0)
        goto out;
    enum dukpt_aes_key_type type = wk_type(dukpt_aes_device_key_len(d));
    if ((k = secmem_new(DUKPT_AES_KEY_MAX)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    if ((r = dukpt_aes_device_next(d, p.ksn)) != 0 ||
        (r = dukpt_aes_device_working_key(d, DUKPT_USAGE_PIN, type, k)) != 0 ||
        (r = pinblock_iso4_encipher(k, dukpt_aes_key_len(type), pin, pan, fill, p.block)) != 0)
        goto out;
    *ret = p;
out:
    secmem_wipe(probe, sizeof(probe));
    secmem_free(k);
    return r;
}

int card_decrypt_pin(struct dukpt_aes_host *h, const struct cardcrypt_pin *p, const char *pan,
                     char ret_pin[static PINBLOCK_PIN_BUF])
{
    uint8_t *k;
    int r;
    if (h == NULL || p == NULL || ret_pin == NULL)
        return MAMORI_ERR_INVAL;
    enum dukpt_aes_key_type type = wk_type(dukpt_aes_host_key_len(h));
    if ((k = secmem_new(DUKPT_AES_KEY_MAX)) == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = dukpt_aes_host_working_key(h, p->ksn, DUKPT_USAGE_PIN, type, k)) == 0)
        r = pinblock_iso4_decipher(k, dukpt_aes_key_len(type), p->block, PINBLOCK_ISO4_LEN, pan, ret_pin);
    secmem_free(k);
    return r;
}

static int read_card(struct dukpt_aes_device *d, uint8_t entry, const uint8_t *t1, size_t n1, const uint8_t *t2,
                     size_t n2, struct cardcrypt_read *ret)
{
    struct track_data a, b;
    struct cardcrypt_read out;
    int r;
    if (d == NULL || ret == NULL || (n1 == 0 && n2 == 0))
        return MAMORI_ERR_INVAL;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&out, 0, sizeof(out));
    if (n1 > 0 && (r = track1_parse(t1, n1, &a)) != 0)
        goto out;
    if (n2 > 0 && (r = track2_parse(t2, n2, &b)) != 0)
        goto out;
    if (n1 > 0 && n2 > 0 && strcmp(a.pan, b.pan) != 0) {
        r = MAMORI_ERR_INVAL; /* two tracks of different cards: a forged or mixed read */
        goto out;
    }
    const struct track_data *t = n2 > 0 ? &b : &a;
    field_mask_pan(out.masked_pan, sizeof(out.masked_pan), t->pan);
    memcpy(out.last4, t->pan + strlen(t->pan) - 4, 5);
    memcpy(out.expiry, t->expiry, sizeof(out.expiry));
    if ((r = encrypt_envelope(d, entry, t1, n1, t2, n2, &out.rec)) != 0)
        goto out;
    *ret = out;
out:
    track_data_wipe(&a);
    track_data_wipe(&b);
    secmem_wipe(&out, sizeof(out));
    return r;
}

int card_msr_read(struct dukpt_aes_device *d, const uint8_t *t1, size_t n1, const uint8_t *t2, size_t n2,
                  struct cardcrypt_read *ret)
{
    return read_card(d, CARDCRYPT_ENTRY_SWIPE, t1, n1, t2, n2, ret);
}

int card_chip_read(struct dukpt_aes_device *d, const uint8_t *t2, size_t n2, struct cardcrypt_read *ret)
{
    if (t2 == NULL || n2 == 0)
        return MAMORI_ERR_INVAL;
    return read_card(d, CARDCRYPT_ENTRY_CHIP, NULL, 0, t2, n2, ret);
}

cbor_item_t *card_read_body(const struct cardcrypt_read *rd)
{
    cbor_item_t *m = devbody_new();
    if (rd == NULL || devbody_put_str(m, "masked_pan", rd->masked_pan) || devbody_put_str(m, "expiry", rd->expiry) ||
        devbody_put_bytes(m, "ksn", rd->rec.ksn, sizeof(rd->rec.ksn)) ||
        devbody_put_bytes(m, "ct", rd->rec.ct, rd->rec.ct_len) ||
        devbody_put_bytes(m, "mac", rd->rec.mac, sizeof(rd->rec.mac))) {
        if (m != NULL)
            cbor_decref(&m);
        return NULL;
    }
    return m;
}
