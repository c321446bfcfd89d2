/*
 * test_txn: registration (OPS-1), modes (OPS-3), training (OPS-5) and the
 * approvals of the transaction engine, with hostile input in every group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "posfix.h"
#include "testutil.h"

#include "mamori/err.h"

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

static int64_t total(struct posfix *f)
{
    struct txn_totals t;
    assert_int_equal(txn_totals(f->t, &t), 0);
    return t.total;
}

static size_t nlines(struct posfix *f)
{
    const struct txn_rec *r = txn_current(f->t);
    return r ? r->n_lines : 0;
}

/* The open transaction as another process would read it from the journal. */
static size_t durable_lines(struct posfix *f)
{
    struct txn_rec *r = malloc(sizeof(*r));
    struct journal *j2;
    size_t n = 0;
    assert_non_null(r);
    assert_int_equal(journal_open(f->jpath, &j2), 0);
    assert_int_equal(journal_set_key(j2, f->cfg.data_key), 0);
    if (journal_load_open(j2, "T01", r) == 0)
        n = r->n_lines;
    journal_close(j2);
    free(r);
    return n;
}

/* NTA Q&A 問58 receipt: コーラ※ 108, ギュウニク※ 972, ハミガキコ 330. */
static void test_ops4_nta_example_totals(void **state)
{
    struct posfix *f = *state;
    struct txn_totals t;
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);
    assert_int_equal(txn_totals(f->t, &t), 0);
    assert_int_equal(t.total, 1410);
    assert_int_equal(t.tax.g[TAX_G8].taxable, 1080);
    assert_int_equal(t.tax.g[TAX_G8].tax, 80);
    assert_int_equal(t.tax.g[TAX_G10].taxable, 330);
    assert_int_equal(t.tax.g[TAX_G10].tax, 30);
    assert_int_equal(durable_lines(f), 3);
    /* the customer display shows the running total */
    assert_non_null(strstr(posdev_sim_last_display(f->sim, 1), "1410"));
}

static void test_ops1_plu_dept_embedded_weighed(void **state)
{
    struct posfix *f = *state;
    assert_int_equal(txn_plu(f->t, "1", 2), 0);                  /* 2 x 108 */
    assert_int_equal(txn_dept(f->t, 2, 500, 1), 0);              /* 雑貨 500 */
    assert_int_equal(txn_scan(f->t, POSFIX_DELI_398, 1), 0);     /* embedded ¥398 */
    assert_int_equal(txn_current(f->t)->lines[2].amount, 398);
    assert_int_equal(txn_current(f->t)->lines[2].src, TXN_SRC_EMBEDDED);
    /* weighed: unstable reading is refused and changes nothing */
    posdev_sim_set_scale(f->sim, 250, false);
    assert_int_equal(txn_weighed(f->t, POSFIX_TOMATO), MAMORI_ERR_AGAIN);
    assert_int_equal(nlines(f), 3);
    posdev_sim_set_scale(f->sim, 250, true);
    assert_int_equal(txn_weighed(f->t, POSFIX_TOMATO), 0);
    assert_int_equal(txn_current(f->t)->lines[3].amount, 495);   /* 198 * 250 / 100 */
    assert_int_equal(txn_current(f->t)->lines[3].grams, 250);
    /* a weighed item cannot be scanned as a unit item */
    assert_int_equal(txn_scan(f->t, POSFIX_TOMATO, 1), MAMORI_ERR_INVAL);
    assert_int_equal(total(f), 216 + 500 + 398 + 495);
    assert_int_equal(durable_lines(f), 4);
}

