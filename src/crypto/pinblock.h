/*
 * pinblock: ISO 9564-1 PIN blocks, format 0 (clear 8-byte block, for TDES
 * hosts) and format 4 (AES: 16-byte PIN field and PAN field, enciphered as
 * AES_K(AES_K(pin field) XOR pan field)).
 *
 * PINs are 4..12 ASCII digits; PANs are ASCII digits (format 0: 13..19,
 * the rightmost 12 excluding the check digit are used; format 4: 1..19).
 * Decoders check every nibble (control, length, digits, fill) and fail with
 * MAMORI_ERR_INVAL; ret_pin (PINBLOCK_PIN_BUF bytes, NUL-terminated) is
 * written only on success. Callers keep PINs and blocks in guarded memory and
 * wipe them; this module wipes its own temporaries.
 */
#ifndef MAMORI_PINBLOCK_H
#define MAMORI_PINBLOCK_H

#include <stddef.h>
#include <stdint.h>

#define PINBLOCK_PIN_MIN 4
#define PINBLOCK_PIN_MAX 12
#define PINBLOCK_PIN_BUF (PINBLOCK_PIN_MAX + 1)
#define PINBLOCK_PAN_MAX 19
#define PINBLOCK_ISO0_LEN 8
#define PINBLOCK_ISO4_LEN 16
#define PINBLOCK_ISO4_FILL_LEN 8

/* Format 0: block = PIN field XOR PAN field. */
int pinblock_iso0_encode(const char *pin, const char *pan, uint8_t ret_block[static PINBLOCK_ISO0_LEN]);
int pinblock_iso0_decode(const uint8_t *block, size_t block_len, const char *pan,
                         char ret_pin[static PINBLOCK_PIN_BUF]);

/* Format 4 fields. fill: the 8 random bytes of the PIN field, or NULL for
 * fresh randombytes (tests pass the standard's fixed fill). */
int pinblock_iso4_pin_field(const char *pin, const uint8_t *fill, uint8_t ret_field[static PINBLOCK_ISO4_LEN]);
int pinblock_iso4_pan_field(const char *pan, uint8_t ret_field[static PINBLOCK_ISO4_LEN]);
int pinblock_iso4_pin_field_decode(const uint8_t *field, size_t field_len, char ret_pin[static PINBLOCK_PIN_BUF]);

/* Format 4 encipher/decipher under an AES key (16, 24 or 32 bytes). */
int pinblock_iso4_encipher(const uint8_t *key, size_t key_len, const char *pin, const char *pan,
                           const uint8_t *fill, uint8_t ret_block[static PINBLOCK_ISO4_LEN]);
int pinblock_iso4_decipher(const uint8_t *key, size_t key_len, const uint8_t *block, size_t block_len,
                           const char *pan, char ret_pin[static PINBLOCK_PIN_BUF]);

#endif
