/*
 * test_report: day operations (OPS-5): open/close, X and Z with the
 * consecutive counter, totals by tender / department / rate, cash movements
 * with manager approval and exactly-once drawer opens, declaration with
 * over/short, training excluded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "posfix.h"
#include "testutil.h"

#include "mamori/err.h"
#include "pos/report.h"

static int setup(void **state)
{
    static struct posfix f;
    posfix_setup(&f, false, true);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    posfix_teardown(*state);
    return 0;
}

static int64_t tender_sum(const struct report_totals *r, const char *kind)
{
    for (size_t i = 0; i < r->n_tenders; i++)
        if (strcmp(r->tenders[i].kind, kind) == 0)
            return r->tenders[i].amount;
    return 0;
}

static int64_t dept_sum(const struct report_totals *r, int dept)
{
    for (size_t i = 0; i < r->n_depts; i++)
        if (r->depts[i].dept == dept)
            return r->depts[i].amount;
    return 0;
}

static void nta_sale(struct posfix *f)
{
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);
}

static void test_ops5_x_and_z_reports(void **state)
{
    struct posfix *f = *state;
    struct report_totals *x = malloc(sizeof(*x)), *z = malloc(sizeof(*z));
    struct posdev_sim_stats st;
    char *text = NULL;
    int64_t first;
    assert_int_equal(report_day_open(f->t, 30000), 0);
    assert_int_equal(report_day_open(f->t, 30000), MAMORI_ERR_STATE);
    nta_sale(f);
    assert_int_equal(tender_cash(f->t, 1500), 0);         /* change 90 */
    first = txn_last_receipt(f->t);
    nta_sale(f);
    assert_int_equal(tender_gift(f->t, 1000, "G"), 0);
    assert_int_equal(tender_cash(f->t, 500), 0);          /* change 90 */
    /* return the paste of the first sale */
    assert_int_equal(txn_return_begin(f->t, first, &posfix_mgr), 0);
    assert_int_equal(txn_return_line(f->t, 3, 1), 0);
    assert_int_equal(tender_refund_cash(f->t), 0);
    /* a training sale does not count */
    assert_int_equal(txn_set_training(f->t, true), 0);
    nta_sale(f);
    assert_int_equal(tender_cash(f->t, 5000), 0);
    assert_int_equal(txn_set_training(f->t, false), 0);
    /* a cancelled sale is counted as a cancel only */
    nta_sale(f);
    assert_int_equal(txn_cancel(f->t, &posfix_mgr), 0);

    assert_int_equal(report_x(f->t, x), 0);
    assert_int_equal(x->sales, 2);
    assert_int_equal(x->sales_amount, 2820);
    assert_int_equal(x->returns, 1);
    assert_int_equal(x->returns_amount, -330);
    assert_int_equal(x->cancels, 1);
    assert_int_equal(x->base[TAX_G8], 2160);
    assert_int_equal(x->tax[TAX_G8], 160);
    assert_int_equal(x->base[TAX_G10], 330);
    assert_int_equal(x->tax[TAX_G10], 30);
    assert_int_equal(tender_sum(x, "gift"), 1000);
    assert_int_equal(tender_sum(x, "cash"), 1500 + 500 - 330);
    assert_int_equal(dept_sum(x, 1), 2160);
    assert_int_equal(dept_sum(x, 2), 660 - 330);
    assert_int_equal(x->change_fund, 30000);
    assert_int_equal(x->change_given, 180);
    assert_int_equal(x->cash_expected, 30000 + 1670 - 180);
    assert_int_equal(x->z_no, 1);
    /* X resets nothing */
    assert_int_equal(report_x(f->t, x), 0);
    assert_int_equal(x->sales, 2);
    /* Z: same totals, then reset; the counter is consecutive */
    assert_int_equal(report_z(f->t, z), 0);
    assert_int_equal(z->z_no, 1);
    assert_int_equal(z->sales_amount, 2820);
    assert_int_equal(report_text(z, true, &text), 0);
    assert_non_null(strstr(text, "精算"));
    assert_non_null(strstr(text, "2820"));
    free(text);
    assert_int_equal(report_x(f->t, x), 0);
    assert_int_equal(x->sales, 0);
    assert_int_equal(x->cash_expected, 0);
    assert_int_equal(x->z_no, 2);
    assert_int_equal(report_z(f->t, z), 0);
    assert_int_equal(z->z_no, 2);
    assert_int_equal(z->sales, 0);
    assert_int_equal(posfix_audit(f, "report.z"), 2);
    posdev_sim_stats(f->sim, &st);
    assert_true(st.drawer_opens >= 1);
    /* no Z in the middle of a transaction */
    nta_sale(f);
    assert_int_equal(report_z(f->t, z), MAMORI_ERR_STATE);
    free(x);
    free(z);
}

