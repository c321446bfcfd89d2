/*
 * bundle.c: export of an audit log to the bundle format and the one-pass
 * offline verifier (see bundle.h). Owns the record layout and the order of the
 * checks; reads the database only through SQLite (read-only) and the seal
 * state only to compute the tail tag.
 */
#include "audit/bundle.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/hex.h"
#include "crypto/merkle.h"
#include "crypto/seal.h"
#include "keys/keys.h"
#include "mamori/err.h"

/* ---- rows ---- */

static struct audit_str col_str(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return (struct audit_str){0};
    const char *p = (const char *)sqlite3_column_text(st, i);
    return (struct audit_str){.p = p ? p : "", .n = (size_t)sqlite3_column_bytes(st, i), .present = true};
}

int audit_row_entry(sqlite3_stmt *st, struct audit_entry *ret)
{
    struct audit_entry e;
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || sqlite3_column_int64(st, 0) < 0)
        return MAMORI_ERR_INVAL;
    e.seq = (uint64_t)sqlite3_column_int64(st, 0);
    e.time_ns = sqlite3_column_int64(st, 1);
    e.op = col_str(st, 2);
    e.role = col_str(st, 3);
    e.process = col_str(st, 4);
    e.event = col_str(st, 5);
    e.details = col_str(st, 6);
    if (!e.event.present || !e.details.present)
        return MAMORI_ERR_INVAL;
    *ret = e;
    return 0;
}

/* ---- export ---- */

struct ckpt_row {
    struct audit_checkpoint c;
};

