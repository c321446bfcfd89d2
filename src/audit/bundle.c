/*
 * bundle.c: export of an audit log to the bundle format and the proofs a
 * witness asks for (see bundle.h). Owns the record layout as written; reads
 * the database only through SQLite (read-only) and the seal state only to
 * compute the tail tag. The verifier is bverify.c.
 */
#include "audit/bundle.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/merkle.h"
#include "crypto/seal.h"
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
