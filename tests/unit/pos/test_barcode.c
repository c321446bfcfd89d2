/*
 * Unit tests for src/pos/barcode.c: DOMAIN.md §3 examples, in-store layouts,
 * coupon and receipt formats, and hostile input (OPS-1).
 */
#include "testutil.h"

#include <string.h>

#include "mamori/err.h"
#include "pos/barcode.h"

static int parse(const char *s, struct barcode *b)
{
    return barcode_parse(NULL, s, strlen(s), b);
}

/* DOMAIN.md §3.1 test values. */
static void test_ops1_domain_check_digits(void **state)
{
    int cd;
    assert_int_equal(barcode_gs1_check_digit("950110153100", 12, &cd), 0);
    assert_int_equal(cd, 0);
    assert_int_equal(barcode_gs1_check_digit("9501234", 7, &cd), 0);
    assert_int_equal(cd, 6);
    assert_int_equal(barcode_gs1_check_digit("494256301234", 12, &cd), 0);
    assert_int_equal(cd, 1);
    assert_int_equal(barcode_gs1_check_digit("490123456789", 12, &cd), 0);
    assert_int_equal(cd, 4);
    /* The typo headline of S13: "494256312345" gives 0. */
    assert_int_equal(barcode_gs1_check_digit("494256312345", 12, &cd), 0);
    assert_int_equal(cd, 0);
}

static void test_ops1_jan_and_ean8(void **state)
{
    struct barcode b;
    assert_int_equal(parse("4901234567894", &b), 0);
    assert_int_equal(b.kind, BARCODE_JAN13);
    assert_string_equal(b.code, "4901234567894");
    assert_int_equal(b.price, -1);
    assert_int_equal(parse("95012346", &b), 0);
    assert_int_equal(b.kind, BARCODE_EAN8);
    assert_string_equal(b.code, "0000095012346");
    /* Scanner suffixes are tolerated. */
    assert_int_equal(barcode_parse(NULL, "4901234567894\r\n", 15, &b), 0);
    assert_string_equal(b.code, "4901234567894");
}

static void test_ops1_upca_and_upce(void **state)
{
    struct barcode b;
    char a[13];
    /* UPC-A 036000291452 -> GTIN-13 0036000291452 */
    assert_int_equal(parse("036000291452", &b), 0);
    assert_int_equal(b.kind, BARCODE_UPCA);
    assert_string_equal(b.code, "0036000291452");
    /* UPC-E 04252614 -> UPC-A 042100005264 */
    assert_int_equal(barcode_upce_expand("04252614", a), 0);
    assert_string_equal(a, "042100005264");
    assert_int_equal(parse("04252614", &b), 0);
    assert_int_equal(b.kind, BARCODE_UPCE);
    assert_string_equal(b.code, "0042100005264");
    assert_int_equal(barcode_upce_expand("04252615", a), MAMORI_ERR_CHECKSUM);
    assert_int_equal(barcode_upce_expand("24252614", a), MAMORI_ERR_INVAL);
}

/* DOMAIN.md §3.2: price check digits 2875 -> 9, 14685 -> 6, 0398 -> 7. */
static void test_ops1_price_check_digits(void **state)
{
    int cd;
    assert_int_equal(barcode_price_cd4("2875", &cd), 0);
    assert_int_equal(cd, 9);
    assert_int_equal(barcode_price_cd5("14685", &cd), 0);
    assert_int_equal(cd, 6);
    assert_int_equal(barcode_price_cd4("0398", &cd), 0);
    assert_int_equal(cd, 7);
    assert_int_equal(barcode_price_cd4("03a8", &cd), MAMORI_ERR_INVAL);
}

/* DOMAIN.md §3.2 worked example: 02 12345 7 0398 + CD = 0212345703984. */
static void test_ops1_instore_02_price_with_pcd(void **state)
{
    struct barcode b;
    char c[14];
    struct barcode_config cfg;
    barcode_config_default(&cfg);
    assert_int_equal(barcode_instore_price_encode(&cfg.layouts[0], "12345", 398, c), 0);
    assert_string_equal(c, "0212345703984");
    assert_int_equal(parse("0212345703984", &b), 0);
    assert_int_equal(b.kind, BARCODE_INSTORE_PRICE);
    assert_int_equal(b.price, 398);
    /* Lookup key: price and price CD zeroed, JAN CD recomputed. */
    assert_memory_equal(b.code, "021234500000", 12);
    assert_true(barcode_gs1_valid(b.code, 13));
}

/* A wrong price check digit with a correct JAN check digit is refused:
 * the JAN CD alone would let a relabelled price through. */
