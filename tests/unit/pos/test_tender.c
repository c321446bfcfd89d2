/*
 * test_tender: settlement (OPS-2), exactly-once cash commands (POL-1 cash
 * in/out), member numbers encrypted at rest (POL-1, POL-3), external tender
 * kinds, and hostile tender input.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "posfix.h"
#include "testutil.h"

#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/txnprint.h"

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

static void nta_sale(struct posfix *f)
{
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);
    assert_int_equal(txn_subtotal(f->t), 0);
}

static int64_t due(struct posfix *f)
{
    struct txn_totals t;
    assert_int_equal(txn_totals(f->t, &t), 0);
    return t.due;
}

/* NTA 問58: お預り 1,500, お釣 90; no change machine: the drawer opens once. */
static void test_ops2_cash_change_drawer(void **state)
{
    struct posfix *f = *state;
    struct posdev_sim_stats st;
    nta_sale(f);
    /* tender below total: clear error, nothing changed */
    assert_int_equal(tender_cash(f->t, 1409), MAMORI_ERR_INVAL);
    assert_non_null(strstr(txn_last_error(f->t), "below"));
    assert_int_equal(tender_cash(f->t, 0), MAMORI_ERR_INVAL);
    assert_int_equal(tender_cash(f->t, -100), MAMORI_ERR_INVAL);
    assert_int_equal(txn_current(f->t)->n_tenders, 0);
    assert_int_equal(due(f), 1410);
    assert_int_equal(tender_cash(f->t, 1500), 0);
    assert_int_equal(txn_last_change(f->t), 90);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.drawer_opens, 1);
    assert_int_equal(st.dispenses, 0);
    assert_int_equal(st.prints, 1);
    /* the receipt, decoded from the printer's bytes (OPS-4, OPS-6) */
    assert_true(posfix_receipt_has(f, "T1234567890123"));
    assert_true(posfix_receipt_has(f, "コーラ"));
    assert_true(posfix_receipt_has(f, "※"));
    assert_true(posfix_receipt_has(f, "90"));
    assert_int_equal(posfix_audit(f, "txn.complete"), 1);
    assert_int_equal(posfix_audit(f, "cash.command"), 1);
    /* a reprint from the journal is marked as a reprint (OPS-6) */
    assert_false(posfix_receipt_has(f, "再発行"));
    assert_int_equal(txnprint_reprint(f->t, txn_last_receipt(f->t)), 0);
    assert_true(posfix_receipt_has(f, "再発行"));
    assert_true(posfix_receipt_has(f, "コーラ"));
    assert_int_equal(txnprint_reprint(f->t, 999), MAMORI_ERR_NOTFOUND);
    /* nothing to pay any more */
    assert_int_equal(tender_cash(f->t, 100), MAMORI_ERR_STATE);
}

/* With a change machine: the device counts the deposit and pays the change. */
static void test_ops2_changer_deposit_and_dispense(void **state)
{
    struct posfix *f = *state;
    struct posdev_sim_stats st;
    nta_sale(f);
    posdev_sim_set_deposit(f->sim, 2000);
    assert_int_equal(tender_cash_deposit(f->t), 0);
    assert_int_equal(txn_last_change(f->t), 590);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.deposits, 1);
    assert_int_equal(st.deposited, 2000);
    assert_int_equal(st.dispenses, 1);
    assert_int_equal(st.dispensed, 590);
    assert_int_equal(st.drawer_opens, 0);
}

