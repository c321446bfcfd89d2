/*
 * txn.c: owns the register station and the registration half of a
 * transaction: lines, quantities, voids, discounts, overrides, eat-in,
 * subtotal, age confirmation, totals, and recovery after a restart. Facets of
 * the same module: txn_signon.c (operators, training, approvals) and
 * txn_return.c (cancel, returns, suspend/resume). Tendering and completion are
 * tender.c's; storage is journal.c's.
 *
 * Every mutating operation works on a scratch copy of the open record:
 * validate, change the copy, persist the copy, and only then make it current.
 * So a refused operation, or one whose journal write failed, leaves the
 * register exactly as it was (OPS-1 "nothing changed"), and what the operator
 * sees is always what is durable.
 */
#include "pos/txn.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/items.h"
#include "pos/journal.h"
#include "pos/tender.h"
#include "pos/txnprint.h"
#include "pos/txn_int.h"

static const char *role_name(enum txn_role r)
{
    switch (r) {
    case TXN_ROLE_CHECKER: return "checker";
    case TXN_ROLE_CASHIER: return "cashier";
    case TXN_ROLE_MANAGER: return "manager";
    case TXN_ROLE_MAINTAINER: return "maintainer";
    default: return "none";
    }
}

struct audit_actor txn__actor(const struct txn *t)
{
    return (struct audit_actor){.operator_id = t->op[0] ? t->op : NULL,
                                .role = role_name(t->op_role),
                                .process = "mamori-terminald"};
}

/* Refuse with a message for the operator; returns rc. */
int txn__fail(struct txn *t, int rc, const char *msg)
{
    snprintf(t->err, sizeof(t->err), "%s", msg);
    return rc;
}

void txn_set_error(struct txn *t, const char *msg)
{
    snprintf(t->err, sizeof(t->err), "%s", msg);
}

const char *txn_last_error(const struct txn *t)
{
    return t->err;
}

/* Copy only the used part of a record (records are large, copies frequent). */
void txn__rec_copy(struct txn_rec *dst, const struct txn_rec *src)
{
    memcpy(dst, src, offsetof(struct txn_rec, lines));
    memcpy(dst->lines, src->lines, src->n_lines * sizeof(src->lines[0]));
    dst->n_tenders = src->n_tenders;
    memcpy(dst->tenders, src->tenders, src->n_tenders * sizeof(src->tenders[0]));
    dst->n_approvals = src->n_approvals;
    memcpy(dst->approvals, src->approvals, src->n_approvals * sizeof(src->approvals[0]));
    dst->has_member = src->has_member;
    memcpy(dst->member_nonce, src->member_nonce, sizeof(dst->member_nonce));
    memcpy(dst->member_ct, src->member_ct, sizeof(dst->member_ct));
    dst->member_ct_len = src->member_ct_len;
    memcpy(dst->member_masked, src->member_masked, sizeof(dst->member_masked));
}

int txn_new(const struct txn_config *cfg, struct journal *j, const struct pos_devices *dev,
            const struct txn_catalog *cat, const struct txn_auth *auth, struct audit *a,
            struct txn **ret)
{
    struct txn *t;
    if (cfg == NULL || j == NULL || dev == NULL || cat == NULL || auth == NULL || ret == NULL ||
        cfg->terminal[0] == '\0' || cfg->discount_limit_pct < 0 ||
        cfg->discount_limit_pct > TXN_DISCOUNT_PCT_MAX || cfg->points_per_100yen < 0 ||
        cfg->points_per_100yen > 100)
        return MAMORI_ERR_INVAL;
    if (secmem_init())
        return MAMORI_ERR_CRYPTO;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return MAMORI_ERR_NOMEM;
    t->rec = calloc(1, sizeof(*t->rec));
    t->scratch = calloc(1, sizeof(*t->scratch));
    t->key = secmem_new(TXN_DATA_KEY_BYTES);
    if (t->rec == NULL || t->scratch == NULL || t->key == NULL) {
        txn_free(t);
        return MAMORI_ERR_NOMEM;
    }
    /* The journal seals every record with the same data key. */
    if (journal_set_key(j, cfg->data_key)) {
        txn_free(t);
        return MAMORI_ERR_NOMEM;
    }
    t->cfg = *cfg;
    memcpy(t->key, cfg->data_key, TXN_DATA_KEY_BYTES);
    secmem_wipe(t->cfg.data_key, sizeof(t->cfg.data_key));
    secmem_lock(t->key);
    t->j = j;
    t->dev = *dev;
    t->cat = *cat;
    t->auth = *auth;
    t->a = a;
    *ret = t;
    return 0;
}

