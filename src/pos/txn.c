/*
 * txn.c: owns the register station and the registration half of a
 * transaction: sign-on, training mode, lines, quantities, voids, discounts,
 * overrides, eat-in, subtotal, age confirmation, cancel, returns, suspend and
 * resume, manager approvals, totals, and recovery after a restart. Tendering
 * and completion are tender.c's; storage is journal.c's.
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

#define TXN_KINDS_MAX 8
#define TXN_ERR_MAX 160

struct txn {
    struct txn_config cfg;
    uint8_t *key;                 /* data key, guarded memory */
    struct journal *j;
    struct pos_devices dev;
    struct txn_catalog cat;
    struct txn_auth auth;
    struct audit *a;
    const struct tender_kind *kinds[TXN_KINDS_MAX];
    size_t n_kinds;
    char op[TXN_ID_MAX];
    enum txn_role op_role;
    char cashier[TXN_ID_MAX];
    bool two_person;
    bool training;
    bool open;                    /* rec holds an open transaction */
    struct txn_rec *rec;
    struct txn_rec *scratch;
    int64_t last_receipt;
    int64_t last_change;
    char err[TXN_ERR_MAX];
};

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

static struct audit_actor actor_of(const struct txn *t)
{
    return (struct audit_actor){.operator_id = t->op[0] ? t->op : NULL,
                                .role = role_name(t->op_role),
                                .process = "mamori-terminald"};
}

/* Refuse with a message for the operator; returns rc. */
static int fail(struct txn *t, int rc, const char *msg)
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
static void rec_copy(struct txn_rec *dst, const struct txn_rec *src)
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
static struct txn_rec *begin(struct txn *t)
{
    rec_copy(t->scratch, t->rec);
    return t->scratch;
}

/* Persist the scratch copy and make it current. */
static int commit(struct txn *t)
{
    int rc = journal_save_open(t->j, t->scratch);
    struct txn_rec *tmp;
    if (rc)
        return fail(t, rc, "journal write failed; nothing changed");
    tmp = t->rec;
    t->rec = t->scratch;
    t->scratch = tmp;
    t->open = true;
    t->err[0] = '\0';
    return 0;
}

struct txn_rec *txn_begin_change(struct txn *t)
{
    return t->open ? begin(t) : NULL;
}

int txn_commit_change(struct txn *t)
{
    return commit(t);
}

void txn_actor(const struct txn *t, struct audit_actor *ret)
{
    *ret = actor_of(t);
}

void txn_after_complete(struct txn *t, int64_t receipt_no, int64_t change)
{
    t->open = false;
    t->last_receipt = receipt_no;
    t->last_change = change;
    t->err[0] = '\0';
}

/* ---- sign-on ---- */

static int verify(struct txn *t, const char *id, const char *pw, enum txn_role *ret_role)
{
    if (id == NULL || pw == NULL || id[0] == '\0' || strlen(id) >= TXN_ID_MAX)
        return MAMORI_ERR_INVAL;
    return t->auth.verify(t->auth.ctx, id, pw, ret_role);
}

int txn_signon(struct txn *t, const char *id, const char *pw)
{
    enum txn_role role;
    struct audit_actor act = {.operator_id = id, .process = "mamori-terminald"};
    int rc;
    if (t->op[0])
        return fail(t, MAMORI_ERR_STATE, "an operator is already signed on");
    rc = verify(t, id, pw, &role);
    if (rc == 0 && role != TXN_ROLE_CASHIER && role != TXN_ROLE_MANAGER)
        rc = MAMORI_ERR_PERM;
    if (rc) {
        audit_event(t->a, &act, "signon.failed", F_STR("terminal", t->cfg.terminal),
                    F_STR("reason", mamori_strerror(rc)));
        return fail(t, rc, rc == MAMORI_ERR_PERM ? "this role cannot operate a register"
                                                 : "sign-on refused");
    }
    snprintf(t->op, sizeof(t->op), "%s", id);
    t->op_role = role;
    t->two_person = false;
    t->cashier[0] = '\0';
    act = actor_of(t);
    audit_event(t->a, &act, "signon", F_STR("terminal", t->cfg.terminal), F_STR("mode", "one"));
    return 0;
}

