/* Unit tests for src/common/hex.c. */
#include "testutil.h"

#include <string.h>

#include "common/hex.h"
#include "mamori/err.h"

static void test_hex(void **state)
{
    uint8_t out[4];
    size_t n;
    char s[9];
    assert_int_equal(hex_decode(out, sizeof(out), "deADbe01", &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(hex_encode(s, sizeof(s), out, 4), 0);
    assert_string_equal(s, "deadbe01");
    assert_int_equal(hex_decode(out, sizeof(out), "abc", &n), MAMORI_ERR_INVAL);
    assert_int_equal(hex_decode(out, sizeof(out), "zz", &n), MAMORI_ERR_INVAL);
    assert_int_equal(hex_decode(out, sizeof(out), "0011223344", &n), MAMORI_ERR_TOOBIG);
    assert_int_equal(hex_encode(s, 8, out, 4), MAMORI_ERR_TOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hex)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
