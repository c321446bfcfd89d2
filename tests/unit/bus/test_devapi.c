/* Unit tests for src/bus/devapi.c against a fake bus: this file implements
 * the bus.h functions devapi uses, routing requests to real device firmware
 * (src/devices) in a temporary directory, so no session layer is needed. */
#include "fakebus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus/bus.h"
#include "bus/devapi.h"
#include "devices/devbody.h"
#include "devices/device.h"
#include "mamori/err.h"

/* -------------------------------------------------------------- listener */

struct seen {
    int data, status, error, output;
    int last_status, last_output;
    char last_data[64];
    bool rearm;                 /* set DataEventEnabled again in the callback */
    bool nested;                /* make synchronous requests from the callback */
    int nested_same, nested_other;
    struct devapi_dev *other;
    bool close_in_callback;
};

static void on_data(void *ctx, struct devapi_dev *d, const char *type, const cbor_item_t *body)
{
    struct seen *s = ctx;
    s->data++;
    if (strcmp(type, "scanner.data") == 0)
        assert_int_equal(devbody_get_str(body, "data", s->last_data, sizeof(s->last_data)), 0);
    assert_false(devapi_data_event_enabled(d)); /* reset before delivery (UPOS) */
    if (s->nested) {
        s->nested_same = devapi_request(d, "scanner.status", NULL, 100, NULL);
        s->nested_other = devapi_request(s->other, "scale.status", NULL, 100, NULL);
    }
    if (s->close_in_callback)
        assert_int_equal(devapi_close(d), OPOS_SUCCESS);
    else if (s->rearm)
        assert_int_equal(devapi_set_data_event_enabled(d, true), OPOS_SUCCESS);
}

static void on_status(void *ctx, struct devapi_dev *d, int status, const char *type,
                      const cbor_item_t *body)
{
    struct seen *s = ctx;
    (void)d;
    (void)type;
    (void)body;
    s->status++;
    s->last_status = status;
}

static void on_error(void *ctx, struct devapi_dev *d, int rc, int ext, int locus, const cbor_item_t *body)
{
    struct seen *s = ctx;
    (void)d;
    (void)rc;
    (void)ext;
    (void)locus;
    (void)body;
    s->error++;
}

static void on_output(void *ctx, struct devapi_dev *d, int id)
{
    struct seen *s = ctx;
    (void)d;
    s->output++;
    s->last_output = id;
}

static struct devapi_listener listener(struct seen *s)
{
    memset(s, 0, sizeof(*s));
    return (struct devapi_listener){.ctx = s, .data = on_data, .status = on_status,
                                    .error = on_error, .output_complete = on_output};
}

/* ------------------------------------------------------------------- tests */

