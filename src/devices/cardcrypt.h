/*
 * cardcrypt: the P2PE envelopes for card data and PINs (DEV-7, DEV-14).
 *
 * Device side (MSR / PIN pad firmware): each call starts a new DUKPT
 * transaction on the device, so every envelope has its own KSN and keys.
 *   Tracks: plaintext = entry || len1 || track1 || len2 || track2, padded
 *     with 0x80 00.. (ISO 9797-1 method 2) to a multiple of 16, encrypted
 *     AES-CBC under the DUKPT data-encryption key (usage 0x3000) with a zero
 *     IV. A fixed IV is sound here because the key is used for this one
 *     message only (a KSN is never reused by a device). Then
 *     mac = AES-CMAC under the DUKPT MAC-generation key (0x2000) over
 *     ksn || ciphertext (encrypt-then-MAC), so the host rejects garbage or
 *     a wrong KSN before decrypting.
 *   entry is the entry mode, inside the MAC so the controller cannot change
 *   it: 0x01 magnetic stripe (swiped tracks), 0x02 chip (the simplified chip
 *   record, track 2 image only: track.h track_chip_image).
 *   PIN: ISO 9564-1 format 4 under the DUKPT PIN key (0x1000).
 * Working keys are AES-128 for an AES-128 initial key, else AES-256.
 *
 * Host side (mamori-payhost): the same envelopes opened with the BDK.
 * Decrypted tracks come back in guarded memory.
 */
#ifndef MAMORI_CARDCRYPT_H
#define MAMORI_CARDCRYPT_H

#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#include "crypto/dukpt.h"
#include "crypto/pinblock.h"
#include "devices/track.h"

#define CARDCRYPT_CT_MAX 128 /* 3 + 79 + 40 bytes, padded to 16 */
#define CARDCRYPT_MAC_LEN 16
#define CARDCRYPT_ENTRY_SWIPE 0x01 /* magnetic stripe */
#define CARDCRYPT_ENTRY_CHIP 0x02  /* contact chip (simplified record) */

struct cardcrypt_record {
    uint8_t ksn[DUKPT_AES_KSN_LEN];
    uint8_t ct[CARDCRYPT_CT_MAX];
    size_t ct_len;
    uint8_t mac[CARDCRYPT_MAC_LEN];
};

struct cardcrypt_tracks {
    uint8_t t1[TRACK1_MAX];
    size_t n1;
    uint8_t t2[TRACK2_MAX];
    size_t n2;
    uint8_t entry; /* CARDCRYPT_ENTRY_* */
};

struct cardcrypt_pin {
    uint8_t ksn[DUKPT_AES_KSN_LEN];
    uint8_t block[PINBLOCK_ISO4_LEN];
};

/* Encrypt track 1 and/or track 2 (either may be absent: NULL/0, not both)
 * under the device's next transaction. */
int card_encrypt_tracks(struct dukpt_aes_device *d, const uint8_t *t1, size_t n1, const uint8_t *t2, size_t n2,
                        struct cardcrypt_record *ret);
/* Verify and decrypt; *ret is guarded memory (cardcrypt_tracks_free).
 * MAMORI_ERR_AUTH when the MAC fails (wrong KSN, tampered or garbage
 * ciphertext), INVAL for a malformed record or plaintext. */
__attribute__((warn_unused_result)) int card_decrypt_tracks(struct dukpt_aes_host *h,
                                                            const struct cardcrypt_record *rec,
                                                            struct cardcrypt_tracks **ret);
void cardcrypt_tracks_free(struct cardcrypt_tracks *t);

/* What the MSR firmware returns for one swipe (DEV-7): never clear track data. */
struct cardcrypt_read {
    struct cardcrypt_record rec;
    char masked_pan[TRACK_PAN_MAX + 1]; /* first 6 + last 4 at most (field_mask_pan) */
    char last4[5];
    char expiry[5];                     /* YYMM, or "" when the track has none */
};

/* The MSR's whole job for one swipe: parse the tracks present (both must
 * parse and carry the same PAN; Luhn checked), mask the PAN, then encrypt
 * the raw tracks under the next DUKPT transaction. A bad swipe is refused
 * before a KSN is spent (INVAL, CHECKSUM, TOOBIG from the track parser). */
int card_msr_read(struct dukpt_aes_device *d, const uint8_t *t1, size_t n1, const uint8_t *t2, size_t n2,
                  struct cardcrypt_read *ret);
/* The same for a chip card read by the IC reader or the PIN pad's chip
 * slot: t2 is the chip record (track_chip_image), the envelope is marked
 * CARDCRYPT_ENTRY_CHIP. */
int card_chip_read(struct dukpt_aes_device *d, const uint8_t *t2, size_t n2, struct cardcrypt_read *ret);

/* The card record as the devices send it on the bus (docs/protocol.md
 * "Card data protection"): {masked_pan, expiry, ksn, ct, mac}; a new CBOR
 * map, or NULL on allocation failure. */
cbor_item_t *card_read_body(const struct cardcrypt_read *rd);

/* Build a format-4 PIN block for pin/pan and encipher it under the next
 * transaction's PIN key. fill: NULL for random (tests may fix it). */
int card_encrypt_pin(struct dukpt_aes_device *d, const char *pin, const char *pan, const uint8_t *fill,
                     struct cardcrypt_pin *ret);
/* Decipher and check a PIN block; ret_pin as in pinblock.h. */
__attribute__((warn_unused_result)) int card_decrypt_pin(struct dukpt_aes_host *h, const struct cardcrypt_pin *p,
                                                         const char *pan, char ret_pin[static PINBLOCK_PIN_BUF]);

#endif
