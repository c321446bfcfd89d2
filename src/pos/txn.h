/*
 * txn: the register's transaction engine (OPS-1, OPS-3, OPS-5 training).
 *
 * One struct txn is one register station: who is signed on, which mode it is
 * in, and at most one open transaction. Every operation that changes the open
 * transaction is validated completely first (nothing changes on an error),
 * then persisted to the journal before it returns 0, so an acknowledged action
 * survives a crash (journal.h). Devices are reached only through the
 * pos_devices port (posdev.h), items through the txn_catalog port, operator
 * passwords through the txn_auth port, so all of it runs against fakes in
 * tests and against items.h / operator.h / the bus in mamori-terminald.
 *
 * State machine:
 *   IDLE -> REGISTERING (first line) -> SUBTOTAL (txn_subtotal)
 *        -> TENDERING (first tender) -> COMPLETED (paid in full)
 *   REGISTERING/SUBTOTAL/TENDERING -> CANCELLED (txn_cancel, manager)
 *   REGISTERING/SUBTOTAL -> SUSPENDED (txn_suspend) -> resumed elsewhere.
 *
 * Money is integer yen (int64_t); quantities are 1..TXN_QTY_MAX.
 */
#ifndef MAMORI_POS_TXN_H
#define MAMORI_POS_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pos/posdev.h"
#include "pos/tax.h"

struct journal;
struct audit;
struct audit_actor;
struct tender_kind;

#define TXN_QTY_MAX 9999                 /* per line */
#define TXN_PRICE_MAX 9999999            /* yen per unit / line price */
#define TXN_LINES_MAX 300                /* lines per transaction */
#define TXN_TENDERS_MAX 16               /* tenders per transaction */
#define TXN_APPROVALS_MAX 32             /* recorded approvals per transaction */
#define TXN_ID_MAX 32                    /* operator id, terminal id text incl. NUL */
#define TXN_CODE_MAX 32                  /* item code / coupon code text incl. NUL */
#define TXN_REF_MAX 48                   /* tender reference text incl. NUL */
#define TXN_NAME_MAX 96                  /* item name, UTF-8 incl. NUL */
#define TXN_GRAMS_MAX 100000             /* 100 kg on the scale */
#define TXN_SLIP_LEN 20                  /* suspend slip barcode digits (barcode.h SLIP) */
#define TXN_MEMBER_MAX 32                /* point member number digits incl. NUL */
#define TXN_MEMBER_CT_MAX 64             /* ciphertext of a member number */
#define TXN_MEMBER_NONCE 24              /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define TXN_DATA_KEY_BYTES 32            /* crypto_aead_xchacha20poly1305_ietf_KEYBYTES */
#define TXN_DISCOUNT_PCT_MAX 100

enum txn_state {
    TXN_IDLE = 0,
    TXN_REGISTERING,
    TXN_SUBTOTAL,
    TXN_TENDERING,
    TXN_COMPLETED,
    TXN_CANCELLED,
    TXN_SUSPENDED,
};

enum txn_role { TXN_ROLE_NONE = 0, TXN_ROLE_CHECKER, TXN_ROLE_CASHIER, TXN_ROLE_MANAGER,
                TXN_ROLE_MAINTAINER };

/* What a line came from. */
enum txn_src { TXN_SRC_SCAN = 0, TXN_SRC_PLU, TXN_SRC_DEPT, TXN_SRC_EMBEDDED, TXN_SRC_WEIGHED,
               TXN_SRC_RETURN };

enum tender_type {
    TENDER_CASH = 0,
    TENDER_GIFT,    /* 商品券 */
    TENDER_COUPON,
    TENDER_POINTS,
    TENDER_EXTERNAL /* card, e-money: a struct tender_kind (issue 4) */
};

/* An item as the catalog resolves it. */
struct txn_item {
    char code[TXN_CODE_MAX];     /* lookup code (price digits zeroed for embedded) */
    char name[TXN_NAME_MAX];
    int64_t unit_price;          /* yen; for weighed: per 100 g */
    bool reduced;                /* tax class REDUCED (food: 8 %, 10 % when eaten in) */
    bool tax_included;           /* 内税 */
    int dept;
    bool age_restricted;
    bool weighed;
    bool embedded_price;         /* unit_price came from the code itself */
};

/* Item lookups (items.h + barcode.h behind it in the daemon).
 * scan: a scanned or keyed barcode: check digits validated (MAMORI_ERR_CHECKSUM),
 *       in-store price-embedded codes resolved (embedded_price = true).
 * plu:  a PLU number keyed in.
 * dept: a department key: name, rate, tax basis of the department (price keyed).
 * Each returns 0 and fills *ret, MAMORI_ERR_NOTFOUND, or MAMORI_ERR_INVAL. */
struct txn_catalog {
    void *ctx;
    int (*scan)(void *ctx, const char *code, struct txn_item *ret);
    int (*plu)(void *ctx, const char *plu, struct txn_item *ret);
    int (*dept)(void *ctx, int dept, struct txn_item *ret);
};

