/* Unit tests for src/devices/drawer.c and changer.c (cash devices, DEV-18, POL-1). */
#include "devtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devbody.h"
#include "mamori/err.h"

static cbor_item_t *open_body(const char *txn, const char *tender, const char *idem)
{
    cbor_item_t *b = devtest_body();
    if (txn != NULL)
        assert_int_equal(devbody_put_str(b, "txn", txn), 0);
    if (tender != NULL)
        assert_int_equal(devbody_put_str(b, "tender", tender), 0);
    if (idem != NULL)
        assert_int_equal(devbody_put_str(b, "idem", idem), 0);
    return b;
}

static int64_t drawer_opens(struct devtest *t, bool *ret_open)
{
    cbor_item_t *st = NULL;
    char s[16];
    assert_int_equal(devtest_req(t, "drawer.status", NULL, &st), 0);
    *ret_open = strcmp(devtest_str(st, "state", s, sizeof(s)), "open") == 0;
    int64_t n = devtest_int(st, "opens");
    cbor_decref(&st);
    return n;
}

static void test_pol1_drawer_open_idempotent_retry_opens_once(void **state)
{
    struct devtest t;
    cbor_item_t *r1 = NULL, *r2 = NULL;
    bool open;
    devtest_start(&t, "drawer");
    assert_int_equal(drawer_opens(&t, &open), 0);
    assert_false(open);
    assert_int_equal(devtest_req(&t, "drawer.open", open_body("T1", "cash", "I1"), &r1), 0);
    assert_int_equal(devtest_count(&t, "drawer.status"), 1);
    assert_int_equal(devtest_ctl(&t, "close"), 0);
    /* the retry after a lost reply: same answer, no second open */
    assert_int_equal(devtest_req(&t, "drawer.open", open_body("T1", "cash", "I1"), &r2), 0);
    assert_true(devtest_same(r1, r2));
    assert_int_equal(drawer_opens(&t, &open), 1);
    assert_false(open);
    /* also after a power cycle */
    devtest_restart(&t);
    cbor_decref(&r2);
    assert_int_equal(devtest_req(&t, "drawer.open", open_body("T1", "cash", "I1"), &r2), 0);
    assert_true(devtest_same(r1, r2));
    assert_int_equal(drawer_opens(&t, &open), 1);
    /* the same key for another transaction is refused, not honoured */
    assert_int_equal(devtest_req(&t, "drawer.open", open_body("T2", "cash", "I1"), NULL),
                     MAMORI_ERR_EXISTS);
    assert_int_equal(drawer_opens(&t, &open), 1);
    /* a new key opens again */
    assert_int_equal(devtest_req(&t, "drawer.open", open_body("T2", "cash", "I2"), NULL), 0);
    assert_int_equal(drawer_opens(&t, &open), 2);
    assert_true(open);
    cbor_decref(&r1);
    cbor_decref(&r2);
    devtest_stop(&t);
}

static void test_drawer_hostile_bodies_and_manual_open(void **state)
{
    struct devtest t;
    bool open;
    devtest_start(&t, "drawer");
    assert_int_equal(devtest_req(&t, "drawer.open", NULL, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "drawer.open", open_body("T1", "cash", NULL), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "drawer.open", open_body(NULL, "cash", "I"), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "drawer.open", open_body("T1", "cash", ""), NULL), MAMORI_ERR_INVAL);
    char longid[200];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = 0;
    assert_int_equal(devtest_req(&t, "drawer.open", open_body("T1", "cash", longid), NULL), MAMORI_ERR_TOOBIG);
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_int(b, "txn", 5), 0);
    assert_int_equal(devbody_put_str(b, "tender", "cash"), 0);
    assert_int_equal(devbody_put_str(b, "idem", "I9"), 0);
    assert_int_equal(devtest_req(&t, "drawer.open", b, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "drawer.explode", NULL, NULL), MAMORI_ERR_UNSUPPORTED);
    assert_int_equal(drawer_opens(&t, &open), 0);
    assert_false(open);
    /* the physical key opens it and the device records that */
    assert_int_equal(devtest_ctl(&t, "open-by-key"), 0);
    assert_int_equal(drawer_opens(&t, &open), 0);
    assert_true(open);
    char by[16];
    assert_string_equal(devtest_str(devtest_event(&t, "drawer.status", 0), "by", by, sizeof(by)), "key");
    char path[4200], line[256];
    snprintf(path, sizeof(path), "%s/device.log", t.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_non_null(strstr(line, "drawer.open_by_key"));
    fclose(f);
    devtest_restart(&t);
    assert_int_equal(devtest_ctl(&t, "status"), 0);
    assert_non_null(strstr(devtest_answer(&t), "open, 0 opens by command, 1 by key"));
    assert_int_equal(devtest_ctl(&t, "bogus"), MAMORI_ERR_INVAL);
    devtest_stop(&t);
}

