/*
 * audit.c: the tamper-evident terminal audit log behind audit.h (POL-7, POL-8).
 *
 * Owns: the SQLite tables (entries, checkpoints, meta), the redaction-before-
 * storage rule, the order of operations of an append, group commit, and when
 * checkpoints are signed. Does not own the byte layout (entry.c), the tree
 * (crypto/merkle.c), the key chain (crypto/seal.c) or the signing key
 * (keys/keys.c, reached only through keys_sign()).
 *
 * An append, in this order (why: a crash at any point leaves a log that
 * verifies, and no durable entry can be re-sealed from what is on disk):
 *   1. render details (HIGH refused, MEDIUM masked), encode canonical bytes;
 *   2. MAC with key_seq, evolve the key in memory (old key wiped), add the
 *      leaf to the compact range;
 *   3. INSERT (inside the open transaction), maybe sign a checkpoint;
 *   4. COMMIT (WAL + synchronous=FULL: the entries are durable);
 *   5. persist the evolved key (two-slot state file, fsync): only now is the
 *      old key gone from disk too. A crash between 4 and 5 leaves the older
 *      key on disk; audit_open hashes it forward to the entry count.
 * If 3 or 4 fails, the batch is rolled back and the seal key and the compact
 * range return to the snapshot taken at BEGIN (those keys sealed nothing
 * durable), so the log stays consistent.
 *
 * Triggers make UPDATE and DELETE fail for the application; an insider with the
 * file is stopped by the seals, checkpoints and `mamori audit verify` instead.
 */
#include "audit/audit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "audit/bundle.h"
#include "audit/entry.h"
#include "audit/vkeys.h"
#include "common/buf.h"
#include "crypto/merkle.h"
#include "crypto/seal.h"
#include "keys/keys.h"
#include "mamori/err.h"

