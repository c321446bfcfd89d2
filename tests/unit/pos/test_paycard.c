/*
 * test_paycard: the payment store's data-class rule (POL-1, POL-2, POL-3,
 * issue 4): card data can only be stored masked. A clear PAN is refused as
 * a masked PAN, and in any other field of a payment record (approval,
 * method, signature/e-money JSON), while masked values, the host's token and
 * signature points are stored. Also the tender reference format the
 * receipt reads (last 4, approval, payment method).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "devices/emrec.h"
#include "keys/keys.h"
#include "mamori/err.h"
#include "pos/paycard.h"

static void test_pol2_masked_pan_type_refuses_clear_pan(void **state)
{
    struct paycard_masked m;
    (void)state;
    memset(&m, 0, sizeof(m));
    assert_int_equal(paycard_masked_from("4111111111111111", &m), MAMORI_ERR_PERM);
    assert_int_equal(paycard_masked_from("4111111*****1111", &m), MAMORI_ERR_PERM);  /* 7 leading */
    assert_int_equal(paycard_masked_from("411111*****11111", &m), MAMORI_ERR_PERM);  /* 5 trailing */
    assert_string_equal(m.v, ""); /* nothing written on refusal */
    assert_int_equal(paycard_masked_from("4111-1111", &m), MAMORI_ERR_INVAL);
    assert_int_equal(paycard_masked_from("", &m), MAMORI_ERR_INVAL);
    assert_int_equal(paycard_masked_from("411111******1111", &m), 0);
    assert_string_equal(m.v, "411111******1111");
    assert_int_equal(paycard_masked_from("************1111", &m), 0);
}

static void fill(struct paycard_payment *p)
{
    memset(p, 0, sizeof(*p));
    p->txn_no = 7;
    strcpy(p->kind, "card");
    p->amount = 320;
    strcpy(p->host_txn, "0a1b2c3d4e5f6071");
    strcpy(p->approval, "123456");
    memset(p->token, 'a', 64);
    assert_int_equal(paycard_masked_from("411111******1111", &p->pan), 0);
    strcpy(p->last4, "1111");
    strcpy(p->method, "lump");
    strcpy(p->cvm, "pin");
}

static void test_pol3_paystore_refuses_card_data_in_any_field(void **state)
{
    char *dir = testutil_tmpdir(), path[600];
    struct paystore *s = NULL;
    struct paycard_payment p, got;
    (void)state;
    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/pay.db", dir);
    assert_int_equal(paystore_open(path, &s), 0);
    fill(&p);
    assert_int_equal(paystore_put(s, &p), 0);
    /* a PAN smuggled into a free-text field */
    fill(&p);
    strcpy(p.method, "4111111111111111");
    assert_int_equal(paystore_put(s, &p), MAMORI_ERR_PERM);
    fill(&p);
    p.extra = json_pack("{s:s}", "note", "card 4111111111111111 exp 2812");
    assert_int_equal(paystore_put(s, &p), MAMORI_ERR_PERM);
    json_decref(p.extra);
    /* track 2 inside the JSON of a "signature" */
    fill(&p);
    p.extra = json_pack("{s:s}", "signature", ";4111111111111111=28121011234567?");
    assert_int_equal(paystore_put(s, &p), MAMORI_ERR_PERM);
    json_decref(p.extra);
    /* a token that is not the host's hex */
    fill(&p);
    strcpy(p.token, "4111111111111111");
    assert_int_equal(paystore_put(s, &p), MAMORI_ERR_INVAL);
    /* signature points are fine */
    fill(&p);
    p.extra = json_pack("{s:[[i,i],[i,i]]}", "signature", 10, 20, 1023, 255);
    assert_int_equal(paystore_put(s, &p), 0);
    json_decref(p.extra);
    assert_int_equal(paystore_find(s, "0a1b2c3d4e5f6071", &got), 0);
    assert_string_equal(got.pan.v, "411111******1111");
    assert_int_equal(got.amount, 320);
    assert_int_equal(paystore_find(s, "ffff", &got), MAMORI_ERR_NOTFOUND);
    paystore_close(s);
    /* nothing of a PAN in the file */
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    for (size_t i = 0; i + 16 <= n; i++)
        assert_false(memcmp(buf + i, "4111111111111111", 16) == 0);
    free(buf);
    testutil_rmtree(dir);
    free(dir);
}

