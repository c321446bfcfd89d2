/*
 * test_repprint: the X and Z reports on paper (OPS-5, OPS-6): the layout
 * decoded back from the ESC/POS bytes (header, counts, tenders, per-rate
 * taxable amount and tax, cash expected against declared with pieces, the
 * reconciliation findings; outside text made printable), printing exactly
 * once after a lost reply, a Z without a printer that still closes the
 * period and is reprinted later marked 【再発行】, and the stored Z totals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "posfix.h"
#include "testutil.h"

#include "mamori/err.h"
#include "pos/escpos_decode.h"
#include "pos/report.h"
#include "pos/repprint.h"

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

/* The line of doc containing label (NULL if none). */
static const char *line_of(const struct escpos_doc *d, const char *label)
{
    for (size_t i = 0; i < d->n_lines; i++)
        if (strstr(d->lines[i], label) != NULL)
            return d->lines[i];
    return NULL;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = s ? strlen(s) : 0, k = strlen(tail);
    while (n > 0 && s[n - 1] == ' ')
        n--;
    return s != NULL && n >= k && memcmp(s + n - k, tail, k) == 0;
}

static int count_lines(const struct escpos_doc *d, const char *text)
{
    int c = 0;
    for (size_t i = 0; i < d->n_lines; i++)
        c += strstr(d->lines[i], text) != NULL;
    return c;
}

static struct escpos_doc *decode_last(struct posfix *f)
{
    size_t n = 0;
    const uint8_t *p = posdev_sim_last_print(f->sim, &n);
    struct escpos_doc *d = NULL;
    assert_non_null(p);
    assert_int_equal(escpos_decode(p, n, &d), 0);
    return d;
}

static void day(struct posfix *f)
{
    assert_int_equal(report_day_open(f->t, 10000), 0);
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);     /* 108 reduced */
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 1), 0);    /* 330 standard */
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);     /* 972, voided */
    assert_int_equal(txn_void_line(f->t, 3, NULL), 0);
    assert_int_equal(tender_cash(f->t, 1000), 0);            /* change 562 */
    assert_int_equal(txn_scan(f->t, POSFIX_BEEF, 1), 0);
    assert_int_equal(tender_gift(f->t, 1000, "G1"), 0);      /* no change */
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_cancel(f->t, &posfix_mgr), 0);
    assert_int_equal(txn_set_training(f->t, true), 0);       /* not counted */
    assert_int_equal(txn_scan(f->t, POSFIX_WATCH, 1), 0);
    assert_int_equal(tender_cash(f->t, 5000000), 0);
    assert_int_equal(txn_set_training(f->t, false), 0);
}

