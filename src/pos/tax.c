/*
 * tax: owns the consumption-tax arithmetic of one receipt (DOMAIN.md §2,
 * docs/tax.md): rate per class and eat-in flag, apportioning a subtotal
 * discount across rate groups, and rounding once per rate. It does not own
 * prices, discounts' approval or printing.
 *
 * Bounds: every amount and sum is kept <= TAX_AMOUNT_MAX (1e9), so products
 * with a rate (<= 110) or with another bounded amount stay below 2^63.
 */
#include "pos/tax.h"

#include <string.h>

#include "mamori/err.h"

enum { BASIS_INCL = 0, BASIS_EXCL = 1, BASES = 2 };

int tax_rate_pct(enum tax_class cls, bool eat_in)
{
    if (cls == TAX_CLASS_REDUCED && !eat_in)
        return TAX_RATE_REDUCED_PCT;
    return TAX_RATE_STANDARD_PCT;
}

int64_t tax_div_round(int64_t num, int64_t den, enum tax_rounding mode)
{
    if (num <= 0 || den <= 0)
        return 0;
    switch (mode) {
    case TAX_ROUND_UP:
        return num / den + (num % den != 0);
    case TAX_ROUND_HALF_UP:
        return num / den + ((num % den) * 2 >= den);
    case TAX_ROUND_DOWN:
    default:
        return num / den;
    }
}

int tax_rounding_parse(const char *s, enum tax_rounding *ret)
{
    if (s == NULL)
        return MAMORI_ERR_INVAL;
    if (strcmp(s, "down") == 0)
        *ret = TAX_ROUND_DOWN;
    else if (strcmp(s, "up") == 0)
        *ret = TAX_ROUND_UP;
    else if (strcmp(s, "half-up") == 0)
        *ret = TAX_ROUND_HALF_UP;
    else
        return MAMORI_ERR_INVAL;
    return 0;
}

const char *tax_rounding_name(enum tax_rounding r)
{
    switch (r) {
    case TAX_ROUND_DOWN: return "down";
    case TAX_ROUND_UP: return "up";
    case TAX_ROUND_HALF_UP: return "half-up";
    }
    return "?";
}

/* Split total d over n parts proportionally to w[] (sum sw > 0, d <= sw):
 * floor shares, the remainder to the part with the largest weight (the first
 * one on a tie). Every share stays <= its weight (see docs/tax.md). */
static void apportion(int64_t d, const int64_t *w, size_t n, int64_t sw, int64_t *share)
{
    int64_t given = 0;
    size_t big = 0;
    for (size_t i = 0; i < n; i++) {
        share[i] = sw > 0 ? d * w[i] / sw : 0; /* d, w <= 1e9: no overflow */
        given += share[i];
        if (w[i] > w[big])
            big = i;
    }
    share[big] += d - given;
}

int tax_compute(const struct tax_input *in, struct tax_result *ret)
{
    int64_t amt[TAX_GROUPS][BASES];
    uint64_t cnt[TAX_GROUPS];
    struct tax_result res;
    int64_t subtotal = 0;

    if (in == NULL || ret == NULL || (in->n_lines > 0 && in->lines == NULL))
        return MAMORI_ERR_INVAL;
    if (in->n_lines > TAX_LINES_MAX)
        return MAMORI_ERR_TOOBIG;
    if (in->rounding != TAX_ROUND_DOWN && in->rounding != TAX_ROUND_UP &&
        in->rounding != TAX_ROUND_HALF_UP)
        return MAMORI_ERR_INVAL;
    if (in->discount_pct > 100 || in->discount_yen < 0)
        return MAMORI_ERR_INVAL;
    if (in->discount_yen > TAX_AMOUNT_MAX)
        return MAMORI_ERR_TOOBIG;

    memset(amt, 0, sizeof(amt));
    memset(cnt, 0, sizeof(cnt));
    for (size_t i = 0; i < in->n_lines; i++) {
        const struct tax_line *l = &in->lines[i];
        if (l->cls != TAX_CLASS_STANDARD && l->cls != TAX_CLASS_REDUCED)
            return MAMORI_ERR_INVAL;
        if (l->amount < 0 || l->qty < 0)
            return MAMORI_ERR_INVAL;
        if (l->amount > TAX_AMOUNT_MAX - subtotal)
            return MAMORI_ERR_TOOBIG;
        int g = tax_rate_pct(l->cls, in->eat_in) == TAX_RATE_REDUCED_PCT ? TAX_G8 : TAX_G10;
        int basis = l->inclusive ? BASIS_INCL : BASIS_EXCL;
        amt[g][basis] += l->amount;
        subtotal += l->amount;
        cnt[g] += l->qty > 0 ? (uint64_t)l->qty : 1;
        if (cnt[g] > UINT32_MAX)
            return MAMORI_ERR_TOOBIG;
    }

    /* Percent first, then the yen amount; together never above the subtotal. */
    int64_t disc = subtotal * (int64_t)in->discount_pct / 100;
    if (in->discount_yen > subtotal - disc)
        return MAMORI_ERR_INVAL;
    disc += in->discount_yen;

    memset(&res, 0, sizeof(res));
    res.subtotal = subtotal;
    res.discount = disc;

    /* Apportion the discount to the rate groups, then inside each group to
     * its 内税 and 外税 parts, before any tax is computed (DOMAIN.md §2.7). */
    int64_t gsum[TAX_GROUPS], gdisc[TAX_GROUPS];
    for (int g = 0; g < TAX_GROUPS; g++)
        gsum[g] = amt[g][BASIS_INCL] + amt[g][BASIS_EXCL];
    apportion(disc, gsum, TAX_GROUPS, subtotal, gdisc);

    for (int g = 0; g < TAX_GROUPS; g++) {
        struct tax_group *o = &res.g[g];
        int64_t bdisc[BASES];
        int64_t r = g == TAX_G8 ? TAX_RATE_REDUCED_PCT : TAX_RATE_STANDARD_PCT;
        apportion(gdisc[g], amt[g], BASES, gsum[g], bdisc);
        o->rate_pct = (int)r;
        o->amount_in = gsum[g];
        o->discount = gdisc[g];
        o->incl_part = amt[g][BASIS_INCL] - bdisc[BASIS_INCL];
        o->excl_part = amt[g][BASIS_EXCL] - bdisc[BASIS_EXCL];
        if (o->incl_part < 0 || o->excl_part < 0)
            return MAMORI_ERR_INTERNAL;
        /* 外税: the tax added on top, rounded once on the group's sum. */
        o->tax_added = tax_div_round(o->excl_part * r, 100, in->rounding);
        o->taxable = o->incl_part + o->excl_part + o->tax_added;
        if (o->excl_part == 0)
            o->tax = tax_div_round(o->incl_part * r, 100 + r, in->rounding); /* 内税 only */
        else if (o->incl_part == 0)
            o->tax = o->tax_added; /* 外税 only */
        else
            /* Mixed (問59): once, on the group's tax-inclusive total. */
            o->tax = tax_div_round(o->taxable * r, 100 + r, in->rounding);
        o->count = (uint32_t)cnt[g];
        res.total += o->taxable;
        res.tax_total += o->tax;
    }
    if (res.total > 2 * TAX_AMOUNT_MAX)
        return MAMORI_ERR_TOOBIG;
    *ret = res;
    return 0;
}
