/*
 * test_journal: the durable journal (OPS-6 electronic journal, durability of
 * OPS-1..5), return limits (OPS-1), idempotent completion, and the JSON codec
 * fed hostile text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "posfix.h"
#include "testutil.h"

#include "mamori/err.h"
#include "pos/txncodec.h"

static int setup(void **state)
{
    static struct posfix f;
    posfix_setup(&f, false, true);
    *state = &f;
    return 0;
}

static int setup_changer(void **state)
{
    static struct posfix f;
    posfix_setup(&f, true, true);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    posfix_teardown(*state);
    return 0;
}

static int64_t sql_int(struct posfix *f, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;
    assert_int_equal(sqlite3_prepare_v2(journal_db(f->j), sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* A sale of 3 コーラ and 1 ハミガキコ; returns its receipt number. */
static int64_t sale(struct posfix *f)
{
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 3), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);
    assert_int_equal(tender_cash(f->t, 1000), 0);
    return txn_last_receipt(f->t);
}

static void test_ops1_return_cannot_exceed_sold(void **state)
{
    struct posfix *f = *state;
    int64_t rc = sale(f);
    struct txn_totals t;
    /* a return needs a manager */
    assert_int_equal(txn_return_begin(f->t, rc, NULL), MAMORI_ERR_PERM);
    assert_int_equal(txn_return_begin(f->t, rc, &posfix_bad_mgr), MAMORI_ERR_AUTH);
    assert_int_equal(txn_return_begin(f->t, 999, &posfix_mgr), MAMORI_ERR_NOTFOUND);
    assert_int_equal(txn_state(f->t), TXN_IDLE);
    assert_int_equal(txn_return_begin(f->t, rc, &posfix_mgr), 0);
    assert_int_equal(txn_return_line(f->t, 1, 4), MAMORI_ERR_LIMIT);  /* sold 3 */
    assert_int_equal(txn_return_line(f->t, 1, 0), MAMORI_ERR_INVAL);
    assert_int_equal(txn_return_line(f->t, 1, -1), MAMORI_ERR_INVAL);
    assert_int_equal(txn_return_line(f->t, 7, 1), MAMORI_ERR_NOTFOUND);
    assert_int_equal(txn_return_line(f->t, 1, 2), 0);
    assert_int_equal(txn_return_line(f->t, 1, 2), MAMORI_ERR_LIMIT);  /* 2 + 2 > 3 */
    assert_int_equal(txn_totals(f->t, &t), 0);
    assert_int_equal(t.total, -216);
    /* a sale item cannot be added to a return */
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), MAMORI_ERR_STATE);
    assert_int_equal(tender_refund_cash(f->t), 0);
    assert_int_equal(txn_state(f->t), TXN_IDLE);
    /* second return of the same receipt: only 1 cola is left */
    assert_int_equal(txn_return_begin(f->t, rc, &posfix_mgr), 0);
    assert_int_equal(txn_return_line(f->t, 1, 2), MAMORI_ERR_LIMIT);
    assert_int_equal(txn_return_line(f->t, 1, 1), 0);
    assert_int_equal(tender_refund_cash(f->t), 0);
    assert_int_equal(sql_int(f, "SELECT SUM(qty) FROM returned"), 3);
    assert_int_equal(posfix_audit(f, "return.begin"), 2);
    assert_int_equal(posfix_audit(f, "txn.return"), 2);
    assert_true(posfix_receipt_has(f, "返品"));
}

static void test_ops1_same_receipt_not_refunded_twice(void **state)
{
    struct posfix *f = *state;
    int64_t rc = sale(f);
    assert_int_equal(txn_return_begin(f->t, rc, &posfix_mgr), 0);
    assert_int_equal(txn_return_line(f->t, 1, 3), 0);
    assert_int_equal(txn_return_line(f->t, 2, 1), 0);
    assert_int_equal(tender_refund_cash(f->t), 0);
    assert_int_equal(sql_int(f, "SELECT total FROM receipts WHERE kind='return'"), -654);
    /* the whole receipt again: refused line by line, nothing refunded */
    assert_int_equal(txn_return_begin(f->t, rc, &posfix_mgr), 0);
    assert_int_equal(txn_return_line(f->t, 1, 1), MAMORI_ERR_LIMIT);
    assert_int_equal(txn_return_line(f->t, 2, 1), MAMORI_ERR_LIMIT);
    assert_int_equal(tender_refund_cash(f->t), MAMORI_ERR_STATE);
    assert_int_equal(txn_cancel(f->t, &posfix_mgr), 0);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM receipts WHERE kind='return'"), 1);
    /* a return receipt itself cannot be returned */
    assert_int_equal(txn_return_begin(f->t, txn_last_receipt(f->t), &posfix_mgr),
                     MAMORI_ERR_NOTFOUND);
}

