/*
 * audit.c: audit API over an append-only SQLite table. Owns the table and
 * the redaction-before-storage rule; triggers make UPDATE and DELETE fail so
 * that the application itself cannot rewrite an entry. (This does not stop
 * an insider with the file: the tamper-evident log does that.)
 */
#include "audit/audit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common/buf.h"
#include "mamori/err.h"

struct audit {
    sqlite3 *db;
    sqlite3_stmt *ins;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS audit ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ns INTEGER NOT NULL,"
    " operator TEXT, role TEXT, process TEXT,"
    " event TEXT NOT NULL,"
    " details TEXT NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;";

int audit_open(const char *path, struct audit **ret)
{
    struct audit *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return MAMORI_ERR_NOMEM;
    if (sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(a->db, 5000) != SQLITE_OK ||
        sqlite3_exec(a->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(a->db,
                           "INSERT INTO audit(time_ns,operator,role,process,event,details)"
                           " VALUES(?,?,?,?,?,?)",
                           -1, &a->ins, NULL) != SQLITE_OK) {
        audit_close(a);
        return MAMORI_ERR_DB;
    }
    *ret = a;
    return 0;
}

void audit_close(struct audit *a)
{
    if (a == NULL)
        return;
    sqlite3_finalize(a->ins);
    sqlite3_close(a->db);
    free(a);
}

int audit_record(struct audit *a, const struct audit_actor *actor, const char *event,
                 const struct field *fields)
{
    struct buf details;
    struct timespec ts;
    int redact, r;
    if (a == NULL || event == NULL)
        return MAMORI_ERR_INVAL;
    buf_init(&details, 256 * 1024);
    redact = field_list_json(fields, &details);
    if (redact != 0 && redact != MAMORI_ERR_PERM) {
        buf_free(&details);
        return redact;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    sqlite3_reset(a->ins);
    sqlite3_bind_int64(a->ins, 1, (sqlite3_int64)ts.tv_sec * 1000000000 + ts.tv_nsec);
    sqlite3_bind_text(a->ins, 2, actor ? actor->operator_id : NULL, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(a->ins, 3, actor ? actor->role : NULL, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(a->ins, 4, actor ? actor->process : NULL, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(a->ins, 5, event, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(a->ins, 6, (const char *)buf_ptr(&details), (int)buf_remaining(&details),
                      SQLITE_TRANSIENT);
    r = sqlite3_step(a->ins) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    sqlite3_reset(a->ins);
    buf_free(&details);
    return r ? r : redact;
}

int audit_count(struct audit *a, const char *event, int64_t *ret_n)
{
    sqlite3_stmt *st;
    int r = MAMORI_ERR_DB;
    const char *sql = event ? "SELECT count(*) FROM audit WHERE event=?" : "SELECT count(*) FROM audit";
    if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    if (event)
        sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *ret_n = sqlite3_column_int64(st, 0);
        r = 0;
    }
    sqlite3_finalize(st);
    return r;
}