static void test_pan_run_detector(void **state)
{
    (void)state;
    assert_true(paycard_has_pan_run("x411111111111y"));
    assert_false(paycard_has_pan_run("41111111111"));
    assert_false(paycard_has_pan_run("411111******1111"));
    assert_false(paycard_has_pan_run(NULL));
}

static void test_ref_parse_and_method_names(void **state)
{
    char h[24], a[8], l4[5], m[16];
    (void)state;
    assert_int_equal(paycard_ref_parse("0a1b2c3d4e5f6071 123456 1111 installments", h, a, l4, m), 0);
    assert_string_equal(h, "0a1b2c3d4e5f6071");
    assert_string_equal(a, "123456");
    assert_string_equal(l4, "1111");
    assert_string_equal(paycard_method_ja(m), "分割");
    assert_string_equal(paycard_method_ja("lump"), "一括");
    assert_string_equal(paycard_method_ja("revolving"), "リボ");
    assert_string_equal(paycard_method_ja("bonus"), "ボーナス");
    assert_int_equal(paycard_ref_parse("only two", h, a, l4, m), MAMORI_ERR_INVAL);
    /* the optional entry mode word (chip / swipe) for the receipt */
    assert_int_equal(paycard_ref_parse("0a1b2c3d4e5f6071 123456 1111 installments swipe", h, a, l4, m), 0);
    assert_string_equal(m, "installments");
    assert_string_equal(paycard_ref_entry_ja("0a1b2c3d4e5f6071 123456 1111 installments swipe"), "磁気");
    assert_string_equal(paycard_ref_entry_ja("0a1b2c3d4e5f6071 123456 1111 lump chip"), "IC");
    assert_null(paycard_ref_entry_ja("0a1b2c3d4e5f6071 123456 1111 lump"));
    assert_null(paycard_ref_entry_ja("0a1b2c3d4e5f6071 123456 1111 lump contactless"));
    assert_null(paycard_ref_entry_ja(NULL));
    assert_int_equal(paycard_ref_parse(NULL, h, a, l4, m), MAMORI_ERR_INVAL);
}

