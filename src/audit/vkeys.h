/*
 * vkeys: the verifier's key material for one terminal's audit log, exported
 * at provisioning so a verifier elsewhere can check the log without trusting
 * the terminal: the seal key_0 (secret: whoever holds it can forge seals, so
 * it belongs to the auditor, not the terminal) and the audit Ed25519 public key.
 *
 * File (0600, JSON, at most AUDIT_VKEYS_MAX bytes):
 *   {"format":"mamori-audit-verifier-v1","seal_key0":"<64 hex>","audit_pub":"<64 hex>"}
 */
#ifndef MAMORI_AUDIT_VKEYS_H
#define MAMORI_AUDIT_VKEYS_H

#include <stdint.h>

#define AUDIT_VKEYS_MAX 4096

struct audit_vkeys {
    uint8_t seal_key0[32];
    uint8_t audit_pub[32];
};

/* Write a new file (refuses to overwrite: MAMORI_ERR_EXISTS), fsync. */
int audit_vkeys_save(const char *path, const struct audit_vkeys *k);
/* Read and check a file. The caller wipes ret->seal_key0 after use. */
int audit_vkeys_load(const char *path, struct audit_vkeys *ret);

#endif
