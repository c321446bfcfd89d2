/*
 * poswire: connects the engine's ports (txn.h) to the real modules:
 * the item master and barcode parser (items.h, barcode.h) as a txn_catalog,
 * the operator database (operator.h: Argon2id, lockout) as a txn_auth.
 */
#ifndef MAMORI_POS_POSWIRE_H
#define MAMORI_POS_POSWIRE_H

#include "pos/barcode.h"
#include "pos/items.h"
#include "pos/operator.h"
#include "pos/txn.h"

/* Catalog context: owned by the caller, must outlive the txn. */
struct poswire_catalog {
    struct items *items;
    struct barcode_config barcodes;
};

/* Fill *ret with a catalog over c (c->barcodes defaulted when n_layouts is 0). */
void poswire_catalog(struct poswire_catalog *c, struct txn_catalog *ret);
/* Fill *ret with an authenticator over ops. */
void poswire_auth(struct operators *ops, struct txn_auth *ret);

#endif
