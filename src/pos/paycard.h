/*
 * paycard: card and e-money tenders of the register (issue 4; POL-1, POL-2,
 * DEV-7, DEV-12, DEV-14, DEV-15), plugged into the engine as struct
 * tender_kind "card" and "emoney" (tender.h).
 *
 * The register never sees card data: the devices encrypt it (DUKPT, P2PE)
 * and the register only forwards ciphertext to the payment host over HTTPS
 * (libcurl, the host's certificate pinned: CA file + SHA-256 of its public
 * key), and keeps what the host returns (approval code, token, last 4
 * digits, payment method).
 *
 *   card, cvm "pin"        pinpad.begin {amount}; the shopper swipes at the
 *                          PIN pad and enters the PIN; pinpad.data brings
 *                          {card record, PIN block KSN + ciphertext}
 *   card, cvm "signature"  the card record of the last MSR swipe (msr.data)
 *                          or of the chip (icreader.read), then
 *                          sigpad.capture and its stroke points, which are
 *                          stored with the payment
 *   card, cvm "pin",       pinpad.begin {amount, entry: "chip"}: the shopper
 *   source "ic"            inserts the chip card into the PIN pad's own chip
 *                          slot and keys the PIN (the PIN block needs the
 *                          PAN, so one secure device reads both)
 *   emoney                 icreader.emoney_pay {amount, idem, txn}: the
 *                          device deducts in the card and returns the record
 *                          of it signed with its own key (devices/emrec.h);
 *                          the register verifies it against the key pinned
 *                          in the registry at enrolment before accepting
 *                          the tender, and stores it for offline checks
 *   refund                 back to the card by token (no card data at all)
 *
 * Data classes as a type rule: a payment record (pay.db, the register's
 * payment store) holds card data only as struct paycard_masked, which only
 * paycard_masked_from() constructs (first 6 / last 4 digits at most, the
 * rest '*'); the host's token and transaction id must be lowercase hex of
 * their length; and paystore refuses any other text (the signature and
 * e-money JSON included) that contains a digit run as long as a PAN
 * (MAMORI_ERR_PERM), whatever field it was put in.
 */
#ifndef MAMORI_POS_PAYCARD_H
#define MAMORI_POS_PAYCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pos/tender.h"

struct evloop;
struct devapi;
struct audit;
struct paycard;
struct registry;
struct emrec;

#define PAYCARD_MASKED_MAX 20     /* masked PAN incl. NUL (PAN <= 19 digits) */
#define PAYCARD_PAN_RUN 12        /* this many digits in a row look like a PAN */
#define PAYCARD_HTTP_MAX 8192     /* response bytes from the host */
#define PAYCARD_EXTRA_MAX 65536   /* stored JSON (signature points, e-money record) */

/* A masked PAN. Only paycard_masked_from() writes one. */
struct paycard_masked {
    char v[PAYCARD_MASKED_MAX];
};

/* 0 and *ret for at most the first 6 and last 4 digits in clear with '*'
 * between (at least 13 characters); MAMORI_ERR_PERM for anything showing
 * more (a clear PAN), INVAL for other shapes. */
__attribute__((warn_unused_result)) int paycard_masked_from(const char *s, struct paycard_masked *ret);

/* true when s contains PAYCARD_PAN_RUN or more digits in a row. */
bool paycard_has_pan_run(const char *s);

/* One payment as the register stores it. */
struct paycard_payment {
    int64_t txn_no;
    char kind[8];               /* "card", "emoney", "refund" */
    int64_t amount;
    char host_txn[24];          /* host transaction id / e-money card sequence */
    char approval[8];
    char token[72];             /* keyed hash of the PAN (the host's), never the PAN */
    struct paycard_masked pan;  /* may be empty for e-money */
    char last4[5];
    char method[16];            /* lump, installments, revolving, bonus */
    int installments;
    char cvm[12];               /* pin, signature, none */
    char entry[8];              /* the host's word on the card's entry mode: chip, swipe, "" */
    json_t *extra;              /* borrowed: signature points or the e-money record */
};

/* pay.db. */
struct paystore;
int paystore_open(const char *path, struct paystore **ret);
void paystore_close(struct paystore *s);
/* Store p; MAMORI_ERR_PERM if any text (extra included) carries a PAN-long
 * digit run: card data is never written except masked. */
__attribute__((warn_unused_result)) int paystore_put(struct paystore *s, const struct paycard_payment *p);
/* The stored card payment with host transaction id host_txn (token etc.). */
int paystore_find(struct paystore *s, const char *host_txn, struct paycard_payment *ret);

