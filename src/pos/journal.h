/*
 * journal: the register's durable electronic journal (OPS-6, durability of
 * OPS-1..5, exactly-once cash commands of POL-1 / ARCHITECTURE §5).
 *
 * One SQLite database in WAL mode with synchronous=FULL: every function that
 * changes it has committed (and fsynced) when it returns 0, so the register
 * acknowledges an action only after it is durable. Tables:
 *   open_txn   the open transaction of each terminal, rewritten per action;
 *   receipts   completed sales/returns, one row per receipt number, unique per
 *              (terminal, txn_no): completing the same transaction twice
 *              returns the first receipt number and adds nothing;
 *   lines, tenders   the receipt's lines (item code only as a keyed hash) and
 *              tenders, for reports and returns;
 *   returned   returned quantity per original receipt line;
 *   cash_cmds  every cash command with its idempotency key: the intent is
 *              committed BEFORE the command is sent, the result after; after a
 *              crash pending intents are re-sent with the same key;
 *   suspended  suspended transactions by slip number;
 *   cash_moves pickups, paid-in/out, change fund, declarations;
 *   points     point balances keyed by a keyed hash of the member number;
 *   meta       counters (txn number, Z counter).
 * Training transactions are stored with training=1 and excluded from totals.
 * Transaction records (every line, tender and approval) are sealed with the
 * data key (journal_set_key); totals needed for reports stay in clear.
 */
#ifndef MAMORI_POS_JOURNAL_H
#define MAMORI_POS_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pos/txn.h"

struct journal;
typedef struct sqlite3 sqlite3;

#define JOURNAL_CMD_KIND_MAX 16
#define JOURNAL_KEY_BYTES 32      /* data key (XChaCha20-Poly1305) */
#define JOURNAL_CODE_TAG_LEN 32   /* hex of a keyed hash of an item code */
#define JOURNAL_TAG_BYTES 32 /* keyed hash of a member number */

enum journal_cmd_state { JOURNAL_CMD_INTENT = 0, JOURNAL_CMD_DONE = 1, JOURNAL_CMD_FAILED = 2 };

/* A cash command: "drawer", "dispense" or "deposit". */
struct journal_cmd {
    char idem[POSDEV_IDEM_MAX];
    char kind[JOURNAL_CMD_KIND_MAX];
    char terminal[TXN_ID_MAX];
    int64_t txn_no;
    int tender;               /* tender index in the transaction, -1: none (no-sale) */
    int64_t amount;           /* requested */
    int64_t result;           /* counted (deposit) / paid (dispense) */
    enum journal_cmd_state state;
    bool training;
};

/* Open or create the journal at path. */
int journal_open(const char *path, struct journal **ret);
void journal_close(struct journal *j);

/* The data key that seals every transaction record at rest (POL-1: POS sales
 * detail is HIGH): copied into guarded memory. Until it is set, records are
 * neither read nor written (MAMORI_ERR_STATE); a record that is not sealed,
 * or sealed for another row, is refused (MAMORI_ERR_AUTH). */
int journal_set_key(struct journal *j, const uint8_t key[static JOURNAL_KEY_BYTES]);
/* The stored form of an item code in the lines table (keyed hash, hex). */
int journal_code_tag(struct journal *j, const char *code,
                     char ret[static JOURNAL_CODE_TAG_LEN + 1]);

/* Group commit (benchmarks, batch replay): between begin and commit, writes
 * share one SQLite transaction; nothing is durable until journal_group_commit
 * returns, so a caller acknowledges those actions only then. */
int journal_group_begin(struct journal *j);
int journal_group_commit(struct journal *j);

/* Named counters and flags (day state, Z counter), durable. */
int journal_meta_get(struct journal *j, const char *key, int64_t *ret);
int journal_meta_set(struct journal *j, const char *key, int64_t v);

/* The number the next transaction takes (persistent counter). Peeking does
 * not reserve it: journal_save_open of the transaction's first record moves
 * the counter in the same commit, so opening a transaction costs no commit
 * (no disk sync) of its own and a crash before that record uses no number. */
int journal_peek_txn_no(struct journal *j, int64_t *ret);

/* Persist / load / drop the open transaction of r->terminal (saving also
 * moves the transaction counter up to r->txn_no). */
