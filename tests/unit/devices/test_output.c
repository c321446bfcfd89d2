/* Unit tests for src/devices/printer.c, linedisplay.c, custdisplay.c. */
#include "devtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devbody.h"
#include "mamori/err.h"

static cbor_item_t *print_body(const void *p, size_t n)
{
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_bytes(b, "data", p, n), 0);
    return b;
}

static void test_dev16_printer_keeps_bytes_and_paper_out(void **state)
{
    static const uint8_t job1[] = {0x1b, 0x40, 0x1c, 0x43, 0x01, 0x1c, 0x26, 0x8d, 0x87, 0x8c, 0x76, 0x0a};
    static const uint8_t job2[] = {0x1d, 0x56, 0x41, 0x03};
    struct devtest t;
    cbor_item_t *r = NULL;
    char s[16];
    devtest_start(&t, "printer");
    assert_int_equal(devtest_req(&t, "printer.print", print_body(job1, sizeof(job1)), &r), 0);
    assert_int_equal(devtest_int(r, "job"), 1);
    assert_int_equal(devtest_int(r, "bytes"), sizeof(job1));
    cbor_decref(&r);
    assert_int_equal(devtest_ctl(&t, "paper-out"), 0);
    assert_string_equal(devtest_str(devtest_event(&t, "printer.status", 0), "paper", s, sizeof(s)), "empty");
    assert_int_equal(devtest_req(&t, "printer.print", print_body(job2, sizeof(job2)), NULL), MAMORI_ERR_STATE);
    devtest_restart(&t); /* still out of paper */
    assert_int_equal(devtest_req(&t, "printer.status", NULL, &r), 0);
    assert_string_equal(devtest_str(r, "paper", s, sizeof(s)), "empty");
    cbor_decref(&r);
    assert_int_equal(devtest_ctl(&t, "paper-in"), 0);
    assert_int_equal(devtest_req(&t, "printer.print", print_body(job2, sizeof(job2)), NULL), 0);
    /* the paper holds exactly what was received, in order */
    char path[4200];
    uint8_t got[64];
    snprintf(path, sizeof(path), "%s/printer.out", t.dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(got, 1, sizeof(got), f);
    fclose(f);
    assert_int_equal(n, sizeof(job1) + sizeof(job2));
    assert_memory_equal(got, job1, sizeof(job1));
    assert_memory_equal(got + sizeof(job1), job2, sizeof(job2));
    /* hostile: missing data, text instead of bytes, a job over the limit */
    assert_int_equal(devtest_req(&t, "printer.print", NULL, NULL), MAMORI_ERR_INVAL);
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_str(b, "data", "hello"), 0);
    assert_int_equal(devtest_req(&t, "printer.print", b, NULL), MAMORI_ERR_INVAL);
    uint8_t *big = calloc(1, 70000);
    assert_int_equal(devtest_req(&t, "printer.print", print_body(big, 70000), NULL), MAMORI_ERR_TOOBIG);
    free(big);
    devtest_stop(&t);
}

static long out_size(const struct devtest *t)
{
    char path[4200];
    long n;
    snprintf(path, sizeof(path), "%s/printer.out", t->dir);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    return n;
}

static cbor_item_t *print_once_body(const void *p, size_t n, const char *idem)
{
    cbor_item_t *b = print_body(p, n);
    assert_int_equal(devbody_put_str(b, "idem", idem), 0);
    return b;
}

/* OPS-5: a job with an idempotency key prints once; the retry after a lost
 * reply (also after a printer restart) gets the first reply and prints
 * nothing; the same key with other bytes is refused. */