static void test_ops5_z_report_layout(void **state)
{
    struct posfix *f = *state;
    struct report_totals *z = malloc(sizeof(*z)), *x = malloc(sizeof(*x));
    int64_t counts[REPORT_DENOMS] = {1, 0, 0, 0, 0, 4, 1, 1, 0, 0}; /* 10,460 */
    struct repprint_info in = {.z = true, .when = 1764111600, .operator_id = "csh"};
    json_t *recon = json_loads(
        "{\"matched\": 3, \"counts_checked\": true, \"discrepancies\": [{\"kind\": \"device-not-in-journal\","
        " \"from_ns\": 1764100000000000000, \"to_ns\": 1764103600000000000, \"amount\": -5000,"
        " \"ref\": \"bad\\u0007ref\\nx\", \"serial\": \"C1\", \"seq\": 7, \"operators\": [\"csh\", \"mgr\"]}]}",
        0, NULL);
    struct escpos_doc *d = NULL;
    struct buf b;
    char want[64];
    day(f);
    assert_int_equal(report_x(f->t, x), 0);
    assert_int_equal(report_declare(f->t, counts, NULL, NULL, x), 0);
    assert_int_equal(report_z(f->t, z), 0);
    assert_true(z->declared);
    assert_int_equal(z->declared_amount, 10460);
    assert_int_equal(z->voids, 1);
    assert_int_equal(z->cancels, 1);
    assert_non_null(recon);
    buf_init(&b, POSDEV_PRINT_MAX);
    assert_int_equal(repprint_render(txn_config(f->t), z, &in, recon, &b), 0);
    assert_int_equal(escpos_decode(buf_ptr(&b), buf_remaining(&b), &d), 0);
    assert_non_null(line_of(d, "【精算 Z】"));
    assert_null(line_of(d, "【再発行】"));
    assert_non_null(line_of(d, "登録番号 T"));
    assert_non_null(line_of(d, "Z No.000001"));
    assert_non_null(line_of(d, "担当 csh"));
    assert_non_null(line_of(d, "2025年11月26日 08:00")); /* printed in JST */
    assert_true(ends_with(line_of(d, "売上 "), "2件"));
    assert_true(ends_with(line_of(d, "明細取消"), "1件"));
    assert_true(ends_with(line_of(d, "取引中止"), "1件"));
    assert_true(ends_with(line_of(d, "売上合計"), "￥1,410"));
    assert_true(ends_with(line_of(d, "8%対象"), "￥1,080"));
    assert_true(ends_with(line_of(d, "(内消費税等 8%)"), "￥80"));
    assert_true(ends_with(line_of(d, "10%対象"), "￥330"));
    assert_true(ends_with(line_of(d, "(内消費税等 10%)"), "￥30"));
    assert_true(ends_with(line_of(d, "現金 1件"), "￥1,000"));
    assert_true(ends_with(line_of(d, "商品券 1件"), "￥972")); /* a certificate gives no change */
    snprintf(want, sizeof(want), "￥%s", "10,438"); /* 10,000 + 1,000 - 562 */
    assert_int_equal(z->cash_expected, 10438);
    assert_true(ends_with(line_of(d, "現金在高 (理論)"), want));
    assert_true(ends_with(line_of(d, "現金申告"), "￥10,460"));
    assert_true(ends_with(line_of(d, "過不足 (過剰)"), "￥22"));
    assert_true(ends_with(line_of(d, "  100円 x 4枚"), "￥400"));
    assert_true(ends_with(line_of(d, "  10000円 x 1枚"), "￥10,000"));
    assert_non_null(line_of(d, "金種別 ドロア (申告)"));
    assert_null(line_of(d, "金種別 釣銭機")); /* no change machine counts: no section */
    /* the reconciliation: counts and the finding with its window and operators */
    assert_true(ends_with(line_of(d, "照合済の入出金"), "3件"));
    assert_true(ends_with(line_of(d, "カセット枚数照合"), "あり"));
    assert_true(ends_with(line_of(d, "記録にない機器の入出金"), "-￥5,000"));
    assert_non_null(line_of(d, "担当 csh,mgr"));
    assert_non_null(line_of(d, "ref bad?ref?x")); /* control characters never reach paper */
    assert_true(escpos_doc_find(d, ESCPOS_CUT, 0) >= 0);
    escpos_doc_free(d);
    /* a reprint is marked at top and bottom */
    buf_reset(&b);
    in.reprint = true;
    assert_int_equal(repprint_render(txn_config(f->t), z, &in, NULL, &b), 0);
    assert_int_equal(escpos_decode(buf_ptr(&b), buf_remaining(&b), &d), 0);
    assert_int_equal(count_lines(d, "【再発行】"), 2);
    assert_non_null(line_of(d, "照合結果なし"));
    escpos_doc_free(d);
    /* X: 点検, the next Z number, no reconciliation */
    buf_reset(&b);
    in.reprint = false;
    in.z = false;
    assert_int_equal(report_x(f->t, x), 0);
    assert_int_equal(repprint_render(txn_config(f->t), x, &in, recon, &b), 0);
    assert_int_equal(escpos_decode(buf_ptr(&b), buf_remaining(&b), &d), 0);
    assert_non_null(line_of(d, "【点検 X】"));
    assert_non_null(line_of(d, "次回Z No.000002"));
    assert_null(line_of(d, "現金照合"));
    assert_true(ends_with(line_of(d, "売上合計"), "￥0"));
    escpos_doc_free(d);
    buf_free(&b);
    json_decref(recon);
    free(x);
    free(z);
}

static void test_ops5_z_printed_once_after_lost_reply(void **state)
{
    struct posfix *f = *state;
    struct report_totals *z = malloc(sizeof(*z));
    struct posdev_sim_stats before, after;
    struct escpos_doc *d;
    assert_int_equal(txn_scan(f->t, POSFIX_COLA, 1), 0);
    assert_int_equal(tender_cash(f->t, 1000), 0);
    assert_int_equal(report_z(f->t, z), 0);
    posdev_sim_stats(f->sim, &before);
    posdev_sim_lose_replies(f->sim, 1); /* printed, but the reply is lost */
    assert_int_equal(repprint_report(f->t, z, true, NULL), 0);
    posdev_sim_stats(f->sim, &after);
    assert_int_equal(after.prints, before.prints + 1);
    assert_int_equal(after.replays, before.replays + 1);
    d = decode_last(f);
    assert_int_equal(count_lines(d, "【精算 Z】"), 1);
    escpos_doc_free(d);
    /* the same Z again (a repeated request) is not printed again */
    assert_int_equal(repprint_report(f->t, z, true, NULL), 0);
    posdev_sim_stats(f->sim, &before);
    assert_int_equal(before.prints, after.prints);
    /* each X is a new document */
    assert_int_equal(report_x(f->t, z), 0);
    assert_int_equal(repprint_report(f->t, z, false, NULL), 0);
    assert_int_equal(repprint_report(f->t, z, false, NULL), 0);
    posdev_sim_stats(f->sim, &after);
    assert_int_equal(after.prints, before.prints + 2);
    free(z);
}