void txn_free(struct txn *t)
{
    if (t == NULL)
        return;
    secmem_free(t->key);
    if (t->rec)
        sodium_memzero(t->rec, sizeof(*t->rec));
    if (t->scratch)
        sodium_memzero(t->scratch, sizeof(*t->scratch));
    free(t->rec);
    free(t->scratch);
    free(t);
}

int txn_add_tender_kind(struct txn *t, const struct tender_kind *k)
{
    if (k == NULL || k->name == NULL || k->authorize == NULL || k->capture == NULL ||
        k->refund == NULL || strlen(k->name) >= sizeof(((struct txn_tender *)0)->kind))
        return MAMORI_ERR_INVAL;
    if (t->n_kinds == TXN_KINDS_MAX)
        return MAMORI_ERR_LIMIT;
    if (txn_find_kind(t, k->name) != NULL)
        return MAMORI_ERR_EXISTS;
    t->kinds[t->n_kinds++] = k;
    return 0;
}

const struct tender_kind *txn_find_kind(const struct txn *t, const char *name)
{
    for (size_t i = 0; i < t->n_kinds; i++)
        if (strcmp(t->kinds[i]->name, name) == 0)
            return t->kinds[i];
    return NULL;
}

/* ---- plumbing for tender.c / report.c ---- */

struct journal *txn_journal(struct txn *t) { return t->j; }
struct audit *txn_audit(struct txn *t) { return t->a; }
const struct pos_devices *txn_devices(struct txn *t) { return &t->dev; }
const struct txn_config *txn_config(const struct txn *t) { return &t->cfg; }
const char *txn_operator(const struct txn *t) { return t->op; }
bool txn_training(const struct txn *t) { return t->training; }
int64_t txn_last_receipt(const struct txn *t) { return t->last_receipt; }
int64_t txn_last_change(const struct txn *t) { return t->last_change; }

const char *txn_cashier(const struct txn *t)
{
    return t->two_person ? t->cashier : t->op;
}

const uint8_t *txn_data_key_open(struct txn *t)
{
    secmem_read(t->key);
    return t->key;
}

void txn_data_key_close(struct txn *t)
{
    secmem_lock(t->key);
}

struct txn_rec *txn_rec_mut(struct txn *t)
{
    return t->open ? t->rec : NULL;
}

const struct txn_rec *txn_current(const struct txn *t)
{
    return t->open ? t->rec : NULL;
}

enum txn_state txn_state(const struct txn *t)
{
    return t->open ? t->rec->state : TXN_IDLE;
}

int txn_persist(struct txn *t)
{
    return t->open ? journal_save_open(t->j, t->rec) : MAMORI_ERR_STATE;
}

/* Start a change: the scratch copy of the open record. */
struct txn_rec *txn__begin(struct txn *t)
{
    txn__rec_copy(t->scratch, t->rec);
    return t->scratch;
}

/* Persist the scratch copy and make it current. */
int txn__commit(struct txn *t)
{
    int rc = journal_save_open(t->j, t->scratch);
    struct txn_rec *tmp;
    if (rc)
        return txn__fail(t, rc, "journal write failed; nothing changed");
    tmp = t->rec;
    t->rec = t->scratch;
    t->scratch = tmp;
    t->open = true;
    t->err[0] = '\0';
    return 0;
}

struct txn_rec *txn_begin_change(struct txn *t)
{
    return t->open ? txn__begin(t) : NULL;
}

int txn_commit_change(struct txn *t)
{
    return txn__commit(t);
}

void txn_actor(const struct txn *t, struct audit_actor *ret)
{
    *ret = txn__actor(t);
}

void txn_after_complete(struct txn *t, int64_t receipt_no, int64_t change)
{
    t->open = false;
    t->last_receipt = receipt_no;
    t->last_change = change;
    t->err[0] = '\0';
}

