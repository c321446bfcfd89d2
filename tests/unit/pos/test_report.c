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
    int64_t machine[REPORT_DENOMS] = {0, 1, 0, 6, 0, 4, 0, 1, 0, 0};
    int64_t counted[REPORT_DENOMS] = {0, 1, 0, 6, 0, 4, 0, 0, 0, 0};
    int64_t bad[REPORT_DENOMS] = {0, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(report_day_open(f->t, 10000), 0);
    nta_sale(f);
    assert_int_equal(tender_cash(f->t, 1410), 0);
    assert_int_equal(report_declare(f->t, bad, NULL, NULL, t), MAMORI_ERR_INVAL);
    assert_int_equal(report_declare(f->t, counts, machine, counted, t), 0);
    assert_int_equal(t->cash_expected, 11410);
    assert_int_equal(t->declared_amount, 11400);
    assert_int_equal(t->over_short, -10);
    assert_true(t->denom_known);
    assert_int_equal(t->denom_diff[7], -1); /* one 10-yen coin missing in the machine */
    assert_int_equal(t->changer_over_short, -10);
    assert_int_equal(posfix_audit(f, "cash.declare"), 1);
    free(t);
}

/* The per-denomination arithmetic: drawer pieces x value, the change
 * machine counted against its own counts, difference and yen. */
static void test_ops5_declaration_by_denomination_arithmetic(void **state)
{
    struct report_totals t;
    int64_t drawer[REPORT_DENOMS] = {3, 1, 0, 2, 1, 7, 0, 3, 1, 4};      /* 38,239 */
    int64_t machine[REPORT_DENOMS] = {0, 2, 0, 50, 40, 100, 50, 100, 50, 100};
    int64_t counted[REPORT_DENOMS] = {0, 2, 1, 49, 40, 98, 51, 100, 50, 103};
    (void)state;
    memset(&t, 0, sizeof(t));
    t.cash_expected = 37000;
    assert_int_equal(report_declare_calc(drawer, machine, counted, &t), 0);
    assert_int_equal(t.declared_amount, 38239);
    assert_int_equal(t.over_short, 1239);
    assert_true(t.changer_known && t.changer_declared && t.denom_known);
    assert_int_equal(t.denom_diff[2], 1);   /* a 2,000 note the machine does not count */
    assert_int_equal(t.denom_diff[3], -1);  /* 1,000 short */
    assert_int_equal(t.denom_diff[5], -2);
    assert_int_equal(t.denom_diff[6], 1);
    assert_int_equal(t.denom_diff[9], 3);
    assert_int_equal(t.changer_over_short, 2000 - 1000 - 200 + 50 + 3);
    /* machine counts known, not counted by the operator: expected only */
    assert_int_equal(report_declare_calc(drawer, machine, NULL, &t), 0);
    assert_true(t.changer_known && !t.changer_declared && !t.denom_known);
    assert_int_equal(t.changer_expected[3], 50);
    assert_int_equal(t.denom_diff[3], 0);
    assert_int_equal(t.changer_over_short, 0);
    /* the stored detail round-trips */
    {
        char d[REPORT_DETAIL_MAX];
        struct report_totals u;
        assert_int_equal(report_declare_calc(drawer, machine, counted, &t), 0);
        assert_int_equal(report_detail_format(&t, d), 0);
        memset(&u, 0, sizeof(u));
        u.declared_amount = t.declared_amount;
        report_detail_parse(d, &u);
        assert_true(u.denom_known);
        assert_memory_equal(u.counts, drawer, sizeof(drawer));
        assert_memory_equal(u.changer_expected, machine, sizeof(machine));
        assert_memory_equal(u.changer_counts, counted, sizeof(counted));
        assert_int_equal(u.changer_over_short, t.changer_over_short);
        /* the largest declaration fits */
        for (int i = 0; i < REPORT_DENOMS; i++)
            drawer[i] = machine[i] = counted[i] = REPORT_COUNT_MAX;
        assert_int_equal(report_declare_calc(drawer, machine, counted, &t), 0);
        assert_int_equal(report_detail_format(&t, d), 0);
        assert_int_equal(t.declared_amount, INT64_C(18666) * REPORT_COUNT_MAX);
    }
}

