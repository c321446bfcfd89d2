/* Unit tests for src/crypto/tr31.c, pinblock.c and kcv.c: version D wrap
 * round trip, tampering, every truncation, header strictness (POL-8(3)). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/kcv.h"
#include "crypto/pinblock.h"
#include "crypto/tr31.h"
#include "mamori/err.h"

static struct tr31_header bdk_header(void)
{
    struct tr31_header h;
    memset(&h, 0, sizeof(h));
    memcpy(h.usage, "B1", 3);       /* initial DUKPT key */
    h.algorithm = 'A';
    h.mode = 'X';
    memcpy(h.key_version, "00", 3);
    h.exportability = 'N';
    return h;
}

static void test_pol8_tr31_wrap_d_roundtrip(void **state)
{
    uint8_t kbpk[32], key[16], *out = NULL;
    size_t olen = 0;
    char *kb = NULL;
    struct tr31_header h = bdk_header(), got;
    for (size_t i = 0; i < sizeof(kbpk); i++)
        kbpk[i] = (uint8_t)(0xA0 + i);
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(0x10 + i);
    for (size_t kl = 16; kl <= 32; kl += 8) {
        assert_int_equal(tr31_wrap_d(kbpk, kl, &h, key, sizeof(key), &kb), 0);
        assert_int_equal(kb[0], 'D');
        assert_int_equal(strncmp(kb + 5, "B1AX00N0000", 11), 0);
        assert_int_equal(tr31_unwrap(kbpk, kl, kb, strlen(kb), &got, &out, &olen), 0);
        assert_int_equal(olen, sizeof(key));
        assert_memory_equal(out, key, sizeof(key));
        assert_string_equal(got.usage, "B1");
        tr31_key_free(out);
        /* each wrap uses fresh padding: two wraps differ */
        char *kb2 = NULL;
        assert_int_equal(tr31_wrap_d(kbpk, kl, &h, key, sizeof(key), &kb2), 0);
        assert_string_not_equal(kb, kb2);
        free(kb2);
        free(kb);
    }
}

static void test_pol8_tr31_tampered_and_truncated_rejected(void **state)
{
    uint8_t kbpk[16], key[16], *out = NULL;
    size_t olen = 0;
    char *kb = NULL;
    struct tr31_header h = bdk_header(), got;
    memset(kbpk, 0x33, sizeof(kbpk));
    memset(key, 0x44, sizeof(key));
    assert_int_equal(tr31_wrap_d(kbpk, 16, &h, key, 16, &kb), 0);
    size_t n = strlen(kb);
    /* every single-character change after the length field is refused */
    for (size_t i = 0; i < n; i++) {
        char save = kb[i];
        kb[i] = (char)(save == 'A' ? 'B' : 'A');
        int r = tr31_unwrap(kbpk, 16, kb, n, &got, &out, &olen);
        if (r == 0)
            fail_msg("accepted change at %zu", i);
        kb[i] = save;
    }
    /* header usage change: MAC covers the header */
    kb[5] = 'P';
    kb[6] = '0';
    assert_int_equal(tr31_unwrap(kbpk, 16, kb, n, &got, &out, &olen), MAMORI_ERR_AUTH);
    kb[5] = 'B';
    kb[6] = '1';
    /* every truncation */
    for (size_t l = 0; l < n; l++)
        assert_true(tr31_unwrap(kbpk, 16, kb, l, &got, &out, &olen) < 0);
    /* wrong KBPK */
    kbpk[0] ^= 1;
    assert_int_equal(tr31_unwrap(kbpk, 16, kb, n, &got, &out, &olen), MAMORI_ERR_AUTH);
    kbpk[0] ^= 1;
    /* wrong KBPK lengths */
    assert_int_equal(tr31_unwrap(kbpk, 15, kb, n, &got, &out, &olen), MAMORI_ERR_INVAL);
    assert_int_equal(tr31_wrap_d(kbpk, 8, &h, key, 16, &kb), MAMORI_ERR_INVAL);
    /* wrong wrapped key length for the algorithm */
    char *kb3 = NULL;
    assert_int_equal(tr31_wrap_d(kbpk, 16, &h, key, 15, &kb3), MAMORI_ERR_INVAL);
    assert_null(kb3);
    assert_int_equal(tr31_unwrap(kbpk, 16, kb, n, &got, &out, &olen), 0);
    tr31_key_free(out);
    free(kb);
}

