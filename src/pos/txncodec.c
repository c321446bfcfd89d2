/*
 * txncodec.c: owns the JSON encoding of struct txn_rec and its validating
 * decoder. It must not own any policy (limits on what a transaction may
 * contain are txn.c's); it only refuses text that could not have come from
 * txncodec_encode or that breaks the struct's bounds.
 */
#include "pos/txncodec.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/hex.h"
#include "mamori/err.h"

static int put_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, json_string(v)) == 0 ? 0 : MAMORI_ERR_NOMEM;
}

static int put_int(json_t *o, const char *k, int64_t v)
{
    return json_object_set_new(o, k, json_integer((json_int_t)v)) == 0 ? 0 : MAMORI_ERR_NOMEM;
}

static int put_bool(json_t *o, const char *k, bool v)
{
    return json_object_set_new(o, k, json_boolean(v)) == 0 ? 0 : MAMORI_ERR_NOMEM;
}

static int put_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
    char tmp[2 * TXN_MEMBER_CT_MAX + 1];
    int r = hex_encode(tmp, sizeof(tmp), p, n);
    return r ? r : put_str(o, k, tmp);
}

static json_t *enc_line(const struct txn_line *l)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    if (put_int(o, "no", l->no) || put_int(o, "src", l->src) || put_str(o, "code", l->code) ||
        put_str(o, "name", l->name) || put_int(o, "dept", l->dept) || put_bool(o, "reduced", l->reduced) || put_bool(o, "incl", l->tax_included) ||
        put_bool(o, "age", l->age_restricted) || put_int(o, "unit", l->unit_price) ||
        put_int(o, "qty", l->qty) || put_int(o, "grams", l->grams) ||
        put_int(o, "amount", l->amount) || put_int(o, "disc", l->discount) ||
        put_bool(o, "ovr", l->overridden) || put_bool(o, "void", l->voided) ||
        put_int(o, "orig_rc", l->orig_receipt) || put_int(o, "orig_ln", l->orig_line) ||
        put_str(o, "checker", l->checker)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *enc_tender(const struct txn_tender *d)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    if (put_int(o, "type", d->type) || put_str(o, "kind", d->kind) ||
        put_int(o, "amount", d->amount) || put_int(o, "recv", d->received) ||
        put_str(o, "ref", d->ref) || put_str(o, "member", d->member_masked) ||
        put_str(o, "idem", d->idem) || put_str(o, "cashier", d->cashier)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int txncodec_encode(const struct txn_rec *r, char **ret)
{
    json_t *o = json_object(), *ls = json_array(), *ts = json_array(), *as = json_array();
    char *s = NULL;
    int rc = MAMORI_ERR_NOMEM;
    if (o == NULL || ls == NULL || ts == NULL || as == NULL)
        goto out;
    for (size_t i = 0; i < r->n_lines; i++)
        if (json_array_append_new(ls, enc_line(&r->lines[i])) != 0)
            goto out;
    for (size_t i = 0; i < r->n_tenders; i++)
        if (json_array_append_new(ts, enc_tender(&r->tenders[i])) != 0)
            goto out;
    for (size_t i = 0; i < r->n_approvals; i++) {
        json_t *a = json_pack("{s:s,s:s,s:i}", "what", r->approvals[i].what, "manager",
                              r->approvals[i].manager, "line", r->approvals[i].line);
        if (json_array_append_new(as, a) != 0)
            goto out;
    }
    if ((rc = put_int(o, "txn_no", r->txn_no)) || (rc = put_int(o, "state", r->state)) ||
        (rc = put_bool(o, "training", r->training)) || (rc = put_bool(o, "eat_in", r->eat_in)) ||
        (rc = put_bool(o, "is_return", r->is_return)) ||
        (rc = put_bool(o, "age_ok", r->age_confirmed)) ||
        (rc = put_str(o, "terminal", r->terminal)) || (rc = put_str(o, "operator", r->operator_id)) ||
        (rc = put_int(o, "orig_receipt", r->orig_receipt)) ||
        (rc = put_int(o, "sub_disc", r->sub_discount)) ||
        (rc = put_int(o, "sub_pct", r->sub_discount_pct)) ||
        (rc = put_bool(o, "has_member", r->has_member)) ||
        (rc = put_str(o, "member", r->member_masked)))
        goto out;
    if (r->has_member && ((rc = put_hex(o, "m_nonce", r->member_nonce, TXN_MEMBER_NONCE)) ||
                          (rc = put_hex(o, "m_ct", r->member_ct, r->member_ct_len))))
        goto out;
    rc = MAMORI_ERR_NOMEM;
    if (json_object_set(o, "lines", ls) || json_object_set(o, "tenders", ts) ||
        json_object_set(o, "approvals", as))
        goto out;
    s = json_dumps(o, JSON_COMPACT);
    if (s == NULL)
        goto out;
    *ret = s;
    rc = 0;
out:
    json_decref(ls);
    json_decref(ts);
    json_decref(as);
    json_decref(o);
    return rc;
}

/* ---- decoding ---- */

static int get_int(json_t *o, const char *k, int64_t lo, int64_t hi, int64_t *ret)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        return MAMORI_ERR_INVAL;
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return MAMORI_ERR_INVAL;
    *ret = (int64_t)x;
    return 0;
}

static int get_bool(json_t *o, const char *k, bool *ret)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_boolean(v))
        return MAMORI_ERR_INVAL;
    *ret = json_is_true(v);
    return 0;
}

