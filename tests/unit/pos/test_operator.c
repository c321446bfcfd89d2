/*
 * Unit tests for src/pos/operator.c: credentials, lockout and dual control
 * as an attacker (or a careless colleague) would try them. PRE-1: operators
 * cannot be trusted alone; POL-8(3)/LC-7: key work needs two people.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "audit/audit.h"
#include "mamori/err.h"
#include "pos/operator.h"

struct fix {
    char *dir;
    char db[4200], auditdb[4200];
    struct audit *audit;
    struct operators *ops;
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));
    f->dir = testutil_tmpdir();
    snprintf(f->db, sizeof(f->db), "%s/operators.db", f->dir);
    snprintf(f->auditdb, sizeof(f->auditdb), "%s/audit.db", f->dir);
    assert_int_equal(audit_open(f->auditdb, &f->audit), 0);
    assert_int_equal(operators_open(f->db, f->audit, &f->ops), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    operators_free(f->ops);
    audit_close(f->audit);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static int64_t count(struct fix *f, const char *ev)
{
    int64_t n = -1;
    assert_int_equal(audit_count(f->audit, ev, &n), 0);
    return n;
}

/* True if the file at path contains needle anywhere. */
static bool one_file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return false;
    static char data[4 << 20];
    size_t n = fread(data, 1, sizeof(data), fp);
    fclose(fp);
    return memmem(data, n, needle, strlen(needle)) != NULL;
}

/* The same for an SQLite database and its WAL (where fresh rows are). */
static bool db_contains(const char *path, const char *needle)
{
    char wal[4300];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    return one_file_contains(path, needle) || one_file_contains(wal, needle);
}

static void test_ops_argon2id_hash_stored(void **state)
{
    struct fix *f = *state;
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(operators_add(f->ops, "sato", "佐藤 花子", OPERATOR_MANAGER, "hanako-secret"), 0);
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT pwhash, name FROM operators WHERE id='sato'", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *h = (const char *)sqlite3_column_text(st, 0);
    assert_non_null(h);
    assert_true(strncmp(h, "$argon2id$", 10) == 0);
    assert_null(strstr(h, "hanako-secret"));
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "佐藤 花子");
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* The clear password is nowhere in the operator or audit files. */
    assert_true(db_contains(f->db, "$argon2id$")); /* the search can succeed */
    assert_false(db_contains(f->db, "hanako-secret"));
    assert_false(db_contains(f->auditdb, "hanako-secret"));
    struct operator_info who;
    assert_int_equal(operators_authenticate(f->ops, "sato", "hanako-secret", &who), 0);
    assert_string_equal(who.id, "sato");
    assert_string_equal(who.name, "佐藤 花子");
    assert_int_equal(who.role, OPERATOR_MANAGER);
    assert_int_equal(count(f, "operator.auth_ok"), 1);
    assert_int_equal(count(f, "operator.added"), 1);
}

static void test_ops_wrong_password_refused_and_counted(void **state)
{
    struct fix *f = *state;
    struct operator_info who, info;
    memset(&who, 0x5a, sizeof(who));
    assert_int_equal(operators_add(f->ops, "c01", "Checker", OPERATOR_CHECKER, "right-one"), 0);
    assert_int_equal(operators_authenticate(f->ops, "c01", "wrong-one", &who), MAMORI_ERR_AUTH);
    assert_int_equal(who.role, 0x5a5a5a5a); /* untouched on failure */
    assert_int_equal(operators_authenticate(f->ops, "c01", "right-on", &who), MAMORI_ERR_AUTH);
    assert_int_equal(operators_authenticate(f->ops, "c01", "", &who), MAMORI_ERR_AUTH);
    char longpw[OPERATOR_PASSWORD_MAX + 50];
    memset(longpw, 'r', sizeof(longpw) - 1);
    longpw[sizeof(longpw) - 1] = '\0';
    assert_int_equal(operators_authenticate(f->ops, "c01", longpw, &who), MAMORI_ERR_AUTH);
    assert_int_equal(operators_get(f->ops, "c01", &info), 0);
    assert_int_equal(info.failures, 4);
    assert_false(info.locked);
    assert_int_equal(count(f, "operator.auth_failed"), 4);
    /* The right password resets the consecutive-failure counter. */
    assert_int_equal(operators_authenticate(f->ops, "c01", "right-one", &who), 0);
    assert_int_equal(operators_get(f->ops, "c01", &info), 0);
    assert_int_equal(info.failures, 0);
    assert_int_equal(count(f, "operator.auth_ok"), 1);
}

