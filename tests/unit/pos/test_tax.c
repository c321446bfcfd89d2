/*
 * Unit tests for src/pos/tax.c (OPS-4): every worked example of DOMAIN.md
 * §2.5 and §2.6, rounding modes, eat-in, discount apportioning, hostile input.
 */
#include "testutil.h"

#include <string.h>

#include "mamori/err.h"
#include "pos/tax.h"

static struct tax_result run(const struct tax_line *l, size_t n, bool eat_in, int64_t dyen,
                             uint32_t dpct, enum tax_rounding mode)
{
    struct tax_input in = {.lines = l, .n_lines = n, .discount_yen = dyen, .discount_pct = dpct,
                           .eat_in = eat_in, .rounding = mode};
    struct tax_result r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(tax_compute(&in, &r), 0);
    /* Invariants of every result. */
    assert_int_equal(r.total, r.g[TAX_G10].taxable + r.g[TAX_G8].taxable);
    assert_int_equal(r.tax_total, r.g[TAX_G10].tax + r.g[TAX_G8].tax);
    assert_int_equal(r.discount, r.g[TAX_G10].discount + r.g[TAX_G8].discount);
    assert_int_equal(r.g[TAX_G10].rate_pct, 10);
    assert_int_equal(r.g[TAX_G8].rate_pct, 8);
    return r;
}

/* DOMAIN.md §2.5, NTA Q&A 問58 receipt: コーラ※108, ギュウニク※972, ハミガキコ 330,
 * 内税; 合計 1,410; 10%対象 330 (1点), 8%対象 1,080 (2点); tax 30 and 80. */
static void test_ops4_nta_example_receipt(void **state)
{
    const struct tax_line l[] = {
        {108, TAX_CLASS_REDUCED, true, 1},
        {972, TAX_CLASS_REDUCED, true, 1},
        {330, TAX_CLASS_STANDARD, true, 1},
    };
    struct tax_result r = run(l, 3, false, 0, 0, TAX_ROUND_DOWN);
    assert_int_equal(r.total, 1410);
    assert_int_equal(r.g[TAX_G10].taxable, 330);
    assert_int_equal(r.g[TAX_G10].count, 1);
    assert_int_equal(r.g[TAX_G10].tax, 30);
    assert_int_equal(r.g[TAX_G8].taxable, 1080);
    assert_int_equal(r.g[TAX_G8].count, 2);
    assert_int_equal(r.g[TAX_G8].tax, 80);
    assert_int_equal(r.tax_total, 110);
    /* お預り 1,500 → お釣 90 is the caller's; the total it needs is exact. */
    assert_int_equal(1500 - r.total, 90);
}

/* DOMAIN.md §2.6 example 1: 外税, 10 %, three lines of ¥105, 切捨て: 31, not 30. */
static void test_ops4_exclusive_rounded_once_per_rate(void **state)
{
    const struct tax_line l[] = {
        {105, TAX_CLASS_STANDARD, false, 1},
        {105, TAX_CLASS_STANDARD, false, 1},
        {105, TAX_CLASS_STANDARD, false, 1},
    };
    struct tax_result r = run(l, 3, false, 0, 0, TAX_ROUND_DOWN);
    assert_int_equal(r.g[TAX_G10].tax, 31);
    assert_int_equal(r.g[TAX_G10].taxable, 346);
    assert_int_equal(r.total, 346);
    assert_int_equal(r.g[TAX_G8].taxable, 0);
    /* Up and half-up on 31.5 */
    assert_int_equal(run(l, 3, false, 0, 0, TAX_ROUND_UP).g[TAX_G10].tax, 32);
    assert_int_equal(run(l, 3, false, 0, 0, TAX_ROUND_HALF_UP).g[TAX_G10].tax, 32);
}

/* DOMAIN.md §2.6 example 2: 内税, 8 %, three lines of ¥120, 切捨て: 26, not 24. */
static void test_ops4_inclusive_rounded_once_per_rate(void **state)
{
    const struct tax_line l[] = {
        {120, TAX_CLASS_REDUCED, true, 1},
        {120, TAX_CLASS_REDUCED, true, 1},
        {120, TAX_CLASS_REDUCED, true, 1},
    };
    struct tax_result r = run(l, 3, false, 0, 0, TAX_ROUND_DOWN);
    assert_int_equal(r.g[TAX_G8].tax, 26);
    assert_int_equal(r.g[TAX_G8].taxable, 360);
    assert_int_equal(r.total, 360);
    /* 26.67: up 27, half-up 27 */
    assert_int_equal(run(l, 3, false, 0, 0, TAX_ROUND_UP).g[TAX_G8].tax, 27);
    assert_int_equal(run(l, 3, false, 0, 0, TAX_ROUND_HALF_UP).g[TAX_G8].tax, 27);
}

