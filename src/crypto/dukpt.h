/*
 * dukpt: AES DUKPT per ANSI X9.24-3-2017 (Derived Unique Key Per Transaction).
 *
 * A KSN is 12 bytes: the 8-byte initial key ID (BDK ID || derivation ID) and a
 * 4-byte big-endian transaction counter. Host side: BDK -> initial key (from
 * the initial key ID) -> derivation key for the counter (one step per set bit,
 * most significant first) -> working key (PIN, MAC, data). Device side: the
 * initial key is loaded once and turned into 32 future-key registers, then
 * erased; each transaction takes its derivation key from a register and
 * refills the registers below it, so a captured device never holds a key
 * from which earlier transaction keys follow.
 *
 * A valid counter is non-zero with at most DUKPT_AES_MAX_BITS one-bits; every
 * function taking a KSN rejects others with MAMORI_ERR_INVAL.
 *
 * Keys are caller buffers of the stated length (16, 24 or 32 bytes for AES,
 * 16/24 for TDES working keys); callers keep them in guarded memory. The host
 * context and the device hold their keys in secmem.
 */
#ifndef MAMORI_DUKPT_H
#define MAMORI_DUKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DUKPT_AES_IKID_LEN 8
#define DUKPT_AES_KSN_LEN 12
#define DUKPT_AES_KEY_MAX 32
#define DUKPT_AES_MAX_BITS 16
#define DUKPT_AES_REGISTERS 32

/* Key types (the algorithm indicator of the derivation data). */
enum dukpt_aes_key_type {
    DUKPT_AES_TDES2 = 0,
    DUKPT_AES_TDES3 = 1,
    DUKPT_AES_AES128 = 2,
    DUKPT_AES_AES192 = 3,
    DUKPT_AES_AES256 = 4,
};

/* Key usage indicators (X9.24-3 derivation data). */
enum dukpt_aes_usage {
    DUKPT_USAGE_KEK = 0x0002,           /* key encryption key (update key) */
    DUKPT_USAGE_PIN = 0x1000,           /* PIN encryption */
    DUKPT_USAGE_MAC_GEN = 0x2000,       /* message authentication, generation */
    DUKPT_USAGE_MAC_VERIFY = 0x2001,    /* message authentication, verification */
    DUKPT_USAGE_MAC_BOTH = 0x2002,      /* message authentication, both ways */
    DUKPT_USAGE_DATA_ENC = 0x3000,      /* data encryption, encrypt */
    DUKPT_USAGE_DATA_DEC = 0x3001,      /* data encryption, decrypt */
    DUKPT_USAGE_DATA_BOTH = 0x3002,     /* data encryption, both */
    DUKPT_USAGE_DERIVATION = 0x8000,    /* intermediate derivation key */
    DUKPT_USAGE_INITIAL = 0x8001,       /* initial key */
};

/* Length in bytes of a key type; 0 for an unknown type. */
size_t dukpt_aes_key_len(enum dukpt_aes_key_type type);
/* The AES type of a BDK/initial key of key_len bytes; -1 unless 16, 24 or 32. */
int dukpt_aes_type_for_len(size_t key_len);
/* True when counter is non-zero and has at most 16 one-bits. */
bool dukpt_aes_counter_valid(uint32_t counter);
/* The counter of a KSN. */
uint32_t dukpt_aes_ksn_counter(const uint8_t ksn[static DUKPT_AES_KSN_LEN]);

/* One X9.24-3 derivation step: out (dukpt_aes_key_len(type) bytes) =
 * AES-ECB_key(derivation data for usage/type/data8), truncated. key_len 16/24/32.
 * A working key longer than the key it is derived from is refused (INVAL). */
int dukpt_aes_derive(const uint8_t *key, size_t key_len, enum dukpt_aes_usage usage,
                     enum dukpt_aes_key_type type, const uint8_t data8[static 8], uint8_t *out);

/* Initial key from the BDK (bdk_len 16/24/32) and initial key ID; ret_ik gets bdk_len bytes. */
int dukpt_aes_initial_key(const uint8_t *bdk, size_t bdk_len,
                          const uint8_t ikid[static DUKPT_AES_IKID_LEN], uint8_t *ret_ik);
/* Transaction derivation key for ksn from the initial key; ret gets ik_len bytes. */
int dukpt_aes_derivation_key(const uint8_t *ik, size_t ik_len,
                             const uint8_t ksn[static DUKPT_AES_KSN_LEN], uint8_t *ret_key);
