/*
 * Unit tests for src/keys/ceremony.c: the key injection ceremony core as an
 * attacker or a careless custodian would try it (POL-8(3): dual control and
 * split knowledge).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "crypto/kcv.h"
#include "crypto/tr31.h"
#include "keys/ceremony.h"
#include "mamori/err.h"
#include "pos/operator.h"

struct fix {
    char *dir;
    struct audit *audit;
    struct operators *ops;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    char p[4200];
    f->dir = testutil_tmpdir();
    snprintf(p, sizeof(p), "%s/audit.db", f->dir);
    assert_int_equal(audit_open(p, &f->audit), 0);
    snprintf(p, sizeof(p), "%s/operators.db", f->dir);
    assert_int_equal(operators_open(p, f->audit, &f->ops), 0);
    assert_int_equal(operators_add(f->ops, "suzuki", "鈴木 一郎", OPERATOR_MAINTAINER, "pw-suzuki-1"), 0);
    assert_int_equal(operators_add(f->ops, "tanaka", "田中 花子", OPERATOR_MAINTAINER, "pw-tanaka-2"), 0);
    assert_int_equal(operators_add(f->ops, "sato", "佐藤 次郎", OPERATOR_CASHIER, "pw-sato-3"), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    operators_free(f->ops);
    audit_close(f->audit);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static int64_t count(struct fix *f, const char *ev)
{
    int64_t n = -1;
    assert_int_equal(audit_count(f->audit, ev, &n), 0);
    return n;
}

static void test_pol8_same_custodian_twice_refused(void **state)
{
    struct fix *f = *state;
    struct ceremony *c;
    char kcv[CEREMONY_KCV_HEX];
    uint8_t comp[16];
    memset(comp, 0x11, sizeof(comp));
    assert_int_equal(ceremony_begin(f->ops, f->audit, "pinpad-1", 16, &c), 0);
    assert_int_equal(ceremony_authorize(c, "suzuki", "pw-suzuki-1", "suzuki", "pw-suzuki-1"), MAMORI_ERR_PERM);
    /* nothing secret is accepted after the refusal */
    assert_int_equal(ceremony_add_component(c, 1, comp, 16, kcv), MAMORI_ERR_STATE);
    assert_int_equal(count(f, "keys.ceremony.refused"), 1);
    ceremony_free(c);
}

static void test_pol8_one_custodian_or_wrong_role_refused(void **state)
{
    struct fix *f = *state;
    struct ceremony *c;
    assert_int_equal(ceremony_begin(f->ops, f->audit, "pinpad-1", 16, &c), 0);
    assert_int_equal(ceremony_authorize(c, "suzuki", "pw-suzuki-1", NULL, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(ceremony_authorize(c, "suzuki", "pw-suzuki-1", "sato", "pw-sato-3"), MAMORI_ERR_PERM);
    assert_int_equal(ceremony_authorize(c, "suzuki", "pw-suzuki-1", "tanaka", "wrong-password"), MAMORI_ERR_AUTH);
    assert_int_equal(count(f, "keys.ceremony.refused"), 3);
    assert_int_equal(count(f, "keys.ceremony.authorized"), 0);
    ceremony_free(c);
}

static void test_pol8_ceremony_components_kcv_and_wrap(void **state)
{
    struct fix *f = *state;
    struct ceremony *c;
    char kcv1[CEREMONY_KCV_HEX], kcv2[CEREMONY_KCV_HEX], kcvk[CEREMONY_KCV_HEX], ikkcv[CEREMONY_KCV_HEX], want[8];
    uint8_t c1[16], c2[16], kbpk[16], ik[16];
    for (int i = 0; i < 16; i++) {
        c1[i] = (uint8_t)(0x30 + i);
        c2[i] = (uint8_t)(0xA5 ^ i);
        kbpk[i] = c1[i] ^ c2[i];
        ik[i] = (uint8_t)(0x70 + 3 * i);
    }
    assert_int_equal(ceremony_begin(f->ops, f->audit, "pinpad-1", 16, &c), 0);
    char *kb = NULL;
    assert_int_equal(ceremony_wrap_initial_key(c, ik, 16, &kb, ikkcv), MAMORI_ERR_STATE); /* no KBPK yet */
    assert_int_equal(ceremony_authorize(c, "suzuki", "pw-suzuki-1", "tanaka", "pw-tanaka-2"), 0);
    assert_int_equal(ceremony_combine(c, kcvk), MAMORI_ERR_STATE);                       /* one part missing */
    assert_int_equal(ceremony_add_component(c, 1, c1, 15, kcv1), MAMORI_ERR_INVAL);        /* wrong length */
    uint8_t zero[16] = {0};
    assert_int_equal(ceremony_add_component(c, 1, zero, 16, kcv1), MAMORI_ERR_INVAL);      /* all zero */
    assert_int_equal(ceremony_add_component(c, 1, c1, 16, kcv1), 0);
    assert_int_equal(ceremony_add_component(c, 1, c2, 16, kcv2), MAMORI_ERR_STATE);        /* custodian 1 again */
    assert_int_equal(ceremony_add_component(c, 2, c2, 16, kcv2), 0);
    assert_int_equal(kcv_hex(SYMM_AES, c1, 16, 3, want, sizeof(want)), 0);
    assert_string_equal(kcv1, want);
    assert_int_equal(kcv_hex(SYMM_AES, c2, 16, 3, want, sizeof(want)), 0);
    assert_string_equal(kcv2, want);
    assert_int_equal(ceremony_combine(c, kcvk), 0);
    assert_int_equal(kcv_hex(SYMM_AES, kbpk, 16, 3, want, sizeof(want)), 0);
    assert_string_equal(kcvk, want); /* the KBPK is the XOR of the two components */
    assert_int_equal(ceremony_wrap_initial_key(c, ik, 16, &kb, ikkcv), 0);
    /* the device, holding the same KBPK, unwraps the initial key */
    struct tr31_header h;
    uint8_t *out = NULL;
    size_t olen = 0;
    assert_int_equal(tr31_unwrap(kbpk, 16, kb, strlen(kb), &h, &out, &olen), 0);
    assert_int_equal(olen, 16);
    assert_memory_equal(out, ik, 16);
    assert_string_equal(h.usage, "B1");
    tr31_key_free(out);
    free(kb);
    assert_int_equal(count(f, "keys.ceremony.component"), 2);
    assert_int_equal(count(f, "keys.ceremony.kbpk"), 1);
    assert_int_equal(count(f, "keys.ceremony.wrapped"), 1);
    ceremony_free(c);
    /* equal components would give a zero KBPK: refused */
    assert_int_equal(ceremony_begin(f->ops, f->audit, "pinpad-2", 16, &c), 0);
    assert_int_equal(ceremony_authorize(c, "tanaka", "pw-tanaka-2", "suzuki", "pw-suzuki-1"), 0);
    assert_int_equal(ceremony_add_component(c, 1, c1, 16, kcv1), 0);
    assert_int_equal(ceremony_add_component(c, 2, c1, 16, kcv2), 0);
    assert_int_equal(ceremony_combine(c, kcvk), MAMORI_ERR_INVAL);
    ceremony_free(c);
    ceremony_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pol8_same_custodian_twice_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pol8_one_custodian_or_wrong_role_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pol8_ceremony_components_kcv_and_wrap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
