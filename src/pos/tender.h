/*
 * tender: settlement of the open transaction (OPS-2, POL-1 cash commands and
 * member numbers).
 *
 * Cash, gift certificates (商品券), coupons and point cards are implemented
 * here; card and e-money plug in as a struct tender_kind (issue 4) registered
 * with txn_add_tender_kind(). Tenders split in any combination. A tender that
 * fails validation changes nothing. When the tenders cover the total the
 * transaction completes: the receipt and the cash commands (dispense change or
 * open the drawer, each with an idempotency key) are committed to the journal
 * in one SQLite transaction, then the commands are sent, then their results
 * are recorded (journal.h: exactly once across crashes).
 */
#ifndef MAMORI_POS_TENDER_H
#define MAMORI_POS_TENDER_H

#include <stdint.h>

#include "pos/txn.h"

#define TENDER_REF_MAX TXN_REF_MAX /* authorization reference text incl. NUL */

/* The result of an external authorization. */
struct tender_auth {
    char ref[TENDER_REF_MAX];   /* approval code / token reference: LOW or masked only */
    int64_t amount;
};

/* An external tender (card, e-money). Each hook returns 0 or a negative
 * MAMORI_ERR_* (MAMORI_ERR_DECLINED for a decline). authorize runs when the
 * tender is taken; capture when the transaction completes; refund for a return
 * or when an authorized transaction is cancelled. */
struct tender_kind {
    const char *name;  /* short, unique: "card", "emoney" */
    void *ctx;
    int (*authorize)(void *ctx, int64_t txn_no, int64_t amount, struct tender_auth *ret);
    int (*capture)(void *ctx, int64_t txn_no, const struct tender_auth *a);
    int (*refund)(void *ctx, int64_t txn_no, const struct tender_auth *a);
};

/* Cash keyed by the operator (no change machine, or change machine bypassed):
 * received yen handed over. Completes the sale when it covers the total. */
int tender_cash(struct txn *t, int64_t received);
/* Cash through the change machine: the device counts what the shopper inserts. */
int tender_cash_deposit(struct txn *t);
/* Gift certificate of face value yen (certificate number optional). */
int tender_gift(struct txn *t, int64_t face, const char *cert_no);
/* Coupon by barcode, checked against the configured coupons and today (yyyymmdd). */
int tender_coupon(struct txn *t, const char *code, int today);
/* Attach a point card (accrual on completion). member_no is HIGH: it is
 * encrypted at once and only its mask is kept in clear. */
int tender_member(struct txn *t, const char *member_no);
/* Redeem points of the attached card as a tender (1 point = 1 yen). */
int tender_points(struct txn *t, int64_t points);
/* An external tender by kind name (card, e-money) for amount yen. */
int tender_external(struct txn *t, const char *kind, int64_t amount);
/* Refund a return transaction in cash (drawer or change machine). */
int tender_refund_cash(struct txn *t);
/* Refund a return to the external tender (card, e-money) the original sale
 * was paid with: the kind's refund hook gets the original authorization
 * reference and the amount; at most what that tender paid on the receipt. */
int tender_refund_external(struct txn *t, const char *kind);

/* Point balance of a member (keyed by a MAC of the number, never the number). */
int tender_member_balance(struct txn *t, const char *member_no, int64_t *ret_points);

/* Mask a member number for display and receipt: all but the last 4 digits '*'. */
void tender_mask_member(char out[static TXN_MEMBER_MAX], const char *member_no);

/* ---- internal to pos/ (txn.c) ---- */
/* After a restart: re-send pending cash commands of this terminal with their
 * original keys and apply counted deposits to the open transaction. */
int tender_recover(struct txn *t);
/* Pay back (dispense) cash counted by the change machine for tender i of r
 * (cancel): exactly once, keyed by transaction and tender. */
int tender_pay_back(struct txn *t, const struct txn_rec *r, int i);

#endif