static int load_checkpoints(sqlite3 *db, struct ckpt_row **ret, size_t *ret_n)
{
    sqlite3_stmt *st;
    struct ckpt_row *v = NULL;
    size_t n = 0, cap = 0;
    int step, r = 0;
    if (sqlite3_prepare_v2(db, "SELECT size, root, time_ns, sig, tag FROM audit_checkpoint ORDER BY size", -1, &st,
                           NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct ckpt_row *p = realloc(v, nc * sizeof(*v));
            if (p == NULL) {
                r = MAMORI_ERR_NOMEM;
                goto out;
            }
            v = p;
            cap = nc;
        }
        struct audit_checkpoint *c = &v[n].c;
        memset(c, 0, sizeof(*c));
        c->size = (uint64_t)sqlite3_column_int64(st, 0);
        c->time_ns = sqlite3_column_int64(st, 2);
        /* a damaged row is exported as is (zero-padded) so the verifier names it */
        if (sqlite3_column_bytes(st, 1) == AUDIT_ROOT_LEN)
            memcpy(c->root, sqlite3_column_blob(st, 1), AUDIT_ROOT_LEN);
        if (sqlite3_column_bytes(st, 3) == AUDIT_SIG_LEN)
            memcpy(c->sig, sqlite3_column_blob(st, 3), AUDIT_SIG_LEN);
        if (sqlite3_column_bytes(st, 4) == AUDIT_MAC_LEN)
            memcpy(c->tag, sqlite3_column_blob(st, 4), AUDIT_MAC_LEN);
        n++;
    }
    if (step != SQLITE_DONE)
        r = MAMORI_ERR_DB;
out:
    sqlite3_finalize(st);
    if (r != 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int put_checkpoint(struct buf *b, const struct audit_checkpoint *c, const uint8_t *proof, size_t pn)
{
    int r;
    if ((r = buf_put_u8(b, AUDIT_REC_CHECKPOINT)) || (r = buf_put_u64(b, c->size)) ||
        (r = buf_put_bytes(b, c->root, AUDIT_ROOT_LEN)) || (r = buf_put_u64(b, (uint64_t)c->time_ns)) ||
        (r = buf_put_bytes(b, c->sig, AUDIT_SIG_LEN)) || (r = buf_put_bytes(b, c->tag, AUDIT_MAC_LEN)) ||
        (r = buf_put_u8(b, (uint8_t)pn)))
        return r;
    for (size_t i = 0; i < pn; i++)
        if ((r = buf_put_bytes(b, proof + i * MERKLE_HASH_LEN, MERKLE_HASH_LEN)) != 0)
            return r;
    return 0;
}

static int flush(struct buf *b, FILE *out)
{
    size_t n = buf_remaining(b);
    if (n > 0 && fwrite(buf_ptr(b), 1, n, out) != n)
        return MAMORI_ERR_IO;
    buf_reset(b);
    return 0;
}

int audit_bundle_export(const char *db_path, const char *seal_path, FILE *out, struct audit_export_info *ret_info)
{
    struct audit_export_info info = {0};
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct merkle_tree *tree = NULL;
    struct ckpt_row *ck = NULL;
    struct seal *tailseal = NULL;
    size_t nck = 0, ci = 0;
    uint64_t prev_size = 0;
    uint8_t key[SEAL_KEY_LEN];
    struct buf rec, canon;
    int r, step;
    buf_init(&rec, 2 * AUDIT_ENTRY_MAX);
    buf_init(&canon, AUDIT_ENTRY_MAX);
    /* The key first, then the snapshot: the writer persists a key only after
     * the entries it sealed are committed, so an honest snapshot taken later
     * has at least seal_epoch entries. */
    if (seal_path != NULL && seal_read_state(seal_path, &info.seal_epoch, key) == 0) {
        info.seal_state = true;
        r = seal_from_key_at(key, info.seal_epoch, &tailseal);
        sodium_memzero(key, sizeof(key));
        if (r != 0)
            goto out;
    }
    r = MAMORI_ERR_DB;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(db, 5000) != SQLITE_OK || sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    if ((r = load_checkpoints(db, &ck, &nck)) != 0 || (r = merkle_tree_new(&tree)) != 0)
        goto out;
    if ((r = buf_put_bytes(&rec, AUDIT_BUNDLE_MAGIC, AUDIT_BUNDLE_MAGIC_LEN)) != 0)
        goto out;
    if (sqlite3_prepare_v2(db, AUDIT_ROW_SELECT " ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
        r = MAMORI_ERR_DB;
        goto out;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct audit_entry e;
        merkle_hash leaf;
        uint8_t mac[AUDIT_MAC_LEN] = {0};
        buf_reset(&canon);
        if ((r = audit_row_entry(st, &e)) != 0 || (r = audit_entry_encode(&e, &canon)) != 0 ||
            (r = merkle_leaf_hash(leaf, buf_ptr(&canon), buf_remaining(&canon))) != 0 ||
            (r = merkle_tree_append(tree, leaf)) != 0)
            goto out;
        if (sqlite3_column_bytes(st, 7) == AUDIT_MAC_LEN)
            memcpy(mac, sqlite3_column_blob(st, 7), AUDIT_MAC_LEN);
        if ((r = buf_put_u8(&rec, AUDIT_REC_ENTRY)) || (r = buf_put_u32(&rec, (uint32_t)buf_remaining(&canon))) ||
            (r = buf_put_bytes(&rec, buf_ptr(&canon), buf_remaining(&canon))) ||
            (r = buf_put_bytes(&rec, mac, AUDIT_MAC_LEN)))
            goto out;
        info.entries++;
        /* checkpoints of this size (normally one) follow the entry */
        while (ci < nck && ck[ci].c.size <= info.entries) {
            merkle_hash proof[MERKLE_MAX_PROOF];
            size_t pn = 0;
            if (ck[ci].c.size == info.entries && prev_size > 0 &&
                merkle_tree_consistency(tree, prev_size, ck[ci].c.size, proof, &pn) != 0)
                pn = 0;
            if ((r = put_checkpoint(&rec, &ck[ci].c, proof[0], pn)) != 0)
                goto out;
            prev_size = ck[ci].c.size;
            info.checkpoints++;
            ci++;
        }
        if (buf_remaining(&rec) > AUDIT_ENTRY_MAX && (r = flush(&rec, out)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE) {
        r = MAMORI_ERR_DB;
        goto out;
    }
    /* checkpoints beyond the entries (the log was cut): the verifier names them */
    for (; ci < nck; ci++, info.checkpoints++)
        if ((r = put_checkpoint(&rec, &ck[ci].c, NULL, 0)) != 0 || (r = flush(&rec, out)) != 0)
            goto out;
    {
        merkle_hash root;
        uint8_t msg[AUDIT_TAIL_MSG_LEN], tag[SEAL_MAC_LEN];
        merkle_tree_root(tree, info.entries, root);
        if ((r = buf_put_u8(&rec, AUDIT_REC_END)) || (r = buf_put_u64(&rec, info.entries)) ||
            (r = buf_put_bytes(&rec, root, MERKLE_HASH_LEN)))
            goto out;
        if (tailseal != NULL && info.seal_epoch <= info.entries) {
            audit_tail_message(info.entries, root, msg);
            if ((r = seal_advance(tailseal, info.entries)) != 0 || (r = seal_tag(tailseal, msg, sizeof(msg), tag)) != 0)
                goto out;
            info.tail_sealed = true;
            if ((r = buf_put_u8(&rec, 1)) || (r = buf_put_bytes(&rec, tag, SEAL_MAC_LEN)))
                goto out;
        } else if ((r = buf_put_u8(&rec, 0)) != 0) {
            goto out;
        }
    }
    if ((r = flush(&rec, out)) != 0)
        goto out;
    if (fflush(out) != 0) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    if (ret_info != NULL)
        *ret_info = info;
    r = 0;
out:
    sqlite3_finalize(st);
    if (db != NULL) {
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    merkle_tree_free(tree);
    free(ck);
    seal_free(tailseal);
    buf_free(&rec);
    buf_free(&canon);
    return r;
}

/* ---- proofs from the database ---- */

static int ckpt_query(const char *db_path, const char *sql, int64_t arg, struct audit_checkpoint *ret)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int r = MAMORI_ERR_DB, step;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    if (arg >= 0)
        sqlite3_bind_int64(st, 1, arg);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        r = MAMORI_ERR_NOTFOUND;
    } else if (step == SQLITE_ROW && sqlite3_column_bytes(st, 1) == AUDIT_ROOT_LEN &&
               sqlite3_column_bytes(st, 3) == AUDIT_SIG_LEN && sqlite3_column_bytes(st, 4) == AUDIT_MAC_LEN) {
        ret->size = (uint64_t)sqlite3_column_int64(st, 0);
        memcpy(ret->root, sqlite3_column_blob(st, 1), AUDIT_ROOT_LEN);
        ret->time_ns = sqlite3_column_int64(st, 2);
        memcpy(ret->sig, sqlite3_column_blob(st, 3), AUDIT_SIG_LEN);
        memcpy(ret->tag, sqlite3_column_blob(st, 4), AUDIT_MAC_LEN);
        r = 0;
    } else if (step == SQLITE_ROW) {
        r = MAMORI_ERR_TAMPER;
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return r;
}

int audit_db_latest_checkpoint(const char *db_path, struct audit_checkpoint *ret)
{
    return ckpt_query(db_path, "SELECT size, root, time_ns, sig, tag FROM audit_checkpoint ORDER BY size DESC LIMIT 1",
                      -1, ret);
}

int audit_db_checkpoint(const char *db_path, uint64_t size, struct audit_checkpoint *ret)
{
    if (size > INT64_MAX)
        return MAMORI_ERR_INVAL;
    return ckpt_query(db_path, "SELECT size, root, time_ns, sig, tag FROM audit_checkpoint WHERE size = ?",
                      (int64_t)size, ret);
}

/* The stored-node tree of the first size entries. */
static int tree_of_db(const char *db_path, uint64_t size, struct merkle_tree **ret)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct merkle_tree *t = NULL;
    struct buf canon;
    int r = MAMORI_ERR_DB, step;
    buf_init(&canon, AUDIT_ENTRY_MAX);
    if (size > INT64_MAX)
        return MAMORI_ERR_INVAL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, AUDIT_ROW_SELECT " WHERE seq < ? ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
        goto out;
    if ((r = merkle_tree_new(&t)) != 0)
        goto out;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct audit_entry e;
        merkle_hash leaf;
        buf_reset(&canon);
        if ((r = audit_row_entry(st, &e)) != 0 || (r = audit_entry_encode(&e, &canon)) != 0 ||
            (r = merkle_leaf_hash(leaf, buf_ptr(&canon), buf_remaining(&canon))) != 0 ||
            (r = merkle_tree_append(t, leaf)) != 0)
            goto out;
        /* a hole in the sequence makes every later index wrong */
        if (e.seq + 1 != merkle_tree_size(t)) {
            r = MAMORI_ERR_TAMPER;
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        r = MAMORI_ERR_DB;
        goto out;
    }
    if (merkle_tree_size(t) != size) {
        r = MAMORI_ERR_INVAL; /* fewer entries than asked for */
        goto out;
    }
    *ret = t;
    t = NULL;
    r = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    merkle_tree_free(t);
    buf_free(&canon);
    return r;
}

int audit_db_inclusion(const char *db_path, uint64_t seq, uint64_t size, uint8_t *ret_proof, size_t *ret_n,
                       uint8_t ret_leaf[static 32], uint8_t ret_root[static 32])
{
    struct merkle_tree *t;
    merkle_hash proof[MERKLE_MAX_PROOF], leaf, root;
    size_t n;
    int r;
    if (seq >= size)
        return MAMORI_ERR_INVAL;
    if ((r = tree_of_db(db_path, size, &t)) != 0)
        return r;
    if ((r = merkle_tree_inclusion(t, seq, size, proof, &n)) == 0 && (r = merkle_tree_leaf(t, seq, leaf)) == 0 &&
        (r = merkle_tree_root(t, size, root)) == 0) {
        memcpy(ret_proof, proof, n * MERKLE_HASH_LEN);
        *ret_n = n;
        memcpy(ret_leaf, leaf, MERKLE_HASH_LEN);
        memcpy(ret_root, root, MERKLE_HASH_LEN);
    }
    merkle_tree_free(t);
    return r;
}

int audit_db_consistency(const char *db_path, uint64_t size1, uint64_t size2, uint8_t *ret_proof, size_t *ret_n,
                         uint8_t ret_root1[static 32], uint8_t ret_root2[static 32])
{
    struct merkle_tree *t;
    merkle_hash proof[MERKLE_MAX_PROOF], r1, r2;
    size_t n;
    int r;
    if (size1 == 0 || size1 > size2)
        return MAMORI_ERR_INVAL;
    if ((r = tree_of_db(db_path, size2, &t)) != 0)
        return r;
    if ((r = merkle_tree_consistency(t, size1, size2, proof, &n)) == 0 && (r = merkle_tree_root(t, size1, r1)) == 0 &&
        (r = merkle_tree_root(t, size2, r2)) == 0) {
        memcpy(ret_proof, proof, n * MERKLE_HASH_LEN);
        *ret_n = n;
        memcpy(ret_root1, r1, MERKLE_HASH_LEN);
        memcpy(ret_root2, r2, MERKLE_HASH_LEN);
    }
    merkle_tree_free(t);
    return r;
}

/* ---- verifier ---- */

struct audit_bverifier {
    struct seal_verifier *sv;
    uint8_t pub[KEYS_PK_LEN];
    struct merkle_frontier tree;
    merkle_hash last_root;
    uint64_t last_size;
    bool have_ckpt, header, done, failed;
    bool no_seal; /* the seal checks run on another thread (audit_bundle_verify) */
    char where_buf[48];
    bool rot_pending; /* a key hand-over entry was seen */
    uint64_t rot_seq;
    uint8_t pub_next[KEYS_PK_LEN];
    struct audit_verify_result res;
    audit_progress_fn fn;
    void *ctx;
};

int audit_bverifier_new(const struct audit_vkeys *k, struct audit_bverifier **ret)
{
    struct audit_bverifier *v = calloc(1, sizeof(*v));
    int r;
    if (v == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = seal_verifier_new(k->seal_key0, &v->sv)) != 0) {
        free(v);
        return r;
    }
    memcpy(v->pub, k->audit_pub, KEYS_PK_LEN);
    merkle_frontier_init(&v->tree);
    *ret = v;
    return 0;
}

int audit_bverifier_dup(const struct audit_bverifier *v, struct audit_bverifier **ret)
{
    struct audit_bverifier *c = malloc(sizeof(*c));
    int r;
    if (c == NULL)
        return MAMORI_ERR_NOMEM;
    *c = *v;
    if ((r = seal_verifier_dup(v->sv, &c->sv)) != 0) {
        free(c);
        return r;
    }
    *ret = c;
    return 0;
}

void audit_bverifier_copy(struct audit_bverifier *dst, const struct audit_bverifier *src)
{
    struct seal_verifier *keep = dst->sv;
    *dst = *src;
    dst->sv = keep;
    seal_verifier_copy(dst->sv, src->sv);
}

void audit_bverifier_free(struct audit_bverifier *v)
{
    if (v == NULL)
        return;
    seal_verifier_free(v->sv);
    free(v);
}

void audit_bverifier_progress(struct audit_bverifier *v, audit_progress_fn fn, void *ctx)
{
    v->fn = fn;
    v->ctx = ctx;
}

__attribute__((format(printf, 4, 5))) static int fail(struct audit_bverifier *v, const char *where, uint64_t seq,
                                                      const char *fmt, ...)
{
    va_list ap;
    v->failed = true;
    v->res.ok = false;
    v->res.bad_seq = seq;
    snprintf(v->res.where, sizeof(v->res.where), "%s", where);
    va_start(ap, fmt);
    vsnprintf(v->res.reason, sizeof(v->res.reason), fmt, ap);
    va_end(ap);
    return MAMORI_ERR_AUTH;
}

int audit_bverifier_header(struct audit_bverifier *v, struct buf *b)
{
    const uint8_t *p;
    if (v->failed)
        return MAMORI_ERR_AUTH;
    if (buf_get_ptr(b, AUDIT_BUNDLE_MAGIC_LEN, &p) != 0 || memcmp(p, AUDIT_BUNDLE_MAGIC, AUDIT_BUNDLE_MAGIC_LEN) != 0)
        return fail(v, "bundle", 0, "not an audit bundle (bad header)");
    v->header = true;
    return 0;
}

/* An "audit.key_rotated" entry: checkpoints after the one that covers it are
 * signed with new_pub, which must follow from the key in use (old_pub). */
static int take_rotation(struct audit_bverifier *v, const struct audit_entry *e)
{
    json_error_t err;
    json_t *j = json_loadb(e->details.p, e->details.n, JSON_REJECT_DUPLICATES, &err);
    json_t *np = json_object_get(j, "new_pub"), *op = json_object_get(j, "old_pub");
    uint8_t newk[KEYS_PK_LEN], oldk[KEYS_PK_LEN];
    size_t n1 = 0, n2 = 0;
    int r = MAMORI_ERR_INVAL;
    if (json_is_string(np) && json_is_string(op) && json_string_length(np) == 2 * KEYS_PK_LEN &&
        json_string_length(op) == 2 * KEYS_PK_LEN && hex_decode(newk, sizeof(newk), json_string_value(np), &n1) == 0 &&
        hex_decode(oldk, sizeof(oldk), json_string_value(op), &n2) == 0 && n1 == KEYS_PK_LEN && n2 == KEYS_PK_LEN &&
        memcmp(oldk, v->rot_pending ? v->pub_next : v->pub, KEYS_PK_LEN) == 0) {
        memcpy(v->pub_next, newk, KEYS_PK_LEN);
        v->rot_pending = true;
        v->rot_seq = e->seq;
        v->res.rotations++;
        r = 0;
    }
    json_decref(j);
    return r;
}

/* "entry N" for a failure report (formatted only when something failed). */
#define ENTRY_WHERE(v, pos) (snprintf((v)->where_buf, sizeof((v)->where_buf), "entry %" PRIu64, (pos)), (v)->where_buf)

static int step_entry(struct audit_bverifier *v, struct buf *b)
{
    uint64_t pos = v->res.entries;
    uint32_t len;
    const uint8_t *canon, *mac;
    struct audit_entry e;
    merkle_hash leaf;
    int r;
    if (buf_get_u32(b, &len) != 0 || len > AUDIT_ENTRY_MAX || buf_get_ptr(b, len, &canon) != 0 ||
        buf_get_ptr(b, AUDIT_MAC_LEN, &mac) != 0)
        return fail(v, ENTRY_WHERE(v, pos), pos, "entry record truncated or oversized");
    if (pos >= AUDIT_BUNDLE_MAX_ENTRIES)
        return fail(v, ENTRY_WHERE(v, pos), pos, "too many entries");
    if (audit_entry_decode(canon, len, &e) != 0)
        return fail(v, ENTRY_WHERE(v, pos), pos, "malformed entry bytes");
    if (e.seq != pos)
        return fail(v, ENTRY_WHERE(v, pos), pos,
                    "sequence break: expected seq %" PRIu64 ", found %" PRIu64
                    " (an entry was deleted, inserted or moved)",
                    pos, e.seq);
    r = v->no_seal ? 0 : seal_verifier_check(v->sv, e.seq, canon, len, mac);
    if (r != 0)
        return fail(v, ENTRY_WHERE(v, pos), pos,
                    "seal MAC does not verify with the key of epoch %" PRIu64
                    " (entry edited, or sealed with another epoch's key)",
                    e.seq);
    if (e.event.n == sizeof(AUDIT_EVENT_KEY_ROTATED) - 1 &&
        memcmp(e.event.p, AUDIT_EVENT_KEY_ROTATED, e.event.n) == 0 && (r = take_rotation(v, &e)) != 0)
        return fail(v, ENTRY_WHERE(v, pos), pos, "malformed signing-key hand-over");
    if ((r = merkle_leaf_hash(leaf, canon, len)) != 0 || (r = merkle_frontier_append(&v->tree, leaf)) != 0)
        return r;
    v->res.entries++;
    if (v->fn != NULL && (v->res.entries & 0xFFFF) == 0)
        v->fn(v->ctx, v->res.entries);
    return 0;
}

static int step_checkpoint(struct audit_bverifier *v, struct buf *b)
{
    struct audit_checkpoint c;
    uint8_t msg[AUDIT_CKPT_MSG_LEN], pn;
    const uint8_t *proof;
    merkle_hash root;
    uint64_t t;
    char where[48];
    if (buf_get_u64(b, &c.size) != 0 || buf_get_bytes(b, c.root, AUDIT_ROOT_LEN) != 0 || buf_get_u64(b, &t) != 0 ||
        buf_get_bytes(b, c.sig, AUDIT_SIG_LEN) != 0 || buf_get_bytes(b, c.tag, AUDIT_MAC_LEN) != 0 ||
        buf_get_u8(b, &pn) != 0 || pn > MERKLE_MAX_PROOF || buf_get_ptr(b, (size_t)pn * MERKLE_HASH_LEN, &proof) != 0)
        return fail(v, "checkpoint", v->res.entries, "checkpoint record truncated or malformed");
    c.time_ns = (int64_t)t;
    snprintf(where, sizeof(where), "checkpoint %" PRIu64, c.size);
    if (v->have_ckpt && c.size <= v->last_size)
        return fail(v, where, v->res.entries, "checkpoints out of order (after one for %" PRIu64 ")", v->last_size);
    if (c.size != v->res.entries)
        return fail(v, where, v->res.entries,
                    "signed for %" PRIu64 " entries but found after entry %" PRIu64
                    " (entries deleted, inserted or cut back)",
                    c.size, v->res.entries);
    /* the checkpoint right after a hand-over is still the old key's */
    if (v->rot_pending && c.size > v->rot_seq + 1) {
        memcpy(v->pub, v->pub_next, KEYS_PK_LEN);
        v->rot_pending = false;
    }
    audit_checkpoint_message(&c, msg);
    if (keys_verify(v->pub, c.sig, msg, sizeof(msg)) != 0)
        return fail(v, where, c.size, "signature does not verify with the audit public key");
    merkle_frontier_root(&v->tree, root);
    if (memcmp(root, c.root, MERKLE_HASH_LEN) != 0)
        return fail(v, where, c.size, "root does not match the entries before it");
    if (!v->no_seal && seal_verifier_check(v->sv, c.size, msg, sizeof(msg), c.tag) != 0)
        return fail(v, where, c.size, "seal tag does not verify with the key of epoch %" PRIu64, c.size);
    if (v->have_ckpt) {
        if (merkle_verify_consistency(v->last_size, c.size, v->last_root, c.root, proof, pn) != 0)
            return fail(v, where, c.size, "consistency proof from checkpoint %" PRIu64 " does not verify",
                        v->last_size);
    } else if (pn != 0) {
        return fail(v, where, c.size, "first checkpoint carries a proof");
    }
    v->have_ckpt = true;
    v->last_size = c.size;
    memcpy(v->last_root, c.root, MERKLE_HASH_LEN);
    v->res.checkpoints++;
    v->res.last_ckpt_size = c.size;
    return 0;
}

static int step_end(struct audit_bverifier *v, struct buf *b)
{
    uint64_t count;
    uint8_t root[AUDIT_ROOT_LEN], has_tail, tag[AUDIT_MAC_LEN], msg[AUDIT_TAIL_MSG_LEN];
    merkle_hash calc;
    if (buf_get_u64(b, &count) != 0 || buf_get_bytes(b, root, sizeof(root)) != 0 || buf_get_u8(b, &has_tail) != 0 ||
        has_tail > 1 || (has_tail && buf_get_bytes(b, tag, sizeof(tag)) != 0))
        return fail(v, "end", v->res.entries, "end record truncated or malformed");
    if (count != v->res.entries)
        return fail(v, "end", v->res.entries, "end record claims %" PRIu64 " entries, bundle has %" PRIu64, count,
                    v->res.entries);
    merkle_frontier_root(&v->tree, calc);
    if (memcmp(calc, root, MERKLE_HASH_LEN) != 0)
        return fail(v, "end", count, "end root does not match the entries");
    if (!has_tail)
        return fail(v, "end", count,
                    "no tail seal: the %" PRIu64 " entries after the last checkpoint (%" PRIu64
                    ") are not bound, so cutting the tail cannot be ruled out",
                    count - v->res.last_ckpt_size, v->res.last_ckpt_size);
    audit_tail_message(count, root, msg);
    if (!v->no_seal && seal_verifier_check(v->sv, count, msg, sizeof(msg), tag) != 0)
        return fail(v, "end", count,
                    "tail seal does not verify with the key of epoch %" PRIu64
                    " (the log was cut back, or the end edited)",
                    count);
    if (buf_end(b) != 0)
        return fail(v, "bundle", count, "bytes after the end record");
    v->res.tail_sealed = true;
    v->done = true;
    v->res.ok = true;
    return 0;
}

int audit_bverifier_step(struct audit_bverifier *v, struct buf *b, bool *ret_done)
{
    uint8_t type;
    int r;
    if (v->failed)
        return MAMORI_ERR_AUTH;
    if (!v->header)
        return MAMORI_ERR_STATE;
    if (v->done) {
        *ret_done = true;
        return 0;
    }
    if (buf_get_u8(b, &type) != 0)
        return fail(v, "bundle", v->res.entries, "bundle ends without an end record (file cut short)");
    switch (type) {
    case AUDIT_REC_ENTRY:
        r = step_entry(v, b);
        break;
    case AUDIT_REC_CHECKPOINT:
        r = step_checkpoint(v, b);
        break;
    case AUDIT_REC_END:
        r = step_end(v, b);
        break;
    default:
        r = fail(v, "bundle", v->res.entries, "unknown record type %u after entry %" PRIu64, type,
                 v->res.entries);
    }
    if (r == 0)
        *ret_done = v->done;
    return r;
}

int audit_bverifier_run(struct audit_bverifier *v, struct buf *b)
{
    bool done = false;
    int r;
    while (!done)
        if ((r = audit_bverifier_step(v, b, &done)) != 0)
            return r;
    return 0;
}

void audit_bverifier_result(const struct audit_bverifier *v, struct audit_verify_result *ret)
{
    *ret = v->res;
}

/* The seal half of a verification, for a second thread: every entry MAC at
 * the epoch of its position, every checkpoint tag at its size, the tail tag at
 * its count. Any parse problem or failure just says "not ok"; the caller then
 * reruns the one-pass verifier for the exact first failure. */
struct seal_job {
    const uint8_t *p;
    size_t n;
    const struct audit_vkeys *k;
    bool ok;
};

static bool seal_pass(struct seal_job *j)
{
    struct seal_verifier *sv;
    struct buf b;
    uint64_t pos = 0;
    bool ok = false;
    if (seal_verifier_new(j->k->seal_key0, &sv) != 0)
        return false;
    buf_view(&b, j->p, j->n);
    if (buf_skip(&b, AUDIT_BUNDLE_MAGIC_LEN) != 0)
        goto out;
    for (;;) {
        uint8_t type;
        if (buf_get_u8(&b, &type) != 0)
            goto out;
        if (type == AUDIT_REC_ENTRY) {
            uint32_t len;
            const uint8_t *canon, *mac;
            if (buf_get_u32(&b, &len) != 0 || len > AUDIT_ENTRY_MAX || buf_get_ptr(&b, len, &canon) != 0 ||
                buf_get_ptr(&b, AUDIT_MAC_LEN, &mac) != 0 || seal_verifier_check(sv, pos, canon, len, mac) != 0)
                goto out;
            pos++;
        } else if (type == AUDIT_REC_CHECKPOINT) {
            struct audit_checkpoint c;
            uint8_t msg[AUDIT_CKPT_MSG_LEN], pn;
            uint64_t t;
            if (buf_get_u64(&b, &c.size) != 0 || buf_get_bytes(&b, c.root, AUDIT_ROOT_LEN) != 0 ||
                buf_get_u64(&b, &t) != 0 || buf_skip(&b, AUDIT_SIG_LEN) != 0 ||
                buf_get_bytes(&b, c.tag, AUDIT_MAC_LEN) != 0 || buf_get_u8(&b, &pn) != 0 ||
                buf_skip(&b, (size_t)pn * MERKLE_HASH_LEN) != 0)
                goto out;
            c.time_ns = (int64_t)t;
            /* a checkpoint sits right after its last entry: anything else is a
             * failure (and must not make the key chain run to an absurd epoch) */
            if (c.size != pos)
                goto out;
            audit_checkpoint_message(&c, msg);
            if (seal_verifier_check(sv, c.size, msg, sizeof(msg), c.tag) != 0)
                goto out;
        } else if (type == AUDIT_REC_END) {
            uint64_t count;
            uint8_t root[AUDIT_ROOT_LEN], has_tail, tag[AUDIT_MAC_LEN], msg[AUDIT_TAIL_MSG_LEN];
            if (buf_get_u64(&b, &count) != 0 || buf_get_bytes(&b, root, sizeof(root)) != 0 ||
                buf_get_u8(&b, &has_tail) != 0 || has_tail != 1 || buf_get_bytes(&b, tag, sizeof(tag)) != 0 ||
                count != pos)
                goto out;
            audit_tail_message(count, root, msg);
            ok = seal_verifier_check(sv, count, msg, sizeof(msg), tag) == 0;
            goto out;
        } else {
            goto out;
        }
    }
out:
    seal_verifier_free(sv);
    return ok;
}

static void *seal_thread(void *arg)
{
    struct seal_job *j = arg;
    j->ok = seal_pass(j);
    return NULL;
}

static int verify_sequential(const uint8_t *p, size_t n, const struct audit_vkeys *k,
                             struct audit_verify_result *res)
{
    struct audit_bverifier *v;
    struct buf b;
    int r;
    if ((r = audit_bverifier_new(k, &v)) != 0)
        return r;
    buf_view(&b, p, n);
    r = audit_bverifier_header(v, &b);
    if (r == 0)
        r = audit_bverifier_run(v, &b);
    audit_bverifier_result(v, res);
    audit_bverifier_free(v);
    return r;
}

/* Two threads: the seal chain (inherently sequential: one key per epoch) on
 * one, parsing, the tree and the checkpoints on the other. Both halves
 * passing means every check of the one-pass verifier passed; any failure is
 * re-run one-pass so the report is exactly the one-pass report. */
int audit_bundle_verify(const uint8_t *p, size_t n, const struct audit_vkeys *k, struct audit_verify_result *res)
{
    return audit_bundle_verify_progress(p, n, k, NULL, NULL, res);
}

int audit_bundle_verify_progress(const uint8_t *p, size_t n, const struct audit_vkeys *k, audit_progress_fn fn,
                                 void *ctx, struct audit_verify_result *res)
{
    struct seal_job job = {.p = p, .n = n, .k = k, .ok = false};
    struct audit_bverifier *v;
    struct buf b;
    pthread_t th;
    int r;
    if ((r = audit_bverifier_new(k, &v)) != 0)
        return r;
    v->no_seal = true;
    audit_bverifier_progress(v, fn, ctx);
    if (pthread_create(&th, NULL, seal_thread, &job) != 0) {
        audit_bverifier_free(v);
        return verify_sequential(p, n, k, res);
    }
    buf_view(&b, p, n);
    r = audit_bverifier_header(v, &b);
    if (r == 0)
        r = audit_bverifier_run(v, &b);
    pthread_join(th, NULL);
    if (r == 0 && job.ok) {
        audit_bverifier_result(v, res);
        audit_bverifier_free(v);
        return 0;
    }
    audit_bverifier_free(v);
    if (r != 0 && r != MAMORI_ERR_AUTH)
        return r;
    return verify_sequential(p, n, k, res);
}