static void test_ops5_printer_job_with_key_printed_once(void **state)
{
    static const uint8_t z1[] = {0x1b, 0x40, 'Z', '1', 0x0a};
    static const uint8_t other[] = {0x1b, 0x40, 'Z', '9', 0x0a};
    struct devtest t;
    cbor_item_t *r = NULL;
    (void)state;
    devtest_start(&t, "printer");
    assert_int_equal(devtest_req(&t, "printer.print", print_once_body(z1, sizeof(z1), "T1-z1.0"), &r), 0);
    assert_int_equal(devtest_int(r, "job"), 1);
    cbor_decref(&r);
    assert_int_equal(out_size(&t), sizeof(z1));
    assert_int_equal(devtest_req(&t, "printer.print", print_once_body(z1, sizeof(z1), "T1-z1.0"), &r), 0);
    assert_int_equal(devtest_int(r, "job"), 1); /* the first reply */
    cbor_decref(&r);
    assert_int_equal(out_size(&t), sizeof(z1));
    devtest_restart(&t); /* the printer remembers across its restart */
    assert_int_equal(devtest_req(&t, "printer.print", print_once_body(z1, sizeof(z1), "T1-z1.0"), NULL), 0);
    assert_int_equal(out_size(&t), sizeof(z1));
    assert_int_equal(devtest_req(&t, "printer.print", print_once_body(other, sizeof(other), "T1-z1.0"), NULL),
                     MAMORI_ERR_EXISTS);
    assert_int_equal(out_size(&t), sizeof(z1));
    /* another key prints; a job without a key always prints */
    assert_int_equal(devtest_req(&t, "printer.print", print_once_body(z1, sizeof(z1), "T1-z2.0"), NULL), 0);
    assert_int_equal(devtest_req(&t, "printer.print", print_body(z1, sizeof(z1)), NULL), 0);
    assert_int_equal(devtest_req(&t, "printer.print", print_body(z1, sizeof(z1)), NULL), 0);
    assert_int_equal(out_size(&t), 4 * sizeof(z1));
    devtest_stop(&t);
}

static cbor_item_t *text_body(const char *a, const char *b)
{
    cbor_item_t *m = devtest_body(), *arr = cbor_new_definite_array(2), *x;
    x = cbor_build_string(a);
    assert_true(cbor_array_push(arr, x));
    cbor_decref(&x);
    if (b != NULL) {
        x = cbor_build_string(b);
        assert_true(cbor_array_push(arr, x));
        cbor_decref(&x);
    }
    assert_int_equal(devbody_put_item(m, "lines", arr), 0);
    return m;
}

