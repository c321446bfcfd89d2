/*
 * txnprint.c: owns the mapping from a transaction record to the receipt
 * model of receipt.h (posdata's renderer does the ESC/POS and CP932). It must
 * not own layout or encoding, and it never sees a clear member number: only
 * the mask stored in the record.
 */
#include "pos/txnprint.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mamori/err.h"
#include "pos/journal.h"
#include "pos/paycard.h"
#include "pos/receipt.h"

static enum receipt_tender_kind kind_of(const struct txn_tender *d)
{
    switch (d->type) {
    case TENDER_CASH: return RECEIPT_TENDER_CASH;
    case TENDER_GIFT: return RECEIPT_TENDER_GIFT;
    case TENDER_COUPON: return RECEIPT_TENDER_COUPON;
    case TENDER_POINTS: return RECEIPT_TENDER_POINTS;
    default:
        if (strcmp(d->kind, "card") == 0)
            return RECEIPT_TENDER_CARD;
        if (strcmp(d->kind, "emoney") == 0)
            return RECEIPT_TENDER_EMONEY;
        return RECEIPT_TENDER_OTHER;
    }
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

int txnprint_render(const struct txn_config *cfg, const struct txn_rec *r,
                    const struct txn_totals *tot, int64_t receipt_no, bool reprint,
                    struct buf *out)
{
    struct receipt_line *lines = calloc(r->n_lines ? r->n_lines : 1, sizeof(*lines));
    struct receipt_tender tenders[TXN_TENDERS_MAX];
    struct {
        char host[24], approval[8], last4[5], method[16];
    } card[TXN_TENDERS_MAX];
    struct receipt_discount disc[1];
    struct receipt_model m;
    size_t nl = 0, nt = 0;
    int rc;
    if (lines == NULL)
        return MAMORI_ERR_NOMEM;
    memset(&m, 0, sizeof(m));
    for (size_t i = 0; i < r->n_lines; i++) {
        const struct txn_line *l = &r->lines[i];
        if (l->voided)
            continue;
        lines[nl].name = l->name;
        lines[nl].unit_price = l->unit_price;
        lines[nl].qty = l->qty < 0 ? -l->qty : l->qty;
        lines[nl].weight_g = (uint32_t)l->grams;
        lines[nl].amount = abs64(txn_line_net(l));
        lines[nl].discount = l->discount;
        lines[nl].reduced = l->reduced && !r->eat_in;
        lines[nl].inclusive = l->tax_included;
        nl++;
    }
    for (size_t i = 0; i < r->n_tenders; i++) {
        const struct txn_tender *d = &r->tenders[i];
        memset(&tenders[nt], 0, sizeof(tenders[nt]));
        tenders[nt].kind = kind_of(d);
        tenders[nt].amount = abs64(d->received ? d->received : d->amount);
        if (tenders[nt].kind == RECEIPT_TENDER_CARD &&
            paycard_ref_parse(d->ref, card[nt].host, card[nt].approval, card[nt].last4, card[nt].method) == 0) {
            /* issue 4: only the last 4 digits, the approval code and the payment method */
            tenders[nt].card_last4 = strspn(card[nt].last4, "0123456789") == 4 ? card[nt].last4 : NULL;
            tenders[nt].approval = card[nt].approval;
            tenders[nt].method = paycard_method_ja(card[nt].method);
            tenders[nt].entry = paycard_ref_entry_ja(d->ref);
        }
        nt++;
    }
    if (tot->tax.discount > 0) {
        disc[0].label = "小計値引";
        disc[0].amount = tot->tax.discount;
        m.discounts = disc;
        m.n_discounts = 1;
    }
    m.kind = r->is_return ? RECEIPT_RETURN : RECEIPT_SALE;
    m.issuer_name = cfg->issuer_name;
    m.issuer_address = cfg->issuer_address[0] ? cfg->issuer_address : NULL;
    m.registration_no = cfg->regno;
    m.when = time(NULL);
    m.utc_offset_min = 540;
    m.store = cfg->store_no;
    m.terminal = cfg->terminal_no;
    m.receipt_no = (uint64_t)receipt_no;
    /* 担当: who took the payment; in two-person mode the checker is named too. */
    m.operator_name = r->n_tenders ? r->tenders[r->n_tenders - 1].cashier : r->operator_id;
    if (m.operator_name[0] == '\0')
        m.operator_name = r->operator_id;
    if (strcmp(m.operator_name, r->operator_id) != 0)
        m.checker_name = r->operator_id;
    m.lines = lines;
    m.n_lines = nl;
    m.tax = &tot->tax;
    m.eat_in = r->eat_in;
    m.tenders = tenders;
    m.n_tenders = nt;
    m.change = tot->change;
    m.member_masked = r->has_member ? r->member_masked : NULL;
    m.points_earned = r->has_member ? tot->points_earned : 0;
    m.points_balance = r->has_member ? tot->points_balance : 0;
    m.original_receipt_no = (uint64_t)r->orig_receipt;
    m.training = r->training;
    m.reprint = reprint;
    rc = receipt_render(&m, out);
    free(lines);
    return rc;
}

int txnprint_receipt(struct txn *t, const struct txn_rec *r, const struct txn_totals *tot,
                     int64_t receipt_no, bool reprint)
{
    const struct pos_devices *d = txn_devices(t);
    struct buf b;
    int rc;
    if (d->print == NULL)
        return MAMORI_ERR_OFFLINE;
    buf_init(&b, POSDEV_PRINT_MAX);
    rc = txnprint_render(txn_config(t), r, tot, receipt_no, reprint, &b);
    if (rc == 0)
        rc = d->print(d->ctx, buf_ptr(&b), buf_remaining(&b));
    buf_free(&b);
    return rc;
}

int txnprint_reprint(struct txn *t, int64_t receipt_no)
{
    struct txn_rec *r = malloc(sizeof(*r));
    struct txn_totals tot;
    int rc;
    if (r == NULL)
        return MAMORI_ERR_NOMEM;
    rc = journal_receipt_get(txn_journal(t), receipt_no, r);
    if (rc == 0)
        rc = txn_rec_totals(r, txn_config(t)->rounding, txn_config(t)->points_per_100yen, &tot);
    if (rc == 0) {
        tot.change = r->is_return ? 0 : tot.paid - tot.total;
        rc = txnprint_receipt(t, r, &tot, receipt_no, true);
    }
    free(r);
    return rc;
}
