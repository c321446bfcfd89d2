/*
 * test_posmode: the mode key gate (DEV-11) on a real register: 施錠 refuses
 * every operation, reports only in their positions, 訓練 runs training mode
 * (receipts marked), refusals name the required position and are audited,
 * and without a keylock nothing changes. Driven through api_exec with the
 * gate installed, as mamori-terminald does.
 */
#include <string.h>

#include "posfix.h"
#include "testutil.h"

#include "mamori/err.h"
#include "pos/api.h"
#include "pos/posmode.h"

struct gatectx {
    struct txn *t;
    int pos;
};

static int gate(void *ctx, enum api_op op)
{
    struct gatectx *g = ctx;
    return posmode_gate(g->pos, g->t, op);
}

/* Run one request through api_exec; returns its code, message in *msg. */
static int run(struct gatectx *g, struct api_req *q, const char **msg)
{
    struct api_env env = {.txn = g->t, .gate = gate, .ctx = g};
    json_t *res = NULL;
    int rc = api_exec(&env, q, &res, msg);
    json_decref(res);
    return rc;
}

static int run_op(struct gatectx *g, enum api_op op, const char **msg)
{
    struct api_req q;
    memset(&q, 0, sizeof(q));
    q.op = op;
    return run(g, &q, msg);
}

static int run_scan(struct gatectx *g, const char *code, const char **msg)
{
    struct api_req q;
    memset(&q, 0, sizeof(q));
    q.op = API_SCAN;
    q.have = API_F_CODE;
    strcpy(q.code, code);
    return run(g, &q, msg);
}

static void test_dev11_lock_refuses_every_operation_and_audits(void **state)
{
    struct posfix f;
    const char *msg = NULL;
    (void)state;
    posfix_setup(&f, false, true);
    struct gatectx g = {.t = f.t, .pos = POSMODE_LOCK};
    assert_int_equal(run_scan(&g, POSFIX_COLA, &msg), MAMORI_ERR_PERM);
    assert_non_null(strstr(msg, "施錠"));
    assert_non_null(strstr(msg, "登録"));
    assert_null(txn_current(f.t)); /* nothing registered */
    assert_int_equal(posfix_audit(&f, "mode.refused"), 1);
    for (enum api_op op = API_SIGNON; op < API_OP_COUNT; op++) {
        if (op == API_STATE || op == API_EVENTS || op == API_JOURNAL_SEARCH)
            continue;
        assert_int_equal(run_op(&g, op, &msg), MAMORI_ERR_PERM);
    }
    assert_int_equal(run_op(&g, API_STATE, &msg), 0); /* reading the state is not operating */
    assert_true(posfix_audit(&f, "mode.refused") > 30);
    /* an out-of-range position is no permission either */
    g.pos = 7;
    assert_int_equal(run_scan(&g, POSFIX_COLA, &msg), MAMORI_ERR_PERM);
    g.pos = -1;
    assert_int_equal(run_scan(&g, POSFIX_COLA, &msg), MAMORI_ERR_PERM);
    /* turned to 登録: the same scan registers */
    g.pos = POSMODE_REG;
    assert_int_equal(run_scan(&g, POSFIX_COLA, &msg), 0);
    assert_int_equal(txn_current(f.t)->n_lines, 1);
    posfix_teardown(&f);
}

