/*
 * Unit tests for src/audit/devlog.c: device-side signed hash-chained logs
 * (POL-8(1)). Attacks: a dropped entry (gap), an edited amount, a replayed old
 * entry, a wrong signature, a rewritten history; and the terminal store
 * recording each through audit.
 */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "audit/audit.h"
#include "audit/devcash.h"
#include "audit/devlog.h"
#include "keys/keys.h"
#include "mamori/err.h"

#define N 20

struct dlog {
    struct keys *key;
    uint8_t pub[32];
    struct buf file;      /* framed entries */
    size_t off[N + 1];    /* offset of each framed entry */
};

/* A CBOR map {"txn": id, "denoms": {"1000": n1, "100": n2}} */
static size_t cash_details(uint8_t *out, size_t cap, int txn, int n1000, int n100)
{
    cbor_item_t *m = cbor_new_definite_map(2), *d = cbor_new_definite_map(2);
    cbor_map_add(d, (struct cbor_pair){cbor_move(cbor_build_string("1000")), cbor_move(cbor_build_uint32((uint32_t)n1000))});
    cbor_map_add(d, (struct cbor_pair){cbor_move(cbor_build_string("100")), cbor_move(cbor_build_uint32((uint32_t)n100))});
    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("txn")), cbor_move(cbor_build_uint32((uint32_t)txn))});
    cbor_map_add(m, (struct cbor_pair){cbor_move(cbor_build_string("denoms")), cbor_move(d)});
    size_t n = cbor_serialize(m, out, cap);
    cbor_decref(&m);
    assert_true(n > 0);
    return n;
}

static void make_log(struct dlog *l, const char *serial)
{
    struct devlog_chain c;
    uint8_t det[256];
    assert_int_equal(keys_generate(&l->key), 0);
    keys_sign_public(l->key, l->pub);
    buf_init(&l->file, 1 << 20);
    assert_int_equal(devlog_chain_init(&c, serial), 0);
    for (int i = 0; i < N; i++) {
        l->off[i] = l->file.len;
        size_t dn = cash_details(det, sizeof(det), 1000 + i, i % 3, i % 7);
        assert_int_equal(devlog_append(&c, l->key, i % 2 ? "changer.dispense" : "drawer.open", det, dn,
                                       1700000000000000000LL + i, &l->file),
                         0);
    }
    l->off[N] = l->file.len;
    assert_int_equal(c.next_seq, N);
}

static void free_log(struct dlog *l)
{
    keys_free(l->key);
    buf_free(&l->file);
}

/* Rebuild a file from entries in the order of idx. */
static struct buf rebuild(const struct dlog *l, const int *idx, int n)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < n; i++)
        assert_int_equal(buf_put_bytes(&b, l->file.d + l->off[idx[i]], l->off[idx[i] + 1] - l->off[idx[i]]), 0);
    return b;
}

static void test_pol8_1_device_log_verifies_with_public_key_only(void **state)
{
    struct dlog l;
    struct devlog_file_result res;
    (void)state;
    make_log(&l, "DRW-0001");
    assert_int_equal(devlog_verify_file(l.file.d, l.file.len, l.pub, &res), 0);
    assert_int_equal(res.entries, N);
    assert_int_equal(res.ok, N);
    /* another device's key verifies nothing */
    struct dlog other;
    make_log(&other, "DRW-0002");
    assert_int_equal(devlog_verify_file(l.file.d, l.file.len, other.pub, &res), MAMORI_ERR_AUTH);
    assert_int_equal(res.verdict, DEVLOG_BAD_SIGNATURE);
    assert_int_equal(res.first_bad, 0);
    free_log(&other);
    free_log(&l);
}

