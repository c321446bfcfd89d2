/*
 * host: the payment host SIMULATOR's decision core (mamori-payhost). It
 * stands for the external card network and acquirer (DEV-17: outside the
 * guideline's scope) and holds what a terminal must never hold: the BDKs,
 * the token key and the issuer records.
 *
 * State directory (created files mode 0600):
 *   bdk.keys      "BDKID BDK" per line, hex (BDK ID = first 4 bytes of the KSN);
 *                 one random AES-128 BDK with ID 00000001 is created if missing
 *   token.key     32 random bytes (hex): token = HMAC-SHA-256(token key, PAN)
 *   payhost.db    SQLite: transactions (token, last 4, never the PAN),
 *                 balances by token, seen KSNs, declines
 *   issuers.txt   simulated issuer records (issuer.h)
 *
 * payhost_handle() takes a request body and produces the JSON response:
 *   {"result":"approved","txn_id":..,"approval_code":..,"token":..,"last4":..,
 *    "method":..,"installments":n}
 *   {"result":"declined","reason":"replay"|"bad_mac"|...}
 *   {"result":"error","reason":"bad_request"} (HTTP 400)
 * A KSN is remembered once its envelope authenticates; any later use of it
 * is declined as "replay" (POL-2).
 */
#ifndef MAMORI_PAYHOST_HOST_H
#define MAMORI_PAYHOST_HOST_H

#include <stddef.h>

#include "common/buf.h"

#define PAYHOST_BDKS_MAX 16
#define PAYHOST_RESPONSE_MAX 2048

struct payhost_config {
    const char *state_dir;
    const char *issuers_path; /* NULL: STATE/issuers.txt */
    int year, month;          /* "today" for expiry checks; 0: the real clock */
};

struct payhost;

int payhost_open(const struct payhost_config *cfg, struct payhost **ret);
void payhost_close(struct payhost *h);

/* Decide one request. *ret_status is the HTTP status (200 or 400); out gets
 * the JSON response (NUL-terminated). *ret_reason (static string) names the
 * decline reason or "" when approved, for the caller's log. */
int payhost_handle(struct payhost *h, const char *body, size_t len, struct buf *out, int *ret_status,
                   const char **ret_reason);

/* Key injection facility (POL-8(3)): derive the DUKPT initial key of a
 * device's initial key ID (first 4 bytes = BDK ID) from the BDK and return
 * it only as a TR-31 version D key block (usage B1, AES) under the KBPK the
 * two custodians formed, so the terminal never holds the BDK or the clear
 * initial key. *ret_kb is malloc'd; ret_kcv gets the initial key's KCV (hex,
 * 3 bytes). NOTFOUND for an unknown BDK ID. */
int payhost_issue_initial_key(struct payhost *h, const uint8_t ikid[static 8], const uint8_t *kbpk, size_t kbpk_len,
                              char **ret_kb, char ret_kcv[static 7]);

#endif