struct audit {
    sqlite3 *db;
    sqlite3_stmt *ins, *ins_ckpt;
    pthread_mutex_t mu;
    struct keys *signer;
    struct keys *own_signer; /* audit_open's default signer, freed at close */
    struct seal *seal;
    struct seal *snap_seal; /* state at BEGIN of the open transaction */
    struct merkle_frontier tree, snap_tree;
    uint64_t last_ckpt_size, snap_last_ckpt_size;
    int64_t last_ckpt_ns, snap_last_ckpt_ns;
    uint32_t every, seconds;
    bool in_tx, in_batch, batch_failed, broken;
    char process[AUDIT_ACTOR_MAX + 1];
    char seal_path[AUDIT_PATH_MAX];
    sqlite3_stmt *next_seq;
    struct buf details, canon;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS audit ("
    " seq INTEGER PRIMARY KEY,"
    " time_ns INTEGER NOT NULL,"
    " operator TEXT, role TEXT, process TEXT,"
    " event TEXT NOT NULL,"
    " details TEXT NOT NULL,"
    " mac BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_checkpoint ("
    " size INTEGER PRIMARY KEY,"
    " root BLOB NOT NULL, time_ns INTEGER NOT NULL,"
    " sig BLOB NOT NULL, tag BLOB NOT NULL,"
    " frontier BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_ckpt_no_update BEFORE UPDATE ON audit_checkpoint"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_ckpt_no_delete BEFORE DELETE ON audit_checkpoint"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;";

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int exec(struct audit *a, const char *sql)
{
    return sqlite3_exec(a->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MAMORI_ERR_DB;
}

/* Frontier blob: u64 size, then the node of every set bit, low to high. */
static int frontier_save(const struct merkle_frontier *f, struct buf *out)
{
    int r = buf_put_u64(out, f->size);
    for (unsigned l = 0; r == 0 && l < MERKLE_MAX_LEVELS; l++)
        if (f->size >> l & 1)
            r = buf_put_bytes(out, f->node[l], MERKLE_HASH_LEN);
    return r;
}

static int frontier_load(const uint8_t *p, size_t n, struct merkle_frontier *ret)
{
    struct buf b;
    struct merkle_frontier f;
    int r;
    merkle_frontier_init(&f);
    buf_view(&b, p, n);
    if ((r = buf_get_u64(&b, &f.size)) != 0)
        return r;
    for (unsigned l = 0; l < MERKLE_MAX_LEVELS; l++)
        if (f.size >> l & 1 && (r = buf_get_bytes(&b, f.node[l], MERKLE_HASH_LEN)) != 0)
            return r;
    if ((r = buf_end(&b)) != 0)
        return r;
    *ret = f;
    return 0;
}

static int load_tree(struct audit *a, uint64_t count);

/* If the log grew under another writer, reload its seal state (hashed
 * forward to the entry count) and the compact range. Called holding the
 * write lock. */
static int resync(struct audit *a)
{
    struct seal *fresh;
    uint64_t next;
    int r;
    sqlite3_reset(a->next_seq);
    if (sqlite3_step(a->next_seq) != SQLITE_ROW) {
        sqlite3_reset(a->next_seq);
        return MAMORI_ERR_DB;
    }
    next = (uint64_t)sqlite3_column_int64(a->next_seq, 0);
    sqlite3_reset(a->next_seq);
    if (next == a->tree.size)
        return 0;
    if (next < a->tree.size)
        return MAMORI_ERR_TAMPER; /* entries vanished under us */
    if ((r = seal_open(a->seal_path, &fresh)) != 0)
        return r;
    if (seal_epoch(fresh) > next) {
        seal_free(fresh);
        return MAMORI_ERR_TAMPER;
    }
    if ((r = seal_advance(fresh, next)) != 0 || (r = load_tree(a, next)) != 0) {
        seal_free(fresh);
        return r;
    }
    seal_free(a->seal);
    a->seal = fresh;
    return 0;
}

static int begin_tx(struct audit *a)
{
    int r;
    if (a->in_tx)
        return 0;
    if (a->broken)
        return MAMORI_ERR_STATE;
    if ((r = exec(a, "BEGIN IMMEDIATE")) != 0)
        return r;
    /* Another process may have appended since our last transaction (the CLI
     * and the daemon share a log): we hold the write lock now, so catch up. */
    if ((r = resync(a)) != 0 || (r = seal_dup(a->seal, &a->snap_seal)) != 0) {
        exec(a, "ROLLBACK");
        return r;
    }
    a->snap_tree = a->tree;
    a->snap_last_ckpt_size = a->last_ckpt_size;
    a->snap_last_ckpt_ns = a->last_ckpt_ns;
    a->in_tx = true;
    return 0;
}

static void rollback_tx(struct audit *a)
{
    exec(a, "ROLLBACK");
    seal_restore(a->seal, a->snap_seal);
    seal_free(a->snap_seal);
    a->snap_seal = NULL;
    a->tree = a->snap_tree;
    a->last_ckpt_size = a->snap_last_ckpt_size;
    a->last_ckpt_ns = a->snap_last_ckpt_ns;
    a->in_tx = false;
}

static int commit_tx(struct audit *a)
{
    int r;
    if (!a->in_tx)
        return 0;
    if ((r = exec(a, "COMMIT")) != 0) {
        rollback_tx(a);
        return r;
    }
    seal_free(a->snap_seal);
    a->snap_seal = NULL;
    a->in_tx = false;
    /* The entries are durable; now the old key leaves the disk. If this
     * fails the log is still correct, and the next open catches up. */
    return seal_persist(a->seal);
}

/* Sign and store a checkpoint of the current tree (inside the transaction). */
static int checkpoint_locked(struct audit *a)
{
    struct audit_checkpoint c;
    uint8_t msg[AUDIT_CKPT_MSG_LEN];
    struct buf fb;
    int r;
    if (a->tree.size == a->last_ckpt_size)
        return 0;
    c.size = a->tree.size;
    merkle_frontier_root(&a->tree, c.root);
    c.time_ns = now_ns();
    audit_checkpoint_message(&c, msg);
    if ((r = keys_sign(a->signer, c.sig, msg, sizeof(msg))) != 0 ||
        (r = seal_tag(a->seal, msg, sizeof(msg), c.tag)) != 0)
        return r;
    buf_init(&fb, 8 + MERKLE_MAX_LEVELS * MERKLE_HASH_LEN);
    if ((r = frontier_save(&a->tree, &fb)) != 0) {
        buf_free(&fb);
        return r;
    }
    sqlite3_reset(a->ins_ckpt);
    sqlite3_bind_int64(a->ins_ckpt, 1, (sqlite3_int64)c.size);
    sqlite3_bind_blob(a->ins_ckpt, 2, c.root, AUDIT_ROOT_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_int64(a->ins_ckpt, 3, c.time_ns);
    sqlite3_bind_blob(a->ins_ckpt, 4, c.sig, AUDIT_SIG_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_blob(a->ins_ckpt, 5, c.tag, AUDIT_MAC_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_blob(a->ins_ckpt, 6, buf_ptr(&fb), (int)buf_remaining(&fb), SQLITE_TRANSIENT);
    r = sqlite3_step(a->ins_ckpt) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    sqlite3_reset(a->ins_ckpt);
    buf_free(&fb);
    if (r == 0) {
        a->last_ckpt_size = c.size;
        a->last_ckpt_ns = c.time_ns;
    }
    return r;
}

static bool checkpoint_due(const struct audit *a)
{
    uint64_t pending = a->tree.size - a->last_ckpt_size;
    if (pending == 0)
        return false;
    if (pending >= a->every)
        return true;
    return now_ns() - a->last_ckpt_ns >= (int64_t)a->seconds * 1000000000;
}

/* Append one entry inside the open transaction. *ret_mutated tells the caller
 * whether in-memory state moved (then a failure needs a rollback). */
static int append_locked(struct audit *a, const struct audit_actor *actor, const char *event,
                         const struct field *fields, int *ret_redact, bool *ret_mutated)
{
    struct audit_entry e;
    merkle_hash leaf;
    uint8_t mac[SEAL_MAC_LEN];
    uint64_t epoch;
    int redact, r;
    *ret_mutated = false;
    buf_reset(&a->details);
    redact = field_list_json(fields, &a->details);
    if (redact != 0 && redact != MAMORI_ERR_PERM)
        return redact;
    e.seq = a->tree.size;
    e.time_ns = now_ns();
    e.op = audit_str_of(actor ? actor->operator_id : NULL);
    e.role = audit_str_of(actor ? actor->role : NULL);
    e.process = audit_str_of(actor ? actor->process : NULL);
    e.event = audit_str_of(event);
    e.details = (struct audit_str){.p = (const char *)buf_ptr(&a->details),
                                   .n = buf_remaining(&a->details),
                                   .present = true};
    buf_reset(&a->canon);
    if ((r = audit_entry_encode(&e, &a->canon)) != 0)
        return r;
    if (seal_epoch(a->seal) != e.seq)
        return MAMORI_ERR_INTERNAL; /* the epoch of an entry is its seq */
    if ((r = merkle_leaf_hash(leaf, buf_ptr(&a->canon), buf_remaining(&a->canon))) != 0)
        return r;
    *ret_mutated = true;
    /* MAC(key_seq, canonical || seq), then the key evolves */
    if ((r = seal_entry(a->seal, buf_ptr(&a->canon), buf_remaining(&a->canon), mac, &epoch)) != 0 ||
        (r = merkle_frontier_append(&a->tree, leaf)) != 0)
        return r;
    sqlite3_stmt *st = a->ins;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)e.seq);
    sqlite3_bind_int64(st, 2, e.time_ns);
    sqlite3_bind_text(st, 3, e.op.p, e.op.present ? (int)e.op.n : -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, e.role.p, e.role.present ? (int)e.role.n : -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, e.process.p, e.process.present ? (int)e.process.n : -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, e.event.p, (int)e.event.n, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, e.details.n ? e.details.p : "", (int)e.details.n, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, mac, SEAL_MAC_LEN, SQLITE_STATIC);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (r != 0)
        return r;
    if (checkpoint_due(a) && (r = checkpoint_locked(a)) != 0)
        return r;
    *ret_redact = redact;
    return 0;
}

int audit_record(struct audit *a, const struct audit_actor *actor, const char *event,
                 const struct field *fields)
{
    int r, redact = 0;
    bool mutated = false;
    if (a == NULL || event == NULL)
        return MAMORI_ERR_INVAL;
    pthread_mutex_lock(&a->mu);
    if ((r = begin_tx(a)) != 0)
        goto out;
    if ((r = append_locked(a, actor, event, fields, &redact, &mutated)) != 0) {
        /* Nothing half-written may stay: a failure after the seal moved drops
         * the whole open transaction (in a batch, every entry of it so far;
         * audit_commit_batch then reports the failure too). */
        if (mutated || !a->in_batch)
            rollback_tx(a);
        if (mutated && a->in_batch)
            a->batch_failed = true;
        goto out;
    }
    if (!a->in_batch)
        r = commit_tx(a);
out:
    pthread_mutex_unlock(&a->mu);
    return r ? r : redact;
}

int audit_begin_batch(struct audit *a)
{
    int r = 0;
    if (a == NULL)
        return MAMORI_ERR_INVAL;
    pthread_mutex_lock(&a->mu);
    if (a->in_batch)
        r = MAMORI_ERR_STATE;
    else if ((r = begin_tx(a)) == 0) {
        a->in_batch = true;
        a->batch_failed = false;
    }
    pthread_mutex_unlock(&a->mu);
    return r;
}

int audit_commit_batch(struct audit *a)
{
    int r = 0;
    if (a == NULL)
        return MAMORI_ERR_INVAL;
    pthread_mutex_lock(&a->mu);
    if (!a->in_batch) {
        r = MAMORI_ERR_STATE;
        goto out;
    }
    a->in_batch = false;
    if (a->in_tx && checkpoint_due(a) && (r = checkpoint_locked(a)) != 0) {
        rollback_tx(a);
        goto out;
    }
    r = commit_tx(a);
    if (r == 0 && a->batch_failed)
        r = MAMORI_ERR_DB;
out:
    pthread_mutex_unlock(&a->mu);
    return r;
}

int audit_checkpoint(struct audit *a)
{
    int r;
    if (a == NULL)
        return MAMORI_ERR_INVAL;
    pthread_mutex_lock(&a->mu);
    if (a->tree.size == a->last_ckpt_size) {
        r = 0;
        goto out;
    }
    bool own_tx = !a->in_tx;
    if ((r = begin_tx(a)) != 0)
        goto out;
    if ((r = checkpoint_locked(a)) != 0) {
        if (own_tx)
            rollback_tx(a);
        goto out;
    }
    if (own_tx)
        r = commit_tx(a);
out:
    pthread_mutex_unlock(&a->mu);
    return r;
}

int audit_tick(struct audit *a)
{
    if (a == NULL)
        return MAMORI_ERR_INVAL;
    pthread_mutex_lock(&a->mu);
    bool due = !a->in_batch && checkpoint_due(a);
    pthread_mutex_unlock(&a->mu);
    return due ? audit_checkpoint(a) : 0;
}

int audit_rotate_signer(struct audit *a, struct keys *new_signer)
{
    uint8_t old_pub[KEYS_PK_LEN], new_pub[KEYS_PK_LEN];
    struct audit_actor self;
    sqlite3_stmt *st;
    int r, redact = 0;
    bool mutated = false;
    if (a == NULL || new_signer == NULL)
        return MAMORI_ERR_INVAL;
    keys_sign_public(new_signer, new_pub);
    pthread_mutex_lock(&a->mu);
    self = (struct audit_actor){.process = a->process};
    keys_sign_public(a->signer, old_pub);
    if (a->in_batch) {
        r = MAMORI_ERR_STATE;
        goto out;
    }
    if ((r = begin_tx(a)) != 0)
        goto out;
    /* the hand-over entry, then a checkpoint over it with the old key; the
     * verifier switches keys for checkpoints after that one */
    if ((r = append_locked(a, &self, "audit.key_rotated",
                           (const struct field[]){F_HEX("old_pub", old_pub, sizeof(old_pub)),
                                                  F_HEX("new_pub", new_pub, sizeof(new_pub)), F_END},
                           &redact, &mutated)) != 0 ||
        (r = checkpoint_locked(a)) != 0)
        goto fail;
    r = MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(a->db, "UPDATE audit_meta SET v = ? WHERE k = 'audit_pub'", -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_blob(st, 1, new_pub, KEYS_PK_LEN, SQLITE_STATIC);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    sqlite3_finalize(st);
    if (r != 0)
        goto fail;
    uint64_t size = a->tree.size;
    r = commit_tx(a);
    /* a failed COMMIT rolls the tree back; a failed key persist after a good
     * COMMIT does not: then the hand-over is on record and must be followed */
    if (a->tree.size == size)
        a->signer = new_signer;
    goto out;
fail:
    rollback_tx(a);
out:
    pthread_mutex_unlock(&a->mu);
    return r;
}

uint64_t audit_size(const struct audit *a)
{
    return a ? a->tree.size : 0;
}

int audit_count(struct audit *a, const char *event, int64_t *ret_n)
{
    sqlite3_stmt *st;
    int r = MAMORI_ERR_DB;
    const char *sql = event ? "SELECT count(*) FROM audit WHERE event=?" : "SELECT count(*) FROM audit";
    if (a == NULL || ret_n == NULL)
        return MAMORI_ERR_INVAL;
    pthread_mutex_lock(&a->mu);
    if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
        goto out;
    if (event)
        sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *ret_n = sqlite3_column_int64(st, 0);
        r = 0;
    }
    sqlite3_finalize(st);
out:
    pthread_mutex_unlock(&a->mu);
    return r;
}

/* ---- open / close ---- */

static int path_with(char *out, size_t outlen, const char *path, const char *suffix)
{
    int n = snprintf(out, outlen, "%s%s", path, suffix);
    return n > 0 && (size_t)n < outlen ? 0 : MAMORI_ERR_TOOBIG;
}

/* Rebuild the compact range: from the last checkpoint's saved frontier (its
 * root must match the signed root) plus the entries after it. */
static int load_tree(struct audit *a, uint64_t count)
{
    sqlite3_stmt *st = NULL;
    struct merkle_frontier f;
    struct buf canon;
    uint64_t from = 0;
    int r = 0, step;
    merkle_frontier_init(&f);
    buf_init(&canon, AUDIT_ENTRY_MAX);
    if (sqlite3_prepare_v2(a->db,
                           "SELECT size, root, time_ns, frontier FROM audit_checkpoint ORDER BY size DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        r = MAMORI_ERR_DB;
        goto out;
    }
    if ((step = sqlite3_step(st)) == SQLITE_ROW) {
        merkle_hash root;
        uint64_t size = (uint64_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) != AUDIT_ROOT_LEN ||
            frontier_load(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3), &f) != 0 ||
            f.size != size || size > count) {
            r = MAMORI_ERR_TAMPER;
            goto out;
        }
        merkle_frontier_root(&f, root);
        if (memcmp(root, sqlite3_column_blob(st, 1), AUDIT_ROOT_LEN) != 0) {
            r = MAMORI_ERR_TAMPER;
            goto out;
        }
        from = size;
        a->last_ckpt_size = size;
        a->last_ckpt_ns = sqlite3_column_int64(st, 2);
    } else if (step != SQLITE_DONE) {
        r = MAMORI_ERR_DB;
        goto out;
    } else {
        a->last_ckpt_ns = now_ns();
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(a->db, AUDIT_ROW_SELECT " WHERE seq >= ? ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
        r = MAMORI_ERR_DB;
        goto out;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct audit_entry e;
        merkle_hash leaf;
        buf_reset(&canon);
        if ((r = audit_row_entry(st, &e)) != 0 || (r = audit_entry_encode(&e, &canon)) != 0 ||
            (r = merkle_leaf_hash(leaf, buf_ptr(&canon), buf_remaining(&canon))) != 0 ||
            (r = merkle_frontier_append(&f, leaf)) != 0)
            goto out;
    }
    if (step != SQLITE_DONE) {
        r = MAMORI_ERR_DB;
        goto out;
    }
    if (f.size != count) {
        r = MAMORI_ERR_TAMPER;
        goto out;
    }
    a->tree = f;
out:
    sqlite3_finalize(st);
    buf_free(&canon);
    return r;
}

/* Bind the log to its signer (first open) or check it is the same key. */
static int check_signer(struct audit *a)
{
    uint8_t pub[KEYS_PK_LEN];
    sqlite3_stmt *st;
    int r = MAMORI_ERR_DB, step;
    keys_sign_public(a->signer, pub);
    if (sqlite3_prepare_v2(a->db, "SELECT v FROM audit_meta WHERE k='audit_pub'", -1, &st, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        r = sqlite3_column_bytes(st, 0) == KEYS_PK_LEN && memcmp(sqlite3_column_blob(st, 0), pub, KEYS_PK_LEN) == 0
                ? 0
                : MAMORI_ERR_STATE;
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return step == SQLITE_ROW ? r : MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(a->db, "INSERT INTO audit_meta(k, v) VALUES('audit_pub', ?)", -1, &st, NULL) !=
        SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_blob(st, 1, pub, KEYS_PK_LEN, SQLITE_STATIC);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    sqlite3_finalize(st);
    return r;
}

static int open_seal(struct audit *a, const char *seal_path, const char *verifier_path, uint64_t count)
{
    struct audit_vkeys vk;
    int r = seal_open(seal_path, &a->seal);
    if (r == MAMORI_ERR_NOTFOUND) {
        /* A non-empty log without its seal state cannot be continued honestly. */
        if (count != 0)
            return MAMORI_ERR_TAMPER;
        if ((r = seal_create(seal_path, vk.seal_key0, &a->seal)) != 0)
            return r;
        keys_sign_public(a->signer, vk.audit_pub);
        r = audit_vkeys_save(verifier_path, &vk);
        sodium_memzero(&vk, sizeof(vk));
        if (r != 0) {
            /* without an export nobody could ever check the seals */
            seal_free(a->seal);
            a->seal = NULL;
            unlink(seal_path);
        }
        return r;
    }
    if (r != 0)
        return r;
    if (seal_epoch(a->seal) > count)
        return MAMORI_ERR_TAMPER; /* entries the key already sealed are gone */
    if (seal_epoch(a->seal) < count) {
        /* crash between COMMIT and persist: hash forward, then persist */
        if ((r = seal_advance(a->seal, count)) != 0 || (r = seal_persist(a->seal)) != 0)
            return r;
    }
    return 0;
}

int audit_open_ex(const char *path, const struct audit_options *opt, struct keys *signer, struct audit **ret)
{
    static const struct audit_options defaults = {0};
    char seal_path[AUDIT_PATH_MAX], verifier_path[AUDIT_PATH_MAX];
    sqlite3_stmt *st = NULL;
    uint64_t count = 0, next = 0;
    bool locked = false;
    int r;
    if (path == NULL || signer == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if (opt == NULL)
        opt = &defaults;
    if ((r = opt->seal_path ? path_with(seal_path, sizeof(seal_path), opt->seal_path, "")
                            : path_with(seal_path, sizeof(seal_path), path, ".seal")) != 0 ||
        (r = opt->verifier_path ? path_with(verifier_path, sizeof(verifier_path), opt->verifier_path, "")
                                : path_with(verifier_path, sizeof(verifier_path), path, ".verifier")) != 0)
        return r;
    struct audit *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return MAMORI_ERR_NOMEM;
    pthread_mutex_init(&a->mu, NULL);
    a->signer = signer;
    a->every = opt->checkpoint_every ? opt->checkpoint_every : AUDIT_CHECKPOINT_EVERY;
    a->seconds = opt->checkpoint_seconds ? opt->checkpoint_seconds : AUDIT_CHECKPOINT_SECONDS;
    snprintf(a->process, sizeof(a->process), "%s", opt->process ? opt->process : "audit");
    buf_init(&a->details, AUDIT_DETAILS_MAX + 1);
    buf_init(&a->canon, AUDIT_ENTRY_MAX);
    r = MAMORI_ERR_DB;
    if (sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(a->db, 5000) != SQLITE_OK || sqlite3_exec(a->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(a->db,
                           "INSERT INTO audit(seq,time_ns,operator,role,process,event,details,mac)"
                           " VALUES(?,?,?,?,?,?,?,?)",
                           -1, &a->ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(a->db,
                           "INSERT INTO audit_checkpoint(size,root,time_ns,sig,tag,frontier) VALUES(?,?,?,?,?,?)",
                           -1, &a->ins_ckpt, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(a->db, "SELECT coalesce(max(seq) + 1, 0) FROM audit", -1, &a->next_seq, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(a->db, "SELECT count(*), coalesce(max(seq) + 1, 0) FROM audit", -1, &st, NULL) !=
            SQLITE_OK)
        goto fail;
    /* Count the entries and read the seal state under the write lock: another
     * process appending to the same log (daemon and CLI) commits before it
     * persists its evolved key, so without the lock a key persisted after our
     * count would look "ahead of the entries" (MAMORI_ERR_TAMPER). */
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    locked = true;
    if (sqlite3_step(st) != SQLITE_ROW)
        goto fail;
    count = (uint64_t)sqlite3_column_int64(st, 0);
    next = (uint64_t)sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if (count != next) {
        r = MAMORI_ERR_TAMPER; /* a hole in the sequence */
        goto fail;
    }
    /* the seal first: a log cut back is reported as such whoever opens it */
    snprintf(a->seal_path, sizeof(a->seal_path), "%s", seal_path);
    if ((r = open_seal(a, seal_path, verifier_path, count)) != 0 || (r = check_signer(a)) != 0 ||
        (r = load_tree(a, count)) != 0)
        goto fail;
    if (sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        r = MAMORI_ERR_DB;
        goto fail;
    }
    locked = false;
    struct audit_actor self = {.process = a->process};
    if ((r = audit_event(a, &self, "audit.start", F_INT("pid", getpid()), F_INT("entries", (int64_t)count))) != 0)
        goto fail;
    *ret = a;
    return 0;
fail:
    sqlite3_finalize(st);
    if (locked)
        (void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    a->signer = NULL;
    audit_close(a);
    return r;
}

int audit_open(const char *path, struct audit **ret)
{
    char key_path[AUDIT_PATH_MAX];
    struct keys *k;
    struct audit *a;
    int r;
    if (path == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = path_with(key_path, sizeof(key_path), path, ".key")) != 0 || (r = keys_load_or_create(key_path, &k)) != 0)
        return r;
    if ((r = audit_open_ex(path, NULL, k, &a)) != 0) {
        keys_free(k);
        return r;
    }
    a->own_signer = k;
    *ret = a;
    return 0;
}

void audit_close(struct audit *a)
{
    if (a == NULL)
        return;
    if (a->signer != NULL && a->seal != NULL && a->db != NULL) {
        if (a->in_batch)
            (void)audit_commit_batch(a);
        struct audit_actor self = {.process = a->process};
        (void)audit_event(a, &self, "audit.stop", F_INT("pid", getpid()));
        (void)audit_checkpoint(a);
    }
    if (a->in_tx)
        rollback_tx(a);
    sqlite3_finalize(a->ins);
    sqlite3_finalize(a->ins_ckpt);
    sqlite3_finalize(a->next_seq);
    sqlite3_close(a->db);
    seal_free(a->seal);
    seal_free(a->snap_seal);
    keys_free(a->own_signer);
    buf_free(&a->details);
    buf_free(&a->canon);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