static void test_ops1_bad_input_nothing_changed(void **state)
{
    struct posfix *f = *state;
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_scan(f->t, "4901234567895", 1), MAMORI_ERR_CHECKSUM); /* bad CD */
    assert_non_null(strstr(txn_last_error(f->t), "check digit"));
    assert_int_equal(txn_scan(f->t, "4999999999999", 1) < 0, 1);               /* unknown/bad */
    assert_int_equal(txn_scan(f->t, "4900000000061", 1), MAMORI_ERR_NOTFOUND);  /* unknown */
    assert_int_equal(txn_scan(f->t, "49012345abc94", 1) < 0, 1);
    assert_int_equal(txn_scan(f->t, "", 1) < 0, 1);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 0), MAMORI_ERR_INVAL);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, -3), MAMORI_ERR_INVAL);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 10000), MAMORI_ERR_INVAL);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, INT32_MAX), MAMORI_ERR_INVAL);
    assert_int_equal(txn_plu(f->t, "999", 1), MAMORI_ERR_NOTFOUND);
    assert_int_equal(txn_dept(f->t, 1, -5, 1), MAMORI_ERR_INVAL);
    assert_int_equal(txn_dept(f->t, 1, 10000000, 1), MAMORI_ERR_INVAL);
    assert_int_equal(txn_dept(f->t, 77, 100, 1), MAMORI_ERR_NOTFOUND);
    assert_int_equal(txn_set_qty(f->t, 1, -1), MAMORI_ERR_INVAL);
    assert_int_equal(txn_set_qty(f->t, 9, 2), MAMORI_ERR_INVAL);
    assert_int_equal(txn_void_line(f->t, 0, NULL), MAMORI_ERR_INVAL);
    /* the maximum is accepted; the total still computes */
    assert_int_equal(txn_set_qty(f->t, 1, 9999), 0);
    assert_int_equal(total(f), 108 * 9999);
    assert_int_equal(txn_set_qty(f->t, 1, 1), 0);
    /* a line whose total would pass the tax bound is refused */
    for (int i = 0; i < 3; i++)
        (void)txn_scan(f->t, POSFIX_WATCH, 9999);
    assert_true(total(f) <= TAX_AMOUNT_MAX);
    assert_int_equal(durable_lines(f), nlines(f));
}

static void test_ops1_void_after_subtotal_needs_manager(void **state)
{
    struct posfix *f = *state;
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);
    /* before subtotal: the operator may void */
    assert_int_equal(txn_void_line(f->t, 3, NULL), 0);
    assert_int_equal(total(f), 1080);
    assert_int_equal(txn_subtotal(f->t), 0);
    /* after subtotal: a manager must approve */
    assert_int_equal(txn_void_line(f->t, 2, NULL), MAMORI_ERR_PERM);
    assert_int_equal(txn_void_line(f->t, 2, &posfix_bad_mgr), MAMORI_ERR_AUTH);
    assert_int_equal(txn_void_line(f->t, 2, &posfix_not_mgr), MAMORI_ERR_PERM);
    assert_int_equal(total(f), 1080);
    assert_false(txn_current(f->t)->lines[1].voided);
    assert_int_equal(posfix_audit(f, "approval.failed"), 2);
    assert_int_equal(txn_void_line(f->t, 2, &posfix_mgr), 0);
    assert_int_equal(total(f), 108);
    assert_int_equal(txn_current(f->t)->n_approvals, 1);
    assert_string_equal(txn_current(f->t)->approvals[0].manager, "mgr");
    assert_string_equal(txn_current(f->t)->approvals[0].what, "void");
    assert_int_equal(posfix_audit(f, "line.void"), 2);
    /* a voided line cannot be voided again */
    assert_int_equal(txn_void_line(f->t, 2, &posfix_mgr), MAMORI_ERR_INVAL);
}

