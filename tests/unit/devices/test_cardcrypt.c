/* Unit tests for src/devices/cardcrypt.c: device envelopes open at the host;
 * tampering, a wrong KSN and garbage are refused (DEV-7, DEV-14, POL-2). */
#include "testutil.h"

#include <string.h>

#include "devices/cardcrypt.h"
#include "mamori/err.h"

static const uint8_t bdk[16] = {0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
                                0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1};
static const uint8_t ikid[8] = {0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56};

static const char *T1 = "%B4111111111111111^YAMADA/TARO^2812101123456789?";
static const char *T2 = ";4111111111111111=28121011234567890?";

static void make(struct dukpt_aes_device **d, struct dukpt_aes_host **h)
{
    uint8_t ik[16];
    assert_int_equal(dukpt_aes_initial_key(bdk, 16, ikid, ik), 0);
    assert_int_equal(dukpt_aes_device_load(ik, 16, ikid, d), 0);
    assert_int_equal(dukpt_aes_host_new(bdk, 16, h), 0);
}

static void test_dev7_tracks_roundtrip_and_no_clear_text(void **state)
{
    struct dukpt_aes_device *d;
    struct dukpt_aes_host *h;
    struct cardcrypt_record rec, rec2;
    struct cardcrypt_tracks *t;
    make(&d, &h);
    assert_int_equal(card_encrypt_tracks(d, (const uint8_t *)T1, strlen(T1), (const uint8_t *)T2, strlen(T2),
                                         &rec), 0);
    /* the PAN digits do not appear in the envelope */
    assert_null(memmem(rec.ct, rec.ct_len, "4111111111", 10));
    assert_int_equal(card_decrypt_tracks(h, &rec, &t), 0);
    assert_int_equal(t->n1, strlen(T1));
    assert_memory_equal(t->t1, T1, t->n1);
    assert_int_equal(t->n2, strlen(T2));
    assert_memory_equal(t->t2, T2, t->n2);
    cardcrypt_tracks_free(t);
    /* the next read has a new KSN and a different ciphertext */
    assert_int_equal(card_encrypt_tracks(d, NULL, 0, (const uint8_t *)T2, strlen(T2), &rec2), 0);
    assert_memory_not_equal(rec.ksn, rec2.ksn, 12);
    assert_int_equal(card_decrypt_tracks(h, &rec2, &t), 0);
    assert_int_equal(t->n1, 0);
    cardcrypt_tracks_free(t);
    dukpt_aes_device_free(d);
    dukpt_aes_host_free(h);
}

static void test_pol2_tampered_or_foreign_envelope_refused(void **state)
{
    struct dukpt_aes_device *d;
    struct dukpt_aes_host *h, *other;
    struct cardcrypt_record rec, bad;
    struct cardcrypt_tracks *t = NULL;
    uint8_t bdk2[16];
    make(&d, &h);
    memset(bdk2, 0x42, sizeof(bdk2));
    assert_int_equal(dukpt_aes_host_new(bdk2, 16, &other), 0);
    assert_int_equal(card_encrypt_tracks(d, NULL, 0, (const uint8_t *)T2, strlen(T2), &rec), 0);
    bad = rec; /* flipped ciphertext bit */
    bad.ct[3] ^= 1;
    assert_int_equal(card_decrypt_tracks(h, &bad, &t), MAMORI_ERR_AUTH);
    bad = rec; /* other KSN (valid counter) */
    bad.ksn[11] ^= 0x02;
    assert_int_equal(card_decrypt_tracks(h, &bad, &t), MAMORI_ERR_AUTH);
    bad = rec; /* invalid counter (17 bits) */
    memset(bad.ksn + 8, 0xff, 4);
    assert_int_equal(card_decrypt_tracks(h, &bad, &t), MAMORI_ERR_INVAL);
    bad = rec; /* garbage */
    memset(bad.ct, 0xA5, sizeof(bad.ct));
    assert_int_equal(card_decrypt_tracks(h, &bad, &t), MAMORI_ERR_AUTH);
    bad = rec; /* truncated */
    bad.ct_len -= 16;
    assert_int_equal(card_decrypt_tracks(h, &bad, &t), MAMORI_ERR_AUTH);
    bad.ct_len = 7;
    assert_int_equal(card_decrypt_tracks(h, &bad, &t), MAMORI_ERR_INVAL);
    bad.ct_len = 4096;
    assert_int_equal(card_decrypt_tracks(h, &bad, &t), MAMORI_ERR_INVAL);
    assert_int_equal(card_decrypt_tracks(other, &rec, &t), MAMORI_ERR_AUTH); /* wrong BDK */
    assert_null(t);
    assert_int_equal(card_encrypt_tracks(d, NULL, 0, NULL, 0, &rec), MAMORI_ERR_INVAL);
    dukpt_aes_host_free(other);
    dukpt_aes_device_free(d);
    dukpt_aes_host_free(h);
}

