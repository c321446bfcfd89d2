/* Vector tests for src/crypto/dukpt.c: every entry of dukpt_aes.json (ANSI
 * X9.24-3-2017 supplement via openemv/dukpt), host and device side. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/dukpt.h"
#include "mamori/err.h"

static json_t *doc;

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (s == NULL)
        fail_msg("missing field %s", k);
    return s;
}

static void expect_hex(const uint8_t *got, size_t n, const char *hex)
{
    size_t en;
    uint8_t *e = testutil_unhex(hex, &en);
    assert_int_equal(en, n);
    assert_memory_equal(got, e, n);
    free(e);
}

static int setup(void **state)
{
    doc = testutil_load_json("dukpt_aes.json");
    return 0;
}

static int teardown(void **state)
{
    json_decref(doc);
    return 0;
}

struct wk_field {
    const char *name;
    enum dukpt_aes_usage usage;
    enum dukpt_aes_key_type type;
};

static const struct wk_field wk_fields[] = {
    {"expected_pin_key_aes128", DUKPT_USAGE_PIN, DUKPT_AES_AES128},
    {"expected_pin_key_aes256", DUKPT_USAGE_PIN, DUKPT_AES_AES256},
    {"expected_mac_generation_key_aes128", DUKPT_USAGE_MAC_GEN, DUKPT_AES_AES128},
    {"expected_mac_generation_key_aes256", DUKPT_USAGE_MAC_GEN, DUKPT_AES_AES256},
    {"expected_data_encryption_key_aes128", DUKPT_USAGE_DATA_ENC, DUKPT_AES_AES128},
    {"expected_data_encryption_key_aes256", DUKPT_USAGE_DATA_ENC, DUKPT_AES_AES256},
};

/* Initial key, derivation keys and every working key, through both the
 * stateless API and the host context. */
static void test_dukpt_aes_host_side_vectors(void **state)
{
    size_t nsets = json_array_size(json_object_get(doc, "sets")), checked = 0;
    assert_int_equal(nsets, 2);
    for (size_t s = 0; s < nsets; s++) {
        json_t *set = json_array_get(json_object_get(doc, "sets"), s);
        size_t bdk_len, ikid_len;
        uint8_t *bdk = testutil_unhex(jstr(set, "bdk"), &bdk_len);
        uint8_t *ikid = testutil_unhex(jstr(set, "initial_key_id"), &ikid_len);
        uint8_t ik[32], dk[32], wk[32], wk2[32];
        assert_int_equal(ikid_len, 8);
        assert_int_equal(dukpt_aes_initial_key(bdk, bdk_len, ikid, ik), 0);
        expect_hex(ik, bdk_len, jstr(set, "expected_initial_key"));
        struct dukpt_aes_host *h;
        assert_int_equal(dukpt_aes_host_new(bdk, bdk_len, &h), 0);
        const char *lists[] = {"transactions", "transactions_counter_rollover", "transactions_last"};
        for (size_t l = 0; l < 3; l++) {
            json_t *arr = json_object_get(set, lists[l]);
            assert_true(json_array_size(arr) > 0);
            for (size_t i = 0; i < json_array_size(arr); i++) {
                json_t *t = json_array_get(arr, i);
                size_t kl;
                uint8_t *ksn = testutil_unhex(jstr(t, "ksn"), &kl);
                assert_int_equal(kl, 12);
                json_t *dv = json_object_get(t, "device_valid");
                if (dv != NULL && json_is_false(dv)) {
                    /* A counter with more than 16 one-bits: refused. */
                    assert_int_equal(dukpt_aes_derivation_key(ik, bdk_len, ksn, dk), MAMORI_ERR_INVAL);
                    assert_int_equal(dukpt_aes_host_working_key(h, ksn, DUKPT_USAGE_PIN, DUKPT_AES_AES128, wk),
                                     MAMORI_ERR_INVAL);
                    free(ksn);
                    continue;
                }
                assert_int_equal(dukpt_aes_derivation_key(ik, bdk_len, ksn, dk), 0);
                expect_hex(dk, bdk_len, jstr(t, "expected_transaction_derivation_key"));
                checked++;
                for (size_t w = 0; w < sizeof(wk_fields) / sizeof(wk_fields[0]); w++) {
                    json_t *e = json_object_get(t, wk_fields[w].name);
                    if (e == NULL)
                        continue;
                    size_t n = dukpt_aes_key_len(wk_fields[w].type);
                    assert_int_equal(
                        dukpt_aes_working_key(dk, bdk_len, ksn, wk_fields[w].usage, wk_fields[w].type, wk), 0);
                    expect_hex(wk, n, json_string_value(e));
                    assert_int_equal(dukpt_aes_host_working_key(h, ksn, wk_fields[w].usage,
                                                                wk_fields[w].type, wk2), 0);
                    expect_hex(wk2, n, json_string_value(e));
                    checked++;
                }
                free(ksn);
            }
        }
        dukpt_aes_host_free(h);
        free(bdk);
        free(ikid);
    }
    assert_true(checked > 100);
}