static void test_ops1_discounts_and_limits(void **state)
{
    struct posfix *f = *state;
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);   /* 972 */
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);  /* 330 */
    /* within the limit (100 yen / 10 %): no approval */
    assert_int_equal(txn_item_discount(f->t, 1, 50, 0, NULL), 0);
    assert_int_equal(total(f), 922 + 330);
    /* over the limit: manager needed, wrong password changes nothing */
    assert_int_equal(txn_item_discount(f->t, 2, 0, 20, NULL), MAMORI_ERR_PERM);
    assert_int_equal(txn_item_discount(f->t, 2, 0, 20, &posfix_bad_mgr), MAMORI_ERR_AUTH);
    assert_int_equal(total(f), 922 + 330);
    assert_int_equal(txn_item_discount(f->t, 2, 0, 20, &posfix_mgr), 0);
    assert_int_equal(total(f), 922 + 264);
    /* nonsense discounts */
    assert_int_equal(txn_item_discount(f->t, 1, 5000, 0, &posfix_mgr), MAMORI_ERR_INVAL);
    assert_int_equal(txn_item_discount(f->t, 1, 10, 10, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(txn_item_discount(f->t, 1, -10, 0, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(txn_item_discount(f->t, 1, 0, 101, &posfix_mgr), MAMORI_ERR_INVAL);
    /* subtotal discount: only after subtotal */
    assert_int_equal(txn_subtotal_discount(f->t, 0, 5, NULL), MAMORI_ERR_STATE);
    assert_int_equal(txn_subtotal(f->t), 0);
    assert_int_equal(txn_subtotal_discount(f->t, 0, 5, NULL), 0);
    assert_int_equal(total(f), 1186 - 1186 * 5 / 100);
    assert_int_equal(txn_subtotal_discount(f->t, 500, 0, NULL), MAMORI_ERR_PERM);
    assert_int_equal(txn_subtotal_discount(f->t, 500, 0, &posfix_mgr), 0);
    assert_int_equal(total(f), 1186 - 59 - 500);
    assert_int_equal(posfix_audit(f, "discount.item"), 2);
    assert_int_equal(posfix_audit(f, "discount.subtotal"), 2);
}

static void test_ops1_price_override_requires_manager(void **state)
{
    struct posfix *f = *state;
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 2), 0);
    assert_int_equal(txn_price_override(f->t, 1, 300, NULL), MAMORI_ERR_PERM);
    assert_int_equal(txn_price_override(f->t, 1, 300, &posfix_bad_mgr), MAMORI_ERR_AUTH);
    assert_int_equal(txn_price_override(f->t, 1, -1, &posfix_mgr), MAMORI_ERR_INVAL);
    assert_int_equal(txn_price_override(f->t, 1, 10000000, &posfix_mgr), MAMORI_ERR_INVAL);
    assert_int_equal(total(f), 660);
    assert_int_equal(txn_price_override(f->t, 1, 300, &posfix_mgr), 0);
    assert_int_equal(total(f), 600);
    assert_true(txn_current(f->t)->lines[0].overridden);
    assert_int_equal(posfix_audit(f, "price.override"), 1);
}

static void test_ops1_cancel_requires_manager(void **state)
{
    struct posfix *f = *state;
    struct txn_rec *r = malloc(sizeof(*r));
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_cancel(f->t, NULL), MAMORI_ERR_PERM);
    assert_int_equal(txn_cancel(f->t, &posfix_bad_mgr), MAMORI_ERR_AUTH);
    assert_int_equal(txn_state(f->t), TXN_REGISTERING);
    assert_int_equal(txn_cancel(f->t, &posfix_mgr), 0);
    assert_int_equal(txn_state(f->t), TXN_IDLE);
    assert_int_equal(journal_load_open(f->j, "T01", r), MAMORI_ERR_NOTFOUND);
    assert_int_equal(posfix_audit(f, "txn.cancel"), 1);
    free(r);
}

static void test_ops1_age_restricted_needs_confirmation(void **state)
{
    struct posfix *f = *state;
    assert_int_equal(txn_scan(f->t, POSFIX_BEER, 1), 0);
    assert_int_equal(tender_cash(f->t, 1000), MAMORI_ERR_PERM);
    assert_int_equal(txn_state(f->t), TXN_REGISTERING);
    posdev_sim_set_confirm(f->sim, false);
    assert_int_equal(txn_confirm_age(f->t), MAMORI_ERR_PERM);
    assert_int_equal(tender_cash(f->t, 1000), MAMORI_ERR_PERM);
    posdev_sim_set_confirm(f->sim, true);
    assert_int_equal(txn_confirm_age(f->t), 0);
    assert_int_equal(tender_cash(f->t, 1000), 0);
    assert_int_equal(txn_state(f->t), TXN_IDLE);
    assert_int_equal(txn_last_change(f->t), 780);
    assert_int_equal(posfix_audit(f, "age.confirm"), 2);
}