static void test_pol8_1_device_log_gap_detected(void **state)
{
    struct dlog l;
    struct devlog_file_result res;
    int idx[N], n = 0;
    (void)state;
    make_log(&l, "CHG-0001");
    for (int i = 0; i < N; i++)
        if (i != 7)
            idx[n++] = i;
    struct buf b = rebuild(&l, idx, n);
    assert_int_equal(devlog_verify_file(b.d, b.len, l.pub, &res), MAMORI_ERR_AUTH);
    assert_int_equal(res.verdict, DEVLOG_GAP);
    assert_int_equal(res.first_bad, 7);
    assert_non_null(strstr(res.reason, "expected seq 7, found 8"));
    buf_free(&b);
    free_log(&l);
}

static void test_pol8_1_device_log_edited_amount_detected(void **state)
{
    struct dlog l;
    struct devlog_file_result res;
    struct devlog_entry e;
    struct buf in;
    (void)state;
    make_log(&l, "CHG-0002");
    /* find entry 5's details and change the 1000-yen count */
    buf_view(&in, l.file.d + l.off[5], l.off[6] - l.off[5]);
    assert_int_equal(devlog_read(&in, &e), 0);
    uint8_t *p = memmem(l.file.d + l.off[5], l.off[6] - l.off[5], e.details, e.details_len);
    assert_non_null(p);
    uint8_t *cnt = memmem(p, e.details_len, "1000", 4);
    assert_non_null(cnt);
    cnt[4] ^= 0x01; /* the uint right after the key "1000" */
    assert_int_equal(devlog_verify_file(l.file.d, l.file.len, l.pub, &res), MAMORI_ERR_AUTH);
    assert_int_equal(res.verdict, DEVLOG_BAD_SIGNATURE);
    assert_int_equal(res.first_bad, 5);
    free_log(&l);
}

static void test_pol8_1_device_log_replayed_old_entry_detected(void **state)
{
    struct dlog l;
    struct devlog_file_result res;
    int idx[N + 1], n = 0;
    (void)state;
    make_log(&l, "DRW-0003");
    for (int i = 0; i < 10; i++)
        idx[n++] = i;
    idx[n++] = 3; /* an old genuine entry sent again */
    struct buf b = rebuild(&l, idx, n);
    assert_int_equal(devlog_verify_file(b.d, b.len, l.pub, &res), MAMORI_ERR_AUTH);
    assert_int_equal(res.verdict, DEVLOG_REPLAY);
    assert_int_equal(res.first_bad, 10);
    buf_free(&b);
    /* swapping two entries is caught the same way */
    n = 0;
    for (int i = 0; i < N; i++)
        idx[n++] = i == 4 ? 5 : i == 5 ? 4 : i;
    b = rebuild(&l, idx, n);
    assert_int_equal(devlog_verify_file(b.d, b.len, l.pub, &res), MAMORI_ERR_AUTH);
    assert_int_equal(res.first_bad, 4);
    buf_free(&b);
    free_log(&l);
}

static void test_pol8_1_device_log_wrong_signature_detected(void **state)
{
    struct dlog l;
    struct devlog_file_result res;
    (void)state;
    make_log(&l, "PIN-0001");
    /* an entry 6 forged by someone with another key, chained correctly */
    struct keys *thief;
    struct devlog_chain c;
    struct devlog_entry e;
    struct buf in, forged;
    assert_int_equal(keys_generate(&thief), 0);
    buf_view(&in, l.file.d + l.off[5], l.off[6] - l.off[5]);
    assert_int_equal(devlog_read(&in, &e), 0);
    assert_int_equal(devlog_chain_init(&c, "PIN-0001"), 0);
    c.next_seq = 6;
    assert_int_equal(devlog_hash(&e, c.last_hash), 0);
    buf_init(&forged, 1 << 20);
    assert_int_equal(buf_put_bytes(&forged, l.file.d, l.off[6]), 0);
    assert_int_equal(devlog_append(&c, thief, "pinpad.session", NULL, 0, 1, &forged), 0);
    assert_int_equal(devlog_verify_file(forged.d, forged.len, l.pub, &res), MAMORI_ERR_AUTH);
    assert_int_equal(res.verdict, DEVLOG_BAD_SIGNATURE);
    assert_int_equal(res.first_bad, 6);
    /* every single-bit flip of the signature of entry 2 is caught */
    for (size_t byte = l.off[3] - 64; byte < l.off[3]; byte++)
        for (int bit = 0; bit < 8; bit++) {
            l.file.d[byte] ^= (uint8_t)(1u << bit);
            assert_int_equal(devlog_verify_file(l.file.d, l.file.len, l.pub, &res), MAMORI_ERR_AUTH);
            assert_int_equal(res.first_bad, 2);
            l.file.d[byte] ^= (uint8_t)(1u << bit);
        }
    buf_free(&forged);
    keys_free(thief);
    free_log(&l);
}

