/*
 * Unit tests for src/pos/receipt.c
 * (OPS-4, OPS-6, POL-1): the receipt bytes are decoded back and every element
 * a 適格簡易請求書 needs is checked; hostile models and hostile ESC/POS bytes.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/escpos_decode.h"
#include "pos/receipt.h"
#include "pos/tax.h"

/* The NTA 問58 receipt (DOMAIN.md §2.5) as a model. */
static const struct tax_line TL[] = {
    {108, TAX_CLASS_REDUCED, true, 1},
    {972, TAX_CLASS_REDUCED, true, 1},
    {330, TAX_CLASS_STANDARD, true, 1},
};
static const struct receipt_line RL[] = {
    {.name = "コーラ", .unit_price = 108, .qty = 1, .amount = 108, .reduced = true, .inclusive = true},
    {.name = "ギュウニク", .unit_price = 648, .qty = 1, .weight_g = 150, .amount = 972, .reduced = true,
     .inclusive = true},
    {.name = "ハミガキコ", .unit_price = 330, .qty = 1, .amount = 330, .inclusive = true},
};
static const struct receipt_tender CASH[] = {{.kind = RECEIPT_TENDER_CASH, .amount = 1500}};

static struct tax_result nta_tax(void)
{
    struct tax_input in = {.lines = TL, .n_lines = 3};
    struct tax_result t;
    assert_int_equal(tax_compute(&in, &t), 0);
    return t;
}

static struct receipt_model nta_model(const struct tax_result *t)
{
    struct receipt_model m = {
        .issuer_name = "スーパー○○",
        .issuer_address = "東京都千代田区○○1-2-3",
        .registration_no = "T1234567890123",
        .when = 1793491200, /* 2026-11-01 00:00 UTC */
        .utc_offset_min = 540,
        .store = 1,
        .terminal = 3,
        .receipt_no = 42,
        .operator_name = "山田",
        .operator_id = 12,
        .lines = RL,
        .n_lines = 3,
        .tax = t,
        .tenders = CASH,
        .n_tenders = 1,
        .change = 90,
    };
    return m;
}

static struct escpos_doc *render_decode(const struct receipt_model *m)
{
    struct buf o;
    struct escpos_doc *d = NULL;
    buf_init(&o, RECEIPT_BYTES_MAX);
    assert_int_equal(receipt_render(m, &o), 0);
    assert_int_equal(escpos_decode(buf_ptr(&o), buf_remaining(&o), &d), 0);
    buf_free(&o);
    return d;
}

static const char *line_with(const struct escpos_doc *d, const char *s)
{
    for (size_t i = 0; i < d->n_lines; i++)
        if (strstr(d->lines[i], s))
            return d->lines[i];
    fail_msg("no line contains \"%s\"", s);
    return NULL;
}

/* Every element of DOMAIN.md §2.4 is on the decoded receipt. */
static void test_ops6_qualified_invoice_elements(void **state)
{
    struct tax_result t = nta_tax();
    struct receipt_model m = nta_model(&t);
    struct escpos_doc *d = render_decode(&m);
    /* 1. issuer and registration number */
    assert_non_null(line_with(d, "スーパー○○"));
    assert_non_null(line_with(d, "登録番号 T1234567890123"));
    /* 2. date (JST) */
    assert_non_null(line_with(d, "2026年11月01日 09:00"));
    /* 3. lines with the reduced-rate marker, and its legend */
    assert_non_null(strstr(line_with(d, "コーラ"), "※"));
    assert_non_null(strstr(line_with(d, "コーラ"), "￥108"));
    assert_non_null(strstr(line_with(d, "ギュウニク"), "※"));
    assert_null(strstr(line_with(d, "ハミガキコ"), "※"));
    assert_non_null(line_with(d, "150g @￥648/100g"));
    assert_non_null(line_with(d, "※印は軽減税率対象商品"));
    /* 4. totals per rate, 5. tax per rate (both printed) */
    assert_non_null(strstr(line_with(d, "合計"), "￥1,410"));
    assert_non_null(strstr(line_with(d, "10%対象"), "￥330"));
    assert_non_null(strstr(line_with(d, "8%対象"), "￥1,080"));
    assert_non_null(strstr(line_with(d, "内消費税等 10%"), "￥30"));
    assert_non_null(strstr(line_with(d, "内消費税等 8%"), "￥80"));
    /* tenders, change, receipt number, terminal, operator */
    assert_non_null(strstr(line_with(d, "お預り"), "￥1,500"));
    assert_non_null(strstr(line_with(d, "お釣"), "￥90"));
    assert_non_null(line_with(d, "No.000000042"));
    assert_non_null(line_with(d, "レジ0003"));
    assert_non_null(line_with(d, "担当 山田(0012)"));
    assert_false(escpos_doc_has_text(d, "再発行"));
    assert_false(escpos_doc_has_text(d, "トレーニング"));
    /* the receipt-number barcode parses back to this receipt */
    long bi = escpos_doc_find(d, ESCPOS_BARCODE, 0);
    assert_true(bi >= 0);
    assert_int_equal(d->cmds[bi].arg, 73);
    struct barcode bc;
    assert_int_equal(barcode_parse(NULL, d->cmds[bi].data, strlen(d->cmds[bi].data), &bc), 0);
    assert_int_equal(bc.kind, BARCODE_RECEIPT);
    assert_int_equal(bc.store, 1);
    assert_int_equal(bc.terminal, 3);
    assert_int_equal(bc.serial, 42);
    /* Shift JIS selected, a cut at the end, no 0x5C yen trap */
    assert_true(escpos_doc_find(d, ESCPOS_KANJI_CODE, 0) >= 0);
    assert_int_equal(d->cmds[escpos_doc_find(d, ESCPOS_KANJI_CODE, 0)].arg, 1);
    assert_int_equal(d->cmds[d->n_cmds - 1].kind, ESCPOS_CUT);
    escpos_doc_free(d);
}