static void test_ops4_rounding_modes(void **state)
{
    assert_int_equal(tax_div_round(315 * 10, 100, TAX_ROUND_DOWN), 31);
    assert_int_equal(tax_div_round(314 * 10, 100, TAX_ROUND_HALF_UP), 31);
    assert_int_equal(tax_div_round(315 * 10, 100, TAX_ROUND_HALF_UP), 32);
    assert_int_equal(tax_div_round(3000, 100, TAX_ROUND_UP), 30);
    assert_int_equal(tax_div_round(3001, 100, TAX_ROUND_UP), 31);
    enum tax_rounding m;
    assert_int_equal(tax_rounding_parse("half-up", &m), 0);
    assert_int_equal(m, TAX_ROUND_HALF_UP);
    assert_int_equal(tax_rounding_parse("nearest", &m), MAMORI_ERR_INVAL);
    assert_string_equal(tax_rounding_name(TAX_ROUND_DOWN), "down");
}

/* Eat-in moves food to 10 %; alcohol/non-food stay 10 % either way. */
static void test_ops4_eat_in_moves_food_to_10(void **state)
{
    const struct tax_line l[] = {
        {1080, TAX_CLASS_REDUCED, true, 1},  /* 弁当 */
        {330, TAX_CLASS_STANDARD, true, 1},  /* 缶ビール */
    };
    struct tax_result take = run(l, 2, false, 0, 0, TAX_ROUND_DOWN);
    assert_int_equal(take.g[TAX_G8].taxable, 1080);
    assert_int_equal(take.g[TAX_G8].tax, 80);
    struct tax_result eat = run(l, 2, true, 0, 0, TAX_ROUND_DOWN);
    assert_int_equal(eat.g[TAX_G8].taxable, 0);
    assert_int_equal(eat.g[TAX_G10].taxable, 1410);
    assert_int_equal(eat.g[TAX_G10].tax, 128); /* floor(1410*10/110) = 128.18 */
    assert_int_equal(eat.g[TAX_G10].count, 2);
    assert_int_equal(tax_rate_pct(TAX_CLASS_REDUCED, true), 10);
    assert_int_equal(tax_rate_pct(TAX_CLASS_REDUCED, false), 8);
    assert_int_equal(tax_rate_pct(TAX_CLASS_STANDARD, false), 10);
}

/* A subtotal discount spanning rates is apportioned before tax, by the
 * groups' amounts, remainder to the larger group (docs/tax.md). */
static void test_ops4_discount_apportioned_before_tax(void **state)
{
    const struct tax_line l[] = {
        {1080, TAX_CLASS_REDUCED, true, 2},
        {330, TAX_CLASS_STANDARD, true, 1},
    };
    /* ¥100 off: 8 % share floor(100*1080/1410) = 76, 10 % share floor(23.4) = 23,
     * remainder 1 to the larger group (8 %) -> 77 / 23. */
    struct tax_result r = run(l, 2, false, 100, 0, TAX_ROUND_DOWN);
    assert_int_equal(r.g[TAX_G8].discount, 77);
    assert_int_equal(r.g[TAX_G10].discount, 23);
    assert_int_equal(r.g[TAX_G8].taxable, 1003);
    assert_int_equal(r.g[TAX_G10].taxable, 307);
    assert_int_equal(r.g[TAX_G8].tax, 74);  /* floor(1003*8/108) = 74.29 */
    assert_int_equal(r.g[TAX_G10].tax, 27); /* floor(307*10/110) = 27.9 */
    assert_int_equal(r.total, 1310);
    /* 10 % off: 141, then apportioned 108 / 33 (floor 108.0 and 33.0: exact). */
    r = run(l, 2, false, 0, 10, TAX_ROUND_DOWN);
    assert_int_equal(r.discount, 141);
    assert_int_equal(r.g[TAX_G8].discount, 108);
    assert_int_equal(r.g[TAX_G10].discount, 33);
    assert_int_equal(r.total, 1269);
    /* The whole subtotal off: zero everywhere. */
    r = run(l, 2, false, 1410, 0, TAX_ROUND_DOWN);
    assert_int_equal(r.total, 0);
    assert_int_equal(r.tax_total, 0);
}

