/*
 * operator: the people who use a terminal, their roles and credentials, and
 * dual control (PRE-1: operators cannot be trusted alone; LC-7/POL-8(3):
 * key ceremonies and enrolment need two).
 *
 *     struct operators *ops;
 *     operators_open("operators.db", audit, &ops);
 *     operators_add(ops, "sato", "佐藤 花子", OPERATOR_MANAGER, pw);
 *     struct operator_info who;
 *     r = operators_authenticate(ops, "sato", pw, &who);
 *
 * Passwords are stored only as Argon2id hashes (crypto_pwhash_str, interactive
 * limits). Every authentication outcome, lockout, unlock and dual-control
 * refusal is an audit event through the audit handle given to
 * operators_open(). Passwords are never copied, logged or stored in clear;
 * callers keep them in guarded memory and wipe them after the call.
 */
#ifndef MAMORI_OPERATOR_H
#define MAMORI_OPERATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"

enum operator_role {
    OPERATOR_CHECKER = 0, /* registers items */
    OPERATOR_CASHIER,     /* takes payment, handles cash */
    OPERATOR_MANAGER,     /* approvals, voids, unlocks, day close */
    OPERATOR_MAINTAINER,  /* devices, keys, software */
};
#define OPERATOR_ROLE_COUNT 4

#define OPERATOR_ID_MAX 32        /* id: [A-Za-z0-9_-]{1,32} */
#define OPERATOR_NAME_MAX 128     /* display name, UTF-8 bytes (Japanese fine) */
#define OPERATOR_PASSWORD_MIN 6   /* characters (bytes) */
#define OPERATOR_PASSWORD_MAX 256 /* bytes; longer input is refused, not cut */
#define OPERATOR_MAX_FAILURES 5   /* consecutive failures that lock an account */
#define OPERATORS_MAX 10000       /* operators one database may hold (list limit) */

struct operators;

struct operator_info {
    char id[OPERATOR_ID_MAX + 1];
    char name[OPERATOR_NAME_MAX + 1];
    enum operator_role role;
    int failures;    /* consecutive failed authentications */
    bool locked;
    int64_t created; /* unix seconds */
};

/* "checker", "cashier", "manager", "maintainer"; "?" for anything else. */
const char *operator_role_name(enum operator_role role);
/* Parse a role name; MAMORI_ERR_INVAL when unknown. */
int operator_role_parse(const char *name, enum operator_role *ret);
/* 0 if id matches [A-Za-z0-9_-]{1,32}, else MAMORI_ERR_INVAL. */
int operator_id_check(const char *id);

/* Open (creating) the operator database at db_path (SQLite, WAL). audit is
 * borrowed, required, and must outlive ops. */
int operators_open(const char *db_path, struct audit *audit, struct operators **ret);
/* Close; NULL-safe. */
void operators_free(struct operators *ops);

/* Add an operator. MAMORI_ERR_INVAL for a bad id/name/role or a password
 * shorter than OPERATOR_PASSWORD_MIN (or longer than _MAX); MAMORI_ERR_EXISTS
 * when the id is taken. Audited ("operator.added"). */
int operators_add(struct operators *ops, const char *id, const char *name, enum operator_role role,
                  const char *password);

/*
 * Check a password. Returns
 *   0                    success; failures reset; ret filled ("operator.auth_ok")
 *   MAMORI_ERR_AUTH      wrong password; failure counted ("operator.auth_failed")
 *   MAMORI_ERR_LOCKED    the account is locked, or this was failure number
 *                        OPERATOR_MAX_FAILURES and locked it ("operator.locked");
 *                        a locked account stays locked even for the right password
 *   MAMORI_ERR_NOTFOUND  no such operator; costs the same hash as a real check
 *                        so the answer time does not reveal which ids exist
 *                        ("operator.auth_failed", id masked)
 *   MAMORI_ERR_DB        storage failed (fail closed: no success without a record)
 */
__attribute__((warn_unused_result)) int operators_authenticate(struct operators *ops, const char *id,
                                                               const char *password,
                                                               struct operator_info *ret);

/* Unlock a locked account. by_manager is the id of a manager the caller has
 * just authenticated; it must exist, hold OPERATOR_MANAGER, not be locked and
 * not be id itself (MAMORI_ERR_PERM otherwise, audited). ("operator.unlocked") */
int operators_unlock(struct operators *ops, const char *id, const char *by_manager);

/* Replace a password (policy as in operators_add); failures reset, lock kept.
 * ("operator.password_set") */
int operators_set_password(struct operators *ops, const char *id, const char *password);

/* One operator by id, without authenticating (no password involved). */
int operators_get(struct operators *ops, const char *id, struct operator_info *ret);

/* All operators ordered by id: *ret is a malloc'd array the caller free()s. */
int operators_list(struct operators *ops, struct operator_info **ret, size_t *ret_n);

/*
 * Dual control: two distinct operators, each authenticating with their own
 * password and each holding exactly the named role (no stand-ins: a manager
 * does not satisfy OPERATOR_MAINTAINER). Returns 0 and fills ret1/ret2
 * ("dual_control.ok"), or refuses with an audited "dual_control.refused"
 * carrying a reason:
 *   MAMORI_ERR_PERM      same id twice ("same_operator"; checked before any
 *                        password), or a role mismatch ("wrong_role")
 *   AUTH/LOCKED/NOTFOUND the authentication error of the first operator that
 *                        failed ("auth_failed"); the second is not tried then
 */
__attribute__((warn_unused_result)) int operators_dual_authorize(
    struct operators *ops, const char *id1, const char *pw1, enum operator_role role1,
    const char *id2, const char *pw2, enum operator_role role2, struct operator_info *ret1,
    struct operator_info *ret2);

#endif