struct paycard_config {
    const char *url;          /* https://127.0.0.1:PORT/v1/authorize */
    const char *cert_path;    /* the host's certificate (pinned) */
    const char *terminal;     /* terminal id sent to the host */
    const char *db_path;      /* pay.db */
    const char *registry_path; /* registry.db: the pinned device keys (e-money records); NULL: no e-money */
    int input_ms;             /* shopper: card, PIN, signature; 0: 60000 */
    int request_ms;           /* device request; 0: 3000 */
    int http_ms;              /* host round trip; 0: 15000 */
};

int paycard_new(struct evloop *l, struct devapi *api, struct audit *audit, const struct paycard_config *cfg,
                struct paycard **ret);
void paycard_free(struct paycard *p);
const struct tender_kind *paycard_kind_card(struct paycard *p);
const struct tender_kind *paycard_kind_emoney(struct paycard *p);
/* Options of the next card authorization: cvm "pin" (default) or
 * "signature"; method "lump" (default), "installments" (count 2..60),
 * "revolving", "bonus"; source "pinpad"/"msr"/"ic" (default: the PIN pad for
 * pin, the MSR for signature). INVAL for an unknown name. */
int paycard_next(struct paycard *p, const char *cvm, const char *method, int count, const char *source);
/* Point card read through the IC reader (icreader.point_read): the member
 * number (HIGH) is handed to tender_member(), which encrypts it at once, and
 * wiped here. NOTFOUND when no point card is in the reader. */
int paycard_point_card(struct paycard *p, struct txn *t);

/* DEV-15: check a device-signed e-money record (rec, n bytes) as the
 * register accepts it: the signature verifies with pub (the device key
 * pinned at enrolment, pub_len 32), and it is the record of this payment:
 * device serial, amount, txn and idem as requested. 0 and *ret (may be
 * NULL); MAMORI_ERR_AUTH for a bad signature or a record of something else;
 * INVAL/TOOBIG/SHORT/TRAILING for malformed bytes or a bad key length. */
__attribute__((warn_unused_result)) int paycard_emoney_check(const uint8_t *rec, size_t n, const uint8_t *pub,
                                                             size_t pub_len, const char *serial, int64_t amount,
                                                             const char *txn, const char *idem, struct emrec *ret);

/* The log key pinned at enrolment for serial, which must be an enrolled,
 * not removed IC card reader: 0 and pub; NOTFOUND; AUTH (removed, another
 * kind); STATE without a registry. */
int paycard_pinned_key(struct registry *reg, const char *serial, uint8_t pub[static 32]);

/* Offline re-verification of one stored e-money payment (pay.db row:
 * its amount, host_txn "E<seq>" and extra JSON {device, signed (base64
 * record), ...}) against the registry's pinned key for that device (the
 * `mamori pay verify` verb). 0 and *ret (may be NULL); AUTH when the
 * signature or the row's amount / sequence do not match the record;
 * NOTFOUND when the device is not in the registry; PROTO for a row
 * without a signed record. */
__attribute__((warn_unused_result)) int paycard_emoney_verify_stored(struct registry *reg, const char *extra_json,
                                                                     int64_t amount, const char *host_txn,
                                                                     struct emrec *ret);

/* The decline reason of the last refused authorization ("" if none). */
const char *paycard_last_reason(const struct paycard *p);

/* The host's answer (outside bytes, at most PAYCARD_HTTP_MAX): 0 when
 * approved (pay's host_txn, approval, token, last4 written; ref gets the
 * tender reference), MAMORI_ERR_DECLINED with the host's reason, PROTO for
 * anything malformed (ids and codes are checked for their shape). */
int paycard_parse_answer(const char *body, size_t len, struct paycard_payment *pay, char ref[static TENDER_REF_MAX],
                         char *reason, size_t reason_cap);

/* Parse a card tender reference "HOSTTXN APPROVAL LAST4 METHOD" (receipt). */
int paycard_ref_parse(const char *ref, char host_txn[static 24], char approval[static 8], char last4[static 5],
                      char method[static 16]);
/* The entry mode in a card tender reference's optional fifth word
 * ("HOSTTXN APPROVAL LAST4 METHOD ENTRY", the host's word): "IC" for chip,
 * "磁気" for stripe, NULL when absent or anything else. */
const char *paycard_ref_entry_ja(const char *ref);
/* Japanese name of a payment method (一括, 分割, リボ, ボーナス). */
const char *paycard_method_ja(const char *method);

#endif