/* POL-1: a lost reply is retried with the same key: the machine pays once. */
static void test_pol1_cash_command_exactly_once_after_lost_reply(void **state)
{
    struct posfix *f = *state;
    struct posdev_sim_stats st;
    struct journal_cmd pend[8];
    size_t n = 9;
    bool resumed;
    /* 1: the replies of the deposit and of the dispense are lost once each;
     * the retry with the same key is answered from the device's memory */
    nta_sale(f);
    posdev_sim_set_deposit(f->sim, 2000);
    posdev_sim_lose_replies(f->sim, 2);
    assert_int_equal(tender_cash_deposit(f->t), 0);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.deposits, 1);
    assert_int_equal(st.deposited, 2000);
    assert_int_equal(st.dispenses, 1);
    assert_int_equal(st.dispensed, 590);
    assert_int_equal(st.replays, 2);
    /* 2: the dispense executes, its reply is lost and the machine goes
     * offline: the sale stands, the command stays pending */
    nta_sale(f);
    posdev_sim_lose_replies(f->sim, 1);
    posdev_sim_offline_after_loss(f->sim, true);
    assert_true(tender_cash(f->t, 2000) < 0);
    assert_int_equal(txn_state(f->t), TXN_IDLE);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.dispenses, 2);
    assert_int_equal(journal_cmd_pending(f->j, "T01", pend, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(pend[0].kind, "dispense");
    assert_int_equal(pend[0].amount, 590);
    /* restart: the pending command is re-sent with its key; the machine
     * remembers it and does not pay again */
    posfix_restart(f);
    assert_int_equal(txn_recover(f->t, &resumed), 0);
    assert_false(resumed);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.dispenses, 0);
    assert_int_equal(st.replays, 1);
    assert_int_equal(journal_cmd_pending(f->j, "T01", pend, 8, &n), 0);
    assert_int_equal(n, 0);
    /* and a second recovery has nothing left to send */
    assert_int_equal(txn_recover(f->t, &resumed), 0);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.replays, 1);
}

static void test_ops2_split_gift_coupon_points_cash(void **state)
{
    struct posfix *f = *state;
    char coupon[BARCODE_COUPON_LEN + 1], pct[BARCODE_COUPON_LEN + 1];
    int64_t pts = -1;
    /* first sale accrues points on the card */
    nta_sale(f);
    assert_int_equal(tender_member(f->t, "9876543210123456"), 0);
    assert_int_equal(tender_cash(f->t, 1410), 0);
    assert_int_equal(tender_member_balance(f->t, "9876543210123456", &pts), 0);
    assert_int_equal(pts, 14);
    /* second sale: points, coupon, gift certificate, cash */
    nta_sale(f);
    assert_int_equal(tender_member(f->t, "9876543210123456"), 0);
    assert_int_equal(tender_points(f->t, 15), MAMORI_ERR_LIMIT);  /* only 14 */
    assert_int_equal(tender_points(f->t, 10), 0);
    assert_int_equal(tender_points(f->t, 5), MAMORI_ERR_LIMIT);   /* 4 left */
    assert_int_equal(barcode_coupon_encode(BARCODE_COUPON_YEN, 7, 100, 20991231, coupon), 0);
    assert_int_equal(barcode_coupon_encode(BARCODE_COUPON_PERCENT, 8, 10, 20991231, pct), 0);
    assert_int_equal(tender_coupon(f->t, coupon, 20260401), 0);
    assert_int_equal(tender_coupon(f->t, coupon, 20260401), MAMORI_ERR_EXISTS);
    assert_int_equal(tender_coupon(f->t, "123", 20260401), MAMORI_ERR_INVAL);
    assert_int_equal(tender_coupon(f->t, pct, 20260401), 0);     /* 10 % of 1410 = 141 */
    assert_int_equal(due(f), 1410 - 10 - 100 - 141);
    assert_int_equal(tender_gift(f->t, 1000, "GC-1"), 0);
    assert_int_equal(due(f), 159);
    assert_int_equal(tender_cash(f->t, 200), 0);
    assert_int_equal(txn_last_change(f->t), 41);
    /* balance: 14 - 10 + 14 earned */
    assert_int_equal(tender_member_balance(f->t, "9876543210123456", &pts), 0);
    assert_int_equal(pts, 18);
    {
        struct txn_rec *r = malloc(sizeof(*r));
        assert_int_equal(journal_receipt_get(f->j, txn_last_receipt(f->t), r), 0);
        assert_int_equal(r->n_tenders, 5);
        assert_string_equal(r->member_masked, "************3456");
        free(r);
        assert_true(posfix_receipt_has(f, "3456"));
        assert_false(posfix_receipt_has(f, "9876543210123456"));
    }
}

