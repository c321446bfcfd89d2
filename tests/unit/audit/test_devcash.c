/*
 * Unit tests for src/audit/devcash.c: cash facts from verified device logs,
 * and reconciliation straight from the signed logs (POL-8(1)).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "audit/audit.h"
#include "audit/devcash.h"
#include "audit/devlog.h"
#include "audit/reconcile.h"
#include "keys/keys.h"
#include "mamori/err.h"

#define T0 INT64_C(1764149400000000000) /* 2026-11-26 09:30:00 UTC */
#define MIN INT64_C(60000000000)

/* {"ref": ref?, "denoms": {key: n}} with the key as text or uint */
static size_t move_details(uint8_t *out, size_t cap, const char *ref, int denom, int n, int uint_key)
{
    cbor_item_t *m = cbor_new_definite_map(2), *d = cbor_new_definite_map(1);
    char k[8];
    snprintf(k, sizeof(k), "%d", denom);
    cbor_map_add(d, (struct cbor_pair){cbor_move(uint_key ? cbor_build_uint32((uint32_t)denom) : cbor_build_string(k)),
                                      cbor_move(cbor_build_uint32((uint32_t)n))});
    if (ref)
        cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("ref")), cbor_move(cbor_build_string(ref))});
    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("denoms")), cbor_move(d)});
    size_t len = cbor_serialize(m, out, cap);
    cbor_decref(&m);
    assert_true(len > 0);
    return len;
}

static size_t open_details(uint8_t *out, size_t cap, const char *ref, bool manual)
{
    cbor_item_t *m = cbor_new_definite_map(2);
    if (ref)
        cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("ref")), cbor_move(cbor_build_string(ref))});
    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("manual")), cbor_move(cbor_build_bool(manual))});
    size_t len = cbor_serialize(m, out, cap);
    cbor_decref(&m);
    return len;
}

static void test_pol8_1_cash_facts_classified_and_hostile_refused(void **state)
{
    uint8_t d[256];
    size_t n;
    struct devcash_fact f;
    (void)state;
    n = move_details(d, sizeof(d), "T0001", 1000, 2, 0);
    assert_int_equal(devcash_classify("changer.dispense", d, n, &f), 0);
    assert_int_equal(f.kind, DEVCASH_MOVE);
    assert_int_equal(f.dir, RECON_OUT);
    assert_int_equal(f.count[3], 2);
    assert_string_equal(f.ref, "T0001");
    n = move_details(d, sizeof(d), NULL, 500, 1, 1);
    assert_int_equal(devcash_classify("changer.deposit", d, n, &f), 0);
    assert_int_equal(f.dir, RECON_IN);
    assert_int_equal(f.count[4], 1);
    assert_false(f.has_ref);
    n = open_details(d, sizeof(d), NULL, true);
    assert_int_equal(devcash_classify("drawer.open", d, n, &f), 0);
    assert_int_equal(f.kind, DEVCASH_OPEN);
    assert_true(f.manual);
    assert_int_equal(devcash_classify("pinpad.session", d, n, &f), 0);
    assert_int_equal(f.kind, DEVCASH_NONE);
    /* hostile: not a denomination, no denoms, trailing byte, empty, not a map,
     * a ref too long, a negative count */
    n = move_details(d, sizeof(d), "T1", 3, 1, 0);
    assert_int_equal(devcash_classify("changer.dispense", d, n, &f), MAMORI_ERR_INVAL);
    n = open_details(d, sizeof(d), "T1", false);
    assert_int_equal(devcash_classify("changer.dispense", d, n, &f), MAMORI_ERR_INVAL);
    n = move_details(d, sizeof(d), "T1", 1000, 1, 0);
    d[n] = 0x00;
    assert_int_equal(devcash_classify("changer.dispense", d, n + 1, &f), MAMORI_ERR_INVAL);
    assert_int_equal(devcash_classify("changer.dispense", d, 0, &f), MAMORI_ERR_INVAL);
    uint8_t arr[] = {0x80};
    assert_int_equal(devcash_classify("drawer.open", arr, 1, &f), MAMORI_ERR_INVAL);
    char longref[80];
    memset(longref, 'r', sizeof(longref) - 1);
    longref[sizeof(longref) - 1] = 0;
    n = move_details(d, sizeof(d), longref, 1000, 1, 0);
    assert_int_equal(devcash_classify("changer.dispense", d, n, &f), MAMORI_ERR_INVAL);
    uint8_t neg[] = {0xa1, 0x66, 'd', 'e', 'n', 'o', 'm', 's', 0xa1, 0x64, '1', '0', '0', '0', 0x20};
    assert_int_equal(devcash_classify("changer.dispense", neg, sizeof(neg), &f), MAMORI_ERR_INVAL);
    for (size_t cut = 0; cut < sizeof(neg); cut++)
        assert_int_not_equal(devcash_classify("changer.dispense", neg, cut, &f), 0);
}

/* End to end: the change machine and the drawer sign their logs, the terminal
 * store verifies and keeps them, and reconciliation against the journal names
 * the dispense nobody asked for and the drawer opened by hand. */
