/* Unit tests for src/crypto/dukpt.c and aesblk.c: hostile arguments (invalid
 * counters, wrong key lengths), device persistence, counter exhaustion, and
 * the AES modes agreeing with each other. */
#include "testutil.h"

#include <string.h>

#include "crypto/aesblk.h"
#include "crypto/dukpt.h"
#include "mamori/err.h"

static const uint8_t bdk[16] = {0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
                                0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1};
static const uint8_t ikid[8] = {0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56};

static void ksn_with(uint8_t ksn[12], uint32_t c)
{
    memcpy(ksn, ikid, 8);
    ksn[8] = (uint8_t)(c >> 24);
    ksn[9] = (uint8_t)(c >> 16);
    ksn[10] = (uint8_t)(c >> 8);
    ksn[11] = (uint8_t)c;
}

static void test_dukpt_counter_validity(void **state)
{
    assert_false(dukpt_aes_counter_valid(0));
    assert_true(dukpt_aes_counter_valid(1));
    assert_true(dukpt_aes_counter_valid(0xFFFF0000u));  /* 16 bits */
    assert_false(dukpt_aes_counter_valid(0x0001FFFFu)); /* 17 bits */
    assert_false(dukpt_aes_counter_valid(0xFFFFFFFFu));
}

static void test_dukpt_hostile_arguments_refused(void **state)
{
    uint8_t ik[32], out[32], ksn[12];
    struct dukpt_aes_host *h = NULL;
    /* wrong key lengths */
    assert_int_equal(dukpt_aes_initial_key(bdk, 15, ikid, ik), MAMORI_ERR_INVAL);
    assert_int_equal(dukpt_aes_initial_key(bdk, 8, ikid, ik), MAMORI_ERR_INVAL);
    assert_int_equal(dukpt_aes_host_new(bdk, 20, &h), MAMORI_ERR_INVAL);
    assert_null(h);
    assert_int_equal(dukpt_aes_initial_key(bdk, 16, ikid, ik), 0);
    /* invalid counters: zero, 17 and 32 one-bits */
    const uint32_t bad[] = {0, 0x0001FFFFu, 0xFFFFFFFFu, 0x7FFFC000u | 0x3u};
    assert_int_equal(dukpt_aes_host_new(bdk, 16, &h), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ksn_with(ksn, bad[i]);
        assert_int_equal(dukpt_aes_derivation_key(ik, 16, ksn, out), MAMORI_ERR_INVAL);
        assert_int_equal(dukpt_aes_working_key(ik, 16, ksn, DUKPT_USAGE_PIN, DUKPT_AES_AES128, out),
                         MAMORI_ERR_INVAL);
        assert_int_equal(dukpt_aes_host_working_key(h, ksn, DUKPT_USAGE_PIN, DUKPT_AES_AES128, out),
                         MAMORI_ERR_INVAL);
    }
    /* a working key stronger than its parent, or a derivation usage as working key */
    ksn_with(ksn, 1);
    assert_int_equal(dukpt_aes_host_working_key(h, ksn, DUKPT_USAGE_PIN, DUKPT_AES_AES256, out), MAMORI_ERR_INVAL);
    assert_int_equal(dukpt_aes_host_working_key(h, ksn, DUKPT_USAGE_DERIVATION, DUKPT_AES_AES128, out),
                     MAMORI_ERR_INVAL);
    assert_int_equal(dukpt_aes_host_working_key(h, ksn, (enum dukpt_aes_usage)0x7777, DUKPT_AES_AES128, out),
                     MAMORI_ERR_INVAL);
    assert_int_equal(dukpt_aes_working_key(ik, 16, ksn, DUKPT_USAGE_PIN, (enum dukpt_aes_key_type)9, out),
                     MAMORI_ERR_INVAL);
    dukpt_aes_host_free(h);
    dukpt_aes_host_free(NULL);
    dukpt_aes_device_free(NULL);
}

/* The device after save/restore continues the same key sequence, a
 * corrupted blob is refused, and the counter never repeats. */