/* 外税 discount: taken off the tax-exclusive base, then tax added once. */
static void test_ops4_exclusive_with_discount(void **state)
{
    const struct tax_line l[] = {
        {1000, TAX_CLASS_REDUCED, false, 1},
        {500, TAX_CLASS_STANDARD, false, 1},
    };
    struct tax_result r = run(l, 2, false, 150, 0, TAX_ROUND_DOWN);
    /* shares: 8 %: 100, 10 %: 50 */
    assert_int_equal(r.g[TAX_G8].excl_part, 900);
    assert_int_equal(r.g[TAX_G8].tax, 72);
    assert_int_equal(r.g[TAX_G8].taxable, 972);
    assert_int_equal(r.g[TAX_G10].excl_part, 450);
    assert_int_equal(r.g[TAX_G10].tax, 45);
    assert_int_equal(r.g[TAX_G10].taxable, 495);
    assert_int_equal(r.total, 1467);
}

/* 問59: 内税 and 外税 lines mixed in one rate: 外税 tax added once, the
 * stated tax computed once on the group's tax-inclusive total. */
static void test_ops4_mixed_inclusive_exclusive(void **state)
{
    const struct tax_line l[] = {
        {216, TAX_CLASS_REDUCED, true, 1},  /* 内税 ¥216 */
        {105, TAX_CLASS_REDUCED, false, 1}, /* 外税 ¥105 -> +8.4 */
    };
    struct tax_result r = run(l, 2, false, 0, 0, TAX_ROUND_DOWN);
    assert_int_equal(r.g[TAX_G8].tax_added, 8);
    assert_int_equal(r.g[TAX_G8].taxable, 329);
    assert_int_equal(r.g[TAX_G8].tax, 24); /* floor(329*8/108) = 24.37 */
    assert_int_equal(r.total, 329);
}

static void test_ops4_hostile_input(void **state)
{
    struct tax_result r;
    struct tax_line l[2] = {{100, TAX_CLASS_STANDARD, true, 1}, {100, TAX_CLASS_REDUCED, true, 1}};
    struct tax_input in = {.lines = l, .n_lines = 2};
    memset(&r, 0x33, sizeof(r));
    /* Discount above the subtotal */
    in.discount_yen = 201;
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_INVAL);
    in.discount_yen = -1;
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_INVAL);
    in.discount_yen = 0;
    in.discount_pct = 101;
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_INVAL);
    in.discount_pct = 50;
    in.discount_yen = 101; /* 100 after the percent: 101 too much */
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_INVAL);
    in.discount_pct = 0;
    in.discount_yen = 0;
    /* Negative amount, unknown class, bad rounding */
    l[0].amount = -1;
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_INVAL);
    l[0].amount = 100;
    l[1].cls = (enum tax_class)7;
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_INVAL);
    l[1].cls = TAX_CLASS_REDUCED;
    in.rounding = (enum tax_rounding)9;
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_INVAL);
    in.rounding = TAX_ROUND_DOWN;
    /* Overflow: two lines at the maximum */
    l[0].amount = TAX_AMOUNT_MAX;
    l[1].amount = 1;
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_TOOBIG);
    l[0].amount = INT64_MAX;
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_TOOBIG);
    in.n_lines = TAX_LINES_MAX + 1;
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_TOOBIG);
    in.lines = NULL;
    in.n_lines = 1;
    assert_int_equal(tax_compute(&in, &r), MAMORI_ERR_INVAL);
    assert_int_equal(r.total, 0x3333333333333333LL); /* untouched */
    /* The maximum itself computes without overflow (8 %, 内税). */
    l[0].amount = TAX_AMOUNT_MAX;
    l[0].cls = TAX_CLASS_REDUCED;
    in.lines = l;
    in.n_lines = 1;
    in.discount_yen = TAX_AMOUNT_MAX - 7;
    assert_int_equal(tax_compute(&in, &r), 0);
    assert_int_equal(r.total, 7);
    /* Empty receipt */
    in.n_lines = 0;
    in.discount_yen = 0;
    assert_int_equal(tax_compute(&in, &r), 0);
    assert_int_equal(r.total, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops4_nta_example_receipt),
        cmocka_unit_test(test_ops4_exclusive_rounded_once_per_rate),
        cmocka_unit_test(test_ops4_inclusive_rounded_once_per_rate),
        cmocka_unit_test(test_ops4_rounding_modes),
        cmocka_unit_test(test_ops4_eat_in_moves_food_to_10),
        cmocka_unit_test(test_ops4_discount_apportioned_before_tax),
        cmocka_unit_test(test_ops4_exclusive_with_discount),
        cmocka_unit_test(test_ops4_mixed_inclusive_exclusive),
        cmocka_unit_test(test_ops4_hostile_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