static void test_ops1_instore_bad_price_cd_rejected(void **state)
{
    struct barcode b;
    char t[14] = "021234580398";
    int cd;
    assert_int_equal(barcode_gs1_check_digit(t, 12, &cd), 0);
    t[12] = (char)('0' + cd);
    t[13] = '\0';
    assert_true(barcode_gs1_valid(t, 13));
    memset(&b, 0x11, sizeof(b));
    assert_int_equal(parse(t, &b), MAMORI_ERR_CHECKSUM);
    assert_int_equal(b.price, 0x1111111111111111LL);
}

/* DOMAIN.md §3.2 examples: 21 (6 item + 4 price, no PCD) and CASIO 27. */
static void test_ops1_instore_21_and_27(void **state)
{
    struct barcode b;
    assert_int_equal(parse("2112002515005", &b), 0);
    assert_int_equal(b.kind, BARCODE_INSTORE_PRICE);
    assert_int_equal(b.price, 1500);
    assert_memory_equal(b.code, "211200250000", 12);
    assert_int_equal(parse("2734567890122", &b), 0);
    assert_int_equal(b.kind, BARCODE_INSTORE_PRICE);
    assert_int_equal(b.price, 789012);
    assert_string_equal(b.code, "2734500000007"); /* CASIO's item key */
}

static void test_ops1_instore_22_pcd5(void **state)
{
    struct barcode b;
    char c[14];
    struct barcode_config cfg;
    barcode_config_default(&cfg);
    const struct barcode_layout *l = NULL;
    for (size_t i = 0; i < cfg.n_layouts; i++)
        if (cfg.layouts[i].flag == 22)
            l = &cfg.layouts[i];
    assert_non_null(l);
    assert_int_equal(barcode_instore_price_encode(l, "1234", 14685, c), 0);
    assert_int_equal(c[6], '6'); /* the §3.2 5-digit price CD */
    assert_int_equal(parse(c, &b), 0);
    assert_int_equal(b.price, 14685);
    assert_int_equal(barcode_instore_price_encode(l, "1234", 100000, c), MAMORI_ERR_INVAL);
    assert_int_equal(barcode_instore_price_encode(l, "12345", 1, c), MAMORI_ERR_INVAL);
}

static void test_ops1_instore_plu_prefix(void **state)
{
    struct barcode b;
    char c[14] = "200000001234";
    int cd;
    assert_int_equal(barcode_gs1_check_digit(c, 12, &cd), 0);
    c[12] = (char)('0' + cd);
    c[13] = 0;
    assert_int_equal(parse(c, &b), 0);
    assert_int_equal(b.kind, BARCODE_INSTORE_ITEM);
    assert_string_equal(b.code, c);
    assert_int_equal(b.price, -1);
    /* 8-digit in-store (2x) */
    char e[9] = "2000123";
    assert_int_equal(barcode_gs1_check_digit(e, 7, &cd), 0);
    e[7] = (char)('0' + cd);
    e[8] = 0;
    assert_int_equal(parse(e, &b), 0);
    assert_int_equal(b.kind, BARCODE_INSTORE_ITEM);
}

/* A configured layout changes the meaning of a prefix. */
static void test_ops1_instore_custom_layout(void **state)
{
    struct barcode_config cfg;
    struct barcode b;
    barcode_config_default(&cfg);
    cfg.layouts[1] = (struct barcode_layout){20, true, 5, 5, false};
    char c[14];
    assert_int_equal(barcode_instore_price_encode(&cfg.layouts[1], "00042", 12345, c), 0);
    assert_int_equal(barcode_parse(&cfg, c, 13, &b), 0);
    assert_int_equal(b.kind, BARCODE_INSTORE_PRICE);
    assert_int_equal(b.price, 12345);
    /* A broken layout is a configuration error, not a parse. */
    cfg.layouts[1] = (struct barcode_layout){20, true, 7, 5, false};
    assert_int_equal(barcode_parse(&cfg, c, 13, &b), MAMORI_ERR_CONFIG);
}

