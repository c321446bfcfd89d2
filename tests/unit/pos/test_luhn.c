/* Unit tests for src/pos/luhn.c: hostile input (the vectors are in tests/vectors). */
#include "testutil.h"

#include <string.h>

#include "mamori/err.h"
#include "pos/luhn.h"

static void test_ops1_luhn_hostile(void **state)
{
    int v = 77;
    char longnum[LUHN_MAX_DIGITS + 2];
    memset(longnum, '4', sizeof(longnum) - 1);
    longnum[sizeof(longnum) - 1] = '\0';
    assert_int_equal(luhn_checksum("", 0, &v), MAMORI_ERR_INVAL);
    assert_int_equal(luhn_checksum(NULL, 3, &v), MAMORI_ERR_INVAL);
    assert_int_equal(luhn_checksum("49 27", 5, &v), MAMORI_ERR_INVAL);
    assert_int_equal(luhn_checksum("4\0" "927", 5, &v), MAMORI_ERR_INVAL);
    assert_int_equal(luhn_checksum(longnum, strlen(longnum), &v), MAMORI_ERR_INVAL);
    assert_int_equal(luhn_check_digit(longnum, LUHN_MAX_DIGITS, &v), MAMORI_ERR_INVAL);
    assert_int_equal(v, 77); /* untouched */
    assert_false(luhn_valid("0", 1));
    assert_false(luhn_valid("4111-1111-1111-1111", 19));
    assert_true(luhn_valid("4111111111111111", 16));
    assert_false(luhn_valid("4111111111111112", 16));
    /* Every single-digit change is caught. */
    char n[] = "49927398716";
    for (size_t i = 0; i < strlen(n); i++) {
        char c = n[i];
        n[i] = (char)('0' + (c - '0' + 5) % 10);
        assert_false(luhn_valid(n, strlen(n)));
        n[i] = c;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops1_luhn_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