static void test_dev6_open_claim_enable_lifecycle(void **state)
{
    struct devapi *a;
    struct devapi_dev *d1, *d2, *dx;
    struct seen s1, s2;
    struct devapi_listener l1 = listener(&s1), l2 = listener(&s2);
    assert_int_equal(devapi_new((struct bus *)&F, &a), 0);
    assert_int_equal(devapi_open(a, "scanner", &l1, &d1), OPOS_SUCCESS);
    assert_string_equal(devapi_serial(d1), "SCN-0001");
    assert_int_equal(devapi_open(a, "SCN-0001", &l2, &d2), OPOS_SUCCESS); /* by serial */
    assert_int_equal(devapi_open(a, "toaster", NULL, &dx), OPOS_E_NOEXIST);
    assert_int_equal(devapi_open(a, "", NULL, &dx), OPOS_E_ILLEGAL);
    assert_int_equal(devapi_state(d1), OPOS_S_IDLE);
    /* used without claim, without enable */
    assert_int_equal(devapi_set_enabled(d1, true), OPOS_E_NOTCLAIMED);
    assert_int_equal(devapi_request(d1, "scanner.status", NULL, 100, NULL), OPOS_SUCCESS); /* properties */
    /* exclusive claim */
    assert_int_equal(devapi_claim(d1, 0), OPOS_SUCCESS);
    assert_int_equal(devapi_claim(d1, 0), OPOS_SUCCESS); /* again by the holder */
    assert_int_equal(devapi_claim(d2, 1000), OPOS_E_CLAIMED);
    assert_int_equal(devapi_set_enabled(d2, true), OPOS_E_CLAIMED);
    assert_int_equal(devapi_release(d2), OPOS_E_NOTCLAIMED);
    assert_int_equal(devapi_set_enabled(d1, true), OPOS_SUCCESS);
    /* a request of another class is illegal, whatever the state */
    assert_int_equal(devapi_request(d1, "drawer.open", NULL, 100, NULL), OPOS_E_ILLEGAL);
    assert_int_equal(devapi_request(d1, "scanner", NULL, 100, NULL), OPOS_E_ILLEGAL);
    assert_int_equal(devapi_request(d1, "scanner.fly", NULL, 100, NULL), OPOS_E_ILLEGAL);
    assert_int_equal(devapi_error(d1), MAMORI_ERR_UNSUPPORTED);
    /* release lets the other handle claim */
    assert_int_equal(devapi_release(d1), OPOS_SUCCESS);
    assert_false(devapi_enabled(d1));
    assert_int_equal(devapi_claim(d2, 0), OPOS_SUCCESS);
    assert_int_equal(devapi_close(d2), OPOS_SUCCESS);
    assert_int_equal(devapi_claim(d1, 0), OPOS_SUCCESS); /* close released the claim */
    assert_int_equal(devapi_close(d1), OPOS_SUCCESS);
    devapi_free(a);
}

static void test_dev8_data_events_fifo_dee_and_freeze(void **state)
{
    struct devapi *a;
    struct devapi_dev *d;
    struct seen s;
    struct devapi_listener l = listener(&s);
    assert_int_equal(devapi_new((struct bus *)&F, &a), 0);
    assert_int_equal(devapi_open(a, "scanner", &l, &d), OPOS_SUCCESS);
    assert_int_equal(devapi_claim(d, 0), OPOS_SUCCESS);
    /* disabled: input is not taken */
    assert_int_equal(fake_ctl("SCN-0001", "scan 4901234567894"), 0);
    assert_int_equal(devapi_data_count(d), 0);
    assert_int_equal(devapi_set_enabled(d, true), OPOS_SUCCESS);
    /* enabled, DataEventEnabled false: queued */
    assert_int_equal(fake_ctl("SCN-0001", "scan 4901234567894"), 0);
    assert_int_equal(fake_ctl("SCN-0001", "scan 4912345678904"), 0);
    assert_int_equal(devapi_data_count(d), 2);
    assert_int_equal(s.data, 0);
    /* arming delivers one, FIFO, and disarms */
    assert_int_equal(devapi_set_data_event_enabled(d, true), OPOS_SUCCESS);
    assert_int_equal(s.data, 1);
    assert_string_equal(s.last_data, "4901234567894");
    assert_false(devapi_data_event_enabled(d));
    assert_int_equal(devapi_data_count(d), 1);
    /* frozen: held even when armed */
    assert_int_equal(devapi_set_freeze_events(d, true), OPOS_SUCCESS);
    assert_int_equal(devapi_set_data_event_enabled(d, true), OPOS_SUCCESS);
    assert_int_equal(s.data, 1);
    assert_int_equal(devapi_set_freeze_events(d, false), OPOS_SUCCESS);
    assert_int_equal(s.data, 2);
    assert_string_equal(s.last_data, "4912345678904");
    /* a listener that re-arms gets every event as it comes */
    s.rearm = true;
    assert_int_equal(devapi_set_data_event_enabled(d, true), OPOS_SUCCESS);
    for (int i = 0; i < 5; i++)
        assert_int_equal(fake_ctl("SCN-0001", "scan 4901234567894"), 0);
    assert_int_equal(s.data, 7);
    /* a synchronous request to the same device from its own callback is refused */
    struct devapi_dev *sc2;
    assert_int_equal(devapi_open(a, "scale", NULL, &sc2), OPOS_SUCCESS);
    s.nested = true;
    s.other = sc2;
    assert_int_equal(fake_ctl("SCN-0001", "scan 4901234567894"), 0);
    assert_int_equal(s.nested_same, OPOS_E_BUSY);
    assert_int_equal(s.nested_other, OPOS_SUCCESS); /* another device is fine */
    assert_int_equal(devapi_request(d, "scanner.status", NULL, 100, NULL), OPOS_SUCCESS); /* and after */
    s.nested = false;
    s.data--; /* keep the counts below as they were */
    assert_int_equal(devapi_close(sc2), OPOS_SUCCESS);
    /* clearInput drops the queue */
    s.rearm = false;
    assert_int_equal(fake_ctl("SCN-0001", "scan 4901234567894"), 0); /* delivered (armed) */
    assert_int_equal(fake_ctl("SCN-0001", "scan 4901234567894"), 0); /* queued */
    assert_int_equal(devapi_data_count(d), 1);
    assert_int_equal(devapi_clear_input(d), OPOS_SUCCESS);
    assert_int_equal(devapi_data_count(d), 0);
    /* a flood fills the queue to its limit and the rest is counted, not kept */
    for (int i = 0; i < DEVAPI_QUEUE_MAX + 10; i++)
        assert_int_equal(fake_ctl("SCN-0001", "scan 4901234567894"), 0);
    assert_int_equal(devapi_data_count(d), DEVAPI_QUEUE_MAX);
    assert_int_equal(devapi_dropped(d), 10);
    /* an event of another class from this device is dropped (a device speaks for its class) */
    cbor_item_t *b = devbody_new();
    assert_int_equal(devbody_put_str(b, "state", "open"), 0);
    F.ev(F.ev_ctx, "SCN-0001", "drawer.status", b);
    cbor_decref(&b);
    assert_int_equal(devapi_dropped(d), 11);
    /* a listener may close its own handle inside the callback */
    s.close_in_callback = true;
    assert_int_equal(devapi_set_data_event_enabled(d, true), OPOS_SUCCESS);
    assert_int_equal(s.data, 9);
    devapi_free(a);
}

