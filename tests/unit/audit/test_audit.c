/*
 * Unit tests for src/audit (audit.c, bundle.c, entry.c, vkeys.c): the
 * tamper-evident log against an insider with the files (POL-7, THR-6, PRE-1).
 *
 * One 10,000-entry log is built once (group commit, checkpoints every 1,000)
 * and exported; each attack works on a copy of the bundle bytes or of the
 * database and must be named by the offline verifier.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "audit/bundle.h"
#include "audit/entry.h"
#include "audit/vkeys.h"
#include "crypto/merkle.h"
#include "crypto/seal.h"
#include "keys/keys.h"
#include "mamori/err.h"

#define N_ENTRIES 10000

struct fixture {
    char *dir;
    char db[4200], seal[4200], vk[4200];
    struct audit_vkeys keys;
    uint8_t *bundle;
    size_t n;
    uint64_t total; /* entries in the log (incl. audit.start/stop) */
};

static struct fixture fx;

struct rec {
    uint8_t type;
    size_t off, len;
};

/* Offsets of every record of a bundle. */
static struct rec *records(const uint8_t *p, size_t n, size_t *ret_n)
{
    size_t cap = 16384, cnt = 0, off = AUDIT_BUNDLE_MAGIC_LEN;
    struct rec *r = malloc(cap * sizeof(*r));
    assert_non_null(r);
    while (off < n) {
        size_t start = off, len;
        uint8_t t = p[off];
        if (t == AUDIT_REC_ENTRY) {
            uint32_t l = (uint32_t)p[off + 1] << 24 | (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 8 | p[off + 4];
            len = 1 + 4 + l + 32;
        } else if (t == AUDIT_REC_CHECKPOINT) {
            size_t pn = p[off + 1 + 8 + 32 + 8 + 64 + 32];
            len = 1 + 8 + 32 + 8 + 64 + 32 + 1 + pn * 32;
        } else {
            assert_int_equal(t, AUDIT_REC_END);
            len = n - off;
        }
        if (cnt == cap) {
            cap *= 2;
            r = realloc(r, cap * sizeof(*r));
            assert_non_null(r);
        }
        r[cnt++] = (struct rec){.type = t, .off = start, .len = len};
        off += len;
    }
    *ret_n = cnt;
    return r;
}

static void export_db(const char *db, const char *seal, uint8_t **ret, size_t *ret_n, struct audit_export_info *info)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    assert_non_null(f);
    assert_int_equal(audit_bundle_export(db, seal, f, info), 0);
    fclose(f);
    *ret = (uint8_t *)mem;
    *ret_n = len;
}

static int setup(void **state)
{
    struct keys *signer;
    struct audit *a;
    struct audit_options opt = {.checkpoint_every = 1000, .checkpoint_seconds = 3600};
    struct audit_actor who = {.operator_id = "op-0042", .role = "cashier", .process = "pos"};
    (void)state;
    fx.dir = testutil_tmpdir();
    snprintf(fx.db, sizeof(fx.db), "%s/audit.db", fx.dir);
    snprintf(fx.seal, sizeof(fx.seal), "%s/audit.db.seal", fx.dir);
    snprintf(fx.vk, sizeof(fx.vk), "%s/audit.db.verifier", fx.dir);
    if (keys_generate(&signer) != 0 || audit_open_ex(fx.db, &opt, signer, &a) != 0)
        return -1;
    for (int b = 0; b < N_ENTRIES / 1000; b++) {
        if (audit_begin_batch(a) != 0)
            return -1;
        for (int i = 0; i < 1000; i++)
            if (audit_event(a, &who, "txn.complete", F_INT("txn", b * 1000 + i), F_AMOUNT("total", 100 + i),
                            F_PAN("pan", "4111111111111111")) != 0)
                return -1;
        if (audit_commit_batch(a) != 0)
            return -1;
    }
    fx.total = audit_size(a) + 1; /* + audit.stop */
    audit_close(a);
    keys_free(signer);
    if (audit_vkeys_load(fx.vk, &fx.keys) != 0)
        return -1;
    struct audit_export_info info;
    export_db(fx.db, fx.seal, &fx.bundle, &fx.n, &info);
    if (!info.tail_sealed || info.entries != fx.total)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(fx.bundle);
    testutil_rmtree(fx.dir);
    free(fx.dir);
    return 0;
}

/* Verify bytes from scratch; returns the result and the code. */
static int verify(const uint8_t *p, size_t n, struct audit_verify_result *res)
{
    return audit_bundle_verify(p, n, &fx.keys, res);
}

static void test_pol7_exported_log_verifies(void **state)
{
    struct audit_verify_result res;
    (void)state;
    assert_int_equal(verify(fx.bundle, fx.n, &res), 0);
    assert_true(res.ok);
    assert_int_equal(res.entries, fx.total);
    assert_true(res.checkpoints >= N_ENTRIES / 1000);
    assert_int_equal(res.last_ckpt_size, fx.total); /* close signs a final checkpoint */
    assert_true(res.tail_sealed);
    /* the wrong keys do not verify it */
    struct audit_vkeys other = fx.keys;
    other.seal_key0[0] ^= 1;
    assert_int_equal(audit_bundle_verify(fx.bundle, fx.n, &other, &res), MAMORI_ERR_AUTH);
    assert_string_equal(res.where, "entry 0");
    other = fx.keys;
    other.audit_pub[3] ^= 1;
    assert_int_equal(audit_bundle_verify(fx.bundle, fx.n, &other, &res), MAMORI_ERR_AUTH);
    assert_non_null(strstr(res.where, "checkpoint"));
}

/* Flip every bit of the record at rec, verifying from the state just before
 * it (the verifier is a pure one-pass function of the bytes, so this equals a
 * verification of the whole flipped bundle; test_pol7_resume_equals_full
 * checks that equivalence). Every flip must fail at this record. */