static void test_ops5_z_without_printer_then_reprint(void **state)
{
    struct posfix *f = *state;
    struct report_totals *z = malloc(sizeof(*z)), *g = malloc(sizeof(*g));
    json_t *recon = json_loads("{\"matched\": 1, \"counts_checked\": false, \"discrepancies\": []}", 0, NULL);
    struct posdev_sim_stats st;
    struct escpos_doc *d;
    int64_t counts[REPORT_DENOMS] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    assert_int_equal(txn_scan(f->t, POSFIX_PASTE, 2), 0);
    assert_int_equal(tender_cash(f->t, 1000), 0);
    assert_int_equal(report_declare(f->t, counts, NULL, NULL, g), 0);
    assert_int_equal(report_z(f->t, z), 0);
    posdev_sim_set_printer(f->sim, false);
    assert_int_equal(repprint_report(f->t, z, true, recon), MAMORI_ERR_OFFLINE);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.prints, 1); /* the sale's receipt only */
    /* the Z stands: the period is closed */
    assert_int_equal(report_x(f->t, g), 0);
    assert_int_equal(g->sales, 0);
    assert_int_equal(g->z_no, 2);
    /* the stored Z is the Z as taken */
    assert_int_equal(report_z_get(f->t, 1, g), 0);
    assert_int_equal(g->z_no, 1);
    assert_int_equal(g->sales, z->sales);
    assert_int_equal(g->sales_amount, 660);
    assert_int_equal(g->cash_expected, z->cash_expected);
    assert_true(g->declared);
    assert_int_equal(g->declared_amount, 1000);
    assert_int_equal(g->to_time, z->to_time);
    assert_int_equal(report_z_get(f->t, 2, g), MAMORI_ERR_NOTFOUND);
    assert_int_equal(report_z_get(f->t, 0, g), MAMORI_ERR_NOTFOUND);
    /* the printer is back: the reprint is marked and carries the reconciliation */
    posdev_sim_set_printer(f->sim, true);
    assert_int_equal(repprint_z_reprint(f->t, 1), 0);
    d = decode_last(f);
    assert_int_equal(count_lines(d, "【再発行】"), 2);
    assert_non_null(line_of(d, "Z No.000001"));
    assert_true(ends_with(line_of(d, "売上合計"), "￥660"));
    assert_true(ends_with(line_of(d, "照合済の入出金"), "1件"));
    escpos_doc_free(d);
    /* two reprints are two documents */
    assert_int_equal(repprint_z_reprint(f->t, 1), 0);
    posdev_sim_stats(f->sim, &st);
    assert_int_equal(st.prints, 3);
    assert_int_equal(repprint_z_reprint(f->t, 5), MAMORI_ERR_NOTFOUND);
    json_decref(recon);
    free(g);
    free(z);
}

/* 精算 金種別: the change machine counted against its own counts, with the
 * difference per denomination and in yen, printed and kept by the Z (the
 * declaration is read back from the journal, not from the caller). */
static void test_ops5_z_change_machine_by_denomination(void **state)
{
    struct posfix *f = *state;
    struct report_totals *x = malloc(sizeof(*x)), *z = malloc(sizeof(*z));
    int64_t drawer[REPORT_DENOMS] = {1, 0, 0, 0, 0, 4, 1, 1, 0, 0};   /* 10,460 */
    int64_t machine[REPORT_DENOMS] = {0, 0, 0, 50, 50, 100, 50, 100, 50, 100};
    int64_t counted[REPORT_DENOMS] = {0, 0, 0, 50, 50, 99, 50, 100, 52, 100};
    struct repprint_info in = {.z = true, .when = 1764111600, .operator_id = "csh"};
    struct escpos_doc *d = NULL;
    struct buf b;
    assert_non_null(x);
    assert_non_null(z);
    day(f);
    assert_int_equal(report_declare(f->t, drawer, machine, counted, x), 0);
    assert_int_equal(report_z(f->t, z), 0);
    assert_true(z->changer_known && z->denom_known);
    assert_int_equal(z->denom_diff[5], -1);
    assert_int_equal(z->denom_diff[8], 2);
    assert_int_equal(z->changer_over_short, -90);
    assert_int_equal(z->over_short, x->over_short); /* the total as before */
    buf_init(&b, POSDEV_PRINT_MAX);
    assert_int_equal(repprint_render(txn_config(f->t), z, &in, NULL, &b), 0);
    assert_int_equal(escpos_decode(buf_ptr(&b), buf_remaining(&b), &d), 0);
    assert_non_null(line_of(d, "金種別 釣銭機 (計数/機械/差)"));
    assert_true(ends_with(line_of(d, "  100円  "), "99/100枚 差 -1"));
    assert_true(ends_with(line_of(d, "  5円"), "52/50枚 差 +2"));
    assert_true(ends_with(line_of(d, "  1000円  "), "50/50枚 差 +0"));
    assert_true(ends_with(line_of(d, "釣銭機過不足 (不足)"), "-￥90"));
    assert_true(ends_with(line_of(d, "  10000円 x 1枚"), "￥10,000"));
    escpos_doc_free(d);
    buf_free(&b);
    free(x);
    free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ops5_z_report_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops5_z_change_machine_by_denomination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops5_z_printed_once_after_lost_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops5_z_without_printer_then_reprint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