static void test_dev13_scale_maps_upos_codes(void **state)
{
    struct devapi *a;
    struct devapi_dev *d;
    struct seen s;
    struct devapi_listener l = listener(&s);
    cbor_item_t *r = NULL;
    assert_int_equal(devapi_new((struct bus *)&F, &a), 0);
    assert_int_equal(devapi_open(a, "scale", &l, &d), OPOS_SUCCESS);
    assert_int_equal(devapi_request(d, "scale.read", NULL, 100, NULL), OPOS_E_NOTCLAIMED);
    assert_int_equal(devapi_claim(d, 0), OPOS_SUCCESS);
    assert_int_equal(devapi_request(d, "scale.read", NULL, 100, NULL), OPOS_E_DISABLED);
    assert_int_equal(devapi_set_enabled(d, true), OPOS_SUCCESS);
    assert_int_equal(fake_ctl("SCL-0001", "weight 352 unstable"), 0);
    assert_int_equal(s.status, 1);
    assert_int_equal(s.last_status, 12); /* SCAL_SUE_WEIGHT_UNSTABLE */
    assert_int_equal(devapi_request(d, "scale.read", NULL, 100, &r), OPOS_E_TIMEOUT);
    assert_null(r);
    assert_int_equal(devapi_error(d), MAMORI_ERR_AGAIN);
    assert_int_equal(fake_ctl("SCL-0001", "weight 45000 stable"), 0);
    assert_int_equal(devapi_request(d, "scale.read", NULL, 100, NULL), OPOS_E_EXTENDED);
    assert_int_equal(devapi_result_extended(d), DEVAPI_ESCAL_OVERWEIGHT);
    assert_int_equal(fake_ctl("SCL-0001", "weight 352 stable"), 0);
    assert_int_equal(devapi_request(d, "scale.read", NULL, 100, &r), OPOS_SUCCESS);
    assert_int_equal(devapi_result_extended(d), 0);
    int64_t g = 0;
    assert_int_equal(devbody_get_int(r, "weight_g", 0, 100000, &g), 0);
    assert_int_equal(g, 352);
    cbor_decref(&r);
    devapi_free(a);
}