static void flip_all_bits(struct audit_bverifier *before, const struct rec *r, const char *want_where_prefix)
{
    uint8_t *copy = malloc(fx.n);
    struct audit_bverifier *v;
    assert_non_null(copy);
    memcpy(copy, fx.bundle, fx.n);
    assert_int_equal(audit_bverifier_dup(before, &v), 0);
    for (size_t byte = r->off; byte < r->off + r->len; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            struct audit_verify_result res;
            struct buf b;
            copy[byte] ^= (uint8_t)(1u << bit);
            audit_bverifier_copy(v, before);
            buf_view(&b, copy + r->off, fx.n - r->off);
            int rc = audit_bverifier_run(v, &b);
            audit_bverifier_result(v, &res);
            if (rc != MAMORI_ERR_AUTH)
                fail_msg("flip of byte %zu bit %d at record offset %zu not detected (rc %d)", byte, bit, r->off, rc);
            if (want_where_prefix != NULL && strncmp(res.where, want_where_prefix, strlen(want_where_prefix)) != 0 &&
                strcmp(res.where, "bundle") != 0 && strncmp(res.where, "checkpoint", 10) != 0 &&
                strcmp(res.where, "end") != 0) /* a flipped record type reads as another record */
                fail_msg("flip at %zu named '%s' (%s)", byte, res.where, res.reason);
            copy[byte] ^= (uint8_t)(1u << bit);
        }
    }
    audit_bverifier_free(v);
    free(copy);
}

/* Walk the original bundle; call fn before each selected record. */
static void walk(bool (*want)(const struct rec *r, size_t idx, size_t entry_no), const char *where)
{
    size_t nrec, entry_no = 0, tested = 0;
    struct rec *rs = records(fx.bundle, fx.n, &nrec);
    struct audit_bverifier *v;
    struct buf b;
    bool done = false;
    assert_int_equal(audit_bverifier_new(&fx.keys, &v), 0);
    buf_view(&b, fx.bundle, fx.n);
    assert_int_equal(audit_bverifier_header(v, &b), 0);
    for (size_t i = 0; i < nrec; i++) {
        assert_int_equal(b.off, rs[i].off);
        if (want(&rs[i], i, entry_no)) {
            flip_all_bits(v, &rs[i], where);
            tested++;
        }
        if (rs[i].type == AUDIT_REC_ENTRY)
            entry_no++;
        assert_int_equal(audit_bverifier_step(v, &b, &done), 0);
    }
    assert_true(done);
    assert_true(tested > 0);
    audit_bverifier_free(v);
    free(rs);
}

static bool sample_entries(const struct rec *r, size_t idx, size_t entry_no)
{
    (void)idx;
    if (r->type != AUDIT_REC_ENTRY)
        return false;
    /* 20 entries: the first, around checkpoints, the middle, the last */
    static const size_t pick[] = {0, 1, 2, 3, 500, 998, 999, 1000, 1001, 2500, 4096, 5000, 6001, 7777, 8191, 9000,
                                  9500, 9998, 9999, 10000};
    for (size_t i = 0; i < sizeof(pick) / sizeof(pick[0]); i++)
        if (pick[i] == entry_no)
            return true;
    return false;
}

static bool all_checkpoints(const struct rec *r, size_t idx, size_t entry_no)
{
    (void)idx;
    (void)entry_no;
    return r->type == AUDIT_REC_CHECKPOINT || r->type == AUDIT_REC_END;
}

static void test_pol7_every_bit_of_sampled_entries_flipped_detected(void **state)
{
    (void)state;
    walk(sample_entries, "entry");
}

static void test_pol7_every_bit_of_every_checkpoint_flipped_detected(void **state)
{
    (void)state;
    walk(all_checkpoints, NULL);
}

/* The resumed verification used above gives the same verdict as verifying the
 * whole flipped bundle from its first byte. */
static void test_pol7_resume_equals_full_verification(void **state)
{
    size_t nrec;
    struct rec *rs = records(fx.bundle, fx.n, &nrec);
    uint8_t *copy = malloc(fx.n);
    (void)state;
    assert_non_null(copy);
    memcpy(copy, fx.bundle, fx.n);
    for (int k = 0; k < 48; k++) {
        size_t i = (size_t)randombytes_uniform((uint32_t)nrec);
        size_t byte = rs[i].off + randombytes_uniform((uint32_t)rs[i].len);
        int bit = (int)randombytes_uniform(8);
        struct audit_verify_result res;
        copy[byte] ^= (uint8_t)(1u << bit);
        assert_int_equal(verify(copy, fx.n, &res), MAMORI_ERR_AUTH);
        assert_false(res.ok);
        copy[byte] ^= (uint8_t)(1u << bit);
    }
    free(copy);
    free(rs);
}

/* Build a bundle from the records of the original, in the order given by idx
 * (count n), then the original END record. */
static uint8_t *rebuild(const struct rec *rs, const size_t *idx, size_t n, size_t *ret_n)
{
    size_t total = AUDIT_BUNDLE_MAGIC_LEN, o;
    for (size_t i = 0; i < n; i++)
        total += rs[idx[i]].len;
    uint8_t *p = malloc(total);
    assert_non_null(p);
    memcpy(p, fx.bundle, AUDIT_BUNDLE_MAGIC_LEN);
    o = AUDIT_BUNDLE_MAGIC_LEN;
    for (size_t i = 0; i < n; i++) {
        memcpy(p + o, fx.bundle + rs[idx[i]].off, rs[idx[i]].len);
        o += rs[idx[i]].len;
    }
    *ret_n = total;
    return p;
}

/* Index of the record of entry k. */
static size_t entry_rec(const struct rec *rs, size_t nrec, size_t k)
{
    for (size_t i = 0, e = 0; i < nrec; i++)
        if (rs[i].type == AUDIT_REC_ENTRY && e++ == k)
            return i;
    fail_msg("no entry %zu", k);
    return 0;
}

