/* test_busdev: the register's device port over the UPOS device API, against
 * real device firmware behind a fake bus (OPS-2/POL-1 idempotent cash
 * commands, DEV-13 stable weight only, OPS-6 printer bytes, DEV-8 scanner
 * input, offline devices). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bus/fakebus.h"
#include "bus/devapi.h"
#include "common/buf.h"
#include "common/evloop.h"
#include "mamori/err.h"
#include "pos/busdev.h"

struct ctx {
    struct evloop *l;
    struct devapi *api;
    struct busdev *b;
    const struct pos_devices *p;
    char input[64];
    int inputs;
};

static struct ctx C;

static void on_input(void *ctx, const char *kind, const char *data)
{
    struct ctx *c = ctx;
    snprintf(c->input, sizeof(c->input), "%s:%s", kind, data);
    c->inputs++;
}

static int setup(void **state)
{
    struct busdev_config cfg = {.request_ms = 500, .deposit_idle_ms = 100, .deposit_max_ms = 300};
    fake_setup(state);
    memset(&C, 0, sizeof(C));
    assert_int_equal(evloop_new(&C.l), 0);
    assert_int_equal(devapi_new((struct bus *)&F, &C.api), 0);
    assert_int_equal(busdev_new(C.l, C.api, &cfg, &C.b), 0);
    busdev_on_input(C.b, on_input, NULL, &C);
    C.p = busdev_port(C.b);
    return 0;
}

static int teardown(void **state)
{
    busdev_free(C.b);
    devapi_free(C.api);
    evloop_free(C.l);
    return fake_teardown(state);
}

static long file_size(const char *kind, const char *name)
{
    char p[512];
    FILE *f;
    long n;
    snprintf(p, sizeof(p), "%s/%s/%s", F.dir, kind, name);
    if ((f = fopen(p, "rb")) == NULL)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    return n;
}

static void test_dev_ports_ready_and_changer_known(void **state)
{
    (void)state;
    assert_true(busdev_ready(C.b, "printer"));
    assert_true(busdev_ready(C.b, "scale"));
    assert_true(busdev_ready(C.b, "changer"));
    assert_false(busdev_ready(C.b, "custdisplay")); /* none enrolled */
    assert_true(C.p->has_changer);
}

static void test_ops6_print_reaches_printer_bytes(void **state)
{
    static const uint8_t esc[] = {0x1b, '@', 'A', 'B', '\n', 0x1d, 'V', 0};
    (void)state;
    assert_int_equal(C.p->print(C.p->ctx, esc, sizeof(esc)), 0);
    assert_int_equal(file_size("printer", "printer.out"), (long)sizeof(esc));
    /* Displays: a missing customer display is not an error. */
    assert_int_equal(C.p->display(C.p->ctx, "おーいお茶", "合計 ¥160"), 0);
}

static void test_dev13_scale_only_stable(void **state)
{
    int32_t g = -1;
    bool stable = true;
    (void)state;
    assert_int_equal(fake_ctl("SCL-0001", "weight 352 unstable"), 0);
    assert_int_equal(C.p->scale_read(C.p->ctx, &g, &stable), 0);
    assert_false(stable);
    assert_int_equal(fake_ctl("SCL-0001", "weight 352 stable"), 0);
    assert_int_equal(C.p->scale_read(C.p->ctx, &g, &stable), 0);
    assert_true(stable);
    assert_int_equal(g, 352);
}

static void test_pol1_cash_commands_once_per_key(void **state)
{
    long before;
    (void)state;
    assert_int_equal(C.p->drawer_open(C.p->ctx, "T1-7-drawer0"), 0);
    assert_int_equal(C.p->drawer_open(C.p->ctx, "T1-7-drawer0"), 0); /* a retry */
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-7-change0", 840), 0);
    before = file_size("changer", "device.log");
    assert_true(before > 0);
    /* The retry after a lost reply is answered from memory: nothing new in the log. */
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-7-change0", 840), 0);
    assert_int_equal(file_size("changer", "device.log"), before);
    /* The same key for another amount is refused by the device, and does nothing. */
    assert_int_not_equal(C.p->changer_dispense(C.p->ctx, "T1-7-change0", 100), 0);
    assert_int_equal(file_size("changer", "device.log"), before);
    /* A new key is a new payout. */
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-8-change0", 840), 0);
    assert_true(file_size("changer", "device.log") > before);
}

static void test_pol1_deposit_counts_once(void **state)
{
    int64_t counted = -1, again = -1;
    (void)state;
    /* Nobody inserts anything: the deposit ends after the idle limit with 0. */
    assert_int_equal(C.p->changer_deposit(C.p->ctx, "T1-9-dep0", 500, &counted), 0);
    assert_int_equal(counted, 0);
    /* The same key again replays the first answer (no second deposit). */
    assert_int_equal(C.p->changer_deposit(C.p->ctx, "T1-9-dep0", 500, &again), 0);
    assert_int_equal(again, 0);
}

static void test_dev_offline_is_offline(void **state)
{
    (void)state;
    fake_plug("CHG-0001", false);
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-10-change0", 10), MAMORI_ERR_OFFLINE);
    fake_plug("CHG-0001", true);
    busdev_ensure(C.b);
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-10-change0", 10), 0);
}

static void flush_later(struct evloop *l, void *ctx)
{
    (void)l;
    (void)ctx;
    fake_flush();
}

/* The text of the line display's firmware (what it shows). */
static void shown(char *out, size_t cap)
{
    struct buf a;
    char *argv[] = {"show"};
    buf_init(&a, 1024);
    assert_int_equal(F.d[5].cls->control(F.d[5].st, 1, argv, &a), 0);
    snprintf(out, cap, "%.*s", (int)buf_remaining(&a), (const char *)buf_ptr(&a));
    buf_free(&a);
}

/* OPS-6/DEV-19: the display text is sent without blocking the loop and the
 * call returns only once the display acknowledged it (here the reply comes
 * later, from the event loop); a detached display is reported offline. */
static void test_dev19_display_waits_for_acknowledgement(void **state)
{
    uint64_t id = 0;
    char text[256];
    (void)state;
    F.defer = true;
    assert_int_equal(evloop_timer(C.l, 20, flush_later, NULL, &id), 0);
    assert_int_equal(C.p->display(C.p->ctx, "おーいお茶", "合計 ¥160"), 0);
    assert_false(F.defer); /* returned only after the held reply was answered */
    shown(text, sizeof(text));
    assert_string_equal(text, "linedisplay: おーいお茶 | 合計 ¥160");
    fake_plug("LDP-0001", false);
    assert_int_equal(C.p->display(C.p->ctx, "緑茶", "合計 ¥300"), MAMORI_ERR_OFFLINE);
    shown(text, sizeof(text));
    assert_string_equal(text, "linedisplay: おーいお茶 | 合計 ¥160");
}

static void test_dev8_scanner_input_delivered(void **state)
{
    (void)state;
    assert_int_equal(fake_ctl("SCN-0001", "scan 4901234567894"), 0);
    assert_int_equal(C.inputs, 1);
    assert_string_equal(C.input, "scanner:4901234567894");
    assert_int_equal(fake_ctl("SCN-0001", "scan 4900000000016"), 0); /* re-armed */
    assert_int_equal(C.inputs, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dev_ports_ready_and_changer_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops6_print_reaches_printer_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev13_scale_only_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pol1_cash_commands_once_per_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pol1_deposit_counts_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev_offline_is_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev8_scanner_input_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev19_display_waits_for_acknowledgement, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