/* Operator authentication (operator.h behind it: Argon2id, lockout).
 * Returns 0 and the operator's role, MAMORI_ERR_AUTH (wrong password),
 * MAMORI_ERR_LOCKED, or MAMORI_ERR_NOTFOUND. The engine records the outcome. */
struct txn_auth {
    void *ctx;
    int (*verify)(void *ctx, const char *op_id, const char *password, enum txn_role *ret_role);
};

/* A manager's credential presented for an approval (never stored). */
struct txn_cred {
    const char *id;
    const char *password;
};

struct txn_config {
    char terminal[TXN_ID_MAX];
    uint32_t store_no;           /* 0..9999, in receipt and slip barcodes */
    uint32_t terminal_no;        /* 0..9999 */
    char issuer_name[TXN_NAME_MAX];    /* receipt: 適格請求書発行事業者 */
    char issuer_address[TXN_NAME_MAX];
    char regno[16];              /* "T" + 13 digits */
    int64_t discount_limit_yen;  /* above: manager approval */
    int discount_limit_pct;      /* above: manager approval */
    bool gift_gives_change;      /* 商品券 over-tender paid back in cash */
    int points_per_100yen;       /* accrual */
    enum tax_rounding rounding;  /* default TAX_ROUND_DOWN */
    /* Data key for HIGH fields at rest (member numbers); copied into guarded
     * memory by txn_new and wiped by txn_free. */
    uint8_t data_key[TXN_DATA_KEY_BYTES];
};

struct txn_line {
    int no;                       /* 1-based, stable (voided lines stay) */
    enum txn_src src;
    char code[TXN_CODE_MAX];
    char name[TXN_NAME_MAX];
    int dept;
    bool reduced;                 /* tax class REDUCED; the rate follows eat-in */
    bool tax_included;
    bool age_restricted;
    int64_t unit_price;
    int32_t qty;                  /* negative on return lines */
    int32_t grams;                /* weighed lines */
    int64_t amount;               /* before discounts; negative on returns */
    int64_t discount;             /* item discount, yen, >= 0 */
    bool overridden;
    bool voided;
    int64_t orig_receipt;         /* returns: original receipt number */
    int orig_line;                /* returns: original line number */
    char checker[TXN_ID_MAX];
};

struct txn_tender {
    enum tender_type type;
    char kind[16];                /* "cash", "gift", "coupon", "points", or a tender_kind name */
    int64_t amount;               /* counted towards the total (negative: refund) */
    int64_t received;             /* handed over (cash/gift), >= amount */
    char ref[TXN_REF_MAX];        /* coupon code, certificate no, authorization ref */
    char member_masked[TXN_MEMBER_MAX];
    char idem[POSDEV_IDEM_MAX];   /* deposit command key (cash with changer) */
    char cashier[TXN_ID_MAX];
};

struct txn_approval {
    char what[24];                /* "void", "cancel", "return", "override", ... */
    char manager[TXN_ID_MAX];
    int line;                     /* 0 when not about a line */
};

/* The whole open transaction: persisted as is by the journal after each action. */
struct txn_rec {
    int64_t txn_no;
    enum txn_state state;
    bool training;
    bool eat_in;
    bool is_return;
    bool age_confirmed;
    char terminal[TXN_ID_MAX];
    char operator_id[TXN_ID_MAX];
    int64_t orig_receipt;         /* returns */
    int64_t sub_discount;         /* subtotal discount yen */
    int sub_discount_pct;         /* subtotal discount percent */
    size_t n_lines;
    struct txn_line lines[TXN_LINES_MAX];
    size_t n_tenders;
    struct txn_tender tenders[TXN_TENDERS_MAX];
    size_t n_approvals;
    struct txn_approval approvals[TXN_APPROVALS_MAX];
    /* point card: encrypted member number (nonce || ciphertext) and mask */
    bool has_member;
    uint8_t member_nonce[TXN_MEMBER_NONCE];
    uint8_t member_ct[TXN_MEMBER_CT_MAX];
    size_t member_ct_len;
    char member_masked[TXN_MEMBER_MAX];
};

/* Totals of a transaction, computed (never stored as truth). */
struct txn_totals {
    int64_t total;                /* amount due incl. tax (negative: refund) */
    struct tax_result tax;        /* per rate (absolute values on a return) */
    int64_t discount;             /* all discounts, yen */
    int64_t paid;                 /* sum of tender amounts */
    int64_t due;                  /* total - paid (>= 0 until complete) */
    int64_t change;               /* after completion */
    int64_t points_earned;
    int64_t points_balance;       /* after completion, for the receipt */
};

struct txn;

/* A register station. journal, dev, cat, auth must outlive it; a may be NULL
 * only in tests that do not check audit. cfg is copied. */