static void test_dev16_printer_output_complete_and_paper(void **state)
{
    struct devapi *a;
    struct devapi_dev *d;
    struct seen s;
    struct devapi_listener l = listener(&s);
    assert_int_equal(devapi_new((struct bus *)&F, &a), 0);
    assert_int_equal(devapi_open(a, "printer", &l, &d), OPOS_SUCCESS);
    assert_int_equal(devapi_claim(d, 0), OPOS_SUCCESS);
    assert_int_equal(devapi_set_enabled(d, true), OPOS_SUCCESS);
    cbor_item_t *b = devbody_new();
    assert_int_equal(devbody_put_bytes(b, "data", "\x1b@", 2), 0);
    assert_int_equal(devapi_request(d, "printer.print", b, 100, NULL), OPOS_SUCCESS);
    assert_int_equal(s.output, 1);
    assert_int_equal(s.last_output, devapi_output_id(d));
    assert_int_equal(fake_ctl("PRT-0001", "paper-out"), 0);
    assert_int_equal(s.last_status, 24); /* PTR_SUE_REC_EMPTY */
    b = devbody_new();
    assert_int_equal(devbody_put_bytes(b, "data", "\x1b@", 2), 0);
    assert_int_equal(devapi_request(d, "printer.print", b, 100, NULL), OPOS_E_EXTENDED);
    assert_int_equal(devapi_result_extended(d), DEVAPI_EPTR_REC_EMPTY);
    assert_int_equal(s.output, 1); /* no completion for a failed print */
    assert_int_equal(fake_ctl("PRT-0001", "paper-in"), 0);
    /* hostile body: refused by the device, mapped to illegal */
    b = devbody_new();
    assert_int_equal(devbody_put_str(b, "data", "not bytes"), 0);
    assert_int_equal(devapi_request(d, "printer.print", b, 100, NULL), OPOS_E_ILLEGAL);
    devapi_free(a);
}

static void test_pol1_drawer_sharable_and_changer_extended(void **state)
{
    struct devapi *a;
    struct devapi_dev *dr, *ch;
    struct seen s, t;
    struct devapi_listener l = listener(&s), lt = listener(&t);
    assert_int_equal(devapi_new((struct bus *)&F, &a), 0);
    assert_int_equal(devapi_open(a, "drawer", &l, &dr), OPOS_SUCCESS);
    /* the drawer is sharable: usable without claim once enabled */
    assert_int_equal(devapi_set_enabled(dr, true), OPOS_SUCCESS);
    cbor_item_t *b = devbody_new();
    assert_int_equal(devbody_put_str(b, "txn", "T1") || devbody_put_str(b, "tender", "cash") ||
                         devbody_put_str(b, "idem", "K1"),
                     0);
    assert_int_equal(devapi_request(dr, "drawer.open", b, 100, NULL), OPOS_SUCCESS);
    assert_int_equal(s.status, 1);
    assert_int_equal(s.last_status, 1); /* CASH_SUE_DRAWEROPEN */
    assert_int_equal(devapi_open(a, "changer", &lt, &ch), OPOS_SUCCESS);
    assert_int_equal(devapi_claim(ch, 0), OPOS_SUCCESS);
    assert_int_equal(devapi_set_enabled(ch, true), OPOS_SUCCESS);
    b = devbody_new();
    assert_int_equal(devbody_put_int(b, "amount", 5000000) || devbody_put_str(b, "idem", "C1"), 0);
    assert_int_equal(devapi_request(ch, "changer.dispense", b, 100, NULL), OPOS_E_EXTENDED);
    assert_int_equal(devapi_result_extended(ch), DEVAPI_ECHAN_OVERDISPENSE);
    b = devbody_new();
    assert_int_equal(devbody_put_int(b, "amount", -1) || devbody_put_str(b, "idem", "C2"), 0);
    assert_int_equal(devapi_request(ch, "changer.dispense", b, 100, NULL), OPOS_E_ILLEGAL);
    devapi_free(a);
}