static cbor_item_t *dispense_body(int64_t amount, const char *idem, const char *txn)
{
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", amount), 0);
    if (idem != NULL)
        assert_int_equal(devbody_put_str(b, "idem", idem), 0);
    if (txn != NULL)
        assert_int_equal(devbody_put_str(b, "txn", txn), 0);
    return b;
}

static int64_t changer_total(struct devtest *t)
{
    cbor_item_t *c = NULL;
    assert_int_equal(devtest_req(t, "changer.counts", NULL, &c), 0);
    int64_t v = devtest_int(c, "total");
    cbor_decref(&c);
    return v;
}

/* The count of one denomination in a {denom: count} map. */
static int64_t count_of(const cbor_item_t *m, int64_t denom)
{
    struct cbor_pair *p = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        int64_t k, v;
        assert_int_equal(devbody_int_value(p[i].key, &k), 0);
        assert_int_equal(devbody_int_value(p[i].value, &v), 0);
        if (k == denom)
            return v;
    }
    return 0;
}

static void test_pol1_dispense_idempotent_retry_pays_once(void **state)
{
    struct devtest t;
    cbor_item_t *r1 = NULL, *r2 = NULL;
    devtest_start(&t, "changer");
    int64_t before = changer_total(&t);
    assert_true(before > 0);
    assert_int_equal(devtest_req(&t, "changer.dispense", dispense_body(6789, "D1", "T1"), &r1), 0);
    assert_int_equal(devtest_int(r1, "amount"), 6789);
    const cbor_item_t *counts = devbody_find(r1, "counts");
    /* greedy: 5000 + 1000 + 500 + 100x2 + 50 + 10x3 + 5 + 1x4 */
    assert_int_equal(count_of(counts, 5000), 1);
    assert_int_equal(count_of(counts, 1000), 1);
    assert_int_equal(count_of(counts, 500), 1);
    assert_int_equal(count_of(counts, 100), 2);
    assert_int_equal(count_of(counts, 50), 1);
    assert_int_equal(count_of(counts, 10), 3);
    assert_int_equal(count_of(counts, 5), 1);
    assert_int_equal(count_of(counts, 1), 4);
    assert_int_equal(changer_total(&t), before - 6789);
    /* the reply was lost; the terminal retries, also after a device restart */
    assert_int_equal(devtest_req(&t, "changer.dispense", dispense_body(6789, "D1", "T1"), &r2), 0);
    assert_true(devtest_same(r1, r2));
    cbor_decref(&r2);
    devtest_restart(&t);
    assert_int_equal(devtest_req(&t, "changer.dispense", dispense_body(6789, "D1", "T1"), &r2), 0);
    assert_true(devtest_same(r1, r2));
    assert_int_equal(changer_total(&t), before - 6789); /* paid once */
    /* the same key with another amount is refused and pays nothing */
    assert_int_equal(devtest_req(&t, "changer.dispense", dispense_body(9999, "D1", "T1"), NULL),
                     MAMORI_ERR_EXISTS);
    assert_int_equal(changer_total(&t), before - 6789);
    cbor_decref(&r1);
    cbor_decref(&r2);
    devtest_stop(&t);
}