static void test_dev19_linedisplay_shows_lines(void **state)
{
    struct devtest t;
    devtest_start(&t, "linedisplay");
    assert_int_equal(devtest_req(&t, "linedisplay.text", text_body("緑茶 500ml", "¥150"), NULL), 0);
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_string_equal(devtest_answer(&t), "linedisplay: 緑茶 500ml | ¥150");
    devtest_restart(&t);
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_string_equal(devtest_answer(&t), "linedisplay: 緑茶 500ml | ¥150");
    /* hostile: three rows on a two-row display, escape sequences, no lines */
    cbor_item_t *m = devtest_body(), *arr = cbor_new_definite_array(3), *x;
    for (int i = 0; i < 3; i++) {
        x = cbor_build_string("row");
        assert_true(cbor_array_push(arr, x));
        cbor_decref(&x);
    }
    assert_int_equal(devbody_put_item(m, "lines", arr), 0);
    assert_int_equal(devtest_req(&t, "linedisplay.text", m, NULL), MAMORI_ERR_TOOBIG);
    assert_int_equal(devtest_req(&t, "linedisplay.text", text_body("\x1b[2J", NULL), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "linedisplay.text", devtest_body(), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_string_equal(devtest_answer(&t), "linedisplay: 緑茶 500ml | ¥150");
    assert_int_equal(devtest_req(&t, "linedisplay.clear", NULL, NULL), 0);
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_string_equal(devtest_answer(&t), "linedisplay:");
    devtest_stop(&t);
}

static void test_dev5_custdisplay_confirm_answered_by_shopper(void **state)
{
    struct devtest t;
    cbor_item_t *r = NULL, *b;
    bool yes;
    devtest_start(&t, "custdisplay");
    assert_int_equal(devtest_ctl(&t, "yes"), MAMORI_ERR_STATE); /* nothing asked */
    b = devtest_body();
    assert_int_equal(devbody_put_str(b, "prompt", "20歳以上ですか？"), 0);
    assert_int_equal(devtest_req(&t, "custdisplay.confirm", b, &r), 0);
    int64_t cid = devtest_int(r, "cid");
    cbor_decref(&r);
    b = devtest_body();
    assert_int_equal(devbody_put_str(b, "prompt", "again?"), 0);
    assert_int_equal(devtest_req(&t, "custdisplay.confirm", b, NULL), MAMORI_ERR_BUSY);
    devtest_restart(&t); /* the question survives a restart */
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_non_null(strstr(devtest_answer(&t), "20歳以上ですか？"));
    assert_int_equal(devtest_ctl(&t, "no"), 0);
    const cbor_item_t *ev = devtest_event(&t, "custdisplay.answer", 0);
    assert_int_equal(devtest_int(ev, "cid"), cid);
    assert_int_equal(devbody_get_bool(ev, "answer", &yes), 0);
    assert_false(yes);
    assert_int_equal(devtest_ctl(&t, "yes"), MAMORI_ERR_STATE); /* answered once only */
    /* hostile prompts */
    b = devtest_body();
    assert_int_equal(devbody_put_int(b, "prompt", 1), 0);
    assert_int_equal(devtest_req(&t, "custdisplay.confirm", b, NULL), MAMORI_ERR_INVAL);
    b = devtest_body();
    assert_int_equal(devbody_put_str(b, "prompt", ""), 0);
    assert_int_equal(devtest_req(&t, "custdisplay.confirm", b, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "custdisplay.confirm", NULL, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "custdisplay.text", text_body("合計", "¥1,410"), NULL), 0);
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_string_equal(devtest_answer(&t), "custdisplay: 合計 | ¥1,410");
    devtest_stop(&t);
}

/* Stop the firmware, overwrite dir/name with n bytes (a power cut tore the
 * unsynced file, or someone planted one), start it again. */
static void restart_with(struct devtest *t, const char *name, const void *p, size_t n)
{
    char path[4200];
    t->cls->destroy(t->st);
    t->st = NULL;
    snprintf(path, sizeof(path), "%s/%s", t->dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
    assert_int_equal(t->cls->create(t->dir, &t->io, &t->st), 0);
}

/* DEV-19/DEV-5: the text shown is volatile (held in memory: a text update
 * does no file work, so a scan waits for no disk). An orderly restart shows
 * it again; a crash after that starts blank, not with stale text; a text
 * file torn or planted only leaves the display blank: it never stops the
 * device from starting, never shows control characters, and never loses the
 * customer display's open question (that is synced state). */
static void test_dev19_display_text_volatile_lost_text_starts_blank(void **state)
{
    static const uint8_t torn[] = {0x82, 0x6a, 0xe7, 0xb7}; /* array(2), string cut short */
    static const uint8_t ctrl[] = {0x81, 0x64, 0x1b, 0x5b, 0x32, 0x4a}; /* ["\x1b[2J"] */
    char path[4200];
    struct devtest t;
    cbor_item_t *b = NULL;
    (void)state;
    devtest_start(&t, "linedisplay");
    assert_int_equal(devtest_req(&t, "linedisplay.text", text_body("緑茶 500ml", "¥150"), NULL), 0);
    snprintf(path, sizeof(path), "%s/linedisplay.text", t.dir);
    FILE *g = fopen(path, "rb");
    assert_null(g); /* nothing written per update */
    devtest_restart(&t);
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_string_equal(devtest_answer(&t), "linedisplay: 緑茶 500ml | ¥150");
    g = fopen(path, "rb");
    assert_null(g); /* taken back at start: a crash now would start blank */
    restart_with(&t, "linedisplay.text", torn, sizeof(torn));
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_string_equal(devtest_answer(&t), "linedisplay:");
    restart_with(&t, "linedisplay.text", ctrl, sizeof(ctrl));
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_string_equal(devtest_answer(&t), "linedisplay:");
    restart_with(&t, "linedisplay.text", "", 0);
    assert_int_equal(devtest_req(&t, "linedisplay.text", text_body("合計", "¥300"), NULL), 0);
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_string_equal(devtest_answer(&t), "linedisplay: 合計 | ¥300");
    devtest_stop(&t);

    devtest_start(&t, "custdisplay");
    assert_int_equal(devtest_req(&t, "custdisplay.text", text_body("合計", "¥1,410"), NULL), 0);
    b = devtest_body();
    assert_int_equal(devbody_put_str(b, "prompt", "20歳以上ですか？"), 0);
    assert_int_equal(devtest_req(&t, "custdisplay.confirm", b, NULL), 0);
    restart_with(&t, "custdisplay.text", torn, sizeof(torn));
    assert_int_equal(devtest_ctl(&t, "show"), 0);
    assert_string_equal(devtest_answer(&t), "custdisplay [asking #1: 20歳以上ですか？]:");
    assert_int_equal(devtest_ctl(&t, "yes"), 0);
    assert_int_equal(devtest_int(devtest_event(&t, "custdisplay.answer", 0), "cid"), 1);
    devtest_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dev16_printer_keeps_bytes_and_paper_out),
        cmocka_unit_test(test_ops5_printer_job_with_key_printed_once),
        cmocka_unit_test(test_dev19_linedisplay_shows_lines),
        cmocka_unit_test(test_dev5_custdisplay_confirm_answered_by_shopper),
        cmocka_unit_test(test_dev19_display_text_volatile_lost_text_starts_blank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