static void test_pol8_1_hostile_entries_rejected(void **state)
{
    struct devlog_entry e;
    struct dlog l;
    struct buf b;
    (void)state;
    make_log(&l, "MSR-0001");
    size_t n0 = l.off[1] - 4;
    const uint8_t *e0 = l.file.d + 4;
    assert_int_equal(devlog_decode(e0, n0, &e), 0);
    for (size_t cut = 0; cut < n0; cut++)
        assert_int_not_equal(devlog_decode(e0, cut, &e), 0);
    uint8_t big[DEVLOG_ENTRY_MAX + 8];
    memset(big, 0, sizeof(big));
    memcpy(big, e0, n0);
    assert_int_equal(devlog_decode(big, n0 + 1, &e), MAMORI_ERR_TRAILING);
    assert_int_equal(devlog_decode(big, sizeof(big), &e), MAMORI_ERR_TOOBIG);
    uint8_t huge_len[4] = {0x7f, 0xff, 0xff, 0xff};
    buf_view(&b, huge_len, 4);
    assert_int_equal(devlog_read(&b, &e), MAMORI_ERR_TOOBIG);
    struct devlog_chain c;
    assert_int_equal(devlog_chain_init(&c, ""), MAMORI_ERR_INVAL);
    assert_int_equal(devlog_chain_init(&c, "has space"), MAMORI_ERR_INVAL);
    free_log(&l);
}

/* The terminal store: records where it is in each device's sequence and
 * records gaps, bad signatures, replays and rewrites through audit. */
