/*
 * dukpt_tdes: legacy TDES DUKPT per ANSI X9.24-1:2009, host side only, for
 * older devices (the project's devices use AES DUKPT, crypto/dukpt.h).
 *
 * KSN: 10 bytes, the rightmost 21 bits are the transaction counter (at most
 * 10 one-bits, non-zero). BDK and keys are 2-key TDES (16 bytes). Working
 * keys are variants of the transaction key (X9.24-1 A.6): PIN, MAC request /
 * response, and data request / response (variant, then encrypted under
 * itself: the one-way function of A.4.1).
 */
#ifndef MAMORI_DUKPT_TDES_H
#define MAMORI_DUKPT_TDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DUKPT_TDES_KSN_LEN 10
#define DUKPT_TDES_KEY_LEN 16
#define DUKPT_TDES_MAX_BITS 10
#define DUKPT_TDES_COUNTER_MASK 0x1FFFFFu

enum dukpt_tdes_variant {
    DUKPT_TDES_PIN = 0,
    DUKPT_TDES_MAC_REQUEST,
    DUKPT_TDES_MAC_RESPONSE,
    DUKPT_TDES_DATA_REQUEST,
    DUKPT_TDES_DATA_RESPONSE,
};

/* Counter of a KSN (its rightmost 21 bits). */
uint32_t dukpt_tdes_ksn_counter(const uint8_t ksn[static DUKPT_TDES_KSN_LEN]);
/* Non-zero with at most 10 one-bits. */
bool dukpt_tdes_counter_valid(uint32_t counter);
/* Initial PIN encryption key (IPEK) from the BDK and any KSN of the device. */
int dukpt_tdes_ipek(const uint8_t bdk[static DUKPT_TDES_KEY_LEN], const uint8_t ksn[static DUKPT_TDES_KSN_LEN],
                    uint8_t ret_ipek[static DUKPT_TDES_KEY_LEN]);
/* Transaction key for ksn (INVAL for an invalid counter). */
int dukpt_tdes_transaction_key(const uint8_t ipek[static DUKPT_TDES_KEY_LEN],
                               const uint8_t ksn[static DUKPT_TDES_KSN_LEN], uint8_t ret_key[static DUKPT_TDES_KEY_LEN]);
/* Working key of a variant from the transaction key. */
int dukpt_tdes_variant_key(const uint8_t key[static DUKPT_TDES_KEY_LEN], enum dukpt_tdes_variant v,
                           uint8_t ret_key[static DUKPT_TDES_KEY_LEN]);
/* ANSI X9.19 retail MAC (ISO 9797-1 algorithm 3, zero padding) of data. */
int dukpt_tdes_retail_mac(const uint8_t key[static DUKPT_TDES_KEY_LEN], const uint8_t *data, size_t n,
                          uint8_t ret_mac[static 8]);

#endif
