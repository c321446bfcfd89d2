/*
 * txn_int.h: private to txn.c, txn_signon.c and txn_return.c (one module,
 * split by facet): the station struct and the helpers the facets share.
 * Nothing outside src/pos/txn*.c includes this.
 */
#ifndef MAMORI_POS_TXN_INT_H
#define MAMORI_POS_TXN_INT_H

#include "audit/audit.h"
#include "pos/txn.h"

#define TXN_KINDS_MAX 8
#define TXN_ERR_MAX 160

struct txn {
    struct txn_config cfg;
    uint8_t *key;                 /* data key, guarded memory */
    struct journal *j;
    struct pos_devices dev;
    struct txn_catalog cat;
    struct txn_auth auth;
    struct audit *a;
    const struct tender_kind *kinds[TXN_KINDS_MAX];
    size_t n_kinds;
    char op[TXN_ID_MAX];
    enum txn_role op_role;
    char cashier[TXN_ID_MAX];
    bool two_person;
    bool training;
    bool open;                    /* rec holds an open transaction */
    struct txn_rec *rec;
    struct txn_rec *scratch;
    int64_t last_receipt;
    int64_t last_change;
    char err[TXN_ERR_MAX];
};

/* Refuse with a message for the operator; returns rc. */
int txn__fail(struct txn *t, int rc, const char *msg);
struct audit_actor txn__actor(const struct txn *t);
/* Copy only the used part of a record. */
void txn__rec_copy(struct txn_rec *dst, const struct txn_rec *src);
/* Scratch copy of the open record; txn__commit persists it and makes it current. */
struct txn_rec *txn__begin(struct txn *t);
int txn__commit(struct txn *t);
/* Open a transaction in the scratch record if none is open. */
int txn__ensure_open(struct txn *t, bool is_return);
bool txn__can_register(struct txn *t);
int txn__add_approval(struct txn_rec *r, const char *what, const char *mgr, int line);
/* Best-effort display of l1 and the running total. */
void txn__show(struct txn *t, const char *l1);
/* Check an operator's password through the auth port. */
int txn__verify(struct txn *t, const char *id, const char *pw, enum txn_role *ret_role);

#endif
