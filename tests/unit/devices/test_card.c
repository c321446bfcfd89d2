/* Unit tests for src/devices/msr.c, pinpad.c, icreader.c (POL-2, DEV-7/14/15). */
#include "devtest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devbody.h"
#include "mamori/err.h"

#define PAN "4111111111111111"
#define PAN_MID "11111111" /* the part that masking removes */

/* true if needle occurs in any file of dir (state, logs, outputs). */
static bool dir_contains(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;
    assert_non_null(d);
    while (!found && (e = readdir(d)) != NULL) {
        char path[4200], data[65536];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        size_t n = fread(data, 1, sizeof(data) - 1, f);
        fclose(f);
        data[n] = 0;
        found = memmem(data, n, needle, strlen(needle)) != NULL;
    }
    closedir(d);
    return found;
}

static void test_pol2_msr_refuses_clear_output_without_key(void **state)
{
    struct devtest t;
    struct buf all;
    char s[32];
    devtest_start(&t, "msr");
    assert_int_equal(devtest_ctl(&t, "swipe %B" PAN "^MAMORI/TARO^2812101123456789? ;" PAN "=28121011234567?"),
                     MAMORI_ERR_STATE);
    assert_non_null(strstr(devtest_answer(&t), "no key"));
    /* nothing read: no msr.data, an msr.error saying why */
    assert_int_equal(devtest_count(&t, "msr.data"), 0);
    assert_string_equal(devtest_str(devtest_event(&t, "msr.error", 0), "reason", s, sizeof(s)), "no key");
    /* and nothing of the card in anything that left the device or stayed on its disk */
    buf_init(&all, 0);
    devtest_events_bytes(&t, &all);
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), PAN_MID, strlen(PAN_MID)));
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), "4111", 4));
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), "TARO", 4));
    buf_free(&all);
    assert_false(dir_contains(t.dir, PAN_MID));
    assert_false(dir_contains(t.dir, "TARO"));
    /* key injection is not available before issue 4: still no key */
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_bytes(b, "block", "D0112P0AE00E0000", 16), 0);
    assert_int_equal(devtest_req(&t, "msr.key_inject", b, NULL), MAMORI_ERR_UNSUPPORTED);
    cbor_item_t *st = NULL;
    bool key = true;
    assert_int_equal(devtest_req(&t, "msr.status", NULL, &st), 0);
    assert_int_equal(devbody_get_bool(st, "key", &key), 0);
    assert_false(key);
    assert_int_equal(devtest_int(st, "refused"), 1);
    cbor_decref(&st);
    assert_int_equal(devtest_ctl(&t, "swipe - ;" PAN "=2812101?"), MAMORI_ERR_STATE);
    assert_int_equal(devtest_count(&t, "msr.data"), 0);
    assert_int_equal(devtest_ctl(&t, "swipe"), MAMORI_ERR_INVAL);
    devtest_stop(&t);
}

static void test_pol2_pinpad_refuses_pin_entry_without_key(void **state)
{
    struct devtest t;
    cbor_item_t *b;
    devtest_start(&t, "pinpad");
    b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", 5400), 0);
    assert_int_equal(devtest_req(&t, "pinpad.begin", b, NULL), MAMORI_ERR_STATE);
    /* no session: digits are refused and never kept */
    assert_int_equal(devtest_ctl(&t, "pin 1234"), MAMORI_ERR_STATE);
    assert_int_equal(devtest_ctl(&t, "enter"), MAMORI_ERR_STATE);
    assert_int_equal(devtest_count(&t, "pinpad.data"), 0);
    assert_false(dir_contains(t.dir, "1234"));
    /* hostile amounts are refused before anything else */
    b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", -1), 0);
    assert_int_equal(devtest_req(&t, "pinpad.begin", b, NULL), MAMORI_ERR_INVAL);
    b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", 1000000000000), 0);
    assert_int_equal(devtest_req(&t, "pinpad.begin", b, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "pinpad.begin", NULL, NULL), MAMORI_ERR_INVAL);
    /* tamper: recorded, reported, and it stays tampered across a restart */
    assert_int_equal(devtest_ctl(&t, "tamper"), 0);
    assert_int_equal(devtest_count(&t, "pinpad.status"), 1);
    devtest_restart(&t);
    b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", 5400), 0);
    assert_int_equal(devtest_req(&t, "pinpad.begin", b, NULL), MAMORI_ERR_TAMPER);
    cbor_item_t *st = NULL;
    bool tampered = false;
    assert_int_equal(devtest_req(&t, "pinpad.status", NULL, &st), 0);
    assert_int_equal(devbody_get_bool(st, "tampered", &tampered), 0);
    assert_true(tampered);
    cbor_decref(&st);
    assert_true(dir_contains(t.dir, "pinpad.tamper"));
    devtest_stop(&t);
}