/* ---- totals ---- */

int64_t txn_line_net(const struct txn_line *l)
{
    if (l->voided)
        return 0;
    return l->amount < 0 ? l->amount + l->discount : l->amount - l->discount;
}

int txn_rec_totals(const struct txn_rec *r, enum tax_rounding mode, int points_per_100yen,
                   struct txn_totals *ret)
{
    struct tax_line tl[TXN_LINES_MAX];
    struct tax_input in = {.lines = tl, .eat_in = r->eat_in, .rounding = mode};
    struct txn_totals t;
    size_t n = 0;
    int rc;
    memset(&t, 0, sizeof(t));
    for (size_t i = 0; i < r->n_lines; i++) {
        const struct txn_line *l = &r->lines[i];
        int64_t net = txn_line_net(l);
        if (l->voided)
            continue;
        tl[n].amount = net < 0 ? -net : net;
        tl[n].cls = l->reduced ? TAX_CLASS_REDUCED : TAX_CLASS_STANDARD;
        tl[n].inclusive = l->tax_included;
        tl[n].qty = l->qty < 0 ? -l->qty : l->qty;
        t.discount += l->discount;
        n++;
    }
    in.n_lines = n;
    if (!r->is_return) {
        in.discount_yen = r->sub_discount;
        in.discount_pct = (uint32_t)r->sub_discount_pct;
    }
    if ((rc = tax_compute(&in, &t.tax)))
        return rc;
    t.total = r->is_return ? -t.tax.total : t.tax.total;
    t.discount += t.tax.discount;
    for (size_t i = 0; i < r->n_tenders; i++)
        t.paid += r->tenders[i].amount;
    t.due = t.total - t.paid;
    if (t.total > 0)
        t.points_earned = t.total / 100 * points_per_100yen;
    *ret = t;
    return 0;
}

int txn_totals(const struct txn *t, struct txn_totals *ret)
{
    if (!t->open)
        return MAMORI_ERR_STATE;
    return txn_rec_totals(t->rec, t->cfg.rounding, t->cfg.points_per_100yen, ret);
}

/* Show the last line and the running total on both displays (best effort:
 * a display failure must not lose a registered line). */
void txn__show(struct txn *t, const char *l1)
{
    struct txn_totals tot;
    char l2[POSDEV_LINE_MAX];
    if (t->dev.display == NULL || txn_totals(t, &tot))
        return;
    snprintf(l2, sizeof(l2), "合計 ¥%lld", (long long)tot.total);
    (void)t->dev.display(t->dev.ctx, l1, l2);
}

/* ---- registration ---- */

/* Open a transaction in the scratch record if none is open. */
int txn__ensure_open(struct txn *t, bool is_return)
{
    struct txn_rec *r = t->scratch;
    int64_t no;
    int rc;
    if (!t->op[0])
        return txn__fail(t, MAMORI_ERR_STATE, "sign on first");
    if (t->open) {
        txn__rec_copy(r, t->rec);
        return 0;
    }
    {
        /* 閉局: after the day is closed no new transaction starts. */
        char key[TXN_ID_MAX + 8];
        int64_t day = 0;
        snprintf(key, sizeof(key), "day:%s", t->cfg.terminal);
        if ((rc = journal_meta_get(t->j, key, &day)))
            return txn__fail(t, rc, "journal unreadable");
        if (day == 2)
            return txn__fail(t, MAMORI_ERR_STATE, "the register is closed (open the day first)");
    }
    if ((rc = journal_peek_txn_no(t->j, &no)))
        return txn__fail(t, rc, "journal write failed");
    memset(r, 0, offsetof(struct txn_rec, lines));
    r->n_tenders = r->n_approvals = 0;
    r->has_member = false;
    r->member_ct_len = 0;
    r->member_masked[0] = '\0';
    r->txn_no = no;
    r->state = TXN_REGISTERING;
    r->training = t->training;
    r->is_return = is_return;
    snprintf(r->terminal, sizeof(r->terminal), "%s", t->cfg.terminal);
    snprintf(r->operator_id, sizeof(r->operator_id), "%s", t->op);
    return 0;
}