static void test_ops6_no_backslash_yen_in_bytes(void **state)
{
    struct tax_result t = nta_tax();
    struct receipt_model m = nta_model(&t);
    struct buf o;
    buf_init(&o, RECEIPT_BYTES_MAX);
    assert_int_equal(receipt_render(&m, &o), 0);
    /* ￥ is 0x81 0x8F in CP932; the receipt must contain it. */
    const uint8_t *p = buf_ptr(&o);
    size_t n = buf_remaining(&o);
    bool found = false;
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == 0x81 && p[i + 1] == 0x8F)
            found = true;
    assert_true(found);
    buf_free(&o);
}

static void test_ops6_training_and_reprint_banners(void **state)
{
    struct tax_result t = nta_tax();
    struct receipt_model m = nta_model(&t);
    m.training = true;
    struct escpos_doc *d = render_decode(&m);
    assert_true(escpos_doc_has_text(d, "【トレーニング】"));
    assert_true(escpos_doc_has_text(d, "売上になりません"));
    /* top and bottom */
    int n = 0;
    for (size_t i = 0; i < d->n_lines; i++)
        n += strstr(d->lines[i], "【トレーニング】") != NULL;
    assert_int_equal(n, 2);
    escpos_doc_free(d);
    m.training = false;
    m.reprint = true;
    d = render_decode(&m);
    assert_true(escpos_doc_has_text(d, "【再発行】"));
    escpos_doc_free(d);
}

static void test_ops6_card_points_return(void **state)
{
    struct tax_result t = nta_tax();
    struct receipt_model m = nta_model(&t);
    struct receipt_tender tn[] = {
        {.kind = RECEIPT_TENDER_GIFT, .amount = 1000},
        {.kind = RECEIPT_TENDER_CARD, .amount = 410, .brand = "VISA", .card_last4 = "1234",
         .approval = "123456", .method = "一括"},
    };
    struct receipt_discount ds[] = {{"小計値引", 50}};
    m.tenders = tn;
    m.n_tenders = 2;
    m.change = 0;
    m.discounts = ds;
    m.n_discounts = 1;
    m.member_masked = "************5678";
    m.points_earned = 14;
    m.points_balance = 1200;
    m.checker_name = "佐藤";
    struct escpos_doc *d = render_decode(&m);
    assert_non_null(strstr(line_with(d, "商品券"), "￥1,000"));
    assert_non_null(line_with(d, "カード番号 ************1234"));
    assert_non_null(line_with(d, "承認番号 123456"));
    assert_non_null(line_with(d, "支払区分 一括"));
    assert_non_null(line_with(d, "ポイント会員 ************5678"));
    assert_non_null(strstr(line_with(d, "小計値引"), "-￥50"));
    assert_non_null(line_with(d, "チェッカー 佐藤"));
    escpos_doc_free(d);
    m.kind = RECEIPT_RETURN;
    m.original_receipt_no = 41;
    m.tenders = CASH;
    m.n_tenders = 1;
    m.member_masked = NULL;
    m.discounts = NULL;
    m.n_discounts = 0;
    d = render_decode(&m);
    assert_non_null(line_with(d, "返品"));
    assert_non_null(line_with(d, "元レシート No.000000041"));
    assert_non_null(strstr(line_with(d, "合計"), "-￥1,410"));
    escpos_doc_free(d);
}

