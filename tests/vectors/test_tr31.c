/* Vector tests for src/crypto/tr31.c and src/crypto/kcv.c: tr31.json
 * (psec known values, openemv/tr31 unwrap vectors incl. ISO 20038 version E,
 * KBEK/KBAK derivations and the 38 must-fail blocks). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/kcv.h"
#include "crypto/tr31.h"
#include "mamori/err.h"

static json_t *doc;

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (s == NULL)
        fail_msg("missing field %s", k);
    return s;
}

static int setup(void **state)
{
    doc = testutil_load_json("tr31.json");
    return 0;
}

static int teardown(void **state)
{
    json_decref(doc);
    return 0;
}

static void check_kcv(char algorithm, const uint8_t *key, size_t key_len, const char *want_hex)
{
    char got[40];
    size_t n = strlen(want_hex) / 2;
    enum symm_alg alg = algorithm == 'A' ? SYMM_AES : SYMM_TDES;
    assert_int_equal(kcv_hex(alg, key, key_len, n, got, sizeof(got)), 0);
    assert_string_equal(got, want_hex);
}

/* Returns 1 when the vector was unwrapped and matched. */
static int unwrap_one(json_t *v)
{
    size_t kn, en;
    const char *kb = jstr(v, "kb");
    uint8_t *kbpk = testutil_unhex(jstr(v, "kbpk"), &kn);
    uint8_t *want = testutil_unhex(jstr(v, "key"), &en);
    struct tr31_header h;
    uint8_t *key = NULL;
    size_t klen = 0;
    int r = tr31_unwrap(kbpk, kn, kb, strlen(kb), &h, &key, &klen);
    if (r != 0)
        fail_msg("unwrap failed (%d): %.40s", r, kb);
    assert_int_equal(klen, en);
    assert_memory_equal(key, want, en);
    json_t *kcv = json_object_get(v, "key_kcv");
    if (kcv != NULL)
        check_kcv(h.algorithm, key, klen, json_string_value(kcv));
    json_t *kbpk_kcv = json_object_get(v, "kbpk_kcv");
    if (kbpk_kcv != NULL)
        check_kcv(h.version == 'D' || h.version == 'E' ? 'A' : 'T', kbpk, kn, json_string_value(kbpk_kcv));
    const char *ids[] = {"KS", "TS"};
    for (size_t i = 0; i < 2; i++) {
        char field[32];
        snprintf(field, sizeof(field), "optional_block_%s", ids[i]);
        json_t *ob = json_object_get(v, field);
        if (ob == NULL)
            continue;
        const char *data;
        size_t dlen;
        assert_int_equal(tr31_header_opt(&h, kb, ids[i], &data, &dlen), 0);
        assert_int_equal(dlen, strlen(json_string_value(ob)));
        assert_memory_equal(data, json_string_value(ob), dlen);
    }
    tr31_key_free(key);
    free(kbpk);
    free(want);
    return 1;
}

static void test_tr31_known_values(void **state)
{
    json_t *a = json_object_get(doc, "known_values");
    size_t ok = 0;
    for (size_t i = 0; i < json_array_size(a); i++)
        ok += (size_t)unwrap_one(json_array_get(a, i));
    assert_int_equal(ok, 18);
}

static void test_tr31_unwrap_vectors(void **state)
{
    json_t *a = json_object_get(doc, "unwrap");
    size_t ok = 0;
    for (size_t i = 0; i < json_array_size(a); i++)
        ok += (size_t)unwrap_one(json_array_get(a, i));
    assert_int_equal(ok, 17);
}

static void test_tr31_key_derivation(void **state)
{
    json_t *a = json_object_get(doc, "key_derivation");
    size_t ok = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        const char *m = jstr(v, "method");
        char version = strstr(m, "version B") ? 'B' : strstr(m, "version D") ? 'D'
                     : strstr(m, "versions A/C") ? 'A' : 'E';
        size_t kn, en, an;
        uint8_t *kbpk = testutil_unhex(jstr(v, "kbpk"), &kn);
        uint8_t *ek = testutil_unhex(jstr(v, "expected_kbek"), &en);
        uint8_t *ak = testutil_unhex(jstr(v, "expected_kbak"), &an);
        uint8_t kbek[32], kbak[32];
        {
            assert_int_equal(tr31_derive_keys(version, kbpk, kn, kbek, kbak), 0);
            assert_memory_equal(kbek, ek, en);
            assert_memory_equal(kbak, ak, an);
            if (version == 'A') { /* C uses the same variant method */
                assert_int_equal(tr31_derive_keys('C', kbpk, kn, kbek, kbak), 0);
                assert_memory_equal(kbek, ek, en);
            }
            ok++;
        }
        free(kbpk);
        free(ek);
        free(ak);
    }
    assert_int_equal(ok, 9);
}

static void test_tr31_unwrap_must_fail(void **state)
{
    json_t *a = json_object_get(doc, "unwrap_must_fail");
    assert_int_equal(json_array_size(a), 38);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        size_t kn;
        const char *kb = jstr(v, "kb");
        uint8_t *kbpk = testutil_unhex(jstr(v, "kbpk"), &kn);
        struct tr31_header h;
        uint8_t *key = (uint8_t *)"untouched";
        size_t klen = 12345;
        int r = tr31_unwrap(kbpk, kn, kb, strlen(kb), &h, &key, &klen);
        if (r == 0)
            fail_msg("accepted must-fail block %zu: %s (%s)", i, kb, jstr(v, "error"));
        assert_true(r < 0);
        assert_string_equal((const char *)key, "untouched");
        assert_int_equal(klen, 12345);
        free(kbpk);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tr31_known_values),
        cmocka_unit_test(test_tr31_unwrap_vectors),
        cmocka_unit_test(test_tr31_key_derivation),
        cmocka_unit_test(test_tr31_unwrap_must_fail),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