bool txn__can_register(struct txn *t)
{
    return !t->open || t->rec->state == TXN_REGISTERING || t->rec->state == TXN_SUBTOTAL;
}

static int add_line(struct txn *t, const struct txn_item *it, enum txn_src src, int32_t qty,
                    int32_t grams, int64_t amount)
{
    struct txn_rec *r;
    struct txn_line *l;
    struct txn_totals tot;
    char shown[POSDEV_LINE_MAX];
    int rc;
    if (!txn__can_register(t))
        return txn__fail(t, MAMORI_ERR_STATE, "cannot register items now");
    if (t->open && t->rec->is_return)
        return txn__fail(t, MAMORI_ERR_STATE, "a return takes lines of its receipt only");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return txn__fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    if (amount < 0 || amount > (int64_t)TXN_PRICE_MAX * TXN_QTY_MAX)
        return txn__fail(t, MAMORI_ERR_INVAL, "price out of range");
    if ((rc = txn__ensure_open(t, false)))
        return rc;
    r = t->scratch;
    if (r->n_lines == TXN_LINES_MAX)
        return txn__fail(t, MAMORI_ERR_LIMIT, "too many lines in one transaction");
    l = &r->lines[r->n_lines];
    memset(l, 0, sizeof(*l));
    l->no = (int)r->n_lines + 1;
    l->src = src;
    snprintf(l->code, sizeof(l->code), "%s", it->code);
    snprintf(l->name, sizeof(l->name), "%s", it->name);
    l->dept = it->dept;
    l->reduced = it->reduced;
    l->tax_included = it->tax_included;
    l->age_restricted = it->age_restricted;
    l->unit_price = it->unit_price;
    l->qty = qty;
    l->grams = grams;
    l->amount = amount;
    snprintf(l->checker, sizeof(l->checker), "%s", t->op);
    r->n_lines++;
    r->state = TXN_REGISTERING;
    if (it->age_restricted)
        r->age_confirmed = false;
    /* The whole receipt must still compute (amount bounds of tax.h). */
    if ((rc = txn_rec_totals(r, t->cfg.rounding, 0, &tot)))
        return txn__fail(t, rc, "transaction total out of range");
    if ((rc = txn__commit(t)))
        return rc;
    snprintf(shown, sizeof(shown), "%.40s ¥%lld", it->name, (long long)amount);
    txn__show(t, shown);
    return 0;
}

static int lookup_fail(struct txn *t, int rc)
{
    switch (rc) {
    case MAMORI_ERR_CHECKSUM: return txn__fail(t, rc, "check digit wrong: scan again");
    case MAMORI_ERR_NOTFOUND: return txn__fail(t, rc, "unknown item code");
    default: return txn__fail(t, rc, "invalid code");
    }
}

int txn_scan(struct txn *t, const char *code, int32_t qty)
{
    struct txn_item it;
    int64_t amount;
    int rc;
    if (code == NULL)
        return txn__fail(t, MAMORI_ERR_INVAL, "no code");
    memset(&it, 0, sizeof(it));
    if ((rc = t->cat.scan(t->cat.ctx, code, &it)))
        return lookup_fail(t, rc);
    if (it.weighed && !it.embedded_price)
        return txn__fail(t, MAMORI_ERR_INVAL, "weighed item: put it on the scale");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return txn__fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    amount = it.unit_price * qty;
    return add_line(t, &it, it.embedded_price ? TXN_SRC_EMBEDDED : TXN_SRC_SCAN, qty, 0, amount);
}

int txn_plu(struct txn *t, const char *plu, int32_t qty)
{
    struct txn_item it;
    int rc;
    if (plu == NULL)
        return txn__fail(t, MAMORI_ERR_INVAL, "no PLU");
    memset(&it, 0, sizeof(it));
    if ((rc = t->cat.plu(t->cat.ctx, plu, &it)))
        return lookup_fail(t, rc);
    if (it.weighed)
        return txn__fail(t, MAMORI_ERR_INVAL, "weighed item: put it on the scale");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return txn__fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    return add_line(t, &it, TXN_SRC_PLU, qty, 0, it.unit_price * qty);
}

