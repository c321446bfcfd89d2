/*
 * cardcrypt: the card-data protection inside the card devices (MSR, IC card
 * reader, PIN pad) — the only place clear card data or a clear PIN may be
 * turned into something that leaves the device (POL-2, DEV-7/14/15).
 *
 * This is the seam for AES DUKPT (ANSI X9.24-3) and ISO 9564 format 4 PIN
 * blocks, which arrive with issue 4 (the payment-crypto work replaces
 * cardcrypt.c behind this header). Until a DUKPT initial key has been
 * injected into the device, cardcrypt_has_key() is false and every
 * encrypt call fails with MAMORI_ERR_STATE ("no key"): the devices then
 * refuse to read, so nothing in clear ever leaves them.
 *
 * Every clear input is borrowed and never kept; outputs are the KSN and
 * ciphertext only.
 */
#ifndef MAMORI_CARDCRYPT_H
#define MAMORI_CARDCRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define CARDCRYPT_KSN_MAX 12   /* AES DUKPT KSN: 8-byte initial key id + 4-byte counter */
#define CARDCRYPT_CT_MAX 256   /* ciphertext of one card record */
#define CARDCRYPT_BLOCK_MAX 16 /* an AES PIN block */

struct cardcrypt;

/* Key state of the device whose state directory is state_dir (loads an
 * injected key if there is one). */
int cardcrypt_open(const char *state_dir, struct cardcrypt **ret);
/* Wipe and free. NULL-safe. */
void cardcrypt_free(struct cardcrypt *c);
/* true once a DUKPT initial key is present. */
bool cardcrypt_has_key(const struct cardcrypt *c);
/* Load a TR-31 key block carrying the DUKPT initial key (issue 4 ceremony). */
int cardcrypt_inject(struct cardcrypt *c, const uint8_t *block, size_t n);
/* Erase every key at once (tamper response); the device refuses until re-injection. */
void cardcrypt_erase(struct cardcrypt *c);

/* Encrypt card data under the next DUKPT data-encryption key. Writes the KSN
 * (ksn_len bytes) and appends the ciphertext to ct. MAMORI_ERR_STATE without a key. */
int cardcrypt_encrypt_data(struct cardcrypt *c, const uint8_t *clear, size_t n,
                           uint8_t ksn[static CARDCRYPT_KSN_MAX], size_t *ret_ksn_len,
                           struct buf *ct);
/* Build an ISO 9564 format 4 PIN block for pin (digits) and pan (or a PAN
 * token) and encrypt it under the next DUKPT PIN key. MAMORI_ERR_STATE without a key. */
int cardcrypt_encrypt_pin(struct cardcrypt *c, const char *pin, const char *pan,
                          uint8_t ksn[static CARDCRYPT_KSN_MAX], size_t *ret_ksn_len,
                          uint8_t block[static CARDCRYPT_BLOCK_MAX]);

#endif