static void test_changer_refuses_insufficient_and_hostile(void **state)
{
    struct devtest t;
    devtest_start(&t, "changer");
    int64_t before = changer_total(&t);
    assert_int_equal(devtest_req(&t, "changer.dispense", dispense_body(before + 1, "X1", NULL), NULL),
                     MAMORI_ERR_LIMIT);
    assert_int_equal(devtest_req(&t, "changer.dispense", dispense_body(0, "X2", NULL), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "changer.dispense", dispense_body(-500, "X3", NULL), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "changer.dispense", dispense_body(INT64_MAX, "X4", NULL), NULL),
                     MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "changer.dispense", dispense_body(100, NULL, NULL), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "changer.dispense", NULL, NULL), MAMORI_ERR_INVAL);
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_str(b, "amount", "100"), 0);
    assert_int_equal(devbody_put_str(b, "idem", "X5"), 0);
    assert_int_equal(devtest_req(&t, "changer.dispense", b, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(changer_total(&t), before); /* nothing moved */
    /* a refused key is not remembered: it can be used once the cash is there */
    assert_int_equal(devtest_ctl(&t, "force-dispense 0"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "insert 1000"), MAMORI_ERR_STATE); /* no deposit open */
    devtest_stop(&t);
}

static void test_changer_deposit_cycle_and_counts(void **state)
{
    struct devtest t;
    cbor_item_t *r = NULL, *r2 = NULL;
    devtest_start(&t, "changer");
    int64_t before = changer_total(&t);
    assert_int_equal(devtest_req(&t, "changer.deposit_begin", NULL, NULL), 0);
    assert_int_equal(devtest_req(&t, "changer.deposit_begin", NULL, NULL), MAMORI_ERR_STATE);
    assert_int_equal(devtest_ctl(&t, "insert 1000 1000 500"), 0);
    assert_int_equal(devtest_ctl(&t, "insert 3000"), MAMORI_ERR_INVAL); /* not a JPY note */
    assert_int_equal(devtest_ctl(&t, "insert 10 abc"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_int(devtest_event(&t, "changer.deposit", 0), "amount"), 2500);
    /* a dispense during a deposit is refused */
    assert_int_equal(devtest_req(&t, "changer.dispense", dispense_body(100, "Y1", NULL), NULL), MAMORI_ERR_STATE);
    devtest_restart(&t); /* the deposit in progress survives */
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_str(b, "idem", "E1"), 0);
    assert_int_equal(devbody_put_str(b, "txn", "T7"), 0);
    assert_int_equal(devtest_req(&t, "changer.deposit_end", b, &r), 0);
    assert_int_equal(devtest_int(r, "amount"), 2500);
    assert_int_equal(count_of(devbody_find(r, "counts"), 1000), 2);
    assert_int_equal(count_of(devbody_find(r, "counts"), 500), 1);
    assert_int_equal(changer_total(&t), before + 2500);
    b = devtest_body();
    assert_int_equal(devbody_put_str(b, "idem", "E1"), 0);
    assert_int_equal(devbody_put_str(b, "txn", "T7"), 0);
    assert_int_equal(devtest_req(&t, "changer.deposit_end", b, &r2), 0); /* retry */
    assert_true(devtest_same(r, r2));
    assert_int_equal(changer_total(&t), before + 2500);
    b = devtest_body();
    assert_int_equal(devbody_put_str(b, "idem", "E2"), 0);
    assert_int_equal(devtest_req(&t, "changer.deposit_end", b, NULL), MAMORI_ERR_STATE);
    /* repay returns the money */
    assert_int_equal(devtest_req(&t, "changer.deposit_begin", NULL, NULL), 0);
    assert_int_equal(devtest_ctl(&t, "insert 10000"), 0);
    b = devtest_body();
    assert_int_equal(devbody_put_str(b, "idem", "E3"), 0);
    assert_int_equal(devbody_put_str(b, "action", "repay"), 0);
    assert_int_equal(devtest_req(&t, "changer.deposit_end", b, NULL), 0);
    assert_int_equal(changer_total(&t), before + 2500);
    /* the hidden dispense moves cash without any request, and is logged by the device */
    assert_int_equal(devtest_ctl(&t, "force-dispense 1000"), 0);
    assert_int_equal(changer_total(&t), before + 1500);
    char path[4200], line[512];
    int found = 0;
    snprintf(path, sizeof(path), "%s/device.log", t.dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        found += strstr(line, "changer.dispense amount=1000") != NULL && strstr(line, "by=force") != NULL;
    fclose(f);
    assert_int_equal(found, 1);
    cbor_item_t *c = NULL;
    char cc[256];
    assert_int_equal(devtest_req(&t, "changer.counts", NULL, &c), 0);
    assert_non_null(strstr(devtest_str(c, "cash_counts", cc, sizeof(cc)), ";1000:"));
    assert_int_equal(strncmp(cc, "1:", 2), 0);
    cbor_decref(&c);
    assert_int_equal(devtest_ctl(&t, "refill"), 0);
    assert_int_equal(devtest_ctl(&t, "status"), 0);
    cbor_decref(&r);
    cbor_decref(&r2);
    devtest_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol1_drawer_open_idempotent_retry_opens_once),
        cmocka_unit_test(test_drawer_hostile_bodies_and_manual_open),
        cmocka_unit_test(test_pol1_dispense_idempotent_retry_pays_once),
        cmocka_unit_test(test_changer_refuses_insufficient_and_hostile),
        cmocka_unit_test(test_changer_deposit_cycle_and_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
