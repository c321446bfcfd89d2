/*
 * journal_query.c: read-only views of the journal for people: search over
 * receipts and the JSON text of one receipt (`mamori journal`, the API).
 * Part of the journal module; it must not write.
 */
#include "pos/journal.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "mamori/err.h"
#include "pos/txncodec.h"

static void col_text(sqlite3_stmt *s, int i, char *out, size_t cap)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    size_t n = t ? strlen(t) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
}

int journal_search(struct journal *j, const struct journal_query *q,
                   int (*cb)(void *ctx, const struct journal_row *row), void *ctx)
{
    static const char sql[] =
        "SELECT receipt_no, txn_no, time, total, change, terminal, operator, kind, training,"
        " COALESCE(z_no,0) FROM receipts r WHERE"
        " (?1 IS NULL OR terminal=?1) AND (?2 IS NULL OR operator=?2) AND (?3 IS NULL OR kind=?3)"
        " AND (?4 = 0 OR time >= ?4) AND (?5 = 0 OR time <= ?5)"
        " AND (?6 IS NULL OR total >= ?6) AND (?7 IS NULL OR total <= ?7)"
        " AND (?8 IS NULL OR EXISTS(SELECT 1 FROM lines l WHERE l.receipt_no=r.receipt_no"
        " AND l.code=?8)) ORDER BY receipt_no LIMIT ?9";
    sqlite3_stmt *s;
    char tag[JOURNAL_CODE_TAG_LEN + 1];
    size_t limit = q->limit && q->limit < JOURNAL_SEARCH_MAX ? q->limit : JOURNAL_SEARCH_MAX;
    int r, rc = 0;
    /* Codes are stored as keyed hashes: search by the hash. */
    if (q->code != NULL && (rc = journal_code_tag(j, q->code, tag)))
        return rc;
    if (sqlite3_prepare_v2(journal_db(j), sql, -1, &s, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    if (q->terminal)
        sqlite3_bind_text(s, 1, q->terminal, -1, SQLITE_STATIC);
    if (q->operator_id)
        sqlite3_bind_text(s, 2, q->operator_id, -1, SQLITE_STATIC);
    if (q->kind)
        sqlite3_bind_text(s, 3, q->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, q->from_time);
    sqlite3_bind_int64(s, 5, q->to_time);
    if (q->has_min)
        sqlite3_bind_int64(s, 6, q->min_total);
    if (q->has_max)
        sqlite3_bind_int64(s, 7, q->max_total);
    if (q->code)
        sqlite3_bind_text(s, 8, tag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, (int64_t)limit);
    while (rc == 0 && (r = sqlite3_step(s)) == SQLITE_ROW) {
        struct journal_row row;
        memset(&row, 0, sizeof(row));
        row.receipt_no = sqlite3_column_int64(s, 0);
        row.txn_no = sqlite3_column_int64(s, 1);
        row.time = sqlite3_column_int64(s, 2);
        row.total = sqlite3_column_int64(s, 3);
        row.change = sqlite3_column_int64(s, 4);
        col_text(s, 5, row.terminal, sizeof(row.terminal));
        col_text(s, 6, row.operator_id, sizeof(row.operator_id));
        col_text(s, 7, row.kind, sizeof(row.kind));
        row.training = sqlite3_column_int(s, 8) != 0;
        row.z_no = sqlite3_column_int64(s, 9);
        rc = cb(ctx, &row);
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = MAMORI_ERR_DB;
    sqlite3_finalize(s);
    return rc > 0 ? 0 : rc;
}

int journal_receipt_json(struct journal *j, int64_t receipt_no, char **ret)
{
    struct txn_rec *r = malloc(sizeof(*r));
    int rc;
    if (r == NULL)
        return MAMORI_ERR_NOMEM;
    rc = journal_receipt_get(j, receipt_no, r);
    if (rc == 0)
        rc = txncodec_encode(r, ret);
    free(r);
    return rc;
}