static void test_dev6_detach_reports_offline(void **state)
{
    struct devapi *a;
    struct devapi_dev *d;
    struct seen s;
    struct devapi_listener l = listener(&s);
    assert_int_equal(devapi_new((struct bus *)&F, &a), 0);
    assert_int_equal(devapi_open(a, "scanner", &l, &d), OPOS_SUCCESS);
    assert_int_equal(devapi_claim(d, 0), OPOS_SUCCESS);
    assert_int_equal(devapi_set_enabled(d, true), OPOS_SUCCESS);
    assert_int_equal(devapi_power_state(d), OPOS_PS_ONLINE);
    fake_plug("SCN-0001", false);
    assert_int_equal(s.status, 1);
    assert_int_equal(s.last_status, OPOS_SUE_POWER_OFF_OFFLINE);
    assert_int_equal(devapi_power_state(d), OPOS_PS_OFF_OFFLINE);
    int calls = F.calls;
    assert_int_equal(devapi_request(d, "scanner.status", NULL, 100, NULL), OPOS_E_OFFLINE);
    assert_int_equal(F.calls, calls); /* not even sent */
    assert_int_equal(devapi_set_enabled(d, false), OPOS_SUCCESS);
    assert_int_equal(devapi_set_enabled(d, true), OPOS_E_NOHARDWARE);
    /* frozen: the power event waits */
    assert_int_equal(devapi_set_freeze_events(d, true), OPOS_SUCCESS);
    fake_plug("SCN-0001", true);
    assert_int_equal(s.status, 1);
    assert_int_equal(devapi_set_freeze_events(d, false), OPOS_SUCCESS);
    assert_int_equal(s.status, 2);
    assert_int_equal(s.last_status, OPOS_SUE_POWER_ONLINE);
    assert_int_equal(devapi_set_enabled(d, true), OPOS_SUCCESS);
    assert_int_equal(devapi_request(d, "scanner.status", NULL, 100, NULL), OPOS_SUCCESS);
    /* a device that goes away between the check and the call */
    F.d[0].attached = false; /* no attach event yet */
    assert_int_equal(devapi_request(d, "scanner.status", NULL, 100, NULL), OPOS_E_OFFLINE);
    assert_int_equal(devapi_power_state(d), OPOS_PS_OFF_OFFLINE);
    F.d[0].attached = true;
    /* closed handles answer E_CLOSED */
    assert_int_equal(devapi_close(d), OPOS_SUCCESS);
    devapi_free(a);
}

struct async_seen {
    int calls, rc;
    bool had_dev;
    int64_t grams;
};

static void on_reply(void *ctx, struct devapi_dev *d, int rc, const cbor_item_t *reply)
{
    struct async_seen *s = ctx;
    s->calls++;
    s->rc = rc;
    s->had_dev = d != NULL;
    if (reply != NULL)
        (void)devbody_get_int(reply, "weight_g", 0, 100000, &s->grams);
}