static void test_thr6_deleted_reordered_inserted_entries_detected(void **state)
{
    size_t nrec, n, *idx;
    struct rec *rs = records(fx.bundle, fx.n, &nrec);
    struct audit_verify_result res;
    uint8_t *p;
    (void)state;
    idx = malloc((nrec + 1) * sizeof(*idx));
    assert_non_null(idx);
    size_t e4321 = entry_rec(rs, nrec, 4321);

    /* delete entry 4321 */
    n = 0;
    for (size_t i = 0; i < nrec; i++)
        if (i != e4321)
            idx[n++] = i;
    p = rebuild(rs, idx, n, &n);
    assert_int_equal(verify(p, n, &res), MAMORI_ERR_AUTH);
    assert_string_equal(res.where, "entry 4321");
    assert_non_null(strstr(res.reason, "sequence break"));
    free(p);

    /* swap entries 4321 and 4322 */
    n = 0;
    for (size_t i = 0; i < nrec; i++)
        idx[n++] = i == e4321 ? e4321 + 1 : i == e4321 + 1 ? e4321 : i;
    p = rebuild(rs, idx, n, &n);
    assert_int_equal(verify(p, n, &res), MAMORI_ERR_AUTH);
    assert_string_equal(res.where, "entry 4321");
    free(p);

    /* insert a copy of entry 17 after entry 4321 (a replayed entry) */
    n = 0;
    for (size_t i = 0; i < nrec; i++) {
        idx[n++] = i;
        if (i == e4321)
            idx[n++] = entry_rec(rs, nrec, 17);
    }
    p = rebuild(rs, idx, n, &n);
    assert_int_equal(verify(p, n, &res), MAMORI_ERR_AUTH);
    assert_string_equal(res.where, "entry 4322");
    free(p);
    free(idx);
    free(rs);
}

/* Direct database tampering by an insider with the file (triggers dropped). */
static char *copy_db(const char *tag)
{
    static char path[4300];
    char cmd[20000];
    snprintf(path, sizeof(path), "%s/%s.db", fx.dir, tag);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && cp '%s' '%s.seal'", fx.db, path, fx.seal, path);
    assert_int_equal(system(cmd), 0);
    return path;
}

