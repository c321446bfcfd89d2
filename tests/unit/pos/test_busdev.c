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
#include "devices/devbody.h"
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

/* The change machine is not attached when the register starts. */
static int setup_no_changer(void **state)
{
    struct busdev_config cfg = {.request_ms = 500, .deposit_idle_ms = 100, .deposit_max_ms = 300};
    fake_setup(state);
    memset(&C, 0, sizeof(C));
    fake_plug("CHG-0001", false);
    assert_int_equal(evloop_new(&C.l), 0);
    assert_int_equal(devapi_new((struct bus *)&F, &C.api), 0);
    assert_int_equal(busdev_new(C.l, C.api, &cfg, &C.b), 0);
    C.p = busdev_port(C.b);
    return 0;
}

static char pin_path[600];

/* The pin file in the fixture's directory (a restart keeps it). */
static int setup_pins(void **state)
{
    struct busdev_config cfg = {.request_ms = 500, .deposit_idle_ms = 100, .deposit_max_ms = 300};
    fake_setup(state);
    memset(&C, 0, sizeof(C));
    snprintf(pin_path, sizeof(pin_path), "%s/busdev.pins", F.dir);
    cfg.pin_path = pin_path;
    assert_int_equal(evloop_new(&C.l), 0);
    assert_int_equal(devapi_new((struct bus *)&F, &C.api), 0);
    assert_int_equal(busdev_new(C.l, C.api, &cfg, &C.b), 0);
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

/* OPS-5 by denomination: the change machine's own cassette counts through
 * the port (expected pieces of a declaration), following a payout. */
static void test_ops5_changer_counts_through_port(void **state)
{
    int64_t before[POSDEV_DENOMS], after[POSDEV_DENOMS], total = 0;
    (void)state;
    assert_non_null(C.p->changer_counts);
    assert_int_equal(C.p->changer_counts(C.p->ctx, before), 0);
    for (int i = 0; i < POSDEV_DENOMS; i++)
        total += before[i];
    assert_true(total > 0);
    assert_true(before[7] > 0);                                   /* 10-yen coins */
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-11-change0", 10), 0);
    assert_int_equal(C.p->changer_counts(C.p->ctx, after), 0);
    assert_int_equal(after[7], before[7] - 1);
    fake_plug("CHG-0001", false);
    assert_int_equal(C.p->changer_counts(C.p->ctx, after), MAMORI_ERR_OFFLINE);
}

static cbor_item_t *counts_reply(uint64_t k1, uint64_t v1, bool neg_key, size_t extra)
{
    cbor_item_t *m = cbor_new_definite_map(1 + extra), *r = devbody_new();
    assert_true(cbor_map_add(m, (struct cbor_pair){
                                    .key = cbor_move(neg_key ? cbor_build_negint16(9)
                                                             : cbor_build_uint64(k1)),
                                    .value = cbor_move(cbor_build_uint64(v1))}));
    for (size_t i = 0; i < extra; i++)
        assert_true(cbor_map_add(m, (struct cbor_pair){.key = cbor_move(cbor_build_uint8(1)),
                                                       .value = cbor_move(cbor_build_uint8(1))}));
    assert_int_equal(devbody_put_item(r, "counts", m), 0);
    return r;
}

/* Hostile changer.counts replies: refused whole, nothing written. */
static void test_ops5_changer_counts_hostile_reply(void **state)
{
    int64_t c[POSDEV_DENOMS];
    cbor_item_t *r;
    (void)state;
    r = counts_reply(1000, 49, false, 0);
    assert_int_equal(busdev_counts_read(r, c), 0);
    assert_int_equal(c[3], 49);
    assert_int_equal(c[0], 0);
    cbor_decref(&r);
    const struct { uint64_t k, v; bool neg; size_t extra; } bad[] = {
        {3, 1, false, 0},                      /* not a denomination */
        {1000, POSDEV_COUNT_MAX + 1, false, 0}, /* too many pieces */
        {1000, UINT64_MAX, false, 0},
        {0, 1, true, 0},                        /* negative key */
        {1000, 1, false, POSDEV_DENOMS},        /* more entries than denominations */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(c, 0x5a, sizeof(c));
        r = counts_reply(bad[i].k, bad[i].v, bad[i].neg, bad[i].extra);
        assert_int_equal(busdev_counts_read(r, c), MAMORI_ERR_PROTO);
        assert_int_equal(c[0], 0x5a5a5a5a5a5a5a5a);
        cbor_decref(&r);
    }
    r = devbody_new();
    assert_int_equal(busdev_counts_read(r, c), MAMORI_ERR_PROTO); /* no counts */
    assert_int_equal(devbody_put_int(r, "counts", 5), 0);
    assert_int_equal(busdev_counts_read(r, c), MAMORI_ERR_PROTO); /* not a map */
    cbor_decref(&r);
    assert_int_equal(busdev_counts_read(NULL, c), MAMORI_ERR_PROTO);
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

static void test_dev10_touch_button_delivered_as_input(void **state)
{
    (void)state;
    assert_int_equal(fake_ctl("TCH-0001", "press PLU:102"), 0);
    assert_int_equal(C.inputs, 1);
    assert_string_equal(C.input, "touchpanel:PLU:102");
    assert_int_not_equal(fake_ctl("TCH-0001", "touch 0 0"), 0); /* a gap: nothing */
    assert_int_equal(C.inputs, 1);
    assert_int_equal(fake_ctl("TCH-0001", "press SUBTOTAL"), 0); /* re-armed */
    assert_int_equal(C.inputs, 2);
    assert_string_equal(C.input, "touchpanel:SUBTOTAL");
}

/* A keylock.status event in the name of another device (a forged position
 * from elsewhere on the bus). */
static void forge(const char *serial, int pos)
{
    cbor_item_t *m = devbody_new();
    assert_int_equal(devbody_put_int(m, "status", pos), 0);
    assert_int_equal(devbody_put_int(m, "position", pos), 0);
    assert_int_equal(devbody_put_int(m, "count", 6), 0);
    F.ev(F.ev_ctx, serial, "keylock.status", m);
    cbor_decref(&m);
}

static void test_dev11_keylock_position_only_from_the_keylock(void **state)
{
    (void)state;
    /* enrolled: asked at open; a new switch is locked */
    assert_int_equal(busdev_keylock(C.b), 1);
    assert_int_equal(fake_ctl("KLK-0001", "turn reg"), 0);
    assert_int_equal(busdev_keylock(C.b), 2);
    assert_int_equal(fake_ctl("KLK-0001", "turn 4"), 0);
    assert_int_equal(busdev_keylock(C.b), 4);
    /* another device cannot move it, nor can a body out of range */
    forge("SCN-0001", 2);
    forge("TCH-0001", 5);
    assert_int_equal(busdev_keylock(C.b), 4);
    forge("KLK-0001", 9); /* beyond PositionCount: LOCK, not 9 */
    assert_int_equal(busdev_keylock(C.b), 1);
    assert_int_equal(fake_ctl("KLK-0001", "turn reg"), 0);
    assert_int_equal(busdev_keylock(C.b), 2);
    /* detached: fail closed (LOCK), and a turn while away is learnt on return */
    fake_plug("KLK-0001", false);
    assert_int_equal(busdev_keylock(C.b), 1);
    assert_int_equal(fake_ctl("KLK-0001", "turn train"), MAMORI_ERR_OFFLINE);
    assert_int_equal(busdev_keylock(C.b), 1);
    fake_plug("KLK-0001", true);
    assert_int_equal(busdev_keylock(C.b), 6);
}

/* DEV-18b: a change machine enrolled at start but attached only later
 * counts from the start (a detach means "retry", not "use the drawer": a
 * pending deposit may be inside it) and is used as soon as it attaches,
 * asked at use time. */
static void test_dev18b_changer_attached_later_is_used(void **state)
{
    (void)state;
    assert_non_null(C.p->changer_present);
    assert_true(posdev_has_changer(C.p));
    assert_false(busdev_ready(C.b, "changer"));
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-11-change0", 10), MAMORI_ERR_OFFLINE);
    fake_plug("CHG-0001", true);
    assert_true(posdev_has_changer(C.p)); /* no restart, no tick needed */
    assert_true(busdev_ready(C.b, "changer"));
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-11-change0", 10), 0);
    fake_plug("CHG-0001", false);
    assert_true(posdev_has_changer(C.p));
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-12-change0", 10), MAMORI_ERR_OFFLINE);
}

/* OPS-5: a document sent with a key prints once, however often it is sent. */
static void test_ops5_print_once_per_key(void **state)
{
    static const uint8_t doc[] = {0x1b, '@', 'Z', '\n', 0x1d, 'V', 0};
    (void)state;
    assert_int_equal(C.p->print_once(C.p->ctx, "T1-z1-100", doc, sizeof(doc)), 0);
    assert_int_equal(C.p->print_once(C.p->ctx, "T1-z1-100", doc, sizeof(doc)), 0);
    assert_int_equal(file_size("printer", "printer.out"), (long)sizeof(doc));
    assert_int_equal(C.p->print_once(C.p->ctx, "T1-z2-200", doc, sizeof(doc)), 0);
    assert_int_equal(file_size("printer", "printer.out"), 2 * (long)sizeof(doc));
    assert_int_equal(C.p->print_once(C.p->ctx, "", doc, sizeof(doc)), MAMORI_ERR_INVAL);
}

/* OPS-6: a job longer than one printer.print (PRINTER_JOB_MAX, the
 * printer's limit) is split into jobs the printer accepts and reaches the
 * paper whole and in order, with and without an idempotency key. */
static void test_ops6_long_job_prints_completely(void **state)
{
    size_t n = 2 * PRINTER_JOB_MAX + 1001;
    uint8_t *job = malloc(n), *paper = malloc(2 * n);
    char p[512];
    FILE *f;
    (void)state;
    assert_non_null(job);
    assert_non_null(paper);
    for (size_t i = 0; i < n; i++)
        job[i] = (uint8_t)(i * 7 + i / 251);
    assert_int_equal(C.p->print(C.p->ctx, job, n), 0);
    assert_int_equal(C.p->print_once(C.p->ctx, "T1-z9-900", job, n), 0);
    assert_int_equal(C.p->print_once(C.p->ctx, "T1-z9-900", job, n), 0); /* a retry: once */
    assert_int_equal(file_size("printer", "printer.out"), 2 * (long)n);
    snprintf(p, sizeof(p), "%s/printer/printer.out", F.dir);
    assert_non_null(f = fopen(p, "rb"));
    assert_int_equal(fread(paper, 1, 2 * n, f), 2 * n);
    fclose(f);
    assert_memory_equal(paper, job, n);
    assert_memory_equal(paper + n, job, n);
    free(job);
    free(paper);
}

static void read_pins(char *out, size_t n)
{
    FILE *f = fopen(pin_path, "r");
    size_t k = f ? fread(out, 1, n - 1, f) : 0;
    out[k] = '\0';
    if (f)
        fclose(f);
}

/* POL-1/DEV-18b: a cash command whose reply was lost pins the change machine
 * in the pin file before it is sent, across a restart of the register, until
 * that machine answers (the retry is replayed from its memory). */
static void test_pol1_pin_kept_until_device_answers_across_restart(void **state)
{
    struct busdev_config cfg = {.request_ms = 500, .pin_path = pin_path};
    char text[256];
    long log;
    (void)state;
    read_pins(text, sizeof(text));
    assert_string_equal(text, "");
    F.lose = 1;
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-30-change0", 10), MAMORI_ERR_TIMEOUT);
    log = file_size("changer", "device.log");
    assert_true(log > 0); /* executed */
    read_pins(text, sizeof(text));
    assert_string_equal(text, "changer CHG-0001\n");
    /* restart */
    busdev_free(C.b);
    assert_int_equal(busdev_new(C.l, C.api, &cfg, &C.b), 0);
    C.p = busdev_port(C.b);
    read_pins(text, sizeof(text));
    assert_string_equal(text, "changer CHG-0001\n");
    /* the retry reaches the same machine, which replays: paid once, unpinned */
    assert_int_equal(C.p->changer_dispense(C.p->ctx, "T1-30-change0", 10), 0);
    assert_int_equal(file_size("changer", "device.log"), log);
    read_pins(text, sizeof(text));
    assert_string_equal(text, "");
    /* a definite refusal also settles: nothing pinned */
    assert_int_not_equal(C.p->changer_dispense(C.p->ctx, "T1-30-change0", 99), 0);
    read_pins(text, sizeof(text));
    assert_string_equal(text, "");
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
        cmocka_unit_test_setup_teardown(test_ops5_changer_counts_through_port, setup, teardown),
        cmocka_unit_test(test_ops5_changer_counts_hostile_reply),
        cmocka_unit_test_setup_teardown(test_dev8_scanner_input_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev10_touch_button_delivered_as_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dev11_keylock_position_only_from_the_keylock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dev18b_changer_attached_later_is_used, setup_no_changer,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ops5_print_once_per_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops6_long_job_prints_completely, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pol1_pin_kept_until_device_answers_across_restart,
                                        setup_pins, teardown),
        cmocka_unit_test_setup_teardown(test_dev19_display_waits_for_acknowledgement, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