static void test_dev14_pin_block_roundtrip(void **state)
{
    struct dukpt_aes_device *d;
    struct dukpt_aes_host *h;
    struct cardcrypt_pin p;
    char pin[PINBLOCK_PIN_BUF];
    make(&d, &h);
    assert_int_equal(card_encrypt_pin(d, "1234", "4111111111111111", NULL, &p), 0);
    assert_int_equal(card_decrypt_pin(h, &p, "4111111111111111", pin), 0);
    assert_string_equal(pin, "1234");
    /* bound to the PAN: another PAN does not decode */
    assert_int_equal(card_decrypt_pin(h, &p, "4111111111111112", pin), MAMORI_ERR_INVAL);
    p.block[0] ^= 0x80;
    assert_int_equal(card_decrypt_pin(h, &p, "4111111111111111", pin), MAMORI_ERR_INVAL);
    /* bad PINs are refused before a KSN is spent */
    uint8_t ksn_before[12], ksn_after[12];
    dukpt_aes_device_ksn(d, ksn_before);
    assert_int_equal(card_encrypt_pin(d, "12", "4111111111111111", NULL, &p), MAMORI_ERR_INVAL);
    assert_int_equal(card_encrypt_pin(d, "12a4", "4111111111111111", NULL, &p), MAMORI_ERR_INVAL);
    dukpt_aes_device_ksn(d, ksn_after);
    assert_memory_equal(ksn_before, ksn_after, 12);
    dukpt_aes_device_free(d);
    dukpt_aes_host_free(h);
}

static void test_dev7_msr_read_masks_and_refuses_bad_swipes(void **state)
{
    struct dukpt_aes_device *d;
    struct dukpt_aes_host *h;
    struct cardcrypt_read rd;
    struct cardcrypt_tracks *t;
    uint8_t k0[12], k1[12];
    make(&d, &h);
    assert_int_equal(card_msr_read(d, (const uint8_t *)T1, strlen(T1), (const uint8_t *)T2, strlen(T2), &rd), 0);
    assert_string_equal(rd.masked_pan, "411111******1111");
    assert_string_equal(rd.last4, "1111");
    assert_string_equal(rd.expiry, "2812");
    assert_null(memmem(&rd, sizeof(rd), "4111111111111111", 16)); /* nothing clear leaves the MSR */
    assert_int_equal(card_decrypt_tracks(h, &rd.rec, &t), 0);
    assert_memory_equal(t->t2, T2, strlen(T2));
    cardcrypt_tracks_free(t);
    /* bad swipes cost no KSN */
    dukpt_aes_device_ksn(d, k0);
    const char *mixed = ";5555555555554444=28121011234567890?";
    assert_int_equal(card_msr_read(d, (const uint8_t *)T1, strlen(T1), (const uint8_t *)mixed, strlen(mixed), &rd),
                     MAMORI_ERR_INVAL);
    const char *luhn = ";4111111111111112=2812101?";
    assert_int_equal(card_msr_read(d, NULL, 0, (const uint8_t *)luhn, strlen(luhn), &rd), MAMORI_ERR_CHECKSUM);
    assert_int_equal(card_msr_read(d, NULL, 0, (const uint8_t *)"garbage", 7, &rd), MAMORI_ERR_INVAL);
    dukpt_aes_device_ksn(d, k1);
    assert_memory_equal(k0, k1, 12);
    dukpt_aes_device_free(d);
    dukpt_aes_host_free(h);
}

/* DEV-15: the chip record (track_chip_image) is encrypted like a track but
 * marked as chip entry inside the MAC; swiped tracks are marked swipe. */
static void test_dev15_chip_record_entry_mode_inside_mac(void **state)
{
    struct dukpt_aes_device *d;
    struct dukpt_aes_host *h;
    struct cardcrypt_read rd;
    struct cardcrypt_tracks *t = NULL;
    char img[TRACK2_MAX + 1];
    size_t n;
    (void)state;
    make(&d, &h);
    assert_int_equal(track_chip_image("4111111111111111", "2812", img, &n), 0);
    assert_string_equal(img, ";4111111111111111=2812=?");
    assert_int_equal(n, strlen(img));
    assert_int_equal(track_chip_image("4111111111111112", "2812", img, &n), MAMORI_ERR_CHECKSUM);
    assert_int_equal(track_chip_image("4111111111111111", "28x2", img, &n), MAMORI_ERR_INVAL);
    assert_int_equal(track_chip_image("41111111111111111111111111111111111111", "2812", img, &n),
                     MAMORI_ERR_TOOBIG);
    assert_int_equal(track_chip_image("4111111111111111", "2812", img, &n), 0);
    assert_int_equal(card_chip_read(d, (const uint8_t *)img, n, &rd), 0);
    assert_string_equal(rd.masked_pan, "411111******1111");
    assert_int_equal(card_decrypt_tracks(h, &rd.rec, &t), 0);
    assert_int_equal(t->entry, CARDCRYPT_ENTRY_CHIP);
    assert_int_equal(t->n1, 0);
    assert_memory_equal(t->t2, img, n);
    cardcrypt_tracks_free(t);
    t = NULL;
    assert_int_equal(card_chip_read(d, NULL, 0, &rd), MAMORI_ERR_INVAL);
    assert_int_equal(card_msr_read(d, NULL, 0, (const uint8_t *)T2, strlen(T2), &rd), 0);
    assert_int_equal(card_decrypt_tracks(h, &rd.rec, &t), 0);
    assert_int_equal(t->entry, CARDCRYPT_ENTRY_SWIPE);
    cardcrypt_tracks_free(t);
    dukpt_aes_device_free(d);
    dukpt_aes_host_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dev7_tracks_roundtrip_and_no_clear_text),
        cmocka_unit_test(test_pol2_tampered_or_foreign_envelope_refused),
        cmocka_unit_test(test_dev14_pin_block_roundtrip),
        cmocka_unit_test(test_dev7_msr_read_masks_and_refuses_bad_swipes),
        cmocka_unit_test(test_dev15_chip_record_entry_mode_inside_mac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