/* Hostile input: negative, huge, counted machine without its counts, and
 * malformed stored details: refused or ignored, nothing written. */
static void test_ops5_declaration_hostile_counts(void **state)
{
    struct posfix *f = *state;
    struct report_totals t, before;
    int64_t ok[REPORT_DENOMS] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    int64_t neg[REPORT_DENOMS] = {0, 0, 0, 0, 0, 0, 0, 0, 0, -1};
    int64_t huge[REPORT_DENOMS] = {0, 0, 0, REPORT_COUNT_MAX + 1, 0, 0, 0, 0, 0, 0};
    int64_t max[REPORT_DENOMS] = {INT64_MAX, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    memset(&t, 0x5a, sizeof(t));
    before = t;
    assert_int_equal(report_declare_calc(neg, NULL, NULL, &t), MAMORI_ERR_INVAL);
    assert_int_equal(report_declare_calc(huge, NULL, NULL, &t), MAMORI_ERR_INVAL);
    assert_int_equal(report_declare_calc(max, NULL, NULL, &t), MAMORI_ERR_INVAL);
    assert_int_equal(report_declare_calc(ok, neg, NULL, &t), MAMORI_ERR_INVAL);
    assert_int_equal(report_declare_calc(ok, ok, huge, &t), MAMORI_ERR_INVAL);
    assert_int_equal(report_declare_calc(ok, NULL, ok, &t), MAMORI_ERR_INVAL);
    assert_memory_equal(&t, &before, sizeof(t)); /* untouched on failure */
    /* through the register: nothing recorded */
    assert_int_equal(report_declare(f->t, huge, NULL, NULL, &t), MAMORI_ERR_INVAL);
    assert_int_equal(report_declare(f->t, ok, NULL, ok, &t), MAMORI_ERR_OFFLINE);
    assert_int_equal(report_declare(f->t, ok, ok, neg, &t), MAMORI_ERR_INVAL);
    assert_int_equal(posfix_audit(f, "cash.declare"), 0);
    assert_int_equal(report_x(f->t, &t), 0);
    assert_false(t.declared);
    /* training: the machine is not counted, and a training declaration
     * never reaches the real totals */
    assert_int_equal(txn_set_training(f->t, true), 0);
    assert_int_equal(report_declare(f->t, ok, NULL, ok, &t), MAMORI_ERR_STATE);
    assert_int_equal(report_declare(f->t, ok, NULL, NULL, &t), 0);
    assert_int_equal(txn_set_training(f->t, false), 0);
    assert_int_equal(report_x(f->t, &t), 0);
    assert_false(t.declared);
    /* stored details that are malformed or do not add up: pieces unknown */
    {
        static const char *const bad[] = {
            "1,0,0,0,0,0,0,0,0",                       /* nine */
            "1,0,0,0,0,0,0,0,0,0,5",                   /* eleven */
            "1,0,0,0,0,0,0,0,0,-0",
            "1,0,0,0,0,0,0,0,0,0|1,2",                 /* short machine part */
            "1,0,0,0,0,0,0,0,0,0||1,0,0,0,0,0,0,0,0,0",  /* counted without machine */
            "1,0,0,0,0,0,0,0,0,0|1,0,0,0,0,0,0,0,0,0|1,0,0,0,0,0,0,0,0,0x",
            "1,0,0,0,0,0,0,0,0,0|1,0,0,0,0,0,0,0,0,9999999|",
            "2,0,0,0,0,0,0,0,0,0",                     /* 20,000 != 10,000 */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            memset(&t, 0, sizeof(t));
            t.declared_amount = 10000;
            report_detail_parse(bad[i], &t);
            assert_int_equal(t.counts[0], 0);
            assert_false(t.changer_known);
        }
        memset(&t, 0, sizeof(t));
        t.declared_amount = 10000;
        report_detail_parse("1,0,0,0,0,0,0,0,0,0", &t); /* the form before machine counts */
        assert_int_equal(t.counts[0], 1);
        assert_false(t.changer_known);
    }
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
        cmocka_unit_test(test_ops5_declaration_by_denomination_arithmetic),
        cmocka_unit_test_setup_teardown(test_ops5_declaration_hostile_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops5_day_close_blocks_sales, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