int txn_dept(struct txn *t, int dept, int64_t price, int32_t qty)
{
    struct txn_item it;
    int rc;
    if (price < 1 || price > TXN_PRICE_MAX)
        return txn__fail(t, MAMORI_ERR_INVAL, "price must be 1 to 9,999,999 yen");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return txn__fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    memset(&it, 0, sizeof(it));
    if ((rc = t->cat.dept(t->cat.ctx, dept, &it)))
        return lookup_fail(t, rc);
    it.unit_price = price;
    return add_line(t, &it, TXN_SRC_DEPT, qty, 0, price * qty);
}

int txn_weighed(struct txn *t, const char *code)
{
    struct txn_item it;
    int32_t grams;
    bool stable;
    int64_t amount;
    int rc;
    if (code == NULL)
        return txn__fail(t, MAMORI_ERR_INVAL, "no code");
    memset(&it, 0, sizeof(it));
    if ((rc = t->cat.scan(t->cat.ctx, code, &it)) &&
        (rc = t->cat.plu(t->cat.ctx, code, &it)))
        return lookup_fail(t, rc);
    if (!it.weighed)
        return txn__fail(t, MAMORI_ERR_INVAL, "not a weighed item");
    if (t->dev.scale_read == NULL)
        return txn__fail(t, MAMORI_ERR_OFFLINE, "no scale");
    if ((rc = t->dev.scale_read(t->dev.ctx, &grams, &stable)))
        return txn__fail(t, rc, "scale not answering");
    if (!stable)
        return txn__fail(t, MAMORI_ERR_AGAIN, "scale not stable: wait");
    if (grams < 1 || grams > TXN_GRAMS_MAX)
        return txn__fail(t, MAMORI_ERR_INVAL, "weight out of range");
    if ((rc = items_weighed_price(it.unit_price, (uint32_t)grams, &amount)))
        return txn__fail(t, rc, "weighed price out of range");
    return add_line(t, &it, TXN_SRC_WEIGHED, 1, grams, amount);
}

/* The live line numbered no in r, or NULL. */
static struct txn_line *line_of(struct txn_rec *r, int no)
{
    if (no < 1 || (size_t)no > r->n_lines || r->lines[no - 1].voided)
        return NULL;
    return &r->lines[no - 1];
}

int txn_set_qty(struct txn *t, int line, int32_t qty)
{
    struct txn_rec *r;
    struct txn_line *l;
    if (!t->open || !txn__can_register(t))
        return txn__fail(t, MAMORI_ERR_STATE, "no line to change");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return txn__fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    r = txn__begin(t);
    if ((l = line_of(r, line)) == NULL || l->src == TXN_SRC_WEIGHED || l->src == TXN_SRC_RETURN)
        return txn__fail(t, MAMORI_ERR_INVAL, "no such line, or its quantity is fixed");
    if (l->unit_price * qty < l->discount)
        return txn__fail(t, MAMORI_ERR_INVAL, "discount would exceed the line");
    l->qty = qty;
    l->amount = l->unit_price * qty;
    r->state = TXN_REGISTERING;
    return txn__commit(t);
}

int txn_void_line(struct txn *t, int line, const struct txn_cred *mgr)
{
    struct txn_rec *r;
    struct txn_line *l;
    char manager[TXN_ID_MAX] = "";
    struct audit_actor act;
    int rc;
    if (!t->open || !txn__can_register(t))
        return txn__fail(t, MAMORI_ERR_STATE, "cannot void now");
    if (line_of(t->rec, line) == NULL)
        return txn__fail(t, MAMORI_ERR_INVAL, "no such line");
    /* OPS-1: void after subtotal needs a manager. */
    if (t->rec->state == TXN_SUBTOTAL && (rc = txn_approve(t, "void", line, mgr, manager)))
        return rc;
    r = txn__begin(t);
    l = line_of(r, line);
    l->voided = true;
    if (manager[0] && (rc = txn__add_approval(r, "void", manager, line)))
        return txn__fail(t, rc, "too many approvals");
    if ((rc = txn__commit(t)))
        return rc;
    act = txn__actor(t);
    audit_event(t->a, &act, "line.void", F_INT("txn", r->txn_no), F_INT("line", line),
                F_AMOUNT("amount", l->amount), F_STR("approver", manager));
    return 0;
}