/* Working key of type for usage from a derivation key (the KSN gives the derivation data). */
int dukpt_aes_working_key(const uint8_t *dk, size_t dk_len, const uint8_t ksn[static DUKPT_AES_KSN_LEN],
                          enum dukpt_aes_usage usage, enum dukpt_aes_key_type type, uint8_t *ret_key);
/* Update key of type from the initial key: KEK usage from the derivation key
 * of counter 0xFFFFFFFF (all 32 bits). */
int dukpt_aes_update_key(const uint8_t *ik, size_t ik_len, const uint8_t ikid[static DUKPT_AES_IKID_LEN],
                         enum dukpt_aes_key_type type, uint8_t *ret_key);

/* Host side: a BDK held in guarded memory with its own AES context. */
struct dukpt_aes_host;
/* bdk_len 16/24/32; the BDK is copied. 0, INVAL, NOMEM, CRYPTO. */
int dukpt_aes_host_new(const uint8_t *bdk, size_t bdk_len, struct dukpt_aes_host **ret);
/* A host using a particular AES mode (benchmark); see crypto/aesblk.h. */
int dukpt_aes_host_new_mode(const uint8_t *bdk, size_t bdk_len, int aesblk_mode,
                            struct dukpt_aes_host **ret);
void dukpt_aes_host_free(struct dukpt_aes_host *h);
/* Length of the host's BDK (16, 24 or 32). */
size_t dukpt_aes_host_key_len(const struct dukpt_aes_host *h);
/* BDK -> initial key for a device's initial key ID (the key injection
 * facility issuing a device key); ret_ik gets dukpt_aes_host_key_len(h) bytes. */
int dukpt_aes_host_initial_key(struct dukpt_aes_host *h, const uint8_t ikid[static DUKPT_AES_IKID_LEN],
                               uint8_t *ret_ik);
/* BDK -> initial key -> derivation key -> working key for ksn; ret_key gets
 * dukpt_aes_key_len(type) bytes. INVAL for an invalid counter. */
int dukpt_aes_host_working_key(struct dukpt_aes_host *h, const uint8_t ksn[static DUKPT_AES_KSN_LEN],
                               enum dukpt_aes_usage usage, enum dukpt_aes_key_type type,
                               uint8_t *ret_key);

/* Device side (transaction-originating device, future-key registers). */
struct dukpt_aes_device;
/* Load an initial key (16/24/32 bytes) and its ID; the device keeps only the
 * registers derived from it. Counter starts at 0 (no transaction yet). */
int dukpt_aes_device_load(const uint8_t *ik, size_t ik_len, const uint8_t ikid[static DUKPT_AES_IKID_LEN],
                          struct dukpt_aes_device **ret);
/* Wipe and free. NULL-safe. */
void dukpt_aes_device_free(struct dukpt_aes_device *d);
/* Start the next transaction: advance to the next valid counter, take its
 * derivation key, refill the registers below it, erase the used register.
 * ret_ksn gets the transaction's KSN. MAMORI_ERR_LIMIT when the counter space
 * is exhausted (the device must be re-injected). */
int dukpt_aes_device_next(struct dukpt_aes_device *d, uint8_t ret_ksn[static DUKPT_AES_KSN_LEN]);
/* Working key of the current transaction; MAMORI_ERR_STATE before the first next(). */
int dukpt_aes_device_working_key(struct dukpt_aes_device *d, enum dukpt_aes_usage usage,
                                 enum dukpt_aes_key_type type, uint8_t *ret_key);
/* Length of the device's keys (16, 24 or 32: the initial key's length). */
size_t dukpt_aes_device_key_len(const struct dukpt_aes_device *d);
/* The current KSN (last one returned by next; counter 0 before). */
void dukpt_aes_device_ksn(const struct dukpt_aes_device *d, uint8_t ret_ksn[static DUKPT_AES_KSN_LEN]);

/* Persist and restore device state (registers included: the blob is secret
 * and belongs in the device's private state directory, mode 0600). */
#define DUKPT_AES_STATE_LEN (4 + 1 + DUKPT_AES_IKID_LEN + 4 + 4 + DUKPT_AES_REGISTERS * DUKPT_AES_KEY_MAX)
int dukpt_aes_device_save(const struct dukpt_aes_device *d, uint8_t out[static DUKPT_AES_STATE_LEN]);
int dukpt_aes_device_restore(const uint8_t *blob, size_t blob_len, struct dukpt_aes_device **ret);

#endif