static void test_pol8_1_store_records_gap_bad_signature_replay_rewrite(void **state)
{
    char *dir = testutil_tmpdir();
    char apath[4200], spath[4200];
    struct audit *a;
    struct devlog_store *s;
    struct dlog l;
    enum devlog_verdict v;
    uint64_t pos;
    int64_t cnt;
    (void)state;
    snprintf(apath, sizeof(apath), "%s/audit.db", dir);
    snprintf(spath, sizeof(spath), "%s/devlog.db", dir);
    assert_int_equal(audit_open(apath, &a), 0);
    assert_int_equal(devlog_store_open(spath, a, &s), 0);
    make_log(&l, "CHG-0100");
    assert_int_equal(devlog_store_enroll(s, "CHG-0100", l.pub), 0);
    assert_int_equal(devlog_store_enroll(s, "CHG-0100", l.pub), MAMORI_ERR_EXISTS);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(devlog_store_ingest(s, l.file.d + l.off[i], l.off[i + 1] - l.off[i], &v), 0);
        assert_int_equal(v, DEVLOG_OK);
    }
    assert_int_equal(devlog_store_position(s, "CHG-0100", &pos), 0);
    assert_int_equal(pos, 5);
    /* entries 5 and 6 withheld: 7 arrives */
    assert_int_equal(devlog_store_ingest(s, l.file.d + l.off[7], l.off[8] - l.off[7], &v), 0);
    assert_int_equal(v, DEVLOG_GAP);
    assert_int_equal(audit_count(a, "devlog.gap", &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_int_equal(devlog_store_position(s, "CHG-0100", &pos), 0);
    assert_int_equal(pos, 8);
    /* old entry 2 replayed */
    assert_int_equal(devlog_store_ingest(s, l.file.d + l.off[2], l.off[3] - l.off[2], &v), 0);
    assert_int_equal(v, DEVLOG_REPLAY);
    assert_int_equal(audit_count(a, "devlog.replay", &cnt), 0);
    assert_int_equal(cnt, 1);
    /* entry 8 with a flipped byte */
    uint8_t copy[DEVLOG_ENTRY_MAX + 4];
    size_t n8 = l.off[9] - l.off[8];
    memcpy(copy, l.file.d + l.off[8], n8);
    copy[40] ^= 0x10;
    assert_int_equal(devlog_store_ingest(s, copy, n8, &v), 0);
    assert_true(v == DEVLOG_BAD_SIGNATURE || v == DEVLOG_MALFORMED || v == DEVLOG_WRONG_DEVICE);
    assert_int_equal(devlog_store_position(s, "CHG-0100", &pos), 0);
    assert_int_equal(pos, 8); /* not moved */
    /* a rewritten history: the device key signs an entry 8 that chains to a
     * different entry 7 */
    struct devlog_chain fork;
    assert_int_equal(devlog_chain_init(&fork, "CHG-0100"), 0);
    fork.next_seq = 8;
    memset(fork.last_hash, 0x42, sizeof(fork.last_hash));
    struct buf fb;
    buf_init(&fb, DEVLOG_ENTRY_MAX + 4);
    assert_int_equal(devlog_append(&fork, l.key, "drawer.open", NULL, 0, 5, &fb), 0);
    assert_int_equal(devlog_store_ingest(s, fb.d, fb.len, &v), 0);
    assert_int_equal(v, DEVLOG_REWRITTEN);
    assert_int_equal(audit_count(a, "devlog.rewritten", &cnt), 0);
    assert_int_equal(cnt, 1);
    buf_free(&fb);
    /* the genuine 8 is still accepted */
    assert_int_equal(devlog_store_ingest(s, l.file.d + l.off[8], n8, &v), 0);
    assert_int_equal(v, DEVLOG_OK);
    /* the store's export verifies with the public key only, up to the gap */
    struct buf ex;
    struct devlog_file_result res;
    buf_init(&ex, 1 << 20);
    assert_int_equal(devlog_store_export(s, "CHG-0100", &ex), 0);
    assert_int_equal(devlog_verify_file(ex.d, ex.len, l.pub, &res), MAMORI_ERR_AUTH);
    assert_int_equal(res.verdict, DEVLOG_GAP);
    assert_int_equal(res.first_bad, 5);
    buf_free(&ex);
    /* an unknown device */
    struct dlog other;
    make_log(&other, "DRW-9999");
    assert_int_equal(devlog_store_ingest(s, other.file.d, other.off[1], &v), 0);
    assert_int_equal(v, DEVLOG_WRONG_DEVICE);
    free_log(&other);
    free_log(&l);
    devlog_store_close(s);
    audit_close(a);
    testutil_rmtree(dir);
    free(dir);
}

static size_t cash_entries(struct devlog_store *s)
{
    struct devcash_set *set = NULL;
    size_t n;
    assert_int_equal(devlog_store_collect(s, 0, INT64_MAX, &set), 0);
    n = set->n_moves + set->n_opens + set->malformed;
    devcash_set_free(set);
    return n;
}

/* A unit re-enrolled under the same serial with a new log key (a swapped
 * device): the old chain is retired and kept, the new key's chain starts at
 * seq 0, and entries signed with the old key are refused from then on. */
static void test_pol8_1_reenrolled_device_new_log_key_starts_new_chain(void **state)
{
    char *dir = testutil_tmpdir();
    char apath[4200], spath[4200];
    struct audit *a;
    struct devlog_store *s;
    struct dlog old, neu;
    enum devlog_verdict v;
    uint64_t pos, retired = 0;
    int64_t cnt;
    (void)state;
    snprintf(apath, sizeof(apath), "%s/audit.db", dir);
    snprintf(spath, sizeof(spath), "%s/devlog.db", dir);
    assert_int_equal(audit_open(apath, &a), 0);
    assert_int_equal(devlog_store_open(spath, a, &s), 0);
    make_log(&old, "CHG-0200");
    make_log(&neu, "CHG-0200");
    assert_int_equal(devlog_store_enroll(s, "CHG-0200", old.pub), 0);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(devlog_store_ingest(s, old.file.d + old.off[i], old.off[i + 1] - old.off[i], &v), 0);
        assert_int_equal(v, DEVLOG_OK);
    }
    size_t before = cash_entries(s);
    assert_int_equal(before, 5);
    /* before the re-enrolment the new unit's entries do not verify */
    assert_int_equal(devlog_store_ingest(s, neu.file.d + neu.off[0], neu.off[1] - neu.off[0], &v), 0);
    assert_int_not_equal(v, DEVLOG_OK);
    /* the same key again is no re-key; an unknown serial is refused */
    assert_int_equal(devlog_store_rekey(s, "CHG-0200", old.pub, NULL), MAMORI_ERR_EXISTS);
    assert_int_equal(devlog_store_rekey(s, "CHG-0404", neu.pub, NULL), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devlog_store_rekey(s, "CHG-0200", neu.pub, &retired), 0);
    assert_int_equal(retired, 5);
    assert_int_equal(audit_count(a, "devlog.rekeyed", &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_int_equal(devlog_store_position(s, "CHG-0200", &pos), 0);
    assert_int_equal(pos, 0);
    /* the old chain is kept: its cash entries still count for the day */
    assert_int_equal(cash_entries(s), before);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(devlog_store_ingest(s, neu.file.d + neu.off[i], neu.off[i + 1] - neu.off[i], &v), 0);
        assert_int_equal(v, DEVLOG_OK);
    }
    assert_int_equal(cash_entries(s), before + 3);
    /* an entry signed with the retired key is refused and not stored */
    assert_int_equal(devlog_store_ingest(s, old.file.d + old.off[3], old.off[4] - old.off[3], &v), 0);
    assert_int_equal(v, DEVLOG_BAD_SIGNATURE);
    assert_int_equal(devlog_store_position(s, "CHG-0200", &pos), 0);
    assert_int_equal(pos, 3);
    /* the export is the new chain, verifying with the new key only */
    struct buf ex;
    struct devlog_file_result res;
    buf_init(&ex, 1 << 20);
    assert_int_equal(devlog_store_export(s, "CHG-0200", &ex), 0);
    assert_int_equal(devlog_verify_file(ex.d, ex.len, neu.pub, &res), 0);
    assert_int_equal(res.entries, 3);
    assert_int_equal(devlog_verify_file(ex.d, ex.len, old.pub, &res), MAMORI_ERR_AUTH);
    buf_free(&ex);
    free_log(&old);
    free_log(&neu);
    devlog_store_close(s);
    audit_close(a);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol8_1_device_log_verifies_with_public_key_only),
        cmocka_unit_test(test_pol8_1_device_log_gap_detected),
        cmocka_unit_test(test_pol8_1_device_log_edited_amount_detected),
        cmocka_unit_test(test_pol8_1_device_log_replayed_old_entry_detected),
        cmocka_unit_test(test_pol8_1_device_log_wrong_signature_detected),
        cmocka_unit_test(test_pol8_1_hostile_entries_rejected),
        cmocka_unit_test(test_pol8_1_store_records_gap_bad_signature_replay_rewrite),
        cmocka_unit_test(test_pol8_1_reenrolled_device_new_log_key_starts_new_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
