/*
 * txncodec: JSON form of a transaction record (struct txn_rec), as the
 * journal stores it and `mamori journal show` prints it.
 *
 * Decoding treats the text as outside bytes: every field is type- and
 * range-checked, strings are length-checked, counts are limited by the
 * TXN_*_MAX constants; any deviation is MAMORI_ERR_INVAL and *ret untouched.
 * The member number is present only as nonce + ciphertext (hex) and its mask.
 */
#ifndef MAMORI_POS_TXNCODEC_H
#define MAMORI_POS_TXNCODEC_H

#include <stddef.h>

#include "pos/txn.h"

#define TXNCODEC_MAX (4u * 1024u * 1024u) /* largest JSON text accepted */

/* Encode r as compact JSON; *ret is malloc'd, caller frees. */
int txncodec_encode(const struct txn_rec *r, char **ret);
/* Decode len bytes of JSON into *ret (heap struct provided by the caller). */
int txncodec_decode(const char *text, size_t len, struct txn_rec *ret);

#endif