/* Two stations return the same goods at once: the commit re-checks. */
static void test_ops1_return_limit_rechecked_at_commit(void **state)
{
    struct posfix *f = *state;
    struct txn_config cfg2 = f->cfg;
    struct journal *j2;
    struct txn *t2;
    int64_t rc = sale(f);
    snprintf(cfg2.terminal, sizeof(cfg2.terminal), "T02");
    assert_int_equal(journal_open(f->jpath, &j2), 0);
    assert_int_equal(txn_new(&cfg2, j2, &f->dev, &posfix_catalog, &posfix_auth, f->a, &t2), 0);
    assert_int_equal(txn_signon(t2, "csh2", "5555"), 0);
    assert_int_equal(txn_return_begin(f->t, rc, &posfix_mgr), 0);
    assert_int_equal(txn_return_begin(t2, rc, &posfix_mgr), 0);
    assert_int_equal(txn_return_line(f->t, 1, 3), 0);
    assert_int_equal(txn_return_line(t2, 1, 3), 0);
    assert_int_equal(tender_refund_cash(f->t), 0);
    assert_int_equal(tender_refund_cash(t2), MAMORI_ERR_LIMIT);
    assert_int_equal(sql_int(f, "SELECT SUM(qty) FROM returned"), 3);
    txn_free(t2);
    journal_close(j2);
}

/* Refunds give back what was paid: a subtotal discount is shared out. */
static void test_ops1_return_refunds_paid_share(void **state)
{
    struct posfix *f = *state;
    struct posdev_sim_stats st;
    int64_t rc;
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);   /* 972 */
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);  /* 330 */
    assert_int_equal(txn_subtotal(f->t), 0);
    assert_int_equal(txn_subtotal_discount(f->t, 0, 10, NULL), 0); /* 130 off */
    assert_int_equal(tender_cash(f->t, 2000), 0);
    rc = txn_last_receipt(f->t);
    assert_int_equal(txn_return_begin(f->t, rc, &posfix_mgr), 0);
    assert_int_equal(txn_return_line(f->t, 1, 1), 0);
    assert_int_equal(tender_refund_cash(f->t), 0);
    /* 972 * (1302 - 130) / 1302 = 874.8 -> 874 */
    assert_int_equal(sql_int(f, "SELECT total FROM receipts WHERE kind='return'"), -874);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.dispensed, 2000 - 1172 + 874);
}

static void test_ops6_completion_idempotent(void **state)
{
    struct posfix *f = *state;
    struct txn_rec *r = malloc(sizeof(*r));
    struct txn_totals t;
    int64_t rc = sale(f), again = 0;
    assert_int_equal(journal_receipt_get(f->j, rc, r), 0);
    assert_int_equal(txn_rec_totals(r, TAX_ROUND_DOWN, 0, &t), 0);
    /* completing the same transaction again returns the same receipt */
    assert_int_equal(journal_complete(f->j, r, &t, NULL, 0, NULL, 0, &again), 0);
    assert_int_equal(again, rc);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM receipts"), 1);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM lines"), 2);
    free(r);
}

static void test_ops6_cash_intent_key_unique(void **state)
{
    struct posfix *f = *state;
    struct journal_cmd c = {.idem = "T01-1-x0", .kind = "drawer", .terminal = "T01",
                            .txn_no = 1, .tender = -1};
    struct journal_cmd got;
    assert_int_equal(journal_cmd_intent(f->j, &c), 0);
    assert_int_equal(journal_cmd_intent(f->j, &c), MAMORI_ERR_EXISTS);
    assert_int_equal(journal_cmd_get(f->j, "T01-1-x0", &got), 0);
    assert_int_equal(got.state, JOURNAL_CMD_INTENT);
    assert_int_equal(journal_cmd_done(f->j, "T01-1-x0", 0, true), 0);
    assert_int_equal(journal_cmd_get(f->j, "T01-1-x0", &got), 0);
    assert_int_equal(got.state, JOURNAL_CMD_DONE);
    assert_int_equal(journal_cmd_done(f->j, "nope", 0, true), MAMORI_ERR_NOTFOUND);
}

