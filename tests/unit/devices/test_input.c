/* Unit tests for src/devices/scanner.c, scale.c, keyboard.c, sigpad.c. */
#include "devtest.h"

#include <string.h>

#include "devices/devbody.h"
#include "mamori/err.h"

static void test_dev8_scanner_emits_upos_symbology(void **state)
{
    struct devtest t;
    char s[64];
    devtest_start(&t, "scanner");
    assert_int_equal(devtest_ctl(&t, "scan 4901234567894"), 0);
    const cbor_item_t *ev = devtest_event(&t, "scanner.data", 0);
    assert_string_equal(devtest_str(ev, "data", s, sizeof(s)), "4901234567894");
    assert_int_equal(devtest_int(ev, "symbology"), 104); /* SCAN_SDT_EAN13 */
    assert_int_equal(devtest_ctl(&t, "scan 49123456"), 0);
    assert_int_equal(devtest_int(devtest_event(&t, "scanner.data", 1), "symbology"), 103);
    assert_int_equal(devtest_ctl(&t, "scan 012345678905 upca"), 0);
    assert_int_equal(devtest_int(devtest_event(&t, "scanner.data", 2), "symbology"), 101);
    assert_int_equal(devtest_ctl(&t, "scan ABC-123 code39"), 0);
    assert_int_equal(devtest_int(devtest_event(&t, "scanner.data", 3), "symbology"), 108);
    assert_int_equal(devtest_ctl(&t, "scan T1234 204"), 0);
    assert_int_equal(devtest_int(devtest_event(&t, "scanner.data", 4), "symbology"), 204);
    /* hostile: unknown symbology, control bytes, too long, no code */
    assert_int_equal(devtest_ctl(&t, "scan 123 nosuch"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "scan 12\x1b[3"), MAMORI_ERR_INVAL);
    char big[400] = "scan ";
    memset(big + 5, '7', 300);
    big[305] = 0;
    assert_int_equal(devtest_ctl(&t, big), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "scan"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_count(&t, "scanner.data"), 5);
    /* unplugged: the scan is not delivered and says so */
    t.offline = true;
    assert_int_equal(devtest_ctl(&t, "scan 4901234567894"), MAMORI_ERR_OFFLINE);
    t.offline = false;
    devtest_restart(&t);
    cbor_item_t *st = NULL;
    assert_int_equal(devtest_req(&t, "scanner.status", NULL, &st), 0);
    assert_int_equal(devtest_int(st, "scans"), 6);
    cbor_decref(&st);
    assert_int_equal(devtest_req(&t, "scanner.open_sesame", NULL, NULL), MAMORI_ERR_UNSUPPORTED);
    devtest_stop(&t);
}

static void test_dev13_scale_unstable_refused_only_stable_registers(void **state)
{
    struct devtest t;
    cbor_item_t *r = NULL;
    bool stable;
    devtest_start(&t, "scale");
    assert_int_equal(devtest_ctl(&t, "weight 352 unstable"), 0);
    assert_int_equal(devtest_req(&t, "scale.read", NULL, &r), MAMORI_ERR_AGAIN); /* refused */
    assert_null(r);
    assert_int_equal(devtest_int(devtest_event(&t, "scale.status", 0), "status"), 12);
    assert_int_equal(devtest_ctl(&t, "weight 352 stable"), 0);
    assert_int_equal(devtest_req(&t, "scale.read", NULL, &r), 0);
    assert_int_equal(devtest_int(r, "weight_g"), 352);
    assert_int_equal(devbody_get_bool(r, "stable", &stable), 0);
    assert_true(stable);
    cbor_decref(&r);
    assert_int_equal(devtest_ctl(&t, "weight 40000 stable"), 0);
    assert_int_equal(devtest_req(&t, "scale.read", NULL, NULL), MAMORI_ERR_TOOBIG); /* overweight */
    assert_int_equal(devtest_ctl(&t, "weight -20 stable"), 0);
    assert_int_equal(devtest_req(&t, "scale.read", NULL, NULL), MAMORI_ERR_STATE); /* under zero */
    assert_int_equal(devtest_ctl(&t, "weight 99999999999 stable"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "weight 12x stable"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "weight 12 wobbly"), MAMORI_ERR_INVAL);
    /* the platter survives a restart */
    assert_int_equal(devtest_ctl(&t, "weight 120 unstable"), 0);
    devtest_restart(&t);
    assert_int_equal(devtest_req(&t, "scale.read", NULL, NULL), MAMORI_ERR_AGAIN);
    /* a body on a read is checked too */
    cbor_item_t *b = cbor_new_definite_array(0);
    assert_int_equal(devtest_req(&t, "scale.read", b, NULL), MAMORI_ERR_INVAL);
    devtest_stop(&t);
}