int txn_new(const struct txn_config *cfg, struct journal *j, const struct pos_devices *dev,
            const struct txn_catalog *cat, const struct txn_auth *auth, struct audit *a,
            struct txn **ret);
void txn_free(struct txn *t);

/* Plug in an external tender (card, e-money); the kind must outlive t. */
int txn_add_tender_kind(struct txn *t, const struct tender_kind *k);

/* ---- sign-on ---- */
/* One-person mode: one operator (cashier or manager role). */
__attribute__((warn_unused_result)) int txn_signon(struct txn *t, const char *id, const char *pw);
/* Two-person mode: a checker and a cashier at the same terminal. */
__attribute__((warn_unused_result)) int txn_signon_pair(struct txn *t, const char *checker,
                                                        const char *checker_pw,
                                                        const char *cashier,
                                                        const char *cashier_pw);
int txn_signoff(struct txn *t);
int txn_set_training(struct txn *t, bool on);

/* After a restart: load the open transaction from the journal (if any) and
 * finish interrupted cash commands with their original keys.
 * *ret_resumed tells whether a transaction was resumed. */
int txn_recover(struct txn *t, bool *ret_resumed);

/* ---- registration ---- */
int txn_scan(struct txn *t, const char *code, int32_t qty);
int txn_plu(struct txn *t, const char *plu, int32_t qty);
int txn_dept(struct txn *t, int dept, int64_t price, int32_t qty);
/* Weighed item: the scale must report a stable weight. */
int txn_weighed(struct txn *t, const char *code);
int txn_set_qty(struct txn *t, int line, int32_t qty);
int txn_void_line(struct txn *t, int line, const struct txn_cred *mgr);
int txn_item_discount(struct txn *t, int line, int64_t yen, int pct, const struct txn_cred *mgr);
int txn_price_override(struct txn *t, int line, int64_t unit_price, const struct txn_cred *mgr);
int txn_set_eat_in(struct txn *t, bool eat_in);
int txn_subtotal(struct txn *t);
int txn_subtotal_discount(struct txn *t, int64_t yen, int pct, const struct txn_cred *mgr);
/* Ask the shopper to confirm age (customer display); required before tendering. */
int txn_confirm_age(struct txn *t);
int txn_cancel(struct txn *t, const struct txn_cred *mgr);

/* Returns: start a return against receipt orig (manager approval), then add
 * lines of it by original line number. */
int txn_return_begin(struct txn *t, int64_t orig_receipt, const struct txn_cred *mgr);
int txn_return_line(struct txn *t, int orig_line, int32_t qty);

/* Suspend / resume by slip barcode. */
int txn_suspend(struct txn *t, char ret_slip[static TXN_SLIP_LEN + 1]);
int txn_resume(struct txn *t, const char *slip);

/* ---- state ---- */
const struct txn_rec *txn_current(const struct txn *t);   /* NULL when idle */
enum txn_state txn_state(const struct txn *t);
int txn_totals(const struct txn *t, struct txn_totals *ret);
/* The last completed receipt number (0 if none) and its change. */
int64_t txn_last_receipt(const struct txn *t);
int64_t txn_last_change(const struct txn *t);
const char *txn_operator(const struct txn *t);
const char *txn_cashier(const struct txn *t);
bool txn_training(const struct txn *t);
/* Human text of the last refusal (for the console and the API). */
const char *txn_last_error(const struct txn *t);

/* Compute totals of a record (tax per rate once per receipt, discounts
 * apportioned to rates before tax). */
int txn_rec_totals(const struct txn_rec *r, enum tax_rounding mode, int points_per_100yen,
                   struct txn_totals *ret);
/* Net amount of a line after its own discount (0 when voided). */
int64_t txn_line_net(const struct txn_line *l);

/* Internal to pos/ (tender.c, report.c): engine plumbing. */
struct audit_actor;
/* Scratch copy of the open record for a change; txn_commit_change persists it
 * and makes it current (nothing changes if it fails). */
struct txn_rec *txn_begin_change(struct txn *t);
int txn_commit_change(struct txn *t);
void txn_actor(const struct txn *t, struct audit_actor *ret);
struct journal *txn_journal(struct txn *t);
struct audit *txn_audit(struct txn *t);
const struct pos_devices *txn_devices(struct txn *t);
const struct txn_config *txn_config(const struct txn *t);
struct txn_rec *txn_rec_mut(struct txn *t);
/* Persist the open record (after a validated change). */
int txn_persist(struct txn *t);
/* Verify a manager credential for what; records approval or refusal in audit. */
int txn_approve(struct txn *t, const char *what, int line, const struct txn_cred *mgr,
                char ret_manager[static TXN_ID_MAX]);
void txn_set_error(struct txn *t, const char *msg);
const struct tender_kind *txn_find_kind(const struct txn *t, const char *name);
const uint8_t *txn_data_key_open(struct txn *t);
void txn_data_key_close(struct txn *t);
void txn_after_complete(struct txn *t, int64_t receipt_no, int64_t change);

#endif