static void test_ops_lockout_after_5_failures(void **state)
{
    struct fix *f = *state;
    struct operator_info who, info;
    assert_int_equal(operators_add(f->ops, "k01", "Cashier", OPERATOR_CASHIER, "cash-pass"), 0);
    assert_int_equal(operators_add(f->ops, "m01", "Manager", OPERATOR_MANAGER, "mgr-pass"), 0);
    for (int i = 0; i < OPERATOR_MAX_FAILURES - 1; i++)
        assert_int_equal(operators_authenticate(f->ops, "k01", "guess", &who), MAMORI_ERR_AUTH);
    assert_int_equal(count(f, "operator.locked"), 0);
    /* The fifth consecutive failure locks the account, and that is recorded. */
    assert_int_equal(operators_authenticate(f->ops, "k01", "guess", &who), MAMORI_ERR_LOCKED);
    assert_int_equal(count(f, "operator.locked"), 1);
    assert_int_equal(operators_get(f->ops, "k01", &info), 0);
    assert_true(info.locked);
    /* Locked means locked: the right password does not get in. */
    assert_int_equal(operators_authenticate(f->ops, "k01", "cash-pass", &who), MAMORI_ERR_LOCKED);
    assert_int_equal(count(f, "operator.auth_ok"), 0);
    /* Only a manager other than the locked operator may unlock. */
    assert_int_equal(operators_unlock(f->ops, "k01", "k01"), MAMORI_ERR_PERM);
    assert_int_equal(operators_unlock(f->ops, "k01", "nobody"), MAMORI_ERR_PERM);
    assert_int_equal(count(f, "operator.unlock_refused"), 2);
    assert_int_equal(operators_unlock(f->ops, "k01", "m01"), 0);
    assert_int_equal(count(f, "operator.unlocked"), 1);
    assert_int_equal(operators_authenticate(f->ops, "k01", "cash-pass", &who), 0);
    assert_string_equal(who.id, "k01");
}

static void test_ops_unknown_id_refused_and_audited(void **state)
{
    struct fix *f = *state;
    struct operator_info who;
    assert_int_equal(operators_authenticate(f->ops, "ghost", "whatever", &who), MAMORI_ERR_NOTFOUND);
    /* A malformed id (e.g. a password typed into the id field) is treated the
     * same, and only its masked tail reaches the audit log. */
    assert_int_equal(operators_authenticate(f->ops, "my secret pw!", "x", &who), MAMORI_ERR_NOTFOUND);
    assert_int_equal(count(f, "operator.auth_failed"), 2);
    assert_true(db_contains(f->auditdb, "operator.auth_failed")); /* the search can succeed */
    assert_false(db_contains(f->auditdb, "my secret"));
    assert_false(db_contains(f->auditdb, "ghost"));
}

