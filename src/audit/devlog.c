/*
 * devlog.c: signed hash-chained device logs (see devlog.h). Owns the entry
 * layout, the chain rule, verification and the terminal-side store. Does not
 * own the device's key (keys_sign) or the meaning of details (the firmware).
 */
#include "audit/devlog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "keys/keys.h"
#include "mamori/err.h"

#define DEVLOG_MAGIC "MDL1"
/* An encoded empty CBOR map. */
static const uint8_t empty_map = 0xa0;

const char *devlog_verdict_name(enum devlog_verdict v)
{
    switch (v) {
    case DEVLOG_OK: return "ok";
    case DEVLOG_MALFORMED: return "malformed";
    case DEVLOG_WRONG_DEVICE: return "wrong-device";
    case DEVLOG_BAD_SIGNATURE: return "bad-signature";
    case DEVLOG_REPLAY: return "replay";
    case DEVLOG_GAP: return "gap";
    case DEVLOG_REWRITTEN: return "rewritten";
    }
    return "?";
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return n > 0;
}

int devlog_chain_init(struct devlog_chain *c, const char *serial)
{
    size_t n = serial ? strlen(serial) : 0;
    if (n == 0 || n > DEVLOG_SERIAL_MAX || !printable(serial, n))
        return MAMORI_ERR_INVAL;
    memset(c, 0, sizeof(*c));
    memcpy(c->serial, serial, n);
    return 0;
}

static int encode_signed(const struct devlog_entry *e, struct buf *out)
{
    size_t sn = strlen(e->serial), en = strlen(e->event);
    int r;
    if (sn == 0 || sn > DEVLOG_SERIAL_MAX || en == 0 || en > DEVLOG_EVENT_MAX || e->details_len > DEVLOG_DETAILS_MAX)
        return MAMORI_ERR_INVAL;
    if ((r = buf_put_bytes(out, DEVLOG_MAGIC, 4)) || (r = buf_put_u16(out, (uint16_t)sn)) ||
        (r = buf_put_bytes(out, e->serial, sn)) || (r = buf_put_u64(out, e->seq)) ||
        (r = buf_put_u64(out, (uint64_t)e->time_ns)) || (r = buf_put_u16(out, (uint16_t)en)) ||
        (r = buf_put_bytes(out, e->event, en)) || (r = buf_put_u32(out, (uint32_t)e->details_len)) ||
        (r = buf_put_bytes(out, e->details, e->details_len)) || (r = buf_put_bytes(out, e->prev, DEVLOG_HASH_LEN)))
        return r;
    return 0;
}

int devlog_encode(const struct devlog_entry *e, struct buf *out)
{
    int r = encode_signed(e, out);
    return r ? r : buf_put_bytes(out, e->sig, DEVLOG_SIG_LEN);
}

int devlog_hash(const struct devlog_entry *e, uint8_t ret[static DEVLOG_HASH_LEN])
{
    struct buf b;
    int r;
    buf_init(&b, DEVLOG_ENTRY_MAX);
    if ((r = devlog_encode(e, &b)) == 0)
        crypto_generichash(ret, DEVLOG_HASH_LEN, buf_ptr(&b), buf_remaining(&b), NULL, 0);
    buf_free(&b);
    return r;
}

