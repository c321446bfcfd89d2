/*
 * Vector tests: every entry of ../shared/testvectors/checkdigits.json
 * (Luhn and EAN/JAN/GTIN) against src/pos/luhn.c and src/pos/barcode.c.
 * OPS-1: the register's check-digit validation is the one tested here.
 */
#include "testutil.h"

#include <string.h>

#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/luhn.h"

static json_t *vec;

static int setup(void **state)
{
    vec = testutil_load_json("checkdigits.json");
    return vec == NULL;
}

static int teardown(void **state)
{
    json_decref(vec);
    return 0;
}

static json_t *arr(const char *group, const char *name)
{
    json_t *a = json_object_get(json_object_get(vec, group), name);
    assert_non_null(a);
    assert_true(json_is_array(a));
    assert_true(json_array_size(a) > 0);
    return a;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    assert_non_null(s);
    return s;
}

static void test_ops1_luhn_valid(void **state)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr("luhn", "valid"), i, e) {
        const char *n = str(e, "number");
        assert_true(luhn_valid(n, strlen(n)));
    }
}

static void test_ops1_luhn_invalid(void **state)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr("luhn", "invalid_checksum"), i, e) {
        const char *n = str(e, "number");
        assert_false(luhn_valid(n, strlen(n)));
    }
}

static void test_ops1_luhn_calc(void **state)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr("luhn", "calc_check_digit"), i, e) {
        const char *b = str(e, "body");
        int cd = -1;
        assert_int_equal(luhn_check_digit(b, strlen(b), &cd), 0);
        assert_int_equal(cd, str(e, "check_digit")[0] - '0');
    }
}

static void test_ops1_luhn_checksum_value(void **state)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr("luhn", "checksum_value"), i, e) {
        const char *n = str(e, "number");
        int s = -1;
        assert_int_equal(luhn_checksum(n, strlen(n), &s), 0);
        assert_int_equal(s, json_integer_value(json_object_get(e, "luhn_sum_mod_10")));
    }
}

/* The compact digits of an entry ("compact" when the number has separators). */
static const char *compact(json_t *e)
{
    json_t *c = json_object_get(e, "compact");
    return c ? json_string_value(c) : str(e, "number");
}

static void test_ops1_ean_valid(void **state)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr("ean", "valid"), i, e) {
        const char *n = compact(e);
        struct barcode b;
        assert_true(barcode_gs1_valid(n, strlen(n)));
        /* Everything but GTIN-14 case codes with a non-zero indicator parses. */
        int r = barcode_parse(NULL, n, strlen(n), &b);
        if (strlen(n) == 14 && n[0] != '0') {
            assert_int_equal(r, MAMORI_ERR_UNSUPPORTED);
            continue;
        }
        assert_int_equal(r, 0);
        assert_int_equal(strlen(b.code), 13);
        /* The normalised key ends in the same digits. */
        assert_string_equal(b.code + 13 - strlen(n), n);
        if (strlen(n) == 8)
            assert_int_equal(b.kind, BARCODE_EAN8);
        else
            assert_int_equal(b.kind, BARCODE_JAN13);
    }
}

static void test_ops1_ean_invalid(void **state)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr("ean", "invalid"), i, e) {
        const char *n = str(e, "number");
        const char *why = str(e, "reason");
        struct barcode b;
        memset(&b, 0x5a, sizeof(b));
        int r = barcode_parse(NULL, n, strlen(n), &b);
        if (strcmp(why, "InvalidChecksum") == 0) {
            assert_false(barcode_gs1_valid(n, strlen(n)));
            assert_int_equal(r, MAMORI_ERR_CHECKSUM);
        } else {
            assert_int_equal(r, MAMORI_ERR_INVAL); /* length or format */
        }
        assert_int_equal(b.kind, 0x5a5a5a5a); /* untouched on failure */
    }
}

static void test_ops1_ean_calc(void **state)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr("ean", "calc_check_digit"), i, e) {
        const char *body = str(e, "body");
        const char *full = str(e, "full");
        int cd = -1;
        assert_int_equal(barcode_gs1_check_digit(body, strlen(body), &cd), 0);
        assert_int_equal(strlen(full), strlen(body) + 1);
        assert_memory_equal(full, body, strlen(body));
        assert_int_equal(cd, full[strlen(body)] - '0');
        json_t *c = json_object_get(e, "check_digit");
        if (c)
            assert_int_equal(cd, json_string_value(c)[0] - '0');
        assert_true(barcode_gs1_valid(full, strlen(full)));
    }
}

/* The JAN-labelled vector (prefix 49) parses as a JAN, and a one-digit
 * change anywhere is caught (mod 10 catches every single-digit error). */
static void test_ops1_jan_prefix49(void **state)
{
    size_t i;
    json_t *e;
    int seen = 0;
    json_array_foreach(arr("ean", "calc_check_digit"), i, e) {
        const char *full = str(e, "full");
        if (strncmp(full, "49", 2) != 0 && strncmp(full, "45", 2) != 0)
            continue;
        seen++;
        struct barcode b;
        assert_int_equal(barcode_parse(NULL, full, 13, &b), 0);
        assert_int_equal(b.kind, BARCODE_JAN13);
        for (int pos = 0; pos < 13; pos++) {
            char t[14];
            memcpy(t, full, 14);
            t[pos] = (char)('0' + (t[pos] - '0' + 1) % 10);
            assert_int_equal(barcode_parse(NULL, t, 13, &b), MAMORI_ERR_CHECKSUM);
        }
    }
    assert_true(seen >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops1_luhn_valid),
        cmocka_unit_test(test_ops1_luhn_invalid),
        cmocka_unit_test(test_ops1_luhn_calc),
        cmocka_unit_test(test_ops1_luhn_checksum_value),
        cmocka_unit_test(test_ops1_ean_valid),
        cmocka_unit_test(test_ops1_ean_invalid),
        cmocka_unit_test(test_ops1_ean_calc),
        cmocka_unit_test(test_ops1_jan_prefix49),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
