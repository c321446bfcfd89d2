/*
 * test_touchlayout: the touch panel's layout text (DEV-10): the default
 * layout, a store's own layout.txt on the panel, hit-testing, and hostile
 * layout files (every one refused with its line, nothing half-loaded).
 */
#include "devtest.h"

#include <stdio.h>
#include <string.h>

#include "devices/devbody.h"
#include "devices/touchlayout.h"
#include "mamori/err.h"

static int parse(const char *text, struct touchlayout *l, size_t *line)
{
    return touchlayout_parse((const uint8_t *)text, strlen(text), l, line);
}

static void test_dev10_default_layout_and_hits(void **state)
{
    static struct touchlayout l;
    const struct touchlayout_button *b;
    (void)state;
    assert_int_equal(parse(touchlayout_default, &l, NULL), 0);
    assert_int_equal(l.n, 38);
    b = touchlayout_find(&l, "PLU:101");
    assert_non_null(b);
    assert_string_equal(b->label, "幕の内弁当");
    assert_ptr_equal(touchlayout_hit(&l, 450, 40), b);
    assert_ptr_equal(touchlayout_hit(&l, 405, 5), b);      /* the button's first pixel */
    assert_null(touchlayout_hit(&l, 404, 5));              /* its margin */
    assert_null(touchlayout_hit(&l, 495, 40));             /* past its last pixel */
    assert_null(touchlayout_hit(&l, 150, 470));            /* an empty cell */
    assert_null(touchlayout_hit(&l, 799, 479));            /* the corner margin */
    assert_null(touchlayout_hit(&l, -1, 40));
    assert_null(touchlayout_hit(&l, 900, 40));
    assert_string_equal(touchlayout_hit(&l, 750, 440)->id, "CASH");
    assert_null(touchlayout_find(&l, "NOSUCH"));
    assert_null(touchlayout_find(&l, NULL));
}

static void test_dev10_store_layout_parsed(void **state)
{
    static struct touchlayout l;
    size_t line = 99;
    (void)state;
    assert_int_equal(parse("# a store's buttons\r\n\r\n  0 0 PLU:42 焼き芋 (大)  \r\n"
                           "7 5 SUBTOTAL 小計\n", &l, &line), 0);
    assert_int_equal(line, 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.b[0].id, "PLU:42");
    assert_string_equal(l.b[0].label, "焼き芋 (大)");
    assert_int_equal(l.b[1].col, 7);
    assert_int_equal(l.b[1].row, 5);
}

static void test_dev10_hostile_layouts_refused(void **state)
{
    static struct touchlayout l, keep;
    static const struct {
        const char *text;
        size_t line;
    } bad[] = {
        {"8 0 PLU:1 x\n", 1},                 /* column off the grid */
        {"0 6 PLU:1 x\n", 1},                 /* row off the grid */
        {"00 0 PLU:1 x\n", 1},
        {"0 0 plu:1 x\n", 1},                 /* id: A-Z 0-9 ':' only */
        {"0 0 PLU;rm x\n", 1},
        {"0 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA x\n", 1}, /* 33 bytes */
        {"0 0 PLU:1\n", 1},                   /* no label */
        {"0 0 PLU:1    \n", 1},
        {"# ok\n0 0 PLU:1 a\x1b[2Jb\n", 2},   /* control characters */
        {"0 0 PLU:1 \xff\xfe\n", 1},          /* not UTF-8 */
        {"0 0 PLU:1 a\n0 0 PLU:2 b\n", 2},    /* two buttons in one cell */
        {"0 0 PLU:1 a\n1 0 PLU:1 b\n", 2},    /* one id twice */
        {"0 0 PLU:1 a\rb\n", 1},
        {"", 0},                              /* no button */
        {"# only a comment\n", 0},
        {"x\n", 1},
    };
    size_t line;
    char big[TOUCHLAYOUT_FILE_MAX + 2];
    (void)state;
    assert_int_equal(parse("0 0 KEEP x\n", &keep, NULL), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        l = keep;
        line = 77;
        assert_int_equal(parse(bad[i].text, &l, &line), MAMORI_ERR_INVAL);
        assert_int_equal(line, bad[i].line);
        assert_memory_equal(&l, &keep, sizeof(l)); /* nothing written on failure */
    }
    /* a NUL inside a line, a line too long, a file too large */
    assert_int_equal(touchlayout_parse((const uint8_t *)"0 0 A\0B x\n", 10, &l, &line), MAMORI_ERR_INVAL);
    memset(big, 'x', sizeof(big));
    memcpy(big, "0 0 A ", 6);
    assert_int_equal(touchlayout_parse((const uint8_t *)big, 300, &l, &line), MAMORI_ERR_INVAL);
    assert_int_equal(touchlayout_parse((const uint8_t *)big, sizeof(big), &l, &line), MAMORI_ERR_TOOBIG);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_dev10_panel_uses_store_layout_or_refuses_to_start(void **state)
{
    struct devtest t;
    char s[32];
    void *st = NULL;
    (void)state;
    devtest_start(&t, "touchpanel");
    write_file(t.dir, TOUCHLAYOUT_FILE, "0 0 PLU:42 焼き芋\n1 0 SUBTOTAL 小計\n");
    devtest_restart(&t);
    assert_int_equal(devtest_ctl(&t, "touch 50 40"), 0);
    assert_string_equal(devtest_str(devtest_event(&t, "touchpanel.touch", 0), "button", s, sizeof(s)),
                        "PLU:42");
    assert_int_equal(devtest_ctl(&t, "press PLU:101"), MAMORI_ERR_INVAL); /* not on this layout */
    assert_int_equal(devtest_ctl(&t, "touch 450 40"), MAMORI_ERR_NOTFOUND);
    assert_non_null(strstr((devtest_ctl(&t, "status"), devtest_answer(&t)), TOUCHLAYOUT_FILE));
    /* a layout file that does not parse: the panel does not start */
    write_file(t.dir, TOUCHLAYOUT_FILE, "0 0 PLU:42 焼き芋\n9 9 EVIL x\n");
    t.cls->destroy(t.st);
    t.st = NULL;
    assert_int_equal(t.cls->create(t.dir, &t.io, &st), MAMORI_ERR_INVAL);
    assert_null(st);
    write_file(t.dir, TOUCHLAYOUT_FILE, "# fixed\n0 0 PLU:42 焼き芋\n");
    assert_int_equal(t.cls->create(t.dir, &t.io, &t.st), 0);
    devtest_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dev10_default_layout_and_hits),
        cmocka_unit_test(test_dev10_store_layout_parsed),
        cmocka_unit_test(test_dev10_hostile_layouts_refused),
        cmocka_unit_test(test_dev10_panel_uses_store_layout_or_refuses_to_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