static int get_str(json_t *o, const char *k, char *out, size_t cap)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        return MAMORI_ERR_INVAL;
    size_t n = json_string_length(v);
    if (n >= cap || memchr(json_string_value(v), '\0', n) != NULL)
        return MAMORI_ERR_INVAL;
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

static int get_hex(json_t *o, const char *k, uint8_t *out, size_t cap, size_t *ret_n)
{
    char tmp[2 * TXN_MEMBER_CT_MAX + 2];
    int r = get_str(o, k, tmp, sizeof(tmp));
    return r ? r : hex_decode(out, cap, tmp, ret_n);
}

#define AMT_LIM ((int64_t)TXN_PRICE_MAX * TXN_QTY_MAX * 10)

static int dec_line(json_t *o, struct txn_line *l)
{
    int64_t v[8];
    int r;
    if (!json_is_object(o))
        return MAMORI_ERR_INVAL;
    if ((r = get_int(o, "no", 1, TXN_LINES_MAX, &v[0])) ||
        (r = get_int(o, "src", TXN_SRC_SCAN, TXN_SRC_RETURN, &v[1])) ||
        (r = get_str(o, "code", l->code, sizeof(l->code))) ||
        (r = get_str(o, "name", l->name, sizeof(l->name))) ||
        (r = get_int(o, "dept", 0, 999999, &v[2])) || (r = get_bool(o, "reduced", &l->reduced)) || (r = get_bool(o, "incl", &l->tax_included)) ||
        (r = get_bool(o, "age", &l->age_restricted)) ||
        (r = get_int(o, "unit", 0, TXN_PRICE_MAX, &l->unit_price)) ||
        (r = get_int(o, "qty", -TXN_QTY_MAX, TXN_QTY_MAX, &v[4])) ||
        (r = get_int(o, "grams", 0, TXN_GRAMS_MAX, &v[5])) ||
        (r = get_int(o, "amount", -AMT_LIM, AMT_LIM, &l->amount)) ||
        (r = get_int(o, "disc", 0, AMT_LIM, &l->discount)) ||
        (r = get_bool(o, "ovr", &l->overridden)) || (r = get_bool(o, "void", &l->voided)) ||
        (r = get_int(o, "orig_rc", 0, INT64_MAX, &l->orig_receipt)) ||
        (r = get_int(o, "orig_ln", 0, TXN_LINES_MAX, &v[6])) ||
        (r = get_str(o, "checker", l->checker, sizeof(l->checker))))
        return r;
    l->no = (int)v[0];
    l->src = (enum txn_src)v[1];
    l->dept = (int)v[2];
    l->qty = (int32_t)v[4];
    l->grams = (int32_t)v[5];
    l->orig_line = (int)v[6];
    return 0;
}

static int dec_tender(json_t *o, struct txn_tender *d)
{
    int64_t type;
    int r;
    if (!json_is_object(o))
        return MAMORI_ERR_INVAL;
    if ((r = get_int(o, "type", TENDER_CASH, TENDER_EXTERNAL, &type)) ||
        (r = get_str(o, "kind", d->kind, sizeof(d->kind))) ||
        (r = get_int(o, "amount", -AMT_LIM, AMT_LIM, &d->amount)) ||
        (r = get_int(o, "recv", -AMT_LIM, AMT_LIM, &d->received)) ||
        (r = get_str(o, "ref", d->ref, sizeof(d->ref))) ||
        (r = get_str(o, "member", d->member_masked, sizeof(d->member_masked))) ||
        (r = get_str(o, "idem", d->idem, sizeof(d->idem))) ||
        (r = get_str(o, "cashier", d->cashier, sizeof(d->cashier))))
        return r;
    d->type = (enum tender_type)type;
    return 0;
}