static void test_ops5_cash_moves_need_manager(void **state)
{
    struct posfix *f = *state;
    struct report_totals *x = malloc(sizeof(*x));
    struct posdev_sim_stats st;
    assert_int_equal(report_cash_move(f->t, REPORT_PICKUP, 10000, NULL, NULL), MAMORI_ERR_PERM);
    assert_int_equal(report_cash_move(f->t, REPORT_PICKUP, 10000, NULL, &posfix_bad_mgr),
                     MAMORI_ERR_AUTH);
    assert_int_equal(report_cash_move(f->t, REPORT_PICKUP, 10000, NULL, &posfix_not_mgr),
                     MAMORI_ERR_PERM);
    assert_int_equal(report_cash_move(f->t, REPORT_PICKUP, 0, NULL, &posfix_mgr),
                     MAMORI_ERR_INVAL);
    assert_int_equal(report_cash_move(f->t, REPORT_PICKUP, -5, NULL, &posfix_mgr),
                     MAMORI_ERR_INVAL);
    assert_int_equal(report_no_sale(f->t, NULL), MAMORI_ERR_PERM);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.drawer_opens, 0);
    assert_int_equal(report_cash_move(f->t, REPORT_PAID_IN, 5000, "両替", &posfix_mgr), 0);
    assert_int_equal(report_cash_move(f->t, REPORT_PAID_OUT, 1200, "文具", &posfix_mgr), 0);
    assert_int_equal(report_cash_move(f->t, REPORT_PICKUP, 3000, NULL, &posfix_mgr), 0);
    assert_int_equal(report_no_sale(f->t, &posfix_mgr), 0);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.drawer_opens, 4);
    assert_int_equal(posfix_audit(f, "cash.move"), 4);
    /* training movements do not count and open nothing */
    assert_int_equal(txn_set_training(f->t, true), 0);
    assert_int_equal(report_cash_move(f->t, REPORT_PAID_IN, 9999, NULL, &posfix_mgr), 0);
    assert_int_equal(txn_set_training(f->t, false), 0);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.drawer_opens, 4);
    assert_int_equal(report_x(f->t, x), 0);
    assert_int_equal(x->paid_in, 5000);
    assert_int_equal(x->paid_out, 1200);
    assert_int_equal(x->pickups, 3000);
    assert_int_equal(x->cash_expected, 5000 - 1200 - 3000);
    /* approvals name the manager */
    {
        sqlite3_stmt *s;
        assert_int_equal(sqlite3_prepare_v2(journal_db(f->j),
                                            "SELECT COUNT(*) FROM cash_moves WHERE approver='mgr'",
                                            -1, &s, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(s, 0), 5);
        sqlite3_finalize(s);
    }
    free(x);
}

static void test_ops5_declaration_over_short(void **state)
{
    struct posfix *f = *state;
    struct report_totals *t = malloc(sizeof(*t));
    /* fund 10,000 + sale 1,410 -> expected 11,410 */
    int64_t counts[REPORT_DENOMS] = {0, 1, 0, 6, 0, 4, 0, 0, 0, 0};   /* 11,400 */
    int64_t expect[REPORT_DENOMS] = {0, 1, 0, 6, 0, 4, 0, 1, 0, 0};
    int64_t bad[REPORT_DENOMS] = {0, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(report_day_open(f->t, 10000), 0);
    nta_sale(f);
    assert_int_equal(tender_cash(f->t, 1410), 0);
    assert_int_equal(report_declare(f->t, bad, NULL, t), MAMORI_ERR_INVAL);
    assert_int_equal(report_declare(f->t, counts, expect, t), 0);
    assert_int_equal(t->cash_expected, 11410);
    assert_int_equal(t->declared_amount, 11400);
    assert_int_equal(t->over_short, -10);
    assert_true(t->denom_known);
    assert_int_equal(t->denom_diff[7], -1); /* one 10-yen coin missing */
    assert_int_equal(posfix_audit(f, "cash.declare"), 1);
    free(t);
}

static void test_ops5_day_close_blocks_sales(void **state)
{
    struct posfix *f = *state;
    int day = -1;
    assert_int_equal(report_day_open(f->t, 0), 0);
    assert_int_equal(report_day_state(f->t, &day), 0);
    assert_int_equal(day, 1);
    nta_sale(f);
    assert_int_equal(report_day_close(f->t), MAMORI_ERR_STATE); /* open transaction */
    assert_int_equal(tender_cash(f->t, 1410), 0);
    assert_int_equal(report_day_close(f->t), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), MAMORI_ERR_STATE);
    assert_int_equal(report_day_open(f->t, 0), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ops5_x_and_z_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops5_cash_moves_need_manager, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops5_declaration_over_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops5_day_close_blocks_sales, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
