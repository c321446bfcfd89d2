/*
 * Unit tests for src/pos/receipt.c, escpos_decode.c, jtext.c, linedisp.c
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
#include "pos/jtext.h"
#include "pos/linedisp.h"
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

/* DOMAIN.md §5.3: the minimal stream decodes (Kanji, JAN13 Function B, QR, drawer, cut). */
static void test_ops6_decode_domain_stream(void **state)
{
    struct buf s;
    struct escpos_doc *d = NULL;
    buf_init(&s, 0);
    assert_int_equal(buf_put_bytes(&s, "\x1b\x40\x1b\x61\x01\x1b\x45\x01\x1d\x21\x11\x1c\x26\x1c\x43\x01", 16), 0);
    assert_int_equal(jtext_to_cp932("合計　", strlen("合計　"), &s), 0);
    assert_int_equal(buf_put_bytes(&s, "\\1,410\n\x1c\x2e", 9), 0); /* 0x5C: the yen trap */
    assert_int_equal(buf_put_bytes(&s, "\x1d\x6b\x43\x0d" "4901234567894", 17), 0);
    assert_int_equal(buf_put_bytes(&s, "\x1d\x28\x6b\x11\x00\x31\x50\x30" "T1234567890123", 22), 0);
    assert_int_equal(buf_put_bytes(&s, "\x1d\x28\x6b\x03\x00\x31\x51\x30", 8), 0);
    assert_int_equal(buf_put_bytes(&s, "\x1b\x70\x00\x19\xfa\x1d\x56\x41\x03", 9), 0);
    assert_int_equal(escpos_decode(buf_ptr(&s), buf_remaining(&s), &d), 0);
    assert_int_equal(d->n_lines, 1);
    assert_string_equal(d->lines[0], "合計　¥1,410");
    long i = escpos_doc_find(d, ESCPOS_BARCODE, 0);
    assert_true(i >= 0);
    assert_int_equal(d->cmds[i].arg, 67);
    assert_string_equal(d->cmds[i].data, "4901234567894");
    i = escpos_doc_find(d, ESCPOS_QR, 0);
    assert_true(i >= 0);
    assert_string_equal(d->cmds[i].data, "T1234567890123");
    assert_true(escpos_doc_find(d, ESCPOS_DRAWER, 0) >= 0);
    assert_true(escpos_doc_find(d, ESCPOS_CUT, 0) >= 0);
    struct buf txt;
    buf_init(&txt, 0);
    assert_int_equal(escpos_doc_text(d, &txt), 0);
    assert_non_null(memmem(buf_ptr(&txt), buf_remaining(&txt), "[BARCODE JAN13 4901234567894]", 29));
    buf_free(&txt);
    escpos_doc_free(d);
    buf_free(&s);
}

static void test_ops6_decode_hostile_bytes(void **state)
{
    struct escpos_doc *d = (struct escpos_doc *)0x1;
    static const struct {
        const char *p;
        size_t n;
    } bad[] = {
        {"\x1b", 1},                         /* truncated ESC */
        {"\x1b\x61", 2},                     /* missing parameter */
        {"\x1b\x99", 2},                     /* unknown ESC */
        {"\x1d\x6b\x49\x30" "ab", 6},        /* length beyond the data */
        {"\x1d\x6b\x02" "4901", 7},          /* Function A without NUL */
        {"\x1d\x28\x6b\xff\xff\x31\x50\x30", 8}, /* QR length beyond the data */
        {"\x1d\x28\x6b\x01\x00\x31", 6},
        {"\x07", 1},                         /* BEL: unknown control */
        {"\x81\n", 2},                       /* a CP932 lead byte alone */
        {"\x1c\x99", 2},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(escpos_decode(bad[i].p, bad[i].n, &d) < 0);
        assert_ptr_equal(d, (struct escpos_doc *)0x1);
    }
    /* a very long line */
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, 'a', 10000);
    assert_int_equal(escpos_decode(big, 10000, &d), MAMORI_ERR_TOOBIG);
    free(big);
    /* empty input is an empty document */
    assert_int_equal(escpos_decode("", 0, &d), 0);
    assert_int_equal(d->n_lines, 0);
    escpos_doc_free(d);
    escpos_doc_free(NULL);
}

static void test_ops6_jtext(void **state)
{
    size_t w;
    char y[32];
    assert_int_equal(jtext_width("ｺｰﾗ abc", &w), 0);
    assert_int_equal(w, 7);
    assert_int_equal(jtext_width("牛乳※", &w), 0);
    assert_int_equal(w, 6);
    assert_int_equal(jtext_width("\xe3\x81", &w), MAMORI_ERR_INVAL);
    assert_false(jtext_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(jtext_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_int_equal(jtext_yen(1234567, y, sizeof(y)), 0);
    assert_string_equal(y, "￥1,234,567");
    assert_int_equal(jtext_yen(-90, y, sizeof(y)), 0);
    assert_string_equal(y, "-￥90");
    assert_int_equal(jtext_yen(0, y, sizeof(y)), 0);
    assert_string_equal(y, "￥0");
    assert_int_equal(jtext_yen(INT64_MIN, y, sizeof(y)), MAMORI_ERR_INVAL);
    assert_int_equal(jtext_yen(1000, y, 4), MAMORI_ERR_TOOBIG);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(jtext_put_fit(&b, "明治おいしい牛乳", 5, true), 0);
    assert_int_equal(buf_remaining(&b), 6 + 1); /* 明治 (4 cols) + 1 space, no split kanji */
    buf_free(&b);
}

static void test_ops6_linedisp(void **state)
{
    struct linedisp d;
    size_t w;
    assert_int_equal(linedisp_item("明治おいしい牛乳 1000ml", 2, 556, &d), 0);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(jtext_width(d.row[r], &w), 0);
        assert_int_equal(w, LINEDISP_COLS);
    }
    assert_non_null(strstr(d.row[0], "明治おいしい牛乳"));
    assert_non_null(strstr(d.row[1], "x2"));
    assert_non_null(strstr(d.row[1], "￥556"));
    assert_int_equal(linedisp_subtotal(3, 1410, &d), 0);
    assert_non_null(strstr(d.row[1], "￥1,410"));
    assert_int_equal(linedisp_change(1500, 90, &d), 0);
    assert_non_null(strstr(d.row[1], "￥90"));
    assert_int_equal(linedisp_text("年齢確認をお願いします。二十歳以上ですか?", "はい / いいえ", &d), 0);
    assert_int_equal(jtext_width(d.row[0], &w), 0);
    assert_int_equal(w, LINEDISP_COLS);
    assert_int_equal(linedisp_item("x", 0, 1, &d), MAMORI_ERR_INVAL);
    assert_int_equal(linedisp_item("\xff", 1, 1, &d), MAMORI_ERR_INVAL);
    assert_int_equal(linedisp_item("ok", 1, 9000000000000000000LL, &d), MAMORI_ERR_TOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops6_qualified_invoice_elements),
        cmocka_unit_test(test_ops6_no_backslash_yen_in_bytes),
        cmocka_unit_test(test_ops6_training_and_reprint_banners),
        cmocka_unit_test(test_ops6_card_points_return),
        cmocka_unit_test(test_pol1_receipt_refuses_unmasked_numbers),
        cmocka_unit_test(test_ops6_hostile_models),
        cmocka_unit_test(test_ops6_decode_domain_stream),
        cmocka_unit_test(test_ops6_decode_hostile_bytes),
        cmocka_unit_test(test_ops6_jtext),
        cmocka_unit_test(test_ops6_linedisp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