static void test_ops1_signon_roles(void **state)
{
    struct posfix *f = *state;
    assert_int_equal(txn_signoff(f->t), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), MAMORI_ERR_STATE);
    assert_int_equal(txn_signon(f->t, "csh", "nope"), MAMORI_ERR_AUTH);
    assert_int_equal(txn_signon(f->t, "mnt", "4444"), MAMORI_ERR_PERM);  /* maintainer */
    assert_int_equal(txn_signon(f->t, "chk", "1111"), MAMORI_ERR_PERM);  /* checker alone */
    assert_int_equal(txn_signon(f->t, "ghost", "x"), MAMORI_ERR_NOTFOUND);
    assert_int_equal(posfix_audit(f, "signon.failed"), 4);
    assert_int_equal(txn_signon(f->t, "csh", "2222"), 0);
    assert_int_equal(txn_signon(f->t, "mgr", "3333"), MAMORI_ERR_STATE);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_signoff(f->t), MAMORI_ERR_STATE); /* open transaction */
}

static void test_ops3_two_person_attribution(void **state)
{
    struct posfix *f = *state;
    struct txn_rec *r = malloc(sizeof(*r));
    assert_int_equal(txn_signoff(f->t), 0);
    assert_int_equal(txn_signon_pair(f->t, "chk", "1111", "chk", "1111"), MAMORI_ERR_INVAL);
    assert_int_equal(txn_signon_pair(f->t, "chk", "1111", "csh", "bad"), MAMORI_ERR_AUTH);
    assert_int_equal(txn_signon_pair(f->t, "chk", "1111", "csh", "2222"), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);
    assert_int_equal(tender_gift(f->t, 100, "G1"), 0);
    assert_int_equal(tender_cash(f->t, 1000), 0);
    assert_int_equal(journal_receipt_get(f->j, txn_last_receipt(f->t), r), 0);
    assert_string_equal(r->lines[0].checker, "chk");
    assert_string_equal(r->lines[1].checker, "chk");
    assert_string_equal(r->tenders[0].cashier, "csh");
    assert_string_equal(r->tenders[1].cashier, "csh");
    free(r);
}

static void test_ops3_suspend_resume_other_station(void **state)
{
    struct posfix *f = *state;
    struct txn_config cfg2 = f->cfg;
    struct journal *j2;
    struct txn *t2;
    char slip[TXN_SLIP_LEN + 1];
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 3), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);
    assert_int_equal(txn_suspend(f->t, slip), 0);
    assert_int_equal(strlen(slip), 20);
    assert_int_equal(txn_state(f->t), TXN_IDLE);
    /* station 2 on the same journal (the store's shared queue) */
    snprintf(cfg2.terminal, sizeof(cfg2.terminal), "T02");
    cfg2.terminal_no = 2;
    assert_int_equal(journal_open(f->jpath, &j2), 0);
    assert_int_equal(txn_new(&cfg2, j2, &f->dev, &posfix_catalog, &posfix_auth, f->a, &t2), 0);
    assert_int_equal(txn_signon(t2, "csh2", "5555"), 0);
    assert_int_equal(txn_resume(t2, "12345"), MAMORI_ERR_INVAL);
    {
        char cd = slip[19];
        slip[19] = cd == '0' ? '1' : '0'; /* bad check digit */
        assert_int_equal(txn_resume(t2, slip), MAMORI_ERR_INVAL);
        slip[19] = cd;
    }
    assert_int_equal(txn_resume(t2, slip), 0); /* the right slip works */
    assert_int_equal(txn_current(t2)->n_lines, 2);
    txn_free(t2);
    journal_close(j2);
}