static int get_text(struct buf *b, size_t len, size_t max, char *out)
{
    const uint8_t *p;
    int r;
    if (len == 0 || len > max)
        return MAMORI_ERR_INVAL;
    if ((r = buf_get_ptr(b, len, &p)) != 0)
        return r;
    if (!printable((const char *)p, len))
        return MAMORI_ERR_INVAL;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

int devlog_decode(const uint8_t *p, size_t n, struct devlog_entry *ret)
{
    struct buf b;
    const uint8_t *magic;
    uint16_t sn, en;
    uint32_t dn;
    uint64_t t;
    int r;
    struct devlog_entry *e;
    if (n > DEVLOG_ENTRY_MAX)
        return MAMORI_ERR_TOOBIG;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return MAMORI_ERR_NOMEM;
    buf_view(&b, p, n);
    if ((r = buf_get_ptr(&b, 4, &magic)) != 0)
        goto out;
    if (memcmp(magic, DEVLOG_MAGIC, 4) != 0) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    if ((r = buf_get_u16(&b, &sn)) || (r = get_text(&b, sn, DEVLOG_SERIAL_MAX, e->serial)) ||
        (r = buf_get_u64(&b, &e->seq)) || (r = buf_get_u64(&b, &t)) || (r = buf_get_u16(&b, &en)) ||
        (r = get_text(&b, en, DEVLOG_EVENT_MAX, e->event)) || (r = buf_get_u32(&b, &dn)))
        goto out;
    if (dn > DEVLOG_DETAILS_MAX) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    if ((r = buf_get_bytes(&b, e->details, dn)) || (r = buf_get_bytes(&b, e->prev, DEVLOG_HASH_LEN)) ||
        (r = buf_get_bytes(&b, e->sig, DEVLOG_SIG_LEN)) || (r = buf_end(&b)))
        goto out;
    e->details_len = dn;
    e->time_ns = (int64_t)t;
    *ret = *e;
out:
    free(e);
    return r;
}

int devlog_read(struct buf *b, struct devlog_entry *ret)
{
    uint32_t len;
    const uint8_t *p;
    int r;
    if ((r = buf_get_u32(b, &len)) != 0)
        return r;
    if (len > DEVLOG_ENTRY_MAX)
        return MAMORI_ERR_TOOBIG;
    if ((r = buf_get_ptr(b, len, &p)) != 0)
        return r;
    return devlog_decode(p, len, ret);
}

int devlog_append(struct devlog_chain *c, struct keys *log_key, const char *event, const uint8_t *details,
                  size_t details_len, int64_t time_ns, struct buf *out)
{
    struct devlog_entry *e;
    struct buf sp;
    size_t en = event ? strlen(event) : 0;
    int r;
    if (c == NULL || log_key == NULL || out == NULL || en == 0 || en > DEVLOG_EVENT_MAX || !printable(event, en) ||
        details_len > DEVLOG_DETAILS_MAX || (details_len > 0 && details == NULL))
        return MAMORI_ERR_INVAL;
    if (c->next_seq == UINT64_MAX)
        return MAMORI_ERR_TOOBIG;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return MAMORI_ERR_NOMEM;
    memcpy(e->serial, c->serial, sizeof(e->serial));
    e->seq = c->next_seq;
    e->time_ns = time_ns;
    memcpy(e->event, event, en);
    if (details_len == 0) {
        details = &empty_map;
        details_len = 1;
    }
    memcpy(e->details, details, details_len);
    e->details_len = details_len;
    memcpy(e->prev, c->last_hash, DEVLOG_HASH_LEN);
    buf_init(&sp, DEVLOG_ENTRY_MAX);
    if ((r = encode_signed(e, &sp)) != 0 || (r = keys_sign(log_key, e->sig, buf_ptr(&sp), buf_remaining(&sp))) != 0)
        goto out;
    size_t before = out->len;
    struct buf full;
    buf_init(&full, DEVLOG_ENTRY_MAX);
    if ((r = devlog_encode(e, &full)) == 0 && (r = buf_put_u32(out, (uint32_t)buf_remaining(&full))) == 0 &&
        (r = buf_put_bytes(out, buf_ptr(&full), buf_remaining(&full))) == 0) {
        crypto_generichash(c->last_hash, DEVLOG_HASH_LEN, buf_ptr(&full), buf_remaining(&full), NULL, 0);
        c->next_seq++;
    } else if (out->len > before) {
        out->len = before; /* nothing half-appended */
    }
    buf_free(&full);
out:
    buf_free(&sp);
    free(e);
    return r;
}

int devlog_verify_next(struct devlog_chain *c, const uint8_t pub[static 32], const struct devlog_entry *e,
                       enum devlog_verdict *ret)
{
    struct buf sp;
    uint8_t h[DEVLOG_HASH_LEN];
    int r;
    if (strcmp(e->serial, c->serial) != 0) {
        *ret = DEVLOG_WRONG_DEVICE;
        return 0;
    }
    buf_init(&sp, DEVLOG_ENTRY_MAX);
    if ((r = encode_signed(e, &sp)) != 0) {
        buf_free(&sp);
        *ret = DEVLOG_MALFORMED;
        return 0;
    }
    bool sig_ok = keys_verify(pub, e->sig, buf_ptr(&sp), buf_remaining(&sp)) == 0;
    buf_free(&sp);
    if (!sig_ok) {
        *ret = DEVLOG_BAD_SIGNATURE;
        return 0;
    }
    if (e->seq < c->next_seq) {
        *ret = DEVLOG_REPLAY;
        return 0;
    }
    if ((r = devlog_hash(e, h)) != 0)
        return r;
    if (e->seq > c->next_seq) {
        /* entries withheld; the entry itself is genuine, so follow it */
        *ret = DEVLOG_GAP;
    } else if (sodium_memcmp(e->prev, c->last_hash, DEVLOG_HASH_LEN) != 0) {
        *ret = DEVLOG_REWRITTEN;
        return 0;
    } else {
        *ret = DEVLOG_OK;
    }
    c->next_seq = e->seq + 1;
    memcpy(c->last_hash, h, DEVLOG_HASH_LEN);
    return 0;
}

int devlog_verify_file(const uint8_t *p, size_t n, const uint8_t pub[static 32], struct devlog_file_result *res)
{
    struct devlog_chain c;
    struct devlog_entry *e = malloc(sizeof(*e));
    struct buf b;
    int r = 0;
    bool started = false;
    memset(res, 0, sizeof(*res));
    if (e == NULL)
        return MAMORI_ERR_NOMEM;
    buf_view(&b, p, n);
    while (buf_remaining(&b) > 0) {
        enum devlog_verdict v;
        if (res->entries >= DEVLOG_FILE_MAX_ENTRIES || devlog_read(&b, e) != 0) {
            res->verdict = DEVLOG_MALFORMED;
            res->first_bad = res->entries;
            snprintf(res->reason, sizeof(res->reason), "entry %" PRIu64 " of the file is malformed or too large",
                     res->entries);
            r = MAMORI_ERR_AUTH;
            break;
        }
        if (!started) {
            if (devlog_chain_init(&c, e->serial) != 0) {
                r = MAMORI_ERR_INTERNAL;
                break;
            }
            started = true;
        }
        uint64_t expected = c.next_seq;
        if ((r = devlog_verify_next(&c, pub, e, &v)) != 0)
            break;
        if (v != DEVLOG_OK) {
            res->verdict = v;
            res->first_bad = res->entries;
            switch (v) {
            case DEVLOG_GAP:
                snprintf(res->reason, sizeof(res->reason),
                         "gap: expected seq %" PRIu64 ", found %" PRIu64 " (%" PRIu64 " entries missing)", expected,
                         e->seq, e->seq - expected);
                break;
            case DEVLOG_REPLAY:
                snprintf(res->reason, sizeof(res->reason),
                         "replay: seq %" PRIu64 " again after %" PRIu64 " (an old entry replayed or moved)", e->seq,
                         expected - 1);
                break;
            case DEVLOG_BAD_SIGNATURE:
                snprintf(res->reason, sizeof(res->reason),
                         "seq %" PRIu64 ": signature does not verify with the device key (entry edited or forged)",
                         e->seq);
                break;
            case DEVLOG_REWRITTEN:
                snprintf(res->reason, sizeof(res->reason),
                         "seq %" PRIu64 ": does not chain to the previous entry (history rewritten)", e->seq);
                break;
            case DEVLOG_WRONG_DEVICE:
                snprintf(res->reason, sizeof(res->reason), "entry of device %s in the log of %s", e->serial,
                         c.serial);
                break;
            default:
                snprintf(res->reason, sizeof(res->reason), "seq %" PRIu64 ": %s", e->seq, devlog_verdict_name(v));
            }
            r = MAMORI_ERR_AUTH;
            res->entries++;
            break;
        }
        res->entries++;
        res->ok++;
    }
    if (r == 0 && started && res->entries > 0) {
        /* the first entry must start the chain (seq 0, zero prev): the
         * verify_next above already required seq 0 and zero prev */
        res->verdict = DEVLOG_OK;
    }
    free(e);
    return r;
}

/* ---- terminal-side store ---- */

struct devlog_store {
    sqlite3 *db;
    struct audit *audit;
};

static const char store_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS devlog_device (serial TEXT PRIMARY KEY, pub BLOB NOT NULL,"
    " next_seq INTEGER NOT NULL, last_hash BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS devlog_entry (serial TEXT NOT NULL, seq INTEGER NOT NULL,"
    " time_ns INTEGER NOT NULL, event TEXT NOT NULL, details BLOB NOT NULL, raw BLOB NOT NULL,"
    " PRIMARY KEY (serial, seq));"
    "CREATE TABLE IF NOT EXISTS devlog_gap (serial TEXT NOT NULL, from_seq INTEGER NOT NULL,"
    " to_seq INTEGER NOT NULL, found_ns INTEGER NOT NULL);"
    /* Earlier log keys of a serial (a device re-enrolled with a new log key,
     * e.g. a swapped unit): the old chain's end and its entries, kept. */
    "CREATE TABLE IF NOT EXISTS devlog_retired (serial TEXT NOT NULL, epoch INTEGER NOT NULL,"
    " pub BLOB NOT NULL, next_seq INTEGER NOT NULL, last_hash BLOB NOT NULL, retired_ns INTEGER NOT NULL,"
    " PRIMARY KEY (serial, epoch));"
    "CREATE TABLE IF NOT EXISTS devlog_entry_retired (serial TEXT NOT NULL, epoch INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, time_ns INTEGER NOT NULL, event TEXT NOT NULL, details BLOB NOT NULL,"
    " raw BLOB NOT NULL, PRIMARY KEY (serial, epoch, seq));";

int devlog_store_open(const char *path, struct audit *audit, struct devlog_store **ret)
{
    struct devlog_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MAMORI_ERR_NOMEM;
    s->audit = audit;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
        sqlite3_exec(s->db, store_schema, NULL, NULL, NULL) != SQLITE_OK) {
        devlog_store_close(s);
        return MAMORI_ERR_DB;
    }
    *ret = s;
    return 0;
}

struct sqlite3 *devlog_store_db(struct devlog_store *s)
{
    return s->db;
}

void devlog_store_close(struct devlog_store *s)
{
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    free(s);
}

int devlog_store_enroll(struct devlog_store *s, const char *serial, const uint8_t pub[static 32])
{
    struct devlog_chain c;
    sqlite3_stmt *st;
    int r;
    if ((r = devlog_chain_init(&c, serial)) != 0)
        return r;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO devlog_device(serial, pub, next_seq, last_hash) VALUES(?, ?, 0, ?)"
                           " ON CONFLICT(serial) DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, pub, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, c.last_hash, DEVLOG_HASH_LEN, SQLITE_STATIC);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    if (r == 0 && sqlite3_changes(s->db) == 0)
        r = MAMORI_ERR_EXISTS;
    sqlite3_finalize(st);
    return r;
}

static int load_device(struct devlog_store *s, const char *serial, struct devlog_chain *c, uint8_t pub[32])
{
    sqlite3_stmt *st;
    int r = MAMORI_ERR_NOTFOUND;
    if (sqlite3_prepare_v2(s->db, "SELECT pub, next_seq, last_hash FROM devlog_device WHERE serial = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32 &&
        sqlite3_column_bytes(st, 2) == DEVLOG_HASH_LEN && devlog_chain_init(c, serial) == 0) {
        memcpy(pub, sqlite3_column_blob(st, 0), 32);
        c->next_seq = (uint64_t)sqlite3_column_int64(st, 1);
        memcpy(c->last_hash, sqlite3_column_blob(st, 2), DEVLOG_HASH_LEN);
        r = 0;
    }
    sqlite3_finalize(st);
    return r;
}

static int exec_bound(sqlite3 *db, const char *sql, const char *serial, int64_t epoch)
{
    sqlite3_stmt *st;
    int r;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, epoch);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    sqlite3_finalize(st);
    return r;
}

int devlog_store_rekey(struct devlog_store *s, const char *serial, const uint8_t pub[static 32],
                       uint64_t *ret_retired)
{
    struct devlog_chain c, fresh;
    uint8_t old[32];
    sqlite3_stmt *st = NULL;
    int64_t epoch = 0, moved;
    int r;
    if (s == NULL || serial == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = load_device(s, serial, &c, old)) != 0)
        return r;
    if (sodium_memcmp(old, pub, 32) == 0)
        return MAMORI_ERR_EXISTS;
    if ((r = devlog_chain_init(&fresh, serial)) != 0)
        return r;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    r = MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(s->db, "SELECT COALESCE(MAX(epoch) + 1, 1) FROM devlog_retired WHERE serial = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            epoch = sqlite3_column_int64(st, 0);
            r = 0;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (r == 0)
        r = exec_bound(s->db,
                       "INSERT INTO devlog_retired(serial, epoch, pub, next_seq, last_hash, retired_ns)"
                       " SELECT serial, ?2, pub, next_seq, last_hash, strftime('%s','now') * 1000000000"
                       " FROM devlog_device WHERE serial = ?1",
                       serial, epoch);
    if (r == 0)
        r = exec_bound(s->db,
                       "INSERT INTO devlog_entry_retired(serial, epoch, seq, time_ns, event, details, raw)"
                       " SELECT serial, ?2, seq, time_ns, event, details, raw FROM devlog_entry WHERE serial = ?1",
                       serial, epoch);
    moved = r == 0 ? sqlite3_changes(s->db) : 0;
    if (r == 0)
        r = exec_bound(s->db, "DELETE FROM devlog_entry WHERE serial = ?1", serial, 0);
    if (r == 0 && sqlite3_prepare_v2(s->db, "UPDATE devlog_device SET pub = ?, next_seq = 0, last_hash = ?"
                                            " WHERE serial = ?",
                                     -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_blob(st, 1, pub, 32, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, fresh.last_hash, DEVLOG_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, serial, -1, SQLITE_STATIC);
        r = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(s->db) == 1 ? 0 : MAMORI_ERR_DB;
        sqlite3_finalize(st);
    }
    if (r == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        r = MAMORI_ERR_DB;
    if (r != 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
    }
    if (s->audit != NULL) {
        struct audit_actor self = {.process = "devlog"};
        (void)audit_event(s->audit, &self, "devlog.rekeyed", F_STR("serial", serial), F_INT("epoch", epoch),
                          F_HEX("old_key", old, 8), F_HEX("new_key", pub, 8),
                          F_INT("old_next_seq", (int64_t)c.next_seq), F_INT("retired_entries", moved));
    }
    if (ret_retired != NULL)
        *ret_retired = (uint64_t)moved;
    return 0;
}

static void record_problem(struct devlog_store *s, const struct devlog_entry *e, const struct devlog_chain *c,
                           enum devlog_verdict v)
{
    static const char *const names[] = {
        [DEVLOG_MALFORMED] = "devlog.malformed",       [DEVLOG_WRONG_DEVICE] = "devlog.wrong_device",
        [DEVLOG_BAD_SIGNATURE] = "devlog.bad_signature", [DEVLOG_REPLAY] = "devlog.replay",
        [DEVLOG_GAP] = "devlog.gap",                   [DEVLOG_REWRITTEN] = "devlog.rewritten",
    };
    struct audit_actor self = {.process = "devlog"};
    if (s->audit == NULL || v == DEVLOG_OK)
        return;
    (void)audit_event(s->audit, &self, names[v], F_STR("serial", e ? e->serial : "?"),
                      F_INT("seq", e ? (int64_t)e->seq : -1), F_INT("expected_seq", c ? (int64_t)c->next_seq : -1),
                      F_STR("event", e ? e->event : "?"));
}

int devlog_store_ingest(struct devlog_store *s, const uint8_t *entry, size_t n, enum devlog_verdict *ret_verdict)
{
    struct devlog_entry *e = malloc(sizeof(*e));
    struct devlog_chain c;
    uint8_t pub[32];
    enum devlog_verdict v;
    sqlite3_stmt *st = NULL;
    int r;
    if (e == NULL)
        return MAMORI_ERR_NOMEM;
    /* framed (u32 length first) or bare */
    if (n >= 4 && memcmp(entry, DEVLOG_MAGIC, 4) != 0) {
        struct buf b;
        buf_view(&b, entry, n);
        r = devlog_read(&b, e);
        if (r == 0 && buf_end(&b) != 0)
            r = MAMORI_ERR_TRAILING;
    } else {
        r = devlog_decode(entry, n, e);
    }
    if (r != 0) {
        record_problem(s, NULL, NULL, DEVLOG_MALFORMED);
        *ret_verdict = DEVLOG_MALFORMED;
        r = 0;
        goto out;
    }
    if ((r = load_device(s, e->serial, &c, pub)) != 0) {
        if (r == MAMORI_ERR_NOTFOUND) {
            record_problem(s, e, NULL, DEVLOG_WRONG_DEVICE);
            *ret_verdict = DEVLOG_WRONG_DEVICE;
            r = 0;
        }
        goto out;
    }
    uint64_t expected = c.next_seq;
    if ((r = devlog_verify_next(&c, pub, e, &v)) != 0)
        goto out;
    *ret_verdict = v;
    if (v != DEVLOG_OK && v != DEVLOG_GAP) {
        record_problem(s, e, &c, v);
        goto out;
    }
    /* genuine: store it and move the position, in one transaction */
    struct buf raw;
    buf_init(&raw, DEVLOG_ENTRY_MAX);
    if ((r = devlog_encode(e, &raw)) != 0) {
        buf_free(&raw);
        goto out;
    }
    r = MAMORI_ERR_DB;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        buf_free(&raw);
        goto out;
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO devlog_entry(serial, seq, time_ns, event, details, raw) VALUES(?,?,?,?,?,?)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, e->serial, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)e->seq);
        sqlite3_bind_int64(st, 3, e->time_ns);
        sqlite3_bind_text(st, 4, e->event, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, e->details, (int)e->details_len, SQLITE_STATIC);
        sqlite3_bind_blob(st, 6, buf_ptr(&raw), (int)buf_remaining(&raw), SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            r = 0;
        sqlite3_finalize(st);
        st = NULL;
    }
    if (r == 0 && sqlite3_prepare_v2(s->db, "UPDATE devlog_device SET next_seq = ?, last_hash = ? WHERE serial = ?",
                                     -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)c.next_seq);
        sqlite3_bind_blob(st, 2, c.last_hash, DEVLOG_HASH_LEN, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, e->serial, -1, SQLITE_STATIC);
        r = sqlite3_step(st) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
        sqlite3_finalize(st);
        st = NULL;
    }
    if (r == 0 && v == DEVLOG_GAP && sqlite3_prepare_v2(s->db,
                                                       "INSERT INTO devlog_gap(serial, from_seq, to_seq, found_ns)"
                                                       " VALUES(?, ?, ?, strftime('%s','now') * 1000000000)",
                                                       -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, e->serial, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)expected);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)e->seq - 1);
        r = sqlite3_step(st) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
        sqlite3_finalize(st);
        st = NULL;
    }
    buf_free(&raw);
    if (r == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        r = MAMORI_ERR_DB;
    if (r != 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    if (v == DEVLOG_GAP) {
        struct devlog_chain before = c;
        before.next_seq = expected;
        record_problem(s, e, &before, v);
    }
out:
    free(e);
    return r;
}

int devlog_store_position(struct devlog_store *s, const char *serial, uint64_t *ret_next)
{
    struct devlog_chain c;
    uint8_t pub[32];
    int r = load_device(s, serial, &c, pub);
    if (r == 0)
        *ret_next = c.next_seq;
    return r;
}

int devlog_store_export(struct devlog_store *s, const char *serial, struct buf *out)
{
    sqlite3_stmt *st;
    int r = 0, step;
    if (sqlite3_prepare_v2(s->db, "SELECT raw FROM devlog_entry WHERE serial = ? ORDER BY seq", -1, &st, NULL) !=
        SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    while (r == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        if ((r = buf_put_u32(out, (uint32_t)n)) == 0)
            r = buf_put_bytes(out, sqlite3_column_blob(st, 0), (size_t)n);
    }
    if (r == 0 && step != SQLITE_DONE)
        r = MAMORI_ERR_DB;
    sqlite3_finalize(st);
    return r;
}
