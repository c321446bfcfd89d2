/*
 * operator.c: operator accounts in their own SQLite file (WAL): roles,
 * Argon2id password hashes, failure counting and lockout, unlock by a
 * manager, and the dual-control check.
 *
 * Owns: the operators table and the authentication verdicts. Must not own:
 * sessions/sign-on state (the register), what each role may do (the callers),
 * or password input (the CLI reads it into guarded memory).
 *
 * Order matters in authenticate: the hash is checked outside any transaction
 * (it takes ~100 ms), then the verdict is applied with one conditional UPDATE,
 * so two concurrent attempts cannot both reset or both skip the counter; the
 * audit record is written before success is returned (no unrecorded sign-on).
 */
#include "pos/operator.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <sqlite3.h>

#include "mamori/err.h"

struct operators {
    sqlite3 *db;
    struct audit *audit;
};

static const char *const role_names[OPERATOR_ROLE_COUNT] = {
    [OPERATOR_CHECKER] = "checker",
    [OPERATOR_CASHIER] = "cashier",
    [OPERATOR_MANAGER] = "manager",
    [OPERATOR_MAINTAINER] = "maintainer",
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS operators ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('checker','cashier','manager','maintainer')),"
    " pwhash TEXT NOT NULL,"
    " failures INTEGER NOT NULL DEFAULT 0,"
    " locked INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL);";

const char *operator_role_name(enum operator_role role)
{
    if ((int)role < 0 || (int)role >= OPERATOR_ROLE_COUNT)
        return "?";
    return role_names[role];
}

