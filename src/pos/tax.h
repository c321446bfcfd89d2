/*
 * tax: Japanese consumption tax for one receipt (DOMAIN.md §2).
 *
 * Rules implemented (docs/tax.md explains each with the DOMAIN.md source):
 *  - two rates: standard 10 %, reduced 8 % (§2.1). A line's tax class is
 *    TAX_CLASS_STANDARD (non-food, alcohol, medicine: always 10 %) or
 *    TAX_CLASS_REDUCED (food: 8 % take-out, 10 % when the transaction is eat-in);
 *  - 内税 (tax-inclusive) and 外税 (tax-exclusive) line amounts, mixable (§2.2, 問59);
 *  - a subtotal discount (yen and/or percent) is apportioned to the rate groups
 *    BEFORE tax (§2.7): proportional to the groups' amounts, floor, the remainder
 *    to the larger group (inside a group likewise between 内税 and 外税 parts);
 *  - tax is rounded ONCE per receipt per rate (§2.3, NTA 問57) with the
 *    configured mode: down (切捨て, default), up (切上げ), half-up (四捨五入);
 *  - integers (yen) only, every sum and product overflow-checked.
 *
 * Amounts are >= 0 (a return receipt is computed on the returned lines and
 * printed as a refund by the caller).
 */
#ifndef MAMORI_POS_TAX_H
#define MAMORI_POS_TAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAX_LINES_MAX 10000           /* lines on one receipt */
#define TAX_AMOUNT_MAX 1000000000LL   /* 10 億円: bound on any amount or sum (keeps products < 2^63) */
#define TAX_RATE_STANDARD_PCT 10
#define TAX_RATE_REDUCED_PCT 8

enum tax_class {
    TAX_CLASS_STANDARD = 1, /* 10 % always */
    TAX_CLASS_REDUCED = 2,  /* 飲食料品: 8 % take-out, 10 % eat-in */
};

/* Rate groups of the result; index into tax_result.g[]. */
enum tax_group_id {
    TAX_G10 = 0, /* 10 % 対象 */
    TAX_G8 = 1,  /* 8 % 対象 (軽減税率) */
    TAX_GROUPS = 2,
};

enum tax_rounding {
    TAX_ROUND_DOWN = 0, /* 切捨て (default) */
    TAX_ROUND_UP = 1,   /* 切上げ */
    TAX_ROUND_HALF_UP = 2, /* 四捨五入 */
};

struct tax_line {
    int64_t amount;       /* yen, after line discounts, >= 0 */
    enum tax_class cls;
    bool inclusive;       /* true: 内税 (amount includes tax); false: 外税 */
    int32_t qty;          /* items counted for "8%対象 2点"; 0 counts as 1 */
};

struct tax_input {
    const struct tax_line *lines;
    size_t n_lines;
    int64_t discount_yen;   /* subtotal discount in yen (値引), >= 0 */
    uint32_t discount_pct;  /* subtotal discount percent (割引) 0..100, applied
                             * first: floor(subtotal * pct / 100) */
    bool eat_in;            /* 店内: reduced-class lines go to 10 % */
    enum tax_rounding rounding;
};

struct tax_group {
    int rate_pct;          /* 10 or 8 */
    int64_t amount_in;     /* sum of line amounts as given (mixed basis) */
    int64_t discount;      /* apportioned subtotal discount */
    int64_t incl_part;     /* 内税 part after discount */
    int64_t excl_part;     /* 外税 part after discount (tax not included) */
    int64_t tax_added;     /* 外税 tax added on top, rounded once */
    int64_t taxable;       /* 対象額 tax-inclusive: incl_part + excl_part + tax_added */
    int64_t tax;           /* 消費税等 for the group, rounded once */
    uint32_t count;        /* items (sum of qty) */
};

struct tax_result {
    struct tax_group g[TAX_GROUPS];
    int64_t subtotal;      /* sum of line amounts before the subtotal discount */
    int64_t discount;      /* total subtotal discount */
    int64_t total;         /* 合計 payable: sum of g[].taxable */
    int64_t tax_total;     /* sum of g[].tax */
};

/* Compute the receipt's tax. 0 and *ret; MAMORI_ERR_INVAL for a negative
 * amount, unknown class or rounding, percent > 100 or a discount larger than
 * the subtotal; MAMORI_ERR_TOOBIG past TAX_LINES_MAX or TAX_AMOUNT_MAX.
 * *ret untouched on failure. */
int tax_compute(const struct tax_input *in, struct tax_result *ret)
    __attribute__((warn_unused_result));

/* The rate (10 or 8) a class takes in a transaction. */
int tax_rate_pct(enum tax_class cls, bool eat_in);

/* Round num/den (num >= 0, den > 0) with a mode; helper exposed for tests. */
int64_t tax_div_round(int64_t num, int64_t den, enum tax_rounding mode);

/* "down" / "up" / "half-up" <-> enum; parse returns MAMORI_ERR_INVAL on others. */
int tax_rounding_parse(const char *s, enum tax_rounding *ret);
const char *tax_rounding_name(enum tax_rounding r);

#endif
