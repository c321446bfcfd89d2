/*
 * aesblk: AES-ECB on whole blocks under a key that changes on every call.
 *
 * DUKPT derives each key from the previous one, so every AES operation uses a
 * fresh key for one or two blocks: the cost is the key schedule plus the call
 * overhead, not the encryption. OpenSSL's EVP layer spends ~90 ns per re-key
 * on dispatch and bookkeeping; the default provider's own cipher functions,
 * reached through the public provider API (OSSL_PROVIDER_query_operation,
 * provider-cipher(7)), re-key with AES-NI in ~25 ns. aesblk keeps one provider
 * context per key size and re-keys it in place. The AES itself is always
 * OpenSSL's.
 *
 * Other modes exist for the benchmark (bench/bench_dukpt.c) and as fallback:
 * EVP with one reused EVP_CIPHER_CTX, the deprecated AES_set_encrypt_key
 * table implementation, and a naive fresh-EVP-context-per-call baseline.
 *
 * An aesblk is not thread-safe: one per thread. Key schedules live in memory
 * OpenSSL allocates and clears on free (OPENSSL_clear_free).
 */
#ifndef MAMORI_AESBLK_H
#define MAMORI_AESBLK_H

#include <stddef.h>
#include <stdint.h>

#define AESBLK_BLOCK 16
#define AESBLK_MAX_BLOCKS 4 /* per call: enough for a 256-bit key or a TR-31 header */

enum aesblk_mode {
    AESBLK_AUTO = 0,     /* provider dispatch, falling back to EVP_REUSE */
    AESBLK_PROVIDER,     /* default provider's cipher functions, context re-keyed */
    AESBLK_EVP_REUSE,    /* one EVP_CIPHER_CTX per key size, re-keyed with EVP_EncryptInit_ex */
    AESBLK_LOWLEVEL,     /* deprecated AES_set_encrypt_key/AES_encrypt (bench only) */
    AESBLK_EVP_NAIVE,    /* new EVP context per call (bench baseline) */
};

struct aesblk;

/* A new encryptor in mode; 0, MAMORI_ERR_NOMEM, MAMORI_ERR_CRYPTO or
 * MAMORI_ERR_UNSUPPORTED (PROVIDER requested but not available). */
int aesblk_new(enum aesblk_mode mode, struct aesblk **ret);
/* Free and clear key schedules. NULL-safe. */
void aesblk_free(struct aesblk *a);
/* The mode actually in use (AUTO resolves to PROVIDER or EVP_REUSE). */
enum aesblk_mode aesblk_mode(const struct aesblk *a);

/* out = AES-ECB_key(in), nblocks (1..AESBLK_MAX_BLOCKS) blocks; key_len 16, 24 or 32.
 * in and out may alias. 0, MAMORI_ERR_INVAL or MAMORI_ERR_CRYPTO. */
int aesblk_encrypt(struct aesblk *a, const uint8_t *key, size_t key_len, const uint8_t *in,
                   uint8_t *out, size_t nblocks);

#endif
