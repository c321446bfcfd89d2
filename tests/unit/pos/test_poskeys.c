/*
 * test_poskeys: POS keyboard key sequences to register operations (OPS-1
 * key-in), with hostile key streams: unknown keys, over-long entries,
 * quantities without an item, keys that would need a password.
 */
#include <string.h>

#include "posfix.h"
#include "testutil.h"

#include "mamori/err.h"
#include "pos/poskeys.h"

static int press_all(struct poskeys *k, const struct txn *t, const char *const *keys, size_t n,
                     char *line)
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
    char line[POSKEYS_LINE_MAX];
    (void)state;
    posfix_setup(&f, false, true);
    poskeys_init(&k);
    assert_int_equal(PRESS(&k, NULL, line, "4", "9", "0", "1", "2", "3", "4", "5", "6", "7", "8",
                           "9", "4", "ENTER"), 1);
    assert_string_equal(line, "scan 4901234567894");
    assert_int_equal(PRESS(&k, NULL, line, "3", "QTY", "1", "PLU"), 1);
    assert_string_equal(line, "plu 1 3");
    assert_int_equal(PRESS(&k, NULL, line, "5", "00", "DEPT"), 1);
    assert_string_equal(line, "dept 1 500");
    assert_int_equal(PRESS(&k, NULL, line, "SUBTOTAL"), 1);
    assert_string_equal(line, "subtotal");
    assert_int_equal(PRESS(&k, NULL, line, "1", "0", "00", "CASH"), 1);
    assert_string_equal(line, "cash 1000");
    /* CASH alone pays the amount due; VOID takes the last live line */
    assert_int_equal(txn_scan(f.t, POSFIX_COLA, 1), 0);
    assert_int_equal(txn_scan(f.t, POSFIX_PASTE, 1), 0);
    assert_int_equal(PRESS(&k, f.t, line, "CASH"), 1);
    assert_string_equal(line, "cash 438");
    assert_int_equal(PRESS(&k, f.t, line, "VOID"), 1);
    assert_string_equal(line, "void 2");
    assert_int_equal(PRESS(&k, f.t, line, "2", "CLEAR", "EATIN"), 1);
    assert_string_equal(line, "eatin on");
    posfix_teardown(&f);
}

static void test_ops1_keyboard_hostile(void **state)
{
    struct poskeys k;
    char line[POSKEYS_LINE_MAX];
    (void)state;
    poskeys_init(&k);
    assert_int_equal(poskeys_press(&k, NULL, "LAUNCH", line), MAMORI_ERR_UNSUPPORTED);
    assert_int_equal(poskeys_press(&k, NULL, NULL, line), MAMORI_ERR_INVAL);
    assert_int_equal(poskeys_press(&k, NULL, "ENTER", line), MAMORI_ERR_INVAL); /* nothing keyed */
    for (int i = 0; i < POSKEYS_ENTRY_MAX; i++)
        assert_int_equal(poskeys_press(&k, NULL, "9", line), 0);
    assert_int_equal(poskeys_press(&k, NULL, "9", line), MAMORI_ERR_TOOBIG);
    assert_int_equal(k.n, 0); /* refused: entry cleared */
    assert_int_equal(PRESS(&k, NULL, line, "12345", "QTY"), MAMORI_ERR_UNSUPPORTED);
    poskeys_init(&k);
    assert_int_equal(PRESS(&k, NULL, line, "1", "2", "3", "4", "5", "QTY"), MAMORI_ERR_INVAL);
    assert_int_equal(PRESS(&k, NULL, line, "2", "QTY", "SUBTOTAL"), MAMORI_ERR_INVAL);
    assert_int_equal(PRESS(&k, NULL, line, "5", "VOID"), MAMORI_ERR_INVAL);
    assert_int_equal(PRESS(&k, NULL, line, "CANCEL"), MAMORI_ERR_UNSUPPORTED);  /* needs a manager */
    assert_int_equal(PRESS(&k, NULL, line, "SIGNON"), MAMORI_ERR_UNSUPPORTED);
    assert_int_equal(PRESS(&k, NULL, line, "CASH"), MAMORI_ERR_STATE);          /* nothing due */
    assert_int_equal(PRESS(&k, NULL, line, "VOID"), MAMORI_ERR_STATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops1_keyboard_sequences),
        cmocka_unit_test(test_ops1_keyboard_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
