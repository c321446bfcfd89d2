/* Unit tests for src/common/hex.c. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
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

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A key file: exactly n bytes in hex on the first line; anything else refused. */
static void test_hex_read_file_hostile(void **state)
{
    char *dir = testutil_tmpdir();
    char p[512];
    uint8_t k[4] = {0};
    (void)state;
    snprintf(p, sizeof(p), "%s/k", dir);
    assert_int_equal(hex_read_file(p, k, 4), MAMORI_ERR_IO); /* missing */
    put(p, "0a0b0c0d\r\n");
    assert_int_equal(hex_read_file(p, k, 4), 0);
    assert_int_equal(k[0], 0x0a);
    assert_int_equal(k[3], 0x0d);
    put(p, "0a0b0c\n");                     /* short */
    assert_int_equal(hex_read_file(p, k, 4), MAMORI_ERR_INVAL);
    put(p, "0a0b0c0d0e\n");                 /* long */
    assert_int_equal(hex_read_file(p, k, 4), MAMORI_ERR_INVAL);
    put(p, "0a0b0c0z\n");                   /* not hex */
    assert_int_equal(hex_read_file(p, k, 4), MAMORI_ERR_INVAL);
    put(p, "");                             /* empty */
    assert_int_equal(hex_read_file(p, k, 4), MAMORI_ERR_INVAL);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hex),
                                       cmocka_unit_test(test_hex_read_file_hostile)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