static void test_dev11_reports_only_in_their_positions(void **state)
{
    struct posfix f;
    const char *msg = NULL;
    (void)state;
    posfix_setup(&f, false, true);
    struct gatectx g = {.t = f.t, .pos = POSMODE_REG};
    assert_int_equal(run_op(&g, API_REPORT_Z, &msg), MAMORI_ERR_PERM);
    assert_non_null(strstr(msg, "精算"));
    assert_int_equal(run_op(&g, API_REPORT_X, &msg), MAMORI_ERR_PERM);
    assert_non_null(strstr(msg, "点検"));
    assert_int_equal(run_op(&g, API_DAY_OPEN, &msg), MAMORI_ERR_PERM);
    assert_non_null(strstr(msg, "設定"));
    g.pos = POSMODE_X;
    assert_int_equal(run_op(&g, API_REPORT_Z, &msg), MAMORI_ERR_PERM);
    assert_int_equal(run_scan(&g, POSFIX_COLA, &msg), MAMORI_ERR_PERM);
    assert_int_equal(run_op(&g, API_REPORT_X, &msg), 0);
    g.pos = POSMODE_SET;
    assert_int_equal(run_op(&g, API_DAY_OPEN, &msg), 0);
    assert_int_equal(run_op(&g, API_REPORT_X, &msg), MAMORI_ERR_PERM);
    g.pos = POSMODE_Z;
    assert_int_equal(run_op(&g, API_REPORT_X, &msg), MAMORI_ERR_PERM);
    assert_int_equal(run_op(&g, API_REPORT_Z, &msg), 0);
    assert_int_equal(run_op(&g, API_DAY_CLOSE, &msg), 0);
    /* with a mode key, training is the key's, never the API's */
    struct api_req q;
    memset(&q, 0, sizeof(q));
    q.op = API_TRAINING;
    q.on = true;
    q.have = API_F_ON;
    for (g.pos = POSMODE_LOCK; g.pos <= POSMODE_COUNT; g.pos++)
        assert_int_equal(run(&g, &q, &msg), MAMORI_ERR_PERM);
    assert_false(txn_training(f.t));
    /* no keylock enrolled (POSMODE_NONE): everything as before */
    g.pos = POSMODE_NONE;
    assert_int_equal(run(&g, &q, &msg), 0);
    assert_true(txn_training(f.t));
    assert_int_equal(run_op(&g, API_REPORT_X, &msg), 0);
    posfix_teardown(&f);
}

static void test_dev11_training_position_runs_training_mode(void **state)
{
    struct posfix f;
    const char *msg = NULL;
    (void)state;
    posfix_setup(&f, false, true);
    struct gatectx g = {.t = f.t, .pos = POSMODE_TRAIN};
    assert_int_equal(run_scan(&g, POSFIX_COLA, &msg), 0);
    assert_true(txn_training(f.t));
    assert_true(txn_current(f.t)->training);
    /* turned to 登録 in the middle: no mixing, the training sale is refused */
    g.pos = POSMODE_REG;
    assert_int_equal(run_scan(&g, POSFIX_COLA, &msg), MAMORI_ERR_PERM);
    assert_non_null(strstr(msg, "訓練"));
    assert_int_equal(txn_current(f.t)->n_lines, 1);
    g.pos = POSMODE_TRAIN;
    assert_int_equal(tender_cash(f.t, 1000), 0);
    assert_true(posfix_receipt_has(&f, "トレーニング"));
    /* back in 登録 between transactions: training off, a real sale */
    g.pos = POSMODE_REG;
    assert_int_equal(run_scan(&g, POSFIX_COLA, &msg), 0);
    assert_false(txn_training(f.t));
    assert_false(txn_current(f.t)->training);
    /* a real transaction open, key to 訓練: refused until it is finished */
    g.pos = POSMODE_TRAIN;
    assert_int_equal(run_scan(&g, POSFIX_COLA, &msg), MAMORI_ERR_PERM);
    assert_non_null(strstr(msg, "登録"));
    g.pos = POSMODE_REG;
    assert_int_equal(tender_cash(f.t, 1000), 0);
    assert_false(posfix_receipt_has(&f, "トレーニング"));
    assert_int_equal(posfix_audit(&f, "training.on"), 1);
    assert_int_equal(posfix_audit(&f, "training.off"), 1);
    posfix_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dev11_lock_refuses_every_operation_and_audits),
        cmocka_unit_test(test_dev11_reports_only_in_their_positions),
        cmocka_unit_test(test_dev11_training_position_runs_training_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