static int dec_rec(json_t *o, struct txn_rec *r)
{
    json_t *ls, *ts, *as;
    int64_t v[4];
    size_t n;
    int rc;
    if (!json_is_object(o))
        return MAMORI_ERR_INVAL;
    memset(r, 0, sizeof(*r));
    if ((rc = get_int(o, "txn_no", 0, INT64_MAX, &r->txn_no)) ||
        (rc = get_int(o, "state", TXN_IDLE, TXN_SUSPENDED, &v[0])) ||
        (rc = get_bool(o, "training", &r->training)) || (rc = get_bool(o, "eat_in", &r->eat_in)) ||
        (rc = get_bool(o, "is_return", &r->is_return)) ||
        (rc = get_bool(o, "age_ok", &r->age_confirmed)) ||
        (rc = get_str(o, "terminal", r->terminal, sizeof(r->terminal))) ||
        (rc = get_str(o, "operator", r->operator_id, sizeof(r->operator_id))) ||
        (rc = get_int(o, "orig_receipt", 0, INT64_MAX, &r->orig_receipt)) ||
        (rc = get_int(o, "sub_disc", 0, AMT_LIM, &r->sub_discount)) ||
        (rc = get_int(o, "sub_pct", 0, TXN_DISCOUNT_PCT_MAX, &v[1])) ||
        (rc = get_bool(o, "has_member", &r->has_member)) ||
        (rc = get_str(o, "member", r->member_masked, sizeof(r->member_masked))))
        return rc;
    r->state = (enum txn_state)v[0];
    r->sub_discount_pct = (int)v[1];
    if (r->has_member) {
        if ((rc = get_hex(o, "m_nonce", r->member_nonce, TXN_MEMBER_NONCE, &n)))
            return rc;
        if (n != TXN_MEMBER_NONCE)
            return MAMORI_ERR_INVAL;
        if ((rc = get_hex(o, "m_ct", r->member_ct, TXN_MEMBER_CT_MAX, &r->member_ct_len)))
            return rc;
    }
    ls = json_object_get(o, "lines");
    ts = json_object_get(o, "tenders");
    as = json_object_get(o, "approvals");
    if (!json_is_array(ls) || !json_is_array(ts) || !json_is_array(as) ||
        json_array_size(ls) > TXN_LINES_MAX || json_array_size(ts) > TXN_TENDERS_MAX ||
        json_array_size(as) > TXN_APPROVALS_MAX)
        return MAMORI_ERR_INVAL;
    r->n_lines = json_array_size(ls);
    for (size_t i = 0; i < r->n_lines; i++)
        if ((rc = dec_line(json_array_get(ls, i), &r->lines[i])))
            return rc;
    r->n_tenders = json_array_size(ts);
    for (size_t i = 0; i < r->n_tenders; i++)
        if ((rc = dec_tender(json_array_get(ts, i), &r->tenders[i])))
            return rc;
    r->n_approvals = json_array_size(as);
    for (size_t i = 0; i < r->n_approvals; i++) {
        json_t *a = json_array_get(as, i);
        struct txn_approval *p = &r->approvals[i];
        if (!json_is_object(a) || (rc = get_str(a, "what", p->what, sizeof(p->what))) ||
            (rc = get_str(a, "manager", p->manager, sizeof(p->manager))) ||
            (rc = get_int(a, "line", 0, TXN_LINES_MAX, &v[2])))
            return rc ? rc : MAMORI_ERR_INVAL;
        p->line = (int)v[2];
    }
    return 0;
}

int txncodec_decode(const char *text, size_t len, struct txn_rec *ret)
{
    json_error_t err;
    json_t *o;
    struct txn_rec *tmp;
    int rc;
    if (text == NULL || ret == NULL || len > TXNCODEC_MAX)
        return MAMORI_ERR_INVAL;
    tmp = malloc(sizeof(*tmp));
    if (tmp == NULL)
        return MAMORI_ERR_NOMEM;
    o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (o == NULL) {
        free(tmp);
        return MAMORI_ERR_INVAL;
    }
    rc = dec_rec(o, tmp);
    json_decref(o);
    if (rc == 0)
        memcpy(ret, tmp, sizeof(*tmp));
    free(tmp);
    return rc;
}