/* 外税 lines: the added tax is shown before the total, and the per-rate tax is 外. */
static void test_ops6_exclusive_receipt(void **state)
{
    static const struct tax_line tl[] = {{105, TAX_CLASS_STANDARD, false, 1},
                                         {105, TAX_CLASS_STANDARD, false, 1},
                                         {105, TAX_CLASS_STANDARD, false, 1}};
    static const struct receipt_line rl[] = {
        {.name = "ボールペン", .unit_price = 105, .qty = 3, .amount = 315}};
    struct tax_input in = {.lines = tl, .n_lines = 3};
    struct tax_result t;
    assert_int_equal(tax_compute(&in, &t), 0);
    struct receipt_model m = nta_model(&t);
    struct receipt_tender cash = {.kind = RECEIPT_TENDER_CASH, .amount = 346};
    m.lines = rl;
    m.n_lines = 1;
    m.tenders = &cash;
    m.change = 0;
    struct escpos_doc *d = render_decode(&m);
    assert_non_null(strstr(line_with(d, "小計"), "￥315"));
    assert_non_null(strstr(line_with(d, "外税"), "￥31"));
    assert_non_null(strstr(line_with(d, "合計"), "￥346"));
    assert_non_null(strstr(line_with(d, "外消費税等 10%"), "￥31"));
    assert_non_null(line_with(d, "@￥105 x 3"));
    assert_false(escpos_doc_has_text(d, "※")); /* no reduced line, no legend */
    escpos_doc_free(d);
}

/* POL-1: an unmasked member number or a full PAN never reaches the paper. */
static void test_pol1_receipt_refuses_unmasked_numbers(void **state)
{
    struct tax_result t = nta_tax();
    struct receipt_model m = nta_model(&t);
    struct buf o;
    buf_init(&o, RECEIPT_BYTES_MAX);
    m.member_masked = "1234567890125678";
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    m.member_masked = "****5678";
    buf_reset(&o);
    assert_int_equal(receipt_render(&m, &o), 0);
    struct receipt_tender tn = {.kind = RECEIPT_TENDER_CARD, .amount = 1410, .card_last4 = "4111111111111111"};
    m.tenders = &tn;
    buf_reset(&o);
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    buf_free(&o);
}

static void test_ops6_hostile_models(void **state)
{
    struct tax_result t = nta_tax();
    struct receipt_model m;
    struct buf o;
    buf_init(&o, RECEIPT_BYTES_MAX);
    m = nta_model(&t);
    m.registration_no = "T123456789012"; /* 12 digits */
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    m.registration_no = "1234567890123X";
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    m = nta_model(&t);
    m.issuer_name = "";
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    m = nta_model(&t);
    m.tax = NULL;
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    m = nta_model(&t);
    m.footer = "\x1b@injected"; /* control bytes would be printer commands */
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    m.footer = "\xff\xfe";
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    m = nta_model(&t);
    m.n_lines = RECEIPT_LINES_MAX + 1;
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_TOOBIG);
    m = nta_model(&t);
    m.receipt_no = 1000000000ULL;
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    /* Text fields at the limit (66 kanji = 198 bytes) render; one byte over is refused. */
    char longtext[RECEIPT_TEXT_MAX + 2];
    longtext[0] = '\0';
    for (int i = 0; i < 66; i++)
        strcat(longtext, "漢");
    struct receipt_tender lt = {.kind = RECEIPT_TENDER_CARD, .amount = 1410, .brand = longtext,
                                .approval = longtext, .method = longtext, .card_last4 = "0001"};
    m = nta_model(&t);
    m.tenders = &lt;
    m.operator_name = longtext;
    m.footer = longtext;
    buf_reset(&o);
    assert_int_equal(receipt_render(&m, &o), 0);
    strcat(longtext, "abc"); /* 201 bytes */
    assert_true(strlen(longtext) > RECEIPT_TEXT_MAX);
    buf_reset(&o);
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    /* A character that CP932 cannot carry (emoji) */
    struct receipt_line l = RL[0];
    l.name = "コーラ\xF0\x9F\x8D\xBA";
    m = nta_model(&t);
    m.lines = &l;
    m.n_lines = 1;
    buf_reset(&o);
    assert_int_equal(receipt_render(&m, &o), MAMORI_ERR_INVAL);
    /* CP932 extensions are fine: ① ㈱ */
    l.name = "①㈱テスト";
    buf_reset(&o);
    assert_int_equal(receipt_render(&m, &o), 0);
    buf_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops6_qualified_invoice_elements),
        cmocka_unit_test(test_ops6_no_backslash_yen_in_bytes),
        cmocka_unit_test(test_ops6_training_and_reprint_banners),
        cmocka_unit_test(test_ops6_card_points_return),
        cmocka_unit_test(test_ops6_exclusive_receipt),
        cmocka_unit_test(test_pol1_receipt_refuses_unmasked_numbers),
        cmocka_unit_test(test_ops6_hostile_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