static void test_ops2_coupon_expiry_and_gift_change(void **state)
{
    struct posfix *f = *state;
    char old[BARCODE_COUPON_LEN + 1];
    assert_int_equal(barcode_coupon_encode(BARCODE_COUPON_YEN, 9, 50, 20250131, old), 0);
    nta_sale(f);
    assert_int_equal(tender_coupon(f->t, old, 20250201), MAMORI_ERR_STATE);  /* expired */
    assert_int_equal(tender_coupon(f->t, old, 20250131), 0);                 /* last day */
    assert_int_equal(due(f), 1360);
    /* gift certificates give no change by default: the excess is forfeited */
    assert_int_equal(tender_gift(f->t, 0, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(tender_gift(f->t, 5000, "GC-2"), 0);
    assert_int_equal(txn_last_change(f->t), 0);
}

static void test_ops2_gift_change_when_configured(void **state)
{
    struct posfix *f = *state;
    txn_free(f->t);
    f->cfg.gift_gives_change = true;
    assert_int_equal(txn_new(&f->cfg, f->j, &f->dev, &posfix_catalog, &posfix_auth, f->a, &f->t),
                     0);
    assert_int_equal(txn_signon(f->t, "csh", "2222"), 0);
    nta_sale(f);
    assert_int_equal(tender_gift(f->t, 5000, "GC-3"), 0);
    assert_int_equal(txn_last_change(f->t), 3590);
}

/* POL-1/POL-3: the member number never lands in clear in the journal or audit. */
static void test_pol1_member_number_encrypted_at_rest(void **state)
{
    struct posfix *f = *state;
    const char *member = "5550001112223334";
    char path[600];
    const char *files[] = {"journal.db", "journal.db-wal", "audit.db", "audit.db-wal"};
    nta_sale(f);
    assert_int_equal(tender_member(f->t, "12ab"), MAMORI_ERR_INVAL);
    assert_int_equal(tender_member(f->t, member), 0);
    assert_string_equal(txn_current(f->t)->member_masked, "************3334");
    assert_int_equal(tender_cash(f->t, 2000), 0);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *fp;
        char *data;
        long n;
        snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
        fp = fopen(path, "rb");
        if (fp == NULL)
            continue;
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        data = malloc((size_t)n + 1);
        assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
        fclose(fp);
        assert_null(memmem(data, (size_t)n, member, strlen(member)));
        assert_null(memmem(data, (size_t)n, "555000111222", 12));
        free(data);
    }
    /* the stored record carries only ciphertext; the balance is keyed by a MAC */
    {
        struct txn_rec *r = malloc(sizeof(*r));
        int64_t pts;
        assert_int_equal(journal_receipt_get(f->j, txn_last_receipt(f->t), r), 0);
        assert_true(r->has_member);
        assert_int_equal(tender_member_balance(f->t, member, &pts), 0);
        assert_int_equal(pts, 14);
        free(r);
    }
}

/* ---- an external tender kind (what card/e-money plug into) ---- */

struct fake_card {
    int authorized, captured, refunded;
    bool decline, fail_capture;
};

static int card_auth(void *ctx, int64_t txn_no, int64_t amount, struct tender_auth *ret)
{
    struct fake_card *c = ctx;
    (void)txn_no;
    if (c->decline)
        return MAMORI_ERR_DECLINED;
    c->authorized++;
    snprintf(ret->ref, sizeof(ret->ref), "APP%03d", c->authorized);
    ret->amount = amount;
    return 0;
}

static int card_capture(void *ctx, int64_t txn_no, const struct tender_auth *a)
{
    struct fake_card *c = ctx;
    (void)txn_no;
    (void)a;
    if (c->fail_capture)
        return MAMORI_ERR_OFFLINE;
    c->captured++;
    return 0;
}

static int card_refund(void *ctx, int64_t txn_no, const struct tender_auth *a)
{
    struct fake_card *c = ctx;
    (void)txn_no;
    (void)a;
    c->refunded++;
    return 0;
}

static void test_ops2_external_tender_kind(void **state)
{
    struct posfix *f = *state;
    struct fake_card card = {0};
    struct tender_kind k = {"card", &card, card_auth, card_capture, card_refund};
    assert_int_equal(txn_add_tender_kind(f->t, &k), 0);
    assert_int_equal(txn_add_tender_kind(f->t, &k), MAMORI_ERR_EXISTS);
    nta_sale(f);
    card.decline = true;
    assert_int_equal(tender_external(f->t, "card", 1000), MAMORI_ERR_DECLINED);
    assert_int_equal(txn_current(f->t)->n_tenders, 0);
    card.decline = false;
    assert_int_equal(tender_external(f->t, "card", 2000), MAMORI_ERR_INVAL); /* over due */
    assert_int_equal(tender_external(f->t, "nope", 100), MAMORI_ERR_NOTFOUND);
    assert_int_equal(tender_external(f->t, "card", 1000), 0);
    assert_int_equal(card.captured, 0);
    assert_int_equal(tender_cash(f->t, 500), 0);
    assert_int_equal(card.captured, 1);
    assert_int_equal(txn_last_change(f->t), 90);
    /* a capture that fails after the sale is stored: the sale stands, the
     * failure is recorded for reconciliation; nothing is captured before the
     * journal holds the sale */
    nta_sale(f);
    card.fail_capture = true;
    assert_int_equal(tender_external(f->t, "card", 1410), 0);
    assert_int_equal(txn_state(f->t), TXN_IDLE);
    assert_int_equal(posfix_audit(f, "tender.capture_failed"), 1);
    card.fail_capture = false;
    /* cancel after a card tender refunds the authorization */
    nta_sale(f);
    assert_int_equal(tender_external(f->t, "card", 400), 0);
    assert_int_equal(txn_cancel(f->t, &posfix_mgr), 0);
    assert_int_equal(card.refunded, 1);
}

/* A return goes back to the card that paid, never more than it paid. */
static void test_ops2_return_refunded_to_card(void **state)
{
    struct posfix *f = *state;
    struct fake_card card = {0};
    struct tender_kind k = {"card", &card, card_auth, card_capture, card_refund};
    int64_t rc;
    assert_int_equal(txn_add_tender_kind(f->t, &k), 0);
    nta_sale(f);
    assert_int_equal(tender_external(f->t, "card", 400), 0);
    assert_int_equal(tender_cash(f->t, 1010), 0);
    rc = txn_last_receipt(f->t);
    assert_int_equal(txn_return_begin(f->t, rc, &posfix_mgr), 0);
    assert_int_equal(txn_return_line(f->t, 2, 1), 0);              /* 972 back */
    assert_int_equal(tender_refund_external(f->t, "card"), MAMORI_ERR_LIMIT); /* card paid 400 */
    assert_int_equal(card.refunded, 0);
    assert_int_equal(txn_void_line(f->t, 1, NULL), 0);
    assert_int_equal(txn_return_line(f->t, 3, 1), 0);              /* 330 back */
    assert_int_equal(tender_refund_external(f->t, "nope"), MAMORI_ERR_NOTFOUND);
    assert_int_equal(tender_refund_external(f->t, "card"), 0);
    assert_int_equal(card.refunded, 1);
    assert_int_equal(txn_state(f->t), TXN_IDLE);
}

/* Cancel after a deposit pays the counted cash back exactly once. */
static void test_pol1_cancel_pays_back_deposit_once(void **state)
{
    struct posfix *f = *state;
    struct posdev_sim_stats st;
    struct fake_card card = {0};
    struct tender_kind k = {"card", &card, card_auth, card_capture, card_refund};
    assert_int_equal(txn_add_tender_kind(f->t, &k), 0);
    nta_sale(f);
    assert_int_equal(tender_external(f->t, "card", 1000), 0);
    posdev_sim_set_deposit(f->sim, 200);  /* shopper gives up after 200 */
    assert_int_equal(tender_cash_deposit(f->t), 0);
    assert_int_equal(due(f), 210);
    assert_int_equal(txn_cancel(f->t, &posfix_mgr), 0);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.dispenses, 1);
    assert_int_equal(st.dispensed, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ops2_cash_change_drawer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops2_changer_deposit_and_dispense, setup_changer,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pol1_cash_command_exactly_once_after_lost_reply,
                                        setup_changer, teardown),
        cmocka_unit_test_setup_teardown(test_ops2_split_gift_coupon_points_cash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops2_coupon_expiry_and_gift_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops2_gift_change_when_configured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pol1_member_number_encrypted_at_rest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ops2_external_tender_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops2_return_refunded_to_card, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pol1_cancel_pays_back_deposit_once, setup_changer,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
