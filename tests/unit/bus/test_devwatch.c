/* Unit tests for src/bus/devwatch.c (the device-API application stand-in)
 * on the fake bus (fakebus.h) with real device firmware. */
#include "fakebus.h"

#include <string.h>

#include <jansson.h>

#include "bus/devapi.h"
#include "bus/devwatch.h"
#include "mamori/err.h"

static int wctl(struct devwatch *w, const char *line, struct buf *out)
{
    char copy[128], *argv[8], *save = NULL;
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *t = strtok_r(copy, " ", &save); t != NULL && argc < 8; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    buf_reset(out);
    int r = devwatch_ctl(w, argc, argv, out);
    assert_int_equal(buf_put_u8(out, 0), 0);
    return r;
}

/* The JSON line of the device of kind (or line 0 for kind NULL). */
static json_t *line_of(struct buf *out, const char *kind)
{
    char *s = (char *)out->d;
    for (char *l = strtok(s, "\n"); l != NULL; l = strtok(NULL, "\n")) {
        json_t *j = json_loads(l, 0, NULL);
        assert_non_null(j);
        const char *k = json_string_value(json_object_get(j, "kind"));
        if ((kind == NULL && k == NULL) || (kind != NULL && k != NULL && strcmp(k, kind) == 0))
            return j;
        json_decref(j);
    }
    return NULL;
}

static void test_dev8_scan_reaches_watcher_and_line_display(void **state)
{
    struct devapi *a;
    struct devwatch *w;
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(devapi_new((struct bus *)&F, &a), 0);
    assert_int_equal(devwatch_new((struct bus *)&F, a, &w), 0);
    assert_int_equal(wctl(w, "watch start", &out), 0);
    assert_string_equal((char *)out.d, "watching 8\n");
    assert_int_equal(fake_ctl("SCN-0001", "scan 4901234567894"), 0);
    assert_int_equal(wctl(w, "watch", &out), 0);
    json_t *top = line_of(&out, NULL);
    assert_int_equal(json_integer_value(json_object_get(top, "nscans")), 1);
    assert_int_equal(json_integer_value(json_object_get(top, "display_rc")), OPOS_SUCCESS);
    assert_string_equal(json_string_value(json_array_get(json_object_get(top, "display"), 0)),
                        "4901234567894");
    json_decref(top);
    /* the line display firmware really shows it */
    struct buf ans;
    buf_init(&ans, 4096);
    char *argv[] = {"show"};
    assert_int_equal(F.d[5].cls->control(F.d[5].st, 1, argv, &ans), 0);
    assert_int_equal(buf_put_u8(&ans, 0), 0);
    assert_string_equal((char *)ans.d, "linedisplay: 4901234567894 | SCAN #1");
    buf_free(&ans);
    /* the drawer is enabled but not claimed (sharable); the scanner is claimed */
    assert_int_equal(wctl(w, "watch", &out), 0);
    json_t *dr = line_of(&out, "drawer");
    assert_true(json_is_false(json_object_get(dr, "claimed")));
    assert_true(json_is_true(json_object_get(dr, "enabled")));
    json_decref(dr);
    /* detach: offline; reattach: online and enabled again, input flows */
    fake_plug("SCN-0001", false);
    assert_int_equal(wctl(w, "watch", &out), 0);
    json_t *sc = line_of(&out, "scanner");
    assert_int_equal(json_integer_value(json_object_get(sc, "power")), OPOS_PS_OFF_OFFLINE);
    json_decref(sc);
    fake_plug("SCN-0001", true);
    assert_int_equal(fake_ctl("SCN-0001", "scan 4912345678904"), 0);
    assert_int_equal(wctl(w, "watch", &out), 0);
    sc = line_of(&out, "scanner");
    assert_int_equal(json_integer_value(json_object_get(sc, "power")), OPOS_PS_ONLINE);
    assert_int_equal(json_integer_value(json_object_get(sc, "data")), 2);
    json_decref(sc);
    /* hostile control lines */
    assert_int_equal(wctl(w, "watch start now", &out), MAMORI_ERR_INVAL);
    assert_int_equal(wctl(w, "watch explode", &out), MAMORI_ERR_INVAL);
    assert_int_equal(wctl(w, "watch stop", &out), 0);
    assert_int_equal(wctl(w, "watch", &out), 0);
    top = line_of(&out, NULL);
    assert_true(json_is_false(json_object_get(top, "watching")));
    json_decref(top);
    devwatch_free(w);
    devapi_free(a);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dev8_scan_reaches_watcher_and_line_display, fake_setup,
                                        fake_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
