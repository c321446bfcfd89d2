/*
 * symm: thin helpers over OpenSSL EVP for the symmetric operations the
 * payment code needs (AES and TDES in ECB/CBC without padding, CMAC, and
 * AES-CTR), so callers do not repeat EVP boilerplate. One call = one fresh
 * context, freed (and its key schedule cleared) before return. For the hot
 * DUKPT path see crypto/aesblk.h instead.
 *
 * TDES keys may be 8 (single DES, as K|K|K), 16 (K1|K2|K1) or 24 bytes.
 */
#ifndef MAMORI_SYMM_H
#define MAMORI_SYMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum symm_alg { SYMM_AES, SYMM_TDES };

#define SYMM_AES_BLOCK 16
#define SYMM_TDES_BLOCK 8
#define SYMM_MAX_DATA (1u << 20) /* largest input any helper accepts */

/* Block size of alg. */
size_t symm_block(enum symm_alg alg);
/* True when key_len is valid for alg (AES 16/24/32, TDES 8/16/24). */
bool symm_key_ok(enum symm_alg alg, size_t key_len);

/* ECB or CBC (iv != NULL) without padding; n a multiple of the block size.
 * enc = 1 encrypts, 0 decrypts. in and out may alias. */
int symm_crypt(enum symm_alg alg, int enc, const uint8_t *key, size_t key_len, const uint8_t *iv,
               const uint8_t *in, uint8_t *out, size_t n);
/* AES-CTR with a 16-byte initial counter block; any n. */
int symm_aes_ctr(const uint8_t *key, size_t key_len, const uint8_t iv[static 16], const uint8_t *in,
                 uint8_t *out, size_t n);
/* CMAC (NIST SP 800-38B) of data; out gets the block size of alg. */
int symm_cmac(enum symm_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data, size_t n,
              uint8_t *out);
/* CBC-MAC (ISO 9797-1 algorithm 1, zero IV, no padding: n a multiple of the
 * block size); out gets one block. */
int symm_cbc_mac(enum symm_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data, size_t n,
                 uint8_t *out);

#endif
