/* Unit tests for src/devices/registry.c and what every class must do. */
#include "devtest.h"

#include <stdio.h>
#include <string.h>

#include "devices/devbody.h"
#include "devices/devstate.h"
#include "mamori/err.h"

static const char *const kinds[] = {"scanner", "msr",     "pinpad",      "icreader",
                                     "scale",   "drawer",  "changer",     "printer",
                                     "linedisplay", "custdisplay", "keyboard", "sigpad",
                                     "touchpanel", "keylock"};

/* Every request type of every class (docs/protocol.md "Device classes"). */
static const char *const types[] = {
    "scanner.status", "msr.status", "msr.key_inject", "pinpad.begin", "pinpad.end",
    "pinpad.status", "pinpad.key_inject", "icreader.emoney_pay", "icreader.emoney_balance",
    "icreader.read", "icreader.status", "icreader.key_inject", "icreader.point_read", "scale.read", "scale.status",
    "drawer.open", "drawer.status", "changer.deposit_begin", "changer.deposit_end",
    "changer.dispense", "changer.counts", "changer.status", "printer.print", "printer.status",
    "linedisplay.text", "linedisplay.clear", "linedisplay.status", "custdisplay.text",
    "custdisplay.clear", "custdisplay.confirm", "custdisplay.cancel", "custdisplay.status",
    "keyboard.status", "sigpad.capture", "sigpad.end", "sigpad.status",
    "touchpanel.status", "touchpanel.layout", "keylock.status",
};

static void test_all_fourteen_classes_registered(void **state)
{
    const struct device_class *const *all = device_classes();
    size_t n = 0;
    for (; all[n] != NULL; n++) {
        assert_non_null(all[n]->model);
        assert_non_null(all[n]->upos_name);
        assert_ptr_equal(device_class_find(all[n]->kind), all[n]);
    }
    assert_int_equal(n, 14);
    for (size_t i = 0; i < 14; i++)
        assert_non_null(device_class_find(kinds[i]));
    assert_null(device_class_find("toaster"));
    assert_null(device_class_find(NULL));
    assert_null(device_class_find(""));
}

/* Hostile bodies of every shape against every type of every class: only
 * clean errors or clean replies, never a crash (ASan build), and status
 * still answers afterwards. */
static void test_every_class_survives_hostile_bodies(void **state)
{
    for (size_t k = 0; k < 14; k++) {
        struct devtest t;
        char status[64];
        devtest_start(&t, kinds[k]);
        snprintf(status, sizeof(status), "%s.status", kinds[k]);
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            bool mine = strncmp(types[i], kinds[k], strlen(kinds[k])) == 0 &&
                        types[i][strlen(kinds[k])] == '.';
            cbor_item_t *b;
            /* an array instead of a map */
            b = cbor_new_definite_array(0);
            assert_int_not_equal(devtest_req(&t, types[i], b, NULL), 0);
            /* every usual key with the wrong type */
            b = devtest_body();
            const char *keys[] = {"amount", "idem", "txn", "tender", "data", "lines", "prompt",
                                  "form", "block", "action", "pan_token"};
            for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
                assert_int_equal(devbody_put_item(b, keys[j], cbor_build_bool(true)), 0);
            int r = devtest_req(&t, types[i], b, NULL);
            if (!mine)
                assert_int_equal(r, MAMORI_ERR_UNSUPPORTED);
            /* huge and negative numbers everywhere */
            b = devtest_body();
            for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
                assert_int_equal(devbody_put_int(b, keys[j], j % 2 ? INT64_MIN : INT64_MAX), 0);
            r = devtest_req(&t, types[i], b, NULL);
            assert_true(r == 0 || r < 0);
        }
        cbor_item_t *st = NULL;
        assert_int_equal(devtest_req(&t, status, NULL, &st), 0);
        assert_non_null(st);
        cbor_decref(&st);
        /* control: status answers, nonsense is refused */
        assert_int_equal(devtest_ctl(&t, "status"), 0);
        assert_true(strlen(devtest_answer(&t)) > 0);
        assert_int_not_equal(devtest_ctl(&t, "launch missiles"), 0);
        assert_int_not_equal(devtest_ctl(&t, ""), 0);
        devtest_restart(&t);
        devtest_stop(&t);
    }
}

static void test_corrupt_state_fails_closed(void **state)
{
    for (size_t k = 0; k < 14; k++) {
        struct devtest t;
        char path[4200], name[64];
        devtest_start(&t, kinds[k]);
        t.cls->destroy(t.st);
        t.st = NULL;
        snprintf(name, sizeof(name), "%s.state", kinds[k]);
        snprintf(path, sizeof(path), "%s/%s", t.dir, name);
        if (strcmp(kinds[k], "linedisplay") == 0) {
            /* nothing but volatile text (test_output.c: a lost text file
             * starts blank): no synced state to fail closed on */
            FILE *g = fopen(path, "rb");
            assert_null(g);
            devtest_stop(&t);
            continue;
        }
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs("\xa1\x61x\x01", f); /* a valid map with none of the expected keys */
        fclose(f);
        void *st = NULL;
        /* every class refuses to start (devstate_open): corrupt, not "new" */
        assert_int_equal(t.cls->create(t.dir, &t.io, &st), MAMORI_ERR_INVAL);
        assert_null(st);
        f = fopen(path, "wb");
        fputs("not cbor at all", f);
        fclose(f);
        assert_int_equal(t.cls->create(t.dir, &t.io, &st), MAMORI_ERR_INVAL);
        char kept[32] = "";
        f = fopen(path, "rb"); /* left as found for inspection, not reset to defaults */
        assert_non_null(f);
        assert_non_null(fgets(kept, sizeof(kept), f));
        fclose(f);
        assert_string_equal(kept, "not cbor at all");
        remove(path);
        assert_int_equal(t.cls->create(t.dir, &t.io, &t.st), 0); /* a new device */
        devtest_stop(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_fourteen_classes_registered),
        cmocka_unit_test(test_every_class_survives_hostile_bodies),
        cmocka_unit_test(test_corrupt_state_fails_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
