/* Unit tests for src/keys/keys.c. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keys/keys.h"
#include "mamori/err.h"

static void test_dh_agrees_and_sign_verifies(void **state)
{
    struct keys *a, *b;
    uint8_t pa[32], pb[32], s1[32], s2[32], pk[32], sig[64];
    assert_int_equal(keys_generate(&a), 0);
    assert_int_equal(keys_generate(&b), 0);
    keys_dh_public(a, pa);
    keys_dh_public(b, pb);
    assert_int_equal(keys_dh(a, s1, pb), 0);
    assert_int_equal(keys_dh(b, s2, pa), 0);
    assert_memory_equal(s1, s2, 32);
    keys_sign_public(a, pk);
    assert_int_equal(keys_sign(a, sig, (const uint8_t *)"msg", 3), 0);
    assert_int_equal(keys_verify(pk, sig, (const uint8_t *)"msg", 3), 0);
    sig[0] ^= 1;
    assert_int_equal(keys_verify(pk, sig, (const uint8_t *)"msg", 3), MAMORI_ERR_AUTH);
    uint8_t zero[32] = {0}; /* low-order point must be rejected */
    assert_int_equal(keys_dh(a, s1, zero), MAMORI_ERR_CRYPTO);
    keys_free(a);
    keys_free(b);
    keys_free(NULL);
}

static void test_file_roundtrip_and_refusals(void **state)
{
    char *dir = testutil_tmpdir();
    char path[4200];
    struct keys *a, *b;
    uint8_t p1[32], p2[32];
    struct stat st;
    snprintf(path, sizeof(path), "%s/k", dir);
    assert_int_equal(keys_load_or_create(path, &a), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(keys_save(a, path), MAMORI_ERR_EXISTS); /* never overwrite */
    assert_int_equal(keys_load(path, &b), 0);
    keys_dh_public(a, p1);
    keys_dh_public(b, p2);
    assert_memory_equal(p1, p2, 32);
    keys_free(b);
    FILE *f = fopen(path, "r+");
    fputs("garbage", f);
    fclose(f);
    assert_int_equal(keys_load(path, &b), MAMORI_ERR_INVAL);
    keys_free(a);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dh_agrees_and_sign_verifies),
        cmocka_unit_test(test_file_roundtrip_and_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