static void test_pol8_1_hidden_dispense_from_signed_device_log(void **state)
{
    char *dir = testutil_tmpdir();
    char apath[4200], spath[4200];
    struct audit *a;
    struct devlog_store *s;
    struct keys *kc, *kd;
    uint8_t pc[32], pd[32], det[256];
    struct devlog_chain cc, cd;
    struct buf b;
    enum devlog_verdict v;
    (void)state;
    snprintf(apath, sizeof(apath), "%s/audit.db", dir);
    snprintf(spath, sizeof(spath), "%s/devlog.db", dir);
    assert_int_equal(audit_open(apath, &a), 0);
    assert_int_equal(devlog_store_open(spath, a, &s), 0);
    assert_int_equal(keys_generate(&kc), 0);
    assert_int_equal(keys_generate(&kd), 0);
    keys_sign_public(kc, pc);
    keys_sign_public(kd, pd);
    assert_int_equal(devlog_store_enroll(s, "CHG-0001", pc), 0);
    assert_int_equal(devlog_store_enroll(s, "DRW-0001", pd), 0);
    assert_int_equal(devlog_chain_init(&cc, "CHG-0001"), 0);
    assert_int_equal(devlog_chain_init(&cd, "DRW-0001"), 0);
    buf_init(&b, 1 << 16);
#define DEV(chain, key, ev, dlen, t)                                                      \
    do {                                                                                 \
        buf_reset(&b);                                                                   \
        assert_int_equal(devlog_append(&(chain), key, ev, det, dlen, t, &b), 0);          \
        assert_int_equal(devlog_store_ingest(s, b.d, b.len, &v), 0);                     \
        assert_int_equal(v, DEVLOG_OK);                                                  \
    } while (0)
    DEV(cc, kc, "changer.deposit", move_details(det, sizeof(det), "T1", 1000, 1, 0), T0);
    DEV(cc, kc, "changer.dispense", move_details(det, sizeof(det), "T1", 100, 3, 0), T0 + 2000000000);
    DEV(cd, kd, "drawer.open", open_details(det, sizeof(det), "T1", false), T0 + 1000000000);
    DEV(cc, kc, "changer.dispense", move_details(det, sizeof(det), NULL, 1000, 2, 0), T0 + 10 * MIN); /* hidden */
    DEV(cd, kd, "drawer.open", open_details(det, sizeof(det), NULL, true), T0 + 15 * MIN);          /* by hand */
    DEV(cc, kc, "changer.deposit", move_details(det, sizeof(det), "T2", 5000, 1, 1), T0 + 20 * MIN);
    DEV(cc, kc, "changer.dispense", move_details(det, sizeof(det), "T2", 1000, 4, 0), T0 + 20 * MIN + 2000000000);
#undef DEV
    struct devcash_set *set;
    assert_int_equal(devlog_store_collect(s, T0 - MIN, T0 + 60 * MIN, &set), 0);
    assert_int_equal(set->n_moves, 5);
    assert_int_equal(set->n_opens, 2);
    assert_int_equal(set->malformed, 0);
    struct recon_move journal[4] = {
        {.time_ns = T0, .dir = RECON_IN, .ref = "T1", .operator_id = "op-A", .count = {[3] = 1}},
        {.time_ns = T0 + 2000000000, .dir = RECON_OUT, .ref = "T1", .operator_id = "op-A", .count = {[5] = 3}},
        {.time_ns = T0 + 20 * MIN, .dir = RECON_IN, .ref = "T2", .operator_id = "op-A", .count = {[1] = 1}},
        {.time_ns = T0 + 20 * MIN + 2000000000, .dir = RECON_OUT, .ref = "T2", .operator_id = "op-A",
         .count = {[3] = 4}},
    };
    struct recon_drawer_open cmds[1] = {{.time_ns = T0 + 1000000000, .ref = "T1", .operator_id = "op-A"}};
    struct recon_session sess[1] = {{"op-A", T0 - MIN, T0 + 60 * MIN}};
    struct recon_input in = {.journal = journal, .n_journal = 4, .device = set->moves, .n_device = set->n_moves,
                             .drawer_log = set->opens, .n_drawer_log = set->n_opens, .drawer_cmds = cmds,
                             .n_drawer_cmds = 1, .sessions = sess, .n_sessions = 1};
    struct recon_report *rep = malloc(sizeof(*rep));
    assert_non_null(rep);
    assert_int_equal(recon_run(&in, a, rep), 0);
    assert_int_equal(rep->n, 2);
    assert_int_equal(rep->f[0].kind, RECON_DEVICE_NOT_IN_JOURNAL);
    assert_int_equal(rep->f[0].amount, -2000);
    assert_string_equal(rep->f[0].serial, "CHG-0001");
    assert_int_equal(rep->f[0].seq, 2);
    assert_int_equal(rep->f[0].from_ns, T0 + 2000000000);
    assert_int_equal(rep->f[0].to_ns, T0 + 20 * MIN);
    assert_string_equal(rep->f[0].operators[0], "op-A");
    assert_int_equal(rep->f[1].kind, RECON_DRAWER_UNCOMMANDED);
    assert_string_equal(rep->f[1].ref, "manual-key");
    assert_string_equal(rep->f[1].serial, "DRW-0001");
    int64_t cnt;
    assert_int_equal(audit_count(a, "cash.discrepancy", &cnt), 0);
    assert_int_equal(cnt, 2);
    free(rep);
    devcash_set_free(set);
    devcash_set_free(NULL);
    buf_free(&b);
    keys_free(kc);
    keys_free(kd);
    devlog_store_close(s);
    audit_close(a);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol8_1_cash_facts_classified_and_hostile_refused),
        cmocka_unit_test(test_pol8_1_hidden_dispense_from_signed_device_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
