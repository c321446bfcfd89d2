/*
 * kcv: key check values, shown to key custodians and written to the audit
 * log instead of keys (POL-8(3)).
 *   AES (X9.24-3 / TR-31 convention): the leftmost bytes of
 *       AES-CMAC_K(16 zero bytes).
 *   TDES (legacy): the leftmost bytes of TDES-ECB_K(8 zero bytes).
 * Usually 3 bytes (6 hex digits) are shown; up to a full block may be asked.
 */
#ifndef MAMORI_KCV_H
#define MAMORI_KCV_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/symm.h"

#define KCV_LEN 3         /* bytes shown by default */
#define KCV_MAX_LEN 16

/* KCV of key for alg into ret_kcv (n bytes, 1..block size). */
int kcv_compute(enum symm_alg alg, const uint8_t *key, size_t key_len, uint8_t *ret_kcv, size_t n);
/* The same as upper-case hex into ret_hex (2n+1 bytes). */
int kcv_hex(enum symm_alg alg, const uint8_t *key, size_t key_len, size_t n, char *ret_hex, size_t hex_size);

#endif
