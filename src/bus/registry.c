/*
 * registry.c: the SQLite device registry and the admission decision. Owns the
 * devices table and the order of checks (certificate first, so an unsigned
 * claim never reaches a lookup); must not own operator authentication (the
 * caller proves dual control) or connection state.
 */
#include "bus/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "mamori/err.h"
#include "pos/operator.h"

struct registry {
    sqlite3 *db;
    struct audit *audit;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS devices ("
    " serial TEXT PRIMARY KEY, model TEXT NOT NULL, kind TEXT NOT NULL,"
    " bus_pub BLOB NOT NULL, log_pub BLOB NOT NULL, fw BLOB NOT NULL,"
    " enrolled_at INTEGER NOT NULL, maintainer TEXT NOT NULL, manager TEXT NOT NULL,"
    " removed INTEGER NOT NULL DEFAULT 0, removed_at INTEGER);"
    "CREATE INDEX IF NOT EXISTS devices_bus_pub ON devices(bus_pub);";

int registry_open(const char *path, struct audit *audit, struct registry **ret)
{
    struct registry *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return MAMORI_ERR_NOMEM;
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(r->db, 5000) != SQLITE_OK ||
        sqlite3_exec(r->db, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(r->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        registry_close(r);
        return MAMORI_ERR_DB;
    }
    r->audit = audit;
    *ret = r;
    return 0;
}

void registry_close(struct registry *r)
{
    if (r == NULL)
        return;
    sqlite3_close(r->db);
    free(r);
}

const char *registry_verdict_str(enum registry_verdict v)
{
    switch (v) {
    case REG_ACCEPT:
        return "accept";
    case REG_UNKNOWN:
        return "unknown_key";
    case REG_KEY_MISMATCH:
        return "key_mismatch";
    case REG_FW_CHANGED:
        return "firmware_changed";
    case REG_MODEL_CHANGED:
        return "model_changed";
    case REG_BAD_CERT:
        return "bad_certificate";
    case REG_REMOVED:
        return "removed";
    }
    return "?";
}

static void copy_text(char *out, size_t cap, const unsigned char *s)
{
    snprintf(out, cap, "%s", s ? (const char *)s : "");
}

static void copy_blob(uint8_t *out, size_t n, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_bytes(st, col) == (int)n)
        memcpy(out, sqlite3_column_blob(st, col), n);
    else
        memset(out, 0, n);
}

#define COLS "serial, model, kind, bus_pub, log_pub, fw, enrolled_at, maintainer, manager, removed"

static void row(sqlite3_stmt *st, struct registry_device *d)
{
    memset(d, 0, sizeof(*d));
    copy_text(d->serial, sizeof(d->serial), sqlite3_column_text(st, 0));
    copy_text(d->model, sizeof(d->model), sqlite3_column_text(st, 1));
    copy_text(d->kind, sizeof(d->kind), sqlite3_column_text(st, 2));
    copy_blob(d->bus_pub, CERT_KEY_LEN, st, 3);
    copy_blob(d->log_pub, CERT_KEY_LEN, st, 4);
    copy_blob(d->fw, CERT_FW_LEN, st, 5);
    d->enrolled_at = sqlite3_column_int64(st, 6);
    copy_text(d->maintainer, sizeof(d->maintainer), sqlite3_column_text(st, 7));
    copy_text(d->manager, sizeof(d->manager), sqlite3_column_text(st, 8));
    d->removed = sqlite3_column_int(st, 9) != 0;
}

int registry_get(struct registry *r, const char *serial, struct registry_device *ret)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(r->db, "SELECT " COLS " FROM devices WHERE serial = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row(st, ret);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_DB;
}

int registry_find_key(struct registry *r, const uint8_t pub[static CERT_KEY_LEN],
                      struct registry_device *ret)
{
    sqlite3_stmt *st;
    int rc;
    /* The active device first, if a removed one shared the key. */
    if (sqlite3_prepare_v2(
            r->db, "SELECT " COLS " FROM devices WHERE bus_pub = ? ORDER BY removed LIMIT 1", -1,
            &st, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_blob(st, 1, pub, CERT_KEY_LEN, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row(st, ret);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_DB;
}

int registry_list(struct registry *r, struct registry_device *out, size_t cap, size_t *ret_n)
{
    sqlite3_stmt *st;
    size_t n = 0;
    int rc;
    if (sqlite3_prepare_v2(r->db, "SELECT " COLS " FROM devices ORDER BY serial", -1, &st, NULL) !=
        SQLITE_OK)
        return MAMORI_ERR_DB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < cap)
        row(st, &out[n++]);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return MAMORI_ERR_DB;
    *ret_n = n;
    return 0;
}

enum registry_verdict registry_check(struct registry *r, const uint8_t *cert, size_t cert_len,
                                     const uint8_t static_pub[static CERT_KEY_LEN],
                                     const uint8_t ca_pub[static CERT_KEY_LEN],
                                     struct cert *ret_cert)
{
    struct cert c;
    struct registry_device d;
    int rc;
    /* 1. The certificate must parse, be the CA's, and be for the key the
     *    device just proved it holds; only then is any claim in it used. */
    if (cert_decode(cert, cert_len, &c) != 0)
        return REG_BAD_CERT;
    if (ret_cert)
        *ret_cert = c;
    if (cert_verify(&c, ca_pub) != 0)
        return REG_BAD_CERT;
    if (memcmp(c.bus_pub, static_pub, CERT_KEY_LEN) != 0)
        return REG_BAD_CERT;
    /* 2. Pinned identity. */
    rc = registry_get(r, c.serial, &d);
    if (rc == 0) {
        if (memcmp(d.bus_pub, c.bus_pub, CERT_KEY_LEN) != 0 ||
            memcmp(d.log_pub, c.log_pub, CERT_KEY_LEN) != 0)
            return d.removed ? REG_REMOVED : REG_KEY_MISMATCH;
        if (d.removed)
            return REG_REMOVED;
        if (strcmp(d.model, c.model) != 0)
            return REG_MODEL_CHANGED;
        if (memcmp(d.fw, c.fw, CERT_FW_LEN) != 0)
            return REG_FW_CHANGED;
        return REG_ACCEPT;
    }
    if (rc != MAMORI_ERR_NOTFOUND)
        return REG_UNKNOWN; /* fail closed on a database error */
    /* 3. An enrolled key under a new serial is a clone as well. */
    if (registry_find_key(r, static_pub, &d) == 0)
        return d.removed ? REG_REMOVED : REG_KEY_MISMATCH;
    return REG_UNKNOWN;
}

static bool op_ok(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) <= REGISTRY_OPERATOR_MAX;
}

int registry_enrol(struct registry *r, struct operators *ops, const uint8_t *cert, size_t cert_len,
                   const uint8_t ca_pub[static CERT_KEY_LEN], const char *kind,
                   const char *maintainer, const char *maintainer_pw, const char *manager,
                   const char *manager_pw)
{
    struct cert c;
    struct registry_device d;
    struct operator_info who1, who2;
    sqlite3_stmt *st = NULL;
    int rc, res;
    struct audit_actor actor = {
        .operator_id = maintainer, .role = "maintainer", .process = "registry"};
    if (kind == NULL || kind[0] == '\0' || strlen(kind) > REGISTRY_KIND_MAX)
        return MAMORI_ERR_INVAL;
    if ((res = cert_decode(cert, cert_len, &c)) != 0)
        return res;
    /* Dual control before anything is written (fail closed). */
    if (ops == NULL || !op_ok(maintainer) || !op_ok(manager) || maintainer_pw == NULL ||
        manager_pw == NULL) {
        res = MAMORI_ERR_PERM;
    } else {
        res = operators_dual_authorize(ops, maintainer, maintainer_pw, OPERATOR_MAINTAINER, manager,
                                       manager_pw, OPERATOR_MANAGER, &who1, &who2);
    }
    if (res != 0) {
        if (r->audit)
            (void)audit_event(r->audit, &actor, "device.enrol_refused", F_STR("serial", c.serial),
                              F_STR("manager", manager ? manager : ""),
                              F_STR("reason", "dual control not satisfied"));
        return res;
    }
    if (cert_verify(&c, ca_pub) != 0) {
        if (r->audit)
            (void)audit_event(r->audit, &actor, "device.enrol_refused", F_STR("serial", c.serial),
                              F_STR("reason", "certificate not signed by the manufacturer CA"));
        return MAMORI_ERR_AUTH;
    }
    if (registry_get(r, c.serial, &d) == 0 && !d.removed)
        return MAMORI_ERR_EXISTS;
    if (registry_find_key(r, c.bus_pub, &d) == 0 && !d.removed)
        return MAMORI_ERR_EXISTS;
    rc = sqlite3_prepare_v2(
        r->db,
        "INSERT OR REPLACE INTO devices (serial, model, kind, bus_pub, log_pub, fw, enrolled_at,"
        " maintainer, manager, removed) VALUES (?,?,?,?,?,?,?,?,?,0)",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(st, 1, c.serial, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, c.model, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 4, c.bus_pub, CERT_KEY_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 5, c.log_pub, CERT_KEY_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 6, c.fw, CERT_FW_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
    sqlite3_bind_text(st, 8, maintainer, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, manager, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return MAMORI_ERR_DB;
    if (r->audit && (res = audit_event(
                         r->audit, &actor, "device.enrol", F_STR("serial", c.serial),
                         F_STR("model", c.model), F_STR("kind", kind),
                         F_HEX("bus_pub", c.bus_pub, CERT_KEY_LEN), F_HEX("fw", c.fw, CERT_FW_LEN),
                         F_STR("maintainer", maintainer), F_STR("manager", manager))) != 0)
        return res;
    return 0;
}

int registry_remove(struct registry *r, const char *serial, const struct audit_actor *actor)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(r->db,
                           "UPDATE devices SET removed = 1, removed_at = ? WHERE serial = ? AND "
                           "removed = 0",
                           -1, &st, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
    sqlite3_bind_text(st, 2, serial, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return MAMORI_ERR_DB;
    if (sqlite3_changes(r->db) == 0)
        return MAMORI_ERR_NOTFOUND;
    if (r->audit)
        return audit_event(r->audit, actor, "device.remove", F_STR("serial", serial));
    return 0;
}