static void test_dev6_async_requests_and_closed_handles(void **state)
{
    struct devapi *a;
    struct devapi_dev *d, *p;
    struct seen s, ps;
    struct async_seen as = {0};
    struct devapi_listener l = listener(&s), pl = listener(&ps);
    assert_int_equal(devapi_new((struct bus *)&F, &a), 0);
    assert_int_equal(devapi_open(a, "scale", &l, &d), OPOS_SUCCESS);
    /* checks first: not claimed means not sent and no callback */
    assert_int_equal(devapi_request_async(d, "scale.read", NULL, 100, on_reply, &as), OPOS_E_NOTCLAIMED);
    assert_int_equal(as.calls, 0);
    assert_int_equal(devapi_claim(d, 0), OPOS_SUCCESS);
    assert_int_equal(devapi_set_enabled(d, true), OPOS_SUCCESS);
    assert_int_equal(fake_ctl("SCL-0001", "weight 410 stable"), 0);
    assert_int_equal(devapi_request_async(d, "scale.read", NULL, 100, on_reply, &as), OPOS_SUCCESS);
    assert_int_equal(as.calls, 1);
    assert_int_equal(as.rc, OPOS_SUCCESS);
    assert_int_equal(as.grams, 410);
    assert_int_equal(fake_ctl("SCL-0001", "weight 410 unstable"), 0);
    assert_int_equal(devapi_request_async(d, "scale.read", NULL, 100, on_reply, &as), OPOS_SUCCESS);
    assert_int_equal(as.rc, OPOS_E_TIMEOUT);
    /* the handle closes before the reply: the callback is told, with no handle */
    F.defer = true;
    assert_int_equal(devapi_request_async(d, "scale.read", NULL, 100, on_reply, &as), OPOS_SUCCESS);
    assert_int_equal(devapi_close(d), OPOS_SUCCESS);
    fake_flush();
    assert_int_equal(as.calls, 3);
    assert_int_equal(as.rc, OPOS_E_CLOSED);
    assert_false(as.had_dev);
    /* async print completes with OutputCompleteEvent */
    assert_int_equal(devapi_open(a, "printer", &pl, &p), OPOS_SUCCESS);
    assert_int_equal(devapi_claim(p, 0), OPOS_SUCCESS);
    assert_int_equal(devapi_set_enabled(p, true), OPOS_SUCCESS);
    cbor_item_t *b = devbody_new();
    assert_int_equal(devbody_put_bytes(b, "data", "\x1b@", 2), 0);
    assert_int_equal(devapi_request_async(p, "printer.print", b, 100, on_reply, &as), OPOS_SUCCESS);
    assert_int_equal(ps.output, 1);
    /* the devapi goes away with a request outstanding */
    F.defer = true;
    b = devbody_new();
    assert_int_equal(devbody_put_bytes(b, "data", "\x1b@", 2), 0);
    assert_int_equal(devapi_request_async(p, "printer.print", b, 100, on_reply, &as), OPOS_SUCCESS);
    devapi_free(a);
    fake_flush();
    assert_int_equal(as.rc, OPOS_E_CLOSED);
    assert_false(as.had_dev);
}

static int obs_events, obs_attach;

static void obs_ev(void *ctx, const char *serial, const char *type, const cbor_item_t *body)
{
    (void)serial, (void)type, (void)body;
    obs_events += *(int *)ctx;
}

static void obs_at(void *ctx, const char *serial, bool attached, const char *reason)
{
    (void)serial, (void)attached, (void)reason;
    obs_attach += *(int *)ctx;
}

static void test_observers_see_every_event_in_order(void **state)
{
    struct devapi *a;
    int one = 1, ten = 10;
    assert_int_equal(devapi_new((struct bus *)&F, &a), 0);
    assert_int_equal(devapi_observe(a, obs_ev, obs_at, &one), 0);
    assert_int_equal(devapi_observe(a, obs_ev, NULL, &ten), 0);
    assert_int_equal(devapi_observe(a, NULL, NULL, &ten), 0);
    assert_int_equal(devapi_observe(a, NULL, NULL, &ten), 0);
    assert_int_equal(devapi_observe(a, obs_ev, obs_at, &one), MAMORI_ERR_LIMIT);
    obs_events = obs_attach = 0;
    /* no handle is open: observers still see the input */
    assert_int_equal(fake_ctl("SCN-0001", "scan 4901234567894"), 0);
    assert_int_equal(obs_events, 11);
    fake_plug("SCN-0001", false);
    assert_int_equal(obs_attach, 1);
    devapi_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dev6_open_claim_enable_lifecycle, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_dev8_data_events_fifo_dee_and_freeze, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_dev13_scale_maps_upos_codes, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_dev16_printer_output_complete_and_paper, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_pol1_drawer_sharable_and_changer_extended, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_dev6_detach_reports_offline, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_dev6_async_requests_and_closed_handles, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_observers_see_every_event_in_order, fake_setup, fake_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