/* Discount d yen or pct percent of base; over the limits needs a manager. */
static int discount_amount(struct txn *t, int64_t base, int64_t yen, int pct, int64_t *ret)
{
    if ((yen > 0) == (pct > 0) || yen < 0 || pct < 0 || pct > TXN_DISCOUNT_PCT_MAX)
        return txn__fail(t, MAMORI_ERR_INVAL, "give either a yen amount or a percent");
    *ret = yen > 0 ? yen : base * pct / 100;
    if (*ret > base)
        return txn__fail(t, MAMORI_ERR_INVAL, "discount larger than the amount");
    return 0;
}

static bool over_limit(const struct txn *t, int64_t yen, int pct)
{
    return yen > t->cfg.discount_limit_yen || pct > t->cfg.discount_limit_pct;
}

int txn_item_discount(struct txn *t, int line, int64_t yen, int pct, const struct txn_cred *mgr)
{
    struct txn_rec *r;
    struct txn_line *l;
    char manager[TXN_ID_MAX] = "";
    struct audit_actor act;
    int64_t d;
    int rc;
    if (!t->open || !txn__can_register(t) || t->rec->is_return)
        return txn__fail(t, MAMORI_ERR_STATE, "cannot discount now");
    if ((l = line_of(t->rec, line)) == NULL)
        return txn__fail(t, MAMORI_ERR_INVAL, "no such line");
    if ((rc = discount_amount(t, l->amount, yen, pct, &d)))
        return rc;
    if (over_limit(t, yen, pct) && (rc = txn_approve(t, "discount", line, mgr, manager)))
        return rc;
    r = txn__begin(t);
    l = line_of(r, line);
    l->discount = d;
    if (manager[0] && (rc = txn__add_approval(r, "discount", manager, line)))
        return txn__fail(t, rc, "too many approvals");
    if ((rc = txn__commit(t)))
        return rc;
    act = txn__actor(t);
    audit_event(t->a, &act, "discount.item", F_INT("txn", r->txn_no), F_INT("line", line),
                F_AMOUNT("amount", d), F_INT("percent", pct), F_STR("approver", manager));
    return 0;
}

int txn_price_override(struct txn *t, int line, int64_t unit_price, const struct txn_cred *mgr)
{
    struct txn_rec *r;
    struct txn_line *l;
    char manager[TXN_ID_MAX];
    struct audit_actor act;
    int64_t old;
    int rc;
    if (!t->open || !txn__can_register(t) || t->rec->is_return)
        return txn__fail(t, MAMORI_ERR_STATE, "cannot override now");
    if ((l = line_of(t->rec, line)) == NULL || l->src == TXN_SRC_WEIGHED)
        return txn__fail(t, MAMORI_ERR_INVAL, "no such line, or a weighed line");
    if (unit_price < 0 || unit_price > TXN_PRICE_MAX || unit_price * l->qty < l->discount)
        return txn__fail(t, MAMORI_ERR_INVAL, "price out of range");
    if ((rc = txn_approve(t, "override", line, mgr, manager)))
        return rc;
    r = txn__begin(t);
    l = line_of(r, line);
    old = l->unit_price;
    l->unit_price = unit_price;
    l->amount = unit_price * l->qty;
    l->overridden = true;
    if ((rc = txn__add_approval(r, "override", manager, line)))
        return txn__fail(t, rc, "too many approvals");
    if ((rc = txn__commit(t)))
        return rc;
    act = txn__actor(t);
    audit_event(t->a, &act, "price.override", F_INT("txn", r->txn_no), F_INT("line", line),
                F_AMOUNT("old", old), F_AMOUNT("new", unit_price), F_STR("approver", manager));
    return 0;
}

int txn_set_eat_in(struct txn *t, bool eat_in)
{
    struct txn_rec *r;
    int rc;
    if (!txn__can_register(t))
        return txn__fail(t, MAMORI_ERR_STATE, "too late to change eat-in");
    if ((rc = txn__ensure_open(t, false)))
        return rc;
    r = t->scratch;
    r->eat_in = eat_in;
    return txn__commit(t);
}

