/*
 * test_poskeys: POS keyboard key sequences to register API requests (OPS-1
 * key-in), executed through api_exec on a real register, with hostile key
 * streams: unknown keys, over-long entries, quantities without an item, keys
 * that would need a password.
 */
#include <string.h>

#include "posfix.h"
#include "testutil.h"

#include "mamori/err.h"
#include "pos/poskeys.h"

static int press_all(struct poskeys *k, const struct txn *t, const char *const *keys, size_t n,
                     struct api_req *line)
{
    int r = 0;
    for (size_t i = 0; i < n; i++)
        if ((r = poskeys_press(k, t, keys[i], line)) != 0)
            return r;
    return r;
}

#define PRESS(k, t, line, ...)                                                       \
    press_all((k), (t), (const char *const[]){__VA_ARGS__},                            \
              sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), (line))

static void test_ops1_keyboard_sequences(void **state)
{
    struct posfix f;
    struct poskeys k;
    struct api_req q;
    (void)state;
    posfix_setup(&f, false, true);
    poskeys_init(&k);
    assert_int_equal(PRESS(&k, NULL, &q, "4", "9", "0", "1", "2", "3", "4", "5", "6", "7", "8",
                           "9", "4", "ENTER"), 1);
    assert_int_equal(q.op, API_SCAN);
    assert_string_equal(q.code, "4901234567894");
    assert_false(q.have & API_F_QTY);
    assert_int_equal(PRESS(&k, NULL, &q, "3", "QTY", "1", "PLU"), 1);
    assert_int_equal(q.op, API_PLU);
    assert_string_equal(q.plu, "1");
    assert_true(q.have & API_F_QTY);
    assert_int_equal(q.qty, 3);
    assert_int_equal(PRESS(&k, NULL, &q, "5", "00", "DEPT"), 1);
    assert_int_equal(q.op, API_DEPT);
    assert_int_equal(q.dept, 1);
    assert_int_equal(q.price, 500);
    assert_int_equal(PRESS(&k, NULL, &q, "SUBTOTAL"), 1);
    assert_int_equal(q.op, API_SUBTOTAL);
    assert_int_equal(PRESS(&k, NULL, &q, "1", "0", "00", "CASH"), 1);
    assert_int_equal(q.op, API_CASH);
    assert_true(q.have & API_F_AMOUNT);
    assert_int_equal(q.amount, 1000);
    /* CASH alone: through the change machine (no amount) */
    assert_int_equal(PRESS(&k, NULL, &q, "CASH"), 1);
    assert_int_equal(q.op, API_CASH);
    assert_false(q.have & API_F_AMOUNT);
    /* VOID takes the last live line; the requests run on the register */
    assert_int_equal(txn_scan(f.t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_scan(f.t, POSFIX_PASTE, 1), 0);
    assert_int_equal(PRESS(&k, f.t, &q, "VOID"), 1);
    assert_int_equal(q.op, API_VOID);
    assert_int_equal(q.line, 2);
    {
        struct api_env env = {.txn = f.t};
        json_t *res = NULL;
        const char *msg = NULL;
        assert_int_equal(api_exec(&env, &q, &res, &msg), 0);
        json_decref(res);
        assert_true(txn_current(f.t)->lines[1].voided);
        /* a second VOID takes line 1, not the voided line 2 */
        assert_int_equal(PRESS(&k, f.t, &q, "VOID"), 1);
        assert_int_equal(q.line, 1);
        assert_int_equal(PRESS(&k, f.t, &q, "2", "QTY"), 0);
        for (const char *c = POSFIX_COLA; *c; c++)
            assert_int_equal(poskeys_press(&k, f.t, (char[2]){*c, '\0'}, &q), 0);
        assert_int_equal(poskeys_press(&k, f.t, "ENTER", &q), 1);
        assert_int_equal(api_exec(&env, &q, &res, &msg), 0);
        json_decref(res);
        assert_int_equal(txn_current(f.t)->lines[2].qty, 2);
    }
    assert_int_equal(PRESS(&k, f.t, &q, "2", "CLEAR", "EATIN"), 1);
    assert_int_equal(q.op, API_EAT_IN);
    assert_true(q.on);
    assert_int_equal(PRESS(&k, f.t, &q, "TAKEOUT"), 1);
    assert_false(q.on);
    assert_int_equal(PRESS(&k, f.t, &q, "1", "2", "GIFT"), 1);
    assert_int_equal(q.op, API_GIFT);
    assert_int_equal(q.amount, 12);
    posfix_teardown(&f);
}

static void test_ops1_keyboard_hostile(void **state)
{
    struct poskeys k;
    struct api_req q;
    (void)state;
    poskeys_init(&k);
    assert_int_equal(poskeys_press(&k, NULL, "LAUNCH", &q), MAMORI_ERR_UNSUPPORTED);
    assert_int_equal(poskeys_press(&k, NULL, NULL, &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_press(&k, NULL, "ENTER", &q), MAMORI_ERR_INVAL); /* nothing keyed */
    for (int i = 0; i < POSKEYS_ENTRY_MAX; i++)
        assert_int_equal(poskeys_press(&k, NULL, "9", &q), 0);
    assert_int_equal(poskeys_press(&k, NULL, "9", &q), MAMORI_ERR_TOOBIG);
    assert_int_equal(k.n, 0); /* refused: entry cleared */
    assert_int_equal(PRESS(&k, NULL, &q, "12345", "QTY"), MAMORI_ERR_UNSUPPORTED);
    poskeys_init(&k);
    assert_int_equal(PRESS(&k, NULL, &q, "1", "2", "3", "4", "5", "QTY"), MAMORI_ERR_INVAL);
    assert_int_equal(PRESS(&k, NULL, &q, "0", "QTY"), MAMORI_ERR_INVAL);
    assert_int_equal(PRESS(&k, NULL, &q, "2", "QTY", "SUBTOTAL"), MAMORI_ERR_INVAL);
    assert_int_equal(PRESS(&k, NULL, &q, "5", "VOID"), MAMORI_ERR_INVAL);
    assert_int_equal(PRESS(&k, NULL, &q, "CANCEL"), MAMORI_ERR_UNSUPPORTED);  /* needs a manager */
    assert_int_equal(PRESS(&k, NULL, &q, "SIGNON"), MAMORI_ERR_UNSUPPORTED);
    assert_int_equal(PRESS(&k, NULL, &q, "RECEIPT"), MAMORI_ERR_UNSUPPORTED);
    assert_int_equal(PRESS(&k, NULL, &q, "GIFT"), MAMORI_ERR_INVAL);             /* no amount */
    assert_int_equal(PRESS(&k, NULL, &q, "VOID"), MAMORI_ERR_STATE);            /* no lines */
    /* 16 digits do not make an amount (no overflow) */
    assert_int_equal(PRESS(&k, NULL, &q, "9", "9", "9", "9", "9", "9", "9", "9", "9", "9", "9",
                           "9", "9", "9", "9", "9", "CASH"), MAMORI_ERR_INVAL);
}

static void test_dev10_touch_buttons_map_like_keys(void **state)
{
    struct posfix f;
    struct poskeys k;
    struct api_req q;
    struct api_env env;
    json_t *res = NULL;
    const char *msg = NULL;
    (void)state;
    posfix_setup(&f, false, true);
    env = (struct api_env){.txn = f.t};
    poskeys_init(&k);
    /* a preset PLU button: the register sells PLU 1 */
    assert_int_equal(poskeys_button(&k, f.t, "PLU:1", &q), 1);
    assert_int_equal(q.op, API_PLU);
    assert_string_equal(q.plu, "1");
    assert_int_equal(api_exec(&env, &q, &res, &msg), 0);
    json_decref(res);
    /* the numeric pad and × on the panel: 3 × PLU:1 */
    assert_int_equal(poskeys_button(&k, f.t, "3", &q), 0);
    assert_int_equal(poskeys_button(&k, f.t, "QTY", &q), 0);
    assert_int_equal(poskeys_button(&k, f.t, "PLU:1", &q), 1);
    assert_int_equal(q.qty, 3);
    assert_true(q.have & API_F_QTY);
    assert_int_equal(api_exec(&env, &q, &res, &msg), 0);
    json_decref(res);
    assert_int_equal(txn_current(f.t)->lines[1].qty, 3);
    /* typed digits then a function button: 5 00 DEPT */
    assert_int_equal(poskeys_button(&k, f.t, "5", &q), 0);
    assert_int_equal(poskeys_button(&k, f.t, "00", &q), 0);
    assert_int_equal(poskeys_button(&k, f.t, "DEPT", &q), 1);
    assert_int_equal(q.op, API_DEPT);
    assert_int_equal(q.price, 500);
    /* VOID takes the last live line, as the VOID key */
    assert_int_equal(poskeys_button(&k, f.t, "VOID", &q), 1);
    assert_int_equal(q.op, API_VOID);
    assert_int_equal(q.line, 2);
    assert_int_equal(poskeys_button(&k, f.t, "SUBTOTAL", &q), 1);
    assert_int_equal(q.op, API_SUBTOTAL);
    assert_int_equal(api_exec(&env, &q, &res, &msg), 0);
    json_decref(res);
    /* 千円 pays 1000 cash; 108 x 4 = 432, change 568 */
    assert_int_equal(poskeys_button(&k, f.t, "CASH:1000", &q), 1);
    assert_int_equal(q.op, API_CASH);
    assert_int_equal(q.amount, 1000);
    assert_int_equal(api_exec(&env, &q, &res, &msg), 0);
    json_decref(res);
    assert_int_equal(txn_last_receipt(f.t), 1);
    assert_int_equal(txn_last_change(f.t), 568);
    posfix_teardown(&f);
}

static void test_dev10_touch_hostile_buttons(void **state)
{
    struct poskeys k;
    struct api_req q;
    char big[64];
    (void)state;
    poskeys_init(&k);
    assert_int_equal(poskeys_button(&k, NULL, NULL, &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, "", &q), MAMORI_ERR_INVAL);
    memset(big, 'A', 33);
    big[33] = '\0';
    assert_int_equal(poskeys_button(&k, NULL, big, &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, "plu:1", &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, "PLU:", &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, ":12", &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, "PLU:1a", &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, "PLU:1:2", &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, "PLU:-1", &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, "CASH:1234567890123456", &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, "7:5", &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, "PLU\n", &q), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_button(&k, NULL, "SUB TOTAL", &q), MAMORI_ERR_INVAL);
    /* unknown button ids: refused as unknown, not as a console key */
    assert_int_equal(poskeys_button(&k, NULL, "LAUNCH", &q), MAMORI_ERR_NOTFOUND);
    assert_int_equal(poskeys_button(&k, NULL, "PLUS:1", &q), MAMORI_ERR_NOTFOUND);
    assert_int_equal(poskeys_button(&k, NULL, "000", &q), MAMORI_ERR_NOTFOUND);
    /* keys that need a manager's password stay refused, as on the keyboard */
    assert_int_equal(poskeys_button(&k, NULL, "CANCEL", &q), MAMORI_ERR_UNSUPPORTED);
    assert_int_equal(poskeys_button(&k, NULL, "DISCOUNT", &q), MAMORI_ERR_UNSUPPORTED);
    assert_int_equal(poskeys_button(&k, NULL, "NOSALE", &q), MAMORI_ERR_UNSUPPORTED);
    assert_int_equal(poskeys_button(&k, NULL, "NOSALE:1", &q), MAMORI_ERR_INVAL);
    /* a preset button does not swallow typed digits: refused, entry cleared */
    assert_int_equal(poskeys_button(&k, NULL, "4", &q), 0);
    assert_int_equal(poskeys_button(&k, NULL, "PLU:102", &q), MAMORI_ERR_INVAL);
    assert_int_equal(k.n, 0);
    /* a refused button leaves nothing behind: the next one works alone */
    assert_int_equal(poskeys_button(&k, NULL, "9", &q), 0);
    assert_int_equal(poskeys_button(&k, NULL, "LAUNCH", &q), MAMORI_ERR_NOTFOUND);
    assert_int_equal(poskeys_button(&k, NULL, "PLU:102", &q), 1);
    assert_string_equal(q.plu, "102");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops1_keyboard_sequences),
        cmocka_unit_test(test_ops1_keyboard_hostile),
        cmocka_unit_test(test_dev10_touch_buttons_map_like_keys),
        cmocka_unit_test(test_dev10_touch_hostile_buttons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
