/* Unit tests for src/devices/emrec.c: the device-signed e-money record
 * (DEV-15). Round trip; every field tampered, a foreign device's signature,
 * a wrong key length and garbage are refused cleanly. */
#include "testutil.h"

#include <string.h>

#include "devices/emrec.h"
#include "keys/keys.h"
#include "mamori/err.h"

static void sample(struct emrec *e)
{
    memset(e, 0, sizeof(*e));
    strcpy(e->serial, "icreader-0a1b2c3d");
    strcpy(e->card, "******5678");
    memcpy(e->purse, "\x01\x02\x03\x04\x05\x06\x07\x08", EMREC_PURSE_LEN);
    e->seq = 3;
    e->amount = 160;
    e->balance_before = 5000;
    e->balance_after = 4840;
    strcpy(e->txn, "17");
    strcpy(e->idem, "T1-17-1");
    e->time = 1795000000u;
}

/* A signed record of e with k into out. */
static void sign(struct emrec *e, struct keys *k, struct buf *out)
{
    struct buf tbs;
    buf_init(&tbs, EMREC_MAX);
    assert_int_equal(emrec_tbs(e, &tbs), 0);
    assert_int_equal(keys_sign(k, e->sig, buf_ptr(&tbs), buf_remaining(&tbs)), 0);
    buf_free(&tbs);
    assert_int_equal(emrec_encode(e, out), 0);
}

/* A fresh device key k (public half in pub) and the sample record e signed
 * with it into b (initialised here). */
static void signed_sample(struct keys **k, uint8_t pub[static 32], struct emrec *e, struct buf *b)
{
    assert_int_equal(keys_generate(k), 0);
    keys_sign_public(*k, pub);
    sample(e);
    buf_init(b, EMREC_MAX);
    sign(e, *k, b);
}

static void test_dev15_emrec_sign_verify_roundtrip(void **state)
{
    struct keys *k;
    struct emrec e, got;
    struct buf b;
    uint8_t pub[32];
    (void)state;
    signed_sample(&k, pub, &e, &b);
    assert_true(buf_remaining(&b) <= EMREC_MAX);
    assert_int_equal(emrec_verify(buf_ptr(&b), buf_remaining(&b), pub, sizeof(pub), &got), 0);
    assert_memory_equal(&got, &e, sizeof(e));
    /* parse alone does not need the key; the bytes are the only form */
    memset(&got, 0, sizeof(got));
    assert_int_equal(emrec_parse(buf_ptr(&b), buf_remaining(&b), &got), 0);
    assert_string_equal(got.idem, "T1-17-1");
    buf_free(&b);
    keys_free(k);
}

/* Every single byte of the record changed: refused (AUTH, or a parse error
 * for bytes the parser itself rejects). Never accepted. */
static void test_dev15_emrec_each_byte_tampered_rejected(void **state)
{
    struct keys *k;
    struct emrec e;
    struct buf b;
    uint8_t pub[32], copy[EMREC_MAX];
    (void)state;
    signed_sample(&k, pub, &e, &b);
    size_t n = buf_remaining(&b);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(copy, buf_ptr(&b), n);
            copy[i] ^= (uint8_t)(1u << bit);
            assert_int_not_equal(emrec_verify(copy, n, pub, sizeof(pub), NULL), 0);
        }
    }
    buf_free(&b);
    keys_free(k);
}

/* Each field changed to another valid value and re-encoded with the old
 * signature: AUTH (so the field really is covered by the signature). */