static void test_ops_policy_refusals(void **state)
{
    struct fix *f = *state;
    enum operator_role r;
    assert_int_equal(operators_add(f->ops, "short", "S", OPERATOR_CHECKER, "12345"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_add(f->ops, "", "S", OPERATOR_CHECKER, "123456"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_add(f->ops, "a b", "S", OPERATOR_CHECKER, "123456"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_add(f->ops, "../x", "S", OPERATOR_CHECKER, "123456"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_add(f->ops, "abcdefghijklmnopqrstuvwxyz0123456", "S", OPERATOR_CHECKER, "123456"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_add(f->ops, "ok", "bad\xff", OPERATOR_CHECKER, "123456"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_add(f->ops, "ok", "\xe3\x81", OPERATOR_CHECKER, "123456"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_add(f->ops, "ok", "line\nbreak", OPERATOR_CHECKER, "123456"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_add(f->ops, "ok", "", OPERATOR_CHECKER, "123456"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_add(f->ops, "ok", "S", (enum operator_role)7, "123456"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_add(f->ops, "abcdefghijklmnopqrstuvwxyz012345", "山田 太郎", OPERATOR_CHECKER, "123456"), 0);
    assert_int_equal(operators_add(f->ops, "abcdefghijklmnopqrstuvwxyz012345", "other", OPERATOR_CHECKER, "654321"), MAMORI_ERR_EXISTS);
    assert_int_equal(operator_role_parse("maintainer", &r), 0);
    assert_int_equal(r, OPERATOR_MAINTAINER);
    assert_int_equal(operator_role_parse("root", &r), MAMORI_ERR_INVAL);
    assert_string_equal(operator_role_name(OPERATOR_CASHIER), "cashier");
    assert_string_equal(operator_role_name((enum operator_role)9), "?");
    operators_free(NULL);
}

static void test_ops_set_password_and_list(void **state)
{
    struct fix *f = *state;
    struct operator_info who, *list;
    size_t n;
    assert_int_equal(operators_add(f->ops, "b02", "B", OPERATOR_CASHIER, "first-pw"), 0);
    assert_int_equal(operators_add(f->ops, "a01", "A", OPERATOR_MAINTAINER, "maint-pw"), 0);
    assert_int_equal(operators_set_password(f->ops, "b02", "abc"), MAMORI_ERR_INVAL);
    assert_int_equal(operators_set_password(f->ops, "zzz", "second-pw"), MAMORI_ERR_NOTFOUND);
    assert_int_equal(operators_set_password(f->ops, "b02", "second-pw"), 0);
    assert_int_equal(operators_authenticate(f->ops, "b02", "first-pw", &who), MAMORI_ERR_AUTH);
    assert_int_equal(operators_authenticate(f->ops, "b02", "second-pw", &who), 0);
    assert_int_equal(operators_list(f->ops, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, "a01");
    assert_int_equal(list[0].role, OPERATOR_MAINTAINER);
    assert_string_equal(list[1].id, "b02");
    free(list);
}

static void test_pre1_dual_control_same_person_refused(void **state)
{
    struct fix *f = *state;
    struct operator_info a, b;
    assert_int_equal(operators_add(f->ops, "m01", "Manager", OPERATOR_MANAGER, "mgr-pass"), 0);
    /* The same credentials twice are one person, whatever the passwords. */
    assert_int_equal(operators_dual_authorize(f->ops, "m01", "mgr-pass", OPERATOR_MANAGER, "m01",
                                              "mgr-pass", OPERATOR_MANAGER, &a, &b),
                     MAMORI_ERR_PERM);
    assert_int_equal(count(f, "dual_control.refused"), 1);
    assert_int_equal(count(f, "dual_control.ok"), 0);
}

static void test_pre1_dual_control_wrong_role_refused(void **state)
{
    struct fix *f = *state;
    struct operator_info a, b;
    assert_int_equal(operators_add(f->ops, "m01", "Manager", OPERATOR_MANAGER, "mgr-pass"), 0);
    assert_int_equal(operators_add(f->ops, "m02", "Manager 2", OPERATOR_MANAGER, "mgr2-pass"), 0);
    assert_int_equal(operators_add(f->ops, "t01", "保守 一郎", OPERATOR_MAINTAINER, "mnt-pass"), 0);
    /* Two managers cannot stand in for maintainer + manager. */
    assert_int_equal(operators_dual_authorize(f->ops, "m02", "mgr2-pass", OPERATOR_MAINTAINER, "m01",
                                              "mgr-pass", OPERATOR_MANAGER, &a, &b),
                     MAMORI_ERR_PERM);
    /* Roles swapped: refused too (exact roles). */
    assert_int_equal(operators_dual_authorize(f->ops, "m01", "mgr-pass", OPERATOR_MAINTAINER, "t01",
                                              "mnt-pass", OPERATOR_MANAGER, &a, &b),
                     MAMORI_ERR_PERM);
    /* A wrong password of the second person refuses the whole action. */
    assert_int_equal(operators_dual_authorize(f->ops, "t01", "mnt-pass", OPERATOR_MAINTAINER, "m01",
                                              "nope-nope", OPERATOR_MANAGER, &a, &b),
                     MAMORI_ERR_AUTH);
    assert_int_equal(count(f, "dual_control.refused"), 3);
    assert_int_equal(count(f, "dual_control.ok"), 0);
    /* The right pair with the right passwords is authorised and recorded. */
    assert_int_equal(operators_dual_authorize(f->ops, "t01", "mnt-pass", OPERATOR_MAINTAINER, "m01",
                                              "mgr-pass", OPERATOR_MANAGER, &a, &b),
                     0);
    assert_string_equal(a.id, "t01");
    assert_string_equal(b.id, "m01");
    assert_int_equal(count(f, "dual_control.ok"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ops_argon2id_hash_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops_wrong_password_refused_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops_lockout_after_5_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops_unknown_id_refused_and_audited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops_policy_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops_set_password_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pre1_dual_control_same_person_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pre1_dual_control_wrong_role_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