/* The device_valid:false counter 0x0001FFFF: the single-step primitive, walked
 * by hand over its 17 bits, reproduces the commented-out value, which shows
 * the refusal above is policy, not a wrong chain. */
static void test_dukpt_aes_invalid_counter_value_by_hand(void **state)
{
    for (size_t s = 0; s < 2; s++) {
        json_t *set = json_array_get(json_object_get(doc, "sets"), s);
        json_t *arr = json_object_get(set, "transactions_counter_rollover");
        for (size_t i = 0; i < json_array_size(arr); i++) {
            json_t *t = json_array_get(arr, i);
            if (json_object_get(t, "device_valid") == NULL)
                continue;
            size_t n, kl;
            uint8_t *ik = testutil_unhex(jstr(set, "expected_initial_key"), &n);
            uint8_t *ksn = testutil_unhex(jstr(t, "ksn"), &kl);
            uint32_t c = dukpt_aes_ksn_counter(ksn), wc = 0;
            assert_false(dukpt_aes_counter_valid(c));
            uint8_t key[32], data8[8];
            memcpy(key, ik, n);
            for (uint32_t bit = 0x80000000u; bit; bit >>= 1) {
                if (!(c & bit))
                    continue;
                wc |= bit;
                memcpy(data8, ksn + 4, 4);
                data8[4] = (uint8_t)(wc >> 24);
                data8[5] = (uint8_t)(wc >> 16);
                data8[6] = (uint8_t)(wc >> 8);
                data8[7] = (uint8_t)wc;
                assert_int_equal(dukpt_aes_derive(key, n, DUKPT_USAGE_DERIVATION,
                                                  (enum dukpt_aes_key_type)dukpt_aes_type_for_len(n), data8, key),
                                 0);
            }
            expect_hex(key, n, jstr(t, "expected_transaction_derivation_key"));
            free(ik);
            free(ksn);
        }
    }
}

static enum dukpt_aes_key_type update_type(const char *s)
{
    if (strcmp(s, "AES-128") == 0)
        return DUKPT_AES_AES128;
    if (strcmp(s, "AES-256") == 0)
        return DUKPT_AES_AES256;
    if (strncmp(s, "TDES2", 5) == 0)
        return DUKPT_AES_TDES2;
    if (strncmp(s, "TDES3", 5) == 0)
        return DUKPT_AES_TDES3;
    fail_msg("unknown update key type %s", s);
    return DUKPT_AES_AES128;
}

static void test_dukpt_aes_update_keys(void **state)
{
    json_t *arr = json_object_get(doc, "update_keys");
    assert_int_equal(json_array_size(arr), 5);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *u = json_array_get(arr, i);
        size_t n, idn;
        uint8_t *ik = testutil_unhex(jstr(u, "initial_key"), &n);
        uint8_t *ikid = testutil_unhex(jstr(u, "initial_key_id"), &idn);
        enum dukpt_aes_key_type t = update_type(jstr(u, "update_key_type"));
        uint8_t key[32];
        assert_int_equal(dukpt_aes_update_key(ik, n, ikid, t, key), 0);
        expect_hex(key, dukpt_aes_key_len(t), jstr(u, "expected_update_key"));
        free(ik);
        free(ikid);
    }
}