int txn_signon_pair(struct txn *t, const char *checker, const char *checker_pw,
                    const char *cashier, const char *cashier_pw)
{
    enum txn_role r1, r2;
    struct audit_actor act = {.operator_id = checker, .process = "mamori-terminald"};
    int rc;
    if (t->op[0])
        return fail(t, MAMORI_ERR_STATE, "an operator is already signed on");
    if (checker == NULL || cashier == NULL || strcmp(checker, cashier) == 0)
        return fail(t, MAMORI_ERR_INVAL, "two-person mode needs two different operators");
    rc = verify(t, checker, checker_pw, &r1);
    if (rc == 0 && r1 != TXN_ROLE_CHECKER && r1 != TXN_ROLE_MANAGER)
        rc = MAMORI_ERR_PERM;
    if (rc == 0) {
        act.operator_id = cashier;
        rc = verify(t, cashier, cashier_pw, &r2);
        if (rc == 0 && r2 != TXN_ROLE_CASHIER && r2 != TXN_ROLE_MANAGER)
            rc = MAMORI_ERR_PERM;
    }
    if (rc) {
        audit_event(t->a, &act, "signon.failed", F_STR("terminal", t->cfg.terminal),
                    F_STR("reason", mamori_strerror(rc)));
        return fail(t, rc, "two-person sign-on refused");
    }
    snprintf(t->op, sizeof(t->op), "%s", checker);
    snprintf(t->cashier, sizeof(t->cashier), "%s", cashier);
    t->op_role = r1;
    t->two_person = true;
    act = actor_of(t);
    audit_event(t->a, &act, "signon", F_STR("terminal", t->cfg.terminal), F_STR("mode", "two"),
                F_STR("cashier", cashier));
    return 0;
}

int txn_signoff(struct txn *t)
{
    struct audit_actor act = actor_of(t);
    if (!t->op[0])
        return fail(t, MAMORI_ERR_STATE, "nobody is signed on");
    if (t->open)
        return fail(t, MAMORI_ERR_STATE, "finish, suspend or cancel the transaction first");
    audit_event(t->a, &act, "signoff", F_STR("terminal", t->cfg.terminal));
    t->op[0] = t->cashier[0] = '\0';
    t->op_role = TXN_ROLE_NONE;
    t->two_person = false;
    return 0;
}

int txn_set_training(struct txn *t, bool on)
{
    struct audit_actor act = actor_of(t);
    if (t->open)
        return fail(t, MAMORI_ERR_STATE, "not during a transaction");
    if (!t->op[0])
        return fail(t, MAMORI_ERR_STATE, "sign on first");
    t->training = on;
    audit_event(t->a, &act, on ? "training.on" : "training.off",
                F_STR("terminal", t->cfg.terminal));
    return 0;
}

/* ---- approvals ---- */

int txn_approve(struct txn *t, const char *what, int line, const struct txn_cred *mgr,
                char ret_manager[static TXN_ID_MAX])
{
    enum txn_role role;
    struct audit_actor act = actor_of(t);
    int rc;
    if (mgr == NULL || mgr->id == NULL || mgr->password == NULL)
        return fail(t, MAMORI_ERR_PERM, "manager approval required");
    rc = verify(t, mgr->id, mgr->password, &role);
    if (rc == 0 && role != TXN_ROLE_MANAGER)
        rc = MAMORI_ERR_PERM;
    if (rc) {
        audit_event(t->a, &act, "approval.failed", F_STR("what", what),
                    F_STR("manager", mgr->id), F_STR("reason", mamori_strerror(rc)));
        return fail(t, rc, rc == MAMORI_ERR_PERM ? "approver is not a manager"
                                                 : "manager authentication failed");
    }
    snprintf(ret_manager, TXN_ID_MAX, "%s", mgr->id);
    (void)line;
    return 0;
}