static cbor_item_t *pay_body(int64_t amount, const char *idem)
{
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", amount), 0);
    if (idem != NULL)
        assert_int_equal(devbody_put_str(b, "idem", idem), 0);
    return b;
}

static void test_dev15_emoney_deducted_in_card_once(void **state)
{
    struct devtest t;
    cbor_item_t *r1 = NULL, *r2 = NULL, *bal = NULL;
    char s[32];
    devtest_start(&t, "icreader");
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(100, "P0"), NULL), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devtest_ctl(&t, "card emoney 0123456789012345"), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devtest_ctl(&t, "card emoney 0123456789012345 3000"), 0);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(1280, "P1"), &r1), 0);
    assert_int_equal(devtest_int(r1, "balance_after"), 1720);
    assert_string_equal(devtest_str(r1, "card", s, sizeof(s)), "************2345");
    assert_int_equal(devtest_int(devbody_find(r1, "record"), "seq"), 1);
    /* a retry deducts nothing */
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(1280, "P1"), &r2), 0);
    assert_true(devtest_same(r1, r2));
    assert_int_equal(devtest_req(&t, "icreader.emoney_balance", NULL, &bal), 0);
    assert_int_equal(devtest_int(bal, "balance"), 1720);
    cbor_decref(&bal);
    /* insufficient, hostile */
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(5000, "P2"), NULL), MAMORI_ERR_DECLINED);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(-5, "P3"), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(5, NULL), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(99, "P1"), NULL), MAMORI_ERR_EXISTS);
    /* the balance lives in the card: take it out, restart, put it back */
    assert_int_equal(devtest_ctl(&t, "remove"), 0);
    devtest_restart(&t);
    assert_int_equal(devtest_ctl(&t, "card emoney 0123456789012345"), 0);
    assert_int_equal(devtest_req(&t, "icreader.emoney_balance", NULL, &bal), 0);
    assert_int_equal(devtest_int(bal, "balance"), 1720);
    cbor_decref(&bal);
    cbor_decref(&r2);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(1280, "P1"), &r2), 0);
    assert_true(devtest_same(r1, r2)); /* remembered across restart */
    assert_int_equal(devtest_ctl(&t, "card emoney 12 100"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "card emoney 0123456789012345 9999999"), MAMORI_ERR_INVAL);
    cbor_decref(&r1);
    cbor_decref(&r2);
    devtest_stop(&t);
}

static void test_pol2_icreader_credit_read_refused_without_key(void **state)
{
    struct devtest t;
    devtest_start(&t, "icreader");
    assert_int_equal(devtest_ctl(&t, "card credit " PAN " 2812"), 0);
    assert_int_equal(devtest_req(&t, "icreader.read", NULL, NULL), MAMORI_ERR_STATE);
    assert_false(dir_contains(t.dir, PAN_MID));
    struct buf all;
    buf_init(&all, 0);
    devtest_events_bytes(&t, &all);
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), PAN_MID, strlen(PAN_MID)));
    buf_free(&all);
    assert_int_equal(devtest_ctl(&t, "card credit 12ab 2812"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "card credit " PAN " 2899"), MAMORI_ERR_INVAL);
    devtest_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol2_msr_refuses_clear_output_without_key),
        cmocka_unit_test(test_pol2_pinpad_refuses_pin_entry_without_key),
        cmocka_unit_test(test_dev15_emoney_deducted_in_card_once),
        cmocka_unit_test(test_pol2_icreader_credit_read_refused_without_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
