/*
 * poswire.c: owns the adapters between the engine's ports and items.h,
 * barcode.h and operator.h. It must not own policy: check digits, lookups,
 * hashing and lockout stay in those modules.
 */
#include "pos/poswire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/err.h"

static void from_item(const struct items_item *it, struct txn_item *ret)
{
    memset(ret, 0, sizeof(*ret));
    snprintf(ret->code, sizeof(ret->code), "%s", it->code);
    snprintf(ret->name, sizeof(ret->name), "%.95s", it->name);
    ret->unit_price = it->weighed ? it->price_per_100g : it->unit_price;
    ret->reduced = it->tax_class == TAX_CLASS_REDUCED;
    ret->tax_included = it->price_includes_tax;
    ret->dept = (int)it->department;
    ret->age_restricted = it->age_restricted;
    ret->weighed = it->weighed;
}

static int cat_scan(void *ctx, const char *code, struct txn_item *ret)
{
    struct poswire_catalog *c = ctx;
    struct barcode bc;
    struct items_item it;
    int rc;
    if (code == NULL)
        return MAMORI_ERR_INVAL;
    if ((rc = barcode_parse(&c->barcodes, code, strlen(code), &bc)))
        return rc;
    switch (bc.kind) {
    case BARCODE_JAN13: case BARCODE_EAN8: case BARCODE_UPCA: case BARCODE_UPCE:
    case BARCODE_INSTORE_ITEM: case BARCODE_INSTORE_PRICE:
        break;
    default:
        return MAMORI_ERR_INVAL; /* coupons, receipts, slips are not items */
    }
    if ((rc = items_lookup(c->items, bc.code, &it)))
        return rc;
    from_item(&it, ret);
    /* A weighed item's own code carries price 0: weigh it on the scale. A
     * label printed by a scale carries the price: take it from the code. */
    if (bc.kind == BARCODE_INSTORE_PRICE && !(it.weighed && bc.price == 0)) {
        ret->unit_price = bc.price;
        ret->embedded_price = true;
    }
    return 0;
}

static int cat_plu(void *ctx, const char *plu, struct txn_item *ret)
{
    struct poswire_catalog *c = ctx;
    struct items_item it;
    char *end = NULL;
    unsigned long v;
    int rc;
    if (plu == NULL || plu[0] < '0' || plu[0] > '9')
        return MAMORI_ERR_INVAL;
    v = strtoul(plu, &end, 10);
    if (*end != '\0' || v < 1 || v > ITEMS_PLU_MAX)
        return MAMORI_ERR_INVAL;
    if ((rc = items_lookup_plu(c->items, (uint32_t)v, &it)))
        return rc;
    from_item(&it, ret);
    return 0;
}

static int cat_dept(void *ctx, int dept, struct txn_item *ret)
{
    struct poswire_catalog *c = ctx;
    struct items_department d;
    int rc;
    if (dept < 1 || dept > ITEMS_DEPT_MAX)
        return MAMORI_ERR_INVAL;
    if ((rc = items_department(c->items, (uint32_t)dept, &d)))
        return rc;
    memset(ret, 0, sizeof(*ret));
    snprintf(ret->code, sizeof(ret->code), "D%d", dept);
    snprintf(ret->name, sizeof(ret->name), "%.60s", d.name);
    ret->reduced = d.tax_class == TAX_CLASS_REDUCED;
    ret->tax_included = true;
    ret->dept = dept;
    return 0;
}

void poswire_catalog(struct poswire_catalog *c, struct txn_catalog *ret)
{
    if (c->barcodes.n_layouts == 0)
        barcode_config_default(&c->barcodes);
    ret->ctx = c;
    ret->scan = cat_scan;
    ret->plu = cat_plu;
    ret->dept = cat_dept;
}

static int auth_verify(void *ctx, const char *id, const char *pw, enum txn_role *ret_role)
{
    struct operator_info who;
    int rc = operators_authenticate(ctx, id, pw, &who);
    if (rc)
        return rc;
    switch (who.role) {
    case OPERATOR_CHECKER: *ret_role = TXN_ROLE_CHECKER; break;
    case OPERATOR_CASHIER: *ret_role = TXN_ROLE_CASHIER; break;
    case OPERATOR_MANAGER: *ret_role = TXN_ROLE_MANAGER; break;
    default: *ret_role = TXN_ROLE_MAINTAINER; break;
    }
    return 0;
}

void poswire_auth(struct operators *ops, struct txn_auth *ret)
{
    ret->ctx = ops;
    ret->verify = auth_verify;
}