int operator_role_parse(const char *name, enum operator_role *ret)
{
    if (name == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    for (int i = 0; i < OPERATOR_ROLE_COUNT; i++)
        if (strcmp(name, role_names[i]) == 0) {
            *ret = (enum operator_role)i;
            return 0;
        }
    return MAMORI_ERR_INVAL;
}

int operator_id_check(const char *id)
{
    size_t n;
    if (id == NULL)
        return MAMORI_ERR_INVAL;
    for (n = 0; id[n] != '\0'; n++) {
        char c = id[n];
        if (n >= OPERATOR_ID_MAX ||
            !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return MAMORI_ERR_INVAL;
    }
    return n > 0 ? 0 : MAMORI_ERR_INVAL;
}

/* A display name: 1..OPERATOR_NAME_MAX bytes of well-formed UTF-8 (shortest
 * form, no surrogates) without control characters. */
static int name_check(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    if (s == NULL)
        return MAMORI_ERR_INVAL;
    while (p[n] != '\0') {
        unsigned c = p[n];
        uint32_t cp;
        size_t k;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return MAMORI_ERR_INVAL;
            n++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, cp = c & 0x07;
        else
            return MAMORI_ERR_INVAL;
        for (size_t i = 1; i <= k; i++) {
            if ((p[n + i] & 0xc0) != 0x80) /* also stops at the NUL */
                return MAMORI_ERR_INVAL;
            cp = (cp << 6) | (p[n + i] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return MAMORI_ERR_INVAL;
        n += k + 1;
        if (n > OPERATOR_NAME_MAX)
            return MAMORI_ERR_INVAL;
    }
    return n > 0 && n <= OPERATOR_NAME_MAX ? 0 : MAMORI_ERR_INVAL;
}

static int password_check(const char *pw, size_t *ret_len)
{
    if (pw == NULL)
        return MAMORI_ERR_INVAL;
    size_t n = strnlen(pw, OPERATOR_PASSWORD_MAX + 1);
    if (n < OPERATOR_PASSWORD_MIN || n > OPERATOR_PASSWORD_MAX)
        return MAMORI_ERR_INVAL;
    *ret_len = n;
    return 0;
}

static int hash_password(const char *pw, size_t n, char out[crypto_pwhash_STRBYTES])
{
    return crypto_pwhash_str_alg(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) == 0
               ? 0
               : MAMORI_ERR_NOMEM; /* libsodium fails here only when out of memory */
}

int operators_open(const char *db_path, struct audit *audit, struct operators **ret)
{
    if (db_path == NULL || audit == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if (sodium_init() < 0)
        return MAMORI_ERR_CRYPTO;
    struct operators *ops = calloc(1, sizeof(*ops));
    if (ops == NULL)
        return MAMORI_ERR_NOMEM;
    ops->audit = audit;
    if (sqlite3_open_v2(db_path, &ops->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(ops->db, 5000) != SQLITE_OK ||
        sqlite3_exec(ops->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        operators_free(ops);
        return MAMORI_ERR_DB;
    }
    *ret = ops;
    return 0;
}

void operators_free(struct operators *ops)
{
    if (ops == NULL)
        return;
    sqlite3_close(ops->db);
    free(ops);
}

/* Copy a row (id, name, role, failures, locked, created) into info. */
static int row_info(sqlite3_stmt *st, int col, struct operator_info *info)
{
    const char *id = (const char *)sqlite3_column_text(st, col);
    const char *name = (const char *)sqlite3_column_text(st, col + 1);
    const char *role = (const char *)sqlite3_column_text(st, col + 2);
    struct operator_info o;
    memset(&o, 0, sizeof(o));
    if (id == NULL || name == NULL || role == NULL || strlen(id) > OPERATOR_ID_MAX ||
        strlen(name) > OPERATOR_NAME_MAX || operator_role_parse(role, &o.role) != 0)
        return MAMORI_ERR_DB; /* a row our own writes could not have made */
    memcpy(o.id, id, strlen(id));
    memcpy(o.name, name, strlen(name));
    o.failures = sqlite3_column_int(st, col + 3);
    o.locked = sqlite3_column_int(st, col + 4) != 0;
    o.created = sqlite3_column_int64(st, col + 5);
    *info = o;
    return 0;
}

#define INFO_COLS "id, name, role, failures, locked, created"

int operators_add(struct operators *ops, const char *id, const char *name, enum operator_role role,
                  const char *password)
{
    char hash[crypto_pwhash_STRBYTES];
    sqlite3_stmt *st = NULL;
    size_t pwlen;
    int r;
    if (ops == NULL || operator_id_check(id) != 0 || name_check(name) != 0 ||
        (int)role < 0 || (int)role >= OPERATOR_ROLE_COUNT || password_check(password, &pwlen) != 0)
        return MAMORI_ERR_INVAL;
    if ((r = hash_password(password, pwlen, hash)))
        return r;
    if (sqlite3_prepare_v2(ops->db,
                           "INSERT INTO operators(id, name, role, pwhash, created)"
                           " VALUES(?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        r = MAMORI_ERR_DB;
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, role_names[role], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
    switch (sqlite3_step(st)) {
    case SQLITE_DONE:
        r = 0;
        break;
    case SQLITE_CONSTRAINT:
        r = MAMORI_ERR_EXISTS;
        break;
    default:
        r = MAMORI_ERR_DB;
    }
    if (r == 0) {
        struct audit_actor actor = {.operator_id = id, .role = role_names[role]};
        r = audit_event(ops->audit, &actor, "operator.added", F_STR("operator", id),
                        F_STR("role", role_names[role]));
    }
out:
    sqlite3_finalize(st);
    sodium_memzero(hash, sizeof(hash));
    return r;
}

int operators_get(struct operators *ops, const char *id, struct operator_info *ret)
{
    sqlite3_stmt *st;
    int r;
    if (ops == NULL || ret == NULL || operator_id_check(id) != 0)
        return MAMORI_ERR_INVAL;
    if (sqlite3_prepare_v2(ops->db, "SELECT " INFO_COLS " FROM operators WHERE id=?", -1, &st,
                           NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    switch (sqlite3_step(st)) {
    case SQLITE_ROW:
        r = row_info(st, 0, ret);
        break;
    case SQLITE_DONE:
        r = MAMORI_ERR_NOTFOUND;
        break;
    default:
        r = MAMORI_ERR_DB;
    }
    sqlite3_finalize(st);
    return r;
}

/* Spend one Argon2id verification on a fixed hash (of a dummy password,
 * made once with the same interactive limits), so an unknown or locked id
 * costs as much as a real check. Not a secret. */
static const char dummy_hash[crypto_pwhash_STRBYTES] =
    "$argon2id$v=19$m=65536,t=2,p=1$DdVaYYm/esWsi4ucro6PAw$hSrPYqAt5CWfUCUgko9Ha0jOdtXr3FWbxOHwLnKSrRc";

static void dummy_verify(const char *pw, size_t n)
{
    volatile int sink = crypto_pwhash_str_verify(dummy_hash, pw, n);
    (void)sink; /* the verdict is meaningless; only the time spent matters */
}

/* Apply one failure; returns the new failure count and lock flag. */
static int record_failure(struct operators *ops, const char *id, int *ret_failures, bool *ret_locked)
{
    sqlite3_stmt *st;
    int r = MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(ops->db,
                           "UPDATE operators SET failures = failures + 1,"
                           " locked = CASE WHEN failures + 1 >= ? THEN 1 ELSE locked END"
                           " WHERE id=? RETURNING failures, locked",
                           -1, &st, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_int(st, 1, OPERATOR_MAX_FAILURES);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *ret_failures = sqlite3_column_int(st, 0);
        *ret_locked = sqlite3_column_int(st, 1) != 0;
        r = sqlite3_step(st) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    }
    sqlite3_finalize(st);
    return r;
}

int operators_authenticate(struct operators *ops, const char *id, const char *password,
                           struct operator_info *ret)
{
    char hash[crypto_pwhash_STRBYTES];
    struct operator_info info;
    sqlite3_stmt *st = NULL;
    size_t pwlen;
    int r, failures = 0;
    bool locked = false;
    if (ops == NULL || ret == NULL || password == NULL)
        return MAMORI_ERR_INVAL;
    pwlen = strnlen(password, OPERATOR_PASSWORD_MAX + 1);
    if (operator_id_check(id) != 0) {
        /* Not a possible id: treated as unknown (same cost, same record). */
        dummy_verify(password, pwlen);
        struct audit_actor actor = {0};
        (void)audit_event(ops->audit, &actor, "operator.auth_failed",
                          F_MASKED("operator", id ? id : ""), F_STR("reason", "unknown"));
        return MAMORI_ERR_NOTFOUND;
    }
    if (sqlite3_prepare_v2(ops->db, "SELECT " INFO_COLS ", pwhash FROM operators WHERE id=?", -1,
                           &st, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_DONE) {
        sqlite3_finalize(st);
        dummy_verify(password, pwlen);
        /* An unknown id may be a mistyped password: only its tail is kept. */
        struct audit_actor actor = {0};
        (void)audit_event(ops->audit, &actor, "operator.auth_failed", F_MASKED("operator", id),
                          F_STR("reason", "unknown"));
        return MAMORI_ERR_NOTFOUND;
    }
    const char *h = r == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 6) : NULL;
    if (h == NULL || strlen(h) >= sizeof(hash) || (r = row_info(st, 0, &info)) != 0) {
        sqlite3_finalize(st);
        return MAMORI_ERR_DB;
    }
    memcpy(hash, h, strlen(h) + 1);
    sqlite3_finalize(st);
    st = NULL;

    struct audit_actor actor = {.operator_id = info.id, .role = operator_role_name(info.role)};
    if (info.locked) {
        /* Still spend the hash: a locked account answers in the same time. */
        dummy_verify(password, pwlen);
        (void)audit_event(ops->audit, &actor, "operator.auth_failed", F_STR("operator", info.id),
                          F_STR("reason", "locked"));
        r = MAMORI_ERR_LOCKED;
        goto out;
    }
    bool match;
    if (pwlen > OPERATOR_PASSWORD_MAX) {
        dummy_verify(password, pwlen); /* same time as a real check */
        match = false;
    } else {
        match = crypto_pwhash_str_verify(hash, password, pwlen) == 0;
    }
    if (match) {
        /* Reset the counter only if nobody locked the account meanwhile. */
        if (sqlite3_prepare_v2(ops->db,
                               "UPDATE operators SET failures = 0 WHERE id=? AND locked = 0", -1,
                               &st, NULL) != SQLITE_OK) {
            r = MAMORI_ERR_DB;
            goto out;
        }
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            r = MAMORI_ERR_DB;
            goto out;
        }
        if (sqlite3_changes(ops->db) != 1) {
            r = MAMORI_ERR_LOCKED;
            goto out;
        }
        if ((r = audit_event(ops->audit, &actor, "operator.auth_ok", F_STR("operator", info.id))))
            goto out; /* fail closed: no success that is not on record */
        info.failures = 0;
        *ret = info;
        r = 0;
        goto out;
    }
    if ((r = record_failure(ops, id, &failures, &locked)))
        goto out;
    (void)audit_event(ops->audit, &actor, "operator.auth_failed", F_STR("operator", info.id),
                      F_STR("reason", "password"), F_INT("failures", failures));
    r = MAMORI_ERR_AUTH;
    if (locked) {
        (void)audit_event(ops->audit, &actor, "operator.locked", F_STR("operator", info.id),
                          F_INT("failures", failures));
        r = MAMORI_ERR_LOCKED;
    }
out:
    sqlite3_finalize(st);
    sodium_memzero(hash, sizeof(hash));
    return r;
}

int operators_unlock(struct operators *ops, const char *id, const char *by_manager)
{
    struct operator_info target, mgr;
    sqlite3_stmt *st;
    int r;
    if (ops == NULL || operator_id_check(id) != 0 || operator_id_check(by_manager) != 0)
        return MAMORI_ERR_INVAL;
    if ((r = operators_get(ops, id, &target)))
        return r;
    r = operators_get(ops, by_manager, &mgr);
    if (r != 0 && r != MAMORI_ERR_NOTFOUND)
        return r;
    struct audit_actor actor = {.operator_id = by_manager,
                                .role = r == 0 ? operator_role_name(mgr.role) : NULL};
    const char *why = r != 0                        ? "unknown_manager"
                      : mgr.role != OPERATOR_MANAGER ? "not_manager"
                      : mgr.locked                   ? "manager_locked"
                      : strcmp(id, by_manager) == 0  ? "self_unlock"
                                                     : NULL;
    if (why != NULL) {
        (void)audit_event(ops->audit, &actor, "operator.unlock_refused", F_STR("operator", id),
                          F_STR("reason", why));
        return MAMORI_ERR_PERM;
    }
    if (sqlite3_prepare_v2(ops->db, "UPDATE operators SET locked = 0, failures = 0 WHERE id=?", -1,
                           &st, NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    sqlite3_finalize(st);
    if (r == 0)
        r = audit_event(ops->audit, &actor, "operator.unlocked", F_STR("operator", id),
                        F_INT("was_locked", target.locked));
    return r;
}

int operators_set_password(struct operators *ops, const char *id, const char *password)
{
    char hash[crypto_pwhash_STRBYTES];
    sqlite3_stmt *st = NULL;
    size_t pwlen;
    int r;
    if (ops == NULL || operator_id_check(id) != 0 || password_check(password, &pwlen) != 0)
        return MAMORI_ERR_INVAL;
    if ((r = hash_password(password, pwlen, hash)))
        return r;
    if (sqlite3_prepare_v2(ops->db, "UPDATE operators SET pwhash = ?, failures = 0 WHERE id=?", -1,
                           &st, NULL) != SQLITE_OK) {
        r = MAMORI_ERR_DB;
        goto out;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        r = MAMORI_ERR_DB;
    else if (sqlite3_changes(ops->db) != 1)
        r = MAMORI_ERR_NOTFOUND;
    else {
        struct audit_actor actor = {.operator_id = id};
        r = audit_event(ops->audit, &actor, "operator.password_set", F_STR("operator", id));
    }
out:
    sqlite3_finalize(st);
    sodium_memzero(hash, sizeof(hash));
    return r;
}

int operators_list(struct operators *ops, struct operator_info **ret, size_t *ret_n)
{
    sqlite3_stmt *st;
    struct operator_info *v = NULL;
    size_t n = 0, cap = 0;
    int r = 0, s;
    if (ops == NULL || ret == NULL || ret_n == NULL)
        return MAMORI_ERR_INVAL;
    if (sqlite3_prepare_v2(ops->db, "SELECT " INFO_COLS " FROM operators ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        return MAMORI_ERR_DB;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == OPERATORS_MAX) {
            r = MAMORI_ERR_LIMIT;
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            if (ncap > OPERATORS_MAX)
                ncap = OPERATORS_MAX;
            struct operator_info *nv = realloc(v, ncap * sizeof(*v));
            if (nv == NULL) {
                r = MAMORI_ERR_NOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        if ((r = row_info(st, 0, &v[n])))
            break;
        n++;
    }
    if (r == 0 && s != SQLITE_DONE)
        r = MAMORI_ERR_DB;
    sqlite3_finalize(st);
    if (r != 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

/* Record a dual-control refusal. An id is written in clear only when it
 * names an existing operator: an unknown one may be a mistyped password. */
static void dual_refused(struct operators *ops, const char *id1, enum operator_role role1,
                         const char *id2, enum operator_role role2, const char *reason)
{
    struct operator_info o;
    bool k1 = operators_get(ops, id1, &o) == 0, k2 = operators_get(ops, id2, &o) == 0;
    struct audit_actor actor = {.operator_id = k1 ? id1 : NULL};
    (void)audit_event(ops->audit, &actor, "dual_control.refused", F_STR("reason", reason),
                      k1 ? F_STR("first", id1) : F_MASKED("first", id1),
                      F_STR("first_role", operator_role_name(role1)),
                      k2 ? F_STR("second", id2) : F_MASKED("second", id2),
                      F_STR("second_role", operator_role_name(role2)));
}

int operators_dual_authorize(struct operators *ops, const char *id1, const char *pw1,
                             enum operator_role role1, const char *id2, const char *pw2,
                             enum operator_role role2, struct operator_info *ret1,
                             struct operator_info *ret2)
{
    struct operator_info a, b;
    int r;
    if (ops == NULL || id1 == NULL || id2 == NULL || pw1 == NULL || pw2 == NULL || ret1 == NULL ||
        ret2 == NULL || (int)role1 < 0 || (int)role1 >= OPERATOR_ROLE_COUNT || (int)role2 < 0 ||
        (int)role2 >= OPERATOR_ROLE_COUNT)
        return MAMORI_ERR_INVAL;
    /* One person cannot be both halves: refuse before any password is tried. */
    if (strcmp(id1, id2) == 0) {
        dual_refused(ops, id1, role1, id2, role2, "same_operator");
        return MAMORI_ERR_PERM;
    }
    if ((r = operators_authenticate(ops, id1, pw1, &a)) ||
        (r = operators_authenticate(ops, id2, pw2, &b))) {
        dual_refused(ops, id1, role1, id2, role2, "auth_failed");
        return r;
    }
    if (a.role != role1 || b.role != role2) {
        dual_refused(ops, id1, role1, id2, role2, "wrong_role");
        return MAMORI_ERR_PERM;
    }
    struct audit_actor actor = {.operator_id = a.id, .role = operator_role_name(a.role)};
    if ((r = audit_event(ops->audit, &actor, "dual_control.ok", F_STR("first", a.id),
                         F_STR("first_role", operator_role_name(a.role)), F_STR("second", b.id),
                         F_STR("second_role", operator_role_name(b.role)))))
        return r;
    *ret1 = a;
    *ret2 = b;
    return 0;
}