static int add_approval(struct txn_rec *r, const char *what, const char *mgr, int line)
{
    struct txn_approval *p;
    if (r->n_approvals == TXN_APPROVALS_MAX)
        return MAMORI_ERR_LIMIT;
    p = &r->approvals[r->n_approvals++];
    snprintf(p->what, sizeof(p->what), "%s", what);
    snprintf(p->manager, sizeof(p->manager), "%s", mgr);
    p->line = line;
    return 0;
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
static void show(struct txn *t, const char *l1)
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
static int ensure_open(struct txn *t, bool is_return)
{
    struct txn_rec *r = t->scratch;
    int64_t no;
    int rc;
    if (!t->op[0])
        return fail(t, MAMORI_ERR_STATE, "sign on first");
    if (t->open) {
        rec_copy(r, t->rec);
        return 0;
    }
    {
        /* 閉局: after the day is closed no new transaction starts. */
        char key[TXN_ID_MAX + 8];
        int64_t day = 0;
        snprintf(key, sizeof(key), "day:%s", t->cfg.terminal);
        if ((rc = journal_meta_get(t->j, key, &day)))
            return fail(t, rc, "journal unreadable");
        if (day == 2)
            return fail(t, MAMORI_ERR_STATE, "the register is closed (open the day first)");
    }
    if ((rc = journal_next_txn_no(t->j, &no)))
        return fail(t, rc, "journal write failed");
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

static bool can_register(struct txn *t)
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
    if (!can_register(t))
        return fail(t, MAMORI_ERR_STATE, "cannot register items now");
    if (t->open && t->rec->is_return)
        return fail(t, MAMORI_ERR_STATE, "a return takes lines of its receipt only");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    if (amount < 0 || amount > (int64_t)TXN_PRICE_MAX * TXN_QTY_MAX)
        return fail(t, MAMORI_ERR_INVAL, "price out of range");
    if ((rc = ensure_open(t, false)))
        return rc;
    r = t->scratch;
    if (r->n_lines == TXN_LINES_MAX)
        return fail(t, MAMORI_ERR_LIMIT, "too many lines in one transaction");
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
        return fail(t, rc, "transaction total out of range");
    if ((rc = commit(t)))
        return rc;
    snprintf(shown, sizeof(shown), "%.40s ¥%lld", it->name, (long long)amount);
    show(t, shown);
    return 0;
}

static int lookup_fail(struct txn *t, int rc)
{
    switch (rc) {
    case MAMORI_ERR_CHECKSUM: return fail(t, rc, "check digit wrong: scan again");
    case MAMORI_ERR_NOTFOUND: return fail(t, rc, "unknown item code");
    default: return fail(t, rc, "invalid code");
    }
}

int txn_scan(struct txn *t, const char *code, int32_t qty)
{
    struct txn_item it;
    int64_t amount;
    int rc;
    if (code == NULL)
        return fail(t, MAMORI_ERR_INVAL, "no code");
    memset(&it, 0, sizeof(it));
    if ((rc = t->cat.scan(t->cat.ctx, code, &it)))
        return lookup_fail(t, rc);
    if (it.weighed && !it.embedded_price)
        return fail(t, MAMORI_ERR_INVAL, "weighed item: put it on the scale");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    amount = it.unit_price * qty;
    return add_line(t, &it, it.embedded_price ? TXN_SRC_EMBEDDED : TXN_SRC_SCAN, qty, 0, amount);
}

int txn_plu(struct txn *t, const char *plu, int32_t qty)
{
    struct txn_item it;
    int rc;
    if (plu == NULL)
        return fail(t, MAMORI_ERR_INVAL, "no PLU");
    memset(&it, 0, sizeof(it));
    if ((rc = t->cat.plu(t->cat.ctx, plu, &it)))
        return lookup_fail(t, rc);
    if (it.weighed)
        return fail(t, MAMORI_ERR_INVAL, "weighed item: put it on the scale");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    return add_line(t, &it, TXN_SRC_PLU, qty, 0, it.unit_price * qty);
}

int txn_dept(struct txn *t, int dept, int64_t price, int32_t qty)
{
    struct txn_item it;
    int rc;
    if (price < 1 || price > TXN_PRICE_MAX)
        return fail(t, MAMORI_ERR_INVAL, "price must be 1 to 9,999,999 yen");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
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
        return fail(t, MAMORI_ERR_INVAL, "no code");
    memset(&it, 0, sizeof(it));
    if ((rc = t->cat.scan(t->cat.ctx, code, &it)) &&
        (rc = t->cat.plu(t->cat.ctx, code, &it)))
        return lookup_fail(t, rc);
    if (!it.weighed)
        return fail(t, MAMORI_ERR_INVAL, "not a weighed item");
    if (t->dev.scale_read == NULL)
        return fail(t, MAMORI_ERR_OFFLINE, "no scale");
    if ((rc = t->dev.scale_read(t->dev.ctx, &grams, &stable)))
        return fail(t, rc, "scale not answering");
    if (!stable)
        return fail(t, MAMORI_ERR_AGAIN, "scale not stable: wait");
    if (grams < 1 || grams > TXN_GRAMS_MAX)
        return fail(t, MAMORI_ERR_INVAL, "weight out of range");
    if ((rc = items_weighed_price(it.unit_price, (uint32_t)grams, &amount)))
        return fail(t, rc, "weighed price out of range");
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
    if (!t->open || !can_register(t))
        return fail(t, MAMORI_ERR_STATE, "no line to change");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    r = begin(t);
    if ((l = line_of(r, line)) == NULL || l->src == TXN_SRC_WEIGHED || l->src == TXN_SRC_RETURN)
        return fail(t, MAMORI_ERR_INVAL, "no such line, or its quantity is fixed");
    if (l->unit_price * qty < l->discount)
        return fail(t, MAMORI_ERR_INVAL, "discount would exceed the line");
    l->qty = qty;
    l->amount = l->unit_price * qty;
    r->state = TXN_REGISTERING;
    return commit(t);
}

int txn_void_line(struct txn *t, int line, const struct txn_cred *mgr)
{
    struct txn_rec *r;
    struct txn_line *l;
    char manager[TXN_ID_MAX] = "";
    struct audit_actor act;
    int rc;
    if (!t->open || !can_register(t))
        return fail(t, MAMORI_ERR_STATE, "cannot void now");
    if (line_of(t->rec, line) == NULL)
        return fail(t, MAMORI_ERR_INVAL, "no such line");
    /* OPS-1: void after subtotal needs a manager. */
    if (t->rec->state == TXN_SUBTOTAL && (rc = txn_approve(t, "void", line, mgr, manager)))
        return rc;
    r = begin(t);
    l = line_of(r, line);
    l->voided = true;
    if (manager[0] && (rc = add_approval(r, "void", manager, line)))
        return fail(t, rc, "too many approvals");
    if ((rc = commit(t)))
        return rc;
    act = actor_of(t);
    audit_event(t->a, &act, "line.void", F_INT("txn", r->txn_no), F_INT("line", line),
                F_AMOUNT("amount", l->amount), F_STR("approver", manager));
    return 0;
}

/* Discount d yen or pct percent of base; over the limits needs a manager. */
static int discount_amount(struct txn *t, int64_t base, int64_t yen, int pct, int64_t *ret)
{
    if ((yen > 0) == (pct > 0) || yen < 0 || pct < 0 || pct > TXN_DISCOUNT_PCT_MAX)
        return fail(t, MAMORI_ERR_INVAL, "give either a yen amount or a percent");
    *ret = yen > 0 ? yen : base * pct / 100;
    if (*ret > base)
        return fail(t, MAMORI_ERR_INVAL, "discount larger than the amount");
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
    if (!t->open || !can_register(t) || t->rec->is_return)
        return fail(t, MAMORI_ERR_STATE, "cannot discount now");
    if ((l = line_of(t->rec, line)) == NULL)
        return fail(t, MAMORI_ERR_INVAL, "no such line");
    if ((rc = discount_amount(t, l->amount, yen, pct, &d)))
        return rc;
    if (over_limit(t, yen, pct) && (rc = txn_approve(t, "discount", line, mgr, manager)))
        return rc;
    r = begin(t);
    l = line_of(r, line);
    l->discount = d;
    if (manager[0] && (rc = add_approval(r, "discount", manager, line)))
        return fail(t, rc, "too many approvals");
    if ((rc = commit(t)))
        return rc;
    act = actor_of(t);
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
    if (!t->open || !can_register(t) || t->rec->is_return)
        return fail(t, MAMORI_ERR_STATE, "cannot override now");
    if ((l = line_of(t->rec, line)) == NULL || l->src == TXN_SRC_WEIGHED)
        return fail(t, MAMORI_ERR_INVAL, "no such line, or a weighed line");
    if (unit_price < 0 || unit_price > TXN_PRICE_MAX || unit_price * l->qty < l->discount)
        return fail(t, MAMORI_ERR_INVAL, "price out of range");
    if ((rc = txn_approve(t, "override", line, mgr, manager)))
        return rc;
    r = begin(t);
    l = line_of(r, line);
    old = l->unit_price;
    l->unit_price = unit_price;
    l->amount = unit_price * l->qty;
    l->overridden = true;
    if ((rc = add_approval(r, "override", manager, line)))
        return fail(t, rc, "too many approvals");
    if ((rc = commit(t)))
        return rc;
    act = actor_of(t);
    audit_event(t->a, &act, "price.override", F_INT("txn", r->txn_no), F_INT("line", line),
                F_AMOUNT("old", old), F_AMOUNT("new", unit_price), F_STR("approver", manager));
    return 0;
}

int txn_set_eat_in(struct txn *t, bool eat_in)
{
    struct txn_rec *r;
    int rc;
    if (!can_register(t))
        return fail(t, MAMORI_ERR_STATE, "too late to change eat-in");
    if ((rc = ensure_open(t, false)))
        return rc;
    r = t->scratch;
    r->eat_in = eat_in;
    return commit(t);
}

int txn_subtotal(struct txn *t)
{
    struct txn_rec *r;
    struct txn_totals tot;
    char l1[POSDEV_LINE_MAX];
    int rc;
    size_t live = 0;
    if (!t->open || !can_register(t))
        return fail(t, MAMORI_ERR_STATE, "nothing registered");
    for (size_t i = 0; i < t->rec->n_lines; i++)
        live += !t->rec->lines[i].voided;
    if (live == 0)
        return fail(t, MAMORI_ERR_STATE, "nothing registered");
    r = begin(t);
    r->state = TXN_SUBTOTAL;
    if ((rc = commit(t)))
        return rc;
    if (txn_totals(t, &tot) == 0) {
        snprintf(l1, sizeof(l1), "小計 ¥%lld", (long long)tot.total);
        show(t, l1);
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
        return fail(t, MAMORI_ERR_STATE, "press subtotal first");
    if ((rc = txn_totals(t, &tot)))
        return fail(t, rc, "totals out of range");
    if ((rc = discount_amount(t, tot.tax.subtotal, yen, pct, &d)))
        return rc;
    if (over_limit(t, yen, pct) && (rc = txn_approve(t, "discount", 0, mgr, manager)))
        return rc;
    r = begin(t);
    if (yen > 0)
        r->sub_discount = yen;
    else
        r->sub_discount_pct = pct;
    if (txn_rec_totals(r, t->cfg.rounding, 0, &tot))
        return fail(t, MAMORI_ERR_INVAL, "discount larger than the amount");
    if (manager[0] && (rc = add_approval(r, "discount", manager, 0)))
        return fail(t, rc, "too many approvals");
    if ((rc = commit(t)))
        return rc;
    act = actor_of(t);
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
        return fail(t, MAMORI_ERR_STATE, "no transaction");
    if (t->dev.confirm == NULL)
        return fail(t, MAMORI_ERR_OFFLINE, "no customer display");
    if ((rc = t->dev.confirm(t->dev.ctx, "20歳以上ですか? / Are you 20 or over?", &yes)))
        return fail(t, rc, "customer display not answering");
    act = actor_of(t);
    audit_event(t->a, &act, "age.confirm", F_INT("txn", t->rec->txn_no),
                F_STR("answer", yes ? "yes" : "no"));
    if (!yes)
        return fail(t, MAMORI_ERR_PERM, "age not confirmed: void the restricted items");
    r = begin(t);
    r->age_confirmed = true;
    return commit(t);
}

/* Undo what tenders already did before a cancel: external authorizations are
 * refunded, cash counted by the change machine is paid back (exactly once). */
static int undo_tenders(struct txn *t, const struct txn_rec *r)
{
    int rc;
    for (size_t i = 0; i < r->n_tenders; i++) {
        const struct txn_tender *d = &r->tenders[i];
        if (d->type == TENDER_EXTERNAL) {
            const struct tender_kind *k = txn_find_kind(t, d->kind);
            struct tender_auth au = {.amount = d->amount};
            snprintf(au.ref, sizeof(au.ref), "%s", d->ref);
            if (k == NULL || (rc = k->refund(k->ctx, r->txn_no, &au)))
                return fail(t, k ? rc : MAMORI_ERR_NOTFOUND, "refund of a card/e-money tender failed");
        } else if (d->type == TENDER_CASH && d->idem[0] && !r->training) {
            if ((rc = tender_pay_back(t, r, (int)i)))
                return rc;
        }
    }
    return 0;
}

int txn_cancel(struct txn *t, const struct txn_cred *mgr)
{
    struct txn_rec *r;
    struct txn_totals tot;
    char manager[TXN_ID_MAX];
    struct audit_actor act;
    int rc;
    if (!t->open || t->rec->state == TXN_COMPLETED)
        return fail(t, MAMORI_ERR_STATE, "no transaction to cancel");
    if ((rc = txn_approve(t, "cancel", 0, mgr, manager)))
        return rc;
    r = begin(t);
    if ((rc = add_approval(r, "cancel", manager, 0)))
        return fail(t, rc, "too many approvals");
    if ((rc = undo_tenders(t, r)))
        return rc;
    r->state = TXN_CANCELLED;
    if ((rc = journal_cancel(t->j, r)))
        return fail(t, rc, "journal write failed; nothing changed");
    (void)txn_rec_totals(r, t->cfg.rounding, 0, &tot);
    t->open = false;
    act = actor_of(t);
    audit_event(t->a, &act, "txn.cancel", F_INT("txn", r->txn_no), F_AMOUNT("total", tot.total),
                F_STR("approver", manager));
    show(t, "取消 / cancelled");
    return 0;
}

/* ---- returns ---- */

int txn_return_begin(struct txn *t, int64_t orig_receipt, const struct txn_cred *mgr)
{
    struct txn_rec *orig, *r;
    char manager[TXN_ID_MAX];
    struct audit_actor act;
    int rc;
    if (t->open)
        return fail(t, MAMORI_ERR_STATE, "finish the open transaction first");
    if (!t->op[0])
        return fail(t, MAMORI_ERR_STATE, "sign on first");
    orig = malloc(sizeof(*orig));
    if (orig == NULL)
        return fail(t, MAMORI_ERR_NOMEM, "out of memory");
    rc = journal_receipt_get(t->j, orig_receipt, orig);
    if (rc == 0 && (orig->is_return || orig->training != t->training))
        rc = MAMORI_ERR_NOTFOUND;
    free(orig);
    if (rc)
        return fail(t, rc, "no such sale receipt");
    if ((rc = txn_approve(t, "return", 0, mgr, manager)))
        return rc;
    if ((rc = ensure_open(t, true)))
        return rc;
    r = t->scratch;
    r->orig_receipt = orig_receipt;
    if ((rc = add_approval(r, "return", manager, 0)) || (rc = commit(t)))
        return rc;
    act = actor_of(t);
    audit_event(t->a, &act, "return.begin", F_INT("txn", r->txn_no),
                F_INT("receipt", orig_receipt), F_STR("approver", manager));
    return 0;
}

int txn_return_line(struct txn *t, int orig_line, int32_t qty)
{
    struct txn_rec *orig = NULL, *r;
    struct txn_line *ol, *l;
    struct txn_totals ot;
    int32_t sold, back, pending = 0;
    int64_t refund;
    int rc;
    if (!t->open || !t->rec->is_return || !can_register(t))
        return fail(t, MAMORI_ERR_STATE, "start a return first");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    rc = journal_line_returnable(t->j, t->rec->orig_receipt, orig_line, &sold, &back);
    if (rc)
        return fail(t, rc, "no such line on the receipt");
    for (size_t i = 0; i < t->rec->n_lines; i++)
        if (!t->rec->lines[i].voided && t->rec->lines[i].orig_line == orig_line)
            pending += -t->rec->lines[i].qty;
    /* OPS-1: never refund more than was sold on the original receipt. */
    if ((int64_t)back + pending + qty > sold)
        return fail(t, MAMORI_ERR_LIMIT, "cannot return more than was sold on the receipt");
    if ((orig = malloc(sizeof(*orig))) == NULL)
        return fail(t, MAMORI_ERR_NOMEM, "out of memory");
    if ((rc = journal_receipt_get(t->j, t->rec->orig_receipt, orig)) ||
        (rc = txn_rec_totals(orig, t->cfg.rounding, 0, &ot))) {
        free(orig);
        return fail(t, rc, "original receipt unreadable");
    }
    ol = &orig->lines[orig_line - 1];
    /* Refund the share actually paid: the line's net amount for qty, less its
     * part of the subtotal discount of the original sale. */
    refund = txn_line_net(ol) * qty / sold;
    if (ot.tax.discount > 0 && ot.tax.subtotal > 0) {
        int64_t x;
        if (__builtin_mul_overflow(refund, ot.tax.subtotal - ot.tax.discount, &x)) {
            free(orig);
            return fail(t, MAMORI_ERR_TOOBIG, "amount too large");
        }
        refund = x / ot.tax.subtotal;
    }
    r = begin(t);
    if (r->n_lines == TXN_LINES_MAX) {
        free(orig);
        return fail(t, MAMORI_ERR_LIMIT, "too many lines");
    }
    l = &r->lines[r->n_lines];
    memset(l, 0, sizeof(*l));
    l->no = (int)r->n_lines + 1;
    l->src = TXN_SRC_RETURN;
    memcpy(l->code, ol->code, sizeof(l->code));
    memcpy(l->name, ol->name, sizeof(l->name));
    l->dept = ol->dept;
    l->reduced = ol->reduced;
    l->tax_included = ol->tax_included;
    l->unit_price = ol->unit_price;
    l->qty = -qty;
    l->amount = -refund;
    l->orig_receipt = t->rec->orig_receipt;
    l->orig_line = orig_line;
    snprintf(l->checker, sizeof(l->checker), "%s", t->op);
    r->eat_in = orig->eat_in;
    r->n_lines++;
    free(orig);
    return commit(t);
}

/* ---- suspend / resume ---- */

int txn_suspend(struct txn *t, char ret_slip[static TXN_SLIP_LEN + 1])
{
    char slip[TXN_SLIP_LEN + 1];
    struct audit_actor act;
    int rc;
    if (!t->open || !can_register(t) || t->rec->is_return || t->rec->n_tenders > 0)
        return fail(t, MAMORI_ERR_STATE, "only an unpaid sale can be suspended");
    if ((rc = barcode_receipt_encode(true, t->cfg.store_no, t->cfg.terminal_no,
                                     (uint64_t)t->rec->txn_no % 1000000000u, slip)))
        return fail(t, rc, "slip number out of range");
    t->rec->state = TXN_SUSPENDED;
    rc = journal_suspend(t->j, t->rec, slip);
    if (rc) {
        t->rec->state = TXN_REGISTERING;
        return fail(t, rc, "journal write failed; nothing changed");
    }
    t->open = false;
    memcpy(ret_slip, slip, sizeof(slip));
    act = actor_of(t);
    audit_event(t->a, &act, "txn.suspend", F_INT("txn", t->rec->txn_no), F_STR("slip", slip));
    return 0;
}

int txn_resume(struct txn *t, const char *slip)
{
    struct barcode bc;
    struct audit_actor act;
    int rc;
    if (t->open)
        return fail(t, MAMORI_ERR_STATE, "finish the open transaction first");
    if (!t->op[0])
        return fail(t, MAMORI_ERR_STATE, "sign on first");
    if (slip == NULL || barcode_parse(NULL, slip, strlen(slip), &bc) != 0 ||
        bc.kind != BARCODE_SLIP)
        return fail(t, MAMORI_ERR_INVAL, "not a suspend slip");
    rc = journal_resume(t->j, bc.code, t->cfg.terminal, t->op, t->training, t->scratch);
    if (rc)
        return fail(t, rc, rc == MAMORI_ERR_NOTFOUND ? "no such slip (already resumed?)"
                                                     : "slip refused");
    {
        struct txn_rec *tmp = t->rec;
        t->rec = t->scratch;
        t->scratch = tmp;
        t->open = true;
    }
    act = actor_of(t);
    audit_event(t->a, &act, "txn.resume", F_INT("txn", t->rec->txn_no), F_STR("slip", bc.code));
    show(t, "再開 / resumed");
    return 0;
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
        return fail(t, rc, "journal unreadable");
    }
    /* Cash commands whose reply never arrived are re-sent with their key. */
    if ((rc = tender_recover(t)))
        return rc;
    *ret_resumed = resumed && t->open;
    return 0;
}
