/*
 * txnprint: a completed transaction record as a receipt (receipt.h model,
 * ESC/POS bytes) on the printer device, and reprints from the journal.
 */
#ifndef MAMORI_POS_TXNPRINT_H
#define MAMORI_POS_TXNPRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "pos/txn.h"

/* Render r as receipt number receipt_no into out (appended). */
int txnprint_render(const struct txn_config *cfg, const struct txn_rec *r,
                    const struct txn_totals *tot, int64_t receipt_no, bool reprint,
                    struct buf *out);
/* Render and send to the printer of t. Printing failures are returned but the
 * sale stands (the receipt can be reprinted from the journal). */
int txnprint_receipt(struct txn *t, const struct txn_rec *r, const struct txn_totals *tot,
                     int64_t receipt_no, bool reprint);
/* Reprint a stored receipt (marked as a reprint). */
int txnprint_reprint(struct txn *t, int64_t receipt_no);

#endif
