/*
 * txn_return.c: leaving the normal sale path: cancel (with refunds of what
 * tenders already did), returns against an original receipt (OPS-1: never more
 * than was sold), suspend and resume by slip (OPS-3). Part of the txn module
 * (txn_int.h).
 */
#include "pos/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/journal.h"
#include "pos/tender.h"
#include "pos/txn_int.h"

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
                return txn__fail(t, k ? rc : MAMORI_ERR_NOTFOUND, "refund of a card/e-money tender failed");
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
        return txn__fail(t, MAMORI_ERR_STATE, "no transaction to cancel");
    if ((rc = txn_approve(t, "cancel", 0, mgr, manager)))
        return rc;
    r = txn__begin(t);
    if ((rc = txn__add_approval(r, "cancel", manager, 0)))
        return txn__fail(t, rc, "too many approvals");
    if ((rc = undo_tenders(t, r)))
        return rc;
    r->state = TXN_CANCELLED;
    if ((rc = journal_cancel(t->j, r)))
        return txn__fail(t, rc, "journal write failed; nothing changed");
    (void)txn_rec_totals(r, t->cfg.rounding, 0, &tot);
    t->open = false;
    act = txn__actor(t);
    audit_event(t->a, &act, "txn.cancel", F_INT("txn", r->txn_no), F_AMOUNT("total", tot.total),
                F_STR("approver", manager));
    txn__show(t, "取消 / cancelled");
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
        return txn__fail(t, MAMORI_ERR_STATE, "finish the open transaction first");
    if (!t->op[0])
        return txn__fail(t, MAMORI_ERR_STATE, "sign on first");
    orig = malloc(sizeof(*orig));
    if (orig == NULL)
        return txn__fail(t, MAMORI_ERR_NOMEM, "out of memory");
    rc = journal_receipt_get(t->j, orig_receipt, orig);
    if (rc == 0 && (orig->is_return || orig->training != t->training))
        rc = MAMORI_ERR_NOTFOUND;
    free(orig);
    if (rc)
        return txn__fail(t, rc, "no such sale receipt");
    if ((rc = txn_approve(t, "return", 0, mgr, manager)))
        return rc;
    if ((rc = txn__ensure_open(t, true)))
        return rc;
    r = t->scratch;
    r->orig_receipt = orig_receipt;
    if ((rc = txn__add_approval(r, "return", manager, 0)) || (rc = txn__commit(t)))
        return rc;
    act = txn__actor(t);
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
    if (!t->open || !t->rec->is_return || !txn__can_register(t))
        return txn__fail(t, MAMORI_ERR_STATE, "start a return first");
    if (qty < 1 || qty > TXN_QTY_MAX)
        return txn__fail(t, MAMORI_ERR_INVAL, "quantity must be 1 to 9999");
    rc = journal_line_returnable(t->j, t->rec->orig_receipt, orig_line, &sold, &back);
    if (rc)
        return txn__fail(t, rc, "no such line on the receipt");
    for (size_t i = 0; i < t->rec->n_lines; i++)
        if (!t->rec->lines[i].voided && t->rec->lines[i].orig_line == orig_line)
            pending += -t->rec->lines[i].qty;
    /* OPS-1: never refund more than was sold on the original receipt. */
    if ((int64_t)back + pending + qty > sold)
        return txn__fail(t, MAMORI_ERR_LIMIT, "cannot return more than was sold on the receipt");
    if ((orig = malloc(sizeof(*orig))) == NULL)
        return txn__fail(t, MAMORI_ERR_NOMEM, "out of memory");
    if ((rc = journal_receipt_get(t->j, t->rec->orig_receipt, orig)) ||
        (rc = txn_rec_totals(orig, t->cfg.rounding, 0, &ot))) {
        free(orig);
        return txn__fail(t, rc, "original receipt unreadable");
    }
    ol = &orig->lines[orig_line - 1];
    /* Refund the share actually paid: the line's net amount for qty, less its
     * part of the subtotal discount of the original sale. */
    refund = txn_line_net(ol) * qty / sold;
    if (ot.tax.discount > 0 && ot.tax.subtotal > 0) {
        int64_t x;
        if (__builtin_mul_overflow(refund, ot.tax.subtotal - ot.tax.discount, &x)) {
            free(orig);
            return txn__fail(t, MAMORI_ERR_TOOBIG, "amount too large");
        }
        refund = x / ot.tax.subtotal;
    }
    r = txn__begin(t);
    if (r->n_lines == TXN_LINES_MAX) {
        free(orig);
        return txn__fail(t, MAMORI_ERR_LIMIT, "too many lines");
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
    return txn__commit(t);
}

/* ---- suspend / resume ---- */

int txn_suspend(struct txn *t, char ret_slip[static TXN_SLIP_LEN + 1])
{
    char slip[TXN_SLIP_LEN + 1];
    struct audit_actor act;
    int rc;
    if (!t->open || !txn__can_register(t) || t->rec->is_return || t->rec->n_tenders > 0)
        return txn__fail(t, MAMORI_ERR_STATE, "only an unpaid sale can be suspended");
    if ((rc = barcode_receipt_encode(true, t->cfg.store_no, t->cfg.terminal_no,
                                     (uint64_t)t->rec->txn_no % 1000000000u, slip)))
        return txn__fail(t, rc, "slip number out of range");
    t->rec->state = TXN_SUSPENDED;
    rc = journal_suspend(t->j, t->rec, slip);
    if (rc) {
        t->rec->state = TXN_REGISTERING;
        return txn__fail(t, rc, "journal write failed; nothing changed");
    }
    t->open = false;
    memcpy(ret_slip, slip, sizeof(slip));
    act = txn__actor(t);
    audit_event(t->a, &act, "txn.suspend", F_INT("txn", t->rec->txn_no), F_STR("slip", slip));
    return 0;
}

int txn_resume(struct txn *t, const char *slip)
{
    struct barcode bc;
    struct audit_actor act;
    int rc;
    if (t->open)
        return txn__fail(t, MAMORI_ERR_STATE, "finish the open transaction first");
    if (!t->op[0])
        return txn__fail(t, MAMORI_ERR_STATE, "sign on first");
    if (slip == NULL || barcode_parse(NULL, slip, strlen(slip), &bc) != 0 ||
        bc.kind != BARCODE_SLIP)
        return txn__fail(t, MAMORI_ERR_INVAL, "not a suspend slip");
    rc = journal_resume(t->j, bc.code, t->cfg.terminal, t->op, t->training, t->scratch);
    if (rc)
        return txn__fail(t, rc, rc == MAMORI_ERR_NOTFOUND ? "no such slip (already resumed?)"
                                                     : "slip refused");
    {
        struct txn_rec *tmp = t->rec;
        t->rec = t->scratch;
        t->scratch = tmp;
        t->open = true;
    }
    act = txn__actor(t);
    audit_event(t->a, &act, "txn.resume", F_INT("txn", t->rec->txn_no), F_STR("slip", bc.code));
    txn__show(t, "再開 / resumed");
    return 0;
}

