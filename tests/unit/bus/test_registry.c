/* Unit tests for src/bus/registry.c: every verdict of the admission decision,
 * dual control on enrolment, removal, audit events. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/registry.h"
#include "mamori/err.h"
#include "pos/operator.h"

struct fx {
    char *dir;
    struct audit *a;
    struct registry *r;
    struct operators *ops;
    struct keys *ca, *dev;
    uint8_t capub[32], devpub[32];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char p[512];
    f->dir = testutil_tmpdir();
    snprintf(p, sizeof(p), "%s/audit.db", f->dir);
    assert_int_equal(audit_open(p, &f->a), 0);
    snprintf(p, sizeof(p), "%s/registry.db", f->dir);
    assert_int_equal(registry_open(p, f->a, &f->r), 0);
    snprintf(p, sizeof(p), "%s/operators.db", f->dir);
    assert_int_equal(operators_open(p, f->a, &f->ops), 0);
    assert_int_equal(operators_add(f->ops, "alice", "Alice", OPERATOR_MAINTAINER, "alicepw1"), 0);
    assert_int_equal(operators_add(f->ops, "carol", "Carol", OPERATOR_MAINTAINER, "carolpw1"), 0);
    assert_int_equal(operators_add(f->ops, "bob", "Bob", OPERATOR_MANAGER, "bobpw123"), 0);
    assert_int_equal(keys_generate(&f->ca), 0);
    assert_int_equal(keys_generate(&f->dev), 0);
    keys_sign_public(f->ca, f->capub);
    keys_dh_public(f->dev, f->devpub);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    registry_close(f->r);
    operators_free(f->ops);
    audit_close(f->a);
    keys_free(f->ca);
    keys_free(f->dev);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void issue(struct fx *f, struct keys *signer, struct keys *dev, const char *serial,
                  uint8_t fw, struct buf *out)
{
    struct cert c;
    memset(&c, 0, sizeof(c));
    strcpy(c.model, "MD-DRAWER-1");
    snprintf(c.serial, sizeof(c.serial), "%s", serial);
    keys_dh_public(dev, c.bus_pub);
    keys_sign_public(dev, c.log_pub);
    memset(c.fw, fw, 32);
    c.issued = 1;
    buf_init(out, CERT_MAX);
    assert_int_equal(cert_issue(&c, signer, out), 0);
}

static void test_verdicts(void **state)
{
    struct fx *f = *state;
    struct buf good, fwchg, badca, clone, reuse;
    struct keys *dev2, *rogueca;
    uint8_t pub2[32];
    int64_t n = 0;
    assert_int_equal(keys_generate(&dev2), 0);
    assert_int_equal(keys_generate(&rogueca), 0);
    keys_dh_public(dev2, pub2);
    issue(f, f->ca, f->dev, "DR-1", 1, &good);
    issue(f, f->ca, f->dev, "DR-1", 2, &fwchg);
    issue(f, rogueca, f->dev, "DR-1", 1, &badca);
    issue(f, f->ca, dev2, "DR-1", 1, &clone);
    issue(f, f->ca, f->dev, "DR-9", 1, &reuse);

    assert_int_equal(registry_check(f->r, good.d, good.len, f->devpub, f->capub, NULL),
                     REG_UNKNOWN);
    /* dual control */
#define ENROL(cert, m, mpw, g, gpw)                                                                \
    registry_enrol(f->r, f->ops, (cert).d, (cert).len, f->capub, "drawer", m, mpw, g, gpw)
    /* dual control: same person twice, wrong role, wrong password, missing */
    assert_int_equal(ENROL(good, "alice", "alicepw1", "alice", "alicepw1"), MAMORI_ERR_PERM);
    assert_int_equal(ENROL(good, "alice", "alicepw1", "carol", "carolpw1"), MAMORI_ERR_PERM);
    assert_int_equal(ENROL(good, "bob", "bobpw123", "alice", "alicepw1"), MAMORI_ERR_PERM);
    assert_int_equal(ENROL(good, "alice", "alicepw1", "bob", "wrong!!"), MAMORI_ERR_AUTH);
    assert_int_equal(ENROL(good, "alice", "alicepw1", "", ""), MAMORI_ERR_PERM);
    assert_int_equal(audit_count(f->a, "device.enrol_refused", &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(registry_check(f->r, good.d, good.len, f->devpub, f->capub, NULL),
                     REG_UNKNOWN);
    assert_int_equal(ENROL(badca, "alice", "alicepw1", "bob", "bobpw123"), MAMORI_ERR_AUTH);
    assert_int_equal(ENROL(good, "alice", "alicepw1", "bob", "bobpw123"), 0);
    assert_int_equal(audit_count(f->a, "device.enrol", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ENROL(good, "alice", "alicepw1", "bob", "bobpw123"), MAMORI_ERR_EXISTS);

    assert_int_equal(registry_check(f->r, good.d, good.len, f->devpub, f->capub, NULL), REG_ACCEPT);
    assert_int_equal(registry_check(f->r, fwchg.d, fwchg.len, f->devpub, f->capub, NULL),
                     REG_FW_CHANGED);
    assert_int_equal(registry_check(f->r, badca.d, badca.len, f->devpub, f->capub, NULL),
                     REG_BAD_CERT);
    assert_int_equal(registry_check(f->r, clone.d, clone.len, pub2, f->capub, NULL),
                     REG_KEY_MISMATCH);
    assert_int_equal(registry_check(f->r, reuse.d, reuse.len, f->devpub, f->capub, NULL),
                     REG_KEY_MISMATCH);
    /* a valid certificate replayed by someone without the key */
    assert_int_equal(registry_check(f->r, good.d, good.len, pub2, f->capub, NULL), REG_BAD_CERT);
    /* garbage */
    assert_int_equal(
        registry_check(f->r, (const uint8_t *)"\x82\x40\x40", 3, f->devpub, f->capub, NULL),
        REG_BAD_CERT);

    struct registry_device d;
    assert_int_equal(registry_find_key(f->r, f->devpub, &d), 0);
    assert_string_equal(d.serial, "DR-1");
    assert_string_equal(d.kind, "drawer");
    assert_string_equal(d.maintainer, "alice");
    assert_string_equal(d.manager, "bob");

    struct audit_actor act = {.operator_id = "bob", .role = "manager"};
    assert_int_equal(registry_remove(f->r, "DR-1", &act), 0);
    assert_int_equal(registry_remove(f->r, "DR-1", &act), MAMORI_ERR_NOTFOUND);
    assert_int_equal(registry_check(f->r, good.d, good.len, f->devpub, f->capub, NULL),
                     REG_REMOVED);
    assert_int_equal(audit_count(f->a, "device.remove", &n), 0);
    assert_int_equal(n, 1);
    size_t cnt = 0;
    struct registry_device all[4];
    assert_int_equal(registry_list(f->r, all, 4, &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_true(all[0].removed);
    /* re-enrolment after removal goes through dual control again */
    assert_int_equal(ENROL(good, "carol", "carolpw1", "bob", "bobpw123"), 0);
    assert_int_equal(registry_check(f->r, good.d, good.len, f->devpub, f->capub, NULL), REG_ACCEPT);

    buf_free(&good);
    buf_free(&fwchg);
    buf_free(&badca);
    buf_free(&clone);
    buf_free(&reuse);
    keys_free(dev2);
    keys_free(rogueca);
    assert_string_equal(registry_verdict_str(REG_KEY_MISMATCH), "key_mismatch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verdicts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