static void test_ops6_codec_roundtrip_and_hostile(void **state)
{
    struct posfix *f = *state;
    struct txn_rec *r = malloc(sizeof(*r)), *back = malloc(sizeof(*back));
    char *text = NULL;
    static const char *const bad[] = {
        "", "{", "[]", "null", "{\"txn_no\":1}",
        "{\"txn_no\":-1,\"state\":0}",
    };
    (void)f;
    memset(r, 0, sizeof(*r));
    r->txn_no = 42;
    r->state = TXN_SUBTOTAL;
    snprintf(r->terminal, sizeof(r->terminal), "T01");
    r->n_lines = 1;
    r->lines[0].no = 1;
    r->lines[0].qty = 2;
    r->lines[0].amount = 216;
    r->lines[0].unit_price = 108;
    snprintf(r->lines[0].name, sizeof(r->lines[0].name), "コーラ");
    assert_int_equal(txncodec_encode(r, &text), 0);
    assert_int_equal(txncodec_decode(text, strlen(text), back), 0);
    assert_int_equal(back->txn_no, 42);
    assert_int_equal(back->lines[0].amount, 216);
    assert_string_equal(back->lines[0].name, "コーラ");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(txncodec_decode(bad[i], strlen(bad[i]), back), MAMORI_ERR_INVAL);
    /* every single-byte corruption is refused or decodes to an in-range record */
    for (size_t i = 0; i < strlen(text); i++) {
        char *m = strdup(text);
        m[i] = (char)(m[i] ^ 0x5a);
        int rc = txncodec_decode(m, strlen(m), back);
        assert_true(rc == 0 || rc == MAMORI_ERR_INVAL);
        if (rc == 0)
            assert_true(back->n_lines <= TXN_LINES_MAX && back->lines[0].qty <= TXN_QTY_MAX);
        free(m);
    }
    /* out-of-range values */
    {
        char *m = strdup(text), *p = strstr(m, "\"qty\":2");
        assert_non_null(p);
        memcpy(p, "\"qty\":9", 7);
        assert_int_equal(txncodec_decode(m, strlen(m), back), 0);
        p = strstr(m, "\"state\":2");
        assert_non_null(p);
        memcpy(p, "\"state\":9", 9);
        assert_int_equal(txncodec_decode(m, strlen(m), back), MAMORI_ERR_INVAL);
        free(m);
    }
    assert_int_equal(txncodec_decode(text, TXNCODEC_MAX + 1, back), MAMORI_ERR_INVAL);
    free(text);
    free(r);
    free(back);
}

/* Each acknowledged action is visible to a fresh reader at once. */
static void test_ops6_every_action_durable(void **state)
{
    struct posfix *f = *state;
    struct txn_rec *r = malloc(sizeof(*r));
    struct journal *j2;
    assert_int_equal(journal_open(f->jpath, &j2), 0);
    assert_int_equal(journal_set_key(j2, f->cfg.data_key), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(journal_load_open(j2, "T01", r), 0);
    assert_int_equal(r->n_lines, 1);
    assert_int_equal(txn_set_qty(f->t, 1, 5), 0);
    assert_int_equal(journal_load_open(j2, "T01", r), 0);
    assert_int_equal(r->lines[0].qty, 5);
    assert_int_equal(txn_subtotal(f->t), 0);
    assert_int_equal(journal_load_open(j2, "T01", r), 0);
    assert_int_equal(r->state, TXN_SUBTOTAL);
    assert_int_equal(tender_gift(f->t, 100, "G"), 0);
    assert_int_equal(journal_load_open(j2, "T01", r), 0);
    assert_int_equal(r->n_tenders, 1);
    assert_int_equal(tender_cash(f->t, 500), 0);
    assert_int_equal(journal_load_open(j2, "T01", r), MAMORI_ERR_NOTFOUND);
    assert_int_equal(journal_receipt_get(j2, txn_last_receipt(f->t), r), 0);
    assert_int_equal(r->state, TXN_COMPLETED);
    journal_close(j2);
    free(r);
}

static int count_commit(void *ctx)
{
    (*(int *)ctx)++;
    return 0; /* let it commit */
}

/* OPS-6 durability at the cost of one commit: the first line of a sale is
 * one commit (one disk sync) that both reserves the transaction number and
 * stores the line; a restart (crash) before any line was committed uses no
 * number; numbers stay unique and increasing across sales and cancels. */
static void test_ops6_first_line_one_commit_reserves_number(void **state)
{
    struct posfix *f = *state;
    int commits = 0;
    int64_t first, second, third;
    sqlite3_commit_hook(journal_db(f->j), count_commit, &commits);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(commits, 1);
    first = txn_current(f->t)->txn_no;
    assert_int_equal(sql_int(f, "SELECT v FROM meta WHERE k='txn_no'"), first);
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);
    assert_int_equal(commits, 2);
    assert_int_equal(txn_cancel(f->t, &posfix_mgr), 0);
    /* a refused first line commits nothing and reserves nothing */
    commits = 0;
    assert_int_not_equal(txn_scan(f->t, "4900000000000", 1), 0);
    assert_int_equal(commits, 0);
    assert_int_equal(sql_int(f, "SELECT v FROM meta WHERE k='txn_no'"), first);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 2), 0);
    second = txn_current(f->t)->txn_no;
    assert_int_equal(second, first + 1);
    assert_int_equal(tender_cash(f->t, 1000), 0);
    assert_int_not_equal(txn_scan(f->t, "4900000000000", 1), 0);
    posfix_restart(f); /* nothing open: the next sale takes the next number */
    assert_int_equal(txn_signon(f->t, "csh", "2222"), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    third = txn_current(f->t)->txn_no;
    assert_int_equal(third, second + 1);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM cancelled WHERE txn_no=1"), first == 1);
}