static void test_dukpt_device_save_restore(void **state)
{
    uint8_t ik[16], ksn[12], ksn2[12], k1[16], k2[16], blob[DUKPT_AES_STATE_LEN];
    struct dukpt_aes_device *d, *e;
    assert_int_equal(dukpt_aes_initial_key(bdk, 16, ikid, ik), 0);
    assert_int_equal(dukpt_aes_device_load(ik, 16, ikid, &d), 0);
    for (int i = 0; i < 37; i++)
        assert_int_equal(dukpt_aes_device_next(d, ksn), 0);
    assert_int_equal(dukpt_aes_device_save(d, blob), 0);
    assert_int_equal(dukpt_aes_device_restore(blob, sizeof(blob), &e), 0);
    assert_int_equal(dukpt_aes_device_working_key(e, DUKPT_USAGE_PIN, DUKPT_AES_AES128, k1), MAMORI_ERR_STATE);
    assert_int_equal(dukpt_aes_device_next(d, ksn), 0);
    assert_int_equal(dukpt_aes_device_next(e, ksn2), 0);
    assert_memory_equal(ksn, ksn2, 12);
    assert_int_equal(dukpt_aes_ksn_counter(ksn), 38);
    assert_int_equal(dukpt_aes_device_working_key(d, DUKPT_USAGE_PIN, DUKPT_AES_AES128, k1), 0);
    assert_int_equal(dukpt_aes_device_working_key(e, DUKPT_USAGE_PIN, DUKPT_AES_AES128, k2), 0);
    assert_memory_equal(k1, k2, 16);
    dukpt_aes_device_free(e);
    blob[0] ^= 1;
    assert_int_equal(dukpt_aes_device_restore(blob, sizeof(blob), &e), MAMORI_ERR_INVAL);
    blob[0] ^= 1;
    assert_int_equal(dukpt_aes_device_restore(blob, sizeof(blob) - 1, &e), MAMORI_ERR_INVAL);
    memset(blob + 13, 0xff, 4); /* counter with 32 bits */
    assert_int_equal(dukpt_aes_device_restore(blob, sizeof(blob), &e), MAMORI_ERR_INVAL);
    dukpt_aes_device_free(d);
}

/* The restored device at the last valid counter reports exhaustion instead
 * of wrapping to counter 0 (a reused KSN). */
static void test_dukpt_device_exhaustion(void **state)
{
    uint8_t ik[16], ksn[12], blob[DUKPT_AES_STATE_LEN];
    struct dukpt_aes_device *d, *e;
    assert_int_equal(dukpt_aes_initial_key(bdk, 16, ikid, ik), 0);
    assert_int_equal(dukpt_aes_device_load(ik, 16, ikid, &d), 0);
    assert_int_equal(dukpt_aes_device_save(d, blob), 0);
    blob[13] = 0xFF; /* counter 0xFFFF0000: 16 bits, the last one */
    blob[14] = 0xFF;
    blob[15] = 0x00;
    blob[16] = 0x00;
    assert_int_equal(dukpt_aes_device_restore(blob, sizeof(blob), &e), 0);
    assert_int_equal(dukpt_aes_device_next(e, ksn), MAMORI_ERR_LIMIT);
    dukpt_aes_device_free(e);
    dukpt_aes_device_free(d);
}

static void test_aesblk_modes_agree(void **state)
{
    const enum aesblk_mode modes[] = {AESBLK_AUTO, AESBLK_EVP_REUSE, AESBLK_LOWLEVEL, AESBLK_EVP_NAIVE};
    uint8_t key[32], in[64], ref[64], out[64];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 13);
    for (size_t kl = 16; kl <= 32; kl += 8) {
        for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            struct aesblk *a;
            assert_int_equal(aesblk_new(modes[m], &a), 0);
            assert_int_equal(aesblk_encrypt(a, key, kl, in, out, 4), 0);
            if (m == 0)
                memcpy(ref, out, sizeof(out));
            else
                assert_memory_equal(ref, out, sizeof(out));
            assert_int_equal(aesblk_encrypt(a, key, 17, in, out, 1), MAMORI_ERR_INVAL);
            assert_int_equal(aesblk_encrypt(a, key, kl, in, out, 0), MAMORI_ERR_INVAL);
            assert_int_equal(aesblk_encrypt(a, key, kl, in, out, AESBLK_MAX_BLOCKS + 1), MAMORI_ERR_INVAL);
            aesblk_free(a);
        }
    }
    aesblk_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dukpt_counter_validity),
        cmocka_unit_test(test_dukpt_hostile_arguments_refused),
        cmocka_unit_test(test_dukpt_device_save_restore),
        cmocka_unit_test(test_dukpt_device_exhaustion),
        cmocka_unit_test(test_aesblk_modes_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
