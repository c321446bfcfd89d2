/*
 * tr31: TR-31 / ANSI X9.143 key blocks, versions A and C (TDES key variant
 * binding), B (TDES CMAC key derivation) and D (AES CMAC key derivation, CBC),
 * and ISO 20038 version E (AES CMAC key derivation, CTR; unwrap only).
 *
 * A key block is ASCII: a 16-character header (version, 4-digit length,
 * usage, algorithm, mode of use, key version, exportability, optional block
 * count, reserved), optional blocks, the encrypted payload in hex and the MAC
 * in hex. tr31_header_parse() checks every field strictly (no key needed;
 * this is what the fuzzer drives); tr31_unwrap() then authenticates and
 * decrypts:
 *   A/C: the MAC covers header || ciphertext, so it is verified (constant
 *        time) before anything is decrypted;
 *   B/D/E: the MAC covers header || plaintext payload and doubles as the IV,
 *        so the payload is decrypted into guarded memory, the MAC recomputed
 *        and compared in constant time, and only then is the payload read.
 * The key comes back in guarded memory (free with tr31_key_free).
 */
#ifndef MAMORI_TR31_H
#define MAMORI_TR31_H

#include <stddef.h>
#include <stdint.h>

#define TR31_HEADER_LEN 16
#define TR31_MAX_LEN 9999     /* the length field has 4 digits */
#define TR31_OPT_MAX 32       /* optional blocks accepted per key block */
#define TR31_KEY_MAX 4096     /* largest wrapped key (bytes) */
#define TR31_KBPK_MAX 32

struct tr31_opt {
    char id[3];     /* two characters and NUL */
    size_t off;     /* offset of the block's data within the key block string */
    size_t len;     /* data length (characters) */
};

struct tr31_header {
    char version;          /* 'A', 'B', 'C', 'D', 'E' */
    size_t length;         /* whole key block, characters */
    char usage[3];         /* e.g. "B1" (BDK), "P0" (PIN encryption), "K0" (KEK) */
    char algorithm;        /* 'A' AES, 'T' TDES, 'D' DES, ... */
    char mode;             /* mode of use, e.g. 'N', 'E', 'X' */
    char key_version[3];
    char exportability;    /* 'E', 'N', 'S' */
    unsigned nopt;
    struct tr31_opt opt[TR31_OPT_MAX];
    size_t header_len;     /* header + optional blocks, characters */
    size_t payload_hex;    /* encrypted payload, hex characters */
    size_t mac_len;        /* MAC, bytes */
};

/* Strictly parse the header and optional blocks of kb (kb_len characters, no
 * NUL needed) and check the overall layout (declared length, block
 * alignment, hex payload and MAC of the right sizes). 0, MAMORI_ERR_INVAL,
 * MAMORI_ERR_TOOBIG. */
int tr31_header_parse(const char *kb, size_t kb_len, struct tr31_header *ret_h);

/* Find optional block id ("KS"); 0 and *ret_data/len into kb, or NOTFOUND. */
int tr31_header_opt(const struct tr31_header *h, const char *kb, const char *id, const char **ret_data,
                    size_t *ret_len);

/* Unwrap kb under the key block protection key. On success *ret_key is
 * guarded memory holding *ret_key_len bytes. MAMORI_ERR_AUTH when the MAC
 * does not verify; INVAL for malformed blocks, wrong KBPK lengths or a
 * malformed payload. */
__attribute__((warn_unused_result)) int tr31_unwrap(const uint8_t *kbpk, size_t kbpk_len, const char *kb,
                                                    size_t kb_len, struct tr31_header *ret_h,
                                                    uint8_t **ret_key, size_t *ret_key_len);
/* Wipe and free a key returned by tr31_unwrap. NULL-safe. */
void tr31_key_free(uint8_t *key);

/* Wrap key as a version D key block under an AES KBPK. The header fields
 * come from h (version and lengths are set here; no optional blocks).
 * *ret_kb is a malloc'd NUL-terminated string. */
int tr31_wrap_d(const uint8_t *kbpk, size_t kbpk_len, const struct tr31_header *h, const uint8_t *key,
                size_t key_len, char **ret_kb);

/* The KBEK and KBAK for version (A/B/C/D/E); each gets kbpk_len bytes. */
int tr31_derive_keys(char version, const uint8_t *kbpk, size_t kbpk_len, uint8_t *ret_kbek, uint8_t *ret_kbak);

#endif