static void test_tr31_header_strictness(void **state)
{
    struct tr31_header h;
    const char *bad[] = {
        "X0024B1AX00N00000000000000",   /* unknown version */
        "D0032B1AX00N0000",              /* declared length > actual */
        "D003xB1AX00N0000",              /* non-digit length */
        "D0048B1AX00N99000000000000000000000000000000", /* 99 optional blocks */
        "D0048B1AX00N01000000000000000000000000000000", /* optional block 00 id then bad */
        "D0048B!AX00N0000000000000000000000000000000000", /* punctuation in usage */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_true(tr31_header_parse(bad[i], strlen(bad[i]), &h) < 0);
    assert_int_equal(tr31_header_parse("E0016B1AX00N0000", 16, &h), MAMORI_ERR_INVAL); /* no payload */
    assert_int_equal(tr31_header_parse("F0016B1AX00N0000", 16, &h), MAMORI_ERR_INVAL); /* no such version */
    char big[TR31_MAX_LEN + 2];
    memset(big, 'A', sizeof(big));
    assert_int_equal(tr31_header_parse(big, sizeof(big), &h), MAMORI_ERR_TOOBIG);
    /* lower-case hex in the payload is refused (upper-case only) */
    const char *lc = "A0056M3TC00E0000bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb9AA5BBA6";
    assert_int_equal(tr31_header_parse(lc, strlen(lc), &h), MAMORI_ERR_INVAL);
}

static void test_kcv_known_and_hostile(void **state)
{
    /* TR-31:2018 A.7.2.1 key F039121BEC83D26B169BDCD5B22AAF8F has TDES KCV CB9DEA (tr31.json). */
    static const uint8_t k[16] = {0xF0, 0x39, 0x12, 0x1B, 0xEC, 0x83, 0xD2, 0x6B,
                                  0x16, 0x9B, 0xDC, 0xD5, 0xB2, 0x2A, 0xAF, 0x8F};
    char hex[40];
    assert_int_equal(kcv_hex(SYMM_TDES, k, 16, 3, hex, sizeof(hex)), 0);
    assert_string_equal(hex, "CB9DEA");
    assert_int_equal(kcv_hex(SYMM_AES, k, 16, 3, hex, sizeof(hex)), 0);
    assert_string_not_equal(hex, "CB9DEA");
    assert_int_equal(kcv_hex(SYMM_AES, k, 15, 3, hex, sizeof(hex)), MAMORI_ERR_INVAL);
    assert_int_equal(kcv_hex(SYMM_TDES, k, 16, 9, hex, sizeof(hex)), MAMORI_ERR_INVAL);
    assert_int_equal(kcv_hex(SYMM_AES, k, 16, 3, hex, 6), MAMORI_ERR_INVAL);
}

static void test_pinblock_hostile(void **state)
{
    uint8_t key[16] = {0}, blk[16];
    char pin[PINBLOCK_PIN_BUF];
    assert_int_equal(pinblock_iso4_encipher(key, 16, NULL, "4111111111111111", NULL, blk), MAMORI_ERR_INVAL);
    assert_int_equal(pinblock_iso4_encipher(key, 16, "1234", NULL, NULL, blk), MAMORI_ERR_INVAL);
    assert_int_equal(pinblock_iso4_encipher(key, 17, "1234", "41", NULL, blk), MAMORI_ERR_INVAL);
    assert_int_equal(pinblock_iso4_decipher(key, 16, blk, 15, "41", pin), MAMORI_ERR_INVAL);
    assert_int_equal(pinblock_iso0_decode(blk, 8, NULL, pin), MAMORI_ERR_INVAL);
    /* a random 16-byte block almost never decodes as format 4 */
    int accepted = 0;
    for (int i = 0; i < 64; i++) {
        memset(blk, i * 3 + 1, sizeof(blk));
        accepted += pinblock_iso4_decipher(key, 16, blk, 16, "4111111111111111", pin) == 0;
    }
    assert_int_equal(accepted, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol8_tr31_wrap_d_roundtrip),
        cmocka_unit_test(test_pol8_tr31_tampered_and_truncated_rejected),
        cmocka_unit_test(test_tr31_header_strictness),
        cmocka_unit_test(test_kcv_known_and_hostile),
        cmocka_unit_test(test_pinblock_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