int txn_subtotal(struct txn *t)
{
    struct txn_rec *r;
    struct txn_totals tot;
    char l1[POSDEV_LINE_MAX];
    int rc;
    size_t live = 0;
    if (!t->open || !txn__can_register(t))
        return txn__fail(t, MAMORI_ERR_STATE, "nothing registered");
    for (size_t i = 0; i < t->rec->n_lines; i++)
        live += !t->rec->lines[i].voided;
    if (live == 0)
        return txn__fail(t, MAMORI_ERR_STATE, "nothing registered");
    r = txn__begin(t);
    r->state = TXN_SUBTOTAL;
    if ((rc = txn__commit(t)))
        return rc;
    if (txn_totals(t, &tot) == 0) {
        snprintf(l1, sizeof(l1), "小計 ¥%lld", (long long)tot.total);
        txn__show(t, l1);
    }
    return 0;
}

int txn_subtotal_discount(struct txn *t, int64_t yen, int pct, const struct txn_cred *mgr)
{
    struct txn_rec *r;
    struct txn_totals tot;
    char manager[TXN_ID_MAX] = "";
    struct audit_actor act;
    int64_t d;
    int rc;
    if (!t->open || t->rec->state != TXN_SUBTOTAL || t->rec->is_return)
        return txn__fail(t, MAMORI_ERR_STATE, "press subtotal first");
    if ((rc = txn_totals(t, &tot)))
        return txn__fail(t, rc, "totals out of range");
    if ((rc = discount_amount(t, tot.tax.subtotal, yen, pct, &d)))
        return rc;
    if (over_limit(t, yen, pct) && (rc = txn_approve(t, "discount", 0, mgr, manager)))
        return rc;
    r = txn__begin(t);
    if (yen > 0)
        r->sub_discount = yen;
    else
        r->sub_discount_pct = pct;
    if (txn_rec_totals(r, t->cfg.rounding, 0, &tot))
        return txn__fail(t, MAMORI_ERR_INVAL, "discount larger than the amount");
    if (manager[0] && (rc = txn__add_approval(r, "discount", manager, 0)))
        return txn__fail(t, rc, "too many approvals");
    if ((rc = txn__commit(t)))
        return rc;
    act = txn__actor(t);
    audit_event(t->a, &act, "discount.subtotal", F_INT("txn", r->txn_no),
                F_AMOUNT("amount", d), F_INT("percent", pct), F_STR("approver", manager));
    return 0;
}

int txn_confirm_age(struct txn *t)
{
    struct txn_rec *r;
    struct audit_actor act;
    bool yes = false;
    int rc;
    if (!t->open)
        return txn__fail(t, MAMORI_ERR_STATE, "no transaction");
    if (t->dev.confirm == NULL)
        return txn__fail(t, MAMORI_ERR_OFFLINE, "no customer display");
    if ((rc = t->dev.confirm(t->dev.ctx, "20歳以上ですか? / Are you 20 or over?", &yes)))
        return txn__fail(t, rc, "customer display not answering");
    act = txn__actor(t);
    audit_event(t->a, &act, "age.confirm", F_INT("txn", t->rec->txn_no),
                F_STR("answer", yes ? "yes" : "no"));
    if (!yes)
        return txn__fail(t, MAMORI_ERR_PERM, "age not confirmed: void the restricted items");
    r = txn__begin(t);
    r->age_confirmed = true;
    return txn__commit(t);
}

/* ---- recovery ---- */

int txn_recover(struct txn *t, bool *ret_resumed)
{
    int rc = journal_load_open(t->j, t->cfg.terminal, t->scratch);
    bool resumed = false;
    if (rc == 0) {
        struct txn_rec *tmp = t->rec;
        t->rec = t->scratch;
        t->scratch = tmp;
        t->open = true;
        resumed = true;
        t->training = t->rec->training;
    } else if (rc != MAMORI_ERR_NOTFOUND) {
        return txn__fail(t, rc, "journal unreadable");
    }
    /* Cash commands whose reply never arrived are re-sent with their key. */
    if ((rc = tender_recover(t)))
        return rc;
    *ret_resumed = resumed && t->open;
    return 0;
}