static void test_ops3_suspend_resume_roundtrip(void **state)
{
    struct posfix *f = *state;
    struct txn_config cfg2 = f->cfg;
    struct journal *j2;
    struct txn *t2;
    char slip[TXN_SLIP_LEN + 1];
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 3), 0);
    assert_int_equal(txn_suspend(f->t, slip), 0);
    snprintf(cfg2.terminal, sizeof(cfg2.terminal), "T02");
    cfg2.terminal_no = 2;
    assert_int_equal(journal_open(f->jpath, &j2), 0);
    assert_int_equal(txn_new(&cfg2, j2, &f->dev, &posfix_catalog, &posfix_auth, f->a, &t2), 0);
    assert_int_equal(txn_signon(t2, "csh2", "5555"), 0);
    assert_int_equal(txn_resume(t2, slip), 0);
    assert_int_equal(txn_current(t2)->n_lines, 1);
    assert_string_equal(txn_current(t2)->lines[0].checker, "csh");
    assert_string_equal(txn_current(t2)->terminal, "T02");
    /* the slip is gone: a second resume anywhere fails */
    assert_int_equal(txn_resume(f->t, slip), MAMORI_ERR_NOTFOUND);
    assert_int_equal(txn_scan(t2, POSFIX_BEEF, 1), 0);
    assert_int_equal(tender_cash(t2, 2000), 0);
    assert_int_equal(txn_last_change(t2), 2000 - 324 - 972);
    txn_free(t2);
    journal_close(j2);
}

static void test_ops5_training_mode_isolated(void **state)
{
    struct posfix *f = *state;
    struct posdev_sim_stats st;
    struct txn_rec *r = malloc(sizeof(*r));
    int64_t rc_training;
    assert_int_equal(txn_set_training(f->t, true), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_true(txn_current(f->t)->training);
    assert_int_equal(txn_set_training(f->t, false), MAMORI_ERR_STATE);
    assert_int_equal(tender_cash(f->t, 1000), 0);
    rc_training = txn_last_receipt(f->t);
    assert_int_equal(journal_receipt_get(f->j, rc_training, r), 0);
    assert_true(r->training);
    /* no real cash moved: no drawer open */
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.drawer_opens, 0);
    assert_int_equal(st.prints, 1);
    assert_true(posfix_receipt_has(f, "トレーニング"));
    assert_int_equal(txn_set_training(f->t, false), 0);
    /* a training receipt cannot be returned for real money */
    assert_int_equal(txn_return_begin(f->t, rc_training, &posfix_mgr), MAMORI_ERR_NOTFOUND);
    free(r);
}

static void test_ops1_restart_resumes_open_transaction(void **state)
{
    struct posfix *f = *state;
    bool resumed = false;
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 2), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);
    assert_int_equal(txn_void_line(f->t, 2, NULL), 0);
    posfix_restart(f);
    assert_int_equal(txn_recover(f->t, &resumed), 0);
    assert_true(resumed);
    assert_int_equal(nlines(f), 2);
    assert_true(txn_current(f->t)->lines[1].voided);
    assert_int_equal(txn_signon(f->t, "csh", "2222"), 0);
    assert_int_equal(total(f), 216);
    assert_int_equal(tender_cash(f->t, 216), 0);
    assert_int_equal(txn_state(f->t), TXN_IDLE);
}

static void test_ops4_eat_in_moves_food_to_10(void **state)
{
    struct posfix *f = *state;
    struct txn_totals t;
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);
    assert_int_equal(txn_set_eat_in(f->t, true), 0);
    assert_int_equal(txn_totals(f->t, &t), 0);
    assert_int_equal(t.tax.g[TAX_G10].taxable, 972);
    assert_int_equal(t.tax.g[TAX_G8].taxable, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ops4_nta_example_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops1_plu_dept_embedded_weighed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops1_bad_input_nothing_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops1_void_after_subtotal_needs_manager, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ops1_discounts_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops1_price_override_requires_manager, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ops1_cancel_requires_manager, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops1_age_restricted_needs_confirmation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ops1_signon_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops3_two_person_attribution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops3_suspend_resume_other_station, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops3_suspend_resume_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops5_training_mode_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops1_restart_resumes_open_transaction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ops4_eat_in_moves_food_to_10, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
