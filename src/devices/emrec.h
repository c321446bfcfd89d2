/*
 * emrec: the device-signed e-money payment record (DEV-15, POL-8(1)).
 *
 * The IC card reader deducts the amount inside the card and returns this
 * record of it, signed with the device's own Ed25519 key (the `log_pub` of
 * its manufacturer certificate, pinned in the terminal's registry at
 * enrolment), so the register (and later anyone holding the record and the
 * pinned key, offline) can check that this device, and not the controller,
 * made the deduction. Canonical bytes, big-endian, every field fixed in
 * order (no choice of encoding, so one record has exactly one byte form):
 *
 *   "MEMR" | u8 version 1
 *   u16 len | serial          device serial (1..EMREC_SERIAL_MAX printable ASCII)
 *   u16 len | card            masked card id ('*' and at most 4 digits, 4..EMREC_CARD_MAX)
 *   purse[8]                  the card's purse id (random per card, like a FeliCa IDm)
 *   u64 seq                   the card's transaction counter after this deduction (>= 1)
 *   u64 amount                yen deducted (1..EMREC_AMOUNT_MAX)
 *   u64 balance_before, u64 balance_after   (before - amount == after)
 *   u16 len | txn             the register's transaction id (0..EMREC_TEXT_MAX)
 *   u16 len | idem            the request's idempotency key (1..EMREC_TEXT_MAX)
 *   u64 time                  device clock, Unix seconds
 *   sig[64]                   Ed25519 over everything before it
 *
 * The magic differs from the device log's, so a record can never be taken
 * for a log entry signed with the same key, nor the other way round.
 */
#ifndef MAMORI_EMREC_H
#define MAMORI_EMREC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define EMREC_MAGIC "MEMR"
#define EMREC_VERSION 1
#define EMREC_SERIAL_MAX 64
#define EMREC_CARD_MAX 20
#define EMREC_PURSE_LEN 8
#define EMREC_TEXT_MAX 64
#define EMREC_SIG_LEN 64
#define EMREC_PUB_LEN 32
#define EMREC_AMOUNT_MAX 200000u /* yen: the e-money card ceiling */
#define EMREC_MAX (5 + 2 + EMREC_SERIAL_MAX + 2 + EMREC_CARD_MAX + EMREC_PURSE_LEN + 4 * 8 + \
                   2 * (2 + EMREC_TEXT_MAX) + 8 + EMREC_SIG_LEN)

struct emrec {
    char serial[EMREC_SERIAL_MAX + 1];
    char card[EMREC_CARD_MAX + 1];
    uint8_t purse[EMREC_PURSE_LEN];
    uint64_t seq, amount, balance_before, balance_after;
    char txn[EMREC_TEXT_MAX + 1];
    char idem[EMREC_TEXT_MAX + 1];
    uint64_t time;
    uint8_t sig[EMREC_SIG_LEN];
};

/* The bytes the device signs (everything but sig) appended to out.
 * MAMORI_ERR_INVAL when a field breaks the rules above. */
int emrec_tbs(const struct emrec *e, struct buf *out);
/* The whole record (tbs || sig) appended to out. */
int emrec_encode(const struct emrec *e, struct buf *out);
/* Parse a whole record strictly (every rule above, no trailing bytes);
 * does NOT check the signature. ret written only on success. */
int emrec_parse(const uint8_t *p, size_t n, struct emrec *ret);
/* Parse and verify the signature with the device key pub (pub_len must be
 * EMREC_PUB_LEN, else MAMORI_ERR_INVAL). 0 and *ret (may be NULL) on
 * success; MAMORI_ERR_AUTH for a bad signature; the parse errors. */
__attribute__((warn_unused_result)) int emrec_verify(const uint8_t *p, size_t n, const uint8_t *pub, size_t pub_len,
                                                     struct emrec *ret);

#endif