static void test_ops2_coupon_roundtrip(void **state)
{
    char c[BARCODE_COUPON_LEN + 1];
    struct barcode b;
    assert_int_equal(barcode_coupon_encode(BARCODE_COUPON_YEN, 17, 100, 20261231, c), 0);
    assert_int_equal(strlen(c), 18);
    assert_memory_equal(c, "291", 3);
    assert_int_equal(parse(c, &b), 0);
    assert_int_equal(b.kind, BARCODE_COUPON);
    assert_int_equal(b.coupon_type, BARCODE_COUPON_YEN);
    assert_int_equal(b.coupon_id, 17);
    assert_int_equal(b.coupon_value, 100);
    assert_int_equal(b.coupon_expiry, 20261231);
    assert_int_equal(barcode_coupon_encode(BARCODE_COUPON_PERCENT, 1, 10, 20280229, c), 0);
    assert_int_equal(parse(c, &b), 0);
    assert_int_equal(b.coupon_type, BARCODE_COUPON_PERCENT);
    /* Hostile: 101 %, 0 value, 31 Feb, bad type. */
    assert_int_equal(barcode_coupon_encode(BARCODE_COUPON_PERCENT, 1, 101, 20261231, c), MAMORI_ERR_INVAL);
    assert_int_equal(barcode_coupon_encode(BARCODE_COUPON_YEN, 1, 0, 20261231, c), MAMORI_ERR_INVAL);
    assert_int_equal(barcode_coupon_encode(BARCODE_COUPON_YEN, 1, 5, 20260231, c), MAMORI_ERR_INVAL);
    /* Hand-made code with a valid check digit but 31 Feb and 0 %. */
    char h[19] = "29200010000260231";
    int cd;
    assert_int_equal(barcode_gs1_check_digit(h, 17, &cd), 0);
    h[17] = (char)('0' + cd);
    h[18] = 0;
    assert_int_equal(parse(h, &b), MAMORI_ERR_INVAL);
    memcpy(h, "29300010010261231", 17);
    assert_int_equal(barcode_gs1_check_digit(h, 17, &cd), 0);
    h[17] = (char)('0' + cd);
    assert_int_equal(parse(h, &b), MAMORI_ERR_INVAL); /* type 3 */
}

static void test_ops1_receipt_and_slip_codes(void **state)
{
    char c[BARCODE_RECEIPT_LEN + 1];
    struct barcode b;
    assert_int_equal(barcode_receipt_encode(false, 12, 3, 456789, c), 0);
    assert_int_equal(parse(c, &b), 0);
    assert_int_equal(b.kind, BARCODE_RECEIPT);
    assert_int_equal(b.store, 12);
    assert_int_equal(b.terminal, 3);
    assert_int_equal(b.serial, 456789);
    assert_int_equal(barcode_receipt_encode(true, 9999, 9999, 999999999, c), 0);
    assert_int_equal(parse(c, &b), 0);
    assert_int_equal(b.kind, BARCODE_SLIP);
    assert_int_equal(b.serial, 999999999);
    assert_int_equal(barcode_receipt_encode(true, 10000, 1, 1, c), MAMORI_ERR_INVAL);
    assert_int_equal(barcode_receipt_encode(true, 1, 1, 1000000000ULL, c), MAMORI_ERR_INVAL);
    c[19] = (char)('0' + (c[19] - '0' + 1) % 10);
    assert_int_equal(parse(c, &b), MAMORI_ERR_CHECKSUM);
}

static void test_ops1_hostile_inputs(void **state)
{
    struct barcode b;
    static const char *bad[] = {
        "", "0", "490123456789", "49012345678945", "４９０１２３４５６７８９４",
        "4901234567894 ", " 4901234567894", ("490123456789\x00" "4"), "+901234567894",
        "-901234567894", "49012345678a4", "4901234567894\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
        "123456789012345678901234567890123", "9312345678901234567", "99000000000000000000",
        "28000000000000000000",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&b, 0x77, sizeof(b));
        int r = barcode_parse(NULL, bad[i], strlen(bad[i]) + (i == 7 ? 2 : 0), &b);
        assert_true(r < 0);
        assert_int_equal(b.kind, 0x77777777);
    }
    /* Embedded NUL counted in n. */
    assert_true(barcode_parse(NULL, "4901234\0" "67894", 13, &b) < 0);
    /* 33 bytes: over the limit. */
    assert_int_equal(barcode_parse(NULL, "123456789012345678901234567890123", 33, &b), MAMORI_ERR_TOOBIG);
    assert_int_equal(barcode_parse(NULL, NULL, 0, &b), MAMORI_ERR_INVAL);
    assert_int_equal(barcode_gs1_check_digit("12x", 3, &(int){0}), MAMORI_ERR_INVAL);
    assert_false(barcode_gs1_valid("4", 1));
    assert_string_equal(barcode_kind_name(BARCODE_INSTORE_PRICE), "in-store price");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops1_domain_check_digits),
        cmocka_unit_test(test_ops1_jan_and_ean8),
        cmocka_unit_test(test_ops1_upca_and_upce),
        cmocka_unit_test(test_ops1_price_check_digits),
        cmocka_unit_test(test_ops1_instore_02_price_with_pcd),
        cmocka_unit_test(test_ops1_instore_bad_price_cd_rejected),
        cmocka_unit_test(test_ops1_instore_21_and_27),
        cmocka_unit_test(test_ops1_instore_22_pcd5),
        cmocka_unit_test(test_ops1_instore_plu_prefix),
        cmocka_unit_test(test_ops1_instore_custom_layout),
        cmocka_unit_test(test_ops2_coupon_roundtrip),
        cmocka_unit_test(test_ops1_receipt_and_slip_codes),
        cmocka_unit_test(test_ops1_hostile_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
