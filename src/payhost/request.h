/*
 * request: the payment host simulator's request format (JSON over HTTPS,
 * docs/payhost.md) and its strict parser. Fuzzed by fuzz_payhost_request.
 *
 *   {"type": "sale"|"refund"|"void",
 *    "amount": yen (1..PAYHOST_AMOUNT_MAX; not for void),
 *    "method": {"kind": "lump"|"installments"|"revolving"|"bonus", "count": n},
 *    "card": {"ksn": hex, "ct": hex, "mac": hex},       sale (and refund with card)
 *    "pin": {"ksn": hex, "block": hex},                  optional
 *    "signature": true,                                   optional (credit without PIN)
 *    "token": hex, "original_txn": id,                    refund by token / void
 *    "terminal": id}
 * Unknown keys, wrong types, bad hex or lengths are refused (MAMORI_ERR_INVAL).
 */
#ifndef MAMORI_PAYHOST_REQUEST_H
#define MAMORI_PAYHOST_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/cardcrypt.h"

#define PAYHOST_BODY_MAX 8192
#define PAYHOST_AMOUNT_MAX 100000000 /* yen */
#define PAYHOST_ID_MAX 32
#define PAYHOST_TOKEN_HEX 64
#define PAYHOST_INSTALLMENTS_MIN 2
#define PAYHOST_INSTALLMENTS_MAX 60

enum payhost_type { PAYHOST_SALE = 0, PAYHOST_REFUND, PAYHOST_VOID };
/* Japanese payment methods: 一括 lump sum, 分割 installments, リボ revolving, ボーナス bonus. */
enum payhost_method { PAYHOST_LUMP = 0, PAYHOST_INSTALLMENTS, PAYHOST_REVOLVING, PAYHOST_BONUS };

struct payhost_request {
    enum payhost_type type;
    int64_t amount;
    enum payhost_method method;
    int installments;
    bool has_card;
    struct cardcrypt_record card;
    bool has_pin;
    struct cardcrypt_pin pin;
    bool signature;
    char token[PAYHOST_TOKEN_HEX + 1];
    char original_txn[PAYHOST_ID_MAX + 1];
    char terminal[PAYHOST_ID_MAX + 1];
};

/* Parse and validate body (len bytes, at most PAYHOST_BODY_MAX). 0, INVAL, TOOBIG. */
int payhost_request_parse(const char *body, size_t len, struct payhost_request *ret);

const char *payhost_type_name(enum payhost_type t);
const char *payhost_method_name(enum payhost_method m);

#endif
