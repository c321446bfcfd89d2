/*
 * report: day operations of one register (OPS-5): open (開局) with the change
 * fund, close (閉局), X report (点検: read), Z report (精算: read and reset,
 * with a consecutive Z counter), cash pickup (中間回収), paid-in (入金),
 * paid-out (出金), no-sale drawer open, and the cash declaration (レジ締め)
 * by denomination with over/short (過不足).
 *
 * Totals come from the journal (journal.h): by tender, by department, by tax
 * rate, counts of sales, returns and cancels; training transactions and
 * training cash movements are excluded. Cash movements open the drawer with
 * an idempotency key persisted before the command (exactly once), and need a
 * manager's approval (OPS-1 list), recorded with the manager's id.
 */
#ifndef MAMORI_POS_REPORT_H
#define MAMORI_POS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pos/txn.h"

#define REPORT_DENOMS 10       /* 10000 5000 2000 1000 500 100 50 10 5 1 */
#define REPORT_TENDERS_MAX 16
#define REPORT_DEPTS_MAX 128
#define REPORT_COUNT_MAX 1000000 /* pieces of one denomination in a declaration */
#define REPORT_NOTE_MAX (256u * 1024u) /* bytes of a stored Z reconciliation (JSON) */

extern const int64_t report_denoms[REPORT_DENOMS];

enum report_move { REPORT_PICKUP = 0, REPORT_PAID_IN, REPORT_PAID_OUT, REPORT_CHANGE_FUND };

struct report_totals {
    int64_t z_no;                 /* Z: the number given; X: the next one */
    int64_t sales, sales_amount;  /* count, yen */
    int64_t returns, returns_amount;
    int64_t cancels;
    int64_t voids;                /* voided lines on the period's receipts */
    int64_t from_time, to_time;   /* period: previous Z (0: none), this Z (0: still open); UTC s */
    int64_t discounts;
    int64_t base[TAX_GROUPS];     /* per rate (TAX_G10, TAX_G8), tax included */
    int64_t tax[TAX_GROUPS];
    size_t n_tenders;
    struct { char kind[16]; int64_t count, amount; } tenders[REPORT_TENDERS_MAX];
    size_t n_depts;
    struct { int dept; int64_t qty, amount; } depts[REPORT_DEPTS_MAX];
    int64_t change_given;
    int64_t change_fund, paid_in, paid_out, pickups;
    int64_t cash_expected;        /* fund + cash taken - change + in - out - pickups */
    bool declared;
    int64_t declared_amount;
    int64_t over_short;           /* declared - expected (negative: short) */
    int64_t counts[REPORT_DENOMS];
    int64_t denom_diff[REPORT_DENOMS]; /* change machine: counted - machine's pieces */
    bool denom_known;             /* denom_diff valid: the machine was counted and read */
    /* The change machine (金種別, when one is attached): its own cassette
     * counts read at the declaration (the expected pieces), and the pieces
     * the operator counted in it, when given. The drawer's cash is not
     * tracked by denomination: counts[] are declared pieces only, checked
     * by the total over_short. */
    bool changer_known;           /* changer_expected read from the machine */
    bool changer_declared;        /* changer_counts given by the operator */
    int64_t changer_expected[REPORT_DENOMS];
    int64_t changer_counts[REPORT_DENOMS];
    int64_t changer_over_short;   /* sum of denom_diff x value (yen) */
};

/* 開局: open the register's day with a change fund (recorded, drawer opened). */
int report_day_open(struct txn *t, int64_t change_fund);
/* 閉局: close the day; refused while a transaction is open. */
int report_day_close(struct txn *t);
/* 0 never opened, 1 open, 2 closed. */
int report_day_state(struct txn *t, int *ret);

/* Pickup / paid-in / paid-out with a manager's approval: recorded, drawer
 * opened exactly once. amount 1..TAX_AMOUNT_MAX. */
int report_cash_move(struct txn *t, enum report_move kind, int64_t amount, const char *note,
                     const struct txn_cred *mgr);
/* No-sale drawer open with a manager's approval. */
int report_no_sale(struct txn *t, const struct txn_cred *mgr);

/* X report: totals since the last Z, nothing reset. */
int report_x(struct txn *t, struct report_totals *ret);
/* Z report: the same totals, then reset (next Z counts from zero) and the
 * consecutive Z counter advanced, in one commit. Refused while a
 * transaction is open. */
int report_z(struct txn *t, struct report_totals *ret);

/* The totals of Z report z_no as it was taken (for a reprint), with the
 * period's last cash declaration. MAMORI_ERR_NOTFOUND when there is no such Z. */
int report_z_get(struct txn *t, int64_t z_no, struct report_totals *ret);
/* The Z report's cash reconciliation (JSON text from zrecon, stored with
 * the Z for its reprint). Set once per Z; get: *ret malloc'd, or NULL when
 * none was stored. */
int report_z_note_set(struct txn *t, int64_t z_no, const char *recon_json);
int report_z_note_get(struct txn *t, int64_t z_no, char **ret);

/* Cash declaration: pieces counted in the drawer per denomination
 * (report_denoms order), against the register's theoretical cash (total
 * over_short, as before). machine: the change machine's own cassette counts
 * (NULL: no machine or it did not answer); changer: the pieces the operator
 * counted in the machine (NULL: not counted; refused without machine).
 * Every count 0..REPORT_COUNT_MAX, else MAMORI_ERR_INVAL and nothing
 * recorded. Fills the declaration fields of *tot (from report_x) and records
 * it (cash_moves kind "declaration", detail report_detail_format). */
int report_declare(struct txn *t, const int64_t counts[REPORT_DENOMS],
                   const int64_t machine[REPORT_DENOMS], const int64_t changer[REPORT_DENOMS],
                   struct report_totals *tot);

/* The per-denomination arithmetic of a declaration, no I/O: fills counts,
 * declared_amount, over_short (against tot->cash_expected) and the change
 * machine fields of *tot. MAMORI_ERR_INVAL (tot untouched) for a count out
 * of range or changer without machine. */
int report_declare_calc(const int64_t counts[REPORT_DENOMS], const int64_t machine[REPORT_DENOMS],
                        const int64_t changer[REPORT_DENOMS], struct report_totals *tot);

#define REPORT_DETAIL_MAX 512 /* bytes of a declaration's stored detail */
/* The stored form "c0,..,c9|m0,..,m9|k0,..,k9" (m, k empty when unknown),
 * and back into the declaration fields of *tot (a detail that is malformed
 * or does not add up to declared_amount leaves the pieces unknown). */
int report_detail_format(const struct report_totals *tot, char out[REPORT_DETAIL_MAX]);
void report_detail_parse(const char *detail, struct report_totals *tot);

/* Plain-text rendering (Japanese labels) for the console and the demo;
 * *ret malloc'd. */
int report_text(const struct report_totals *r, bool z, char **ret);

#endif
