/*
 * journal.c: owns the register's SQLite journal: schema, durability settings
 * (WAL, synchronous=FULL), the open-transaction snapshot, completed receipts
 * (exactly once), return quantities, cash command intents/results, suspended
 * transactions and point balances. It must not own register policy (what is
 * allowed when: txn.c, tender.c) except the two rules that have to hold under
 * concurrency and crashes and so are re-checked inside the commit: a receipt
 * is stored once per (terminal, txn_no), and returns never exceed what was
 * sold on the original receipt.
 */
#include "pos/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include <sodium.h>

#include "common/hex.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "pos/txncodec.h"

enum {
    S_META_GET, S_META_SET, S_OPEN_SAVE, S_OPEN_LOAD, S_OPEN_DROP, S_RC_BY_TXN, S_RC_INS,
    S_LINE_INS, S_TEND_INS, S_RET_SUM, S_RET_INS, S_SOLD, S_CMD_INS, S_CMD_DONE, S_CMD_GET,
    S_CMD_PEND, S_RC_GET, S_SUSP_INS, S_SUSP_GET, S_SUSP_DEL, S_PTS_GET, S_PTS_ADD, S_CANCEL_INS,
    S__N
};

static const char *const sqls[S__N] = {
    [S_META_GET] = "SELECT v FROM meta WHERE k=?",
    [S_META_SET] = "INSERT INTO meta(k,v) VALUES(?,?) ON CONFLICT(k) DO UPDATE SET v=excluded.v",
    [S_OPEN_SAVE] = "INSERT INTO open_txn(terminal,txn_no,rec) VALUES(?,?,?)"
                    " ON CONFLICT(terminal) DO UPDATE SET txn_no=excluded.txn_no,rec=excluded.rec",
    [S_OPEN_LOAD] = "SELECT 'open', terminal, txn_no, rec FROM open_txn WHERE terminal=?",
    [S_OPEN_DROP] = "DELETE FROM open_txn WHERE terminal=?",
    [S_RC_BY_TXN] = "SELECT receipt_no FROM receipts WHERE terminal=? AND txn_no=?",
    [S_RC_INS] = "INSERT INTO receipts(terminal,txn_no,time,operator,kind,training,total,"
                 "base10,tax10,base8,tax8,change,discount,orig_receipt,rec)"
                 " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [S_LINE_INS] = "INSERT INTO lines(receipt_no,line_no,code,dept,qty,amount,reduced,voided)"
                   " VALUES(?,?,?,?,?,?,?,?)",
    [S_TEND_INS] = "INSERT INTO tenders(receipt_no,idx,kind,amount,cashier) VALUES(?,?,?,?,?)",
    [S_RET_SUM] = "SELECT COALESCE(SUM(qty),0) FROM returned WHERE orig_receipt=? AND orig_line=?",
    [S_RET_INS] = "INSERT INTO returned(orig_receipt,orig_line,by_receipt,qty) VALUES(?,?,?,?)",
    [S_SOLD] = "SELECT l.qty, r.training, r.kind FROM lines l JOIN receipts r USING(receipt_no)"
               " WHERE l.receipt_no=? AND l.line_no=? AND l.voided=0",
    [S_CMD_INS] = "INSERT INTO cash_cmds(idem,kind,terminal,txn_no,tender,amount,result,state,"
                  "training,time) VALUES(?,?,?,?,?,?,0,0,?,?)",
    [S_CMD_DONE] = "UPDATE cash_cmds SET state=?, result=? WHERE idem=?",
    [S_CMD_GET] = "SELECT idem,kind,terminal,txn_no,tender,amount,result,state,training"
                  " FROM cash_cmds WHERE idem=?",
    [S_CMD_PEND] = "SELECT idem,kind,terminal,txn_no,tender,amount,result,state,training"
                   " FROM cash_cmds WHERE terminal=? AND state=0 ORDER BY rowid",
    [S_RC_GET] = "SELECT 'rc', terminal, txn_no, rec FROM receipts WHERE receipt_no=?",
    [S_SUSP_INS] = "INSERT INTO suspended(slip,terminal,rec,time) VALUES(?,?,?,?)",
    [S_SUSP_GET] = "SELECT 'sp', slip, 0, rec FROM suspended WHERE slip=?",
    [S_SUSP_DEL] = "DELETE FROM suspended WHERE slip=?",
    [S_PTS_GET] = "SELECT balance FROM points WHERE tag=?",
    [S_PTS_ADD] = "INSERT INTO points(tag,balance) VALUES(?,?)"
                  " ON CONFLICT(tag) DO UPDATE SET balance=balance+excluded.balance",
    [S_CANCEL_INS] = "INSERT OR IGNORE INTO cancelled(terminal,txn_no,time,rec) VALUES(?,?,?,?)",
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS open_txn(terminal TEXT PRIMARY KEY, txn_no INTEGER NOT NULL,"
    " rec TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS receipts(receipt_no INTEGER PRIMARY KEY,"
    " terminal TEXT NOT NULL, txn_no INTEGER NOT NULL, time INTEGER NOT NULL,"
    " operator TEXT NOT NULL, kind TEXT NOT NULL, training INTEGER NOT NULL,"
    " total INTEGER NOT NULL, base10 INTEGER NOT NULL, tax10 INTEGER NOT NULL,"
    " base8 INTEGER NOT NULL, tax8 INTEGER NOT NULL, change INTEGER NOT NULL,"
    " discount INTEGER NOT NULL, orig_receipt INTEGER NOT NULL, z_no INTEGER,"
    " rec TEXT NOT NULL, UNIQUE(terminal, txn_no));"
    "CREATE TABLE IF NOT EXISTS lines(receipt_no INTEGER NOT NULL, line_no INTEGER NOT NULL,"
    " code TEXT NOT NULL, dept INTEGER NOT NULL, qty INTEGER NOT NULL, amount INTEGER NOT NULL,"
    " reduced INTEGER NOT NULL, voided INTEGER NOT NULL, PRIMARY KEY(receipt_no, line_no));"
    "CREATE TABLE IF NOT EXISTS tenders(receipt_no INTEGER NOT NULL, idx INTEGER NOT NULL,"
    " kind TEXT NOT NULL, amount INTEGER NOT NULL, cashier TEXT NOT NULL,"
    " PRIMARY KEY(receipt_no, idx));"
    "CREATE TABLE IF NOT EXISTS returned(orig_receipt INTEGER NOT NULL,"
    " orig_line INTEGER NOT NULL, by_receipt INTEGER NOT NULL, qty INTEGER NOT NULL,"
    " PRIMARY KEY(orig_receipt, orig_line, by_receipt));"
    "CREATE TABLE IF NOT EXISTS cash_cmds(idem TEXT PRIMARY KEY, kind TEXT NOT NULL,"
    " terminal TEXT NOT NULL, txn_no INTEGER NOT NULL, tender INTEGER NOT NULL,"
    " amount INTEGER NOT NULL, result INTEGER NOT NULL, state INTEGER NOT NULL,"
    " training INTEGER NOT NULL, time INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS suspended(slip TEXT PRIMARY KEY, terminal TEXT NOT NULL,"
    " rec TEXT NOT NULL, time INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS cancelled(terminal TEXT NOT NULL, txn_no INTEGER NOT NULL,"
    " time INTEGER NOT NULL, rec TEXT NOT NULL, PRIMARY KEY(terminal, txn_no));"
    "CREATE TABLE IF NOT EXISTS cash_moves(id INTEGER PRIMARY KEY, terminal TEXT NOT NULL,"
    " kind TEXT NOT NULL, amount INTEGER NOT NULL, operator TEXT NOT NULL,"
    " approver TEXT NOT NULL, training INTEGER NOT NULL, z_no INTEGER,"
    " time INTEGER NOT NULL, detail TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS points(tag BLOB PRIMARY KEY, balance INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS receipts_z ON receipts(terminal, z_no);";

struct journal {
    sqlite3 *db;
    sqlite3_stmt *st[S__N];
    bool group;
    uint8_t *key;                 /* data key (guarded memory), NULL until set */
};

/* ---- records at rest (POL-1: POS sales detail is HIGH) ----
 * A record is stored as "E1:" + hex(nonce || XChaCha20-Poly1305 ciphertext of
 * its JSON). The associated data names the row it belongs to (table kind,
 * terminal and transaction number, or slip), so a record moved to another row
 * does not decrypt. Without a key nothing is read or written. */

#define SEAL_PREFIX "E1:"
#define SEAL_AD_MAX 128

static int seal_ad(char out[static SEAL_AD_MAX], const char *kind, const char *a, int64_t b)
{
    int n = snprintf(out, SEAL_AD_MAX, "mamori-journal-v1|%s|%s|%lld", kind, a, (long long)b);
    return n < 0 || n >= SEAL_AD_MAX ? MAMORI_ERR_TOOBIG : 0;
}

static int seal(struct journal *j, const char *kind, const char *a, int64_t b,
                const struct txn_rec *r, char **ret)
{
    char ad[SEAL_AD_MAX], *json = NULL, *out = NULL;
    uint8_t *box = NULL;
    unsigned long long clen = 0;
    size_t n, blen, olen;
    int rc;
    if (j->key == NULL)
        return MAMORI_ERR_STATE;
    if ((rc = seal_ad(ad, kind, a, b)) || (rc = txncodec_encode(r, &json)))
        return rc;
    n = strlen(json);
    blen = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n +
           crypto_aead_xchacha20poly1305_ietf_ABYTES;
    olen = sizeof(SEAL_PREFIX) - 1 + 2 * blen + 1;
    box = malloc(blen);
    out = malloc(olen);
    rc = MAMORI_ERR_NOMEM;
    if (box == NULL || out == NULL)
        goto out;
    randombytes_buf(box, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    secmem_read(j->key);
    rc = crypto_aead_xchacha20poly1305_ietf_encrypt(
        box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, (const uint8_t *)json, n,
        (const uint8_t *)ad, strlen(ad), NULL, box, j->key);
    secmem_lock(j->key);
    if (rc != 0) {
        rc = MAMORI_ERR_CRYPTO;
        goto out;
    }
    memcpy(out, SEAL_PREFIX, sizeof(SEAL_PREFIX) - 1);
    if ((rc = hex_encode(out + sizeof(SEAL_PREFIX) - 1, olen - (sizeof(SEAL_PREFIX) - 1), box,
                         blen)))
        goto out;
    *ret = out;
    out = NULL;
out:
    if (json)
        sodium_memzero(json, strlen(json));
    free(json);
    free(box);
    free(out);
    return rc;
}

static int unseal(struct journal *j, const char *ad, const char *text, size_t n,
                  struct txn_rec *ret)
{
    size_t p = sizeof(SEAL_PREFIX) - 1, blen = 0;
    uint8_t *box;
    unsigned long long mlen = 0;
    int rc;
    if (j->key == NULL)
        return MAMORI_ERR_STATE;
    /* Refuse anything but a sealed record: a clear one could be forged. */
    if (n < p || memcmp(text, SEAL_PREFIX, p) != 0 || (n - p) % 2 != 0 || n > 2 * TXNCODEC_MAX)
        return MAMORI_ERR_AUTH;
    if ((box = malloc((n - p) / 2 + 1)) == NULL)
        return MAMORI_ERR_NOMEM;
    {
        char *hex = strndup(text + p, n - p);
        rc = hex ? hex_decode(box, (n - p) / 2 + 1, hex, &blen) : MAMORI_ERR_NOMEM;
        free(hex);
    }
    if (rc == 0 && blen < crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                              crypto_aead_xchacha20poly1305_ietf_ABYTES)
        rc = MAMORI_ERR_AUTH;
    if (rc == 0) {
        uint8_t *m = box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
        secmem_read(j->key);
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                m, &mlen, NULL, m, blen - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                (const uint8_t *)ad, strlen(ad), box, j->key) != 0)
            rc = MAMORI_ERR_AUTH;
        secmem_lock(j->key);
        if (rc == 0)
            rc = txncodec_decode((const char *)m, (size_t)mlen, ret);
        sodium_memzero(m, (size_t)mlen);
    }
    free(box);
    return rc;
}

int journal_set_key(struct journal *j, const uint8_t key[static JOURNAL_KEY_BYTES])
{
    if (j->key == NULL) {
        if (secmem_init() || (j->key = secmem_new(JOURNAL_KEY_BYTES)) == NULL)
            return MAMORI_ERR_NOMEM;
    } else {
        secmem_write(j->key);
    }
    memcpy(j->key, key, JOURNAL_KEY_BYTES);
    secmem_lock(j->key);
    return 0;
}

int journal_code_tag(struct journal *j, const char *code, char ret[static JOURNAL_CODE_TAG_LEN + 1])
{
    uint8_t tag[JOURNAL_CODE_TAG_LEN / 2];
    int rc;
    if (j->key == NULL)
        return MAMORI_ERR_STATE;
    secmem_read(j->key);
    rc = crypto_generichash(tag, sizeof(tag), (const uint8_t *)code, strlen(code), j->key,
                            JOURNAL_KEY_BYTES);
    secmem_lock(j->key);
    if (rc != 0)
        return MAMORI_ERR_CRYPTO;
    return hex_encode(ret, JOURNAL_CODE_TAG_LEN + 1, tag, sizeof(tag));
}

static sqlite3_stmt *stmt(struct journal *j, int id)
{
    sqlite3_stmt *s = j->st[id];
    if (s == NULL) {
        if (sqlite3_prepare_v3(j->db, sqls[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
            SQLITE_OK)
            return NULL;
        j->st[id] = s;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

/* Run a prepared statement that returns no rows. */
static int step_done(sqlite3_stmt *s)
{
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    if (r == SQLITE_CONSTRAINT)
        return MAMORI_ERR_EXISTS;
    return r == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
}

int journal_open(const char *path, struct journal **ret)
{
    struct journal *j;
    if (path == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return MAMORI_ERR_NOMEM;
    if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(j->db, 10000) != SQLITE_OK ||
        sqlite3_exec(j->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        journal_close(j);
        return MAMORI_ERR_DB;
    }
    *ret = j;
    return 0;
}

void journal_close(struct journal *j)
{
    if (j == NULL)
        return;
    for (int i = 0; i < S__N; i++)
        sqlite3_finalize(j->st[i]);
    secmem_free(j->key);
    sqlite3_close(j->db);
    free(j);
}

sqlite3 *journal_db(struct journal *j)
{
    return j->db;
}

/* Transactions: outside a group each is BEGIN IMMEDIATE .. COMMIT (durable on
 * return); inside a group a savepoint, committed by journal_group_commit. */
static int tx_begin(struct journal *j)
{
    const char *sql = j->group ? "SAVEPOINT jtx" : "BEGIN IMMEDIATE";
    return sqlite3_exec(j->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : MAMORI_ERR_DB;
}

static int tx_end(struct journal *j, int rc)
{
    if (rc == 0) {
        const char *sql = j->group ? "RELEASE jtx" : "COMMIT";
        if (sqlite3_exec(j->db, sql, NULL, NULL, NULL) == SQLITE_OK)
            return 0;
        rc = MAMORI_ERR_DB;
    }
    if (j->group)
        sqlite3_exec(j->db, "ROLLBACK TO jtx; RELEASE jtx", NULL, NULL, NULL);
    else
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int journal_tx(struct journal *j, int (*f)(void *ctx, sqlite3 *db), void *ctx)
{
    int rc = tx_begin(j);
    if (rc)
        return rc;
    return tx_end(j, f(ctx, j->db));
}

int journal_group_begin(struct journal *j)
{
    if (j->group)
        return MAMORI_ERR_STATE;
    if (sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    j->group = true;
    return 0;
}

int journal_group_commit(struct journal *j)
{
    if (!j->group)
        return MAMORI_ERR_STATE;
    j->group = false;
    if (sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
        return MAMORI_ERR_DB;
    }
    return 0;
}

static int meta_get(struct journal *j, const char *k, int64_t *ret)
{
    sqlite3_stmt *s = stmt(j, S_META_GET);
    int r;
    if (s == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        *ret = sqlite3_column_int64(s, 0);
    else if (r == SQLITE_DONE)
        *ret = 0;
    sqlite3_reset(s);
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
}

static int meta_set(struct journal *j, const char *k, int64_t v)
{
    sqlite3_stmt *s = stmt(j, S_META_SET);
    if (s == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, v);
    return step_done(s);
}

int journal_meta_get(struct journal *j, const char *key, int64_t *ret)
{
    return meta_get(j, key, ret);
}

int journal_meta_set(struct journal *j, const char *key, int64_t v)
{
    int rc = tx_begin(j);
    if (rc)
        return rc;
    return tx_end(j, meta_set(j, key, v));
}

int journal_peek_txn_no(struct journal *j, int64_t *ret)
{
    int64_t v = 0;
    int rc = meta_get(j, "txn_no", &v);
    if (rc == 0)
        *ret = v + 1;
    return rc;
}

static int save_open(struct journal *j, const struct txn_rec *r)
{
    char *text = NULL;
    sqlite3_stmt *s;
    int64_t last = 0;
    int rc = seal(j, "open", r->terminal, r->txn_no, r, &text);
    if (rc)
        return rc;
    /* The first record of a transaction reserves its number in the same
     * commit (journal_peek_txn_no): no commit of its own, no number lost. */
    if ((rc = meta_get(j, "txn_no", &last)) == 0 && last < r->txn_no)
        rc = meta_set(j, "txn_no", r->txn_no);
    if (rc) {
        free(text);
        return rc;
    }
    s = stmt(j, S_OPEN_SAVE);
    if (s == NULL) {
        free(text);
        return MAMORI_ERR_DB;
    }
    sqlite3_bind_text(s, 1, r->terminal, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, r->txn_no);
    sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
    rc = step_done(s);
    free(text);
    return rc;
}

int journal_save_open(struct journal *j, const struct txn_rec *r)
{
    int rc = tx_begin(j);
    if (rc)
        return rc;
    return tx_end(j, save_open(j, r));
}

/* Unseal a row (kind, a, b, rec) into *ret. */
static int col_rec(struct journal *j, sqlite3_stmt *s, struct txn_rec *ret)
{
    const char *kind = (const char *)sqlite3_column_text(s, 0);
    const char *a = (const char *)sqlite3_column_text(s, 1);
    const char *text = (const char *)sqlite3_column_text(s, 3);
    int n = sqlite3_column_bytes(s, 3);
    char ad[SEAL_AD_MAX];
    int rc;
    if (kind == NULL || a == NULL || text == NULL || n < 0)
        return MAMORI_ERR_DB;
    if ((rc = seal_ad(ad, kind, a, sqlite3_column_int64(s, 2))))
        return rc;
    return unseal(j, ad, text, (size_t)n, ret);
}

static int load_one(struct journal *j, int id, const char *key, int64_t ikey, struct txn_rec *ret)
{
    sqlite3_stmt *s = stmt(j, id);
    int r, rc;
    if (s == NULL)
        return MAMORI_ERR_DB;
    if (key != NULL)
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, ikey);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        rc = col_rec(j, s, ret);
    else
        rc = r == SQLITE_DONE ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_DB;
    sqlite3_reset(s);
    return rc;
}

int journal_load_open(struct journal *j, const char *terminal, struct txn_rec *ret)
{
    return load_one(j, S_OPEN_LOAD, terminal, 0, ret);
}

static int drop_open(struct journal *j, const char *terminal)
{
    sqlite3_stmt *s = stmt(j, S_OPEN_DROP);
    if (s == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, terminal, -1, SQLITE_STATIC);
    return step_done(s);
}

int journal_cancel(struct journal *j, const struct txn_rec *r)
{
    char *text = NULL;
    sqlite3_stmt *s;
    int rc = seal(j, "cx", r->terminal, r->txn_no, r, &text);
    if (rc)
        return rc;
    if ((rc = tx_begin(j))) {
        free(text);
        return rc;
    }
    s = stmt(j, S_CANCEL_INS);
    if (s == NULL) {
        rc = MAMORI_ERR_DB;
    } else {
        sqlite3_bind_text(s, 1, r->terminal, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, r->txn_no);
        sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
        sqlite3_bind_text(s, 4, text, -1, SQLITE_STATIC);
        rc = step_done(s);
    }
    if (rc == 0)
        rc = drop_open(j, r->terminal);
    free(text);
    return tx_end(j, rc);
}

int journal_receipt_by_txn(struct journal *j, const char *terminal, int64_t txn_no,
                           int64_t *ret_receipt_no)
{
    sqlite3_stmt *s = stmt(j, S_RC_BY_TXN);
    int r;
    if (s == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, terminal, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, txn_no);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        *ret_receipt_no = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (r == SQLITE_ROW)
        return 0;
    return r == SQLITE_DONE ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_DB;
}

static int line_returnable(struct journal *j, int64_t receipt_no, int line, int32_t *ret_sold,
                           int32_t *ret_returned, bool *ret_training, bool *ret_sale)
{
    sqlite3_stmt *s = stmt(j, S_SOLD);
    int r;
    int64_t sold = 0, back = 0;
    bool training = false, sale = false;
    if (s == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_int64(s, 1, receipt_no);
    sqlite3_bind_int(s, 2, line);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        sold = sqlite3_column_int64(s, 0);
        training = sqlite3_column_int(s, 1) != 0;
        sale = strcmp((const char *)sqlite3_column_text(s, 2), "sale") == 0;
    }
    sqlite3_reset(s);
    if (r != SQLITE_ROW)
        return r == SQLITE_DONE ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_DB;
    s = stmt(j, S_RET_SUM);
    if (s == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_int64(s, 1, receipt_no);
    sqlite3_bind_int(s, 2, line);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        back = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (r != SQLITE_ROW)
        return MAMORI_ERR_DB;
    *ret_sold = (int32_t)sold;
    *ret_returned = (int32_t)back;
    if (ret_training)
        *ret_training = training;
    if (ret_sale)
        *ret_sale = sale;
    return 0;
}

int journal_line_returnable(struct journal *j, int64_t receipt_no, int line, int32_t *ret_sold,
                            int32_t *ret_returned)
{
    int32_t sold, back;
    bool training, sale;
    int rc = line_returnable(j, receipt_no, line, &sold, &back, &training, &sale);
    if (rc)
        return rc;
    if (!sale)
        return MAMORI_ERR_NOTFOUND;
    *ret_sold = sold;
    *ret_returned = back;
    return 0;
}

static int insert_cmd(struct journal *j, const struct journal_cmd *c)
{
    sqlite3_stmt *s = stmt(j, S_CMD_INS);
    if (s == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, c->idem, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, c->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, c->terminal, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, c->txn_no);
    sqlite3_bind_int(s, 5, c->tender);
    sqlite3_bind_int64(s, 6, c->amount);
    sqlite3_bind_int(s, 7, c->training);
    sqlite3_bind_int64(s, 8, (int64_t)time(NULL));
    return step_done(s);
}

struct complete_ctx {
    const struct txn_rec *r;
    const struct txn_totals *tot;
    const uint8_t *tag;
    int64_t points_delta;
    const struct journal_cmd *cmds;
    size_t ncmds;
    const char *text;
    int64_t receipt_no;
};

static int complete_body(struct journal *j, struct complete_ctx *c)
{
    const struct txn_rec *r = c->r;
    const struct tax_result *tx = &c->tot->tax;
    sqlite3_stmt *s;
    int64_t no;
    int rc;

    /* Idempotent completion: the same transaction completes once. */
    rc = journal_receipt_by_txn(j, r->terminal, r->txn_no, &no);
    if (rc == 0) {
        c->receipt_no = no;
        return drop_open(j, r->terminal);
    }
    if (rc != MAMORI_ERR_NOTFOUND)
        return rc;
    if ((s = stmt(j, S_RC_INS)) == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, r->terminal, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, r->txn_no);
    sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
    sqlite3_bind_text(s, 4, r->operator_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, r->is_return ? "return" : "sale", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, r->training);
    sqlite3_bind_int64(s, 7, c->tot->total);
    {
        int64_t sign = r->is_return ? -1 : 1;
        sqlite3_bind_int64(s, 8, sign * tx->g[TAX_G10].taxable);
        sqlite3_bind_int64(s, 9, sign * tx->g[TAX_G10].tax);
        sqlite3_bind_int64(s, 10, sign * tx->g[TAX_G8].taxable);
        sqlite3_bind_int64(s, 11, sign * tx->g[TAX_G8].tax);
    }
    sqlite3_bind_int64(s, 12, c->tot->change);
    sqlite3_bind_int64(s, 13, c->tot->discount);
    sqlite3_bind_int64(s, 14, r->orig_receipt);
    sqlite3_bind_text(s, 15, c->text, -1, SQLITE_STATIC);
    if ((rc = step_done(s)))
        return rc;
    no = sqlite3_last_insert_rowid(j->db);

    for (size_t i = 0; i < r->n_lines; i++) {
        const struct txn_line *l = &r->lines[i];
        char tag[JOURNAL_CODE_TAG_LEN + 1];
        if ((s = stmt(j, S_LINE_INS)) == NULL)
            return MAMORI_ERR_DB;
        sqlite3_bind_int64(s, 1, no);
        sqlite3_bind_int(s, 2, l->no);
        if ((rc = journal_code_tag(j, l->code, tag)))
            return rc;
        sqlite3_bind_text(s, 3, tag, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 4, l->dept);
        sqlite3_bind_int(s, 5, l->qty);
        sqlite3_bind_int64(s, 6, txn_line_net(l));
        sqlite3_bind_int(s, 7, l->reduced);
        sqlite3_bind_int(s, 8, l->voided);
        if ((rc = step_done(s)))
            return rc;
        if (l->src == TXN_SRC_RETURN && !l->voided) {
            int32_t sold, back;
            bool training, sale;
            rc = line_returnable(j, l->orig_receipt, l->orig_line, &sold, &back, &training,
                                 &sale);
            if (rc)
                return rc;
            /* OPS-1: never refund more than was sold on the original receipt. */
            if (!sale || training != r->training || (int64_t)back - l->qty > sold)
                return MAMORI_ERR_LIMIT;
            if ((s = stmt(j, S_RET_INS)) == NULL)
                return MAMORI_ERR_DB;
            sqlite3_bind_int64(s, 1, l->orig_receipt);
            sqlite3_bind_int(s, 2, l->orig_line);
            sqlite3_bind_int64(s, 3, no);
            sqlite3_bind_int(s, 4, -l->qty);
            if ((rc = step_done(s)))
                return rc;
        }
    }
    for (size_t i = 0; i < r->n_tenders; i++) {
        if ((s = stmt(j, S_TEND_INS)) == NULL)
            return MAMORI_ERR_DB;
        sqlite3_bind_int64(s, 1, no);
        sqlite3_bind_int(s, 2, (int)i);
        sqlite3_bind_text(s, 3, r->tenders[i].kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, r->tenders[i].amount);
        sqlite3_bind_text(s, 5, r->tenders[i].cashier, -1, SQLITE_STATIC);
        if ((rc = step_done(s)))
            return rc;
    }
    if (c->tag != NULL && c->points_delta != 0) {
        if ((s = stmt(j, S_PTS_ADD)) == NULL)
            return MAMORI_ERR_DB;
        sqlite3_bind_blob(s, 1, c->tag, JOURNAL_TAG_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, c->points_delta);
        if ((rc = step_done(s)))
            return rc;
    }
    for (size_t i = 0; i < c->ncmds; i++)
        if ((rc = insert_cmd(j, &c->cmds[i])))
            return rc;
    if ((rc = drop_open(j, r->terminal)))
        return rc;
    c->receipt_no = no;
    return 0;
}

int journal_complete(struct journal *j, const struct txn_rec *r, const struct txn_totals *tot,
                     const uint8_t *member_tag, int64_t points_delta,
                     const struct journal_cmd *cmds, size_t ncmds, int64_t *ret_receipt_no)
{
    struct complete_ctx c = {.r = r, .tot = tot, .tag = member_tag,
                             .points_delta = points_delta, .cmds = cmds, .ncmds = ncmds};
    char *text = NULL;
    int rc = seal(j, "rc", r->terminal, r->txn_no, r, &text);
    if (rc)
        return rc;
    c.text = text;
    if ((rc = tx_begin(j)) == 0)
        rc = tx_end(j, complete_body(j, &c));
    free(text);
    if (rc == 0)
        *ret_receipt_no = c.receipt_no;
    return rc;
}

int journal_cmd_intent(struct journal *j, const struct journal_cmd *c)
{
    int rc = tx_begin(j);
    if (rc)
        return rc;
    return tx_end(j, insert_cmd(j, c));
}

int journal_cmd_done(struct journal *j, const char *idem, int64_t result, bool ok)
{
    sqlite3_stmt *s;
    int rc = tx_begin(j);
    if (rc)
        return rc;
    if ((s = stmt(j, S_CMD_DONE)) == NULL)
        return tx_end(j, MAMORI_ERR_DB);
    sqlite3_bind_int(s, 1, ok ? JOURNAL_CMD_DONE : JOURNAL_CMD_FAILED);
    sqlite3_bind_int64(s, 2, result);
    sqlite3_bind_text(s, 3, idem, -1, SQLITE_STATIC);
    rc = step_done(s);
    if (rc == 0 && sqlite3_changes(j->db) != 1)
        rc = MAMORI_ERR_NOTFOUND;
    return tx_end(j, rc);
}

static void col_text(sqlite3_stmt *s, int i, char *out, size_t cap)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    size_t n = t ? strlen(t) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
}

static void col_cmd(sqlite3_stmt *s, struct journal_cmd *c)
{
    memset(c, 0, sizeof(*c));
    col_text(s, 0, c->idem, sizeof(c->idem));
    col_text(s, 1, c->kind, sizeof(c->kind));
    col_text(s, 2, c->terminal, sizeof(c->terminal));
    c->txn_no = sqlite3_column_int64(s, 3);
    c->tender = sqlite3_column_int(s, 4);
    c->amount = sqlite3_column_int64(s, 5);
    c->result = sqlite3_column_int64(s, 6);
    c->state = (enum journal_cmd_state)sqlite3_column_int(s, 7);
    c->training = sqlite3_column_int(s, 8) != 0;
}

int journal_cmd_get(struct journal *j, const char *idem, struct journal_cmd *ret)
{
    sqlite3_stmt *s = stmt(j, S_CMD_GET);
    int r;
    if (s == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, idem, -1, SQLITE_STATIC);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        col_cmd(s, ret);
    sqlite3_reset(s);
    if (r == SQLITE_ROW)
        return 0;
    return r == SQLITE_DONE ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_DB;
}

int journal_cmd_pending(struct journal *j, const char *terminal, struct journal_cmd *out,
                        size_t cap, size_t *ret_n)
{
    sqlite3_stmt *s = stmt(j, S_CMD_PEND);
    size_t n = 0;
    int r;
    if (s == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(s, 1, terminal, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(s)) == SQLITE_ROW && n < cap)
        col_cmd(s, &out[n++]);
    sqlite3_reset(s);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return MAMORI_ERR_DB;
    *ret_n = n;
    return 0;
}

int journal_receipt_get(struct journal *j, int64_t receipt_no, struct txn_rec *ret_rec)
{
    return load_one(j, S_RC_GET, NULL, receipt_no, ret_rec);
}

int journal_suspend(struct journal *j, const struct txn_rec *r, const char *slip)
{
    char *text = NULL;
    sqlite3_stmt *s;
    int rc = seal(j, "sp", slip, 0, r, &text);
    if (rc)
        return rc;
    if ((rc = tx_begin(j))) {
        free(text);
        return rc;
    }
    if ((s = stmt(j, S_SUSP_INS)) == NULL) {
        rc = MAMORI_ERR_DB;
    } else {
        sqlite3_bind_text(s, 1, slip, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, r->terminal, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
        rc = step_done(s);
    }
    if (rc == 0)
        rc = drop_open(j, r->terminal);
    free(text);
    return tx_end(j, rc);
}

int journal_resume(struct journal *j, const char *slip, const char *terminal,
                   const char *operator_id, bool training, struct txn_rec *ret)
{
    struct txn_rec *r = malloc(sizeof(*r));
    sqlite3_stmt *s;
    int rc;
    if (r == NULL)
        return MAMORI_ERR_NOMEM;
    if ((rc = tx_begin(j))) {
        free(r);
        return rc;
    }
    rc = load_one(j, S_SUSP_GET, slip, 0, r);
    if (rc == 0 && r->training != training)
        rc = MAMORI_ERR_STATE;
    if (rc == 0) {
        if ((s = stmt(j, S_SUSP_DEL)) == NULL)
            rc = MAMORI_ERR_DB;
        else {
            sqlite3_bind_text(s, 1, slip, -1, SQLITE_STATIC);
            rc = step_done(s);
        }
    }
    if (rc == 0) {
        snprintf(r->terminal, sizeof(r->terminal), "%s", terminal);
        snprintf(r->operator_id, sizeof(r->operator_id), "%s", operator_id);
        r->state = TXN_REGISTERING;
        rc = save_open(j, r);
    }
    rc = tx_end(j, rc);
    if (rc == 0)
        memcpy(ret, r, sizeof(*r));
    free(r);
    return rc;
}

int journal_points(struct journal *j, const uint8_t tag[static JOURNAL_TAG_BYTES],
                   int64_t *ret_points)
{
    sqlite3_stmt *s = stmt(j, S_PTS_GET);
    int r;
    int64_t v = 0;
    if (s == NULL)
        return MAMORI_ERR_DB;
    sqlite3_bind_blob(s, 1, tag, JOURNAL_TAG_BYTES, SQLITE_STATIC);
    r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return MAMORI_ERR_DB;
    *ret_points = v;
    return 0;
}
