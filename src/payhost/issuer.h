/*
 * issuer: the simulated issuer records of mamori-payhost (a SIMULATOR of the
 * external card network / acquirer; DEV-17 leaves it out of the guideline's
 * scope). A text file, one test card per line:
 *     PAN PIN LIMIT STATUS      e.g.  4111111111111111 1234 100000 active
 * STATUS is active, blocked or lost; '#' starts a comment. Cards not in the
 * file are decided by test ranges (docs/payhost.md):
 *     4000 00..   declined (do_not_honor)
 *     4000 01..   declined (insufficient_funds)
 *     4242 42..   approved, no PIN on record
 *     anything else: declined (unknown_card)
 */
#ifndef MAMORI_PAYHOST_ISSUER_H
#define MAMORI_PAYHOST_ISSUER_H

#include <stdint.h>

#include "crypto/pinblock.h"
#include "devices/track.h"

#define ISSUER_FILE_MAX (64 * 1024)
#define ISSUER_CARDS_MAX 256
#define ISSUER_RANGE_LIMIT 1000000 /* yen: the limit of an approve-range card */

enum issuer_status { ISSUER_ACTIVE = 0, ISSUER_BLOCKED, ISSUER_LOST };
enum issuer_range { ISSUER_RANGE_NONE = 0, ISSUER_RANGE_APPROVE, ISSUER_RANGE_DECLINE, ISSUER_RANGE_NSF };

struct issuer_card {
    char pan[TRACK_PAN_MAX + 1];
    char pin[PINBLOCK_PIN_BUF]; /* "" = no PIN on record */
    int64_t limit;
    enum issuer_status status;
};

struct issuer;

/* Load path (at most ISSUER_FILE_MAX bytes, ISSUER_CARDS_MAX cards). A
 * missing file gives an empty issuer. 0, INVAL (line number in *ret_line), TOOBIG, IO. */
int issuer_load(const char *path, struct issuer **ret, int *ret_line);
void issuer_free(struct issuer *is);
/* The record for pan, or NULL. */
const struct issuer_card *issuer_find(const struct issuer *is, const char *pan);
/* The test-range rule for a PAN not on file. */
enum issuer_range issuer_range_rule(const char *pan);

#endif
