/* Vector tests for src/crypto/dukpt_tdes.c: dukpt_tdes.json (ANSI X9.24-1:2009
 * A.4 via openemv/dukpt, shenyan1206/dukpt variant keys, moov-io/dukpt). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/dukpt_tdes.h"
#include "crypto/pinblock.h"
#include "crypto/symm.h"
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

static uint8_t *unhex(const char *hex, size_t want)
{
    size_t n;
    uint8_t *p = testutil_unhex(hex, &n);
    assert_int_equal(n, want);
    return p;
}

static int setup(void **state)
{
    doc = testutil_load_json("dukpt_tdes.json");
    return 0;
}

static int teardown(void **state)
{
    json_decref(doc);
    return 0;
}

static void txn_key(const uint8_t *bdk, const char *ksn_hex, uint8_t key[16])
{
    uint8_t ipek[16];
    uint8_t *ksn = unhex(ksn_hex, 10);
    assert_int_equal(dukpt_tdes_ipek(bdk, ksn, ipek), 0);
    assert_int_equal(dukpt_tdes_transaction_key(ipek, ksn, key), 0);
    free(ksn);
}

static void test_dukpt_tdes_x9_24_1_a4(void **state)
{
    json_t *set = json_array_get(json_object_get(doc, "sets"), 0);
    uint8_t *bdk = unhex(jstr(set, "bdk"), 16), *iksn = unhex(jstr(set, "initial_ksn"), 10);
    uint8_t ipek[16], clear[8];
    const char *data = jstr(set, "txn_data_ascii");
    assert_int_equal(dukpt_tdes_ipek(bdk, iksn, ipek), 0);
    expect_hex(ipek, 16, jstr(set, "expected_ipek"));
    assert_int_equal(pinblock_iso0_encode(jstr(set, "pin"), jstr(set, "pan"), clear), 0);
    expect_hex(clear, 8, jstr(set, "clear_pin_block_iso0"));
    size_t checked = 0;
    const char *lists[] = {"initial_sequence", "rollover_sequence"};
    for (int l = 0; l < 2; l++) {
        json_t *a = json_object_get(set, lists[l]);
        assert_true(json_array_size(a) > 10);
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *v = json_array_get(a, i);
            uint8_t key[16], wk[16], out[24], mac[8];
            txn_key(bdk, jstr(v, "ksn"), key);
            expect_hex(key, 16, jstr(v, "expected_transaction_key"));
            assert_int_equal(dukpt_tdes_variant_key(key, DUKPT_TDES_PIN, wk), 0);
            assert_int_equal(symm_crypt(SYMM_TDES, 1, wk, 16, NULL, clear, out, 8), 0);
            expect_hex(out, 8, jstr(v, "expected_encrypted_pin_block"));
            assert_int_equal(dukpt_tdes_variant_key(key, DUKPT_TDES_MAC_REQUEST, wk), 0);
            assert_int_equal(dukpt_tdes_retail_mac(wk, (const uint8_t *)data, strlen(data), mac), 0);
            expect_hex(mac, 4, jstr(v, "expected_request_mac"));
            assert_int_equal(dukpt_tdes_variant_key(key, DUKPT_TDES_MAC_RESPONSE, wk), 0);
            assert_int_equal(dukpt_tdes_retail_mac(wk, (const uint8_t *)data, strlen(data), mac), 0);
            expect_hex(mac, 4, jstr(v, "expected_response_mac"));
            uint8_t buf[24] = {0}, iv[8] = {0};
            memcpy(buf, data, strlen(data));
            assert_int_equal(dukpt_tdes_variant_key(key, DUKPT_TDES_DATA_REQUEST, wk), 0);
            assert_int_equal(symm_crypt(SYMM_TDES, 1, wk, 16, iv, buf, out, 24), 0);
            expect_hex(out, 24, jstr(v, "expected_encrypted_request_data"));
            checked++;
        }
    }
    assert_int_equal(checked, 34);
    free(bdk);
    free(iksn);
}

static void test_dukpt_tdes_variant_keys(void **state)
{
    json_t *set = json_array_get(json_object_get(doc, "sets"), 1);
    uint8_t *bdk = unhex(jstr(set, "bdk"), 16);
    json_t *a = json_object_get(set, "vectors");
    assert_int_equal(json_array_size(a), 5);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        uint8_t key[16], wk[16];
        txn_key(bdk, jstr(v, "ksn"), key);
        expect_hex(key, 16, jstr(v, "expected_transaction_key"));
        assert_int_equal(dukpt_tdes_variant_key(key, DUKPT_TDES_PIN, wk), 0);
        expect_hex(wk, 16, jstr(v, "expected_pin_key"));
        assert_int_equal(dukpt_tdes_variant_key(key, DUKPT_TDES_MAC_REQUEST, wk), 0);
        expect_hex(wk, 16, jstr(v, "expected_mac_request_key"));
        assert_int_equal(dukpt_tdes_variant_key(key, DUKPT_TDES_DATA_REQUEST, wk), 0);
        expect_hex(wk, 16, jstr(v, "expected_data_key"));
    }
    free(bdk);
}

/* moov-io cross-implementation values: 8-byte retail MACs and response data. */
static void test_dukpt_tdes_moov_cross_check(void **state)
{
    json_t *set = json_array_get(json_object_get(doc, "sets"), 2);
    uint8_t *bdk = unhex(jstr(set, "bdk"), 16);
    const char *data = jstr(set, "txn_data_ascii");
    json_t *a = json_object_get(set, "vectors");
    assert_int_equal(json_array_size(a), 5);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        uint8_t key[16], wk[16], mac[8], out[24], buf[24] = {0}, iv[8] = {0};
        memcpy(buf, data, strlen(data));
        txn_key(bdk, jstr(v, "ksn"), key);
        expect_hex(key, 16, jstr(v, "expected_transaction_key"));
        assert_int_equal(dukpt_tdes_variant_key(key, DUKPT_TDES_MAC_REQUEST, wk), 0);
        assert_int_equal(dukpt_tdes_retail_mac(wk, (const uint8_t *)data, strlen(data), mac), 0);
        expect_hex(mac, 8, jstr(v, "expected_request_mac_8byte"));
        assert_int_equal(dukpt_tdes_variant_key(key, DUKPT_TDES_MAC_RESPONSE, wk), 0);
        assert_int_equal(dukpt_tdes_retail_mac(wk, (const uint8_t *)data, strlen(data), mac), 0);
        expect_hex(mac, 8, jstr(v, "expected_response_mac_8byte"));
        assert_int_equal(dukpt_tdes_variant_key(key, DUKPT_TDES_DATA_RESPONSE, wk), 0);
        assert_int_equal(symm_crypt(SYMM_TDES, 1, wk, 16, iv, buf, out, 24), 0);
        expect_hex(out, 24, jstr(v, "expected_encrypted_response_data"));
    }
    free(bdk);
}

static void test_dukpt_tdes_invalid_counters(void **state)
{
    uint8_t ipek[16] = {0}, key[16];
    uint8_t ksn[10] = {0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x00};
    assert_int_equal(dukpt_tdes_transaction_key(ipek, ksn, key), MAMORI_ERR_INVAL); /* counter 0 */
    ksn[8] = 0x07;
    ksn[9] = 0xFF; /* 11 one-bits */
    assert_int_equal(dukpt_tdes_transaction_key(ipek, ksn, key), MAMORI_ERR_INVAL);
    assert_false(dukpt_tdes_counter_valid(0x200000));
    assert_int_equal(dukpt_tdes_variant_key(ipek, (enum dukpt_tdes_variant)9, key), MAMORI_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dukpt_tdes_x9_24_1_a4),
        cmocka_unit_test(test_dukpt_tdes_variant_keys),
        cmocka_unit_test(test_dukpt_tdes_moov_cross_check),
        cmocka_unit_test(test_dukpt_tdes_invalid_counters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
