/* Unit tests for src/devices/scanner.c, scale.c, keyboard.c, sigpad.c,
 * touchpanel.c, keylock.c. */
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

static void test_dev10_touchpanel_buttons_and_misses(void **state)
{
    struct devtest t;
    char s[32];
    cbor_item_t *st = NULL;
    (void)state;
    devtest_start(&t, "touchpanel");
    /* (450, 40) is inside the fifth button of the first row: PLU 101 */
    assert_int_equal(devtest_ctl(&t, "touch 450 40"), 0);
    const cbor_item_t *ev = devtest_event(&t, "touchpanel.touch", 0);
    assert_string_equal(devtest_str(ev, "button", s, sizeof(s)), "PLU:101");
    assert_int_equal(devtest_int(ev, "x"), 450);
    assert_int_equal(devtest_int(ev, "y"), 40);
    assert_int_equal(devtest_ctl(&t, "press SUBTOTAL"), 0);
    assert_string_equal(devtest_str(devtest_event(&t, "touchpanel.touch", 1), "button", s, sizeof(s)),
                        "SUBTOTAL");
    assert_int_equal(devtest_ctl(&t, "press CASH:1000"), 0);
    /* outside every button: the gap between buttons, the corner, off the screen */
    assert_int_equal(devtest_ctl(&t, "touch 100 40"), MAMORI_ERR_NOTFOUND);
    assert_non_null(strstr(devtest_answer(&t), "no button"));
    assert_int_equal(devtest_ctl(&t, "touch 0 0"), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devtest_ctl(&t, "touch 150 470"), MAMORI_ERR_NOTFOUND); /* empty cell */
    assert_int_equal(devtest_ctl(&t, "touch 800 10"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "touch -1 10"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "touch 10 99999999999999999999999"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "touch 1x 10"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "press NUKE"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "press \x1b[2J"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "touch 10"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_count(&t, "touchpanel.touch"), 3); /* nothing sent for any of them */
    /* unplugged: not delivered, says so */
    t.offline = true;
    assert_int_equal(devtest_ctl(&t, "press VOID"), MAMORI_ERR_OFFLINE);
    t.offline = false;
    devtest_restart(&t);
    assert_int_equal(devtest_req(&t, "touchpanel.status", NULL, &st), 0);
    assert_int_equal(devtest_int(st, "touches"), 3);
    assert_int_equal(devtest_int(st, "missed"), 3);
    cbor_decref(&st);
    assert_int_equal(devtest_req(&t, "touchpanel.layout", NULL, &st), 0);
    const cbor_item_t *lay = devbody_find(st, "layout");
    assert_non_null(lay);
    assert_int_equal(cbor_array_size(lay), (size_t)devtest_int(st, "buttons"));
    assert_string_equal(devtest_str(cbor_array_handle(lay)[0], "label", s, sizeof(s)), "バナナ");
    cbor_decref(&st);
    assert_int_equal(devtest_req(&t, "touchpanel.touch", NULL, NULL), MAMORI_ERR_UNSUPPORTED);
    devtest_stop(&t);
}

static void test_dev11_keylock_positions_and_status_events(void **state)
{
    struct devtest t;
    cbor_item_t *st = NULL;
    (void)state;
    devtest_start(&t, "keylock");
    assert_int_equal(devtest_req(&t, "keylock.status", NULL, &st), 0);
    assert_int_equal(devtest_int(st, "position"), 1); /* delivered locked */
    assert_int_equal(devtest_int(st, "count"), 6);
    assert_int_equal(devtest_int(st, "type"), 1); /* LOCK_KT_STANDARD */
    cbor_decref(&st);
    assert_int_equal(devtest_ctl(&t, "turn reg"), 0);
    const cbor_item_t *ev = devtest_event(&t, "keylock.status", 0);
    assert_int_equal(devtest_int(ev, "status"), 2); /* StatusUpdateEvent: Status = new position */
    assert_int_equal(devtest_int(ev, "position"), 2);
    assert_int_equal(devtest_ctl(&t, "turn 4"), 0);
    assert_int_equal(devtest_int(devtest_event(&t, "keylock.status", 1), "position"), 4);
    assert_int_equal(devtest_ctl(&t, "turn Z"), 0); /* same position: no event */
    assert_int_equal(devtest_count(&t, "keylock.status"), 2);
    /* hostile: out of range, garbage, missing */
    assert_int_equal(devtest_ctl(&t, "turn 0"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "turn 7"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "turn -2"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "turn lockk"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "turn"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_count(&t, "keylock.status"), 2);
    /* a turn while unplugged still turns the key (it is mechanical) */
    t.offline = true;
    assert_int_equal(devtest_ctl(&t, "turn train"), MAMORI_ERR_OFFLINE);
    t.offline = false;
    devtest_restart(&t); /* the position survives a power cycle */
    assert_int_equal(devtest_req(&t, "keylock.status", NULL, &st), 0);
    assert_int_equal(devtest_int(st, "position"), 6);
    assert_int_equal(devtest_int(st, "turns"), 3);
    cbor_decref(&st);
    /* the only request is status; a terminal cannot set the position */
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_int(b, "position", 2), 0);
    assert_int_equal(devtest_req(&t, "keylock.set", b, NULL), MAMORI_ERR_UNSUPPORTED);
    assert_int_equal(devtest_req(&t, "keylock.status", NULL, &st), 0);
    assert_int_equal(devtest_int(st, "position"), 6);
    cbor_decref(&st);
    devtest_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dev8_scanner_emits_upos_symbology),
        cmocka_unit_test(test_dev13_scale_unstable_refused_only_stable_registers),
        cmocka_unit_test(test_keyboard_keys),
        cmocka_unit_test(test_sigpad_capture),
        cmocka_unit_test(test_dev10_touchpanel_buttons_and_misses),
        cmocka_unit_test(test_dev11_keylock_positions_and_status_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
