/*
 * ceremony: the cryptographic core of the key injection ceremony
 * (POL-8(3): dual control and split knowledge). The CLI flow over the bus
 * (`mamori keys inject --device ID`) is built on it elsewhere.
 *
 *   ceremony_begin()          for one device; audit "keys.ceremony.begin"
 *   ceremony_authorize()      two distinct custodians (OPERATOR_MAINTAINER),
 *                             each with their own password, through
 *                             operators_dual_authorize(): the same person
 *                             twice, or one person alone, is refused
 *   ceremony_add_component()  custodian 1 and custodian 2 each enter one
 *                             component; each gets its KCV to compare with
 *                             the paper form; audit records the KCV only
 *   ceremony_combine()        KBPK = component1 XOR component2, in guarded
 *                             memory; its KCV is shown and audited
 *   ceremony_wrap_initial_key() the device's DUKPT initial key as a TR-31
 *                             version D block under the KBPK (usage B1)
 * Nobody ever sees the whole KBPK: each custodian knows one component.
 * Components and the KBPK are wiped when the ceremony is freed.
 */
#ifndef MAMORI_CEREMONY_H
#define MAMORI_CEREMONY_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "crypto/kcv.h"
#include "pos/operator.h"

#define CEREMONY_KEY_MAX 32
#define CEREMONY_KCV_HEX (2 * KCV_LEN + 1)
#define CEREMONY_DEVICE_MAX 64

struct ceremony;

/* Start a ceremony forming an AES KBPK of kbpk_len (16/24/32) bytes for
 * device_id. ops and audit are borrowed and must outlive the ceremony. */
int ceremony_begin(struct operators *ops, struct audit *audit, const char *device_id, size_t kbpk_len,
                   struct ceremony **ret);
/* Wipe and free. NULL-safe. */
void ceremony_free(struct ceremony *c);

/* Dual control: 0, or MAMORI_ERR_PERM (same person twice, wrong role),
 * AUTH/LOCKED/NOTFOUND (authentication), INVAL (a custodian missing). */
__attribute__((warn_unused_result)) int ceremony_authorize(struct ceremony *c, const char *id1, const char *pw1,
                                                           const char *id2, const char *pw2);

/* Component of custodian 1 or 2 (kbpk_len bytes); ret_kcv gets its KCV hex.
 * MAMORI_ERR_STATE before authorization or when already entered; INVAL for
 * a wrong length or an all-zero component. */
int ceremony_add_component(struct ceremony *c, int custodian, const uint8_t *component, size_t len,
                           char ret_kcv[static CEREMONY_KCV_HEX]);

/* Combine both components into the KBPK; ret_kcv gets its KCV. STATE unless
 * both are in; INVAL if the result is all zero (equal components). */
int ceremony_combine(struct ceremony *c, char ret_kcv[static CEREMONY_KCV_HEX]);

/* Wrap the DUKPT initial key (16/24/32 bytes) as TR-31 version D under the
 * KBPK; *ret_kb is malloc'd. ret_ik_kcv gets the initial key's KCV. */
int ceremony_wrap_initial_key(struct ceremony *c, const uint8_t *ik, size_t ik_len, char **ret_kb,
                              char ret_ik_kcv[static CEREMONY_KCV_HEX]);

/* Hand the combined KBPK to fn for the duration of the call only (readable
 * guarded memory, never copied out by the ceremony): the key injection flow
 * passes it to the payment host's key injection facility, which wraps the
 * device's initial key under it (src/keys/inject.h). STATE before combine. */
typedef int (*ceremony_kbpk_fn)(void *ctx, const uint8_t *kbpk, size_t len);
int ceremony_with_kbpk(struct ceremony *c, ceremony_kbpk_fn fn, void *ctx);

#endif