static bool file_has(const char *path, const void *needle, size_t n)
{
    FILE *fp = fopen(path, "rb");
    char *data;
    long len;
    bool found;
    if (fp == NULL)
        return false;
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    data = malloc((size_t)len + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    found = memmem(data, (size_t)len, needle, n) != NULL;
    free(data);
    return found;
}

/* POL-1 (POS sales detail is HIGH) / POL-3: transaction records are sealed at
 * rest; a record moved to another row, a forged clear record, or a wrong key
 * is refused. */
static void test_pol1_sales_detail_sealed_at_rest(void **state)
{
    struct posfix *f = *state;
    struct txn_rec *r = malloc(sizeof(*r));
    struct journal *j2;
    char path[600], tag[JOURNAL_CODE_TAG_LEN + 1];
    const char *files[] = {"journal.db", "journal.db-wal"};
    uint8_t wrong[JOURNAL_KEY_BYTES] = {1};
    int64_t a, b;
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);
    assert_int_equal(tender_cash(f->t, 1000), 0);
    a = txn_last_receipt(f->t);
    b = sale(f);
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0); /* an open transaction too */
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
        assert_false(file_has(path, "ギュウニク", strlen("ギュウニク")));
        assert_false(file_has(path, "ハミガキコ", strlen("ハミガキコ")));
        assert_false(file_has(path, POSFIX_BEEF, strlen(POSFIX_BEEF)));
    }
    /* search by code still works (keyed hash) */
    assert_int_equal(journal_code_tag(f->j, POSFIX_BEEF, tag), 0);
    {
        char sql[200];
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM lines WHERE code='%s'", tag);
        assert_int_equal(sql_int(f, sql), 1);
    }
    /* swap the sealed records of two receipts: both refused */
    assert_int_equal(sqlite3_exec(journal_db(f->j),
                                  "CREATE TEMP TABLE x AS SELECT receipt_no, rec FROM receipts;"
                                  "UPDATE receipts SET rec=(SELECT rec FROM x WHERE "
                                  "x.receipt_no<>receipts.receipt_no)",
                                  NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(journal_receipt_get(f->j, a, r), MAMORI_ERR_AUTH);
    assert_int_equal(journal_receipt_get(f->j, b, r), MAMORI_ERR_AUTH);
    /* a forged clear record is refused */
    assert_int_equal(sqlite3_exec(journal_db(f->j),
                                  "UPDATE receipts SET rec='{\"txn_no\":1}' WHERE receipt_no=1",
                                  NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(journal_receipt_get(f->j, 1, r), MAMORI_ERR_AUTH);
    /* the wrong key, and no key, read nothing */
    assert_int_equal(journal_open(f->jpath, &j2), 0);
    assert_int_equal(journal_load_open(j2, "T01", r), MAMORI_ERR_STATE);
    assert_int_equal(journal_set_key(j2, wrong), 0);
    assert_int_equal(journal_load_open(j2, "T01", r), MAMORI_ERR_AUTH);
    assert_int_equal(journal_set_key(j2, f->cfg.data_key), 0);
    assert_int_equal(journal_load_open(j2, "T01", r), 0);
    assert_int_equal(r->n_lines, 1);
    journal_close(j2);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ops1_return_cannot_exceed_sold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops1_same_receipt_not_refunded_twice, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ops1_return_limit_rechecked_at_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ops1_return_refunds_paid_share, setup_changer,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ops6_completion_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops6_cash_intent_key_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops6_codec_roundtrip_and_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops6_every_action_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops6_first_line_one_commit_reserves_number, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pol1_sales_detail_sealed_at_rest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
