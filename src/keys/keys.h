/*
 * keys: a holder of long-term private keys that answers a few operations and
 * never hands the keys out (ARCHITECTURE §2, the OpenSSH monitor pattern).
 *
 * Today the holder lives in the calling process, in guarded memory. The bus
 * and the audit log use only keys_dh() and keys_sign(), so a later change can
 * move the terminal's keys into the separate keyholder process without
 * touching them. Devices use the same interface for their own keys.
 *
 * Key file format (0600, O_NOFOLLOW): "mamori-keys-v1\n" then 64 bytes:
 * X25519 private key || Ed25519 seed.
 */
#ifndef MAMORI_KEYS_H
#define MAMORI_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEYS_DH_LEN 32   /* X25519 public/private/shared length */
#define KEYS_PK_LEN 32   /* Ed25519 public key */
#define KEYS_SIG_LEN 64  /* Ed25519 signature */

struct keys;

/* Fresh random keys. */
int keys_generate(struct keys **ret);
/* Keys from a given X25519 private key (Ed25519 seed derived from it by hashing;
 * used by test vectors and deterministic simulators). */
int keys_from_x25519(const uint8_t sk[static KEYS_DH_LEN], struct keys **ret);
/* Load from / save to a key file (save refuses to overwrite). */
int keys_load(const char *path, struct keys **ret);
int keys_save(const struct keys *k, const char *path);
/* Load path if it exists, else generate and save. */
int keys_load_or_create(const char *path, struct keys **ret);
/* Wipe and free; NULL-safe. */
void keys_free(struct keys *k);

void keys_dh_public(const struct keys *k, uint8_t ret_pub[static KEYS_DH_LEN]);
void keys_sign_public(const struct keys *k, uint8_t ret_pub[static KEYS_PK_LEN]);

/* X25519(private, peer). Fails (MAMORI_ERR_CRYPTO) on a low-order peer key. */
__attribute__((warn_unused_result)) int keys_dh(struct keys *k, uint8_t ret_shared[static KEYS_DH_LEN],
                                                const uint8_t peer[static KEYS_DH_LEN]);
/* Ed25519 detached signature of msg. */
int keys_sign(struct keys *k, uint8_t ret_sig[static KEYS_SIG_LEN], const uint8_t *msg, size_t n);

/* Verify an Ed25519 signature (no private key needed). */
__attribute__((warn_unused_result)) int keys_verify(const uint8_t pub[static KEYS_PK_LEN],
                                                    const uint8_t sig[static KEYS_SIG_LEN],
                                                    const uint8_t *msg, size_t n);

#endif