int journal_save_open(struct journal *j, const struct txn_rec *r);
int journal_load_open(struct journal *j, const char *terminal, struct txn_rec *ret);
/* Record a cancelled transaction (kept for the journal, not in totals) and
 * drop it from open_txn, in one commit. */
int journal_cancel(struct journal *j, const struct txn_rec *r);

/* Complete r: insert receipt, lines, tenders, returned quantities (re-checked
 * against what was sold), point changes (member_tag may be NULL), the cash
 * commands as intents, and drop the open transaction, all in one commit.
 * Idempotent: a second call for the same (terminal, txn_no) returns the
 * existing receipt number. MAMORI_ERR_LIMIT when a return would exceed what
 * was sold on its receipt. */
int journal_complete(struct journal *j, const struct txn_rec *r, const struct txn_totals *tot,
                     const uint8_t *member_tag, int64_t points_delta,
                     const struct journal_cmd *cmds, size_t ncmds, int64_t *ret_receipt_no);

/* Cash command intent outside completion (deposit, no-sale drawer, cash
 * movements): committed before the caller sends it. MAMORI_ERR_EXISTS if the
 * key was recorded before (the caller then uses journal_cmd_get). */
int journal_cmd_intent(struct journal *j, const struct journal_cmd *c);
int journal_cmd_done(struct journal *j, const char *idem, int64_t result, bool ok);
int journal_cmd_get(struct journal *j, const char *idem, struct journal_cmd *ret);
/* Pending (intent) commands of a terminal, oldest first. */
int journal_cmd_pending(struct journal *j, const char *terminal, struct journal_cmd *out,
                        size_t cap, size_t *ret_n);

/* A completed receipt as stored (record and numbers). */
int journal_receipt_get(struct journal *j, int64_t receipt_no, struct txn_rec *ret_rec);
int journal_receipt_by_txn(struct journal *j, const char *terminal, int64_t txn_no,
                           int64_t *ret_receipt_no);
/* Sold and already returned quantity of a receipt line. */
int journal_line_returnable(struct journal *j, int64_t receipt_no, int line, int32_t *ret_sold,
                            int32_t *ret_returned);

/* Suspend r under slip (drops it from open_txn). */
int journal_suspend(struct journal *j, const struct txn_rec *r, const char *slip);
/* Resume: in one commit, take the slip, make it the open transaction of
 * terminal under operator_id (state REGISTERING) and delete the slip.
 * MAMORI_ERR_STATE when its training flag differs from training. */
int journal_resume(struct journal *j, const char *slip, const char *terminal,
                   const char *operator_id, bool training, struct txn_rec *ret);

/* Point balance by member tag. */
int journal_points(struct journal *j, const uint8_t tag[static JOURNAL_TAG_BYTES],
                   int64_t *ret_points);

/* The database, for report.c (same module family; not for other modules). */
sqlite3 *journal_db(struct journal *j);
/* Run f inside one durable SQLite transaction. */
int journal_tx(struct journal *j, int (*f)(void *ctx, sqlite3 *db), void *ctx);

#define JOURNAL_SEARCH_MAX 10000 /* rows one search returns at most */

/* A search over completed receipts; NULL / unset members do not filter. */
struct journal_query {
    const char *terminal;
    const char *operator_id;
    const char *kind;            /* "sale" or "return" */
    int64_t from_time, to_time;  /* unix seconds, 0 = open */
    bool has_min, has_max;
    int64_t min_total, max_total;
    const char *code;            /* receipts with a line of this item code */
    size_t limit;                /* 0 = JOURNAL_SEARCH_MAX */
};

struct journal_row {
    int64_t receipt_no, txn_no, time, total, change;
    char terminal[TXN_ID_MAX];
    char operator_id[TXN_ID_MAX];
    char kind[8];
    bool training;
    int64_t z_no;                /* 0 = not yet in a Z */
};

/* Call cb for each matching receipt, oldest first; cb returning non-zero stops. */
int journal_search(struct journal *j, const struct journal_query *q,
                   int (*cb)(void *ctx, const struct journal_row *row), void *ctx);

/* Text form of a receipt for `mamori journal show` (JSON, caller frees). */
int journal_receipt_json(struct journal *j, int64_t receipt_no, char **ret);

#endif