static void sql(const char *db, const char *q)
{
    sqlite3 *h;
    char *err = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    if (sqlite3_exec(h, "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;", NULL,
                     NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(h, q, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("sql: %s", err ? err : "?");
    sqlite3_close(h);
}

static void verify_db(const char *db, struct audit_verify_result *res, int want)
{
    char seal[4400];
    uint8_t *p;
    size_t n;
    struct audit_export_info info;
    snprintf(seal, sizeof(seal), "%s.seal", db);
    export_db(db, seal, &p, &n, &info);
    assert_int_equal(verify(p, n, res), want);
    free(p);
}

static void test_thr6_edited_entry_in_database_named(void **state)
{
    struct audit_verify_result res;
    (void)state;
    char *db = copy_db("edit");
    sql(db, "UPDATE audit SET details = replace(details, '\"total\":\"1100\"', '\"total\":\"110\"') WHERE seq = 1001;"
            "UPDATE audit SET operator = 'op-0001' WHERE seq = 2002");
    verify_db(db, &res, MAMORI_ERR_AUTH);
    /* entry 1001 first if its details held that text; else the operator edit at 2002 */
    assert_true(strcmp(res.where, "entry 1001") == 0 || strcmp(res.where, "entry 2002") == 0);
    assert_non_null(strstr(res.reason, "seal MAC"));
}

/* CVE-2023-31439 class: the intruder takes the current seal key from disk,
 * edits an old entry and re-seals it with that (later) key. */
static void test_thr6_old_entry_resealed_with_later_key_detected(void **state)
{
    struct audit_verify_result res;
    uint8_t stolen[SEAL_KEY_LEN], mac[SEAL_MAC_LEN], e8[8];
    uint64_t epoch;
    sqlite3 *h;
    sqlite3_stmt *st;
    struct buf canon;
    (void)state;
    char *db = copy_db("reseal");
    char seal[4400];
    snprintf(seal, sizeof(seal), "%s.seal", db);
    assert_int_equal(seal_read_state(seal, &epoch, stolen), 0);
    assert_int_equal(epoch, fx.total);
    sql(db, "UPDATE audit SET role = 'manager' WHERE seq = 300");
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, AUDIT_ROW_SELECT " WHERE seq = 300", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    struct audit_entry e;
    buf_init(&canon, AUDIT_ENTRY_MAX);
    assert_int_equal(audit_row_entry(st, &e), 0);
    assert_int_equal(audit_entry_encode(&e, &canon), 0);
    sqlite3_finalize(st);
    /* both ways an intruder could label it: the entry's own epoch, or the key's */
    for (int variant = 0; variant < 2; variant++) {
        crypto_generichash_state hs;
        uint64_t label = variant == 0 ? 300 : epoch;
        for (int i = 7; i >= 0; i--, label >>= 8)
            e8[i] = (uint8_t)label;
        crypto_generichash_init(&hs, stolen, SEAL_KEY_LEN, SEAL_MAC_LEN);
        crypto_generichash_update(&hs, buf_ptr(&canon), buf_remaining(&canon));
        crypto_generichash_update(&hs, e8, 8);
        crypto_generichash_final(&hs, mac, SEAL_MAC_LEN);
        assert_int_equal(sqlite3_prepare_v2(h, "UPDATE audit SET mac = ? WHERE seq = 300", -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_blob(st, 1, mac, SEAL_MAC_LEN, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        verify_db(db, &res, MAMORI_ERR_AUTH);
        assert_string_equal(res.where, "entry 300");
        assert_non_null(strstr(res.reason, "seal MAC"));
    }
    sqlite3_close(h);
    buf_free(&canon);
}

static void test_pre1_truncated_tail_detected(void **state)
{
    struct audit_verify_result res;
    size_t nrec, n, *idx;
    struct rec *rs = records(fx.bundle, fx.n, &nrec);
    (void)state;
    /* (a) in the database: the last 5 entries deleted; the seal state on the
     * terminal is at epoch total, so no tail tag can be made for total-5 */
    char *db = copy_db("trunc");
    char q[200];
    snprintf(q, sizeof(q), "DELETE FROM audit WHERE seq >= %llu", (unsigned long long)(fx.total - 5));
    sql(db, q);
    verify_db(db, &res, MAMORI_ERR_AUTH);
    assert_non_null(strstr(res.where, "checkpoint")); /* the last checkpoint covers them */
    /* and the writer refuses to continue such a log */
    struct keys *k;
    struct audit *a;
    assert_int_equal(keys_generate(&k), 0);
    assert_int_equal(audit_open_ex(db, NULL, k, &a), MAMORI_ERR_TAMPER);
    keys_free(k);

    /* (b) in the bundle: cut after entry 9500 (past its last checkpoint at
     * 9000) and forge an END record; the tail tag needs key_9501, gone */
    size_t cut = entry_rec(rs, nrec, 9500);
    idx = malloc(nrec * sizeof(*idx));
    assert_non_null(idx);
    n = 0;
    for (size_t i = 0; i <= cut; i++)
        idx[n++] = i;
    uint8_t *p = rebuild(rs, idx, n, &n);
    struct audit_bverifier *v;
    struct buf b;
    bool done = false;
    assert_int_equal(audit_bverifier_new(&fx.keys, &v), 0);
    buf_view(&b, p, n);
    assert_int_equal(audit_bverifier_header(v, &b), 0);
    while (buf_remaining(&b) > 0)
        assert_int_equal(audit_bverifier_step(v, &b, &done), 0);
    /* the prefix is fine; now the forged end: the verifier's own root + a guessed tag */
    struct audit_verify_result mid;
    audit_bverifier_result(v, &mid);
    assert_int_equal(mid.entries, 9501);
    audit_bverifier_free(v);
    /* the file without END is "cut short" */
    assert_int_equal(verify(p, n, &res), MAMORI_ERR_AUTH);
    assert_non_null(strstr(res.reason, "without an end record"));
    /* the original END moved here claims the wrong count / root */
    uint8_t *q2 = malloc(n + rs[nrec - 1].len);
    assert_non_null(q2);
    memcpy(q2, p, n);
    memcpy(q2 + n, fx.bundle + rs[nrec - 1].off, rs[nrec - 1].len);
    assert_int_equal(verify(q2, n + rs[nrec - 1].len, &res), MAMORI_ERR_AUTH);
    assert_string_equal(res.where, "end");
    /* an END with the right count and root: without a tail tag, with a
     * guessed one, and with one made from the stolen current key */
    struct merkle_frontier f;
    merkle_hash root, leaf;
    merkle_frontier_init(&f);
    for (size_t i = 0; i <= cut; i++)
        if (rs[i].type == AUDIT_REC_ENTRY) {
            const uint8_t *rec = fx.bundle + rs[i].off;
            size_t l = rs[i].len - 1 - 4 - 32;
            assert_int_equal(merkle_leaf_hash(leaf, rec + 5, l), 0);
            assert_int_equal(merkle_frontier_append(&f, leaf), 0);
        }
    merkle_frontier_root(&f, root);
    uint8_t stolen[SEAL_KEY_LEN];
    uint64_t epoch;
    assert_int_equal(seal_read_state(fx.seal, &epoch, stolen), 0);
    for (int variant = 0; variant < 3; variant++) {
        struct buf endb;
        buf_init(&endb, n + 128);
        assert_int_equal(buf_put_bytes(&endb, p, n), 0);
        assert_int_equal(buf_put_u8(&endb, AUDIT_REC_END), 0);
        assert_int_equal(buf_put_u64(&endb, 9501), 0);
        assert_int_equal(buf_put_bytes(&endb, root, 32), 0);
        assert_int_equal(buf_put_u8(&endb, variant == 0 ? 0 : 1), 0);
        if (variant > 0) {
            uint8_t tag[SEAL_MAC_LEN], msg[AUDIT_TAIL_MSG_LEN];
            struct seal *thief;
            audit_tail_message(9501, root, msg);
            assert_int_equal(seal_from_key_at(stolen, epoch, &thief), 0);
            assert_int_equal(seal_tag(thief, msg, sizeof(msg), tag), 0);
            if (variant == 1)
                randombytes_buf(tag, sizeof(tag));
            seal_free(thief);
            assert_int_equal(buf_put_bytes(&endb, tag, sizeof(tag)), 0);
        }
        assert_int_equal(verify(buf_ptr(&endb), buf_remaining(&endb), &res), MAMORI_ERR_AUTH);
        assert_string_equal(res.where, "end");
        assert_non_null(strstr(res.reason, variant == 0 ? "no tail seal" : "tail seal does not verify"));
        buf_free(&endb);
    }
    sodium_memzero(stolen, sizeof(stolen));
    free(q2);
    free(p);
    free(idx);
    free(rs);
}

/* The API other modules use: audit_open/audit_event/audit_count unchanged;
 * HIGH fields refused but the event recorded; MEDIUM masked. */
static void test_pol1_audit_api_redacts_and_counts(void **state)
{
    char *dir = testutil_tmpdir();
    char path[4200], vk[4300];
    struct audit *a;
    int64_t n;
    (void)state;
    snprintf(path, sizeof(path), "%s/a.db", dir);
    snprintf(vk, sizeof(vk), "%s/a.db.verifier", dir);
    assert_int_equal(audit_open(path, &a), 0);
    struct audit_actor who = {.operator_id = "7", .role = "manager", .process = "test"};
    assert_int_equal(audit_event(a, &who, "signon.ok", F_STR("terminal", "T1")), 0);
    assert_int_equal(audit_event(a, &who, "card.read", F_PAN("pan", "4111111111111111"), F_PIN("pin", "1234")),
                     MAMORI_ERR_PERM);
    assert_int_equal(audit_count(a, "card.read", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(audit_count(a, NULL, &n), 0);
    assert_int_equal(n, 3); /* audit.start + 2 */
    assert_int_equal(audit_event(a, NULL, "", F_INT("x", 1)), MAMORI_ERR_INVAL);
    audit_close(a);
    /* reopen continues the sequence and the chain */
    assert_int_equal(audit_open(path, &a), 0);
    assert_int_equal(audit_size(a), 5); /* + audit.stop + audit.start */
    audit_close(a);
    sqlite3 *h;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT details FROM audit WHERE event='card.read'", -1, &st, NULL), 0);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *d = (const char *)sqlite3_column_text(st, 0);
    assert_null(strstr(d, "4111111111111111"));
    assert_null(strstr(d, "1234"));
    assert_non_null(strstr(d, "411111"));
    sqlite3_finalize(st);
    /* the application cannot rewrite an entry */
    assert_int_not_equal(sqlite3_exec(h, "UPDATE audit SET event='x' WHERE seq=1", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(h, "DELETE FROM audit WHERE seq=1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    /* the whole log verifies with the exported keys */
    struct audit_vkeys keys;
    struct audit_verify_result res;
    char seal[4300];
    uint8_t *p;
    size_t len;
    struct audit_export_info info;
    snprintf(seal, sizeof(seal), "%s.seal", path);
    assert_int_equal(audit_vkeys_load(vk, &keys), 0);
    export_db(path, seal, &p, &len, &info);
    assert_int_equal(audit_bundle_verify(p, len, &keys, &res), 0);
    assert_int_equal(res.entries, 6);
    free(p);
    testutil_rmtree(dir);
    free(dir);
}

/* The daemon and a CLI share one log: two writers interleaving appends keep
 * one sequence, one seal chain, and the export still verifies. */
static void test_pol7_two_writers_share_one_log(void **state)
{
    char *dir = testutil_tmpdir();
    char path[4200], vk[4300], seal[4300];
    struct keys *k;
    struct audit *a1, *a2;
    (void)state;
    snprintf(path, sizeof(path), "%s/shared.db", dir);
    snprintf(vk, sizeof(vk), "%s.verifier", path);
    snprintf(seal, sizeof(seal), "%s.seal", path);
    assert_int_equal(keys_generate(&k), 0);
    struct audit_options opt = {.checkpoint_every = 7};
    assert_int_equal(audit_open_ex(path, &opt, k, &a1), 0);
    assert_int_equal(audit_open_ex(path, &opt, k, &a2), 0);
    for (int i = 0; i < 30; i++) {
        struct audit *w = i % 3 ? a1 : a2;
        assert_int_equal(audit_event(w, NULL, "test.write", F_INT("i", i)), 0);
    }
    assert_int_equal(audit_begin_batch(a2), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(audit_event(a2, NULL, "test.batch", F_INT("i", i)), 0);
    assert_int_equal(audit_commit_batch(a2), 0);
    assert_int_equal(audit_event(a1, NULL, "test.write", F_INT("i", 99)), 0);
    audit_close(a1);
    audit_close(a2);
    struct audit_vkeys keys;
    struct audit_verify_result res;
    uint8_t *p;
    size_t len;
    struct audit_export_info info;
    assert_int_equal(audit_vkeys_load(vk, &keys), 0);
    export_db(path, seal, &p, &len, &info);
    assert_int_equal(audit_bundle_verify(p, len, &keys, &res), 0);
    assert_int_equal(res.entries, 2 + 30 + 10 + 1 + 2);
    free(p);
    keys_free(k);
    testutil_rmtree(dir);
    free(dir);
}

/* What the witness gets from the terminal: proofs built from the database
 * that verify against the signed checkpoints. */
static void test_pol7_witness_proofs_match_signed_checkpoints(void **state)
{
    struct audit_checkpoint c1, c2, latest;
    uint8_t proof[MERKLE_MAX_PROOF * MERKLE_HASH_LEN], a[32], b[32], msg[AUDIT_CKPT_MSG_LEN];
    size_t n;
    (void)state;
    assert_int_equal(audit_db_checkpoint(fx.db, 1000, &c1), 0);
    assert_int_equal(audit_db_checkpoint(fx.db, 5000, &c2), 0);
    assert_int_equal(audit_db_checkpoint(fx.db, 1234, &latest), MAMORI_ERR_NOTFOUND);
    assert_int_equal(audit_db_latest_checkpoint(fx.db, &latest), 0);
    assert_int_equal(latest.size, fx.total);
    audit_checkpoint_message(&c2, msg);
    assert_int_equal(keys_verify(fx.keys.audit_pub, c2.sig, msg, sizeof(msg)), 0);
    assert_int_equal(audit_db_consistency(fx.db, 1000, 5000, proof, &n, a, b), 0);
    assert_memory_equal(a, c1.root, 32);
    assert_memory_equal(b, c2.root, 32);
    assert_int_equal(merkle_verify_consistency(1000, 5000, c1.root, c2.root, proof, n), 0);
    assert_int_equal(merkle_verify_consistency(1000, 5000, c2.root, c1.root, proof, n), MAMORI_ERR_AUTH);
    assert_int_equal(audit_db_inclusion(fx.db, 4321, 5000, proof, &n, a, b), 0);
    assert_memory_equal(b, c2.root, 32);
    assert_int_equal(merkle_verify_inclusion(4321, 5000, a, proof, n, c2.root), 0);
    assert_int_equal(merkle_verify_inclusion(4322, 5000, a, proof, n, c2.root), MAMORI_ERR_AUTH);
    assert_int_equal(audit_db_inclusion(fx.db, 5000, 5000, proof, &n, a, b), MAMORI_ERR_INVAL);
    assert_int_equal(audit_db_consistency(fx.db, 0, 5000, proof, &n, a, b), MAMORI_ERR_INVAL);
    assert_int_equal(audit_db_consistency(fx.db, 10, fx.total + 1, proof, &n, a, b), MAMORI_ERR_INVAL);
}

/* LC-7: the audit signing key is rotated; the verifier, given only the key
 * from provisioning, follows the sealed hand-over, and a checkpoint signed
 * after it with the retired key is refused. */
static void test_lc7_audit_key_rotation_followed_by_verifier(void **state)
{
    char *dir = testutil_tmpdir();
    char path[4200], vk[4300], seal[4300];
    struct keys *k1, *k2;
    struct audit *a;
    struct audit_options opt = {.checkpoint_every = 10};
    struct audit_vkeys keys;
    struct audit_verify_result res;
    struct audit_export_info info;
    uint8_t *p;
    size_t len;
    (void)state;
    snprintf(path, sizeof(path), "%s/rot.db", dir);
    snprintf(vk, sizeof(vk), "%s.verifier", path);
    snprintf(seal, sizeof(seal), "%s.seal", path);
    assert_int_equal(keys_generate(&k1), 0);
    assert_int_equal(keys_generate(&k2), 0);
    assert_int_equal(audit_open_ex(path, &opt, k1, &a), 0);
    for (int i = 0; i < 25; i++)
        assert_int_equal(audit_event(a, NULL, "test.before", F_INT("i", i)), 0);
    assert_int_equal(audit_rotate_signer(a, k2), 0);
    for (int i = 0; i < 25; i++)
        assert_int_equal(audit_event(a, NULL, "test.after", F_INT("i", i)), 0);
    audit_close(a);
    /* the log now belongs to the new key */
    assert_int_equal(audit_open_ex(path, &opt, k1, &a), MAMORI_ERR_STATE);
    assert_int_equal(audit_open_ex(path, &opt, k2, &a), 0);
    audit_close(a);
    assert_int_equal(audit_vkeys_load(vk, &keys), 0);
    export_db(path, seal, &p, &len, &info);
    assert_int_equal(audit_bundle_verify(p, len, &keys, &res), 0);
    assert_int_equal(res.rotations, 1);
    /* the retired key signs a later checkpoint: refused */
    size_t nrec;
    struct rec *rs = records(p, len, &nrec);
    size_t last_ck = 0;
    for (size_t i = 0; i < nrec; i++)
        if (rs[i].type == AUDIT_REC_CHECKPOINT)
            last_ck = i;
    struct audit_checkpoint c;
    const uint8_t *cp = p + rs[last_ck].off + 1;
    uint8_t msg[AUDIT_CKPT_MSG_LEN];
    c.size = 0;
    for (int i = 0; i < 8; i++)
        c.size = c.size << 8 | cp[i];
    memcpy(c.root, cp + 8, 32);
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = t << 8 | cp[40 + i];
    c.time_ns = (int64_t)t;
    audit_checkpoint_message(&c, msg);
    assert_int_equal(keys_sign(k1, (uint8_t *)p + rs[last_ck].off + 1 + 48, msg, sizeof(msg)), 0);
    assert_int_equal(audit_bundle_verify(p, len, &keys, &res), MAMORI_ERR_AUTH);
    assert_non_null(strstr(res.reason, "signature"));
    free(rs);
    free(p);
    keys_free(k1);
    keys_free(k2);
    testutil_rmtree(dir);
    free(dir);
}

/* The canonical entry decoder on hostile bytes: every truncation, a trailing
 * byte, lengths over the limits, NUL bytes, a wrong magic. */
static void test_pol7_entry_decode_hostile(void **state)
{
    struct audit_entry e = {.seq = 7, .time_ns = 123, .op = audit_str_of("op"), .role = audit_str_of(NULL),
                            .process = audit_str_of("pos"), .event = audit_str_of("x.y"),
                            .details = audit_str_of("{\"a\":1}")}, d;
    struct buf b;
    (void)state;
    buf_init(&b, AUDIT_ENTRY_MAX + 16);
    assert_int_equal(audit_entry_encode(&e, &b), 0);
    size_t n = buf_remaining(&b);
    uint8_t *p = b.d;
    assert_int_equal(audit_entry_decode(p, n, &d), 0);
    assert_int_equal(d.seq, 7);
    assert_false(d.role.present);
    assert_true(d.op.present && d.op.n == 2 && memcmp(d.op.p, "op", 2) == 0);
    for (size_t cut = 0; cut < n; cut++)
        assert_int_not_equal(audit_entry_decode(p, cut, &d), 0);
    assert_int_equal(buf_put_u8(&b, 0), 0);
    p = b.d;
    assert_int_equal(audit_entry_decode(p, n + 1, &d), MAMORI_ERR_TRAILING);
    p[0] = 'X';
    assert_int_equal(audit_entry_decode(p, n, &d), MAMORI_ERR_INVAL);
    p[0] = 'M';
    /* a NUL inside the details */
    p[n - 3] = 0;
    assert_int_equal(audit_entry_decode(p, n, &d), MAMORI_ERR_INVAL);
    buf_free(&b);
    /* the encoder refuses what the decoder would */
    char big[AUDIT_ACTOR_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    buf_init(&b, AUDIT_ENTRY_MAX + 16);
    e.op = audit_str_of(big);
    assert_int_equal(audit_entry_encode(&e, &b), MAMORI_ERR_INVAL);
    e.op = audit_str_of("op");
    e.event = audit_str_of("");
    assert_int_equal(audit_entry_encode(&e, &b), MAMORI_ERR_INVAL);
    buf_free(&b);
    uint8_t huge[AUDIT_ENTRY_MAX + 1];
    memset(huge, 0, sizeof(huge));
    assert_int_equal(audit_entry_decode(huge, sizeof(huge), &d), MAMORI_ERR_TOOBIG);
    /* an event name over the limit in the bytes */
    uint8_t hdr[4 + 8 + 8 + 6 + 2] = {'M', 'A', 'E', '1'};
    memset(hdr + 20, 0xff, 6); /* three absent actor strings */
    hdr[26] = 0x01;
    hdr[27] = 0x00; /* event length 256 > AUDIT_EVENT_MAX */
    assert_int_equal(audit_entry_decode(hdr, sizeof(hdr), &d), MAMORI_ERR_INVAL);
}

/* The verifier export file: written once (0600, never overwritten), and
 * hostile files are refused. */
static void test_pol7_vkeys_file_hostile(void **state)
{
    char *dir = testutil_tmpdir();
    char path[4200];
    struct audit_vkeys k, back;
    static const char *const bad[] = {
        "", "{}", "[1]",
        "{\"format\":\"other\",\"seal_key0\":\"00\",\"audit_pub\":\"00\"}",
        "{\"format\":\"mamori-audit-verifier-v1\",\"seal_key0\":\"zz\",\"audit_pub\":\"00\"}",
        "{\"format\":\"mamori-audit-verifier-v1\",\"seal_key0\":"
        "\"000000000000000000000000000000000000000000000000000000000000000\",\"audit_pub\":"
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
    };
    (void)state;
    memset(&k, 0x5a, sizeof(k));
    snprintf(path, sizeof(path), "%s/v.json", dir);
    assert_int_equal(audit_vkeys_save(path, &k), 0);
    assert_int_equal(audit_vkeys_save(path, &k), MAMORI_ERR_EXISTS);
    assert_int_equal(audit_vkeys_load(path, &back), 0);
    assert_memory_equal(&k, &back, sizeof(k));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(path, sizeof(path), "%s/bad%zu.json", dir, i);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(bad[i], f);
        fclose(f);
        if (audit_vkeys_load(path, &back) == 0)
            fail_msg("accepted bad verifier file %zu", i);
    }
    snprintf(path, sizeof(path), "%s/big.json", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < AUDIT_VKEYS_MAX + 10; i++)
        fputc(' ', f);
    fclose(f);
    assert_int_equal(audit_vkeys_load(path, &back), MAMORI_ERR_TOOBIG);
    assert_int_equal(audit_vkeys_load("/nonexistent/v.json", &back), MAMORI_ERR_NOTFOUND);
    testutil_rmtree(dir);
    free(dir);
}

static void read_file_bytes(const char *path, uint8_t *out, size_t cap, size_t *ret_n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    *ret_n = fread(out, 1, cap, f);
    fclose(f);
}

/* audit_open_ro (counters, CLI readers) still catches a cut log, a missing
 * seal state and a hole, accepts the state a crash between COMMIT and seal
 * persist leaves (key behind the entries) — and writes nothing at all. */
static void test_pre1_read_only_open_detects_cut_and_writes_nothing(void **state)
{
    struct audit *a;
    int64_t n;
    uint8_t before[2048], after[2048];
    size_t nb, na;
    char q[200], seal[4400], old_seal[4500], cmd[9000];
    (void)state;
    /* an intact copy: opens, counts, refuses writes, leaves the files alone */
    char *db = copy_db("ro_ok");
    snprintf(seal, sizeof(seal), "%s.seal", db);
    read_file_bytes(seal, before, sizeof(before), &nb);
    assert_int_equal(audit_open_ro(db, NULL, &a), 0);
    assert_int_equal(audit_count(a, NULL, &n), 0);
    assert_int_equal((uint64_t)n, fx.total);
    assert_int_equal(audit_size(a), fx.total);
    assert_int_equal(audit_event(a, NULL, "test.write", F_INT("i", 1)), MAMORI_ERR_STATE);
    assert_int_equal(audit_begin_batch(a), MAMORI_ERR_STATE);
    assert_int_equal(audit_tick(a), 0);
    audit_close(a);
    assert_int_equal(audit_open_ro(db, NULL, &a), 0);
    assert_int_equal(audit_count(a, NULL, &n), 0);
    assert_int_equal((uint64_t)n, fx.total); /* no audit.start/stop were added */
    audit_close(a);
    read_file_bytes(seal, after, sizeof(after), &na);
    assert_int_equal(na, nb);
    assert_memory_equal(before, after, nb);

    /* key behind the entries (crash after COMMIT, before the persist): fine
     * for a reader, which does not hash it forward; the writer does */
    char behind[4300];
    snprintf(behind, sizeof(behind), "%s/ro_behind.db", fx.dir);
    db = behind;
    assert_int_equal(audit_open(db, &a), 0);
    audit_close(a); /* 2 entries, key at epoch 2 */
    snprintf(seal, sizeof(seal), "%s.seal", db);
    snprintf(old_seal, sizeof(old_seal), "%s.old", seal);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", seal, old_seal);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(audit_open(db, &a), 0); /* + audit.start */
    assert_int_equal(audit_event(a, NULL, "test.write", F_INT("i", 1)), 0);
    audit_close(a); /* + audit.stop: the key is 3 epochs on */
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", old_seal, seal);
    assert_int_equal(system(cmd), 0);
    read_file_bytes(seal, before, sizeof(before), &nb);
    assert_int_equal(audit_open_ro(db, NULL, &a), 0);
    assert_int_equal(audit_size(a), 5);
    audit_close(a);
    read_file_bytes(seal, after, sizeof(after), &na);
    assert_int_equal(na, nb);
    assert_memory_equal(before, after, nb);
    uint8_t key[SEAL_KEY_LEN];
    uint64_t epoch;
    assert_int_equal(audit_open(db, &a), 0);
    audit_close(a);
    assert_int_equal(seal_read_state(seal, &epoch, key), 0);
    sodium_memzero(key, sizeof(key));
    assert_int_equal(epoch, 7); /* the writer caught up and persisted */

    /* the last 5 entries cut: the key is ahead of the entries */
    db = copy_db("ro_cut");
    snprintf(q, sizeof(q), "DELETE FROM audit WHERE seq >= %llu", (unsigned long long)(fx.total - 5));
    sql(db, q);
    assert_int_equal(audit_open_ro(db, NULL, &a), MAMORI_ERR_TAMPER);
    /* one entry in the middle removed: a hole */
    db = copy_db("ro_hole");
    sql(db, "DELETE FROM audit WHERE seq = 77");
    assert_int_equal(audit_open_ro(db, NULL, &a), MAMORI_ERR_TAMPER);
    /* the seal state deleted for a non-empty log */
    db = copy_db("ro_noseal");
    snprintf(seal, sizeof(seal), "%s.seal", db);
    assert_int_equal(unlink(seal), 0);
    assert_int_equal(audit_open_ro(db, NULL, &a), MAMORI_ERR_TAMPER);
    assert_int_equal(access(seal, F_OK), -1); /* and not re-created */
    /* no log at all */
    snprintf(q, sizeof(q), "%s/none.db", fx.dir);
    assert_int_equal(audit_open_ro(q, NULL, &a), MAMORI_ERR_NOTFOUND);
    assert_int_equal(access(q, F_OK), -1);
}

/* ---- concurrent open (POL-7): no false tamper alarms ----
 * A writer in another process (the daemon) appends while this process (a
 * counter or the CLI) opens the same log again and again. Every open checks
 * the seal state against the entries; an append landing between those reads
 * must never look like tampering (a false alarm trains operators to ignore
 * real ones). */

#define CONC_OPENS 300
#define CONC_CHILD_SECONDS 60 /* the writer stops by itself even if we die */

/* The writer: appends singly or in batches of 1..16 until the parent closes
 * the stop pipe. Tells the parent on ready_fd once it has written. Exit code:
 * 0 ok, 10 + n for an error n (negated) of the writer itself. */
static void conc_writer(const char *path, bool batches, int stop_fd, int ready_fd)
{
    struct audit *a;
    struct audit_actor who = {.operator_id = "op-1", .role = "cashier", .process = "writer"};
    time_t until = time(NULL) + CONC_CHILD_SECONDS;
    int r = audit_open(path, &a);
    bool told = false;
    if (r != 0)
        _exit(10 - r);
    for (uint32_t i = 0; time(NULL) < until; i++) {
        struct pollfd pfd = {.fd = stop_fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) > 0)
            break; /* parent closed the pipe: stop */
        if (batches) {
            uint32_t n = 1 + randombytes_uniform(16);
            if ((r = audit_begin_batch(a)) != 0)
                break;
            for (uint32_t j = 0; j < n && r == 0; j++)
                r = audit_event(a, &who, "test.batch", F_INT("i", i), F_INT("j", j));
            if (r != 0 || (r = audit_commit_batch(a)) != 0)
                break;
        } else if ((r = audit_event(a, &who, "test.write", F_INT("i", i))) != 0) {
            break;
        }
        if (!told) {
            told = write(ready_fd, "r", 1) == 1;
        }
    }
    audit_close(a);
    _exit(r == 0 ? 0 : 10 - r);
}

static void conc_run(bool batches, bool read_only)
{
    char *dir = testutil_tmpdir();
    char path[4200], vk[4300], seal[4300];
    int stop[2], ready[2], status;
    int tamper = 0, other = 0, first_err = 0;
    int64_t n, last_n = -1;
    bool grew = false;
    struct audit *a;
    char c;
    snprintf(path, sizeof(path), "%s/conc.db", dir);
    snprintf(vk, sizeof(vk), "%s.verifier", path);
    snprintf(seal, sizeof(seal), "%s.seal", path);
    /* made before the fork, so both sides share one signer key file */
    assert_int_equal(audit_open(path, &a), 0);
    audit_close(a);
    assert_int_equal(pipe(stop), 0);
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(stop[1]);
        close(ready[0]);
        conc_writer(path, batches, stop[0], ready[1]);
    }
    close(stop[0]);
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1); /* the writer is writing */
    for (int i = 0; i < CONC_OPENS; i++) {
        int r = read_only ? audit_open_ro(path, NULL, &a) : audit_open(path, &a);
        if (r == 0) {
            r = audit_count(a, NULL, &n);
            audit_close(a);
            if (r == 0) {
                grew |= last_n >= 0 && n > last_n;
                last_n = n;
            }
        }
        if (r == MAMORI_ERR_TAMPER)
            tamper++;
        else if (r != 0)
            other++;
        if (r != 0 && first_err == 0)
            first_err = r;
    }
    close(stop[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(ready[0]);
    if (tamper || other)
        print_message("concurrent open (%s, %s): %d/%d false tamper, %d other errors (first %s)\n",
                      batches ? "batches" : "single", read_only ? "read-only" : "writer", tamper, CONC_OPENS,
                      other, mamori_strerror(first_err));
    assert_int_equal(tamper, 0);
    assert_int_equal(other, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(grew); /* the writer really appended between our opens */
    /* and the log written from both sides still verifies end to end */
    struct audit_vkeys keys;
    struct audit_verify_result res;
    struct audit_export_info info;
    uint8_t *p;
    size_t len;
    assert_int_equal(audit_vkeys_load(vk, &keys), 0);
    export_db(path, seal, &p, &len, &info);
    assert_true(info.tail_sealed);
    assert_int_equal(audit_bundle_verify(p, len, &keys, &res), 0);
    assert_true(res.entries >= (uint64_t)last_n);
    free(p);
    testutil_rmtree(dir);
    free(dir);
}

static void test_pol7_concurrent_open_never_false_tamper(void **state)
{
    (void)state;
    conc_run(false, false);
}

static void test_pol7_concurrent_open_batches_never_false_tamper(void **state)
{
    (void)state;
    conc_run(true, false);
}

static void test_pol7_concurrent_open_ro_never_false_tamper(void **state)
{
    (void)state;
    conc_run(false, true);
    conc_run(true, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol7_exported_log_verifies),
        cmocka_unit_test(test_pol7_every_bit_of_sampled_entries_flipped_detected),
        cmocka_unit_test(test_pol7_every_bit_of_every_checkpoint_flipped_detected),
        cmocka_unit_test(test_pol7_resume_equals_full_verification),
        cmocka_unit_test(test_thr6_deleted_reordered_inserted_entries_detected),
        cmocka_unit_test(test_thr6_edited_entry_in_database_named),
        cmocka_unit_test(test_thr6_old_entry_resealed_with_later_key_detected),
        cmocka_unit_test(test_pre1_truncated_tail_detected),
        cmocka_unit_test(test_pol1_audit_api_redacts_and_counts),
        cmocka_unit_test(test_pol7_two_writers_share_one_log),
        cmocka_unit_test(test_pol7_witness_proofs_match_signed_checkpoints),
        cmocka_unit_test(test_lc7_audit_key_rotation_followed_by_verifier),
        cmocka_unit_test(test_pol7_entry_decode_hostile),
        cmocka_unit_test(test_pol7_vkeys_file_hostile),
        cmocka_unit_test(test_pre1_read_only_open_detects_cut_and_writes_nothing),
        cmocka_unit_test(test_pol7_concurrent_open_never_false_tamper),
        cmocka_unit_test(test_pol7_concurrent_open_batches_never_false_tamper),
        cmocka_unit_test(test_pol7_concurrent_open_ro_never_false_tamper),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
