/*
 * txn_signon.c: the station's operators: one-person and two-person sign-on,
 * sign-off, training mode, and manager approvals (OPS-1 approval list,
 * OPS-3 two-person register). Part of the txn module (txn_int.h). Passwords
 * are only passed through to the auth port (operator.h: Argon2id, lockout);
 * they are never stored or logged here.
 */
#include "pos/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/journal.h"
#include "pos/tender.h"
#include "pos/txn_int.h"

/* ---- sign-on ---- */

int txn__verify(struct txn *t, const char *id, const char *pw, enum txn_role *ret_role)
{
    if (id == NULL || pw == NULL || id[0] == '\0' || strlen(id) >= TXN_ID_MAX)
        return MAMORI_ERR_INVAL;
    return t->auth.verify(t->auth.ctx, id, pw, ret_role);
}

int txn_signon(struct txn *t, const char *id, const char *pw)
{
    enum txn_role role;
    struct audit_actor act = {.operator_id = id, .process = "mamori-terminald"};
    int rc;
    if (t->op[0])
        return txn__fail(t, MAMORI_ERR_STATE, "an operator is already signed on");
    rc = txn__verify(t, id, pw, &role);
    if (rc == 0 && role != TXN_ROLE_CASHIER && role != TXN_ROLE_MANAGER)
        rc = MAMORI_ERR_PERM;
    if (rc) {
        audit_event(t->a, &act, "signon.failed", F_STR("terminal", t->cfg.terminal),
                    F_STR("reason", mamori_strerror(rc)));
        return txn__fail(t, rc, rc == MAMORI_ERR_PERM ? "this role cannot operate a register"
                                                 : "sign-on refused");
    }
    snprintf(t->op, sizeof(t->op), "%s", id);
    t->op_role = role;
    t->two_person = false;
    t->cashier[0] = '\0';
    act = txn__actor(t);
    audit_event(t->a, &act, "signon", F_STR("terminal", t->cfg.terminal), F_STR("mode", "one"));
    return 0;
}

int txn_signon_pair(struct txn *t, const char *checker, const char *checker_pw,
                    const char *cashier, const char *cashier_pw)
{
    enum txn_role r1, r2;
    struct audit_actor act = {.operator_id = checker, .process = "mamori-terminald"};
    int rc;
    if (t->op[0])
        return txn__fail(t, MAMORI_ERR_STATE, "an operator is already signed on");
    if (checker == NULL || cashier == NULL || strcmp(checker, cashier) == 0)
        return txn__fail(t, MAMORI_ERR_INVAL, "two-person mode needs two different operators");
    rc = txn__verify(t, checker, checker_pw, &r1);
    if (rc == 0 && r1 != TXN_ROLE_CHECKER && r1 != TXN_ROLE_MANAGER)
        rc = MAMORI_ERR_PERM;
    if (rc == 0) {
        act.operator_id = cashier;
        rc = txn__verify(t, cashier, cashier_pw, &r2);
        if (rc == 0 && r2 != TXN_ROLE_CASHIER && r2 != TXN_ROLE_MANAGER)
            rc = MAMORI_ERR_PERM;
    }
    if (rc) {
        audit_event(t->a, &act, "signon.failed", F_STR("terminal", t->cfg.terminal),
                    F_STR("reason", mamori_strerror(rc)));
        return txn__fail(t, rc, "two-person sign-on refused");
    }
    snprintf(t->op, sizeof(t->op), "%s", checker);
    snprintf(t->cashier, sizeof(t->cashier), "%s", cashier);
    t->op_role = r1;
    t->two_person = true;
    act = txn__actor(t);
    audit_event(t->a, &act, "signon", F_STR("terminal", t->cfg.terminal), F_STR("mode", "two"),
                F_STR("cashier", cashier));
    return 0;
}

int txn_signoff(struct txn *t)
{
    struct audit_actor act = txn__actor(t);
    if (!t->op[0])
        return txn__fail(t, MAMORI_ERR_STATE, "nobody is signed on");
    if (t->open)
        return txn__fail(t, MAMORI_ERR_STATE, "finish, suspend or cancel the transaction first");
    audit_event(t->a, &act, "signoff", F_STR("terminal", t->cfg.terminal));
    t->op[0] = t->cashier[0] = '\0';
    t->op_role = TXN_ROLE_NONE;
    t->two_person = false;
    return 0;
}

int txn_set_training(struct txn *t, bool on)
{
    struct audit_actor act = txn__actor(t);
    if (t->open)
        return txn__fail(t, MAMORI_ERR_STATE, "not during a transaction");
    if (!t->op[0])
        return txn__fail(t, MAMORI_ERR_STATE, "sign on first");
    t->training = on;
    audit_event(t->a, &act, on ? "training.on" : "training.off",
                F_STR("terminal", t->cfg.terminal));
    return 0;
}

/* ---- approvals ---- */

int txn_approve(struct txn *t, const char *what, int line, const struct txn_cred *mgr,
                char ret_manager[static TXN_ID_MAX])
{
    enum txn_role role;
    struct audit_actor act = txn__actor(t);
    int rc;
    if (mgr == NULL || mgr->id == NULL || mgr->password == NULL)
        return txn__fail(t, MAMORI_ERR_PERM, "manager approval required");
    rc = txn__verify(t, mgr->id, mgr->password, &role);
    if (rc == 0 && role != TXN_ROLE_MANAGER)
        rc = MAMORI_ERR_PERM;
    if (rc) {
        audit_event(t->a, &act, "approval.failed", F_STR("what", what),
                    F_STR("manager", mgr->id), F_STR("reason", mamori_strerror(rc)));
        return txn__fail(t, rc, rc == MAMORI_ERR_PERM ? "approver is not a manager"
                                                 : "manager authentication failed");
    }
    snprintf(ret_manager, TXN_ID_MAX, "%s", mgr->id);
    (void)line;
    return 0;
}

int txn__add_approval(struct txn_rec *r, const char *what, const char *mgr, int line)
{
    struct txn_approval *p;
    if (r->n_approvals == TXN_APPROVALS_MAX)
        return MAMORI_ERR_LIMIT;
    p = &r->approvals[r->n_approvals++];
    snprintf(p->what, sizeof(p->what), "%s", what);
    snprintf(p->manager, sizeof(p->manager), "%s", mgr);
    p->line = line;
    return 0;
}