/* Device side: the future-key registers give the same keys as the host, for
 * the first transactions, across the 16-bit skip at 0x1FFFE -> 0x20000 (the
 * rollover vectors), and the skipped 17-bit counter is never issued. */
static void test_dukpt_aes_device_matches_vectors(void **state)
{
    for (size_t s = 0; s < 2; s++) {
        json_t *set = json_array_get(json_object_get(doc, "sets"), s);
        size_t n, idn;
        uint8_t *ik = testutil_unhex(jstr(set, "expected_initial_key"), &n);
        uint8_t *ikid = testutil_unhex(jstr(set, "initial_key_id"), &idn);
        struct dukpt_aes_device *d;
        uint8_t ksn[12], wk[32];
        assert_int_equal(dukpt_aes_device_load(ik, n, ikid, &d), 0);
        assert_int_equal(dukpt_aes_device_working_key(d, DUKPT_USAGE_PIN, DUKPT_AES_AES128, wk), MAMORI_ERR_STATE);
        json_t *tx = json_object_get(set, "transactions");
        for (size_t i = 0; i < json_array_size(tx); i++) {
            json_t *t = json_array_get(tx, i);
            assert_int_equal(dukpt_aes_device_next(d, ksn), 0);
            expect_hex(ksn, 12, jstr(t, "ksn"));
            for (size_t w = 0; w < sizeof(wk_fields) / sizeof(wk_fields[0]); w++) {
                json_t *e = json_object_get(t, wk_fields[w].name);
                if (e == NULL)
                    continue;
                assert_int_equal(dukpt_aes_device_working_key(d, wk_fields[w].usage, wk_fields[w].type, wk), 0);
                expect_hex(wk, dukpt_aes_key_len(wk_fields[w].type), json_string_value(e));
            }
        }
        /* Run on to the rollover: every issued counter is valid, and the
         * device reaches exactly the vector KSNs in order. */
        json_t *ro = json_object_get(set, "transactions_counter_rollover");
        size_t next = 0;
        uint32_t prev = 8;
        while (next < json_array_size(ro)) {
            json_t *t = json_array_get(ro, next);
            json_t *dv = json_object_get(t, "device_valid");
            if (dv != NULL && json_is_false(dv)) {
                next++;
                continue;
            }
            size_t kl;
            uint8_t *want = testutil_unhex(jstr(t, "ksn"), &kl);
            uint32_t wc = dukpt_aes_ksn_counter(want);
            assert_int_equal(dukpt_aes_device_next(d, ksn), 0);
            uint32_t c = dukpt_aes_ksn_counter(ksn);
            assert_true(c > prev);
            assert_true(dukpt_aes_counter_valid(c));
            assert_true(c != 0x1FFFF);
            prev = c;
            if (c == wc) {
                /* the working key from the register equals the host derivation */
                uint8_t dk[32], hk[32];
                assert_int_equal(dukpt_aes_derivation_key(ik, n, ksn, dk), 0);
                expect_hex(dk, n, jstr(t, "expected_transaction_derivation_key"));
                assert_int_equal(dukpt_aes_device_working_key(d, DUKPT_USAGE_DATA_ENC, DUKPT_AES_AES128, wk), 0);
                assert_int_equal(dukpt_aes_working_key(dk, n, ksn, DUKPT_USAGE_DATA_ENC, DUKPT_AES_AES128, hk), 0);
                assert_memory_equal(wk, hk, 16);
                next++;
            }
            assert_true(c <= wc);
            free(want);
        }
        dukpt_aes_device_free(d);
        free(ik);
        free(ikid);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dukpt_aes_host_side_vectors),
        cmocka_unit_test(test_dukpt_aes_invalid_counter_value_by_hand),
        cmocka_unit_test(test_dukpt_aes_update_keys),
        cmocka_unit_test(test_dukpt_aes_device_matches_vectors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
