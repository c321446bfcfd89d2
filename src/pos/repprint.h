/*
 * repprint: the X report (点検) and Z report (精算) on the receipt printer
 * device (OPS-5, OPS-6), as ESC/POS with Japanese text in CP932, laid out
 * with receipt.h's building blocks.
 *
 * Layout: header (issuer, registration number, store and terminal, the
 * period and the time printed, 【点検 X】 or 【精算 Z】 with the consecutive Z
 * number, the operator), counts (sales, returns, line voids, cancels;
 * training excluded), totals by tender, by tax rate (taxable amount and tax
 * per 10 % / 8 %), by department, cash movements, cash in drawer expected
 * against declared with over/short and the declared pieces per denomination,
 * and for a Z the three-source cash reconciliation (journal, change machine
 * counts, device logs; zrecon.h) when it ran. A reprint carries 【再発行】 at
 * top and bottom.
 *
 * Exactly once: each document is sent with an idempotency key (Z number N:
 * "TERMINAL-zN"; X and reprints: a fresh random key per request) through
 * pos_devices.print_once; a retry after a lost reply uses the same key and
 * the printer replays instead of printing again (devidem.h). A printing
 * failure never undoes the report: the Z stays taken and can be reprinted.
 */
#ifndef MAMORI_POS_REPPRINT_H
#define MAMORI_POS_REPPRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "common/buf.h"
#include "pos/report.h"
#include "pos/txn.h"

#define REPPRINT_RETRIES 3         /* sends of one document with the same key */
#define REPPRINT_FINDINGS_MAX 50   /* reconciliation findings printed (the rest counted) */

struct repprint_info {
    bool z;                 /* 精算 (else 点検) */
    bool reprint;           /* 【再発行】 */
    time_t when;            /* printed time (UTC) */
    const char *operator_id; /* who took the report (may be empty) */
};

/* Render r as an X or Z report into out (appended). recon: the Z's
 * reconciliation (zrecon_json form) or NULL. */
int repprint_render(const struct txn_config *cfg, const struct report_totals *r,
                    const struct repprint_info *info, const json_t *recon, struct buf *out)
    __attribute__((warn_unused_result));

/* Print a report just taken (X, or Z with its reconciliation, which is
 * stored with the Z first for a reprint). 0 printed; MAMORI_ERR_OFFLINE no
 * printer / not answering; other errors from the printer. The report stands
 * either way. */
int repprint_report(struct txn *t, const struct report_totals *r, bool z, const json_t *recon);
/* Reprint Z report z_no from the journal, marked 【再発行】. */
int repprint_z_reprint(struct txn *t, int64_t z_no);

#endif
