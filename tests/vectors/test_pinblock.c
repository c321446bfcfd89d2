/* Vector tests for src/crypto/pinblock.c: every positive and must-fail entry
 * of pinblock.json (ISO 9564-1 formats 0 and 4). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/pinblock.h"
#include "mamori/err.h"

static json_t *doc;

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (s == NULL)
        fail_msg("missing field %s", k);
    return s;
}

static json_t *list(const char *fmt, const char *name)
{
    json_t *a = json_object_get(json_object_get(doc, fmt), name);
    assert_true(json_array_size(a) > 0);
    return a;
}

static void expect_hex(const uint8_t *got, size_t n, const char *hex)
{
    size_t en;
    uint8_t *e = testutil_unhex(hex, &en);
    assert_true(en >= n);
    assert_memory_equal(got, e, n);
    free(e);
}

static int setup(void **state)
{
    doc = testutil_load_json("pinblock.json");
    return 0;
}

static int teardown(void **state)
{
    json_decref(doc);
    return 0;
}

static void test_pinblock_iso0_vectors(void **state)
{
    json_t *a = list("format0", "encode");
    uint8_t b[8];
    char pin[PINBLOCK_PIN_BUF];
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        assert_int_equal(pinblock_iso0_encode(jstr(v, "pin"), jstr(v, "pan"), b), 0);
        expect_hex(b, 8, jstr(v, "pin_block"));
    }
    a = list("format0", "decode");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        size_t n;
        uint8_t *blk = testutil_unhex(jstr(v, "pin_block"), &n);
        assert_int_equal(pinblock_iso0_decode(blk, n, jstr(v, "pan"), pin), 0);
        assert_string_equal(pin, jstr(v, "pin"));
        free(blk);
    }
}

static void test_pinblock_iso0_must_fail(void **state)
{
    json_t *a = list("format0", "decode_must_fail");
    uint8_t b[8];
    char pin[PINBLOCK_PIN_BUF] = "untouched";
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        size_t n;
        uint8_t *blk = testutil_unhex(jstr(v, "pin_block"), &n);
        assert_int_equal(pinblock_iso0_decode(blk, n, jstr(v, "pan"), pin), MAMORI_ERR_INVAL);
        assert_string_equal(pin, "untouched"); /* ret_ written only on success */
        free(blk);
    }
    a = list("format0", "encode_must_fail");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        assert_int_equal(pinblock_iso0_encode(jstr(v, "pin"), jstr(v, "pan"), b), MAMORI_ERR_INVAL);
    }
}

static void test_pinblock_iso4_fields(void **state)
{
    uint8_t f[16];
    json_t *a = list("format4", "pin_field_encode_prefix");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        json_t *p = json_object_get(v, "pin_field_prefix");
        const char *want = p ? json_string_value(p) : jstr(v, "pin_field");
        assert_int_equal(pinblock_iso4_pin_field(jstr(v, "pin"), NULL, f), 0);
        expect_hex(f, 8, want); /* the rest is random fill */
    }
    /* two random fills differ (randombytes in use) */
    uint8_t g[16];
    assert_int_equal(pinblock_iso4_pin_field("1234", NULL, g), 0);
    assert_memory_not_equal(f + 8, g + 8, 8);
    a = list("format4", "pan_field_encode");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        assert_int_equal(pinblock_iso4_pan_field(jstr(v, "pan"), f), 0);
        expect_hex(f, 16, jstr(v, "pan_field"));
    }
    a = list("format4", "pin_field_decode");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        size_t n;
        char pin[PINBLOCK_PIN_BUF];
        uint8_t *pf = testutil_unhex(jstr(v, "pin_field"), &n);
        assert_int_equal(pinblock_iso4_pin_field_decode(pf, n, pin), 0);
        assert_string_equal(pin, jstr(v, "pin"));
        free(pf);
    }
    a = list("format4", "pin_field_decode_must_fail");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        size_t n;
        char pin[PINBLOCK_PIN_BUF];
        uint8_t *pf = testutil_unhex(jstr(v, "pin_block"), &n);
        assert_int_equal(pinblock_iso4_pin_field_decode(pf, n, pin), MAMORI_ERR_INVAL);
        free(pf);
    }
}

static void test_pinblock_iso4_encipher_decipher(void **state)
{
    json_t *a = list("format4", "encipher_deterministic");
    size_t count = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        size_t kn, fn;
        uint8_t *key = testutil_unhex(jstr(v, "key"), &kn);
        uint8_t *fill;
        json_t *pf = json_object_get(v, "pin_field");
        if (pf != NULL) {
            uint8_t *field = testutil_unhex(json_string_value(pf), &fn);
            assert_int_equal(fn, 16);
            fill = malloc(8);
            memcpy(fill, field + 8, 8);
            uint8_t mine[16];
            assert_int_equal(pinblock_iso4_pin_field(jstr(v, "pin"), fill, mine), 0);
            assert_memory_equal(mine, field, 16);
            assert_int_equal(pinblock_iso4_pan_field(jstr(v, "pan"), mine), 0);
            expect_hex(mine, 16, jstr(v, "pan_field"));
            free(field);
        } else {
            fill = testutil_unhex(jstr(v, "random_fill"), &fn);
            assert_int_equal(fn, 8);
        }
        uint8_t blk[16];
        char pin[PINBLOCK_PIN_BUF];
        assert_int_equal(pinblock_iso4_encipher(key, kn, jstr(v, "pin"), jstr(v, "pan"), fill, blk), 0);
        expect_hex(blk, 16, jstr(v, "pin_block"));
        assert_int_equal(pinblock_iso4_decipher(key, kn, blk, 16, jstr(v, "pan"), pin), 0);
        assert_string_equal(pin, jstr(v, "pin"));
        count++;
        free(key);
        free(fill);
    }
    assert_int_equal(count, 9);
    a = list("format4", "decipher");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        size_t kn, bn;
        char pin[PINBLOCK_PIN_BUF];
        uint8_t *key = testutil_unhex(jstr(v, "key"), &kn);
        uint8_t *blk = testutil_unhex(jstr(v, "pin_block"), &bn);
        assert_int_equal(pinblock_iso4_decipher(key, kn, blk, bn, jstr(v, "pan"), pin), 0);
        assert_string_equal(pin, jstr(v, "pin"));
        free(key);
        free(blk);
    }
}

static void test_pinblock_iso4_must_fail(void **state)
{
    json_t *a = list("format4", "decipher_must_fail");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        size_t kn, bn;
        char pin[PINBLOCK_PIN_BUF] = "untouched";
        uint8_t *key = testutil_unhex(jstr(v, "key"), &kn);
        uint8_t *blk = testutil_unhex(jstr(v, "pin_block"), &bn);
        assert_int_equal(pinblock_iso4_decipher(key, kn, blk, bn, jstr(v, "pan"), pin), MAMORI_ERR_INVAL);
        assert_string_equal(pin, "untouched");
        free(key);
        free(blk);
    }
    a = list("format4", "encipher_must_fail");
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        size_t kn;
        uint8_t blk[16];
        uint8_t *key = testutil_unhex(jstr(v, "key"), &kn);
        assert_int_equal(pinblock_iso4_encipher(key, kn, jstr(v, "pin"), jstr(v, "pan"), NULL, blk),
                         MAMORI_ERR_INVAL);
        free(key);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinblock_iso0_vectors),
        cmocka_unit_test(test_pinblock_iso0_must_fail),
        cmocka_unit_test(test_pinblock_iso4_fields),
        cmocka_unit_test(test_pinblock_iso4_encipher_decipher),
        cmocka_unit_test(test_pinblock_iso4_must_fail),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