static void test_dev15_emrec_each_field_changed_rejected(void **state)
{
    struct keys *k;
    struct emrec e, f;
    struct buf b;
    uint8_t pub[32];
    (void)state;
    signed_sample(&k, pub, &e, &b);
    buf_free(&b);
    for (int field = 0; field < 10; field++) {
        f = e; /* keeps e's signature */
        switch (field) {
        case 0: strcpy(f.serial, "icreader-99999999"); break;
        case 1: strcpy(f.card, "******9999"); break;
        case 2: f.purse[7] ^= 1; break;
        case 3: f.seq = 4; break;
        case 4: f.amount = 10; f.balance_after = 4990; break;
        case 5: f.balance_before = 6000; f.balance_after = 5840; break;
        case 6: strcpy(f.txn, "18"); break;
        case 7: strcpy(f.idem, "T1-17-2"); break;
        case 8: f.time++; break;
        default: f.sig[0] ^= 0x80; break;
        }
        buf_init(&b, EMREC_MAX);
        assert_int_equal(emrec_encode(&f, &b), 0);
        assert_int_equal(emrec_verify(buf_ptr(&b), buf_remaining(&b), pub, sizeof(pub), NULL), MAMORI_ERR_AUTH);
        buf_free(&b);
    }
    keys_free(k);
}

static void test_dev15_emrec_other_device_signature_rejected(void **state)
{
    struct keys *k, *other;
    struct emrec e;
    struct buf b;
    uint8_t pub[32];
    (void)state;
    assert_int_equal(keys_generate(&k), 0);
    assert_int_equal(keys_generate(&other), 0);
    keys_sign_public(k, pub);
    sample(&e);
    buf_init(&b, EMREC_MAX);
    sign(&e, other, &b); /* same fields, another device's key */
    assert_int_equal(emrec_verify(buf_ptr(&b), buf_remaining(&b), pub, sizeof(pub), NULL), MAMORI_ERR_AUTH);
    buf_free(&b);
    keys_free(k);
    keys_free(other);
}

static void test_dev15_emrec_garbage_and_bad_keys_clean_errors(void **state)
{
    struct keys *k;
    struct emrec e, got;
    struct buf b;
    uint8_t pub[33] = {0}, junk[EMREC_MAX + 8];
    (void)state;
    signed_sample(&k, pub, &e, &b);
    const uint8_t *p = buf_ptr(&b);
    size_t n = buf_remaining(&b);
    /* a key of the wrong length, or none */
    assert_int_equal(emrec_verify(p, n, pub, 31, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(emrec_verify(p, n, pub, 33, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(emrec_verify(p, n, NULL, 32, NULL), MAMORI_ERR_INVAL);
    /* every truncation, trailing bytes, empty, oversized, random bytes */
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(emrec_parse(p, i, &got), 0);
    memcpy(junk, p, n);
    junk[n] = 0;
    assert_int_equal(emrec_parse(junk, n + 1, &got), MAMORI_ERR_TRAILING);
    assert_int_not_equal(emrec_parse(junk, 0, &got), 0);
    assert_int_equal(emrec_parse(junk, sizeof(junk), &got), MAMORI_ERR_TOOBIG);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    assert_int_not_equal(emrec_verify(junk, 200, pub, 32, NULL), 0);
    assert_int_equal(emrec_parse(NULL, 10, &got), MAMORI_ERR_INVAL);
    /* fields that break the rules are neither encoded nor parsed */
    struct emrec bad = e;
    bad.balance_after = 4841; /* before - amount != after */
    assert_int_equal(emrec_tbs(&bad, &b), MAMORI_ERR_INVAL);
    bad = e;
    strcpy(bad.card, "0012345678"); /* an unmasked card id */
    assert_int_equal(emrec_tbs(&bad, &b), MAMORI_ERR_INVAL);
    bad = e;
    bad.amount = 0;
    bad.balance_after = 5000;
    assert_int_equal(emrec_tbs(&bad, &b), MAMORI_ERR_INVAL);
    bad = e;
    bad.idem[0] = '\0';
    assert_int_equal(emrec_tbs(&bad, &b), MAMORI_ERR_INVAL);
    buf_free(&b);
    keys_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dev15_emrec_sign_verify_roundtrip),
        cmocka_unit_test(test_dev15_emrec_each_byte_tampered_rejected),
        cmocka_unit_test(test_dev15_emrec_each_field_changed_rejected),
        cmocka_unit_test(test_dev15_emrec_other_device_signature_rejected),
        cmocka_unit_test(test_dev15_emrec_garbage_and_bad_keys_clean_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