static void test_host_answer_parsed_strictly(void **state)
{
    struct paycard_payment p;
    char ref[TENDER_REF_MAX], why[48];
    const char *ok = "{\"result\":\"approved\",\"txn_id\":\"0a1b2c3d4e5f6071\",\"approval_code\":\"123456\","
                     "\"token\":\"abcd\",\"last4\":\"1111\"}";
    (void)state;
    memset(&p, 0, sizeof(p));
    strcpy(p.method, "bonus");
    assert_int_equal(paycard_parse_answer(ok, strlen(ok), &p, ref, why, sizeof(why)), 0);
    assert_string_equal(ref, "0a1b2c3d4e5f6071 123456 1111 bonus");
    const char *no = "{\"result\":\"declined\",\"reason\":\"replay\"}";
    assert_int_equal(paycard_parse_answer(no, strlen(no), &p, ref, why, sizeof(why)), MAMORI_ERR_DECLINED);
    assert_string_equal(why, "replay");
    /* a last4 that is not 4 digits, an id that is not the host's hex, duplicates, garbage */
    const char *bad[] = {
        "{\"result\":\"approved\",\"txn_id\":\"0a1b\",\"approval_code\":\"1\",\"last4\":\"41111\"}",
        "{\"result\":\"approved\",\"txn_id\":\"0a 1b\",\"approval_code\":\"1\"}",
        "{\"result\":\"approved\",\"result\":\"approved\"}",
        "[1,2]", "", "{\"result\":\"error\",\"reason\":\"bad_request\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(paycard_parse_answer(bad[i], strlen(bad[i]), &p, ref, why, sizeof(why)), MAMORI_ERR_PROTO);
}

/* DEV-15: the register accepts an e-money deduction only on a record signed
 * by the pinned device key that is the record of this very payment. */
static void test_dev15_register_checks_emoney_record(void **state)
{
    struct keys *k, *other;
    struct emrec e, got;
    struct buf tbs, rec;
    uint8_t pub[32], opub[32];
    (void)state;
    assert_int_equal(keys_generate(&k), 0);
    assert_int_equal(keys_generate(&other), 0);
    keys_sign_public(k, pub);
    keys_sign_public(other, opub);
    memset(&e, 0, sizeof(e));
    strcpy(e.serial, "icreader-01");
    strcpy(e.card, "******5678");
    e.seq = 1;
    e.amount = 160;
    e.balance_before = 5000;
    e.balance_after = 4840;
    strcpy(e.txn, "12");
    strcpy(e.idem, "T1-12-1");
    e.time = 1795000000u;
    buf_init(&tbs, EMREC_MAX);
    buf_init(&rec, EMREC_MAX);
    assert_int_equal(emrec_tbs(&e, &tbs), 0);
    assert_int_equal(keys_sign(k, e.sig, buf_ptr(&tbs), buf_remaining(&tbs)), 0);
    assert_int_equal(emrec_encode(&e, &rec), 0);
    const uint8_t *p = buf_ptr(&rec);
    size_t n = buf_remaining(&rec);
    assert_int_equal(paycard_emoney_check(p, n, pub, 32, "icreader-01", 160, "12", "T1-12-1", &got), 0);
    assert_int_equal(got.balance_after, 4840);
    /* a genuine record, but not of this payment */
    assert_int_equal(paycard_emoney_check(p, n, pub, 32, "icreader-02", 160, "12", "T1-12-1", NULL), MAMORI_ERR_AUTH);
    assert_int_equal(paycard_emoney_check(p, n, pub, 32, "icreader-01", 170, "12", "T1-12-1", NULL), MAMORI_ERR_AUTH);
    assert_int_equal(paycard_emoney_check(p, n, pub, 32, "icreader-01", 160, "13", "T1-12-1", NULL), MAMORI_ERR_AUTH);
    assert_int_equal(paycard_emoney_check(p, n, pub, 32, "icreader-01", 160, "12", "T1-12-2", NULL), MAMORI_ERR_AUTH);
    /* another device's key; a key of the wrong length; garbage */
    assert_int_equal(paycard_emoney_check(p, n, opub, 32, "icreader-01", 160, "12", "T1-12-1", NULL), MAMORI_ERR_AUTH);
    assert_int_equal(paycard_emoney_check(p, n, pub, 16, "icreader-01", 160, "12", "T1-12-1", NULL), MAMORI_ERR_INVAL);
    assert_int_not_equal(paycard_emoney_check((const uint8_t *)"MEMR\x01junk", 9, pub, 32, "icreader-01", 160, "12",
                                              "T1-12-1", NULL), 0);
    /* stored rows: no registry, or no signed record, is never "verified" */
    assert_int_not_equal(paycard_emoney_verify_stored(NULL, "{\"device\":\"icreader-01\"}", 160, "E1", NULL), 0);
    assert_int_not_equal(paycard_emoney_verify_stored(NULL, "not json", 160, "E1", NULL), 0);
    buf_free(&tbs);
    buf_free(&rec);
    keys_free(k);
    keys_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol2_masked_pan_type_refuses_clear_pan),
        cmocka_unit_test(test_pol3_paystore_refuses_card_data_in_any_field),
        cmocka_unit_test(test_pan_run_detector),
        cmocka_unit_test(test_ref_parse_and_method_names),
        cmocka_unit_test(test_host_answer_parsed_strictly),
        cmocka_unit_test(test_dev15_register_checks_emoney_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