static void test_keyboard_keys(void **state)
{
    struct devtest t;
    char s[16];
    devtest_start(&t, "keyboard");
    assert_int_equal(devtest_ctl(&t, "key subtotal"), 0);
    assert_string_equal(devtest_str(devtest_event(&t, "keyboard.key", 0), "key", s, sizeof(s)), "SUBTOTAL");
    assert_int_equal(devtest_ctl(&t, "key CASH"), 0);
    assert_int_equal(devtest_ctl(&t, "type 1200"), 0);
    assert_int_equal(devtest_count(&t, "keyboard.key"), 6);
    assert_string_equal(devtest_str(devtest_event(&t, "keyboard.key", 3), "key", s, sizeof(s)), "2");
    assert_int_equal(devtest_int(devtest_event(&t, "keyboard.key", 3), "code"), '2');
    assert_int_equal(devtest_ctl(&t, "key NUKE"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "type 12a"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "type 12345678901234567890123456789012345678901234567890123456789012345"),
                     MAMORI_ERR_INVAL);
    assert_int_equal(devtest_count(&t, "keyboard.key"), 6);
    devtest_restart(&t);
    cbor_item_t *st = NULL;
    assert_int_equal(devtest_req(&t, "keyboard.status", NULL, &st), 0);
    assert_int_equal(devtest_int(st, "presses"), 6);
    cbor_decref(&st);
    devtest_stop(&t);
}

static void test_sigpad_capture(void **state)
{
    struct devtest t;
    devtest_start(&t, "sigpad");
    assert_int_equal(devtest_ctl(&t, "sign"), MAMORI_ERR_STATE); /* not capturing */
    assert_int_equal(devtest_req(&t, "sigpad.capture", NULL, NULL), 0);
    assert_int_equal(devtest_req(&t, "sigpad.capture", NULL, NULL), MAMORI_ERR_BUSY);
    assert_int_equal(devtest_ctl(&t, "sign 10,20 30,40 2000,1"), MAMORI_ERR_INVAL); /* off the pad */
    assert_int_equal(devtest_ctl(&t, "sign 10,20 30,40 -1,5"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "sign 10,20 30,40"), 0);
    const cbor_item_t *pts = devbody_find(devtest_event(&t, "sigpad.data", 0), "points");
    assert_non_null(pts);
    assert_int_equal(cbor_array_size(pts), 2);
    int64_t y;
    assert_int_equal(devbody_int_value(cbor_array_handle(cbor_array_handle(pts)[1])[1], &y), 0);
    assert_int_equal(y, 40);
    assert_int_equal(devtest_req(&t, "sigpad.capture", NULL, NULL), 0);
    assert_int_equal(devtest_ctl(&t, "sign"), 0);
    assert_int_equal(cbor_array_size(devbody_find(devtest_event(&t, "sigpad.data", 1), "points")), 64);
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_int(b, "form", 3), 0);
    assert_int_equal(devtest_req(&t, "sigpad.capture", b, NULL), MAMORI_ERR_INVAL);
    devtest_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dev8_scanner_emits_upos_symbology),
        cmocka_unit_test(test_dev13_scale_unstable_refused_only_stable_registers),
        cmocka_unit_test(test_keyboard_keys),
        cmocka_unit_test(test_sigpad_capture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
